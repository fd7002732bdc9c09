//! Every litmus file in specs/litmus replays on the linux-6.18 model with
//! every written result matching; and the corpus has teeth: a model with a
//! deliberately wrong inheritance rule fails some of it.

use mmflags_checker::spec;
use mmflags_model::flags::VmFlags;
use mmflags_model::replay::{replay, ReplayError};
use mmflags_model::{Semantics, Sysfs, System, Trace};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn litmus_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("specs/litmus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "litmus"))
        .collect();
    v.sort();
    v
}

fn run(sem: &Semantics, file: &Path) -> Option<ReplayError> {
    let trace = Trace::parse(&std::fs::read_to_string(file).unwrap())
        .unwrap_or_else(|e| panic!("{}:{e}", file.display()));
    let (_, _, err) = replay(&System::replayer(sem.clone()), &trace, Sysfs::Madvise);
    err
}

#[test]
fn the_corpus_is_big_enough() {
    assert!(litmus_files().len() >= 15, "DESIGN asks for at least 15 litmus files");
}

#[test]
fn every_litmus_file_passes_on_the_mainline_model() {
    let sem = spec::load(&root().join("specs/linux-6.18.toml")).unwrap().semantics;
    let mut failures = Vec::new();
    for f in litmus_files() {
        if let Some(e) = run(&sem, &f) {
            failures.push(format!("{}: {e}", f.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Mutations of the inheritance tables: each must make some litmus file fail.
#[test]
fn wrong_inheritance_rules_are_caught() {
    let base = Semantics::mainline();
    let mutants: Vec<(&str, Semantics)> = vec![
        (
            "fork and exec keep MCL_FUTURE",
            Semantics { vm_init_def_mask: base.vm_init_def_mask | VmFlags::VM_LOCKED, ..base.clone() },
        ),
        (
            "the THP-disable bits are not inherited",
            Semantics { mmf_init_mask: mmflags_model::flags::MmfFlags::MMF_DUMPABLE, ..base.clone() },
        ),
        (
            "a secure exec clears the THP-disable bits",
            Semantics {
                secureexec_clear_mmf: mmflags_model::flags::MmfFlags::MMF_DISABLE_THP_MASK,
                ..base.clone()
            },
        ),
    ];
    for (what, sem) in mutants {
        let caught = litmus_files().iter().filter(|f| run(&sem, f).is_some()).count();
        assert!(caught > 0, "no litmus file notices that {what}");
    }
}
