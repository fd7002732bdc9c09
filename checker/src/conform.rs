//! `check conform`: does the model of Linux 6.18 agree with the kernel it
//! runs on? Either runs written traces (`--trace FILE...`: litmus files,
//! each written result must be what the kernel returns), or enumerates
//! traces from the mainline spec (every trace up to `--depth`, then
//! `--walks` seeded random walks) and compares every step's result and every
//! live process's observations with the model's.
//!
//! The conformance crate does the work and returns data; this module
//! decides what runs, prints progress, mismatches and the summary, and
//! picks the exit code: 0 all agreed, 1 a mismatch, 2 bad input, 3
//! inconclusive (something skipped, a harness error, an interrupt, or a
//! machine unlike the one the model describes).

use clap::Args;
use mmflags_checker::{run as specs, spec};
use mmflags_conformance::enumerate;
use mmflags_conformance::machine::{Machine, THP_DIR};
use mmflags_conformance::runner::{LitmusReport, Mismatch, Runner, TraceReport, Verdict};
use mmflags_conformance::sysfs_guard::SysfsGuard;
use mmflags_model::{Action, State, Sysfs, Trace};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// With the default depth, about two minutes on two cores.
const DEFAULT_WALKS: usize = 14000;

#[derive(Args)]
pub struct ConformArgs {
    /// Run these trace or litmus files on the kernel instead of
    /// enumerating; each result written in a file must be the kernel's.
    #[arg(long = "trace", value_name = "FILE", num_args = 1..)]
    traces: Vec<PathBuf>,
    /// The model traces come from and are compared with.
    #[arg(long, default_value = "linux-6.18")]
    spec: String,
    /// Run every trace of the model up to this many steps.
    #[arg(long, default_value_t = 3)]
    depth: usize,
    /// Then this many random walks of 10 to 20 steps.
    #[arg(long, default_value_t = DEFAULT_WALKS)]
    walks: usize,
    /// Seed of the random walks (the same seed runs the same walks).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Process trees run at once (default: all cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Seconds an agent may take to answer before it counts as stuck.
    #[arg(long, default_value_t = 10.0)]
    step_timeout: f64,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    json: bool,
    /// Switch the system-wide THP mode to each mode the spec (or a trace's
    /// `# sysfs:` header) needs, restoring it on every way out. Without
    /// this flag the mode is only read, and traces needing another mode
    /// are skipped.
    #[arg(long)]
    set_sysfs: bool,
    /// The agent binary (default: `mmflags-agent` beside this executable).
    #[arg(long)]
    agent: Option<PathBuf>,
}

/// Human output: stdout normally, stderr when stdout carries JSON.
struct Out {
    json: bool,
}

impl Out {
    fn say(&self, s: &str) {
        if self.json {
            eprintln!("{s}");
        } else {
            println!("{s}");
        }
    }
}

fn inconclusive(out: &Out, msg: &str) -> ExitCode {
    out.say(&format!("conform: INCONCLUSIVE: {msg}"));
    ExitCode::from(3)
}

