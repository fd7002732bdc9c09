//! The trace language's vocabulary: syscalls as the kernel names them, their
//! arguments, and their results. `Display` here is the one printer of the
//! language; `parse` is its one reader, and the two round-trip.

mod args;
mod words;

pub use args::*;
pub use words::*;

use crate::flags::VmFlags;
use crate::state::{Backing, Image};
use std::fmt;

/// One syscall (or observation) with its arguments, without the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Call {
    Mmap,
    /// `mmap(PROT)`: `mmap()` is `mmap(PROT_READ|PROT_WRITE)`, and prints so.
    MmapProt(Prot),
    /// `mprotect(v, PROT)`.
    Mprotect(Item, Prot),
    Munmap(Range),
    Madvise(Range, Advice),
    ProcessMadvise {
        target: Target,
        iov: Iovec,
        advice: Advice,
        flags: PmadvFlags,
    },
    /// `prctl(PR_SET_THP_DISABLE, arg2, arg3)`.
    PrctlSetThpDisable(u32, ThpDisableFlags),
    PrctlGetThpDisable,
    /// `prctl(PR_SET_NO_NEW_PRIVS, arg2)`.
    PrctlSetNoNewPrivs(u32),
    /// `prctl(PR_SET_MEMORY_MERGE, arg2)`: KSM merge-any (6.4).
    PrctlSetMemoryMerge(u32),
    PrctlGetMemoryMerge,
    /// `prctl(PR_SET_MDWE, bits)` (6.3).
    PrctlSetMdwe(MdweBits),
    PrctlGetMdwe,
    Mlockall(MclFlags),
    Munlockall,
    Fork,
    /// `vfork()`: the child shares the mm, and the parent makes no call
    /// until the child execs or exits.
    Vfork,
    /// `clone(FLAGS)`: with `CLONE_VM` a task that shares the mm (a thread
    /// with `CLONE_THREAD`), without it a fork.
    Clone(CloneFlags),
    Execve(Image),
    /// `setresuid(user, user, user)`: drop root for the unprivileged uid.
    Setresuid,
    Exit,
    /// `touch(v)`: the process writes every byte of slot `v` (a write
    /// fault per page where nothing is mapped).
    Touch(Item),
    /// khugepaged finishes a full scan: no process makes this call (its
    /// `Action` has `pid == KHUGEPAGED`).
    Khugepaged,
    // Observations: what /proc shows; they change nothing.
    VmFlags(Item),
    ThpEligible(Item),
    ThpEnabled,
    /// `pages(v)`: what backs slot `v`, from smaps `Rss` and `AnonHugePages`.
    Pages(Item),
    // Calls that proposals add.
    PrctlSetThpPolicy(ThpPolicy),
    PrctlGetThpPolicy,
    PrctlSetThpAlways(u32),
    PrctlGetThpAlways,
    /// `prctl(N, arg2)` for an option number two proposals both posted
    /// (78, 79): each spec's kernel reads it its own way (see `prctl::call`).
    PrctlRaw(u32, u32),
    Mctl {
        target: Target,
        action: MctlAction,
        flags: MctlFlags,
    },
}

