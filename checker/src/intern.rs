//! Distinct process slots, numbered, and what each call of the caller alone
//! makes of each: the two tables behind the engine's compact states.
//!
//! Why: a stored state is mostly zero bits (four 64-bit process words and
//! their ghosts, of which a spec's projection keeps a few dozen bits), and
//! the distinct stored forms of one process slot (`key::Canon::slot`) are
//! few — hundreds for `linux-6.18-thp`, thousands for every call of
//! `linux-6.18` — while states are hundreds of millions. So the engine
//! numbers slot forms as it meets them (`Slots`) and stores a state as the
//! numbers of its slots, packed into one word (`store::Packed`): the
//! tree-compression idea of LTSmin (Laarman, van de Pol and Weber 2011) cut
//! at its first level.
//!
//! And most calls read and write only their caller
//! (`syscalls::touches_only_caller`), so what such a call makes of a
//! process is a function of the process: `Moves` remembers it per slot
//! number and call, the way LTSmin's PINS caches transition groups on the
//! part of the state they depend on. Successors then cost a table look-up
//! instead of a step of the model.
//!
//! Both tables are shared by the expansion threads: they read without
//! locks (entries are published with release stores before their numbers
//! can be seen), and new slot forms are numbered under a mutex, which is
//! rare (each distinct form once).

use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

const SEG_BITS: u32 = 10;
const SEG: usize = 1 << SEG_BITS;

/// The sort order of slot forms: (word, ghost), as `Canon::key` sorts them.
#[inline]
pub fn order_of(word: u64, ghost: u16) -> u128 {
    (word as u128) << 16 | ghost as u128
}

/// A segment of numbered slot forms: per number, the word and the ghost bits.
type Segment = Box<[[AtomicU64; 2]]>;

/// Numbered slot forms (`Canon::slot` values). Number 0 is never handed
/// out, so a packed state is never all zero bits (the store's empty mark).
pub struct Slots {
    /// Per number: the word and the ghost bits, in segments of `SEG`
    /// allocated as they fill.
    segs: Box<[OnceLock<Segment>]>,
    len: AtomicU32,
    cap: u32,
    map: Mutex<FxHashMap<(u64, u16), u32>>,
}

impl Slots {
    /// Room for numbers below `cap` (the packing's field width decides it).
    pub fn new(cap: u32) -> Slots {
        let nsegs = (cap as usize).div_ceil(SEG);
        Slots {
            segs: (0..nsegs).map(|_| OnceLock::new()).collect(),
            len: AtomicU32::new(1),
            cap,
            map: Mutex::new(FxHashMap::default()),
        }
    }

    fn seg(&self, i: usize) -> &[[AtomicU64; 2]] {
        self.segs[i].get_or_init(|| (0..SEG).map(|_| [AtomicU64::new(0), AtomicU64::new(0)]).collect())
    }

    /// The slot form numbered `n` (which must have been handed out).
    #[inline]
    pub fn get(&self, n: u32) -> (u64, u16) {
        let seg = self.segs[(n >> SEG_BITS) as usize].get().expect("a slot number that was handed out");
        let e = &seg[n as usize & (SEG - 1)];
        (e[0].load(Ordering::Relaxed), e[1].load(Ordering::Relaxed) as u16)
    }

    /// `order_of` the slot form numbered `n`.
    #[inline]
    pub fn order(&self, n: u32) -> u128 {
        let (w, g) = self.get(n);
        order_of(w, g)
    }

    /// The number of a slot form, handing out the next one if it is new;
    /// `None` when the numbers are used up.
    pub fn intern(&self, word: u64, ghost: u16) -> Option<u32> {
        let mut map = self.map.lock().expect("slot table poisoned");
        if let Some(&n) = map.get(&(word, ghost)) {
            return Some(n);
        }
        let n = self.len.load(Ordering::Relaxed);
        if n >= self.cap {
            return None;
        }
        let e = &self.seg((n >> SEG_BITS) as usize)[n as usize & (SEG - 1)];
        e[0].store(word, Ordering::Relaxed);
        e[1].store(ghost as u64, Ordering::Relaxed);
        // Published by the unlock (and by the release store of whoever
        // passes the number on).
        self.len.store(n + 1, Ordering::Release);
        map.insert((word, ghost), n);
        Some(n)
    }

    /// Numbers handed out so far (number 0 included).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() <= 1
    }

    /// Forgets which form has which number (no new forms can be numbered
    /// after this); the forms themselves stay readable.
    pub fn seal(&self) {
        if let Ok(mut m) = self.map.lock() {
            *m = FxHashMap::default();
        }
    }

    /// Bytes held: the segments and the map.
    pub fn bytes(&self) -> usize {
        let segs = self.segs.iter().filter(|s| s.get().is_some()).count();
        let map = self.map.lock().map(|m| m.capacity()).unwrap_or(0);
        segs * SEG * 16 + map * (16 + 4 + 1) + self.segs.len() * std::mem::size_of::<OnceLock<Segment>>()
    }
}

/// A thread's own memo in front of `Slots::intern`, so that the slot forms
/// a thread meets again and again (a fork's child, a target's new VMAs)
/// do not each take the table's lock.
pub struct Local {
    entries: Vec<(u64, u16, u32)>,
}

impl Local {
    const SIZE: usize = 4096;

    pub fn new() -> Local {
        Local { entries: vec![(0, 0, 0); Self::SIZE] }
    }

