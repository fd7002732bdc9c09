//! Expanding stored states: every distinct successor of each state of a
//! chunk that is not stored yet, with per-call coverage, exactly as
//! `System::for_each_action_but_twins` and `System::step_in_place` define
//! them, computed on packed states.
//!
//! A call of the caller alone (`syscalls::touches_only_caller`: most of
//! every alphabet) is looked up in `intern::Moves`: the caller's slot
//! number becomes another, the other slots stay, and the successor is
//! those numbers sorted (when process slots are interchangeable) and
//! packed. Only the other calls (`fork`, `exit`, `process_madvise`, a
//! variant's calls) step the whole state through the model; their
//! successors' slots are numbered as they are met. Both ways give the key
//! `Canon::key` gives the stepped state, slot for slot: `apply` runs the
//! first kind through `apply_to_caller` too, and a stored state's other
//! slots are already normalised and projected.

use crate::engine::Coverage;
use crate::intern::{order_of, Local, Move, Moves, Slots};
use crate::store::{Packed, Store};
use mmflags_model::key::{free_slot_like, slot_alive, slot_sysfs, unpack, unpack_slot, Canon, Key};
use mmflags_model::state::MAX_PROCS;
use mmflags_model::symmetry::Symmetry;
use mmflags_model::syscalls::touches_only_caller;
use mmflags_model::{Action, State, System};
use std::ops::Range;

/// What expanding one level needs: the system, how states are keyed for
/// the next level, and the tables.
pub struct Level<'a, K> {
    pub sys: &'a System,
    pub sym: Symmetry,
    /// Keys the successors (the projection of the level being made).
    pub canon: Canon,
    /// Stamp of `canon`'s projection in `moves` (changes when it narrows).
    pub stamp: u32,
    /// The states expanded were stored under another projection than
    /// `canon`'s: their slots are re-keyed before they are stepped.
    pub narrowed: bool,
    pub slots: &'a Slots,
    pub moves: &'a Moves,
    pub store: &'a Store<K>,
    /// Field width of a packed state.
    pub bits: u32,
}

/// One successor not stored yet.
#[derive(Clone, Copy)]
pub struct Candidate<K> {
    pub hash: u64,
    pub state: K,
}

pub struct ChunkOut<K> {
    pub cands: Vec<Candidate<K>>,
    pub coverage: Vec<Coverage>,
    pub generated: u64,
    /// Slot numbers ran out (the engine starts again with wider states).
    pub overflow: bool,
}

/// The numbers a state's slots unpack to, with their sort orders.
#[derive(Clone, Copy)]
struct Slotted {
    n: [u32; MAX_PROCS],
    ord: [u128; MAX_PROCS],
}

/// A thread's scratch space, kept across chunks.
pub struct Scratch<K> {
    local: Local,
    /// One state's successors are told apart in a small open-addressing
    /// table (generation-stamped, so it is never cleared).
    seen: Vec<(u32, u32)>,
    generation: u32,
    succ: Vec<Candidate<K>>,
}

impl<K: Packed> Scratch<K> {
    pub fn new(sys: &System) -> Scratch<K> {
        let n = sys.alphabet.len();
        let cap = (2 * n * sys.bounds.processes.clamp(1, MAX_PROCS)).next_power_of_two();
        Scratch { local: Local::new(), seen: vec![(0, 0); cap], generation: 0, succ: Vec::new() }
    }
}