pub fn run(a: &ConformArgs, interrupt: Arc<AtomicBool>) -> ExitCode {
    let out = Out { json: a.json };
    if !(a.step_timeout > 0.0 && a.step_timeout.is_finite()) || a.jobs == Some(0) {
        eprintln!("error: --step-timeout must be positive and --jobs at least 1");
        return ExitCode::from(2);
    }
    let machine = match Machine::probe() {
        Ok(m) => m,
        Err(e) => {
            return inconclusive(
                &out,
                &format!("cannot read this machine's THP settings: {e}"),
            )
        }
    };
    let sizes: Vec<String> = machine
        .sizes
        .iter()
        .map(|(n, m)| format!("{}={m}", n.trim_start_matches("hugepages-")))
        .collect();
    out.say(&format!(
        "conform: kernel {}, {THP_DIR}/enabled = {}, per-size: {}",
        machine.kernel,
        machine.sysfs,
        sizes.join(" ")
    ));
    if !machine.problems.is_empty() {
        for p in &machine.problems {
            out.say(&format!("conform: REFUSED: {p}"));
        }
        return inconclusive(
            &out,
            "this machine is not the one the model describes; nothing was run",
        );
    }
    if let Some(why) = &machine.unprivileged_because {
        out.say(&format!(
            "conform: NOT ROOT ({why}): steps that need root (setuid-root exec, setresuid, remote \
             process_madvise) are SKIPPED and counted; the run cannot pass"
        ));
    }
    let agent = match a.agent.clone().or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|d| d.join("mmflags-agent")))
    }) {
        Some(p) => p,
        None => return inconclusive(&out, "cannot locate the agent binary; pass --agent"),
    };
    let runner = match Runner::new(&agent, machine, Duration::from_secs_f64(a.step_timeout)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if runner.user_keeps() != 0 {
        out.say(&format!(
            "conform: RLIMIT_MEMLOCK is capped at {} KiB and cannot be lifted (no CAP_SYS_RESOURCE); \
             the model assumes no limit, so setresuid(user) keeps CAP_IPC_LOCK, which every mlock \
             check treats as no limit, and drops every other capability",
            runner.machine.memlock_hard.unwrap_or(0) / 1024
        ));
    }
    if let Err(e) = runner.selftest() {
        return inconclusive(&out, &format!("agent self-test failed: {e}"));
    }
    let guard = if a.set_sysfs {
        match SysfsGuard::new(Path::new(THP_DIR)) {
            Ok(g) => {
                out.say(&format!(
                    "conform: --set-sysfs: the THP mode will be switched and restored to `{}` \
                     (by hand, if this process is SIGKILLed: echo {} > {THP_DIR}/enabled)",
                    g.original, g.original
                ));
                Some(g)
            }
            Err(e) => return inconclusive(&out, &e),
        }
    } else {
        None
    };
    let code = if a.traces.is_empty() {
        enumerate_and_compare(a, &runner, guard.as_ref(), &interrupt, &out)
    } else {
        run_files(a, &runner, guard.as_ref(), &out)
    };
    drop(guard);
    code
}

/// Puts the system in `mode` if it is not there and we may; `false` if
/// traces for `mode` must be skipped.
fn ensure_mode(runner: &Runner, guard: Option<&SysfsGuard>, mode: Sysfs) -> Result<bool, String> {
    let now = mmflags_conformance::machine::read_sysfs_mode(Path::new(THP_DIR))?;
    if now == mode {
        return Ok(true);
    }
    match guard {
        None if runner.machine.sysfs == now => Ok(false),
        None => Err(format!(
            "the THP mode changed under the run: `{}` at start, `{now}` now",
            runner.machine.sysfs
        )),
        Some(g) => {
            g.set(mode)?;
            Ok(true)
        }
    }
}

/// The trace file as a replayable text, with the kernel's results.
fn litmus_text(rep: &LitmusReport) -> String {
    rep.steps.iter().map(|(_, s)| format!("{s}\n")).collect()
}

fn run_files(a: &ConformArgs, runner: &Runner, guard: Option<&SysfsGuard>, out: &Out) -> ExitCode {
    let (mut failed, mut skipped, mut errors, mut steps) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for file in &a.traces {
        let trace = match std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|t| Trace::parse(&t).map_err(|e| e.to_string()))
        {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}:{e}", file.display());
                return ExitCode::from(2);
            }
        };
        let f = file.display().to_string();
        // Like `check replay`: a trace without a header means `madvise`.
        let mode = trace.sysfs.unwrap_or(Sysfs::Madvise);
        match ensure_mode(runner, guard, mode) {
            Err(e) => return inconclusive(out, &e),
            Ok(false) => {
                let why = format!(
                    "needs sysfs `{mode}`, this machine is `{}` (--set-sysfs switches it)",
                    runner.machine.sysfs
                );
                out.say(&format!("{f}: SKIPPED: {why}"));
                skipped.push(json!({"file": f, "steps": trace.steps.len(), "reason": why}));
                continue;
            }
            Ok(true) => {}
        }
        let rep = runner.litmus(&trace);
        steps += rep.steps.len();
        if !a.json {
            print!("# {f} on the kernel (sysfs {mode})\n{}", litmus_text(&rep));
        }
        if let Some((line, expected, got)) = rep.failure {
            let step = rep
                .steps
                .last()
                .map(|(_, s)| s.action.to_string())
                .unwrap_or_default();
            out.say(&format!(
                "{f}:{line}: `{step}` returned {got} on the kernel, the trace expects {expected}"
            ));
            failed.push(json!({"file": f, "line": line, "call": step, "expected": expected.to_string(), "kernel": got.to_string()}));
        } else if let Some((line, e)) = &rep.error {
            out.say(&format!("{f}:{line}: ERROR: {e}"));
            if matches!(e, mmflags_conformance::kernel::HarnessError::BadStep(_)) {
                return ExitCode::from(2);
            }
            errors.push(json!({"file": f, "line": line, "error": e.to_string()}));
        } else if let Some((n, why)) = &rep.skipped {
            out.say(&format!("{f}: {n} steps SKIPPED: {why}"));
            skipped.push(json!({"file": f, "steps": n, "reason": why}));
        } else {
            out.say(&format!(
                "{f}: {} steps, every written result matched",
                rep.steps.len()
            ));
        }
    }
    let summary = format!(
        "conform: {} files, {steps} steps: {} failed, {} skipped, {} errors",
        a.traces.len(),
        failed.len(),
        skipped.len(),
        errors.len()
    );
    out.say(&summary);
    if a.json {
        let v = json!({"traces": a.traces.len(), "steps": steps, "mismatches": failed, "skipped": skipped,
            "errors": errors, "kernel": runner.machine.kernel, "sysfs": runner.machine.sysfs.name()});
        println!("{}", serde_json::to_string_pretty(&v).expect("JSON"));
    }
    exit_code(
        !failed.is_empty(),
        !skipped.is_empty() || !errors.is_empty(),
        out,
    )
}

