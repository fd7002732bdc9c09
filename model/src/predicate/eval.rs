//! The compiled form and its evaluation: a small tree in negation normal
//! form whose leaves are tests, each a mask and a compare on a word.
//! Nothing here allocates or looks at a name: every string was resolved
//! at compile time.
//!
//! Binding a variable packs what a test may read of it into one word of
//! its slot (slot 0 holds the state's sysfs mode): a process's ghost bits,
//! `def_flags`, `mm->flags`, cred, image, NNP and AT_SECURE; a VMA's flags,
//! ghost bits and, only when the body reads it, its THP eligibility. The
//! tests of an `and`/`or` then sit in a flat slice evaluated in place, and
//! a quantifier whose body is one test of one field reads that field in a
//! tight loop without packing. (A function call per leaf — its prologue
//! and epilogue — cost more than the test; `check cost` measures it.)

use super::nest::{nest, procs_field, vmas_field, Nest};
use super::words::Src;
use crate::flags::VmFlags;
use crate::state::{Process, State, Vma};

use crate::thp;

/// Most variables bound at once.
pub const MAX_VARS: usize = 8;
/// Slot 0 (the state itself) and one per bound variable.
pub const SLOTS: usize = MAX_VARS + 1;

const P_GHOST: u32 = 0;
const P_DEF: u32 = 24;
const P_MMF: u32 = 34;
const P_CRED: u32 = 50;
const P_IMAGE: u32 = 52;
const P_NNP: u32 = 53;
const P_SECURE: u32 = 54;
/// Which process slot of the state the word is of (for the VMA
/// quantifiers under it).
const P_INDEX: u32 = 56;
const P_MM_SHARED: u32 = 59;
const P_THREAD: u32 = 60;
const P_VFORK_CHILD: u32 = 61;
/// The bits packed only when a test reads them (cred, image, NNP,
/// AT_SECURE, how the task shares its mm).
const P_MISC: u64 = 0x1f << P_CRED | 7 << P_MM_SHARED;
const V_FLAGS: u32 = 0;
const V_GHOST: u32 = 16;
const V_ELIGIBLE: u32 = 24;
const V_PAGES: u32 = 32;
// Each field fits below the next.
const _: () = assert!(
    crate::ghost::Ghost::BITS <= P_DEF
        && P_DEF + 10 <= P_MMF
        && P_MMF + 16 <= P_CRED
        && crate::flags::VmFlags::ALL.0 as u32 >> V_GHOST == 0
);

/// Where `src` sits in its variable's word.
pub(super) fn shift(src: Src) -> u32 {
    match src {
        Src::Sysfs => 0,
        Src::ProcGhost => P_GHOST,
        Src::ProcDefFlags => P_DEF,
        Src::ProcMmFlags => P_MMF,
        Src::ProcCred => P_CRED,
        Src::ProcImage => P_IMAGE,
        Src::ProcNnp => P_NNP,
        Src::ProcAtSecure => P_SECURE,
        Src::ProcMmShared => P_MM_SHARED,
        Src::ProcThread => P_THREAD,
        Src::ProcVforkChild => P_VFORK_CHILD,
        Src::VmaFlags => V_FLAGS,
        Src::VmaGhost => V_GHOST,
        Src::VmaEligible => V_ELIGIBLE,
        Src::VmaPages => V_PAGES,
    }
}

/// Slot `slot` of an environment of `N` words (always below `N` by
/// construction; the `min` lets the compiler drop the bounds check).
#[inline(always)]
pub(super) fn at<const N: usize>(slot: u8) -> usize {
    (slot as usize).min(N - 1)
}

/// `((word[slot] & mask) == want) != neg`: every test of the language.
/// `src` is the one field it reads (none once tests of several fields of
/// one variable are fused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Test {
    pub slot: u8,
    pub src: Option<Src>,
    pub neg: bool,
    pub mask: u64,
    pub want: u64,
}

impl Test {
    /// A test of field `src` of the variable in `slot`, with `mask` and
    /// `want` as the field holds them.
    pub fn new(slot: u8, src: Src, neg: bool, mask: u64, want: u64) -> Test {
        let k = shift(src);
        Test { slot, src: Some(src), neg, mask: mask << k, want: want << k }
    }

    #[inline(always)]
    fn of(&self, word: u64) -> bool {
        ((word & self.mask) == self.want) != self.neg
    }

