//! What the kernel tests share: the machine they need (root on a kernel
//! the model describes), a runner over the agent binary cargo built, and
//! the mainline model at the spec's bounds in this machine's THP mode.
//!
//! A test that cannot run here fails with the reason; it never passes by
//! skipping.

#![allow(dead_code)]

use mmflags_conformance::emit_c;
use mmflags_conformance::machine::Machine;
use mmflags_conformance::mode_lock::ModeLock;
use mmflags_conformance::runner::Runner;
use mmflags_model::action::Call;
use mmflags_model::parse::Series;
use mmflags_model::{alphabet, Bounds, Semantics, State, Sysfs, System, Trace, Walk};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub fn machine() -> Machine {
    let m = Machine::probe().unwrap_or_else(|e| panic!("NOT RUN (counted as failed): {e}"));
    if let Some(why) = &m.unprivileged_because {
        panic!("NOT RUN (counted as failed): these tests need root ({why}); run them as root");
    }
    assert!(
        m.problems.is_empty(),
        "NOT RUN (counted as failed): this machine is not the model's: {:?}",
        m.problems
    );
    m
}

/// The machine's THP-mode lock, shared, taken before the machine is read.
pub fn lock() -> ModeLock {
    ModeLock::shared(Duration::from_secs(600), &|w| eprintln!("{w}")).expect("THP mode lock")
}

pub fn runner() -> Runner {
    runner_with(Duration::from_secs(10))
}

pub fn runner_with(timeout: Duration) -> Runner {
    let lock = lock();
    let agent = Path::new(env!("CARGO_BIN_EXE_mmflags-agent"));
    let r = Runner::new(agent, machine(), timeout, lock).expect("runner");
    r.selftest().expect("agent self-test");
    r
}

/// The model at linux-6.18's bounds (3 processes x 2 VMAs) under `sem`.
pub fn system(sem: Semantics) -> System {
    let bounds = Bounds { processes: 3, vmas: 2, sysfs: Vec::new(), depth: None };
    let calls = alphabet::candidates(&sem, 3, 2);
    System::new(sem, bounds, calls, Vec::new())
}

/// The litmus files (specs/litmus) whose `# kernels:` header takes this
/// machine's series and whose `# sysfs:` mode is its mode, those `keep`
/// takes (by file name and steps), sorted by name.
pub fn litmus_files(m: &Machine, keep: impl Fn(&str, &Trace) -> bool) -> Vec<(PathBuf, Trace)> {
    let series = Series::of_release(&m.kernel).expect("the kernel's series");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/litmus");
    let mut files: Vec<(PathBuf, Trace)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "litmus"))
        .map(|p| {
            let t = Trace::parse(&std::fs::read_to_string(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, t)
        })
        .filter(|(p, t)| {
            let name = p.file_name().unwrap().to_string_lossy();
            t.holds_on(series) && t.sysfs.unwrap_or(Sysfs::Madvise) == m.sysfs && keep(&name, t)
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// The series `Semantics::mainline()` is (the model these tests replay a
/// file on besides the kernel).
pub const MODEL_SERIES: Series = Series { major: 6, minor: 18 };

/// The mainline model agrees with every written result of `t`, when `t`'s
/// range holds on the model's series. (A file for another series only,
/// met on a host of that series, is replayed on its own spec by
/// checker/tests/litmus.rs; here it runs on the kernel alone.)
pub fn model_agrees(f: &Path, t: &Trace) {
    if t.holds_on(MODEL_SERIES) {
        let model = System::replayer(Semantics::mainline());
        let (_, _, err) = mmflags_model::replay::replay(&model, t, t.sysfs.unwrap_or(Sysfs::Madvise));
        assert_eq!(err, None, "{}: the model disagrees with the file", f.display());
    }
}

/// Does `t` have a `khugepaged()` step (so it needs khugepaged driven)?
pub fn scans(t: &Trace) -> bool {
    t.steps.iter().any(|(_, s)| s.action.call == Call::Khugepaged)
}

pub fn init(r: &Runner) -> State {
    State::init(r.machine.sysfs)
}

/// A fresh directory for this test process.
pub fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mmflags-emit-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Compiles `walk`'s C program in `dir` and runs it; its exit status and output.
pub fn build_and_run(dir: &Path, name: &str, walk: &Walk, sys: &System) -> (i32, String) {
    let c = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&c, emit_c::program(walk, sys, name)).unwrap();
    let cc = Command::new("gcc")
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(&c)
        .output()
        .expect("gcc");
    assert!(cc.status.success(), "{name}.c does not compile:\n{}", String::from_utf8_lossy(&cc.stderr));
    let run = Command::new(&exe).output().expect("run");
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    (run.status.code().unwrap_or(-1), out)
}
