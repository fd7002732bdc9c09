//! Tokens of one line of the trace language, each with its 1-based column.

use super::ParseError;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
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
    pub(super) fn describe(&self) -> String {
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

pub(super) struct Lexer {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

pub(super) fn lex(s: &str) -> Result<Lexer, ParseError> {
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
    pub(super) fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }
    pub(super) fn col(&self) -> usize {
        self.toks[self.pos].1
    }
    pub(super) fn next(&mut self) -> (Tok, usize) {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    pub(super) fn err<T>(&self, msg: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { col: self.col(), msg: msg.into() })
    }
    pub(super) fn expect(&mut self, t: Tok, what: &str) -> Result<(), ParseError> {
        if *self.peek() == t {
            self.next();
            Ok(())
        } else {
            self.err(format!("expected {what}, found {}", self.peek().describe()))
        }
    }
    pub(super) fn ident(&mut self, what: &str) -> Result<(String, usize), ParseError> {
        match self.next() {
            (Tok::Ident(s), c) => Ok((s, c)),
            (t, c) => Err(ParseError { col: c, msg: format!("expected {what}, found {}", t.describe()) }),
        }
    }
    pub(super) fn end(&mut self) -> Result<(), ParseError> {
        match self.peek() {
            Tok::End => Ok(()),
            t => self.err(format!("unexpected {} after the end", t.describe())),
        }
    }
}
