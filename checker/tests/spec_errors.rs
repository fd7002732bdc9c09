//! Bad spec files are rejected with the file, line and column, what is
//! wrong and how to fix it, by the library and by the binary (exit 2, never
//! a panic): every file of the hostile corpus in `tests/bad/`, and the
//! inputs a repository cannot hold (devices, FIFOs, huge files, long
//! `extends` chains), made here at run time.

use mmflags_checker::spec;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad")
}

fn bad(name: &str) -> PathBuf {
    bad_dir().join(format!("{name}.toml"))
}

/// (file, line, column, a fragment of the message). A misspelled name must
/// come with "did you mean".
const CASES: &[(&str, usize, usize, &str)] = &[
    ("unknown-section", 4, 2, "unknown section `[bound]`; did you mean `bounds`?"),
    ("unknown-property", 10, 1, "did you mean `thp_flags_exclusive`?"),
    ("renamed-property", 10, 1, "it is now `no_eligible_vma_under_never`"),
    ("wrong-verdict-kind", 10, 40, "is a `sometimes` property: expect reachable or unreachable"),
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
    ("empty", 1, 1, "missing [spec] name; add `[spec]` with `name = \"empty\"`"),
    ("not-utf8", 3, 13, "byte 0xe9 is not UTF-8"),
    ("nul-byte", 3, 11, "not valid TOML"),
    ("crlf", 7, 21, "unknown mode `nevr`; did you mean `never`?"),
    ("huge-integer", 8, 9, "[bounds] depth is too large for a 64-bit integer"),
    ("negative-depth", 8, 9, "depth = -1 is out of range"),
    ("depth-zero", 8, 9, "depth = 0 is out of range"),
    ("float-bound", 6, 8, "[bounds] vmas must be an integer, found float"),
    ("datetime-value", 8, 9, "[bounds] depth must be an integer, found datetime"),
    ("deep-nesting", 5, 93, "not valid TOML"),
    ("nested-array", 5, 21, "holds strings only, found array"),
    ("section-as-value", 1, 1, "`spec` must be a section"),
    ("duplicate-key", 3, 1, "duplicate key"),
    ("misspelled-bound", 5, 1, "unknown key `proceses` in [bounds]; did you mean `processes`?"),
    ("misspelled-intent", 5, 1, "did you mean `default_survives_fork`?"),
    ("misspelled-verdict", 10, 23, "not `hold`; did you mean `holds`?"),
    ("expect-inconclusive", 10, 23, "expect holds or violated, not `inconclusive`"),
    ("verdict-not-string", 10, 23, "must be a string, like \"holds\""),
    ("inline-table-verdict", 10, 23, "must be a string, like \"holds\""),
    ("sysfs-twice", 7, 30, "lists `madvise` twice"),
    ("sysfs-empty", 7, 9, "[bounds] sysfs is empty"),
    ("sysfs-not-string", 7, 21, "holds strings only, found integer"),
    ("no-expect", 1, 1, "no [expect] section"),
    ("empty-alphabet", 10, 1, "leaves no call to explore"),
    ("flag-not-defined", 6, 23, "PMADV_SET_FORK_EXEC_DEFAULT, which is not in [semantics] pmadv_flags"),
    ("promised-by-undefined", 5, 15, "PMADV_INHERIT_EXEC, which is not in [semantics] pmadv_flags"),
    ("long-pattern", 10, 12, "a pattern is at most 200 characters"),
    ("many-patterns", 10, 11, "lists 300 patterns; at most 256"),
    ("extends-cycle-a", 3, 11, "makes a cycle: extends-cycle-a -> extends-cycle-b -> extends-cycle-a"),
    ("extends-cycle-b", 3, 11, "makes a cycle"),
    ("extends-self", 3, 11, "`extends = \"extends-self\"` makes a cycle"),
    ("extends-path", 3, 11, "is not a spec name"),
    ("extends-not-string", 3, 11, "`extends` is the name of another spec, as a string"),
    ("extends-directory", 3, 11, "directory.toml: is a directory"),
    ("extends-symlink-loop", 3, 11, "Too many levels of symbolic links"),
    ("directory", 1, 1, "is a directory, not a spec file"),
    ("symlink-loop-a", 1, 1, "Too many levels of symbolic links"),
    ("symlink-loop-b", 1, 1, "Too many levels of symbolic links"),
    ("unknown-check", 5, 54, "unknown check `mm_acess`; did you mean `mm_access`?"),
    ("check-twice", 5, 54, "lists `flags` twice"),
    ("check-missing", 5, 26, "lacks iovec"),
    ("check-both", 5, 26, "needs exactly one of `advice`"),
    ("check-before-pidfd", 5, 45, "`mm_access` reads the target process, so it comes after `pidfd`"),
    ("kernels-not-series", 3, 20, "`v6.18` is not a kernel series; write it as MAJOR.MINOR"),
    ("kernels-twice", 3, 20, "lists `6.12` twice"),
    ("unknown-thp-disable-flag", 5, 22, "did you mean `PR_THP_DISABLE_EXCEPT_ADVISED`?"),
    // [properties]: errors inside a predicate point at the token, inside the string.
    ("prop-unknown-field", 10, 24, "unknown field `def_flag` of a process (`p`); did you mean `def_flags`?"),
    ("prop-unknown-word", 10, 38, "unknown word `VM_HUGEPAG`; did you mean `VM_HUGEPAGE`?"),
    ("prop-wrong-kind", 10, 29, "`VM_HUGEPAGE` is a VMA flag (VM_*), not an image"),
    ("prop-has-non-set", 10, 25, "`has` takes a set; `p.cred` is a credential, not a set"),
    ("prop-free-variable", 10, 21, "free variable `q`"),
    ("prop-name-clash", 9, 13, "`thp_flags_exclusive` is the name of a catalogue property"),
    ("prop-syntax-error", 10, 28, "found the keyword `and`"),
    ("prop-multiline", 12, 25, "did you mean `VM_HUGEPAGE`?"),
    ("prop-escaped-quote", 10, 29, "words are written bare"),
    ("prop-literal-string", 10, 28, "did you mean `root`?"),
    ("prop-unicode-escape", 10, 22, "names and words are ASCII"),
    ("prop-foreign-operator", 10, 24, "write `and`"),
    ("prop-deep-nesting", 10, 75, "nested more than 64 deep"),
    ("prop-premise-error", 11, 29, "did you mean `setuid-root`?"),
    ("prop-both-kinds", 11, 1, "has both `always` and `sometimes`"),
    ("prop-no-meaning", 9, 13, "needs `meaning = \"...\"`"),
    ("prop-no-predicate", 9, 13, "needs `always = \"...\"` (an invariant) or `sometimes"),
    ("prop-empty-meaning", 11, 11, "meaning is empty"),
    ("prop-unknown-key", 11, 1, "unknown key `meening` in [properties.x]; did you mean `meaning`?"),
    (
        "prop-premise-on-sometimes",
        11,
        1,
        "a premise (the case an invariant rules on) belongs to an `always` one",
    ),
    ("prop-not-table", 10, 5, "must be a table: write `[properties.x]`"),
    ("prop-bad-name", 9, 13, "is not a property name"),
    ("prop-not-expected", 9, 13, "`x` is defined here but [expect] does not list it"),
    ("prop-expect-kind", 14, 5, "`x` is an `always` property: expect holds or violated, not `reachable`"),
    ("prop-not-string", 10, 10, "always must be a string, found integer"),
    ("prop-misspelled-in-expect", 14, 1, "did you mean `no_hugepage_default`?"),
    ("baseline-unknown", 3, 12, "no spec `"),
    (
        "baseline-bounds",
        3,
        12,
        "baseline `baseline-small` is bounded at processes = 1, so it cannot hold this spec's processes = 2",
    ),
    ("baseline-cycle-a", 3, 12, "makes a cycle: baseline-cycle-a -> baseline-cycle-b -> baseline-cycle-a"),
    ("baseline-cycle-b", 3, 12, "makes a cycle"),
    ("baseline-path", 3, 12, "is not a spec name"),
    ("relation-without-baseline", 11, 23, "says `same` against a baseline, but this spec has none"),
    ("relation-misspelled", 11, 23, "fixed or same, not `sme`; did you mean `same`?"),
    ("relation-wrong-kind", 11, 23, "fixed or same, not `new`"),
];

