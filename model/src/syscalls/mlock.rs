//! mm/mlock.c: `apply_mlockall_flags`. MCL_FUTURE lives in `def_flags`; any
//! mlockall first clears the old "future" state. RLIMIT_MEMLOCK is assumed
//! unlimited (the conformance runner sets it), so no ENOMEM/EAGAIN paths.

use super::pages;
use crate::action::{Errno, MclFlags, Ret};
use crate::flags::VmFlags;
use crate::ghost::Ghost;
use crate::semantics::Semantics;
use crate::state::{Process, Sysfs};

pub fn mlockall(sem: &Semantics, sysfs: Sysfs, me: &mut Process, flags: MclFlags) -> Ret {
    let all = MclFlags::MCL_CURRENT | MclFlags::MCL_FUTURE | MclFlags::MCL_ONFAULT;
    if flags.0 == 0 || flags.0 & !all.0 != 0 || flags == MclFlags::MCL_ONFAULT {
        return Ret::Err(Errno::EINVAL);
    }
    me.ghost.set(Ghost::CALLED_MLOCKALL, true);
    apply_mlockall_flags(me, flags);
    // mm_populate() after locking the current VMAs, unless on fault.
    if flags.contains(MclFlags::MCL_CURRENT) && !flags.contains(MclFlags::MCL_ONFAULT) {
        pages::populate_all(sem, sysfs, me);
    }
    Ret::Val(0)
}

pub fn munlockall(me: &mut Process) -> Ret {
    apply_mlockall_flags(me, MclFlags(0));
    Ret::Val(0)
}

fn apply_mlockall_flags(me: &mut Process, flags: MclFlags) {
    let onfault = flags.contains(MclFlags::MCL_ONFAULT);
    let lock_bits = if onfault { VmFlags::VM_LOCKED_MASK } else { VmFlags::VM_LOCKED };
    let mm = &mut me.mm;
    mm.def_flags = mm.def_flags.difference(VmFlags::VM_LOCKED_MASK);
    if flags.contains(MclFlags::MCL_FUTURE) {
        mm.def_flags = mm.def_flags.union(lock_bits);
        if !flags.contains(MclFlags::MCL_CURRENT) {
            return;
        }
    }
    let to_add = if flags.contains(MclFlags::MCL_CURRENT) { lock_bits } else { VmFlags::EMPTY };
    for vma in mm.vmas.iter_mut() {
        if let Some(f) = vma.flags {
            vma.flags = Some(f.difference(VmFlags::VM_LOCKED_MASK).union(to_add));
        }
    }
}
