//! The shape nearly every property has (every one of the catalogue's):
//! a quantifier over processes whose body is a chain of `and`/`or`s of
//! tests, ending at most in one quantifier over that process's VMAs whose
//! body is tests —
//!
//! ```text
//! all p: not p.def_flags has X and (all v in p.vmas: not v.flags has Y)
//! ```
//!
//! — recognised once at compile time (`fuse`) and run as one loop nest,
//! with no call or dispatch per process or VMA. The general interpreter
//! (`eval.rs`) runs everything else, and the nest's parts are its nodes, so
//! both mean the same (the tests in `tests.rs` compare them).
//!
//! Also here, the tightest loops: a quantifier whose body is one test of
//! one field of its variable reads that field straight from the state,
//! without packing a word per item.

use super::eval::{at, owner, proc_word, shift, vma_word, Node, Test};
use super::words::Src;
use crate::state::{Process, State};
use crate::thp;

/// One level of the chain: `conj` (`and`) or not (`or`) of its tests,
/// then of the next level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    pub conj: bool,
    pub tests: Box<[Test]>,
}

/// The VMA quantifier at the end of a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmaLoop {
    pub all: bool,
    pub slot: u8,
    pub eligible: bool,
    pub level: Level,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nest {
    pub all: bool,
    pub slot: u8,
    pub misc: bool,
    pub levels: Box<[Level]>,
    pub vmas: Option<VmaLoop>,
}

/// `n` with every process quantifier of the nest's shape replaced by one.
pub fn fuse(n: Node) -> Node {
    match n {
        Node::Procs { all, slot, misc, body } => {
            let body = fuse(*body);
            // One test of one field has a tighter loop of its own (`procs_field`).
            let one_field = matches!(body, Node::Test(t) if t.src.is_some() && t.slot == slot);
            match chain(&body, slot).filter(|_| !one_field) {
                Some((levels, vmas)) => {
                    Node::Nest(Box::new(Nest { all, slot, misc, levels: levels.into(), vmas }))
                }
                None => Node::Procs { all, slot, misc, body: Box::new(body) },
            }
        }
        Node::Vmas { all, slot, of, eligible, body } => {
            Node::Vmas { all, slot, of, eligible, body: Box::new(fuse(*body)) }
        }
        Node::Junction { conj, tests, subs } => {
            Node::Junction { conj, tests, subs: subs.into_vec().into_iter().map(fuse).collect() }
        }
        n => n,
    }
}

/// Tests alone, as a level.
fn tests_only(n: &Node) -> Option<Level> {
    match n {
        Node::Test(t) => Some(Level { conj: true, tests: Box::new([*t]) }),
        Node::Junction { conj, tests, subs } if subs.is_empty() => {
            Some(Level { conj: *conj, tests: tests.clone() })
        }
        _ => None,
    }
}

/// The body of a process quantifier over `slot` as a chain, if it is one.
fn chain(body: &Node, slot: u8) -> Option<(Vec<Level>, Option<VmaLoop>)> {
    if let Some(l) = tests_only(body) {
        return Some((vec![l], None));
    }
    match body {
        Node::Vmas { all, slot: vs, of, eligible, body } if *of == slot => {
            let level = tests_only(body)?;
            Some((Vec::new(), Some(VmaLoop { all: *all, slot: *vs, eligible: *eligible, level })))
        }
        Node::Junction { conj, tests, subs } if subs.len() == 1 => {
            let (mut levels, vmas) = chain(&subs[0], slot)?;
            levels.insert(0, Level { conj: *conj, tests: tests.clone() });
            Some((levels, vmas))
        }
        _ => None,
    }
}

impl Level {
    /// `Some(v)` if a test decides the level, `None` to go on to the next.
    #[inline(always)]
    fn decides<const N: usize>(&self, env: &[u64; N]) -> Option<bool> {
        // A test decides when it disagrees with `conj`: when `w&m == v`
        // differs from `neg ^ conj`.
        let c = self.conj;
        self.tests.iter().any(|t| ((env[at::<N>(t.slot)] & t.mask) == t.want) != (t.neg ^ c)).then_some(!c)
    }
}

