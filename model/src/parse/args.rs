//! The arguments calls share: slots and runs of slots, process names,
//! advice, flag words written as `NAME|NAME|0x..`, plain numbers.

use super::lex::{Lexer, Tok};
use super::ParseError;
use crate::action::*;
use crate::state::{MAX_PROCS, MAX_VMAS};
use crate::suggest::did_you_mean;

pub(super) fn unknown(word: &str, col: usize, what: &str, candidates: &[&str]) -> ParseError {
    let mut msg = format!("unknown {what} `{word}`");
    if let Some(s) = did_you_mean(word, candidates.iter().copied()) {
        msg.push_str(&format!("; did you mean `{s}`?"));
    } else if candidates.len() <= 12 {
        msg.push_str(&format!("; expected one of: {}", candidates.join(", ")));
    }
    ParseError { col, msg }
}

pub(super) fn number_u32(n: u64, col: usize) -> Result<u32, ParseError> {
    u32::try_from(n).map_err(|_| ParseError { col, msg: format!("{n} does not fit in the 32-bit argument") })
}

/// `vN` with N below the model's capacity.
pub(super) fn slot_name(s: &str, col: usize) -> Option<Result<u8, ParseError>> {
    let digits = s.strip_prefix('v')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match digits.parse::<usize>() {
        Ok(n) if n < MAX_VMAS => Ok(n as u8),
        _ => Err(ParseError {
            col,
            msg: format!("VMA slot `{s}` is beyond the model's {MAX_VMAS} slots (v0..v{})", MAX_VMAS - 1),
        }),
    })
}

/// `Pn` with n below the model's capacity.
pub(super) fn pid_name(s: &str, col: usize) -> Option<Result<u8, ParseError>> {
    let digits = s.strip_prefix('P')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match digits.parse::<usize>() {
        Ok(n) if n < MAX_PROCS => Ok(n as u8),
        _ => Err(ParseError {
            col,
            msg: format!("process `{s}` is beyond the model's {MAX_PROCS} slots (P0..P{})", MAX_PROCS - 1),
        }),
    })
}

pub(super) fn parse_item(lx: &mut Lexer) -> Result<Item, ParseError> {
    let (s, col) = lx.ident("a VMA slot (`v0`) or `hole`")?;
    if s == "hole" {
        return Ok(Item::Hole);
    }
    match slot_name(&s, col) {
        Some(r) => r.map(Item::Vma),
        None => Err(ParseError { col, msg: format!("expected a VMA slot (`v0`) or `hole`, found `{s}`") }),
    }
}

/// A VMA slot where `hole` makes no sense (`touch` writes a slot's memory).
pub(super) fn parse_slot(lx: &mut Lexer, call: &str) -> Result<Item, ParseError> {
    let col = lx.col();
    match parse_item(lx)? {
        Item::Hole => Err(ParseError {
            col,
            msg: format!(
                "`{call}(hole)`: `hole` is never mapped, so there is no memory to write; name a slot such as `v0` (an unmapped slot gives -EFAULT)"
            ),
        }),
        slot => Ok(slot),
    }
}

pub(super) fn parse_range(lx: &mut Lexer) -> Result<Range, ParseError> {
    let col = lx.col();
    let first = parse_item(lx)?;
    if *lx.peek() != Tok::DotDot {
        return Ok(Range::One(first));
    }
    lx.next();
    let end_col = lx.col();
    let last = parse_item(lx)?;
    match (first, last) {
        (Item::Vma(a), Item::Vma(b)) if a < b => Ok(Range::Run(a, b)),
        (Item::Vma(a), Item::Vma(b)) => Err(ParseError {
            col: end_col,
            msg: format!(
                "a run goes upwards: `v{a}..v{b}` should be `v{b}..v{a}`, and a single slot is just `v{a}`"
            ),
        }),
        _ => Err(ParseError {
            col,
            msg: "a run joins two VMA slots, like `v0..v2`; `hole` cannot start or end one".into(),
        }),
    }
}

pub(super) fn parse_target(lx: &mut Lexer) -> Result<Target, ParseError> {
    let (s, col) = lx.ident("a target (`self` or `P1`)")?;
    if s == "self" {
        return Ok(Target::SelfProc);
    }
    match pid_name(&s, col) {
        Some(r) => r.map(Target::Pid),
        None => Err(ParseError { col, msg: format!("expected a target (`self` or `P1`), found `{s}`") }),
    }
}

pub(super) fn parse_advice(lx: &mut Lexer) -> Result<Advice, ParseError> {
    match lx.next() {
        (Tok::Num(n), col) => {
            let n = number_u32(n, col)?;
            match UNMODELLED_ADVICE.iter().find(|(v, _)| *v == n) {
                Some((_, name)) => Err(ParseError {
                    col,
                    msg: format!(
                        "advice {n} is {name}, which the model does not model (it would answer -EINVAL \
                         where the kernel acts); the modelled advice are {}, and numbers no kernel \
                         defines (such as 12345) are -EINVAL",
                        Advice::KNOWN
                            .iter()
                            .map(|k| format!("{} ({})", k.1, k.2))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }),
                None => Ok(Advice::from_number(n)),
            }
        }
        (Tok::Ident(s), col) => Advice::from_name(&s).ok_or_else(|| {
            let names: Vec<&str> = Advice::KNOWN.iter().map(|k| k.1).collect();
            unknown(&s, col, "advice", &names)
        }),
        (t, col) => Err(ParseError {
            col,
            msg: format!("expected an advice (`MADV_HUGEPAGE` or a number), found {}", t.describe()),
        }),
    }
}

/// `NAME|NAME|0x..` or a number; names come from `names`.
pub(super) fn parse_bits(lx: &mut Lexer, what: &str, names: &[(u32, &str)]) -> Result<u32, ParseError> {
    let mut bits = 0u32;
    loop {
        match lx.next() {
            (Tok::Num(n), col) => bits |= number_u32(n, col)?,
            (Tok::Ident(s), col) => match names.iter().find(|(_, n)| *n == s) {
                Some((b, _)) => bits |= b,
                None => {
                    let cands: Vec<&str> = names.iter().map(|(_, n)| *n).collect();
                    return Err(unknown(&s, col, what, &cands));
                }
            },
            (t, col) => {
                return Err(ParseError {
                    col,
                    msg: format!(
                        "expected {what} (names joined by `|`, or a number), found {}",
                        t.describe()
                    ),
                })
            }
        }
        if *lx.peek() == Tok::Pipe {
            lx.next();
        } else {
            return Ok(bits);
        }
    }
}

pub(super) fn parse_value(lx: &mut Lexer, what: &str, names: &[(u32, &str)]) -> Result<u32, ParseError> {
    match lx.next() {
        (Tok::Num(n), col) => number_u32(n, col),
        (Tok::Ident(s), col) => names.iter().find(|(_, n)| *n == s).map(|(v, _)| *v).ok_or_else(|| {
            let cands: Vec<&str> = names.iter().map(|(_, n)| *n).collect();
            unknown(&s, col, what, &cands)
        }),
        (t, col) => Err(ParseError { col, msg: format!("expected {what}, found {}", t.describe()) }),
    }
}

pub(super) fn num_arg(lx: &mut Lexer, what: &str) -> Result<u32, ParseError> {
    parse_value(lx, what, &[])
}
