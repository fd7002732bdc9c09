//! `check reports [--check]`: write `reports/`, or fail if it is stale.

use super::{bad_input, exit_code, load_all};
use mmflags_checker::engine::limits::{self, Limits};
use mmflags_checker::report;
use mmflags_checker::run::SpecOutcome;
use mmflags_checker::run::{self, RunConfig};
use mmflags_checker::spec;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub fn cmd_reports(check: bool, interrupt: Arc<AtomicBool>) -> ExitCode {
    let cfg = RunConfig {
        threads: RunConfig::default_threads(),
        symmetry: true,
        limits: Limits { max_memory: limits::default_max_memory(), ..Limits::default() },
        interrupt,
        progress: true,
    };
    let specs = match load_all(&[]) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let changes = mmflags_checker::report::changelog::page(&specs);
    let outcomes: Vec<SpecOutcome> = specs.into_iter().map(|s| run::check_spec(s, &cfg)).collect();
    if outcomes.iter().any(|o| !o.complete) {
        eprintln!("error: a run was inconclusive; reports are only written from complete runs");
        return ExitCode::from(3);
    }
    let dir = spec::specs_dir().join("..").join("reports");
    let mut files =
        vec![(dir.join("README.md"), report::index(&outcomes)), (dir.join("changelog.md"), changes)];
    for o in &outcomes {
        files.push((dir.join(format!("{}.md", o.spec.name)), report::spec_page(o)));
        files.extend(report::trace_files(o).into_iter().map(|(rel, text)| (dir.join(rel), text)));
    }
    // Pictures and viewers of traces that no longer exist.
    let orphans: Vec<PathBuf> =
        report_assets(&dir).into_iter().filter(|p| !files.iter().any(|(f, _)| f == p)).collect();
    if check {
        // The kernel matrix is not rerun here (it needs qemu): its claims are checked.
        match mmflags_checker::report::kernels_page::check_claims(&dir.join("kernels.md")) {
            Ok(n) => println!("kernels.md: {n} rows, each against a spec that claims its series"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
        let mut stale: Vec<String> = files
            .iter()
            .filter(|(p, text)| std::fs::read_to_string(p).ok().as_deref() != Some(text.as_str()))
            .map(|(p, _)| p.display().to_string())
            .collect();
        stale.extend(orphans.iter().map(|p| format!("{} (no longer generated)", p.display())));
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
        let written =
            p.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(p, text));
        if let Err(e) = written {
            return bad_input(format!("{}: {e}", p.display()));
        }
    }
    for p in &orphans {
        if let Err(e) = std::fs::remove_file(p) {
            return bad_input(format!("{}: {e}", p.display()));
        }
    }
    println!("wrote {} files to {}", files.len(), dir.display());
    exit_code(&outcomes)
}

/// The generated pictures and viewers under `reports/<spec>/`, sorted.
fn report_assets(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let subdirs = std::fs::read_dir(dir).into_iter().flatten().flatten();
    for sub in subdirs.filter(|e| e.path().is_dir()) {
        for f in std::fs::read_dir(sub.path()).into_iter().flatten().flatten() {
            let p = f.path();
            if p.extension().is_some_and(|x| x == "svg" || x == "html") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