impl<K: Packed> Level<'_, K> {
    fn procs(&self) -> usize {
        self.canon.procs()
    }

    /// The slots of stored state `k`.
    #[inline]
    fn slotted(&self, k: K) -> Slotted {
        let mut s = Slotted { n: [0; MAX_PROCS], ord: [0; MAX_PROCS] };
        for i in 0..self.procs() {
            s.n[i] = k.field(i, self.bits);
            s.ord[i] = self.slots.order(s.n[i]);
        }
        s
    }

    /// The packed key of slots `s` (sorted first when process slots are
    /// interchangeable, as `Canon::key` sorts them).
    #[inline]
    fn pack(&self, mut s: Slotted) -> K {
        let p = self.procs();
        if self.sym.procs {
            let mut cx = |i: usize, j: usize| {
                if s.ord[j] < s.ord[i] {
                    s.ord.swap(i, j);
                    s.n.swap(i, j);
                }
            };
            match p {
                0 | 1 => {}
                2 => cx(0, 1),
                3 => {
                    cx(0, 1);
                    cx(1, 2);
                    cx(0, 1);
                }
                _ => {
                    cx(0, 1);
                    cx(2, 3);
                    cx(0, 2);
                    cx(1, 3);
                    cx(1, 2);
                }
            }
        }
        K::pack(&s.n[..p], self.bits)
    }

    /// The row of `moves` for slot `n` under this level's projection,
    /// filled on first use; `None` when slot numbers ran out.
    #[inline]
    fn row(&self, n: u32, local: &mut Local) -> Option<&[std::sync::atomic::AtomicU32]> {
        if let Some(r) = self.moves.row(n, self.stamp) {
            return Some(r);
        }
        self.fill(n, local)
    }

    #[cold]
    fn fill(&self, n: u32, local: &mut Local) -> Option<&[std::sync::atomic::AtomicU32]> {
        let (w, g) = self.slots.get(n);
        let sysfs = slot_sysfs(w);
        let alive = slot_alive(w);
        let p = alive.then(|| unpack_slot(w, g));
        let (sw, sg) = self.canon.slot(p.as_ref(), sysfs);
        let still = local.intern(self.slots, sw, sg)?;
        let mut moves = Vec::with_capacity(self.sys.alphabet.len());
        for call in &self.sys.alphabet {
            let m = match &p {
                None => Move::Disabled,
                Some(_) if !touches_only_caller(call) => Move::Whole,
                Some(p) if !self.sys.caller_may(p, call) => Move::Disabled,
                Some(p) => {
                    let mut q = *p;
                    match self.sys.step_caller(&mut q, sysfs, call) {
                        Err(_) => Move::Disabled,
                        Ok(ret) => {
                            let (qw, qg) = self.canon.slot(Some(&q), sysfs);
                            Move::To { to: local.intern(self.slots, qw, qg)?, err: ret.is_err() }
                        }
                    }
                }
            };
            moves.push(m);
        }
        Some(self.moves.fill(n, self.stamp, still, moves.into_iter()))
    }

    /// The state stored slots `s` stand for.
    fn state_of(&self, s: &Slotted) -> State {
        unpack(&self.key_of(s))
    }

    /// The `Key` (`Canon::key` form) of slots `s`.
    fn key_of(&self, s: &Slotted) -> Key {
        decode(self.slots, &s.n[..self.procs()])
    }

    /// Expands states `ids` of the store: their successors not stored yet,
    /// in the order a sequential search meets them.
    pub fn expand_chunk(&self, ids: Range<usize>, scratch: &mut Scratch<K>) -> ChunkOut<K> {
        let n = self.sys.alphabet.len();
        let p = self.procs();
        let mut out = ChunkOut {
            cands: Vec::new(),
            coverage: vec![Coverage::default(); n],
            generated: 0,
            overflow: false,
        };
        let cap = scratch.seen.len();
        scratch.succ.clear();
        const AHEAD: usize = 4;
        for id in ids.clone().take(AHEAD) {
            self.store.prefetch_id(id);
        }
        for id in ids.clone() {
            if id + AHEAD < ids.end {
                self.store.prefetch_id(id + AHEAD);
            }
            let k = self.store.get(id);
            let old = self.slotted(k);
            let mut cur = old;
            if self.narrowed {
                for i in 0..p {
                    let Some(row) = self.row(old.n[i], &mut scratch.local) else {
                        out.overflow = true;
                        return out;
                    };
                    cur.n[i] = Moves::still(row);
                    cur.ord[i] = self.slots.order(cur.n[i]);
                }
            }
            let mut whole: Option<State> = None;
            scratch.generation = scratch.generation.wrapping_add(1);
            if scratch.generation == 0 {
                scratch.seen.iter_mut().for_each(|e| *e = (0, 0));
                scratch.generation = 1;
            }
            let generation = scratch.generation;
            for pid in 0..p {
                let me = old.n[pid];
                if !slot_alive((old.ord[pid] >> 16) as u64) {
                    continue;
                }
                // A twin: an identical process in a lower slot reaches the
                // same representatives (`for_each_action_but_twins`).
                if self.sym.procs && old.n[..pid].contains(&me) {
                    continue;
                }
                let Some(row) = self.row(me, &mut scratch.local) else {
                    out.overflow = true;
                    return out;
                };
                for (i, e) in Moves::calls(row).iter().enumerate() {
                    let succ = match Move::decode(e.load(std::sync::atomic::Ordering::Relaxed)) {
                        Move::Disabled => continue,
                        Move::To { to, err } => {
                            let cov = &mut out.coverage[i];
                            cov.fired += 1;
                            cov.errors += err as u64;
                            let mut s = cur;
                            s.n[pid] = to;
                            s.ord[pid] = self.slots.order(to);
                            self.pack(s)
                        }
                        Move::Whole => {
                            let st = whole.get_or_insert_with(|| self.state_of(&old));
                            let call = &self.sys.alphabet[i];
                            if !self.sys.enabled(st, pid, call) {
                                continue;
                            }
                            let mut t = *st;
                            let Ok(ret) =
                                self.sys.step_in_place(&mut t, &Action { pid: pid as u8, call: *call })
                            else {
                                continue;
                            };
                            let cov = &mut out.coverage[i];
                            cov.fired += 1;
                            cov.errors += ret.is_err() as u64;
                            let mut s = cur;
                            for j in 0..p {
                                let (w, g) = self.canon.slot(t.procs[j].as_ref(), t.sysfs);
                                let o = order_of(w, g);
                                if o != cur.ord[j] {
                                    let Some(to) = scratch.local.intern(self.slots, w, g) else {
                                        out.overflow = true;
                                        return out;
                                    };
                                    s.n[j] = to;
                                    s.ord[j] = o;
                                }
                            }
                            self.pack(s)
                        }
                    };
                    out.generated += 1;
                    // "Changed" is what the search can see: the stored key.
                    let changed = succ != k;
                    out.coverage[i].changed += changed as u64;
                    if !changed {
                        // Back to the state being expanded (up to what is stored).
                        continue;
                    }
                    let h = succ.hash();
                    let mut slot = h as usize & (cap - 1);
                    loop {
                        let (g, at) = scratch.seen[slot];
                        if g != generation {
                            scratch.seen[slot] = (generation, scratch.succ.len() as u32);
                            scratch.succ.push(Candidate { hash: h, state: succ });
                            break;
                        }
                        let x = &scratch.succ[at as usize];
                        if x.hash == h && x.state == succ {
                            break;
                        }
                        slot = (slot + 1) & (cap - 1);
                    }
                }
            }
        }
        // Then one pipelined pass over the store for the whole chunk.
        self.probe(scratch, &mut out.cands);
        out
    }

    /// Keeps the successors in `scratch.succ` not in the store. Probing is
    /// memory-bound (each probe likely a cache miss), so it is
    /// software-pipelined: the slot of item `i + AHEAD` is requested while
    /// item `i` is decided.
    #[inline]
    fn probe(&self, scratch: &Scratch<K>, out: &mut Vec<Candidate<K>>) {
        const AHEAD: usize = 8;
        let succ = &scratch.succ;
        for c in succ.iter().take(AHEAD) {
            self.store.prefetch(c.hash);
        }
        for i in 0..succ.len() {
            if let Some(c) = succ.get(i + AHEAD) {
                self.store.prefetch(c.hash);
            }
            let c = succ[i];
            if !self.store.contains(c.state, c.hash) {
                out.push(c);
            }
        }
    }
}

/// The `Key` (`Canon::key` form) of a state whose slots are numbered
/// `slots_n` (the spec's process slots; the others are free).
pub fn decode(slots: &Slots, slots_n: &[u32]) -> Key {
    let mut key = Key { words: [0; MAX_PROCS], ghosts: [0; MAX_PROCS] };
    for (i, &n) in slots_n.iter().enumerate() {
        (key.words[i], key.ghosts[i]) = slots.get(n);
    }
    let free = free_slot_like(key.words[0]);
    for w in &mut key.words[slots_n.len()..] {
        *w = free;
    }
    key
}