fn exit_code(mismatch: bool, incomplete: bool, out: &Out) -> ExitCode {
    if mismatch {
        ExitCode::from(1)
    } else if incomplete {
        inconclusive(out, "not every step was run and compared")
    } else {
        ExitCode::SUCCESS
    }
}

/// Where a trace came from, for the reader.
#[derive(Clone, Copy)]
enum Origin {
    Exhaustive,
    Walk(usize),
}

fn mismatch_json(m: &Mismatch, origin: Origin) -> Value {
    let fields: Vec<Value> = m
        .result
        .iter()
        .chain(&m.observations)
        .map(|f| json!({"call": f.action.to_string(), "model": f.model.to_string(), "kernel": f.kernel.to_string()}))
        .collect();
    json!({
        "origin": origin_name(origin),
        "sysfs": m.sysfs.name(),
        "trace": m.steps.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "line": m.steps.len(),
        "fields": fields,
        "text": m.trace_text(),
    })
}

fn origin_name(o: Origin) -> String {
    match o {
        Origin::Exhaustive => "exhaustive".into(),
        Origin::Walk(i) => format!("walk {i}"),
    }
}

fn lines(t: &[Action]) -> Vec<String> {
    t.iter().map(|a| a.to_string()).collect()
}

fn enumerate_and_compare(
    a: &ConformArgs,
    runner: &Runner,
    guard: Option<&SysfsGuard>,
    interrupt: &AtomicBool,
    out: &Out,
) -> ExitCode {
    let spec = match specs::resolve(&a.spec).and_then(|f| spec::load(&f)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let sys = spec.system();
    let jobs = a.jobs.unwrap_or_else(specs::RunConfig::default_threads);
    let start = Instant::now();
    let (mut traces_run, mut steps) = (0usize, 0usize);
    let (mut mismatches, mut skipped, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let mut modes_run = Vec::new();
    for &mode in &spec.bounds.sysfs {
        match ensure_mode(runner, guard, mode) {
            Err(e) => return inconclusive(out, &e),
            Ok(false) => {
                // Enumeration asks about this machine's mode; the others
                // are a question for --set-sysfs, not skipped steps.
                out.say(&format!("conform: sysfs `{mode}` is not this machine's mode: not enumerated (--set-sysfs switches to it)"));
                continue;
            }
            Ok(true) => {}
        }
        let init = State::init(mode);
        let mut plan: Vec<(Origin, Vec<Action>)> = enumerate::exhaustive(&sys, init, a.depth)
            .into_iter()
            .map(|t| (Origin::Exhaustive, t))
            .collect();
        let exhaustive = plan.len();
        plan.extend(
            enumerate::random_walks(&sys, init, a.walks, a.seed, 10, 20)
                .into_iter()
                .enumerate()
                .map(|(i, t)| (Origin::Walk(i), t)),
        );
        modes_run.push(mode.name());
        out.say(&format!(
            "conform: spec {} ({} processes x {} VMAs), sysfs {mode}: {exhaustive} traces up to depth {}, \
             {} random walks of 10-20 steps (seed {}), {jobs} at a time",
            spec.name, sys.bounds.processes, sys.bounds.vmas, a.depth, a.walks, a.seed
        ));
        let traces: Vec<Vec<Action>> = plan.iter().map(|(_, t)| t.clone()).collect();
        let bad = AtomicUsize::new(0);
        let shown = Mutex::new(Instant::now());
        let tty = std::io::stderr().is_terminal();
        let total = traces.len();
        let progress = |done: usize, r: &TraceReport| {
            if !matches!(r.verdict, Verdict::Agreed) || r.skipped.is_some() {
                bad.fetch_add(1, Ordering::Relaxed);
            }
            let mut last = shown.lock().expect("no poisoned lock");
            let step = (total / 10).max(1);
            if (tty && last.elapsed() >= Duration::from_millis(250))
                || (!tty && done.is_multiple_of(step))
                || done == total
            {
                *last = Instant::now();
                let end = if tty && done != total { "\r" } else { "\n" };
                eprint!(
                    "conform: {done}/{total} traces, {} not agreed, {:.0}s{end}",
                    bad.load(Ordering::Relaxed),
                    start.elapsed().as_secs_f64()
                );
            }
        };
        let reports = runner.compare_all(&sys, init, &traces, jobs, interrupt, &progress);
        for ((origin, t), rep) in plan.iter().zip(reports) {
            let Some(rep) = rep else { continue };
            traces_run += 1;
            steps += rep.steps_run;
            if let Some((n, why)) = &rep.skipped {
                skipped.push((lines(t), *n, why.clone()));
            }
            match rep.verdict {
                Verdict::Agreed => {}
                Verdict::Mismatch(m) => mismatches.push((*origin, m)),
                Verdict::Error { step, err } => errors.push((lines(t), step, err.to_string())),
            }
        }
        if interrupt.load(Ordering::Relaxed) {
            break;
        }
    }
    if guard.is_none() {
        if let Err(e) = ensure_mode(runner, None, runner.machine.sysfs) {
            errors.push((Vec::new(), 0, e));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    report(
        out,
        a,
        runner,
        traces_run,
        steps,
        &mismatches,
        &skipped,
        &errors,
        &modes_run,
        secs,
    );
    if interrupt.load(Ordering::Relaxed) {
        return inconclusive(out, "interrupted");
    }
    exit_code(
        !mismatches.is_empty(),
        !skipped.is_empty() || !errors.is_empty() || modes_run.is_empty(),
        out,
    )
}

#[allow(clippy::too_many_arguments)]
fn report(
    out: &Out,
    a: &ConformArgs,
    runner: &Runner,
    traces: usize,
    steps: usize,
    mismatches: &[(Origin, Mismatch)],
    skipped: &[(Vec<String>, usize, String)],
    errors: &[(Vec<String>, usize, String)],
    modes: &[&str],
    secs: f64,
) {
    for (origin, m) in mismatches.iter().take(if a.json { 0 } else { 20 }) {
        println!("\nMISMATCH ({}):\n{}", origin_name(*origin), m.trace_text());
    }
    if mismatches.len() > 20 && !a.json {
        println!(
            "... and {} more mismatches (--json lists them all)",
            mismatches.len() - 20
        );
    }
    let mut reasons: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for (_, n, why) in skipped {
        let e = reasons.entry(why.as_str()).or_default();
        e.0 += 1;
        e.1 += n;
    }
    for (why, (t, n)) in &reasons {
        out.say(&format!("conform: SKIPPED {n} steps in {t} traces: {why}"));
    }
    for (t, step, e) in errors.iter().take(10) {
        out.say(&format!(
            "conform: ERROR at step {} of [{}]: {e}",
            step + 1,
            t.join("; ")
        ));
    }
    let skipped_steps: usize = skipped.iter().map(|s| s.1).sum();
    out.say(&format!(
        "conform: {traces} traces, {steps} steps compared in {secs:.1}s: {} mismatches, {skipped_steps} steps skipped, {} errors",
        mismatches.len(),
        errors.len()
    ));
    if a.json {
        let v = json!({
            "traces": traces,
            "steps": steps,
            "mismatches": mismatches.iter().map(|(o, m)| mismatch_json(m, *o)).collect::<Vec<_>>(),
            "skipped": skipped.iter().map(|(t, n, why)| json!({"trace": t, "steps": n, "reason": why})).collect::<Vec<_>>(),
            "errors": errors.iter().map(|(t, s, e)| json!({"trace": t, "step": s + 1, "error": e})).collect::<Vec<_>>(),
            "kernel": runner.machine.kernel,
            "sysfs": runner.machine.sysfs.name(),
            "modes": modes,
            "spec": a.spec,
            "depth": a.depth,
            "walks": a.walks,
            "seed": a.seed,
            "seconds": secs,
        });
        println!("{}", serde_json::to_string_pretty(&v).expect("JSON"));
    }
}
