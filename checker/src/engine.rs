//! The exhaustive explorer: a level-synchronous breadth-first search over a
//! `System`'s `stateright::Model` functions.
//!
//! Why not stateright's own BFS: it ignores symmetry, finds shortest traces
//! only with one thread, and its results depend on the thread count. Here
//! each BFS level is expanded by all threads in parallel (probing the
//! visited set read-only), then merged in a fixed order, so state ids,
//! counts, first discoveries and therefore traces are the same for any
//! number of threads. The first state (lowest id) that violates or
//! witnesses a property is at the smallest depth: traces are shortest.
//! Tests cross-check counts and verdicts against stateright's checkers.

use crate::limits::{Limits, Stop};
use crate::visited::{hash32, Visited};
use mmflags_model::key::{unpack, Key, Projection};
use mmflags_model::state::MAX_PROCS;
use mmflags_model::symmetry::Symmetry;
use mmflags_model::{Sysfs, System};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Per alphabet entry: how often it ran, changed the state, or failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub fired: u64,
    pub changed: u64,
    pub errors: u64,
}

/// Live counters a progress reporter may read while the search runs.
#[derive(Debug, Default)]
pub struct Counters {
    pub generated: AtomicU64,
    pub unique: AtomicU64,
    pub depth: AtomicUsize,
}

pub struct Options {
    pub threads: usize,
    pub symmetry: Symmetry,
    pub limits: Limits,
    /// Set from outside (Ctrl-C) to stop the search.
    pub interrupt: Arc<AtomicBool>,
    pub counters: Arc<Counters>,
    /// Stop keeping a property's ghost bits once it is decided. Sound (no
    /// transition and no undecided property reads them) and often a large
    /// saving; off only to compare counts with another checker.
    pub narrow: bool,
}

impl Options {
    pub fn new(threads: usize, symmetry: Symmetry) -> Options {
        Options {
            threads: threads.max(1),
            symmetry,
            limits: Limits::default(),
            interrupt: Arc::new(AtomicBool::new(false)),
            counters: Arc::new(Counters::default()),
            narrow: true,
        }
    }
}

/// A state that decides a property, and the sysfs mode it does so under
/// (stored states need not record the mode: see `Projection::sysfs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Discovery {
    pub id: u32,
    pub sysfs: Sysfs,
}

/// Wall time per phase of the search (for `check bench` and tuning).
#[derive(Clone, Copy, Debug, Default)]
pub struct Phases {
    pub expand: Duration,
    pub merge: Duration,
    pub properties: Duration,
}

/// What a search found.
pub struct Exploration {
    /// Stored keys (projected representatives) in BFS order; a state's id is its index.
    pub states: Vec<Key>,
    /// The projection states of each depth were stored under: it narrows as
    /// properties are decided (a decided property's ghosts are no longer kept).
    pub projections: Vec<Projection>,
    /// Parent id of each state (`u32::MAX` for initial states).
    pub parents: Vec<u32>,
    /// Index of the first state of each depth.
    pub levels: Vec<usize>,
    /// Successors computed, duplicates included (stateright's `state_count`).
    pub generated: u64,
    /// Per checked property (in `System::properties` order): the first state
    /// that violates (`always`) or witnesses (`sometimes`) it, and under
    /// which sysfs mode.
    pub discoveries: Vec<Option<Discovery>>,
    /// Per alphabet entry, summed over processes.
    pub coverage: Vec<Coverage>,
    /// Every state within the spec's bounds was explored.
    pub complete: bool,
    /// Why the search stopped early (`None` when complete).
    pub stopped: Option<Stop>,
    pub elapsed: Duration,
    /// Where the time went: expanding levels, merging them, checking properties.
    pub phases: Phases,
    pub symmetry: Symmetry,
}

impl Exploration {
    pub fn unique(&self) -> usize {
        self.states.len()
    }

    /// Bytes the search holds per stored state: the key, its parent id, and
    /// two visited-set slots (the set is kept at most half full).
    pub const BYTES_PER_STATE: usize = std::mem::size_of::<Key>() + 4 + 2 * 8;

    /// Deepest level that holds a state.
    pub fn max_depth(&self) -> usize {
        self.levels.len().saturating_sub(1)
    }

