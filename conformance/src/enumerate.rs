//! Which traces conformance runs: every trace of the model up to a depth,
//! and seeded random walks beyond it. Both are plain action sequences from
//! the model's own alphabet (`System::for_each_action`), so what runs on the
//! kernel is exactly what the checker explores.
//!
//! The exhaustive part is a breadth-first search over concrete states (no
//! symmetry: the kernel does not know that P1 and P2 are interchangeable)
//! with two deduplications, both sound for step-by-step comparison:
//! - a trace that is a prefix of another is not run on its own, because
//!   every step of the longer one is compared anyway;
//! - a state reached again (same kernel-visible state, ghosts ignored) is
//!   not extended a second time: the one edge into it is still run.
//!
//! So every edge of the model's state graph within the depth is executed
//! on the kernel exactly once, at the end of a trace or inside one.

use mmflags_model::flags::VmFlags;
use mmflags_model::ghost::GhostMask;
use mmflags_model::key::{Key, Projection};
use mmflags_model::symmetry::Symmetry;
use mmflags_model::{Action, State, System, Walk};
use std::collections::{BTreeMap, HashSet};

/// What the kernel can tell apart: everything but the ghost (history) bits.
const KERNEL_VIEW: Projection =
    Projection { ghosts: GhostMask::NONE, image: true, dumpable: true, sysfs: true, vm_flags: VmFlags::ALL };

fn kernel_key(sys: &System, s: &State) -> Key {
    sys.key(s, &KERNEL_VIEW, Symmetry::NONE)
}

/// The enabled actions of `s` that the model can take, with their successors.
fn successors(sys: &System, s: &State) -> Vec<(Action, State)> {
    let mut out = Vec::new();
    sys.for_each_action(s, |_, a| {
        if let Ok((_, next)) = sys.step(s, &a) {
            out.push((a, next));
        }
    });
    out
}

/// Every trace from `init` up to `depth` steps, deduplicated as the module
/// doc says, in breadth-first order (deterministic).
pub fn exhaustive(sys: &System, init: State, depth: usize) -> Vec<Vec<Action>> {
    let mut traces = Vec::new();
    if depth == 0 {
        return traces;
    }
    let mut seen: HashSet<Key> = HashSet::new();
    seen.insert(kernel_key(sys, &init));
    let mut frontier: Vec<(State, Vec<Action>)> = vec![(init, Vec::new())];
    for d in 1..=depth {
        let mut next = Vec::new();
        for (s, path) in &frontier {
            for (a, t) in successors(sys, s) {
                let mut p = path.clone();
                p.push(a);
                let extend = d < depth && t.live().next().is_some();
                if extend && seen.insert(kernel_key(sys, &t)) {
                    next.push((t, p));
                } else {
                    traces.push(p);
                }
            }
        }
        frontier = next;
    }
    traces
}

/// Runs `actions` through the model from `init`: the concrete run, ready
/// to print or to emit as C. `None` if the model cannot take a step.
pub fn walk(sys: &System, init: State, actions: &[Action]) -> Option<Walk> {
    let mut cur = init;
    let mut steps = Vec::with_capacity(actions.len());
    for a in actions {
        let (r, next) = sys.step(&cur, a).ok()?;
        steps.push((*a, r, next));
        cur = next;
    }
    Some(Walk { init, steps })
}

/// splitmix64: a small, well-known generator, so a seed names the same
/// walks on every machine and in every version of this crate.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// `count` random walks from `init`, each of a length drawn from
/// `min_len..=max_len`; only the last step may end the last process. At each
/// step a call name (`madvise`, `fork`, ...) is drawn first and then one of
/// its enabled forms, so the rare calls that move state between processes
/// (fork, execve, setresuid, exit) are drawn as often as the many madvise
/// forms.
pub fn random_walks(
    sys: &System,
    init: State,
    count: usize,
    seed: u64,
    min_len: usize,
    max_len: usize,
) -> Vec<Vec<Action>> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| {
            let len = min_len + rng.below(max_len - min_len + 1);
            let mut s = init;
            let mut path = Vec::with_capacity(len);
            while path.len() < len {
                let mut by_name: BTreeMap<&'static str, Vec<(Action, State)>> = BTreeMap::new();
                let last = path.len() + 1 == len;
                for (a, t) in successors(sys, &s) {
                    if !last && t.live().next().is_none() {
                        continue;
                    }
                    by_name.entry(a.call.name()).or_default().push((a, t));
                }
                if by_name.is_empty() {
                    break;
                }
                let group = by_name.values().nth(rng.below(by_name.len())).expect("nonempty");
                let (a, t) = group[rng.below(group.len())];
                path.push(a);
                s = t;
            }
            path
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmflags_model::{Bounds, Semantics, Sysfs};

    fn mainline(depth: usize) -> (System, State) {
        let sem = Semantics::mainline();
        let bounds = Bounds { processes: 3, vmas: 2, sysfs: vec![Sysfs::Madvise], depth: Some(depth) };
        let alphabet = mmflags_model::alphabet::candidates(&sem, 3, 2);
        (System::new(sem, bounds, alphabet, Vec::new()), State::init(Sysfs::Madvise))
    }

    #[test]
    fn every_enabled_first_step_is_covered() {
        let (sys, init) = mainline(1);
        let one = exhaustive(&sys, init, 1);
        assert_eq!(one.len(), successors(&sys, &init).len());
        // Depth 2 runs each first step inside some longer trace.
        let two = exhaustive(&sys, init, 2);
        for t in &one {
            assert!(two.iter().any(|u| u[0] == t[0]), "{} not covered", t[0]);
        }
    }

    #[test]
    fn walks_are_reproducible_and_within_length() {
        let (sys, init) = mainline(1);
        let a = random_walks(&sys, init, 20, 7, 10, 20);
        let b = random_walks(&sys, init, 20, 7, 10, 20);
        assert_eq!(a, b);
        assert!(a.iter().all(|w| (10..=20).contains(&w.len())));
        assert_ne!(a, random_walks(&sys, init, 20, 8, 10, 20));
    }

    #[test]
    fn count_traces_per_depth() {
        let (sys, init) = mainline(4);
        for d in 1..=3 {
            let t = exhaustive(&sys, init, d);
            let steps: usize = t.iter().map(|x| x.len()).sum();
            eprintln!("depth {d}: {} traces, {steps} steps", t.len());
        }
    }
}
