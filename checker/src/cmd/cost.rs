//! `check cost SPEC`: what each property of a spec costs per state (see
//! `mmflags_checker::run::cost`).

use super::bad_input;
use mmflags_checker::run::RunConfig;
use mmflags_checker::spec;
use std::process::ExitCode;

pub fn cmd_cost(spec_arg: &str, max_states: usize, rounds: usize, only: &[String]) -> ExitCode {
    let spec = match spec::resolve(spec_arg).and_then(|f| spec::load(&f)) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    if max_states == 0 || rounds == 0 {
        return bad_input("--max-states and --rounds take at least 1");
    }
    if let Some(o) = only.iter().find(|o| !spec.system().properties.iter().any(|p| p.name() == o.as_str())) {
        return bad_input(format!("--only {o}: spec `{}` checks no such property", spec.name));
    }
    let c =
        mmflags_checker::run::cost::measure(&spec, max_states, rounds, RunConfig::default_threads(), only);
    print!("{}", mmflags_checker::run::cost::table(&spec, &c));
    ExitCode::SUCCESS
}
