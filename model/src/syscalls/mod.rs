//! The syscalls, one module per kernel file they mirror. `apply` is the one
//! dispatch: a `match` with one arm per call, each arm a few lines that
//! delegate, so a reader finds each call's semantics by its name.

pub mod defaults;
mod ksm;
mod madvise;
mod mdwe;
mod mlock;
mod mmap;
mod observe;
pub mod pages;
mod prctl;
mod process_madvise;
pub mod share;
pub mod task;

pub use crate::semantics::PmadvCheck;
pub use madvise::{behavior, walk, Behavior, Errors, Naming, PageOp, Walked, BEHAVIORS};
pub use process_madvise::{may_access_remote, process_madvise_on, Target2};
pub use task::fork_child;

use crate::action::{Call, Errno, Prot, Ret, Target};
use crate::semantics::Semantics;
use crate::state::{Process, State, Sysfs};
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
    /// A call by a task blocked in `vfork()` until its child execs or exits.
    VforkParentBlocked { parent: usize, child: usize },
    /// `clone(CLONE_THREAD)` that would make a second thread group of more
    /// than one task in one mm: beyond what the model holds (`Link`).
    SecondThreadGroup(usize),
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
            StepError::VforkParentBlocked { parent, child } => write!(
                f,
                "P{parent} is blocked in vfork() until P{child} calls execve or exit, and makes no call before"
            ),
            StepError::SecondThreadGroup(p) => write!(
                f,
                "P{p} would start a second thread group of several threads in one mm, which the model does not hold (one per mm)"
            ),
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
    // Tasks that share an mm: the step changes one copy of it, `settle`
    // gives it to the others.
    let before = share::any_linked(state).then_some(*state);
    let ret = dispatch(sem, cap, state, pid, call)?;
    if let Some(before) = before {
        share::settle(state, &before, pid);
    }
    Ok(ret)
}

fn dispatch(
    sem: &Semantics,
    cap: StepMode,
    state: &mut State,
    pid: usize,
    call: &Call,
) -> Result<Ret, StepError> {
    let sysfs = state.sysfs;
    if reach(call) == Reach::Kernel {
        return Ok(pages::khugepaged(sem, sysfs, state));
    }
    if state.proc(pid).is_none() {
        return Err(StepError::NoSuchProcess(pid));
    }
    // A blocked vfork parent makes no call, but what /proc and its GET
    // prctls show of it (its child's mm) can be read.
    if !call.is_observation() {
        share::blocked(state, pid)?;
    }
    match reach(call) {
        Reach::Caller => {
            if let Call::Execve(_) = call {
                share::end_other_threads(state, pid);
            }
            let me = state.proc_mut(pid).expect("checked live above");
            apply_to_caller(sem, cap, sysfs, me, call)
        }
        Reach::FreesCaller => {
            share::exit_group(state, pid);
            Ok(task::exit(state, pid))
        }
        Reach::Forks => task::fork(sem, state, pid, cap.procs),
        Reach::Clones => {
            let flags = match call {
                Call::Clone(f) => *f,
                _ => crate::action::CloneFlags::VFORK,
            };
            share::clone(sem, state, pid, flags, cap.procs)
        }
        Reach::Kernel => unreachable!("handled above"),
        Reach::Pair(_) | Reach::State => Ok(match call {
            Call::ProcessMadvise { target, iov, advice, flags } => {
                process_madvise::process_madvise(sem, state, pid, *target, *iov, *advice, *flags)
            }
            // mctl() is a proposal's syscall: a kernel without it has no entry.
            _ => sem.variant.call(sem, state, pid, call).unwrap_or(Ret::Err(Errno::ENOSYS)),
        }),
    }
}