    #[inline]
    pub fn intern(&mut self, slots: &Slots, word: u64, ghost: u16) -> Option<u32> {
        let h = (word ^ (ghost as u64).rotate_left(40)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52;
        let e = &mut self.entries[h as usize & (Self::SIZE - 1)];
        if e.2 != 0 && e.0 == word && e.1 == ghost {
            return Some(e.2);
        }
        let n = slots.intern(word, ghost)?;
        *e = (word, ghost, n);
        Some(n)
    }
}

impl Default for Local {
    fn default() -> Self {
        Local::new()
    }
}

/// What one call does to one slot form, as `Moves` keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// The caller may not make the call here, or the model cannot take the
    /// step: no successor (and nothing counted).
    Disabled,
    /// The call reads or writes more than its caller: the engine steps the
    /// whole state.
    Whole,
    /// The caller's slot becomes slot form `to`; `err` when the call
    /// returned an errno.
    To { to: u32, err: bool },
}

impl Move {
    #[inline]
    fn encode(self) -> u32 {
        match self {
            Move::Disabled => 0,
            Move::Whole => 1,
            Move::To { to, err } => to << 2 | 2 | err as u32,
        }
    }

    #[inline]
    pub fn decode(e: u32) -> Move {
        match e {
            0 => Move::Disabled,
            1 => Move::Whole,
            e => Move::To { to: e >> 2, err: e & 1 != 0 },
        }
    }
}

/// Most slot numbers the tables hand out: 16 M distinct process slots
/// (their directories are sized for it up front, 16 K segments each).
pub const MOVES_MAX: u32 = 1 << 24;

/// Per slot number, a row: the stamp of the projection it was computed
/// under, the slot's form under that projection when it is not moving
/// (what narrowing the projection makes of it), and one `Move` per call of
/// the alphabet.
pub struct Moves {
    stride: usize,
    segs: Box<[OnceLock<Box<[AtomicU32]>>]>,
}

/// Row layout.
const STAMP: usize = 0;
const STILL: usize = 1;
const FIRST: usize = 2;

impl Moves {
    pub fn new(calls: usize, cap: u32) -> Moves {
        let nsegs = (cap as usize).div_ceil(SEG);
        Moves { stride: calls + FIRST, segs: (0..nsegs).map(|_| OnceLock::new()).collect() }
    }

    /// The row of slot `n` if it was filled under projection stamp `stamp`
    /// (stamps start at 1).
    #[inline]
    pub fn row(&self, n: u32, stamp: u32) -> Option<&[AtomicU32]> {
        let seg = self.segs[(n >> SEG_BITS) as usize].get()?;
        let at = (n as usize & (SEG - 1)) * self.stride;
        let row = &seg[at..at + self.stride];
        (row[STAMP].load(Ordering::Acquire) == stamp).then_some(row)
    }

    /// Fills the row of slot `n` for projection stamp `stamp`: `still` and
    /// one move per call. Racing fills of one row write the same values.
    pub fn fill(&self, n: u32, stamp: u32, still: u32, moves: impl Iterator<Item = Move>) -> &[AtomicU32] {
        let stride = self.stride;
        let seg = self.segs[(n >> SEG_BITS) as usize]
            .get_or_init(|| (0..SEG * stride).map(|_| AtomicU32::new(0)).collect());
        let at = (n as usize & (SEG - 1)) * stride;
        let row = &seg[at..at + stride];
        row[STILL].store(still, Ordering::Relaxed);
        for (e, m) in row[FIRST..].iter().zip(moves) {
            e.store(m.encode(), Ordering::Relaxed);
        }
        row[STAMP].store(stamp, Ordering::Release);
        row
    }

    /// The slot's form when it does not move (see `Moves`).
    #[inline]
    pub fn still(row: &[AtomicU32]) -> u32 {
        row[STILL].load(Ordering::Relaxed)
    }

    /// The move of call `i` of the alphabet.
    #[inline]
    pub fn get(row: &[AtomicU32], i: usize) -> Move {
        Move::decode(row[FIRST + i].load(Ordering::Relaxed))
    }

    /// The moves of a row, in alphabet order.
    #[inline]
    pub fn calls(row: &[AtomicU32]) -> &[AtomicU32] {
        &row[FIRST..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_number_each_form_once_and_never_zero() {
        let s = Slots::new(5000);
        let a = s.intern(7, 1).unwrap();
        let b = s.intern(7, 2).unwrap();
        assert!(a != 0 && b != 0 && a != b);
        assert_eq!(s.intern(7, 1), Some(a));
        assert_eq!(s.get(b), (7, 2));
        for i in 0..3000 {
            s.intern(100 + i, 0).unwrap();
        }
        assert_eq!(s.get(s.intern(2099, 0).unwrap()), (2099, 0));
        assert_eq!(s.len(), 3003);
    }

    #[test]
    fn slots_say_when_they_are_used_up() {
        let s = Slots::new(3);
        assert!(s.intern(1, 0).is_some() && s.intern(2, 0).is_some());
        assert_eq!(s.intern(3, 0), None);
        assert!(s.intern(1, 0).is_some(), "a known form still has its number");
    }

    #[test]
    fn moves_round_trip_and_go_stale_with_the_projection() {
        let m = Moves::new(3, 2000);
        assert!(m.row(1500, 1).is_none());
        let moves = [Move::Disabled, Move::Whole, Move::To { to: (1 << 29) + 5, err: true }];
        m.fill(1500, 1, 42, moves.into_iter());
        let row = m.row(1500, 1).unwrap();
        assert_eq!(Moves::still(row), 42);
        assert_eq!((0..3).map(|i| Moves::get(row, i)).collect::<Vec<_>>(), moves);
        assert!(m.row(1500, 2).is_none(), "a row filled under another projection is not used");
    }
}
