//! Usama Arif v1 (7 May 2025): `prctl(PR_SET_THP_ALWAYS, arg2)` sets or
//! clears `MMF_THP_ALWAYS`, which makes the THP decision act as if sysfs
//! were `always` (the table in `thp.rs` reads the bit). As posted the bit
//! is not in `MMF_INIT_MASK`, so the spec leaves it out of `mmf_init_mask`:
//! fork and exec drop it.

use crate::action::{Call, Ret, PR_GET_THP_PROPOSED, PR_SET_THP_PROPOSED};
use crate::flags::MmfFlags;
use crate::ghost::{Ghost, Setting};
use crate::semantics::{Semantics, Variant};
use crate::state::{Process, Sysfs};
use crate::syscalls::defaults::{note_set, Setter};

#[derive(Debug)]
pub struct PrctlThpAlways;

impl Variant for PrctlThpAlways {
    fn name(&self) -> &'static str {
        "prctl-thp-always"
    }

    fn extra_calls(&self, _vmas: usize, _procs: usize) -> Vec<Call> {
        vec![Call::PrctlSetThpAlways(1), Call::PrctlSetThpAlways(0)]
    }

    /// PR_SET_THP_ALWAYS (78) and PR_GET_THP_ALWAYS (79), as posted.
    fn prctl(
        &self,
        _sem: &Semantics,
        _sysfs: Sysfs,
        me: &mut Process,
        option: u32,
        arg2: u32,
    ) -> Option<Ret> {
        match option {
            PR_SET_THP_PROPOSED => {
                me.ghost.set(Ghost::EXEC_FRESH, false);
                if arg2 != 0 {
                    me.mm.flags = me.mm.flags | MmfFlags::MMF_THP_ALWAYS;
                    let by = Setter::of(me, true);
                    note_set(me, Setting::ThpAlways, by);
                } else {
                    me.mm.flags = me.mm.flags.difference(MmfFlags::MMF_THP_ALWAYS);
                }
                Some(Ret::Val(0))
            }
            PR_GET_THP_PROPOSED => Some(Ret::Val(me.mm.flags.contains(MmfFlags::MMF_THP_ALWAYS) as i64)),
            _ => None,
        }
    }
}
