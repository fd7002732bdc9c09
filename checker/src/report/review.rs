//! The review paragraphs of `reports/README.md`: a few sentences per spec
//! a reviewer can quote. A spec with a baseline says what it adds and
//! fixes against it, each with its shortest trace, and what it inherits in
//! one line; one without says what it gets right, what breaks and what it
//! shares with mainline.
//!
//! Nothing here names a property or a spec: the good outcomes worth
//! stating are those of the properties some spec of the report breaks
//! anew against its baseline (what the proposals put at stake), and
//! "mainline" is the spec the others are judged against by default (the
//! nearest spec up their `extends` chains that claims a kernel).

use super::against::anchor;
use crate::run::{PropertyOutcome, SpecOutcome};
use crate::verdict::{Relation, Verdict};
use mmflags_model::properties::{Kind, PRECEDENTS};
use std::fmt::Write;

/// The properties whose good outcome is worth saying out loud in a review:
/// those some spec of the report breaks where its baseline does not (a new
/// violation, or a goal newly reached).
fn at_stake(outcomes: &[SpecOutcome]) -> Vec<&str> {
    let mut v: Vec<&str> = Vec::new();
    for o in outcomes {
        for p in &o.properties {
            if p.relation() == Some(Relation::New) && !v.contains(&p.def.name()) {
                v.push(p.def.name());
            }
        }
    }
    v
}

/// Mainline: the spec that every spec of the report judged against a
/// default baseline is judged against, if they agree on one.
pub fn mainline(outcomes: &[SpecOutcome]) -> Option<&str> {
    let mut defaults = outcomes.iter().filter_map(|o| o.spec.baseline.as_ref().filter(|b| !b.named));
    let first = defaults.next()?.name.as_str();
    defaults.all(|b| b.name == first).then_some(first)
}

fn is_good(v: Verdict) -> bool {
    matches!(v, Verdict::Holds | Verdict::Reachable)
}

/// A few sentences per variant a reviewer can quote: against its baseline,
/// what it adds and fixes (`against_baseline`); for a spec without
/// one, what it gets right, what breaks (with the shortest trace), and what
/// it shares with mainline.
pub fn reviews(outcomes: &[SpecOutcome]) -> String {
    let base = mainline(outcomes).and_then(|m| outcomes.iter().find(|o| o.spec.name == m));
    let headline = at_stake(outcomes);
    let mut s = String::from("\n## What each variant gets right and what breaks\n\n");
    s.push_str("Generated from the verdicts above; every claim links to its shortest trace in the spec's report.\n\n");
    for o in outcomes {
        if o.spec.baseline.is_some() && o.against.is_some() {
            s.push_str(&against_baseline(o));
            continue;
        }
        let mainline_says = |name: &str| {
            base.filter(|b| b.spec.name != o.spec.name)
                .and_then(|b| b.properties.iter().find(|p| p.def.name() == name))
                .map(|p| p.verdict)
        };
        let mut good = Vec::new();
        let mut bad = Vec::new();
        let mut shared = Vec::new();
        for p in o.properties.iter().filter(|p| p.verdict != Verdict::Inconclusive) {
            if is_good(p.verdict) {
                if headline.contains(&p.def.name()) {
                    if p.vacuous() {
                        let cases: Vec<String> = p
                            .unreached()
                            .map(|q| format!("{} (`{}`)", q.def.meaning(), q.def.name()))
                            .collect();
                        good.push(format!(
                            "{} — but only vacuously, since within these bounds this never happens: {}",
                            p.def.good(),
                            cases.join("; ")
                        ));
                    } else {
                        good.push(p.def.good().to_string());
                    }
                }
                continue;
            }
            let claim = match p.trace.as_ref().filter(|_| p.verdict.has_trace()) {
                Some(t) => format!(
                    "{} ([{} steps]({}.md#{}): `{}`)",
                    p.def.bad(),
                    t.steps.len(),
                    o.spec.name,
                    p.def.name(),
                    t.lines().join("; ")
                ),
                None => p.def.bad().to_string(),
            };
            if mainline_says(p.def.name()) == Some(p.verdict) {
                shared.push(claim);
            } else {
                bad.push(claim);
            }
        }
        let _ = write!(s, "**[{0}]({0}.md)** — {1}.", o.spec.name, o.spec.title);
        if !good.is_empty() {
            let _ = write!(s, " It {}.", good.join("; it "));
        }
        if !bad.is_empty() {
            let _ = write!(s, " But it {}.", bad.join("; and it "));
        }
        if !shared.is_empty() {
            let _ = write!(s, " Like mainline, it {}.", shared.join("; it "));
        }
        s.push_str("\n\n");
    }
    s
}

