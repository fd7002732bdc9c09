//! The agent: a process that makes one kernel call at a time on the
//! runner's behalf and reports the result. Each model process `Pn` is one
//! agent; `fork` forks the agent, `execve` re-executes it (or its
//! setuid-root copy), and the command channel survives both.
//!
//! The agent is single-threaded and maps nothing of its own near the VMA
//! slots, so its address space in the slot window is exactly what the trace
//! made. It ignores SIGCHLD (exited children are reaped by the kernel) and
//! exits as soon as its channel reaches end-of-file: when the runner dies,
//! however it dies, every agent blocked on its channel follows it.
//!
//! A setuid-root copy of this program exists while a run lasts, so the
//! agent must be no root shell for anyone else: an agent that gained
//! privilege by exec (AT_SECURE) serves only a caller that sends the
//! root-only token from its directory, it execs nothing but the two agent
//! images beside it, and it makes only the prctl calls the trace language
//! has.

use crate::abi;
use crate::proto::{
    Hello, Observed, Reply, Request, AGENT_ARG, MAX_MSG, PLAIN_IMAGE, SETUID_IMAGE, TOKEN_FILE, VERSION,
};
use crate::sys;
use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Runs the agent if this process was started as one (`argv[1]` is
/// `AGENT_ARG`); returns otherwise. A binary that embeds the agent calls
/// this first thing in `main`.
pub fn main_if_agent() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).map(|a| a.as_bytes()) == Some(AGENT_ARG.as_bytes()) {
        let fd = args.get(2).and_then(|s| s.to_str()).and_then(|s| s.parse::<RawFd>().ok());
        match fd {
            Some(fd) => serve(fd),
            None => {
                eprintln!("usage: {} {AGENT_ARG} CHANNEL_FD", args[0].to_string_lossy());
                unsafe { libc::_exit(2) }
            }
        }
    }
}

fn die(what: &str) -> ! {
    eprintln!("mmflags agent {}: {what}", std::process::id());
    unsafe { libc::_exit(3) }
}

fn hello(chan: RawFd) {
    let h = Hello {
        pid: std::process::id() as i32,
        uid: unsafe { libc::getuid() },
        euid: unsafe { libc::geteuid() },
        at_secure: unsafe { libc::getauxval(libc::AT_SECURE) } != 0,
        version: VERSION,
    };
    if sys::send(chan, &Reply::Hello(h).encode(), None).is_err() {
        unsafe { libc::_exit(0) }
    }
}

/// The directory this program's image is in.
fn own_dir() -> Option<PathBuf> {
    std::fs::read_link("/proc/self/exe").ok().and_then(|p| p.parent().map(Path::to_path_buf))
}

/// After a privilege-gaining exec: the caller's first request must carry
/// the token only root can read beside this image; otherwise leave.
fn authenticate(chan: RawFd, buf: &mut [u8]) {
    let want = own_dir().and_then(|d| std::fs::read(d.join(TOKEN_FILE)).ok());
    let got = match sys::recv(chan, buf) {
        Ok((n, _)) if n > 0 => Request::decode(&buf[..n]).ok(),
        _ => None,
    };
    match (want, got) {
        (Some(w), Some(Request::Auth { token })) if !w.is_empty() && w == token => {
            if sys::send(chan, &Reply::Ret(0).encode(), None).is_err() {
                unsafe { libc::_exit(0) }
            }
        }
        _ => die("refusing to serve: a privileged agent needs its runner's token"),
    }
}

/// The command loop on channel `chan`; never returns.
fn serve(chan: RawFd) -> ! {
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    hello(chan);
    let mut buf = vec![0u8; MAX_MSG];
    if unsafe { libc::getauxval(libc::AT_SECURE) } != 0 {
        authenticate(chan, &mut buf);
    }
    serve_loop(chan, buf)
}

