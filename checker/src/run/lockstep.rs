//! What a proposal adds over its baseline, property by property, on the
//! same traces: the spec's alphabet and bounds, with the baseline's
//! semantics answering every call (one its kernel lacks as that kernel
//! would, see `syscalls::apply`).
//! - `new`: some trace breaks the property in the spec (violates it, or
//!   reaches the goal of a `sometimes`) at a step where the baseline has not
//!   broken it on that trace, at that step or before; `new_trace` is the
//!   shortest such trace;
//! - `inherited`: the spec breaks it, and every trace that does already
//!   broke it in the baseline;
//! - `fixed`: the spec keeps it and the baseline breaks it;
//! - `same`: both keep it.
//!
//! A property the spec keeps needs only the baseline explored on the
//! spec's alphabet (the engine, with its symmetry reduction). A property
//! the spec breaks needs the two explored in lockstep (`first_new`): a
//! product state is the pair of states one trace reaches, with one bit per
//! property saying whether the baseline already broke it on that trace.
//! Pairs are stored under a joint renaming: the one permutation of VMA
//! slots (per process) and of process slots that sorts the pair, applied
//! to both halves, so two pairs merge only when one renaming maps both
//! onto the other's. Exhaustive within the spec's bounds like every
//! verdict: a run stopped by a limit claims no relation.

use crate::engine::limits::{Limits, Stop};
use crate::engine::{explore, Options};
use crate::verdict::Relation;
use mmflags_model::key::{Key, Projection};
use mmflags_model::property::Prop;
use mmflags_model::state::{Process, State, MAX_PROCS, MAX_VMAS};
use mmflags_model::symmetry::Symmetry;
use mmflags_model::{Action, Semantics, System, Walk};
use rustc_hash::FxHashMap;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// One property against the baseline.
#[derive(Clone, Debug)]
pub struct Against {
    /// `None` when the lockstep run did not finish.
    pub relation: Option<Relation>,
    /// For `new`: the shortest trace that breaks the spec and not the baseline.
    pub new_trace: Option<Walk>,
    /// The baseline was violated (reached) on the spec's alphabet, as far
    /// as this run shows.
    pub baseline_bad: bool,
}

/// A spec against its baseline.
#[derive(Clone, Debug)]
pub struct Lockstep {
    pub baseline: String,
    /// In the order of the spec's checked properties.
    pub properties: Vec<Against>,
    /// Pairs the lockstep search stored (0 when no property was broken).
    pub pairs: usize,
    /// States the baseline alone was explored to (0 when the spec keeps
    /// no property).
    pub baseline_states: usize,
    pub complete: bool,
    pub stopped: Option<Stop>,
    pub elapsed: std::time::Duration,
}

/// Renames `p`'s VMA slots by `perm` (new slot i holds old slot perm[i]).
fn permute_vmas(p: &mut Process, perm: &[usize]) {
    let old = p.mm.vmas;
    for (i, &j) in perm.iter().enumerate() {
        p.mm.vmas[i] = old[j];
    }
}

/// The pair under its joint renaming (see the module comment).
fn joint_canon(mut s: State, mut b: State, sym: Symmetry, procs: usize, vmas: usize) -> (State, State) {
    if sym.vmas {
        for i in 0..procs {
            if let (Some(ps), Some(pb)) = (s.procs[i].as_mut(), b.procs[i].as_mut()) {
                let mut perm = [0, 1, 2, 3];
                perm[..vmas].sort_unstable_by_key(|&j| (ps.mm.vmas[j], pb.mm.vmas[j]));
                permute_vmas(ps, &perm[..vmas]);
                permute_vmas(pb, &perm[..vmas]);
            }
        }
    }
    if sym.procs {
        let mut perm = [0, 1, 2, 3];
        perm[..procs].sort_unstable_by_key(|&i| (s.procs[i], b.procs[i]));
        let (os, ob) = (s.procs, b.procs);
        for (i, &j) in perm[..procs].iter().enumerate() {
            s.procs[i] = os[j];
            b.procs[i] = ob[j];
        }
    }
    (s, b)
}

/// Where a pair came from: its parent's index and the step taken.
#[derive(Clone, Copy)]
struct Link {
    parent: u32,
    action: Action,
}

type Frontier = Vec<(State, State, u64, u32)>;
type PairKey = (Key, Key, u64);

