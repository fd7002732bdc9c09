//! What a predicate means, computed the slow and obvious way from its
//! parse tree (names looked up per state, no masks, no fusion), and why it
//! came out as it did in one state: the quantifiers' choices and the tests
//! that decided it. The checker never evaluates states this way; a cause
//! line does, once per trace, and the tests hold the compiled form to it.

use super::parse::{parse, Expr, Op, Value};
use super::words::{field, Field, Owner, Src, Type, WordKind};
use crate::state::{Process, State};
use crate::thp;

/// What a variable is bound to: a process slot, or a VMA slot of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    Proc(usize),
    Vma(usize, usize),
}

impl Binding {
    pub fn pid(self) -> usize {
        match self {
            Binding::Proc(p) | Binding::Vma(p, _) => p,
        }
    }
}

/// A test that decided the outcome: a field of a bound process or VMA (or
/// the sysfs mode), and the word it was tested against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    pub on: Option<Binding>,
    pub field: &'static str,
    pub word: Option<&'static str>,
    /// The test with its variable replaced by what it is bound to, as it
    /// came out: `P1.cred == setuid-root`, `not P0 v1.thp_eligible`.
    pub shown: String,
}

fn shown(on: Option<Binding>, field: &str, test: String, truth: bool) -> String {
    let who = match on {
        Some(Binding::Proc(p)) => format!("P{p}.{field}"),
        Some(Binding::Vma(p, v)) => format!("P{p} v{v}.{field}"),
        None => field.to_string(),
    };
    format!("{}{who}{test}", if truth { "" } else { "not " })
}

/// Why a predicate came out as it did in a state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Witness {
    pub bindings: Vec<(String, Binding)>,
    pub reads: Vec<Read>,
}

