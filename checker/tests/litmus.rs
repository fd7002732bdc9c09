//! Every litmus file in specs/litmus replays on every spec its `# kernels:`
//! header selects (the specs that claim the series of kernels.toml in its
//! ranges) with every written result matching; a file that selects some
//! kernel specs pins a difference, so it fails on every kernel spec it
//! leaves out; and the corpus has teeth: a model with a deliberately wrong
//! inheritance rule fails some of it.

use mmflags_checker::kernels::litmus::{known_series, select};
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

fn trace(file: &Path) -> Trace {
    Trace::parse(&std::fs::read_to_string(file).unwrap()).unwrap_or_else(|e| panic!("{}:{e}", file.display()))
}

fn run(sem: &Semantics, file: &Path) -> Option<ReplayError> {
    let (_, _, err) = replay(&System::replayer(sem.clone()), &trace(file), Sysfs::Madvise);
    err
}

fn load(name: &str) -> spec::Spec {
    spec::load(&root().join(format!("specs/{name}.toml"))).unwrap_or_else(|e| panic!("{e}"))
}

/// The specs that claim a kernel: the versions a litmus file can tell apart.
fn kernel_specs() -> Vec<String> {
    let mut v: Vec<String> =
        spec::spec_names(&root().join("specs")).into_iter().filter(|n| !load(n).kernels.is_empty()).collect();
    v.sort();
    v
}

/// The specs a file's header selects.
fn named(file: &Path) -> Vec<String> {
    let claims = mmflags_checker::kernels::claims().unwrap();
    select(&trace(file), &known_series(), &claims).unwrap_or_else(|e| panic!("{}: {e}", file.display())).specs
}

#[test]
fn the_corpus_is_big_enough() {
    assert!(litmus_files().len() >= 15, "docs/design.md 3a asks for at least 15 litmus files");
}

#[test]
fn every_litmus_file_says_on_which_kernels_it_holds() {
    for f in litmus_files() {
        assert!(!named(&f).is_empty(), "{}", f.display());
    }
}

#[test]
fn every_litmus_file_passes_on_every_spec_it_names() {
    let mut failures = Vec::new();
    for f in litmus_files() {
        for name in named(&f) {
            let sem = load(&name).semantics;
            if let Some(e) = run(&sem, &f) {
                failures.push(format!("{} on {name}: {e}", f.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_file_for_some_kernels_fails_on_the_others() {
    let kernels = kernel_specs();
    assert!(kernels.len() >= 3, "{kernels:?}");
    let mut versioned = 0;
    for f in litmus_files() {
        let named = named(&f);
        for k in kernels.iter().filter(|k| !named.contains(k)) {
            versioned += 1;
            assert!(
                run(&load(k).semantics, &f).is_some(),
                "{} is for {named:?} but passes on {k} too: widen its `# kernels:` header to the series {k} claims",
                f.display()
            );
        }
    }
    assert!(versioned >= 10, "only {versioned} (file, spec) pairs tell versions apart");
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