/// Well-formed files of the corpus: the baseline the `baseline-*` and
/// `relation-*` files name, which must sit beside them.
const NOT_BAD: &[&str] = &["baseline-small"];

/// The file an error is reported in: the one given, except where the
/// mistake is in the file it extends (the cycle closes in the other file).
fn reported_in(name: &str) -> &str {
    match name {
        "extends-cycle-a" => "extends-cycle-b",
        "extends-cycle-b" => "extends-cycle-a",
        "baseline-cycle-a" => "baseline-cycle-b",
        "baseline-cycle-b" => "baseline-cycle-a",
        n => n,
    }
}

#[test]
fn every_bad_spec_is_rejected_with_its_position() {
    for &(name, line, col, fragment) in CASES {
        let e = spec::load(&bad(name)).expect_err(name);
        assert_eq!((e.line, e.col), (line, col), "{name}: {e}");
        assert!(e.msg.contains(fragment), "{name}: {e}");
        assert_eq!(e.file, bad(reported_in(name)), "{name}: {e}");
    }
}

#[test]
fn the_corpus_is_covered() {
    let mut on_disk: Vec<String> = std::fs::read_dir(bad_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|n| !NOT_BAD.contains(&n.as_str()))
        .collect();
    on_disk.sort();
    for n in NOT_BAD {
        spec::load(&bad(n)).unwrap_or_else(|e| panic!("{n} is the corpus's good baseline: {e}"));
    }
    let mut cased: Vec<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    cased.sort();
    assert_eq!(on_disk, cased, "every file in tests/bad needs a case here, and every case a file");
}