impl Call {
    /// The call's name as the trace language spells it (`prctl` options
    /// included, since they are separate interfaces): what `[actions]`
    /// include/exclude patterns and coverage group by.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Mmap | Call::MmapProt(_) => "mmap",
            Call::Mprotect(..) => "mprotect",
            Call::Munmap(_) => "munmap",
            Call::Madvise(..) => "madvise",
            Call::ProcessMadvise { .. } => "process_madvise",
            Call::PrctlSetThpDisable(..) => "prctl(PR_SET_THP_DISABLE)",
            Call::PrctlGetThpDisable => "prctl(PR_GET_THP_DISABLE)",
            Call::PrctlSetNoNewPrivs(_) => "prctl(PR_SET_NO_NEW_PRIVS)",
            Call::PrctlSetMemoryMerge(_) => "prctl(PR_SET_MEMORY_MERGE)",
            Call::PrctlGetMemoryMerge => "prctl(PR_GET_MEMORY_MERGE)",
            Call::PrctlSetMdwe(_) => "prctl(PR_SET_MDWE)",
            Call::PrctlGetMdwe => "prctl(PR_GET_MDWE)",
            Call::Mlockall(_) => "mlockall",
            Call::Munlockall => "munlockall",
            Call::Fork => "fork",
            Call::Vfork => "vfork",
            Call::Clone(_) => "clone",
            Call::Execve(_) => "execve",
            Call::Setresuid => "setresuid",
            Call::Exit => "exit",
            Call::Touch(_) => "touch",
            Call::Khugepaged => "khugepaged",
            Call::Pages(_) => "pages",
            Call::VmFlags(_) => "vmflags",
            Call::ThpEligible(_) => "thp_eligible",
            Call::ThpEnabled => "thp_enabled",
            Call::PrctlSetThpPolicy(_) => "prctl(PR_SET_THP_POLICY)",
            Call::PrctlGetThpPolicy => "prctl(PR_GET_THP_POLICY)",
            Call::PrctlSetThpAlways(_) => "prctl(PR_SET_THP_ALWAYS)",
            Call::PrctlGetThpAlways => "prctl(PR_GET_THP_ALWAYS)",
            Call::PrctlRaw(PR_SET_THP_PROPOSED, _) => "prctl(78)",
            Call::PrctlRaw(PR_GET_THP_PROPOSED, _) => "prctl(79)",
            Call::PrctlRaw(..) => "prctl",
            Call::Mctl { .. } => "mctl",
        }
    }

    /// A call about pages (a write, a collapse, a zap, khugepaged's scan):
    /// only a spec's run of its page properties explores them.
    pub fn is_page_call(&self) -> bool {
        matches!(
            self,
            Call::Touch(_)
                | Call::Khugepaged
                | Call::Madvise(_, Advice::Collapse | Advice::Dontneed)
                | Call::ProcessMadvise { advice: Advice::Collapse | Advice::Dontneed, .. }
        )
    }

    /// A mapping's protection: `mmap(PROT)` and `mprotect`. The page
    /// properties need them too (a locked read-only slot is populated by
    /// reads, which map the zero page), so they are in both the pages and
    /// the policies views.
    pub fn is_protection_call(&self) -> bool {
        matches!(self, Call::MmapProt(_) | Call::Mprotect(..))
    }

    /// What the pages view adds to a spec's alphabet: the calls about
    /// pages and the protections.
    pub fn is_pages_view_call(&self) -> bool {
        self.is_page_call() || self.is_protection_call()
    }

    /// A call about KSM merge-any or MDWE (their prctls, the KSM advice, a
    /// protection): only a spec's runs of its policy and shared-mm
    /// properties explore them.
    pub fn is_policy_call(&self) -> bool {
        matches!(
            self,
            Call::MmapProt(_)
                | Call::Mprotect(..)
                | Call::PrctlSetMemoryMerge(_)
                | Call::PrctlSetMdwe(_)
                | Call::Madvise(_, Advice::Mergeable | Advice::Unmergeable)
                | Call::ProcessMadvise { advice: Advice::Mergeable | Advice::Unmergeable, .. }
        )
    }

    /// A call that makes a task sharing the caller's mm (`vfork`, `clone`):
    /// only a spec's run of its shared-mm properties explores them, beside
    /// the policies' calls.
    pub fn is_sharing_call(&self) -> bool {
        matches!(self, Call::Vfork | Call::Clone(_))
    }

    /// Observations read state and never change it; exploration leaves them out.
    pub fn is_observation(&self) -> bool {
        matches!(
            self,
            Call::PrctlGetThpDisable
                | Call::PrctlGetMemoryMerge
                | Call::PrctlGetMdwe
                | Call::VmFlags(_)
                | Call::ThpEligible(_)
                | Call::ThpEnabled
                | Call::Pages(_)
                | Call::PrctlGetThpPolicy
                | Call::PrctlGetThpAlways
        )
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::Mmap => f.write_str("mmap()"),
            Call::MmapProt(p) => write!(f, "mmap({p})"),
            Call::Mprotect(i, p) => write!(f, "mprotect({i}, {p})"),
            Call::Munmap(r) => write!(f, "munmap({r})"),
            Call::Madvise(r, a) => write!(f, "madvise({r}, {a})"),
            Call::ProcessMadvise { target, iov, advice, flags } => {
                write!(f, "process_madvise({target}, {iov}, {advice}, {flags})")
            }
            Call::PrctlSetThpDisable(a2, fl) => write!(f, "prctl(PR_SET_THP_DISABLE, {a2}, {fl})"),
            Call::PrctlGetThpDisable => f.write_str("prctl(PR_GET_THP_DISABLE)"),
            Call::PrctlSetNoNewPrivs(a2) => write!(f, "prctl(PR_SET_NO_NEW_PRIVS, {a2})"),
            Call::PrctlSetMemoryMerge(a2) => write!(f, "prctl(PR_SET_MEMORY_MERGE, {a2})"),
            Call::PrctlGetMemoryMerge => f.write_str("prctl(PR_GET_MEMORY_MERGE)"),
            Call::PrctlSetMdwe(b) => write!(f, "prctl(PR_SET_MDWE, {b})"),
            Call::PrctlGetMdwe => f.write_str("prctl(PR_GET_MDWE)"),
            Call::Mlockall(fl) => write!(f, "mlockall({fl})"),
            Call::Munlockall => f.write_str("munlockall()"),
            Call::Fork => f.write_str("fork()"),
            Call::Vfork => f.write_str("vfork()"),
            Call::Clone(fl) => write!(f, "clone({fl})"),
            Call::Execve(i) => write!(f, "execve({i})"),
            Call::Setresuid => f.write_str("setresuid(user)"),
            Call::Exit => f.write_str("exit()"),
            Call::Touch(i) => write!(f, "touch({i})"),
            Call::Khugepaged => f.write_str("khugepaged()"),
            Call::Pages(i) => write!(f, "pages({i})"),
            Call::VmFlags(i) => write!(f, "vmflags({i})"),
            Call::ThpEligible(i) => write!(f, "thp_eligible({i})"),
            Call::ThpEnabled => f.write_str("thp_enabled()"),
            Call::PrctlSetThpPolicy(p) => write!(f, "prctl(PR_SET_THP_POLICY, {p})"),
            Call::PrctlGetThpPolicy => f.write_str("prctl(PR_GET_THP_POLICY)"),
            Call::PrctlSetThpAlways(a) => write!(f, "prctl(PR_SET_THP_ALWAYS, {a})"),
            Call::PrctlGetThpAlways => f.write_str("prctl(PR_GET_THP_ALWAYS)"),
            Call::PrctlRaw(o, a2) if *o == PR_GET_THP_PROPOSED && *a2 == 0 => write!(f, "prctl({o})"),
            Call::PrctlRaw(o, a2) => write!(f, "prctl({o}, {a2})"),
            Call::Mctl { target, action, flags } => write!(f, "mctl({target}, {action}, {flags})"),
        }
    }
}

