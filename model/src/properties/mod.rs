//! The property catalogue: stable names, a one-line meaning, the kind, the
//! ghost bits each reads, and the predicate. Predicates read the state (and
//! the shared `thp` table); they never re-implement a transition rule.
//!
//! Each `always` property has premises (`PREMISES_OF`, `PREMISES`): `sometimes`
//! predicates for the case the property rules on (a secure exec by a
//! non-root user, an opted-out VMA, a promised default, ...). A premise is a
//! necessary condition of a violation — every path to a violating state
//! passes through a state where it holds, by the violating state at the
//! latest — so a premise that is unreachable means the property cannot be
//! violated at all within the bounds: it holds vacuously, and reports say
//! so. A premise reads only what its property reads, so checking it beside
//! the property keeps the same states.

use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, GhostMask, Origin, Setting, VmaGhost};
use crate::setting;
use crate::state::{Cred, Pages, Process, State, Sysfs};
use crate::thp;
use crate::System;
use std::fmt;

mod policies;

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

/// What a property speaks of: a reviewer reading a verdict must know
/// whether "holds" is about flags, about which settings survive, about
/// THP eligibility (smaps `THPeligible`, what a fault may do) or about the
/// pages that back memory (what faults, collapses and khugepaged did).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    Flags,
    Settings,
    Eligibility,
    Pages,
    /// The other process-wide policies of the init mask: KSM merge-any
    /// and MDWE (properties/policies.rs).
    Policies,
    /// What tasks that share an mm (vfork, clone(CLONE_VM), threads) do
    /// to each other's policies (properties/policies.rs).
    SharedMm,
}

impl Subject {
    pub fn name(self) -> &'static str {
        match self {
            Subject::Flags => "flags",
            Subject::Settings => "settings",
            Subject::Eligibility => "eligibility",
            Subject::Pages => "pages",
            Subject::Policies => "policies",
            Subject::SharedMm => "shared mm",
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One catalogue entry.
#[derive(Clone, Copy)]
pub struct PropertyDef {
    pub name: &'static str,
    pub kind: Kind,
    /// What it speaks of (its name says it too).
    pub subject: Subject,
    pub meaning: &'static str,
    /// How a review states the good outcome (`always` holds, `sometimes` is
    /// reachable) and the bad one, of a variant.
    pub good: &'static str,
    pub bad: &'static str,
    /// Ghost bits the predicate reads (kept in the state only when checked).
    pub ghosts: GhostMask,
    /// For `Always`: the invariant. For `Sometimes`: the state to reach.
    pub condition: fn(&System, &State) -> bool,
    /// The condition is decided process by process: a state violates (or,
    /// for `Sometimes`, witnesses) it exactly when one of its live
    /// processes, alone in a state with the same sysfs mode, does. The
    /// engine then evaluates it once per process form, not once per state
    /// (`check_properties` in checker/src/engine/search.rs). True of every entry here;
    /// `per_process_properties_are_decided_per_process` in
    /// `checker/tests/engine.rs` holds each to it on every spec's states.
    pub per_process: bool,
}

impl fmt::Debug for PropertyDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.kind)
    }
}

