//! mm/madvise.c: the behaviour table (`madvise_behavior_valid`,
//! `process_madvise_remote_valid`, what `madvise_vma_behavior` does to the
//! flags) and the one range walk, `madvise_walk_vmas`, with its
//! partial-progress rule.

use crate::action::{Advice, Errno, Item, Range, Ret};
use crate::flags::VmFlags;
use crate::ghost::{Ghost, VmaGhost};
use crate::state::{Mm, Process, MAX_VMAS};

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
}

const NONE: VmFlags = VmFlags::EMPTY;
const HG: VmFlags = VmFlags::VM_HUGEPAGE;
const NH: VmFlags = VmFlags::VM_NOHUGEPAGE;
const DC: VmFlags = VmFlags::VM_DONTCOPY;
const WF: VmFlags = VmFlags::VM_WIPEONFORK;
const LO: VmFlags = VmFlags::VM_LOCKED;

/// Every advice the model knows. Anything else is -EINVAL (`madvise_behavior_valid`).
/// The modelled VMAs are private anonymous, so WIPEONFORK's file/shared
/// refusal and DOFORK's VM_IO refusal never apply.
pub const BEHAVIORS: [Behavior; 10] = [
    Behavior {
        advice: Advice::Hugepage,
        remote: false,
        set: HG,
        clear: NH,
        refuse: NONE,
    },
    Behavior {
        advice: Advice::Nohugepage,
        remote: false,
        set: NH,
        clear: HG,
        refuse: NONE,
    },
    Behavior {
        advice: Advice::Dontfork,
        remote: false,
        set: DC,
        clear: NONE,
        refuse: NONE,
    },
    Behavior {
        advice: Advice::Dofork,
        remote: false,
        set: NONE,
        clear: DC,
        refuse: NONE,
    },
    Behavior {
        advice: Advice::Wipeonfork,
        remote: false,
        set: WF,
        clear: NONE,
        refuse: NONE,
    },
    Behavior {
        advice: Advice::Keeponfork,
        remote: false,
        set: NONE,
        clear: WF,
        refuse: NONE,
    },
    Behavior {
        advice: Advice::Cold,
        remote: true,
        set: NONE,
        clear: NONE,
        refuse: LO,
    },
    Behavior {
        advice: Advice::Pageout,
        remote: true,
        set: NONE,
        clear: NONE,
        refuse: LO,
    },
    Behavior {
        advice: Advice::Willneed,
        remote: true,
        set: NONE,
        clear: NONE,
        refuse: NONE,
    },
    Behavior {
        advice: Advice::Dontneed,
        remote: false,
        set: NONE,
        clear: NONE,
        refuse: LO,
    },
];

pub fn behavior(advice: Advice) -> Option<&'static Behavior> {
    BEHAVIORS.iter().find(|b| b.advice == advice)
}

/// `madvise_walk_vmas()`: visits the VMAs of `range` in address order and
/// applies `b` to each. A VMA-level error returns at once (earlier VMAs keep
/// their change: the call is not atomic); gaps are remembered and reported
/// as -ENOMEM once the walk is done (the mapped parts stay changed).
/// `by_owner`: the mm's own process is advising (for the opt-out ghost).
pub fn walk(mm: &mut Mm, range: Range, b: &Behavior, by_owner: bool) -> Result<(), Errno> {
    let (first, last, mut unmapped) = match range {
        Range::One(Item::Hole) => return Err(Errno::ENOMEM),
        Range::One(Item::Vma(n)) => (n as usize, n as usize, false),
        // The 4 MiB gap between neighbouring slots is always unmapped.
        Range::Run(a, z) => (a as usize, z as usize, true),
    };
    for slot in first..=last.min(MAX_VMAS - 1) {
        let vma = &mut mm.vmas[slot];
        let Some(flags) = vma.flags else {
            unmapped = true;
            continue;
        };
        if flags.intersects(b.refuse) {
            return Err(Errno::EINVAL);
        }
        vma.flags = Some(flags.difference(b.clear).union(b.set));
        let opted_out = by_owner && b.advice == Advice::Nohugepage;
        vma.ghost = if opted_out {
            VmaGhost::OPTED_OUT
        } else {
            VmaGhost::EMPTY
        };
    }
    if unmapped {
        Err(Errno::ENOMEM)
    } else {
        Ok(())
    }
}

/// `madvise(2)` on the caller's own mm.
pub fn madvise(me: &mut Process, range: Range, advice: Advice) -> Ret {
    me.ghost.set(Ghost::EXEC_FRESH, false);
    let Some(b) = behavior(advice) else {
        return Ret::Err(Errno::EINVAL);
    };
    match walk(&mut me.mm, range, b, true) {
        Ok(()) => Ret::Val(0),
        Err(e) => Ret::Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Vma;

    fn mm(slots: [Option<VmFlags>; 2]) -> Mm {
        let mut m = Mm::INIT;
        for (i, s) in slots.iter().enumerate() {
            m.vmas[i] = s.map(Vma::mapped).unwrap_or(Vma::UNMAPPED);
        }
        m
    }

    #[test]
    fn hugepage_and_nohugepage_exclude_each_other() {
        let mut m = mm([Some(NONE), None]);
        let hg = behavior(Advice::Hugepage).unwrap();
        let nh = behavior(Advice::Nohugepage).unwrap();
        walk(&mut m, Range::One(Item::Vma(0)), hg, true).unwrap();
        assert_eq!(m.vma(0), Some(HG));
        walk(&mut m, Range::One(Item::Vma(0)), nh, true).unwrap();
        assert_eq!(m.vma(0), Some(NH));
    }

    #[test]
    fn a_run_advises_the_mapped_parts_then_reports_enomem() {
        let mut m = mm([Some(NONE), Some(NONE)]);
        let r = walk(
            &mut m,
            Range::Run(0, 1),
            behavior(Advice::Hugepage).unwrap(),
            true,
        );
        assert_eq!(r, Err(Errno::ENOMEM));
        assert_eq!((m.vma(0), m.vma(1)), (Some(HG), Some(HG)));
    }

    #[test]
    fn a_locked_vma_stops_the_walk_with_einval() {
        let mut m = mm([Some(LO), Some(NONE)]);
        let r = walk(
            &mut m,
            Range::Run(0, 1),
            behavior(Advice::Cold).unwrap(),
            false,
        );
        assert_eq!(r, Err(Errno::EINVAL));
    }
}
