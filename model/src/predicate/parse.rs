//! The grammar, loosest first, as a recursive-descent parser over tokens:
//!
//! ```text
//! expr    := quant | or
//! quant   := ("all" | "any") NAME ["in" value] ":" expr
//! or      := and {"or" and}
//! and     := not {"and" not}
//! not     := "not" not | quant | primary
//! primary := "(" expr ")" | "true" | "false" | test
//! test    := value [("has" | "==" | "!=") value]
//! value   := NAME ["." NAME]
//! ```
//!
//! A quantifier may stand wherever a `not` operand may, and its body
//! extends as far right as it can: `a and all p: b or c` is
//! `a and (all p: (b or c))`. What the names mean (variables, fields,
//! words) is the type checker's business (`check.rs`); the parser only
//! knows the shape. Nesting is bounded, so hostile input cannot exhaust
//! the stack.

use super::lex::{lex, Tok, Token};
use super::PredError;
use std::fmt;

/// Deepest nesting of `not`, parentheses and quantifiers.
pub const MAX_DEPTH: usize = 64;

/// A name as written, with its byte span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name<'a> {
    pub text: &'a str,
    pub at: usize,
    pub end: usize,
}

/// A value: `VAR.FIELD`, or a bare name (`sysfs`, a word, or a mistake).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Field { var: Name<'a>, field: Name<'a> },
    Bare(Name<'a>),
}

