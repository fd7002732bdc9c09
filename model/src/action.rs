//! The trace language's vocabulary: syscalls as the kernel names them, their
//! arguments, and their results. `Display` here is the one printer of the
//! language; `parse.rs` is its one reader, and the two round-trip.

use crate::flags::VmFlags;
use crate::state::Image;
use std::fmt;

/// Most iovec entries a `process_madvise` call can carry.
pub const MAX_IOV: usize = 4;

/// One region of the abstract address space: VMA slot `vN` (4 MiB at
/// `base + N * 8 MiB`, mapped or not) or `hole`, a region that is never mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Item {
    Vma(u8),
    Hole,
}

/// An address range argument: one item, or `vN..vM` (slots N to M and the
/// gaps between them, so a run always meets unmapped memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Range {
    One(Item),
    Run(u8, u8),
}

pub const REGION_BYTES: i64 = 4 << 20;
pub const SLOT_STRIDE: i64 = 8 << 20;

impl Range {
    /// Length in bytes, as the iovec entry would give it.
    pub fn len_bytes(self) -> i64 {
        match self {
            Range::One(_) => REGION_BYTES,
            Range::Run(a, b) => (b as i64 - a as i64) * SLOT_STRIDE + REGION_BYTES,
        }
    }

    /// Does this range cover VMA slot `slot`?
    pub fn covers(self, slot: usize) -> bool {
        match self {
            Range::One(Item::Vma(n)) => n as usize == slot,
            Range::One(Item::Hole) => false,
            Range::Run(a, b) => (a as usize..=b as usize).contains(&slot),
        }
    }
}

/// The iovec argument of `process_madvise`: a list, or `NULL` (with vlen −1,
/// as `PMADV_ENTIRE_ADDRESS_SPACE` requires).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IovList {
    len: u8,
    items: [Range; MAX_IOV],
}

impl IovList {
    /// `None` when `items` is empty or longer than `MAX_IOV`.
    pub fn new(items: &[Range]) -> Option<IovList> {
        if items.is_empty() || items.len() > MAX_IOV {
            return None;
        }
        let mut arr = [Range::One(Item::Hole); MAX_IOV];
        arr[..items.len()].copy_from_slice(items);
        Some(IovList { len: items.len() as u8, items: arr })
    }

    pub fn as_slice(&self) -> &[Range] {
        &self.items[..self.len as usize]
    }
}

impl fmt::Debug for IovList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Iovec {
    List(IovList),
    Null,
}

/// Who a pidfd names: the caller (`self`, i.e. `PIDFD_SELF`) or process `Pn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    SelfProc,
    Pid(u8),
}

/// `madvise` behaviours the model knows, with the kernel's numbers.
/// `Other(n)` is any other number; the model treats it as an unknown advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Advice {
    Willneed,
    Dontneed,
    Dontfork,
    Dofork,
    Hugepage,
    Nohugepage,
    Wipeonfork,
    Keeponfork,
    Cold,
    Pageout,
    Other(u32),
}

impl Advice {
    pub const KNOWN: [(Advice, &'static str, u32); 10] = [
        (Advice::Willneed, "MADV_WILLNEED", 3),
        (Advice::Dontneed, "MADV_DONTNEED", 4),
        (Advice::Dontfork, "MADV_DONTFORK", 10),
        (Advice::Dofork, "MADV_DOFORK", 11),
        (Advice::Hugepage, "MADV_HUGEPAGE", 14),
        (Advice::Nohugepage, "MADV_NOHUGEPAGE", 15),
        (Advice::Wipeonfork, "MADV_WIPEONFORK", 18),
        (Advice::Keeponfork, "MADV_KEEPONFORK", 19),
        (Advice::Cold, "MADV_COLD", 20),
        (Advice::Pageout, "MADV_PAGEOUT", 21),
    ];

    pub fn number(self) -> u32 {
        match self {
            Advice::Other(n) => n,
            a => Self::KNOWN.iter().find(|k| k.0 == a).map(|k| k.2).unwrap_or(0),
        }
    }

    /// A number becomes the named advice when the model knows it.
    pub fn from_number(n: u32) -> Advice {
        Self::KNOWN.iter().find(|k| k.2 == n).map(|k| k.0).unwrap_or(Advice::Other(n))
    }

    pub fn from_name(s: &str) -> Option<Advice> {
        Self::KNOWN.iter().find(|k| k.1 == s).map(|k| k.0)
    }
}

impl fmt::Display for Advice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Advice::Other(n) => write!(f, "{n}"),
            a => f.write_str(Self::KNOWN.iter().find(|k| k.0 == *a).map(|k| k.1).unwrap_or("?")),
        }
    }
}

