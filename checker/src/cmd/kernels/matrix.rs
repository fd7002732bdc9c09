//! `check kernels matrix`: a selection of the matrix run on this machine,
//! N guests at once. Every job is `check kernels job INDEX` run as a
//! process of its own, exactly as a batch engine runs it (deploy/), and
//! the report is `check kernels report` over the selection: the local run
//! and the engines share one entry point each way. The agent is built
//! once, before the first job, and given to every job.

use super::{Budget, GuestOpts, Selection};
use mmflags_checker::kernels::identity::{self, Identity};
use mmflags_checker::kernels::jobs::{self, KernelJob};
use mmflags_checker::spec::search_path;
use mmflags_guest::{agent, apt, kernels};
use serde_json::Value;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a guest needs besides its vCPUs: 1536 MiB of guest memory and
/// qemu's own (measured: about 250 MiB under TCG).
const GUEST_MIB: u64 = 2048;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn mem_available_mib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024)
}

/// Guests at once by default: one per core (each with one vCPU: under TCG
/// two one-vCPU guests on two cores ran a selection in two thirds of the
/// time one two-vCPU guest at a time took, README), as many as memory
/// holds, at least one.
pub(super) fn default_parallel() -> usize {
    let by_cores = cores().max(1);
    let by_mem = mem_available_mib().map_or(by_cores, |m| (m / GUEST_MIB).max(1) as usize);
    by_cores.min(by_mem)
}

/// vCPUs per guest when `n` run at once: the cores shared out, 1 to 4.
pub(super) fn guest_cpus(n: usize) -> u32 {
    (cores() / n.max(1)).clamp(1, 4) as u32
}

/// An earlier job file worth keeping (--resume): this build's identity, the
/// same budget, a run that completed, and today's package of the series.
fn keep(file: &Path, job: &KernelJob, b: &Budget, id: &Identity) -> bool {
    let Some(v) = std::fs::read(file).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()) else {
        return false;
    };
    let same_job = v["job"]["name"] == job.name.as_str()
        && serde_json::from_value::<Identity>(v["job"]["identity"].clone()).is_ok_and(|i| i == *id);
    let was = &v["job"]["budget"];
    let same_budget =
        job.is_litmus() || (was["depth"] == b.depth && was["walks"] == b.walks && was["seed"] == b.seed);
    if !same_job || !same_budget || v.get("error").is_some() || v["exit"].as_u64().is_none_or(|c| c > 1) {
        return false;
    }
    let version = kernels::by_series(&job.series)
        .and_then(|k| apt::fetch(&k, &kernels::all(), false))
        .map(|f| f.package.version)
        .unwrap_or_default();
    v["kernel_package"]["version"] == version.as_str()
}

struct Running {
    job: KernelJob,
    child: Child,
    relays: Vec<JoinHandle<()>>,
    started: Instant,
}

/// Copies a child's output to ours, each line prefixed with its job.
fn relay(from: impl Read + Send + 'static, prefix: String, to_stderr: bool) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            if to_stderr {
                eprintln!("{prefix}{line}");
            } else {
                println!("{prefix}{line}");
            }
        }
    })
}

