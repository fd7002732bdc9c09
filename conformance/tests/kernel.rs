//! The runner against the real kernel: the mainline model agrees with it,
//! a deliberately wrong model does not (so the harness can fail), the
//! litmus files hold on both, and agents die with their runner however it
//! ends, or when they get stuck.

mod common;

use mmflags_conformance::enumerate;
use mmflags_conformance::kernel::HarnessError;
use mmflags_conformance::runner::{Field, Verdict};
use mmflags_model::action::{Call, Ret};
use mmflags_model::flags::{MmfFlags, VmFlags};
use mmflags_model::replay::replay;
use mmflags_model::state::Backing;
use mmflags_model::{Action, Semantics, Sysfs, System, Trace};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

fn actions(lines: &[&str]) -> Vec<Action> {
    lines.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn every_trace_to_depth_two_agrees_with_mainline() {
    let r = common::runner();
    let (sys, left_out) = r.enumerable(&common::system(Semantics::mainline()));
    assert!(left_out.is_some_and(|w| w.contains("--set-sysfs")), "this run may not drive khugepaged");
    let init = common::init(&r);
    let traces = enumerate::exhaustive(&sys, init, 2);
    assert!(traces.len() > 500, "{} traces", traces.len());
    let stop = AtomicBool::new(false);
    let reports = r.compare_all(&sys, init, &traces, 2, &stop, &|_, _| {});
    for (t, rep) in traces.iter().zip(reports) {
        let rep = rep.expect("every trace ran");
        assert_eq!(rep.verdict, Verdict::Agreed, "{t:?}");
        assert_eq!((rep.steps_run, rep.skipped), (t.len(), None), "{t:?}");
    }
}

/// A wrong rule: exec (and fork) keep MCL_FUTURE, because VM_LOCKED is
/// in VM_INIT_DEF_MASK.
fn exec_keeps_mcl_future() -> System {
    let mut sem = Semantics::mainline();
    sem.vm_init_def_mask = sem.vm_init_def_mask.union(VmFlags::VM_LOCKED);
    common::system(sem)
}

#[test]
fn a_wrong_model_rule_is_reported_with_a_replayable_trace() {
    let r = common::runner();
    let sys = exec_keeps_mcl_future();
    let init = common::init(&r);
    let t = actions(&["P0 mlockall(MCL_FUTURE)", "P0 execve(plain)", "P0 mmap()"]);
    let Verdict::Mismatch(m) = r.compare(&sys, init, &t).verdict else {
        panic!("the wrong rule went unnoticed");
    };
    assert_eq!(m.steps.len(), 3, "it shows after the mmap, not before");
    assert_eq!(m.result, None);
    let want = Field {
        action: "P0 vmflags(v0)".parse().unwrap(),
        model: Ret::Flags(VmFlags::VM_LOCKED),
        kernel: Ret::Flags(VmFlags::EMPTY),
    };
    // VM_LOCKED without MCL_ONFAULT populates: the wrong model also
    // expects small pages where the kernel has none.
    let pages = Field {
        action: "P0 pages(v0)".parse().unwrap(),
        model: Ret::Backing(Backing::Small),
        kernel: Ret::Backing(Backing::None),
    };
    assert_eq!(m.observations, vec![want.clone(), pages]);

    // The printed trace replays on the (wrong) model and fails on the kernel.
    let text = m.trace_text();
    let trace = Trace::parse(&text).unwrap();
    let (_, _, err) = replay(&System::replayer(sys.semantics.clone()), &trace, Sysfs::Madvise);
    assert_eq!(err, None, "{text}");
    let lit = r.litmus(&trace);
    let (line, expected, got) = lit.failure.expect("the kernel disagrees");
    assert_eq!((line, expected, got), (5, want.model, want.kernel), "{text}");

    // Enumeration finds it unaided, and only where MCL_FUTURE met fork/exec.
    let (sys, _) = r.enumerable(&sys);
    let traces = enumerate::exhaustive(&sys, init, 3);
    let stop = AtomicBool::new(false);
    let reports = r.compare_all(&sys, init, &traces, 2, &stop, &|_, _| {});
    let found: Vec<_> = reports
        .into_iter()
        .flatten()
        .filter_map(|rep| match rep.verdict {
            Verdict::Mismatch(m) => Some(m),
            _ => None,
        })
        .collect();
    // mlockall(MCL_FUTURE[|MCL_ONFAULT]), then exec (either image) or fork,
    // then a new VMA: the lf variant dedups into the other after exec.
    assert!(found.len() >= 3, "only {} mismatches", found.len());
    for m in &found {
        let calls: Vec<Call> = m.steps.iter().map(|s| s.action.call).collect();
        assert!(calls.iter().any(|c| matches!(c, Call::Fork | Call::Execve(_))), "{}", m.trace_text());
    }
}

/// KSM merge-any and MDWE show only through the process's own GET prctls,
/// which the runner asks after every step: a model that forgets either at
/// fork, or that has no smaps `mg`/`ex`, is caught by the observations of
/// the step where they part, not later.
#[test]
fn merge_any_mdwe_and_their_vma_flags_are_observed_after_every_step() {
    let r = common::runner();
    let init = common::init(&r);
    let mismatch =
        |sem: Semantics, lines: &[&str]| match r.compare(&common::system(sem), init, &actions(lines)).verdict
        {
            Verdict::Mismatch(m) => m,
            v => panic!("the wrong rule went unnoticed: {v:?}"),
        };
    let field = |a: &str, model: Ret, kernel: Ret| Field { action: a.parse().unwrap(), model, kernel };

    // Fork drops merge-any (it is not in the init mask).
    let mut sem = Semantics::mainline();
    sem.mmf_init_mask = sem.mmf_init_mask.difference(MmfFlags::MMF_VM_MERGE_ANY);
    let m = mismatch(sem, &["P0 prctl(PR_SET_MEMORY_MERGE, 1)", "P0 fork()"]);
    assert_eq!(m.steps.len(), 2);
    assert_eq!(m.observations, vec![field("P1 prctl(PR_GET_MEMORY_MERGE)", Ret::Val(0), Ret::Val(1))]);

    // Fork drops MDWE (it is not in the init mask).
    let mut sem = Semantics::mainline();
    sem.mmf_init_mask = sem.mmf_init_mask.difference(MmfFlags::MMF_HAS_MDWE_MASK);
    let m = mismatch(sem, &["P0 prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)", "P0 fork()"]);
    assert_eq!(m.observations, vec![field("P1 prctl(PR_GET_MDWE)", Ret::Val(0), Ret::Val(1))]);

    // A model whose smaps shows no `mg` or `ex`: the kernel's VmFlags do.
    let mut sem = Semantics::mainline();
    sem.smaps_vm_flags = sem.smaps_vm_flags.difference(VmFlags::VM_MERGEABLE.union(VmFlags::VM_EXEC));
    let m = mismatch(sem, &["P0 prctl(PR_SET_MEMORY_MERGE, 1)", "P0 mmap(PROT_READ|PROT_EXEC)"]);
    let both = VmFlags::VM_MERGEABLE.union(VmFlags::VM_EXEC);
    assert_eq!(m.observations, vec![field("P0 vmflags(v0)", Ret::Flags(VmFlags::EMPTY), Ret::Flags(both))]);

    // And the mainline model agrees with all three.
    let sys = common::system(Semantics::mainline());
    for t in [
        &["P0 prctl(PR_SET_MEMORY_MERGE, 1)", "P0 fork()"][..],
        &[
            "P0 prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN|PR_MDWE_NO_INHERIT)",
            "P0 fork()",
            "P1 execve(plain)",
        ],
        &["P0 prctl(PR_SET_MEMORY_MERGE, 1)", "P0 mmap(PROT_READ|PROT_EXEC)", "P0 mprotect(v0, PROT_READ)"],
    ] {
        assert_eq!(r.compare(&sys, init, &actions(t)).verdict, Verdict::Agreed, "{t:?}");
    }
}

/// The litmus files (specs/litmus) whose `# kernels:` header takes this
/// kernel's series and whose `# sysfs:` mode is this machine's: each holds
/// on the mainline model and on the kernel. (The files for other modes run
/// in CI with `check conform --set-sysfs`; those with `khugepaged()` steps
/// in tests/khugepaged.rs, which drives it; every file runs on the model of
/// every spec it names in checker/tests/litmus.rs.)
#[test]
fn the_litmus_files_hold_on_the_model_and_on_the_kernel() {
    let r = common::runner();
    let files = common::litmus_files(&r.machine, |_, t| !common::scans(t));
    assert!(files.len() >= 7, "{files:?}");
    for (f, trace) in &files {
        assert!(trace.steps.iter().all(|(_, s)| s.ret.is_some()), "{}: a step without a result", f.display());
        common::model_agrees(f, trace);
        let lit = r.litmus(trace);
        assert_eq!(lit.failure, None, "{}: the kernel disagrees", f.display());
        assert_eq!((lit.error, &lit.skipped, &lit.inconclusive), (None, &None, &None), "{}", f.display());
        assert_eq!(lit.steps.len(), trace.steps.len());
    }
}

#[test]
fn a_stuck_agent_is_reported_and_killed() {
    let r = common::runner_with(Duration::from_millis(500));
    let mut t = r.tree(3, 2).unwrap();
    let pid = t.hello(0).unwrap().pid;
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let started = Instant::now();
    match t.run(0, &Call::Mmap) {
        Err(HarnessError::Stuck { proc: 0, pid: p, .. }) => assert_eq!(p, pid),
        other => panic!("expected a stuck agent, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(t);
    assert!(gone(pid), "the stuck agent {pid} survived its tree");
}

/// Has `pid` exited (gone, or a zombie nobody has reaped yet)?
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z')),
    }
}

fn all_gone_within(pids: &[i32], d: Duration) -> bool {
    let deadline = Instant::now() + d;
    while Instant::now() < deadline {
        if pids.iter().all(|&p| gone(p)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// In a child process: a runner with three agents, their pids and the
/// runner's images directory printed; then `how` ends it.
fn hold_a_tree(how: &str) {
    let r = common::runner();
    let held = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut t = r.tree(3, 2).unwrap();
        t.run(0, &Call::Fork).unwrap();
        t.run(1, &Call::Fork).unwrap();
        let pids: Vec<String> = (0..3).map(|p| t.hello(p).unwrap().pid.to_string()).collect();
        println!("DIR {}", r.images().dir().display());
        println!("PIDS {}", pids.join(" "));
        if how == "panic" {
            std::panic::set_hook(Box::new(|_| eprintln!("(child runner: panicking on purpose)")));
            panic!("the runner panics while its agents live");
        }
        std::thread::sleep(Duration::from_secs(60));
    }));
    assert!(held.is_err());
    println!("UNWOUND");
    std::thread::sleep(Duration::from_secs(60));
}

/// A runner in a child process (this test binary, one test, acting `how`).
struct ChildRunner {
    proc: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
    pids: Vec<i32>,
    /// Its images directory, which a SIGKILLed runner cannot remove.
    dir: String,
}

impl ChildRunner {
    fn start(test: &str, how: &str) -> ChildRunner {
        let mut proc = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env("MMFLAGS_TEST_CHILD", how)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = BufReader::new(proc.stdout.take().unwrap());
        let mut c = ChildRunner { proc, out, pids: Vec::new(), dir: String::new() };
        c.dir = c.after("DIR ");
        let pids = c.after("PIDS ");
        c.pids = pids.split_whitespace().map(|p| p.parse().unwrap()).collect();
        c
    }

    /// The rest of the next line that holds `tag` (libtest may print
    /// `test NAME ... ` before it on the same line).
    fn after(&mut self, tag: &str) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(self.out.read_line(&mut line).unwrap() > 0, "the child never printed {tag}");
            if let Some(i) = line.find(tag) {
                return line[i + tag.len()..].trim().to_string();
            }
        }
    }

    fn kill(mut self) {
        self.proc.kill().unwrap();
        self.proc.wait().unwrap();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn agents_do_not_outlive_a_killed_runner() {
    if let Ok(how) = std::env::var("MMFLAGS_TEST_CHILD") {
        return hold_a_tree(&how);
    }
    let c = ChildRunner::start("agents_do_not_outlive_a_killed_runner", "kill");
    let pids = c.pids.clone();
    assert!(pids.iter().all(|&p| !gone(p)));
    c.kill(); // SIGKILL: no destructor runs
    assert!(all_gone_within(&pids, Duration::from_secs(5)), "agents {pids:?} outlived a SIGKILLed runner");
}

#[test]
fn agents_do_not_outlive_a_panic() {
    if let Ok(how) = std::env::var("MMFLAGS_TEST_CHILD") {
        return hold_a_tree(&how);
    }
    let mut c = ChildRunner::start("agents_do_not_outlive_a_panic", "panic");
    c.after("UNWOUND");
    // The runner process lives on: only the tree's drop can have killed them.
    let ok = all_gone_within(&c.pids, Duration::from_secs(5));
    let pids = c.pids.clone();
    c.kill();
    assert!(ok, "agents {pids:?} outlived the panic");
}
