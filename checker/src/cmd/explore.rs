//! `check explore SPEC`: serve the explorer until killed.

use super::bad_input;
use mmflags_checker::explorer;
use mmflags_checker::spec;
use std::io::Write;
use std::process::ExitCode;

pub fn cmd_explore(spec_arg: &str, addr: &str, max_states: usize) -> ExitCode {
    let spec = match spec::resolve(spec_arg).and_then(|f| spec::load(&f)) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let ex = match explorer::start(&spec, addr, max_states) {
        Ok(ex) => ex,
        Err(e) => return bad_input(e),
    };
    let Some(at) = ex.addr() else {
        return bad_input(format!("{addr}: not an IP address"));
    };
    if !at.ip().is_loopback() {
        eprintln!("warning: the explorer has no authentication; anyone who reaches {at} can use it");
    }
    // A closed stdout must not stop a server: the writes' errors are dropped.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "mmflags explorer for {}: http://{at}/", spec.name);
    let _ = writeln!(out, "counterexample links (`check trace`, reports/) open here at http://{at}/#/steps/...; Ctrl-C stops it");
    let _ = out.flush();
    ex.run();
    ExitCode::SUCCESS
}
