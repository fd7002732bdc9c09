//! The two kinds of file users hand to `check` — spec files and trace files
//! — as functions of raw bytes, with the oracles a fuzzer checks. The
//! cargo-fuzz targets in `fuzz/` call these, and so do the tests that run
//! the fuzzers' seeds and regressions and proptest-driven mutations on stable
//! Rust in CI, so the fuzzed code and the tested code are one.
//!
//! Oracles (a failure is a panic, which the fuzzer reports):
//! - loading never panics, and every rejection is `FILE:LINE:COL: message`
//!   with a line and column inside the input;
//! - a spec that loads builds its `System` and takes every enabled first
//!   step from every initial state;
//! - a trace step that parses prints as text that parses back to the same
//!   step, and a whole trace prints and re-reads to the same steps;
//! - a parsed trace replays on the semantics of every spec in `specs/`
//!   without a panic (the model is fed any sequence of calls, not only the
//!   ones exploration would try).

use crate::replay::replay_on;
use crate::spec::{self, Spec, SpecError};
use mmflags_model::{Action, Call, Ret, Step, System, Trace};
use std::path::Path;
use std::sync::OnceLock;

/// Number of lines in `data` as the loader counts them (for the position oracle).
fn lines_in(data: &[u8]) -> usize {
    data.iter().filter(|&&b| b == b'\n').count() + 1
}

/// The position oracle for a rejected input of `data` loaded as `file`.
fn check_error(file: &Path, data: &[u8], e: &SpecError) {
    assert!(!e.msg.is_empty(), "an error without a message: {e:?}");
    assert!(e.line >= 1 && e.col >= 1, "positions are 1-based: {e}");
    if e.file == file {
        assert!(e.line <= lines_in(data), "line {} is past the end of the input: {e}", e.line);
        let longest = data.split(|&b| b == b'\n').map(|l| l.len()).max().unwrap_or(0);
        assert!(e.col <= longest + 1, "column {} is past every line: {e}", e.col);
    }
    let shown = e.to_string();
    assert!(shown.starts_with(&format!("{}:{}:{}: ", e.file.display(), e.line, e.col)), "{shown}");
}

/// Loads `data` as the spec file `dir/fuzz.toml` (so `extends` finds the
/// specs in `dir`); if it loads, builds the model and takes its first steps.
pub fn spec_bytes(dir: &Path, data: &[u8]) {
    let file = dir.join("fuzz.toml");
    match spec::load_bytes(&file, data) {
        Err(e) => check_error(&file, data, &e),
        Ok(spec) => first_steps(&spec),
    }
}

fn first_steps(spec: &Spec) {
    let sys = spec.system();
    assert!(!sys.alphabet.is_empty(), "a loaded spec has calls to explore");
    for s in stateright::Model::init_states(&sys) {
        sys.for_each_action(&s, |_, a| {
            if let Ok((_, t)) = sys.step(&s, &a) {
                let _ = sys.key(&t, &sys.projection, sys.symmetry);
            }
        });
    }
}

/// The specs of `specs/` with their replayers, built once: trace replays run on each.
fn every_spec() -> &'static [(Spec, System)] {
    static SPECS: OnceLock<Vec<(Spec, System)>> = OnceLock::new();
    SPECS.get_or_init(|| {
        crate::run::all_specs()
            .iter()
            .map(|f| spec::load(f).expect("the specs in specs/ load"))
            .map(|s| {
                let sys = System::replayer(s.semantics.clone());
                (s, sys)
            })
            .collect()
    })
}

/// Parses `data` as a trace file and as single calls, steps and results;
/// checks that what parses prints back to itself; replays what parses on
/// every spec's semantics.
pub fn trace_bytes(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        // `check replay` rejects these before parsing (see `input::decode`).
        let e = crate::input::decode(data.to_vec(), "a trace").expect_err("not UTF-8");
        assert!(e.line >= 1 && e.col >= 1);
        return;
    };
    for line in text.lines() {
        round_trip::<Step>(line);
        round_trip::<Action>(line);
        round_trip::<Call>(line);
        round_trip::<Ret>(line);
    }
    match Trace::parse(text) {
        Err(e) => {
            assert!(
                e.line >= 1 && e.line <= text.lines().count().max(1),
                "line {} out of range: {e}",
                e.line
            );
            assert!(e.col >= 1, "{e}");
        }
        Ok(trace) => {
            let again = Trace::parse(&trace.to_string()).expect("a printed trace parses");
            assert_eq!(again.sysfs, trace.sysfs);
            let steps = |t: &Trace| t.steps.iter().map(|(_, s)| *s).collect::<Vec<_>>();
            assert_eq!(steps(&again), steps(&trace), "printing a trace changed its steps");
            for (spec, sys) in every_spec() {
                let _ = replay_on(sys, spec, &trace, Some(text));
            }
        }
    }
}

/// If `line` parses as a `T`, its printed form parses to the same value.
fn round_trip<T>(line: &str)
where
    T: std::str::FromStr + std::fmt::Display + PartialEq + std::fmt::Debug,
{
    if let Ok(v) = line.parse::<T>() {
        let printed = v.to_string();
        match printed.parse::<T>() {
            Ok(w) => assert_eq!(w, v, "`{line}` printed as `{printed}`, which reads back differently"),
            Err(_) => panic!("`{line}` printed as `{printed}`, which does not parse"),
        }
    }
}
