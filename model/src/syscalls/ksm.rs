//! mm/ksm.c and kernel/sys.c: KSM merge-any (`PR_SET_MEMORY_MERGE`, 6.4),
//! a process-wide policy in the same init mask as the THP disable: every
//! VMA of the mm, present and future, is `VM_MERGEABLE`. `MADV_MERGEABLE`
//! and `MADV_UNMERGEABLE` are rows of madvise's table.
//!
//! Every modelled VMA is private anonymous, so `ksm_compatible` always
//! holds. ksmd itself is not modelled: with `/sys/kernel/mm/ksm/run` at 0
//! (every Debian kernel's default) it never runs, so the 2025 fix to ksmd
//! clearing `MMF_VM_MERGE_ANY` (590c03ca6a3f, 6.19; 6.18.3, 6.12.64) is
//! invisible to a trace.

use super::defaults::{note_set, Setter};
use crate::action::{Errno, Ret};
use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, Setting};
use crate::semantics::Semantics;
use crate::state::Process;

/// `prctl(PR_SET_MEMORY_MERGE, arg2)`: any nonzero arg2 enables. Enabling
/// twice does nothing (`ksm_enable_merge_any` returns early, so a VMA
/// made unmergeable since stays so); disabling clears `VM_MERGEABLE` on
/// every VMA, `MADV_MERGEABLE`'s too (`ksm_disable_merge_any`). No
/// privilege is needed.
pub fn set_memory_merge(sem: &Semantics, me: &mut Process, arg2: u32) -> Ret {
    if !sem.ksm_merge_any {
        return Ret::Err(Errno::EINVAL);
    }
    me.ghost.set(Ghost::EXEC_FRESH, false);
    let on = me.mm.flags.contains(MmfFlags::MMF_VM_MERGE_ANY);
    match (arg2 != 0, on) {
        (true, true) | (false, false) => {}
        (true, false) => {
            me.mm.flags = me.mm.flags | MmfFlags::MMF_VM_MERGE_ANY;
            mark_every_vma(me, true);
            note_set(me, Setting::MergeAny, Setter::of(me, true));
        }
        (false, true) => {
            mark_every_vma(me, false);
            me.mm.flags = me.mm.flags.difference(MmfFlags::MMF_VM_MERGE_ANY);
        }
    }
    Ret::Val(0)
}

/// `prctl(PR_GET_MEMORY_MERGE)`: 1 with merge-any, else 0.
pub fn get_memory_merge(sem: &Semantics, me: &Process) -> Ret {
    if !sem.ksm_merge_any {
        return Ret::Err(Errno::EINVAL);
    }
    Ret::Val(me.mm.flags.contains(MmfFlags::MMF_VM_MERGE_ANY) as i64)
}

/// The `VM_MERGEABLE` a new VMA of this mm gets (`ksm_vma_flags`, 6.17;
/// `ksm_add_vma` after the VMA exists before: the same in fixed slots).
pub fn new_vma_flags(p: &Process) -> VmFlags {
    if p.mm.flags.contains(MmfFlags::MMF_VM_MERGE_ANY) {
        VmFlags::VM_MERGEABLE
    } else {
        VmFlags::EMPTY
    }
}

fn mark_every_vma(me: &mut Process, on: bool) {
    for vma in me.mm.vmas.iter_mut() {
        if let Some(f) = vma.flags {
            let f = f.difference(VmFlags::VM_MERGEABLE);
            vma.flags = Some(if on { f | VmFlags::VM_MERGEABLE } else { f });
        }
    }
}
