//! The subcommands of `check`, one module each; this file holds what
//! they share: turning options into a run configuration, loading specs,
//! reporting bad input, and the exit code of a set of outcomes.

pub mod bench;
pub mod check;
pub mod conform;
pub mod cost;
pub mod diff;
pub mod explore;
pub mod kernels;
pub mod replay;
pub mod reports;
pub mod trace;

use crate::RunArgs;
use mmflags_checker::engine::limits::{self, Limits};
use mmflags_checker::run::RunConfig;
use mmflags_checker::run::SpecOutcome;
use mmflags_checker::spec::{self, SpecError};
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
        spec::all_specs()
    } else {
        args.iter().map(|a| spec::resolve(a)).collect::<Result<_, _>>()?
    };
    if files.is_empty() {
        return Err(SpecError {
            file: spec::specs_dir(),
            line: 1,
            col: 1,
            msg: "no spec files found".into(),
        });
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