/// What a pair keeps: what the transitions and `props` read. Like the
/// engine, not the sysfs mode where no transition reads it: one pair stands
/// for the same pair under every mode the spec lists, and each property is
/// judged under each mode, with a baseline bit per (property, mode). Where
/// a transition reads the mode (a page fault), each mode starts its own
/// pairs, born with the bits of every other mode set (see `first_new`).
fn lockstep_projection(sys: &System, props: &[Prop]) -> Projection {
    let p = sys.projection_for(props.iter());
    Projection { sysfs: sys.base_projection.sysfs, ..p }
}

/// What the workers share: the two systems and how a pair is judged and keyed.
struct Judge<'a> {
    spec: &'a System,
    base: &'a System,
    props: &'a [Prop],
    modes: Vec<mmflags_model::Sysfs>,
    proj: (Projection, Projection),
    sym: Symmetry,
    bounds: (usize, usize),
}

/// A successor as a worker leaves it for the merge: the pair, the
/// (property, mode) bits the baseline has broken on its trace, those the
/// spec breaks at it, and its key without the mask.
struct Succ {
    s: State,
    b: State,
    mask: u64,
    spec_bad: u64,
    key: (Key, Key),
    link: Link,
}

fn bad(sys: &System, p: &Prop, s: &State) -> bool {
    p.hit(sys, s)
}

impl Judge<'_> {
    fn bit(&self, prop: usize, mode: usize) -> u64 {
        1 << (prop * self.modes.len() + mode)
    }

    /// The bits of `sys`'s breaks at `s`, under every mode, among `want`.
    fn breaks(&self, sys: &System, s: &State, want: u64) -> u64 {
        let mut bits = 0;
        for (m, &mode) in self.modes.iter().enumerate() {
            let mut sm = *s;
            sm.sysfs = mode;
            for (i, p) in self.props.iter().enumerate() {
                let bit = self.bit(i, m);
                if want & bit != 0 && bad(sys, p, &sm) {
                    bits |= bit;
                }
            }
        }
        bits
    }

    /// A successor pair, judged: `None` when the baseline has broken every
    /// open property on its trace (nothing new can follow) or the pair (with
    /// that mask) was stored before this batch.
    fn judge(
        &self,
        s: State,
        b: State,
        inherited: u64,
        link: Link,
        open: u64,
        seen: &FxHashMap<PairKey, ()>,
    ) -> Option<Succ> {
        let mask = inherited | self.breaks(self.base, &b, open & !inherited);
        if mask & open == open {
            return None;
        }
        let (cs, cb) = joint_canon(s, b, self.sym, self.bounds.0, self.bounds.1);
        let key = (
            self.spec.key(&cs, &self.proj.0, Symmetry::NONE),
            self.base.key(&cb, &self.proj.1, Symmetry::NONE),
        );
        if seen.contains_key(&(key.0, key.1, mask & open)) {
            return None;
        }
        let spec_bad = self.breaks(self.spec, &s, open & !mask);
        Some(Succ { s, b, mask, spec_bad, key, link })
    }

    /// The successors of a slice of the frontier, in its order.
    fn expand(
        &self,
        part: &[(State, State, u64, u32)],
        open: u64,
        seen: &FxHashMap<PairKey, ()>,
    ) -> Vec<Succ> {
        let mut out = Vec::new();
        for &(s, b, mask, id) in part {
            if mask & open == open {
                continue;
            }
            self.spec.for_each_action(&s, |_, a| {
                if let (Ok((_, ts)), Ok((_, tb))) = (self.spec.step(&s, &a), self.base.step(&b, &a)) {
                    out.extend(self.judge(ts, tb, mask, Link { parent: id, action: a }, open, seen));
                }
            });
        }
        out
    }
}

/// The lockstep search's memory: every pair stored (with the mask it was
/// reached with), where each came from, and per property the first pair
/// (and mode) that breaks it in the spec alone.
struct Product {
    seen: FxHashMap<PairKey, ()>,
    links: Vec<Link>,
    found: Vec<Option<(u32, usize)>>,
    /// (property, mode) bits without a break found yet.
    open: u64,
}

