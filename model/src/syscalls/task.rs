//! kernel/fork.c and fs/exec.c: the two ways an mm is born (`mm_init` masks
//! what it inherits from `current->mm`), what `dup_mmap` copies, how exec
//! computes credentials and AT_SECURE, and `setresuid` and `exit`.

use super::pages;
use super::StepError;
use crate::action::Ret;
use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, VmaGhost};
use crate::semantics::Semantics;
use crate::setting;
use crate::state::{Cred, Image, Link, Mm, Pages, Process, State, Vma, MAX_VMAS};

/// `mm_init()`: `def_flags & VM_INIT_DEF_MASK` and the MMF init mask, both
/// read from the calling task's mm (for fork and exec alike). A proposal's
/// scope bits can keep the whole THP default across fork or exec, and a
/// secure exec may clear what the spec says it clears.
fn mm_init(sem: &Semantics, old: &Mm, exec: bool, secure: bool) -> Mm {
    let inherit = if exec { MmfFlags::MMF_DEF_INHERIT_EXEC } else { MmfFlags::MMF_DEF_INHERIT_FORK };
    let mut keep = sem.vm_init_def_mask;
    if old.flags.contains(inherit) {
        keep = keep | VmFlags::THP_MASK;
    }
    let mut mm = Mm {
        def_flags: old.def_flags.intersection(keep),
        flags: mmf_init_flags(sem, old.flags),
        vmas: [Vma::UNMAPPED; MAX_VMAS],
    };
    if secure {
        mm.def_flags = mm.def_flags.difference(sem.secureexec_clear_def_flags);
        mm.flags = mm.flags.difference(sem.secureexec_clear_mmf);
    }
    // Scope bits mean nothing without a default to scope.
    if !mm.def_flags.intersects(VmFlags::THP_MASK) {
        mm.flags = mm.flags.difference(MmfFlags::DEF_SCOPE);
    }
    // A THP default that reaches a new mm applies to that mm's new VMAs.
    if sem.def_needs_future {
        let applies = mm.def_flags.intersects(VmFlags::THP_MASK);
        mm.flags = mm.flags.difference(MmfFlags::MMF_DEF_FUTURE);
        if applies {
            mm.flags = mm.flags | MmfFlags::MMF_DEF_FUTURE;
        }
    }
    mm
}

/// `mmf_init_legacy_flags()`: the init mask, except that MDWE set with
/// NO_INHERIT leaves both MDWE bits behind.
fn mmf_init_flags(sem: &Semantics, old: MmfFlags) -> MmfFlags {
    let mut f = old;
    if f.contains(MmfFlags::MMF_HAS_MDWE_NO_INHERIT) {
        f = f.difference(MmfFlags::MMF_HAS_MDWE_MASK);
    }
    f.intersection(sem.mmf_init_mask)
}

/// The ghost bits a new mm (fork child, or exec'd image) starts with.
fn inherited_ghost(sem: &Semantics, old: Ghost, exec: bool, secure: bool) -> Ghost {
    let mut keep = Ghost::ORIGINS.union(Ghost::DEFAULT_HG_BY_PRCTL).union(Ghost::MDWE_INHERITED);
    let promised = if exec {
        sem.intent.default_survives_exec && !(secure && sem.intent.dropped_by_secure_exec)
    } else {
        sem.intent.default_survives_fork
    };
    if promised {
        keep = keep.union(Ghost::PROMISED);
    }
    if !exec {
        keep = keep.union(Ghost::EXEC_FRESH);
    }
    Ghost(old.0 & keep.0)
}

/// `dup_mmap()`: every VMA but VM_DONTCOPY ones, with VM_LOCKED_MASK cleared;
/// VM_HUGEPAGE, VM_NOHUGEPAGE and VM_WIPEONFORK are kept. The child maps
/// the parent's pages (`pages::shared`), except a VM_WIPEONFORK VMA's, and
/// none of them is from its own fault.
fn dup_mmap(parent: &Mm, child: &mut Mm) {
    for (dst, src) in child.vmas.iter_mut().zip(parent.vmas.iter()) {
        *dst = match src.flags {
            Some(f) if !f.contains(VmFlags::VM_DONTCOPY) => {
                let pages =
                    if pages::shared_by_fork(f) { pages::copied_to_child(src.pages) } else { Pages::None };
                let mut ghost = src.ghost;
                ghost.set(VmaGhost::HUGE_BY_OWN_FAULT, false);
                Vma { flags: Some(f.difference(VmFlags::VM_LOCKED_MASK)), ghost, pages }
            }
            _ => Vma::UNMAPPED,
        };
    }
}

