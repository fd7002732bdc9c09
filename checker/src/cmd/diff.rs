//! `check diff SPEC_A SPEC_B`: where two variants part ways.

use super::bad_input;
use mmflags_checker::run::divergence::{self, diff};
use mmflags_checker::spec;
use std::process::ExitCode;

pub fn cmd_diff(a: &str, b: &str, depth: usize, max_pairs: usize) -> ExitCode {
    let load = |s: &str| spec::resolve(s).and_then(|f| spec::load(&f));
    let (a, b) = match (load(a), load(b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return bad_input(e),
    };
    if !a.bounds.sysfs.iter().any(|m| b.bounds.sysfs.contains(m)) {
        return bad_input(format!("{} and {} share no sysfs mode to compare under", a.name, b.name));
    }
    let d = diff(&a, &b, depth, max_pairs);
    println!(
        "# {} vs {}: {} kind{} of difference within {} processes x {} VMAs, {} steps ({} pairs of states{})",
        a.name,
        b.name,
        d.divergences.len(),
        if d.divergences.len() == 1 { "" } else { "s" },
        a.bounds.processes,
        a.bounds.vmas,
        d.depth,
        d.pairs,
        if d.complete { "" } else { "; stopped by --max-pairs, so not every difference may be listed" }
    );
    for dv in &d.divergences {
        println!("\n{}", divergence::render(dv, &a.name, &b.name));
    }
    if d.complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}
