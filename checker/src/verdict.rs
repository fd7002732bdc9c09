//! The words of a result, shared by what a spec expects (`[expect]`), what
//! a run found and what reports and JSON print: a property's `Verdict`
//! (`holds`, `violated`, `reachable`, `unreachable`, `inconclusive`) and its
//! `Relation` to the spec's baseline (`new`, `inherited`, `fixed`, `same`).
//! A leaf: it names nothing else of the checker.

use mmflags_model::properties::Kind;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    Holds,
    Violated,
    Reachable,
    Unreachable,
    /// The run was stopped by a limit outside the spec before it could decide.
    Inconclusive,
}

impl Verdict {
    pub const WORDS: [(Verdict, &'static str, &'static str); 5] = [
        (Verdict::Holds, "holds", "✔"),
        (Verdict::Violated, "violated", "✘"),
        (Verdict::Reachable, "reachable", "◆"),
        (Verdict::Unreachable, "unreachable", "∅"),
        (Verdict::Inconclusive, "inconclusive", "?"),
    ];

    pub fn word(self) -> &'static str {
        Self::WORDS.iter().find(|w| w.0 == self).map_or("?", |w| w.1)
    }

    pub fn symbol(self) -> &'static str {
        Self::WORDS.iter().find(|w| w.0 == self).map_or("?", |w| w.2)
    }

    /// The words a spec may write in `[expect]` (never "inconclusive").
    pub fn from_word(s: &str) -> Option<Verdict> {
        Self::WORDS.iter().find(|w| w.1 == s && w.0 != Verdict::Inconclusive).map(|w| w.0)
    }

    /// A discovery (counterexample or witness) was found.
    pub fn has_trace(self) -> bool {
        matches!(self, Verdict::Violated | Verdict::Reachable)
    }

    /// From what the search found: a discovery decides at once; its absence
    /// decides only when the whole bounded space was explored.
    pub fn decide(kind: Kind, discovered: bool, complete: bool) -> Verdict {
        match (kind, discovered, complete) {
            (Kind::Always, true, _) => Verdict::Violated,
            (Kind::Sometimes, true, _) => Verdict::Reachable,
            (Kind::Always, false, true) => Verdict::Holds,
            (Kind::Sometimes, false, true) => Verdict::Unreachable,
            (_, false, false) => Verdict::Inconclusive,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

pub use mmflags_model::Walk as Trace;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relation {
    New,
    Inherited,
    Fixed,
    Same,
}

impl Relation {
    pub const WORDS: [(Relation, &'static str); 4] = [
        (Relation::New, "new"),
        (Relation::Inherited, "inherited"),
        (Relation::Fixed, "fixed"),
        (Relation::Same, "same"),
    ];

    pub fn word(self) -> &'static str {
        Self::WORDS.iter().find(|w| w.0 == self).map_or("?", |w| w.1)
    }

    pub fn from_word(s: &str) -> Option<Relation> {
        Self::WORDS.iter().find(|w| w.1 == s).map(|w| w.0)
    }

    /// The spec is violated (or reaches the goal) in this relation.
    pub fn spec_bad(self) -> bool {
        matches!(self, Relation::New | Relation::Inherited)
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}