enum Val {
    Num(u64, Type, Option<Binding>, &'static str),
    Word(&'static str),
}

type Env<'a> = Vec<(&'a str, Binding)>;

fn lookup(env: &Env<'_>, name: &str) -> Option<Binding> {
    env.iter().rev().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

fn read(f: &Field, b: Binding, s: &State) -> Option<u64> {
    let p: &Process = s.proc(b.pid())?;
    let vma = match b {
        Binding::Vma(_, v) => p.mm.vmas.get(v)?.flags.map(|fl| (fl, p.mm.vmas[v])),
        Binding::Proc(_) => None,
    };
    Some(match (f.src, vma) {
        (Src::ProcGhost, _) => p.ghost.0 as u64,
        (Src::ProcDefFlags, _) => p.mm.def_flags.0 as u64,
        (Src::ProcMmFlags, _) => p.mm.flags.0 as u64,
        (Src::ProcCred, _) => p.cred as u64,
        (Src::ProcImage, _) => p.image as u64,
        (Src::ProcNnp, _) => p.no_new_privs as u64,
        (Src::ProcAtSecure, _) => p.secure_exec as u64,
        (Src::ProcMmShared, _) => p.link.shared() as u64,
        (Src::ProcThread, _) => p.link.thread as u64,
        (Src::ProcVforkChild, _) => (p.link.vfork_parent != 0) as u64,
        (Src::VmaFlags, Some((fl, _))) => fl.0 as u64,
        (Src::VmaGhost, Some((_, v))) => v.ghost.0 as u64,
        (Src::VmaPages, Some((_, v))) => v.pages.backing() as u64,
        (Src::VmaEligible, Some((fl, _))) => thp::thp_eligible(s.sysfs, fl, p.mm.flags) as u64,
        (Src::Sysfs, _) => s.sysfs as u64,
        _ => return None,
    })
}

fn value(v: &Value<'_>, env: &Env<'_>, s: &State) -> Option<Val> {
    match v {
        Value::Bare(n) if n.text == "sysfs" => {
            Some(Val::Num(s.sysfs as u64, Type::Word(WordKind::Sysfs), None, "sysfs"))
        }
        Value::Bare(n) => super::words::all_words().into_iter().find(|w| *w == n.text).map(Val::Word),
        Value::Field { var, field: fname } => {
            let b = lookup(env, var.text)?;
            let owner = match b {
                Binding::Proc(_) => Owner::Process,
                Binding::Vma(..) => Owner::Vma,
            };
            let f = field(owner, fname.text)?;
            Some(Val::Num(read(f, b, s)?, f.ty, Some(b), f.name))
        }
    }
}

fn code(ty: Type, w: &str) -> Option<u64> {
    let words = match ty {
        Type::Set(k) => k.words(),
        Type::Word(k) => k.words(),
        Type::Bool => return None,
    };
    words.into_iter().find(|(x, _)| *x == w).map(|(_, c)| c)
}

/// A test's truth and what it read.
fn test(left: &Value<'_>, op: Op, right: &Value<'_>, env: &Env<'_>, s: &State) -> Option<(bool, Read)> {
    let (num, ty, on, fname, word) = match (value(left, env, s)?, value(right, env, s)?) {
        (Val::Num(n, t, b, f), Val::Word(w)) | (Val::Word(w), Val::Num(n, t, b, f)) => (n, t, b, f, w),
        _ => return None,
    };
    let c = code(ty, word)?;
    let (truth, sign) = match op {
        Op::Has => (num & c == c, "has"),
        Op::Eq => (num == c, "=="),
        Op::Ne => (num != c, "!="),
    };
    let shown = shown(on, fname, format!(" {sign} {word}"), truth);
    Some((truth, Read { on, field: fname, word: Some(word), shown }))
}

/// What the variables of a quantifier range over in `s`.
fn items(over: &Option<Value<'_>>, env: &Env<'_>, s: &State) -> Vec<Binding> {
    match over {
        None => s.live().map(|(i, _)| Binding::Proc(i)).collect(),
        Some(Value::Field { var, .. }) => match lookup(env, var.text) {
            Some(Binding::Proc(p)) => s
                .proc(p)
                .map(|pr| {
                    pr.mm
                        .vmas
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_mapped())
                        .map(|(i, _)| Binding::Vma(p, i))
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        },
        Some(Value::Bare(_)) => Vec::new(),
    }
}

/// The value of `e` in `s`, and (when `why`) the witness of it.
fn eval<'a>(e: &Expr<'a>, env: &mut Env<'a>, s: &State, why: Option<&mut Witness>) -> bool {
    match e {
        Expr::Const(b) => *b,
        Expr::Not(e) => !eval(e, env, s, why),
        Expr::And(v) | Expr::Or(v) => {
            let and = matches!(e, Expr::And(_));
            // The first operand that decides it, or (none decides) all of them.
            match v.iter().position(|x| eval(x, env, s, None) != and) {
                Some(i) => {
                    eval(&v[i], env, s, why);
                    !and
                }
                None => {
                    if let Some(w) = why {
                        for x in v {
                            eval(x, env, s, Some(w));
                        }
                    }
                    and
                }
            }
        }
        Expr::Bare(v) => {
            let Some(Val::Num(n, _, on, f)) = value(v, env, s) else { return false };
            if let Some(w) = why {
                w.reads.push(Read { on, field: f, word: None, shown: shown(on, f, String::new(), n == 1) });
            }
            n == 1
        }
        Expr::Test { left, op, right, .. } => {
            let Some((truth, r)) = test(left, *op, right, env, s) else { return false };
            if let Some(w) = why {
                w.reads.push(r);
            }
            truth
        }
        Expr::Quant { all, var, over, body } => {
            // The first binding that decides it; none decides: all agree.
            for b in items(over, env, s) {
                env.push((var.text, b));
                let decides = eval(body, env, s, None) != *all;
                if decides {
                    if let Some(w) = why {
                        w.bindings.push((var.text.to_string(), b));
                        eval(body, env, s, Some(w));
                    }
                    env.pop();
                    return !*all;
                }
                env.pop();
            }
            *all
        }
    }
}

/// Whether `text` (a predicate that compiles) holds in `s`, the slow way.
pub fn holds(text: &str, s: &State) -> bool {
    parse(text).map(|e| eval(&e, &mut Vec::new(), s, None)).unwrap_or(false)
}

/// Why `text` came out as it did in `s`: the binding of every quantifier
/// on the path that decides it, and the tests on that path.
pub fn witness(text: &str, s: &State) -> Witness {
    let mut w = Witness::default();
    if let Ok(e) = parse(text) {
        eval(&e, &mut Vec::new(), s, Some(&mut w));
    }
    w
}
