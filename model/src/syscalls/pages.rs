//! What backs a VMA: mm/memory.c and mm/huge_memory.c (a write fault, and
//! a write to a page a fork shared), mm/khugepaged.c (`MADV_COLLAPSE`,
//! khugepaged's scan and who it scans), and what zapping does. The rules
//! that say whether a huge page may back a VMA are `thp::allowable`'s.
//!
//! A slot is written, collapsed or zapped as a whole (`Pages`), so the
//! model needs no addresses inside a slot.

use crate::action::{Errno, Item, Ret};
use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, VmaGhost};
use crate::semantics::Semantics;
use crate::state::{Mm, Pages, Process, State, Sysfs, MAX_VMAS};
use crate::thp::{self, Tva};

/// A write to every page of slot `v` by its own process (a `touch`, or
/// `populate_vma_page_range` writing to break COW): a fault where nothing
/// is mapped, a COW copy (or a reuse) where a fork write-protected it.
pub fn write_all(sem: &Semantics, sysfs: Sysfs, p: &mut Process, v: usize) {
    let mm = &mut p.mm;
    let Some(flags) = mm.vmas[v].flags else { return };
    let pages = match mm.vmas[v].pages {
        // do_huge_zero_wp_pmd (6.18): a huge page in place of the huge zero
        // page, whatever THP allows by now.
        Pages::HugeZero if sem.huge_zero_wp_allocates => {
            mm.vmas[v].ghost.set(VmaGhost::HUGE_BY_OWN_FAULT, true);
            made_huge(p, v);
            return;
        }
        // do_huge_pmd_anonymous_page when allowed (it registers the mm),
        // else do_anonymous_page.
        Pages::None | Pages::Zapped if thp::allowable(Tva::PageFault, sysfs, flags, mm.flags) => {
            mm.vmas[v].pages = Pages::Huge;
            register(sysfs, mm, v);
            mm.vmas[v].ghost.set(VmaGhost::HUGE_BY_OWN_FAULT, true);
            made_huge(p, v);
            return;
        }
        // Page tables are there (zapped or zero-page ones), or the huge
        // zero page is split (up to 6.12): small pages.
        Pages::None | Pages::Zapped | Pages::ZappedTables | Pages::ZeroTables | Pages::HugeZero => {
            Pages::Small
        }
        // wp_page_copy or reuse: writable small pages of its own.
        Pages::Small | Pages::SmallRo | Pages::SmallShared => Pages::Small,
        // do_huge_pmd_wp_page: the only mapper reuses the huge page ...
        Pages::Huge => Pages::Huge,
        // ... another mapper means split the PMD and copy page by page.
        Pages::HugeShared => Pages::Small,
    };
    mm.vmas[v].pages = pages;
}

/// Slot `v` of `p` gets huge pages it did not have.
fn made_huge(p: &mut Process, v: usize) {
    p.mm.vmas[v].pages = Pages::Huge;
    if p.mm.flags.contains(MmfFlags::MMF_DISABLE_THP_COMPLETELY) {
        p.ghost.set(Ghost::HUGE_WHILE_DISABLED, true);
    }
}

/// `touch(v)`: the process writes every byte of slot `v`. On an unmapped
/// or read-only slot the write would fault with SIGSEGV; the language
/// answers -EFAULT and changes nothing (the conformance agent checks
/// before it writes).
pub fn touch(sem: &Semantics, sysfs: Sysfs, me: &mut Process, item: Item) -> Ret {
    match item {
        Item::Vma(v) if me.mm.vmas[v as usize].flags.is_some_and(|f| f.contains(VmFlags::VM_WRITE)) => {
            write_all(sem, sysfs, me, v as usize);
            Ret::Val(0)
        }
        _ => Ret::Err(Errno::EFAULT),
    }
}

/// `pages(v)`: what smaps shows backing slot `v`.
pub fn pages(me: &Process, item: Item) -> Ret {
    match item {
        Item::Vma(v) if me.mm.vmas[v as usize].is_mapped() => {
            Ret::Backing(me.mm.vmas[v as usize].pages.backing())
        }
        _ => Ret::Unmapped,
    }
}

/// `populate_vma_page_range` over every mapped slot (mlockall(MCL_CURRENT)
/// without MCL_ONFAULT).
pub fn populate_all(sem: &Semantics, sysfs: Sysfs, p: &mut Process) {
    for v in 0..MAX_VMAS {
        populate(sem, sysfs, p, v);
    }
}

