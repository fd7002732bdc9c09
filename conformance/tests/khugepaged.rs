//! khugepaged() on this machine's real khugepaged. It changes knobs of the
//! whole machine, so each test first holds the THP mode lock exclusively
//! (as `--set-sysfs` does: no other conformance run relies on the machine
//! meanwhile) and checks afterwards that every knob is back. The
//! `khugepaged-*.litmus` files (specs/litmus) this kernel's series takes
//! must agree with the model at every step, every observation included,
//! and so must random walks that scan and an emitted C program.
//!
//! Two differences this test once pinned are modelled now, each with its
//! litmus file: 6.18 collapses small pages a fork left write-protected once
//! no one else maps them (`collapse_write_protected`;
//! khugepaged-write-protected.litmus and its -before-6.18 twin), and an mm
//! is registered only through a VMA with an `anon_vma`
//! (khugepaged-registration.litmus).

mod common;

use mmflags_conformance::enumerate;
use mmflags_conformance::khugepaged::{PAGES_TO_SCAN, PARKED_SCAN_SLEEP_MS};
use mmflags_conformance::machine::{Machine, THP_DIR};
use mmflags_conformance::runner::{Tally, Verdict};
use mmflags_conformance::sysfs_guard::KHUGEPAGED_KNOBS;
use mmflags_model::action::Call;
use mmflags_model::{Action, Semantics, State, Sysfs, System, Trace};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(900);

/// The knobs a run changes, as they are now.
fn knobs() -> Vec<String> {
    KHUGEPAGED_KNOBS
        .iter()
        .map(|k| {
            std::fs::read_to_string(Path::new(THP_DIR).join("khugepaged").join(k)).unwrap().trim().into()
        })
        .collect()
}

fn files(m: &Machine) -> Vec<(PathBuf, Trace)> {
    let f = common::litmus_files(m, |name, t| name.starts_with("khugepaged-") && common::scans(t));
    assert!(f.len() >= 4, "{f:?}");
    f
}

fn verdict_ok(what: &str, v: &Verdict) {
    match v {
        Verdict::Agreed => {}
        Verdict::Mismatch(m) => panic!("{what}: the kernel differs:\n{}", m.trace_text()),
        Verdict::Inconclusive(i) => panic!("NOT DECIDED (counted as failed): {what}: {}", i.trace_text()),
        Verdict::Error { step, err } => panic!("{what}: harness error at step {}: {err}", step + 1),
    }
}

/// What the runner saved under the exclusive lock, before it changed
/// anything: what must come back. (Parked values there would mean another
/// run left them changed.)
fn saved(r: &mmflags_conformance::runner::Runner) -> Vec<String> {
    let k = r.khugepaged().expect("root, owning the mode: khugepaged is driven");
    let v: Vec<String> = k.original().iter().map(|(_, v)| v.clone()).collect();
    assert_ne!(v[2], PARKED_SCAN_SLEEP_MS.to_string(), "khugepaged was left parked by another run");
    v
}

#[test]
fn khugepaged_steps_agree_with_the_model_and_its_knobs_come_back() {
    let mut r = common::runner();
    r.own_the_mode(PATIENCE, &|w| eprintln!("{w}")).unwrap();
    let before = saved(&r);
    let k = r.khugepaged().unwrap();
    eprintln!("khugepaged knobs held; by hand: {}", k.by_hand());
    let parked = knobs();
    assert_eq!(parked, [PAGES_TO_SCAN.to_string(), "0".into(), PARKED_SCAN_SLEEP_MS.to_string()]);
    let init = common::init(&r);
    assert_eq!(init.sysfs, Sysfs::Madvise, "the traces are written for madvise");

    // The written traces: every result as written, then every observation
    // of every process after every step as the model predicts.
    let model = System::replayer(Semantics::mainline());
    for (f, trace) in files(&r.machine) {
        common::model_agrees(&f, &trace);
        let lit = r.litmus(&trace);
        assert!(lit.passed(), "{}: {lit:?}", f.display());
        if !trace.holds_on(common::MODEL_SERIES) {
            continue;
        }
        let actions: Vec<Action> = trace.steps.iter().map(|(_, s)| s.action).collect();
        let rep = r.compare(&model, init, &actions);
        verdict_ok(&f.display().to_string(), &rep.verdict);
        assert_eq!(rep.steps_run, actions.len());
    }

    // Random walks of the mainline spec's bounds with khugepaged() in them,
    // two at a time (a walk that scans runs alone).
    let (sys, left_out) = r.enumerable(&common::system(Semantics::mainline()));
    assert_eq!(left_out, None, "this run drives khugepaged: nothing is left out");
    let walks: Vec<Vec<Action>> = enumerate::random_walks(&sys, init, 40, 3, 10, 20)
        .into_iter()
        .filter(|w| w.iter().any(|a| a.call == Call::Khugepaged))
        .take(8)
        .collect();
    assert!(walks.len() >= 4, "{} walks scan", walks.len());
    let started = Instant::now();
    let stop = AtomicBool::new(false);
    let reports = r.compare_all(&sys, init, &walks, 2, &stop, &|_, _| {});
    let reports: Vec<_> = reports.into_iter().map(|r| r.expect("every walk ran")).collect();
    for (w, rep) in walks.iter().zip(&reports) {
        let lines: Vec<String> = w.iter().map(|a| a.to_string()).collect();
        verdict_ok(&lines.join("; "), &rep.verdict);
        assert_eq!((rep.steps_run, &rep.skipped), (w.len(), &None));
    }
    let t = Tally::of(&reports);
    assert_eq!((t.agreed, t.inconclusive, t.errors), (walks.len(), 0, 0), "{t:?}");
    let st = r.khugepaged().unwrap().stats();
    eprintln!(
        "khugepaged: {} scans, {} idle, {:.3} s in all, {:.3} s at most, {:.3} s a scan, {} full scans \
         counted, {} pages collapsed (any process); walks took {:.1} s",
        st.scans,
        st.idle,
        st.total.as_secs_f64(),
        st.max.as_secs_f64(),
        st.total.as_secs_f64() / st.scans.max(1) as f64,
        st.full_scans,
        st.pages_collapsed,
        started.elapsed().as_secs_f64()
    );
    assert!(st.scans >= 8, "{st:?}");

    // Parked between steps, and put back when the runner goes.
    assert_eq!(knobs(), parked);
    drop(r);
    assert_eq!(knobs(), before, "khugepaged's knobs were not restored");
}

#[test]
fn an_emitted_program_drives_khugepaged_and_puts_its_knobs_back() {
    let mut lock = common::lock();
    lock.exclusive(PATIENCE, &|w| eprintln!("{w}")).unwrap();
    let before = knobs();
    let m = common::machine();
    let sys = common::system(Semantics::mainline());
    let init = State::init(m.sysfs);
    let (_, trace) =
        files(&m).into_iter().find(|(f, _)| f.ends_with("khugepaged-registered.litmus")).unwrap();
    let actions: Vec<Action> = trace.steps.iter().map(|(_, s)| s.action).collect();
    let walk = enumerate::walk(&sys, init, &actions).expect("the model takes the trace");
    let dir = common::tmpdir("khugepaged");
    let (code, out) = common::build_and_run(&dir, "khugepaged", &walk, &sys);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("not ok") && out.contains("khugepaged() = 0"), "{out}");
    assert!(out.contains("# khugepaged's knobs are restored at exit"), "{out}");
    assert_eq!(knobs(), before, "the program did not restore khugepaged's knobs:\n{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
