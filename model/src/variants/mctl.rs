//! Lorenzo Stoakes' mctl() sketch (29 May 2025): `mctl(pidfd, action, flags)`
//! acts on the whole mm: every VMA and the default for new ones.
//! `MCTL_SET_DEFAULT_EXEC` makes the default persist across fork and exec;
//! it, and any remote pidfd, need CAP_SYS_ADMIN. The sketch leaves the state
//! unspecified; this module keeps the default in `def_flags` with the
//! inherit-on-fork/exec scope bits.

use crate::action::{Advice, Call, Errno, MctlAction, MctlFlags, Ret, Target};
use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::Ghost;
use crate::semantics::{Semantics, Variant};
use crate::state::{Process, State, Sysfs};
use crate::syscalls::defaults::{clear_default, set_default, Setter};
use crate::syscalls::{behavior, walk, Behavior, Errors, Naming, PageOp};

#[derive(Debug)]
pub struct Mctl;

const ACTIONS: [MctlAction; 4] = [
    MctlAction::MCTL_SET_NOHUGEPAGE,
    MctlAction::MCTL_CLEAR_NOHUGEPAGE,
    MctlAction::MCTL_SET_HUGEPAGE,
    MctlAction::MCTL_CLEAR_HUGEPAGE,
];

/// Applies `b` to every VMA of `tp`: a whole-mm call names no VMA.
fn every_vma(sem: &Semantics, sysfs: Sysfs, tp: &mut Process, b: &Behavior, owner: bool) {
    let naming = Naming { owner, named: false, prctl: false };
    let _ = walk(sem, sysfs, tp, None, b, naming, Errors { skip: false, on_unmapped: false });
}

fn mctl(
    sem: &Semantics,
    state: &mut State,
    pid: usize,
    target: Target,
    action: MctlAction,
    flags: MctlFlags,
) -> Ret {
    let Some(me) = state.proc_mut(pid) else { return Ret::Err(Errno::ESRCH) };
    me.ghost.set(Ghost::EXEC_FRESH, false);
    let caller = Setter::of(me, false);
    if flags.0 & !MctlFlags::MCTL_SET_DEFAULT_EXEC.0 != 0 || !ACTIONS.contains(&action) {
        return Ret::Err(Errno::EINVAL);
    }
    let tpid = match target {
        Target::SelfProc => pid,
        Target::Pid(t) => t as usize,
    };
    let persist = flags.contains(MctlFlags::MCTL_SET_DEFAULT_EXEC);
    if (tpid != pid || persist) && !caller.cap_sys_admin {
        return Ret::Err(Errno::EPERM);
    }
    let sysfs = state.sysfs;
    let Some(tp) = state.proc_mut(tpid) else { return Ret::Err(Errno::ESRCH) };
    let scope = if persist {
        MmfFlags::MMF_DEF_INHERIT_FORK | MmfFlags::MMF_DEF_INHERIT_EXEC
    } else {
        MmfFlags::EMPTY
    };
    let owner = tpid == pid;
    let set = |advice| behavior(advice).expect("THP advice is in the table");
    match action {
        MctlAction::MCTL_SET_HUGEPAGE => {
            set_default(sem, tp, VmFlags::VM_HUGEPAGE, scope, caller, persist);
            every_vma(sem, sysfs, tp, set(Advice::Hugepage), owner);
        }
        MctlAction::MCTL_SET_NOHUGEPAGE => {
            set_default(sem, tp, VmFlags::VM_NOHUGEPAGE, scope, caller, persist);
            every_vma(sem, sysfs, tp, set(Advice::Nohugepage), owner);
        }
        _ => {
            let bit = if action == MctlAction::MCTL_CLEAR_HUGEPAGE {
                VmFlags::VM_HUGEPAGE
            } else {
                VmFlags::VM_NOHUGEPAGE
            };
            clear_default(tp, bit);
            let clear = Behavior {
                advice: Advice::Other(0),
                remote: false,
                set: VmFlags::EMPTY,
                clear: bit,
                refuse: VmFlags::EMPTY,
                pages: PageOp::Keep,
            };
            every_vma(sem, sysfs, tp, &clear, owner);
        }
    }
    Ret::Val(0)
}

impl Variant for Mctl {
    fn name(&self) -> &'static str {
        "mctl"
    }

    fn extra_calls(&self, _vmas: usize, procs: usize) -> Vec<Call> {
        let mut v = Vec::new();
        for action in ACTIONS {
            for flags in [MctlFlags(0), MctlFlags::MCTL_SET_DEFAULT_EXEC] {
                v.push(Call::Mctl { target: Target::SelfProc, action, flags });
            }
        }
        for t in 0..procs as u8 {
            for action in [MctlAction::MCTL_SET_HUGEPAGE, MctlAction::MCTL_SET_NOHUGEPAGE] {
                v.push(Call::Mctl { target: Target::Pid(t), action, flags: MctlFlags(0) });
            }
        }
        v.push(Call::Mctl { target: Target::SelfProc, action: MctlAction(7), flags: MctlFlags(0) });
        v
    }

    fn call(&self, sem: &Semantics, state: &mut State, pid: usize, call: &Call) -> Option<Ret> {
        match *call {
            Call::Mctl { target, action, flags } => Some(mctl(sem, state, pid, target, action, flags)),
            _ => None,
        }
    }
}
