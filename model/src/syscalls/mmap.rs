//! mm/mmap.c: `do_mmap` ORs `mm->def_flags` into a new VMA; `munmap`.

use super::defaults::new_vma_flags;
use super::pages;
use super::StepError;
use crate::action::{Range, Ret};
use crate::flags::VmFlags;
use crate::ghost::{Ghost, VmaGhost};
use crate::semantics::Semantics;
use crate::state::{Process, Sysfs, Vma, MAX_VMAS};

/// `mmap(NULL, 4 MiB, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)` at
/// the lowest free slot: the new VMA's flags are `mm->def_flags` (unless a
/// proposal scopes the THP default to children only).
pub fn mmap(sem: &Semantics, sysfs: Sysfs, me: &mut Process, vmas: usize) -> Result<Ret, StepError> {
    let limit = vmas.min(MAX_VMAS);
    let slot = (0..limit).find(|&i| !me.mm.vmas[i].is_mapped()).ok_or(StepError::NoFreeVmaSlot(limit))?;
    let flags = new_vma_flags(sem, me);
    let mut vma = Vma::mapped(flags);
    let raised = flags.contains(VmFlags::VM_HUGEPAGE) && me.ghost.contains(Ghost::DEFAULT_HG_BY_PRCTL);
    vma.ghost.set(VmaGhost::RAISED_BY_PRCTL, raised);
    me.mm.vmas[slot] = vma;
    // A VM_LOCKED mapping is populated at once unless VM_LOCKONFAULT
    // (mm_populate). (__mmap_region's khugepaged_enter_vma() registers
    // nothing: a new VMA has no anon_vma yet.)
    if flags.contains(VmFlags::VM_LOCKED) && !flags.contains(VmFlags::VM_LOCKONFAULT) {
        pages::write_all(sysfs, me, slot);
    }
    Ok(Ret::Vma(slot as u8))
}

/// `munmap`: unmapping a range with holes (or nothing mapped) succeeds.
pub fn munmap(me: &mut Process, range: Range) -> Ret {
    for (slot, vma) in me.mm.vmas.iter_mut().enumerate() {
        if range.covers(slot) {
            *vma = Vma::UNMAPPED;
        }
    }
    Ret::Val(0)
}
