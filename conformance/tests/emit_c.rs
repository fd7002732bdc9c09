//! The emitted C programs compile with gcc and pass on this kernel for
//! model traces (random walks through every call), and fail when the
//! model they were made from is wrong.

mod common;

use common::{build_and_run, tmpdir};
use mmflags_conformance::enumerate;
use mmflags_model::flags::VmFlags;
use mmflags_model::{Semantics, State, System, Walk};

/// Random walks through every call but those that make a task share the
/// mm (vfork, clone), which the C runtime does not run (`emit_c::unsupported`).
fn walks(sys: &System, init: State, n: usize, seed: u64) -> Vec<Walk> {
    let mut sys = sys.clone();
    sys.alphabet.retain(|c| !c.is_sharing_call());
    let sys = &sys;
    enumerate::random_walks(sys, init, n, seed, 10, 20)
        .iter()
        .map(|t| enumerate::walk(sys, init, t).expect("a model walk replays"))
        .collect()
}

#[test]
fn emitted_programs_pass_on_this_kernel() {
    let r = common::runner();
    // No khugepaged() steps: this run does not own the THP mode (see
    // tests/khugepaged.rs for a program that drives khugepaged).
    let (sys, _) = r.enumerable(&common::system(Semantics::mainline()));
    let dir = tmpdir("pass");
    let init = common::init(&r);
    // linux-6.18's counterexample to secure_exec_inherits_nothing (what
    // `check trace linux-6.18 secure_exec_inherits_nothing --emit-c`
    // emits), then random walks through every call.
    let cex: Vec<_> = ["P0 setresuid(user)", "P0 prctl(PR_SET_THP_DISABLE, 1, 0)", "P0 execve(setuid-root)"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    // The policy calls, each at least once: merge-any, protections, MDWE
    // with NO_INHERIT (a fork child without it), the KSM advice.
    let policies: Vec<_> = [
        "P0 prctl(PR_SET_MEMORY_MERGE, 1)",
        "P0 mmap(PROT_READ|PROT_EXEC)",
        "P0 mprotect(v0, PROT_READ|PROT_WRITE)",
        "P0 touch(v0)",
        "P0 prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN|PR_MDWE_NO_INHERIT)",
        "P0 mprotect(v0, PROT_READ|PROT_EXEC)",
        "P0 mmap(PROT_READ|PROT_WRITE|PROT_EXEC)",
        "P0 fork()",
        "P1 mmap(PROT_READ|PROT_WRITE|PROT_EXEC)",
        "P0 madvise(v0, MADV_UNMERGEABLE)",
        "P1 prctl(PR_SET_MEMORY_MERGE, 0)",
        "P1 madvise(v1, MADV_MERGEABLE)",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let mut ws =
        vec![enumerate::walk(&sys, init, &cex).unwrap(), enumerate::walk(&sys, init, &policies).unwrap()];
    ws.extend(walks(&sys, init, 24, 11));
    // A trace with a task that shares the mm is refused, not mistranslated.
    let vfork = enumerate::walk(&sys, init, &["P0 vfork()".parse().unwrap()]).unwrap();
    assert!(mmflags_conformance::emit_c::unsupported(&vfork).is_some());
    for (i, w) in ws.iter().enumerate() {
        let (code, out) = build_and_run(&dir, &format!("walk{i}"), w, &sys);
        assert_eq!(code, 0, "walk {i} failed on the kernel:\n{}\n{out}", w.lines().join("\n"));
        assert!(!out.contains("not ok"), "{out}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_emitted_program_fails_when_the_model_was_wrong() {
    let r = common::runner();
    // A wrong rule: exec keeps MCL_FUTURE (VM_LOCKED survives mm_init).
    let mut sem = Semantics::mainline();
    sem.vm_init_def_mask = sem.vm_init_def_mask.union(VmFlags::VM_LOCKED);
    let sys = common::system(sem);
    let actions: Vec<_> = ["P0 mlockall(MCL_FUTURE)", "P0 execve(plain)", "P0 mmap()"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let w = enumerate::walk(&sys, common::init(&r), &actions).unwrap();
    let dir = tmpdir("fail");
    let (code, out) = build_and_run(&dir, "wrong", &w, &sys);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not ok 3 P0 mmap() = v0 # then P0 vmflags(v0) = [], expected [lo];"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
