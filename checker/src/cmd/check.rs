//! `check [SPEC...]`: explore every spec and gate its verdicts against `[expect]`.

use super::{bad_input, config, exit_code, load_all};
use crate::CheckArgs;
use mmflags_checker::json;
use mmflags_checker::run;
use mmflags_checker::verdict::SpecOutcome;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub fn print_table(outcomes: &[SpecOutcome]) {
    for o in outcomes {
        let how = if o.complete {
            "complete".to_string()
        } else {
            format!("INCONCLUSIVE ({})", o.stopped.map(|s| s.to_string()).unwrap_or_default())
        };
        println!(
            "{}: {} unique states, {} total, depth {}, {:.1}s, {:.0} unique states/s — {how}",
            o.spec.name,
            o.unique,
            o.generated,
            o.max_depth,
            o.elapsed.as_secs_f64(),
            o.states_per_second()
        );
        for p in &o.properties {
            let got = match &p.trace {
                Some(t) if p.verdict.has_trace() => {
                    format!("{} {} in {} steps", p.verdict.symbol(), p.verdict, t.steps.len())
                }
                _ => format!("{} {}", p.verdict.symbol(), p.verdict),
            };
            let mark = if p.as_expected() { "" } else { "   <-- expected " };
            let exp = if p.as_expected() { String::new() } else { p.expected.to_string() };
            println!("  {:<16} {:<34} {got:<28} states={}{mark}{exp}", o.spec.name, p.def.name, o.unique);
        }
    }
    let wrong: usize =
        outcomes.iter().map(|o| o.properties.iter().filter(|p| !p.as_expected()).count()).sum();
    let total: usize = outcomes.iter().map(|o| o.properties.len()).sum();
    println!(
        "{} specs, {total} properties: {}",
        outcomes.len(),
        if wrong == 0 { "all as expected".to_string() } else { format!("{wrong} NOT as expected") }
    );
}

pub fn cmd_check(a: &CheckArgs, interrupt: Arc<AtomicBool>) -> ExitCode {
    let cfg = match config(&a.run, interrupt) {
        Ok(c) => c,
        Err(e) => return bad_input(e),
    };
    let specs = match load_all(&a.specs) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let mut outcomes = Vec::new();
    for s in specs {
        let stop = cfg.interrupt.load(Ordering::Relaxed);
        outcomes.push(run::run_spec(s, &cfg));
        if stop {
            break;
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json::summary(&outcomes)).expect("JSON"));
    } else {
        print_table(&outcomes);
    }
    exit_code(&outcomes)
}
