//! `check cost SPEC`: what each property the spec checks costs per state,
//! measured the way the engine pays it — `Prop::holds` on a state unpacked
//! from its stored key, once per sysfs mode the stored states stand for —
//! over the states of a real exploration of the spec.
//!
//! Why a subcommand and not a timed test: timings depend on the machine and
//! its load, so they are printed for a person (and quoted in specs/README.md
//! with the machine they came from), never asserted. A property a spec
//! defines as `user_X` beside catalogue property `X` (as
//! `checker/tests/props/catalogue.toml` does) is printed with its ratio to
//! `X`: what writing `X` in the language instead of Rust costs.

use crate::engine::limits::Limits;
use crate::engine::{self, Options};
use crate::spec::Spec;
use mmflags_model::key::unpack;
use mmflags_model::property::Prop;
use mmflags_model::{State, Sysfs, System};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// One property's cost.
#[derive(Clone, Debug)]
pub struct Cost {
    pub name: String,
    pub catalogue: bool,
    /// Nanoseconds per evaluation (one state under one sysfs mode), the
    /// least of the rounds.
    pub ns: f64,
}

/// What was measured, and on what.
#[derive(Clone, Debug)]
pub struct Costs {
    pub states: usize,
    pub modes: usize,
    pub rounds: usize,
    /// Unpacking a stored key into a `State`, per state (paid once for all
    /// properties).
    pub unpack_ns: f64,
    pub properties: Vec<Cost>,
}

impl Costs {
    /// `user_X`'s cost over `X`'s, for each such pair.
    pub fn pairs(&self) -> Vec<(&Cost, &Cost, f64)> {
        self.properties
            .iter()
            .filter(|u| !u.catalogue)
            .filter_map(|u| {
                let c = self
                    .properties
                    .iter()
                    .find(|c| c.catalogue && Some(c.name.as_str()) == u.name.strip_prefix("user_"))?;
                Some((u, c, u.ns / c.ns))
            })
            .collect()
    }
}

/// Evaluates `p` on every state under every mode in `modes` (each state's
/// own when empty); returns how many were true, so nothing is optimized away.
#[inline(never)]
fn pass(sys: &System, p: &Prop, states: &[State], modes: &[Sysfs]) -> usize {
    let mut n = 0;
    for s in states {
        let mut t = *black_box(s);
        if modes.is_empty() {
            n += p.holds(sys, &t) as usize;
            continue;
        }
        for &m in modes {
            t.sysfs = m;
            n += p.holds(sys, &t) as usize;
        }
    }
    n
}

/// Least time of `rounds` runs of `f`.
fn least(rounds: usize, mut f: impl FnMut() -> usize) -> Duration {
    (0..rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Explores `spec` (at most `max_states` states), then times each of its
/// properties (those named in `only`, if any), premises included, over
/// the states found.
pub fn measure(spec: &Spec, max_states: usize, rounds: usize, threads: usize, only: &[String]) -> Costs {
    let sys = spec.system();
    let mut opt = Options::new(threads, sys.symmetry);
    opt.limits = Limits { max_states: Some(max_states), ..Limits::default() };
    let x = engine::explore(&sys, &opt);
    let keys: Vec<_> = x.keys().take(max_states).collect();
    let states: Vec<State> = keys.iter().map(unpack).collect();
    // As the engine does: stored states that do not keep the mode stand for each.
    let modes: &[Sysfs] = if sys.projection.sysfs { &[] } else { &sys.bounds.sysfs };
    let evals = (states.len() * modes.len().max(1)).max(1) as f64;
    let unpack_time = least(rounds, || keys.iter().map(|k| unpack(black_box(k)).live().count()).sum());
    let properties = sys
        .properties
        .iter()
        .filter(|p| only.is_empty() || only.iter().any(|o| o == p.name()))
        .map(|p| {
            let t = least(rounds, || pass(&sys, p, &states, modes));
            Cost { name: p.name().to_string(), catalogue: p.is_catalogue(), ns: t.as_nanos() as f64 / evals }
        })
        .collect();
    Costs {
        states: states.len(),
        modes: modes.len().max(1),
        rounds,
        unpack_ns: unpack_time.as_nanos() as f64 / states.len().max(1) as f64,
        properties,
    }
}

/// The table `check cost` prints.
pub fn table(spec: &Spec, c: &Costs) -> String {
    let mut s = format!(
        "{}: {} states x {} sysfs mode(s), least of {} rounds; unpacking a stored state: {:.1} ns\n",
        spec.name, c.states, c.modes, c.rounds, c.unpack_ns
    );
    s.push_str(&format!("  {:<42} {:>10}  {}\n", "property", "ns/state", "defined by"));
    for p in &c.properties {
        let by = if p.catalogue { "catalogue" } else { "spec" };
        s.push_str(&format!("  {:<42} {:>10.2}  {by}\n", p.name, p.ns));
    }
    let pairs = c.pairs();
    if !pairs.is_empty() {
        s.push_str("  the language against the compiled catalogue (user_X / X):\n");
        for (u, k, r) in &pairs {
            s.push_str(&format!("  {:<42} {:>10.2}x  ({:.2} ns vs {:.2} ns)\n", u.name, r, u.ns, k.ns));
        }
        let worst = pairs.iter().map(|p| p.2).fold(0.0, f64::max);
        let mean = pairs.iter().map(|p| p.2.ln()).sum::<f64>() / pairs.len() as f64;
        s.push_str(&format!("  geometric mean {:.2}x, worst {:.2}x\n", mean.exp(), worst));
    }
    s
}
