//! `check conform` without files: enumerate traces from the spec (every
//! trace to `--depth`, then `--walks` seeded random walks), compare each on
//! the model and the kernel, and report: progress on stderr, mismatches as
//! replayable traces, skips grouped by reason, a summary, and `--json`.

use super::{ensure_mode, exit_code, inconclusive, ConformArgs, Out};
use mmflags_checker::{run as specs, spec};
use mmflags_conformance::enumerate;
use mmflags_conformance::runner::{Inconclusive, Mismatch, Runner, Tally, TraceReport, Verdict};
use mmflags_conformance::sysfs_guard::SysfsGuard;
use mmflags_model::{Action, State};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where a trace came from, for the reader.
#[derive(Clone, Copy)]
enum Origin {
    Exhaustive,
    Walk(usize),
}

fn mismatch_json(m: &Mismatch, origin: Origin) -> Value {
    let fields: Vec<Value> = m
        .result
        .iter()
        .chain(&m.observations)
        .map(|f| json!({"call": f.action.to_string(), "model": f.model.to_string(), "kernel": f.kernel.to_string()}))
        .collect();
    json!({
        "origin": origin_name(origin),
        "sysfs": m.sysfs.name(),
        "trace": m.steps.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "line": m.steps.len(),
        "fields": fields,
        "text": m.trace_text(),
    })
}

fn origin_name(o: Origin) -> String {
    match o {
        Origin::Exhaustive => "exhaustive".into(),
        Origin::Walk(i) => format!("walk {i}"),
    }
}

fn lines(t: &[Action]) -> Vec<String> {
    t.iter().map(|a| a.to_string()).collect()
}

