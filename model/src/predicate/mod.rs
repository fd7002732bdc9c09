//! The predicate language of user properties: a reviewer's invariant or
//! goal, written in a spec's `[properties]` section, over the state the
//! catalogue's properties read — quantifiers over live processes and their
//! mapped VMAs, the kernel's field and flag names, the ghost words traces
//! print. (specs/README.md is the user's guide; `parse.rs` has the grammar,
//! `words.rs` the vocabulary.)
//!
//! A predicate is compiled once per run: lexed (`lex.rs`), parsed
//! (`parse.rs`), type checked and lowered to a tree of mask tests
//! (`check.rs`), which `eval.rs` runs on a state without allocating or
//! touching a string. What it reads beyond what every run keeps is in
//! `reads()`, so the checker keeps those fields in its states.
//!
//! This module knows nothing of files: an error is a byte offset into the
//! predicate's text and a message; the spec loader turns the offset into a
//! line and column inside the TOML string.

mod check;
mod eval;
pub mod explain;
mod hints;
mod junction;
mod lex;
mod nest;
mod parse;
pub mod words;

use crate::reads::Reads;
use crate::state::State;
use std::fmt;

pub use lex::MAX_CHARS;
pub use parse::MAX_DEPTH;

/// Why a predicate was rejected: a byte offset into its text (at the
/// offending token, or its end when the text ended too soon) and what to
/// do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PredError {
    pub at: usize,
    pub msg: String,
}

impl PredError {
    pub(crate) fn new(at: usize, msg: impl Into<String>) -> PredError {
        PredError { at, msg: msg.into() }
    }
}

impl fmt::Display for PredError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.at, self.msg)
    }
}

impl std::error::Error for PredError {}

/// A compiled predicate and the text it was compiled from.
#[derive(Clone)]
pub struct Predicate {
    text: String,
    root: eval::Node,
    /// How `root` is run (see `eval::entry`).
    entry: eval::Entry,
    reads: Reads,
}

impl Predicate {
    pub fn compile(text: &str) -> Result<Predicate, PredError> {
        let ast = parse::parse(text)?;
        let mut c = check::Checker::new();
        let root = nest::fuse(c.compile(&ast, false)?);
        let entry = eval::entry(&root, 1 + c.most_bound);
        Ok(Predicate { text: text.to_string(), root, entry, reads: c.reads })
    }

    /// Whether the predicate holds in `s` (under `s.sysfs`).
    #[inline]
    pub fn holds(&self, s: &State) -> bool {
        (self.entry)(&self.root, s)
    }

    /// The text as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What of a state it reads that a run may otherwise drop.
    pub fn reads(&self) -> Reads {
        self.reads
    }
}

impl fmt::Debug for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

/// The parser's canonical form of `text` (every compound parenthesized):
/// parsing it again gives the same form. For the fuzz oracle and tests.
pub fn canonical(text: &str) -> Result<String, PredError> {
    parse::parse(text).map(|e| e.to_string())
}

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;
