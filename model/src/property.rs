//! One property as a run checks it: an entry of the compiled catalogue
//! (`properties.rs`, its premises included), or a property a spec defines
//! in the predicate language (`predicate/`). Everything downstream —
//! the engine, verdicts, traces, reports, JSON, the explorer — holds a
//! `Prop` and asks it the same questions, so a user property is checked,
//! traced and reported exactly like a catalogue one.
//!
//! Evaluation stays cheap for both: a catalogue property is a function
//! pointer, a user property a compiled tree of mask tests; neither
//! allocates or looks at a string per state.

use crate::predicate::Predicate;
use crate::properties::{self, Kind, PropertyDef};
use crate::state::State;
use crate::System;
use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex};

pub use crate::reads::Reads;

/// A property a spec defines: its name, kind, meaning and compiled
/// predicate, and an optional premise (a `sometimes` property of its own,
/// named `NAME.premise`) for telling a vacuous `holds` from a real one.
#[derive(Debug)]
pub struct SpecProperty {
    pub name: String,
    pub kind: Kind,
    pub meaning: String,
    pub predicate: Predicate,
    pub premise: Option<Arc<SpecProperty>>,
}

/// A property as a run checks it.
#[derive(Clone)]
pub enum Prop {
    Catalogue(&'static PropertyDef),
    Spec(Arc<SpecProperty>),
}

impl From<&'static PropertyDef> for Prop {
    fn from(d: &'static PropertyDef) -> Prop {
        Prop::Catalogue(d)
    }
}

impl fmt::Debug for Prop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.kind())
    }
}

impl Prop {
    pub fn name(&self) -> &str {
        match self {
            Prop::Catalogue(d) => d.name,
            Prop::Spec(p) => &p.name,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Prop::Catalogue(d) => d.kind,
            Prop::Spec(p) => p.kind,
        }
    }

    pub fn meaning(&self) -> &str {
        match self {
            Prop::Catalogue(d) => d.meaning,
            Prop::Spec(p) => &p.meaning,
        }
    }

    /// The predicate, for a property a spec defines.
    pub fn predicate(&self) -> Option<&Predicate> {
        match self {
            Prop::Catalogue(_) => None,
            Prop::Spec(p) => Some(&p.predicate),
        }
    }

    /// How a review states the good outcome (see `PropertyDef::good`).
    pub fn good(&self) -> Cow<'_, str> {
        match self {
            Prop::Catalogue(d) => Cow::Borrowed(d.good),
            Prop::Spec(p) => Cow::Owned(match p.kind {
                Kind::Always => format!("keeps `{}`: {}", p.name, p.meaning),
                Kind::Sometimes => format!("reaches `{}`: {}", p.name, p.meaning),
            }),
        }
    }

    /// ... and the bad one.
    pub fn bad(&self) -> Cow<'_, str> {
        match self {
            Prop::Catalogue(d) => Cow::Borrowed(d.bad),
            Prop::Spec(p) => Cow::Owned(match p.kind {
                Kind::Always => format!("breaks `{}` ({})", p.name, p.meaning),
                Kind::Sometimes => format!("never reaches `{}` ({})", p.name, p.meaning),
            }),
        }
    }

    pub fn reads(&self) -> Reads {
        match self {
            Prop::Catalogue(d) => Reads {
                ghosts: d.ghosts,
                pages: d.subject == crate::properties::Subject::Pages,
                policies: d.subject == crate::properties::Subject::Policies,
                shared: d.subject == crate::properties::Subject::SharedMm,
                ..Reads::default()
            },
            Prop::Spec(p) => p.predicate.reads(),
        }
    }

    /// For `always`: the invariant holds in `s`; for `sometimes`: `s` is a
    /// state it asks for.
    #[inline]
    pub fn holds(&self, sys: &System, s: &State) -> bool {
        match self {
            Prop::Catalogue(d) => (d.condition)(sys, s),
            Prop::Spec(p) => p.predicate.holds(s),
        }
    }

    /// `s` violates (`always`) or witnesses (`sometimes`) it.
    #[inline]
    pub fn hit(&self, sys: &System, s: &State) -> bool {
        self.holds(sys, s) == (self.kind() == Kind::Sometimes)
    }

    /// Its premises, in the order they are reported.
    pub fn premises(&self) -> Vec<Prop> {
        match self {
            Prop::Catalogue(d) => properties::premises_of(d).map(Prop::Catalogue).collect(),
            Prop::Spec(p) => p.premise.iter().map(|q| Prop::Spec(q.clone())).collect(),
        }
    }

    /// The name stateright's own checkers and explorer know it by (they
    /// take `'static` names).
    pub fn static_name(&self) -> &'static str {
        match self {
            Prop::Catalogue(d) => d.name,
            Prop::Spec(p) => intern(&p.name),
        }
    }

    /// Decided process by process (`PropertyDef::per_process`); a spec's
    /// own predicate may relate processes, so it is not taken to be.
    pub fn per_process(&self) -> bool {
        match self {
            Prop::Catalogue(d) => d.per_process,
            Prop::Spec(_) => false,
        }
    }

    /// It speaks of pages: it is checked on a run whose alphabet has the
    /// calls that make and read them (a spec's `pages_depth`).
    pub fn reads_pages(&self) -> bool {
        self.reads().pages
    }

    /// It speaks of KSM merge-any or MDWE: it is checked on a run whose
    /// alphabet has their calls (a spec's `policies_depth`).
    pub fn reads_policies(&self) -> bool {
        let r = self.reads();
        r.policies && !r.pages && !r.shared
    }

    /// It speaks of tasks that share an mm: it is checked on a run whose
    /// alphabet has `vfork` and `clone` besides the policies' calls (to
    /// the spec's `policies_depth`).
    pub fn reads_shared(&self) -> bool {
        let r = self.reads();
        r.shared && !r.pages
    }

    pub fn is_catalogue(&self) -> bool {
        matches!(self, Prop::Catalogue(_))
    }
}

