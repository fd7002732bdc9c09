//! One trace's process tree on the real kernel: the agents that stand for
//! `P0`, `P1`, ..., talking to them, and what the kernel shows of each.
//! (`calls` turns a trace-language call into a request.) `fork() = Pn`
//! hands out the lowest free name, like a file descriptor, and each agent's
//! pidfd is kept from its birth, so `Pn` as a `process_madvise` target is
//! that pidfd even after the process is gone (or a reaped stranger's, when
//! no process ever had the name): the kernel itself answers ESRCH.
//!
//! Lifetime: P0 is spawned in its own process group with
//! `PR_SET_PDEATHSIG(SIGKILL)`; every agent exits when its channel closes;
//! and dropping the `Tree` SIGKILLs every agent through its pidfd and reaps
//! it. So agents never outlive the runner, and a stuck agent is a timeout
//! error, never a hang.

use crate::machine::Images;
use crate::procfs::{self, Snapshot};
use crate::proto::{Hello, Reply, Request, AGENT_ARG, MAX_MSG, VERSION};
use crate::sys;
use mmflags_model::action::{CloneFlags, Ret};
use mmflags_model::state::{Image, MAX_PROCS};
use mmflags_model::Errno;
use std::fmt;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a trace could not be run to the end on the kernel (as opposed to
/// the kernel answering differently, which is a mismatch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HarnessError {
    /// An agent did not answer within the timeout.
    Stuck { proc: u8, pid: i32, what: String },
    /// The step cannot be run at all (a dead caller, no free name): the
    /// trace is bad input.
    BadStep(String),
    /// The kernel refused the step because of a limit of this machine that
    /// the model does not have (RLIMIT_MEMLOCK): the step says nothing
    /// about the model and is skipped, with the rest of its trace.
    Limit(String),
    /// Something else went wrong in the harness itself.
    Broken(String),
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HarnessError::Stuck { proc, pid, what } => {
                write!(f, "agent P{proc} (pid {pid}) did not answer `{what}` in time: stuck, killed")
            }
            HarnessError::BadStep(m) | HarnessError::Limit(m) | HarnessError::Broken(m) => f.write_str(m),
        }
    }
}

pub(crate) fn broken(e: impl fmt::Display) -> HarnessError {
    HarnessError::Broken(e.to_string())
}

/// How a tree runs: its bounds and its patience.
#[derive(Clone, Copy, Debug)]
pub struct TreeConfig {
    /// Process names `fork` may hand out (`P0..P{procs-1}`).
    pub procs: usize,
    /// VMA names `mmap` may hand out (`v0..v{vmas-1}`).
    pub vmas: usize,
    /// How long one agent may take to answer.
    pub timeout: Duration,
    /// RLIMIT_MEMLOCK could not be lifted for the agents.
    pub memlock_limited: bool,
    /// Capabilities `setresuid(user)` keeps (a bit mask; normally none).
    pub user_keeps: u64,
}

pub(crate) struct Agent {
    /// The process id (a thread's is its thread group's).
    pub(crate) pid: i32,
    pub(crate) pidfd: OwnedFd,
    chan: OwnedFd,
    hello: Hello,
    /// One of several threads of the process `pid` (CLONE_THREAD).
    thread: bool,
    /// Blocked in `vfork()` until this name execs or exits: its reply is
    /// still to come.
    vfork_child: Option<u8>,
}

impl Agent {
    fn new(pid: i32, pidfd: OwnedFd, chan: OwnedFd, hello: Hello) -> Agent {
        Agent { pid, pidfd, chan, hello, thread: false, vfork_child: None }
    }
}

/// A live tree of agents for one trace.
pub struct Tree<'a> {
    images: &'a Images,
    pub(crate) cfg: TreeConfig,
    pub(crate) agents: [Option<Agent>; MAX_PROCS],
    /// pidfds of exited agents, by name, until the name is reused.
    pub(crate) exited: [Option<OwnedFd>; MAX_PROCS],
    /// Every agent ever started, for the kill-and-reap on drop.
    all: Vec<(i32, OwnedFd)>,
    p0: Option<Child>,
    /// A pidfd of a process that has been reaped: the target of `Pn` when
    /// no process was ever called Pn.
    pub(crate) never: &'a OwnedFd,
}

