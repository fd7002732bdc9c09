//! `check trace SPEC PROPERTY` and `check replay SPEC FILE`: one trace,
//! found or given, with its states.

use super::{bad_input, config};
use crate::RunArgs;
use mmflags_checker::explorer;
use mmflags_checker::report::{html, trace_text};
use mmflags_checker::run;
use mmflags_checker::spec;
use mmflags_checker::verdict::Verdict;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub fn cmd_trace(
    spec_arg: &str,
    property: &str,
    html_file: Option<&Path>,
    emit_c: bool,
    r: &RunArgs,
    interrupt: Arc<AtomicBool>,
) -> ExitCode {
    let cfg = match config(r, interrupt) {
        Ok(c) => c,
        Err(e) => return bad_input(e),
    };
    let spec = match spec::resolve(spec_arg).and_then(|f| spec::load(&f)) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let Some(expected) = spec.expect.iter().find(|(p, _)| p.name() == property).map(|e| e.1) else {
        let names: Vec<&str> = spec.expect.iter().map(|(p, _)| p.name()).collect();
        let hint = mmflags_model::suggest::did_you_mean(property, names.iter().copied())
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        return bad_input(format!(
            "{}: spec `{}` does not check `{property}`; {hint}it checks: {}",
            spec.file.display(),
            spec.name,
            names.join(", ")
        ));
    };
    let o = run::run_spec(spec, &cfg);
    let p = o.properties.iter().find(|p| p.def.name() == property).expect("checked above");
    let title = format!(
        "{} / {}: {} ({}), expected {expected}",
        o.spec.name,
        p.def.name(),
        p.verdict,
        p.def.meaning()
    );
    if emit_c {
        // Only the C program on stdout, so it can go straight to a file.
        match (&p.trace, p.verdict) {
            (Some(t), v) if v.has_trace() => {
                if let Some(why) = mmflags_conformance::emit_c::unsupported(t) {
                    return bad_input(format!("{}: {property}: {why}", o.spec.file.display()));
                }
                print!("{}", mmflags_conformance::emit_c::program(t, &o.spec.system(), &title))
            }
            _ => eprintln!("# {title}: no trace to emit"),
        }
    } else {
        println!("# {title}");
        if let Some(pred) = p.def.predicate() {
            println!("# {}: {}", p.def.kind(), pred.text().split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    match (&p.trace, p.verdict) {
        _ if emit_c => {}
        (Some(t), v) if v.has_trace() => {
            println!(
                "# shortest {}: {} steps",
                if v == Verdict::Violated { "counterexample" } else { "witness" },
                t.steps.len()
            );
            print!("{}", explorer::comment(&o.spec.system(), t, spec_arg));
            print!("{}", trace_text::trace_text(&o.spec.system(), &p.def, t, true));
            if let Some(file) = html_file {
                let page = html::trace_page(&o.spec, spec_arg, &p.def, p.verdict, t);
                if let Err(e) = std::fs::write(file, page) {
                    return bad_input(format!("{}: {e}", file.display()));
                }
                eprintln!("wrote {}", file.display());
            }
        }
        _ => {
            println!("# no trace: {} within the bounds ({} unique states)", p.verdict, o.unique);
            if let Some(file) = html_file {
                eprintln!("note: {} not written: there is no trace", file.display());
            }
        }
    }
    // With --emit-c stdout is the C program alone.
    let note = |line: String| if emit_c { eprintln!("{line}") } else { println!("{line}") };
    if let Some(stop) = o.stopped {
        note(format!("# inconclusive: {stop}"));
    }
    for q in p.unreached().filter(|_| p.vacuous()) {
        note(format!("# holds vacuously: never reached: {} (`{}`)", q.def.meaning(), q.def.name()));
    }
    if !o.complete {
        ExitCode::from(3)
    } else if p.as_expected() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
