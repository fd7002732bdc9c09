//! Ghost (history) state: bits the kernel does not keep but a property needs,
//! such as who set the mm's THP default and whether they were privileged.
//!
//! Every ghost bit multiplies the state space, so each property names the
//! ghost bits it reads (`GhostMask`) and a run keeps only the ghosts its
//! properties need; the others are cleared after every step (`normalize`).

use crate::flags::VmFlags;
use std::fmt;

/// Per-process ghost bits: history words (bits 0-5 and from `HISTORY_2`
/// on) and, from bit `ORIGIN_SHIFT`, the origin of each setting
/// (`Setting`), three bits each. At most `Ghost::BITS` bits (what the
/// stored form holds).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ghost(pub u32);

impl Ghost {
    pub const EMPTY: Ghost = Ghost(0);
    /// The running image was started by `execve` and has not since made a
    /// memory-policy call of its own (madvise, process_madvise, a THP, KSM
    /// or MDWE prctl, mctl): an unmodified program.
    pub const EXEC_FRESH: Ghost = Ghost(1 << 0);
    /// This process called `mlockall` since it was created by fork or exec.
    pub const CALLED_MLOCKALL: Ghost = Ghost(1 << 1);
    /// Set by a `process_madvise` that returned an error but changed `def_flags`.
    pub const FAILED_CALL_CHANGED_DEFAULT: Ghost = Ghost(1 << 2);
    /// The variant promised this process a VM_HUGEPAGE default (its `[intent]`).
    pub const PROMISED_HUGEPAGE: Ghost = Ghost(1 << 3);
    /// The variant promised this process a VM_NOHUGEPAGE default.
    pub const PROMISED_NOHUGEPAGE: Ghost = Ghost(1 << 4);
    /// The VM_HUGEPAGE in this mm's `def_flags` was put there by a prctl.
    pub const DEFAULT_HG_BY_PRCTL: Ghost = Ghost(1 << 5);
    /// A fault, a collapse or khugepaged made huge pages in this process
    /// while its THP was disabled completely.
    pub const HUGE_WHILE_DISABLED: Ghost = Ghost(1 << Self::HISTORY_2);
    /// MDWE was set in this mm, or in the mm this one was made from, and
    /// it was set to be inherited (without `PR_MDWE_NO_INHERIT`): it may
    /// never be lifted here.
    pub const MDWE_INHERITED: Ghost = Ghost(1 << (Self::HISTORY_2 + 1));
    /// Another task that shares this task's mm (a vfork child, a
    /// `clone(CLONE_VM)` child, a thread) changed the mm's process-wide
    /// policies (a THP default or control, KSM merge-any, MDWE), and a
    /// policy is in force since. The task's own, not its mm's.
    pub const POLICY_BY_SHARER: Ghost = Ghost(1 << (Self::HISTORY_2 + 2));
    /// How many bits a ghost word may use.
    pub const BITS: u32 = 24;
    /// Where the history words after the origins start.
    const HISTORY_2: u32 = Self::ORIGIN_SHIFT + 3 * Setting::ALL.len() as u32;

    pub const PROMISED: Ghost = Ghost(Self::PROMISED_HUGEPAGE.0 | Self::PROMISED_NOHUGEPAGE.0);
    /// Where the origins start: `Setting as u32 * 3` bits further on.
    const ORIGIN_SHIFT: u32 = 6;
    /// Every origin bit of every setting.
    pub const ORIGINS: Ghost = Ghost(((1u32 << (3 * Setting::ALL.len())) - 1) << Self::ORIGIN_SHIFT);

