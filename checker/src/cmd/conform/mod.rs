//! `check conform`: does the model agree with the kernel it runs on (the
//! spec that claims the kernel's series, or `--spec`)? Either runs written traces (`--trace FILE...`: litmus files,
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

pub(crate) mod guest;
mod model_traces;
mod trace_files;

use clap::Args;
use mmflags_checker::kernels::claiming;
use mmflags_conformance::machine::{Machine, THP_DIR};
use mmflags_conformance::mode_lock::ModeLock;
use mmflags_conformance::runner::Runner;
use mmflags_conformance::sysfs_guard::SysfsGuard;
use mmflags_model::parse::Series;
use mmflags_model::Sysfs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// With the default depth, about two minutes on two cores.
const DEFAULT_WALKS: usize = 14000;
/// How long to wait for other conformance runs on this machine.
const LOCK_PATIENCE_SECS: u64 = 900;

#[derive(Args)]
pub struct ConformArgs {
    /// Run these trace or litmus files on the kernel instead of
    /// enumerating; each result written in a file must be the kernel's.
    #[arg(long = "trace", value_name = "FILE", num_args = 1..)]
    pub(crate) traces: Vec<PathBuf>,
    /// The model traces come from and are compared with (default: the
    /// spec that claims the kernel's series, `[spec] kernels`).
    #[arg(long)]
    pub(crate) spec: Option<String>,
    /// Run on this kernel series (`6.12`, see kernels.toml), booted under
    /// qemu with the runner inside as root; `host` (the default) is the
    /// running kernel.
    #[arg(long, value_name = "SERIES")]
    pub(crate) kernel: Option<String>,
    /// Enumerate only these THP modes (default: every mode the spec lists
    /// that this machine may use). Repeat for more than one.
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    pub(crate) sysfs: Vec<Sysfs>,
    /// Seconds a guest may run before it is killed (with --kernel).
    #[arg(long, default_value_t = 7200)]
    pub(crate) guest_timeout: u64,
    /// Run every trace of the model up to this many steps.
    #[arg(long, default_value_t = 3)]
    pub(crate) depth: usize,
    /// Then this many random walks of 10 to 20 steps.
    #[arg(long, default_value_t = DEFAULT_WALKS)]
    pub(crate) walks: usize,
    /// Seed of the random walks (the same seed runs the same walks).
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Process trees run at once (default: all cores).
    #[arg(long)]
    pub(crate) jobs: Option<usize>,
    /// Seconds an agent may take to answer before it counts as stuck.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) step_timeout: f64,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also write the JSON summary to this file, keeping the human output
    /// on stdout (how a guest sends it back over its second serial port).
    #[arg(long, value_name = "FILE", hide = true)]
    pub(crate) json_to: Option<PathBuf>,
    /// Switch the system-wide THP mode to each mode the spec (or a trace's
    /// `# sysfs:` header) needs, restoring it on every way out. Without
    /// this flag the mode is only read, and traces needing another mode
    /// are skipped.
    #[arg(long)]
    pub(crate) set_sysfs: bool,
    /// The agent binary (default: `mmflags-agent` beside this executable;
    /// with --kernel, the statically linked agent the project builds).
    #[arg(long)]
    pub(crate) agent: Option<PathBuf>,
}

/// Human output: stdout normally, stderr when stdout carries JSON.
pub(crate) struct Out {
    pub(crate) json: bool,
}

impl Out {
    pub(crate) fn say(&self, s: &str) {
        if self.json {
            eprintln!("{s}");
        } else {
            println!("{s}");
        }
    }
}

fn parse_mode(s: &str) -> Result<Sysfs, String> {
    Sysfs::from_name(s).ok_or_else(|| format!("`{s}` is not a THP mode: never, madvise or always"))
}

