//! The reader of the trace language: `FromStr` for `Call`, `Action`, `Ret`
//! and `Step`, and `Trace::parse` for whole files. Errors carry the 1-based
//! column and, for a misspelled name, a "did you mean". Nothing here panics,
//! whatever the input.

use crate::action::*;
use crate::flags::VmFlags;
use crate::state::{Image, Sysfs, MAX_PROCS, MAX_VMAS};
use crate::suggest::did_you_mean;
use std::fmt;
use std::str::FromStr;

/// A parse error at a column of one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based column (in characters).
    pub col: usize,
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.col, self.msg)
    }
}

impl std::error::Error for ParseError {}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Num(u64),
    LParen,
    RParen,
    LBrack,
    RBrack,
    Comma,
    Pipe,
    Eq,
    DotDot,
    Minus,
    Question,
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Num(n) => format!("`{n}`"),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBrack => "`[`".into(),
            Tok::RBrack => "`]`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Pipe => "`|`".into(),
            Tok::Eq => "`=`".into(),
            Tok::DotDot => "`..`".into(),
            Tok::Minus => "`-`".into(),
            Tok::Question => "`?`".into(),
            Tok::End => "end of line".into(),
        }
    }
}

struct Lexer {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

fn lex(s: &str) -> Result<Lexer, ParseError> {
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBrack),
            ']' => Some(Tok::RBrack),
            ',' => Some(Tok::Comma),
            '|' => Some(Tok::Pipe),
            '=' => Some(Tok::Eq),
            '-' => Some(Tok::Minus),
            '?' => Some(Tok::Question),
            _ => None,
        };
        if let Some(t) = single {
            toks.push((t, col));
            i += 1;
        } else if c == '.' {
            if chars.get(i + 1) == Some(&'.') {
                toks.push((Tok::DotDot, col));
                i += 2;
            } else {
                return Err(ParseError {
                    col,
                    msg: "a lone `.`; a run of VMA slots is written `v0..v2`".into(),
                });
            }
        } else if c.is_ascii_digit() {
            let start = i;
            let (radix, digits_from) =
                if c == '0' && matches!(chars.get(i + 1), Some('x' | 'X')) { (16, i + 2) } else { (10, i) };
            i = digits_from;
            while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let text: String = chars[digits_from..i].iter().collect();
            let n = u64::from_str_radix(&text, radix).map_err(|_| ParseError {
                col: start + 1,
                msg: format!(
                    "`{}` is not a number (decimal or 0x-prefixed hex that fits in 64 bits)",
                    chars[start..i].iter().collect::<String>()
                ),
            })?;
            toks.push((Tok::Num(n), col));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '_'
                    || (chars[i] == '-' && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic())))
            {
                i += 1;
            }
            toks.push((Tok::Ident(chars[start..i].iter().collect()), start + 1));
        } else {
            return Err(ParseError { col, msg: format!("unexpected character `{c}`") });
        }
    }
    toks.push((Tok::End, chars.len() + 1));
    Ok(Lexer { toks, pos: 0 })
}

impl Lexer {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }
    fn col(&self) -> usize {
        self.toks[self.pos].1
    }
    fn next(&mut self) -> (Tok, usize) {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn err<T>(&self, msg: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { col: self.col(), msg: msg.into() })
    }
    fn expect(&mut self, t: Tok, what: &str) -> Result<(), ParseError> {
        if *self.peek() == t {
            self.next();
            Ok(())
        } else {
            self.err(format!("expected {what}, found {}", self.peek().describe()))
        }
    }
    fn ident(&mut self, what: &str) -> Result<(String, usize), ParseError> {
        match self.next() {
            (Tok::Ident(s), c) => Ok((s, c)),
            (t, c) => Err(ParseError { col: c, msg: format!("expected {what}, found {}", t.describe()) }),
        }
    }
    fn end(&mut self) -> Result<(), ParseError> {
        match self.peek() {
            Tok::End => Ok(()),
            t => self.err(format!("unexpected {} after the end", t.describe())),
        }
    }
}

fn unknown(word: &str, col: usize, what: &str, candidates: &[&str]) -> ParseError {
    let mut msg = format!("unknown {what} `{word}`");
    if let Some(s) = did_you_mean(word, candidates.iter().copied()) {
        msg.push_str(&format!("; did you mean `{s}`?"));
    } else if candidates.len() <= 12 {
        msg.push_str(&format!("; expected one of: {}", candidates.join(", ")));
    }
    ParseError { col, msg }
}

