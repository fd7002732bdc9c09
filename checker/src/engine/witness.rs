//! The one trace shown for a discovery: of all the shortest paths from an
//! initial state to a state that violates (or witnesses) a property, the
//! first in the order exploration tries things — initial states in
//! `init_states` order, then at each step the actions in `for_each_action`
//! order (the lexicographically least path).
//!
//! Why not just the chain of parents the search stored: with symmetry
//! reduction the search stores one representative per class of renamed
//! states and expands the representative, so the parent chain follows the
//! representatives' action order, and the trace read back from it can
//! differ from the one a search without reduction finds (same length,
//! other steps). The least path depends only on the model, the depth and
//! the predicate, so the shown trace is the same with symmetry on or off,
//! for any thread count. Without reduction it is exactly the parent chain
//! (a breadth-first search that numbers states in discovery order finds
//! each state first along its least shortest path); a test holds the two
//! to that.
//!
//! It is found by a depth-first search in that order, cut at the known
//! depth, remembering (state class, steps left) pairs that lead nowhere.
//! Any path of exactly the shortest length that reaches the target is a
//! shortest path, so no level information is needed.

use mmflags_model::key::Key;
use mmflags_model::{Action, Ret, State, Sysfs, System, Walk};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

struct Search<'a, F> {
    sys: &'a System,
    /// The sysfs mode under which a state at the end of a path is a target, if any.
    target: F,
    dead: HashSet<(Key, usize)>,
    path: Vec<(Action, Ret, State)>,
    stop: &'a AtomicBool,
}

impl<F: Fn(&State) -> Option<Sysfs>> Search<'_, F> {
    /// Classes for the memo: what the checked properties read, up to the
    /// renamings the alphabet permits (whether or not the run used them).
    fn key(&self, s: &State) -> Key {
        self.sys.key(s, &self.sys.projection, self.sys.symmetry)
    }

    /// Extends `path` from `s` by exactly `left` steps to a target; the
    /// mode it is a target under.
    fn go(&mut self, s: &State, left: usize) -> Option<Option<Sysfs>> {
        if left == 0 {
            return Some((self.target)(s));
        }
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let k = self.key(s);
        if self.dead.contains(&(k, left)) {
            return Some(None);
        }
        let mut actions = Vec::new();
        self.sys.for_each_action(s, |_, a| actions.push(a));
        for a in actions {
            let Ok((r, t)) = self.sys.step(s, &a) else { continue };
            if self.key(&t) == k {
                // A step that changes nothing the search keeps is never on a shortest path.
                continue;
            }
            self.path.push((a, r, t));
            if let Some(m) = self.go(&t, left - 1)? {
                return Some(Some(m));
            }
            self.path.pop();
        }
        self.dead.insert((k, left));
        Some(None)
    }
}

/// The least path of exactly `depth` steps from an initial state of `sys`
/// to a state where `hit` holds, where `depth` is the least depth at which
/// one exists (as the breadth-first search found it). `None` if there is
/// none of that length, or if `stop` was set before it was found.
///
/// The order is the search's: when stored states keep the sysfs mode, each
/// mode's initial state comes first in `[bounds] sysfs` order; when they do
/// not (no transition reads the mode), one state stands for every mode, and
/// the least path is taken under the first mode it reaches a target in.
pub fn least_shortest(
    sys: &System,
    depth: usize,
    hit: impl Fn(&State) -> bool,
    stop: &AtomicBool,
) -> Option<Walk> {
    let modes = &sys.bounds.sysfs;
    let found = |target: &dyn Fn(&State) -> Option<Sysfs>, init: State| {
        let mut search = Search { sys, target, dead: HashSet::new(), path: Vec::with_capacity(depth), stop };
        search.go(&init, depth).map(|m| m.map(|m| (m, search.path)))
    };
    if sys.projection.sysfs {
        for &m in modes {
            let own = |s: &State| hit(s).then_some(s.sysfs);
            if let Some((_, path)) = found(&own, State::init(m))? {
                return Some(Walk { init: State::init(m), steps: path });
            }
        }
        return None;
    }
    let any = |s: &State| {
        modes.iter().copied().find(|&m| {
            let mut t = *s;
            t.sysfs = m;
            hit(&t)
        })
    };
    let (m, path) = found(&any, State::init(*modes.first()?))??;
    // The same calls from the initial state under the mode that decides.
    let init = State::init(m);
    let mut cur = init;
    let mut steps = Vec::with_capacity(path.len());
    for (a, _, _) in path {
        let (r, t) = sys.step(&cur, &a).ok()?;
        steps.push((a, r, t));
        cur = t;
    }
    Some(Walk { init, steps })
}
