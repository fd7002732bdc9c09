//! `[expect]`: the properties a spec checks — the catalogue's and the ones
//! it defines — each with the verdict it expects, in the order reports list
//! them; and the rule that a property a file defines is checked there.

use super::sections::Sections;
use super::{err, ExpectAgainst, SpecError};
use crate::verdict::Relation;
use crate::verdict::Verdict;
use mmflags_model::properties::{self, Kind};
use mmflags_model::property::{Prop, SpecProperty};
use mmflags_model::suggest::did_you_mean;
use std::path::Path;
use std::sync::Arc;

/// What `[expect]` checks, and what it says against the baseline.
type Expectations = (Vec<(Prop, Verdict)>, Vec<ExpectAgainst>);

pub(super) fn expectations(
    file: &Path,
    sections: &Sections,
    defined: &[Arc<SpecProperty>],
) -> Result<Expectations, SpecError> {
    let mut expect: Vec<(Prop, Verdict)> = Vec::new();
    let mut against = Vec::new();
    for (prop, e) in sections.get("expect").into_iter().flatten() {
        let def = match defined.iter().find(|p| p.name == *prop) {
            Some(p) => Prop::Spec(p.clone()),
            None => Prop::Catalogue(properties::by_name(prop).ok_or_else(|| {
                let mut names: Vec<&str> = properties::names().collect();
                names.extend(defined.iter().map(|p| p.name.as_str()));
                let renamed = properties::RENAMED.iter().find(|(old, _)| *old == prop.as_str());
                let hint = match (renamed, did_you_mean(prop, names.iter().copied())) {
                    (Some((_, new)), _) => format!(
                        "; it is now `{new}`, a name that says it speaks of THP eligibility, not of pages"
                    ),
                    (None, Some(s)) => format!("; did you mean `{s}`?"),
                    (None, None) => format!(
                        "; the catalogue's: {}; or define it in [properties.{prop}]",
                        properties::names().collect::<Vec<_>>().join(", ")
                    ),
                };
                err(&e.file, e.key_at, format!("unknown property `{prop}`{hint}"))
            })?),
        };
        let text = e.value.as_str().ok_or_else(|| {
            err(
                &e.file,
                e.value_at,
                format!("expected verdict for `{prop}` must be a string, like \"holds\""),
            )
        })?;
        // "violated, new": the verdict, then how it stands against the baseline.
        let (word, relation) = match text.split_once(',') {
            Some((w, r)) => (w.trim(), Some(r.trim())),
            None => (text.trim(), None),
        };
        let allowed: &[&'static str] = match def.kind() {
            Kind::Always => &["holds", "violated"],
            Kind::Sometimes => &["reachable", "unreachable"],
        };
        let v = Verdict::from_word(word).filter(|v| allowed.contains(&v.word())).ok_or_else(|| {
            err(
                &e.file,
                e.value_at,
                format!(
                    "`{prop}` is {} property: expect {}, not `{word}`{}",
                    match def.kind() {
                        Kind::Always => "an `always`",
                        Kind::Sometimes => "a `sometimes`",
                    },
                    allowed.join(" or "),
                    did_you_mean(word, allowed.iter().copied())
                        .map(|w| format!("; did you mean `{w}`?"))
                        .unwrap_or_default()
                ),
            )
        })?;
        if let Some(r) = relation {
            let allowed: &[&str] = if v.has_trace() { &["new", "inherited"] } else { &["fixed", "same"] };
            let rel = Relation::from_word(r).filter(|r| allowed.contains(&r.word())).ok_or_else(|| {
                err(
                    &e.file,
                    e.value_at,
                    format!(
                        "`{prop}`: after `{word},` write how the verdict stands against the baseline: {}, not `{r}`{}",
                        allowed.join(" or "),
                        did_you_mean(r, allowed.iter().copied())
                            .map(|w| format!("; did you mean `{w}`?"))
                            .unwrap_or_default()
                    ),
                )
            })?;
            against.push(ExpectAgainst {
                property: prop.clone(),
                relation: rel,
                file: e.file.clone(),
                at: e.value_at,
            });
        }
        expect.push((def, v));
    }
    if expect.is_empty() {
        return Err(err(
            file,
            (1, 1),
            "no [expect] section: list the properties to check, like `thp_flags_exclusive = \"holds\"`",
        ));
    }
    // A property this file defines is there to be checked.
    for (name, e) in sections.get("properties").into_iter().flatten() {
        if e.file == file && !expect.iter().any(|(p, _)| p.name() == name) {
            return Err(err(
                &e.file,
                e.key_at,
                format!("`{name}` is defined here but [expect] does not list it; add `{name} = \"...\"` to [expect]"),
            ));
        }
    }
    // The catalogue's in its order, then the spec's in name order.
    expect.sort_by_key(|(d, _)| {
        let cat = properties::CATALOGUE.iter().position(|c| c.name == d.name());
        (cat.is_none(), cat, d.name().to_string())
    });
    Ok((expect, against))
}
