//! The batch engines in the repository (.github/workflows/kernels.yml,
//! deploy/k8s, deploy/slurm) run `check kernels job INDEX` and read the
//! job list from `check kernels jobs` when they run, never a copy of it;
//! the submit commands their comments give do what they say. (`.ci/run`
//! also runs actionlint on the workflow and parses the manifest as YAML.)

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn count() -> usize {
    let o = Command::new(env!("CARGO_BIN_EXE_check")).args(["kernels", "jobs", "--count"]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

/// Runs the comment's command line that starts with `start` (after `# `,
/// with `\` continuations), with `check` replaced by this build's and the
/// last stage of the pipeline or the command word replaced by `tail`.
fn run_comment(file: &str, start: &str, replace: &[(&str, &str)]) -> String {
    let text = read(file);
    let mut lines =
        text.lines().map(|l| l.trim_start_matches('#').trim()).skip_while(|l| !l.starts_with(start));
    let mut cmd = String::new();
    for l in lines.by_ref() {
        cmd.push_str(l.trim_end_matches('\\'));
        cmd.push(' ');
        if !l.ends_with('\\') {
            break;
        }
    }
    assert!(!cmd.is_empty(), "{file} gives no command starting with {start}");
    let mut cmd = cmd.replace("target/release/check", env!("CARGO_BIN_EXE_check"));
    for (a, b) in replace {
        assert!(cmd.contains(a), "{file}: `{cmd}` has no `{a}`");
        cmd = cmd.replace(a, b);
    }
    let o = Command::new("bash").arg("-c").arg(&cmd).current_dir(root()).output().unwrap();
    assert!(o.status.success(), "{file}: `{cmd}`: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_workflow_fans_out_over_the_jobs_check_lists() {
    let w = read(".github/workflows/kernels.yml");
    for want in [
        "dist/check kernels jobs --json | jq -c '[.jobs[].index]'",
        "index: ${{ fromJSON(needs.build.outputs.indices) }}",
        "dist/check kernels job \"$INDEX\" --out jobs",
        "actions/upload-artifact@v4",
        "name: job-${{ matrix.index }}",
        "pattern: job-*",
        "dist/check kernels report jobs/job-* --md kernels.md",
        "check kernels agent",
    ] {
        assert!(w.contains(want), "the workflow lacks `{want}`");
    }
    assert!(!w.contains("index: ["), "the workflow must not list the jobs itself");
}

#[test]
fn the_kubernetes_job_is_indexed_over_the_jobs_check_counts() {
    let k = read("deploy/k8s/kernels-job.yaml");
    for want in
        ["completionMode: Indexed", "completions: ${JOBS}", "check kernels job \\\"$JOB_COMPLETION_INDEX\\\""]
    {
        assert!(k.contains(want), "the manifest lacks `{want}`");
    }
    if Command::new("envsubst").arg("--version").output().is_err() {
        eprintln!("envsubst (gettext-base) is not installed: the submit command is not run");
        return;
    }
    let applied = run_comment("deploy/k8s/kernels-job.yaml", "JOBS=", &[("kubectl apply -f -", "cat")]);
    assert!(applied.contains(&format!("completions: {}\n", count())), "{applied}");
    assert!(applied.contains("image: REGISTRY/mmflags:TAG"), "{applied}");
}

#[test]
fn the_slurm_array_spans_the_jobs_check_counts() {
    let s = read("deploy/slurm/kernels.sbatch");
    assert!(s.contains("check kernels job \"$SLURM_ARRAY_TASK_ID\""), "{s}");
    let submitted =
        run_comment("deploy/slurm/kernels.sbatch", "sbatch ", &[("sbatch --array", "echo --array")]);
    assert_eq!(submitted.trim(), format!("--array=0-{} deploy/slurm/kernels.sbatch", count() - 1));
}
