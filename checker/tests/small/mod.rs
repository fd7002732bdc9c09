//! Helpers shared by the reliability tests (determinism, completeness,
//! vacuity): every spec of `specs/` rewritten to ask about the whole
//! property catalogue at small bounds, runs of it, and JSON without the
//! fields that are allowed to vary.

#![allow(dead_code)]

use mmflags_checker::engine::limits::Limits;
use mmflags_checker::run::SpecOutcome;
use mmflags_checker::run::{self, RunConfig};
use mmflags_checker::spec::{self, Spec};
use mmflags_checker::verdict::Verdict;
use mmflags_model::properties::{Kind, CATALOGUE};
use mmflags_model::property::Prop;
use mmflags_model::Sysfs;
use serde_json::Value;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Every spec in `specs/`, loaded.
pub fn every_spec() -> Vec<Spec> {
    spec::all_specs().iter().map(|f| spec::load(f).unwrap()).collect()
}

/// `spec` asking about every property of the catalogue (the expected
/// verdicts are placeholders: these tests compare runs, not `[expect]`),
/// at `processes` x `vmas`, every sysfs mode, to `depth` steps (both views:
/// the pages view too). Not the shared-mm properties: their run renames no
/// process slot, which these tests' naive products could not afford at
/// these bounds on every spec (engine.rs holds that run to stateright's
/// BFS, and `check` runs it on every spec).
pub fn catalogue_at(mut spec: Spec, processes: usize, vmas: usize, depth: Option<usize>) -> Spec {
    spec.pages_depth = depth;
    spec.bounds.processes = processes;
    spec.bounds.vmas = vmas;
    spec.bounds.sysfs = Sysfs::ALL.to_vec();
    spec.bounds.depth = depth;
    spec.expect = CATALOGUE
        .iter()
        .filter(|p| !Prop::Catalogue(p).reads_shared())
        .map(|p| {
            (Prop::Catalogue(p), if p.kind == Kind::Always { Verdict::Holds } else { Verdict::Reachable })
        })
        .collect();
    spec
}

pub fn config(threads: usize, symmetry: bool, limits: Limits) -> RunConfig {
    RunConfig { threads, symmetry, limits, interrupt: Arc::new(AtomicBool::new(false)), progress: false }
}

pub fn run(spec: &Spec, threads: usize, symmetry: bool) -> SpecOutcome {
    run::run_spec(spec.clone(), &config(threads, symmetry, Limits::default()))
}

/// `v` without the object keys in `drop`, at any depth.
pub fn without(v: &Value, drop: &[&str]) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !drop.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), without(v, drop)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| without(x, drop)).collect()),
        other => other.clone(),
    }
}

/// What may differ between two runs of the same question: time, rates,
/// memory, and the thread count itself.
pub const TIMINGS: &[&str] =
    &["seconds", "states_per_second", "total_states_per_second", "peak_memory_bytes", "threads"];
