//! `check`: load specs, explore them, gate the verdicts against `[expect]`,
//! print traces, replay trace files, and write the reports.
//!
//! Exit codes: 0 every verdict as expected; 1 a verdict differs; 2 bad
//! input; 3 inconclusive (a limit outside the spec stopped a run).

use clap::{Args, Parser, Subcommand};
use mmflags_checker::limits::{mem_total_bytes, Limits};
use mmflags_checker::run::{self, RunConfig};
use mmflags_checker::spec::{self, SpecError};
use mmflags_checker::verdict::{SpecOutcome, Verdict};
use mmflags_checker::{diff, json, render, replay, report};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod conform;

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
    #[command(flatten)]
    check: CheckArgs,
}

#[derive(Args)]
struct CheckArgs {
    /// Specs to check, by name (`linux-6.18`) or path; all of `specs/` if none.
    specs: Vec<String>,
    /// Print a JSON summary on stdout instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args, Clone)]
struct RunArgs {
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
    /// Stop when resident memory exceeds this many MiB (inconclusive);
    /// default: three quarters of RAM.
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
        /// Print the trace as a standalone C program (kselftest style) that
        /// makes its calls on a kernel and checks the expected observations.
        #[arg(long)]
        emit_c: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Run a trace or litmus file through a spec's model; fail on the first
    /// result that differs from the one written in the file.
    Replay { spec: String, file: PathBuf },
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
    /// Regenerate `reports/`, or with --check fail if it is stale.
    Reports {
        #[arg(long)]
        check: bool,
    },
    /// Run model traces (or trace files) on this kernel and compare every
    /// step and observation with the model.
    Conform(conform::ConformArgs),
}

fn config(r: &RunArgs, interrupt: Arc<AtomicBool>) -> Result<RunConfig, String> {
    let timeout = match r.timeout {
        Some(t) if !(t > 0.0 && t.is_finite()) => {
            return Err(format!("--timeout {t}: give a positive number of seconds"))
        }
        t => t.map(Duration::from_secs_f64),
    };
    if r.threads == Some(0) {
        return Err("--threads 0: give at least 1".into());
    }
    let max_memory = r.max_memory.map(|m| m << 20).or_else(|| mem_total_bytes().map(|t| t / 4 * 3));
    Ok(RunConfig {
        threads: r.threads.unwrap_or_else(RunConfig::default_threads),
        symmetry: !r.no_symmetry,
        limits: Limits { max_depth: r.max_depth, max_states: r.max_states, timeout, max_memory },
        interrupt,
        progress: true,
    })
}

fn bad_input(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

fn load_all(args: &[String]) -> Result<Vec<spec::Spec>, SpecError> {
    let files: Vec<PathBuf> = if args.is_empty() {
        run::all_specs()
    } else {
        args.iter().map(|a| run::resolve(a)).collect::<Result<_, _>>()?
    };
    if files.is_empty() {
        return Err(SpecError { file: run::specs_dir(), line: 1, col: 1, msg: "no spec files found".into() });
    }
    files.iter().map(|f| spec::load(f)).collect()
}

fn exit_code(outcomes: &[SpecOutcome]) -> ExitCode {
    if outcomes.iter().any(|o| o.any_wrong()) {
        ExitCode::from(1)
    } else if outcomes.iter().any(|o| !o.complete || !o.all_as_expected()) {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_table(outcomes: &[SpecOutcome]) {
    for o in outcomes {
        let how = if o.complete {
            "complete".to_string()
        } else {
            format!("INCONCLUSIVE ({})", o.stopped.map(|s| s.to_string()).unwrap_or_default())
        };
        println!(
            "{}: {} unique states, {} total, depth {}, {:.1}s, {:.0} unique states/s — {how}",
            o.spec.name,
            o.unique,
            o.generated,
            o.max_depth,
            o.elapsed.as_secs_f64(),
            o.states_per_second()
        );
        for p in &o.properties {
            let got = match &p.trace {
                Some(t) if p.verdict.has_trace() => {
                    format!("{} {} in {} steps", p.verdict.symbol(), p.verdict, t.steps.len())
                }
                _ => format!("{} {}", p.verdict.symbol(), p.verdict),
            };
            let mark = if p.as_expected() { "" } else { "   <-- expected " };
            let exp = if p.as_expected() { String::new() } else { p.expected.to_string() };
            println!("  {:<16} {:<34} {got:<28} states={}{mark}{exp}", o.spec.name, p.def.name, o.unique);
        }
    }
    let wrong: usize =
        outcomes.iter().map(|o| o.properties.iter().filter(|p| !p.as_expected()).count()).sum();
    let total: usize = outcomes.iter().map(|o| o.properties.len()).sum();
    println!(
        "{} specs, {total} properties: {}",
        outcomes.len(),
        if wrong == 0 { "all as expected".to_string() } else { format!("{wrong} NOT as expected") }
    );
}

fn cmd_check(a: &CheckArgs, interrupt: Arc<AtomicBool>) -> ExitCode {
    let cfg = match config(&a.run, interrupt) {
        Ok(c) => c,
        Err(e) => return bad_input(e),
    };
    let specs = match load_all(&a.specs) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let mut outcomes = Vec::new();
    for s in specs {
        let stop = cfg.interrupt.load(Ordering::Relaxed);
        outcomes.push(run::run_spec(s, &cfg));
        if stop {
            break;
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json::summary(&outcomes)).expect("JSON"));
    } else {
        print_table(&outcomes);
    }
    exit_code(&outcomes)
}

fn cmd_trace(
    spec_arg: &str,
    property: &str,
    emit_c: bool,
    r: &RunArgs,
    interrupt: Arc<AtomicBool>,
) -> ExitCode {
    let cfg = match config(r, interrupt) {
        Ok(c) => c,
        Err(e) => return bad_input(e),
    };
    let spec = match run::resolve(spec_arg).and_then(|f| spec::load(&f)) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let Some(&(_, expected)) = spec.expect.iter().find(|(p, _)| p.name == property) else {
        let names: Vec<&str> = spec.expect.iter().map(|(p, _)| p.name).collect();
        let hint = mmflags_model::suggest::did_you_mean(property, names.iter().copied())
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        return bad_input(format!(
            "{}: spec `{}` does not check `{property}`; {hint}it checks: {}",
            spec.file.display(),
            spec.name,
            names.join(", ")
        ));
    };
    let vmas = spec.bounds.vmas;
    let o = run::run_spec(spec, &cfg);
    let p = o.properties.iter().find(|p| p.def.name == property).expect("checked above");
    let title =
        format!("{} / {}: {} ({}), expected {expected}", o.spec.name, p.def.name, p.verdict, p.def.meaning);
    if emit_c {
        match (&p.trace, p.verdict) {
            (Some(t), v) if v.has_trace() => {
                let sys = o.spec.system();
                print!("{}", mmflags_conformance::emit_c::program(t, &sys, &title));
            }
            _ => eprintln!("# {title}: no trace to emit"),
        }
    } else {
        println!("# {title}");
    }
    match (&p.trace, p.verdict) {
        _ if emit_c => {}
        (Some(t), v) if v.has_trace() => {
            println!(
                "# shortest {}: {} steps",
                if v == Verdict::Violated { "counterexample" } else { "witness" },
                t.steps.len()
            );
            print!("{}", render::trace_text(t, vmas, true));
        }
        _ => println!("# no trace: {} within the bounds ({} unique states)", p.verdict, o.unique),
    }
    if !o.complete {
        ExitCode::from(3)
    } else if p.as_expected() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn cmd_replay(spec_arg: &str, file: &Path) -> ExitCode {
    let spec = match run::resolve(spec_arg).and_then(|f| spec::load(&f)) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    match replay::replay_file(&spec, file) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(replay::Failure::BadInput(e)) => bad_input(e),
        Err(replay::Failure::Mismatch(text, e)) => {
            print!("{text}");
            eprintln!("error: {}:{e}", file.display());
            ExitCode::from(1)
        }
    }
}

fn cmd_reports(check: bool, interrupt: Arc<AtomicBool>) -> ExitCode {
    let cfg = RunConfig {
        threads: RunConfig::default_threads(),
        symmetry: true,
        limits: Limits { max_memory: mem_total_bytes().map(|t| t / 4 * 3), ..Limits::default() },
        interrupt,
        progress: true,
    };
    let specs = match load_all(&[]) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let outcomes: Vec<SpecOutcome> = specs.into_iter().map(|s| run::run_spec(s, &cfg)).collect();
    if outcomes.iter().any(|o| !o.complete) {
        eprintln!("error: a run was inconclusive; reports are only written from complete runs");
        return ExitCode::from(3);
    }
    let dir = run::specs_dir().join("..").join("reports");
    let mut files = vec![(dir.join("README.md"), report::index(&outcomes))];
    files.extend(outcomes.iter().map(|o| (dir.join(format!("{}.md", o.spec.name)), report::spec_page(o))));
    if check {
        let stale: Vec<String> = files
            .iter()
            .filter(|(p, text)| std::fs::read_to_string(p).ok().as_deref() != Some(text.as_str()))
            .map(|(p, _)| p.display().to_string())
            .collect();
        if stale.is_empty() {
            println!("reports are up to date ({} files)", files.len());
            return ExitCode::SUCCESS;
        }
        eprintln!("error: stale reports: {}\nrun `cargo run --release --bin check -- reports` and commit the result", stale.join(", "));
        return ExitCode::from(1);
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return bad_input(format!("{}: {e}", dir.display()));
    }
    for (p, text) in &files {
        if let Err(e) = std::fs::write(p, text) {
            return bad_input(format!("{}: {e}", p.display()));
        }
    }
    println!("wrote {} files to {}", files.len(), dir.display());
    exit_code(&outcomes)
}

fn cmd_diff(a: &str, b: &str, depth: usize, max_pairs: usize) -> ExitCode {
    let load = |s: &str| run::resolve(s).and_then(|f| spec::load(&f));
    let (a, b) = match (load(a), load(b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return bad_input(e),
    };
    if !a.bounds.sysfs.iter().any(|m| b.bounds.sysfs.contains(m)) {
        return bad_input(format!("{} and {} share no sysfs mode to compare under", a.name, b.name));
    }
    let d = diff::diff(&a, &b, depth, max_pairs);
    println!(
        "# {} vs {}: {} kinds of difference within {} processes x {} VMAs, {} steps ({} pairs of states{})",
        a.name,
        b.name,
        d.divergences.len(),
        a.bounds.processes,
        a.bounds.vmas,
        d.depth,
        d.pairs,
        if d.complete { "" } else { "; stopped by --max-pairs, so not every difference may be listed" }
    );
    for dv in &d.divergences {
        println!("\n{}", diff::render(dv, &a.name, &b.name));
    }
    if d.complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let interrupt = Arc::new(AtomicBool::new(false));
    {
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
        None => cmd_check(&cli.check, interrupt),
        Some(Cmd::Trace { spec, property, emit_c, run }) => {
            cmd_trace(spec, property, *emit_c, run, interrupt)
        }
        Some(Cmd::Replay { spec, file }) => cmd_replay(spec, file),
        Some(Cmd::Reports { check }) => cmd_reports(*check, interrupt),
        Some(Cmd::Diff { spec_a, spec_b, depth, max_pairs }) => cmd_diff(spec_a, spec_b, *depth, *max_pairs),
        Some(Cmd::Conform(a)) => conform::run(a, interrupt),
    }
}
