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

use mmflags_model::key::Form;
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

const SEG_BITS: u32 = 10;
const SEG: usize = 1 << SEG_BITS;

/// Numbered slot forms (`Canon::slot` values). Number 0 is never handed
/// out, so a packed state is never all zero bits (the store's empty mark).
pub struct Slots {
    /// Per number: the form's low and high words. Sized for every number
    /// up front but zeroed by the kernel on first touch, so only the
    /// numbers handed out take memory.
    forms: Box<[AtomicU64]>,
    len: AtomicU32,
    cap: u32,
    map: Mutex<FxHashMap<Form, u32>>,
}

/// `n` zeroed atomics, untouched until used.
fn zeroed_atomics(n: usize) -> Box<[AtomicU64]> {
    let layout = std::alloc::Layout::array::<AtomicU64>(n.max(1)).expect("a table size");
    // SAFETY: an all-zero AtomicU64 is a valid 0, the layout is the
    // slice's, and the box takes ownership of the allocation.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout) as *mut AtomicU64;
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, n.max(1)))
    }
}

impl Slots {
    /// Room for numbers below `cap` (the packing's field width decides it).
    pub fn new(cap: u32) -> Slots {
        Slots {
            forms: zeroed_atomics(2 * cap as usize),
            len: AtomicU32::new(1),
            cap,
            map: Mutex::new(FxHashMap::default()),
        }
    }

    /// The slot form numbered `n` (which must have been handed out).
    #[inline]
    pub fn get(&self, n: u32) -> Form {
        let i = 2 * n as usize;
        let (lo, hi) = (self.forms[i].load(Ordering::Relaxed), self.forms[i + 1].load(Ordering::Relaxed));
        (hi as Form) << 64 | lo as Form
    }

    /// The sort order of the slot form numbered `n`: the form itself, as
    /// `Canon::key` sorts forms.
    #[inline]
    pub fn order(&self, n: u32) -> u128 {
        self.get(n)
    }

    /// The number of a slot form, handing out the next one if it is new;
    /// `None` when the numbers are used up.
    pub fn intern(&self, form: Form) -> Option<u32> {
        let mut map = self.map.lock().expect("slot table poisoned");
        if let Some(&n) = map.get(&form) {
            return Some(n);
        }
        let n = self.len.load(Ordering::Relaxed);
        if n >= self.cap {
            return None;
        }
        self.forms[2 * n as usize].store(form as u64, Ordering::Relaxed);
        self.forms[2 * n as usize + 1].store((form >> 64) as u64, Ordering::Relaxed);
        // Published by the unlock (and by the release store of whoever
        // passes the number on).
        self.len.store(n + 1, Ordering::Release);
        map.insert(form, n);
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

    /// Bytes held: the forms handed out (in whole pages) and the map.
    pub fn bytes(&self) -> usize {
        let map = self.map.lock().map(|m| m.capacity()).unwrap_or(0);
        (self.len() * 16).next_multiple_of(4096) + map * (16 + 4 + 1)
    }
}

/// A thread's own memo in front of `Slots::intern`, so that the slot forms
/// a thread meets again and again (a fork's child, a target's new VMAs)
/// do not each take the table's lock.
pub struct Local {
    entries: Vec<(Form, u32)>,
}

impl Local {
    const SIZE: usize = 4096;

    pub fn new() -> Local {
        Local { entries: vec![(0, 0); Self::SIZE] }
    }

    #[inline]
    pub fn intern(&mut self, slots: &Slots, form: Form) -> Option<u32> {
        let folded = form as u64 ^ ((form >> 64) as u64).rotate_left(29);
        let h = folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52;
        let e = &mut self.entries[h as usize & (Self::SIZE - 1)];
        if e.1 != 0 && e.0 == form {
            return Some(e.1);
        }
        let n = slots.intern(form)?;
        *e = (form, n);
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
    /// The call reads or writes more than its caller (`Reach::State`): the
    /// engine steps the whole state.
    Whole,
    /// The caller's slot becomes slot form `to` (`Reach::Caller`, and
    /// `exit`, after which the slot is free); `err` when the call returned
    /// an errno.
    To { to: u32, err: bool },
    /// `fork()`: the lowest free slot, if there is one, becomes `child`.
    Fork { child: u32 },
    /// `process_madvise` naming slot `target` (`Reach::Pair`): the caller
    /// and the target, if it is another live process, change together.
    Pair { target: u32 },
}

impl Move {
    #[inline]
    fn encode(self) -> u32 {
        match self {
            Move::Disabled => 0,
            Move::Pair { target } => (target + 1) << 3,
            Move::Whole => 1,
            Move::To { to, err } => to << 3 | (err as u32) << 2 | 2,
            Move::Fork { child } => child << 3 | 3,
        }
    }

