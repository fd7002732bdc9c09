//! The compiled form and its evaluation: a small tree in negation normal
//! form whose leaves are one mask-and-compare each on a word packed for a
//! bound variable when the quantifier binds it. Nothing here allocates or
//! looks at a name: every string was resolved at compile time.
//!
//! Words (see `words.rs` for where each field sits): slot 0 holds the
//! state's sysfs mode, each bound variable a slot of its own. A process
//! variable's word is its ghost bits, `def_flags`, `mm->flags`, cred,
//! image, NNP and AT_SECURE; a VMA variable's word is its flags, its ghost
//! bits and, only when the predicate reads it, its THP eligibility.

use super::words::{P_CRED, P_DEF, P_GHOST, P_IMAGE, P_MMF, P_NNP, P_SECURE, V_ELIGIBLE, V_FLAGS, V_GHOST};
use crate::flags::VmFlags;
use crate::ghost::VmaGhost;
use crate::state::{Cred, Image, Process, State, Sysfs};
use crate::thp;

/// Slot 0 and up to eight bound variables.
pub const SLOTS: usize = 9;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Const(bool),
    /// `((word[slot] & mask) == want) != neg`.
    Test {
        slot: u8,
        neg: bool,
        mask: u64,
        want: u64,
    },
    And(Box<[Node]>),
    Or(Box<[Node]>),
    /// Over live processes: `all` (every) or not (some).
    Procs {
        all: bool,
        slot: u8,
        body: Box<Node>,
    },
    /// Over the mapped VMAs of the process in slot `of`.
    Vmas {
        all: bool,
        slot: u8,
        of: u8,
        eligible: bool,
        body: Box<Node>,
    },
}

struct Env<'s> {
    words: [u64; SLOTS],
    procs: [&'s Process; SLOTS],
}

static NOBODY: Process = Process::INIT;

#[inline]
fn sysfs_code(m: Sysfs) -> u64 {
    match m {
        Sysfs::Never => 0,
        Sysfs::Madvise => 1,
        Sysfs::Always => 2,
    }
}

#[inline]
fn proc_word(p: &Process) -> u64 {
    let cred = match p.cred {
        Cred::Root => 0,
        Cred::User => 1,
        Cred::SetuidRoot => 2,
    };
    (p.ghost.0 as u64) << P_GHOST
        | (p.mm.def_flags.0 as u64) << P_DEF
        | (p.mm.flags.0 as u64) << P_MMF
        | cred << P_CRED
        | ((p.image == Image::SetuidRoot) as u64) << P_IMAGE
        | (p.no_new_privs as u64) << P_NNP
        | (p.secure_exec as u64) << P_SECURE
}

#[inline]
fn vma_word(f: VmFlags, g: VmaGhost, eligible: bool) -> u64 {
    (f.0 as u64) << V_FLAGS | (g.0 as u64) << V_GHOST | (eligible as u64) << V_ELIGIBLE
}

/// Evaluates `root` on `s`.
#[inline]
pub fn holds(root: &Node, s: &State) -> bool {
    let mut env = Env { words: [0; SLOTS], procs: [&NOBODY; SLOTS] };
    env.words[0] = sysfs_code(s.sysfs);
    eval(root, s, &mut env)
}

fn eval<'s>(n: &Node, s: &'s State, env: &mut Env<'s>) -> bool {
    match n {
        Node::Test { slot, neg, mask, want } => ((env.words[*slot as usize] & mask) == *want) != *neg,
        Node::And(v) => v.iter().all(|n| eval(n, s, env)),
        Node::Or(v) => v.iter().any(|n| eval(n, s, env)),
        Node::Const(b) => *b,
        Node::Procs { all, slot, body } => {
            let k = *slot as usize;
            for p in s.procs.iter().flatten() {
                env.words[k] = proc_word(p);
                env.procs[k] = p;
                if eval(body, s, env) != *all {
                    return !*all;
                }
            }
            *all
        }
        Node::Vmas { all, slot, of, eligible, body } => {
            let (k, p) = (*slot as usize, env.procs[*of as usize]);
            for v in &p.mm.vmas {
                let Some(f) = v.flags else { continue };
                let e = *eligible && thp::thp_eligible(s.sysfs, f, p.mm.flags);
                env.words[k] = vma_word(f, v.ghost, e);
                if eval(body, s, env) != *all {
                    return !*all;
                }
            }
            *all
        }
    }
}

