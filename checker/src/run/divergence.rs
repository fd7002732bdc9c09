//! `check diff SPEC_A SPEC_B`: the shortest traces after which two variants
//! can be told apart by what a program sees: a call's result, or what /proc
//! shows afterwards (`vmflags`, `thp_eligible`, `thp_enabled`,
//! `PR_GET_THP_DISABLE` of every live process).
//!
//! A breadth-first search over pairs of states, both variants taking the
//! same step. A call one spec lacks returns what a kernel without it would
//! (-EINVAL for an unknown flag or prctl option, -ENOSYS for an unknown
//! syscall). Only pairs a program cannot yet tell apart are extended: once
//! a result or an observation differs, everything after it is a
//! consequence, not a new difference. So each divergence reported is the
//! shortest trace of its kind from indistinguishable states to a call that
//! returns differently (an errno against another errno or success), or to
//! a call after which some observation differs. Paths are `im` vectors:
//! siblings share their prefix.

use crate::spec::Spec;
use im::Vector;
use mmflags_model::action::{Action, Call, Item, Ret};
use mmflags_model::flags::VmFlags;
use mmflags_model::key::{Key, Projection};
use mmflags_model::symmetry::Symmetry;
use mmflags_model::{State, Sysfs, System};
use std::collections::{BTreeMap, HashSet};

/// One step of a compared trace: the action and what each variant returned.
#[derive(Clone, Debug, PartialEq)]
pub struct PairStep {
    pub action: Action,
    pub a: Ret,
    pub b: Ret,
}

#[derive(Clone, Debug)]
pub struct Divergence {
    /// What kind of difference this is: the call, and what differs.
    pub kind: String,
    pub sysfs: Sysfs,
    pub steps: Vec<PairStep>,
    /// Each observation that differs after the last step: (what, A, B).
    pub observed: Vec<(String, Ret, Ret)>,
}

pub struct DiffOutcome {
    /// By kind, in the order found (shortest first).
    pub divergences: Vec<Divergence>,
    pub pairs: usize,
    pub depth: usize,
    /// Every pair within the depth was explored.
    pub complete: bool,
}

/// What /proc shows of every live process.
fn observe(sys: &System, s: &State) -> Vec<(String, Ret)> {
    let mut out = Vec::new();
    for (pid, _) in s.live() {
        let mut look = |call: Call| {
            if let Ok((r, _)) = sys.step(s, &Action { pid: pid as u8, call }) {
                out.push((format!("P{pid} {call}"), r));
            }
        };
        for v in 0..sys.bounds.vmas as u8 {
            look(Call::VmFlags(Item::Vma(v)));
            look(Call::ThpEligible(Item::Vma(v)));
        }
        look(Call::ThpEnabled);
        look(Call::PrctlGetThpDisable);
    }
    out
}

fn lenient(spec: &Spec, alphabet: &[Call]) -> System {
    let mut sys = spec.system();
    sys.alphabet = alphabet.to_vec();
    sys
}

/// Observable state only: no ghosts, no history.
const OBSERVABLE: Projection = Projection {
    ghosts: mmflags_model::ghost::GhostMask::NONE,
    image: false,
    dumpable: true,
    sysfs: true,
    vm_flags: VmFlags::ALL,
    pages: true,
};

