//! The machine-readable summary (`check --json`), in the schema of docs/design.md 5,
//! plus what honesty needs: why a run stopped (`stopped`), whether each
//! `[expect]` was met (`as_expected`: never on an incomplete run), which
//! `holds` are vacuous (with each premise's verdict and witness), and which
//! calls never fired; for a property a spec defines, its `predicate`, and
//! which fields such properties made the checker keep; against the spec's
//! baseline, each property's `against_baseline` (new, inherited, fixed,
//! same, or inconclusive) and, for `new`, its shortest `new_trace`. Every
//! trace comes with its `cause`: what in its last state breaks the property
//! (or reaches the goal), at which step, in which process, and where that
//! came from.

use crate::run::SpecOutcome;
use crate::verdict::Trace;
use mmflags_model::cause::cause;
use mmflags_model::property::Prop;
use mmflags_model::System;
use serde_json::{json, Value};

/// `{"text", "step", "process"}` of a trace's cause.
fn cause_of(sys: &System, prop: &Prop, t: &Trace) -> Value {
    let c = cause(sys, prop, t);
    json!({ "text": c.text, "step": c.step, "process": c.pid.map(|p| format!("P{p}")) })
}

pub fn summary(outcomes: &[SpecOutcome]) -> Value {
    json!({
        "tool": {
            "name": "mmflags",
            "version": env!("CARGO_PKG_VERSION"),
            "model": "Linux 6.1 to 7.3 and the 2025 THP-default proposals",
        },
        "specs": outcomes.iter().map(spec).collect::<Vec<_>>(),
    })
}

/// What one view of a spec explored.
fn view(v: &SpecOutcome) -> Value {
    json!({
        "depth": v.spec.bounds.depth,
        "complete": v.complete,
        "stopped": v.stopped.map(|s| s.to_string()),
        "unique_states": v.unique,
        "total_states": v.generated,
        "max_depth": v.max_depth,
        "seconds": v.elapsed.as_secs_f64(),
    })
}

fn spec(o: &SpecOutcome) -> Value {
    let secs = o.elapsed.as_secs_f64();
    let sys = o.spec.system();
    json!({
        "name": o.spec.name,
        "file": o.spec.file.display().to_string(),
        "complete": o.complete,
        "stopped": o.stopped.map(|s| s.to_string()),
        "as_expected": o.complete && o.all_as_expected(),
        "bounds": {
            "processes": o.spec.bounds.processes,
            "vmas": o.spec.bounds.vmas,
            "sysfs": o.spec.bounds.sysfs.iter().map(|m| m.name()).collect::<Vec<_>>(),
            "depth": o.spec.bounds.depth,
        },
        "symmetry": { "processes": o.symmetry.procs, "vmas": o.symmetry.vmas },
        "threads": o.threads,
        "unique_states": o.unique,
        "total_states": o.generated,
        "max_depth": o.max_depth,
        "seconds": secs,
        "states_per_second": o.states_per_second(),
        "total_states_per_second": if secs > 0.0 { o.generated as f64 / secs } else { 0.0 },
        "peak_memory_bytes": o.peak_rss,
        "bytes_per_state": o.bytes_per_state,
        "kept_for_user_properties": o.spec.kept_for_user_properties(),
        "coverage": {
            "calls": o.coverage.len(),
            "never_fired": o.never_fired().collect::<Vec<_>>(),
            "never_changed": o.never_changed().collect::<Vec<_>>(),
        },
        "properties": o.properties.iter().map(|p| {
            let mut v = json!({
                "name": p.def.name(),
                "kind": p.def.kind().to_string(),
                "verdict": p.verdict.word(),
                "expected": p.expected.word(),
                "as_expected": p.as_expected(),
                "vacuous": p.vacuous(),
                "premises": p.premises.iter().map(|q| {
                    let mut w = json!({
                        "name": q.def.name(),
                        "meaning": q.def.meaning(),
                        "verdict": q.verdict.word(),
                    });
                    if let Some(pred) = q.def.predicate() {
                        w["predicate"] = json!(pred.text());
                    }
                    if let Some(t) = q.trace.as_ref().filter(|_| q.verdict.has_trace()) {
                        w["trace"] = json!(t.lines());
                        w["sysfs"] = json!(t.init.sysfs.name());
                        w["cause"] = cause_of(&sys, &q.def, t);
                    }
                    w
                }).collect::<Vec<_>>(),
            });
            if let Some(t) = p.trace.as_ref().filter(|_| p.verdict.has_trace()) {
                v["trace"] = json!(t.lines());
                v["sysfs"] = json!(t.init.sysfs.name());
                v["cause"] = cause_of(&sys, &p.def, t);
            }
            if let Some(pred) = p.def.predicate() {
                v["meaning"] = json!(p.def.meaning());
                v["predicate"] = json!(pred.text());
            }
            if let Some(a) = &p.against {
                v["against_baseline"] = json!(a.relation.map_or("inconclusive", |r| r.word()));
                if let Some(t) = &a.new_trace {
                    v["new_trace"] = json!(t.lines());
                    v["new_trace_sysfs"] = json!(t.init.sysfs.name());
                    v["new_trace_cause"] = cause_of(&sys, &p.def, t);
                }
            }
            if let Some(r) = p.expected_against {
                v["expected_against_baseline"] = json!(r.word());
            }
            v
        }).collect::<Vec<_>>(),
        // The page and policy properties' own runs (docs/design.md, "Views"),
        // when the spec has them beside its flag properties' run.
        "pages_view": o.pages.as_deref().map(view),
        "policies_view": o.policies.as_deref().map(view),
        "shared_view": o.shared.as_deref().map(view),
        "baseline": o.spec.baseline.as_ref().map(|b| json!({
            "name": b.name,
            "named": b.named,
            "complete": o.against.as_ref().map(|l| l.complete),
            "stopped": o.against.as_ref().and_then(|l| l.stopped).map(|s| s.to_string()),
            "lockstep_pairs": o.against.as_ref().map(|l| l.pairs),
            "baseline_states": o.against.as_ref().map(|l| l.baseline_states),
            "seconds": o.against.as_ref().map(|l| l.elapsed.as_secs_f64()),
        })),
    })
}
