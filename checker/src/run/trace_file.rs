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

/// Largest trace file read: a million steps of the longest call.
pub const MAX_TRACE_BYTES: u64 = 128 << 20;

/// Replays `file` on `spec` and returns the annotated output.
pub fn replay_file(spec: &Spec, file: &Path) -> Result<String, Failure> {
    let text = crate::input::read_text(file, MAX_TRACE_BYTES, "a trace")
        .map_err(|e| Failure::BadInput(format!("{}:{}:{}: {}", file.display(), e.line, e.col, e.msg)))?;
    let trace = Trace::parse(&text).map_err(|e| Failure::BadInput(format!("{}:{e}", file.display())))?;
    replay_on(&System::replayer(spec.semantics.clone()), spec, &trace, Some(&text)).map_err(|f| match f {
        Failure::BadInput(e) => Failure::BadInput(format!("{}:{e}", file.display())),
        other => other,
    })
}

/// Replays a parsed trace. Errors name the line (`LINE:COL: ...`).
pub fn replay_trace(spec: &Spec, trace: &Trace) -> Result<String, Failure> {
    replay_on(&System::replayer(spec.semantics.clone()), spec, trace, None)
}

/// `replay_trace` on a replayer already built for `spec`
/// (`System::replayer`); `text`, the file the trace was read from, places
/// errors at their column (column 1 without it).
pub fn replay_on(sys: &System, spec: &Spec, trace: &Trace, text: Option<&str>) -> Result<String, Failure> {
    let vmas = trace_vmas(trace).max(spec.bounds.vmas);
    let (init, steps, err) = replay(sys, trace, Sysfs::Madvise);
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
        Some(ReplayError::Step { line, err }) => {
            Err(Failure::BadInput(format!("{line}:{}: {err}", columns(text, line).0)))
        }
        Some(e @ ReplayError::Mismatch { line, .. }) => {
            Err(Failure::Mismatch(out, format!("{line}:{}: {e}", columns(text, line).1)))
        }
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

/// Columns of the step and of its written result on 1-based `line` of
/// `text` (1 where there is no text or no result).
fn columns(text: Option<&str>, line: usize) -> (usize, usize) {
    let Some(l) = text.and_then(|t| t.lines().nth(line.saturating_sub(1))) else {
        return (1, 1);
    };
    let code = l.split('#').next().unwrap_or_default();
    let col = |byte: usize| l[..byte].chars().count() + 1;
    let step = code.find(|c: char| !c.is_whitespace()).map_or(1, col);
    let result = code
        .rfind('=')
        .map(|eq| eq + 1 + (code[eq + 1..].len() - code[eq + 1..].trim_start().len()))
        .map_or(step, col);
    (step, result)
}
