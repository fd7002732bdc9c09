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

/// A zeroed table, in huge pages where the host allows it. Zeroed memory
/// comes from the kernel untouched, so the advice applies before any page
/// is faulted in.
fn zeroed<K: Packed>(n: usize) -> Vec<K> {
    let v = vec![K::EMPTY; n];
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
        ((h as u128 * self.table.len() as u128) >> 64) as usize
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
            self.grow();
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

    /// The table half as large again, re-filled in id order.
    fn grow(&mut self) {
        let slots = self.table.len() + self.table.len() / 2;
        let old = std::mem::replace(&mut self.table, zeroed(slots));
        const AHEAD: usize = 16;
        for id in 0..self.order.len() {
            if let Some(&a) = self.order.get(id + AHEAD) {
                prefetch(old.as_ptr().wrapping_add(a as usize));
            }
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
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
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
