//! `check diff`: a spec never differs from itself; mainline and the seed RFC
//! part ways at the first PMADV_SET_FORK_EXEC_DEFAULT call; the RFC as
//! posted and as intended only once a default meets fork or exec.

use mmflags_checker::run::divergence::diff;
use mmflags_checker::spec::{self, Spec};
use std::path::Path;

fn spec(name: &str) -> Spec {
    spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../specs/{name}.toml"))).unwrap()
}

#[test]
fn a_spec_does_not_differ_from_itself() {
    let a = spec("linux-6.18-thp");
    let d = diff(&a, &a, 3, 1_000_000);
    assert!(d.complete);
    assert!(d.divergences.is_empty());
}

#[test]
fn mainline_rejects_what_the_rfc_accepts() {
    let d = diff(&spec("linux-6.18"), &spec("rfc-set-fork-exec-default"), 2, 1_000_000);
    let first = &d.divergences[0];
    assert_eq!(first.steps.len(), 1);
    assert!(first.steps[0].action.to_string().contains("PMADV_SET_FORK_EXEC_DEFAULT"), "{first:?}");
    assert_eq!(first.steps[0].a.to_string(), "-EINVAL");
}

#[test]
fn posted_and_intended_rfc_differ_only_across_fork_or_exec() {
    let d =
        diff(&spec("rfc-set-fork-exec-default"), &spec("rfc-set-fork-exec-default-intended"), 3, 1_000_000);
    assert!(!d.divergences.is_empty());
    for dv in &d.divergences {
        let crosses = dv.steps.iter().any(|s| matches!(s.action.call.name(), "fork" | "execve"));
        assert!(crosses, "{} without fork or exec", dv.kind);
    }
}
