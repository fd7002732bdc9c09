//! Flag words and named values as the syscalls take them (`process_madvise`
//! flags, `PR_SET_THP_DISABLE` flags, `MCL_*`, the proposals' policies and
//! actions), each printing every value so that it parses back.

use std::fmt;

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
    let names: Vec<(u32, &str)> = names.collect();
    if bits == 0 {
        // A word whose zero has a name (`PROT_NONE`) prints it.
        return f.write_str(names.iter().find(|(b, _)| *b == 0).map_or("0", |(_, n)| n));
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
    /// prctl options a kernel has outside the THP model whose numbers a
    /// proposal's call reaches (`Semantics::foreign_prctls`).
    ForeignPrctls {
        PR_FUTEX_HASH = 1 << 0,
        PR_RSEQ_SLICE_EXTENSION = 1 << 1,
    }
}

named_bits! {
    /// `PR_SET_MDWE`'s bits (6.3; NO_INHERIT from 6.7).
    MdweBits {
        PR_MDWE_REFUSE_EXEC_GAIN = 1 << 0,
        PR_MDWE_NO_INHERIT = 1 << 1,
    }
}

named_bits! {
    /// `clone()` flags the model reads (their kernel values): what is
    /// shared with the child (the mm, signal handlers, the thread group)
    /// and whether the parent waits (`CLONE_VFORK`).
    CloneFlags {
        CLONE_VM = 0x100,
        CLONE_SIGHAND = 0x800,
        CLONE_VFORK = 0x4000,
        CLONE_THREAD = 0x10000,
    }
}

impl CloneFlags {
    /// What `vfork()` is: `clone(CLONE_VM|CLONE_VFORK)`.
    pub const VFORK: CloneFlags = CloneFlags(Self::CLONE_VM.0 | Self::CLONE_VFORK.0);
    /// What `pthread_create` passes, less what the model does not read.
    pub const THREAD: CloneFlags =
        CloneFlags(Self::CLONE_VM.0 | Self::CLONE_SIGHAND.0 | Self::CLONE_THREAD.0);
}

named_bits! {
    /// `mmap` and `mprotect` protection.
    Prot {
        PROT_NONE = 0,
        PROT_READ = 1 << 0,
        PROT_WRITE = 1 << 1,
        PROT_EXEC = 1 << 2,
    }
}

impl Prot {
    /// What `mmap()` without a protection maps: read-write.
    pub const RW: Prot = Prot(Self::PROT_READ.0 | Self::PROT_WRITE.0);
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

/// `prctl` option numbers (include/uapi/linux/prctl.h, and the numbers the
/// proposals posted).
pub const PR_SET_NO_NEW_PRIVS: u32 = 38;
pub const PR_SET_MDWE: u32 = 65;
pub const PR_GET_MDWE: u32 = 66;
pub const PR_SET_MEMORY_MERGE: u32 = 67;
pub const PR_GET_MEMORY_MERGE: u32 = 68;
pub const PR_SET_THP_DISABLE: u32 = 41;
pub const PR_GET_THP_DISABLE: u32 = 42;
/// What Usama Arif's patches posted for both PR_SET_THP_ALWAYS (v1) and
/// PR_SET_THP_POLICY (v2, v3), and what mainline gave PR_FUTEX_HASH in 6.16.
pub const PR_SET_THP_PROPOSED: u32 = 78;
/// PR_GET_THP_ALWAYS (v1) and PR_GET_THP_POLICY (v2, v3), and what mainline
/// gave PR_RSEQ_SLICE_EXTENSION in 7.0.
pub const PR_GET_THP_PROPOSED: u32 = 79;

/// Every prctl option the trace language knows, by name and number.
pub const PRCTL_OPTIONS: [(&str, u32); 11] = [
    ("PR_SET_NO_NEW_PRIVS", PR_SET_NO_NEW_PRIVS),
    ("PR_SET_MDWE", PR_SET_MDWE),
    ("PR_GET_MDWE", PR_GET_MDWE),
    ("PR_SET_MEMORY_MERGE", PR_SET_MEMORY_MERGE),
    ("PR_GET_MEMORY_MERGE", PR_GET_MEMORY_MERGE),
    ("PR_SET_THP_DISABLE", PR_SET_THP_DISABLE),
    ("PR_GET_THP_DISABLE", PR_GET_THP_DISABLE),
    ("PR_SET_THP_POLICY", PR_SET_THP_PROPOSED),
    ("PR_GET_THP_POLICY", PR_GET_THP_PROPOSED),
    ("PR_SET_THP_ALWAYS", PR_SET_THP_PROPOSED),
    ("PR_GET_THP_ALWAYS", PR_GET_THP_PROPOSED),
];

/// Linux's `madvise` advice numbers the model does not model
/// (include/uapi/asm-generic/mman-common.h): a trace may not write them as
/// numbers, since the model would answer -EINVAL where the kernel acts.
pub const UNMODELLED_ADVICE: [(u32, &str); 14] = [
    (0, "MADV_NORMAL"),
    (1, "MADV_RANDOM"),
    (2, "MADV_SEQUENTIAL"),
    (8, "MADV_FREE"),
    (9, "MADV_REMOVE"),
    (16, "MADV_DONTDUMP"),
    (17, "MADV_DODUMP"),
    (22, "MADV_POPULATE_READ"),
    (23, "MADV_POPULATE_WRITE"),
    (24, "MADV_DONTNEED_LOCKED"),
    (100, "MADV_HWPOISON"),
    (101, "MADV_SOFT_OFFLINE"),
    (102, "MADV_GUARD_INSTALL"),
    (103, "MADV_GUARD_REMOVE"),
];
