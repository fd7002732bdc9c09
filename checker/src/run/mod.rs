//! Running specs on the model and judging what they do: each spec's
//! `System` explored with the engine (with a progress line on a terminal)
//! and its verdicts decided (`outcome`), then judged against its baseline
//! in lockstep (`lockstep`). Beside them, the other ways `check` runs the
//! model: a trace file through a spec (`trace_file`), two specs side by
//! side until they part (`divergence`), and what each property costs per
//! state (`cost`).

pub mod cost;
pub mod divergence;
pub mod lockstep;
pub mod outcome;
pub mod trace_file;

pub use outcome::{PremiseOutcome, PropertyOutcome, SpecOutcome};

use crate::engine::limits::Limits;
use crate::engine::{self, Counters, Options};
use crate::spec::{Spec, View};
use crate::verdict::Verdict;
use mmflags_model::property::Prop;
use mmflags_model::symmetry::Symmetry;
use mmflags_model::System;
use std::io::IsTerminal;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to run (everything here is outside the spec's question).
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub threads: usize,
    pub symmetry: bool,
    pub limits: Limits,
    pub interrupt: Arc<AtomicBool>,
    pub progress: bool,
}

impl RunConfig {
    pub fn default_threads() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

fn progress_thread(
    name: String,
    counters: Arc<Counters>,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut shown = false;
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            let secs = start.elapsed().as_secs_f64();
            if secs < 1.0 {
                continue;
            }
            let unique = counters.unique.load(Ordering::Relaxed);
            eprint!(
                "\r{name}: states={} unique={} depth={} rate={:.0} unique/s   ",
                counters.generated.load(Ordering::Relaxed),
                unique,
                counters.depth.load(Ordering::Relaxed),
                unique as f64 / secs
            );
            shown = true;
        }
        if shown {
            eprint!("\r{}\r", " ".repeat(100));
        }
    })
}

/// How the engine explores `sys` under `cfg` (the spec's symmetry unless
/// `cfg` turns it off).
fn options(sys: &System, cfg: &RunConfig) -> Options {
    Options {
        threads: cfg.threads.max(1),
        symmetry: if cfg.symmetry { sys.symmetry } else { Symmetry::NONE },
        limits: cfg.limits,
        interrupt: cfg.interrupt.clone(),
        counters: Arc::new(Counters::default()),
        narrow: true,
    }
}

/// Explores one spec and decides its verdicts: its flag, page and policy
/// views (`Spec::views`), each a run of its own.
pub fn run_spec(spec: Spec, cfg: &RunConfig) -> SpecOutcome {
    let v = spec.views();
    let run = |s: Option<Spec>| s.map(|s| run_view(s, cfg));
    combine(
        spec,
        [
            (View::Flags, run(v.flags)),
            (View::Pages, run(v.pages)),
            (View::Policies, run(v.policies)),
            (View::Shared, run(v.shared)),
        ],
    )
}

/// `run_spec`, then every checked property against the spec's baseline
/// (`lockstep`), when it has one, each view on its own bounds: what
/// `check` and the reports say.
pub fn check_spec(spec: Spec, cfg: &RunConfig) -> SpecOutcome {
    let v = spec.views();
    let run = |s: Option<Spec>| s.map(|s| check_view(s, cfg));
    combine(
        spec,
        [
            (View::Flags, run(v.flags)),
            (View::Pages, run(v.pages)),
            (View::Policies, run(v.policies)),
            (View::Shared, run(v.shared)),
        ],
    )
}

/// One outcome of a spec from its views' outcomes: the first view's run
/// (the flag view's, when it has one) is the spec's (its counts, its
/// baseline run), the others ride along (`SpecOutcome::pages`,
/// `SpecOutcome::policies`, `SpecOutcome::shared`); properties in the spec's `[expect]` order;
/// the spec is complete when every view is.
fn combine(mut spec: Spec, views: [(View, Option<SpecOutcome>); 4]) -> SpecOutcome {
    let mut runs = views.into_iter().filter_map(|(v, o)| o.map(|o| (v, o)));
    let (first, mut o) =
        runs.next().expect("a spec checks at least one property (the loader requires [expect])");
    // Without flag properties the spec's run is another view's, so its
    // bounds are that view's.
    if first != View::Flags {
        spec.bounds.depth = o.spec.bounds.depth;
    }
    for (v, mut r) in runs {
        o.properties.append(&mut r.properties);
        o.complete &= r.complete;
        o.stopped = o.stopped.or(r.stopped);
        match v {
            View::Pages => o.pages = Some(Box::new(r)),
            View::Shared => o.shared = Some(Box::new(r)),
            _ => o.policies = Some(Box::new(r)),
        }
    }
    let rank = |name: &str| spec.expect.iter().position(|(p, _)| p.name() == name).unwrap_or(usize::MAX);
    o.properties.sort_by_key(|p| rank(p.def.name()));
    o.spec = spec;
    o
}

/// Explores one view of a spec and decides its verdicts.
fn run_view(spec: Spec, cfg: &RunConfig) -> SpecOutcome {
    let sys = spec.system();
    let opt = options(&sys, cfg);
    let done = Arc::new(AtomicBool::new(false));
    let show = cfg.progress && std::io::stderr().is_terminal();
    let reporter = show.then(|| progress_thread(spec.name.clone(), opt.counters.clone(), done.clone()));
    let x = engine::explore(&sys, &opt);
    done.store(true, Ordering::Relaxed);
    if let Some(h) = reporter {
        let _ = h.join();
    }
    SpecOutcome::from_exploration_until(spec, &sys, x, opt.threads, &cfg.interrupt)
}

/// `run_view`, then against the baseline.
fn check_view(spec: Spec, cfg: &RunConfig) -> SpecOutcome {
    let mut o = run_view(spec, cfg);
    let Some(base) = o.spec.baseline.as_ref() else { return o };
    let sys = o.spec.system();
    let props: Vec<Prop> = o.properties.iter().map(|p| p.def.clone()).collect();
    let bad: Vec<Option<bool>> = o
        .properties
        .iter()
        .map(|p| (p.verdict != Verdict::Inconclusive).then(|| p.verdict.has_trace()))
        .collect();
    let opt = options(&sys, cfg);
    let same = base.spec.knobs == o.spec.knobs;
    let l = lockstep::against(&sys, &props, &bad, &base.spec.semantics, &base.name, same, &opt);
    for (p, a) in o.properties.iter_mut().zip(&l.properties) {
        p.against = Some(a.clone());
    }
    o.against = Some(l);
    o
}
