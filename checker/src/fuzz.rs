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
//!   ones exploration would try);
//! - a predicate (a user property's text) compiles or is rejected at a
//!   byte inside it; one that compiles evaluates on assorted states, and
//!   its canonical form compiles to the same answers; the same text in a
//!   spec's `[properties]` is rejected at the same message, at a line and
//!   column inside the input, or loads and takes its first steps.

use crate::run::trace_file::replay_on;
use crate::spec::{self, Spec, SpecError};
use mmflags_model::predicate::{canonical, Predicate};
use mmflags_model::{Action, Call, Ret, State, Step, Sysfs, System, Trace};
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
        crate::spec::all_specs()
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

/// States with something in every field a predicate reads: the initial
/// state under each mode, and a busy one (every process slot, every VMA
/// slot, every flag and ghost word somewhere).
fn assorted_states() -> Vec<State> {
    use mmflags_model::flags::{MmfFlags, VmFlags};
    use mmflags_model::ghost::{Ghost, VmaGhost};
    use mmflags_model::state::{Cred, Image, Process, Vma};
    let mut out: Vec<State> = Sysfs::ALL.iter().map(|&m| State::init(m)).collect();
    for (k, &m) in Sysfs::ALL.iter().enumerate() {
        let mut s = State::init(m);
        for (i, slot) in s.procs.iter_mut().enumerate() {
            let mut p = Process::INIT;
            p.cred = Cred::ALL[(i + k) % Cred::ALL.len()];
            p.image = Image::ALL[i % 2];
            p.no_new_privs = i % 2 == 1;
            p.secure_exec = (i + k) % 2 == 0;
            p.ghost = Ghost((0x7f_ffff_u32 << ((3 * i + k) % 8)) & 0xff_ffff);
            p.mm.def_flags = VmFlags((0x15 << i) as u16 & 0x1ff);
            p.mm.flags = MmfFlags((0xd5a >> i) as u16 & 0xfff);
            for (j, v) in p.mm.vmas.iter_mut().enumerate() {
                if (i + j + k) % 3 != 0 {
                    *v = Vma {
                        flags: Some(VmFlags(((i * 7 + j * 11 + k) % 512) as u16)),
                        ghost: VmaGhost(((i + j) % 8) as u8),
                        pages: mmflags_model::state::Pages::ALL
                            [(i + 2 * j + k) % mmflags_model::state::Pages::ALL.len()],
                    };
                }
            }
            *slot = Some(p);
        }
        out.push(s);
    }
    out
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The predicate oracles for `data` as a predicate's text; a spec that
/// holds it is loaded as `dir/fuzz.toml` (so `extends` finds the specs).
pub fn predicate_bytes(dir: &Path, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let compiled = Predicate::compile(text);
    match &compiled {
        Err(e) => {
            assert!(e.at <= text.len(), "error at byte {} of {} bytes: {e}", e.at, text.len());
            assert!(!e.msg.is_empty());
        }
        Ok(p) => {
            let states = assorted_states();
            let answers: Vec<bool> = states.iter().map(|s| p.holds(s)).collect();
            let c = canonical(text).expect("what compiles parses");
            let again = Predicate::compile(&c)
                .unwrap_or_else(|e| panic!("`{text}` printed as `{c}`, which does not compile: {e}"));
            let twice: Vec<bool> = states.iter().map(|s| again.holds(s)).collect();
            assert_eq!(answers, twice, "`{text}` and its canonical form `{c}` disagree");
            assert_eq!(canonical(&c).as_deref(), Ok(c.as_str()), "the canonical form is not a fixpoint");
            assert_eq!(again.reads(), p.reads(), "`{c}` reads other fields than `{text}`");
        }
    }
    let spec = format!(
        "[spec]\nname = \"fuzz\"\n\n[bounds]\nprocesses = 2\nvmas = 1\nsysfs = [\"madvise\"]\ndepth = 2\n\n\
         [properties.fuzzed]\nalways = {}\nmeaning = \"fuzzed\"\n\n[expect]\nfuzzed = \"holds\"\n",
        toml_string(text)
    );
    let file = dir.join("fuzz.toml");
    match (spec::load_bytes(&file, spec.as_bytes()), &compiled) {
        (Err(e), Err(pe)) => {
            check_error(&file, spec.as_bytes(), &e);
            assert_eq!(e.msg, pe.msg, "the loader reports the predicate's own error");
            assert_eq!(e.line, 11, "the error is on the line of `always`: {e}");
            assert!(e.col > "always = \"".len(), "the column is inside the string: {e}");
        }
        (Ok(s), Ok(_)) => first_steps(&s),
        (Err(e), Ok(_)) => panic!("`{text}` compiles but its spec does not load: {e}"),
        (Ok(_), Err(pe)) => panic!("`{text}` does not compile ({pe}) but its spec loads"),
    }
}
