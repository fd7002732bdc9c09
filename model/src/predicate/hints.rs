//! The type checker's messages: what is wrong with a name and what was
//! probably meant (the closest field, word or variable, by `suggest`), or
//! what the language calls the thing the user wrote (a trace's `hg` is
//! `VM_HUGEPAGE` here). Kept apart from `check.rs` so the checking reads
//! as the grammar does.

use super::check::Checker;
use super::parse::Name;
use super::words::{self, field, field_names, kinds_of, respelled, Owner, Type};
use super::PredError;
use crate::suggest::did_you_mean;

fn list(words: &[&str]) -> String {
    words.join(", ")
}

impl<'a> Checker<'a> {
    pub(super) fn free(&self, name: &Name<'a>) -> PredError {
        let bound: Vec<&str> = self.scope.iter().map(|v| v.name.text).collect();
        let hint = match did_you_mean(name.text, bound.iter().copied()) {
            Some(s) => format!("; did you mean `{s}`?"),
            None if bound.is_empty() => {
                format!("; bind it first, like `all {0}: ...` or `any {0}: ...`", name.text)
            }
            None => format!("; bound here: {}", list(&bound)),
        };
        PredError::new(name.at, format!("free variable `{}`: no quantifier binds it{hint}", name.text))
    }

    pub(super) fn unknown_field(&self, owner: Owner, var: &Name<'a>, f: &Name<'a>) -> PredError {
        let other = if owner == Owner::Process { Owner::Vma } else { Owner::Process };
        let names: Vec<&str> = field_names(owner).collect();
        let msg = if f.text == "vmas" && owner == Owner::Process {
            format!(
                "`{0}.vmas` is what a quantifier ranges over, not a value: write `any v in {0}.vmas: ...`",
                var.text
            )
        } else if field(other, f.text).is_some() {
            format!(
                "`{}` is {}, which has no field `{}` (that is {}'s); its fields: {}",
                var.text,
                owner.noun(),
                f.text,
                other.noun(),
                list(&names)
            )
        } else {
            let hint = match did_you_mean(f.text, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("its fields: {}", list(&names)),
            };
            format!("unknown field `{}` of {} (`{}`); {hint}", f.text, owner.noun(), var.text)
        };
        PredError::new(f.at, msg)
    }

    /// Why `n` is not a word of type `ty` (`words`, with their codes), for the value `shown`.
    pub(super) fn not_a_word_of(
        &self,
        ty: Type,
        shown: &str,
        n: &Name<'a>,
        words: &[(&str, u64)],
    ) -> PredError {
        let names: Vec<&str> = words.iter().map(|(w, _)| *w).collect();
        let expected = match ty {
            Type::Set(k) => k.word_noun(),
            Type::Word(k) => k.word_noun(),
            Type::Bool => "nothing",
        };
        if let Some(var) = self.lookup(n.text) {
            return PredError::new(
                n.at,
                format!(
                    "`{}` is a variable ({}); `{shown}` is compared with a word, {expected}: {}",
                    n.text,
                    var.owner.noun(),
                    list(&names)
                ),
            );
        }
        if let Some((other, _)) = kinds_of(n.text).first() {
            let noun = match other {
                Type::Set(k) => k.word_noun(),
                Type::Word(k) => k.word_noun(),
                Type::Bool => "",
            };
            return PredError::new(
                n.at,
                format!("`{}` is {noun}, not {expected}: `{shown}` holds {}", n.text, list(&names)),
            );
        }
        if let Some(w) = respelled(n.text).filter(|w| names.contains(w)) {
            return PredError::new(
                n.at,
                format!("`{}` is how a trace abbreviates it; the language spells it `{w}`", n.text),
            );
        }
        let hint = match did_you_mean(n.text, names.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("`{shown}` holds {}", list(&names)),
        };
        PredError::new(n.at, format!("unknown word `{}`; {hint}", n.text))
    }

    /// A bare name that is neither bound, nor `sysfs`, nor a word.
    pub(super) fn unknown_name(&self, n: &Name<'a>) -> PredError {
        let mut cands: Vec<&str> = words::all_words();
        cands.extend(self.scope.iter().map(|v| v.name.text));
        cands.push("sysfs");
        let hint = match did_you_mean(n.text, cands.iter().copied()) {
            Some(s) => format!("; did you mean `{s}`?"),
            None if n.text.len() <= 2 => format!(
                "; a variable needs a quantifier (`all {0}: ...`) and a field (`{0}.def_flags`)",
                n.text
            ),
            None => String::new(),
        };
        PredError::new(n.at, format!("unknown word `{}`{hint}", n.text))
    }

    pub(super) fn not_a_value(&self, n: &Name<'a>, what: &str) -> PredError {
        if kinds_of(n.text).is_empty() {
            return self.unknown_name(n);
        }
        PredError::new(
            n.at,
            format!(
                "{what}: `{}` is a word, not a value; a value is a field like `p.def_flags`, or `sysfs`",
                n.text
            ),
        )
    }
}

pub(super) fn not_a_test(shown: &str, ty: Type) -> String {
    match ty {
        Type::Set(k) => format!(
            "`{shown}` is {}, not true or false: ask whether it holds a word, like `{shown} has {}`",
            k.noun(),
            k.words().first().map_or("...", |w| w.0)
        ),
        Type::Word(k) => format!(
            "`{shown}` is {}, not true or false: compare it, like `{shown} == {}`",
            k.word_noun(),
            k.words().first().map_or("...", |w| w.0)
        ),
        Type::Bool => format!("`{shown}` is a test"),
    }
}