impl Value<'_> {
    pub fn at(&self) -> usize {
        match self {
            Value::Field { var, .. } => var.at,
            Value::Bare(n) => n.at,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Has,
    Eq,
    Ne,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr<'a> {
    /// `all`/`any` NAME [`in` VALUE] `:` body.
    Quant {
        all: bool,
        var: Name<'a>,
        over: Option<Value<'a>>,
        body: Box<Expr<'a>>,
    },
    Or(Vec<Expr<'a>>),
    And(Vec<Expr<'a>>),
    Not(Box<Expr<'a>>),
    Const(bool),
    /// A value alone (it must be true or false).
    Bare(Value<'a>),
    /// `left OP right`, with the operator's position.
    Test {
        left: Value<'a>,
        op: Op,
        op_at: usize,
        right: Value<'a>,
    },
}

const KEYWORDS: [&str; 9] = ["all", "any", "in", "or", "and", "not", "has", "true", "false"];

pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

struct Parser<'a> {
    toks: Vec<Token<'a>>,
    pos: usize,
    depth: usize,
    /// Where the text ends (for "ends where ... was expected").
    len: usize,
}

pub fn parse(text: &str) -> Result<Expr<'_>, PredError> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return Err(PredError::new(
            0,
            "the predicate is empty; write one like `all p: not p.def_flags has VM_HUGEPAGE`",
        ));
    }
    let mut p = Parser { toks, pos: 0, depth: 0, len: text.len() };
    let e = p.expr()?;
    if let Some(t) = p.peek() {
        let hint = match t.tok {
            Tok::Close => "; this `)` closes nothing".to_string(),
            _ => "; join two conditions with `and` or `or`".to_string(),
        };
        return Err(PredError::new(
            t.at,
            format!("unexpected {} after a complete predicate{hint}", t.tok.show()),
        ));
    }
    Ok(e)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token<'a>> {
        self.toks.get(self.pos).copied()
    }

    fn peek_name(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Name(n), .. }) if n == kw)
    }

    fn bump(&mut self) -> Option<Token<'a>> {
        let t = self.peek();
        self.pos += t.is_some() as usize;
        t
    }

    /// Where the previous token ended: the place a missing token was expected.
    fn here(&self) -> usize {
        self.pos.checked_sub(1).and_then(|i| self.toks.get(i)).map_or(self.len, |t| t.end)
    }

    fn missing(&self, what: &str) -> PredError {
        match self.peek() {
            Some(t) => PredError::new(t.at, format!("expected {what}, found {}", t.tok.show())),
            None => PredError::new(self.here(), format!("the predicate ends where {what} was expected")),
        }
    }

    fn deeper(&mut self, at: usize) -> Result<(), PredError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PredError::new(
                at,
                format!("nested more than {MAX_DEPTH} deep; split the predicate"),
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr<'a>, PredError> {
        if self.peek_name("all") || self.peek_name("any") {
            return self.quant();
        }
        self.or()
    }

    fn quant(&mut self) -> Result<Expr<'a>, PredError> {
        let q = self.bump().expect("peeked");
        self.deeper(q.at)?;
        let all = q.tok == Tok::Name("all");
        let word = if all { "all" } else { "any" };
        let var = match self.peek() {
            Some(Token { tok: Tok::Name(n), at, end }) if !is_keyword(n) => Name { text: n, at, end },
            Some(Token { tok: Tok::Name(n), at, .. }) => {
                return Err(PredError::new(
                    at,
                    format!("`{n}` is a keyword; `{word}` takes a variable name, like `{word} p:`"),
                ))
            }
            _ => return Err(self.missing(&format!("a variable name after `{word}`, like `{word} p:`"))),
        };
        self.bump();
        let over = if self.peek_name("in") {
            self.bump();
            Some(self.value(&format!("what `{word} {} in` ranges over, like `p.vmas`", var.text))?)
        } else {
            None
        };
        match self.peek() {
            Some(Token { tok: Tok::Colon, .. }) => {
                self.bump();
            }
            _ => {
                let form = format!("`{word} {0}:` or `{word} {0} in p.vmas:`", var.text);
                return Err(self.missing(&format!("`:` after the quantifier ({form})")));
            }
        }
        let body = self.expr()?;
        self.depth -= 1;
        Ok(Expr::Quant { all, var, over, body: Box::new(body) })
    }

    fn or(&mut self) -> Result<Expr<'a>, PredError> {
        let mut v = vec![self.and()?];
        while self.peek_name("or") {
            self.bump();
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 { v.pop().expect("one") } else { Expr::Or(v) })
    }

    fn and(&mut self) -> Result<Expr<'a>, PredError> {
        let mut v = vec![self.not()?];
        while self.peek_name("and") {
            self.bump();
            v.push(self.not()?);
        }
        Ok(if v.len() == 1 { v.pop().expect("one") } else { Expr::And(v) })
    }

    fn not(&mut self) -> Result<Expr<'a>, PredError> {
        if self.peek_name("not") {
            let t = self.bump().expect("peeked");
            self.deeper(t.at)?;
            let e = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        if self.peek_name("all") || self.peek_name("any") {
            return self.quant();
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr<'a>, PredError> {
        match self.peek() {
            Some(Token { tok: Tok::Open, at, .. }) => {
                self.bump();
                self.deeper(at)?;
                let e = self.expr()?;
                match self.bump() {
                    Some(Token { tok: Tok::Close, .. }) => {}
                    Some(t) => {
                        return Err(PredError::new(
                            t.at,
                            format!("expected `)` to close an earlier `(`, found {}", t.tok.show()),
                        ))
                    }
                    None => {
                        return Err(PredError::new(at, "this `(` is never closed; add a `)`".to_string()))
                    }
                }
                self.depth -= 1;
                Ok(e)
            }
            Some(Token { tok: Tok::Name("true"), .. }) => {
                self.bump();
                Ok(Expr::Const(true))
            }
            Some(Token { tok: Tok::Name("false"), .. }) => {
                self.bump();
                Ok(Expr::Const(false))
            }
            _ => self.test(),
        }
    }

    fn test(&mut self) -> Result<Expr<'a>, PredError> {
        let left = self.value("a condition (a test like `p.nnp`, `p.def_flags has VM_HUGEPAGE`, `p.cred == root`, a quantifier, `not`, or `(`)")?;
        let op = match self.peek() {
            Some(Token { tok: Tok::Name("has"), at, .. }) => (Op::Has, at),
            Some(Token { tok: Tok::Eq, at, .. }) => (Op::Eq, at),
            Some(Token { tok: Tok::Ne, at, .. }) => (Op::Ne, at),
            _ => return Ok(Expr::Bare(left)),
        };
        self.bump();
        if let (Op::Eq | Op::Ne, Some(Token { tok: Tok::Name(b @ ("true" | "false")), at, .. })) =
            (op.0, self.peek())
        {
            return Err(PredError::new(
                at,
                format!("no `== {b}` needed: `{left}` is a test by itself (write `{left}` or `not {left}`)"),
            ));
        }
        let what = match op.0 {
            Op::Has => "a word after `has`, like `VM_HUGEPAGE`",
            _ => "a word to compare with, like `root`",
        };
        let right = self.value(what)?;
        Ok(Expr::Test { left, op: op.0, op_at: op.1, right })
    }

    fn value(&mut self, what: &str) -> Result<Value<'a>, PredError> {
        let first = match self.peek() {
            Some(Token { tok: Tok::Name(n), at, end }) if !is_keyword(n) => Name { text: n, at, end },
            Some(Token { tok: Tok::Name(n), at, .. }) => {
                return Err(PredError::new(at, format!("expected {what}, found the keyword `{n}`")))
            }
            _ => return Err(self.missing(what)),
        };
        self.bump();
        if !matches!(self.peek(), Some(Token { tok: Tok::Dot, .. })) {
            return Ok(Value::Bare(first));
        }
        self.bump();
        match self.peek() {
            Some(Token { tok: Tok::Name(n), at, end }) => {
                self.bump();
                Ok(Value::Field { var: first, field: Name { text: n, at, end } })
            }
            _ => Err(self.missing(&format!("a field name after `{0}.`, like `{0}.def_flags`", first.text))),
        }
    }
}

