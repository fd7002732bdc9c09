//! The reports' side of `run::lockstep`: how a verdict stands against the
//! spec's baseline, in the matrix (a cell's suffix and the legend) and on
//! the spec's own page (every relation, each new break's shortest trace).

use crate::report::trace_text::trace_text;
use crate::run::{PropertyOutcome, SpecOutcome};
use crate::verdict::Relation;
use std::fmt::Write;

/// The matrix cell's suffix: how the verdict stands against the baseline.
/// A new break whose shortest trace is longer than the spec's shortest
/// violation (which the baseline shares) says so: `✘ 3 new in 4`.
pub fn cell_suffix(p: &PropertyOutcome) -> String {
    let Some(a) = &p.against else { return String::new() };
    match (a.relation, &a.new_trace) {
        (Some(Relation::New), Some(t)) if p.trace.as_ref().map(|u| u.steps.len()) != Some(t.steps.len()) => {
            format!(" new in {}", t.steps.len())
        }
        (Some(Relation::New), _) => " new".to_string(),
        (Some(Relation::Inherited), _) => " inherited".to_string(),
        (Some(Relation::Fixed), _) => " fixed".to_string(),
        (Some(Relation::Same), _) => String::new(),
        (None, _) => " ?".to_string(),
    }
}

/// The matrix's legend of relations; `mainline` is the default baseline
/// of the report's specs (`review::mainline`), when they share one.
pub fn legend(mainline: Option<&str>) -> String {
    let default = match mainline {
        Some(m) => format!(
            " (for a spec that claims no kernel, the nearest spec it extends that claims one: {m} here)"
        ),
        None => {
            " (for a spec that claims no kernel, the nearest spec it extends that claims one)".to_string()
        }
    };
    format!("Against a spec's baseline{default}: {LEGEND}")
}

const LEGEND: &str = "**new** the spec breaks it on a trace where the baseline does not (**new in n**: the shortest such trace has n steps, longer than the spec's shortest, which the baseline shares) · **inherited** every trace that breaks it in the spec breaks it in the baseline too · **fixed** the spec keeps what the baseline breaks · no mark: the same as the baseline, or a kernel spec (none) · ? not decided.";

/// The anchor of a property's new trace on its spec's page.
pub(super) fn anchor(p: &PropertyOutcome) -> String {
    format!("new-{}", p.def.name().replace('_', "-"))
}

/// The spec page's section: the relation of every property, and each new
/// break's shortest trace.
pub fn section(o: &SpecOutcome) -> String {
    let (Some(b), Some(l)) = (&o.spec.baseline, &o.against) else { return String::new() };
    let mut s = format!("\n## Against the baseline: [{0}]({0}.md)\n\n", b.name);
    let how =
        if b.named { "named by `[spec] baseline`" } else { "the default for a spec that claims no kernel" };
    let _ = writeln!(
        s,
        "The baseline ({how}) answers the same traces: this spec's calls and bounds, explored in lockstep \
         with this spec. {}\n",
        match (l.complete, &l.stopped) {
            (true, _) => "Complete within the bounds.".to_string(),
            (false, Some(st)) => format!("**Inconclusive**: {st}."),
            (false, None) => "**Inconclusive**: this spec's own run was.".to_string(),
        }
    );
    s.push_str("| property | verdict | against the baseline | expected |\n|---|---|---|---|\n");
    for p in &o.properties {
        let Some(a) = &p.against else { continue };
        let rel = match (a.relation, &a.new_trace) {
            (Some(Relation::New), Some(t)) => format!("**new** ([{} steps](#{}))", t.steps.len(), anchor(p)),
            (Some(r), _) => r.to_string(),
            (None, _) => "? not decided".to_string(),
        };
        let expected = p.expected_against.map(|r| r.to_string()).unwrap_or_default();
        let _ =
            writeln!(s, "| `{}` | {} {} | {rel} | {expected} |", p.def.name(), p.verdict.symbol(), p.verdict);
    }
    let sys = o.spec.system();
    for p in &o.properties {
        let Some(t) = p.against.as_ref().and_then(|a| a.new_trace.as_ref()) else { continue };
        let _ = writeln!(s, "\n<a id=\"{}\"></a>\n### New: {}\n", anchor(p), p.def.name());
        let _ = writeln!(
            s,
            "The shortest trace that breaks it here and not in {}, {} steps (replay it on both with \
             `check replay t.trace --spec {} --spec {}`):\n",
            b.name,
            t.steps.len(),
            o.spec.name,
            b.name
        );
        let _ = writeln!(s, "```\n{}```", trace_text(&sys, &p.def, t, false));
    }
    s
}