/// A pidfd of a process that has already been reaped (for `Pn` targets
/// that name nobody, so the kernel itself answers ESRCH).
pub fn reaped_pidfd() -> Result<OwnedFd, String> {
    let mut child = Command::new("/bin/true")
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawning /bin/true: {e}"))?;
    let fd = sys::pidfd_open(child.id() as i32)
        .map_err(|e| format!("pidfd_open: {}", std::io::Error::from_raw_os_error(e)));
    let _ = child.wait();
    fd
}

/// A call by agent `p` while it waits in `vfork()` for `child`: the model's
/// own words for it (`StepError::VforkParentBlocked`).
fn blocked(p: u8, child: u8) -> HarnessError {
    let e = mmflags_model::StepError::VforkParentBlocked { parent: p as usize, child: child as usize };
    HarnessError::BadStep(e.to_string())
}

fn recv_reply(chan: &OwnedFd, timeout: Duration) -> Result<Option<Reply>, std::io::Error> {
    if !sys::wait_readable(chan.as_raw_fd(), timeout)? {
        return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "timeout"));
    }
    let mut buf = [0u8; MAX_MSG];
    let (n, _) = sys::recv(chan.as_raw_fd(), &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    Reply::decode(&buf[..n]).map(Some)
}

impl<'a> Tree<'a> {
    /// Starts P0: the plain agent image, as this process's credentials,
    /// RLIMIT_MEMLOCK unlimited (the model has no memlock limit).
    pub fn spawn(images: &'a Images, never: &'a OwnedFd, cfg: TreeConfig) -> Result<Tree<'a>, HarnessError> {
        let (ours, theirs) = sys::seqpacket_pair().map_err(broken)?;
        let fd = theirs.as_raw_fd();
        let mut cmd = Command::new(&images.plain);
        cmd.arg(AGENT_ARG).arg("3").env_clear().stdin(Stdio::null()).stdout(Stdio::null()).process_group(0);
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
                let inf = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
                if libc::setrlimit(libc::RLIMIT_MEMLOCK, &inf) != 0 {
                    let mut cur: libc::rlimit = std::mem::zeroed();
                    libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut cur);
                    cur.rlim_cur = cur.rlim_max;
                    libc::setrlimit(libc::RLIMIT_MEMLOCK, &cur);
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| broken(format!("starting {}: {e}", images.plain.display())))?;
        drop(theirs);
        let pid = child.id() as i32;
        let mut tree = Tree {
            images,
            cfg,
            agents: Default::default(),
            exited: Default::default(),
            all: Vec::new(),
            p0: Some(child),
            never,
        };
        let pidfd = sys::pidfd_open(pid).map_err(|e| broken(format!("pidfd_open({pid}): errno {e}")))?;
        tree.all.push((pid, pidfd.try_clone().map_err(broken)?));
        let hello = tree.await_hello(0, pid, &ours, "start")?;
        tree.agents[0] = Some(Agent::new(pid, pidfd, ours, hello));
        Ok(tree)
    }

    fn await_hello(&self, proc: u8, pid: i32, chan: &OwnedFd, what: &str) -> Result<Hello, HarnessError> {
        match recv_reply(chan, self.cfg.timeout) {
            Ok(Some(Reply::Hello(h))) if h.version == VERSION => Ok(h),
            Ok(Some(Reply::Hello(h))) => Err(broken(format!(
                "agent protocol version {} but this runner speaks {VERSION}: rebuild the agent",
                h.version
            ))),
            Ok(Some(r)) => Err(broken(format!("P{proc}: expected a hello after {what}, got {r:?}"))),
            Ok(None) => Err(broken(format!("P{proc} (pid {pid}) died during {what}"))),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                Err(HarnessError::Stuck { proc, pid, what: what.to_string() })
            }
            Err(e) => Err(broken(e)),
        }
    }

    pub(crate) fn agent(&self, p: u8) -> Result<&Agent, HarnessError> {
        self.agents
            .get(p as usize)
            .and_then(|a| a.as_ref())
            .ok_or_else(|| HarnessError::BadStep(format!("P{p} is not a live process at this point")))
    }

    /// The live process names.
    pub fn live(&self) -> impl Iterator<Item = u8> + '_ {
        (0..MAX_PROCS as u8).filter(|&p| self.agents[p as usize].is_some())
    }

    /// What agent `p` said when it last started (after fork or exec).
    pub fn hello(&self, p: u8) -> Option<Hello> {
        self.agents.get(p as usize)?.as_ref().map(|a| a.hello)
    }

    /// Sends `req` to agent `p` (with `fd` attached) and waits for its answer.
    pub(crate) fn request(
        &self,
        p: u8,
        req: &Request,
        fd: Option<&OwnedFd>,
        what: &str,
    ) -> Result<Reply, HarnessError> {
        let a = self.agent(p)?;
        if let Some(c) = a.vfork_child {
            return Err(blocked(p, c));
        }
        sys::send(a.chan.as_raw_fd(), &req.encode(), fd.map(|f| f.as_raw_fd()))
            .map_err(|e| broken(format!("P{p} (pid {}): sending `{what}`: {e}", a.pid)))?;
        match recv_reply(&a.chan, self.cfg.timeout) {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(broken(format!("P{p} (pid {}) died during `{what}`", a.pid))),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                Err(HarnessError::Stuck { proc: p, pid: a.pid, what: what.to_string() })
            }
            Err(e) => Err(broken(e)),
        }
    }

    pub(crate) fn syscall(
        &self,
        p: u8,
        req: &Request,
        fd: Option<&OwnedFd>,
        what: &str,
    ) -> Result<i64, HarnessError> {
        match self.request(p, req, fd, what)? {
            Reply::Ret(r) => Ok(r),
            r => Err(broken(format!("P{p}: expected a result for `{what}`, got {r:?}"))),
        }
    }

    /// Reads what the kernel shows of process `p`.
    pub fn snapshot(&self, p: u8) -> Result<Snapshot, HarnessError> {
        let a = self.agent(p)?;
        let slots = procfs::read_slots(a.pid).map_err(broken)?;
        let thp_enabled = procfs::read_thp_enabled(a.pid).map_err(broken)?;
        // A vfork parent cannot answer; its child, which shares the mm
        // the GET prctls read, can.
        let mut asked = p;
        while let Some(c) = self.agent(asked)?.vfork_child {
            asked = c;
        }
        match self.request(asked, &Request::Observe, None, "the GET prctls")? {
            Reply::Observed(o) => Ok(Snapshot {
                slots,
                thp_enabled,
                thp_disable: o.thp_disable,
                memory_merge: o.memory_merge,
                mdwe: o.mdwe,
            }),
            r => Err(broken(format!("P{p}: expected the GET prctls, got {r:?}"))),
        }
    }

    pub(crate) fn fork(&mut self, p: u8, what: &str) -> Result<Ret, HarnessError> {
        let n = (0..self.cfg.procs.min(MAX_PROCS) as u8)
            .find(|&n| self.agents[n as usize].is_none())
            .ok_or_else(|| {
                HarnessError::BadStep(format!(
                    "fork() needs a free process slot, and all {} are in use",
                    self.cfg.procs
                ))
            })?;
        let (ours, theirs) = sys::seqpacket_pair().map_err(broken)?;
        let r = self.syscall(p, &Request::Fork, Some(&theirs), what)?;
        drop(theirs);
        if r < 0 {
            return Errno::from_number(-r as i32)
                .map(Ret::Err)
                .ok_or_else(|| broken(format!("fork: errno {}", -r)));
        }
        let pid = r as i32;
        let pidfd = sys::pidfd_open(pid).map_err(|e| broken(format!("pidfd_open({pid}): errno {e}")))?;
        self.all.push((pid, pidfd.try_clone().map_err(broken)?));
        let hello = self.await_hello(n, pid, &ours, what)?;
        self.exited[n as usize] = None;
        self.agents[n as usize] = Some(Agent::new(pid, pidfd, ours, hello));
        Ok(Ret::Pid(n))
    }

    /// `clone(flags)` (and `vfork()`): the child agent serves its own
    /// channel; with CLONE_VFORK the parent's reply waits until the child
    /// execs or exits (`release_vfork_parents`).
    pub(crate) fn clone(&mut self, p: u8, flags: CloneFlags, what: &str) -> Result<Ret, HarnessError> {
        let n = (0..self.cfg.procs.min(MAX_PROCS) as u8)
            .find(|&n| self.agents[n as usize].is_none())
            .ok_or_else(|| {
                HarnessError::BadStep(format!(
                    "clone() needs a free process slot, and all {} are in use",
                    self.cfg.procs
                ))
            })?;
        let (ours, theirs) = sys::seqpacket_pair().map_err(broken)?;
        let a = self.agent(p)?;
        let req = Request::Clone { flags: flags.0 as i64 };
        sys::send(a.chan.as_raw_fd(), &req.encode(), Some(theirs.as_raw_fd()))
            .map_err(|e| broken(format!("P{p} (pid {}): sending `{what}`: {e}", a.pid)))?;
        drop(theirs);
        let vfork = flags.contains(CloneFlags::CLONE_VFORK);
        if !vfork {
            // The parent answers first: the child's id, or why there is none.
            match recv_reply(&a.chan, self.cfg.timeout) {
                Ok(Some(Reply::Ret(r))) if r < 0 => {
                    return Errno::from_number(-r as i32)
                        .map(Ret::Err)
                        .ok_or_else(|| broken(format!("clone: errno {}", -r)));
                }
                Ok(Some(Reply::Ret(_))) => {}
                Ok(r) => return Err(broken(format!("P{p}: expected clone's result, got {r:?}"))),
                Err(e) => return Err(broken(format!("P{p}: waiting for clone's result: {e}"))),
            }
        }
        if vfork {
            // The child's hello, or the parent's errno if there is no child.
            let deadline = Instant::now() + self.cfg.timeout;
            let parent = self.agent(p)?.chan.as_raw_fd();
            while !sys::wait_readable(ours.as_raw_fd(), Duration::from_millis(5)).map_err(broken)? {
                if sys::wait_readable(parent, Duration::ZERO).map_err(broken)? {
                    return match recv_reply(&self.agent(p)?.chan, self.cfg.timeout) {
                        Ok(Some(Reply::Ret(r))) if r < 0 => Errno::from_number(-r as i32)
                            .map(Ret::Err)
                            .ok_or_else(|| broken(format!("vfork: errno {}", -r))),
                        r => {
                            Err(broken(format!("P{p}: vfork() returned before its child said hello: {r:?}")))
                        }
                    };
                }
                if Instant::now() > deadline {
                    return Err(HarnessError::Stuck { proc: n, pid: 0, what: what.to_string() });
                }
            }
        }
        let hello = self.await_hello(n, 0, &ours, what)?;
        let pid = hello.pid;
        let pidfd = sys::pidfd_open(pid).map_err(|e| broken(format!("pidfd_open({pid}): errno {e}")))?;
        if !flags.contains(CloneFlags::CLONE_THREAD) {
            self.all.push((pid, pidfd.try_clone().map_err(broken)?));
        }
        let mut child = Agent::new(pid, pidfd, ours, hello);
        child.thread = flags.contains(CloneFlags::CLONE_THREAD);
        if let Some(a) = self.agents[p as usize].as_mut() {
            a.thread |= child.thread;
            if vfork {
                a.vfork_child = Some(n);
            }
        }
        self.exited[n as usize] = None;
        self.agents[n as usize] = Some(child);
        Ok(Ret::Pid(n))
    }

    /// After an exec or an exit: every parent blocked in `vfork()` whose
    /// child has exec'd (`execed`) or is gone gets its reply, the child's id.
    fn release_vfork_parents(&mut self, execed: Option<u8>) -> Result<(), HarnessError> {
        for q in 0..MAX_PROCS {
            let Some(c) = self.agents[q].as_ref().and_then(|a| a.vfork_child) else { continue };
            if Some(c) != execed && self.agents[c as usize].is_some() {
                continue;
            }
            let a = self.agents[q].as_ref().expect("checked");
            match recv_reply(&a.chan, self.cfg.timeout) {
                Ok(Some(Reply::Ret(r))) if r > 0 => {}
                r => {
                    return Err(broken(format!(
                        "P{q}: expected vfork()'s return once P{c} let it go, got {r:?}"
                    )))
                }
            }
            self.agents[q].as_mut().expect("checked").vfork_child = None;
        }
        Ok(())
    }

    /// The other threads of `p`'s thread group, which an exec by `p` or an
    /// exit of any of them ends.
    fn threads_of(&self, p: u8) -> Vec<u8> {
        let Some(me) = self.agents[p as usize].as_ref().filter(|a| a.thread) else { return Vec::new() };
        (0..MAX_PROCS as u8)
            .filter(|&q| {
                q != p && self.agents[q as usize].as_ref().is_some_and(|a| a.thread && a.pid == me.pid)
            })
            .collect()
    }

    pub(crate) fn execve(&mut self, p: u8, image: Image, what: &str) -> Result<Ret, HarnessError> {
        let path = match image {
            Image::Plain => &self.images.plain,
            Image::SetuidRoot => self.images.setuid_root.as_ref().ok_or_else(|| {
                HarnessError::BadStep(
                    "execve(setuid-root) needs the setuid-root agent image, which only root can make".into(),
                )
            })?,
        };
        let req = Request::Execve { path: path.as_os_str().as_encoded_bytes().to_vec() };
        match self.request(p, &req, None, what)? {
            Reply::Ret(r) => Errno::from_number(-r as i32)
                .map(Ret::Err)
                .ok_or_else(|| broken(format!("execve: returned {r}"))),
            Reply::Hello(h) if h.version == VERSION => {
                if h.at_secure {
                    // It gained privilege: it serves only who knows the token.
                    let token = self.images.token.clone().unwrap_or_default();
                    let ok = self.syscall(p, &Request::Auth { token }, None, "authenticate")?;
                    if ok != 0 {
                        return Err(broken(format!("P{p}: the exec'd agent refused the token")));
                    }
                }
                // de_thread(): the other threads are gone; the exec'd image
                // is a process of its own, with the thread group's id.
                for q in self.threads_of(p) {
                    if let Some(gone) = self.agents[q as usize].take() {
                        self.exited[q as usize] = Some(gone.pidfd);
                    }
                }
                if let Some(a) = self.agents[p as usize].as_mut() {
                    a.hello = h;
                    a.thread = false;
                }
                self.release_vfork_parents(Some(p))?;
                Ok(Ret::Val(0))
            }
            Reply::Hello(h) => Err(broken(format!(
                "the exec'd agent speaks protocol {} but this runner speaks {VERSION}",
                h.version
            ))),
            r @ Reply::Observed(_) => Err(broken(format!("P{p}: expected execve's result, got {r:?}"))),
        }
    }

    pub(crate) fn exit(&mut self, p: u8, what: &str) -> Result<Ret, HarnessError> {
        // exit_group(): the process goes, with every thread of it; a task
        // that shares the mm in a process of its own stays.
        let threads = self.threads_of(p);
        let a = self.agents[p as usize]
            .take()
            .ok_or_else(|| HarnessError::BadStep(format!("P{p} is not a live process at this point")))?;
        if let Some(c) = a.vfork_child {
            self.agents[p as usize] = Some(a);
            return Err(blocked(p, c));
        }
        sys::send(a.chan.as_raw_fd(), &Request::Exit.encode(), None)
            .map_err(|e| broken(format!("P{p}: sending exit: {e}")))?;
        if !self.await_gone(a.pid, &a.pidfd) {
            return Err(HarnessError::Stuck { proc: p, pid: a.pid, what: what.to_string() });
        }
        for q in threads {
            if let Some(gone) = self.agents[q as usize].take() {
                self.exited[q as usize] = Some(gone.pidfd);
            }
        }
        self.exited[p as usize] = Some(a.pidfd);
        self.release_vfork_parents(None)?;
        Ok(Ret::NoReturn)
    }

    /// Waits until `pid` has exited and been reaped (by us, as its parent or
    /// subreaper, or by its parent agent, which ignores SIGCHLD).
    fn await_gone(&mut self, pid: i32, pidfd: &OwnedFd) -> bool {
        let deadline = Instant::now() + self.cfg.timeout;
        if let Some(c) = self.p0.as_mut().filter(|c| c.id() as i32 == pid) {
            let ok = sys::wait_readable(pidfd.as_raw_fd(), self.cfg.timeout).unwrap_or(false);
            if ok {
                let _ = c.wait();
                self.p0 = None;
            }
            return ok;
        }
        while Instant::now() < deadline {
            if sys::reap(pid, pidfd) {
                return true;
            }
            let _ = sys::wait_readable(pidfd.as_raw_fd(), Duration::from_millis(1));
        }
        false
    }
}

impl Drop for Tree<'_> {
    fn drop(&mut self) {
        for (_, fd) in &self.all {
            let _ = sys::pidfd_signal(fd, libc::SIGKILL);
        }
        if let Some(mut c) = self.p0.take() {
            let _ = c.wait();
        }
        let all = std::mem::take(&mut self.all);
        for (pid, fd) in &all {
            self.await_gone(*pid, fd);
        }
    }
}