/// Runs `check ARGS`; returns (exit code, stdout, stderr).
fn check(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_check")).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn the_binary_exits_2_with_the_position() {
    for &(name, line, col, fragment) in CASES {
        let (code, _, err) = check(&[bad(name).as_os_str()]);
        assert_eq!(code, Some(2), "{name}: {err}");
        let at = format!("{}:{line}:{col}: ", bad(reported_in(name)).display());
        assert!(err.contains(&at), "{name}: {err}");
        assert!(err.contains(fragment), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
}

/// A scratch directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("spec-errors-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const MINIMAL: &str =
    "[bounds]\nprocesses = 1\nvmas = 1\nsysfs = [\"madvise\"]\n\n[expect]\nthp_flags_exclusive = \"holds\"\n";

#[test]
fn devices_fifos_and_huge_files_are_refused_without_reading_them() {
    let d = scratch("files");
    let fifo = d.join("fifo.toml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // Opening a FIFO without a writer would block for ever: the loader must not.
    let e = spec::load(&fifo).unwrap_err();
    assert!(e.msg.contains("not a regular file"), "{e}");
    let huge = d.join("huge.toml");
    std::fs::File::create(&huge).unwrap().set_len(spec::MAX_SPEC_BYTES + 1).unwrap();
    let e = spec::load(&huge).unwrap_err();
    assert!(e.msg.contains("at most 1 MiB"), "{e}");
    let zero = d.join("zero.toml");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    for f in [&fifo, &huge, &zero, &PathBuf::from("/dev/zero")] {
        let (code, _, err) = check(&[f.as_os_str()]);
        assert_eq!(code, Some(2), "{}: {err}", f.display());
        assert!(err.contains(&format!("{}:1:1: ", f.display())), "{err}");
    }
    // ... and as the base of an `extends`.
    std::fs::write(
        d.join("via-zero.toml"),
        format!("[spec]\nname = \"via-zero\"\nextends = \"zero\"\n{MINIMAL}"),
    )
    .unwrap();
    let e = spec::load(&d.join("via-zero.toml")).unwrap_err();
    assert_eq!((e.line, e.col), (3, 11), "{e}");
    assert!(e.msg.contains("not a regular file"), "{e}");
}

#[test]
fn long_extends_chains_are_cut() {
    let d = scratch("chain");
    let n = spec::MAX_EXTENDS + 2;
    for i in 0..n {
        let extends = if i + 1 < n { format!("extends = \"c{}\"\n", i + 1) } else { String::new() };
        std::fs::write(d.join(format!("c{i}.toml")), format!("[spec]\nname = \"c{i}\"\n{extends}{MINIMAL}"))
            .unwrap();
    }
    let e = spec::load(&d.join("c0.toml")).unwrap_err();
    assert!(e.msg.contains("chain is longer than"), "{e}");
    assert_eq!(e.line, 3, "{e}");
    // A chain within the cap loads, with the base's bounds.
    assert!(spec::load(&d.join("c2.toml")).is_ok());
    // A cycle through a path that is not written the same way twice.
    std::fs::write(d.join("x.toml"), "[spec]\nname = \"x\"\nextends = \"y\"\n").unwrap();
    std::os::unix::fs::symlink(d.join("x.toml"), d.join("y.toml")).unwrap();
    let e = spec::load(&d.join("x.toml")).unwrap_err();
    assert!(e.msg.contains("makes a cycle"), "{e}");
}

#[test]
fn bad_command_lines_exit_2_without_a_panic() {
    let spec = bad("extends-self");
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/linux-6.18-thp.toml");
    let litmus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/litmus/madvise-holes.litmus");
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (vec!["no-such-spec".as_ref()], "no such spec file or spec name"),
        (vec!["linux-6.188".as_ref()], "did you mean `linux-6.18`?"),
        (vec!["conform".as_ref(), "--kernel".as_ref(), "5.4".as_ref()], "the kernels checked are: 6.1, 6.12"),
        (
            vec![
                "conform".as_ref(),
                "--kernel".as_ref(),
                "6.12".as_ref(),
                "--sysfs".as_ref(),
                "sometimes".as_ref(),
            ],
            "not a THP mode",
        ),
        (vec!["kernels".as_ref(), "fetch".as_ref(), "6.13".as_ref()], "unknown kernel series `6.13`"),
        (vec![real.as_os_str(), "--timeout=-1".as_ref()], "--timeout -1"),
        (vec![real.as_os_str(), "--timeout".as_ref(), "1e300".as_ref()], "--timeout 1e300"),
        (vec![real.as_os_str(), "--timeout".as_ref(), "NaN".as_ref()], "--timeout NaN"),
        (vec![real.as_os_str(), "--threads".as_ref(), "0".as_ref()], "--threads 0"),
        (vec![real.as_os_str(), "--threads".as_ref(), "100000".as_ref()], "at most 1024"),
        (vec![real.as_os_str(), "--max-memory".as_ref(), "18446744073709551615".as_ref()], "too large"),
        (vec![real.as_os_str(), "--max-memory".as_ref(), "0".as_ref()], "--max-memory 0"),
        (vec![real.as_os_str(), "--max-depth=-3".as_ref()], "--max-depth"),
        (
            vec!["trace".as_ref(), real.as_os_str(), "thp_flag_exclusive".as_ref()],
            "did you mean `thp_flags_exclusive`?",
        ),
        (vec!["trace".as_ref(), spec.as_os_str(), "thp_flags_exclusive".as_ref()], "makes a cycle"),
        (
            vec![
                "trace".as_ref(),
                real.as_os_str(),
                "thp_flags_exclusive".as_ref(),
                "--timeout".as_ref(),
                "inf".as_ref(),
            ],
            "--timeout inf",
        ),
        (vec!["replay".as_ref(), "no-such-spec".as_ref(), litmus.as_os_str()], "no such spec"),
        (vec!["replay".as_ref(), real.as_os_str(), "/no/such/trace".as_ref()], "cannot read"),
        (vec!["replay".as_ref(), real.as_os_str(), "/dev/zero".as_ref()], "not a regular file"),
        (vec!["replay".as_ref(), real.as_os_str(), "/".as_ref()], "is a directory"),
        (vec!["replay".as_ref(), real.as_os_str()], "replay what on which spec?"),
        (vec!["diff".as_ref(), real.as_os_str(), spec.as_os_str()], "makes a cycle"),
        (vec!["diff".as_ref(), real.as_os_str(), "no-such-spec".as_ref()], "no such spec"),
        (
            vec!["diff".as_ref(), real.as_os_str(), real.as_os_str(), "--depth".as_ref(), "x".as_ref()],
            "--depth",
        ),
        (vec!["--no-such-flag".as_ref()], "--no-such-flag"),
    ];
    for (args, fragment) in cases {
        let (code, _, err) = check(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(fragment), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
