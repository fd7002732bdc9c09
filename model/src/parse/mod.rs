//! The reader of the trace language: `FromStr` for `Call`, `Action`, `Ret`
//! and `Step`, and `Trace::parse` for whole files. Errors carry the 1-based
//! column and, for a misspelled name, a "did you mean". Nothing here panics,
//! whatever the input.

mod args;
mod call;
pub mod kernels;
mod lex;
mod trace;

use crate::action::*;
use call::{parse_call, parse_ret, parse_step};
use lex::{lex, Lexer};
use std::fmt;
use std::str::FromStr;

pub use kernels::{Series, SeriesRange};
pub use trace::{Trace, TraceError};

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