/// `populate_vma_page_range` of slot `v`: a writable slot is written to
/// (to break COW), any other is read (`FOLL_FORCE`). (PROT_READ is not
/// modelled, so a PROT_NONE slot, which the kernel leaves alone, counts as
/// read-only; no alphabet maps one.)
pub fn populate(sem: &Semantics, sysfs: Sysfs, p: &mut Process, v: usize) {
    match p.mm.vmas[v].flags {
        Some(f) if f.contains(VmFlags::VM_WRITE) => write_all(sem, sysfs, p, v),
        Some(_) => read_all(sysfs, &mut p.mm, v),
        None => {}
    }
}

/// A read of every page of slot `v` (populate of a read-only slot): where
/// nothing is mapped, the huge zero page when a huge page is allowed
/// (`do_huge_pmd_anonymous_page`: it prepares the `anon_vma` and registers
/// the mm), else the small zero page in every PTE (`do_anonymous_page`,
/// which needs no `anon_vma`).
fn read_all(sysfs: Sysfs, mm: &mut Mm, v: usize) {
    let Some(flags) = mm.vmas[v].flags else { return };
    mm.vmas[v].pages = match mm.vmas[v].pages {
        Pages::None | Pages::Zapped if thp::allowable(Tva::PageFault, sysfs, flags, mm.flags) => {
            mm.vmas[v].pages = Pages::HugeZero;
            register(sysfs, mm, v);
            return;
        }
        Pages::None => Pages::ZeroTables,
        // Zero-page PTEs in new tables, the anon_vma kept: to a collapse and
        // a zap, the same as emptied tables.
        Pages::Zapped => Pages::ZappedTables,
        other => other,
    };
}

/// Small pages a collapse may take (`hpage_collapse_scan_pmd`): every kernel
/// takes writable ones of the process's own; pages a fork write-protected
/// fail its `writable` check up to 6.12 and not from 6.18 on
/// (`collapse_write_protected`); khugepaged also leaves pages another
/// process still maps (512 shared PTEs > `max_ptes_shared`, 256).
fn collapsible(sem: &Semantics, pages: Pages, khugepaged: bool) -> bool {
    match pages {
        Pages::Small => true,
        Pages::SmallRo => sem.collapse_write_protected,
        Pages::SmallShared => sem.collapse_write_protected && !khugepaged,
        // Page tables of zero-page (or no) PTEs and an anon_vma: no writable
        // PTE, which 6.18 no longer asks for; khugepaged wants at most
        // `max_ptes_none` (511) of them none or zero.
        Pages::ZappedTables => sem.collapse_write_protected && !khugepaged,
        _ => false,
    }
}

/// `MADV_COLLAPSE` on slot `v` (`madvise_collapse`): why it refuses, or
/// `Ok`. Small pages become a huge page of the caller's own.
pub fn collapse(sem: &Semantics, sysfs: Sysfs, p: &mut Process, v: usize) -> Result<(), Errno> {
    let Some(flags) = p.mm.vmas[v].flags else { return Ok(()) };
    if !thp::allowable(Tva::ForcedCollapse, sysfs, flags, p.mm.flags) {
        return Err(Errno::EINVAL);
    }
    match p.mm.vmas[v].pages {
        // SCAN_PMD_MAPPED counts as done (the huge zero page too).
        Pages::Huge | Pages::HugeShared | Pages::HugeZero => Ok(()),
        small if collapsible(sem, small, false) => {
            made_huge(p, v);
            p.mm.vmas[v].ghost.set(VmaGhost::HUGE_BY_OWN_FAULT, false);
            Ok(())
        }
        // SCAN_PMD_NULL (nothing there) or SCAN_PAGE_RO: an error.
        _ => Err(Errno::EINVAL),
    }
}

/// `zap_page_range`: MADV_DONTNEED drops every page of the slot (the
/// `anon_vma` stays). A huge page goes with its PMD; small pages leave
/// their page tables behind unless the kernel reclaims empty ones
/// (`dontneed_frees_page_tables`, 6.18 on).
pub fn zap(sem: &Semantics, mm: &mut Mm, v: usize) {
    let p = mm.vmas[v].pages;
    mm.vmas[v].pages = match p {
        Pages::None => Pages::None,
        // Zero-page PTEs without an anon_vma: their tables go, or stay.
        Pages::ZeroTables if sem.dontneed_frees_page_tables => Pages::None,
        Pages::ZeroTables => Pages::ZeroTables,
        Pages::Small | Pages::SmallRo | Pages::SmallShared | Pages::ZappedTables
            if !sem.dontneed_frees_page_tables =>
        {
            Pages::ZappedTables
        }
        _ => Pages::Zapped,
    };
}

