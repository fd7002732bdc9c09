//! Usama Arif v3 (19 May 2025): `prctl(PR_SET_THP_POLICY, ...)` with
//! `PR_DEFAULT_MADV_HUGEPAGE`, `PR_DEFAULT_MADV_NOHUGEPAGE` and
//! `PR_THP_POLICY_SYSTEM`. The default lives in `def_flags` (the spec widens
//! `VM_INIT_DEF_MASK` to keep it across fork and exec) and the HUGEPAGE and
//! NOHUGEPAGE policies also madvise every existing VMA.
//!
//! As posted: the intended -EPERM under sysfs `never` is overwritten before
//! it is returned, so it is not modelled; `PR_GET_THP_POLICY` returns the
//! policy value matching `def_flags` (2 when neither bit is set).

use crate::action::{Advice, Call, Errno, Ret, ThpPolicy, PR_GET_THP_PROPOSED, PR_SET_THP_PROPOSED};
use crate::flags::MmfFlags;
use crate::flags::VmFlags;
use crate::ghost::Ghost;
use crate::semantics::{Semantics, Variant};
use crate::state::{Process, Sysfs};
use crate::syscalls::defaults::{clear_default, set_default, Setter};
use crate::syscalls::{behavior, walk, Errors, Naming};

#[derive(Debug)]
pub struct PrctlThpPolicy;

/// hugepage_madvise() on every VMA: process-wide, so it names no VMA.
fn advise_every_vma(sem: &Semantics, sysfs: Sysfs, me: &mut Process, advice: Advice) {
    let b = behavior(advice).expect("THP advice is in the table");
    let naming = Naming { owner: true, named: false, prctl: true };
    let _ = walk(sem, sysfs, me, None, b, naming, Errors { skip: false, on_unmapped: false });
}

fn set_policy(sem: &Semantics, sysfs: Sysfs, me: &mut Process, policy: ThpPolicy) -> Ret {
    me.ghost.set(Ghost::EXEC_FRESH, false);
    let by = Setter::of(me, true);
    let (value, advice) = match policy {
        ThpPolicy::PR_DEFAULT_MADV_HUGEPAGE => (VmFlags::VM_HUGEPAGE, Advice::Hugepage),
        ThpPolicy::PR_DEFAULT_MADV_NOHUGEPAGE => (VmFlags::VM_NOHUGEPAGE, Advice::Nohugepage),
        ThpPolicy::PR_THP_POLICY_SYSTEM => {
            clear_default(me, VmFlags::THP_MASK);
            return Ret::Val(0);
        }
        _ => return Ret::Err(Errno::EINVAL),
    };
    set_default(sem, me, value, MmfFlags::EMPTY, by, true);
    advise_every_vma(sem, sysfs, me, advice);
    Ret::Val(0)
}

fn get_policy(me: &Process) -> Ret {
    let d = me.mm.def_flags;
    let p = if d.contains(VmFlags::VM_HUGEPAGE) {
        ThpPolicy::PR_DEFAULT_MADV_HUGEPAGE
    } else if d.contains(VmFlags::VM_NOHUGEPAGE) {
        ThpPolicy::PR_DEFAULT_MADV_NOHUGEPAGE
    } else {
        ThpPolicy::PR_THP_POLICY_SYSTEM
    };
    Ret::Val(p.0 as i64)
}

impl Variant for PrctlThpPolicy {
    fn name(&self) -> &'static str {
        "prctl-thp-policy"
    }

    fn extra_calls(&self, _vmas: usize, _procs: usize) -> Vec<Call> {
        [
            ThpPolicy::PR_DEFAULT_MADV_HUGEPAGE,
            ThpPolicy::PR_DEFAULT_MADV_NOHUGEPAGE,
            ThpPolicy::PR_THP_POLICY_SYSTEM,
            ThpPolicy(3),
        ]
        .into_iter()
        .map(Call::PrctlSetThpPolicy)
        .collect()
    }

    /// PR_SET_THP_POLICY (78) and PR_GET_THP_POLICY (79), as posted.
    fn prctl(&self, sem: &Semantics, sysfs: Sysfs, me: &mut Process, option: u32, arg2: u32) -> Option<Ret> {
        match option {
            PR_SET_THP_PROPOSED => Some(set_policy(sem, sysfs, me, ThpPolicy(arg2))),
            PR_GET_THP_PROPOSED => Some(get_policy(me)),
            _ => None,
        }
    }
}