/// A flag word whose bits have names in the trace language. Unnamed bits
/// print in hex, so every value prints and parses back.
macro_rules! named_bits {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $flag:ident = $val:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
        impl $name {
            $($(#[$fm])* pub const $flag: $name = $name($val);)*
            pub const NAMES: &'static [($name, &'static str)] = &[$(($name::$flag, stringify!($flag))),*];
            pub fn from_name(s: &str) -> Option<$name> {
                Self::NAMES.iter().find(|(_, n)| *n == s).map(|(f, _)| *f)
            }
        }
        crate::bit_set!($name);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_named_bits(f, self.0, Self::NAMES.iter().map(|(b, n)| (b.0, *n)))
            }
        }
    };
}

fn write_named_bits<'a>(
    f: &mut fmt::Formatter<'_>,
    bits: u32,
    names: impl Iterator<Item = (u32, &'a str)>,
) -> fmt::Result {
    if bits == 0 {
        return f.write_str("0");
    }
    let mut rest = bits;
    let mut parts = Vec::new();
    for (b, n) in names {
        if b != 0 && rest & b == b {
            parts.push(n.to_string());
            rest &= !b;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    f.write_str(&parts.join("|"))
}

named_bits! {
    /// `process_madvise` flags. Mainline defines none; each proposal's spec
    /// says which of these exist (the numbers beyond the seed RFC's four are
    /// the model's own: those proposals never reached a kernel).
    PmadvFlags {
        PMADV_SKIP_ERRORS = 1 << 0,
        PMADV_NO_ERROR_ON_UNMAPPED = 1 << 1,
        PMADV_SET_FORK_EXEC_DEFAULT = 1 << 2,
        PMADV_ENTIRE_ADDRESS_SPACE = 1 << 3,
        PMADV_FUTURE = 1 << 4,
        PMADV_INHERIT_FORK = 1 << 5,
        PMADV_INHERIT_EXEC = 1 << 6,
        PMADV_SET_DEFAULT = 1 << 7,
    }
}

named_bits! {
    /// `mlockall` flags.
    MclFlags {
        MCL_CURRENT = 1,
        MCL_FUTURE = 2,
        MCL_ONFAULT = 4,
    }
}

named_bits! {
    /// The flags argument (arg3) of `PR_SET_THP_DISABLE`.
    ThpDisableFlags {
        PR_THP_DISABLE_EXCEPT_ADVISED = 1 << 1,
    }
}

named_bits! {
    /// `mctl()` flags (Lorenzo Stoakes' sketch).
    MctlFlags {
        MCTL_SET_DEFAULT_EXEC = 1 << 0,
    }
}

/// A value argument that is one of a few named constants or any number
/// (PR_SET_THP_POLICY's policy, mctl's action).
macro_rules! named_value {
    ($(#[$m:meta])* $name:ident { $($flag:ident = $val:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
        impl $name {
            $(pub const $flag: $name = $name($val);)*
            pub const NAMES: &'static [($name, &'static str)] = &[$(($name::$flag, stringify!($flag))),*];
            pub fn from_name(s: &str) -> Option<$name> {
                Self::NAMES.iter().find(|(_, n)| *n == s).map(|(f, _)| *f)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match Self::NAMES.iter().find(|(v, _)| v == self) {
                    Some((_, n)) => f.write_str(n),
                    None => write!(f, "{}", self.0),
                }
            }
        }
    };
}

named_value! {
    /// Usama Arif v3's `PR_SET_THP_POLICY` argument.
    ThpPolicy {
        PR_DEFAULT_MADV_HUGEPAGE = 0,
        PR_DEFAULT_MADV_NOHUGEPAGE = 1,
        PR_THP_POLICY_SYSTEM = 2,
    }
}

named_value! {
    /// `mctl()` actions.
    MctlAction {
        MCTL_SET_NOHUGEPAGE = 0,
        MCTL_CLEAR_NOHUGEPAGE = 1,
        MCTL_SET_HUGEPAGE = 2,
        MCTL_CLEAR_HUGEPAGE = 3,
    }
}

/// One syscall (or observation) with its arguments, without the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Call {
    Mmap,
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
    Mlockall(MclFlags),
    Munlockall,
    Fork,
    Execve(Image),
    /// `setresuid(user, user, user)`: drop root for the unprivileged uid.
    Setresuid,
    Exit,
    // Observations: what /proc shows; they change nothing.
    VmFlags(Item),
    ThpEligible(Item),
    ThpEnabled,
    // Calls that proposals add.
    PrctlSetThpPolicy(ThpPolicy),
    PrctlGetThpPolicy,
    PrctlSetThpAlways(u32),
    PrctlGetThpAlways,
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
            Call::Mmap => "mmap",
            Call::Munmap(_) => "munmap",
            Call::Madvise(..) => "madvise",
            Call::ProcessMadvise { .. } => "process_madvise",
            Call::PrctlSetThpDisable(..) => "prctl(PR_SET_THP_DISABLE)",
            Call::PrctlGetThpDisable => "prctl(PR_GET_THP_DISABLE)",
            Call::PrctlSetNoNewPrivs(_) => "prctl(PR_SET_NO_NEW_PRIVS)",
            Call::Mlockall(_) => "mlockall",
            Call::Munlockall => "munlockall",
            Call::Fork => "fork",
            Call::Execve(_) => "execve",
            Call::Setresuid => "setresuid",
            Call::Exit => "exit",
            Call::VmFlags(_) => "vmflags",
            Call::ThpEligible(_) => "thp_eligible",
            Call::ThpEnabled => "thp_enabled",
            Call::PrctlSetThpPolicy(_) => "prctl(PR_SET_THP_POLICY)",
            Call::PrctlGetThpPolicy => "prctl(PR_GET_THP_POLICY)",
            Call::PrctlSetThpAlways(_) => "prctl(PR_SET_THP_ALWAYS)",
            Call::PrctlGetThpAlways => "prctl(PR_GET_THP_ALWAYS)",
            Call::Mctl { .. } => "mctl",
        }
    }

    /// Observations read state and never change it; exploration leaves them out.
    pub fn is_observation(&self) -> bool {
        matches!(
            self,
            Call::PrctlGetThpDisable
                | Call::VmFlags(_)
                | Call::ThpEligible(_)
                | Call::ThpEnabled
                | Call::PrctlGetThpPolicy
                | Call::PrctlGetThpAlways
        )
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Vma(n) => write!(f, "v{n}"),
            Item::Hole => f.write_str("hole"),
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Range::One(i) => write!(f, "{i}"),
            Range::Run(a, b) => write!(f, "v{a}..v{b}"),
        }
    }
}

