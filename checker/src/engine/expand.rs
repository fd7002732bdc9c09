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

use super::decode::Decoder;
use super::exploration::Coverage;
use super::intern::{Local, Move, Moves, Row, Slots};
use super::store::{Candidate, Packed, Store};
use mmflags_model::key::{slot_alive, slot_linked, slot_sysfs, unpack_slot, Canon};
use mmflags_model::symmetry::Symmetry;
use mmflags_model::syscalls::{pages, reach, Reach};
use mmflags_model::{Action, State, System};
use std::ops::Range;
use std::sync::atomic::Ordering;

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
    /// Per call, its place among the `Reach::Pair` calls (see `pair`).
    pub pair_index: &'a [u16],
    pub pair_calls: usize,
    /// The alphabet's call of no process (khugepaged), stepped once per
    /// state on the whole state.
    pub kernel_call: Option<usize>,
}

pub struct ChunkOut<K> {
    pub cands: Vec<Candidate<K>>,
    pub coverage: Vec<Coverage>,
    pub generated: u64,
    /// Slot numbers ran out (the engine starts again with wider states).
    pub overflow: bool,
}

/// A thread remembers 2^PAIRS_BITS (caller, target) pairs' results, each
/// for every `process_madvise` naming another process (16 bytes a result).
const PAIRS_BITS: u32 = 16;

/// Successors a thread remembers having kept (`Scratch::add`).
const RECENT: usize = 1 << 14;

/// A thread's scratch space, kept across chunks and batches.
pub struct Scratch<K> {
    local: Local,
    decoder: Decoder,
    /// What `process_madvise` on another process made of (caller, target,
    /// call), under projection stamp `pairs_stamp` (see `Level::pair`).
    pairs: Vec<(u64, u64)>,
    pairs_stamp: u32,
    /// The successors this thread kept last, direct-mapped by hash (see `add`).
    recent: Vec<K>,
    succ: Vec<Candidate<K>>,
    /// Per slot number, the rows used since the last `count_uses`.
    uses: Vec<u32>,
    touched: Vec<u32>,
}

impl<K: Packed> Default for Scratch<K> {
    fn default() -> Self {
        Scratch::new()
    }
}

impl<K: Packed> Scratch<K> {
    pub fn new() -> Scratch<K> {
        Scratch {
            local: Local::new(),
            decoder: Decoder::default(),
            pairs: Vec::new(),
            pairs_stamp: 0,
            recent: vec![K::EMPTY; RECENT],
            succ: Vec::new(),
            uses: Vec::new(),
            touched: Vec::new(),
        }
    }

    /// Counts a use of slot `me`'s row (see `Level::count_uses`).
    #[inline]
    fn used(&mut self, me: u32) {
        let i = me as usize;
        if i >= self.uses.len() {
            self.uses.resize((i + 1).next_power_of_two(), 0);
        }
        if self.uses[i] == 0 {
            self.touched.push(me);
        }
        self.uses[i] += 1;
    }

    /// Keeps successor `k` for probing, unless this thread met it lately
    /// (`recent`): it met it in this chunk or an earlier one, which the
    /// merge takes first, so it is stored or a candidate already, and
    /// skipping it changes nothing. Successors repeat a lot (siblings share
    /// their parent and the corners of their diamonds), and a probe of the
    /// store is a cache miss.
    #[inline]
    fn add(&mut self, k: K) {
        let h = k.hash();
        let seen = &mut self.recent[h as usize & (RECENT - 1)];
        if *seen == k {
            return;
        }
        *seen = k;
        self.succ.push(Candidate { hash: h, state: k });
    }
}

