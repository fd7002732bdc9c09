//! `reports/kernels.md`, the kernel matrix: merged from the jobs' JSON
//! files (one per job of `check kernels jobs`, written by `check kernels
//! job INDEX`, whether `check kernels matrix` ran it here or a batch
//! engine ran it elsewhere), and checked by `check reports --check`
//! against the specs' claims (the matrix itself needs qemu and is not
//! rerun there).
//!
//! A merge takes only jobs of this build's matrix: every file must carry
//! the `job` record `check kernels job` writes, with this build's identity
//! (`kernels::identity`), and no job may come twice. A job of the
//! selection with no file is missing: the page says so in its row and
//! above the totals, and counts it as nothing, never as passed.

use crate::kernels::identity::{self, Identity};
use crate::kernels::jobs::KernelJob;
use mmflags_conformance::procfs;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One job's JSON and where it was read from.
#[derive(Clone, Debug)]
pub struct JobFile {
    pub path: PathBuf,
    pub json: Value,
}

impl JobFile {
    /// The job's exit code as `check kernels job` recorded it (3 when none).
    pub fn exit(&self) -> u8 {
        self.json["exit"].as_u64().map_or(3, |c| c.min(255) as u8)
    }
}

/// The JSON files named: each file itself, each directory's `*.json`
/// (not its subdirectories), in name order.
pub fn read_inputs(paths: &[PathBuf]) -> Result<Vec<JobFile>, String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "json"))
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p.clone());
        }
    }
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let json = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(JobFile { path, json })
        })
        .collect()
}

/// A merge: every selected job with its file, or none when it is missing.
#[derive(Debug)]
pub struct Merged {
    pub identity: Identity,
    /// The jobs of the whole matrix (for "N of M").
    pub of: usize,
    pub rows: Vec<(KernelJob, Option<JobFile>)>,
    /// Files of jobs outside the selection: read, checked, not shown.
    pub ignored: Vec<PathBuf>,
}

impl Merged {
    pub fn missing(&self) -> Vec<&KernelJob> {
        self.rows.iter().filter(|(_, f)| f.is_none()).map(|(j, _)| j).collect()
    }

    /// The worst exit code of the jobs present (0 all agreed, 1 a mismatch,
    /// 3 inconclusive).
    pub fn worst_exit(&self) -> u8 {
        self.rows.iter().filter_map(|(_, f)| f.as_ref()).map(JobFile::exit).max().unwrap_or(0)
    }
}

/// The job a file holds, by name, or why it cannot be merged.
fn check_file(f: &JobFile, all: &[KernelJob], current: &Identity) -> Result<String, String> {
    let at = f.path.display();
    let job = f.json.get("job").filter(|j| j.is_object()).ok_or_else(|| {
        format!(
            "{at}: not a job file of `check kernels job` (no `job` record with its identity); \
             run the job again with `check kernels job`"
        )
    })?;
    let name = job["name"].as_str().unwrap_or("?").to_string();
    let id: Identity = serde_json::from_value(job["identity"].clone())
        .map_err(|e| format!("{at}: job {name}: its identity cannot be read ({e})"))?;
    if id.kernels_toml != current.kernels_toml {
        return Err(format!(
            "{at}: job {name} is from another kernels.toml (sha256 {}; this build's: {})",
            identity::short(&id.kernels_toml),
            identity::short(&current.kernels_toml)
        ));
    }
    let d = id.model.differences(&current.model);
    if !d.is_empty() {
        return Err(format!("{at}: job {name} is from another model version: {}", d.join(", ")));
    }
    let index = job["index"].as_u64().map(|i| i as usize);
    match index.and_then(|i| all.get(i)) {
        Some(j) if j.name == name => Ok(name),
        _ => Err(format!(
            "{at}: job {name} (index {}) is not that job of this matrix (`check kernels jobs`)",
            job["index"]
        )),
    }
}

