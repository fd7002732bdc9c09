//! The kernel's flag words, as small bit sets with the kernel's names.
//!
//! `VmFlags` is the part of `vm_area_struct::vm_flags` (and of `mm->def_flags`)
//! that THP policy and fork/exec inheritance care about; `MmfFlags` is the part
//! of `mm->flags` (the `MMF_*` bits). Each has one `Display` used everywhere
//! (traces, reports, explorer): the smaps `VmFlags` mnemonics for VMA flags and
//! the kernel's `MMF_*` names for mm flags.

use std::fmt;

/// The set operations every flag word here shares (`contains`, `union`,
/// `difference`, ... and `|`), for a newtype over an unsigned integer.
#[macro_export]
macro_rules! bit_set {
    ($t:ident) => {
        impl $t {
            pub const fn contains(self, other: $t) -> bool {
                self.0 & other.0 == other.0
            }
            pub const fn intersects(self, other: $t) -> bool {
                self.0 & other.0 != 0
            }
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }
            pub const fn union(self, other: $t) -> $t {
                $t(self.0 | other.0)
            }
            pub const fn intersection(self, other: $t) -> $t {
                $t(self.0 & other.0)
            }
            pub const fn difference(self, other: $t) -> $t {
                $t(self.0 & !other.0)
            }
        }
        impl std::ops::BitOr for $t {
            type Output = $t;
            fn bitor(self, rhs: $t) -> $t {
                self.union(rhs)
            }
        }
    };
}

/// A set of VMA flags. Bit order is the order the trace language prints
/// the smaps mnemonics in (`hg nh lo lf dc wf mg ex`). `VM_WRITE` is every
/// `mmap()`'s and is printed by neither (`VmFlags::PRINTED`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VmFlags(pub u16);

impl VmFlags {
    pub const EMPTY: VmFlags = VmFlags(0);
    pub const VM_HUGEPAGE: VmFlags = VmFlags(1 << 0);
    pub const VM_NOHUGEPAGE: VmFlags = VmFlags(1 << 1);
    pub const VM_LOCKED: VmFlags = VmFlags(1 << 2);
    pub const VM_LOCKONFAULT: VmFlags = VmFlags(1 << 3);
    pub const VM_DONTCOPY: VmFlags = VmFlags(1 << 4);
    pub const VM_WIPEONFORK: VmFlags = VmFlags(1 << 5);
    /// KSM may merge the VMA's pages: `MADV_MERGEABLE`, or every VMA of an
    /// mm with KSM merge-any (`PR_SET_MEMORY_MERGE`).
    pub const VM_MERGEABLE: VmFlags = VmFlags(1 << 6);
    /// `PROT_EXEC`: what MDWE refuses to add (`map_deny_write_exec`).
    pub const VM_EXEC: VmFlags = VmFlags(1 << 7);
    /// `PROT_WRITE`: a write fault needs it (`touch`); MDWE refuses it
    /// beside `VM_EXEC`.
    pub const VM_WRITE: VmFlags = VmFlags(1 << 8);

    /// `VM_LOCKED_MASK` in include/linux/mm.h.
    pub const VM_LOCKED_MASK: VmFlags = VmFlags(Self::VM_LOCKED.0 | Self::VM_LOCKONFAULT.0);
    /// The two THP advice bits that `hugepage_madvise` keeps mutually exclusive.
    pub const THP_MASK: VmFlags = VmFlags(Self::VM_HUGEPAGE.0 | Self::VM_NOHUGEPAGE.0);
    /// The protection bits an `mprotect` sets (`PROT_READ` is not
    /// modelled: nothing the model reads depends on it).
    pub const PROT: VmFlags = VmFlags(Self::VM_WRITE.0 | Self::VM_EXEC.0);
    pub const ALL: VmFlags = VmFlags(0x1ff);
    /// What `Display` and `vmflags()` print: all but `VM_WRITE`, which
    /// every `mmap()` sets (a read-only VMA shows as `ro` in a state).
    pub const PRINTED: VmFlags = VmFlags(Self::ALL.0 & !Self::VM_WRITE.0);

    /// Kernel name and smaps mnemonic of every bit, in print order.
    pub const NAMES: [(VmFlags, &'static str, &'static str); 9] = [
        (Self::VM_HUGEPAGE, "VM_HUGEPAGE", "hg"),
        (Self::VM_NOHUGEPAGE, "VM_NOHUGEPAGE", "nh"),
        (Self::VM_LOCKED, "VM_LOCKED", "lo"),
        (Self::VM_LOCKONFAULT, "VM_LOCKONFAULT", "lf"),
        (Self::VM_DONTCOPY, "VM_DONTCOPY", "dc"),
        (Self::VM_WIPEONFORK, "VM_WIPEONFORK", "wf"),
        (Self::VM_MERGEABLE, "VM_MERGEABLE", "mg"),
        (Self::VM_EXEC, "VM_EXEC", "ex"),
        (Self::VM_WRITE, "VM_WRITE", "wr"),
    ];

