//! Stored states read back: the slot numbers of a packed state become a
//! `State` (for the properties the engine checks as it goes) or the
//! `key::Key` the rest of the checker knows.

use super::intern::Slots;
use mmflags_model::key::{free_slot_like, slot_alive, slot_sysfs, unpack_slot, Key};
use mmflags_model::state::{Process, MAX_PROCS};
use mmflags_model::State;

/// States of numbered slots, with each slot's process decoded once per
/// thread (`unpack` of a whole key cost more than the properties checked
/// on it).
#[derive(Default)]
pub struct Decoder {
    procs: Vec<Option<Option<Process>>>,
}

impl Decoder {
    /// The state whose slots are numbered `slots_n`.
    #[inline]
    pub fn state(&mut self, slots: &Slots, slots_n: &[u32]) -> State {
        let mut s = State { sysfs: slot_sysfs(slots.get(slots_n[0])), procs: [None; MAX_PROCS] };
        for (p, &n) in s.procs.iter_mut().zip(slots_n) {
            let i = n as usize;
            if i >= self.procs.len() {
                self.procs.resize((i + 1).next_power_of_two(), None);
            }
            *p = *self.procs[i].get_or_insert_with(|| {
                let form = slots.get(n);
                slot_alive(form).then(|| unpack_slot(form))
            });
        }
        s
    }
}

/// The `Key` (`Canon::key` form) of a state whose slots are numbered
/// `slots_n` (the spec's process slots; the others are free).
pub fn decode(slots: &Slots, slots_n: &[u32]) -> Key {
    let mut key = Key { forms: [0; MAX_PROCS] };
    for (i, &n) in slots_n.iter().enumerate() {
        key.forms[i] = slots.get(n);
    }
    let free = free_slot_like(key.forms[0]);
    for w in &mut key.forms[slots_n.len()..] {
        *w = free;
    }
    key
}