fn number_u32(n: u64, col: usize) -> Result<u32, ParseError> {
    u32::try_from(n).map_err(|_| ParseError { col, msg: format!("{n} does not fit in the 32-bit argument") })
}

/// `vN` with N below the model's capacity.
fn slot_name(s: &str, col: usize) -> Option<Result<u8, ParseError>> {
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
fn pid_name(s: &str, col: usize) -> Option<Result<u8, ParseError>> {
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

fn parse_item(lx: &mut Lexer) -> Result<Item, ParseError> {
    let (s, col) = lx.ident("a VMA slot (`v0`) or `hole`")?;
    if s == "hole" {
        return Ok(Item::Hole);
    }
    match slot_name(&s, col) {
        Some(r) => r.map(Item::Vma),
        None => Err(ParseError { col, msg: format!("expected a VMA slot (`v0`) or `hole`, found `{s}`") }),
    }
}

fn parse_range(lx: &mut Lexer) -> Result<Range, ParseError> {
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

fn parse_target(lx: &mut Lexer) -> Result<Target, ParseError> {
    let (s, col) = lx.ident("a target (`self` or `P1`)")?;
    if s == "self" {
        return Ok(Target::SelfProc);
    }
    match pid_name(&s, col) {
        Some(r) => r.map(Target::Pid),
        None => Err(ParseError { col, msg: format!("expected a target (`self` or `P1`), found `{s}`") }),
    }
}

fn parse_advice(lx: &mut Lexer) -> Result<Advice, ParseError> {
    match lx.next() {
        (Tok::Num(n), col) => Ok(Advice::from_number(number_u32(n, col)?)),
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
fn parse_bits(lx: &mut Lexer, what: &str, names: &[(u32, &str)]) -> Result<u32, ParseError> {
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

fn parse_value(lx: &mut Lexer, what: &str, names: &[(u32, &str)]) -> Result<u32, ParseError> {
    match lx.next() {
        (Tok::Num(n), col) => number_u32(n, col),
        (Tok::Ident(s), col) => names.iter().find(|(_, n)| *n == s).map(|(v, _)| *v).ok_or_else(|| {
            let cands: Vec<&str> = names.iter().map(|(_, n)| *n).collect();
            unknown(&s, col, what, &cands)
        }),
        (t, col) => Err(ParseError { col, msg: format!("expected {what}, found {}", t.describe()) }),
    }
}

fn num_arg(lx: &mut Lexer, what: &str) -> Result<u32, ParseError> {
    parse_value(lx, what, &[])
}

macro_rules! names_of {
    ($t:ty) => {
        <$t>::NAMES.iter().map(|(b, n)| (b.0, *n)).collect::<Vec<_>>()
    };
}

const CALLS: &[&str] = &[
    "mmap",
    "munmap",
    "madvise",
    "process_madvise",
    "prctl",
    "mlockall",
    "munlockall",
    "fork",
    "execve",
    "setresuid",
    "exit",
    "vmflags",
    "thp_eligible",
    "thp_enabled",
    "mctl",
];

const PRCTL_OPTIONS: &[&str] = &[
    "PR_SET_THP_DISABLE",
    "PR_GET_THP_DISABLE",
    "PR_SET_NO_NEW_PRIVS",
    "PR_SET_THP_POLICY",
    "PR_GET_THP_POLICY",
    "PR_SET_THP_ALWAYS",
    "PR_GET_THP_ALWAYS",
];

fn parse_call(lx: &mut Lexer) -> Result<Call, ParseError> {
    let (name, col) = lx.ident("a call such as `mmap()`")?;
    if !CALLS.contains(&name.as_str()) {
        return Err(unknown(&name, col, "call", CALLS));
    }
    lx.expect(Tok::LParen, "`(`")?;
    let comma = |lx: &mut Lexer| lx.expect(Tok::Comma, "`,`");
    let call = match name.as_str() {
        "mmap" => Call::Mmap,
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
            let (opt, ocol) = lx.ident("a prctl option such as `PR_SET_THP_DISABLE`")?;
            match opt.as_str() {
                "PR_SET_THP_DISABLE" => {
                    comma(lx)?;
                    let a2 = num_arg(lx, "arg2 (a number)")?;
                    comma(lx)?;
                    let fl = parse_bits(lx, "PR_SET_THP_DISABLE flag", &names_of!(ThpDisableFlags))?;
                    Call::PrctlSetThpDisable(a2, ThpDisableFlags(fl))
                }
                "PR_GET_THP_DISABLE" => Call::PrctlGetThpDisable,
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
                _ => return Err(unknown(&opt, ocol, "prctl option", PRCTL_OPTIONS)),
            }
        }
        "mlockall" => Call::Mlockall(MclFlags(parse_bits(lx, "mlockall flag", &names_of!(MclFlags))?)),
        "munlockall" => Call::Munlockall,
        "fork" => Call::Fork,
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
    match lx.peek() {
        Tok::RParen => {
            lx.next();
            Ok(call)
        }
        Tok::Comma => lx.err(format!("too many arguments for `{name}`")),
        t => lx.err(format!("expected `)`, found {}", t.describe())),
    }
}

fn parse_ret(lx: &mut Lexer) -> Result<Ret, ParseError> {
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
                let f = VmFlags::from_name(&s)
                    .filter(|_| s.len() == 2)
                    .ok_or_else(|| unknown(&s, col, "VMA flag", &["hg", "nh", "lo", "lf", "dc", "wf"]))?;
                flags = flags | f;
            }
            lx.expect(Tok::RBrack, "a VMA flag (`hg nh lo lf dc wf`) or `]`")?;
            Ok(Ret::Flags(flags))
        }
        (Tok::Ident(s), col) => {
            if s == "unmapped" {
                return Ok(Ret::Unmapped);
            }
            if let Some(r) = pid_name(&s, col) {
                return r.map(Ret::Pid);
            }
            if let Some(r) = slot_name(&s, col) {
                return r.map(Ret::Vma);
            }
            Err(ParseError {
                col,
                msg: format!("`{s}` is not a result; results look like `0`, `-EINVAL`, `P1`, `v0`, `[hg]`, `unmapped` or `?`"),
            })
        }
        (t, col) => Err(ParseError { col, msg: format!("expected a result, found {}", t.describe()) }),
    }
}

fn parse_step(lx: &mut Lexer) -> Result<Step, ParseError> {
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
    let call = parse_call(lx)?;
    let ret = if *lx.peek() == Tok::Eq {
        lx.next();
        Some(parse_ret(lx)?)
    } else {
        None
    };
    lx.end()?;
    Ok(Step { action: Action { pid, call }, ret })
}

fn run<T>(s: &str, f: impl FnOnce(&mut Lexer) -> Result<T, ParseError>) -> Result<T, ParseError> {
    let mut lx = lex(s)?;
    let v = f(&mut lx)?;
    lx.end()?;
    Ok(v)
}

impl FromStr for Call {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Call, ParseError> {
        run(s, parse_call)
    }
}

impl FromStr for Ret {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Ret, ParseError> {
        run(s, parse_ret)
    }
}

impl FromStr for Step {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Step, ParseError> {
        run(s, parse_step)
    }
}

impl FromStr for Action {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Action, ParseError> {
        let step: Step = s.parse()?;
        match step.ret {
            None => Ok(step.action),
            Some(_) => Err(ParseError {
                col: s.find('=').map(|i| s[..i].chars().count() + 1).unwrap_or(1),
                msg: "an action has no result; use a step for `... = RESULT`".into(),
            }),
        }
    }
}

/// A trace file: an optional `# sysfs: MODE` header and one step per line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    pub sysfs: Option<Sysfs>,
    /// Each step with its 1-based line number in the file.
    pub steps: Vec<(usize, Step)>,
}

/// A trace-file error at line:column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.msg)
    }
}