impl fmt::Display for Iovec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Iovec::Null => f.write_str("NULL"),
            Iovec::List(l) => {
                let parts: Vec<String> = l.as_slice().iter().map(|r| r.to_string()).collect();
                write!(f, "[{}]", parts.join(", "))
            }
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::SelfProc => f.write_str("self"),
            Target::Pid(p) => write!(f, "P{p}"),
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::Mmap => f.write_str("mmap()"),
            Call::Munmap(r) => write!(f, "munmap({r})"),
            Call::Madvise(r, a) => write!(f, "madvise({r}, {a})"),
            Call::ProcessMadvise { target, iov, advice, flags } => {
                write!(f, "process_madvise({target}, {iov}, {advice}, {flags})")
            }
            Call::PrctlSetThpDisable(a2, fl) => write!(f, "prctl(PR_SET_THP_DISABLE, {a2}, {fl})"),
            Call::PrctlGetThpDisable => f.write_str("prctl(PR_GET_THP_DISABLE)"),
            Call::PrctlSetNoNewPrivs(a2) => write!(f, "prctl(PR_SET_NO_NEW_PRIVS, {a2})"),
            Call::Mlockall(fl) => write!(f, "mlockall({fl})"),
            Call::Munlockall => f.write_str("munlockall()"),
            Call::Fork => f.write_str("fork()"),
            Call::Execve(i) => write!(f, "execve({i})"),
            Call::Setresuid => f.write_str("setresuid(user)"),
            Call::Exit => f.write_str("exit()"),
            Call::VmFlags(i) => write!(f, "vmflags({i})"),
            Call::ThpEligible(i) => write!(f, "thp_eligible({i})"),
            Call::ThpEnabled => f.write_str("thp_enabled()"),
            Call::PrctlSetThpPolicy(p) => write!(f, "prctl(PR_SET_THP_POLICY, {p})"),
            Call::PrctlGetThpPolicy => f.write_str("prctl(PR_GET_THP_POLICY)"),
            Call::PrctlSetThpAlways(a) => write!(f, "prctl(PR_SET_THP_ALWAYS, {a})"),
            Call::PrctlGetThpAlways => f.write_str("prctl(PR_GET_THP_ALWAYS)"),
            Call::Mctl { target, action, flags } => write!(f, "mctl({target}, {action}, {flags})"),
        }
    }
}

/// A syscall made by process slot `pid`: the model's `Action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Action {
    pub pid: u8,
    pub call: Call,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{} {}", self.pid, self.call)
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
    EINVAL,
    ENOSYS,
}

impl Errno {
    pub const ALL: [(Errno, &'static str, i32); 10] = [
        (Errno::EPERM, "EPERM", 1),
        (Errno::ESRCH, "ESRCH", 3),
        (Errno::EINTR, "EINTR", 4),
        (Errno::EBADF, "EBADF", 9),
        (Errno::EAGAIN, "EAGAIN", 11),
        (Errno::ENOMEM, "ENOMEM", 12),
        (Errno::EACCES, "EACCES", 13),
        (Errno::EFAULT, "EFAULT", 14),
        (Errno::EINVAL, "EINVAL", 22),
        (Errno::ENOSYS, "ENOSYS", 38),
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
