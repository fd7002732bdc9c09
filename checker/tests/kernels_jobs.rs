//! The kernel matrix as jobs (docs/design.md 7a), without booting anything:
//! `check kernels jobs` lists them with stable indices, and `check kernels
//! report` merges job files written as `check kernels job` writes them,
//! refusing duplicates, files of another kernels.toml or model version and
//! files that are not jobs, and saying which jobs are missing (exit 2)
//! without ever showing them as passed. The same merge run on real guests
//! is `kernels_fanout.rs`.

mod common;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_check"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn jobs_json() -> Value {
    let o = check(&["kernels", "jobs", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A job file as `check kernels job` writes it after a clean run.
fn fake(listing: &Value, job: &Value) -> Value {
    let litmus = job["mode"] == "litmus";
    let mut v = json!({
        "errors": [], "mismatches": [], "skipped": [], "exit": 0,
        "kernel": "6.0.0-test", "spec": job["spec"], "steps": 100, "traces": 10, "sysfs": "always",
        "kernel_package": {"series": job["series"], "package": "linux-image-test", "version": "1.0-1",
                           "suite": "test", "deb_sha256": "ab".repeat(32), "vmlinuz_sha256": "cd".repeat(32)},
        "guest": {"accel": "tcg", "cpus": 2, "agent": "static", "boot_seconds": 3.0, "seconds": 60.0,
                  "console": "/nowhere/console.log"},
        "job": {"index": job["index"], "name": job["name"], "series": job["series"], "mode": job["mode"],
                "spec": job["spec"], "budget": job["budget"], "identity": listing["identity"]},
    });
    if !litmus {
        v["depth"] = 3.into();
        v["walks"] = 2000.into();
        v["seed"] = 1.into();
        v["modes"] = json!([job["mode"]]);
    }
    v
}

fn write(dir: &Path, v: &Value) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(format!("{}.json", v["job"]["name"].as_str().unwrap()));
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p
}

fn report(inputs: &[&Path], extra: &[&str], md: &Path) -> (Option<i32>, String) {
    let mut args: Vec<String> = vec!["kernels".into(), "report".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--md".to_string(), md.display().to_string()]);
    let o = check(&args.iter().map(String::as_str).collect::<Vec<_>>());
    (o.status.code(), text(&o))
}

#[test]
fn the_jobs_are_every_series_in_every_kind_with_stable_indices() {
    let l = jobs_json();
    let jobs = l["jobs"].as_array().unwrap();
    let toml: toml::Value = toml::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../kernels.toml")).unwrap(),
    )
    .unwrap();
    let series: Vec<&str> =
        toml["kernel"].as_array().unwrap().iter().map(|k| k["series"].as_str().unwrap()).collect();
    assert_eq!(jobs.len(), series.len() * 4);
    assert_eq!(l["count"], jobs.len());
    for (i, j) in jobs.iter().enumerate() {
        let kind = ["litmus", "never", "madvise", "always"][i % 4];
        assert_eq!(j["index"], i);
        assert_eq!(j["series"], series[i / 4]);
        assert_eq!(j["mode"], kind);
        assert_eq!(j["name"], format!("{}-{kind}", series[i / 4]));
        assert!(j["spec"].as_str().unwrap().starts_with("linux-"), "{j}");
        assert!(j["package"].as_str().unwrap().contains('*'), "{j}");
    }
    let count = check(&["kernels", "jobs", "--count"]);
    assert_eq!(String::from_utf8_lossy(&count.stdout).trim(), jobs.len().to_string());
    let some = check(&["kernels", "jobs", "--only", "1,0", "--walks", "7"]);
    let t = String::from_utf8_lossy(&some.stdout);
    assert_eq!(t.lines().count(), 3, "{t}");
    assert!(t.contains(&format!("{}-never", series[0])) && t.contains("7 walks"), "{t}");
    let bad = check(&["kernels", "jobs", "--only", "999"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("no job `999`"), "{}", text(&bad));
}

#[test]
fn a_merge_of_every_job_has_every_row_and_the_worst_exit() {
    let l = jobs_json();
    let dir = common::scratch("kernels-merge-all");
    for j in l["jobs"].as_array().unwrap() {
        write(&dir.join("jobs"), &fake(&l, j));
    }
    let md = dir.join("kernels.md");
    let (code, out) = report(&[&dir.join("jobs")], &[], &md);
    assert_eq!(code, Some(0), "{out}");
    let page = std::fs::read_to_string(&md).unwrap();
    let n = l["count"].as_u64().unwrap() as usize;
    assert_eq!(page.lines().filter(|r| r.starts_with("| ") && r.contains("`linux-")).count(), n, "{page}");
    assert!(!page.contains("missing"), "{page}");
    assert!(page.contains(&format!("{n} jobs: 0 mismatches")), "{page}");
    // A job with a mismatch: the merge still succeeds, and says so by its exit.
    let mut one = fake(&l, &l["jobs"][1]);
    one["exit"] = 1.into();
    one["mismatches"] = json!([{"trace": "t"}]);
    write(&dir.join("jobs"), &one);
    let (code, out) = report(&[&dir.join("jobs")], &[], &md);
    assert_eq!(code, Some(1), "{out}");
    assert!(std::fs::read_to_string(&md).unwrap().contains(&format!("{n} jobs: 1 mismatches")));
    // A job with a trace a huge page could not be allocated in: inconclusive
    // (exit 3), counted in its row and in the totals as a fallback.
    one = fake(&l, &l["jobs"][1]);
    one["exit"] = 3.into();
    one["inconclusive"] = json!([{"trace": ["P0 mmap() = v0"], "why": "thp_fault_fallback moved by 1"}]);
    one["fallbacks"] = json!({"thp_fault_fallback": {"traces": 1, "total": 1}});
    write(&dir.join("jobs"), &one);
    let (code, out) = report(&[&dir.join("jobs")], &[], &md);
    assert_eq!(code, Some(3), "{out}");
    let page = std::fs::read_to_string(&md).unwrap();
    let name = l["jobs"][1]["mode"].as_str().unwrap();
    let row = page.lines().find(|r| r.starts_with("| ") && r.contains(&format!("| {name} ("))).unwrap();
    assert!(row.contains("| 0 | 1 | 1 | 0 | 0 |"), "{row}");
    assert!(page.contains(&format!("{n} jobs: 0 mismatches, 1 inconclusive, 1 fallbacks")), "{page}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_job_is_named_in_the_report_and_the_exit_code_and_never_passes() {
    let l = jobs_json();
    let series = l["jobs"][0]["series"].as_str().unwrap().to_string();
    let dir = common::scratch("kernels-merge-missing");
    for j in &l["jobs"].as_array().unwrap()[..4] {
        if j["mode"] != "madvise" {
            write(&dir, &fake(&l, j));
        }
    }
    let md = dir.join("kernels.md");
    let (code, out) = report(&[&dir], &["--series", &series], &md);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&format!("{series}-madvise (job 2)")), "{out}");
    let page = std::fs::read_to_string(&md).unwrap();
    let row = page.lines().find(|r| r.contains("madvise")).unwrap();
    assert!(row.contains("**missing**") && !row.contains(" 0 "), "{row}");
    assert!(page.contains("Incomplete: 1 of 4 jobs are missing"), "{page}");
    assert!(page.contains("\n3 jobs: 0 mismatches"), "{page}");
    // The whole matrix from the same files: everything else is missing too.
    let (code, out) = report(&[&dir], &[], &md);
    assert_eq!(code, Some(2), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn duplicates_other_builds_and_other_files_are_refused_by_name() {
    let l = jobs_json();
    let dir = common::scratch("kernels-merge-refused");
    let jobs = l["jobs"].as_array().unwrap();
    let sel = ["--only", "0,1"];
    let a = write(&dir.join("a"), &fake(&l, &jobs[0]));
    let b = write(&dir.join("b"), &fake(&l, &jobs[0]));
    write(&dir.join("a"), &fake(&l, &jobs[1]));
    let md = dir.join("kernels.md");
    let (code, out) = report(&[&dir.join("a"), &dir.join("b")], &sel, &md);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("given twice") && out.contains(&a.display().to_string()), "{out}");
    assert!(out.contains(&b.display().to_string()), "{out}");
    assert!(!md.exists(), "a refused merge writes nothing");

    let mut other_toml = fake(&l, &jobs[0]);
    other_toml["job"]["identity"]["kernels_toml"] = "0".repeat(64).into();
    let p = write(&dir.join("c"), &other_toml);
    let (code, out) = report(&[&dir.join("c")], &sel, &md);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!(
            "{}: job {} is from another kernels.toml",
            p.display(),
            jobs[0]["name"].as_str().unwrap()
        )),
        "{out}"
    );

    for (field, words) in [("sources", "model sources"), ("specs", "specs"), ("version", "model version")] {
        let mut other = fake(&l, &jobs[1]);
        other["job"]["identity"]["model"][field] = "9".repeat(64).into();
        let p = write(&dir.join(format!("d-{field}")), &other);
        let (code, out) = report(&[&p], &sel, &md);
        assert_eq!(code, Some(2), "{out}");
        assert!(out.contains("is from another model version") && out.contains(words), "{field}: {out}");
        assert!(out.contains(&p.display().to_string()), "{out}");
    }

    // A file of the conform command itself, or of an older checker: no job record.
    let mut bare = fake(&l, &jobs[0]);
    bare.as_object_mut().unwrap().remove("job");
    let p = dir.join("e").join("0.json");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bare.to_string()).unwrap();
    let (code, out) = report(&[&p], &sel, &md);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&format!("{}: not a job file", p.display())), "{out}");

    // A record whose index is not that job's.
    let mut moved = fake(&l, &jobs[0]);
    moved["job"]["index"] = 5.into();
    let p = write(&dir.join("f"), &moved);
    let (code, out) = report(&[&p], &sel, &md);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("is not that job of this matrix"), "{out}");
    assert!(!md.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