/// Serves requests on `chan` with `buf` as the message buffer.
fn serve_loop(mut chan: RawFd, mut buf: Vec<u8>) -> ! {
    loop {
        let (n, fd) = match sys::recv(chan, &mut buf) {
            Ok((0, _)) => unsafe { libc::_exit(0) },
            Ok(x) => x,
            Err(_) => unsafe { libc::_exit(0) },
        };
        let req = Request::decode(&buf[..n]).unwrap_or_else(|e| die(&e.to_string()));
        let ret = match req {
            Request::Fork => {
                let child_chan = fd.unwrap_or_else(|| die("fork without a channel"));
                match fork(chan, child_chan) {
                    Forked::Child(c) => {
                        chan = c;
                        hello(chan);
                        continue;
                    }
                    Forked::Parent(r) => r,
                }
            }
            Request::Clone { flags } => {
                let child_chan = fd.unwrap_or_else(|| die("clone without a channel"));
                clone_task(chan, child_chan, flags)
            }
            Request::Execve { path } => execve(chan, &path),
            Request::Exit => unsafe { libc::_exit(0) },
            Request::Auth { .. } => 0,
            Request::Observe => {
                if sys::send(chan, &Reply::Observed(observe()).encode(), None).is_err() {
                    unsafe { libc::_exit(0) }
                }
                continue;
            }
            other => call(&other, fd),
        };
        if sys::send(chan, &Reply::Ret(ret).encode(), None).is_err() {
            unsafe { libc::_exit(0) }
        }
    }
}

enum Forked {
    Child(RawFd),
    Parent(i64),
}

fn fork(chan: RawFd, child_chan: OwnedFd) -> Forked {
    match unsafe { libc::fork() } {
        -1 => Forked::Parent(-sys::errno() as i64),
        0 => {
            unsafe { libc::close(chan) };
            Forked::Child(child_chan.into_raw_fd())
        }
        pid => Forked::Parent(pid as i64),
    }
}

/// A stack for a task that shares this mm: mapped where the kernel puts
/// anonymous memory, far from the VMA slots, and never unmapped (the task
/// may outlive the request; the next trace starts a new agent).
const CLONE_STACK: usize = 1 << 20;

/// What a task started by `clone_task` runs: hello on its own channel,
/// then the command loop. It shares this program's heap and thread-local
/// storage (no CLONE_SETTLS), which is safe because the runner speaks to
/// one task at a time and every other task waits in `recvmsg`.
extern "C" fn clone_child(arg: *mut libc::c_void) -> libc::c_int {
    let fds = arg as usize as u64;
    let (parent_chan, chan) = ((fds >> 32) as RawFd, (fds & 0xffff_ffff) as RawFd);
    // Its own file table (no CLONE_FILES): the parent's channel is not its.
    unsafe { libc::close(parent_chan) };
    hello(chan);
    serve_loop(chan, vec![0u8; MAX_MSG])
}

/// `clone(flags)`: the child serves `child_chan`. Returns the child's id
/// (for CLONE_VFORK, once the child has exec'd or exited), or `-errno`.
fn clone_task(chan: RawFd, child_chan: OwnedFd, flags: i64) -> i64 {
    let stack = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            CLONE_STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if stack == libc::MAP_FAILED {
        return -sys::errno() as i64;
    }
    let child_fd = child_chan.into_raw_fd();
    let arg = ((chan as u64) << 32 | child_fd as u64) as usize as *mut libc::c_void;
    // A thread has no exit signal; any other child is reaped by the kernel
    // (SIGCHLD is ignored).
    let signal = if flags & libc::CLONE_THREAD as i64 != 0 { 0 } else { libc::SIGCHLD };
    let top = unsafe { (stack as *mut u8).add(CLONE_STACK) } as *mut libc::c_void;
    let r = unsafe { libc::clone(clone_child, top, flags as libc::c_int | signal, arg) };
    let r = if r < 0 { -sys::errno() as i64 } else { r as i64 };
    // The child has its own copy of the file table, or failed to start.
    unsafe { libc::close(child_fd) };
    r
}

