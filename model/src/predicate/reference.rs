//! Tests only: what a predicate means, computed the slow and obvious way
//! straight from its parse tree (names looked up per state, no masks, no
//! fusion, no fast paths), and a generator of random well-typed
//! predicates over the whole vocabulary. The compiled form must agree with
//! this on every predicate and state (`tests.rs`).

use super::parse::{parse, Expr, Op, Value};
use super::words::{field, Owner, SetKind, Type, WordKind};
use crate::state::{Process, State, Vma};
use crate::thp;
use proptest::prelude::*;

#[derive(Clone, Copy)]
enum Bound<'s> {
    Proc(&'s Process),
    Vma(&'s Vma, &'s Process),
}

enum Val {
    Num(u64),
    Word(&'static str),
}

fn value<'a>(v: &Value<'a>, env: &[(&'a str, Bound<'_>)], s: &State) -> (Option<Type>, Val) {
    match v {
        Value::Bare(n) if n.text == "sysfs" => (Some(Type::Word(WordKind::Sysfs)), Val::Num(s.sysfs as u64)),
        Value::Bare(n) => {
            let w = super::words::all_words().into_iter().find(|w| *w == n.text).expect("a word");
            (None, Val::Word(w))
        }
        Value::Field { var, field: f } => {
            let b = env.iter().rev().find(|(n, _)| *n == var.text).expect("bound").1;
            let (owner, num) = match b {
                Bound::Proc(p) => (
                    Owner::Process,
                    match f.text {
                        "def_flags" => p.mm.def_flags.0 as u64,
                        "mm_flags" => p.mm.flags.0 as u64,
                        "ghost" => p.ghost.0 as u64,
                        "cred" => p.cred as u64,
                        "image" => p.image as u64,
                        "nnp" => p.no_new_privs as u64,
                        _ => p.secure_exec as u64,
                    },
                ),
                Bound::Vma(v, p) => {
                    let flags = v.flags.expect("mapped");
                    (
                        Owner::Vma,
                        match f.text {
                            "flags" => flags.0 as u64,
                            "ghost" => v.ghost.0 as u64,
                            _ => thp::thp_eligible(s.sysfs, flags, p.mm.flags) as u64,
                        },
                    )
                }
            };
            (Some(field(owner, f.text).expect("a field").ty), Val::Num(num))
        }
    }
}

fn code(ty: Type, w: &str) -> u64 {
    let words = match ty {
        Type::Set(k) => k.words(),
        Type::Word(k) => k.words(),
        Type::Bool => unreachable!(),
    };
    words.into_iter().find(|(x, _)| *x == w).expect("a word of the kind").1
}

fn eval<'a, 's>(e: &Expr<'a>, env: &mut Vec<(&'a str, Bound<'s>)>, s: &'s State) -> bool {
    match e {
        Expr::Const(b) => *b,
        Expr::Not(e) => !eval(e, env, s),
        Expr::And(v) => v.iter().all(|e| eval(e, env, s)),
        Expr::Or(v) => v.iter().any(|e| eval(e, env, s)),
        Expr::Bare(v) => matches!(value(v, env, s).1, Val::Num(1)),
        Expr::Test { left, op, right, .. } => {
            let (l, r) = (value(left, env, s), value(right, env, s));
            let (ty, num, word) = match (l, r) {
                ((Some(t), Val::Num(n)), (_, Val::Word(w))) | ((_, Val::Word(w)), (Some(t), Val::Num(n))) => {
                    (t, n, w)
                }
                _ => unreachable!("compiled predicates compare a value with a word"),
            };
            let c = code(ty, word);
            match op {
                Op::Has => n_has(num, c, ty),
                Op::Eq => num == c,
                Op::Ne => num != c,
            }
        }
        Expr::Quant { all, var, over, body } => {
            let items: Vec<Bound<'s>> = match over {
                None => s.procs.iter().flatten().map(Bound::Proc).collect(),
                Some(Value::Field { var: p, .. }) => {
                    let Bound::Proc(p) = env.iter().rev().find(|(n, _)| *n == p.text).expect("bound").1
                    else {
                        unreachable!()
                    };
                    p.mm.vmas.iter().filter(|v| v.flags.is_some()).map(|v| Bound::Vma(v, p)).collect()
                }
                Some(_) => unreachable!(),
            };
            let mut hit = |b: Bound<'s>| {
                env.push((var.text, b));
                let r = eval(body, env, s);
                env.pop();
                r
            };
            if *all {
                items.into_iter().all(&mut hit)
            } else {
                items.into_iter().any(&mut hit)
            }
        }
    }
}

