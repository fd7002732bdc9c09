//! mm/madvise.c: the behaviour table (`madvise_behavior_valid`,
//! `process_madvise_remote_valid`, what `madvise_vma_behavior` does to the
//! flags) and the one range walk, `madvise_walk_vmas`, with its
//! partial-progress rule.

use super::pages;
use crate::action::{Advice, Errno, Item, Range, Ret};
use crate::flags::VmFlags;
use crate::ghost::{Ghost, VmaGhost};
use crate::semantics::Semantics;
use crate::state::{Process, Sysfs, Vma, MAX_VMAS};

/// What one advice does to one VMA.
#[derive(Clone, Copy, Debug)]
pub struct Behavior {
    pub advice: Advice,
    /// Allowed on another process's mm (`process_madvise_remote_valid`).
    pub remote: bool,
    pub set: VmFlags,
    pub clear: VmFlags,
    /// The VMA-level -EINVAL: refused on a VMA with any of these flags
    /// (`can_madv_lru_vma`, `madvise_dontneed_free_valid_vma`: VM_LOCKED).
    pub refuse: VmFlags,
    /// What it does to the pages.
    pub pages: PageOp,
}

/// What an advice does to the pages of a VMA it is applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageOp {
    Keep,
    /// `zap_page_range`: MADV_DONTNEED.
    Zap,
    /// `madvise_collapse`, which can refuse the VMA (-EINVAL).
    Collapse,
}

const NONE: VmFlags = VmFlags::EMPTY;
const HG: VmFlags = VmFlags::VM_HUGEPAGE;
const NH: VmFlags = VmFlags::VM_NOHUGEPAGE;
const DC: VmFlags = VmFlags::VM_DONTCOPY;
const WF: VmFlags = VmFlags::VM_WIPEONFORK;
const LO: VmFlags = VmFlags::VM_LOCKED;
const MG: VmFlags = VmFlags::VM_MERGEABLE;

/// Every advice the model knows. Anything else is -EINVAL (`madvise_behavior_valid`).
/// The modelled VMAs are private anonymous, so WIPEONFORK's file/shared
/// refusal and DOFORK's VM_IO refusal never apply.
pub const BEHAVIORS: [Behavior; 13] = [
    Behavior {
        advice: Advice::Hugepage,
        remote: false,
        set: HG,
        clear: NH,
        refuse: NONE,
        pages: PageOp::Keep,
    },
    Behavior {
        advice: Advice::Nohugepage,
        remote: false,
        set: NH,
        clear: HG,
        refuse: NONE,
        pages: PageOp::Keep,
    },
    Behavior {
        advice: Advice::Dontfork,
        remote: false,
        set: DC,
        clear: NONE,
        refuse: NONE,
        pages: PageOp::Keep,
    },
    Behavior {
        advice: Advice::Dofork,
        remote: false,
        set: NONE,
        clear: DC,
        refuse: NONE,
        pages: PageOp::Keep,
    },
    Behavior {
        advice: Advice::Wipeonfork,
        remote: false,
        set: WF,
        clear: NONE,
        refuse: NONE,
        pages: PageOp::Keep,
    },
    Behavior {
        advice: Advice::Keeponfork,
        remote: false,
        set: NONE,
        clear: WF,
        refuse: NONE,
        pages: PageOp::Keep,
    },
    // ksm_madvise: KSM may merge the VMA (every modelled VMA is
    // ksm_compatible); merge-any stays as it is.
    Behavior {
        advice: Advice::Mergeable,
        remote: false,
        set: MG,
        clear: NONE,
        refuse: NONE,
        pages: PageOp::Keep,
    },
    Behavior {
        advice: Advice::Unmergeable,
        remote: false,
        set: NONE,
        clear: MG,
        refuse: NONE,
        pages: PageOp::Keep,
    },
    Behavior { advice: Advice::Cold, remote: true, set: NONE, clear: NONE, refuse: LO, pages: PageOp::Keep },
    Behavior {
        advice: Advice::Pageout,
        remote: true,
        set: NONE,
        clear: NONE,
        refuse: LO,
        pages: PageOp::Keep,
    },
    Behavior {
        advice: Advice::Willneed,
        remote: true,
        set: NONE,
        clear: NONE,
        refuse: NONE,
        pages: PageOp::Keep,
    },
    Behavior {
        advice: Advice::Dontneed,
        remote: false,
        set: NONE,
        clear: NONE,
        refuse: LO,
        pages: PageOp::Zap,
    },
    Behavior {
        advice: Advice::Collapse,
        remote: true,
        set: NONE,
        clear: NONE,
        refuse: NONE,
        pages: PageOp::Collapse,
    },
];

