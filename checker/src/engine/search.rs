//! The exhaustive explorer: a level-synchronous breadth-first search over a
//! `System`'s `stateright::Model` functions.
//!
//! Why not stateright's own BFS: it ignores symmetry, finds shortest traces
//! only with one thread, and its results depend on the thread count. Here
//! each BFS level is expanded by all threads in parallel (probing the
//! store read-only), then merged in a fixed order, so state ids, counts,
//! first discoveries and therefore traces are the same for any number of
//! threads. The first state (lowest id) that violates or witnesses a
//! property is at the smallest depth: traces are shortest. Tests
//! cross-check counts and verdicts against stateright's checkers.
//!
//! States are stored packed (`store`, `intern`) and expanded on their
//! packed form (`expand`); `Exploration` decodes them back into
//! `key::Key`s for everything else.

use super::decode::Decoder;
use super::expand::{ChunkOut, Level, Scratch};
use super::exploration::{Discovery, Exploration, Packing, Phases, Stored};
use super::intern::{Local, Moves, Slots, MOVES_MAX};
use super::limits::{Limits, Stop};
use super::store::{field_bits, Candidate, Packed, Store};
use mmflags_model::key::{slot_alive, slot_sysfs, unpack_slot, Projection};
use mmflags_model::state::MAX_PROCS;
use mmflags_model::symmetry::Symmetry;
use mmflags_model::syscalls::{reach, Reach};
use mmflags_model::{Sysfs, System};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

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

