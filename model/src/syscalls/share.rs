//! kernel/fork.c with CLONE_VM: tasks that share one mm. `copy_mm` takes a
//! reference to the parent's mm instead of `dup_mm`, so a vfork child, a
//! `clone(CLONE_VM)` child and a thread change the mm of every task that
//! shares it: its VMAs, `def_flags` and every `mm->flags` policy (THP
//! disable, KSM merge-any, MDWE). The model keeps a copy of the mm in each
//! such task and makes the copies equal after every step (`settle`); the
//! tasks' `Link`s say who shares with whom.
//!
//! The rest is the tasks' own: credentials, no_new_privs, the image.
//! `execve` gives the caller a new mm (`exec_mmap`) and ends the other
//! threads of its group (`de_thread`); `exit()` is `_exit`, i.e.
//! `exit_group`, which ends every thread of the group. A vfork parent is
//! blocked until its child execs or exits (`wait_for_vfork_done`).

use super::StepError;
use crate::action::{CloneFlags, Errno, Ret};
use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::Ghost;
use crate::semantics::Semantics;
use crate::state::{Link, State, MAX_PROCS};

/// `clone(flags)` (and `vfork()`, which is `clone(CLONE_VM|CLONE_VFORK)`):
/// the child takes the lowest free slot below `procs`.
pub fn clone(
    sem: &Semantics,
    state: &mut State,
    pid: usize,
    flags: CloneFlags,
    procs: usize,
) -> Result<Ret, StepError> {
    let has = |f: CloneFlags| flags.contains(f);
    // copy_process(): a thread shares the signal handlers, which need the mm.
    if (has(CloneFlags::CLONE_THREAD) && !has(CloneFlags::CLONE_SIGHAND))
        || (has(CloneFlags::CLONE_SIGHAND) && !has(CloneFlags::CLONE_VM))
    {
        return Ok(Ret::Err(Errno::EINVAL));
    }
    let parent = *state.proc(pid).ok_or(StepError::NoSuchProcess(pid))?;
    let thread = has(CloneFlags::CLONE_THREAD);
    if thread
        && !parent.link.thread
        && state.sharers(pid).any(|i| state.procs[i].is_some_and(|q| q.link.thread))
    {
        return Err(StepError::SecondThreadGroup(pid));
    }
    let slot = state.free_pid(procs).ok_or(StepError::NoFreeProcessSlot(procs.min(MAX_PROCS)))?;
    let vfork_parent = if has(CloneFlags::CLONE_VFORK) { pid as u8 + 1 } else { 0 };
    let child = if has(CloneFlags::CLONE_VM) {
        let group = if parent.link.mm != 0 { parent.link.mm } else { pid.min(slot) as u8 + 1 };
        let me = state.proc_mut(pid).expect("live");
        me.link.mm = group;
        me.link.thread |= thread;
        let mut child = parent;
        child.link = Link { mm: group, thread, vfork_parent };
        child.ghost.set(Ghost::POLICY_BY_SHARER, false);
        child
    } else {
        // Without CLONE_VM, clone() is fork() (its own mm).
        let mut child = super::task::fork_child(sem, &parent);
        child.link.vfork_parent = vfork_parent;
        state.procs[pid] = Some(super::task::fork_parent(&parent));
        child
    };
    state.procs[slot] = Some(child);
    Ok(Ret::Pid(slot as u8))
}

/// `pid` is blocked in `vfork()`: it can make no call.
pub fn blocked(state: &State, pid: usize) -> Result<(), StepError> {
    match state.vfork_child_of(pid) {
        Some(child) => Err(StepError::VforkParentBlocked { parent: pid, child }),
        None => Ok(()),
    }
}

/// Before `execve` by `pid`: `de_thread` ends the other threads of its
/// group. (The exec itself then gives `pid` an mm of its own: `leave`.)
pub fn end_other_threads(state: &mut State, pid: usize) {
    let Some(me) = state.proc(pid) else { return };
    if !me.link.thread {
        return;
    }
    for i in state.sharers(pid).collect::<Vec<_>>() {
        if i != pid && state.procs[i].is_some_and(|q| q.link.thread) {
            state.procs[i] = None;
        }
    }
}