    /// Each history bit's word, as traces print it (and user properties
    /// spell it). Origins are not words of `P.ghost`: each setting's is a
    /// field of its own (`Setting::field`).
    pub const NAMES: [(Ghost, &'static str); 9] = [
        (Self::EXEC_FRESH, "exec-fresh"),
        (Self::CALLED_MLOCKALL, "called-mlockall"),
        (Self::FAILED_CALL_CHANGED_DEFAULT, "failed-call-changed-default"),
        (Self::PROMISED_HUGEPAGE, "promised-hg"),
        (Self::PROMISED_NOHUGEPAGE, "promised-nh"),
        (Self::DEFAULT_HG_BY_PRCTL, "default-hg-by-prctl"),
        (Self::HUGE_WHILE_DISABLED, "huge-while-disabled"),
        (Self::MDWE_INHERITED, "mdwe-inherited"),
        (Self::POLICY_BY_SHARER, "policy-by-sharer"),
    ];

    pub fn set(&mut self, g: Ghost, on: bool) {
        *self = if on { self.union(g) } else { self.difference(g) };
    }

    /// The bits of `origin` for `setting`, where this word keeps them.
    pub const fn origin_bits(setting: Setting, origin: Origin) -> Ghost {
        Ghost((origin.0 as u32) << (Self::ORIGIN_SHIFT + 3 * setting as u32))
    }

    /// Who made `setting` (empty when it is not in force).
    pub fn origin(self, setting: Setting) -> Origin {
        Origin(((self.0 >> (Self::ORIGIN_SHIFT + 3 * setting as u32)) & 7) as u8)
    }

    pub fn with_origin(self, setting: Setting, origin: Origin) -> Ghost {
        self.difference(Self::origin_bits(setting, Origin::ALL)).union(Self::origin_bits(setting, origin))
    }

    /// The promised default as VMA flags.
    pub fn promised(self) -> VmFlags {
        let mut f = VmFlags::EMPTY;
        if self.contains(Self::PROMISED_HUGEPAGE) {
            f = f | VmFlags::VM_HUGEPAGE;
        }
        if self.contains(Self::PROMISED_NOHUGEPAGE) {
            f = f | VmFlags::VM_NOHUGEPAGE;
        }
        f
    }

    pub fn with_promised(self, f: VmFlags) -> Ghost {
        let mut g = self.difference(Self::PROMISED);
        g.set(Self::PROMISED_HUGEPAGE, f.contains(VmFlags::VM_HUGEPAGE));
        g.set(Self::PROMISED_NOHUGEPAGE, f.contains(VmFlags::VM_NOHUGEPAGE));
        g
    }

    /// The history words set.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES.iter().filter(|(g, _)| self.contains(*g)).map(|(_, n)| *n).collect()
    }

    /// The origin of each setting that has one, as `FIELD{words}`.
    pub fn origin_words(self) -> Vec<String> {
        Setting::ALL
            .iter()
            .filter(|s| !self.origin(**s).is_empty())
            .map(|s| format!("{}{}", s.field(), self.origin(*s)))
            .collect()
    }
}

/// A setting whose origin the properties read: who made it, and how it
/// reached the image that runs now. The kernel keeps none of this; each
/// origin lives in the process's ghost word (`Ghost::origin`) and is
/// forgotten when its setting is no longer in force (`setting.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Setting {
    /// The THP default in `mm->def_flags` (VM_HUGEPAGE or VM_NOHUGEPAGE),
    /// with the scope bits a proposal keeps beside it.
    ThpDefault = 0,
    /// `MMF_DISABLE_THP_COMPLETELY` or `MMF_DISABLE_THP_EXCEPT_ADVISED`.
    ThpDisable = 1,
    /// `MMF_THP_ALWAYS` (Usama Arif v1).
    ThpAlways = 2,
    /// KSM merge-any, `MMF_VM_MERGE_ANY` (`PR_SET_MEMORY_MERGE`).
    MergeAny = 3,
    /// MDWE, `MMF_HAS_MDWE` (`PR_SET_MDWE`), with its NO_INHERIT bit.
    Mdwe = 4,
}

impl Setting {
    pub const ALL: [Setting; 5] =
        [Setting::ThpDefault, Setting::ThpDisable, Setting::ThpAlways, Setting::MergeAny, Setting::Mdwe];
    /// The THP settings (what the THP inheritance properties judge).
    pub const THP: [Setting; 3] = [Setting::ThpDefault, Setting::ThpDisable, Setting::ThpAlways];

    /// Some value of it can make a VMA THP-eligible that would not be
    /// otherwise (see `Setting::raises`).
    pub const fn can_raise(self) -> bool {
        matches!(self, Setting::ThpDefault | Setting::ThpAlways)
    }

    /// What it is, as a cause names it.
    pub const fn name(self) -> &'static str {
        match self {
            Setting::ThpDefault => "the def_flags THP default",
            Setting::ThpDisable => "the THP disable (MMF_DISABLE_THP_*)",
            Setting::ThpAlways => "MMF_THP_ALWAYS",
            Setting::MergeAny => "KSM merge-any (MMF_VM_MERGE_ANY)",
            Setting::Mdwe => "MDWE (MMF_HAS_MDWE)",
        }
    }

    /// Its origin's field in traces and in the predicate language (`P.FIELD`).
    pub const fn field(self) -> &'static str {
        match self {
            Setting::ThpDefault => "default_origin",
            Setting::ThpDisable => "thp_disable_origin",
            Setting::ThpAlways => "thp_always_origin",
            Setting::MergeAny => "merge_any_origin",
            Setting::Mdwe => "mdwe_origin",
        }
    }
}

/// Who made a setting: the caller's privilege and NNP when it set it, and
/// whether a secure exec carried it into the running image.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin(pub u8);

impl Origin {
    pub const EMPTY: Origin = Origin(0);
    /// Set by a caller without CAP_SYS_ADMIN.
    pub const BY_UNPRIV: Origin = Origin(1 << 0);
    /// Set by a caller without no_new_privs.
    pub const WITHOUT_NNP: Origin = Origin(1 << 1);
    /// Set before the exec that started the running image, and that exec
    /// was secure (AT_SECURE): the setting crossed a setuid exec.
    pub const KEPT_BY_SECURE_EXEC: Origin = Origin(1 << 2);
    pub const ALL: Origin = Origin(7);

