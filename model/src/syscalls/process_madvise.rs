//! mm/madvise.c: `process_madvise()`: its checks (flags, iovec, pidfd,
//! `mm_access`, the advice allow-list, CAP_SYS_NICE) in the order a kernel
//! makes them (`PmadvCheck`, a table per kernel), and `vector_madvise`,
//! which stops at the first failing iovec entry.
//!
//! The proposals' flags are implemented here as the seed RFC posted them
//! (patches 2-5 of "add process_madvise() flags to modify behaviour"); a
//! spec says which flags exist (`Semantics::pmadv_flags`), so on mainline
//! every flag is -EINVAL.

use super::defaults::{scope_of, set_default, Setter};
use super::madvise::{behavior, walk, Errors, Naming};
use crate::action::{Advice, Errno, Iovec, PmadvFlags, Range, Ret, Target};
use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::Ghost;
use crate::semantics::{PmadvCheck, Semantics};
use crate::state::{Cred, Process, State, Sysfs};

/// `mm_access(task, PTRACE_MODE_READ_FSCREDS)` for another process's mm:
/// CAP_SYS_PTRACE passes; otherwise the caller's fsuid must equal the
/// target's uid, euid and suid, and the target must be dumpable.
pub fn may_access_remote(caller: &Process, target: &Process) -> bool {
    // A `UserCaps` target is never dumpable (its exec was secure) and
    // holds capabilities a `User` caller lacks: out of a user's reach.
    caller.cred.has_caps()
        || (caller.cred == Cred::User
            && target.cred == Cred::User
            && target.mm.flags.contains(MmfFlags::MMF_DUMPABLE))
}

/// What the checks established: the target's entries, and the default (if
/// any) the call sets.
struct Plan {
    /// `None`: the RFC's `PMADV_ENTIRE_ADDRESS_SPACE` single synthetic entry.
    entries: Option<crate::action::IovList>,
    default: Option<VmFlags>,
    advice: Advice,
    flags: PmadvFlags,
}

/// The process a `process_madvise` names, as the checks see it.
pub enum Target2<'a> {
    /// The caller itself (`self`, or its own pid).
    Own,
    /// Another live process.
    Other(&'a mut Process),
    /// No live process (`-ESRCH`, after the argument checks).
    Missing,
}

/// `process_madvise()` on a whole state: finds the target and runs
/// `process_madvise_on`.
pub fn process_madvise(
    sem: &Semantics,
    state: &mut State,
    pid: usize,
    target: Target,
    iov: Iovec,
    advice: Advice,
    flags: PmadvFlags,
) -> Ret {
    let tpid = match target {
        Target::SelfProc => pid,
        Target::Pid(t) => t as usize,
    };
    if state.proc(pid).is_none() {
        return Ret::Err(Errno::ESRCH);
    }
    // `mm != current->mm` is what makes a target remote: a task that
    // shares the caller's mm (a thread, a vfork child) is advice to itself.
    if tpid == pid || state.sharers(pid).any(|i| i == tpid) {
        let sysfs = state.sysfs;
        let me = state.proc_mut(pid).expect("checked live");
        return process_madvise_on(sem, sysfs, me, Target2::Own, iov, advice, flags);
    }
    let mut tp = state.proc(tpid).copied();
    let sysfs = state.sysfs;
    let me = state.proc_mut(pid).expect("checked live");
    let t = match tp.as_mut() {
        Some(t) => Target2::Other(t),
        None => Target2::Missing,
    };
    let ret = process_madvise_on(sem, sysfs, me, t, iov, advice, flags);
    if let Some(t) = tp {
        state.procs[tpid] = Some(t);
    }
    ret
}

/// `process_madvise()` by `me` on `target`: it reads and writes these two
/// processes only (see `syscalls::Reach::Pair`).
pub fn process_madvise_on(
    sem: &Semantics,
    sysfs: Sysfs,
    me: &mut Process,
    target: Target2<'_>,
    iov: Iovec,
    advice: Advice,
    flags: PmadvFlags,
) -> Ret {
    me.ghost.set(Ghost::EXEC_FRESH, false);
    let caller = Setter::of(me, false);
    let plan = match check(sem, me, &target, iov, advice, flags) {
        Ok(p) => p,
        Err(e) => return Ret::Err(e),
    };
    let (tp, owner) = match target {
        Target2::Own => (me, true),
        Target2::Other(t) => (t, false),
        Target2::Missing => unreachable!("checked live"),
    };
    let before = tp.mm.def_flags;
    let ret = vector_madvise(sem, sysfs, tp, &plan, caller, owner);
    if ret.is_err() && before != tp.mm.def_flags {
        tp.ghost.set(Ghost::FAILED_CALL_CHANGED_DEFAULT, true);
    }
    ret
}

