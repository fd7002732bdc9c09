//! The wire protocol between the runner and an agent: one request, one
//! reply, each a single `SOCK_SEQPACKET` message. Requests are kernel calls
//! with concrete arguments (addresses, numbers), not trace-language calls:
//! the agent stays a dumb pair of hands and every decision about names
//! (`v0`, `P1`) is the runner's.
//!
//! A message is a word count, that many little-endian `i64` words (the
//! opcode first), then raw bytes (only `execve` and `auth` have any). A file
//! descriptor rides along for `fork` (the child's channel) and for a remote
//! `process_madvise` (the target's pidfd).

use std::io;

/// Bumped whenever the messages change, so a stale agent binary is refused.
/// 6: `mmap` carries its protection, `mprotect`, and `observe` (the GET
/// prctls read after every step, in one message). 7: `clone`.
pub const VERSION: i64 = 7;
/// The argument that turns a binary into an agent: `AGENT channel-fd`.
pub const AGENT_ARG: &str = "__mmflags_agent";
pub const MAX_MSG: usize = 4096;

/// The images directory: the plain agent, its setuid-root copy, and the
/// root-only token a setuid-root agent demands before it serves anyone
/// (so the copy is no root shell for whoever finds it while it exists).
pub const PLAIN_IMAGE: &str = "mmflags-agent";
pub const SETUID_IMAGE: &str = "mmflags-agent-setuid-root";
pub const TOKEN_FILE: &str = "token";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `mmap(addr, len, prot, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE)`.
    Mmap {
        addr: u64,
        len: u64,
        prot: i64,
    },
    /// `mprotect(addr, len, prot)`.
    Mprotect {
        addr: u64,
        len: u64,
        prot: i64,
    },
    Munmap {
        addr: u64,
        len: u64,
    },
    Madvise {
        addr: u64,
        len: u64,
        advice: i64,
    },
    /// With `pidfd` attached, or a pidfd of the agent itself when none is. `iov: None` is
    /// a NULL vector with vlen `(size_t)-1`.
    ProcessMadvise {
        iov: Option<Vec<(u64, u64)>>,
        advice: i64,
        flags: u64,
    },
    Prctl {
        option: i64,
        args: [u64; 4],
    },
    Mlockall {
        flags: i64,
    },
    Munlockall,
    /// `syscall(NR_MCTL, pidfd, action, flags)` (`abi::NR_MCTL`), with the
    /// target's pidfd attached, or a pidfd of the agent itself.
    Mctl {
        action: i64,
        flags: u64,
    },
    /// `fork()`; the child's channel is attached. The parent replies with
    /// the child's pid, the child says hello on its channel.
    Fork,
    /// `clone(flags)` with a stack of its own; the child's channel is
    /// attached. The child says hello on its channel; the parent replies
    /// with the child's id, after the child execs or exits if the flags
    /// have `CLONE_VFORK`.
    Clone {
        flags: i64,
    },
    /// `execve(path, [path, AGENT, fd], [])`: the new image says hello.
    Execve {
        path: Vec<u8>,
    },
    /// `setresgid(gid)`, `setgroups(0)` when privileged, `setresuid(uid)`;
    /// then every capability is dropped except those in `keep` (a
    /// capability bit mask), which stay permitted, effective and ambient.
    Setresuid {
        uid: u32,
        gid: u32,
        keep: u64,
    },
    /// Writes every byte of `[addr, addr + len)`, after checking in
    /// `/proc/self/maps` that one writable mapping covers it all (else
    /// -EFAULT, and nothing is written: the agent must not die of it).
    Touch {
        addr: u64,
        len: u64,
    },
    /// What the process reads of itself only through a prctl, asked after
    /// every step: `PR_GET_THP_DISABLE`, `PR_GET_MEMORY_MERGE` and
    /// `PR_GET_MDWE`, all arguments 0. Replies `Reply::Observed`.
    Observe,
    /// `_exit(0)`: no reply.
    Exit,
    /// The first request to an agent that gained privilege by exec
    /// (AT_SECURE): the images directory's token, or it exits.
    Auth {
        token: Vec<u8>,
    },
}

/// What an agent says first, after `fork` and after `execve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello {
    pub pid: i32,
    pub uid: u32,
    pub euid: u32,
    pub at_secure: bool,
    pub version: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A syscall's return value, or `-errno`.
    Ret(i64),
    Hello(Hello),
    /// The answer to `Request::Observe`: each prctl's return value or
    /// `-errno`, in the request's order.
    Observed(Observed),
}

/// The GET prctls of `Request::Observe`, as the process itself got them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    pub thp_disable: i64,
    pub memory_merge: i64,
    pub mdwe: i64,
}

