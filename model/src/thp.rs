//! THP eligibility of an anonymous VMA: what smaps shows as `THPeligible`.
//!
//! Two tables, read top to bottom like the kernel code they mirror:
//! the sysfs gate of `__thp_vma_allowable_orders()` (which anon "inherit"
//! orders the top-level `enabled` mode allows) and the precedence list of
//! `vma_thp_disabled()` (include/linux/huge_mm.h, v6.18). Geometry is not a
//! factor: every modelled VMA is 4 MiB and 2 MiB-aligned.

use crate::flags::{MmfFlags, VmFlags};
use crate::state::Sysfs;

/// A row of `vma_thp_disabled()`: the first row whose condition holds decides.
struct DisabledRule {
    vma_has: VmFlags,
    mm_has: MmfFlags,
    disabled: bool,
}

const VMA_THP_DISABLED: [DisabledRule; 5] = [
    // VM_NOHUGEPAGE always wins (MADV_COLLAPSE is refused too).
    DisabledRule { vma_has: VmFlags::VM_NOHUGEPAGE, mm_has: MmfFlags::EMPTY, disabled: true },
    // prctl(PR_SET_THP_DISABLE, 1, 0): nothing, whatever the VMA says.
    DisabledRule { vma_has: VmFlags::EMPTY, mm_has: MmfFlags::MMF_DISABLE_THP_COMPLETELY, disabled: true },
    // An advised VMA is not disabled by EXCEPT_ADVISED.
    DisabledRule { vma_has: VmFlags::VM_HUGEPAGE, mm_has: MmfFlags::EMPTY, disabled: false },
    // prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED).
    DisabledRule {
        vma_has: VmFlags::EMPTY,
        mm_has: MmfFlags::MMF_DISABLE_THP_EXCEPT_ADVISED,
        disabled: true,
    },
    DisabledRule { vma_has: VmFlags::EMPTY, mm_has: MmfFlags::EMPTY, disabled: false },
];

/// `vma_thp_disabled(vma, vm_flags, forced_collapse = false)`.
#[inline]
pub fn vma_thp_disabled(vma: VmFlags, mm: MmfFlags) -> bool {
    VMA_THP_DISABLED
        .iter()
        .find(|r| vma.contains(r.vma_has) && mm.contains(r.mm_has))
        .is_some_and(|r| r.disabled)
}

/// The sysfs gate: does the top-level mode allow the PMD ("inherit") order?
/// `never` allows nothing, `madvise` only VM_HUGEPAGE VMAs, `always` all.
#[inline]
pub fn sysfs_allows(mode: Sysfs, vma: VmFlags) -> bool {
    match mode {
        Sysfs::Never => false,
        Sysfs::Madvise => vma.contains(VmFlags::VM_HUGEPAGE),
        Sysfs::Always => true,
    }
}

/// The mode the gate applies: the system's, unless the mm carries Usama
/// Arif v1's `MMF_THP_ALWAYS`, which acts "exactly as if the global policy
/// were always" (even over `never`).
#[inline]
pub fn effective_mode(sysfs: Sysfs, mm: MmfFlags) -> Sysfs {
    if mm.contains(MmfFlags::MMF_THP_ALWAYS) {
        Sysfs::Always
    } else {
        sysfs
    }
}

/// smaps `THPeligible` for a mapped anonymous VMA.
#[inline]
pub fn thp_eligible(sysfs: Sysfs, vma: VmFlags, mm: MmfFlags) -> bool {
    sysfs_allows(effective_mode(sysfs, mm), vma) && !vma_thp_disabled(vma, mm)
}

/// Who asks `thp_vma_allowable_orders()` (the kernel's `enum tva_type`):
/// the answer is the same table for each, with what each one skips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tva {
    /// smaps `THPeligible` and a page fault: the sysfs gate and
    /// `vma_thp_disabled()`.
    PageFault,
    /// khugepaged's scan and its registration (`khugepaged_enter_vma`):
    /// the same rules as a fault.
    Khugepaged,
    /// `MADV_COLLAPSE`: ignores the sysfs mode; `vma_thp_disabled(...,
    /// forced_collapse = true)` lets EXCEPT_ADVISED through on any VMA
    /// (v6.18, 8cdc4d27019356b0) but still refuses VM_NOHUGEPAGE and
    /// MMF_DISABLE_THP_COMPLETELY.
    ForcedCollapse,
}

/// Whether a PMD-sized THP may back a VMA with these flags in this mm.
#[inline]
pub fn allowable(tva: Tva, sysfs: Sysfs, vma: VmFlags, mm: MmfFlags) -> bool {
    match tva {
        Tva::PageFault | Tva::Khugepaged => thp_eligible(sysfs, vma, mm),
        Tva::ForcedCollapse => {
            let forced = mm.difference(MmfFlags::MMF_DISABLE_THP_EXCEPT_ADVISED);
            !vma_thp_disabled(vma, forced)
        }
    }
}

/// `hugepage_pmd_enabled()`: khugepaged runs (and an mm can be registered)
/// only while the PMD size is enabled at all.
#[inline]
pub fn khugepaged_enabled(sysfs: Sysfs) -> bool {
    sysfs != Sysfs::Never
}

/// `/proc/PID/status` `THP_enabled`: only "not completely disabled".
pub fn thp_enabled(mm: MmfFlags) -> bool {
    !mm.contains(MmfFlags::MMF_DISABLE_THP_COMPLETELY)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The observed matrix of docs/kernel-semantics.md 6 (plain, hg, nh VMA).
    #[test]
    fn matches_the_observed_matrix() {
        let none = MmfFlags::EMPTY;
        let c = MmfFlags::MMF_DISABLE_THP_COMPLETELY;
        let e = MmfFlags::MMF_DISABLE_THP_EXCEPT_ADVISED;
        let (plain, hg, nh) = (VmFlags::EMPTY, VmFlags::VM_HUGEPAGE, VmFlags::VM_NOHUGEPAGE);
        let rows = [
            (Sysfs::Always, none, [true, true, false]),
            (Sysfs::Always, c, [false, false, false]),
            (Sysfs::Always, e, [false, true, false]),
            (Sysfs::Madvise, none, [false, true, false]),
            (Sysfs::Madvise, c, [false, false, false]),
            (Sysfs::Madvise, e, [false, true, false]),
            (Sysfs::Never, none, [false, false, false]),
            (Sysfs::Never, c, [false, false, false]),
            (Sysfs::Never, e, [false, false, false]),
        ];
        for (mode, mm, want) in rows {
            let got = [plain, hg, nh].map(|v| thp_eligible(mode, v, mm));
            assert_eq!(got, want, "sysfs={mode} mm={mm}");
        }
        assert!(thp_enabled(e) && thp_enabled(none) && !thp_enabled(c));
    }

    #[test]
    fn locked_hugepage_vma_stays_eligible() {
        let f = VmFlags::VM_HUGEPAGE | VmFlags::VM_LOCKED;
        assert!(thp_eligible(Sysfs::Madvise, f, MmfFlags::EMPTY));
    }
}