/// `exit()` by `pid`: `exit_group` ends every thread of its group.
pub fn exit_group(state: &mut State, pid: usize) {
    let thread = state.proc(pid).is_some_and(|p| p.link.thread);
    let group: Vec<usize> = state.sharers(pid).collect();
    for i in group {
        if i == pid || (thread && state.procs[i].is_some_and(|q| q.link.thread)) {
            state.procs[i] = None;
        }
    }
}

/// The bits of a state that make it hold tasks sharing an mm (or a vfork
/// parent): only then has a step anything to settle.
pub fn any_linked(state: &State) -> bool {
    state.procs.iter().flatten().any(|p| p.link != Link::OWN)
}

/// What a task sets for every task that shares its mm.
fn policies(p: &crate::state::Process) -> (VmFlags, MmfFlags) {
    (p.mm.def_flags.intersection(VmFlags::THP_MASK), p.mm.flags.intersection(MmfFlags::POLICIES))
}

/// The ghost bits that are the task's own, not its mm's. (`EXEC_FRESH` is
/// the mm's: every task that shares an mm runs the image it was made
/// for, so a call by any of them is a call by that program.)
const OWN_GHOSTS: Ghost = Ghost::POLICY_BY_SHARER;

/// After a step by `caller` (or by the kernel) that started from
/// `before`: the links in their one form (each group named by its lowest
/// slot, no group of one, no vfork parent that is gone), and every task
/// of a group given the mm (and the ghost history about it) of the one
/// task the step changed. A policy changed that way by a task of the group
/// is marked in the group's other tasks (`Ghost::POLICY_BY_SHARER`).
pub fn settle(state: &mut State, before: &State, caller: usize) {
    normalize_links(state);
    for leader in 0..MAX_PROCS {
        let label = leader as u8 + 1;
        let members: Vec<usize> =
            (0..MAX_PROCS).filter(|&i| state.procs[i].is_some_and(|p| p.link.mm == label)).collect();
        if members.len() < 2 {
            continue;
        }
        let changed = |i: &usize| match (before.procs[*i], state.procs[*i]) {
            (Some(b), Some(a)) => b.mm != a.mm || (b.ghost.0 & !OWN_GHOSTS.0) != (a.ghost.0 & !OWN_GHOSTS.0),
            _ => false,
        };
        let writer = if members.contains(&caller) && changed(&caller) {
            Some(caller)
        } else {
            members.iter().copied().find(changed)
        };
        let Some(w) = writer else { continue };
        let src = state.procs[w].expect("a member is live");
        let moved = before.procs[w].is_some_and(|b| policies(&b) != policies(&src));
        for &i in &members {
            if i == w {
                continue;
            }
            let q = state.procs[i].as_mut().expect("a member is live");
            q.mm = src.mm;
            q.ghost = Ghost((src.ghost.0 & !OWN_GHOSTS.0) | (q.ghost.0 & OWN_GHOSTS.0));
            if moved && w == caller {
                q.ghost.set(Ghost::POLICY_BY_SHARER, true);
            }
        }
    }
}

/// Each group named by its lowest slot plus one, a group of one dissolved
/// (and a thread group of one), a vfork link to a parent that is gone
/// dropped.
fn normalize_links(state: &mut State) {
    let mut rename = [0u8; MAX_PROCS + 1];
    let mut size = [0usize; MAX_PROCS + 1];
    let mut threads = [0usize; MAX_PROCS + 1];
    for (i, p) in state.procs.iter().enumerate() {
        let Some(p) = p else { continue };
        let l = p.link.mm as usize;
        if l != 0 {
            if rename[l] == 0 {
                rename[l] = i as u8 + 1;
            }
            size[l] += 1;
            threads[l] += p.link.thread as usize;
        }
    }
    let live: [bool; MAX_PROCS] = std::array::from_fn(|i| state.procs[i].is_some());
    for p in state.procs.iter_mut().flatten() {
        let l = p.link.mm as usize;
        if l != 0 {
            p.link.thread &= threads[l] > 1;
            p.link.mm = if size[l] > 1 { rename[l] } else { 0 };
        }
        let v = p.link.vfork_parent as usize;
        if v != 0 && !live[v - 1] {
            p.link.vfork_parent = 0;
        }
    }
}