/// `fork()`: the child takes the lowest free slot below `procs`.
pub fn fork(sem: &Semantics, state: &mut State, pid: usize, procs: usize) -> Result<Ret, StepError> {
    let slot =
        state.free_pid(procs).ok_or(StepError::NoFreeProcessSlot(procs.min(crate::state::MAX_PROCS)))?;
    let parent = *state.proc(pid).ok_or(StepError::NoSuchProcess(pid))?;
    state.procs[slot] = Some(fork_child(sem, &parent));
    state.procs[pid] = Some(fork_parent(&parent));
    Ok(Ret::Pid(slot as u8))
}

/// The child `fork()` makes of `parent` (`copy_process`, `dup_mm`): a
/// function of the parent alone.
pub fn fork_child(sem: &Semantics, parent: &Process) -> Process {
    let mut mm = mm_init(sem, &parent.mm, false, false);
    dup_mmap(&parent.mm, &mut mm);
    // khugepaged_fork(): a registered parent's child is registered.
    mm.flags = mm.flags.union(parent.mm.flags.intersection(MmfFlags::MMF_VM_HUGEPAGE));
    let mut child =
        Process { ghost: inherited_ghost(sem, parent.ghost, false, false), mm, link: Link::OWN, ..*parent };
    sem.variant.mm_init(sem, parent, &mut child, false);
    child
}

/// What `fork()` leaves of the parent: its pages shared with the child.
/// A function of the parent alone too.
pub fn fork_parent(parent: &Process) -> Process {
    let mut p = *parent;
    for vma in p.mm.vmas.iter_mut() {
        if vma.flags.is_some_and(pages::shared_by_fork) {
            vma.pages = pages::shared(vma.pages);
        }
    }
    p
}

/// `execve()`: a new mm from `mm_init`, credentials from `bprm_fill_uid` /
/// `cap_bprm_creds_from_file`, dumpability and AT_SECURE from
/// `begin_new_exec`. NNP makes `bprm_fill_uid` ignore the setuid bit, and
/// makes `cap_bprm_creds_from_file` reset an euid that differs from the
/// uid (keeping the capabilities: `Cred::UserCaps`).
pub fn execve(sem: &Semantics, me: &mut Process, image: Image) -> Ret {
    let old = *me;
    let setuid = image == Image::SetuidRoot && !old.no_new_privs;
    let cred = match old.cred {
        Cred::Root => Cred::Root,
        Cred::SetuidRoot if old.no_new_privs && sem.nnp_exec_resets_euid => Cred::UserCaps,
        Cred::SetuidRoot => Cred::SetuidRoot,
        // Caps of a user come from file caps or the ambient set (none here).
        Cred::User | Cred::UserCaps if setuid => Cred::SetuidRoot,
        Cred::User | Cred::UserCaps => Cred::User,
    };
    // AT_SECURE: the exec changed the euid from the uid (`is_setid`).
    let secure = old.cred != Cred::Root && matches!(cred, Cred::SetuidRoot | Cred::UserCaps);
    let mut mm = mm_init(sem, &old.mm, true, secure);
    // SUID_DUMP_USER only when euid == uid.
    let dumpable = if secure { MmfFlags::EMPTY } else { MmfFlags::MMF_DUMPABLE };
    mm.flags = mm.flags.difference(MmfFlags::MMF_DUMPABLE).union(dumpable);

    let mut ghost = inherited_ghost(sem, old.ghost, true, secure);
    ghost.set(Ghost::EXEC_FRESH, true);
    setting::note_exec(&mut ghost, &mm, secure);
    // exec_mmap(): the new mm is the task's alone (a vfork parent it held
    // runs again; `share::end_other_threads` ended its other threads).
    *me = Process {
        cred,
        no_new_privs: old.no_new_privs,
        image,
        secure_exec: secure,
        ghost,
        mm,
        link: Link::OWN,
    };
    sem.variant.mm_init(sem, &old, me, true);
    Ret::Val(0)
}

/// `setresuid(user, user, user)`: allowed for root and setuid-root (CAP_SETUID)
/// and a no-op for a user. Changing the euid makes the mm non-dumpable
/// (`commit_creds` → `set_dumpable(suid_dumpable = 0)`).
pub fn setresuid(me: &mut Process) -> Ret {
    // All three uids are the user's already: nothing changes, and the
    // capabilities go only when a uid leaves 0 (`cap_emulate_setxuid`).
    if me.cred == Cred::UserCaps {
        return Ret::Val(0);
    }
    if me.cred.euid_root() {
        me.mm.flags = me.mm.flags.difference(MmfFlags::MMF_DUMPABLE);
    }
    me.cred = Cred::User;
    Ret::Val(0)
}

/// `exit()`: the slot is free for the next fork.
pub fn exit(state: &mut State, pid: usize) -> Ret {
    state.procs[pid] = None;
    Ret::NoReturn
}