/// Compares `a` and `b` on the union of their alphabets and the prctl
/// numbers the proposals posted (which kernels have come to use), at `a`'s process
/// and VMA bounds, for the sysfs modes both list, up to `depth` steps.
pub fn diff(a: &Spec, b: &Spec, depth: usize, max_pairs: usize) -> DiffOutcome {
    let mut alphabet = a.system().alphabet;
    for c in b.system().alphabet.into_iter().chain(mmflags_model::alphabet::prctl_probes()) {
        if !alphabet.contains(&c) {
            alphabet.push(c);
        }
    }
    let (sa, sb) = (lenient(a, &alphabet), lenient(b, &alphabet));
    let key = |sys: &System, s: &State| -> Key { sys.key(s, &OBSERVABLE, Symmetry::NONE) };
    let mut found: BTreeMap<String, usize> = BTreeMap::new();
    let mut divergences = Vec::new();
    let mut seen: HashSet<(Key, Key)> = HashSet::new();
    type Node = (State, State, Vector<PairStep>);
    let mut frontier: Vec<Node> = Vec::new();
    for &m in a.bounds.sysfs.iter().filter(|m| b.bounds.sysfs.contains(m)) {
        let init = State::init(m);
        seen.insert((key(&sa, &init), key(&sb, &init)));
        frontier.push((init, init, Vector::new()));
    }
    let mut complete = true;
    let mut record = |kind: String,
                      sysfs: Sysfs,
                      steps: &Vector<PairStep>,
                      observed: Vec<(String, Ret, Ret)>| {
        if !found.contains_key(&kind) {
            found.insert(kind.clone(), divergences.len());
            divergences.push(Divergence { kind, sysfs, steps: steps.iter().cloned().collect(), observed });
        }
    };
    for _ in 1..=depth {
        let mut next: Vec<Node> = Vec::new();
        for (x, y, path) in &frontier {
            sa.for_each_action(x, |_, act| {
                if !sb.enabled(y, act.pid as usize, &act.call) {
                    return;
                }
                let (Ok((ra, tx)), Ok((rb, ty))) = (sa.step(x, &act), sb.step(y, &act)) else { return };
                let mut steps = path.clone();
                steps.push_back(PairStep { action: act, a: ra, b: rb });
                if ra != rb {
                    let kind = format!(
                        "{} returns {} where the other returns {}",
                        act.call.name(),
                        class(ra),
                        class(rb)
                    );
                    record(kind, x.sysfs, &steps, Vec::new());
                }
                let fresh = differing(&sa, &sb, &tx, &ty);
                let told_apart = ra != rb || !fresh.is_empty();
                if ra == rb && !fresh.is_empty() {
                    let mut what: Vec<&str> = fresh.iter().map(|d| observation_name(&d.0)).collect();
                    what.dedup();
                    record(
                        format!("{} shows differently after {}", what.join(" and "), act.call.name()),
                        x.sysfs,
                        &steps,
                        fresh,
                    );
                }
                if told_apart {
                    // What follows is a consequence, not a new difference.
                } else if seen.len() >= max_pairs {
                    complete = false;
                } else if seen.insert((key(&sa, &tx), key(&sb, &ty))) {
                    next.push((tx, ty, steps));
                }
            });
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    DiffOutcome { divergences, pairs: seen.len(), depth, complete }
}

/// A result's kind, so that each way two kernels answer a call apart is
/// its own difference: an errno, or success.
fn class(r: Ret) -> String {
    match r {
        Ret::Err(e) => format!("-{}", e.name()),
        _ => "success".to_string(),
    }
}

/// `vmflags` of `P0 vmflags(v0)`.
fn observation_name(what: &str) -> &str {
    what.split_whitespace().nth(1).and_then(|c| c.split('(').next()).unwrap_or(what)
}

/// The observations that differ between the two states: (what, A, B).
fn differing(sa: &System, sb: &System, x: &State, y: &State) -> Vec<(String, Ret, Ret)> {
    let (ox, oy) = (observe(sa, x), observe(sb, y));
    ox.into_iter().zip(oy).filter(|(p, q)| p.1 != q.1).map(|(p, q)| (p.0, p.1, q.1)).collect()
}

/// The divergence as text: a trace with variant A's results, B's beside
/// where they differ, then the observations that differ.
pub fn render(d: &Divergence, a: &str, b: &str) -> String {
    let n = d.steps.len();
    let mut out =
        format!("## {} ({n} step{})\n# sysfs: {}\n", d.kind, if n == 1 { "" } else { "s" }, d.sysfs);
    for s in &d.steps {
        out.push_str(&format!("{} = {}", s.action, s.a));
        if s.a != s.b {
            out.push_str(&format!("    # {a}; {b}: = {}", s.b));
        }
        out.push('\n');
    }
    for (what, x, y) in &d.observed {
        out.push_str(&format!("{what} = {x}    # {a}; {b}: = {y}\n"));
    }
    out
}