/// Returns only if `execve` failed (with `-errno`). Only the two agent
/// images beside this one may be executed.
fn execve(chan: RawFd, path: &[u8]) -> i64 {
    let p = Path::new(std::ffi::OsStr::from_bytes(path));
    let ours = p.parent().map(Path::to_path_buf) == own_dir()
        && p.file_name().is_some_and(|n| n == PLAIN_IMAGE || n == SETUID_IMAGE);
    if !ours {
        return -(libc::EPERM as i64);
    }
    let Ok(path) = CString::new(path) else {
        return -(libc::EINVAL as i64);
    };
    let arg = CString::new(AGENT_ARG).expect("no NUL");
    let fd = CString::new(chan.to_string()).expect("no NUL");
    let argv = [path.as_ptr(), arg.as_ptr(), fd.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null()];
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    -sys::errno() as i64
}

fn ret(r: libc::c_long) -> i64 {
    match sys::check(r) {
        Ok(v) => v,
        Err(e) => -(e as i64),
    }
}

/// `setresuid(user)`: the ids, then the capabilities. With `keep == 0`
/// the kernel's own rule drops every capability when the uids leave 0.
/// Otherwise PR_SET_KEEPCAPS holds them over the uid change and `capset`
/// plus PR_CAP_AMBIENT keep exactly `keep` (across later plain execs too).
fn setresuid(uid: u32, gid: u32, keep: u64) -> i64 {
    unsafe {
        // No uid leaves 0 (a process whose uids are all the user's, which
        // may hold capabilities: the model's `UserCaps`): the kernel keeps
        // every capability, so the harness must not trim them either.
        let (mut r, mut e, mut s) = (0, 0, 0);
        if libc::getresuid(&mut r, &mut e, &mut s) == 0 && r != 0 && e != 0 && s != 0 {
            return ret(libc::setresuid(uid, uid, uid) as libc::c_long);
        }
        if keep != 0 && libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 {
            return -sys::errno() as i64;
        }
        if libc::setresgid(gid, gid, gid) != 0 {
            return -sys::errno() as i64;
        }
        if libc::geteuid() == 0 && libc::setgroups(0, std::ptr::null()) != 0 {
            return -sys::errno() as i64;
        }
        let r = ret(libc::setresuid(uid, uid, uid) as libc::c_long);
        if r != 0 || keep == 0 {
            return r;
        }
        if let Err(e) = sys::capset(keep) {
            return -(e as i64);
        }
        for bit in (0..64).filter(|b| keep & (1 << b) != 0) {
            let raise = libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                bit as libc::c_ulong,
                0,
                0,
            );
            if raise != 0 {
                return -sys::errno() as i64;
            }
        }
        ret(libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) as libc::c_long)
    }
}

/// `touch`: writes every byte of `[addr, addr + len)` if one writable
/// mapping covers it; -EFAULT (nothing written) otherwise, where the write
/// would have killed the agent with SIGSEGV.
fn touch(addr: u64, len: u64) -> i64 {
    let maps = match std::fs::read_to_string("/proc/self/maps") {
        Ok(m) => m,
        Err(e) => return -(e.raw_os_error().unwrap_or(libc::EIO) as i64),
    };
    if !crate::procfs::writable_covers(&maps, addr, len) {
        return -(libc::EFAULT as i64);
    }
    // Memory this process mapped at a fixed address and nothing in Rust
    // owns: the writes cannot be elided, and each one faults in what is
    // not yet there (a write fault per page, or per huge page).
    unsafe { std::ptr::write_bytes(addr as *mut u8, 0x5a, len as usize) };
    0
}

/// `Request::Observe`: the GET prctls, each with every argument 0 (a
/// kernel without one answers -EINVAL).
fn observe() -> Observed {
    let get = |option: i32| ret(unsafe { libc::prctl(option, 0 as libc::c_ulong, 0, 0, 0) } as libc::c_long);
    Observed {
        thp_disable: get(abi::PR_GET_THP_DISABLE),
        memory_merge: get(abi::PR_GET_MEMORY_MERGE),
        mdwe: get(abi::PR_GET_MDWE),
    }
}

