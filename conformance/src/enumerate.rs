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

/// What the kernel can tell apart: everything but the ghost (history) bits
/// (pages included: `pages(v)` reads them).
const KERNEL_VIEW: Projection = Projection {
    ghosts: GhostMask::NONE,
    image: true,
    dumpable: true,
    sysfs: true,
    vm_flags: VmFlags::ALL,
    pages: true,
};

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

    /// The exact number of traces and steps per depth, derived from the
    /// state graph rather than from the traces: a breadth-first pass over
    /// distinct kernel-visible states counts, per level, the edges out of
    /// the states it extends. Every such edge ends exactly one trace, except
    /// the one first edge into each state that is extended further; a trace
    /// ending at level k has k steps.
    #[test]
    fn count_traces_per_depth() {
        let (sys, init) = small();
        for depth in 1..=4 {
            let (mut traces, mut steps) = (0usize, 0usize);
            let mut seen: HashSet<Key> = HashSet::from([kernel_key(&sys, &init)]);
            let mut level = vec![init];
            for k in 1..=depth {
                let mut next = Vec::new();
                for s in &level {
                    for (_, t) in successors(&sys, s) {
                        let extended =
                            k < depth && t.live().next().is_some() && seen.insert(kernel_key(&sys, &t));
                        if extended {
                            next.push(t);
                        } else {
                            traces += 1;
                            steps += k;
                        }
                    }
                }
                level = next;
            }
            let t = exhaustive(&sys, init, depth);
            let got: usize = t.iter().map(|x| x.len()).sum();
            assert_eq!((t.len(), got), (traces, steps), "depth {depth}");
            assert!(t.iter().all(|x| (1..=depth).contains(&x.len())), "depth {depth}");
        }
        // Pinned at 2 processes x 1 VMA: a change here is a change in the
        // model's alphabet or semantics; update it on purpose.
        let pinned: Vec<usize> = (1..=3).map(|d| exhaustive(&sys, init, d).len()).collect();
        assert_eq!(pinned, PINNED, "traces per depth at 2x1");
    }

    // 58 first steps: the page calls (touch, pages, MADV_COLLAPSE, a
    // DONTNEED per slot, khugepaged) are in every conformance alphabet
    // (47 with them), and so are the policy calls (11 more at one slot:
    // PR_SET_MEMORY_MERGE 1 and 0, PR_SET_MDWE with REFUSE_EXEC_GAIN,
    // with NO_INHERIT too, and 0, mmap(PROT_READ|PROT_WRITE|PROT_EXEC)
    // and mmap(PROT_READ|PROT_EXEC), and per slot MADV_MERGEABLE,
    // MADV_UNMERGEABLE, mprotect to RX and to RW). Was [47, 512, 4392].
    // 61 with the tasks that share an mm (vfork(), clone(CLONE_VM), a
    // thread); the tree grows more, since slots that share an mm are not
    // renamed. Was [58, 914, 11019].
    const PINNED: [usize; 3] = [61, 1251, 16610];

    fn small() -> (System, State) {
        let sem = Semantics::mainline();
        let bounds = Bounds { processes: 2, vmas: 1, sysfs: vec![Sysfs::Madvise], depth: None };
        let alphabet = mmflags_model::alphabet::candidates(&sem, 2, 1);
        (System::new(sem, bounds, alphabet, Vec::new()), State::init(Sysfs::Madvise))
    }
}