fn n_has(num: u64, bit: u64, ty: Type) -> bool {
    debug_assert!(matches!(
        ty,
        Type::Set(SetKind::VmFlags | SetKind::MmfFlags | SetKind::Ghost | SetKind::VmaGhost)
    ));
    num & bit == bit
}

pub fn holds(text: &str, s: &State) -> bool {
    eval(&parse(text).expect("parses"), &mut Vec::new(), s)
}

/// Random well-typed predicates over the whole vocabulary, up to three
/// quantifiers deep, with `and`/`or`/`not` mixed in.
pub fn predicate() -> impl Strategy<Value = String> {
    fn test(vars: &[(String, bool)], pick: &[u32]) -> String {
        let mut i = 0;
        let mut next = |n: usize| {
            let v = pick[i % pick.len()] as usize % n.max(1);
            i += 1;
            v
        };
        if vars.is_empty() || next(10) == 0 {
            let m = ["never", "madvise", "always"][next(3)];
            return format!("sysfs {} {m}", ["==", "!="][next(2)]);
        }
        let (name, vma) = &vars[next(vars.len())];
        let sets: &[(&str, SetKind)] = if *vma {
            &[("flags", SetKind::VmFlags), ("ghost", SetKind::VmaGhost)]
        } else {
            &[("def_flags", SetKind::VmFlags), ("mm_flags", SetKind::MmfFlags), ("ghost", SetKind::Ghost)]
        };
        match next(4) {
            0 | 1 => {
                let (f, k) = sets[next(sets.len())];
                let words = k.words();
                format!("{name}.{f} has {}", words[next(words.len())].0)
            }
            2 if !*vma => {
                let (f, k) = [("cred", WordKind::Cred), ("image", WordKind::Image)][next(2)];
                let words = k.words();
                format!("{name}.{f} {} {}", ["==", "!="][next(2)], words[next(words.len())].0)
            }
            _ => {
                let b: &[&str] = if *vma { &["thp_eligible"] } else { &["nnp", "at_secure"] };
                format!("{name}.{}", b[next(b.len())])
            }
        }
    }
    fn expr(vars: &mut Vec<(String, bool)>, pick: &[u32], at: &mut usize, depth: usize) -> String {
        let mut next = |n: u32| {
            let v = pick[*at % pick.len()] % n;
            *at += 1;
            v
        };
        let pick_kind = if depth >= 5 { 7 } else { next(8) };
        let quantify = (depth == 0 && pick_kind != 7) || (pick_kind <= 2 && depth < 3);
        match if quantify { 0 } else { pick_kind.max(3) } {
            0 => {
                let procs: Vec<String> = vars.iter().filter(|v| !v.1).map(|v| v.0.clone()).collect();
                let q = ["all", "any"][next(2) as usize];
                let name = format!("x{}", vars.len());
                let over = if !procs.is_empty() && next(2) == 0 {
                    Some(procs[next(procs.len() as u32) as usize].clone())
                } else {
                    None
                };
                vars.push((name.clone(), over.is_some()));
                let body = expr(vars, pick, at, depth + 1);
                vars.pop();
                match over {
                    Some(p) => format!("({q} {name} in {p}.vmas: {body})"),
                    None => format!("({q} {name}: {body})"),
                }
            }
            3 => format!("not {}", expr(vars, pick, at, depth + 1)),
            4 | 5 => {
                let op = ["and", "or"][next(2) as usize];
                let a = expr(vars, pick, at, depth + 1);
                let b = expr(vars, pick, at, depth + 1);
                format!("({a} {op} {b})")
            }
            6 if next(4) == 0 => ["true", "false"][next(2) as usize].to_string(),
            _ => {
                let t = test(vars, &pick[*at % pick.len()..]);
                *at += 3;
                t
            }
        }
    }
    proptest::collection::vec(any::<u32>(), 24).prop_map(|pick| expr(&mut Vec::new(), &pick, &mut 0, 0))
}