/// What part of the state a call reads and writes. `apply` dispatches on
/// it, so it is the semantics' own structure, not a claim beside them: a
/// checker may compute successors piecewise by it (and mmflags' does:
/// most calls are `Caller`, a function of the caller's process alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// The caller's own process (and the sysfs mode) only:
    /// `apply_to_caller`, which is given nothing else.
    Caller,
    /// `exit()`: frees the caller's slot and reads nothing.
    FreesCaller,
    /// `fork()`: the lowest free slot (below the bound) gets `fork_child`
    /// of the caller, and the caller's pages are shared with it
    /// (`fork_parent`); nothing else changes.
    Forks,
    /// The kernel's own work on every process (a khugepaged scan).
    Kernel,
    /// `process_madvise` naming another process by its slot: the caller
    /// and that process only (`process_madvise_on`), when the target is
    /// another live process.
    Pair(usize),
    /// Anything: a variant module's syscall (`mctl` may name anyone), which
    /// sees the whole state.
    State,
    /// `vfork()` and `clone()`: a child in the lowest free slot that may
    /// share the caller's mm, and the caller's link to it
    /// (`share::clone`).
    Clones,
}

pub fn reach(call: &Call) -> Reach {
    match call {
        Call::Exit => Reach::FreesCaller,
        Call::Fork => Reach::Forks,
        Call::Vfork | Call::Clone(_) => Reach::Clones,
        Call::ProcessMadvise { target: Target::Pid(t), .. } => Reach::Pair(*t as usize),
        Call::Mctl { .. } => Reach::State,
        Call::Khugepaged => Reach::Kernel,
        _ => Reach::Caller,
    }
}

/// Runs a `Reach::Caller` call on the caller's process `me` (the rest of
/// the state is out of its reach by type).
pub fn apply_to_caller(
    sem: &Semantics,
    cap: StepMode,
    sysfs: Sysfs,
    me: &mut Process,
    call: &Call,
) -> Result<Ret, StepError> {
    debug_assert_eq!(reach(call), Reach::Caller, "{call:?} touches more than its caller");
    // prctl() by option number: the kernel's table, or a proposal's
    // option (every prctl of the model acts on the caller's mm alone).
    if let Some((option, args)) = call.prctl_args() {
        return Ok(prctl::call(sem, sysfs, me, option, args));
    }
    Ok(match call {
        Call::Mmap => mmap::mmap(sem, sysfs, me, cap.vmas, Prot::RW)?,
        Call::MmapProt(prot) => mmap::mmap(sem, sysfs, me, cap.vmas, *prot)?,
        Call::Mprotect(item, prot) => mmap::mprotect(sem, sysfs, me, *item, *prot),
        Call::Munmap(range) => mmap::munmap(me, *range),
        Call::Madvise(range, advice) => madvise::madvise(sem, sysfs, me, *range, *advice),
        Call::Mlockall(flags) => mlock::mlockall(sem, sysfs, me, *flags),
        Call::Munlockall => mlock::munlockall(me),
        Call::Execve(image) => task::execve(sem, me, *image),
        Call::Setresuid => task::setresuid(me),
        Call::VmFlags(item) => observe::vmflags(sem, me, *item),
        Call::ThpEligible(item) => observe::thp_eligible(sysfs, me, *item),
        Call::ThpEnabled => observe::thp_enabled(me),
        Call::Touch(item) => pages::touch(sem, sysfs, me, *item),
        Call::Pages(item) => pages::pages(me, *item),
        Call::ProcessMadvise { target: Target::SelfProc, iov, advice, flags } => {
            process_madvise::process_madvise_on(sem, sysfs, me, Target2::Own, *iov, *advice, *flags)
        }
        Call::ProcessMadvise { .. }
        | Call::Fork
        | Call::Vfork
        | Call::Clone(_)
        | Call::Exit
        | Call::Mctl { .. }
        | Call::Khugepaged => {
            unreachable!("not a call of the caller alone: see reach()")
        }
        Call::PrctlSetThpDisable(..)
        | Call::PrctlGetThpDisable
        | Call::PrctlSetNoNewPrivs(_)
        | Call::PrctlSetMemoryMerge(_)
        | Call::PrctlGetMemoryMerge
        | Call::PrctlSetMdwe(_)
        | Call::PrctlGetMdwe
        | Call::PrctlSetThpPolicy(_)
        | Call::PrctlGetThpPolicy
        | Call::PrctlSetThpAlways(_)
        | Call::PrctlGetThpAlways
        | Call::PrctlRaw(..) => unreachable!("dispatched by number above"),
    })
}