const fn ghosts(process: u32, vma: u8) -> GhostMask {
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

/// The origin that `unprivileged_exec_gains_nothing` rules out on a
/// THP-raising setting: made without CAP_SYS_ADMIN, carried in by a secure exec.
const UNPRIV_KEPT: Origin = Origin(Origin::BY_UNPRIV.0 | Origin::KEPT_BY_SECURE_EXEC.0);
/// ... and the one `secure_exec_inherits_nothing` rules out on any setting.
const UNPRIV_NO_NNP_KEPT: Origin = Origin(UNPRIV_KEPT.0 | Origin::WITHOUT_NNP.0);
const UNPRIV_NO_NNP: Origin = Origin(Origin::BY_UNPRIV.0 | Origin::WITHOUT_NNP.0);

/// The ghost bits of `origin` for every THP setting (what a property reads).
const fn every_setting(origin: Origin) -> u32 {
    settings(origin, false)
}

/// ... for every setting that can raise THP.
const fn raising_settings(origin: Origin) -> u32 {
    settings(origin, true)
}

const fn settings(origin: Origin, raising: bool) -> u32 {
    let mut bits = 0;
    let mut i = 0;
    while i < Setting::THP.len() {
        if !raising || Setting::THP[i].can_raise() {
            bits |= Ghost::origin_bits(Setting::THP[i], origin).0;
        }
        i += 1;
    }
    bits
}

fn unprivileged_exec_gains_nothing(_: &System, s: &State) -> bool {
    all_procs(s, |p| setting::with_origin(p, &Setting::THP, UNPRIV_KEPT, true).next().is_none())
}

fn secure_exec_inherits_nothing(_: &System, s: &State) -> bool {
    all_procs(s, |p| setting::with_origin(p, &Setting::THP, UNPRIV_NO_NNP_KEPT, false).next().is_none())
}

fn mlock_not_inherited(_: &System, s: &State) -> bool {
    all_procs(s, |p| {
        p.ghost.contains(Ghost::CALLED_MLOCKALL)
            || (!p.mm.def_flags.intersects(VmFlags::VM_LOCKED_MASK)
                && mapped(p).all(|(_, f, _)| !f.intersects(VmFlags::VM_LOCKED_MASK)))
    })
}

fn disable_means_no_eligible_vma(_: &System, s: &State) -> bool {
    all_procs(s, |p| {
        !p.mm.flags.contains(MmfFlags::MMF_DISABLE_THP_COMPLETELY)
            || mapped(p).all(|(_, f, _)| !eligible(s, p, f))
    })
}

fn no_eligible_vma_under_never(_: &System, s: &State) -> bool {
    s.sysfs != Sysfs::Never || all_procs(s, |p| mapped(p).all(|(_, f, _)| !eligible(s, p, f)))
}

/// Eligible now, yet not without the prctl THP controls: their MMF bits
/// removed, and VM_HUGEPAGE removed where only a prctl put it.
fn prctl_only_reduces_eligibility(_: &System, s: &State) -> bool {
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

fn unmodified_program_gets_eligible_vma(_: &System, s: &State) -> bool {
    s.sysfs == Sysfs::Madvise
        && s.live()
            .any(|(_, p)| p.ghost.contains(Ghost::EXEC_FRESH) && mapped(p).any(|(_, f, _)| eligible(s, p, f)))
}

/// Pages are what faults, collapses and khugepaged made, whatever the
/// flags say: `MADV_COLLAPSE` ignores the sysfs mode.
fn no_huge_pages_under_never(_: &System, s: &State) -> bool {
    s.sysfs != Sysfs::Never
        || all_procs(s, |p| p.mm.vmas.iter().all(|v| !v.is_mapped() || !v.pages.is_huge()))
}

fn disable_means_no_new_huge_pages(_: &System, s: &State) -> bool {
    all_procs(s, |p| !p.ghost.contains(Ghost::HUGE_WHILE_DISABLED))
}

fn unmodified_program_gets_huge_pages(_: &System, s: &State) -> bool {
    s.sysfs == Sysfs::Madvise
        && s.live().any(|(_, p)| {
            p.ghost.contains(Ghost::EXEC_FRESH)
                && p.mm
                    .vmas
                    .iter()
                    .any(|v| v.pages.is_huge() && v.ghost.contains(VmaGhost::HUGE_BY_OWN_FAULT))
        })
}

/// Every property, in the order reports list them.
pub const CATALOGUE: &[PropertyDef] = &[
    PropertyDef {
        name: "thp_flags_exclusive",
        kind: Kind::Always,
        subject: Subject::Flags,
        meaning: "no VMA and no def_flags has both VM_HUGEPAGE and VM_NOHUGEPAGE",
        good: "keeps VM_HUGEPAGE and VM_NOHUGEPAGE exclusive",
        bad: "can set VM_HUGEPAGE and VM_NOHUGEPAGE together",
        ghosts: ghosts(0, 0),
        condition: thp_flags_exclusive,
        per_process: true,
    },
    PropertyDef {
        name: "unprivileged_exec_gains_nothing",
        kind: Kind::Always,
        subject: Subject::Settings,
        meaning: "a secure exec never starts with a THP-raising default (VM_HUGEPAGE in def_flags, or a THP-raising MMF bit) that a process without CAP_SYS_ADMIN set",
        good: "stops an unprivileged process from starting a setuid program with a THP-raising default",
        bad: "lets an unprivileged process start a setuid program with a THP-raising default",
        ghosts: ghosts(raising_settings(UNPRIV_KEPT), 0),
        condition: unprivileged_exec_gains_nothing,
        per_process: true,
    },
    PropertyDef {
        name: "secure_exec_inherits_nothing",
        kind: Kind::Always,
        subject: Subject::Settings,
        meaning: "no THP default that an unprivileged, non-NNP process set survives a secure exec (Jann Horn's rule; mainline's PR_SET_THP_DISABLE is a known exception)",
        good: "lets nothing an unprivileged process sets survive a setuid exec",
        bad: "lets a THP setting made by an unprivileged process survive a setuid exec",
        ghosts: ghosts(every_setting(UNPRIV_NO_NNP_KEPT), 0),
        condition: secure_exec_inherits_nothing,
        per_process: true,
    },
    PropertyDef {
        name: "mlock_not_inherited",
        kind: Kind::Always,
        subject: Subject::Flags,
        meaning: "VM_LOCKED/VM_LOCKONFAULT never reach a child or an exec'd image through def_flags or copied VMAs",
        good: "never passes mlock state on",
        bad: "passes mlock state to a child or an exec'd image",
        ghosts: ghosts(Ghost::CALLED_MLOCKALL.0, 0),
        condition: mlock_not_inherited,
        per_process: true,
    },
    PropertyDef {
        name: "disable_means_no_eligible_vma",
        kind: Kind::Always,
        subject: Subject::Eligibility,
        meaning: "with THP completely disabled, no VMA of the mm is THP-eligible",
        good: "keeps PR_SET_THP_DISABLE disabling everything",
        bad: "leaves a VMA THP-eligible under PR_SET_THP_DISABLE",
        ghosts: ghosts(0, 0),
        condition: disable_means_no_eligible_vma,
        per_process: true,
    },
    PropertyDef {
        name: "no_eligible_vma_under_never",
        kind: Kind::Always,
        subject: Subject::Eligibility,
        meaning: "sysfs `never` means no VMA is THP-eligible",
        good: "makes no VMA THP-eligible under sysfs never",
        bad: "makes a VMA THP-eligible although sysfs says never",
        ghosts: ghosts(0, 0),
        condition: no_eligible_vma_under_never,
        per_process: true,
    },
    PropertyDef {
        name: "prctl_only_reduces_eligibility",
        kind: Kind::Always,
        subject: Subject::Eligibility,
        meaning: "a prctl THP control never makes a VMA eligible that would not be without it",
        good: "only ever reduces THP with a prctl",
        bad: "has a prctl that raises THP eligibility",
        ghosts: ghosts(Ghost::DEFAULT_HG_BY_PRCTL.0, VmaGhost::RAISED_BY_PRCTL.0),
        condition: prctl_only_reduces_eligibility,
        per_process: true,
    },
    PropertyDef {
        name: "explicit_optout_kept",
        kind: Kind::Always,
        subject: Subject::Flags,
        meaning: "a VMA its own process marked MADV_NOHUGEPAGE stays VM_NOHUGEPAGE until a madvise/process_madvise names it again",
        good: "keeps a program's own MADV_NOHUGEPAGE",
        bad: "overrides a program's own MADV_NOHUGEPAGE with a process-wide call",
        ghosts: ghosts(0, VmaGhost::OPTED_OUT.0),
        condition: explicit_optout_kept,
        per_process: true,
    },
    PropertyDef {
        name: "default_kept_as_promised",
        kind: Kind::Always,
        subject: Subject::Settings,
        meaning: "a default the variant promises to keep across fork/exec is in force in every descendant",
        good: "keeps its promise: the default survives as stated",
        bad: "breaks its own promise: the default is lost",
        ghosts: ghosts(Ghost::PROMISED.0, 0),
        condition: default_kept_as_promised,
        per_process: true,
    },
    PropertyDef {
        name: "failed_call_changes_no_default",
        kind: Kind::Always,
        subject: Subject::Settings,
        meaning: "a process_madvise that returns an error leaves def_flags as it was",
        good: "leaves the default alone when a call fails",
        bad: "changes the default in a call that fails",
        ghosts: ghosts(Ghost::FAILED_CALL_CHANGED_DEFAULT.0, 0),
        condition: failed_call_changes_no_default,
        per_process: true,
    },
    PropertyDef {
        name: "unmodified_program_gets_eligible_vma",
        kind: Kind::Sometimes,
        subject: Subject::Eligibility,
        meaning: "a program that never called madvise/prctl itself, started by exec from a launcher, has a THP-eligible VMA under sysfs `madvise`",
        good: "delivers the use case: a launcher can give an unmodified program THP under sysfs madvise",
        bad: "misses the use case: a launcher cannot give an unmodified program THP under sysfs madvise",
        ghosts: ghosts(Ghost::EXEC_FRESH.0, 0),
        condition: unmodified_program_gets_eligible_vma,
        per_process: true,
    },
    PropertyDef {
        name: "no_huge_pages_under_never",
        kind: Kind::Always,
        subject: Subject::Pages,
        meaning: "under sysfs `never` no VMA is backed by huge pages (none is `huge` or `mixed`), whatever made them",
        good: "keeps sysfs never meaning no huge pages",
        bad: "backs memory with huge pages although sysfs says never",
        ghosts: ghosts(0, 0),
        condition: no_huge_pages_under_never,
        per_process: true,
    },
    PropertyDef {
        name: "disable_means_no_new_huge_pages",
        kind: Kind::Always,
        subject: Subject::Pages,
        meaning: "no fault, collapse or khugepaged scan makes huge pages for a process whose THP is disabled completely (huge pages it had before are not new)",
        good: "makes no new huge pages for a process with THP disabled",
        bad: "makes new huge pages for a process with THP disabled",
        ghosts: ghosts(Ghost::HUGE_WHILE_DISABLED.0, 0),
        condition: disable_means_no_new_huge_pages,
        per_process: true,
    },
    PropertyDef {
        name: "unmodified_program_gets_huge_pages",
        kind: Kind::Sometimes,
        subject: Subject::Pages,
        meaning: "under sysfs `madvise`, a program entered by exec that has made no THP call of its own since gets huge pages from its own write fault (the use case, in pages)",
        good: "delivers the use case in pages: an unmodified program gets huge pages from its own faults under sysfs madvise",
        bad: "misses the use case in pages: no unmodified program gets huge pages from its own faults under sysfs madvise",
        ghosts: ghosts(Ghost::EXEC_FRESH.0, VmaGhost::HUGE_BY_OWN_FAULT.0),
        condition: unmodified_program_gets_huge_pages,
        per_process: true,
    },
    PropertyDef {
        name: "secure_exec_keeps_no_ksm_merge_any",
        kind: Kind::Always,
        subject: Subject::Policies,
        meaning: "no KSM merge-any (PR_SET_MEMORY_MERGE) that an unprivileged, non-NNP process set survives a secure exec (Jann Horn's rule, asked of KSM's own process-wide policy)",
        good: "lets no KSM merge-any an unprivileged process set survive a setuid exec",
        bad: "lets KSM merge-any set by an unprivileged process survive a setuid exec",
        ghosts: ghosts(Ghost::origin_bits(Setting::MergeAny, UNPRIV_NO_NNP_KEPT).0, 0),
        condition: policies::secure_exec_keeps_no_ksm_merge_any,
        per_process: true,
    },
    PropertyDef {
        name: "secure_exec_keeps_no_mdwe",
        kind: Kind::Always,
        subject: Subject::Policies,
        meaning: "no MDWE (PR_SET_MDWE) that an unprivileged, non-NNP process set survives a secure exec (the same rule, asked of MDWE: a user could start a setuid program unable to map W+X)",
        good: "lets no MDWE an unprivileged process set survive a setuid exec",
        bad: "lets MDWE set by an unprivileged process survive a setuid exec",
        ghosts: ghosts(Ghost::origin_bits(Setting::Mdwe, UNPRIV_NO_NNP_KEPT).0, 0),
        condition: policies::secure_exec_keeps_no_mdwe,
        per_process: true,
    },
    PropertyDef {
        name: "mdwe_never_lifted",
        kind: Kind::Always,
        subject: Subject::Policies,
        meaning: "once MDWE is set in an mm without PR_MDWE_NO_INHERIT, that mm and every mm made from it (fork child, exec'd image) keeps it",
        good: "never lifts MDWE once set (except through PR_MDWE_NO_INHERIT)",
        bad: "lifts MDWE that was set to be inherited",
        ghosts: ghosts(Ghost::MDWE_INHERITED.0, 0),
        condition: policies::mdwe_never_lifted,
        per_process: true,
    },
    PropertyDef {
        name: "unmodified_program_gets_mergeable_vma",
        kind: Kind::Sometimes,
        subject: Subject::Policies,
        meaning: "a program entered by exec that has made no memory-policy call of its own has a VM_MERGEABLE VMA (KSM merge-any as a launcher's default: the use case, for KSM)",
        good: "lets a launcher give an unmodified program KSM merging (merge-any crosses exec)",
        bad: "gives no unmodified program KSM merging",
        ghosts: ghosts(Ghost::EXEC_FRESH.0, 0),
        condition: policies::unmodified_program_gets_mergeable_vma,
        per_process: true,
    },
    PropertyDef {
        name: "no_policy_change_through_shared_mm",
        kind: Kind::Always,
        subject: Subject::SharedMm,
        meaning: "no task changes another task's process-wide policies (a THP default or control, KSM merge-any, MDWE) through an mm they share: a vfork child before its exec, a clone(CLONE_VM) child, a thread (Andy Lutomirski: an mm-wide setting is not thread-safe against another thread that spawns)",
        good: "lets no task change another's process-wide policies through a shared mm",
        bad: "lets a task that shares an mm (a vfork child, a CLONE_VM child, a thread) change the process-wide policies of the others",
        ghosts: ghosts(Ghost::POLICY_BY_SHARER.0, 0),
        condition: policies::no_policy_change_through_shared_mm,
        per_process: true,
    },
];

/// Where a THP question has a precedent in a policy the kernel already
/// has: (the THP property, the policy property that asks the same of KSM
/// merge-any, how a review says it). A review of a proposal that newly
/// breaks (or reaches) the first quotes the second's verdict beside it.
pub const PRECEDENTS: &[(&str, &str, &str)] = &[
    (
        "secure_exec_inherits_nothing",
        "secure_exec_keeps_no_ksm_merge_any",
        "KSM merge-any (PR_SET_MEMORY_MERGE), a process-wide policy in the same init mask, already survives a setuid exec",
    ),
    (
        "unprivileged_exec_gains_nothing",
        "secure_exec_keeps_no_ksm_merge_any",
        "KSM merge-any, which any process may set, already survives a setuid exec",
    ),
    (
        "unmodified_program_gets_eligible_vma",
        "unmodified_program_gets_mergeable_vma",
        "KSM merge-any already reaches an unmodified program across fork and exec",
    ),
];

/// Names the catalogue had before its properties said in their names
/// whether they speak of eligibility or of pages: (old, new).
pub const RENAMED: &[(&str, &str)] = &[
    ("sysfs_never_means_never", "no_eligible_vma_under_never"),
    ("disable_dominates", "disable_means_no_eligible_vma"),
    ("unmodified_program_gets_thp", "unmodified_program_gets_eligible_vma"),
    ("prctl_only_reduces", "prctl_only_reduces_eligibility"),
];

pub fn by_name(name: &str) -> Option<&'static PropertyDef> {
    CATALOGUE.iter().find(|p| p.name == name)
}

fn any_proc(s: &State, f: impl Fn(&Process) -> bool) -> bool {
    s.live().any(|(_, p)| f(p))
}

fn flag_in_use(p: &Process, f: VmFlags) -> bool {
    p.mm.def_flags.intersects(f) || mapped(p).any(|(_, v, _)| v.intersects(f))
}

fn hugepage_in_use(_: &System, s: &State) -> bool {
    any_proc(s, |p| flag_in_use(p, VmFlags::VM_HUGEPAGE))
}

fn nohugepage_in_use(_: &System, s: &State) -> bool {
    any_proc(s, |p| flag_in_use(p, VmFlags::VM_NOHUGEPAGE))
}

/// `Cred::SetuidRoot` (real uid a user, effective uid 0) is what a secure
/// exec of a setuid-root image by a non-root user gives, and only that.
fn secure_exec_by_user(_: &System, s: &State) -> bool {
    any_proc(s, |p| p.cred == Cred::SetuidRoot)
}

fn unpriv_raising_setting(_: &System, s: &State) -> bool {
    any_proc(s, |p| setting::with_origin(p, &Setting::THP, Origin::BY_UNPRIV, true).next().is_some())
}

fn unpriv_setting_without_nnp(_: &System, s: &State) -> bool {
    any_proc(s, |p| setting::with_origin(p, &Setting::THP, UNPRIV_NO_NNP, false).next().is_some())
}

fn mlock_in_use(_: &System, s: &State) -> bool {
    any_proc(s, |p| flag_in_use(p, VmFlags::VM_LOCKED_MASK))
}

fn thp_disabled_with_vma(_: &System, s: &State) -> bool {
    any_proc(s, |p| p.mm.flags.contains(MmfFlags::MMF_DISABLE_THP_COMPLETELY) && mapped(p).next().is_some())
}

fn pages_under_never(_: &System, s: &State) -> bool {
    s.sysfs == Sysfs::Never
        && any_proc(s, |p| p.mm.vmas.iter().any(|v| v.is_mapped() && v.pages != Pages::None))
}

fn sysfs_never_with_vma(_: &System, s: &State) -> bool {
    s.sysfs == Sysfs::Never && any_proc(s, |p| mapped(p).next().is_some())
}

fn prctl_control_with_vma(_: &System, s: &State) -> bool {
    any_proc(s, |p| {
        let mm_control = p.mm.flags.intersects(MmfFlags::PRCTL_THP);
        mapped(p).any(|(_, _, g)| mm_control || g.contains(VmaGhost::RAISED_BY_PRCTL))
    })
}

fn vma_opted_out(_: &System, s: &State) -> bool {
    any_proc(s, |p| mapped(p).any(|(_, _, g)| g.contains(VmaGhost::OPTED_OUT)))
}

fn default_promised(_: &System, s: &State) -> bool {
    any_proc(s, |p| p.ghost.intersects(Ghost::PROMISED))
}

fn thp_default_set(_: &System, s: &State) -> bool {
    any_proc(s, |p| p.mm.def_flags.intersects(VmFlags::THP_MASK))
}

const fn premise(
    name: &'static str,
    subject: Subject,
    meaning: &'static str,
    ghosts: GhostMask,
    condition: fn(&System, &State) -> bool,
) -> PropertyDef {
    PropertyDef {
        name,
        kind: Kind::Sometimes,
        subject,
        meaning,
        good: "reaches the case the property rules on",
        bad: "never reaches the case the property rules on",
        ghosts,
        condition,
        per_process: true,
    }
}

/// The premises the catalogue's properties name, each a `sometimes`.
pub const PREMISES: &[PropertyDef] = &[
    premise(
        "unpriv_merge_any_without_nnp",
        Subject::Policies,
        "KSM merge-any made by a caller without CAP_SYS_ADMIN and without no_new_privs is in force",
        ghosts(Ghost::origin_bits(Setting::MergeAny, UNPRIV_NO_NNP).0, 0),
        policies::unpriv_merge_any_without_nnp,
    ),
    premise(
        "unpriv_mdwe_without_nnp",
        Subject::Policies,
        "MDWE made by a caller without CAP_SYS_ADMIN and without no_new_privs is in force",
        ghosts(Ghost::origin_bits(Setting::Mdwe, UNPRIV_NO_NNP).0, 0),
        policies::unpriv_mdwe_without_nnp,
    ),
    premise(
        "mdwe_inherited",
        Subject::Policies,
        "an mm has MDWE set to be inherited (in it, or in the mm it was made from)",
        ghosts(Ghost::MDWE_INHERITED.0, 0),
        policies::mdwe_inherited,
    ),
    premise(
        "mm_shared",
        Subject::SharedMm,
        "two tasks share an mm (a vfork child, a clone(CLONE_VM) child or a thread, and its parent)",
        ghosts(0, 0),
        policies::mm_shared,
    ),
    premise(
        "pages_under_never",
        Subject::Pages,
        "sysfs is `never` and some VMA has pages",
        ghosts(0, 0),
        pages_under_never,
    ),
    premise(
        "hugepage_in_use",
        Subject::Flags, "some VMA or def_flags carries VM_HUGEPAGE", ghosts(0, 0), hugepage_in_use),
    premise(
        "nohugepage_in_use",
        Subject::Flags, "some VMA or def_flags carries VM_NOHUGEPAGE", ghosts(0, 0), nohugepage_in_use),
    premise(
        "secure_exec_by_user",
        Subject::Settings,
        "a non-root user started a setuid-root image (a secure exec: real uid a user, effective uid 0)",
        ghosts(0, 0),
        secure_exec_by_user,
    ),
    premise(
        "unpriv_raising_setting",
        Subject::Settings,
        "a THP-raising setting (VM_HUGEPAGE in def_flags, or a THP-raising MMF bit) made by a caller without CAP_SYS_ADMIN is in force",
        ghosts(raising_settings(Origin::BY_UNPRIV), 0),
        unpriv_raising_setting,
    ),
    premise(
        "unpriv_setting_without_nnp",
        Subject::Settings,
        "a THP setting (a def_flags default or a prctl control) made by a caller without CAP_SYS_ADMIN and without no_new_privs is in force",
        ghosts(every_setting(UNPRIV_NO_NNP), 0),
        unpriv_setting_without_nnp,
    ),
    premise(
        "mlock_in_use",
        Subject::Flags, "VM_LOCKED or VM_LOCKONFAULT is set in def_flags or on a VMA", ghosts(0, 0), mlock_in_use),
    premise(
        "thp_disabled_with_vma",
        Subject::Eligibility,
        "THP is completely disabled (MMF_DISABLE_THP_COMPLETELY) in an mm with a mapped VMA",
        ghosts(0, 0),
        thp_disabled_with_vma,
    ),
    premise(
        "sysfs_never_with_vma",
        Subject::Eligibility, "sysfs is `never` and a VMA is mapped", ghosts(0, 0), sysfs_never_with_vma),
    premise(
        "prctl_control_with_vma",
        Subject::Eligibility,
        "a prctl THP control is in force over a mapped VMA (an MMF_DISABLE_THP_* or MMF_THP_ALWAYS bit, or a VM_HUGEPAGE a prctl put there)",
        // RAISED_BY_PRCTL is set from DEFAULT_HG_BY_PRCTL (see `GhostMask::closure`).
        ghosts(Ghost::DEFAULT_HG_BY_PRCTL.0, VmaGhost::RAISED_BY_PRCTL.0),
        prctl_control_with_vma,
    ),
    premise(
        "vma_opted_out",
        Subject::Flags,
        "a VMA its own process marked MADV_NOHUGEPAGE has not been named by a madvise/process_madvise since",
        ghosts(0, VmaGhost::OPTED_OUT.0),
        vma_opted_out,
    ),
    premise(
        "default_promised",
        Subject::Settings,
        "the variant has promised a process a THP default across fork/exec (its [intent])",
        ghosts(Ghost::PROMISED.0, 0),
        default_promised,
    ),
    premise(
        "thp_default_set",
        Subject::Settings,
        "a THP default (VM_HUGEPAGE or VM_NOHUGEPAGE in def_flags) is in force",
        ghosts(0, 0),
        thp_default_set,
    ),
];

/// Each `always` property of the catalogue and the names of its premises:
/// what must be reachable for a `holds` to say more than "the case never
/// happens". (A table beside the catalogue, so `PropertyDef` keeps its shape.)
pub const PREMISES_OF: &[(&str, &[&str])] = &[
    ("thp_flags_exclusive", &["hugepage_in_use", "nohugepage_in_use"]),
    ("unprivileged_exec_gains_nothing", &["secure_exec_by_user", "unpriv_raising_setting"]),
    ("secure_exec_inherits_nothing", &["secure_exec_by_user", "unpriv_setting_without_nnp"]),
    ("mlock_not_inherited", &["mlock_in_use"]),
    ("disable_means_no_eligible_vma", &["thp_disabled_with_vma"]),
    ("no_eligible_vma_under_never", &["sysfs_never_with_vma"]),
    ("prctl_only_reduces_eligibility", &["prctl_control_with_vma"]),
    ("explicit_optout_kept", &["vma_opted_out"]),
    ("default_kept_as_promised", &["default_promised"]),
    ("failed_call_changes_no_default", &["thp_default_set"]),
    ("no_huge_pages_under_never", &["pages_under_never"]),
    ("disable_means_no_new_huge_pages", &["thp_disabled_with_vma"]),
    ("secure_exec_keeps_no_ksm_merge_any", &["secure_exec_by_user", "unpriv_merge_any_without_nnp"]),
    ("secure_exec_keeps_no_mdwe", &["secure_exec_by_user", "unpriv_mdwe_without_nnp"]),
    ("mdwe_never_lifted", &["mdwe_inherited"]),
    ("no_policy_change_through_shared_mm", &["mm_shared"]),
];

pub fn premise_by_name(name: &str) -> Option<&'static PropertyDef> {
    PREMISES.iter().find(|p| p.name == name)
}