const OP_MMAP: i64 = 1;
const OP_MUNMAP: i64 = 2;
const OP_MADVISE: i64 = 3;
const OP_PROCESS_MADVISE: i64 = 4;
const OP_PRCTL: i64 = 5;
const OP_MLOCKALL: i64 = 6;
const OP_MUNLOCKALL: i64 = 7;
const OP_FORK: i64 = 8;
const OP_EXECVE: i64 = 9;
const OP_SETRESUID: i64 = 10;
const OP_EXIT: i64 = 11;
const OP_AUTH: i64 = 12;
const OP_MCTL: i64 = 13;
const OP_TOUCH: i64 = 14;
const OP_MPROTECT: i64 = 15;
const OP_OBSERVE: i64 = 16;
const OP_CLONE: i64 = 17;
const OP_RET: i64 = 100;
const OP_HELLO: i64 = 101;
const OP_OBSERVED: i64 = 102;

fn encode(words: &[i64], bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + words.len() * 8 + bytes.len());
    out.extend_from_slice(&(words.len() as u16).to_le_bytes());
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(bytes);
    out
}

fn decode(msg: &[u8]) -> io::Result<(Vec<i64>, &[u8])> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed agent message");
    let n = u16::from_le_bytes(msg.get(..2).ok_or_else(bad)?.try_into().unwrap()) as usize;
    let body = msg.get(2..2 + n * 8).ok_or_else(bad)?;
    let words = body.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect();
    Ok((words, &msg[2 + n * 8..]))
}

impl Request {
    pub fn encode(&self) -> Vec<u8> {
        let u = |x: u64| x as i64;
        match self {
            Request::Mmap { addr, len, prot } => encode(&[OP_MMAP, u(*addr), u(*len), *prot], &[]),
            Request::Mprotect { addr, len, prot } => encode(&[OP_MPROTECT, u(*addr), u(*len), *prot], &[]),
            Request::Munmap { addr, len } => encode(&[OP_MUNMAP, u(*addr), u(*len)], &[]),
            Request::Madvise { addr, len, advice } => encode(&[OP_MADVISE, u(*addr), u(*len), *advice], &[]),
            Request::ProcessMadvise { iov, advice, flags } => {
                let mut w = vec![OP_PROCESS_MADVISE, *advice, u(*flags)];
                match iov {
                    None => w.push(-1),
                    Some(v) => {
                        w.push(v.len() as i64);
                        for &(a, l) in v {
                            w.extend([u(a), u(l)]);
                        }
                    }
                }
                encode(&w, &[])
            }
            Request::Prctl { option, args } => {
                let mut w = vec![OP_PRCTL, *option];
                w.extend(args.iter().map(|&a| u(a)));
                encode(&w, &[])
            }
            Request::Mlockall { flags } => encode(&[OP_MLOCKALL, *flags], &[]),
            Request::Munlockall => encode(&[OP_MUNLOCKALL], &[]),
            Request::Mctl { action, flags } => encode(&[OP_MCTL, *action, u(*flags)], &[]),
            Request::Fork => encode(&[OP_FORK], &[]),
            Request::Clone { flags } => encode(&[OP_CLONE, *flags], &[]),
            Request::Execve { path } => encode(&[OP_EXECVE], path),
            Request::Setresuid { uid, gid, keep } => {
                encode(&[OP_SETRESUID, *uid as i64, *gid as i64, u(*keep)], &[])
            }
            Request::Touch { addr, len } => encode(&[OP_TOUCH, u(*addr), u(*len)], &[]),
            Request::Observe => encode(&[OP_OBSERVE], &[]),
            Request::Exit => encode(&[OP_EXIT], &[]),
            Request::Auth { token } => encode(&[OP_AUTH], token),
        }
    }

