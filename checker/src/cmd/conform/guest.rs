//! `check conform --kernel SERIES`: the same run on another kernel, booted
//! under qemu. The kernel is Debian's newest package of the series
//! (kernels.toml), the spec is the one that claims the series; an
//! initramfs carries this very `check`, the agent, the specs and the trace
//! files, and `/init` runs `check conform` inside as real root with
//! `--set-sysfs` (the guest's THP mode is ours to switch, so every mode the
//! spec lists is enumerated). The guest's output is relayed line by line;
//! its JSON comes back over the second serial port, with the kernel package
//! and its sha256 added. A guest that does not boot, panics or hangs is
//! killed and the run is inconclusive (exit 3), its console kept.

use super::{inconclusive, ConformArgs, Out};
use mmflags_checker::kernels::claiming;
use mmflags_checker::run as specs;
use mmflags_checker::spec;
use mmflags_guest::{agent, apt, cache, initramfs::Initramfs, kernels, qemu};
use mmflags_model::Sysfs;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// One job of the matrix: a series in some modes, or its litmus files.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub(crate) series: String,
    pub(crate) modes: Vec<Sysfs>,
    pub(crate) litmus: bool,
    /// vCPUs of the guest (default: the cores, at most 4).
    pub(crate) cpus: Option<u32>,
}

impl Job {
    /// `6.12-always`, `6.12-litmus`, `6.12` (every mode): the job's file name.
    pub(crate) fn label(&self) -> String {
        if self.litmus {
            format!("{}-litmus", self.series)
        } else if self.modes.len() == 1 {
            format!("{}-{}", self.series, self.modes[0].name())
        } else {
            self.series.clone()
        }
    }
}

/// What a guest run came to, for `check kernels matrix` as for one run.
pub(crate) struct GuestRun {
    pub(crate) code: u8,
    /// The guest's JSON with `kernel_package` and `guest` added; `None`
    /// when the guest failed before it could send it.
    pub(crate) json: Option<Value>,
    /// The guest's console, kept whatever the outcome (once qemu ran).
    pub(crate) console: Option<PathBuf>,
    /// Whether the guest came as far as starting the job (`BOOTED`).
    pub(crate) booted: bool,
}

/// The guest's command line: this run's options, minus what only the host reads.
fn guest_argv(a: &ConformArgs, spec: &str, traces: &[String]) -> Vec<String> {
    let mut v: Vec<String> = ["./check", "conform", "--set-sysfs", "--json-to", "/dev/ttyS1", "--spec", spec]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let num = |v: &mut Vec<String>, k: &str, x: String| {
        v.push(k.into());
        v.push(x);
    };
    num(&mut v, "--depth", a.depth.to_string());
    num(&mut v, "--walks", a.walks.to_string());
    num(&mut v, "--seed", a.seed.to_string());
    num(&mut v, "--step-timeout", a.step_timeout.to_string());
    if let Some(j) = a.jobs {
        num(&mut v, "--jobs", j.to_string());
    }
    for m in &a.sysfs {
        num(&mut v, "--sysfs", m.name().to_string());
    }
    if !traces.is_empty() {
        v.push("--trace".into());
        v.extend(traces.iter().cloned());
    }
    v
}

/// The directory a run keeps its initramfs, console and output in:
/// `runs/JOB`, held with an exclusive lock for the whole run, or
/// `runs/JOB.PID` when another run of the same job holds it (two runs of
/// one job must never write each other's console and summary).
fn run_dir(label: &str) -> Result<(std::path::PathBuf, std::fs::File), String> {
    use std::os::fd::AsRawFd;
    for name in [label.to_string(), format!("{label}.{}", std::process::id())] {
        let dir = cache::sub(&format!("runs/{name}"))?;
        let path = dir.join("lock");
        let f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok((dir, f));
        }
    }
    Err(format!("runs/{label}: locked by another run, and so is this process's own directory"))
}

