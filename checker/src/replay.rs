//! `check replay`: a trace or litmus file through a spec's model, printed
//! step by step with results and what each step changed.

use crate::spec::Spec;
use mmflags_model::diff::{describe, diff};
use mmflags_model::replay::{replay, ReplayError};
use mmflags_model::{Sysfs, System, Trace};
use std::path::Path;

pub enum Failure {
    /// The file or a step cannot be run at all (exit 2).
    BadInput(String),
    /// The model disagrees with a result in the file (exit 1): the output
    /// so far, and the error.
    Mismatch(String, String),
}

/// Replays `file` on `spec` and returns the annotated output.
pub fn replay_file(spec: &Spec, file: &Path) -> Result<String, Failure> {
    let text =
        std::fs::read_to_string(file).map_err(|e| Failure::BadInput(format!("{}: {e}", file.display())))?;
    let trace = Trace::parse(&text).map_err(|e| Failure::BadInput(format!("{}:{e}", file.display())))?;
    replay_trace(spec, &trace).map_err(|f| match f {
        Failure::BadInput(e) => Failure::BadInput(format!("{}:{e}", file.display())),
        other => other,
    })
}

/// Replays a parsed trace. Errors name the line (`LINE:COL: ...`).
pub fn replay_trace(spec: &Spec, trace: &Trace) -> Result<String, Failure> {
    let sys = System::replayer(spec.semantics.clone());
    let vmas = trace_vmas(trace).max(spec.bounds.vmas);
    let (init, steps, err) = replay(&sys, trace, Sysfs::Madvise);
    let mut out = format!(
        "# spec: {}\n# sysfs: {}{}\n",
        spec.name,
        init.sysfs,
        if trace.sysfs.is_none() { " (no `# sysfs:` header; assumed)" } else { "" }
    );
    for l in describe(&init, vmas).iter().skip(1) {
        out.push_str(&format!("#   {l}\n"));
    }
    let mut prev = init;
    for r in &steps {
        out.push_str(&format!("{}\n", r.step));
        for l in diff(&prev, &r.state, vmas) {
            out.push_str(&format!("#   {l}\n"));
        }
        prev = r.state;
    }
    match err {
        None => {
            out.push_str(&format!("# {} steps, every written result matched\n", steps.len()));
            Ok(out)
        }
        Some(ReplayError::Step { line, err }) => Err(Failure::BadInput(format!("{line}: {err}"))),
        Some(e @ ReplayError::Mismatch { line, .. }) => Err(Failure::Mismatch(out, format!("{line}: {e}"))),
    }
}

/// The highest VMA slot a trace names, plus one (so output shows it).
fn trace_vmas(trace: &Trace) -> usize {
    trace
        .steps
        .iter()
        .flat_map(|(_, s)| {
            let t = s.action.call.to_string() + &s.ret.map(|r| r.to_string()).unwrap_or_default();
            t.match_indices('v')
                .filter_map(|(i, _)| t[i + 1..].chars().next().and_then(|c| c.to_digit(10)))
                .map(|d| d as usize + 1)
                .collect::<Vec<_>>()
        })
        .max()
        .unwrap_or(1)
}