/// `props` followed by their premises (each once: the catalogue's in
/// `PREMISES` order, then the spec's in the order of their properties):
/// what a run checks so it can tell a vacuous `holds` from a real one.
pub fn with_premises(props: &[Prop]) -> Vec<Prop> {
    let mut out = props.to_vec();
    let named: Vec<Prop> = props.iter().flat_map(|p| p.premises()).collect();
    for q in properties::PREMISES {
        if named.iter().any(|n| n.name() == q.name) {
            out.push(Prop::Catalogue(q));
        }
    }
    out.extend(named.into_iter().filter(|n| !n.is_catalogue()));
    out
}

/// Most properties (premises included) a `System` hands to stateright
/// (`Model::properties`), which takes plain function pointers; the spec
/// loader caps a spec well below it.
pub const MAX_PROPERTIES: usize = 128;

type Cond = fn(&System, &State) -> bool;

fn nth<const I: usize>(sys: &System, s: &State) -> bool {
    sys.properties[I].holds(sys, s)
}

macro_rules! row {
    ($h:literal) => {
        [
            nth::<{ $h * 16 }>,
            nth::<{ $h * 16 + 1 }>,
            nth::<{ $h * 16 + 2 }>,
            nth::<{ $h * 16 + 3 }>,
            nth::<{ $h * 16 + 4 }>,
            nth::<{ $h * 16 + 5 }>,
            nth::<{ $h * 16 + 6 }>,
            nth::<{ $h * 16 + 7 }>,
            nth::<{ $h * 16 + 8 }>,
            nth::<{ $h * 16 + 9 }>,
            nth::<{ $h * 16 + 10 }>,
            nth::<{ $h * 16 + 11 }>,
            nth::<{ $h * 16 + 12 }>,
            nth::<{ $h * 16 + 13 }>,
            nth::<{ $h * 16 + 14 }>,
            nth::<{ $h * 16 + 15 }>,
        ]
    };
}

/// `NTH[i / 16][i % 16]` evaluates `sys.properties[i]`: a function pointer
/// stateright can call for a property that is data, not code.
const NTH: [[Cond; 16]; MAX_PROPERTIES / 16] =
    [row!(0), row!(1), row!(2), row!(3), row!(4), row!(5), row!(6), row!(7)];

/// The function pointer stateright calls for `sys.properties[i]`.
pub(crate) fn condition_of(i: usize) -> Cond {
    NTH[i / 16][i % 16]
}

/// `name` with a `'static` lifetime, for stateright's property names:
/// each distinct name is kept once for the life of the process.
fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(n);
    n
}
