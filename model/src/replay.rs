//! Running a written trace through the model: each step's result, compared
//! with the result the file expects, stopping at the first difference.
//! Litmus files, `check replay` and the conformance runner's predictions all
//! come through here.

use crate::action::{Ret, Step};
use crate::parse::Trace;
use crate::state::{State, Sysfs};
use crate::syscalls::StepError;
use crate::System;
use std::fmt;

/// One replayed step: what ran, what it returned, and the state after it.
#[derive(Clone, Debug)]
pub struct Replayed {
    pub line: usize,
    /// The step with the model's result filled in.
    pub step: Step,
    pub state: State,
}

/// Why a replay stopped early (Display leaves the line to the caller).
#[derive(Clone, Debug, PartialEq)]
pub enum ReplayError {
    /// The model cannot take this step at all.
    Step { line: usize, err: StepError },
    /// The model's result differs from the one written in the file.
    Mismatch { line: usize, step: Step, expected: Ret, got: Ret },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Step { err, .. } => write!(f, "{err}"),
            ReplayError::Mismatch { step, expected, got, .. } => {
                write!(f, "`{}` returned {got}, the trace expects {expected}", step.action)
            }
        }
    }
}

/// Replays `trace` from the initial state under `sysfs` (the trace's header
/// wins over the argument).
pub fn replay(sys: &System, trace: &Trace, sysfs: Sysfs) -> (State, Vec<Replayed>, Option<ReplayError>) {
    let init = State::init(trace.sysfs.unwrap_or(sysfs));
    let mut cur = init;
    let mut out = Vec::new();
    for &(line, step) in &trace.steps {
        match sys.step(&cur, &step.action) {
            Err(err) => return (init, out, Some(ReplayError::Step { line, err })),
            Ok((got, next)) => {
                let done = Step { action: step.action, ret: Some(got) };
                out.push(Replayed { line, step: done, state: next });
                cur = next;
                if let Some(expected) = step.ret {
                    if expected != got {
                        let e = ReplayError::Mismatch { line, step: done, expected, got };
                        return (init, out, Some(e));
                    }
                }
            }
        }
    }
    (init, out, None)
}
