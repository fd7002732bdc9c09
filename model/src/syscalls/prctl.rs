//! kernel/sys.c: `prctl()` as a table of option numbers, the way the
//! kernel's `switch (option)` is: `PR_SET_THP_DISABLE` /
//! `PR_GET_THP_DISABLE` (v6.18 added `PR_THP_DISABLE_EXCEPT_ADVISED`;
//! `Semantics::thp_disable_flags` says whether a kernel has it),
//! `PR_SET_NO_NEW_PRIVS`, KSM merge-any and MDWE (ksm.rs, mdwe.rs), the options a proposal's module defines, the
//! options a kernel has beyond the model that a proposal's number reaches
//! (`PR_FUTEX_HASH`), and -EINVAL for every other number.

use super::defaults::{note_set, Setter};
use super::{ksm, mdwe};
use crate::action::{
    Errno, MdweBits, Ret, ThpDisableFlags, PR_GET_MDWE, PR_GET_MEMORY_MERGE, PR_GET_THP_DISABLE, PR_SET_MDWE,
    PR_SET_MEMORY_MERGE, PR_SET_NO_NEW_PRIVS, PR_SET_THP_DISABLE,
};
use crate::flags::MmfFlags;
use crate::ghost::{Ghost, Setting};
use crate::semantics::ForeignPrctls;
use crate::semantics::Semantics;
use crate::state::{Process, Sysfs};

/// `prctl(option, arg2, arg3, 0, 0)` by the process `me`.
pub fn call(sem: &Semantics, sysfs: Sysfs, me: &mut Process, option: u32, args: [u32; 2]) -> Ret {
    if let Some(r) = sem.variant.prctl(sem, sysfs, me, option, args[0]) {
        return r;
    }
    match option {
        PR_SET_THP_DISABLE => set_thp_disable(sem, me, args[0], ThpDisableFlags(args[1])),
        PR_GET_THP_DISABLE if args == [0, 0] => get_thp_disable(me),
        PR_SET_NO_NEW_PRIVS if args[1] == 0 => set_no_new_privs(me, args[0]),
        PR_SET_MEMORY_MERGE if args[1] == 0 => ksm::set_memory_merge(sem, me, args[0]),
        PR_GET_MEMORY_MERGE if args == [0, 0] => ksm::get_memory_merge(sem, me),
        PR_SET_MDWE if args[1] == 0 => mdwe::set_mdwe(sem, me, MdweBits(args[0])),
        PR_GET_MDWE if args == [0, 0] => mdwe::get_mdwe(sem, me),
        PR_FUTEX_HASH if sem.foreign_prctls.contains(ForeignPrctls::PR_FUTEX_HASH) => futex_hash(me, args),
        // 7.0's time-slice extension, number 79 like the THP proposals'
        // PR_GET_THP_*: observed -ENOTSUPP for every call on Debian's 7.x
        // kernels, where the extension is not enabled.
        PR_RSEQ_SLICE_EXTENSION if sem.foreign_prctls.contains(ForeignPrctls::PR_RSEQ_SLICE_EXTENSION) => {
            Ret::Err(Errno::ENOTSUPP)
        }
        _ => Ret::Err(Errno::EINVAL),
    }
}

/// `PR_FUTEX_HASH` (6.16, kernel/futex/core.c), number 78 like the THP
/// proposals' PR_SET_THP_ALWAYS and PR_SET_THP_POLICY, so a trace written for
/// those reaches it on a kernel that has it. Modelled only as far as the
/// language reaches it (arg3 = 0), as observed on 6.18: SET_SLOTS (1) with
/// 0 slots picks the global hash once per mm (-EBUSY after that; fork and
/// exec start a new mm), GET_SLOTS (2) reads 0, any other op is -EINVAL.
const PR_FUTEX_HASH: u32 = 78;
const PR_RSEQ_SLICE_EXTENSION: u32 = 79;
const PR_FUTEX_HASH_SET_SLOTS: u32 = 1;
const PR_FUTEX_HASH_GET_SLOTS: u32 = 2;

fn futex_hash(me: &mut Process, args: [u32; 2]) -> Ret {
    match (args[0], args[1]) {
        (PR_FUTEX_HASH_SET_SLOTS, 0) if me.mm.flags.contains(MmfFlags::FUTEX_HASH_CHOSEN) => {
            Ret::Err(Errno::EBUSY)
        }
        (PR_FUTEX_HASH_SET_SLOTS, 0) => {
            me.mm.flags = me.mm.flags | MmfFlags::FUTEX_HASH_CHOSEN;
            Ret::Val(0)
        }
        (PR_FUTEX_HASH_GET_SLOTS, _) => Ret::Val(0),
        _ => Ret::Err(Errno::EINVAL),
    }
}

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
        note_set(me, Setting::ThpDisable, by);
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
