//! The trace language's calls made concrete: which calls this machine
//! cannot make at all (`cannot_run`: root steps when not root), which
//! request every other call becomes for an agent (a proposal's calls too:
//! by number, so the kernel answers them as it answers any unknown option
//! or syscall; every advice, MADV_COLLAPSE, MADV_DONTNEED and
//! MADV_(UN)MERGEABLE included, by its number; every prctl, KSM
//! merge-any's and MDWE's too, by its number; `mmap(PROT)` and `mprotect`
//! with the protection's bits)
//! (`abi` gives the addresses and numbers), which name it returns
//! (`mmap() = vN`: the lowest slot the kernel shows unmapped), and when the
//! kernel's answer is about this machine's RLIMIT_MEMLOCK rather than about
//! the model (then it is a `HarnessError::Limit`, skipped).

use crate::abi;
use crate::kernel::{broken, HarnessError, Tree};
use crate::machine::Machine;
use crate::procfs;
use crate::proto::Request;
use mmflags_model::action::{Call, CloneFlags, Iovec, MclFlags, Prot, Range, Ret, Target};
use mmflags_model::state::Image;
use mmflags_model::Errno;
use std::os::fd::OwnedFd;

/// Why this machine cannot make `call` as process `caller`, if it cannot.
pub fn cannot_run(machine: &Machine, caller: u8, call: &Call) -> Option<String> {
    let unpriv = machine.unprivileged_because.as_deref().unwrap_or("");
    let needs_root = match *call {
        Call::Execve(Image::SetuidRoot) => Some("execve(setuid-root) needs a setuid-root agent image"),
        Call::Setresuid => Some("setresuid(user) needs CAP_SETUID/CAP_SETGID"),
        Call::ProcessMadvise { target: Target::Pid(t), .. } if t != caller => {
            Some("a remote process_madvise needs a root P0 (the model's P0 is root)")
        }
        Call::Khugepaged => {
            Some("khugepaged() is driven through khugepaged's sysfs knobs, which only root writes")
        }
        _ => None,
    };
    if let (false, Some(why)) = (machine.root, needs_root) {
        return Some(format!("{why}; {unpriv}"));
    }
    None
}

/// Would `bytes` exceed the memlock limit for this caller?
fn over(bytes: u64, m: &procfs::Memlock) -> bool {
    !m.cap_ipc_lock && m.limit.is_some_and(|l| bytes > l)
}

fn limit_hit(what: &str, errno: &str, measure: &str, bytes: u64, m: &procfs::Memlock) -> HarnessError {
    HarnessError::Limit(format!(
        "`{what}` = -{errno} because {measure} ({} KiB) exceeds RLIMIT_MEMLOCK ({} KiB) and the caller \
         lacks CAP_IPC_LOCK; the model assumes no limit, and this machine cannot lift it (no CAP_SYS_RESOURCE)",
        bytes / 1024,
        m.limit.unwrap_or(0) / 1024
    ))
}

