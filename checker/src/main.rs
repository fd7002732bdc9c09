//! `check`: load specs, explore them, gate the verdicts against `[expect]`,
//! print traces, replay trace files, write the reports, and serve the
//! explorer.
//!
//! Exit codes: 0 every verdict as expected; 1 a verdict differs; 2 bad
//! input; 3 inconclusive (a limit outside the spec stopped a run).

mod cmd;

use clap::{Args, Parser, Subcommand};
use mmflags_checker::explorer;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "check",
    version,
    about = "Exhaustively check THP flag semantics (mainline Linux and proposals) against their specs",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Also look for specs in DIR (repeat for more). A spec named by
    /// `extends` or `baseline` is found beside the file that names it, then
    /// in the project's specs/, then in each --specs DIR in order; a spec
    /// named on the command line, in specs/, then in each --specs DIR.
    #[arg(long = "specs", id = "spec_dirs", value_name = "DIR", global = true)]
    spec_dirs: Vec<PathBuf>,
    #[command(flatten)]
    check: CheckArgs,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Specs to check, by name (`linux-6.18`) or path; all of `specs/` if none.
    specs: Vec<String>,
    /// Print a JSON summary on stdout instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args, Clone)]
pub struct RunArgs {
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Stop below this depth (inconclusive if below the spec's own depth).
    #[arg(long)]
    max_depth: Option<usize>,
    /// Stop after this many unique states (inconclusive).
    #[arg(long)]
    max_states: Option<usize>,
    /// Stop after this many seconds (inconclusive).
    #[arg(long)]
    timeout: Option<f64>,
    /// Stop when resident memory would exceed this many MiB (inconclusive);
    /// default: three quarters of RAM, at most nine tenths of what is free.
    #[arg(long)]
    max_memory: Option<u64>,
    /// Explore without symmetry reduction.
    #[arg(long)]
    no_symmetry: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the shortest counterexample (or witness) of a property, with
    /// the state and what changed after every step.
    Trace {
        spec: String,
        property: String,
        /// Also write the trace as a self-contained HTML page that steps
        /// through it (open it from disk; no server needed).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Print the trace as a standalone C program (kselftest style) that
        /// makes its calls on a kernel and checks the expected observations.
        #[arg(long)]
        emit_c: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Run a trace or litmus file through a spec's model (`replay SPEC
    /// TRACE`: every step with its result and what it changed), or through
    /// many (`replay TRACE --spec A --spec B`, `--all-specs`: a table of
    /// which specs answer every written result as written); fails on the
    /// first result that differs.
    Replay {
        /// `SPEC TRACE`, or `TRACE` with --spec or --all-specs.
        #[arg(num_args = 1..=2, required = true, value_name = "SPEC] [TRACE")]
        args: Vec<String>,
        /// Replay on this spec too (repeat for more).
        #[arg(long = "spec", value_name = "SPEC")]
        specs: Vec<String>,
        /// Replay on every spec in specs/.
        #[arg(long)]
        all_specs: bool,
    },
    /// The shortest traces after which two variants can be told apart by a
    /// result or by what /proc shows.
    Diff {
        spec_a: String,
        spec_b: String,
        /// Longest trace to try.
        #[arg(long, default_value_t = 6)]
        depth: usize,
        /// Stop after this many pairs of states (the comparison is then incomplete).
        #[arg(long, default_value_t = 2_000_000)]
        max_pairs: usize,
    },
    /// Serve stateright's explorer over a spec's model, with a picture of
    /// processes, VMAs and flags; deep links in reports open here.
    Explore {
        spec: String,
        /// Where to listen (port 0 picks a free port). The explorer has no
        /// authentication: keep it on loopback.
        #[arg(long, default_value = explorer::DEFAULT_ADDR)]
        addr: String,
        /// "Run to completion" stops after this many states.
        #[arg(long, default_value_t = 1_000_000)]
        max_states: usize,
    },
    /// Regenerate `reports/`, or with --check fail if it is stale.
    Reports {
        #[arg(long)]
        check: bool,
    },
    /// Explore one spec at the given bounds and print counts, time, rate
    /// and peak memory (for bench/run; verdicts are not gated).
    Bench(cmd::bench::BenchArgs),
    /// What each property of a spec costs per state (ns), catalogue and
    /// spec-defined alike, over the states of an exploration of the spec.
    Cost {
        spec: String,
        /// Measure over at most this many explored states.
        #[arg(long, default_value_t = 500_000)]
        max_states: usize,
        /// Time each property this many times and keep the least.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Time only this property (repeat for more).
        #[arg(long)]
        only: Vec<String>,
    },
    /// Run model traces (or trace files) on this kernel, or on another
    /// booted under qemu (--kernel), and compare every step and
    /// observation with the model.
    Conform(cmd::conform::ConformArgs),
    /// The kernel matrix: list, fetch and run the kernels of kernels.toml.
    #[command(subcommand)]
    Kernels(cmd::kernels::KernelsCmd),
}

fn main() -> ExitCode {
    // Like any Unix filter: a closed pipe (`check | head`) ends the process
    // quietly instead of a panic on the next print.
    // SAFETY: restoring the default disposition of a signal has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    mmflags_checker::spec::search_path::add_dirs(&cli.spec_dirs);
    let interrupt = Arc::new(AtomicBool::new(false));
    // The explorer serves until killed; the others finish what they explored.
    if !matches!(cli.cmd, Some(Cmd::Explore { .. })) {
        let flag = interrupt.clone();
        // A second Ctrl-C kills the process outright.
        let _ = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: finishing with what was explored (inconclusive)");
        });
    }
    match &cli.cmd {
        None => cmd::check::cmd_check(&cli.check, interrupt),
        Some(Cmd::Trace { spec, property, html, emit_c, run }) => {
            cmd::trace::cmd_trace(spec, property, html.as_deref(), *emit_c, run, interrupt)
        }
        Some(Cmd::Explore { spec, addr, max_states }) => cmd::explore::cmd_explore(spec, addr, *max_states),
        Some(Cmd::Replay { args, specs, all_specs }) => cmd::replay::cmd_replay(args, specs, *all_specs),
        Some(Cmd::Reports { check }) => cmd::reports::cmd_reports(*check, interrupt),
        Some(Cmd::Diff { spec_a, spec_b, depth, max_pairs }) => {
            cmd::diff::cmd_diff(spec_a, spec_b, *depth, *max_pairs)
        }
        Some(Cmd::Bench(args)) => cmd::bench::cmd_bench(args, interrupt),
        Some(Cmd::Cost { spec, max_states, rounds, only }) => {
            cmd::cost::cmd_cost(spec, *max_states, *rounds, only)
        }
        Some(Cmd::Conform(a)) => cmd::conform::run(a, interrupt),
        Some(Cmd::Kernels(k)) => cmd::kernels::run(k, &interrupt),
    }
}