    /// The chain of keys from an initial state to `id`.
    pub fn chain(&self, id: u32) -> Vec<Key> {
        let mut ids = vec![id];
        while let Some(&p) = self.parents.get(*ids.last().unwrap() as usize) {
            if p == u32::MAX {
                break;
            }
            ids.push(p);
        }
        ids.iter().rev().map(|&i| self.states[i as usize]).collect()
    }
}

#[derive(Clone, Copy)]
struct Candidate {
    hash: u32,
    state: Key,
    parent: u32,
}

#[derive(Default)]
struct ChunkOut {
    cands: Vec<Candidate>,
    coverage: Vec<Coverage>,
    generated: u64,
}

const CHUNK: usize = 512;

fn expand_chunk(
    sys: &System,
    sym: Symmetry,
    proj: &Projection,
    states: &[Key],
    visited: &Visited,
    ids: std::ops::Range<usize>,
) -> ChunkOut {
    let n = sys.alphabet.len();
    let mut out = ChunkOut { coverage: vec![Coverage::default(); n], ..Default::default() };
    // Every distinct successor of each state in the chunk, then one
    // pipelined pass over the visited set (see `probe_pipelined`).
    let mut succ: Vec<Candidate> = Vec::with_capacity(64 * (ids.len()));
    // One state's successors are told apart in a small open-addressing
    // table (generation-stamped, so it is never cleared): a linear scan
    // over them cost more than the rest of the expansion.
    let cap = (2 * n * sys.bounds.processes.clamp(1, MAX_PROCS)).next_power_of_two();
    let mut seen: Vec<(u32, u32)> = vec![(0, 0); cap];
    let canon = sys.canon(proj, sym);
    for (k, id) in ids.enumerate() {
        let s = &unpack(&states[id]);
        let generation = k as u32 + 1;
        sys.for_each_action_but_twins(s, sym, |aid, a| {
            let mut t = *s;
            let Ok(ret) = sys.step_in_place(&mut t, &a) else {
                return;
            };
            let cov = &mut out.coverage[aid % n];
            cov.fired += 1;
            cov.errors += ret.is_err() as u64;
            out.generated += 1;
            let c = canon.key(&t);
            // "Changed" is what the search can see: the stored key.
            let changed = c != states[id];
            cov.changed += changed as u64;
            if !changed {
                // Back to the state being expanded (up to what is stored).
                return;
            }
            let h = hash32(&c);
            let mut slot = h as usize & (cap - 1);
            loop {
                let (g, at) = seen[slot];
                if g != generation {
                    seen[slot] = (generation, succ.len() as u32);
                    succ.push(Candidate { hash: h, state: c, parent: id as u32 });
                    break;
                }
                let x = &succ[at as usize];
                if x.hash == h && x.state == c {
                    break;
                }
                slot = (slot + 1) & (cap - 1);
            }
        });
    }
    probe_pipelined(visited, states, succ, &mut out.cands);
    out
}

/// Keeps the successors not in `visited`. Probing is memory-bound (a slot,
/// then the stored key to confirm a hit, both likely cache misses), so it
/// is software-pipelined: the slot of item `i + FAR` and the key that slot
/// points at for item `i + NEAR` are requested while item `i` is decided.
fn probe_pipelined(visited: &Visited, states: &[Key], succ: Vec<Candidate>, out: &mut Vec<Candidate>) {
    const FAR: usize = 16;
    const NEAR: usize = 8;
    for c in succ.iter().take(FAR) {
        visited.prefetch(c.hash);
    }
    for i in 0..succ.len() {
        if let Some(c) = succ.get(i + FAR) {
            visited.prefetch(c.hash);
        }
        if let Some(c) = succ.get(i + NEAR) {
            visited.prefetch_key(states, c.hash);
        }
        let c = &succ[i];
        if !visited.contains(states, c.hash, &c.state) {
            out.push(Candidate { hash: c.hash, state: c.state, parent: c.parent });
        }
    }
}