impl Product {
    /// Stores a judged successor (in BFS order) unless it is a duplicate,
    /// and notes the properties it is the first to break anew.
    fn admit(&mut self, j: &Judge<'_>, x: Succ, next: &mut Frontier) {
        if x.mask & self.open == self.open {
            return;
        }
        if self.seen.insert((x.key.0, x.key.1, x.mask & self.open), ()).is_some() {
            return;
        }
        let id = self.links.len() as u32;
        self.links.push(x.link);
        let fresh = x.spec_bad & self.open & !x.mask;
        for i in 0..j.props.len() {
            if let Some(m) = (0..j.modes.len()).find(|&m| fresh & j.bit(i, m) != 0) {
                // The first break of a property, under whichever mode, is its trace.
                self.found[i] = Some((id, m));
                for mm in 0..j.modes.len() {
                    self.open &= !j.bit(i, mm);
                }
            }
        }
        next.push((x.s, x.b, x.mask, id));
    }

    /// The trace of pair `id`, replayed on the spec under `mode`.
    fn trace_to(&self, j: &Judge<'_>, id: u32, mode: usize) -> Walk {
        let mut chain = Vec::new();
        let mut at = id;
        while self.links[at as usize].parent != u32::MAX {
            chain.push(self.links[at as usize].action);
            at = self.links[at as usize].parent;
        }
        chain.reverse();
        let init = State::init(j.modes[mode]);
        let mut cur = init;
        let mut steps = Vec::new();
        for a in chain {
            let (r, next) = j.spec.step(&cur, &a).expect("a step the exploration took");
            steps.push((a, r, next));
            cur = next;
        }
        Walk { init, steps }
    }
}

/// Frontier pairs expanded per batch: the workers read the stored pairs as
/// they were at the batch's start, so results do not depend on the thread
/// count, and a batch's successors fit in memory.
const BATCH: usize = 1 << 14;

/// The properties a spec breaks (violated or reached), against `base` (the
/// baseline's semantics on the spec's alphabet and bounds), explored in
/// lockstep: per property, the first pair (breadth-first, so the shortest
/// trace) where the spec breaks it and the baseline has not on that trace.
/// Stops as soon as every property has one; a property without one after
/// the whole bounded product is `inherited`. Returns per property the trace
/// (or `None`), the pairs stored, and why the search stopped early.
pub fn first_new(
    spec: &System,
    base: &System,
    props: &[Prop],
    threads: usize,
    limits: &Limits,
    interrupt: &AtomicBool,
) -> (Vec<Option<Walk>>, usize, Option<Stop>) {
    let modes = spec.bounds.sysfs.clone();
    assert!(props.len() * modes.len() <= 64, "at most 64 (property, mode) pairs at once");
    let start = Instant::now();
    let bits = props.len() * modes.len();
    let j = Judge {
        spec,
        base,
        props,
        modes,
        proj: (lockstep_projection(spec, props), lockstep_projection(base, props)),
        sym: spec.symmetry,
        bounds: (spec.bounds.processes.min(MAX_PROCS), spec.bounds.vmas.min(MAX_VMAS)),
    };
    let mut x = Product {
        seen: FxHashMap::default(),
        links: Vec::new(),
        found: vec![None; props.len()],
        open: if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 },
    };
    let mut frontier = Frontier::new();
    let none = Action { pid: 0, call: mmflags_model::Call::Mmap };
    if j.proj.0.sysfs {
        // A pair per mode, judged under its own mode only.
        for m in 0..j.modes.len() {
            let others = (0..props.len())
                .flat_map(|i| (0..j.modes.len()).filter(move |&o| o != m).map(move |o| (i, o)))
                .fold(0u64, |acc, (i, o)| acc | j.bit(i, o));
            let init = State::init(j.modes[m]);
            let link = Link { parent: u32::MAX, action: none };
            if let Some(first) = j.judge(init, init, others, link, x.open, &x.seen) {
                x.admit(&j, first, &mut frontier);
            }
        }
    } else {
        // One initial pair stands for every mode.
        let init = State::init(j.modes[0]);
        if let Some(first) = j.judge(init, init, 0, Link { parent: u32::MAX, action: none }, x.open, &x.seen)
        {
            x.admit(&j, first, &mut frontier);
        }
    }
    let mut depth = 0;
    let mut stopped = None;
    'search: while !frontier.is_empty() && x.open != 0 {
        if spec.bounds.depth.is_some_and(|d| depth >= d) {
            break;
        }
        let mut next = Frontier::new();
        for batch in frontier.chunks(BATCH) {
            if let Some(s) = limits.before_level(depth, x.links.len(), start, interrupt) {
                stopped = Some(s);
                break 'search;
            }
            let per = batch.len().div_ceil(threads.max(1));
            let (open, seen) = (x.open, &x.seen);
            let parts: Vec<Vec<Succ>> = std::thread::scope(|sc| {
                let hs: Vec<_> = batch.chunks(per).map(|c| sc.spawn(|| j.expand(c, open, seen))).collect();
                hs.into_iter().map(|h| h.join().expect("a lockstep worker does not panic")).collect()
            });
            for succ in parts.into_iter().flatten() {
                x.admit(&j, succ, &mut next);
            }
            if x.open == 0 {
                break 'search;
            }
        }
        frontier = next;
        depth += 1;
    }
    let traces = x.found.iter().map(|f| f.map(|(id, m)| x.trace_to(&j, id, m))).collect();
    (traces, x.links.len(), stopped)
}

