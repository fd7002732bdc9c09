//! Type checking and compiling: names resolved (variables, fields, words),
//! kinds checked (`has` takes a set and one of its words, `==` a word value
//! and a word), and the tree lowered to `eval::Node` in negation normal
//! form with every word turned into a mask. Each error points at the token
//! that caused it and, where a name is misspelled, says what was meant.
//!
//! It also records what the predicate reads that a run might otherwise
//! drop from its states (`Reads`): ghost bits (with the ones they are
//! computed from), the image and AT_SECURE, MMF_DUMPABLE, the VMA flags no
//! catalogue property reads.

use super::eval::{Node, Test, MAX_VARS};
use super::hints::not_a_test;
use super::junction::junction;
use super::parse::{Expr, Name, Op, Value};
use super::words::{self, field, field_names, kinds_of, Owner, SetKind, Src, Type, WordKind};
use super::PredError;
use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, GhostMask, Origin, Setting, VmaGhost};
use crate::key::UNREAD_VM_FLAGS;
use crate::reads::Reads;

pub(super) struct Var<'a> {
    pub(super) name: Name<'a>,
    pub(super) owner: Owner,
    slot: u8,
}

pub struct Checker<'a> {
    pub(super) scope: Vec<Var<'a>>,
    pub reads: Reads,
    /// The most variables bound at once.
    pub most_bound: usize,
}

