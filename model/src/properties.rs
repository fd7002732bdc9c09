//! The property catalogue: stable names, a one-line meaning, the kind, the
//! ghost bits each reads, and the predicate. Predicates read the state (and
//! the shared `thp` table); they never re-implement a transition rule.

use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, GhostMask, VmaGhost};
use crate::state::{Process, State, Sysfs};
use crate::thp;
use crate::System;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Must hold in every reachable state; a counterexample violates it.
    Always,
    /// Must hold in some reachable state; a witness reaches it.
    Sometimes,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Always => "always",
            Kind::Sometimes => "sometimes",
        })
    }
}

/// One catalogue entry.
#[derive(Clone, Copy)]
pub struct PropertyDef {
    pub name: &'static str,
    pub kind: Kind,
    pub meaning: &'static str,
    /// How a review states the good outcome (`always` holds, `sometimes` is
    /// reachable) and the bad one, of a variant.
    pub good: &'static str,
    pub bad: &'static str,
    /// Ghost bits the predicate reads (kept in the state only when checked).
    pub ghosts: GhostMask,
    /// For `Always`: the invariant. For `Sometimes`: the state to reach.
    pub condition: fn(&System, &State) -> bool,
}

impl fmt::Debug for PropertyDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.kind)
    }
}

const fn ghosts(process: u16, vma: u8) -> GhostMask {
    GhostMask { process: Ghost(process), vma: VmaGhost(vma) }
}

fn all_procs(s: &State, f: impl Fn(&Process) -> bool) -> bool {
    s.live().all(|(_, p)| f(p))
}

fn mapped(p: &Process) -> impl Iterator<Item = (usize, VmFlags, VmaGhost)> + '_ {
    p.mm.vmas.iter().enumerate().filter_map(|(i, v)| v.flags.map(|f| (i, f, v.ghost)))
}

fn eligible(s: &State, p: &Process, f: VmFlags) -> bool {
    thp::thp_eligible(s.sysfs, f, p.mm.flags)
}

fn thp_flags_exclusive(_: &System, s: &State) -> bool {
    all_procs(s, |p| {
        !p.mm.def_flags.contains(VmFlags::THP_MASK)
            && mapped(p).all(|(_, f, _)| !f.contains(VmFlags::THP_MASK))
    })
}

fn unprivileged_exec_gains_nothing(_: &System, s: &State) -> bool {
    all_procs(s, |p| !p.ghost.contains(Ghost::SECURE_EXEC_RAISED))
}

fn secure_exec_inherits_nothing(_: &System, s: &State) -> bool {
    all_procs(s, |p| !p.ghost.contains(Ghost::SECURE_EXEC_KEPT))
}

fn mlock_not_inherited(_: &System, s: &State) -> bool {
    all_procs(s, |p| {
        p.ghost.contains(Ghost::CALLED_MLOCKALL)
            || (!p.mm.def_flags.intersects(VmFlags::VM_LOCKED_MASK)
                && mapped(p).all(|(_, f, _)| !f.intersects(VmFlags::VM_LOCKED_MASK)))
    })
}

fn disable_dominates(_: &System, s: &State) -> bool {
    all_procs(s, |p| {
        !p.mm.flags.contains(MmfFlags::MMF_DISABLE_THP_COMPLETELY)
            || mapped(p).all(|(_, f, _)| !eligible(s, p, f))
    })
}

fn sysfs_never_means_never(_: &System, s: &State) -> bool {
    s.sysfs != Sysfs::Never || all_procs(s, |p| mapped(p).all(|(_, f, _)| !eligible(s, p, f)))
}

/// Eligible now, yet not without the prctl THP controls: their MMF bits
/// removed, and VM_HUGEPAGE removed where only a prctl put it.
fn prctl_only_reduces(_: &System, s: &State) -> bool {
    all_procs(s, |p| {
        let mm_without = p.mm.flags.difference(MmfFlags::PRCTL_THP);
        mapped(p).all(|(_, f, g)| {
            let f_without =
                if g.contains(VmaGhost::RAISED_BY_PRCTL) { f.difference(VmFlags::VM_HUGEPAGE) } else { f };
            !eligible(s, p, f) || thp::thp_eligible(s.sysfs, f_without, mm_without)
        })
    })
}

fn explicit_optout_kept(_: &System, s: &State) -> bool {
    all_procs(s, |p| {
        mapped(p).all(|(_, f, g)| !g.contains(VmaGhost::OPTED_OUT) || f.contains(VmFlags::VM_NOHUGEPAGE))
    })
}

fn default_kept_as_promised(_: &System, s: &State) -> bool {
    all_procs(s, |p| p.mm.def_flags.contains(p.ghost.promised()))
}

fn failed_call_changes_no_default(_: &System, s: &State) -> bool {
    all_procs(s, |p| !p.ghost.contains(Ghost::FAILED_CALL_CHANGED_DEFAULT))
}

fn unmodified_program_gets_thp(_: &System, s: &State) -> bool {
    s.sysfs == Sysfs::Madvise
        && s.live()
            .any(|(_, p)| p.ghost.contains(Ghost::EXEC_FRESH) && mapped(p).any(|(_, f, _)| eligible(s, p, f)))
}