#[inline(never)]
pub fn nest<const N: usize>(n: &Nest, s: &State, env: &mut [u64; N]) -> bool {
    let k = at::<N>(n.slot);
    for (i, p) in s.procs.iter().enumerate() {
        let Some(p) = p else { continue };
        env[k] = proc_word(i, p, n.misc);
        let v = match n.levels.iter().find_map(|l| l.decides(env)) {
            Some(v) => v,
            None => match &n.vmas {
                Some(vl) => vma_loop(vl, n.slot, s, env),
                // Every test agreed with its level: the last level's value.
                None => n.levels.last().is_none_or(|l| l.conj),
            },
        };
        if v != n.all {
            return !n.all;
        }
    }
    n.all
}

#[inline(always)]
fn vma_loop<const N: usize>(vl: &VmaLoop, of: u8, s: &State, env: &mut [u64; N]) -> bool {
    if let [t @ Test { src: Some(src), .. }] = &*vl.level.tests {
        if t.slot == vl.slot {
            return vmas_field(vl.all, t, *src, owner(s, env, of), s);
        }
    }
    let Some(p) = owner(s, env, of) else { return vl.all };
    let k = at::<N>(vl.slot);
    for v in &p.mm.vmas {
        let Some(f) = v.flags else { continue };
        let e = vl.eligible && thp::thp_eligible(s.sysfs, f, p.mm.flags);
        env[k] = vma_word(v, f, e);
        let holds = vl.level.decides(env).unwrap_or(vl.level.conj);
        if holds != vl.all {
            return !vl.all;
        }
    }
    vl.all
}

/// An item stops the scan when `(value & mask == want) != K`; `K` is the
/// test's `neg` xor the quantifier's `all`, made a constant so that each
/// step of the loop is a mask, a compare and a branch.
#[inline(always)]
fn stops<const K: bool>(mut values: impl Iterator<Item = u64>, mask: u64, want: u64) -> bool {
    values.any(|v| ((v & mask) == want) != K)
}

macro_rules! over {
    ($all:expr, $t:expr, $src:expr, $items:expr, $($field:ident => |$x:ident| $read:expr),+ $(,)?) => {{
        let (all, m, w) = ($all, $t.mask >> shift($src), $t.want >> shift($src));
        let stopped = match ($src, $t.neg ^ all) {
            $((Src::$field, false) => stops::<false>($items.map(|$x| $read), m, w),
              (Src::$field, true) => stops::<true>($items.map(|$x| $read), m, w),)+
            _ => unreachable!("a test of another owner's field"),
        };
        stopped != all
    }};
}

/// `all p: TEST` (or `any`) where the test reads one field of `p`.
#[inline(never)]
pub(super) fn procs_field(all: bool, t: &Test, src: Src, s: &State) -> bool {
    over!(all, t, src, s.procs.iter().flatten(),
        ProcGhost => |p| p.ghost.0 as u64,
        ProcDefFlags => |p| p.mm.def_flags.0 as u64,
        ProcMmFlags => |p| p.mm.flags.0 as u64,
        ProcCred => |p| p.cred as u64,
        ProcImage => |p| p.image as u64,
        ProcNnp => |p| p.no_new_privs as u64,
        ProcAtSecure => |p| p.secure_exec as u64,
        ProcMmShared => |p| p.link.shared() as u64,
        ProcThread => |p| p.link.thread as u64,
        ProcVforkChild => |p| (p.link.vfork_parent != 0) as u64,
    )
}

/// `all v in P.vmas: TEST` (or `any`) where the test reads one field of `v`.
#[inline]
pub(super) fn vmas_field(all: bool, t: &Test, src: Src, p: Option<&Process>, s: &State) -> bool {
    let Some(p) = p else { return all };
    let mapped = p.mm.vmas.iter().filter_map(|v| v.flags.map(|f| (f, v)));
    over!(all, t, src, mapped,
        VmaFlags => |v| v.0 .0 as u64,
        VmaGhost => |v| v.1.ghost.0 as u64,
        VmaEligible => |v| thp::thp_eligible(s.sysfs, v.0, p.mm.flags) as u64,
        VmaPages => |v| v.1.pages.backing() as u64,
    )
}
