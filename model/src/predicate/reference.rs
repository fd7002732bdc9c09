//! Tests only: a generator of random well-typed predicates over the whole
//! vocabulary. What they mean is computed the slow way by `explain.rs`;
//! the compiled form must agree with it on every predicate and state
//! (`tests.rs`).

use super::words::{SetKind, WordKind};
use proptest::prelude::*;

pub use super::explain::holds;

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
            &[
                ("def_flags", SetKind::VmFlags),
                ("mm_flags", SetKind::MmfFlags),
                ("ghost", SetKind::Ghost),
                ("thp_disable_origin", SetKind::Origin(crate::ghost::Setting::ThpDisable)),
            ]
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