/// `khugepaged_enter_vma()` for slot `v`: registers the mm with khugepaged
/// when khugepaged runs at all and could collapse the VMA (which needs an
/// `anon_vma`: a VMA never faulted in does not count).
pub fn register(sysfs: Sysfs, mm: &mut Mm, v: usize) {
    let Some(flags) = mm.vmas[v].flags else { return };
    let can = thp::khugepaged_enabled(sysfs)
        && mm.vmas[v].pages.has_anon_vma()
        && thp::allowable(Tva::Khugepaged, sysfs, flags, mm.flags);
    if can {
        mm.flags = mm.flags | MmfFlags::MMF_VM_HUGEPAGE;
    }
}

/// A slot's pages once a fork shared them: the parent and the child map
/// the same pages, write-protected (`copy_present_pte`, `copy_huge_pmd`).
pub fn shared(p: Pages) -> Pages {
    match p {
        Pages::Small | Pages::SmallRo | Pages::SmallShared => Pages::SmallShared,
        Pages::Huge | Pages::HugeShared => Pages::HugeShared,
        other => other,
    }
}

/// What a fork child's copy of a slot maps (`copy_page_range`): the
/// parent's pages, shared; but no page tables where the VMA has no
/// `anon_vma` (`vma_needs_copy`: a fault will fill them).
pub fn copied_to_child(p: Pages) -> Pages {
    match p {
        Pages::ZeroTables => Pages::None,
        p => shared(p),
    }
}

/// Whether a fork shares this VMA's pages with the child: not when the
/// child gets no VMA (VM_DONTCOPY) or an empty one (VM_WIPEONFORK, whose
/// pages `copy_page_range` skips, leaving the parent's its own).
pub fn shared_by_fork(flags: VmFlags) -> bool {
    !flags.intersects(VmFlags::VM_DONTCOPY | VmFlags::VM_WIPEONFORK)
}

/// Pages no other live process maps any more are the last mapper's own:
/// a huge page is reused by its next write, write-protected small pages
/// too. (With at most three processes, the processes whose slot `v` is
/// shared all map the same pages: two groups of sharers would need four.)
pub fn unshare_lone(s: &mut State) {
    for v in 0..MAX_VMAS {
        for kind in [Pages::SmallShared, Pages::HugeShared] {
            // One mapper per mm: tasks that share an mm count once.
            let mut sharers = s
                .procs
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.as_ref().filter(|p| p.link.mm == 0 || p.link.mm as usize == i + 1))
                .filter(|p| p.mm.vmas[v].pages == kind);
            if let (Some(_), None) = (sharers.next(), sharers.next()) {
                for p in s.procs.iter_mut().flatten() {
                    if p.mm.vmas[v].pages == kind {
                        p.mm.vmas[v].pages = kind.unshared();
                    }
                }
            }
        }
    }
}

/// Whether a step that made `before` into `after` (`None`: the process is
/// gone) let go of pages it shared with another process, so that another
/// may now be their only mapper (`unshare_lone` must look at the state).
pub fn lets_go_of_shared(before: &Process, after: Option<&Process>) -> bool {
    (0..MAX_VMAS).any(|v| {
        let was = before.mm.vmas[v].pages;
        was.is_shared() && after.is_none_or(|a| a.mm.vmas[v].pages != was || !a.mm.vmas[v].is_mapped())
    })
}

/// A full scan of khugepaged: every registered mm not disabled completely
/// (`hpage_collapse_test_exit_or_disable`), every VMA it may collapse
/// (`Tva::Khugepaged`), every PMD range of small pages it may take.
pub fn khugepaged(sem: &Semantics, sysfs: Sysfs, s: &mut State) -> Ret {
    if thp::khugepaged_enabled(sysfs) {
        for p in s.procs.iter_mut().flatten() {
            if !scanned(p) {
                continue;
            }
            for v in 0..MAX_VMAS {
                let Some(flags) = p.mm.vmas[v].flags else { continue };
                let allowed = thp::allowable(Tva::Khugepaged, sysfs, flags, p.mm.flags);
                if allowed && collapsible(sem, p.mm.vmas[v].pages, true) {
                    made_huge(p, v);
                    p.mm.vmas[v].ghost.set(VmaGhost::HUGE_BY_OWN_FAULT, false);
                }
            }
        }
    }
    Ret::Val(0)
}

/// khugepaged scans this process's mm.
fn scanned(p: &Process) -> bool {
    p.mm.flags.contains(MmfFlags::MMF_VM_HUGEPAGE)
        && !p.mm.flags.contains(MmfFlags::MMF_DISABLE_THP_COMPLETELY)
}

/// What no longer holds once pages change: a slot without huge pages has
/// none from its own fault.
#[inline]
pub fn normalize(p: &mut Process) {
    for vma in p.mm.vmas.iter_mut() {
        if !vma.pages.is_huge() {
            vma.ghost.set(VmaGhost::HUGE_BY_OWN_FAULT, false);
        }
    }
}
