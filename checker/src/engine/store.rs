//! The stored states: one open-addressing table of packed states, the only
//! copy of each, and the breadth-first order as positions in that table.
//!
//! A state is stored as the numbers of its process slots' forms
//! (`intern::Slots`) packed into one word (`Packed`: `u64`, or `u128` when
//! the numbers outgrow a quarter of 64 bits). The table keeps it inline, so
//! probing for a successor costs one cache line, not a slot and then a key
//! elsewhere; it is kept between 53% and 80% full (it grows by half), so a
//! 64-bit state costs 10 to 15 bytes of table plus 4 bytes of order. There
//! is no parent array: a trace's states are re-derived from the previous
//! level when one is needed (`engine::Exploration::chain`). Matches are
//! always exact: no state is ever dropped for a hash collision.
//!
//! Probing is memory-bound at scale, so the table is in huge pages where
//! the host allows it (`MADV_HUGEPAGE`; the host's sysfs mode is never
//! changed) and callers prefetch slots ahead of probing them.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A state and its hash, as the engine hands states to the store.
#[derive(Clone, Copy)]
pub struct Candidate<K> {
    pub hash: u64,
    pub state: K,
}

/// A packed state: `procs` fields of `bits` bits, the slot numbers.
pub trait Packed: Copy + Eq + Send + Sync + Debug + 'static {
    /// Width of the word.
    const BITS: u32;
    /// Never a state (slot number 0 is never handed out).
    const EMPTY: Self;
    fn pack(fields: &[u32], bits: u32) -> Self;
    fn field(self, i: usize, bits: u32) -> u32;
    /// Field `i` set to `f`.
    fn with_field(self, i: usize, bits: u32, f: u32) -> Self;
    /// `f` inserted as field `i`, the fields from `i` on moved up one.
    fn insert_field(self, i: usize, bits: u32, f: u32) -> Self;
    fn hash(self) -> u64;
    /// The table as atomics, for inserting from several threads (`u64`
    /// only: there is no 128-bit atomic).
    fn atomic(table: &mut [Self]) -> Option<&[AtomicU64]>;
    /// The state as the word `atomic` holds (for `u64`, itself).
    fn word(self) -> u64;
}

#[inline]
fn mix(mut x: u64) -> u64 {
    x ^= x >> 32;
    x = x.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    x ^= x >> 32;
    x = x.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    x ^ (x >> 32)
}

impl Packed for u64 {
    const BITS: u32 = 64;
    const EMPTY: u64 = 0;
    #[inline]
    fn pack(fields: &[u32], bits: u32) -> u64 {
        fields.iter().enumerate().fold(0, |k, (i, &f)| k | (f as u64) << (i as u32 * bits))
    }
    #[inline]
    fn field(self, i: usize, bits: u32) -> u32 {
        ((self >> (i as u32 * bits)) & ((1 << bits) - 1)) as u32
    }
    #[inline]
    fn with_field(self, i: usize, bits: u32, f: u32) -> Self {
        let at = i as u32 * bits;
        (self & !(((1 << bits) - 1) << at)) | (f as u64) << at
    }
    #[inline]
    fn insert_field(self, i: usize, bits: u32, f: u32) -> Self {
        let at = i as u32 * bits;
        let low = (1 << at) - 1;
        (self & low) | (f as u64) << at | (self & !low) << bits
    }
    #[inline]
    fn hash(self) -> u64 {
        mix(self)
    }
    fn atomic(table: &mut [u64]) -> Option<&[AtomicU64]> {
        // SAFETY: AtomicU64 has u64's size and alignment, and the table is
        // borrowed mutably for as long as the atomics are used.
        Some(unsafe { &*(table as *mut [u64] as *const [AtomicU64]) })
    }
    fn word(self) -> u64 {
        self
    }
}