/// First state in `range` (lowest id) for each undiscovered property,
/// trying each sysfs mode of the spec (in its order) when the stored states
/// do not record the mode.
fn check_properties(
    sys: &System,
    proj: &Projection,
    states: &[Key],
    range: std::ops::Range<usize>,
    found: &mut [Option<Discovery>],
    threads: usize,
) {
    let pending: Vec<usize> = (0..found.len()).filter(|&i| found[i].is_none()).collect();
    if pending.is_empty() || range.is_empty() {
        return;
    }
    let hit = |i: usize, s: &mmflags_model::State| sys.properties[i].hit(sys, s);
    let modes: &[Sysfs] = if proj.sysfs { &[] } else { &sys.bounds.sysfs };
    let chunk = range.len().div_ceil(threads).max(1);
    let results: Vec<Vec<Option<Discovery>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (range.start..range.end)
            .step_by(chunk)
            .map(|lo| {
                let hi = (lo + chunk).min(range.end);
                let pending = &pending;
                scope.spawn(move || {
                    let mut first: Vec<Option<Discovery>> = vec![None; pending.len()];
                    for (id, key) in states.iter().enumerate().take(hi).skip(lo) {
                        let mut s = unpack(key);
                        let own = [s.sysfs];
                        let try_modes = if modes.is_empty() { &own[..] } else { modes };
                        for (k, &i) in pending.iter().enumerate() {
                            if first[k].is_some() {
                                continue;
                            }
                            for &m in try_modes {
                                s.sysfs = m;
                                if hit(i, &s) {
                                    first[k] = Some(Discovery { id: id as u32, sysfs: m });
                                    break;
                                }
                            }
                        }
                        if first.iter().all(|f| f.is_some()) {
                            break;
                        }
                    }
                    first
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("property worker panicked")).collect()
    });
    for (k, &i) in pending.iter().enumerate() {
        found[i] = results.iter().filter_map(|r| r[k]).min_by_key(|d| d.id);
    }
}

/// States per batch of a level (see `explore`).
const BATCH: usize = 64 * CHUNK;

/// Expands the chunks of `ids` on `opt.threads` threads; returns each
/// chunk's output with its index, sorted (stopping early leaves gaps).
#[allow(clippy::too_many_arguments)]
fn expand_batch(
    sys: &System,
    sym: Symmetry,
    proj: &Projection,
    states: &[Key],
    visited: &Visited,
    ids: std::ops::Range<usize>,
    opt: &Options,
    abort: &AtomicBool,
    abort_reason: &OnceLock<Stop>,
    start: Instant,
) -> Vec<(usize, ChunkOut)> {
    let (lo, hi) = (ids.start, ids.end);
    let next_chunk = AtomicUsize::new(0);
    let nchunks = (hi - lo).div_ceil(CHUNK);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..opt.threads.min(nchunks))
            .map(|_| {
                let next_chunk = &next_chunk;
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    while !abort.load(Ordering::Relaxed) {
                        let k = next_chunk.fetch_add(1, Ordering::Relaxed);
                        if k >= nchunks {
                            break;
                        }
                        let chunk = lo + k * CHUNK..(lo + (k + 1) * CHUNK).min(hi);
                        let out = expand_chunk(sys, sym, proj, states, visited, chunk);
                        opt.counters.generated.fetch_add(out.generated, Ordering::Relaxed);
                        mine.push((k, out));
                        if let Some(stop) = opt.limits.during(&opt.interrupt, start) {
                            // reliab: keep the reason as it was seen (memory
                            // read again later may have been freed).
                            let _ = abort_reason.set(stop);
                            abort.store(true, Ordering::Relaxed);
                        }
                    }
                    mine
                })
            })
            .collect();
        let mut all: Vec<(usize, ChunkOut)> =
            handles.into_iter().flat_map(|h| h.join().expect("expansion worker panicked")).collect();
        all.sort_by_key(|(k, _)| *k);
        all
    })
}

