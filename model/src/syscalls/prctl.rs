//! kernel/sys.c: `prctl_set_thp_disable` / `prctl_get_thp_disable` (v6.18
//! added `PR_THP_DISABLE_EXCEPT_ADVISED`; `Semantics::thp_disable_flags`
//! says whether a kernel has it) and `PR_SET_NO_NEW_PRIVS`.

use super::defaults::{note_prctl_set, Setter};
use crate::action::{Errno, Ret, ThpDisableFlags};
use crate::flags::MmfFlags;
use crate::ghost::Ghost;
use crate::semantics::Semantics;
use crate::state::Process;

/// `prctl(PR_SET_THP_DISABLE, arg2, flags)`: a three-state machine on the
/// MMF pair. Any nonzero arg2 disables; flags only with a disable; bit 0
/// and bits the kernel does not know (before 6.18: every bit) are -EINVAL.
/// No privilege needed, always reversible.
pub fn set_thp_disable(sem: &Semantics, me: &mut Process, arg2: u32, flags: ThpDisableFlags) -> Ret {
    me.ghost.set(Ghost::EXEC_FRESH, false);
    let except = ThpDisableFlags::PR_THP_DISABLE_EXCEPT_ADVISED;
    if flags.0 & !sem.thp_disable_flags.0 != 0 || (arg2 == 0 && flags.0 != 0) {
        return Ret::Err(Errno::EINVAL);
    }
    let new = match (arg2 != 0, flags.contains(except)) {
        (false, _) => MmfFlags::EMPTY,
        (true, false) => MmfFlags::MMF_DISABLE_THP_COMPLETELY,
        (true, true) => MmfFlags::MMF_DISABLE_THP_EXCEPT_ADVISED,
    };
    let old = me.mm.flags;
    me.mm.flags = old.difference(MmfFlags::MMF_DISABLE_THP_MASK).union(new);
    if !new.is_empty() {
        let by = Setter::of(me, true);
        note_prctl_set(me, by, false);
    }
    Ret::Val(0)
}

/// `prctl(PR_GET_THP_DISABLE)`: 0, 1 (completely) or 3 (1 | EXCEPT_ADVISED).
pub fn get_thp_disable(me: &Process) -> Ret {
    let f = me.mm.flags;
    Ret::Val(if f.contains(MmfFlags::MMF_DISABLE_THP_COMPLETELY) {
        1
    } else if f.contains(MmfFlags::MMF_DISABLE_THP_EXCEPT_ADVISED) {
        1 | ThpDisableFlags::PR_THP_DISABLE_EXCEPT_ADVISED.0 as i64
    } else {
        0
    })
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`; anything but 1 is -EINVAL.
pub fn set_no_new_privs(me: &mut Process, arg2: u32) -> Ret {
    if arg2 != 1 {
        return Ret::Err(Errno::EINVAL);
    }
    me.no_new_privs = true;
    Ret::Val(0)
}