    #[inline(always)]
    pub(super) fn holds<const N: usize>(&self, env: &[u64; N]) -> bool {
        self.of(env[at::<N>(self.slot)])
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Const(bool),
    Test(Test),
    /// `and` (`conj`) or `or` of `tests`, then of `subs` (quantifiers and
    /// junctions of the other kind).
    Junction {
        conj: bool,
        tests: Box<[Test]>,
        subs: Box<[Node]>,
    },
    /// Over live processes: `all` (every) or not (some); `misc`: the body
    /// reads cred, image, NNP or AT_SECURE.
    Procs {
        all: bool,
        slot: u8,
        misc: bool,
        body: Box<Node>,
    },
    /// A process quantifier of the common shape, run as one loop nest (`nest.rs`).
    Nest(Box<Nest>),
    /// Over the mapped VMAs of the process in slot `of`; `eligible`: the
    /// body reads their THP eligibility.
    Vmas {
        all: bool,
        slot: u8,
        of: u8,
        eligible: bool,
        body: Box<Node>,
    },
}

impl Node {
    /// The process quantifier, noting what its body reads.
    pub fn procs(all: bool, slot: u8, body: Node) -> Node {
        let misc = body.reads_bit(slot, P_MISC);
        Node::Procs { all, slot, misc, body: Box::new(body) }
    }

    /// The VMA quantifier, noting whether its body reads eligibility.
    pub fn vmas(all: bool, slot: u8, of: u8, body: Node) -> Node {
        let eligible = body.reads_bit(slot, 1 << V_ELIGIBLE);
        Node::Vmas { all, slot, of, eligible, body: Box::new(body) }
    }

    fn reads_bit(&self, slot: u8, bit: u64) -> bool {
        let t = |t: &Test| t.slot == slot && t.mask & bit != 0;
        match self {
            Node::Const(_) => false,
            Node::Test(x) => t(x),
            Node::Junction { tests, subs, .. } => {
                tests.iter().any(t) || subs.iter().any(|n| n.reads_bit(slot, bit))
            }
            Node::Procs { body, .. } | Node::Vmas { body, .. } => body.reads_bit(slot, bit),
            Node::Nest(n) => {
                let level = |l: &super::nest::Level| l.tests.iter().any(t);
                n.levels.iter().any(level) || n.vmas.as_ref().is_some_and(|v| level(&v.level))
            }
        }
    }
}

#[inline(always)]
pub(super) fn proc_word(i: usize, p: &Process, misc: bool) -> u64 {
    let w = (i as u64) << P_INDEX
        | (p.ghost.0 as u64) << P_GHOST
        | (p.mm.def_flags.0 as u64) << P_DEF
        | (p.mm.flags.0 as u64) << P_MMF;
    if !misc {
        return w;
    }
    w | (p.cred as u64) << P_CRED
        | (p.image as u64) << P_IMAGE
        | (p.no_new_privs as u64) << P_NNP
        | (p.secure_exec as u64) << P_SECURE
        | (p.link.shared() as u64) << P_MM_SHARED
        | (p.link.thread as u64) << P_THREAD
        | ((p.link.vfork_parent != 0) as u64) << P_VFORK_CHILD
}

#[inline(always)]
pub(super) fn vma_word(v: &Vma, f: VmFlags, eligible: bool) -> u64 {
    (f.0 as u64) << V_FLAGS
        | (v.ghost.0 as u64) << V_GHOST
        | (eligible as u64) << V_ELIGIBLE
        | (v.pages.backing() as u64) << V_PAGES
}

/// How a compiled predicate is run: picked once, at compile time, for the
/// shape of its root, so that a simple predicate pays no dispatch per state.
pub type Entry = fn(&Node, &State) -> bool;

/// The entry for `root`, which binds at most `slots - 1` variables at once.
/// The environment is as small as the predicate needs: setting up a large
/// one cost more than a simple predicate itself.
pub fn entry(root: &Node, slots: usize) -> Entry {
    match root {
        Node::Procs { body, slot, .. } if matches!(&**body, Node::Test(t) if t.src.is_some() && t.slot == *slot) => {
            |n, s| match n {
                Node::Procs { all, body, .. } => match &**body {
                    Node::Test(t @ Test { src: Some(src), .. }) => procs_field(*all, t, *src, s),
                    _ => unreachable!("the entry was picked for this shape"),
                },
                _ => unreachable!("the entry was picked for this shape"),
            }
        }
        Node::Nest(_) if slots <= 2 => |n, s| match n {
            Node::Nest(x) => nest(x, s, &mut [s.sysfs as u64, 0]),
            _ => unreachable!("the entry was picked for this shape"),
        },
        _ => match slots {
            0..=2 => run::<2>,
            3 => run::<3>,
            4 => run::<4>,
            _ => run::<SLOTS>,
        },
    }
}

fn run<const N: usize>(root: &Node, s: &State) -> bool {
    let mut env = [0u64; N];
    env[0] = s.sysfs as u64;
    step(root, s, &mut env)
}

/// Leaves and the tests of a junction evaluated where they stand, and
/// quantifiers by small functions of their own: the interpreter's cost is
/// mostly calls (a prologue and epilogue each, bigger for a bigger
/// function), so there are few of them and they are small.
#[inline(always)]
fn step<const N: usize>(n: &Node, s: &State, env: &mut [u64; N]) -> bool {
    match n {
        Node::Test(t) => t.holds(env),
        Node::Const(b) => *b,
        Node::Junction { conj, tests, subs } => {
            for t in tests.iter() {
                if t.holds(env) != *conj {
                    return !*conj;
                }
            }
            for n in subs.iter() {
                // A junction of tests alone one level down is inline too.
                let r = match n {
                    Node::Junction { conj: c, tests: t, subs: none } if none.is_empty() => {
                        t.iter().all(|t| t.holds(env) == *c) == *c
                    }
                    Node::Vmas { all, slot, of, body, .. } => match &**body {
                        Node::Test(t @ Test { src: Some(src), .. }) if t.slot == *slot => {
                            vmas_field(*all, t, *src, owner(s, env, *of), s)
                        }
                        _ => node(n, s, env),
                    },
                    _ => node(n, s, env),
                };
                if r != *conj {
                    return !*conj;
                }
            }
            *conj
        }
        Node::Procs { all, slot, misc, body } => match &**body {
            Node::Test(t @ Test { src: Some(src), .. }) if t.slot == *slot => procs_field(*all, t, *src, s),
            body => procs(*all, *slot, *misc, body, s, env),
        },
        Node::Vmas { all, slot, of, eligible, body } => vmas(*all, *slot, *of, *eligible, body, s, env),
        Node::Nest(n) => nest(n, s, env),
    }
}

/// `step` as a function, for the nodes under a junction.
#[inline(never)]
fn node<const N: usize>(n: &Node, s: &State, env: &mut [u64; N]) -> bool {
    step(n, s, env)
}

/// `all` (or, with `all` false, `any`) of test `$t` over `$items`, with the
/// field read picked once for the loop rather than packed per item.
/// The process the variable in slot `of` is bound to.
#[inline(always)]
pub(super) fn owner<'s, const N: usize>(s: &'s State, env: &[u64; N], of: u8) -> Option<&'s Process> {
    let i = (env[at::<N>(of)] >> P_INDEX) as usize & 7;
    s.procs.get(i).and_then(|p| p.as_ref())
}