/// The checks before any VMA is touched, in the kernel's order.
fn check(
    sem: &Semantics,
    me: &Process,
    target: &Target2<'_>,
    iov: Iovec,
    advice: Advice,
    flags: PmadvFlags,
) -> Result<Plan, Errno> {
    let entire = flags.contains(PmadvFlags::PMADV_ENTIRE_ADDRESS_SPACE);
    let tp: Option<&Process> = match target {
        Target2::Own => Some(me),
        Target2::Other(t) => Some(t),
        Target2::Missing => None,
    };
    // Missing is always another pid: the caller is live.
    let remote = !matches!(target, Target2::Own);
    let remote_valid = || behavior(advice).is_some_and(|b| b.remote);
    let mut entries = None;
    for c in &sem.pmadv_checks {
        let fails = match c {
            PmadvCheck::Flags => (flags.0 & !sem.pmadv_flags.0 != 0).then_some(Errno::EINVAL),
            // PMADV_ENTIRE_ADDRESS_SPACE wants (NULL, -1); otherwise
            // import_iovec rejects a NULL vector with vlen -1 (> UIO_MAXIOV).
            PmadvCheck::Iovec => match (iov, entire) {
                (Iovec::Null, true) => None,
                (Iovec::List(l), false) => {
                    entries = Some(l);
                    None
                }
                _ => Some(Errno::EINVAL),
            },
            PmadvCheck::Pidfd => tp.is_none().then_some(Errno::ESRCH),
            PmadvCheck::Advice => (!remote_valid()).then_some(Errno::EINVAL),
            PmadvCheck::MmAccess => match tp {
                None => Some(Errno::ESRCH),
                Some(t) => (remote && !may_access_remote(me, t)).then_some(Errno::EACCES),
            },
            PmadvCheck::RemoteAdvice => (remote && !remote_valid()).then_some(Errno::EINVAL),
            PmadvCheck::CapSysNice => (!me.cred.has_caps()).then_some(Errno::EPERM),
            PmadvCheck::RemoteCapSysNice => (remote && !me.cred.has_caps()).then_some(Errno::EPERM),
        };
        if let Some(e) = fails {
            return Err(e);
        }
    }
    if tp.is_none() {
        return Err(Errno::ESRCH);
    }
    // vector_madvise: can_set_default_behavior(), before any VMA is touched.
    let asked = PmadvFlags(flags.0 & sem.pmadv_default_flags.0);
    let default = if asked.0 == 0 {
        None
    } else {
        let exact = sem.pmadv_default_exact;
        if exact.0 != 0 && asked != exact {
            return Err(Errno::EINVAL);
        }
        let value = match advice {
            Advice::Hugepage => VmFlags::VM_HUGEPAGE,
            Advice::Nohugepage => VmFlags::VM_NOHUGEPAGE,
            _ => return Err(Errno::EINVAL),
        };
        if asked.intersects(sem.pmadv_default_cap) && !me.cap_sys_admin() {
            return Err(Errno::EPERM);
        }
        Some(value)
    };
    Ok(Plan { entries, default, advice, flags })
}

/// `vector_madvise()`: one walk per entry. Mainline stops at the first
/// entry that fails and returns the bytes of the entries finished before it
/// (or the error if none finished); the failing entry's mapped parts stay
/// changed. With `PMADV_SKIP_ERRORS` it carries on and returns
/// `total_len - skipped` (bytes minus a count of entries, as posted).
/// A default is set after each entry that ends without a skipped error.
fn vector_madvise(
    sem: &Semantics,
    sysfs: Sysfs,
    tp: &mut Process,
    plan: &Plan,
    caller: Setter,
    owner: bool,
) -> Ret {
    let (advice, flags) = (plan.advice, plan.flags);
    let skip = flags.contains(PmadvFlags::PMADV_SKIP_ERRORS);
    let errors = Errors { skip, on_unmapped: !flags.contains(PmadvFlags::PMADV_NO_ERROR_ON_UNMAPPED) };
    // ENTIRE_ADDRESS_SPACE builds its iov_iter with a count of 1 byte (as
    // posted), though the walk covers the whole address space.
    let entries: Vec<(Option<Range>, i64)> = match plan.entries {
        None => vec![(None, 1)],
        Some(l) => l.as_slice().iter().map(|&r| (Some(r), r.len_bytes())).collect(),
    };
    let total: i64 = entries.iter().map(|e| e.1).sum();
    let naming = Naming { owner, named: plan.entries.is_some(), prctl: false };
    let scope = scope_of(flags);
    let promise = flags.contains(sem.intent.promised_by) && sem.intent.promised_by.0 != 0;
    let (mut done, mut skipped) = (0i64, 0i64);
    for (range, len) in entries {
        let w = match behavior(advice) {
            Some(b) => walk(sem, sysfs, tp, range, b, naming, errors),
            // madvise_should_skip(): an unknown advice fails each entry.
            None => super::Walked { ret: Err(Errno::EINVAL), saw_error: false },
        };
        if let Err(e) = w.ret {
            if !skip {
                return if done > 0 { Ret::Val(done) } else { Ret::Err(e) };
            }
        }
        if skip && w.saw_error {
            skipped += 1;
        } else if let Some(value) = plan.default {
            set_default(sem, tp, value, scope, caller, promise);
        }
        done += len;
    }
    Ret::Val(if skip { total - skipped } else { done })
}