impl Trace {
    pub fn parse(text: &str) -> Result<Trace, TraceError> {
        let mut trace = Trace::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let (code, comment) = match raw.find('#') {
                Some(k) => (&raw[..k], Some(&raw[k + 1..])),
                None => (raw, None),
            };
            if let Some(c) = comment {
                if let Some(mode) = c.trim().strip_prefix("sysfs:") {
                    let mode = mode.trim();
                    let col = raw.find(mode).map(|k| raw[..k].chars().count() + 1).unwrap_or(1);
                    let m = Sysfs::from_name(mode).ok_or_else(|| TraceError {
                        line,
                        col,
                        msg: format!("unknown sysfs mode `{mode}`; expected never, madvise or always"),
                    })?;
                    if trace.sysfs.is_some_and(|old| old != m) {
                        return Err(TraceError {
                            line,
                            col,
                            msg: "a second, different `# sysfs:` header".into(),
                        });
                    }
                    trace.sysfs = Some(m);
                }
            }
            if code.trim().is_empty() {
                continue;
            }
            let step: Step =
                code.parse().map_err(|e: ParseError| TraceError { line, col: e.col, msg: e.msg })?;
            trace.steps.push((line, step));
        }
        Ok(trace)
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(m) = self.sysfs {
            writeln!(f, "# sysfs: {m}")?;
        }
        for (_, s) in &self.steps {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}