#[inline(never)]
fn procs<const N: usize>(
    all: bool,
    slot: u8,
    misc: bool,
    body: &Node,
    s: &State,
    env: &mut [u64; N],
) -> bool {
    let k = at::<N>(slot);
    // The common bodies, told apart once rather than once per process.
    if let Node::Junction { conj, tests, subs } = body {
        if subs.is_empty() {
            for (i, p) in s.procs.iter().enumerate() {
                let Some(p) = p else { continue };
                env[k] = proc_word(i, p, misc);
                if (tests.iter().all(|t| t.holds(env) == *conj) == *conj) != all {
                    return !all;
                }
            }
            return all;
        }
    }
    for (i, p) in s.procs.iter().enumerate() {
        let Some(p) = p else { continue };
        env[k] = proc_word(i, p, misc);
        if step(body, s, env) != all {
            return !all;
        }
    }
    all
}

#[inline(never)]
fn vmas<const N: usize>(
    all: bool,
    slot: u8,
    of: u8,
    eligible: bool,
    body: &Node,
    s: &State,
    env: &mut [u64; N],
) -> bool {
    let Some(p) = owner(s, env, of) else { return all };
    if let Node::Test(t @ Test { src: Some(src), .. }) = body {
        if t.slot == slot {
            return vmas_field(all, t, *src, Some(p), s);
        }
    }
    let k = at::<N>(slot);
    for (v, f) in p.mm.vmas.iter().filter_map(|v| v.flags.map(|f| (v, f))) {
        let e = eligible && thp::thp_eligible(s.sysfs, f, p.mm.flags);
        env[k] = vma_word(v, f, e);
        if step(body, s, env) != all {
            return !all;
        }
    }
    all
}