impl Call {
    /// A prctl call as the kernel receives it: the option number and
    /// arg2, arg3 (arg4 and arg5 are always 0 in the language).
    pub fn prctl_args(&self) -> Option<(u32, [u32; 2])> {
        Some(match *self {
            Call::PrctlSetNoNewPrivs(a2) => (PR_SET_NO_NEW_PRIVS, [a2, 0]),
            Call::PrctlSetMemoryMerge(a2) => (PR_SET_MEMORY_MERGE, [a2, 0]),
            Call::PrctlGetMemoryMerge => (PR_GET_MEMORY_MERGE, [0, 0]),
            Call::PrctlSetMdwe(b) => (PR_SET_MDWE, [b.0, 0]),
            Call::PrctlGetMdwe => (PR_GET_MDWE, [0, 0]),
            Call::PrctlSetThpDisable(a2, fl) => (PR_SET_THP_DISABLE, [a2, fl.0]),
            Call::PrctlGetThpDisable => (PR_GET_THP_DISABLE, [0, 0]),
            Call::PrctlSetThpPolicy(p) => (PR_SET_THP_PROPOSED, [p.0, 0]),
            Call::PrctlSetThpAlways(a2) => (PR_SET_THP_PROPOSED, [a2, 0]),
            Call::PrctlGetThpPolicy | Call::PrctlGetThpAlways => (PR_GET_THP_PROPOSED, [0, 0]),
            Call::PrctlRaw(o, a2) => (o, [a2, 0]),
            _ => return None,
        })
    }
}

