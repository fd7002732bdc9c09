//! Tokens of a predicate, each with its byte span in the text, so that
//! every later error can point at the token (the spec loader turns the
//! span into a line and column inside the TOML string).
//!
//! A name is letters, digits, `_` and `-` (words like `setuid-root` and
//! `secure-exec-kept` are names); the language has no arithmetic, so a
//! `-` never separates two names. The operators are `.`, `:`, `(`, `)`,
//! `==` and `!=`; what other languages spell `&&`, `||`, `!` or `=` is an
//! error that says how to write it here.

use super::PredError;

/// Longest predicate text read (a predicate is a line or a few).
pub const MAX_CHARS: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok<'a> {
    Name(&'a str),
    Dot,
    Colon,
    Open,
    Close,
    Eq,
    Ne,
}

impl Tok<'_> {
    pub fn show(&self) -> String {
        match self {
            Tok::Name(n) => format!("`{n}`"),
            Tok::Dot => "`.`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Open => "`(`".into(),
            Tok::Close => "`)`".into(),
            Tok::Eq => "`==`".into(),
            Tok::Ne => "`!=`".into(),
        }
    }
}

/// A token and the byte range it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    pub tok: Tok<'a>,
    pub at: usize,
    pub end: usize,
}

fn name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

pub fn lex(text: &str) -> Result<Vec<Token<'_>>, PredError> {
    if text.chars().count() > MAX_CHARS {
        return Err(PredError::new(
            0,
            format!(
                "a predicate is at most {MAX_CHARS} characters; split a long one into several properties"
            ),
        ));
    }
    let mut out = Vec::new();
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let two = |next: char| text[i + c.len_utf8()..].starts_with(next);
        let tok = match c {
            c if c.is_whitespace() => continue,
            '.' => Tok::Dot,
            ':' => Tok::Colon,
            '(' => Tok::Open,
            ')' => Tok::Close,
            '=' if two('=') => {
                it.next();
                Tok::Eq
            }
            '!' if two('=') => {
                it.next();
                Tok::Ne
            }
            c if name_start(c) => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = it.peek() {
                    if !name_char(d) {
                        break;
                    }
                    end = j + d.len_utf8();
                    it.next();
                }
                out.push(Token { tok: Tok::Name(&text[i..end]), at: i, end });
                continue;
            }
            _ => return Err(PredError::new(i, unexpected(text, i, c))),
        };
        let end = i + c.len_utf8() + matches!(tok, Tok::Eq | Tok::Ne) as usize;
        out.push(Token { tok, at: i, end });
    }
    Ok(out)
}

/// What to say about a character the language does not have.
fn unexpected(text: &str, i: usize, c: char) -> String {
    let rest = &text[i..];
    let hint = if rest.starts_with("&&") || c == '&' {
        "; write `and`"
    } else if rest.starts_with("||") || c == '|' {
        "; write `or`"
    } else if c == '!' {
        "; write `not`"
    } else if c == '=' {
        "; compare with `==`"
    } else if c == ',' {
        "; a quantifier binds one name: `all p: all q: ...`"
    } else if c == '"' || c == '\'' {
        "; words are written bare, like `p.image == setuid-root`"
    } else if !c.is_ascii() {
        "; names and words are ASCII letters, digits, `_` and `-`"
    } else if c.is_ascii_digit() {
        "; the language has no numbers: name slots by quantifying, like `any v in p.vmas: ...`"
    } else {
        ""
    };
    let shown = if c.is_control() { format!("{:?}", c) } else { format!("`{c}`") };
    format!("unexpected character {shown}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_hyphens_and_operators_have_spans() {
        let t = lex("p.image == setuid-root and(x!=y)").unwrap();
        let toks: Vec<Tok> = t.iter().map(|t| t.tok).collect();
        assert_eq!(
            toks,
            [
                Tok::Name("p"),
                Tok::Dot,
                Tok::Name("image"),
                Tok::Eq,
                Tok::Name("setuid-root"),
                Tok::Name("and"),
                Tok::Open,
                Tok::Name("x"),
                Tok::Ne,
                Tok::Name("y"),
                Tok::Close
            ]
        );
        assert_eq!((t[3].at, t[3].end), (8, 10));
        assert_eq!((t[4].at, t[4].end), (11, 22));
    }

    #[test]
    fn foreign_operators_say_how_to_write_them() {
        let e = lex("a && b").unwrap_err();
        assert_eq!(e.at, 2);
        assert!(e.msg.contains("write `and`"), "{}", e.msg);
        assert!(lex("!a").unwrap_err().msg.contains("`not`"));
        assert!(lex("a = b").unwrap_err().msg.contains("`==`"));
        let e = lex("é").unwrap_err();
        assert_eq!(e.at, 0);
    }
}
