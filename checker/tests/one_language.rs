//! One trace language for every spec: every litmus file and every trace the
//! checker prints for any spec (its counterexamples and witnesses) parses
//! back and runs on every spec to the end. A call a spec's kernel lacks is
//! answered as that kernel would, never refused: the results may differ
//! from spec to spec (that is what `check replay --all-specs` shows), but
//! no step is ever "not part of this spec".

mod small;

use mmflags_checker::report::trace_text::trace_text;
use mmflags_checker::spec::Spec;
use mmflags_model::replay::{replay, ReplayError};
use mmflags_model::{Sysfs, System, Trace};
use std::path::Path;

fn litmus_texts() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for dir in ["specs/litmus"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "litmus") {
                out.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Runs `text` on every spec: it must parse, and no step may be refused.
fn runs_everywhere(what: &str, text: &str, specs: &[(String, System)]) -> usize {
    let trace = Trace::parse(text).unwrap_or_else(|e| panic!("{what}:{e}\n{text}"));
    let mut agreed = 0;
    for (name, sys) in specs {
        match replay(sys, &trace, Sysfs::Madvise).2 {
            None => agreed += 1,
            Some(ReplayError::Mismatch { .. }) => {}
            Some(e @ ReplayError::Step { .. }) => panic!("{what} cannot run on {name}: {e}\n{text}"),
        }
    }
    agreed
}

fn replayers(specs: &[Spec]) -> Vec<(String, System)> {
    specs.iter().map(|s| (s.name.clone(), System::replayer(s.semantics.clone()))).collect()
}

#[test]
fn every_litmus_file_runs_on_every_spec() {
    let specs = small::every_spec();
    let sys = replayers(&specs);
    for (file, text) in litmus_texts() {
        let agreed = runs_everywhere(&file, &text, &sys);
        assert!(agreed >= 1, "{file} holds on no spec at all");
    }
}

#[test]
fn every_printed_trace_runs_on_every_spec() {
    let specs = small::every_spec();
    let sys = replayers(&specs);
    let mut traces = 0;
    for s in &specs {
        let q = small::catalogue_at(s.clone(), 2, 2, Some(5));
        let o = small::run(&q, 2, true);
        let qs = q.system();
        for p in &o.properties {
            let premises = p.premises.iter().map(|q| (&q.def, q.trace.as_ref()));
            for (def, t) in std::iter::once((&p.def, p.trace.as_ref())).chain(premises) {
                let Some(t) = t else { continue };
                let name = def.name();
                let text = trace_text(&qs, def, t, true);
                let agreed = runs_everywhere(&format!("{} / {name}", s.name), &text, &sys);
                assert!(agreed >= 1, "the trace of {} / {name} holds on no spec, not even its own", s.name);
                traces += 1;
            }
        }
    }
    assert!(traces > 100, "only {traces} traces printed");
}
