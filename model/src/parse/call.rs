//! Calls, results and steps: `P0: madvise(v0..v1, MADV_HUGEPAGE) = 0`.

use super::args::*;
use super::lex::{Lexer, Tok};
use super::ParseError;
use crate::action::*;
use crate::flags::VmFlags;
use crate::state::{Backing, Image};

/// The (bits, name) table of a flag type, as `parse_bits` takes it.
macro_rules! names_of {
    ($t:ty) => {
        <$t>::NAMES.iter().map(|(b, n)| (b.0, *n)).collect::<Vec<_>>()
    };
}

pub(super) const CALLS: &[&str] = &[
    "mmap",
    "mprotect",
    "munmap",
    "madvise",
    "process_madvise",
    "prctl",
    "mlockall",
    "munlockall",
    "fork",
    "vfork",
    "clone",
    "execve",
    "setresuid",
    "exit",
    "touch",
    "khugepaged",
    "pages",
    "vmflags",
    "thp_eligible",
    "thp_enabled",
    "mctl",
];

pub(super) fn parse_call(lx: &mut Lexer) -> Result<Call, ParseError> {
    let (name, col) = lx.ident("a call such as `mmap()`")?;
    if !CALLS.contains(&name.as_str()) {
        return Err(unknown(&name, col, "call", CALLS));
    }
    lx.expect(Tok::LParen, "`(`")?;
    let comma = |lx: &mut Lexer| lx.expect(Tok::Comma, "`,`");
    let call = match name.as_str() {
        "mmap" if *lx.peek() == Tok::RParen => Call::Mmap,
        "mmap" => match Prot(parse_bits(lx, "protection", &names_of!(Prot))?) {
            Prot::RW => Call::Mmap,
            p => Call::MmapProt(p),
        },
        "mprotect" => {
            let i = parse_item(lx)?;
            comma(lx)?;
            Call::Mprotect(i, Prot(parse_bits(lx, "protection", &names_of!(Prot))?))
        }
        "munmap" => Call::Munmap(parse_range(lx)?),
        "madvise" => {
            let r = parse_range(lx)?;
            comma(lx)?;
            Call::Madvise(r, parse_advice(lx)?)
        }
        "process_madvise" => {
            let target = parse_target(lx)?;
            comma(lx)?;
            let iov = match lx.peek().clone() {
                Tok::Ident(s) if s == "NULL" => {
                    lx.next();
                    Iovec::Null
                }
                Tok::LBrack => {
                    let open = lx.col();
                    lx.next();
                    let mut items = vec![parse_range(lx)?];
                    while *lx.peek() == Tok::Comma {
                        lx.next();
                        items.push(parse_range(lx)?);
                    }
                    lx.expect(Tok::RBrack, "`]` or `,`")?;
                    Iovec::List(IovList::new(&items).ok_or_else(|| ParseError {
                        col: open,
                        msg: format!(
                            "an iovec list holds 1 to {MAX_IOV} entries, this one has {}",
                            items.len()
                        ),
                    })?)
                }
                t => {
                    return lx.err(format!(
                        "expected an iovec list (`[v0, hole]`) or `NULL`, found {}",
                        t.describe()
                    ))
                }
            };
            comma(lx)?;
            let advice = parse_advice(lx)?;
            comma(lx)?;
            let flags = PmadvFlags(parse_bits(lx, "process_madvise flag", &names_of!(PmadvFlags))?);
            Call::ProcessMadvise { target, iov, advice, flags }
        }
        "prctl" => {
            // The option by name, or by number (the number a kernel gets).
            let (opt, ocol) = match lx.peek().clone() {
                Tok::Num(n) => {
                    let col = lx.col();
                    lx.next();
                    let n = number_u32(n, col)?;
                    let known = PRCTL_OPTIONS.iter().find(|(_, v)| *v == n).map(|(name, _)| *name);
                    match known {
                        // Both proposals posted 78 and 79: the number alone is the call.
                        Some(_) if n == PR_SET_THP_PROPOSED => {
                            comma(lx)?;
                            let a2 = num_arg(lx, "arg2 (a number)")?;
                            return close(lx, &name, Call::PrctlRaw(n, a2));
                        }
                        Some(_) if n == PR_GET_THP_PROPOSED => return close(lx, &name, Call::PrctlRaw(n, 0)),
                        Some(name) => (name.to_string(), col),
                        None => {
                            let list: Vec<String> =
                                PRCTL_OPTIONS.iter().map(|(name, v)| format!("{v} ({name})")).collect();
                            return Err(ParseError {
                                col,
                                msg: format!(
                                    "prctl option {n} is not one the trace language knows; it knows {}",
                                    list.join(", ")
                                ),
                            });
                        }
                    }
                }
                _ => lx.ident("a prctl option such as `PR_SET_THP_DISABLE`")?,
            };
            match opt.as_str() {
                "PR_SET_THP_DISABLE" => {
                    comma(lx)?;
                    let a2 = num_arg(lx, "arg2 (a number)")?;
                    comma(lx)?;
                    let fl = parse_bits(lx, "PR_SET_THP_DISABLE flag", &names_of!(ThpDisableFlags))?;
                    Call::PrctlSetThpDisable(a2, ThpDisableFlags(fl))
                }
                "PR_GET_THP_DISABLE" => Call::PrctlGetThpDisable,
                "PR_SET_MEMORY_MERGE" => {
                    comma(lx)?;
                    Call::PrctlSetMemoryMerge(num_arg(lx, "arg2 (a number)")?)
                }
                "PR_GET_MEMORY_MERGE" => Call::PrctlGetMemoryMerge,
                "PR_SET_MDWE" => {
                    comma(lx)?;
                    Call::PrctlSetMdwe(MdweBits(parse_bits(lx, "PR_SET_MDWE bit", &names_of!(MdweBits))?))
                }
                "PR_GET_MDWE" => Call::PrctlGetMdwe,
                "PR_SET_NO_NEW_PRIVS" => {
                    comma(lx)?;
                    Call::PrctlSetNoNewPrivs(num_arg(lx, "arg2 (a number)")?)
                }
                "PR_SET_THP_POLICY" => {
                    comma(lx)?;
                    Call::PrctlSetThpPolicy(ThpPolicy(parse_value(lx, "THP policy", &names_of!(ThpPolicy))?))
                }
                "PR_GET_THP_POLICY" => Call::PrctlGetThpPolicy,
                "PR_SET_THP_ALWAYS" => {
                    comma(lx)?;
                    Call::PrctlSetThpAlways(num_arg(lx, "arg2 (a number)")?)
                }
                "PR_GET_THP_ALWAYS" => Call::PrctlGetThpAlways,
                _ => {
                    let names: Vec<&str> = PRCTL_OPTIONS.iter().map(|(n, _)| *n).collect();
                    return Err(unknown(&opt, ocol, "prctl option", &names));
                }
            }
        }
        "mlockall" => Call::Mlockall(MclFlags(parse_bits(lx, "mlockall flag", &names_of!(MclFlags))?)),
        "munlockall" => Call::Munlockall,
        "fork" => Call::Fork,
        "vfork" => Call::Vfork,
        "clone" => Call::Clone(CloneFlags(parse_bits(lx, "clone flag", &names_of!(CloneFlags))?)),
        "execve" => {
            let (img, icol) = lx.ident("an image (`plain` or `setuid-root`)")?;
            match img.as_str() {
                "plain" => Call::Execve(Image::Plain),
                "setuid-root" => Call::Execve(Image::SetuidRoot),
                _ => return Err(unknown(&img, icol, "image", &["plain", "setuid-root"])),
            }
        }
        "setresuid" => {
            let (who, wcol) = lx.ident("`user`")?;
            if who != "user" {
                return Err(unknown(&who, wcol, "uid", &["user"]));
            }
            Call::Setresuid
        }
        "exit" => Call::Exit,
        "touch" => Call::Touch(parse_slot(lx, "touch")?),
        "khugepaged" => Call::Khugepaged,
        "pages" => Call::Pages(parse_item(lx)?),
        "vmflags" => Call::VmFlags(parse_item(lx)?),
        "thp_eligible" => Call::ThpEligible(parse_item(lx)?),
        "thp_enabled" => Call::ThpEnabled,
        "mctl" => {
            let target = parse_target(lx)?;
            comma(lx)?;
            let action = MctlAction(parse_value(lx, "mctl action", &names_of!(MctlAction))?);
            comma(lx)?;
            let flags = MctlFlags(parse_bits(lx, "mctl flag", &names_of!(MctlFlags))?);
            Call::Mctl { target, action, flags }
        }
        _ => unreachable!("CALLS lists every name matched above"),
    };
    close(lx, &name, call)
}

