//! What a search found, and the stored states read back: each as the
//! `key::Key` the rest of the checker knows, and the chain of states that
//! leads to one, re-derived level by level (nothing stores parents).

use super::decode::decode;
use super::intern::Slots;
use super::limits::Stop;
use super::store::{Packed, Store};
use mmflags_model::key::{unpack, Key, Projection};
use mmflags_model::state::MAX_PROCS;
use mmflags_model::symmetry::Symmetry;
use mmflags_model::{Sysfs, System};
use std::time::Duration;

/// Per alphabet entry: how often it ran, changed the state, or failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub fired: u64,
    pub changed: u64,
    pub errors: u64,
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

/// A store of either width.
pub enum Packing {
    Narrow(Store<u64>),
    Wide(Store<u128>),
}

impl From<Store<u64>> for Packing {
    fn from(s: Store<u64>) -> Packing {
        Packing::Narrow(s)
    }
}

impl From<Store<u128>> for Packing {
    fn from(s: Store<u128>) -> Packing {
        Packing::Wide(s)
    }
}

/// The stored states with what decodes them.
pub struct Stored {
    packing: Packing,
    slots: Slots,
    bits: u32,
    procs: usize,
}

impl Stored {
    pub(crate) fn empty() -> Stored {
        Stored::new(Store::<u64>::new().into(), Slots::new(1), 0, 0)
    }

    pub(crate) fn new(packing: Packing, slots: Slots, bits: u32, procs: usize) -> Stored {
        Stored { packing, slots, bits, procs }
    }

    pub fn len(&self) -> usize {
        match &self.packing {
            Packing::Narrow(s) => s.len(),
            Packing::Wide(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// See `Exploration::bytes_per_state_bound`.
    pub fn max_bytes_per_state(&self) -> f64 {
        match &self.packing {
            Packing::Narrow(_) => Store::<u64>::MAX_BYTES_PER_STATE,
            Packing::Wide(_) => Store::<u128>::MAX_BYTES_PER_STATE,
        }
    }

    /// Most distinct slot forms this packing numbers.
    pub fn slot_capacity(&self) -> usize {
        1usize << self.bits.min(40)
    }

    fn fields<K: Packed>(&self, k: K) -> [u32; MAX_PROCS] {
        let mut n = [0; MAX_PROCS];
        for (i, f) in n.iter_mut().enumerate().take(self.procs) {
            *f = k.field(i, self.bits);
        }
        n
    }

    /// State `id` as `Canon::key` keyed it.
    pub fn key(&self, id: usize) -> Key {
        let n = match &self.packing {
            Packing::Narrow(s) => self.fields(s.get(id)),
            Packing::Wide(s) => self.fields(s.get(id)),
        };
        decode(&self.slots, &n[..self.procs])
    }
}

/// What a search found.
pub struct Exploration {
    /// The stored states (projected representatives) in BFS order; a
    /// state's id is its index.
    pub stored: Stored,
    /// The projection states of each depth were stored under: it narrows as
    /// properties are decided (a decided property's ghosts are no longer kept).
    pub projections: Vec<Projection>,
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
    /// Bytes the stored states and what decodes them hold (see
    /// `bytes_per_state`).
    pub held_bytes: usize,
    /// The system explored (chains are re-derived with it).
    pub sys: System,
}

impl Exploration {
    pub fn unique(&self) -> usize {
        self.stored.len()
    }

    /// Bytes held per stored state, measured: the table slots and
    /// breadth-first order entry of each (`store::Store`), and the numbered
    /// slot forms that decode them (`intern::Slots`), shared by all.
    /// Nothing else is kept once the search ends; a trace needs nothing
    /// more. It moves with the table's load, so it depends on the count.
    pub fn bytes_per_state(&self) -> f64 {
        self.held_bytes as f64 / self.unique().max(1) as f64
    }

    /// The most bytes a stored state holds once the store is past its
    /// first, fixed-size table (`Store::MAX_BYTES_PER_STATE` for the
    /// packing used), not counting the slot forms (a few bytes each,
    /// shared by all states). It depends only on the packing, not on the
    /// count, so it is the figure reports and `check --json` give.
    pub fn bytes_per_state_bound(&self) -> f64 {
        self.stored.max_bytes_per_state()
    }

    /// Deepest level that holds a state.
    pub fn max_depth(&self) -> usize {
        self.levels.len().saturating_sub(1)
    }

    /// State `id`.
    pub fn key(&self, id: u32) -> Key {
        self.stored.key(id as usize)
    }

    /// Every stored state, in id order.
    pub fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        (0..self.unique()).map(|i| self.stored.key(i))
    }

    /// Depth of state `id`.
    pub fn depth_of(&self, id: u32) -> usize {
        self.levels.partition_point(|&l| l <= id as usize) - 1
    }

    /// The chain of keys from an initial state to `id`: at each level, the
    /// state the search stored first among those with a successor at the
    /// next link (the one whose expansion discovered it: a level is
    /// expanded and merged in id order, so a state is first reached from
    /// its lowest-id predecessor).
    pub fn chain(&self, id: u32) -> Vec<Key> {
        let mut ids = vec![id];
        let mut d = self.depth_of(id);
        while d > 0 {
            let at = *ids.last().expect("a link");
            match self.parent(at, d) {
                Some(p) => ids.push(p),
                None => break,
            }
            d -= 1;
        }
        ids.iter().rev().map(|&i| self.key(i)).collect()
    }

    /// The lowest-id state of level `d - 1` one of whose successors, keyed
    /// as the search keyed level `d`, is state `id`.
    fn parent(&self, id: u32, d: usize) -> Option<u32> {
        let want = self.key(id);
        let proj = self.projections.get(d).or(self.projections.last()).copied()?;
        let canon = self.sys.canon(&proj, self.symmetry);
        (self.levels[d - 1]..self.levels[d]).map(|p| p as u32).find(|&p| {
            let s = unpack(&self.key(p));
            let mut found = false;
            self.sys.for_each_action_but_twins(&s, self.symmetry, |_, a| {
                if !found {
                    let mut t = s;
                    found = self.sys.step_in_place(&mut t, &a).is_ok() && canon.key(&t) == want;
                }
            });
            found
        })
    }
}