impl Packed for u128 {
    const BITS: u32 = 128;
    const EMPTY: u128 = 0;
    #[inline]
    fn pack(fields: &[u32], bits: u32) -> u128 {
        fields.iter().enumerate().fold(0, |k, (i, &f)| k | (f as u128) << (i as u32 * bits))
    }
    #[inline]
    fn field(self, i: usize, bits: u32) -> u32 {
        ((self >> (i as u32 * bits)) & ((1 << bits) - 1)) as u32
    }
    #[inline]
    fn with_field(self, i: usize, bits: u32, f: u32) -> Self {
        let at = i as u32 * bits;
        (self & !(((1 << bits) - 1) << at)) | (f as u128) << at
    }
    #[inline]
    fn insert_field(self, i: usize, bits: u32, f: u32) -> Self {
        let at = i as u32 * bits;
        let low = (1 << at) - 1;
        (self & low) | (f as u128) << at | (self & !low) << bits
    }
    #[inline]
    fn hash(self) -> u64 {
        mix(self as u64 ^ mix((self >> 64) as u64).rotate_left(17))
    }
    fn atomic(_: &mut [u128]) -> Option<&[AtomicU64]> {
        None
    }
    fn word(self) -> u64 {
        unreachable!("128-bit states are inserted one thread at a time")
    }
}

/// Field width for `procs` slots in a `K`: a share of the word, at most 30
/// bits (`intern::MOVES_MAX` caps the numbers lower still).
pub fn field_bits<K: Packed>(procs: usize) -> u32 {
    (K::BITS / procs.max(1) as u32).min(30)
}

/// The table is grown when it would be fuller than this (per mille).
const MAX_LOAD: usize = 800;
const MIN_SLOTS: usize = 1024;

/// The stored states, numbered in breadth-first order (a state's id).
pub struct Store<K> {
    table: Vec<K>,
    /// `order[id]`: where state `id` sits in `table`.
    order: Vec<u32>,
}

/// An empty table, in huge pages where the host allows it.
fn zeroed<K: Packed>(n: usize) -> Vec<K> {
    huge_zeroed(K::EMPTY, n)
}

/// `n` copies of `zero` (all of its bits 0), in huge pages where the host
/// allows it. Zeroed memory comes from the kernel untouched, so the advice
/// applies before any page is faulted in.
pub(crate) fn huge_zeroed<T: Clone>(zero: T, n: usize) -> Vec<T> {
    let v = vec![zero; n];
    advise_huge(&v);
    v
}

