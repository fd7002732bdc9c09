//! Bad spec files are rejected with the file, line and column, what is
//! wrong and how to fix it, by the library and by the binary (exit 2).

use mmflags_checker::spec;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad").join(format!("{name}.toml"))
}

/// (file, line, column, a fragment of the message)
const CASES: &[(&str, usize, usize, &str)] = &[
    ("unknown-section", 4, 2, "unknown section `[bound]`; did you mean `bounds`?"),
    ("unknown-property", 10, 1, "did you mean `thp_flags_exclusive`?"),
    ("wrong-verdict-kind", 10, 31, "is a sometimes property: expect reachable or unreachable"),
    ("impossible-bound", 5, 13, "the model holds 1 to 4 processes"),
    ("unknown-knob", 5, 1, "did you mean `vm_init_def_mask`?"),
    ("unknown-flag", 5, 21, "did you mean `VM_NOHUGEPAGE`?"),
    ("unknown-sysfs", 7, 21, "did you mean `always`?"),
    ("bad-pattern", 10, 20, "did you mean `fork`?"),
    ("not-toml", 3, 22, "not valid TOML"),
    ("name-mismatch", 2, 8, "write `name = \"name-mismatch\"`"),
    ("wrong-type", 5, 13, "must be an integer"),
    ("unknown-variant", 5, 11, "did you mean `mainline`?"),
    ("missing-extends", 3, 11, "no spec"),
];

#[test]
fn every_bad_spec_is_rejected_with_its_position() {
    for &(name, line, col, fragment) in CASES {
        let e = spec::load(&bad(name)).expect_err(name);
        assert_eq!((e.line, e.col), (line, col), "{name}: {e}");
        assert!(e.msg.contains(fragment), "{name}: {e}");
        assert!(e.file.ends_with(format!("{name}.toml")) || name == "missing-extends", "{name}: {e}");
    }
}

#[test]
fn the_corpus_is_covered() {
    let on_disk = std::fs::read_dir(bad("x").parent().unwrap())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "toml"))
        .count();
    assert_eq!(on_disk, CASES.len(), "every file in tests/bad needs a case here");
}

#[test]
fn the_binary_exits_2_with_the_position() {
    for &(name, line, col, _) in CASES {
        let out = Command::new(env!("CARGO_BIN_EXE_check")).arg(bad(name)).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("{name}.toml:{line}:{col}:")), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
}
