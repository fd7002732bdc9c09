//! Ghost (history) state: bits the kernel does not keep but a property needs,
//! such as who set the mm's THP default and whether they were privileged.
//!
//! Every ghost bit multiplies the state space, so each property names the
//! ghost bits it reads (`GhostMask`) and a run keeps only the ghosts its
//! properties need; the others are cleared after every step (`normalize`).

use crate::flags::VmFlags;
use std::fmt;

/// Per-process ghost bits.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ghost(pub u16);

impl Ghost {
    pub const EMPTY: Ghost = Ghost(0);
    /// The running image was started by `execve` and has not since made a
    /// THP call of its own (madvise, process_madvise, a THP prctl, mctl).
    pub const EXEC_FRESH: Ghost = Ghost(1 << 0);
    /// This process called `mlockall` since it was created by fork or exec.
    pub const CALLED_MLOCKALL: Ghost = Ghost(1 << 1);
    /// The THP default in `def_flags` (and its scope bits) was last set by
    /// a caller without CAP_SYS_ADMIN.
    pub const DEFAULT_BY_UNPRIV: Ghost = Ghost(1 << 2);
    /// ... by a caller without no_new_privs.
    pub const DEFAULT_WITHOUT_NNP: Ghost = Ghost(1 << 3);
    /// A prctl THP control in force (`MMF_DISABLE_THP_*`, `MMF_THP_ALWAYS`)
    /// was set by a caller without CAP_SYS_ADMIN.
    pub const PRCTL_BY_UNPRIV: Ghost = Ghost(1 << 10);
    /// ... by a caller without no_new_privs.
    pub const PRCTL_WITHOUT_NNP: Ghost = Ghost(1 << 11);
    /// A prctl control in force that raises THP (`MMF_THP_ALWAYS`) was set
    /// by a caller without CAP_SYS_ADMIN. (Kept apart from `PRCTL_BY_UNPRIV`
    /// so that a spec with no raising control carries no such history.)
    pub const PRCTL_RAISING_BY_UNPRIV: Ghost = Ghost(1 << 12);
    /// Set by a secure exec that started the image with a THP-raising default
    /// an unprivileged caller had set.
    pub const SECURE_EXEC_RAISED: Ghost = Ghost(1 << 4);
    /// Set by a secure exec that started the image with any THP default an
    /// unprivileged, non-NNP caller had set.
    pub const SECURE_EXEC_KEPT: Ghost = Ghost(1 << 5);
    /// Set by a `process_madvise` that returned an error but changed `def_flags`.
    pub const FAILED_CALL_CHANGED_DEFAULT: Ghost = Ghost(1 << 6);
    /// The variant promised this process a VM_HUGEPAGE default (its `[intent]`).
    pub const PROMISED_HUGEPAGE: Ghost = Ghost(1 << 7);
    /// The variant promised this process a VM_NOHUGEPAGE default.
    pub const PROMISED_NOHUGEPAGE: Ghost = Ghost(1 << 8);
    /// The VM_HUGEPAGE in this mm's `def_flags` was put there by a prctl.
    pub const DEFAULT_HG_BY_PRCTL: Ghost = Ghost(1 << 9);

    pub const PROMISED: Ghost = Ghost(Self::PROMISED_HUGEPAGE.0 | Self::PROMISED_NOHUGEPAGE.0);
    /// Who set the `def_flags` default.
    pub const DEFAULT_ORIGIN: Ghost = Ghost(Self::DEFAULT_BY_UNPRIV.0 | Self::DEFAULT_WITHOUT_NNP.0);
    /// Who set the prctl THP controls.
    pub const PRCTL_ORIGIN: Ghost =
        Ghost(Self::PRCTL_BY_UNPRIV.0 | Self::PRCTL_WITHOUT_NNP.0 | Self::PRCTL_RAISING_BY_UNPRIV.0);
    pub const ORIGIN: Ghost = Ghost(Self::DEFAULT_ORIGIN.0 | Self::PRCTL_ORIGIN.0);

    /// Each bit's word, as traces print it (and user properties spell it).
    pub const NAMES: [(Ghost, &'static str); 13] = [
        (Self::EXEC_FRESH, "exec-fresh"),
        (Self::CALLED_MLOCKALL, "called-mlockall"),
        (Self::DEFAULT_BY_UNPRIV, "default-by-unpriv"),
        (Self::DEFAULT_WITHOUT_NNP, "default-without-nnp"),
        (Self::SECURE_EXEC_RAISED, "secure-exec-raised"),
        (Self::SECURE_EXEC_KEPT, "secure-exec-kept"),
        (Self::FAILED_CALL_CHANGED_DEFAULT, "failed-call-changed-default"),
        (Self::PROMISED_HUGEPAGE, "promised-hg"),
        (Self::PROMISED_NOHUGEPAGE, "promised-nh"),
        (Self::DEFAULT_HG_BY_PRCTL, "default-hg-by-prctl"),
        (Self::PRCTL_BY_UNPRIV, "prctl-by-unpriv"),
        (Self::PRCTL_WITHOUT_NNP, "prctl-without-nnp"),
        (Self::PRCTL_RAISING_BY_UNPRIV, "prctl-raising-by-unpriv"),
    ];

    pub fn set(&mut self, g: Ghost, on: bool) {
        *self = if on { self.union(g) } else { self.difference(g) };
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

    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES.iter().filter(|(g, _)| self.contains(*g)).map(|(_, n)| *n).collect()
    }
}

/// Prints ` ghost{a b}` or nothing.
impl fmt::Display for Ghost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 != 0 {
            write!(f, " ghost{{{}}}", self.names().join(" "))?;
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

    /// Each bit's word, as traces print it (and user properties spell it).
    pub const NAMES: [(VmaGhost, &'static str); 2] =
        [(Self::OPTED_OUT, "opted-out"), (Self::RAISED_BY_PRCTL, "raised-by-prctl")];

    pub fn set(&mut self, g: VmaGhost, on: bool) {
        *self = if on { self.union(g) } else { self.difference(g) };
    }
}

crate::bit_set!(Ghost);
crate::bit_set!(VmaGhost);

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
    pub const ALL: GhostMask = GhostMask { process: Ghost(u16::MAX), vma: VmaGhost(u8::MAX) };

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

/// Which ghost bits are computed from which (`note_secure_exec` in
/// syscalls/task.rs, `mmap` in syscalls/mmap.rs). No entry's bits appear
/// in another's sources, so one pass closes a mask.
const DERIVED_FROM: [(GhostMask, GhostMask); 3] = [
    (
        GhostMask { process: Ghost::SECURE_EXEC_RAISED, vma: VmaGhost::EMPTY },
        GhostMask {
            process: Ghost(Ghost::DEFAULT_BY_UNPRIV.0 | Ghost::PRCTL_RAISING_BY_UNPRIV.0),
            vma: VmaGhost::EMPTY,
        },
    ),
    (
        GhostMask { process: Ghost::SECURE_EXEC_KEPT, vma: VmaGhost::EMPTY },
        GhostMask { process: Ghost::ORIGIN, vma: VmaGhost::EMPTY },
    ),
    (
        GhostMask { process: Ghost::EMPTY, vma: VmaGhost::RAISED_BY_PRCTL },
        GhostMask { process: Ghost::DEFAULT_HG_BY_PRCTL, vma: VmaGhost::EMPTY },
    ),
];