impl ConformArgs {
    /// The spec the kernel is compared with: `--spec`, else the one that
    /// claims the running kernel's series (`uname -r`, as `Machine` read it).
    pub(crate) fn spec_name(&self, kernel: &str) -> Result<String, String> {
        if let Some(s) = &self.spec {
            return Ok(s.clone());
        }
        let series = Series::of_release(kernel).ok_or_else(|| {
            format!("cannot tell the series of kernel `{kernel}`; name the spec with --spec")
        })?;
        claiming(&series.to_string()).map_err(|e| format!("{e}; or name the spec with --spec"))
    }
}

/// Writes the run's JSON summary where it was asked for.
pub(crate) fn emit_json(a: &ConformArgs, v: &serde_json::Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(v).expect("JSON");
    if a.json {
        println!("{text}");
    }
    if let Some(p) = &a.json_to {
        std::fs::write(p, format!("{text}\n")).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

pub(crate) fn inconclusive(out: &Out, msg: &str) -> ExitCode {
    out.say(&format!("conform: INCONCLUSIVE: {msg}"));
    ExitCode::from(3)
}

pub fn run(a: &ConformArgs, interrupt: Arc<AtomicBool>) -> ExitCode {
    let out = Out { json: a.json };
    if !(a.step_timeout > 0.0 && a.step_timeout.is_finite()) || a.jobs == Some(0) {
        eprintln!("error: --step-timeout must be positive and --jobs at least 1");
        return ExitCode::from(2);
    }
    if let Some(series) = a.kernel.as_deref().filter(|k| *k != "host") {
        return guest::run(a, series, &interrupt, &out);
    }
    // Hold the THP mode (shared) before reading it: a --set-sysfs run
    // elsewhere on this machine cannot change it under this one.
    let patience = Duration::from_secs(LOCK_PATIENCE_SECS);
    let say = |w: &str| out.say(&format!("conform: {w}"));
    let lock = match ModeLock::shared(patience, &say) {
        Ok(l) => l,
        Err(e) => return inconclusive(&out, &e),
    };
    let machine = match Machine::probe() {
        Ok(m) => m,
        Err(e) => return inconclusive(&out, &format!("cannot read this machine's THP settings: {e}")),
    };
    let sizes: Vec<String> =
        machine.sizes.iter().map(|(n, m)| format!("{}={m}", n.trim_start_matches("hugepages-"))).collect();
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
        return inconclusive(&out, "this machine is not the one the model describes; nothing was run");
    }
    if let Some(why) = &machine.unprivileged_because {
        out.say(&format!(
            "conform: NOT ROOT ({why}): steps that need root (setuid-root exec, setresuid, remote \
             process_madvise) are SKIPPED and counted; the run cannot pass"
        ));
    }
    let agent =
        match a.agent.clone().or_else(|| {
            std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join("mmflags-agent")))
        }) {
            Some(p) => p,
            None => return inconclusive(&out, "cannot locate the agent binary; pass --agent"),
        };
    let timeout = Duration::from_secs_f64(a.step_timeout);
    let mut runner = match Runner::new(&agent, machine, timeout, lock) {
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
        if let Err(e) = runner.own_the_mode(patience, &say) {
            return inconclusive(&out, &e);
        }
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
        model_traces::enumerate_and_compare(a, &runner, guard.as_ref(), &interrupt, &out)
    } else {
        trace_files::run_files(a, &runner, guard.as_ref(), &out)
    };
    drop(guard);
    code
}

/// Puts the system in `mode` if it is not there and we may; `false` if
/// traces for `mode` must be skipped.
pub(crate) fn ensure_mode(runner: &Runner, guard: Option<&SysfsGuard>, mode: Sysfs) -> Result<bool, String> {
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

pub(crate) fn exit_code(mismatch: bool, incomplete: bool, out: &Out) -> ExitCode {
    if mismatch {
        ExitCode::from(1)
    } else if incomplete {
        inconclusive(out, "not every step was run and compared")
    } else {
        ExitCode::SUCCESS
    }
}