fn build_initramfs(
    a: &ConformArgs,
    agent: &Path,
    spec_file: &Path,
    argv_spec: &str,
    dir: &Path,
) -> Result<PathBuf, String> {
    let mut img = Initramfs::default();
    img.busybox()?;
    let check = std::env::current_exe().map_err(|e| format!("locating this executable: {e}"))?;
    img.binary(&check, "/mm/check")?;
    img.binary(agent, "/mm/mmflags-agent")?;
    let specs_dir = spec_file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    for name in mmflags_checker::spec::spec_names(specs_dir) {
        img.copy(&specs_dir.join(format!("{name}.toml")), &format!("/mm/specs/{name}.toml"), 0o644)?;
    }
    let mut traces = Vec::new();
    for (i, t) in a.traces.iter().enumerate() {
        let base = t.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "trace".into());
        let at = format!("traces/{i:03}-{base}");
        img.copy(t, &format!("/mm/{at}"), 0o644)?;
        traces.push(at);
    }
    img.init(&guest_argv(a, argv_spec, &traces));
    let path = dir.join("initramfs.cpio");
    img.write(&path)?;
    Ok(path)
}

/// Runs `a` on `series` under qemu. Errors before the boot are bad input
/// (2: an unknown series, no spec claims it, qemu or busybox missing) or
/// could not run (3: the download failed).
pub(crate) fn run_guest(a: &ConformArgs, job: &Job, interrupt: &AtomicBool, out: &Out) -> GuestRun {
    let fail = |code: u8, msg: String| {
        if code == 2 {
            eprintln!("error: {msg}");
        } else {
            out.say(&format!("conform: INCONCLUSIVE: {msg}"));
        }
        GuestRun { code, json: None, console: None, booted: false }
    };
    let kernel = match kernels::by_series(&job.series) {
        Ok(k) => k,
        Err(e) => return fail(2, e),
    };
    let spec_name = match a.spec.clone().map_or_else(|| claiming(&job.series), Ok) {
        Ok(s) => s,
        Err(e) => return fail(2, e),
    };
    let spec_file = match spec::resolve(&spec_name) {
        Ok(f) => f,
        Err(e) => return fail(2, e.to_string()),
    };
    if let Err(e) = qemu::require_qemu().and_then(|_| mmflags_guest::initramfs::busybox().map(|_| ())) {
        return fail(2, e);
    }
    let fetched = match apt::fetch(&kernel, &kernels::all(), false) {
        Ok(f) => f,
        Err(e) => return fail(3, e),
    };
    let p = &fetched.package;
    out.say(&format!(
        "conform: kernel {}: Debian's {} {} ({}), .deb sha256 {}",
        job.series, p.name, p.version, p.suite, p.sha256
    ));
    let (dir, _lock) = match run_dir(&job.label()) {
        Ok(d) => d,
        Err(e) => return fail(3, e),
    };
    let argv_spec =
        spec_file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or(spec_name.clone());
    // Statically linked unless --agent says otherwise (mmflags_guest::agent).
    let exe = std::env::current_exe().unwrap_or_default();
    let agent = match agent::for_guests(a.agent.as_deref(), &exe, &|w| out.say(&format!("conform: {w}"))) {
        Ok(x) => x,
        Err(e) => return fail(2, e),
    };
    let initrd = match build_initramfs(a, &agent.path, &spec_file, &argv_spec, &dir) {
        Ok(i) => i,
        Err(e) => return fail(2, e),
    };
    let accel = match qemu::choose_accel(&fetched.vmlinuz) {
        Ok(x) => x,
        Err(e) => return fail(2, e),
    };
    let cpus = job.cpus.unwrap_or(specs::RunConfig::default_threads().clamp(1, 4) as u32);
    let boot = qemu::Boot {
        kernel: &fetched.vmlinuz,
        initrd: &initrd,
        accel,
        memory_mib: 1536,
        cpus,
        boot_timeout: Duration::from_secs(120),
        timeout: Duration::from_secs(a.guest_timeout),
        console: dir.join("console.log"),
        output: dir.join("output.json"),
    };
    out.say(&format!(
        "conform: booting it under qemu ({}, {cpus} vCPUs, spec {spec_name}, {} agent); console: {}",
        accel.name(),
        agent.linking.name(),
        boot.console.display()
    ));
    let mut booted = false;
    let outcome = qemu::run(&boot, interrupt, &mut |line| {
        if line.contains(mmflags_guest::initramfs::BOOTED) {
            booted = true;
        } else if booted && !line.contains(mmflags_guest::initramfs::EXIT) && !line.trim().is_empty() {
            out.say(line);
        }
    });
    let o = match outcome {
        Ok(o) => o,
        Err(e) => return fail(3, e),
    };
    let boot_s = o.boot.map(|d| d.as_secs_f64());
    let (kept, booted) = (Some(boot.console.clone()), o.boot.is_some());
    if let Some(f) = &o.failure {
        let r = fail(3, format!("{f}; the guest's console is kept: {}", boot.console.display()));
        return GuestRun { console: kept, booted, ..r };
    }
    let code = o.exit.unwrap_or(3).clamp(0, 255) as u8;
    let text = String::from_utf8_lossy(&o.output).replace('\r', "");
    let mut v: Value = match serde_json::from_str(text.trim()) {
        Ok(v) => v,
        Err(e) => {
            let r = fail(
                3,
                format!(
                    "the guest exited {code} but sent no JSON summary ({e}); its console: {}",
                    boot.console.display()
                ),
            );
            return GuestRun { console: kept, booted, ..r };
        }
    };
    v["kernel_package"] = json!({
        "series": job.series, "package": p.name, "version": p.version, "suite": p.suite,
        "deb_sha256": p.sha256, "vmlinuz_sha256": fetched.vmlinuz_sha256,
    });
    v["guest"] = json!({
        "accel": accel.name(), "cpus": cpus, "agent": agent.linking.name(), "boot_seconds": boot_s,
        "seconds": o.elapsed.as_secs_f64(), "console": boot.console.display().to_string(),
    });
    out.say(&format!(
        "conform: guest booted in {:.1} s, ran {:.0} s in all, exit {code}",
        boot_s.unwrap_or(0.0),
        o.elapsed.as_secs_f64()
    ));
    GuestRun { code, json: Some(v), console: kept, booted }
}