    pub fn decode(msg: &[u8]) -> io::Result<Request> {
        let (w, bytes) = decode(msg)?;
        let bad = || io::Error::new(io::ErrorKind::InvalidData, format!("bad request {w:?}"));
        let arg = |i: usize| w.get(i).copied().ok_or_else(bad);
        let u = |i: usize| arg(i).map(|x| x as u64);
        Ok(match arg(0)? {
            OP_MMAP => Request::Mmap { addr: u(1)?, len: u(2)?, prot: arg(3)? },
            OP_MPROTECT => Request::Mprotect { addr: u(1)?, len: u(2)?, prot: arg(3)? },
            OP_MUNMAP => Request::Munmap { addr: u(1)?, len: u(2)? },
            OP_MADVISE => Request::Madvise { addr: u(1)?, len: u(2)?, advice: arg(3)? },
            OP_PROCESS_MADVISE => {
                let n = arg(3)?;
                let iov = if n < 0 {
                    None
                } else {
                    Some(
                        (0..n as usize)
                            .map(|i| Ok((u(4 + 2 * i)?, u(5 + 2 * i)?)))
                            .collect::<io::Result<_>>()?,
                    )
                };
                Request::ProcessMadvise { iov, advice: arg(1)?, flags: u(2)? }
            }
            OP_PRCTL => Request::Prctl { option: arg(1)?, args: [u(2)?, u(3)?, u(4)?, u(5)?] },
            OP_MLOCKALL => Request::Mlockall { flags: arg(1)? },
            OP_MUNLOCKALL => Request::Munlockall,
            OP_MCTL => Request::Mctl { action: arg(1)?, flags: u(2)? },
            OP_FORK => Request::Fork,
            OP_CLONE => Request::Clone { flags: arg(1)? },
            OP_EXECVE => Request::Execve { path: bytes.to_vec() },
            OP_SETRESUID => Request::Setresuid { uid: arg(1)? as u32, gid: arg(2)? as u32, keep: u(3)? },
            OP_TOUCH => Request::Touch { addr: u(1)?, len: u(2)? },
            OP_OBSERVE => Request::Observe,
            OP_EXIT => Request::Exit,
            OP_AUTH => Request::Auth { token: bytes.to_vec() },
            _ => return Err(bad()),
        })
    }
}

impl Reply {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Reply::Ret(r) => encode(&[OP_RET, *r], &[]),
            Reply::Hello(h) => encode(
                &[OP_HELLO, h.pid as i64, h.uid as i64, h.euid as i64, h.at_secure as i64, h.version],
                &[],
            ),
            Reply::Observed(o) => encode(&[OP_OBSERVED, o.thp_disable, o.memory_merge, o.mdwe], &[]),
        }
    }

    pub fn decode(msg: &[u8]) -> io::Result<Reply> {
        let (w, _) = decode(msg)?;
        match w.as_slice() {
            [OP_RET, r] => Ok(Reply::Ret(*r)),
            [OP_HELLO, pid, uid, euid, sec, version] => Ok(Reply::Hello(Hello {
                pid: *pid as i32,
                uid: *uid as u32,
                euid: *euid as u32,
                at_secure: *sec != 0,
                version: *version,
            })),
            [OP_OBSERVED, thp_disable, memory_merge, mdwe] => Ok(Reply::Observed(Observed {
                thp_disable: *thp_disable,
                memory_merge: *memory_merge,
                mdwe: *mdwe,
            })),
            _ => Err(io::Error::new(io::ErrorKind::InvalidData, format!("bad reply {w:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let all = [
            Request::Mmap { addr: 1 << 45, len: 4 << 20, prot: 3 },
            Request::Mmap { addr: 1 << 45, len: 4 << 20, prot: 0 },
            Request::Mprotect { addr: 1 << 45, len: 4 << 20, prot: 5 },
            Request::Observe,
            Request::Munmap { addr: 5, len: 6 },
            Request::Madvise { addr: 7, len: 8, advice: 12345 },
            Request::ProcessMadvise { iov: Some(vec![(1, 2), (3, 4)]), advice: 14, flags: 0x8000_0000 },
            Request::ProcessMadvise { iov: None, advice: 20, flags: 0 },
            Request::Mctl { action: 2, flags: 1 },
            Request::Prctl { option: 41, args: [1, 2, 0, 0] },
            Request::Mlockall { flags: 7 },
            Request::Munlockall,
            Request::Fork,
            Request::Clone { flags: 0x4100 },
            Request::Execve { path: b"/tmp/x/agent".to_vec() },
            Request::Setresuid { uid: 65534, gid: 65534, keep: 1 << 14 },
            Request::Touch { addr: 1 << 45, len: 4 << 20 },
            Request::Exit,
            Request::Auth { token: b"0123abcd".to_vec() },
        ];
        for r in all {
            assert_eq!(Request::decode(&r.encode()).unwrap(), r);
        }
        let h = Reply::Hello(Hello { pid: 42, uid: 65534, euid: 0, at_secure: true, version: VERSION });
        assert_eq!(Reply::decode(&h.encode()).unwrap(), h);
        assert_eq!(Reply::decode(&Reply::Ret(-22).encode()).unwrap(), Reply::Ret(-22));
        let o = Reply::Observed(Observed { thp_disable: 3, memory_merge: -22, mdwe: 1 });
        assert_eq!(Reply::decode(&o.encode()).unwrap(), o);
        assert!(Request::decode(&[1]).is_err());
    }
}
