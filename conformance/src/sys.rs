//! Thin, checked wrappers over the few libc calls both sides of the
//! runner/agent pair need and that std does not offer (socketpairs with fd
//! passing, pidfds, poll with a timeout, raw syscall numbers). Each returns
//! `Err(errno)` the way the kernel reports it, so callers can hand the
//! number back to the trace language unchanged.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

pub const SYS_PIDFD_OPEN: libc::c_long = 434;
pub const SYS_PIDFD_SEND_SIGNAL: libc::c_long = 424;
pub const SYS_PROCESS_MADVISE: libc::c_long = 440;

/// The calling thread's errno, positive.
pub fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

/// A syscall's `-1`/`MAP_FAILED` turned into `Err(errno)`.
pub fn check(r: libc::c_long) -> Result<libc::c_long, i32> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// A `SOCK_SEQPACKET` pair, both ends close-on-exec: message boundaries are
/// kept, and a peer that dies is seen as end-of-file.
pub fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    let r = unsafe {
        libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

const CMSG_SPACE_ONE_FD: usize = 32;

/// Sends one message, with at most one file descriptor attached.
pub fn send(sock: RawFd, bytes: &[u8], fd: Option<RawFd>) -> io::Result<()> {
    let mut iov = libc::iovec { iov_base: bytes.as_ptr() as *mut libc::c_void, iov_len: bytes.len() };
    let mut cbuf = [0u8; CMSG_SPACE_ONE_FD];
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as _;
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut RawFd, fd);
        }
    }
    loop {
        let r = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
        if r >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Receives one message (empty on end-of-file) and the descriptor attached
/// to it, if any. The descriptor is *not* close-on-exec: the agent keeps
/// channels across `execve`.
pub fn recv(sock: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr() as *mut libc::c_void, iov_len: buf.len() };
    let mut cbuf = [0u8; CMSG_SPACE_ONE_FD];
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = cbuf.len() as _;
    let n = loop {
        let r = unsafe { libc::recvmsg(sock, &mut msg, 0) };
        if r >= 0 {
            break r as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    if msg.msg_flags & libc::MSG_TRUNC != 0 {
        return Err(io::Error::other("message truncated"));
    }
    let mut fd = None;
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let raw = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const RawFd);
                fd = Some(OwnedFd::from_raw_fd(raw));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n, fd))
}

/// Waits until `fd` is readable (or hung up). `Ok(false)` on timeout.
pub fn wait_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r > 0 {
            return Ok(true);
        }
        if r == 0 {
            return Ok(false);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `pidfd_open(pid, 0)`.
pub fn pidfd_open(pid: libc::pid_t) -> Result<OwnedFd, i32> {
    let r = check(unsafe { libc::syscall(SYS_PIDFD_OPEN, pid, 0) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`.
pub fn pidfd_signal(pidfd: &OwnedFd, sig: i32) -> Result<(), i32> {
    check(unsafe {
        libc::syscall(SYS_PIDFD_SEND_SIGNAL, pidfd.as_raw_fd(), sig, std::ptr::null::<libc::siginfo_t>(), 0)
    })
    .map(|_| ())
}

/// Reaps `pid` if it is a zombie child of ours; `true` once the process
/// is gone for good (reaped by us or by anyone else).
pub fn reap(pid: libc::pid_t, pidfd: &OwnedFd) -> bool {
    let mut status = 0;
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG | libc::__WALL) };
    if r == pid {
        return true;
    }
    // Not (or not yet) our child: gone once even a zombie is no more.
    pidfd_signal(pidfd, 0) == Err(libc::ESRCH)
}

/// Makes this process the reaper of its orphaned descendants, so an agent
/// whose parent agent exited is still waited for by the runner.
pub fn become_subreaper() -> Result<(), i32> {
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } as libc::c_long).map(|_| ())
}

/// `capset(2)`: permitted, effective and inheritable all become `caps`
/// (a mask of capability numbers below 64).
pub fn capset(caps: u64) -> Result<(), i32> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut hdr = Header { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let half = |shift: u32| {
        let w = (caps >> shift) as u32;
        Data { effective: w, permitted: w, inheritable: w }
    };
    let data = [half(0), half(32)];
    check(unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) }).map(|_| ())
}
