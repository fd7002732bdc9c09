//! `check kernels`: the kernel matrix. Every series in kernels.toml against
//! the spec that claims it (`[spec] kernels`), as jobs with a stable index
//! (`kernels::jobs`): `jobs` lists them, `job INDEX` runs exactly one (the
//! same run as `check conform --kernel SERIES --sysfs MODE --json`) into a
//! directory, `report DIR...` merges any set of their JSON files into
//! `reports/kernels.md`, and `matrix` runs a selection here, N guests at
//! once, each through `job INDEX` as its own process: the way every batch
//! engine in `deploy/` runs them, so the two cannot drift apart.

mod job;
mod matrix;

use mmflags_checker::kernels::claiming;
use mmflags_checker::kernels::identity;
use mmflags_checker::kernels::jobs::{self, KernelJob};
use mmflags_checker::report::kernels_page;
use mmflags_guest::{agent, apt, kernels};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

/// What each mode job explores (the litmus jobs run their files).
#[derive(clap::Args, Clone, Debug)]
pub struct Budget {
    /// Every trace of the spec up to this many steps.
    #[arg(long, default_value_t = 3)]
    pub depth: usize,
    /// Then this many seeded random walks of 10 to 20 steps.
    #[arg(long, default_value_t = 2000)]
    pub walks: usize,
    /// Seed of the random walks (the same seed runs the same walks).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl Budget {
    fn describe(&self, job: &KernelJob) -> String {
        if job.is_litmus() {
            "the litmus files".into()
        } else {
            format!("depth {} + {} walks, seed {}", self.depth, self.walks, self.seed)
        }
    }
}

/// Which jobs of the matrix (default: all).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Selection {
    /// Only the jobs of this series (repeat for more).
    #[arg(long = "series", value_name = "SERIES")]
    pub series: Vec<String>,
    /// Only these jobs, by index or name (`0,5`, `6.1-litmus`; repeat or
    /// separate with commas).
    #[arg(long = "only", value_name = "JOBS")]
    pub only: Vec<String>,
}

/// How a guest runs.
#[derive(clap::Args, Clone, Debug)]
pub struct GuestOpts {
    /// The agent image put in each guest (default: the statically linked
    /// agent the project builds; see `check kernels agent`).
    #[arg(long, value_name = "PATH")]
    pub agent: Option<PathBuf>,
    /// vCPUs of each guest (default: one job's guest gets the cores, the
    /// matrix shares them among the guests it runs at once; 1 to 4).
    #[arg(long, value_name = "N")]
    pub guest_cpus: Option<u32>,
    /// Seconds a guest may run before it is killed (the job is then inconclusive).
    #[arg(long, default_value_t = 7200)]
    pub guest_timeout: u64,
}

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
    /// Every job of the matrix with its stable index: series, package,
    /// spec, mode, budget (what `job INDEX` runs).
    Jobs {
        #[command(flatten)]
        select: Selection,
        #[command(flatten)]
        budget: Budget,
        /// As JSON, with this build's identity (what `report` requires).
        #[arg(long)]
        json: bool,
        /// Only the number of jobs in the whole matrix (for `--array=0-$((N-1))`).
        #[arg(long, conflicts_with = "json")]
        count: bool,
    },
    /// Run exactly one job (by index or name) and write its JSON, named by
    /// the job (`6.1-never.json`), into --out; on failure the guest's
    /// console is kept beside it (`6.1-never.console.log`).
    Job {
        /// The job's index (`check kernels jobs`) or name.
        job: String,
        /// The directory its JSON is written into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        budget: Budget,
        #[command(flatten)]
        guest: GuestOpts,
    },
    /// Run the matrix (or a selection) here, N guests at once, each job as
    /// `check kernels job INDEX`, then write the report of the selection.
    Matrix {
        #[command(flatten)]
        select: Selection,
        #[command(flatten)]
        budget: Budget,
        #[command(flatten)]
        guest: GuestOpts,
        /// Guests at once (default: what the cores and memory allow, a
        /// guest per core).
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// Keep a job's JSON from an earlier run with this build's
        /// identity, the same budget and the same package.
        #[arg(long)]
        resume: bool,
        /// Where the jobs' JSON files go; the report goes beside it
        /// (`reports/kernels` -> `reports/kernels.md`).
        #[arg(long, default_value = "reports/kernels")]
        out: PathBuf,
    },
    /// Merge job JSON files (files, or directories of them) into the
    /// report. Refuses (exit 2, naming the files) files that are not jobs
    /// of this build's matrix (another kernels.toml or model version) and
    /// jobs given twice; with a selected job missing it writes the report,
    /// which says so, and exits 2.
    Report {
        /// Job files or directories of them (default: reports/kernels).
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        select: Selection,
        /// Where the report goes.
        #[arg(long, value_name = "FILE", default_value = "reports/kernels.md")]
        md: PathBuf,
    },
    /// Build (or find fresh) the statically linked agent the guests run,
    /// and print its path.
    Agent,
}

