//! kernel/fork.c and fs/exec.c: the two ways an mm is born (`mm_init` masks
//! what it inherits from `current->mm`), what `dup_mmap` copies, how exec
//! computes credentials and AT_SECURE, and `setresuid` and `exit`.

use super::StepError;
use crate::action::Ret;
use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::Ghost;
use crate::semantics::Semantics;
use crate::state::{Cred, Image, Mm, Process, State, Vma, MAX_VMAS};

/// `mm_init()`: `def_flags & VM_INIT_DEF_MASK` and the MMF init mask, both
/// read from the calling task's mm (for fork and exec alike).
fn mm_init(sem: &Semantics, old: &Mm) -> Mm {
    Mm {
        def_flags: old.def_flags.intersection(sem.vm_init_def_mask),
        flags: old.flags.intersection(sem.mmf_init_mask),
        vmas: [Vma::UNMAPPED; MAX_VMAS],
    }
}

/// `dup_mmap()`: every VMA but VM_DONTCOPY ones, with VM_LOCKED_MASK cleared;
/// VM_HUGEPAGE, VM_NOHUGEPAGE and VM_WIPEONFORK are kept.
fn dup_mmap(parent: &Mm, child: &mut Mm) {
    for (dst, src) in child.vmas.iter_mut().zip(parent.vmas.iter()) {
        *dst = match src.flags {
            Some(f) if !f.contains(VmFlags::VM_DONTCOPY) => Vma {
                flags: Some(f.difference(VmFlags::VM_LOCKED_MASK)),
                ghost: src.ghost,
            },
            _ => Vma::UNMAPPED,
        };
    }
}

/// `fork()`: the child takes the lowest free slot below `procs`.
pub fn fork(
    sem: &Semantics,
    state: &mut State,
    pid: usize,
    procs: usize,
) -> Result<Ret, StepError> {
    let slot = state.free_pid(procs).ok_or(StepError::NoFreeProcessSlot(
        procs.min(crate::state::MAX_PROCS),
    ))?;
    let parent = *state.proc(pid).ok_or(StepError::NoSuchProcess(pid))?;
    let mut mm = mm_init(sem, &parent.mm);
    dup_mmap(&parent.mm, &mut mm);
    let kept = Ghost::EXEC_FRESH
        .union(Ghost::ORIGIN)
        .union(Ghost::SECURE_EXEC_RAISED)
        .union(Ghost::SECURE_EXEC_KEPT)
        .union(if sem.intent.default_survives_fork {
            Ghost::PROMISED
        } else {
            Ghost::EMPTY
        });
    let mut child = Process {
        ghost: Ghost(parent.ghost.0 & kept.0),
        mm,
        ..parent
    };
    sem.variant.mm_init(sem, &parent, &mut child, false);
    state.procs[slot] = Some(child);
    Ok(Ret::Pid(slot as u8))
}

/// `execve()`: a new mm from `mm_init`, credentials from `bprm_fill_uid` /
/// `cap_bprm_creds_from_file`, dumpability and AT_SECURE from
/// `begin_new_exec`. NNP makes `bprm_fill_uid` ignore the setuid bit.
pub fn execve(sem: &Semantics, me: &mut Process, image: Image) -> Ret {
    let old = *me;
    let euid_root = old.cred.euid_root() || (image == Image::SetuidRoot && !old.no_new_privs);
    let cred = match (old.cred.uid_root(), euid_root) {
        (true, _) => Cred::Root,
        (false, true) => Cred::SetuidRoot,
        (false, false) => Cred::User,
    };
    // AT_SECURE: the new euid differs from the real uid.
    let secure = euid_root && !old.cred.uid_root();
    let mut mm = mm_init(sem, &old.mm);
    if secure {
        mm.def_flags = mm.def_flags.difference(sem.secureexec_clear_def_flags);
        mm.flags = mm.flags.difference(sem.secureexec_clear_mmf);
    }
    // SUID_DUMP_USER only when euid == uid.
    let dumpable = if secure {
        MmfFlags::EMPTY
    } else {
        MmfFlags::MMF_DUMPABLE
    };
    mm.flags = mm.flags.difference(MmfFlags::MMF_DUMPABLE).union(dumpable);

    let mut ghost = Ghost(old.ghost.0 & Ghost::ORIGIN.0);
    ghost.set(Ghost::EXEC_FRESH, true);
    if sem.intent.default_survives_exec {
        ghost = ghost.union(Ghost(old.ghost.0 & Ghost::PROMISED.0));
    }
    if secure {
        let unpriv = old.ghost.contains(Ghost::DEFAULT_BY_UNPRIV);
        let raising = mm.def_flags.contains(VmFlags::VM_HUGEPAGE)
            || mm.flags.intersects(MmfFlags::THP_RAISING);
        let any =
            mm.def_flags.intersects(VmFlags::THP_MASK) || mm.flags.intersects(MmfFlags::THP_POLICY);
        ghost.set(Ghost::SECURE_EXEC_RAISED, unpriv && raising);
        ghost.set(
            Ghost::SECURE_EXEC_KEPT,
            unpriv && old.ghost.contains(Ghost::DEFAULT_WITHOUT_NNP) && any,
        );
    }
    *me = Process {
        cred,
        no_new_privs: old.no_new_privs,
        image,
        secure_exec: secure,
        ghost,
        mm,
    };
    sem.variant.mm_init(sem, &old, me, true);
    Ret::Val(0)
}

/// `setresuid(user, user, user)`: allowed for root and setuid-root (CAP_SETUID)
/// and a no-op for a user. Changing the euid makes the mm non-dumpable
/// (`commit_creds` → `set_dumpable(suid_dumpable = 0)`).
pub fn setresuid(me: &mut Process) -> Ret {
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
