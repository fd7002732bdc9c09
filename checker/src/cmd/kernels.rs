//! The kernel matrix: every series in kernels.toml against the spec that
//! claims it (`[spec] kernels`), in each THP mode, as independent jobs
//! (`check conform --kernel SERIES --sysfs MODE --json`), each with its own
//! JSON under `reports/kernels/`, and `reports/kernels.md` made from those
//! files. A batch engine can run the jobs anywhere and `check kernels
//! report` assembles the page; `check reports --check` only checks that the
//! specs the page names exist and claim those series.

use super::conform::guest::{run_guest, Job};
use super::conform::{ConformArgs, Out};
use mmflags_checker::kernels::claiming;
use mmflags_checker::report::kernels_page::write_report;
use mmflags_checker::spec;
use mmflags_guest::{apt, kernels};
use mmflags_model::Sysfs;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

#[derive(clap::Subcommand)]
pub enum KernelsCmd {
    /// The kernels checked: series, Debian suites and package, the spec
    /// that claims each (with --resolve, the newest package today).
    List {
        #[arg(long)]
        resolve: bool,
    },
    /// Download and unpack the kernel images (into the cache).
    Fetch {
        /// Series to fetch (default: all).
        series: Vec<String>,
        /// Fetch the package indexes again even if they are fresh.
        #[arg(long)]
        refresh: bool,
    },
    /// Run every kernel against its spec in every THP mode (one job per
    /// series and mode, plus its litmus files) and write reports/kernels.md.
    Matrix {
        /// Series to run (default: all in kernels.toml).
        #[arg(long = "series", value_name = "SERIES")]
        series: Vec<String>,
        #[arg(long, default_value_t = 3)]
        depth: usize,
        #[arg(long, default_value_t = 2000)]
        walks: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The agent image put in each guest (default: the one beside this
        /// `check`). A statically linked agent runs the matrix about a
        /// quarter faster under TCG: no loader, and fewer mappings for
        /// every smaps read (see reports/kernels.md).
        #[arg(long, value_name = "PATH")]
        agent: Option<PathBuf>,
        /// Keep a job's JSON from an earlier run with the same budget and
        /// the same package instead of running it again.
        #[arg(long)]
        resume: bool,
        /// Where the jobs' JSON files go.
        #[arg(long, default_value = "reports/kernels")]
        out: PathBuf,
    },
    /// Write reports/kernels.md from the jobs' JSON files.
    Report {
        #[arg(long, default_value = "reports/kernels")]
        dir: PathBuf,
    },
}

fn litmus_files() -> Vec<PathBuf> {
    let dir = spec::specs_dir().join("litmus");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "litmus"))
        .collect();
    v.sort();
    v
}

/// What each mode job explores, and with which agent.
struct Budget {
    depth: usize,
    walks: usize,
    seed: u64,
    agent: Option<PathBuf>,
}

fn conform_args(job: &Job, b: &Budget) -> ConformArgs {
    let Budget { depth, walks, seed, .. } = *b;
    ConformArgs {
        traces: if job.litmus { litmus_files() } else { Vec::new() },
        spec: None,
        kernel: Some(job.series.clone()),
        sysfs: job.modes.clone(),
        guest_timeout: 7200,
        depth,
        walks,
        seed,
        jobs: None,
        step_timeout: 10.0,
        json: false,
        json_to: None,
        set_sysfs: true,
        agent: b.agent.clone(),
    }
}

fn same_budget(v: &Value, depth: usize, walks: usize, seed: u64, version: &str) -> bool {
    let litmus = v.get("depth").is_none();
    (litmus || (v["depth"] == depth && v["walks"] == walks && v["seed"] == seed))
        && v["kernel_package"]["version"] == version
}

