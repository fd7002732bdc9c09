//! Bad trace files are rejected by `check replay` with exit code 2 and
//! `FILE:LINE:COLUMN: what is wrong` (a "did you mean" for a misspelled
//! name), never a panic: every file of the corpus in `tests/bad-traces/`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-traces")
}

/// (file, line, column, a fragment of the message).
const CASES: &[(&str, usize, usize, &str)] = &[
    ("unknown-call", 2, 4, "unknown call `mmpa`; did you mean `mmap`?"),
    ("unknown-advice", 3, 16, "did you mean `MADV_HUGEPAGE`?"),
    ("pid-beyond", 1, 1, "process `P9` is beyond the model's 4 slots"),
    ("vma-beyond", 2, 11, "VMA slot `v7` is beyond"),
    ("unclosed-paren", 1, 9, "expected `)`, found end of line"),
    (
        "unknown-prot",
        1,
        19,
        "unknown protection `PROT_BOGUS`; expected one of: PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC",
    ),
    ("lone-dot", 2, 14, "a lone `.`"),
    ("number-overflow", 1, 16, "is not a number"),
    ("arg-overflow", 1, 16, "does not fit in the 32-bit argument"),
    ("two-sysfs", 3, 10, "a second, different `# sysfs:` header"),
    ("unknown-sysfs", 1, 10, "unknown sysfs mode `alwyas`; did you mean `always`?"),
    ("bad-result", 1, 13, "`banana` is not a result"),
    ("errno-number", 1, 36, "write errors by name"),
    ("unknown-errno", 1, 36, "did you mean `ENOMEM`?"),
    ("dead-process", 3, 3, "P1 is not a live process"),
    ("too-many-iov", 1, 26, "an iovec list holds 1 to 4 entries"),
    ("unknown-pmadv-flag", 1, 47, "did you mean `PMADV_SKIP_ERRORS`?"),
    ("not-utf8", 2, 20, "byte 0xff is not UTF-8"),
    ("unexpected-char", 1, 16, "unexpected character `$`"),
    ("backwards-run", 1, 16, "a run goes upwards"),
    ("unknown-prctl", 1, 10, "did you mean `PR_SET_THP_DISABLE`?"),
    ("unmodelled-advice", 3, 16, "advice 8 is MADV_FREE, which the model does not model"),
    ("unknown-prctl-number", 1, 10, "prctl option 4 is not one the trace language knows"),
    ("prctl-79-arg", 1, 12, "too many arguments for `prctl`"),
    ("missing-process", 1, 1, "a step starts with the calling process"),
    ("too-many-args", 1, 9, "expected `)`, found `1`"),
    ("unknown-vmflag", 2, 22, "unknown VMA flag `xx`; did you mean `ex`?"),
    ("directory", 1, 1, "is a directory, not a trace file"),
];

#[test]
fn the_corpus_is_covered() {
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "trace"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut cased: Vec<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    cased.sort();
    assert_eq!(on_disk, cased, "every file in tests/bad-traces needs a case here, and every case a file");
}

#[test]
fn every_bad_trace_exits_2_with_its_position() {
    for &(name, line, col, fragment) in CASES {
        let file = dir().join(format!("{name}.trace"));
        let out = Command::new(env!("CARGO_BIN_EXE_check"))
            .arg("replay")
            .arg("linux-6.18")
            .arg(&file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(&format!("{}:{line}:{col}: ", file.display())), "{name}: {err}");
        assert!(err.contains(fragment), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
}

#[test]
fn a_result_that_differs_is_a_mismatch_at_the_result() {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("trace-errors");
    std::fs::create_dir_all(&d).unwrap();
    let f = d.join("mismatch.trace");
    std::fs::write(
        &f,
        "# sysfs: madvise\nP0 mmap() = v0\nP0 madvise(v0, MADV_HUGEPAGE) =   -ENOMEM  # wrong\n",
    )
    .unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_check")).arg("replay").arg("linux-6.18").arg(&f).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("{}:3:35: ", f.display())), "{err}");
}
