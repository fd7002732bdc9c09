//! The visited set: an open-addressing table of `(32-bit hash, id)` words
//! over the engine's array of stored keys.
//!
//! Exploration is bound by the cache misses of probing this set (two per
//! successor: the slot, then the stored key to confirm a match), so it is
//! built for that: one 8-byte slot per entry, linear probing, at most half
//! full, slots computable from the stored hash alone (growing never touches
//! the keys), and a `prefetch` so a state's successors can be probed after
//! their slots are on their way into the cache. Matches are always
//! confirmed against the key: no state is ever dropped for a hash collision.

use mmflags_model::key::Key;
use std::hash::{Hash, Hasher};

pub struct Visited {
    /// `hash << 32 | (id + 1)`; 0 is an empty slot.
    slots: Vec<u64>,
    len: usize,
    shift: u32,
}

/// The 32-bit hash the table is keyed by.
pub fn hash32(k: &Key) -> u32 {
    let mut h = rustc_hash::FxHasher::default();
    k.hash(&mut h);
    let v = h.finish();
    (v ^ (v >> 32)) as u32
}

impl Visited {
    pub fn new() -> Visited {
        let bits = 16;
        Visited { slots: vec![0; 1 << bits], len: 0, shift: 64 - bits }
    }

    fn slot(&self, h: u32) -> usize {
        ((h as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// Hints the CPU to fetch the slot `h` starts probing at.
    #[inline]
    pub fn prefetch(&self, h: u32) {
        #[cfg(target_arch = "x86_64")]
        {
            let p = self.slots.as_ptr().wrapping_add(self.slot(h));
            // SAFETY: a prefetch never faults, whatever the address.
            unsafe { std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = h;
    }

    /// Hints the CPU to fetch the stored key the first slot tagged `h`
    /// points at (the slot itself should already be cached).
    #[inline]
    pub fn prefetch_key(&self, keys: &[Key], h: u32) {
        let mask = self.slots.len() - 1;
        let mut i = self.slot(h);
        for _ in 0..4 {
            let e = self.slots[i];
            if e == 0 {
                return;
            }
            if (e >> 32) as u32 == h {
                let p = keys.as_ptr().wrapping_add((e as u32 - 1) as usize);
                #[cfg(target_arch = "x86_64")]
                // SAFETY: a prefetch never faults, whatever the address.
                unsafe {
                    std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
                };
                let _ = p;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Is `k` (with hash `h`) among `keys`?
    pub fn contains(&self, keys: &[Key], h: u32, k: &Key) -> bool {
        let mask = self.slots.len() - 1;
        let mut i = self.slot(h);
        loop {
            let e = self.slots[i];
            if e == 0 {
                return false;
            }
            if (e >> 32) as u32 == h && keys[(e as u32 - 1) as usize] == *k {
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds `k` as the next id unless present; true if it was new.
    pub fn insert(&mut self, keys: &mut Vec<Key>, h: u32, k: Key) -> bool {
        if self.contains(keys, h, &k) {
            return false;
        }
        if 2 * (self.len + 1) > self.slots.len() {
            self.grow();
        }
        keys.push(k);
        self.put((h as u64) << 32 | keys.len() as u64);
        self.len += 1;
        true
    }

    fn put(&mut self, e: u64) {
        let mask = self.slots.len() - 1;
        let mut i = self.slot((e >> 32) as u32);
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = e;
    }

    fn grow(&mut self) {
        let doubled = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        self.shift -= 1;
        for e in old.into_iter().filter(|&e| e != 0) {
            self.put(e);
        }
    }

    /// Bytes held by the table (not the keys).
    pub fn bytes(&self) -> usize {
        self.slots.len() * 8
    }
}

impl Default for Visited {
    fn default() -> Self {
        Visited::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmflags_model::key::pack;
    use mmflags_model::{State, Sysfs};

    #[test]
    fn equal_hashes_do_not_merge_different_states() {
        let mut keys = Vec::new();
        let mut v = Visited::new();
        let a = pack(&State::init(Sysfs::Never));
        let b = pack(&State::init(Sysfs::Always));
        // Force a collision: same hash, different keys.
        assert!(v.insert(&mut keys, 7, a));
        assert!(v.insert(&mut keys, 7, b));
        assert!(!v.insert(&mut keys, 7, a));
        assert!(v.contains(&keys, 7, &b) && !v.contains(&keys, 8, &b));
        assert_eq!(keys.len(), 2);
    }

    #[test]
    fn growing_keeps_every_entry() {
        let mut keys = Vec::new();
        let mut v = Visited::new();
        for i in 0..200_000u32 {
            let mut k = pack(&State::init(Sysfs::Madvise));
            k.ghosts[3] = (i & 0xffff) as u16;
            k.words[3] = (i >> 16) as u64;
            assert!(v.insert(&mut keys, hash32(&k), k));
        }
        assert!(keys.iter().all(|k| v.contains(&keys, hash32(k), k)));
    }
}