/// The spec's checked properties against its baseline, given the spec's
/// own verdicts (`bad[i]`: property i is violated or reached; `None` when
/// the spec's run could not decide it). `same` says the two specs'
/// semantics are the same knob for knob, so every trace ends in the same
/// state in both and no search is needed. `opt` is how the baseline alone
/// is explored (for the properties the spec keeps) and bounds the lockstep
/// search (for those it breaks).
pub fn against(
    spec: &System,
    props: &[Prop],
    bad: &[Option<bool>],
    base: &Semantics,
    baseline: &str,
    same: bool,
    opt: &Options,
) -> Lockstep {
    let start = Instant::now();
    if same {
        let properties = bad
            .iter()
            .map(|b| Against {
                relation: b.map(|b| if b { Relation::Inherited } else { Relation::Same }),
                new_trace: None,
                baseline_bad: b.unwrap_or(false),
            })
            .collect();
        return Lockstep {
            baseline: baseline.to_string(),
            properties,
            pairs: 0,
            baseline_states: 0,
            complete: true,
            stopped: None,
            elapsed: start.elapsed(),
        };
    }
    // The properties the spec keeps: is each broken by the baseline alone?
    let kept: Vec<Prop> =
        props.iter().zip(bad).filter(|(_, b)| **b == Some(false)).map(|(p, _)| p.clone()).collect();
    let (base_bad, alone_done, alone_states, alone_stop) = if kept.is_empty() {
        (Vec::new(), true, 0, None)
    } else {
        let bsys = System::new(base.clone(), spec.bounds.clone(), spec.alphabet.clone(), kept.clone());
        let alone = explore(&bsys, opt);
        let found = (0..kept.len()).map(|i| alone.discoveries[i].is_some()).collect();
        (found, alone.complete, alone.unique(), alone.stopped)
    };
    let broken: Vec<Prop> =
        props.iter().zip(bad).filter(|(_, b)| **b == Some(true)).map(|(p, _)| p.clone()).collect();
    let (traces, pairs, stopped) = if broken.is_empty() || alone_stop.is_some() {
        (Vec::new(), 0, None)
    } else {
        let bsys = System::new(base.clone(), spec.bounds.clone(), spec.alphabet.clone(), broken.clone());
        first_new(spec, &bsys, &broken, opt.threads, &opt.limits, &opt.interrupt)
    };
    let product_done = stopped.is_none() && alone_stop.is_none();
    let (mut traces, mut base_bad) = (traces.into_iter(), base_bad.into_iter());
    let properties = bad
        .iter()
        .map(|b| match b {
            Some(true) => match traces.next().flatten() {
                Some(t) => Against { relation: Some(Relation::New), new_trace: Some(t), baseline_bad: false },
                None => Against {
                    relation: product_done.then_some(Relation::Inherited),
                    new_trace: None,
                    baseline_bad: product_done,
                },
            },
            Some(false) => {
                let broke = base_bad.next().unwrap_or(false);
                let relation =
                    if broke { Some(Relation::Fixed) } else { alone_done.then_some(Relation::Same) };
                Against { relation, new_trace: None, baseline_bad: broke }
            }
            None => Against { relation: None, new_trace: None, baseline_bad: false },
        })
        .collect();
    Lockstep {
        baseline: baseline.to_string(),
        properties,
        pairs,
        baseline_states: alone_states,
        complete: alone_done && product_done && bad.iter().all(|b| b.is_some()),
        stopped: alone_stop.or(stopped),
        elapsed: start.elapsed(),
    }
}