    #[inline]
    pub fn decode(e: u32) -> Move {
        match e & 3 {
            0 if e == 0 => Move::Disabled,
            0 => Move::Pair { target: (e >> 3) - 1 },
            1 => Move::Whole,
            2 => Move::To { to: e >> 3, err: e & 4 != 0 },
            _ => Move::Fork { child: e >> 3 },
        }
    }
}

/// Most slot numbers the tables hand out: 16 M distinct process slots
/// (their directories are sized for it up front, 16 K segments each).
pub const MOVES_MAX: u32 = 1 << 24;

/// Per slot number, a row: the stamp of the projection it was computed
/// under, the slot's form under that projection when it is not moving
/// (what narrowing the projection makes of it), one `Move` per call of the
/// alphabet, and two lists the engine walks instead of the moves: the
/// distinct slots the caller's own calls lead to (other than itself: a
/// call that leaves it as it was has no successor to probe), each with the
/// first call that leads there, and the calls whose successor depends on
/// more than the caller (`Whole`, `Fork`, `Pair`); both in alphabet order, so that
/// walking them in step keeps the order successors are met in.
pub struct Moves {
    calls: usize,
    stride: usize,
    segs: Box<[OnceLock<Box<[AtomicU32]>>]>,
}

/// Row layout: a header, then the moves, the distinct `to`s and the
/// whole-state calls.
const STAMP: usize = 0;
const STILL: usize = 1;
const TOS: usize = 2;
const WHOLES: usize = 3;
const FIRES: usize = 4;
const FIRST: usize = 5;

/// A filled row (see `Moves`).
#[derive(Clone, Copy)]
pub struct Row<'a> {
    row: &'a [AtomicU32],
    calls: usize,
}

impl<'a> Row<'a> {
    /// The slot's form when it does not move (see `Moves`).
    #[inline]
    pub fn still(self) -> u32 {
        self.row[STILL].load(Ordering::Relaxed)
    }

    /// The move of call `i` of the alphabet.
    #[inline]
    pub fn get(self, i: usize) -> Move {
        Move::decode(self.row[FIRST + i].load(Ordering::Relaxed))
    }

    /// The moves, in alphabet order.
    #[inline]
    pub fn moves(self) -> impl Iterator<Item = Move> + 'a {
        self.row[FIRST..FIRST + self.calls].iter().map(|e| Move::decode(e.load(Ordering::Relaxed)))
    }

    /// How many calls of the caller alone it may make (each a successor
    /// counted, changed or not).
    #[inline]
    pub fn fires(self) -> u64 {
        self.row[FIRES].load(Ordering::Relaxed) as u64
    }

    /// The distinct slots the calls of the caller alone lead to, other than
    /// this one, as pairs (first call, slot), in alphabet order.
    #[inline]
    pub fn tos(self) -> &'a [AtomicU32] {
        let at = FIRST + self.calls;
        &self.row[at..at + 2 * self.row[TOS].load(Ordering::Relaxed) as usize]
    }

    /// The calls (alphabet indices) whose move is `Whole`, `Fork` or `Pair`.
    #[inline]
    pub fn wholes(self) -> &'a [AtomicU32] {
        let at = FIRST + 3 * self.calls;
        &self.row[at..at + self.row[WHOLES].load(Ordering::Relaxed) as usize]
    }
}

impl Moves {
    pub fn new(calls: usize, cap: u32) -> Moves {
        let nsegs = (cap as usize).div_ceil(SEG);
        Moves { calls, stride: FIRST + 4 * calls, segs: (0..nsegs).map(|_| OnceLock::new()).collect() }
    }

