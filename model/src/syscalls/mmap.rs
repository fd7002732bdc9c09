//! mm/mmap.c: `do_mmap` ORs `mm->def_flags` into a new VMA; `munmap`;
//! and mm/mprotect.c's `mprotect`.

use super::defaults::new_vma_flags;
use super::StepError;
use super::{ksm, mdwe, pages};
use crate::action::{Errno, Item, Prot, Range, Ret};
use crate::flags::VmFlags;
use crate::ghost::{Ghost, VmaGhost};
use crate::semantics::Semantics;
use crate::state::{Process, Sysfs, Vma, MAX_VMAS};

/// `mmap(NULL, 4 MiB, prot, MAP_PRIVATE|MAP_ANONYMOUS)` at the lowest free
/// slot: the new VMA's flags are `mm->def_flags` (unless a proposal scopes
/// the THP default to children only), the protection's, and
/// `VM_MERGEABLE` under KSM merge-any. MDWE refuses a writable and
/// executable mapping (-EACCES, `mmap_region`).
pub fn mmap(
    sem: &Semantics,
    sysfs: Sysfs,
    me: &mut Process,
    vmas: usize,
    prot: Prot,
) -> Result<Ret, StepError> {
    let limit = vmas.min(MAX_VMAS);
    let slot = (0..limit).find(|&i| !me.mm.vmas[i].is_mapped()).ok_or(StepError::NoFreeVmaSlot(limit))?;
    let flags = new_vma_flags(sem, me) | prot_flags(prot) | ksm::new_vma_flags(me);
    if mdwe::deny_write_exec(&me.mm, flags, flags) {
        return Ok(Ret::Err(Errno::EACCES));
    }
    let mut vma = Vma::mapped(flags);
    let raised = flags.contains(VmFlags::VM_HUGEPAGE) && me.ghost.contains(Ghost::DEFAULT_HG_BY_PRCTL);
    vma.ghost.set(VmaGhost::RAISED_BY_PRCTL, raised);
    me.mm.vmas[slot] = vma;
    // A VM_LOCKED mapping is populated at once unless VM_LOCKONFAULT
    // (mm_populate: written if writable, else read, which maps the zero
    // page). (__mmap_region's khugepaged_enter_vma() registers nothing: a
    // new VMA has no anon_vma yet.)
    if flags.contains(VmFlags::VM_LOCKED) && !flags.contains(VmFlags::VM_LOCKONFAULT) {
        pages::populate(sem, sysfs, me, slot);
    }
    Ok(Ret::Vma(slot as u8))
}

/// The VMA flags of a protection (`calc_vm_prot_bits`; `PROT_READ` is not
/// modelled).
pub fn prot_flags(prot: Prot) -> VmFlags {
    let mut f = VmFlags::EMPTY;
    if prot.contains(Prot::PROT_WRITE) {
        f = f | VmFlags::VM_WRITE;
    }
    if prot.contains(Prot::PROT_EXEC) {
        f = f | VmFlags::VM_EXEC;
    }
    f
}

/// `mprotect(v, prot)` (mm/mprotect.c): nothing mapped there is -ENOMEM;
/// MDWE refuses a writable and executable result, or gaining exec
/// (-EACCES); a locked private VMA that becomes writable is populated
/// (`mprotect_fixup`, to break COW now).
pub fn mprotect(sem: &Semantics, sysfs: Sysfs, me: &mut Process, item: Item, prot: Prot) -> Ret {
    let Item::Vma(v) = item else { return Ret::Err(Errno::ENOMEM) };
    let v = v as usize;
    let Some(old) = me.mm.vmas[v].flags else { return Ret::Err(Errno::ENOMEM) };
    let new = old.difference(VmFlags::PROT) | prot_flags(prot);
    if mdwe::deny_write_exec(&me.mm, old, new) {
        return Ret::Err(Errno::EACCES);
    }
    me.mm.vmas[v].flags = Some(new);
    let populate = old.contains(VmFlags::VM_LOCKED)
        && !old.contains(VmFlags::VM_LOCKONFAULT)
        && !old.contains(VmFlags::VM_WRITE)
        && new.contains(VmFlags::VM_WRITE);
    if populate {
        pages::write_all(sem, sysfs, me, v);
    }
    Ret::Val(0)
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
