//! How many states a symmetry-reduced search stands for: each stored
//! representative is one orbit of the renamings it was reduced by, and the
//! orbits partition the states a search without reduction stores, when
//! that set is closed under the renamings. It is here: the transitions
//! commute with renaming (what makes the reduction sound), and each renamed
//! initial state is reachable (fork, then the parent exits), so a renamed
//! reachable state is reachable, though not at the same depth (only slot 0
//! starts alive). Summing orbit sizes gives the unreduced count without
//! running the unreduced search: `check bench --unreduced` prints it, which
//! is how the size of bounds too large to run without symmetry is measured
//! rather than guessed. A test holds the sum to the unreduced search.

use super::exploration::Exploration;
use mmflags_model::key::{unpack, Key};
use mmflags_model::state::MAX_PROCS;
use mmflags_model::symmetry::Symmetry;

fn factorial(n: usize) -> u128 {
    (1..=n as u128).product()
}

/// `n! / (m1! m2! ...)` for the multiplicities of equal items in `items`.
fn arrangements<T: PartialEq>(items: &[T]) -> u128 {
    let mut out = factorial(items.len());
    let mut counted = vec![false; items.len()];
    for i in 0..items.len() {
        if counted[i] {
            continue;
        }
        let mut m = 0;
        for j in i..items.len() {
            if !counted[j] && items[j] == items[i] {
                counted[j] = true;
                m += 1;
            }
        }
        out /= factorial(m);
    }
    out
}

/// The number of distinct states the renamings in `sym` make of the state
/// stored as `key` (with `procs` process slots of `vmas` VMA slots each):
/// the ways to lay its processes out over the slots, times, per process,
/// the ways to lay its VMAs out over its slots.
pub fn orbit_size(key: &Key, procs: usize, vmas: usize, sym: Symmetry) -> u128 {
    let procs = procs.min(MAX_PROCS);
    let slots: Vec<u128> = key.forms[..procs].to_vec();
    let mut size = if sym.procs { arrangements(&slots) } else { 1 };
    if sym.vmas {
        let s = unpack(key);
        for p in s.procs[..procs].iter().flatten() {
            size *= arrangements(&p.mm.vmas[..vmas]);
        }
    }
    size
}

/// The number of states a search of `x`'s bounds without reduction stores
/// (`x`'s own count when it used none).
pub fn unreduced(x: &Exploration, procs: usize, vmas: usize) -> u128 {
    x.keys().map(|key| orbit_size(&key, procs, vmas, x.symmetry)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{explore, Options};

    #[test]
    fn arrangements_count_distinct_orders() {
        assert_eq!(arrangements(&[1, 2, 3]), 6);
        assert_eq!(arrangements(&[1, 1, 3]), 3);
        assert_eq!(arrangements(&[7, 7, 7, 7]), 1);
        assert_eq!(arrangements(&[1, 2, 1, 2]), 6);
    }

    /// The orbits of the reduced search are the states of the unreduced one
    /// (at the SPIN twin's bounds, and VMA renaming alone at 1x2).
    #[test]
    fn orbits_sum_to_the_unreduced_search() {
        let spec = crate::spec::load(&crate::spec::resolve("linux-6.18-thp").unwrap()).unwrap();
        for (procs, vmas) in [(2, 2), (3, 1), (1, 2)] {
            let mut s = spec.clone();
            s.bounds.processes = procs;
            s.bounds.vmas = vmas;
            let sys = s.system();
            assert!(sys.symmetry.any());
            let reduced = explore(&sys, &Options::new(2, sys.symmetry));
            let full = explore(&sys, &Options::new(2, Symmetry::NONE));
            assert!(reduced.unique() < full.unique());
            assert_eq!(unreduced(&reduced, procs, vmas), full.unique() as u128, "{procs}x{vmas}");
            assert_eq!(
                unreduced(&full, procs, vmas),
                full.unique() as u128,
                "{procs}x{vmas} without symmetry"
            );
        }
    }
}