/// What the kernel already does of the same kind, when a policy the kernel
/// has (KSM merge-any) answers the question `p` asks of THP the same way
/// in this spec (`properties::PRECEDENTS`): "; as ... already does ([3
/// steps](...): `...`)", or nothing.
fn precedent(o: &SpecOutcome, p: &PropertyOutcome) -> String {
    let same_way = |q: &PropertyOutcome| q.verdict == p.verdict && q.verdict.has_trace();
    PRECEDENTS
        .iter()
        .filter(|(of, _, _)| *of == p.def.name())
        .find_map(|(_, by, how)| {
            let q = o.properties.iter().find(|q| q.def.name() == *by && same_way(q))?;
            let t = q.trace.as_ref()?;
            Some(format!(
                " — {how} ([{} steps]({}.md#{}): `{}`)",
                t.steps.len(),
                o.spec.name,
                q.def.name(),
                t.lines().join("; ")
            ))
        })
        .unwrap_or_default()
}

/// The review paragraph of a spec with a baseline. A `new` break of an
/// invariant the baseline keeps is a break the spec brings; one the
/// baseline breaks too (on a shorter trace the spec shares) is only more
/// ways to break it, said beside the baseline's own; a `new` goal (a `sometimes`
/// property) is a use case the baseline cannot reach; `fixed` is the
/// other way round for each.
pub fn against_baseline(o: &SpecOutcome) -> String {
    let base = o.spec.baseline.as_ref().map_or("its baseline", |b| b.name.as_str());
    let (mut breaks, mut gains, mut fixes, mut losses) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut widens = Vec::new();
    let mut inherited = Vec::new();
    let mut undecided = Vec::new();
    for p in &o.properties {
        let Some(a) = &p.against else { continue };
        let goal = p.def.kind() == Kind::Sometimes;
        match (a.relation, &a.new_trace) {
            (Some(Relation::New), Some(t)) => {
                let text = if goal { p.def.good() } else { p.def.bad() };
                let claim = format!(
                    "{text} ([{} steps]({}.md#{}): `{}`){}",
                    t.steps.len(),
                    o.spec.name,
                    anchor(p),
                    t.lines().join("; "),
                    precedent(o, p)
                );
                match (goal, &p.trace) {
                    (true, _) => gains.push(claim),
                    // The spec's shortest trace is shorter than any it
                    // breaks alone, so the baseline breaks it too (the
                    // matrix's "new in n"): the spec's calls only add ways
                    // to, which is not a break the spec brings.
                    (false, Some(own)) if own.steps.len() < t.steps.len() => widens.push(format!(
                        "{} ([{} steps]({}.md#{}): `{}`), and its own calls reach it where {base} does not ([{} steps]({}.md#{})){}",
                        p.def.bad(),
                        own.steps.len(),
                        o.spec.name,
                        p.def.name(),
                        own.lines().join("; "),
                        t.steps.len(),
                        o.spec.name,
                        anchor(p),
                        precedent(o, p)
                    )),
                    (false, _) => breaks.push(claim),
                }
            }
            (Some(Relation::Fixed), _) if goal => losses.push(p.def.bad().to_string()),
            (Some(Relation::Fixed), _) => fixes.push(p.def.good().to_string()),
            (Some(Relation::Inherited), _) => inherited.push(format!("`{}`", p.def.name())),
            (None, _) if p.verdict != Verdict::Inconclusive => undecided.push(format!("`{}`", p.def.name())),
            _ => {}
        }
    }
    let mut s = format!("**[{0}]({0}.md)** — {1}.", o.spec.name, o.spec.title);
    if breaks.is_empty() && gains.is_empty() && fixes.is_empty() && losses.is_empty() && widens.is_empty() {
        let _ = write!(s, " Against {base} it changes no checked property: no new break, no fix, no use case gained or lost.");
    }
    if !breaks.is_empty() {
        let _ = write!(s, " Against {base}, it newly breaks a property: it {}.", breaks.join("; it "));
    }
    if !widens.is_empty() {
        let _ = write!(s, " Like {base}, it {}.", widens.join("; it "));
    }
    // What it reaches or keeps that the baseline does not, and what it loses.
    let unlike: Vec<String> = gains.into_iter().chain(fixes).chain(losses).collect();
    if !unlike.is_empty() {
        let _ = write!(s, " Unlike {base}, it {}.", unlike.join("; it "));
    }
    if !inherited.is_empty() {
        let _ = write!(s, " As {base}: {} (inherited, nothing new).", inherited.join(", "));
    }
    if !undecided.is_empty() {
        let _ = write!(s, " Not decided against {base}: {}.", undecided.join(", "));
    }
    s.push_str("\n\n");
    s
}
