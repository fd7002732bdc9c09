//! The syscalls, one module per kernel file they mirror. `apply` is the one
//! dispatch: a `match` with one arm per call, each arm a few lines that
//! delegate, so a reader finds each call's semantics by its name.

pub mod defaults;
mod madvise;
mod mlock;
mod mmap;
mod observe;
mod prctl;
mod process_madvise;
mod task;

pub use madvise::{behavior, walk, Behavior, Errors, Naming, Walked, BEHAVIORS};
pub use process_madvise::{may_access_remote, PmadvCheck};

use crate::action::{Call, Errno, Ret};
use crate::semantics::Semantics;
use crate::state::State;
use std::fmt;

/// How a step is run: how many process and VMA slots it may use (the
/// spec's bounds while exploring, the model's capacity while replaying).
/// Every call of the language runs on every spec: one the spec's kernel
/// does not have is answered as that kernel would (-EINVAL for an unknown
/// flag bit, advice or prctl option, -ENOSYS for a missing syscall).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepMode {
    pub procs: usize,
    pub vmas: usize,
}

/// A step the model cannot take at all (as opposed to a syscall that fails
/// with an errno, which is a normal `Ret::Err`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepError {
    /// The caller slot holds no live process.
    NoSuchProcess(usize),
    /// `fork()` with every process slot in use.
    NoFreeProcessSlot(usize),
    /// `mmap()` with every VMA slot of the caller in use.
    NoFreeVmaSlot(usize),
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::NoSuchProcess(p) => write!(f, "P{p} is not a live process at this point"),
            StepError::NoFreeProcessSlot(n) => {
                write!(f, "fork() needs a free process slot, and all {n} are in use")
            }
            StepError::NoFreeVmaSlot(n) => {
                write!(f, "mmap() needs a free VMA slot, and all {n} are in use")
            }
        }
    }
}

impl std::error::Error for StepError {}

/// Runs `call` by process `pid` on `state` (in place) and returns its result.
pub fn apply(
    sem: &Semantics,
    cap: StepMode,
    state: &mut State,
    pid: usize,
    call: &Call,
) -> Result<Ret, StepError> {
    if state.proc(pid).is_none() {
        return Err(StepError::NoSuchProcess(pid));
    }
    let sysfs = state.sysfs;
    // Calls that touch more than the caller's own process, and those a
    // kernel answers by number (prctl options, syscalls a spec may lack).
    if let Some((option, args)) = call.prctl_args() {
        return Ok(prctl::call(sem, state, pid, option, args));
    }
    match call {
        Call::ProcessMadvise { target, iov, advice, flags } => {
            return Ok(process_madvise::process_madvise(sem, state, pid, *target, *iov, *advice, *flags))
        }
        Call::Fork => return task::fork(sem, state, pid, cap.procs),
        Call::Exit => return Ok(task::exit(state, pid)),
        // mctl() is a proposal's syscall: a kernel without it has no entry.
        Call::Mctl { .. } => {
            return Ok(sem.variant.call(sem, state, pid, call).unwrap_or(Ret::Err(Errno::ENOSYS)))
        }
        _ => {}
    }
    let me = state.proc_mut(pid).expect("checked live above");
    Ok(match call {
        Call::Mmap => mmap::mmap(sem, me, cap.vmas)?,
        Call::Munmap(range) => mmap::munmap(me, *range),
        Call::Madvise(range, advice) => madvise::madvise(me, *range, *advice),
        Call::Mlockall(flags) => mlock::mlockall(me, *flags),
        Call::Munlockall => mlock::munlockall(me),
        Call::Execve(image) => task::execve(sem, me, *image),
        Call::Setresuid => task::setresuid(me),
        Call::VmFlags(item) => observe::vmflags(sem, me, *item),
        Call::ThpEligible(item) => observe::thp_eligible(sysfs, me, *item),
        Call::ThpEnabled => observe::thp_enabled(me),
        Call::ProcessMadvise { .. }
        | Call::Fork
        | Call::Exit
        | Call::Mctl { .. }
        | Call::PrctlSetThpDisable(..)
        | Call::PrctlGetThpDisable
        | Call::PrctlSetNoNewPrivs(_)
        | Call::PrctlSetThpPolicy(_)
        | Call::PrctlGetThpPolicy
        | Call::PrctlSetThpAlways(_)
        | Call::PrctlGetThpAlways
        | Call::PrctlRaw(..) => unreachable!("handled above"),
    })
}