impl Tree<'_> {
    /// Runs `call` as process `p` on the kernel; the result as the trace
    /// language prints it.
    pub fn run(&mut self, p: u8, call: &Call) -> Result<Ret, HarnessError> {
        let what = format!("P{p} {call}");
        let to_ret = |r: i64| -> Result<Ret, HarnessError> {
            if r >= 0 {
                Ok(Ret::Val(r))
            } else {
                Errno::from_number(-r as i32).map(Ret::Err).ok_or_else(|| {
                    broken(format!("`{what}` returned errno {}, which the trace language cannot name", -r))
                })
            }
        };
        let shown = matches!(
            call,
            Call::VmFlags(_)
                | Call::ThpEligible(_)
                | Call::Pages(_)
                | Call::ThpEnabled
                | Call::PrctlGetThpDisable
                | Call::PrctlGetMemoryMerge
                | Call::PrctlGetMdwe
        );
        if shown {
            return self
                .snapshot(p)?
                .answer(call)
                .ok_or_else(|| broken(format!("`{what}` returned an errno the trace language cannot name")));
        }
        match *call {
            Call::Mmap => self.mmap(p, Prot::RW, &what),
            Call::MmapProt(prot) => self.mmap(p, prot, &what),
            Call::Mprotect(item, prot) => {
                let (addr, len) = abi::range(Range::One(item));
                let req = Request::Mprotect { addr, len, prot: prot.0 as i64 };
                to_ret(self.syscall(p, &req, None, &what)?)
            }
            Call::Munmap(r) => {
                let (addr, len) = abi::range(r);
                to_ret(self.syscall(p, &Request::Munmap { addr, len }, None, &what)?)
            }
            Call::Madvise(r, advice) => {
                let (addr, len) = abi::range(r);
                let req = Request::Madvise { addr, len, advice: advice.number() as i64 };
                to_ret(self.syscall(p, &req, None, &what)?)
            }
            Call::ProcessMadvise { target, iov, advice, flags } => {
                let iov = match iov {
                    Iovec::Null => None,
                    Iovec::List(l) => Some(l.as_slice().iter().map(|&r| abi::range(r)).collect()),
                };
                let req =
                    Request::ProcessMadvise { iov, advice: advice.number() as i64, flags: flags.0 as u64 };
                let pidfd = match target {
                    Target::SelfProc => None,
                    Target::Pid(t) => Some(self.pidfd_of(t)),
                };
                to_ret(self.syscall(p, &req, pidfd, &what)?)
            }
            Call::Mctl { target, action, flags } => {
                let req = Request::Mctl { action: action.0 as i64, flags: flags.0 as u64 };
                let pidfd = match target {
                    Target::SelfProc => None,
                    Target::Pid(t) => Some(self.pidfd_of(t)),
                };
                to_ret(self.syscall(p, &req, pidfd, &what)?)
            }
            Call::Mlockall(fl) => {
                let before = self.memlock(p)?;
                let r = self.syscall(p, &Request::Mlockall { flags: fl.0 as i64 }, None, &what)?;
                let current = fl.contains(MclFlags::MCL_CURRENT);
                if let Some(m) =
                    before.filter(|m| current && r == -(libc::ENOMEM as i64) && over(m.total_vm, m))
                {
                    return Err(limit_hit(&what, "ENOMEM", "total_vm", m.total_vm, &m));
                }
                to_ret(r)
            }
            Call::Munlockall => to_ret(self.syscall(p, &Request::Munlockall, None, &what)?),
            Call::Touch(item) => {
                let (addr, len) = abi::range(Range::One(item));
                to_ret(self.syscall(p, &Request::Touch { addr, len }, None, &what)?)
            }
            Call::Khugepaged => Err(HarnessError::BadStep(
                "khugepaged() is no process's call: the runner drives it (Runner::compare, Runner::litmus)"
                    .into(),
            )),
            Call::Setresuid => {
                let req =
                    Request::Setresuid { uid: abi::USER_UID, gid: abi::USER_GID, keep: self.cfg.user_keeps };
                to_ret(self.syscall(p, &req, None, &what)?)
            }
            Call::Fork => self.fork(p, &what),
            Call::Vfork => self.clone(p, CloneFlags::VFORK, &what),
            Call::Clone(flags) => self.clone(p, flags, &what),
            Call::Execve(image) => self.execve(p, image, &what),
            Call::Exit => self.exit(p, &what),
            _ => match call.prctl_args() {
                Some((option, [a2, a3])) => {
                    let req = Request::Prctl { option: option as i64, args: [a2 as u64, a3 as u64, 0, 0] };
                    to_ret(self.syscall(p, &req, None, &what)?)
                }
                None => Err(HarnessError::BadStep(format!("`{call}` is not a call the runner can make"))),
            },
        }
    }

    /// `mmap(prot) = vN`: the lowest slot the kernel shows unmapped.
    fn mmap(&mut self, p: u8, prot: Prot, what: &str) -> Result<Ret, HarnessError> {
        let snap = procfs::read_slots(self.agent(p)?.pid).map_err(broken)?;
        let n = (0..self.cfg.vmas.min(snap.len()) as u8).find(|&n| snap[n as usize].is_none()).ok_or_else(
            || {
                HarnessError::BadStep(format!(
                    "mmap() needs a free VMA slot, and all {} are in use",
                    self.cfg.vmas
                ))
            },
        )?;
        let req = Request::Mmap { addr: abi::slot_addr(n), len: abi::REGION, prot: prot.0 as i64 };
        let before = self.memlock(p)?;
        let r = self.syscall(p, &req, None, what)?;
        if r == 0 {
            return Ok(Ret::Vma(n));
        }
        if let Some(m) = before.filter(|m| r == -(libc::EAGAIN as i64) && over(m.locked_vm + abi::REGION, m))
        {
            return Err(limit_hit(what, "EAGAIN", "locked_vm + 4 MiB", m.locked_vm + abi::REGION, &m));
        }
        Errno::from_number(-r as i32).map(Ret::Err).ok_or_else(|| {
            broken(format!("`{what}` returned errno {}, which the trace language cannot name", -r))
        })
    }

    /// Where process `p` stands against RLIMIT_MEMLOCK, when the limit
    /// could not be lifted (`None` when it was).
    fn memlock(&self, p: u8) -> Result<Option<procfs::Memlock>, HarnessError> {
        if !self.cfg.memlock_limited {
            return Ok(None);
        }
        procfs::read_memlock(self.agent(p)?.pid).map(Some).map_err(broken)
    }

    /// The pidfd `Pn` names: the live agent, else the exited one, else a
    /// reaped stranger.
    fn pidfd_of(&self, t: u8) -> &OwnedFd {
        let t = t as usize;
        match (self.agents.get(t).and_then(|a| a.as_ref()), self.exited.get(t).and_then(|e| e.as_ref())) {
            (Some(a), _) => &a.pidfd,
            (None, Some(e)) => e,
            (None, None) => self.never,
        }
    }
}