    pub const NAMES: [(Origin, &'static str); 3] = [
        (Self::BY_UNPRIV, "by-unpriv"),
        (Self::WITHOUT_NNP, "without-nnp"),
        (Self::KEPT_BY_SECURE_EXEC, "kept-by-secure-exec"),
    ];

    /// The origin of a setting made now by a caller with these credentials.
    pub fn of(cap_sys_admin: bool, no_new_privs: bool) -> Origin {
        let mut o = Origin::EMPTY;
        if !cap_sys_admin {
            o = o | Origin::BY_UNPRIV;
        }
        if !no_new_privs {
            o = o | Origin::WITHOUT_NNP;
        }
        o
    }

    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES.iter().filter(|(o, _)| self.contains(*o)).map(|(_, n)| *n).collect()
    }
}

/// `{by-unpriv without-nnp}`.
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.names().join(" "))
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Prints ` ghost{a b}` and each ` FIELD{origin}`, or nothing.
impl fmt::Display for Ghost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.difference(Self::ORIGINS).is_empty() {
            write!(f, " ghost{{{}}}", self.names().join(" "))?;
        }
        for o in self.origin_words() {
            write!(f, " {o}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Ghost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Per-VMA ghost bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VmaGhost(pub u8);

impl VmaGhost {
    pub const EMPTY: VmaGhost = VmaGhost(0);
    /// The VMA's own process marked it MADV_NOHUGEPAGE, and no madvise or
    /// process_madvise has named the VMA since.
    pub const OPTED_OUT: VmaGhost = VmaGhost(1 << 0);
    /// The VMA's VM_HUGEPAGE is there only because of a prctl (a default
    /// set by prctl, or a prctl that advised every VMA).
    pub const RAISED_BY_PRCTL: VmaGhost = VmaGhost(1 << 1);
    /// Its huge pages came from a write fault of its own process (not
    /// from a collapse, khugepaged or a parent's fault before a fork).
    pub const HUGE_BY_OWN_FAULT: VmaGhost = VmaGhost(1 << 2);

    /// Each bit's word, as traces print it (and user properties spell it).
    pub const NAMES: [(VmaGhost, &'static str); 3] = [
        (Self::OPTED_OUT, "opted-out"),
        (Self::RAISED_BY_PRCTL, "raised-by-prctl"),
        (Self::HUGE_BY_OWN_FAULT, "huge-by-own-fault"),
    ];

    pub fn set(&mut self, g: VmaGhost, on: bool) {
        *self = if on { self.union(g) } else { self.difference(g) };
    }
}

crate::bit_set!(Ghost);
crate::bit_set!(VmaGhost);
crate::bit_set!(Origin);

impl fmt::Display for VmaGhost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (g, name) in Self::NAMES {
            if self.contains(g) {
                write!(f, "({name})")?;
            }
        }
        Ok(())
    }
}

/// Which ghost bits a run keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GhostMask {
    pub process: Ghost,
    pub vma: VmaGhost,
}

impl GhostMask {
    pub const NONE: GhostMask = GhostMask { process: Ghost(0), vma: VmaGhost(0) };
    pub const ALL: GhostMask = GhostMask { process: Ghost((1 << Ghost::BITS) - 1), vma: VmaGhost(u8::MAX) };

    pub fn union(self, o: GhostMask) -> GhostMask {
        GhostMask { process: Ghost(self.process.0 | o.process.0), vma: VmaGhost(self.vma.0 | o.vma.0) }
    }

    /// `self` with every ghost bit its bits are computed from: a run that
    /// keeps a bit must keep what a transition reads to set it, or the bit
    /// is never set (a dropped ghost reads as clear). The catalogue's masks
    /// are closed already; a user property names only what it reads.
    pub fn closure(self) -> GhostMask {
        let mut m = self;
        for (bit, from) in DERIVED_FROM {
            if m.process.intersects(bit.process) || m.vma.intersects(bit.vma) {
                m = m.union(from);
            }
        }
        m
    }
}

/// Which ghost bits are computed from which (`mmap` in syscalls/mmap.rs).
/// No entry's bits appear in another's sources, so one pass closes a mask.
/// (An origin is computed from the caller's credentials and the exec, not
/// from other ghost bits.)
const DERIVED_FROM: [(GhostMask, GhostMask); 1] = [(
    GhostMask { process: Ghost::EMPTY, vma: VmaGhost::RAISED_BY_PRCTL },
    GhostMask { process: Ghost::DEFAULT_HG_BY_PRCTL, vma: VmaGhost::EMPTY },
)];
