//! `check conform --trace FILE...`: written traces (litmus files) on the
//! kernel; every result written in a file must be the kernel's. A trace
//! whose `# sysfs:` mode is not the machine's is skipped (and counted)
//! unless `--set-sysfs` may switch to it.

use super::{ensure_mode, exit_code, inconclusive, ConformArgs, Out};
use mmflags_conformance::kernel::HarnessError;
use mmflags_conformance::runner::{LitmusReport, Runner};
use mmflags_conformance::sysfs_guard::SysfsGuard;
use mmflags_model::parse::Series;
use mmflags_model::{Sysfs, Trace};
use serde_json::json;
use std::process::ExitCode;

/// The trace file as a replayable text, with the kernel's results.
fn litmus_text(rep: &LitmusReport) -> String {
    rep.steps.iter().map(|(_, s)| format!("{s}\n")).collect()
}

pub(crate) fn run_files(a: &ConformArgs, runner: &Runner, guard: Option<&SysfsGuard>, out: &Out) -> ExitCode {
    let (mut failed, mut skipped, mut errors, mut steps) = (Vec::new(), Vec::new(), Vec::new(), 0);
    let mut unsure = Vec::new();
    let mut not_for: Vec<String> = Vec::new();
    let spec_name = match a.spec_name(&runner.machine.kernel) {
        Ok(s) => s,
        Err(e) => return inconclusive(out, &e),
    };
    let series = Series::of_release(&runner.machine.kernel);
    for file in &a.traces {
        let trace = match std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|t| Trace::parse(&t).map_err(|e| e.to_string()))
        {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}:{e}", file.display());
                return ExitCode::from(2);
            }
        };
        let f = file.display().to_string();
        if let Some(s) = series.filter(|s| !trace.holds_on(*s)) {
            let ranges: Vec<String> = trace.kernels.iter().map(|r| r.to_string()).collect();
            out.say(&format!(
                "{f}: not for kernel {s} (its `# kernels:` says {}): not run",
                ranges.join(" ")
            ));
            not_for.push(f);
            continue;
        }
        // Like `check replay`: a trace without a header means `madvise`.
        let mode = trace.sysfs.unwrap_or(Sysfs::Madvise);
        match ensure_mode(runner, guard, mode) {
            Err(e) => return inconclusive(out, &e),
            Ok(false) => {
                let why = format!(
                    "needs sysfs `{mode}`, this machine is `{}` (--set-sysfs switches it)",
                    runner.machine.sysfs
                );
                out.say(&format!("{f}: SKIPPED: {why}"));
                skipped.push(json!({"file": f, "steps": trace.steps.len(), "reason": why}));
                continue;
            }
            Ok(true) => {}
        }
        let rep = runner.litmus(&trace);
        steps += rep.steps.len();
        // The kernel's results are worth showing where the file left some
        // open or the kernel disagreed.
        let open = trace.steps.iter().any(|(_, s)| s.ret.is_none());
        let bad = rep.failure.is_some() || rep.error.is_some() || rep.inconclusive.is_some();
        if !a.json && (open || bad) {
            print!("# {f} on the kernel (sysfs {mode})\n{}", litmus_text(&rep));
        }
        if let Some((line, expected, got)) = rep.failure {
            let step = rep.steps.last().map(|(_, s)| s.action.to_string()).unwrap_or_default();
            out.say(&format!(
                "{f}:{line}: `{step}` returned {got} on the kernel, the trace expects {expected}"
            ));
            failed.push(json!({"file": f, "line": line, "call": step, "expected": expected.to_string(), "kernel": got.to_string()}));
        } else if let Some((line, e)) = &rep.error {
            out.say(&format!("{f}:{line}: ERROR: {e}"));
            if matches!(e, HarnessError::BadStep(_)) {
                return ExitCode::from(2);
            }
            errors.push(json!({"file": f, "line": line, "error": e.to_string()}));
        } else if let Some((line, moved)) = &rep.inconclusive {
            let moved: Vec<String> = moved.iter().map(|m| m.to_string()).collect();
            out.say(&format!(
                "{f}:{line}: INCONCLUSIVE: {} (the model assumes this never happens)",
                moved.join(", ")
            ));
            unsure.push(json!({"file": f, "line": line, "moved": moved}));
        } else if let Some((n, why)) = &rep.skipped {
            out.say(&format!("{f}: {n} steps SKIPPED: {why}"));
            skipped.push(json!({"file": f, "steps": n, "reason": why}));
        } else if rep.passed() {
            out.say(&format!("{f}: {} steps, every written result matched", rep.steps.len()));
        }
    }
    let summary = format!(
        "conform: {} files for {}, {steps} steps: {} failed, {} inconclusive, {} skipped, {} errors",
        a.traces.len() - not_for.len(),
        spec_name,
        failed.len(),
        unsure.len(),
        skipped.len(),
        errors.len()
    );
    out.say(&summary);
    let v = json!({"traces": a.traces.len() - not_for.len(), "steps": steps, "mismatches": failed,
        "inconclusive": unsure, "skipped": skipped,
        "errors": errors, "not_for_this_spec": not_for, "spec": spec_name,
        "kernel": runner.machine.kernel, "sysfs": runner.machine.sysfs.name()});
    if let Err(e) = super::emit_json(a, &v) {
        return inconclusive(out, &e);
    }
    if not_for.len() == a.traces.len() {
        return inconclusive(out, &format!("none of the files is for kernel {}", runner.machine.kernel));
    }
    exit_code(!failed.is_empty(), !skipped.is_empty() || !errors.is_empty() || !unsure.is_empty(), out)
}