pub fn run(cmd: &KernelsCmd, interrupt: &AtomicBool) -> ExitCode {
    match cmd {
        KernelsCmd::List { resolve } => list(*resolve),
        KernelsCmd::Fetch { series, refresh } => fetch(series, *refresh),
        KernelsCmd::Jobs { select, budget, json, count } => list_jobs(select, budget, *json, *count),
        KernelsCmd::Job { job, out, budget, guest } => {
            let all = match jobs::all() {
                Ok(a) => a,
                Err(e) => return bad(e),
            };
            match jobs::find(&all, job) {
                Ok(j) => ExitCode::from(job::run(j, budget, guest, out, interrupt)),
                Err(e) => bad(e),
            }
        }
        KernelsCmd::Matrix { select, budget, guest, jobs, resume, out } => {
            matrix::run(select, budget, guest, *jobs, *resume, out, interrupt)
        }
        KernelsCmd::Report { inputs, select, md } => {
            let inputs =
                if inputs.is_empty() { vec![PathBuf::from("reports/kernels")] } else { inputs.clone() };
            report(&inputs, select, md)
        }
        KernelsCmd::Agent => {
            let exe = std::env::current_exe().unwrap_or_default();
            match agent::for_guests(None, &exe, &|w| eprintln!("{w}")) {
                Ok(a) => {
                    println!("{}", a.path.display());
                    eprintln!("the guests' agent: {} ({})", a.path.display(), a.linking.name());
                    ExitCode::SUCCESS
                }
                Err(e) => bad(e),
            }
        }
    }
}

fn bad(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
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
        Err(e) => return bad(e),
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

fn list_jobs(select: &Selection, budget: &Budget, as_json: bool, count: bool) -> ExitCode {
    let all = match jobs::all() {
        Ok(a) => a,
        Err(e) => return bad(e),
    };
    if count {
        println!("{}", all.len());
        return ExitCode::SUCCESS;
    }
    let chosen = match jobs::select(&all, &select.series, &select.only) {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    if as_json {
        let id = match identity::current() {
            Ok(i) => i,
            Err(e) => return bad(e),
        };
        let list: Vec<serde_json::Value> = chosen
            .iter()
            .map(|j| {
                let mut v = serde_json::to_value(j).expect("JSON");
                v["budget"] = if j.is_litmus() {
                    json!({"litmus": true})
                } else {
                    json!({"depth": budget.depth, "walks": budget.walks, "seed": budget.seed})
                };
                v
            })
            .collect();
        let v = json!({"count": all.len(), "selected": chosen.len(), "identity": id, "jobs": list});
        println!("{}", serde_json::to_string_pretty(&v).expect("JSON"));
        return ExitCode::SUCCESS;
    }
    println!(
        "{:>5}  {:<13} {:<6} {:<40} {:<11} {:<8} budget",
        "index", "job", "series", "package", "spec", "mode"
    );
    for j in &chosen {
        println!(
            "{:>5}  {:<13} {:<6} {:<40} {:<11} {:<8} {}",
            j.index,
            j.name,
            j.series,
            j.package,
            j.spec,
            j.mode,
            budget.describe(j)
        );
    }
    ExitCode::SUCCESS
}

/// Merges `inputs` for the selection and writes `md`; the exit code is 2
/// on a refusal or a missing job, else the worst of the jobs'.
pub(crate) fn report(inputs: &[PathBuf], select: &Selection, md: &std::path::Path) -> ExitCode {
    let (all, id) = match jobs::all().and_then(|a| identity::current().map(|i| (a, i))) {
        Ok(x) => x,
        Err(e) => return bad(e),
    };
    let chosen = match jobs::select(&all, &select.series, &select.only) {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    let files = match kernels_page::read_inputs(inputs) {
        Ok(f) => f,
        Err(e) => return bad(e),
    };
    let merged = match kernels_page::merge(&all, &chosen, &id, files) {
        Ok(m) => m,
        Err(problems) => {
            eprintln!("error: cannot merge these job files into {} (nothing written):", md.display());
            for p in problems {
                eprintln!("  {p}");
            }
            return ExitCode::from(2);
        }
    };
    if let Err(e) = kernels_page::write(&merged, md) {
        return bad(e);
    }
    let missing = merged.missing();
    println!(
        "wrote {}: {} of {} selected jobs present{}",
        md.display(),
        merged.rows.len() - missing.len(),
        merged.rows.len(),
        if merged.ignored.is_empty() {
            String::new()
        } else {
            format!(" ({} files of jobs outside the selection left out)", merged.ignored.len())
        }
    );
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|j| format!("{} (job {})", j.name, j.index)).collect();
        eprintln!(
            "error: {} jobs missing, shown as missing in the report: {}",
            missing.len(),
            names.join(", ")
        );
        return ExitCode::from(2);
    }
    ExitCode::from(merged.worst_exit())
}