    /// The row of slot `n` if it was filled under projection stamp `stamp`
    /// (stamps start at 1).
    #[inline]
    pub fn row(&self, n: u32, stamp: u32) -> Option<Row<'_>> {
        let seg = self.segs[(n >> SEG_BITS) as usize].get()?;
        let at = (n as usize & (SEG - 1)) * self.stride;
        let row = &seg[at..at + self.stride];
        (row[STAMP].load(Ordering::Acquire) == stamp).then_some(Row { row, calls: self.calls })
    }

    /// Fills the row of slot `n` for projection stamp `stamp`: `still` and
    /// one move per call. Racing fills of one row write the same values.
    pub fn fill(&self, n: u32, stamp: u32, still: u32, moves: &[Move]) -> Row<'_> {
        assert_eq!(moves.len(), self.calls);
        let stride = self.stride;
        let seg = self.segs[(n >> SEG_BITS) as usize]
            .get_or_init(|| (0..SEG * stride).map(|_| AtomicU32::new(0)).collect());
        let at = (n as usize & (SEG - 1)) * stride;
        let row = &seg[at..at + stride];
        let mut tos: Vec<(u32, u32)> = Vec::new();
        let mut wholes = Vec::new();
        let mut fires = 0;
        for (i, m) in moves.iter().enumerate() {
            row[FIRST + i].store(m.encode(), Ordering::Relaxed);
            match *m {
                Move::To { to, .. } => {
                    fires += 1;
                    if to != n && !tos.iter().any(|t| t.1 == to) {
                        tos.push((i as u32, to));
                    }
                }
                Move::Whole | Move::Fork { .. } | Move::Pair { .. } => wholes.push(i as u32),
                Move::Disabled => {}
            }
        }
        for (e, &x) in row[FIRST + self.calls..].chunks(2).zip(&tos) {
            e[0].store(x.0, Ordering::Relaxed);
            e[1].store(x.1, Ordering::Relaxed);
        }
        for (e, &w) in row[FIRST + 3 * self.calls..].iter().zip(&wholes) {
            e.store(w, Ordering::Relaxed);
        }
        row[STILL].store(still, Ordering::Relaxed);
        row[TOS].store(tos.len() as u32, Ordering::Relaxed);
        row[WHOLES].store(wholes.len() as u32, Ordering::Relaxed);
        row[FIRES].store(fires, Ordering::Relaxed);
        row[STAMP].store(stamp, Ordering::Release);
        Row { row, calls: self.calls }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_number_each_form_once_and_never_zero() {
        let s = Slots::new(5000);
        // Forms that differ only in their high word are different forms.
        let (x, y) = (7 | 1 << 100, 7 | 2 << 100);
        let a = s.intern(x).unwrap();
        let b = s.intern(y).unwrap();
        assert!(a != 0 && b != 0 && a != b);
        assert_eq!(s.intern(x), Some(a));
        assert_eq!(s.get(b), y);
        for i in 0..3000 {
            s.intern(100 + i).unwrap();
        }
        assert_eq!(s.get(s.intern(2099).unwrap()), 2099);
        assert_eq!(s.len(), 3003);
    }

    #[test]
    fn slots_say_when_they_are_used_up() {
        let s = Slots::new(3);
        assert!(s.intern(1).is_some() && s.intern(2).is_some());
        assert_eq!(s.intern(3), None);
        assert!(s.intern(1).is_some(), "a known form still has its number");
    }

    #[test]
    fn moves_round_trip_and_go_stale_with_the_projection() {
        let m = Moves::new(5, 2000);
        assert!(m.row(1500, 1).is_none());
        let to = |to| Move::To { to, err: false };
        let moves = [Move::Disabled, Move::Whole, Move::To { to: (1 << 28) + 5, err: true }, to(1500), to(7)];
        m.fill(1500, 1, 42, &moves);
        let row = m.row(1500, 1).unwrap();
        assert_eq!(row.still(), 42);
        assert_eq!(row.moves().collect::<Vec<_>>(), moves);
        assert_eq!(row.get(2), moves[2]);
        assert_eq!(row.fires(), 3);
        let tos: Vec<u32> = row.tos().iter().map(|e| e.load(Ordering::Relaxed)).collect();
        assert_eq!(tos, [2, (1 << 28) + 5, 4, 7], "distinct, and not the slot itself");
        for m in [Move::Fork { child: 99 }, Move::Pair { target: 0 }, Move::Pair { target: 3 }] {
            assert_eq!(Move::decode(m.encode()), m);
        }
        assert_eq!(row.wholes().iter().map(|e| e.load(Ordering::Relaxed)).collect::<Vec<_>>(), [1]);
        assert!(m.row(1500, 2).is_none(), "a row filled under another projection is not used");
    }
}