pub fn run(cmd: &KernelsCmd, interrupt: &AtomicBool) -> ExitCode {
    match cmd {
        KernelsCmd::List { resolve } => list(*resolve),
        KernelsCmd::Fetch { series, refresh } => fetch(series, *refresh),
        KernelsCmd::Matrix { series, depth, walks, seed, agent, resume, out } => {
            let budget = Budget { depth: *depth, walks: *walks, seed: *seed, agent: agent.clone() };
            matrix(series, &budget, *resume, out, interrupt)
        }
        KernelsCmd::Report { dir } => match write_report(dir) {
            Ok(p) => {
                println!("wrote {}", p.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}

fn selected(series: &[String]) -> Result<Vec<kernels::Kernel>, String> {
    if series.is_empty() {
        return Ok(kernels::all());
    }
    series.iter().map(|s| kernels::by_series(s)).collect()
}

fn list(resolve: bool) -> ExitCode {
    println!("{:<6} {:<40} {:<42} spec", "series", "package", "suites");
    for k in kernels::all() {
        let spec = claiming(&k.series).unwrap_or_else(|e| format!("({e})"));
        let pkg = if resolve {
            match apt::fetch(&k, &kernels::all(), false) {
                Ok(f) => format!("{} {}", f.package.name, f.package.version),
                Err(e) => format!("({e})"),
            }
        } else {
            k.package.clone()
        };
        println!("{:<6} {:<40} {:<42} {spec}", k.series, pkg, k.suites.join(","));
    }
    ExitCode::SUCCESS
}

fn fetch(series: &[String], refresh: bool) -> ExitCode {
    let ks = match selected(series) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut code = ExitCode::SUCCESS;
    for k in ks {
        match apt::fetch(&k, &kernels::all(), refresh) {
            Ok(f) => println!(
                "{}: {} {} ({}) -> {} (sha256 {})",
                k.series,
                f.package.name,
                f.package.version,
                f.package.suite,
                f.vmlinuz.display(),
                f.vmlinuz_sha256
            ),
            Err(e) => {
                eprintln!("error: {}: {e}", k.series);
                code = ExitCode::from(3);
            }
        }
    }
    code
}

fn matrix(series: &[String], b: &Budget, resume: bool, out: &Path, interrupt: &AtomicBool) -> ExitCode {
    let ks = match selected(series) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: {}: {e}", out.display());
        return ExitCode::from(2);
    }
    let start = Instant::now();
    let say = Out { json: false };
    let mut worst = 0u8;
    for k in &ks {
        let mut jobs = vec![Job { series: k.series.clone(), modes: Vec::new(), litmus: true }];
        jobs.extend(Sysfs::ALL.iter().map(|&m| Job {
            series: k.series.clone(),
            modes: vec![m],
            litmus: false,
        }));
        for job in jobs {
            if interrupt.load(Ordering::Relaxed) {
                break;
            }
            let file = out.join(format!("{}.json", job.label()));
            if resume {
                let old = std::fs::read(&file).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok());
                let version =
                    apt::fetch(k, &kernels::all(), false).map(|f| f.package.version).unwrap_or_default();
                if old.as_ref().is_some_and(|v| same_budget(v, b.depth, b.walks, b.seed, &version)) {
                    println!("matrix: {}: kept from an earlier run ({})", job.label(), file.display());
                    continue;
                }
            }
            println!("matrix: {} ({:.0} s so far)", job.label(), start.elapsed().as_secs_f64());
            let a = conform_args(&job, b);
            let r = run_guest(&a, &job, interrupt, &say);
            worst = worst.max(r.code);
            let v = r.json.unwrap_or_else(|| {
                serde_json::json!({"error": "the guest run failed; see its console", "exit": r.code,
                    "kernel_package": {"series": job.series}})
            });
            let mut v = v;
            v["exit"] = r.code.into();
            if let Err(e) = std::fs::write(&file, serde_json::to_string_pretty(&v).expect("JSON") + "\n") {
                eprintln!("error: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        }
    }
    println!("matrix: {} series in {:.0} s", ks.len(), start.elapsed().as_secs_f64());
    match write_report(out) {
        Ok(p) => println!("wrote {}", p.display()),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    if interrupt.load(Ordering::Relaxed) {
        return ExitCode::from(3);
    }
    ExitCode::from(worst)
}
