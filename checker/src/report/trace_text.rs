//! Text renderings shared by the terminal, the reports and `replay`: a
//! trace as a replayable file whose comments show the state and what each
//! step changed, and end with what breaks the property and where it came
//! from (`mmflags_model::cause`).

use crate::verdict::Trace;
use mmflags_model::cause::cause;
use mmflags_model::diff::{describe, diff};
use mmflags_model::property::Prop;
use mmflags_model::System;

/// The trace in the trace language, with `#` comments for the initial state
/// and each step's changes, so the whole text replays as written; its last
/// line says why the trace breaks (or reaches) `prop`.
pub fn trace_text(sys: &System, prop: &Prop, t: &Trace, full_states: bool) -> String {
    let mut out = steps_text(t, sys.bounds.vmas, full_states);
    out.push_str(&format!("# {}\n", cause(sys, prop, t).text));
    out
}

/// The trace with its `#` comments, without the cause line.
pub fn steps_text(t: &Trace, vmas: usize, full_states: bool) -> String {
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
