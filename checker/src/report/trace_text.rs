//! Text renderings shared by the terminal, the reports and `replay`: a
//! trace as a replayable file whose comments show the state and what each
//! step changed.

use crate::verdict::Trace;
use mmflags_model::diff::{describe, diff};

/// The trace in the trace language, with `#` comments for the initial state
/// and each step's changes, so the whole text replays as written.
pub fn trace_text(t: &Trace, vmas: usize, full_states: bool) -> String {
    let mut out = format!("# sysfs: {}\n", t.init.sysfs);
    out.push_str("# initial state:\n");
    for l in describe(&t.init, vmas).iter().skip(1) {
        out.push_str(&format!("#   {l}\n"));
    }
    let mut prev = t.init;
    for (a, r, s) in &t.steps {
        out.push_str(&format!("{a} = {r}\n"));
        for l in diff(&prev, s, vmas) {
            out.push_str(&format!("#   {l}\n"));
        }
        if full_states {
            out.push_str("#   state:\n");
            for l in describe(s, vmas).iter().skip(1) {
                out.push_str(&format!("#     {l}\n"));
            }
        }
        prev = *s;
    }
    out
}