/// The closing `)` of a call's arguments.
fn close(lx: &mut Lexer, name: &str, call: Call) -> Result<Call, ParseError> {
    match lx.peek() {
        Tok::RParen => {
            lx.next();
            Ok(call)
        }
        Tok::Comma => lx.err(format!("too many arguments for `{name}`")),
        t => lx.err(format!("expected `)`, found {}", t.describe())),
    }
}

pub(super) fn parse_ret(lx: &mut Lexer) -> Result<Ret, ParseError> {
    match lx.next() {
        (Tok::Num(n), col) => i64::try_from(n)
            .map(Ret::Val)
            .map_err(|_| ParseError { col, msg: format!("result {n} is out of range") }),
        (Tok::Question, _) => Ok(Ret::NoReturn),
        (Tok::Minus, _) => match lx.next() {
            (Tok::Ident(s), col) => Errno::from_name(&s).map(Ret::Err).ok_or_else(|| {
                let names: Vec<&str> = Errno::ALL.iter().map(|e| e.1).collect();
                unknown(&s, col, "errno", &names)
            }),
            (Tok::Num(n), col) => {
                Err(ParseError { col, msg: format!("write errors by name, like `-EINVAL`, not `-{n}`") })
            }
            (t, col) => Err(ParseError {
                col,
                msg: format!("expected an errno name after `-`, found {}", t.describe()),
            }),
        },
        (Tok::LBrack, _) => {
            let mut flags = VmFlags::EMPTY;
            while let Tok::Ident(s) = lx.peek().clone() {
                let col = lx.col();
                lx.next();
                let printed: Vec<&str> = VmFlags::NAMES
                    .iter()
                    .filter(|(f, _, _)| VmFlags::PRINTED.contains(*f))
                    .map(|(_, _, m)| *m)
                    .collect();
                let f = VmFlags::from_name(&s)
                    .filter(|f| s.len() == 2 && VmFlags::PRINTED.contains(*f))
                    .ok_or_else(|| unknown(&s, col, "VMA flag", &printed))?;
                flags = flags | f;
            }
            lx.expect(Tok::RBrack, "a VMA flag (`hg nh lo lf dc wf mg ex`) or `]`")?;
            Ok(Ret::Flags(flags))
        }
        (Tok::Ident(s), col) => {
            if s == "unmapped" {
                return Ok(Ret::Unmapped);
            }
            if let Some(b) = Backing::from_name(&s) {
                return Ok(Ret::Backing(b));
            }
            if let Some(r) = pid_name(&s, col) {
                return r.map(Ret::Pid);
            }
            if let Some(r) = slot_name(&s, col) {
                return r.map(Ret::Vma);
            }
            Err(ParseError {
                col,
                msg: format!("`{s}` is not a result; results look like `0`, `-EINVAL`, `P1`, `v0`, `[hg]`, `small`, `unmapped` or `?`"),
            })
        }
        (t, col) => Err(ParseError { col, msg: format!("expected a result, found {}", t.describe()) }),
    }
}

pub(super) fn parse_step(lx: &mut Lexer) -> Result<Step, ParseError> {
    let (call, pid) = match lx.peek().clone() {
        // The kernel's own work is no process's call.
        Tok::Ident(s) if s == "khugepaged" => (parse_call(lx)?, KHUGEPAGED),
        _ => {
            let (p, col) = lx.ident("a process (`P0`)")?;
            let pid = match pid_name(&p, col) {
                Some(r) => r?,
                None => {
                    return Err(ParseError {
                        col,
                        msg: format!("a step starts with the calling process, like `P0 mmap()`; found `{p}`"),
                    })
                }
            };
            let call_col = lx.col();
            let call = parse_call(lx)?;
            if call == Call::Khugepaged {
                return Err(ParseError {
                    col: call_col,
                    msg: "khugepaged() is the kernel's scan, not a process's call: write it without a process, as `khugepaged()`".into(),
                });
            }
            (call, pid)
        }
    };

    let ret = if *lx.peek() == Tok::Eq {
        lx.next();
        Some(parse_ret(lx)?)
    } else {
        None
    };
    lx.end()?;
    Ok(Step { action: Action { pid, call }, ret })
}