/// A syscall made by process slot `pid`: the model's `Action`. The
/// kernel's own work (a khugepaged scan) is an action of no process:
/// `pid == KHUGEPAGED`, printed without a prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Action {
    pub pid: u8,
    pub call: Call,
}

/// The `pid` of an action no process makes.
pub const KHUGEPAGED: u8 = u8::MAX;

impl Action {
    /// khugepaged's full scan.
    pub const KHUGEPAGED: Action = Action { pid: KHUGEPAGED, call: Call::Khugepaged };

    /// Made by the kernel, not by a process.
    pub fn by_kernel(&self) -> bool {
        self.pid == KHUGEPAGED
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.by_kernel() {
            write!(f, "{}", self.call)
        } else {
            write!(f, "P{} {}", self.pid, self.call)
        }
    }
}

/// Error numbers the model returns (printed negated, as the kernel returns them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Errno {
    EPERM,
    ESRCH,
    EINTR,
    EBADF,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EINVAL,
    ENOSYS,
    /// 524, the kernel's internal "not supported", which some prctls return to userspace.
    ENOTSUPP,
}

impl Errno {
    pub const ALL: [(Errno, &'static str, i32); 12] = [
        (Errno::EPERM, "EPERM", 1),
        (Errno::ESRCH, "ESRCH", 3),
        (Errno::EINTR, "EINTR", 4),
        (Errno::EBADF, "EBADF", 9),
        (Errno::EAGAIN, "EAGAIN", 11),
        (Errno::ENOMEM, "ENOMEM", 12),
        (Errno::EACCES, "EACCES", 13),
        (Errno::EFAULT, "EFAULT", 14),
        (Errno::EBUSY, "EBUSY", 16),
        (Errno::EINVAL, "EINVAL", 22),
        (Errno::ENOSYS, "ENOSYS", 38),
        (Errno::ENOTSUPP, "ENOTSUPP", 524),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|e| e.0 == self).map(|e| e.1).unwrap_or("E?")
    }
    pub fn number(self) -> i32 {
        Self::ALL.iter().find(|e| e.0 == self).map(|e| e.2).unwrap_or(0)
    }
    pub fn from_name(s: &str) -> Option<Errno> {
        Self::ALL.iter().find(|e| e.1 == s).map(|e| e.0)
    }
    pub fn from_number(n: i32) -> Option<Errno> {
        Self::ALL.iter().find(|e| e.2 == n).map(|e| e.0)
    }
}

/// What a step returns, printed as strace would (`0`, `4194304`, `-ENOMEM`),
/// plus the names the model hands out (`P1`, `v0`) and observations (`[hg]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ret {
    Val(i64),
    Err(Errno),
    Pid(u8),
    Vma(u8),
    Flags(VmFlags),
    /// What `pages(v)` reads.
    Backing(Backing),
    Unmapped,
    /// `exit()` does not return.
    NoReturn,
}

impl Ret {
    pub fn is_err(&self) -> bool {
        matches!(self, Ret::Err(_))
    }
}

impl fmt::Display for Ret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ret::Val(v) => write!(f, "{v}"),
            Ret::Err(e) => write!(f, "-{}", e.name()),
            Ret::Pid(p) => write!(f, "P{p}"),
            Ret::Vma(v) => write!(f, "v{v}"),
            Ret::Flags(fl) => write!(f, "{fl}"),
            Ret::Backing(b) => write!(f, "{b}"),
            Ret::Unmapped => f.write_str("unmapped"),
            Ret::NoReturn => f.write_str("?"),
        }
    }
}

/// A step of a trace: an action with the result it returned (or must return).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    pub action: Action,
    pub ret: Option<Ret>,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.action)?;
        if let Some(r) = self.ret {
            write!(f, " = {r}")?;
        }
        Ok(())
    }
}
