//! kernel/sys.c and include/linux/mman.h: MDWE, memory-deny-write-execute
//! (`PR_SET_MDWE`, 6.3; `PR_MDWE_NO_INHERIT`, 6.7). Once set it cannot be
//! unset; a new mm (fork or exec) keeps it, unless NO_INHERIT was set too
//! (`mmf_init_legacy_flags`, in syscalls/task.rs).

use super::defaults::{note_set, Setter};
use crate::action::{Errno, MdweBits, Ret};
use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, Setting};
use crate::semantics::Semantics;
use crate::state::{Mm, Process};

const REFUSE: MdweBits = MdweBits::PR_MDWE_REFUSE_EXEC_GAIN;
const NO_INHERIT: MdweBits = MdweBits::PR_MDWE_NO_INHERIT;

/// `prctl(PR_SET_MDWE, bits)` (`prctl_set_mdwe`): unknown bits, and
/// NO_INHERIT without REFUSE_EXEC_GAIN, are -EINVAL; any change once some
/// bit is set is -EPERM; the same bits again, or 0 while unset, succeed.
/// No privilege is needed.
pub fn set_mdwe(sem: &Semantics, me: &mut Process, bits: MdweBits) -> Ret {
    if !sem.mdwe {
        return Ret::Err(Errno::EINVAL);
    }
    me.ghost.set(Ghost::EXEC_FRESH, false);
    if bits.0 & !REFUSE.union(NO_INHERIT).0 != 0 || (bits.contains(NO_INHERIT) && !bits.contains(REFUSE)) {
        return Ret::Err(Errno::EINVAL);
    }
    let current = current_bits(&me.mm);
    if !current.is_empty() && current != bits {
        return Ret::Err(Errno::EPERM);
    }
    if bits.contains(REFUSE) {
        let no_inherit =
            if bits.contains(NO_INHERIT) { MmfFlags::MMF_HAS_MDWE_NO_INHERIT } else { MmfFlags::EMPTY };
        me.mm.flags = me.mm.flags | MmfFlags::MMF_HAS_MDWE | no_inherit;
        note_set(me, Setting::Mdwe, Setter::of(me, true));
        me.ghost.set(Ghost::MDWE_INHERITED, !bits.contains(NO_INHERIT));
    }
    Ret::Val(0)
}

/// `prctl(PR_GET_MDWE)` (`get_current_mdwe`).
pub fn get_mdwe(sem: &Semantics, me: &Process) -> Ret {
    if !sem.mdwe {
        return Ret::Err(Errno::EINVAL);
    }
    Ret::Val(current_bits(&me.mm).0 as i64)
}

fn current_bits(mm: &Mm) -> MdweBits {
    let mut b = MdweBits(0);
    if mm.flags.contains(MmfFlags::MMF_HAS_MDWE) {
        b = b | REFUSE;
    }
    if mm.flags.contains(MmfFlags::MMF_HAS_MDWE_NO_INHERIT) {
        b = b | NO_INHERIT;
    }
    b
}

/// `map_deny_write_exec(old, new)`: under MDWE a mapping may not become
/// writable and executable, nor executable when it was not (a new mapping
/// passes its own flags as both).
pub fn deny_write_exec(mm: &Mm, old: VmFlags, new: VmFlags) -> bool {
    mm.flags.contains(MmfFlags::MMF_HAS_MDWE)
        && (new.contains(VmFlags::VM_WRITE.union(VmFlags::VM_EXEC))
            || (new.contains(VmFlags::VM_EXEC) && !old.contains(VmFlags::VM_EXEC)))
}
