//! mm/madvise.c: `process_madvise()`: the order of its checks (flags,
//! iovec, pidfd, `mm_access`, the remote allow-list, CAP_SYS_NICE) and
//! `vector_madvise`, which stops at the first failing iovec entry.

use super::madvise::{behavior, walk};
use crate::action::{Advice, Errno, IovList, Iovec, PmadvFlags, Range, Ret, Target};
use crate::flags::MmfFlags;
use crate::ghost::Ghost;
use crate::semantics::Semantics;
use crate::state::{Cred, Process, State};

/// `mm_access(task, PTRACE_MODE_READ_FSCREDS)` for another process's mm:
/// CAP_SYS_PTRACE passes; otherwise the caller's fsuid must equal the
/// target's uid, euid and suid, and the target must be dumpable.
pub fn may_access_remote(caller: &Process, target: &Process) -> bool {
    caller.cred.has_caps()
        || (caller.cred == Cred::User
            && target.cred == Cred::User
            && target.mm.flags.contains(MmfFlags::MMF_DUMPABLE))
}

pub fn process_madvise(
    sem: &Semantics,
    state: &mut State,
    pid: usize,
    target: Target,
    iov: Iovec,
    advice: Advice,
    flags: PmadvFlags,
) -> Ret {
    if let Some(me) = state.proc_mut(pid) {
        me.ghost.set(Ghost::EXEC_FRESH, false);
    }
    match check(sem, state, pid, target, iov, advice, flags) {
        Err(e) => Ret::Err(e),
        Ok((tpid, ranges)) => {
            let owner = tpid == pid;
            let before = state.procs[tpid].map(|p| p.mm.def_flags);
            let tp = state.proc_mut(tpid).expect("checked live");
            let ret = vector_madvise(tp, ranges.as_slice(), advice, owner);
            if ret.is_err() && before != Some(tp.mm.def_flags) {
                tp.ghost.set(Ghost::FAILED_CALL_CHANGED_DEFAULT, true);
            }
            ret
        }
    }
}

/// The checks before any VMA is touched, in the kernel's order. Returns the
/// target slot and its ranges.
fn check(
    sem: &Semantics,
    state: &State,
    pid: usize,
    target: Target,
    iov: Iovec,
    advice: Advice,
    flags: PmadvFlags,
) -> Result<(usize, IovList), Errno> {
    if flags.0 & !sem.pmadv_flags.0 != 0 {
        return Err(Errno::EINVAL);
    }
    // import_iovec: NULL with vlen -1 exceeds UIO_MAXIOV.
    let ranges = match iov {
        Iovec::List(l) => l,
        Iovec::Null => return Err(Errno::EINVAL),
    };
    let tpid = match target {
        Target::SelfProc => pid,
        Target::Pid(t) => t as usize,
    };
    let (Some(me), Some(tp)) = (state.proc(pid), state.proc(tpid)) else {
        return Err(Errno::ESRCH);
    };
    if tpid != pid {
        if !may_access_remote(me, tp) {
            return Err(Errno::EACCES);
        }
        if !behavior(advice).is_some_and(|b| b.remote) {
            return Err(Errno::EINVAL);
        }
        if !me.cred.has_caps() {
            return Err(Errno::EPERM);
        }
    }
    Ok((tpid, ranges))
}

/// `vector_madvise()`: one walk per entry; stops at the first entry that
/// fails, returning the bytes of the entries finished before it (or the
/// error if none finished). The failing entry's mapped parts stay changed.
fn vector_madvise(tp: &mut Process, ranges: &[Range], advice: Advice, owner: bool) -> Ret {
    let mut done = 0i64;
    for &range in ranges {
        let res = match behavior(advice) {
            Some(b) => walk(&mut tp.mm, range, b, owner),
            None => Err(Errno::EINVAL),
        };
        if let Err(e) = res {
            return if done > 0 {
                Ret::Val(done)
            } else {
                Ret::Err(e)
            };
        }
        done += range.len_bytes();
    }
    Ret::Val(done)
}
