//! The setuid-root agent image exists while a run lasts; it must be no root
//! shell for anyone who finds it. It serves only a caller with the runner's
//! root-only token, and no agent execs anything but the agent images or
//! makes a prctl the trace language does not have.

mod common;

use mmflags_conformance::proto::{Hello, Reply, Request, AGENT_ARG, MAX_MSG};
use mmflags_conformance::sys;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Starts `image` as `uid` with a channel of our own at its fd 3.
fn start(image: &Path, uid: u32) -> (Child, OwnedFd) {
    let (ours, theirs) = sys::seqpacket_pair().unwrap();
    let fd = theirs.as_raw_fd();
    let mut cmd = Command::new(image);
    cmd.args([AGENT_ARG, "3"]).stdin(Stdio::null()).uid(uid).gid(uid);
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    drop(theirs);
    (child, ours)
}

/// The next message, or `None` at end-of-file.
fn next(chan: &OwnedFd) -> Option<Reply> {
    assert!(sys::wait_readable(chan.as_raw_fd(), Duration::from_secs(5)).unwrap(), "no answer");
    let mut buf = [0u8; MAX_MSG];
    let (n, _) = sys::recv(chan.as_raw_fd(), &mut buf).unwrap();
    (n > 0).then(|| Reply::decode(&buf[..n]).unwrap())
}

fn hello(chan: &OwnedFd) -> Hello {
    match next(chan) {
        Some(Reply::Hello(h)) => h,
        other => panic!("expected a hello, got {other:?}"),
    }
}

#[test]
fn the_setuid_agent_serves_no_one_without_the_token() {
    let r = common::runner();
    let image = r.images().setuid_root.clone().expect("root makes the setuid image");
    for first in [
        Request::Auth { token: b"0123456789abcdef0123456789abcdef".to_vec() },
        Request::Execve { path: b"/bin/sh".to_vec() },
    ] {
        let (mut child, chan) = start(&image, 65534);
        let h = hello(&chan);
        assert_eq!((h.uid, h.euid, h.at_secure), (65534, 0, true));
        sys::send(chan.as_raw_fd(), &first.encode(), None).unwrap();
        assert_eq!(next(&chan), None, "it answered {first:?}");
        assert_eq!(child.wait().unwrap().code(), Some(3));
    }
}

#[test]
fn an_agent_execs_only_the_agent_images_and_makes_only_its_prctls() {
    let r = common::runner();
    let (mut child, chan) = start(&r.images().plain, 0);
    hello(&chan);
    let ask = |req: Request| {
        sys::send(chan.as_raw_fd(), &req.encode(), None).unwrap();
        next(&chan)
    };
    let eperm = Some(Reply::Ret(-(libc::EPERM as i64)));
    assert_eq!(ask(Request::Execve { path: b"/bin/sh".to_vec() }), eperm);
    let beside = r.images().dir().join("token");
    let beside = beside.as_os_str().as_encoded_bytes().to_vec();
    assert_eq!(ask(Request::Execve { path: beside }), eperm);
    let pdeathsig = Request::Prctl { option: libc::PR_SET_PDEATHSIG as i64, args: [9, 0, 0, 0] };
    assert_eq!(ask(pdeathsig), eperm);
    let own = r.images().plain.as_os_str().as_encoded_bytes().to_vec();
    assert!(matches!(ask(Request::Execve { path: own }), Some(Reply::Hello(_))));
    drop(chan);
    child.wait().unwrap();
}