/// `check conform --kernel SERIES`: one guest run, printed like a host run.
pub(crate) fn run(a: &ConformArgs, series: &str, interrupt: &AtomicBool, out: &Out) -> ExitCode {
    let job =
        Job { series: series.to_string(), modes: a.sysfs.clone(), litmus: !a.traces.is_empty(), cpus: None };
    let r = run_guest(a, &job, interrupt, out);
    if let Some(v) = &r.json {
        if let Err(e) = super::emit_json(a, v) {
            return inconclusive(out, &e);
        }
    }
    ExitCode::from(r.code)
}

#[cfg(test)]
mod tests {
    /// A second run of a job while the first holds its directory gets a
    /// directory of its own, and the first keeps its own.
    #[test]
    fn two_runs_of_one_job_never_share_a_directory() {
        let label = format!("test-run-dir-{}", std::process::id());
        let (a, lock_a) = super::run_dir(&label).unwrap();
        let (b, lock_b) = super::run_dir(&label).unwrap();
        assert!(a.ends_with(&label), "{}", a.display());
        assert_ne!(a, b, "the second run must not write the first one's console");
        drop((lock_a, lock_b));
        let (c, _lock_c) = super::run_dir(&label).unwrap();
        assert_eq!(a, c, "a released directory is taken again");
        let _ = std::fs::remove_dir_all(&a);
        let _ = std::fs::remove_dir_all(&b);
    }
}