pub fn behavior(advice: Advice) -> Option<&'static Behavior> {
    BEHAVIORS.iter().find(|b| b.advice == advice)
}

/// Who is advising a VMA, for the ghost bits the properties read.
#[derive(Clone, Copy, Debug)]
pub struct Naming {
    /// The mm's own process is advising.
    pub owner: bool,
    /// The call names this range (a process-wide call does not).
    pub named: bool,
    /// The call is a prctl (for `prctl_only_reduces_eligibility`).
    pub prctl: bool,
}

impl Naming {
    pub const OWN: Naming = Naming { owner: true, named: true, prctl: false };
}

/// How a walk treats errors: mainline reports holes and stops at a VMA
/// error; the seed RFC's `PMADV_SKIP_ERRORS` / `PMADV_NO_ERROR_ON_UNMAPPED`
/// change that.
#[derive(Clone, Copy, Debug)]
pub struct Errors {
    pub skip: bool,
    pub on_unmapped: bool,
}

impl Errors {
    pub const MAINLINE: Errors = Errors { skip: false, on_unmapped: true };
}

/// What a walk returned, and whether it skipped a VMA error (RFC `saw_error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Walked {
    pub ret: Result<(), Errno>,
    pub saw_error: bool,
}

/// Applies `b` to one mapped VMA, keeping the ghost bits honest.
fn advise_vma(vma: &mut Vma, flags: VmFlags, b: &Behavior, naming: Naming) {
    let after = flags.difference(b.clear).union(b.set);
    vma.flags = Some(after);
    if naming.named {
        let opted_out = naming.owner && b.advice == Advice::Nohugepage;
        vma.ghost.set(VmaGhost::OPTED_OUT, opted_out);
    }
    if !after.contains(HG) {
        vma.ghost.set(VmaGhost::RAISED_BY_PRCTL, false);
    } else if !flags.contains(HG) || (b.set.contains(HG) && !naming.prctl) {
        vma.ghost.set(VmaGhost::RAISED_BY_PRCTL, naming.prctl);
    }
}

/// `madvise_walk_vmas()`: visits the VMAs of `range` in address order and
/// applies `b` to each. A VMA-level error returns at once (earlier VMAs keep
/// their change: the call is not atomic) unless errors are skipped; gaps are
/// remembered and reported as -ENOMEM once the walk is done (the mapped
/// parts stay changed). `range = None` is the whole address space.
pub fn walk(
    sem: &Semantics,
    sysfs: Sysfs,
    p: &mut Process,
    range: Option<Range>,
    b: &Behavior,
    naming: Naming,
    errors: Errors,
) -> Walked {
    let (first, last, mut unmapped) = match range {
        Some(Range::One(Item::Hole)) => (1, 0, true),
        Some(Range::One(Item::Vma(n))) => (n as usize, n as usize, false),
        // The 4 MiB gap between neighbouring slots is always unmapped.
        Some(Range::Run(a, z)) => (a as usize, z as usize, true),
        None => (0, MAX_VMAS - 1, true),
    };
    let mut saw_error = false;
    for slot in first..=last.min(MAX_VMAS - 1) {
        let Some(flags) = p.mm.vmas[slot].flags else {
            unmapped = true;
            continue;
        };
        let refused = flags.intersects(b.refuse)
            || (b.pages == PageOp::Collapse && pages::collapse(sem, sysfs, p, slot).is_err());
        if refused {
            if errors.skip {
                saw_error = true;
                continue;
            }
            return Walked { ret: Err(Errno::EINVAL), saw_error };
        }
        advise_vma(&mut p.mm.vmas[slot], flags, b, naming);
        if b.pages == PageOp::Zap {
            pages::zap(sem, &mut p.mm, slot);
        }
        // hugepage_madvise() → khugepaged_enter_vma() on the new flags.
        if b.set.contains(HG) {
            pages::register(sysfs, &mut p.mm, slot);
        }
    }
    let ret = if unmapped && errors.on_unmapped { Err(Errno::ENOMEM) } else { Ok(()) };
    Walked { ret, saw_error }
}