fn advise_huge<T>(v: &[T]) {
    let bytes = std::mem::size_of_val(v);
    if bytes < 4 << 20 {
        return;
    }
    let huge = 2 << 20;
    let start = (v.as_ptr() as usize).next_multiple_of(huge);
    let end = (v.as_ptr() as usize + bytes) & !(huge - 1);
    if end > start {
        // SAFETY: advice on memory this Vec owns; it changes no contents.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
}

impl<K: Packed> Store<K> {
    /// The most bytes a state holds once the table is past `MIN_SLOTS`:
    /// table slots at the lowest load (just after growing, 0.8 / 1.5) and
    /// an order entry with its reserve (an eighth).
    pub const MAX_BYTES_PER_STATE: f64 =
        std::mem::size_of::<K>() as f64 * 1.5 * 1000.0 / MAX_LOAD as f64 + 4.0 * 1.125;

    pub fn new() -> Store<K> {
        Store { table: zeroed(MIN_SLOTS), order: Vec::new() }
    }

    #[inline]
    fn home(&self, h: u64) -> usize {
        home(h, self.table.len())
    }

    /// Stored states.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// State `id`.
    #[inline]
    pub fn get(&self, id: usize) -> K {
        self.table[self.order[id] as usize]
    }

    /// Hints the CPU to fetch state `id` (for expanding it soon).
    #[inline]
    pub fn prefetch_id(&self, id: usize) {
        if let Some(&at) = self.order.get(id) {
            prefetch(self.table.as_ptr().wrapping_add(at as usize));
        }
    }

    /// Hints the CPU to fetch the slot a state with hash `h` is probed from.
    #[inline]
    pub fn prefetch(&self, h: u64) {
        prefetch(self.table.as_ptr().wrapping_add(self.home(h)));
    }

    /// Is `k` (with hash `h`) stored?
    #[inline]
    pub fn contains(&self, k: K, h: u64) -> bool {
        let n = self.table.len();
        let mut i = self.home(h);
        loop {
            let e = self.table[i];
            if e == k {
                return true;
            }
            if e == K::EMPTY {
                return false;
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }

    /// Stores `k` as the next id unless present; true if it was new.
    #[inline]
    pub fn insert(&mut self, k: K, h: u64) -> bool {
        let n = self.table.len();
        let mut i = self.home(h);
        loop {
            let e = self.table[i];
            if e == k {
                return false;
            }
            if e == K::EMPTY {
                break;
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
        if (self.order.len() + 1) * 1000 > n * MAX_LOAD {
            self.grow(1);
            i = self.put(k, h);
        } else {
            self.table[i] = k;
        }
        if self.order.len() == self.order.capacity() {
            // An eighth more at a time: the order is 4 bytes a state and
            // doubling would leave up to 4 more unused.
            self.order.reserve_exact((self.order.len() / 8).max(1024));
        }
        self.order.push(i as u32);
        true
    }

    /// Stores the states of `parts`, in order, as the next ids (those
    /// not stored yet, each once): what `insert` one by one would store.
    /// The table is grown first for all of them at worst, so its size does
    /// not depend on how they are inserted; with `threads` > 1 they are
    /// inserted in parallel, each thread taking the states whose probe
    /// starts in its part of the table (so it sees every copy of each, in
    /// order), and the order is appended afterwards in candidate order.
    pub fn insert_all(&mut self, parts: &[&[Candidate<K>]], threads: usize) {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        while (self.order.len() + total) * 1000 > self.table.len() * MAX_LOAD {
            self.grow(threads);
        }
        let n = self.table.len();
        let home = |h: u64| home(h, n);
        let all: Vec<&Candidate<K>> = parts.iter().flat_map(|p| p.iter()).collect();
        if threads < 2 || total < 1 << 12 || K::atomic(&mut []).is_none() {
            for (i, c) in all.iter().enumerate() {
                if let Some(ahead) = all.get(i + 8) {
                    prefetch(self.table.as_ptr().wrapping_add(home(ahead.hash)));
                }
                let mut j = home(c.hash);
                loop {
                    let e = self.table[j];
                    if e == c.state {
                        break;
                    }
                    if e == K::EMPTY {
                        self.table[j] = c.state;
                        self.push_order(j);
                        break;
                    }
                    j += 1;
                    if j == n {
                        j = 0;
                    }
                }
            }
            return;
        }
        let placed: Vec<AtomicU32> = (0..total).map(|_| AtomicU32::new(u32::MAX)).collect();
        let table = K::atomic(&mut self.table).expect("checked above");
        std::thread::scope(|scope| {
            for t in 0..threads {
                let (lo, hi) = (n * t / threads, n * (t + 1) / threads);
                let (placed, all) = (&placed, &all);
                scope.spawn(move || {
                    let mut mine = (0..all.len()).filter(|&i| (lo..hi).contains(&home(all[i].hash)));
                    // This thread's next candidates, their slots fetched.
                    const AHEAD: usize = 16;
                    let mut ring = [usize::MAX; AHEAD];
                    let mut fetch = |ring: &mut usize| {
                        *ring = mine.next().unwrap_or(usize::MAX);
                        if let Some(c) = all.get(*ring) {
                            prefetch(table.as_ptr().wrapping_add(home(c.hash)));
                        }
                    };
                    ring.iter_mut().for_each(&mut fetch);
                    for r in (0..AHEAD).cycle() {
                        let i = ring[r];
                        let Some(c) = all.get(i) else { break };
                        fetch(&mut ring[r]);
                        let k = c.state.word();
                        let mut j = home(c.hash);
                        loop {
                            let e = table[j].load(Ordering::Relaxed);
                            if e == k {
                                break;
                            }
                            if e == 0 {
                                match table[j].compare_exchange(0, k, Ordering::Relaxed, Ordering::Relaxed) {
                                    Ok(_) => {
                                        placed[i].store(j as u32, Ordering::Relaxed);
                                        break;
                                    }
                                    Err(other) if other == k => break,
                                    Err(_) => {}
                                }
                            }
                            j += 1;
                            if j == n {
                                j = 0;
                            }
                        }
                    }
                });
            }
        });
        for p in placed {
            let p = p.into_inner();
            if p != u32::MAX {
                self.push_order(p as usize);
            }
        }
    }

    #[inline]
    fn push_order(&mut self, at: usize) {
        if self.order.len() == self.order.capacity() {
            self.order.reserve_exact((self.order.len() / 8).max(1024));
        }
        self.order.push(at as u32);
    }

    fn put(&mut self, k: K, h: u64) -> usize {
        let n = self.table.len();
        let mut i = self.home(h);
        while self.table[i] != K::EMPTY {
            i += 1;
            if i == n {
                i = 0;
            }
        }
        self.table[i] = k;
        i
    }

    /// The table half as large again, re-filled in id order; 64-bit states
    /// on `threads` threads (where a state sits in the table is never seen,
    /// only its id). Both the old slot and the new home are fetched ahead:
    /// at scale each is a cache miss.
    fn grow(&mut self, threads: usize) {
        let slots = self.table.len() + self.table.len() / 2;
        let old = std::mem::replace(&mut self.table, zeroed(slots));
        let n = slots;
        let home = move |h: u64| home(h, n);
        const AHEAD: usize = 16;
        let ahead = |order: &[u32], i: usize, new: *const K| {
            if let Some(&a) = order.get(i + 2 * AHEAD) {
                prefetch(old.as_ptr().wrapping_add(a as usize));
            }
            if let Some(&a) = order.get(i + AHEAD) {
                prefetch(new.wrapping_add(home(old[a as usize].hash())));
            }
        };
        let threads = if self.order.len() < 1 << 16 { 1 } else { threads.max(1) };
        let new_ptr = self.table.as_ptr();
        let new_addr = new_ptr as usize;
        if threads > 1 {
            if let Some(table) = K::atomic(&mut self.table) {
                let per = self.order.len().div_ceil(threads);
                std::thread::scope(|scope| {
                    for part in self.order.chunks_mut(per) {
                        let (ahead, old) = (&ahead, &old);
                        scope.spawn(move || {
                            for i in 0..part.len() {
                                ahead(part, i, new_addr as *const K);
                                let k = old[part[i] as usize];
                                let mut j = home(k.hash());
                                // States are distinct: a slot taken by
                                // another thread is never this state's.
                                while table[j].load(Ordering::Relaxed) != 0
                                    || table[j]
                                        .compare_exchange(0, k.word(), Ordering::Relaxed, Ordering::Relaxed)
                                        .is_err()
                                {
                                    j += 1;
                                    if j == n {
                                        j = 0;
                                    }
                                }
                                part[i] = j as u32;
                            }
                        });
                    }
                });
                return;
            }
        }
        for id in 0..self.order.len() {
            ahead(&self.order, id, new_ptr);
            let k = old[self.order[id] as usize];
            self.order[id] = self.put(k, k.hash()) as u32;
        }
    }

    /// Bytes held: the table and the order.
    pub fn bytes(&self) -> usize {
        self.table.len() * std::mem::size_of::<K>() + self.order.capacity() * 4
    }

    /// Most bytes storing `incoming` more states could add at its peak: their
    /// order entries and, if the table must grow, the grown table while the
    /// present one is still held.
    pub fn bytes_to_add(&self, incoming: usize) -> u64 {
        let mut slots = self.table.len();
        let mut extra = 0u64;
        let wanted = self.order.len() + incoming;
        while wanted * 1000 > slots * MAX_LOAD {
            slots += slots / 2;
            extra = (slots * std::mem::size_of::<K>()) as u64;
        }
        extra + incoming as u64 * 4 + (incoming / 8) as u64 * 4
    }
}

impl<K: Packed> Default for Store<K> {
    fn default() -> Self {
        Store::new()
    }
}

#[inline]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Where a state with hash `h` starts its probe in a table of `n` slots:
/// the high bits of `h * n`, so every slot is a home (no power of two
/// needed) and the homes keep the hash order.
#[inline]
fn home(h: u64, n: usize) -> usize {
    ((h as u128 * n as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_hashes_do_not_merge_different_states() {
        let mut s: Store<u64> = Store::new();
        // Force a collision: same hash, different states.
        assert!(s.insert(5, 7));
        assert!(s.insert(6, 7));
        assert!(!s.insert(5, 7));
        assert!(s.contains(6, 7) && !s.contains(8, 7));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn growing_keeps_every_state_and_its_id() {
        let mut s: Store<u128> = Store::new();
        let k = |i: u64| u128::pack(&[(i & 0xffff) as u32 + 1, (i >> 16) as u32 + 1, 3], 30);
        for i in 0..200_000u64 {
            assert!(s.insert(k(i), k(i).hash()));
        }
        assert!((0..200_000u64).all(|i| s.get(i as usize) == k(i) && s.contains(k(i), k(i).hash())));
        assert!(!s.insert(k(77), k(77).hash()));
        let per_state = s.bytes() as f64 / s.len() as f64;
        assert!(per_state < 16.0 / 0.53 + 4.6, "{per_state} bytes a state");
    }

    /// Inserting a batch from two threads stores the same states with the
    /// same ids as one thread (duplicates included, across parts).
    #[test]
    fn a_batch_stored_by_two_threads_is_stored_as_by_one() {
        let k = |i: u64| u64::pack(&[(i % 7919) as u32 + 1, (i % 13) as u32], 16);
        let cand = |i: u64| Candidate { hash: k(i).hash(), state: k(i) };
        let a: Vec<Candidate<u64>> = (0..30_000).map(cand).collect();
        let b: Vec<Candidate<u64>> = (20_000..60_000).rev().map(cand).collect();
        let mut one: Store<u64> = Store::new();
        let mut two: Store<u64> = Store::new();
        for s in [&mut one, &mut two] {
            assert!(s.insert(k(5), k(5).hash()));
        }
        one.insert_all(&[&a, &b], 1);
        two.insert_all(&[&a, &b], 2);
        assert_eq!(one.len(), 60_000, "10 000 of them twice, one stored before");
        assert_eq!(one.len(), two.len());
        assert!((0..one.len()).all(|i| one.get(i) == two.get(i)));
        let mut serial: Store<u64> = Store::new();
        for c in [&[cand(5)][..], &a, &b].into_iter().flatten() {
            serial.insert(c.state, c.hash);
        }
        assert!((0..one.len()).all(|i| one.get(i) == serial.get(i)), "the order `insert` gives");
    }

    #[test]
    fn fields_round_trip() {
        let bits = field_bits::<u64>(3);
        assert_eq!(bits, 21);
        let k = u64::pack(&[1, (1 << 21) - 1, 12345], bits);
        assert_eq!([k.field(0, bits), k.field(1, bits), k.field(2, bits)], [1, (1 << 21) - 1, 12345]);
        assert_eq!(field_bits::<u64>(4), 16);
        assert_eq!(field_bits::<u128>(4), 30);
    }
}
