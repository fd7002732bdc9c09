//! `check replay`: a trace file through one spec's model, step by step, or
//! through many, as a table: per spec, whether every written result held,
//! and where the first one did not, with both results. Any trace runs on
//! any spec: a call a spec's kernel lacks is answered as that kernel would.

use super::bad_input;
use mmflags_checker::run::trace_file::{self as replay, Failure};
use mmflags_checker::spec::{self, Spec};
use mmflags_model::replay::{replay as run_trace, ReplayError};
use mmflags_model::{Sysfs, System, Trace};
use std::path::Path;
use std::process::ExitCode;

pub fn cmd_replay(args: &[String], specs: &[String], all: bool) -> ExitCode {
    match (args, specs.is_empty() && !all) {
        ([spec, file], _) if specs.is_empty() && !all => one(spec, Path::new(file)),
        ([_, _], _) => bad_input("give either `replay SPEC TRACE` or `replay TRACE --spec A --spec B ...`, not both"),
        ([_], true) => bad_input(
            "replay what on which spec? `check replay SPEC TRACE`, or `check replay TRACE --spec A --spec B ...`, \
             or `check replay TRACE --all-specs`",
        ),
        ([file], false) => many(Path::new(file), specs, all),
        _ => bad_input("replay takes SPEC TRACE or TRACE"),
    }
}

fn one(spec_arg: &str, file: &Path) -> ExitCode {
    let spec = match spec::resolve(spec_arg).and_then(|f| spec::load(&f)) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    match replay::replay_file(&spec, file) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(Failure::BadInput(e)) => bad_input(e),
        Err(Failure::Mismatch(text, e)) => {
            print!("{text}");
            eprintln!("error: {}:{e}", file.display());
            ExitCode::from(1)
        }
    }
}

fn many(file: &Path, names: &[String], all: bool) -> ExitCode {
    let text = match mmflags_checker::input::read_text(file, replay::MAX_TRACE_BYTES, "a trace") {
        Ok(t) => t,
        Err(e) => return bad_input(format!("{}:{}:{}: {}", file.display(), e.line, e.col, e.msg)),
    };
    let trace = match Trace::parse(&text) {
        Ok(t) => t,
        Err(e) => return bad_input(format!("{}:{e}", file.display())),
    };
    let files = if all {
        spec::all_specs()
    } else {
        match names.iter().map(|n| spec::resolve(n)).collect::<Result<Vec<_>, _>>() {
            Ok(f) => f,
            Err(e) => return bad_input(e),
        }
    };
    let specs: Vec<Spec> = match files.iter().map(|f| spec::load(f)).collect() {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let written = trace.steps.iter().filter(|(_, s)| s.ret.is_some()).count();
    println!(
        "# {}: {} steps, {written} with a written result, on {} spec{}",
        file.display(),
        trace.steps.len(),
        specs.len(),
        if specs.len() == 1 { "" } else { "s" }
    );
    let width = specs.iter().map(|s| s.name.len()).max().unwrap_or(4).max(4);
    println!("{:<width$}  {:<7}  first result that differs", "spec", "holds");
    let mut worst = 0u8;
    for s in &specs {
        let sys = System::replayer(s.semantics.clone());
        let (_, _, err) = run_trace(&sys, &trace, Sysfs::Madvise);
        let (word, what) = match err {
            None => ("yes", String::new()),
            Some(ReplayError::Mismatch { line, step, expected, got }) => {
                worst = worst.max(1);
                ("no", format!("line {line}: `{}` = {got} here, the trace says {expected}", step.action))
            }
            Some(ReplayError::Step { line, err }) => {
                worst = 2;
                ("cannot", format!("line {line}: {err}"))
            }
        };
        println!("{:<width$}  {word:<7}  {what}", s.name);
    }
    ExitCode::from(worst)
}