/// `madvise(2)` on the caller's own mm.
pub fn madvise(sem: &Semantics, sysfs: Sysfs, me: &mut Process, range: Range, advice: Advice) -> Ret {
    me.ghost.set(Ghost::EXEC_FRESH, false);
    let Some(b) = behavior(advice) else {
        return Ret::Err(Errno::EINVAL);
    };
    match walk(sem, sysfs, me, Some(range), b, Naming::OWN, Errors::MAINLINE).ret {
        Ok(()) => Ret::Val(0),
        Err(e) => Ret::Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mm(slots: [Option<VmFlags>; 2]) -> Process {
        let mut m = Process::INIT;
        for (i, s) in slots.iter().enumerate() {
            m.mm.vmas[i] = s.map(Vma::mapped).unwrap_or(Vma::UNMAPPED);
        }
        m
    }

    const M: Sysfs = Sysfs::Madvise;

    fn b(a: Advice) -> &'static Behavior {
        behavior(a).unwrap()
    }

    #[test]
    fn hugepage_and_nohugepage_exclude_each_other() {
        let mut m = mm([Some(NONE), None]);
        let one = Some(Range::One(Item::Vma(0)));
        walk(&Semantics::mainline(), M, &mut m, one, b(Advice::Hugepage), Naming::OWN, Errors::MAINLINE)
            .ret
            .unwrap();
        assert_eq!(m.mm.vma(0), Some(HG));
        walk(&Semantics::mainline(), M, &mut m, one, b(Advice::Nohugepage), Naming::OWN, Errors::MAINLINE)
            .ret
            .unwrap();
        assert_eq!(m.mm.vma(0), Some(NH));
        assert!(m.mm.vmas[0].ghost.contains(VmaGhost::OPTED_OUT));
    }

    #[test]
    fn a_run_advises_the_mapped_parts_then_reports_enomem() {
        let mut m = mm([Some(NONE), Some(NONE)]);
        let r = walk(
            &Semantics::mainline(),
            M,
            &mut m,
            Some(Range::Run(0, 1)),
            b(Advice::Hugepage),
            Naming::OWN,
            Errors::MAINLINE,
        );
        assert_eq!(r.ret, Err(Errno::ENOMEM));
        assert_eq!((m.mm.vma(0), m.mm.vma(1)), (Some(HG), Some(HG)));
    }

    #[test]
    fn a_locked_vma_stops_the_walk_unless_errors_are_skipped() {
        let mut m = mm([Some(LO), Some(NONE)]);
        let run = Some(Range::Run(0, 1));
        let r = walk(&Semantics::mainline(), M, &mut m, run, b(Advice::Cold), Naming::OWN, Errors::MAINLINE);
        assert_eq!(r.ret, Err(Errno::EINVAL));
        let skip = Errors { skip: true, on_unmapped: false };
        let r = walk(&Semantics::mainline(), M, &mut m, run, b(Advice::Cold), Naming::OWN, skip);
        assert_eq!(r, Walked { ret: Ok(()), saw_error: true });
    }

    #[test]
    fn a_process_wide_walk_does_not_name_the_vma() {
        let mut m = mm([Some(NONE), None]);
        walk(
            &Semantics::mainline(),
            M,
            &mut m,
            Some(Range::One(Item::Vma(0))),
            b(Advice::Nohugepage),
            Naming::OWN,
            Errors::MAINLINE,
        );
        let wide = Naming { owner: true, named: false, prctl: true };
        walk(&Semantics::mainline(), M, &mut m, None, b(Advice::Hugepage), wide, Errors::MAINLINE);
        assert_eq!(m.mm.vma(0), Some(HG));
        assert!(m.mm.vmas[0].ghost.contains(VmaGhost::OPTED_OUT));
        assert!(m.mm.vmas[0].ghost.contains(VmaGhost::RAISED_BY_PRCTL));
    }
}