impl<K: Packed> Level<'_, K> {
    fn procs(&self) -> usize {
        self.canon.procs()
    }

    /// The row of `moves` for slot `n` under this level's projection,
    /// filled on first use; `None` when slot numbers ran out.
    #[inline]
    fn row(&self, n: u32, local: &mut Local) -> Option<Row<'_>> {
        if let Some(r) = self.moves.row(n, self.stamp) {
            return Some(r);
        }
        self.fill(n, local)
    }

    #[cold]
    fn fill(&self, n: u32, local: &mut Local) -> Option<Row<'_>> {
        let form = self.slots.get(n);
        let sysfs = slot_sysfs(form);
        let alive = slot_alive(form);
        let p = alive.then(|| unpack_slot(form));
        let still_form = self.canon.slot(p.as_ref(), sysfs);
        let still = local.intern(self.slots, still_form)?;
        let free = self.canon.slot(None, sysfs);
        let mut moves = Vec::with_capacity(self.sys.alphabet.len());
        for call in &self.sys.alphabet {
            let Some(p) = &p else {
                moves.push(Move::Disabled);
                continue;
            };
            // A call that lets go of pages shared with another process, or
            // a fork that shares the parent's, changes more than one slot:
            // the whole state is stepped (and normalised) for it.
            // A task that shares its mm (or a vfork parent): a step
            // changes every task of the group, so the whole state is.
            if slot_linked(form) {
                moves.push(Move::Whole);
                continue;
            }
            let m = match reach(call) {
                Reach::State | Reach::Clones => Move::Whole,
                Reach::Kernel => Move::Disabled,
                Reach::Pair(t) => Move::Pair { target: t as u32 },
                Reach::Forks if self.canon.slot(Some(&self.sys.fork_parent(p)), sysfs) != still_form => {
                    Move::Whole
                }
                Reach::Forks => {
                    let child = self.canon.slot(Some(&self.sys.fork_child(p)), sysfs);
                    Move::Fork { child: local.intern(self.slots, child)? }
                }
                Reach::FreesCaller if pages::lets_go_of_shared(p, None) => Move::Whole,
                // `exit()`: the slot is free (and returns no errno).
                Reach::FreesCaller => Move::To { to: local.intern(self.slots, free)?, err: false },
                Reach::Caller if !self.sys.caller_may(p, call) => Move::Disabled,
                Reach::Caller => {
                    let mut q = *p;
                    match self.sys.step_caller(&mut q, sysfs, call) {
                        Err(_) => Move::Disabled,
                        Ok(_) if pages::lets_go_of_shared(p, Some(&q)) => Move::Whole,
                        Ok(ret) => {
                            let to = self.canon.slot(Some(&q), sysfs);
                            Move::To { to: local.intern(self.slots, to)?, err: ret.is_err() }
                        }
                    }
                }
            };
            moves.push(m);
        }
        Some(self.moves.fill(n, self.stamp, still, &moves))
    }

    /// Expands states `ids` of the store: their successors not stored yet,
    /// in the order a sequential search meets them.
    pub fn expand_chunk(&self, ids: Range<usize>, scratch: &mut Scratch<K>) -> ChunkOut<K> {
        let n = self.sys.alphabet.len();
        let mut out = ChunkOut {
            cands: Vec::new(),
            coverage: vec![Coverage::default(); n],
            generated: 0,
            overflow: false,
        };
        scratch.succ.clear();
        // One copy per process bound, so a state's slots live in registers.
        let done = match self.procs() {
            1 => self.expand::<1>(ids, scratch, &mut out),
            2 => self.expand::<2>(ids, scratch, &mut out),
            3 => self.expand::<3>(ids, scratch, &mut out),
            _ => self.expand::<4>(ids, scratch, &mut out),
        };
        if done.is_none() {
            out.overflow = true;
            return out;
        }
        self.count_uses(scratch, &mut out);
        // Then one pipelined pass over the store for the whole chunk.
        self.probe(scratch, &mut out.cands);
        out
    }

    /// Adds to `out` what the slots counted in `scratch.uses` did: a use of
    /// a row is its caller making each call of the caller alone it may, in
    /// a state stored under this level's projection (so a call changes the
    /// stored state exactly when it changes the slot).
    fn count_uses(&self, scratch: &mut Scratch<K>, out: &mut ChunkOut<K>) {
        for &me in &scratch.touched {
            let c = std::mem::take(&mut scratch.uses[me as usize]) as u64;
            let row = self.moves.row(me, self.stamp).expect("a used row is filled");
            out.generated += c * row.fires();
            for (cov, m) in out.coverage.iter_mut().zip(row.moves()) {
                if let Move::To { to, err } = m {
                    cov.fired += c;
                    cov.errors += c * err as u64;
                    cov.changed += c * (to != me) as u64;
                }
            }
        }
        scratch.touched.clear();
    }

    /// Hints the CPU to fetch the `process_madvise` results state `id`
    /// will look up (each (caller, target) group is a few cache lines of a
    /// memo far larger than the caches).
    #[inline]
    fn prefetch_pairs<const P: usize>(&self, id: usize, scratch: &Scratch<K>) {
        if self.pair_calls == 0 || scratch.pairs_stamp != self.stamp || scratch.pairs.is_empty() {
            return;
        }
        let k = self.store.get(id);
        let lines = (self.pair_calls * 16).div_ceil(64);
        for me in 0..P {
            for t in (0..P).filter(|&t| t != me) {
                let at = pair_group(k.field(me, self.bits), k.field(t, self.bits)) * self.pair_calls;
                let first = scratch.pairs.as_ptr().wrapping_add(at) as *const u8;
                for l in 0..lines {
                    super::store::prefetch(first.wrapping_add(l * 64));
                }
            }
        }
    }

    fn expand<const P: usize>(
        &self,
        ids: Range<usize>,
        scratch: &mut Scratch<K>,
        out: &mut ChunkOut<K>,
    ) -> Option<()> {
        let bits = self.bits;
        const AHEAD: usize = 4;
        for id in ids.clone().take(AHEAD) {
            self.store.prefetch_id(id);
        }
        for id in ids.clone() {
            if id + AHEAD < ids.end {
                self.store.prefetch_id(id + AHEAD);
            }
            if id + 1 < ids.end {
                self.prefetch_pairs::<P>(id + 1, scratch);
            }
            let k = self.store.get(id);
            let mut old = [0u32; P];
            let mut old_ord = [0u128; P];
            for i in 0..P {
                old[i] = k.field(i, bits);
                old_ord[i] = self.slots.order(old[i]);
            }
            // The slots as the successors key them (re-keyed when the
            // projection narrowed since this level was stored).
            let (mut cur, mut cur_ord) = (old, old_ord);
            if self.narrowed {
                for i in 0..P {
                    cur[i] = self.row(old[i], &mut scratch.local)?.still();
                    cur_ord[i] = self.slots.order(cur[i]);
                }
            }
            let cur_key = if self.narrowed { K::pack(&cur, bits) } else { k };
            let mut st = Whole { slots: &old, state: None };
            // `fork()` by any process: the lowest free slot takes the child
            // (`State::free_pid`).
            let free = (0..P).find(|&i| !slot_alive(cur_ord[i]));
            let fork = free.map(|j| Open::new(self, &cur, &cur_ord, cur_key, j));
            for pid in 0..P {
                let me = old[pid];
                if !slot_alive(old_ord[pid]) {
                    continue;
                }
                // A twin: an identical process in a lower slot reaches the
                // same representatives (`for_each_action_but_twins`).
                if self.sym.procs && old[..pid].contains(&me) {
                    continue;
                }
                let row = self.row(me, &mut scratch.local)?;
                let open = Open::new(self, &cur, &cur_ord, cur_key, pid);
                let local = |to: u32| open.with(to);
                if self.narrowed {
                    // Every call in order, each successor compared with the
                    // stored state (re-keying may change it by itself).
                    for (i, m) in row.moves().enumerate() {
                        let succ = match m {
                            Move::Disabled => continue,
                            Move::To { to, err } => {
                                let cov = &mut out.coverage[i];
                                cov.fired += 1;
                                cov.errors += err as u64;
                                local(to)
                            }
                            Move::Whole => {
                                match self.whole(&mut st, pid, i, (&cur, &cur_ord), scratch, out) {
                                    Step::Key(succ) => succ,
                                    Step::None => continue,
                                    Step::Overflow => return None,
                                }
                            }
                            Move::Fork { child } => match fork.as_ref().map(|f| f.with(child)) {
                                Some(succ) => {
                                    out.coverage[i].fired += 1;
                                    succ
                                }
                                None => continue,
                            },
                            Move::Pair { target } => {
                                match self.pair(pid, target as usize, i, &old, (&cur, &cur_ord), scratch, out)
                                {
                                    Step::Key(succ) => succ,
                                    Step::None => continue,
                                    Step::Overflow => return None,
                                }
                            }
                        };
                        out.generated += 1;
                        let changed = succ != k;
                        out.coverage[i].changed += changed as u64;
                        if changed {
                            scratch.add(succ);
                        }
                    }
                    continue;
                }
                // The calls of the caller alone are counted per row use
                // (`count_uses`); their distinct successors and the
                // whole-state calls are walked in alphabet order.
                scratch.used(me);
                let (tos, wholes) = (row.tos(), row.wholes());
                let (mut a, mut b) = (0, 0);
                while a < tos.len() || b < wholes.len() {
                    let next_to = tos.get(a).map_or(u32::MAX, |e| e.load(Ordering::Relaxed));
                    let next_whole = wholes.get(b).map_or(u32::MAX, |e| e.load(Ordering::Relaxed));
                    if next_to < next_whole {
                        let to = tos[a + 1].load(Ordering::Relaxed);
                        a += 2;
                        scratch.add(local(to));
                        continue;
                    }
                    b += 1;
                    let i = next_whole as usize;
                    let succ = match row.get(i) {
                        Move::Fork { child } => match fork.as_ref().map(|f| f.with(child)) {
                            Some(succ) => {
                                out.coverage[i].fired += 1;
                                succ
                            }
                            None => continue,
                        },
                        Move::Pair { target } => {
                            match self.pair(pid, target as usize, i, &old, (&cur, &cur_ord), scratch, out) {
                                Step::Key(succ) => succ,
                                Step::None => continue,
                                Step::Overflow => return None,
                            }
                        }
                        _ => match self.whole(&mut st, pid, i, (&cur, &cur_ord), scratch, out) {
                            Step::Key(succ) => succ,
                            Step::None => continue,
                            Step::Overflow => return None,
                        },
                    };
                    out.generated += 1;
                    // "Changed" is what the search can see: the stored key.
                    let changed = succ != k;
                    out.coverage[i].changed += changed as u64;
                    if changed {
                        scratch.add(succ);
                    }
                    // Otherwise back to the state being expanded (up to
                    // what is stored).
                }
            }
            // The kernel's own step (khugepaged), once per state.
            if let Some(i) = self.kernel_call {
                let pid = mmflags_model::action::KHUGEPAGED as usize;
                let succ = match self.whole(&mut st, pid, i, (&cur, &cur_ord), scratch, out) {
                    Step::Key(succ) => succ,
                    Step::None => continue,
                    Step::Overflow => return None,
                };
                out.generated += 1;
                let changed = succ != k;
                out.coverage[i].changed += changed as u64;
                if changed {
                    scratch.add(succ);
                }
            }
        }
        Some(())
    }

    /// `process_madvise` call `i` by `pid` naming slot `t`: enabled when
    /// `t` is another live process; the two slots' new forms are
    /// remembered per thread by (caller, target, call).
    #[allow(clippy::too_many_arguments)]
    fn pair<const P: usize>(
        &self,
        pid: usize,
        t: usize,
        i: usize,
        old: &[u32; P],
        cur: (&[u32; P], &[u128; P]),
        scratch: &mut Scratch<K>,
        out: &mut ChunkOut<K>,
    ) -> Step<K> {
        if t == pid || t >= P || !slot_alive(self.slots.get(old[t])) {
            return Step::None;
        }
        if scratch.pairs_stamp != self.stamp || scratch.pairs.is_empty() {
            // Fresh memory in huge pages, like the table: the memo is read
            // at random, and in small pages nearly every read would also
            // miss the TLB.
            scratch.pairs = super::store::huge_zeroed((0, 0), self.pair_calls << PAIRS_BITS);
            scratch.pairs_stamp = self.stamp;
        }
        // A direct-mapped memo: the whole question is kept beside the
        // answer, so a hit is exact; a miss recomputes.
        // The calls of one (caller, target) sit together: one state's
        // pair calls share a few cache lines.
        let question = (old[pid] as u64) << 40 | (old[t] as u64) << 16 | i as u64;
        let at = pair_group(old[pid], old[t]) * self.pair_calls + self.pair_index[i] as usize;
        let (q, answer) = scratch.pairs[at];
        let got = if q == question && answer != 0 {
            (answer & 1 != 0).then_some((
                (answer >> 40) as u32,
                (answer >> 16) as u32 & 0xff_ffff,
                answer & 2 != 0,
            ))
        } else {
            let (mform, tform) = (self.slots.get(old[pid]), self.slots.get(old[t]));
            let sysfs = slot_sysfs(mform);
            let (me0, tp0) = (unpack_slot(mform), unpack_slot(tform));
            let (mut me, mut tp) = (me0, tp0);
            let got = match self.sys.step_pair(sysfs, &mut me, &mut tp, &self.sys.alphabet[i]) {
                // A target that shares an mm: every task of its group changes.
                Some(_) if slot_linked(tform) => Some((0, 0, false)),
                None => None,
                // Pages another process shared changed: not a pair step.
                Some(_)
                    if pages::lets_go_of_shared(&me0, Some(&me))
                        || pages::lets_go_of_shared(&tp0, Some(&tp)) =>
                {
                    Some((0, 0, false))
                }
                Some(ret) => {
                    let (aw, bw) = (self.canon.slot(Some(&me), sysfs), self.canon.slot(Some(&tp), sysfs));
                    let (Some(a), Some(b)) =
                        (scratch.local.intern(self.slots, aw), scratch.local.intern(self.slots, bw))
                    else {
                        return Step::Overflow;
                    };
                    Some((a, b, ret.is_err()))
                }
            };
            let answer = match got {
                None => 4,
                Some((a, b, err)) => (a as u64) << 40 | (b as u64) << 16 | (err as u64) << 1 | 1,
            };
            scratch.pairs[at] = (question, answer);
            got
        };
        let Some((a, b, err)) = got else { return Step::None };
        if a == 0 {
            // Slot number 0 is never handed out: it marks a step to take
            // on the whole state.
            let state = scratch.decoder.state(self.slots, old);
            return self.stepped(&state, pid, i, cur, scratch, out);
        }
        let cov = &mut out.coverage[i];
        cov.fired += 1;
        cov.errors += err as u64;
        let (mut s, mut s_ord) = (*cur.0, *cur.1);
        (s[pid], s_ord[pid]) = (a, self.slots.order(a));
        (s[t], s_ord[t]) = (b, self.slots.order(b));
        if self.sym.procs {
            sort_slots(&mut s, &mut s_ord);
        }
        Step::Key(K::pack(&s, self.bits))
    }

    /// Call `i` by `pid` stepped on the whole state (decoded once per
    /// state): its successor's key, counted as fired (and failed) here.
    #[allow(clippy::too_many_arguments)]
    fn whole<const P: usize>(
        &self,
        st: &mut Whole<'_, P>,
        pid: usize,
        i: usize,
        cur: (&[u32; P], &[u128; P]),
        scratch: &mut Scratch<K>,
        out: &mut ChunkOut<K>,
    ) -> Step<K> {
        let slots = st.slots;
        let state = *st.state.get_or_insert_with(|| scratch.decoder.state(self.slots, slots));
        self.stepped(&state, pid, i, cur, scratch, out)
    }

    /// Call `i` by `pid` (or by the kernel) stepped on `state` through the
    /// model (which normalises across processes): its successor's key.
    fn stepped<const P: usize>(
        &self,
        state: &State,
        pid: usize,
        i: usize,
        cur: (&[u32; P], &[u128; P]),
        scratch: &mut Scratch<K>,
        out: &mut ChunkOut<K>,
    ) -> Step<K> {
        let call = &self.sys.alphabet[i];
        if !self.sys.enabled(state, pid, call) {
            return Step::None;
        }
        let mut t = *state;
        let Ok(ret) = self.sys.step_in_place(&mut t, &Action { pid: pid as u8, call: *call }) else {
            return Step::None;
        };
        let cov = &mut out.coverage[i];
        cov.fired += 1;
        cov.errors += ret.is_err() as u64;
        let (mut s, mut s_ord) = (*cur.0, *cur.1);
        for j in 0..P {
            let form = self.canon.slot(t.procs[j].as_ref(), t.sysfs);
            if form != s_ord[j] {
                let Some(to) = scratch.local.intern(self.slots, form) else {
                    return Step::Overflow;
                };
                (s[j], s_ord[j]) = (to, form);
            }
        }
        if self.sym.procs {
            sort_slots(&mut s, &mut s_ord);
        }
        Step::Key(K::pack(&s, self.bits))
    }

    /// Keeps the successors in `scratch.succ` not in the store. Probing is
    /// memory-bound (each probe likely a cache miss), so it is
    /// software-pipelined: the slot of item `i + AHEAD` is requested while
    /// item `i` is decided.
    #[inline]
    fn probe(&self, scratch: &Scratch<K>, out: &mut Vec<Candidate<K>>) {
        const AHEAD: usize = 32;
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

/// Where the memo keeps the results of `process_madvise` by a process of
/// form `me` on one of form `target` (a direct-mapped group of
/// `Level::pair_calls` entries).
#[inline]
fn pair_group(me: u32, target: u32) -> usize {
    (((me as u64) << 24 | target as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - PAIRS_BITS)) as usize
}

/// A state with one slot open: its successors that differ from it in that
/// slot alone. With slots sorted, the others are packed once and a new
/// slot is inserted where its order puts it.
struct Open<'a, K, const P: usize> {
    key: K,
    /// The other slots' orders (sorted).
    ord: [u128; P],
    /// The open slot (unsorted).
    at: usize,
    sorted: bool,
    bits: u32,
    slots: &'a Slots,
}