    /// Looks a flag up by its kernel name (`VM_HUGEPAGE`) or mnemonic (`hg`).
    pub fn from_name(name: &str) -> Option<VmFlags> {
        Self::NAMES.iter().find(|(_, k, m)| *k == name || *m == name).map(|(f, _, _)| *f)
    }

    /// The kernel names of the set bits, `|`-joined (`VM_HUGEPAGE|VM_LOCKED`), or `0`.
    pub fn kernel_names(self) -> String {
        let names: Vec<&str> =
            Self::NAMES.iter().filter(|(f, _, _)| self.contains(*f)).map(|(_, k, _)| *k).collect();
        if names.is_empty() {
            "0".to_string()
        } else {
            names.join("|")
        }
    }
}

/// Prints like smaps: `[hg lo]`, `[]` (the `PRINTED` bits).
impl fmt::Display for VmFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Self::NAMES
            .iter()
            .filter(|(b, _, _)| Self::PRINTED.contains(*b) && self.contains(*b))
            .map(|(_, _, m)| *m)
            .collect();
        write!(f, "[{}]", names.join(" "))
    }
}

impl fmt::Debug for VmFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

bit_set!(VmFlags);

/// A set of `mm->flags` bits. The first three are mainline's; the rest are
/// bits a proposal adds (each proposal's spec says which exist).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MmfFlags(pub u16);

impl MmfFlags {
    pub const EMPTY: MmfFlags = MmfFlags(0);
    /// The mm may be dumped / ptrace-read by its owner (`MMF_DUMPABLE_MASK`,
    /// i.e. `get_dumpable() == SUID_DUMP_USER`).
    pub const MMF_DUMPABLE: MmfFlags = MmfFlags(1 << 0);
    /// `prctl(PR_SET_THP_DISABLE, 1, 0)`: no THP at all.
    pub const MMF_DISABLE_THP_COMPLETELY: MmfFlags = MmfFlags(1 << 1);
    /// `prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED)`: THP only where advised.
    pub const MMF_DISABLE_THP_EXCEPT_ADVISED: MmfFlags = MmfFlags(1 << 2);
    /// Usama Arif v1: `PR_SET_THP_ALWAYS` (behave as if sysfs were `always`).
    pub const MMF_THP_ALWAYS: MmfFlags = MmfFlags(1 << 3);
    /// Proposal state: the THP default in `def_flags` is kept by fork.
    pub const MMF_DEF_INHERIT_FORK: MmfFlags = MmfFlags(1 << 4);
    /// Proposal state: the THP default in `def_flags` is kept by exec.
    pub const MMF_DEF_INHERIT_EXEC: MmfFlags = MmfFlags(1 << 5);
    /// Proposal state (Pedro Falcato's split flags): the THP default in
    /// `def_flags` applies to this mm's own new VMAs (`PMADV_FUTURE`).
    pub const MMF_DEF_FUTURE: MmfFlags = MmfFlags(1 << 6);
    /// Not an MMF bit: the mm's futex hash has been chosen with
    /// `PR_FUTEX_HASH` (6.16+), which a THP proposal's prctl number reaches.
    /// Kept here because it is per mm and fork and exec start without it.
    pub const FUTEX_HASH_CHOSEN: MmfFlags = MmfFlags(1 << 7);
    /// The mm is registered with khugepaged (`__khugepaged_enter`): only a
    /// registered mm is scanned. Not inherited by exec; fork registers the
    /// child of a registered parent (`khugepaged_fork`).
    pub const MMF_VM_HUGEPAGE: MmfFlags = MmfFlags(1 << 8);
    /// KSM merge-any (`PR_SET_MEMORY_MERGE`, 6.4+; in the init mask from
    /// 6.7): every VMA, now and later, is `VM_MERGEABLE`.
    pub const MMF_VM_MERGE_ANY: MmfFlags = MmfFlags(1 << 9);
    /// MDWE (`PR_SET_MDWE`, 6.3+): no mapping may become writable and
    /// executable, nor gain exec (`map_deny_write_exec`).
    pub const MMF_HAS_MDWE: MmfFlags = MmfFlags(1 << 10);
    /// `PR_MDWE_NO_INHERIT` (6.7+): a new mm (fork or exec) starts without
    /// either MDWE bit.
    pub const MMF_HAS_MDWE_NO_INHERIT: MmfFlags = MmfFlags(1 << 11);