/// Every property, in the order reports list them.
pub const CATALOGUE: &[PropertyDef] = &[
    PropertyDef {
        name: "thp_flags_exclusive",
        kind: Kind::Always,
        meaning: "no VMA and no def_flags has both VM_HUGEPAGE and VM_NOHUGEPAGE",
        good: "keeps VM_HUGEPAGE and VM_NOHUGEPAGE exclusive",
        bad: "can set VM_HUGEPAGE and VM_NOHUGEPAGE together",
        ghosts: ghosts(0, 0),
        condition: thp_flags_exclusive,
    },
    PropertyDef {
        name: "unprivileged_exec_gains_nothing",
        kind: Kind::Always,
        meaning: "a secure exec never starts with a THP-raising default (VM_HUGEPAGE in def_flags, or a THP-raising MMF bit) that a process without CAP_SYS_ADMIN set",
        good: "stops an unprivileged process from starting a setuid program with a THP-raising default",
        bad: "lets an unprivileged process start a setuid program with a THP-raising default",
        ghosts: ghosts(
            Ghost::DEFAULT_BY_UNPRIV.0 | Ghost::PRCTL_RAISING_BY_UNPRIV.0 | Ghost::SECURE_EXEC_RAISED.0,
            0,
        ),
        condition: unprivileged_exec_gains_nothing,
    },
    PropertyDef {
        name: "secure_exec_inherits_nothing",
        kind: Kind::Always,
        meaning: "no THP default that an unprivileged, non-NNP process set survives a secure exec (Jann Horn's rule; mainline's PR_SET_THP_DISABLE is a known exception)",
        good: "lets nothing an unprivileged process sets survive a setuid exec",
        bad: "lets a THP setting made by an unprivileged process survive a setuid exec",
        ghosts: ghosts(
            Ghost::ORIGIN.0 | Ghost::SECURE_EXEC_KEPT.0,
            0,
        ),
        condition: secure_exec_inherits_nothing,
    },
    PropertyDef {
        name: "mlock_not_inherited",
        kind: Kind::Always,
        meaning: "VM_LOCKED/VM_LOCKONFAULT never reach a child or an exec'd image through def_flags or copied VMAs",
        good: "never passes mlock state on",
        bad: "passes mlock state to a child or an exec'd image",
        ghosts: ghosts(Ghost::CALLED_MLOCKALL.0, 0),
        condition: mlock_not_inherited,
    },
    PropertyDef {
        name: "disable_dominates",
        kind: Kind::Always,
        meaning: "with THP completely disabled, no VMA of the mm is THP-eligible",
        good: "keeps PR_SET_THP_DISABLE disabling everything",
        bad: "leaves a VMA THP-eligible under PR_SET_THP_DISABLE",
        ghosts: ghosts(0, 0),
        condition: disable_dominates,
    },
    PropertyDef {
        name: "sysfs_never_means_never",
        kind: Kind::Always,
        meaning: "sysfs `never` means no VMA is THP-eligible",
        good: "keeps sysfs never meaning never",
        bad: "gives THP although sysfs says never",
        ghosts: ghosts(0, 0),
        condition: sysfs_never_means_never,
    },
    PropertyDef {
        name: "prctl_only_reduces",
        kind: Kind::Always,
        meaning: "a prctl THP control never makes a VMA eligible that would not be without it",
        good: "only ever reduces THP with a prctl",
        bad: "has a prctl that raises THP eligibility",
        ghosts: ghosts(Ghost::DEFAULT_HG_BY_PRCTL.0, VmaGhost::RAISED_BY_PRCTL.0),
        condition: prctl_only_reduces,
    },
    PropertyDef {
        name: "explicit_optout_kept",
        kind: Kind::Always,
        meaning: "a VMA its own process marked MADV_NOHUGEPAGE stays VM_NOHUGEPAGE until a madvise/process_madvise names it again",
        good: "keeps a program's own MADV_NOHUGEPAGE",
        bad: "overrides a program's own MADV_NOHUGEPAGE with a process-wide call",
        ghosts: ghosts(0, VmaGhost::OPTED_OUT.0),
        condition: explicit_optout_kept,
    },
    PropertyDef {
        name: "default_kept_as_promised",
        kind: Kind::Always,
        meaning: "a default the variant promises to keep across fork/exec is in force in every descendant",
        good: "keeps its promise: the default survives as stated",
        bad: "breaks its own promise: the default is lost",
        ghosts: ghosts(Ghost::PROMISED.0, 0),
        condition: default_kept_as_promised,
    },
    PropertyDef {
        name: "failed_call_changes_no_default",
        kind: Kind::Always,
        meaning: "a process_madvise that returns an error leaves def_flags as it was",
        good: "leaves the default alone when a call fails",
        bad: "changes the default in a call that fails",
        ghosts: ghosts(Ghost::FAILED_CALL_CHANGED_DEFAULT.0, 0),
        condition: failed_call_changes_no_default,
    },
    PropertyDef {
        name: "unmodified_program_gets_thp",
        kind: Kind::Sometimes,
        meaning: "a program that never called madvise/prctl itself, started by exec from a launcher, has a THP-eligible VMA under sysfs `madvise`",
        good: "delivers the use case: a launcher can give an unmodified program THP under sysfs madvise",
        bad: "misses the use case: a launcher cannot give an unmodified program THP under sysfs madvise",
        ghosts: ghosts(Ghost::EXEC_FRESH.0, 0),
        condition: unmodified_program_gets_thp,
    },
];

pub fn by_name(name: &str) -> Option<&'static PropertyDef> {
    CATALOGUE.iter().find(|p| p.name == name)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    CATALOGUE.iter().map(|p| p.name)
}