/// Explores `sys` within its bounds (or until a limit in `opt` stops it).
pub fn explore(sys: &System, opt: &Options) -> Exploration {
    let start = Instant::now();
    let sym = opt.symmetry;
    let mut states: Vec<Key> = Vec::new();
    let mut parents: Vec<u32> = Vec::new();
    let mut visited = Visited::new();
    let mut proj = sys.projection;
    for s in stateright::Model::init_states(sys) {
        let c = sys.key(&s, &proj, sym);
        if visited.insert(&mut states, hash32(&c), c) {
            parents.push(u32::MAX);
        }
    }
    let mut x = Exploration {
        discoveries: vec![None; sys.properties.len()],
        coverage: vec![Coverage::default(); sys.alphabet.len()],
        levels: vec![0],
        generated: 0,
        complete: false,
        stopped: None,
        elapsed: Duration::ZERO,
        phases: Phases::default(),
        symmetry: sym,
        states: Vec::new(),
        parents: Vec::new(),
        projections: vec![proj],
    };
    check_properties(sys, &proj, &states, 0..states.len(), &mut x.discoveries, opt.threads);
    opt.counters.unique.store(states.len() as u64, Ordering::Relaxed);
    // A decided property's ghosts need not be kept any more.
    let narrowed = |found: &[Option<Discovery>]| {
        if !opt.narrow {
            return sys.projection;
        }
        sys.projection_for(sys.properties.iter().zip(found).filter(|(_, f)| f.is_none()).map(|(p, _)| p))
    };
    proj = narrowed(&x.discoveries);

    let abort = AtomicBool::new(false);
    let abort_reason: OnceLock<Stop> = OnceLock::new();
    let mut depth = 0;
    loop {
        let lo = x.levels[depth];
        let hi = states.len();
        if lo == hi {
            x.levels.pop();
            x.complete = true;
            break;
        }
        if sys.bounds.depth == Some(depth) {
            x.complete = true;
            break;
        }
        if let Some(stop) = opt.limits.before_level(depth, states.len(), start, &opt.interrupt) {
            x.stopped = Some(stop);
            break;
        }
        opt.counters.depth.store(depth, Ordering::Relaxed);

        // Expand [lo, hi) a batch at a time: within a batch, threads take
        // chunks in order; the batch is then merged in chunk order, so ids
        // are those a sequential BFS would assign, and at most one batch of
        // candidates is held in memory. Later batches of the level already
        // see the new states merged from earlier ones.
        let mut merged_all = true;
        let mut batch_lo = lo;
        while batch_lo < hi && merged_all {
            let batch_hi = (batch_lo + BATCH).min(hi);
            let t0 = Instant::now();
            let outs = expand_batch(
                sys,
                sym,
                &proj,
                &states,
                &visited,
                batch_lo..batch_hi,
                opt,
                &abort,
                &abort_reason,
                start,
            );
            let t1 = Instant::now();
            // reliab: refuse a merge that would not fit under --max-memory.
            let incoming = outs.iter().map(|(_, o)| o.cands.len()).sum();
            if let Some(stop) = opt.limits.before_merge(depth + 1, incoming, states.len(), visited.bytes()) {
                let _ = abort_reason.set(stop);
                abort.store(true, Ordering::Relaxed);
                break;
            }
            x.phases.expand += t1 - t0;
            let nchunks = (batch_hi - batch_lo).div_ceil(CHUNK);
            merged_all = outs.len() == nchunks && outs.iter().enumerate().all(|(i, (k, _))| *k == i);
            for (_, out) in outs.into_iter().take_while(|_| merged_all) {
                x.generated += out.generated;
                for (c, o) in x.coverage.iter_mut().zip(&out.coverage) {
                    c.fired += o.fired;
                    c.changed += o.changed;
                    c.errors += o.errors;
                }
                for (k, cand) in out.cands.iter().enumerate() {
                    if let Some(ahead) = out.cands.get(k + 8) {
                        visited.prefetch(ahead.hash);
                    }
                    if visited.insert(&mut states, cand.hash, cand.state) {
                        parents.push(cand.parent);
                    }
                }
            }
            x.phases.merge += t1.elapsed();
            opt.counters.unique.store(states.len() as u64, Ordering::Relaxed);
            batch_lo = batch_hi;
        }
        let merged_all = merged_all && !abort.load(Ordering::Relaxed);
        opt.counters.unique.store(states.len() as u64, Ordering::Relaxed);
        let t2 = Instant::now();
        check_properties(sys, &proj, &states, hi..states.len(), &mut x.discoveries, opt.threads);
        x.phases.properties += t2.elapsed();
        if hi < states.len() {
            x.levels.push(hi);
            x.projections.push(proj);
        }
        proj = narrowed(&x.discoveries);
        if !merged_all {
            x.stopped = abort_reason.get().copied().or(Some(Stop::Interrupted));
            break;
        }
        if hi == states.len() {
            x.complete = true;
            break;
        }
        depth += 1;
        if let Some(stop) = opt.limits.after_merge(states.len()) {
            x.stopped = Some(stop);
            break;
        }
    }
    x.states = states;
    x.parents = parents;
    x.elapsed = start.elapsed();
    x
}