    /// `MMF_DISABLE_THP_MASK`.
    pub const MMF_DISABLE_THP_MASK: MmfFlags =
        MmfFlags(Self::MMF_DISABLE_THP_COMPLETELY.0 | Self::MMF_DISABLE_THP_EXCEPT_ADVISED.0);
    /// The bits that are a THP policy of the mm (as opposed to bookkeeping like
    /// dumpability): what "a default" means for the inheritance properties.
    pub const THP_POLICY: MmfFlags = MmfFlags(
        Self::MMF_DISABLE_THP_MASK.0
            | Self::MMF_THP_ALWAYS.0
            | Self::MMF_DEF_INHERIT_FORK.0
            | Self::MMF_DEF_INHERIT_EXEC.0
            | Self::MMF_DEF_FUTURE.0,
    );
    /// The scope a proposal keeps beside a `def_flags` THP default.
    pub const DEF_SCOPE: MmfFlags =
        MmfFlags(Self::MMF_DEF_INHERIT_FORK.0 | Self::MMF_DEF_INHERIT_EXEC.0 | Self::MMF_DEF_FUTURE.0);
    /// Bits that can make a VMA THP-eligible that would not be otherwise.
    pub const THP_RAISING: MmfFlags = Self::MMF_THP_ALWAYS;
    /// Bits set by a `prctl` THP control (for `prctl_only_reduces_eligibility`).
    pub const PRCTL_THP: MmfFlags = MmfFlags(Self::MMF_DISABLE_THP_MASK.0 | Self::MMF_THP_ALWAYS.0);

    /// Every bit the model has.
    pub const ALL: MmfFlags = MmfFlags(0xfff);
    /// The process-wide policies a task can set for every task that
    /// shares its mm: the THP controls and scopes, KSM merge-any, MDWE.
    pub const POLICIES: MmfFlags = MmfFlags(
        Self::THP_POLICY.0
            | Self::MMF_VM_MERGE_ANY.0
            | Self::MMF_HAS_MDWE.0
            | Self::MMF_HAS_MDWE_NO_INHERIT.0,
    );

    /// `MMF_HAS_MDWE_MASK`.
    pub const MMF_HAS_MDWE_MASK: MmfFlags = MmfFlags(Self::MMF_HAS_MDWE.0 | Self::MMF_HAS_MDWE_NO_INHERIT.0);

    pub const NAMES: [(MmfFlags, &'static str); 12] = [
        (Self::MMF_DUMPABLE, "MMF_DUMPABLE"),
        (Self::MMF_DISABLE_THP_COMPLETELY, "MMF_DISABLE_THP_COMPLETELY"),
        (Self::MMF_DISABLE_THP_EXCEPT_ADVISED, "MMF_DISABLE_THP_EXCEPT_ADVISED"),
        (Self::MMF_THP_ALWAYS, "MMF_THP_ALWAYS"),
        (Self::MMF_DEF_INHERIT_FORK, "MMF_DEF_INHERIT_FORK"),
        (Self::MMF_DEF_INHERIT_EXEC, "MMF_DEF_INHERIT_EXEC"),
        (Self::MMF_DEF_FUTURE, "MMF_DEF_FUTURE"),
        (Self::FUTEX_HASH_CHOSEN, "FUTEX_HASH_CHOSEN"),
        (Self::MMF_VM_HUGEPAGE, "MMF_VM_HUGEPAGE"),
        (Self::MMF_VM_MERGE_ANY, "MMF_VM_MERGE_ANY"),
        (Self::MMF_HAS_MDWE, "MMF_HAS_MDWE"),
        (Self::MMF_HAS_MDWE_NO_INHERIT, "MMF_HAS_MDWE_NO_INHERIT"),
    ];

    pub fn from_name(name: &str) -> Option<MmfFlags> {
        Self::NAMES.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }

    /// How traces print a bit: without `MMF_`, unless what is left reads
    /// as a VMA flag (`MMF_VM_HUGEPAGE` is not `VM_HUGEPAGE`).
    pub fn short_name(name: &'static str) -> &'static str {
        match name.strip_prefix("MMF_") {
            Some(rest) if !rest.starts_with("VM_") => rest,
            _ => name,
        }
    }

    /// The short names of the set bits, in `NAMES` order.
    pub fn short_names(self) -> Vec<&'static str> {
        Self::NAMES.iter().filter(|(b, _)| self.contains(*b)).map(|(_, n)| Self::short_name(n)).collect()
    }
}

/// Prints the set bits without the `MMF_` prefix: `{DISABLE_THP_COMPLETELY DUMPABLE}`.
impl fmt::Display for MmfFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.short_names().join(" "))
    }
}

impl fmt::Debug for MmfFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

bit_set!(MmfFlags);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmflags_print_in_smaps_order() {
        let f = VmFlags::VM_WIPEONFORK | VmFlags::VM_HUGEPAGE | VmFlags::VM_LOCKED;
        assert_eq!(f.to_string(), "[hg lo wf]");
        assert_eq!(VmFlags::EMPTY.to_string(), "[]");
        assert_eq!(f.kernel_names(), "VM_HUGEPAGE|VM_LOCKED|VM_WIPEONFORK");
    }

    #[test]
    fn names_round_trip() {
        for (f, k, m) in VmFlags::NAMES {
            assert_eq!(VmFlags::from_name(k), Some(f));
            assert_eq!(VmFlags::from_name(m), Some(f));
        }
        for (f, n) in MmfFlags::NAMES {
            assert_eq!(MmfFlags::from_name(n), Some(f));
        }
    }
}