/// A value resolved: a field of a bound variable, `sysfs`, a bare word,
/// or a bare variable (always a mistake, reported where it is used).
enum Resolved<'a> {
    Field { slot: u8, f: &'static words::Field, shown: String },
    Sysfs,
    Word(Name<'a>),
    Var(Owner, Name<'a>),
}

impl<'a> Checker<'a> {
    pub fn new() -> Self {
        Checker { scope: Vec::new(), reads: Reads::default(), most_bound: 0 }
    }

    pub(super) fn lookup(&self, name: &str) -> Option<&Var<'a>> {
        self.scope.iter().rev().find(|v| v.name.text == name)
    }

    /// `e` compiled; `neg` asks for its negation (pushed down to the tests).
    pub fn compile(&mut self, e: &Expr<'a>, neg: bool) -> Result<Node, PredError> {
        match e {
            Expr::Const(b) => Ok(Node::Const(*b != neg)),
            Expr::Not(e) => self.compile(e, !neg),
            Expr::And(v) | Expr::Or(v) => {
                let conj = matches!(e, Expr::And(_)) != neg;
                let kids = v.iter().map(|k| self.compile(k, neg)).collect::<Result<Vec<_>, _>>()?;
                Ok(junction(conj, kids))
            }
            Expr::Quant { all, var, over, body } => self.quant(*all != neg, var, over.as_ref(), body, neg),
            Expr::Bare(v) => self.bare(v, neg),
            Expr::Test { left, op, op_at, right } => self.test(left, *op, *op_at, right, neg),
        }
    }

    fn quant(
        &mut self,
        all: bool,
        var: &Name<'a>,
        over: Option<&Value<'a>>,
        body: &Expr<'a>,
        neg: bool,
    ) -> Result<Node, PredError> {
        let n = var.text;
        if n == "sysfs" || !kinds_of(n).is_empty() {
            return Err(PredError::new(
                var.at,
                format!("`{n}` is a word of the language; name the variable differently, like `p` or `v`"),
            ));
        }
        if self.lookup(n).is_some() {
            return Err(PredError::new(
                var.at,
                format!("`{n}` is already bound by an outer quantifier; give this one another name"),
            ));
        }
        if self.scope.len() >= MAX_VARS {
            return Err(PredError::new(var.at, format!("at most {MAX_VARS} quantifiers may be nested")));
        }
        let slot = self.scope.len() as u8 + 1;
        let of = match over {
            None => None,
            Some(Value::Field { var: p, field: f }) if f.text == "vmas" => match self.lookup(p.text) {
                Some(v) if v.owner == Owner::Process => Some(v.slot),
                Some(_) => {
                    return Err(PredError::new(
                        f.at,
                        format!("`{}` is a VMA; only a process has `.vmas`", p.text),
                    ))
                }
                None => return Err(self.free(p)),
            },
            Some(other) => {
                return Err(PredError::new(
                    other.at(),
                    format!(
                        "`in` takes the VMAs of a process, like `{} in p.vmas`; `{other}` is not that",
                        n
                    ),
                ))
            }
        };
        let owner = if of.is_some() { Owner::Vma } else { Owner::Process };
        self.scope.push(Var { name: *var, owner, slot });
        self.most_bound = self.most_bound.max(self.scope.len());
        let body = self.compile(body, neg);
        self.scope.pop();
        let body = body?;
        Ok(match (body, of) {
            (Node::Const(b), _) if b == all => Node::Const(b),
            (body, None) => Node::procs(all, slot, body),
            (body, Some(of)) => Node::vmas(all, slot, of, body),
        })
    }

    fn resolve(&mut self, v: &Value<'a>) -> Result<Resolved<'a>, PredError> {
        match v {
            Value::Bare(n) if n.text == "sysfs" => Ok(Resolved::Sysfs),
            Value::Bare(n) => Ok(match self.lookup(n.text) {
                Some(var) => Resolved::Var(var.owner, *n),
                None => Resolved::Word(*n),
            }),
            Value::Field { var, field: fname } => {
                if var.text == "sysfs" {
                    return Err(PredError::new(fname.at, "`sysfs` is a value of its own and has no fields"));
                }
                let Some(b) = self.lookup(var.text) else {
                    return Err(self.free(var));
                };
                let (owner, slot) = (b.owner, b.slot);
                let Some(f) = field(owner, fname.text) else {
                    return Err(self.unknown_field(owner, var, fname));
                };
                self.note_read(f);
                Ok(Resolved::Field { slot, f, shown: format!("{}.{}", var.text, fname.text) })
            }
        }
    }

    fn note_read(&mut self, f: &'static words::Field) {
        if matches!(f.src, Src::ProcImage | Src::ProcAtSecure) {
            self.reads.image = true;
        }
        if f.src == Src::VmaPages {
            self.reads.pages = true;
        }
        if matches!(f.src, Src::ProcMmShared | Src::ProcThread | Src::ProcVforkChild) {
            self.reads.shared = true;
        }
    }

    /// A word of type `ty` (the value `shown` is compared with), as its code.
    fn word(&mut self, ty: Type, shown: &str, n: &Name<'a>) -> Result<u64, PredError> {
        let words = match ty {
            Type::Set(k) => k.words(),
            Type::Word(k) => k.words(),
            Type::Bool => Vec::new(),
        };
        if let Some((_, code)) = words.iter().find(|(w, _)| *w == n.text) {
            self.note_word(ty, *code);
            return Ok(*code);
        }
        Err(self.not_a_word_of(ty, shown, n, &words))
    }

    fn note_word(&mut self, ty: Type, code: u64) {
        match ty {
            Type::Set(SetKind::Ghost | SetKind::Origin(_)) => {
                let g = GhostMask { process: Ghost(code as u32), vma: VmaGhost::EMPTY };
                self.reads.ghosts = self.reads.ghosts.union(g).closure();
                let policy_origins = [Setting::MergeAny, Setting::Mdwe]
                    .iter()
                    .fold(Ghost::MDWE_INHERITED, |a, s| a.union(Ghost::origin_bits(*s, Origin::ALL)));
                self.reads.policies |= Ghost(code as u32).intersects(policy_origins);
                self.reads.shared |= Ghost(code as u32).intersects(Ghost::POLICY_BY_SHARER);
            }
            Type::Set(SetKind::VmaGhost) => {
                let g = GhostMask { process: Ghost::EMPTY, vma: VmaGhost(code as u8) };
                self.reads.ghosts = self.reads.ghosts.union(g).closure();
            }
            Type::Set(SetKind::VmFlags) => {
                let f = VmFlags(code as u16).intersection(UNREAD_VM_FLAGS.union(VmFlags::PROT));
                self.reads.vm_flags = self.reads.vm_flags.union(f);
                self.reads.policies |= VmFlags(code as u16).intersects(VmFlags::PROT | VmFlags::VM_MERGEABLE);
            }
            Type::Set(SetKind::MmfFlags) if code as u16 == MmfFlags::MMF_DUMPABLE.0 => {
                self.reads.dumpable = true;
            }
            Type::Set(SetKind::MmfFlags) => {
                let policy = MmfFlags::MMF_VM_MERGE_ANY.union(MmfFlags::MMF_HAS_MDWE_MASK);
                self.reads.policies |= MmfFlags(code as u16).intersects(policy);
            }
            _ => {}
        }
    }

    fn bare(&mut self, v: &Value<'a>, neg: bool) -> Result<Node, PredError> {
        match self.resolve(v)? {
            Resolved::Field { slot, f, .. } if f.ty == Type::Bool => {
                Ok(Node::Test(Test::new(slot, f.src, neg, 1, 1)))
            }
            Resolved::Field { f, shown, .. } => Err(PredError::new(v.at(), not_a_test(&shown, f.ty))),
            Resolved::Sysfs => Err(PredError::new(v.at(), not_a_test("sysfs", Type::Word(WordKind::Sysfs)))),
            Resolved::Var(owner, n) => {
                let names: Vec<String> = field_names(owner).map(|f| format!("{}.{f}", n.text)).collect();
                Err(PredError::new(
                    n.at,
                    format!(
                        "`{}` is {}, not a test; name one of its fields: {}",
                        n.text,
                        owner.noun(),
                        names.join(", ")
                    ),
                ))
            }
            Resolved::Word(n) => {
                let hint = match kinds_of(n.text).first() {
                    Some((Type::Set(SetKind::VmFlags), _)) => {
                        format!(": ask `p.def_flags has {}` or `v.flags has {}`", n.text, n.text)
                    }
                    Some((Type::Set(SetKind::MmfFlags), _)) => format!(": ask `p.mm_flags has {}`", n.text),
                    Some((Type::Set(SetKind::Ghost), _)) => format!(": ask `p.ghost has {}`", n.text),
                    Some((Type::Set(SetKind::VmaGhost), _)) => format!(": ask `v.ghost has {}`", n.text),
                    Some((Type::Set(SetKind::Origin(s)), _)) => {
                        format!(": ask `p.{} has {}`", s.field(), n.text)
                    }
                    Some((Type::Word(WordKind::Sysfs), _)) => {
                        format!(": compare, like `sysfs == {}`", n.text)
                    }
                    Some((Type::Word(_), _)) => {
                        format!(": compare, like `p.cred == {}` or `p.image == {}`", n.text, n.text)
                    }
                    _ => return Err(self.unknown_name(&n)),
                };
                Err(PredError::new(n.at, format!("`{}` is a word, not a test{hint}", n.text)))
            }
        }
    }

    fn test(
        &mut self,
        left: &Value<'a>,
        op: Op,
        op_at: usize,
        right: &Value<'a>,
        neg: bool,
    ) -> Result<Node, PredError> {
        let l = self.resolve(left)?;
        if op == Op::Has {
            let (slot, f, shown) = match l {
                Resolved::Field { slot, f, shown } => (slot, f, shown),
                Resolved::Sysfs => {
                    return Err(PredError::new(
                        op_at,
                        "`has` takes a set; `sysfs` is one mode: compare it, like `sysfs == madvise`",
                    ))
                }
                Resolved::Var(o, n) => {
                    return Err(PredError::new(
                        n.at,
                        format!(
                            "`has` takes a set, like `{}.{}`; `{}` is {}",
                            n.text,
                            field_names(o).next().unwrap_or("ghost"),
                            n.text,
                            o.noun()
                        ),
                    ))
                }
                Resolved::Word(n) => return Err(self.not_a_value(&n, "`has` takes a set on its left")),
            };
            let Type::Set(kind) = f.ty else {
                let how = match f.ty {
                    Type::Bool => format!("test it alone: `{shown}`"),
                    _ => format!("compare it with `==`, like `{shown} == ...`"),
                };
                return Err(PredError::new(
                    op_at,
                    format!("`has` takes a set; `{shown}` is {}, not a set: {how}", f.ty.noun()),
                ));
            };
            let n = self.word_operand(right, "`has` takes one word on its right")?;
            let bit = self.word(Type::Set(kind), &shown, &n)?;
            return Ok(Node::Test(Test::new(slot, f.src, neg, bit, bit)));
        }
        // `==` / `!=`: a word value on one side, a word on the other.
        let r = self.resolve(right)?;
        let ne = (op == Op::Ne) != neg;
        let (value, word) = match (l, r) {
            (v @ (Resolved::Field { .. } | Resolved::Sysfs), Resolved::Word(w)) => (v, w),
            (Resolved::Word(w), v @ (Resolved::Field { .. } | Resolved::Sysfs)) => (v, w),
            (Resolved::Var(o, n), _) | (_, Resolved::Var(o, n)) => {
                return Err(PredError::new(n.at, format!("`{}` is {}; compare one of its fields, like `{}.cred == root`", n.text, o.noun(), n.text)))
            }
            (Resolved::Word(a), Resolved::Word(_)) => return Err(self.not_a_value(&a, "`==` compares a value with a word")),
            (_, _) => {
                return Err(PredError::new(
                    right.at(),
                    "`==` and `!=` compare a value with a word, like `p.cred == root`; two values cannot be compared",
                ))
            }
        };
        let (slot, ty, src, shown) = match value {
            Resolved::Field { slot, f, shown } => (slot, f.ty, f.src, shown),
            _ => (0, Type::Word(WordKind::Sysfs), Src::Sysfs, "sysfs".to_string()),
        };
        let Type::Word(kind) = ty else {
            let how = match ty {
                Type::Set(_) => format!("ask whether it holds a word: `{shown} has {}`", word.text),
                _ => format!("test it alone: `{shown}` or `not {shown}`"),
            };
            return Err(PredError::new(op_at, format!("`{shown}` is {}, not a word: {how}", ty.noun())));
        };
        let code = self.word(ty, &shown, &word)?;
        Ok(Node::Test(Test::new(slot, src, ne, kind.width_mask(), code)))
    }

    fn word_operand(&mut self, v: &Value<'a>, what: &str) -> Result<Name<'a>, PredError> {
        match v {
            Value::Bare(n) if n.text != "sysfs" && self.lookup(n.text).is_none() => Ok(*n),
            other => Err(PredError::new(
                other.at(),
                format!("{what}, like `VM_HUGEPAGE`; `{other}` is not a word"),
            )),
        }
    }
}

impl Default for Checker<'_> {
    fn default() -> Self {
        Self::new()
    }
}