impl<'a, K: Packed, const P: usize> Open<'a, K, P> {
    #[inline]
    fn new(
        level: &Level<'a, K>,
        cur: &[u32; P],
        cur_ord: &[u128; P],
        cur_key: K,
        at: usize,
    ) -> Open<'a, K, P> {
        let mut o =
            Open { key: cur_key, ord: [0; P], at, sorted: false, bits: level.bits, slots: level.slots };
        if level.sym.procs {
            let mut rest = [0u32; P];
            for (m, i) in (0..P).filter(|&i| i != at).enumerate() {
                (rest[m], o.ord[m]) = (cur[i], cur_ord[i]);
            }
            if level.narrowed {
                // Re-keyed slots need not be in order any more.
                sort_slots(&mut rest[..P - 1], &mut o.ord[..P - 1]);
            }
            o.key = K::pack(&rest[..P - 1], level.bits);
            o.sorted = true;
        }
        o
    }

    /// The successor whose open slot holds `to`.
    #[inline]
    fn with(&self, to: u32) -> K {
        if self.sorted {
            let o = self.slots.order(to);
            let at = self.ord[..P - 1].iter().filter(|&&r| r < o).count();
            self.key.insert_field(at, self.bits, to)
        } else {
            self.key.with_field(self.at, self.bits, to)
        }
    }
}

/// The state being expanded, decoded when a whole-state call needs it.
struct Whole<'a, const P: usize> {
    slots: &'a [u32; P],
    state: Option<State>,
}

enum Step<K> {
    Key(K),
    /// Not enabled, or not a step the model takes.
    None,
    /// Slot numbers ran out.
    Overflow,
}

/// Sorts slots by their order (`Canon::key`'s order; equal orders are equal
/// slots). A few slots: insertion sort.
#[inline]
fn sort_slots(n: &mut [u32], ord: &mut [u128]) {
    for i in 1..n.len() {
        let mut j = i;
        while j > 0 && ord[j] < ord[j - 1] {
            ord.swap(j, j - 1);
            n.swap(j, j - 1);
            j -= 1;
        }
    }
}