/// Prints the canonical form: every compound parenthesized, names as
/// written. Parsing it again gives the same tree (the fuzz oracle).
impl fmt::Display for Expr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, v: &[Expr<'_>], op: &str| -> fmt::Result {
            f.write_str("(")?;
            for (i, e) in v.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{e}")?;
            }
            f.write_str(")")
        };
        match self {
            Expr::Quant { all, var, over, body } => {
                write!(f, "({} {}", if *all { "all" } else { "any" }, var.text)?;
                if let Some(o) = over {
                    write!(f, " in {o}")?;
                }
                write!(f, ": {body})")
            }
            Expr::Or(v) => list(f, v, "or"),
            Expr::And(v) => list(f, v, "and"),
            Expr::Not(e) => write!(f, "(not {e})"),
            Expr::Const(b) => write!(f, "{b}"),
            Expr::Bare(v) => write!(f, "{v}"),
            Expr::Test { left, op, right, .. } => {
                let op = match op {
                    Op::Has => "has",
                    Op::Eq => "==",
                    Op::Ne => "!=",
                };
                write!(f, "{left} {op} {right}")
            }
        }
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Field { var, field } => write!(f, "{}.{}", var.text, field.text),
            Value::Bare(n) => f.write_str(n.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        parse(s).unwrap().to_string()
    }

    #[test]
    fn precedence_loosest_first() {
        assert_eq!(canon("a or b and not c"), "(a or (b and (not c)))");
        assert_eq!(canon("all p: a or b"), "(all p: (a or b))");
        assert_eq!(canon("x and all p: a or b"), "(x and (all p: (a or b)))");
        assert_eq!(canon("not all p in q.vmas: a"), "(not (all p in q.vmas: a))");
        assert_eq!(canon("(a or b) and c"), "((a or b) and c)");
        assert_eq!(canon("p.def_flags has VM_HUGEPAGE"), "p.def_flags has VM_HUGEPAGE");
        assert_eq!(canon("p.cred != root or true"), "(p.cred != root or true)");
    }

    #[test]
    fn printing_round_trips() {
        for s in [
            "all p: not p.def_flags has VM_HUGEPAGE",
            "any p: p.image == setuid-root and (any v in p.vmas: v.thp_eligible)",
            "sysfs != never or (all p: all v in p.vmas: not v.thp_eligible)",
        ] {
            let once = canon(s);
            assert_eq!(canon(&once), once);
        }
    }

    #[test]
    fn syntax_errors_point_at_the_token() {
        let at = |s: &str| parse(s).unwrap_err().at;
        assert_eq!(at("all p p.nnp"), 6);
        assert_eq!(at("a and"), 5);
        assert_eq!(at("(a or b"), 0);
        assert_eq!(at("a b"), 2);
        assert_eq!(at("a)"), 1);
        assert_eq!(at("p."), 2);
        assert_eq!(at(""), 0);
        assert_eq!(at("all and: x"), 4);
        assert!(parse(&"not ".repeat(100)).unwrap_err().msg.contains("nested more than"));
        assert!(parse(&"(".repeat(100)).unwrap_err().msg.contains("nested more than"));
    }
}
