//! Every counterexample and witness says why: what in its last state
//! breaks the property (or reaches the goal) and where it came from, in
//! `check --json` (`cause`, `new_trace_cause`) and as the last line of the
//! text trace; and the inheritance properties read the origin of the
//! setting that is there (issue 22's false "new" on prctl-thp-always).

mod small;

use mmflags_checker::report::{json, trace_text};
use mmflags_checker::run;
use mmflags_checker::spec;
use mmflags_checker::verdict::{Relation, Verdict};
use std::path::Path;

fn load(name: &str) -> spec::Spec {
    spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../specs/{name}.toml"))).unwrap()
}

#[test]
fn every_trace_in_the_json_has_a_cause_naming_its_step_and_process() {
    let cfg = small::config(2, true, Default::default());
    let outcomes: Vec<_> = small::every_spec()
        .into_iter()
        .map(|s| run::check_spec(small::catalogue_at(s, 2, 1, Some(4)), &cfg))
        .collect();
    let v = json::summary(&outcomes);
    let (mut traces, mut news) = (0, 0);
    for spec in v["specs"].as_array().unwrap() {
        for p in spec["properties"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            let verb = if p["kind"] == "always" { "breaks" } else { "reaches" };
            for (trace, cause) in [("trace", "cause"), ("new_trace", "new_trace_cause")] {
                let Some(t) = p.get(trace) else {
                    assert!(p.get(cause).is_none(), "{} {name}: a cause without a trace", spec["name"]);
                    continue;
                };
                let c = &p[cause];
                let text =
                    c["text"].as_str().unwrap_or_else(|| panic!("{} {name}: no {cause}", spec["name"]));
                assert!(text.starts_with(&format!("{verb} {name}: P")), "{} {name}: {text}", spec["name"]);
                assert_eq!(c["step"].as_u64(), Some(t.as_array().unwrap().len() as u64), "{text}");
                let pid = c["process"].as_str().unwrap();
                assert!(text.contains(&format!("{verb} {name}: {pid}")), "{text}");
                traces += 1;
                news += (trace == "new_trace") as usize;
            }
        }
    }
    assert!(traces > 50 && news > 5, "{traces} traces, {news} new");
}

/// Issue 22: root disables THP, drops to a user, the user sets
/// PR_SET_THP_ALWAYS (which exec drops), and a setuid exec keeps only
/// root's disable. That trace no longer breaks `secure_exec_inherits_nothing`;
/// what does is mainline's own, so the relation is `inherited`, and the
/// cause names the setting the user made.
#[test]
fn prctl_thp_always_inherits_its_secure_exec_violation_from_mainline() {
    let cfg = small::config(2, true, Default::default());
    let o = run::check_spec(load("prctl-thp-always"), &cfg);
    let p = o.properties.iter().find(|p| p.def.name() == "secure_exec_inherits_nothing").unwrap();
    assert_eq!(p.verdict, Verdict::Violated);
    assert_eq!(p.relation(), Some(Relation::Inherited));
    let text = trace_text::trace_text(&o.spec.system(), &p.def, p.trace.as_ref().unwrap(), false);
    let last = text.lines().last().unwrap();
    assert_eq!(
        last,
        "# breaks secure_exec_inherits_nothing: P0 mm->flags DISABLE_THP_COMPLETELY, set at step 2 by P0 \
         as user without NNP, kept by the setuid exec at step 3"
    );
}

/// Every violation of the two secure-exec properties, in every spec (at
/// 2 processes x 1 VMA, 5 steps), is caused by a setting a user made and a
/// setuid exec kept: the cause is the property's own rule, read on the trace.
#[test]
fn every_secure_exec_violation_is_a_setting_a_user_made_and_a_setuid_exec_kept() {
    let cfg = small::config(2, true, Default::default());
    let mut seen = 0;
    for s in small::every_spec() {
        let o = run::check_spec(small::catalogue_at(s, 2, 1, Some(5)), &cfg);
        let sys = o.spec.system();
        for p in &o.properties {
            let rule = p.def.name();
            if !["secure_exec_inherits_nothing", "unprivileged_exec_gains_nothing"].contains(&rule) {
                continue;
            }
            let traces = [
                p.trace.as_ref().filter(|_| p.verdict.has_trace()),
                p.against.as_ref().and_then(|a| a.new_trace.as_ref()),
            ];
            for t in traces.into_iter().flatten() {
                let c = mmflags_model::cause::cause(&sys, &p.def, t).text;
                assert!(c.contains(" as user "), "{} {rule}: {c}", o.spec.name);
                assert!(c.contains("kept by the setuid exec"), "{} {rule}: {c}", o.spec.name);
                if rule == "unprivileged_exec_gains_nothing" {
                    assert!(c.contains("[hg]") || c.contains("THP_ALWAYS"), "{} {rule}: {c}", o.spec.name);
                } else {
                    assert!(c.contains("without NNP"), "{} {rule}: {c}", o.spec.name);
                }
                seen += 1;
            }
        }
    }
    assert!(seen >= 12, "{seen} secure-exec traces");
}
