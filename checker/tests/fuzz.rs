//! The fuzz targets' oracles (`mmflags_checker::fuzz`) on stable Rust, in
//! CI: every spec, every hostile file of `tests/bad/` and
//! `tests/bad-traces/`, every litmus file, every predicate of
//! `tests/predicates/` and every predicate a spec file writes (the fuzzers'
//! seeds), and proptest-driven mutations of them (bytes flipped, cut,
//! spliced, lines repeated). A panic anywhere in
//! the loader, the parser or a replay fails the test. The long runs are
//! `cargo +nightly fuzz` (fuzz/README.md); this keeps what they found.

use mmflags_checker::fuzz::{predicate_bytes, spec_bytes, trace_bytes};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files(dir: &Path) -> Vec<Vec<u8>> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, b)| b).collect()
}

fn spec_inputs() -> Vec<Vec<u8>> {
    let r = root();
    let mut v = files(&r.join("checker/tests/bad"));
    v.extend(files(&r.join("specs")));
    v
}

fn trace_inputs() -> Vec<Vec<u8>> {
    let r = root();
    let mut v = files(&r.join("checker/tests/bad-traces"));
    v.extend(files(&r.join("specs/litmus")));
    v
}

fn specs_dir() -> PathBuf {
    root().join("specs")
}

/// The predicate seeds, and every `always`, `sometimes` and `premise` a
/// spec file of the repository writes.
fn predicate_inputs() -> Vec<Vec<u8>> {
    let r = root();
    let mut v = files(&r.join("checker/tests/predicates"));
    for dir in ["specs", "checker/tests/props", "checker/tests/bad"] {
        for bytes in files(&r.join(dir)) {
            let Ok(text) = String::from_utf8(bytes) else { continue };
            let Ok(doc) = text.parse::<toml::Table>() else { continue };
            let props = doc.get("properties").and_then(|p| p.as_table());
            for prop in props.into_iter().flat_map(|t| t.values()).filter_map(|p| p.as_table()) {
                for key in ["always", "sometimes", "premise"] {
                    if let Some(s) = prop.get(key).and_then(|s| s.as_str()) {
                        v.push(s.as_bytes().to_vec());
                    }
                }
            }
        }
    }
    v
}

#[test]
fn every_seed_and_hostile_file_keeps_the_oracles() {
    let (specs, traces) = (spec_inputs(), trace_inputs());
    assert!(specs.len() > 40 && traces.len() > 30, "{} spec and {} trace inputs", specs.len(), traces.len());
    for data in &specs {
        spec_bytes(&specs_dir(), data);
    }
    for data in &traces {
        trace_bytes(data);
    }
    let preds = predicate_inputs();
    assert!(preds.len() > 60, "{} predicate inputs", preds.len());
    for data in &preds {
        predicate_bytes(&specs_dir(), data);
    }
}

/// A mutation of one input: what libFuzzer's default mutators mostly do.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, byte: u8 },
    Cut { from: usize, len: usize },
    Splice { at: usize, other: usize, from: usize, len: usize },
    RepeatLine { line: usize, times: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        (any::<usize>(), 0usize..64).prop_map(|(from, len)| Mutation::Cut { from, len }),
        (any::<usize>(), any::<usize>(), any::<usize>(), 0usize..80)
            .prop_map(|(at, other, from, len)| Mutation::Splice { at, other, from, len }),
        (any::<usize>(), 1usize..4).prop_map(|(line, times)| Mutation::RepeatLine { line, times }),
    ]
}

fn apply(inputs: &[Vec<u8>], which: usize, ms: &[Mutation]) -> Vec<u8> {
    let mut d = inputs[which % inputs.len()].clone();
    for m in ms {
        match *m {
            Mutation::Flip { at, byte } if !d.is_empty() => {
                let n = d.len();
                d[at % n] = byte;
            }
            Mutation::Cut { from, len } if !d.is_empty() => {
                let from = from % d.len();
                let to = (from + len).min(d.len());
                d.drain(from..to);
            }
            Mutation::Splice { at, other, from, len } => {
                let o = &inputs[other % inputs.len()];
                if !o.is_empty() {
                    let from = from % o.len();
                    let piece = o[from..(from + len).min(o.len())].to_vec();
                    let at = at % (d.len() + 1);
                    d.splice(at..at, piece);
                }
            }
            Mutation::RepeatLine { line, times } => {
                let lines: Vec<&[u8]> = d.split(|&b| b == b'\n').collect();
                let k = line % lines.len();
                let mut out = Vec::new();
                for (i, l) in lines.iter().enumerate() {
                    for _ in 0..if i == k { times + 1 } else { 1 } {
                        out.extend_from_slice(l);
                        out.push(b'\n');
                    }
                }
                d = out;
            }
            _ => {}
        }
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_specs_keep_the_oracles(which in any::<usize>(), ms in proptest::collection::vec(mutation(), 1..6)) {
        static INPUTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
        let inputs = INPUTS.get_or_init(spec_inputs);
        spec_bytes(&specs_dir(), &apply(inputs, which, &ms));
    }

    #[test]
    fn mutated_predicates_keep_the_oracles(which in any::<usize>(), ms in proptest::collection::vec(mutation(), 1..6)) {
        static INPUTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
        let inputs = INPUTS.get_or_init(predicate_inputs);
        predicate_bytes(&specs_dir(), &apply(inputs, which, &ms));
    }

    #[test]
    fn mutated_traces_keep_the_oracles(which in any::<usize>(), ms in proptest::collection::vec(mutation(), 1..6)) {
        static INPUTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
        let inputs = INPUTS.get_or_init(trace_inputs);
        trace_bytes(&apply(inputs, which, &ms));
    }
}
