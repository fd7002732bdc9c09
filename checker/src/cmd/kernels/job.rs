//! `check kernels job INDEX --out DIR`: one job of the matrix, booted under
//! qemu exactly as `check conform --kernel SERIES --sysfs MODE --json`
//! (or `--trace` with the litmus files) would, its JSON written to
//! `DIR/NAME.json` with the `job` record a merge checks: index, name and
//! the build's identity. On failure the console is copied beside it.

use super::{Budget, GuestOpts};
use crate::cmd::conform::guest::{run_guest, Job};
use crate::cmd::conform::{ConformArgs, Out};
use mmflags_checker::kernels::identity::{self, Identity};
use mmflags_checker::kernels::jobs::KernelJob;
use mmflags_checker::spec;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub(super) fn litmus_files() -> Vec<PathBuf> {
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

/// The options `check conform --kernel` would be given for `job`.
fn conform_args(job: &KernelJob, b: &Budget, g: &GuestOpts) -> ConformArgs {
    ConformArgs {
        traces: if job.is_litmus() { litmus_files() } else { Vec::new() },
        spec: Some(job.spec.clone()),
        kernel: Some(job.series.clone()),
        sysfs: job.sysfs().into_iter().collect(),
        guest_timeout: g.guest_timeout,
        depth: b.depth,
        walks: b.walks,
        seed: b.seed,
        jobs: None,
        step_timeout: 10.0,
        json: false,
        json_to: None,
        set_sysfs: true,
        agent: g.agent.clone(),
    }
}

/// The record a merge checks, with the budget the job was given.
pub(super) fn record(job: &KernelJob, b: &Budget, id: &Identity) -> Value {
    let budget = if job.is_litmus() {
        json!({"litmus": true})
    } else {
        json!({"depth": b.depth, "walks": b.walks, "seed": b.seed})
    };
    json!({"index": job.index, "name": job.name, "series": job.series, "mode": job.mode,
           "spec": job.spec, "budget": budget, "identity": id})
}

/// Writes `v` to `path` through a temporary file, so that a reader never
/// sees half a job.
fn write_atomically(path: &Path, v: &Value) -> Result<(), String> {
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    std::fs::write(&tmp, serde_json::to_string_pretty(v).expect("JSON") + "\n")
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs `job` and writes its JSON into `out`; returns its exit code (0
/// agreed, 1 a mismatch, 2 bad input, 3 inconclusive).
pub(super) fn run(job: &KernelJob, b: &Budget, g: &GuestOpts, out: &Path, interrupt: &AtomicBool) -> u8 {
    let id = match identity::current() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: {}: {e}", out.display());
        return 2;
    }
    println!("job {} ({}): {} on {}, {}", job.index, job.name, job.spec, job.series, b.describe(job));
    let a = conform_args(job, b, g);
    let gjob = Job {
        series: job.series.clone(),
        modes: a.sysfs.clone(),
        litmus: job.is_litmus(),
        cpus: g.guest_cpus,
    };
    let out_say = Out { json: false };
    let mut r = run_guest(&a, &gjob, interrupt, &out_say);
    // A guest that failed before the job started (a panic while booting
    // under TCG, seen about once in a few dozen boots) ran nothing: boot it
    // once more. A failure after that is the job's result.
    let mut boots = 1;
    if r.json.is_none()
        && r.code == 3
        && !r.booted
        && r.console.is_some()
        && !interrupt.load(Ordering::Relaxed)
    {
        println!("job {}: the guest failed before the job started; booting it once more", job.name);
        boots = 2;
        r = run_guest(&a, &gjob, interrupt, &out_say);
    }
    let mut v = r.json.unwrap_or_else(|| {
        json!({"error": "the guest run failed; see its console", "kernel_package": {"series": job.series},
               "spec": job.spec})
    });
    v["exit"] = r.code.into();
    v["job"] = record(job, b, &id);
    v["job"]["boots"] = boots.into();
    let file = out.join(format!("{}.json", job.name));
    if r.code != 0 {
        if let Some(c) = r.console.as_ref().filter(|c| c.exists()) {
            let kept = out.join(format!("{}.console.log", job.name));
            match std::fs::copy(c, &kept) {
                Ok(_) => {
                    v["job"]["console"] = kept.file_name().map(|n| n.to_string_lossy().into_owned()).into();
                    println!("job {}: the guest's console is kept in {}", job.name, kept.display());
                }
                Err(e) => eprintln!("warning: keeping the console {}: {e}", kept.display()),
            }
        }
    }
    if let Err(e) = write_atomically(&file, &v) {
        eprintln!("error: {e}");
        return 2;
    }
    println!("job {} ({}): exit {}, wrote {}", job.index, job.name, r.code, file.display());
    r.code
}
