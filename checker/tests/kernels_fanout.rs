//! The matrix fanned out (docs/design.md 7a), on real guests: two jobs run
//! as separate processes at once into one directory, merged by `check
//! kernels report`, give the report the sequential `check kernels matrix`
//! writes for the same jobs (all but the seconds, which no two runs
//! share); a merge with one of them missing says so and exits 2.
//!
//! The jobs are the cheapest real ones, the litmus jobs of the oldest and
//! the newest series (seconds each under TCG). It needs Debian's
//! `qemu-system-x86` and `busybox-static` and the network (or the kernel
//! cache); without qemu or busybox it is skipped with a message, unless
//! `MMFLAGS_REQUIRE_QEMU=1` (as `.ci/run` sets) makes that a failure.

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn check() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_check"));
    c.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).stdin(Stdio::null());
    c
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd).arg(arg).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// The page with the seconds blanked: the last two cells of each row
/// (boot s, run s) and the guest time in the closing line.
fn without_seconds(page: &str) -> String {
    page.lines()
        .map(|l| {
            if l.starts_with("| ") && l.contains("`linux-") {
                let mut cells: Vec<&str> = l.split('|').collect();
                let n = cells.len();
                cells[n - 3] = " s ";
                cells[n - 2] = " s ";
                cells.join("|")
            } else if let Some(i) = l.find(" s of guest time") {
                let start = l[..i].rfind(' ').map_or(0, |k| k + 1);
                format!("{}N{}", &l[..start], &l[i..])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn two_jobs_run_apart_and_merged_equal_the_sequential_matrix() {
    let required = std::env::var("MMFLAGS_REQUIRE_QEMU").is_ok_and(|v| v == "1");
    let bb = ["/bin/busybox", "/usr/bin/busybox"].iter().any(|p| Path::new(p).exists());
    if !have("qemu-system-x86_64", "--version") || !bb {
        let why =
            "qemu-system-x86_64 or busybox is not installed (Debian's qemu-system-x86 and busybox-static)";
        assert!(!required, "MMFLAGS_REQUIRE_QEMU=1 and {why}");
        eprintln!("SKIPPED: {why}; the kernel matrix's fan-out is not tested here");
        return;
    }
    let listing: Value =
        serde_json::from_slice(&check().args(["kernels", "jobs", "--json"]).output().unwrap().stdout)
            .unwrap();
    let jobs = listing["jobs"].as_array().unwrap();
    let litmus: Vec<&Value> = jobs.iter().filter(|j| j["mode"] == "litmus").collect();
    let (a, b) = (litmus[0], litmus[litmus.len() - 1]);
    let names = [a["name"].as_str().unwrap(), b["name"].as_str().unwrap()];
    let only = names.join(",");
    let dir = common::scratch("kernels-fanout");
    let fan = dir.join("fan").join("jobs");

    // The engines' way: each job its own process, at the same time.
    let spawn = |j: &Value| {
        check()
            .args(["kernels", "job", &j["index"].to_string(), "--out"])
            .arg(&fan)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (pa, pb) = (spawn(a), spawn(b));
    for (p, name) in [(pa, names[0]), (pb, names[1])] {
        let o = p.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "job {name}:\n{}", text(&o));
        assert!(fan.join(format!("{name}.json")).exists());
    }
    let merged = dir.join("fan").join("kernels.md");
    let o = check()
        .args(["kernels", "report"])
        .arg(&fan)
        .args(["--only", &only, "--md"])
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // The sequential matrix over the same jobs.
    let seq = dir.join("seq").join("kernels");
    let o = check()
        .args(["kernels", "matrix", "--only", &only, "--jobs", "1", "--out"])
        .arg(&seq)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let sequential = std::fs::read_to_string(dir.join("seq").join("kernels.md")).unwrap();
    let fanned = std::fs::read_to_string(&merged).unwrap();
    assert_eq!(
        without_seconds(&fanned),
        without_seconds(&sequential),
        "fanned out:\n{fanned}\nsequential:\n{sequential}"
    );
    for n in names {
        assert!(fanned.contains(&format!("| {} |", n.split('-').next().unwrap())), "{fanned}");
    }
    for f in [&fanned, &sequential] {
        assert!(
            f.contains("2 jobs: 0 mismatches, 0 inconclusive, 0 fallbacks, 0 skipped steps, 0 errors"),
            "{f}"
        );
    }
    let v: Value =
        serde_json::from_slice(&std::fs::read(fan.join(format!("{}.json", names[0]))).unwrap()).unwrap();
    assert_eq!(v["guest"]["agent"], "static", "the guests run the static agent by default");

    // One job gone: the merge names it, exits 2, and the page says so.
    std::fs::remove_file(fan.join(format!("{}.json", names[1]))).unwrap();
    let o = check()
        .args(["kernels", "report"])
        .arg(&fan)
        .args(["--only", &only, "--md"])
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains(&format!("{} (job {})", names[1], b["index"])), "{}", text(&o));
    let page = std::fs::read_to_string(&merged).unwrap();
    assert!(page.contains("**missing**") && page.contains("Incomplete: 1 of 2 jobs are missing"), "{page}");
    let _ = std::fs::remove_dir_all(&dir);
}
