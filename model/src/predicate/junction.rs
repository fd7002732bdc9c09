//! Building `and`/`or` nodes: flattened, constants folded, tests split
//! from the rest and fused (two tests of one variable under `and` are one
//! mask and compare; a one-bit test is turned round to fuse under `or`).
//! Fewer, wider tests are what makes the compiled form cheap to run.

use super::eval::{Node, Test};
#[cfg(test)]
use super::words::Src;

/// `and` (or, with `conj` false, `or`) of `kids`: flattened, constants
/// folded, tests split from the rest and those on one slot fused into one
/// mask (`a has X and a has Y` is one compare; so is `not a has X or not a
/// has Y`); VMA quantifiers before process quantifiers.
pub fn junction(conj: bool, kids: Vec<Node>) -> Node {
    let mut tests: Vec<Test> = Vec::new();
    let mut subs: Vec<Node> = Vec::new();
    let add = |mut t: Test, tests: &mut Vec<Test>| -> bool {
        // A one-bit test says the same either way round: `w&b == v` is
        // `not w&b == b^v`. Under `and` take it positive, under `or`
        // negated, so that it fuses with the others.
        if t.mask.count_ones() == 1 && t.neg == conj {
            t = Test { neg: !t.neg, want: t.want ^ t.mask, ..t };
        }
        // A positive test under `and`, or a negated one under `or`, fuses
        // with one of the same polarity on the same slot: (w&m1==v1) and
        // (w&m2==v2) is w&(m1|m2) == v1|v2 unless they disagree on a bit.
        if t.neg != conj {
            if let Some(o) = tests.iter_mut().find(|o| o.slot == t.slot && o.neg == t.neg) {
                if (t.want ^ o.want) & (t.mask & o.mask) != 0 {
                    return false;
                }
                o.mask |= t.mask;
                o.want |= t.want;
                if o.src != t.src {
                    o.src = None;
                }
                return true;
            }
        }
        tests.push(t);
        true
    };
    for k in kids {
        match k {
            Node::Const(b) if b == conj => {}
            Node::Const(b) => return Node::Const(b),
            Node::Test(t) => {
                if !add(t, &mut tests) {
                    // Contradictory: the `and` is false; under `or`, the
                    // negation of a contradiction is true.
                    return Node::Const(!conj);
                }
            }
            Node::Junction { conj: c, tests: ts, subs: ss } if c == conj => {
                for t in ts.into_vec() {
                    if !add(t, &mut tests) {
                        return Node::Const(!conj);
                    }
                }
                subs.extend(ss.into_vec());
            }
            k => subs.push(k),
        }
    }
    subs.sort_by_key(|n| matches!(n, Node::Procs { .. } | Node::Nest(_)));
    match (tests.len(), subs.len()) {
        (0, 0) => Node::Const(conj),
        (1, 0) => Node::Test(tests[0]),
        (0, 1) => subs.pop().expect("one"),
        _ => Node::Junction { conj, tests: tests.into_boxed_slice(), subs: subs.into_boxed_slice() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(slot: u8, neg: bool, mask: u64, want: u64) -> Node {
        Node::Test(Test::new(slot, Src::ProcGhost, neg, mask, want))
    }

    #[test]
    fn junctions_fuse_and_fold() {
        assert_eq!(junction(true, vec![t(1, false, 1, 1), t(1, false, 2, 0)]), t(1, false, 3, 1));
        assert_eq!(junction(false, vec![t(1, true, 1, 1), t(1, true, 2, 2)]), t(1, true, 3, 3));
        assert_eq!(junction(true, vec![t(1, false, 1, 1), t(1, false, 1, 0)]), Node::Const(false));
        assert_eq!(junction(false, vec![t(1, true, 1, 1), t(1, true, 1, 0)]), Node::Const(true));
        // A one-bit negated test under `and` is taken positive.
        assert_eq!(junction(true, vec![Node::Const(true), t(2, true, 1, 1)]), t(2, false, 1, 0));
        assert_eq!(junction(false, vec![Node::Const(true), t(2, true, 1, 1)]), Node::Const(true));
        // Different slots or polarities stay apart.
        let v = junction(true, vec![t(1, false, 1, 1), t(2, false, 1, 1), t(1, true, 6, 2)]);
        assert!(matches!(v, Node::Junction { ref tests, .. } if tests.len() == 3), "{v:?}");
        // Nested junctions of the same kind flatten; quantifiers go last.
        let q = Node::procs(true, 1, Node::Const(false));
        let inner = junction(true, vec![t(1, false, 4, 4), q.clone()]);
        let v = junction(true, vec![inner, t(2, false, 1, 1)]);
        assert_eq!(
            v,
            Node::Junction {
                conj: true,
                tests: vec![
                    Test::new(1, Src::ProcGhost, false, 4, 4),
                    Test::new(2, Src::ProcGhost, false, 1, 1)
                ]
                .into(),
                subs: vec![q].into()
            }
        );
    }
}
