//! What a checked spec produced: the outcome of each property, with its
//! shortest trace, and the run's honest completeness.

use crate::engine::limits::Stop;
use crate::engine::{Coverage, Exploration};
use crate::spec::Spec;
use crate::verdict::{Trace, Verdict};
use mmflags_model::property::Prop;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Whether the case an `always` property rules on was reached.
#[derive(Clone, Debug)]
pub struct PremiseOutcome {
    pub def: Prop,
    /// `Reachable`, `Unreachable`, or `Inconclusive` on an incomplete run.
    pub verdict: Verdict,
    /// The shortest witness, when reached.
    pub trace: Option<Trace>,
}

#[derive(Clone, Debug)]
pub struct PropertyOutcome {
    pub def: Prop,
    pub verdict: Verdict,
    pub expected: Verdict,
    pub trace: Option<Trace>,
    /// The run explored every state within the spec's bounds.
    pub complete: bool,
    /// The property's premises (see `properties::PREMISES`).
    pub premises: Vec<PremiseOutcome>,
    /// How the verdict stands against the spec's baseline (when it has one
    /// and `run::check_spec` judged it).
    pub against: Option<super::lockstep::Against>,
    /// What `[expect]` says of that (`"violated, new"`).
    pub expected_against: Option<crate::verdict::Relation>,
}

impl PropertyOutcome {
    /// `[expect]` is met: the verdict is the expected one and the run was
    /// complete. An incomplete run never meets `[expect]`, even when what
    /// it found so far agrees with it.
    pub fn as_expected(&self) -> bool {
        self.complete && self.verdict == self.expected && self.against_as_expected()
    }

    /// `[expect]`'s relation, if it states one, is the one found. A
    /// relation not judged (no baseline run, or an inconclusive one) never
    /// meets it.
    pub fn against_as_expected(&self) -> bool {
        match self.expected_against {
            None => true,
            Some(r) => self.relation() == Some(r),
        }
    }

    /// The relation to the baseline, when one was decided.
    pub fn relation(&self) -> Option<crate::verdict::Relation> {
        self.against.as_ref().and_then(|a| a.relation)
    }

    /// The run decided a verdict that contradicts `[expect]` (a
    /// counterexample or witness found, or a complete run without one).
    pub fn contradicts_expect(&self) -> bool {
        let wrong_relation = matches!((self.expected_against, self.relation()), (Some(e), Some(r)) if e != r);
        self.verdict != Verdict::Inconclusive && (self.verdict != self.expected || wrong_relation)
    }

    /// Holds only because a premise is unreachable: the case the property
    /// rules on never happens within the bounds.
    pub fn vacuous(&self) -> bool {
        self.verdict == Verdict::Holds && self.premises.iter().any(|q| q.verdict == Verdict::Unreachable)
    }

    /// The premises that were not reached (on a complete run: never can be).
    pub fn unreached(&self) -> impl Iterator<Item = &PremiseOutcome> {
        self.premises.iter().filter(|q| q.verdict == Verdict::Unreachable)
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
    /// The most bytes the search holds per stored state
    /// (`Exploration::bytes_per_state_bound`: independent of the count).
    pub bytes_per_state: f64,
    /// Bytes it held per stored state, measured (`Exploration::bytes_per_state`).
    pub held_bytes_per_state: f64,
    /// The lockstep run against the baseline (`run::check_spec`).
    pub against: Option<super::lockstep::Lockstep>,
    /// The run of the spec's page properties (`Spec::views`), with its own
    /// counts and bounds (its properties are in `properties`).
    pub pages: Option<Box<SpecOutcome>>,
    /// The run of its policy properties, likewise.
    pub policies: Option<Box<SpecOutcome>>,
    /// The run of its shared-mm properties, likewise.
    pub shared: Option<Box<SpecOutcome>>,
}

impl SpecOutcome {
    pub fn from_exploration(
        spec: Spec,
        sys: &mmflags_model::System,
        x: Exploration,
        threads: usize,
    ) -> SpecOutcome {
        Self::from_exploration_until(spec, sys, x, threads, &AtomicBool::new(false))
    }

    /// As `from_exploration`; setting `stop` (Ctrl-C) makes the search for
    /// each shown trace fall back to the parent chain the run stored.
    pub fn from_exploration_until(
        spec: Spec,
        sys: &mmflags_model::System,
        x: Exploration,
        threads: usize,
        stop: &AtomicBool,
    ) -> SpecOutcome {
        let outcome = |def: &Prop| {
            let i = sys.properties.iter().position(|p| p.name() == def.name())?;
            let found = x.discoveries[i];
            let verdict = Verdict::decide(def.kind(), found.is_some(), x.complete);
            let trace = found.and_then(|d| {
                let hit = |s: &mmflags_model::State| def.hit(sys, s);
                // The chain the search stored is re-derived only if the
                // least shortest trace was not found (interrupted).
                crate::engine::witness::least_shortest(sys, x.depth_of(d.id), hit, stop)
                    .or_else(|| sys.concretize(&x.chain(d.id), x.symmetry, &x.projections, d.sysfs))
            });
            Some((verdict, trace))
        };
        let properties = spec
            .expect
            .iter()
            .map(|(def, expected)| {
                let (def, expected) = (def.clone(), *expected);
                let (verdict, trace) = outcome(&def).expect("the system checks every expected property");
                let premises = def
                    .premises()
                    .into_iter()
                    .map(|q| {
                        let (verdict, trace) = outcome(&q).expect("the system checks every premise");
                        PremiseOutcome { def: q, verdict, trace }
                    })
                    .collect();
                let expected_against =
                    spec.expect_against.iter().find(|e| e.property == def.name()).map(|e| e.relation);
                PropertyOutcome {
                    def,
                    verdict,
                    expected,
                    trace,
                    complete: x.complete,
                    premises,
                    against: None,
                    expected_against,
                }
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
            peak_rss: crate::engine::limits::peak_rss_bytes(),
            bytes_per_state: x.bytes_per_state_bound(),
            held_bytes_per_state: x.bytes_per_state(),
            against: None,
            pages: None,
            policies: None,
            shared: None,
            spec,
        }
    }

    /// Calls of the alphabet that no explored state could make.
    pub fn never_fired(&self) -> impl Iterator<Item = &str> {
        self.coverage.iter().filter(|(_, c)| c.fired == 0).map(|(n, _)| n.as_str())
    }

    /// Calls that fired but never changed a state (only returned, or failed).
    pub fn never_changed(&self) -> impl Iterator<Item = &str> {
        self.coverage.iter().filter(|(_, c)| c.fired > 0 && c.changed == 0).map(|(n, _)| n.as_str())
    }

    pub fn all_as_expected(&self) -> bool {
        self.properties.iter().all(|p| p.as_expected())
    }

    /// Some decided verdict differs from `[expect]` (exit 1).
    pub fn any_wrong(&self) -> bool {
        self.properties.iter().any(|p| p.contradicts_expect())
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