/// Merges `inputs` into the rows of `selected` (jobs of `all`). Refuses,
/// naming the files, any file that is not a job of this build's matrix
/// (no job record, another kernels.toml, another model version) and any
/// job given twice. Missing jobs are not an error here: see `missing`.
pub fn merge(
    all: &[KernelJob],
    selected: &[KernelJob],
    current: &Identity,
    inputs: Vec<JobFile>,
) -> Result<Merged, Vec<String>> {
    let mut problems = Vec::new();
    let mut named: Vec<(String, JobFile)> = Vec::new();
    for f in inputs {
        match check_file(&f, all, current) {
            Ok(name) => named.push((name, f)),
            Err(e) => problems.push(e),
        }
    }
    for (i, (name, f)) in named.iter().enumerate() {
        if let Some((_, first)) = named[..i].iter().find(|(n, _)| n == name) {
            problems.push(format!(
                "job {name} is given twice: {} and {}",
                first.path.display(),
                f.path.display()
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut ignored = Vec::new();
    let mut rows: Vec<(KernelJob, Option<JobFile>)> = selected.iter().map(|j| (j.clone(), None)).collect();
    for (name, f) in named {
        match rows.iter_mut().find(|(j, _)| j.name == name) {
            Some(row) => row.1 = Some(f),
            None => ignored.push(f.path),
        }
    }
    Ok(Merged { identity: current.clone(), of: all.len(), rows, ignored })
}

fn count(v: &Value, key: &str) -> usize {
    v[key].as_array().map_or(0, |a| a.len())
}

/// Traces a huge page could not be allocated in (`thp_fault_fallback`,
/// `thp_collapse_alloc_failed` moved): the model assumes it always can,
/// so each such trace is inconclusive, and the matrix must show none.
fn fallbacks(v: &Value) -> u64 {
    [procfs::FAULT_FALLBACK, procfs::COLLAPSE_ALLOC_FAILED]
        .iter()
        .map(|c| v["fallbacks"][*c]["traces"].as_u64().unwrap_or(0))
        .sum()
}

fn skipped_steps(v: &Value) -> u64 {
    v["skipped"].as_array().map_or(0, |a| a.iter().map(|s| s["steps"].as_u64().unwrap_or(0)).sum())
}

/// The page.
pub fn render(m: &Merged) -> String {
    let mut md = String::from(
        "# The kernel matrix\n\n\
         Every kernel series in `kernels.toml`, as Debian ships it today, booted under qemu with the \
         checker and its agent in a busybox initramfs, against the spec that claims the series \
         (`[spec] kernels`). Each row is one job of `check kernels jobs` with its own JSON \
         ([`kernels/`](kernels/)): the litmus files for that spec (`specs/litmus/`, run in every THP mode \
         they assume), or every trace of the spec to the depth plus seeded random walks in one THP \
         mode, as real root in the guest. A job is `check kernels job INDEX` (the same run as \
         `check conform --kernel SERIES --sysfs MODE --json`), run here by `check kernels matrix` or \
         anywhere by a batch engine (`deploy/`); `check kernels report` merged them. A trace is \
         *inconclusive* (neither passed nor a mismatch) when the machine did what the model leaves \
         out: a huge page that could not be allocated (*fallbacks*: `thp_fault_fallback` or \
         `thp_collapse_alloc_failed` moved), khugepaged collapsing on its own, or a transient \
         `MADV_COLLAPSE` -EAGAIN.\n\n\
         The guests boot Debian's `-cloud` flavour. Its config builds what the model needs as the \
         generic flavour fleets run does: `CONFIG_KSM=y` and `CONFIG_TRANSPARENT_HUGEPAGE=y` (default \
         `always`) in both flavours of every package here (read from each package's `config` file; \
         from 6.19 it is in `linux-base-*`), and the runner refuses a kernel without KSM or with \
         ksmd running.\n\n",
    );
    let present = m.rows.iter().filter(|(_, f)| f.is_some()).count();
    md.push_str(&format!(
        "{} of the matrix's {} jobs selected, {present} of them present; kernels.toml sha256 `{}`, model {}.\n\n",
        m.rows.len(),
        m.of,
        identity::short(&m.identity.kernels_toml),
        m.identity.model.short()
    ));
    let (mut total_mis, mut total_skip, mut total_err, mut total_s) = (0, 0u64, 0, 0.0);
    let (mut total_unsure, mut total_fallbacks) = (0, 0u64);
    md.push_str("| series | package | version | .deb sha256 | spec | job | traces | steps | mismatches | inconclusive | fallbacks | skipped steps | errors | boot s | run s |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (job, file) in &m.rows {
        let Some(f) = file else {
            md.push_str(&format!(
                "| {} | — | — | — | `{}` | {}: **missing** | — | — | — | — | — | — | — | — | — |\n",
                job.series, job.spec, job.mode
            ));
            continue;
        };
        let v = &f.json;
        let kp = &v["kernel_package"];
        let budget = if job.is_litmus() {
            "litmus".to_string()
        } else {
            // The job's own budget record, which a failed run has too.
            let b = &v["job"]["budget"];
            format!("{} (depth {} + {} walks)", job.mode, b["depth"], b["walks"])
        };
        let (mis, skip, err) = (count(v, "mismatches"), skipped_steps(v), count(v, "errors"));
        let (unsure, fell) = (count(v, "inconclusive"), fallbacks(v));
        total_unsure += unsure;
        total_fallbacks += fell;
        let failed = v.get("error").is_some();
        total_mis += mis;
        total_skip += skip;
        total_err += err + failed as usize;
        total_s += v["guest"]["seconds"].as_f64().unwrap_or(0.0);
        let show = |x: &Value| if x.is_null() { "—".to_string() } else { x.to_string() };
        let code = |x: &Value, n: usize| {
            x.as_str().map_or("—".to_string(), |t| format!("`{}`", &t[..t.len().min(n)]))
        };
        md.push_str(&format!(
            "| {} | {} | {} | {} | `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.0} |\n",
            job.series,
            code(&kp["package"], usize::MAX),
            code(&kp["version"], usize::MAX),
            code(&kp["deb_sha256"], 16),
            v["spec"].as_str().unwrap_or(&job.spec),
            if failed { format!("{budget}: **guest failed**") } else { budget },
            show(&v["traces"]),
            show(&v["steps"]),
            mis,
            unsure,
            fell,
            skip,
            err + failed as usize,
            v["guest"]["boot_seconds"].as_f64().unwrap_or(0.0),
            v["guest"]["seconds"].as_f64().unwrap_or(0.0),
        ));
    }
    let missing = m.missing();
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|j| format!("{} (job {})", j.name, j.index)).collect();
        md.push_str(&format!(
            "\n**Incomplete: {} of {} jobs are missing**: {}. A missing job ran nothing here and passed \
             nothing; the counts below are of the {present} present.\n",
            missing.len(),
            m.rows.len(),
            names.join(", ")
        ));
    }
    md.push_str(&format!(
        "\n{present} {}: {total_mis} mismatches, {total_unsure} inconclusive, {total_fallbacks} fallbacks, {total_skip} skipped steps, {total_err} errors; {total_s:.0} s of guest time in all.\n",
        if present == 1 { "job" } else { "jobs" }
    ));
    md
}

/// Writes the page to `path`.
pub fn write(m: &Merged, path: &Path) -> Result<(), String> {
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(path, render(m)).map_err(|e| format!("{}: {e}", path.display()))
}

/// `check reports --check`'s part: the specs kernels.md names exist and claim those series.
pub fn check_claims(md: &Path) -> Result<usize, String> {
    let Ok(text) = std::fs::read_to_string(md) else {
        return Ok(0);
    };
    let all = crate::kernels::claims()?;
    let mut rows = 0;
    for (i, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 7 || !cells[1].chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let (series, spec) = (cells[1], cells[5].trim_matches('`'));
        let at = format!("{}:{}", md.display(), i + 1);
        let Some((_, claimed)) = all.iter().find(|(n, _)| n == spec) else {
            return Err(format!(
                "{at}: kernel {series} is reported against spec `{spec}`, which does not exist"
            ));
        };
        if !claimed.iter().any(|s| s == series) {
            return Err(format!(
                "{at}: kernel {series} is reported against `{spec}`, which does not claim it (its kernels: {})",
                claimed.join(", ")
            ));
        }
        rows += 1;
    }
    Ok(rows)
}
