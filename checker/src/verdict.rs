//! Verdicts and what a checked spec produced: the outcome of each property,
//! with its shortest trace, and the run's honest completeness.

use crate::engine::{Coverage, Exploration};
use crate::limits::Stop;
use crate::spec::Spec;
use mmflags_model::properties::{Kind, PropertyDef};
use std::fmt;
use std::time::Duration;

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

#[derive(Clone, Debug)]
pub struct PropertyOutcome {
    pub def: &'static PropertyDef,
    pub verdict: Verdict,
    pub expected: Verdict,
    pub trace: Option<Trace>,
}

impl PropertyOutcome {
    pub fn as_expected(&self) -> bool {
        self.verdict == self.expected
    }
}

/// Everything a checked spec produced.
pub struct SpecOutcome {
    pub spec: Spec,
    pub properties: Vec<PropertyOutcome>,
    pub complete: bool,
    pub stopped: Option<Stop>,
    pub unique: usize,
    pub generated: u64,
    pub max_depth: usize,
    pub elapsed: Duration,
    /// Per alphabet entry (the spec's calls), with the call's printed form.
    pub coverage: Vec<(String, Coverage)>,
    pub symmetry: mmflags_model::symmetry::Symmetry,
    pub threads: usize,
    pub peak_rss: Option<u64>,
}

impl SpecOutcome {
    pub fn from_exploration(
        spec: Spec,
        sys: &mmflags_model::System,
        x: Exploration,
        threads: usize,
    ) -> SpecOutcome {
        let properties = sys
            .properties
            .iter()
            .zip(&x.discoveries)
            .zip(&spec.expect)
            .map(|((def, found), (_, expected))| {
                let verdict = Verdict::decide(def.kind, found.is_some(), x.complete);
                let trace = found.and_then(|id| sys.concretize(&x.chain(id), x.symmetry, &x.projections));
                PropertyOutcome { def, verdict, expected: *expected, trace }
            })
            .collect();
        let coverage = sys.alphabet.iter().zip(&x.coverage).map(|(c, cov)| (c.to_string(), *cov)).collect();
        SpecOutcome {
            properties,
            complete: x.complete,
            stopped: x.stopped,
            unique: x.unique(),
            generated: x.generated,
            max_depth: x.max_depth(),
            elapsed: x.elapsed,
            coverage,
            symmetry: x.symmetry,
            threads,
            peak_rss: crate::limits::peak_rss_bytes(),
            spec,
        }
    }

    pub fn all_as_expected(&self) -> bool {
        self.properties.iter().all(|p| p.as_expected())
    }

    /// Some decided verdict differs from `[expect]` (exit 1).
    pub fn any_wrong(&self) -> bool {
        self.properties.iter().any(|p| p.verdict != Verdict::Inconclusive && !p.as_expected())
    }

    pub fn states_per_second(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.unique as f64 / s
        } else {
            0.0
        }
    }
}
