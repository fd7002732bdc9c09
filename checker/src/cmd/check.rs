//! `check [SPEC...]`: explore every spec and gate its verdicts against `[expect]`.

use super::{bad_input, config, exit_code, load_all};
use crate::CheckArgs;
use mmflags_checker::report::json;
use mmflags_checker::run;
use mmflags_checker::run::{PropertyOutcome, SpecOutcome};
use mmflags_checker::verdict::Verdict;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
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
        against_line(o, o);
        let views = [
            (&o.pages, "pages (with touch, MADV_COLLAPSE, MADV_DONTNEED, khugepaged, mmap(PROT), mprotect)"),
            (&o.policies, "policies (with KSM merge-any, MDWE, MADV_(UN)MERGEABLE, mmap(PROT), mprotect)"),
            (&o.shared, "shared mm (the policies' calls, vfork, clone(CLONE_VM), threads)"),
        ];
        for (run, what) in views {
            let Some(v) = run else { continue };
            let how = if v.complete {
                "complete".to_string()
            } else {
                format!("INCONCLUSIVE ({})", v.stopped.map(|s| s.to_string()).unwrap_or_default())
            };
            println!(
                "  {:<16} {what}: {} unique states, {} total, depth {}, {:.1}s — {how}",
                o.spec.name,
                v.unique,
                v.generated,
                v.max_depth,
                v.elapsed.as_secs_f64()
            );
            against_line(o, v);
        }
        let kept = o.spec.kept_for_user_properties();
        if !kept.is_empty() {
            println!("  {:<16} kept in the state for its own properties: {}", o.spec.name, kept.join(", "));
        }
        for p in &o.properties {
            let mut got = match &p.trace {
                Some(t) if p.verdict.has_trace() => {
                    format!("{} {} in {} steps", p.verdict.symbol(), p.verdict, t.steps.len())
                }
                _ => format!("{} {}", p.verdict.symbol(), p.verdict),
            };
            if p.vacuous() {
                got.push_str(" (vacuous)");
            }
            if let Some(a) = &p.against {
                got.push_str(&match (a.relation, &a.new_trace) {
                    (Some(r), Some(t)) => format!(", {r} in {} steps", t.steps.len()),
                    (Some(r), None) => format!(", {r}"),
                    (None, _) => ", against baseline inconclusive".to_string(),
                });
            }
            let mark = if p.as_expected() {
                String::new()
            } else if p.verdict != p.expected && p.verdict != Verdict::Inconclusive {
                format!("   <-- expected {}", p.expected)
            } else if let (Some(e), Some(r)) = (p.expected_against, p.relation()) {
                format!("   <-- expected {}, {e} (found {r})", p.expected)
            } else {
                "   <-- run inconclusive: [expect] not met".to_string()
            };
            let states = match (&o.pages, &o.policies, &o.shared) {
                (Some(pg), _, _) if p.def.reads_pages() => pg.unique,
                (_, Some(pl), _) if p.def.reads_policies() => pl.unique,
                (_, _, Some(sh)) if p.def.reads_shared() => sh.unique,
                _ => o.unique,
            };
            println!("  {:<16} {:<34} {got:<40} states={states}{mark}", o.spec.name, p.def.name());
            for q in p.unreached().filter(|_| p.vacuous()) {
                println!(
                    "  {:<16}   vacuous: never reached: {} (`{}`)",
                    o.spec.name,
                    q.def.meaning(),
                    q.def.name()
                );
            }
        }
        let never: Vec<&str> = o.never_fired().collect();
        if !never.is_empty() && o.complete {
            println!(
                "  {:<16} {} of {} calls never fired: {}",
                o.spec.name,
                never.len(),
                o.coverage.len(),
                never.join(", ")
            );
        }
    }
    let count = |f: &dyn Fn(&PropertyOutcome) -> bool| -> usize {
        outcomes.iter().map(|o| o.properties.iter().filter(|p| f(p)).count()).sum()
    };
    let total = count(&|_| true);
    let wrong = count(&|p| p.contradicts_expect());
    let unmet = count(&|p| !p.as_expected() && !p.contradicts_expect());
    let vacuous = count(&|p| p.vacuous());
    let mut verdict = Vec::new();
    if wrong == 0 && unmet == 0 {
        verdict.push("all as expected".to_string());
    }
    if wrong > 0 {
        verdict.push(format!("{wrong} NOT as expected"));
    }
    if unmet > 0 {
        verdict.push(format!("{unmet} not met: run inconclusive"));
    }
    if vacuous > 0 {
        verdict.push(format!("{vacuous} hold vacuously"));
    }
    println!("{} specs, {total} properties: {}", outcomes.len(), verdict.join("; "));
}

/// The line of a run (`view`: the spec's flag view, or its page view)
/// against the spec's baseline.
fn against_line(o: &SpecOutcome, view: &SpecOutcome) {
    let (Some(b), Some(l)) = (&o.spec.baseline, &view.against) else { return };
    let how = match l.stopped {
        None if l.complete => "complete".to_string(),
        None => "inconclusive (the spec's own run was)".to_string(),
        Some(s) => format!("INCONCLUSIVE ({s})"),
    };
    println!(
        "  {:<16} against {}: {} baseline states, {} lockstep pairs, {:.1}s — {how}",
        o.spec.name,
        b.name,
        l.baseline_states,
        l.pairs,
        l.elapsed.as_secs_f64()
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
    // After Ctrl-C each remaining spec stops at once (inconclusive, reason
    // "interrupted"), so every spec asked for is listed.
    let outcomes: Vec<SpecOutcome> = specs.into_iter().map(|s| run::check_spec(s, &cfg)).collect();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json::summary(&outcomes)).expect("JSON"));
    } else {
        print_table(&outcomes);
    }
    exit_code(&outcomes)
}
