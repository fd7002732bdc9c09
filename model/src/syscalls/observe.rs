//! What /proc shows: smaps `VmFlags` and `THPeligible`, status `THP_enabled`.
//! Observations read the state and never change it.

use crate::action::{Item, Ret};
use crate::semantics::Semantics;
use crate::state::{Process, Sysfs};
use crate::thp;

fn vma_flags(me: &Process, item: Item) -> Option<crate::flags::VmFlags> {
    match item {
        Item::Vma(n) => me.mm.vma(n as usize),
        Item::Hole => None,
    }
}

/// `vmflags(v)`: the modelled flags smaps has a mnemonic for, or `unmapped`.
pub fn vmflags(sem: &Semantics, me: &Process, item: Item) -> Ret {
    vma_flags(me, item).map_or(Ret::Unmapped, |f| Ret::Flags(f.intersection(sem.smaps_vm_flags)))
}

/// `thp_eligible(v)`: smaps `THPeligible`, or `unmapped`.
pub fn thp_eligible(sysfs: Sysfs, me: &Process, item: Item) -> Ret {
    vma_flags(me, item).map_or(Ret::Unmapped, |f| Ret::Val(thp::thp_eligible(sysfs, f, me.mm.flags) as i64))
}

/// `thp_enabled()`: `/proc/PID/status` `THP_enabled`.
pub fn thp_enabled(me: &Process) -> Ret {
    Ret::Val(thp::thp_enabled(me.mm.flags) as i64)
}