#[allow(clippy::too_many_arguments)]
fn spawn(
    exe: &Path,
    job: &KernelJob,
    b: &Budget,
    g: &GuestOpts,
    agent: &Path,
    cpus: u32,
    out: &Path,
    side_by_side: bool,
) -> Result<Running, String> {
    let mut c = Command::new(exe);
    for d in search_path::extra_dirs() {
        c.arg("--specs").arg(d);
    }
    c.args(["kernels", "job", &job.index.to_string(), "--out"])
        .arg(out)
        .args([
            "--depth",
            &b.depth.to_string(),
            "--walks",
            &b.walks.to_string(),
            "--seed",
            &b.seed.to_string(),
        ])
        .arg("--agent")
        .arg(agent)
        .args(["--guest-cpus", &cpus.to_string(), "--guest-timeout", &g.guest_timeout.to_string()])
        .stdin(Stdio::null())
        // Its own process group: a Ctrl-C reaches the matrix, which passes
        // one SIGINT on to each job (a job stops its guest on the first and
        // exits at once on the second).
        .process_group(0);
    // SAFETY: prctl is async-signal-safe and touches only the child. If the
    // matrix dies, each job is interrupted as by one Ctrl-C: it stops its guest.
    unsafe {
        c.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    if side_by_side {
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut child = c.spawn().map_err(|e| format!("starting {}: {e}", exe.display()))?;
    let prefix = format!("[{}] ", job.name);
    let mut relays = Vec::new();
    if let Some(o) = child.stdout.take() {
        relays.push(relay(o, prefix.clone(), false));
    }
    if let Some(e) = child.stderr.take() {
        relays.push(relay(e, prefix, true));
    }
    Ok(Running { job: job.clone(), child, relays, started: Instant::now() })
}

pub(super) fn run(
    select: &Selection,
    b: &Budget,
    g: &GuestOpts,
    parallel: Option<usize>,
    resume: bool,
    out: &Path,
    interrupt: &AtomicBool,
) -> ExitCode {
    let bad = |e: String| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    };
    let (all, id) = match jobs::all().and_then(|a| identity::current().map(|i| (a, i))) {
        Ok(x) => x,
        Err(e) => return bad(e),
    };
    let chosen = match jobs::select(&all, &select.series, &select.only) {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    if parallel == Some(0) {
        return bad("--jobs must be at least 1".into());
    }
    if let Err(e) = std::fs::create_dir_all(out) {
        return bad(format!("{}: {e}", out.display()));
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return bad(format!("locating this executable: {e}")),
    };
    // Built (or found fresh) once, here, for every job.
    let agent = match agent::for_guests(g.agent.as_deref(), &exe, &|w| println!("matrix: {w}")) {
        Ok(a) => a,
        Err(e) => return bad(e),
    };
    let n = parallel.unwrap_or_else(default_parallel);
    let cpus = g.guest_cpus.unwrap_or_else(|| guest_cpus(n));
    let mut queue: VecDeque<KernelJob> = VecDeque::new();
    for j in &chosen {
        let file = out.join(format!("{}.json", j.name));
        if resume && keep(&file, j, b, &id) {
            println!("matrix: {}: kept from an earlier run ({})", j.name, file.display());
        } else {
            queue.push_back(j.clone());
        }
    }
    println!(
        "matrix: {} jobs to run ({} selected), {n} at once, {cpus} vCPU{} each, {} agent {}",
        queue.len(),
        chosen.len(),
        if cpus == 1 { "" } else { "s" },
        agent.linking.name(),
        agent.path.display()
    );
    let start = Instant::now();
    let mut running: Vec<Running> = Vec::new();
    let mut stopped = false;
    loop {
        if interrupt.load(Ordering::Relaxed) && !stopped {
            stopped = true;
            for r in &running {
                // SAFETY: a signal to a child this process started and has not reaped.
                unsafe { libc::kill(r.child.id() as libc::pid_t, libc::SIGINT) };
            }
        }
        while !stopped && running.len() < n {
            let Some(j) = queue.pop_front() else { break };
            println!(
                "matrix: job {} ({}) started ({:.0} s so far)",
                j.index,
                j.name,
                start.elapsed().as_secs_f64()
            );
            match spawn(&exe, &j, b, g, &agent.path, cpus, out, n > 1) {
                Ok(r) => running.push(r),
                Err(e) => {
                    eprintln!("error: {e}");
                    stopped = true;
                }
            }
        }
        let mut i = 0;
        while i < running.len() {
            match running[i].child.try_wait() {
                Ok(None) => i += 1,
                done => {
                    let mut r = running.swap_remove(i);
                    let code = match done {
                        Ok(Some(st)) => st.code().map_or("killed".to_string(), |c| c.to_string()),
                        _ => {
                            let _ = r.child.wait();
                            "lost".to_string()
                        }
                    };
                    for t in r.relays.drain(..) {
                        let _ = t.join();
                    }
                    println!(
                        "matrix: job {} ({}) exit {code} after {:.0} s ({:.0} s so far)",
                        r.job.index,
                        r.job.name,
                        r.started.elapsed().as_secs_f64(),
                        start.elapsed().as_secs_f64()
                    );
                }
            }
        }
        if running.is_empty() && (stopped || queue.is_empty()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "matrix: {} jobs ran in {:.0} s (wall)",
        chosen.len() - queue.len(),
        start.elapsed().as_secs_f64()
    );
    let files: Vec<PathBuf> =
        chosen.iter().map(|j| out.join(format!("{}.json", j.name))).filter(|f| f.exists()).collect();
    let md = out.parent().unwrap_or(Path::new(".")).join("kernels.md");
    let code = super::report(&files, select, &md);
    if stopped {
        return ExitCode::from(3);
    }
    code
}