impl Node {
    /// Evaluation cost class: tests before quantifiers in `and`/`or`.
    fn cost(&self) -> u8 {
        match self {
            Node::Const(_) => 0,
            Node::Test { .. } => 1,
            Node::And(_) | Node::Or(_) => 2,
            Node::Vmas { .. } => 3,
            Node::Procs { .. } => 4,
        }
    }
}

/// `and` (or, with `conj` false, `or`) of `kids`: flattened, constants
/// folded, and tests on one slot fused into one mask (`a has X and a has Y`
/// is one compare; so is `not a has X or not a has Y`), tests first.
pub fn junction(conj: bool, kids: Vec<Node>) -> Node {
    let mut flat: Vec<Node> = Vec::with_capacity(kids.len());
    for k in kids {
        match k {
            Node::And(v) if conj => flat.extend(v.into_vec()),
            Node::Or(v) if !conj => flat.extend(v.into_vec()),
            Node::Const(b) if b == conj => {}
            Node::Const(b) => return Node::Const(b),
            k => flat.push(k),
        }
    }
    // A positive test under `and`, or a negated one under `or`, fuses with
    // one of the same polarity on the same slot: (w&m1==v1) and (w&m2==v2)
    // is w&(m1|m2) == v1|v2 unless they disagree on a shared bit.
    let fusable = |n: &Node| matches!(n, Node::Test { neg, .. } if *neg != conj);
    let mut out: Vec<Node> = Vec::with_capacity(flat.len());
    for k in flat {
        if let Node::Test { slot, neg, mask, want } = k {
            if fusable(&k) {
                let twin = out
                    .iter_mut()
                    .find(|o| matches!(o, Node::Test { slot: s2, neg: n2, .. } if *s2 == slot && *n2 == neg));
                if let Some(Node::Test { mask: m2, want: w2, .. }) = twin {
                    if (want ^ *w2) & (mask & *m2) != 0 {
                        // Contradictory: the conjunction is false (so the
                        // `and` is false; under `or`, its negation is true).
                        return Node::Const(!conj);
                    }
                    *m2 |= mask;
                    *w2 |= want;
                    continue;
                }
            }
        }
        out.push(k);
    }
    out.sort_by_key(|n| n.cost());
    match out.len() {
        0 => Node::Const(conj),
        1 => out.pop().expect("one"),
        _ if conj => Node::And(out.into_boxed_slice()),
        _ => Node::Or(out.into_boxed_slice()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(slot: u8, neg: bool, mask: u64, want: u64) -> Node {
        Node::Test { slot, neg, mask, want }
    }

    #[test]
    fn junctions_fuse_and_fold() {
        assert_eq!(junction(true, vec![t(1, false, 1, 1), t(1, false, 2, 0)]), t(1, false, 3, 1));
        assert_eq!(junction(false, vec![t(1, true, 1, 1), t(1, true, 2, 2)]), t(1, true, 3, 3));
        assert_eq!(junction(true, vec![t(1, false, 1, 1), t(1, false, 1, 0)]), Node::Const(false));
        assert_eq!(junction(false, vec![t(1, true, 1, 1), t(1, true, 1, 0)]), Node::Const(true));
        assert_eq!(junction(true, vec![Node::Const(true), t(2, true, 1, 1)]), t(2, true, 1, 1));
        assert_eq!(junction(false, vec![Node::Const(true), t(2, true, 1, 1)]), Node::Const(true));
        // Different slots or polarities stay apart.
        let v = junction(true, vec![t(1, false, 1, 1), t(2, false, 1, 1), t(1, true, 2, 2)]);
        assert!(matches!(v, Node::And(ref k) if k.len() == 3), "{v:?}");
    }
}