/// First state in `range` (lowest id) for each undiscovered property,
/// trying each sysfs mode of the spec (in its order) when the stored states
/// do not record the mode.
///
/// A property decided process by process (`Prop::per_process`) is hit by a
/// state exactly when one of its live processes, alone under the same mode,
/// hits it; such properties are evaluated once per slot form and mode
/// (`Alone`), and a state costs a few loads and ORs of their masks. The
/// others are evaluated on the decoded state, as before.
fn check_properties<K: Packed>(
    sys: &System,
    proj: &Projection,
    st: (&Store<K>, &Slots, u32),
    range: std::ops::Range<usize>,
    found: &mut [Option<Discovery>],
    threads: usize,
) {
    let pending: Vec<usize> = (0..found.len()).filter(|&i| found[i].is_none()).collect();
    if pending.is_empty() || range.is_empty() {
        return;
    }
    let (store, slots, bits) = st;
    let procs = sys.bounds.processes.clamp(1, MAX_PROCS);
    let hit = |i: usize, s: &mmflags_model::State| sys.properties[i].hit(sys, s);
    let modes: &[Sysfs] = if proj.sysfs { &[] } else { &sys.bounds.sysfs };
    // Positions in `pending` of the per-process properties (at most 128,
    // the bits of a mask) and of the others.
    let (mut local, mut whole) = (Vec::new(), Vec::new());
    for (k, &i) in pending.iter().enumerate() {
        if sys.properties[i].per_process() && local.len() < 128 {
            local.push(k);
        } else {
            whole.push(k);
        }
    }
    let chunk = range.len().div_ceil(threads).max(1);
    let results: Vec<Vec<Option<Discovery>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (range.start..range.end)
            .step_by(chunk)
            .map(|lo| {
                let hi = (lo + chunk).min(range.end);
                let (pending, local, whole) = (&pending, &local, &whole);
                scope.spawn(move || {
                    let mut first: Vec<Option<Discovery>> = vec![None; pending.len()];
                    let mut n = [0u32; MAX_PROCS];
                    let mut decoder = Decoder::default();
                    let mut alone = Alone::new(local.iter().map(|&k| pending[k]).collect());
                    // Bit b: `local[b]` is still to be found.
                    let mut open: u128 =
                        if local.len() == 128 { u128::MAX } else { (1u128 << local.len()) - 1 };
                    let mut whole_left = whole.len();
                    for id in lo..hi {
                        // A new state's slot is anywhere in the table.
                        store.prefetch_id(id + 16);
                        let k = store.get(id);
                        for (i, f) in n.iter_mut().enumerate().take(procs) {
                            *f = k.field(i, bits);
                        }
                        let own = [slot_sysfs(slots.get(n[0]))];
                        let try_modes = if modes.is_empty() { &own[..] } else { modes };
                        if open != 0 {
                            for &m in try_modes {
                                let mut mask = 0u128;
                                for &f in &n[..procs] {
                                    mask |= alone.hits(sys, slots, f, m);
                                }
                                mask &= open;
                                open &= !mask;
                                while mask != 0 {
                                    let b = mask.trailing_zeros() as usize;
                                    first[local[b]] = Some(Discovery { id: id as u32, sysfs: m });
                                    mask &= mask - 1;
                                }
                            }
                        }
                        if whole_left > 0 {
                            let mut s = decoder.state(slots, &n[..procs]);
                            for &k in whole.iter() {
                                if first[k].is_some() {
                                    continue;
                                }
                                for &m in try_modes {
                                    s.sysfs = m;
                                    if hit(pending[k], &s) {
                                        first[k] = Some(Discovery { id: id as u32, sysfs: m });
                                        whole_left -= 1;
                                        break;
                                    }
                                }
                            }
                        }
                        if open == 0 && whole_left == 0 {
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

/// Per slot form and sysfs mode, which per-process properties a process of
/// that form hits alone (bit b: `props[b]`), computed on first use.
struct Alone {
    props: Vec<usize>,
    /// Per slot number: the modes computed (bit per `Sysfs as usize`), and
    /// the masks.
    hits: Vec<(u8, [u128; 3])>,
}

impl Alone {
    fn new(props: Vec<usize>) -> Alone {
        Alone { props, hits: Vec::new() }
    }

    #[inline]
    fn hits(&mut self, sys: &System, slots: &Slots, n: u32, m: Sysfs) -> u128 {
        let i = n as usize;
        if i >= self.hits.len() {
            self.hits.resize((i + 1).next_power_of_two(), (0, [0; 3]));
        }
        let (done, masks) = &mut self.hits[i];
        if *done & (1 << m as u8) == 0 {
            let form = slots.get(n);
            let mut mask = 0u128;
            if slot_alive(form) {
                let mut s = mmflags_model::State { sysfs: m, procs: [None; MAX_PROCS] };
                s.procs[0] = Some(unpack_slot(form));
                for (b, &p) in self.props.iter().enumerate() {
                    mask |= (sys.properties[p].hit(sys, &s) as u128) << b;
                }
            }
            *done |= 1 << m as u8;
            masks[m as usize] = mask;
        }
        masks[m as usize]
    }
}

/// States per chunk (a unit of work for one thread).
const CHUNK: usize = 512;
/// States per batch of a level (see `explore`).
const BATCH: usize = 64 * CHUNK;

/// What stopping the workers shares.
struct Abort {
    flag: AtomicBool,
    reason: OnceLock<Stop>,
}

/// Expands the chunks of `ids` on `opt.threads` threads; returns each
/// chunk's output with its index, sorted (stopping early leaves gaps).
fn expand_batch<K: Packed>(
    level: &Level<'_, K>,
    ids: std::ops::Range<usize>,
    opt: &Options,
    abort: &Abort,
    start: Instant,
    scratches: &mut [Scratch<K>],
) -> Vec<(usize, ChunkOut<K>)> {
    let (lo, hi) = (ids.start, ids.end);
    let next_chunk = AtomicUsize::new(0);
    let nchunks = (hi - lo).div_ceil(CHUNK);
    std::thread::scope(|scope| {
        let handles: Vec<_> = scratches
            .iter_mut()
            .take(nchunks)
            .map(|scratch| {
                let next_chunk = &next_chunk;
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    while !abort.flag.load(Ordering::Relaxed) {
                        let k = next_chunk.fetch_add(1, Ordering::Relaxed);
                        if k >= nchunks {
                            break;
                        }
                        let chunk = lo + k * CHUNK..(lo + (k + 1) * CHUNK).min(hi);
                        let out = level.expand_chunk(chunk, scratch);
                        opt.counters.generated.fetch_add(out.generated, Ordering::Relaxed);
                        let overflow = out.overflow;
                        mine.push((k, out));
                        if overflow {
                            abort.flag.store(true, Ordering::Relaxed);
                        } else if let Some(stop) = opt.limits.during(&opt.interrupt, start) {
                            // reliab: keep the reason as it was seen (memory
                            // read again later may have been freed).
                            let _ = abort.reason.set(stop);
                            abort.flag.store(true, Ordering::Relaxed);
                        }
                    }
                    mine
                })
            })
            .collect();
        let mut all: Vec<(usize, ChunkOut<K>)> =
            handles.into_iter().flat_map(|h| h.join().expect("expansion worker panicked")).collect();
        all.sort_by_key(|(k, _)| *k);
        all
    })
}

/// Explores `sys` within its bounds (or until a limit in `opt` stops it).
pub fn explore(sys: &System, opt: &Options) -> Exploration {
    let start = Instant::now();
    // States are packed into 64 bits while their slots' forms can be
    // numbered in a share of them (16 bits each for four processes), and
    // into 128 bits from the start again if they cannot.
    if let Ok(x) = explore_as::<u64>(sys, opt, start, MOVES_MAX) {
        return x;
    }
    match explore_as::<u128>(sys, opt, start, MOVES_MAX) {
        Ok(x) => x,
        Err(mut x) => {
            x.complete = false;
            x.stopped = Some(Stop::SlotNumbers(x.stored.slot_capacity() as u64));
            *x
        }
    }
}

/// `explore` with states packed in `K`; `Err` (with what was explored) when
/// the slots' forms outgrew `K`'s fields (or `most` numbers).
fn explore_as<K: Packed>(
    sys: &System,
    opt: &Options,
    start: Instant,
    most: u32,
) -> Result<Exploration, Box<Exploration>>
where
    Store<K>: Into<Packing>,
{
    let sym = opt.symmetry;
    let procs = sys.bounds.processes.clamp(1, MAX_PROCS);
    let bits = field_bits::<K>(procs);
    let cap = (1u64 << bits).min(most as u64) as u32;
    let slots = Slots::new(cap);
    let moves = Moves::new(sys.alphabet.len(), cap);
    let mut store: Store<K> = Store::new();
    let mut proj = sys.projection;
    let mut overflow = false;
    {
        let canon = sys.canon(&proj, sym);
        let mut local = Local::new();
        for s in stateright::Model::init_states(sys) {
            let key = canon.key(&s);
            let n: Option<Vec<u32>> = (0..procs).map(|i| local.intern(&slots, key.forms[i])).collect();
            match n {
                Some(n) => {
                    let k = K::pack(&n, bits);
                    store.insert(k, k.hash());
                }
                None => overflow = true,
            }
        }
    }
    let mut x = Exploration {
        discoveries: vec![None; sys.properties.len()],
        coverage: vec![Default::default(); sys.alphabet.len()],
        levels: vec![0],
        generated: 0,
        complete: false,
        stopped: None,
        elapsed: Duration::ZERO,
        phases: Phases::default(),
        symmetry: sym,
        projections: vec![proj],
        stored: Stored::empty(),
        held_bytes: 0,
        sys: sys.clone(),
    };
    check_properties(sys, &proj, (&store, &slots, bits), 0..store.len(), &mut x.discoveries, opt.threads);
    opt.counters.unique.store(store.len() as u64, Ordering::Relaxed);
    // A decided property's ghosts need not be kept any more.
    let narrowed = |found: &[Option<Discovery>]| {
        if !opt.narrow {
            return sys.projection;
        }
        sys.projection_for(sys.properties.iter().zip(found).filter(|(_, f)| f.is_none()).map(|(p, _)| p))
    };
    proj = narrowed(&x.discoveries);
    // Stamps of the projections `moves` rows were computed under.
    let mut stamp = 1;
    let mut stamped = proj;

    let abort = Abort { flag: AtomicBool::new(false), reason: OnceLock::new() };
    let mut scratches: Vec<Scratch<K>> = (0..opt.threads.max(1)).map(|_| Scratch::new()).collect();
    let pair_index: Vec<u16> = sys
        .alphabet
        .iter()
        .scan(0u16, |n, c| {
            let i = *n;
            *n += matches!(reach(c), Reach::Pair(_)) as u16;
            Some(i)
        })
        .collect();
    let pair_calls = sys.alphabet.iter().filter(|c| matches!(reach(c), Reach::Pair(_))).count();
    let mut depth = 0;
    while !overflow {
        let lo = x.levels[depth];
        let hi = store.len();
        if lo == hi {
            x.levels.pop();
            x.complete = true;
            break;
        }
        if sys.bounds.depth == Some(depth) {
            x.complete = true;
            break;
        }
        if let Some(stop) = opt.limits.before_level(depth, store.len(), start, &opt.interrupt) {
            x.stopped = Some(stop);
            break;
        }
        opt.counters.depth.store(depth, Ordering::Relaxed);
        if proj != stamped {
            stamp += 1;
            stamped = proj;
        }

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
            let level = Level {
                sys,
                sym,
                canon: sys.canon(&proj, sym),
                stamp,
                narrowed: x.projections[depth] != proj,
                slots: &slots,
                moves: &moves,
                store: &store,
                bits,
                pair_index: &pair_index,
                pair_calls,
                kernel_call: sys.kernel_call(),
            };
            let outs = expand_batch(&level, batch_lo..batch_hi, opt, &abort, start, &mut scratches);
            let t1 = Instant::now();
            x.phases.expand += t1 - t0;
            if outs.iter().any(|(_, o)| o.overflow) {
                overflow = true;
                merged_all = false;
                break;
            }
            // reliab: refuse a merge that would not fit under --max-memory.
            let incoming = outs.iter().map(|(_, o)| o.cands.len()).sum();
            if let Some(stop) = opt.limits.before_merge(depth + 1, incoming, store.bytes_to_add(incoming)) {
                let _ = abort.reason.set(stop);
                abort.flag.store(true, Ordering::Relaxed);
                break;
            }
            let nchunks = (batch_hi - batch_lo).div_ceil(CHUNK);
            merged_all = outs.len() == nchunks && outs.iter().enumerate().all(|(i, (k, _))| *k == i);
            if merged_all {
                for (_, out) in &outs {
                    x.generated += out.generated;
                    for (c, o) in x.coverage.iter_mut().zip(&out.coverage) {
                        c.fired += o.fired;
                        c.changed += o.changed;
                        c.errors += o.errors;
                    }
                }
                let parts: Vec<&[Candidate<K>]> = outs.iter().map(|(_, o)| &o.cands[..]).collect();
                store.insert_all(&parts, opt.threads);
            }
            x.phases.merge += t1.elapsed();
            opt.counters.unique.store(store.len() as u64, Ordering::Relaxed);
            batch_lo = batch_hi;
        }
        if overflow {
            break;
        }
        let merged_all = merged_all && !abort.flag.load(Ordering::Relaxed);
        opt.counters.unique.store(store.len() as u64, Ordering::Relaxed);
        let t2 = Instant::now();
        let range = hi..store.len();
        check_properties(sys, &proj, (&store, &slots, bits), range, &mut x.discoveries, opt.threads);
        x.phases.properties += t2.elapsed();
        if hi < store.len() {
            x.levels.push(hi);
            x.projections.push(proj);
        }
        proj = narrowed(&x.discoveries);
        if !merged_all {
            x.stopped = abort.reason.get().copied().or(Some(Stop::Interrupted));
            break;
        }
        if hi == store.len() {
            x.complete = true;
            break;
        }
        depth += 1;
        if let Some(stop) = opt.limits.after_merge(store.len()) {
            x.stopped = Some(stop);
            break;
        }
    }
    // The move table only speeds up expansion: traces need the store and
    // the slot forms alone.
    drop(moves);
    slots.seal();
    x.held_bytes = store.bytes() + slots.bytes();
    x.stored = Stored::new(store.into(), slots, bits, procs);
    x.elapsed = start.elapsed();
    if overflow {
        Err(Box::new(x))
    } else {
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Running out of slot numbers starts the search again on 128-bit
    /// states, and either width finds the same states in the same order.
    #[test]
    fn wide_states_give_the_same_search() {
        let mut spec = crate::spec::load(&crate::spec::resolve("linux-6.18-thp").unwrap()).unwrap();
        spec.bounds.processes = 3;
        spec.bounds.vmas = 1;
        let sys = spec.system();
        let opt = Options::new(2, sys.symmetry);
        let start = Instant::now();
        let cut = explore_as::<u64>(&sys, &opt, start, 20).err().expect("20 slot forms are too few");
        assert!(cut.unique() < 1000);
        let narrow = explore_as::<u64>(&sys, &opt, start, MOVES_MAX).ok().unwrap();
        let wide = explore_as::<u128>(&sys, &opt, start, MOVES_MAX).ok().unwrap();
        assert!(narrow.complete && wide.complete);
        assert!(narrow.keys().eq(wide.keys()));
        assert_eq!((narrow.generated, &narrow.coverage), (wide.generated, &wide.coverage));
        assert_eq!(narrow.discoveries, wide.discoveries);
        assert!(wide.bytes_per_state_bound() > narrow.bytes_per_state_bound());
    }
}