/// The names of `p`'s premises (none for a `sometimes` property).
fn premise_names(p: &PropertyDef) -> &'static [&'static str] {
    PREMISES_OF.iter().find(|(n, _)| *n == p.name).map_or(&[], |(_, q)| q)
}

/// The premises of `p`, in the order `PREMISES_OF` names them.
pub fn premises_of(p: &PropertyDef) -> impl Iterator<Item = &'static PropertyDef> {
    premise_names(p).iter().filter_map(|n| premise_by_name(n))
}

pub fn names() -> impl Iterator<Item = &'static str> {
    CATALOGUE.iter().map(|p| p.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_premise_named_exists_and_reads_only_what_its_property_reads() {
        for (name, _) in PREMISES_OF {
            assert!(by_name(name).is_some(), "PREMISES_OF names `{name}`, which is not in the catalogue");
        }
        for p in CATALOGUE {
            assert_eq!(premises_of(p).count(), premise_names(p).len(), "{}: unknown premise", p.name);
            assert_eq!(
                p.kind == Kind::Always,
                premises_of(p).count() > 0,
                "{}: premises are for `always`",
                p.name
            );
            for q in premises_of(p) {
                assert_eq!(q.kind, Kind::Sometimes);
                let (g, h) = (q.ghosts, p.ghosts);
                assert_eq!(g.process.0 & !h.process.0, 0, "{} reads ghosts {} does not", q.name, p.name);
                assert_eq!(g.vma.0 & !h.vma.0, 0, "{} reads VMA ghosts {} does not", q.name, p.name);
            }
        }
        for p in CATALOGUE.iter().chain(PREMISES) {
            assert_eq!(p.ghosts.closure(), p.ghosts, "{}: keeps a ghost bit but not what sets it", p.name);
        }
        let named: Vec<&str> = PREMISES_OF.iter().flat_map(|(_, q)| q.iter().copied()).collect();
        for q in PREMISES {
            assert!(named.contains(&q.name), "premise {} belongs to no property", q.name);
            assert!(by_name(q.name).is_none(), "{} is both a property and a premise", q.name);
        }
    }
}