pub(crate) fn enumerate_and_compare(
    a: &ConformArgs,
    runner: &Runner,
    guard: Option<&SysfsGuard>,
    interrupt: &AtomicBool,
    out: &Out,
) -> ExitCode {
    let spec_name = match a.spec_name(&runner.machine.kernel) {
        Ok(s) => s,
        Err(e) => return inconclusive(out, &e),
    };
    let spec = match spec::resolve(&spec_name).and_then(|f| spec::load(&f)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (sys, left_out) = runner.enumerable(&spec.system());
    if let Some(why) = &left_out {
        out.say(&format!("conform: {why}"));
    }
    let jobs = a.jobs.unwrap_or_else(specs::RunConfig::default_threads);
    let start = Instant::now();
    let (mut traces_run, mut steps) = (0usize, 0usize);
    let (mut mismatches, mut skipped, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let (mut unsure, mut tally) = (Vec::new(), Tally::default());
    let mut modes_run = Vec::new();
    for mode in &a.sysfs {
        if !spec.bounds.sysfs.contains(mode) {
            eprintln!("error: --sysfs {mode}: spec {} does not list that mode in [bounds] sysfs", spec.name);
            return ExitCode::from(2);
        }
    }
    let modes: Vec<_> =
        spec.bounds.sysfs.iter().copied().filter(|m| a.sysfs.is_empty() || a.sysfs.contains(m)).collect();
    for &mode in &modes {
        match ensure_mode(runner, guard, mode) {
            Err(e) => return inconclusive(out, &e),
            Ok(false) => {
                // Enumeration asks about this machine's mode; the others
                // are a question for --set-sysfs, not skipped steps.
                out.say(&format!("conform: sysfs `{mode}` is not this machine's mode: not enumerated (--set-sysfs switches to it)"));
                continue;
            }
            Ok(true) => {}
        }
        let init = State::init(mode);
        let mut plan: Vec<(Origin, Vec<Action>)> =
            enumerate::exhaustive(&sys, init, a.depth).into_iter().map(|t| (Origin::Exhaustive, t)).collect();
        let exhaustive = plan.len();
        plan.extend(
            enumerate::random_walks(&sys, init, a.walks, a.seed, 10, 20)
                .into_iter()
                .enumerate()
                .map(|(i, t)| (Origin::Walk(i), t)),
        );
        modes_run.push(mode.name());
        out.say(&format!(
            "conform: spec {} ({} processes x {} VMAs), sysfs {mode}: {exhaustive} traces up to depth {}, \
             {} random walks of 10-20 steps (seed {}), {jobs} at a time",
            spec.name, sys.bounds.processes, sys.bounds.vmas, a.depth, a.walks, a.seed
        ));
        let (origins, traces): (Vec<Origin>, Vec<Vec<Action>>) = plan.into_iter().unzip();
        let bad = AtomicUsize::new(0);
        let shown = Mutex::new(Instant::now());
        let tty = std::io::stderr().is_terminal();
        let total = traces.len();
        let progress = |done: usize, r: &TraceReport| {
            if !matches!(r.verdict, Verdict::Agreed) || r.skipped.is_some() {
                bad.fetch_add(1, Ordering::Relaxed);
            }
            let mut last = shown.lock().expect("no poisoned lock");
            let step = (total / 10).max(1);
            if (tty && last.elapsed() >= Duration::from_millis(250))
                || (!tty && done.is_multiple_of(step))
                || done == total
            {
                *last = Instant::now();
                let end = if tty && done != total { "\r" } else { "\n" };
                eprint!(
                    "conform: {done}/{total} traces, {} not agreed, {:.0}s{end}",
                    bad.load(Ordering::Relaxed),
                    start.elapsed().as_secs_f64()
                );
            }
        };
        let reports = runner.compare_all(&sys, init, &traces, jobs, interrupt, &progress);
        for ((origin, t), rep) in origins.iter().zip(&traces).zip(reports) {
            let Some(rep) = rep else { continue };
            traces_run += 1;
            tally.add(&rep);
            steps += rep.steps_run;
            if let Some((n, why)) = &rep.skipped {
                skipped.push((lines(t), *n, why.clone()));
            }
            match rep.verdict {
                Verdict::Agreed => {}
                Verdict::Mismatch(m) => mismatches.push((*origin, m)),
                Verdict::Inconclusive(i) => unsure.push((*origin, i)),
                Verdict::Error { step, err } => errors.push((lines(t), step, err.to_string())),
            }
        }
        if interrupt.load(Ordering::Relaxed) {
            break;
        }
    }
    if guard.is_none() {
        if let Err(e) = ensure_mode(runner, None, runner.machine.sysfs) {
            errors.push((Vec::new(), 0, e));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let found = Found { traces: traces_run, steps, mismatches, unsure, skipped, errors, tally, left_out };
    report(out, a, &spec.name, runner, &found, &modes_run, secs);
    if interrupt.load(Ordering::Relaxed) {
        return inconclusive(out, "interrupted");
    }
    let unsure = !found.skipped.is_empty() || !found.errors.is_empty() || !found.unsure.is_empty();
    exit_code(!found.mismatches.is_empty(), unsure || modes_run.is_empty(), out)
}

/// What the traces of a run came to.
struct Found {
    traces: usize,
    steps: usize,
    mismatches: Vec<(Origin, Mismatch)>,
    /// Traces the model does not speak for (an allocation fell back, a
    /// collapse failed for a passing reason): never a pass, never a mismatch.
    unsure: Vec<(Origin, Inconclusive)>,
    skipped: Vec<(Vec<String>, usize, String)>,
    errors: Vec<(Vec<String>, usize, String)>,
    tally: Tally,
    /// Calls the enumeration left out on this machine, and why.
    left_out: Option<String>,
}

fn report(out: &Out, a: &ConformArgs, spec: &str, runner: &Runner, f: &Found, modes: &[&str], secs: f64) {
    let Found { traces, steps, mismatches, unsure, skipped, errors, tally, left_out } = f;
    for (origin, m) in mismatches.iter().take(if a.json { 0 } else { 20 }) {
        println!("\nMISMATCH ({}):\n{}", origin_name(*origin), m.trace_text());
    }
    if mismatches.len() > 20 && !a.json {
        println!("... and {} more mismatches (--json lists them all)", mismatches.len() - 20);
    }
    for (origin, i) in unsure.iter().take(if a.json { 0 } else { 5 }) {
        println!("\nINCONCLUSIVE ({}):\n{}", origin_name(*origin), i.trace_text());
    }
    let mut reasons: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for (_, n, why) in skipped {
        let e = reasons.entry(why.as_str()).or_default();
        e.0 += 1;
        e.1 += n;
    }
    for (why, (t, n)) in &reasons {
        out.say(&format!("conform: SKIPPED {n} steps in {t} traces: {why}"));
    }
    for (t, step, e) in errors.iter().take(10) {
        out.say(&format!("conform: ERROR at step {} of [{}]: {e}", step + 1, t.join("; ")));
    }
    let skipped_steps: usize = skipped.iter().map(|s| s.1).sum();
    for (counter, (t, n)) in &tally.moved {
        out.say(&format!("conform: INCONCLUSIVE {t} traces: {counter} moved by {n}"));
    }
    out.say(&format!(
        "conform: {traces} traces, {steps} steps compared in {secs:.1}s: {} mismatches, {} inconclusive, {skipped_steps} steps skipped, {} errors",
        mismatches.len(),
        unsure.len(),
        errors.len()
    ));
    {
        let v = json!({
            "traces": traces,
            "steps": steps,
            "mismatches": mismatches.iter().map(|(o, m)| mismatch_json(m, *o)).collect::<Vec<_>>(),
            "inconclusive": unsure.iter().map(|(o, i)| json!({
                "origin": origin_name(*o),
                "trace": i.seen.steps.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "step": i.seen.steps.len(),
                "why": i.why(),
                "text": i.trace_text(),
            })).collect::<Vec<_>>(),
            "fallbacks": tally.moved.iter().map(|(c, (t, n))| (c.to_string(), json!({"traces": t, "total": n}))).collect::<serde_json::Map<_, _>>(),
            "left_out": left_out,
            "skipped": skipped.iter().map(|(t, n, why)| json!({"trace": t, "steps": n, "reason": why})).collect::<Vec<_>>(),
            "errors": errors.iter().map(|(t, s, e)| json!({"trace": t, "step": s + 1, "error": e})).collect::<Vec<_>>(),
            "kernel": runner.machine.kernel,
            "sysfs": runner.machine.sysfs.name(),
            "modes": modes,
            "spec": spec,
            "depth": a.depth,
            "walks": a.walks,
            "seed": a.seed,
            "seconds": secs,
        });
        if let Err(e) = super::emit_json(a, &v) {
            out.say(&format!("conform: ERROR: {e}"));
        }
    }
}