/// The calls that need nothing but their arguments.
fn call(req: &Request, fd: Option<OwnedFd>) -> i64 {
    unsafe {
        match *req {
            Request::Mmap { addr, len, prot } => {
                let p = libc::mmap(
                    addr as *mut libc::c_void,
                    len as usize,
                    prot as i32,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                    -1,
                    0,
                );
                if p == libc::MAP_FAILED {
                    -sys::errno() as i64
                } else if p as u64 != addr {
                    // A kernel without MAP_FIXED_NOREPLACE treats it as a hint.
                    libc::munmap(p, len as usize);
                    -(libc::EEXIST as i64)
                } else {
                    0
                }
            }
            Request::Mprotect { addr, len, prot } => {
                ret(libc::mprotect(addr as *mut libc::c_void, len as usize, prot as i32) as libc::c_long)
            }
            Request::Munmap { addr, len } => {
                ret(libc::munmap(addr as *mut libc::c_void, len as usize) as libc::c_long)
            }
            Request::Madvise { addr, len, advice } => {
                ret(libc::madvise(addr as *mut libc::c_void, len as usize, advice as i32) as libc::c_long)
            }
            Request::ProcessMadvise { ref iov, advice, flags } => {
                // `self` is a pidfd of the caller's own process: every
                // kernel since 5.10 has that, PIDFD_SELF only 6.15+.
                let own = match fd {
                    Some(_) => None,
                    None => match sys::pidfd_open(libc::getpid()) {
                        Ok(f) => Some(f),
                        Err(e) => return -(e as i64),
                    },
                };
                let pidfd = fd.as_ref().or(own.as_ref()).map(|f| f.as_raw_fd()).expect("one of the two");
                let vec: Vec<libc::iovec> = iov
                    .iter()
                    .flatten()
                    .map(|&(a, l)| libc::iovec { iov_base: a as *mut libc::c_void, iov_len: l as usize })
                    .collect();
                let (ptr, vlen) = match iov {
                    Some(_) => (vec.as_ptr(), vec.len()),
                    None => (std::ptr::null(), usize::MAX),
                };
                ret(libc::syscall(sys::SYS_PROCESS_MADVISE, pidfd, ptr, vlen, advice as i32, flags as u32))
            }
            Request::Prctl { option, .. } if !abi::PRCTL_ALLOWED.contains(&(option as i32)) => {
                -(libc::EPERM as i64)
            }
            Request::Mctl { action, flags } => {
                let own = match fd {
                    Some(_) => None,
                    None => match sys::pidfd_open(libc::getpid()) {
                        Ok(f) => Some(f),
                        Err(e) => return -(e as i64),
                    },
                };
                let pidfd = fd.as_ref().or(own.as_ref()).map(|f| f.as_raw_fd()).expect("one of the two");
                ret(libc::syscall(abi::NR_MCTL, pidfd, action, flags))
            }
            Request::Prctl { option, args } => ret(libc::prctl(
                option as i32,
                args[0] as libc::c_ulong,
                args[1] as libc::c_ulong,
                args[2] as libc::c_ulong,
                args[3] as libc::c_ulong,
            ) as libc::c_long),
            Request::Mlockall { flags } => ret(libc::mlockall(flags as i32) as libc::c_long),
            Request::Munlockall => ret(libc::munlockall() as libc::c_long),
            Request::Setresuid { uid, gid, keep } => setresuid(uid, gid, keep),
            Request::Touch { addr, len } => touch(addr, len),
            Request::Fork
            | Request::Clone { .. }
            | Request::Execve { .. }
            | Request::Exit
            | Request::Auth { .. }
            | Request::Observe => {
                unreachable!("handled by serve")
            }
        }
    }
}
