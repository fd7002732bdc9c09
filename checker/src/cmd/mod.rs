//! The subcommands of `check`, one module each; this file holds what
//! they share: turning options into a run configuration, loading specs,
//! reporting bad input, and the exit code of a set of outcomes.

pub mod check;
pub mod compare;
pub mod explore;
pub mod replay;
pub mod reports;
pub mod trace;

use crate::RunArgs;
use mmflags_checker::limits::{self, Limits};
use mmflags_checker::run::{self, RunConfig};
use mmflags_checker::spec::{self, SpecError};
use mmflags_checker::verdict::SpecOutcome;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub fn config(r: &RunArgs, interrupt: Arc<AtomicBool>) -> Result<RunConfig, String> {
    let timeout = limits::timeout_arg(r.timeout)?;
    let max_memory = limits::max_memory_arg(r.max_memory)?;
    Ok(RunConfig {
        threads: limits::threads_arg(r.threads, RunConfig::default_threads())?,
        symmetry: !r.no_symmetry,
        limits: Limits { max_depth: r.max_depth, max_states: r.max_states, timeout, max_memory },
        interrupt,
        progress: true,
    })
}

pub fn bad_input(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

pub fn load_all(args: &[String]) -> Result<Vec<spec::Spec>, SpecError> {
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

pub fn exit_code(outcomes: &[SpecOutcome]) -> ExitCode {
    if outcomes.iter().any(|o| o.any_wrong()) {
        ExitCode::from(1)
    } else if outcomes.iter().any(|o| !o.complete || !o.all_as_expected()) {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

/// `check cost SPEC`: see `mmflags_checker::cost`.
pub fn cost(spec_arg: &str, max_states: usize, rounds: usize, only: &[String]) -> ExitCode {
    let spec = match run::resolve(spec_arg).and_then(|f| spec::load(&f)) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    if max_states == 0 || rounds == 0 {
        return bad_input("--max-states and --rounds take at least 1");
    }
    if let Some(o) = only.iter().find(|o| !spec.system().properties.iter().any(|p| p.name() == o.as_str())) {
        return bad_input(format!("--only {o}: spec `{}` checks no such property", spec.name));
    }
    let c = mmflags_checker::cost::measure(&spec, max_states, rounds, RunConfig::default_threads(), only);
    print!("{}", mmflags_checker::cost::table(&spec, &c));
    ExitCode::SUCCESS
}
