//! THP defaults: how a call makes MADV_HUGEPAGE or MADV_NOHUGEPAGE the
//! default for new VMAs (`mm->def_flags`, the RFC's `set_default_behavior`),
//! with the scope bits a proposal keeps beside it, and the ghost bookkeeping
//! the properties read: who set the default, and what the proposal promised.

use crate::action::PmadvFlags;
use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, Setting};
use crate::semantics::Semantics;
use crate::setting;
use crate::state::Process;

/// The scope bit each default-setting `process_madvise` flag records.
/// (`PMADV_SET_FORK_EXEC_DEFAULT` records none: the seed RFC relies on
/// `VM_INIT_DEF_MASK` for inheritance.)
pub const SCOPE: [(PmadvFlags, MmfFlags); 4] = [
    (PmadvFlags::PMADV_FUTURE, MmfFlags::MMF_DEF_FUTURE),
    (PmadvFlags::PMADV_SET_DEFAULT, MmfFlags::MMF_DEF_FUTURE),
    (PmadvFlags::PMADV_INHERIT_FORK, MmfFlags::MMF_DEF_INHERIT_FORK),
    (PmadvFlags::PMADV_INHERIT_EXEC, MmfFlags::MMF_DEF_INHERIT_EXEC),
];

const SCOPE_BITS: MmfFlags = MmfFlags::DEF_SCOPE;

/// The scope bits `flags` asks for.
pub fn scope_of(flags: PmadvFlags) -> MmfFlags {
    SCOPE.iter().filter(|(f, _)| flags.contains(*f)).fold(MmfFlags::EMPTY, |m, (_, s)| m | *s)
}

/// Who is setting a default (the caller, which may differ from the target).
#[derive(Clone, Copy, Debug)]
pub struct Setter {
    pub cap_sys_admin: bool,
    pub no_new_privs: bool,
    /// Set through a prctl (for `prctl_only_reduces_eligibility`).
    pub prctl: bool,
}

impl Setter {
    pub fn of(p: &Process, prctl: bool) -> Setter {
        Setter { cap_sys_admin: p.cap_sys_admin(), no_new_privs: p.no_new_privs, prctl }
    }
}

/// The target now has `setting` in force as `by` made it (its origin).
pub fn note_set(target: &mut Process, setting: Setting, by: Setter) {
    setting::note_set(target, setting, by.cap_sys_admin, by.no_new_privs);
}

/// Makes `value` (VM_HUGEPAGE or VM_NOHUGEPAGE) the THP default of the
/// target's mm with `scope`; `promise`: the proposal promises this default
/// will be kept (its `[intent]`).
pub fn set_default(
    sem: &Semantics,
    target: &mut Process,
    value: VmFlags,
    scope: MmfFlags,
    by: Setter,
    promise: bool,
) {
    let mm = &mut target.mm;
    mm.def_flags = mm.def_flags.difference(VmFlags::THP_MASK).union(value);
    mm.flags = mm.flags.difference(SCOPE_BITS).union(scope);
    // The whole default is overwritten: its origin is this setter's.
    note_set(target, Setting::ThpDefault, by);
    let by_prctl = by.prctl && value.contains(VmFlags::VM_HUGEPAGE);
    target.ghost.set(Ghost::DEFAULT_HG_BY_PRCTL, by_prctl);
    let promised = if promise && sem.intent.promises_anything() { value } else { VmFlags::EMPTY };
    target.ghost = target.ghost.with_promised(promised);
}

/// Removes `bits` from the THP default (and any promise about them).
pub fn clear_default(target: &mut Process, bits: VmFlags) {
    let mm = &mut target.mm;
    mm.def_flags = mm.def_flags.difference(bits.intersection(VmFlags::THP_MASK));
    if !mm.def_flags.intersects(VmFlags::THP_MASK) {
        mm.flags = mm.flags.difference(SCOPE_BITS);
    }
    let left = target.ghost.promised().difference(bits);
    target.ghost = target.ghost.with_promised(left);
}

/// The flags a new VMA gets: `def_flags`, except a THP default that is
/// scoped to children only (`def_needs_future` without `MMF_DEF_FUTURE`).
pub fn new_vma_flags(sem: &Semantics, p: &Process) -> VmFlags {
    let d = p.mm.def_flags;
    if sem.def_needs_future && !p.mm.flags.contains(MmfFlags::MMF_DEF_FUTURE) {
        d.difference(VmFlags::THP_MASK)
    } else {
        d
    }
}
