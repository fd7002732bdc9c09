//! The conditions of the policy properties (`Subject::Policies`): KSM
//! merge-any and MDWE, the other process-wide policies of the init mask,
//! judged by the same rules as the THP settings.

use super::{all_procs, any_proc, mapped, UNPRIV_NO_NNP, UNPRIV_NO_NNP_KEPT};
use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, Origin, Setting};
use crate::setting;
use crate::state::{Process, State};
use crate::System;

fn has(p: &Process, s: Setting, origin: Origin) -> bool {
    setting::with_origin(p, &[s], origin, false).next().is_some()
}

pub(super) fn secure_exec_keeps_no_ksm_merge_any(_: &System, s: &State) -> bool {
    all_procs(s, |p| !has(p, Setting::MergeAny, UNPRIV_NO_NNP_KEPT))
}

pub(super) fn secure_exec_keeps_no_mdwe(_: &System, s: &State) -> bool {
    all_procs(s, |p| !has(p, Setting::Mdwe, UNPRIV_NO_NNP_KEPT))
}

pub(super) fn mdwe_never_lifted(_: &System, s: &State) -> bool {
    all_procs(s, |p| !p.ghost.contains(Ghost::MDWE_INHERITED) || p.mm.flags.contains(MmfFlags::MMF_HAS_MDWE))
}

pub(super) fn unmodified_program_gets_mergeable_vma(_: &System, s: &State) -> bool {
    any_proc(s, |p| {
        p.ghost.contains(Ghost::EXEC_FRESH) && mapped(p).any(|(_, f, _)| f.contains(VmFlags::VM_MERGEABLE))
    })
}

pub(super) fn unpriv_merge_any_without_nnp(_: &System, s: &State) -> bool {
    any_proc(s, |p| has(p, Setting::MergeAny, UNPRIV_NO_NNP))
}

pub(super) fn unpriv_mdwe_without_nnp(_: &System, s: &State) -> bool {
    any_proc(s, |p| has(p, Setting::Mdwe, UNPRIV_NO_NNP))
}

pub(super) fn mdwe_inherited(_: &System, s: &State) -> bool {
    any_proc(s, |p| p.ghost.contains(Ghost::MDWE_INHERITED))
}

pub(super) fn no_policy_change_through_shared_mm(_: &System, s: &State) -> bool {
    all_procs(s, |p| !p.ghost.contains(Ghost::POLICY_BY_SHARER))
}

pub(super) fn mm_shared(_: &System, s: &State) -> bool {
    any_proc(s, |p| p.link.shared())
}
