//! Helpers shared by the explorer and browser tests: a small spec written
//! to a fresh directory, the `check` binary, and a running `check explore`
//! that is killed when dropped.

#![allow(dead_code)]

pub mod webdriver;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Mainline at small bounds: `secure_exec_inherits_nothing` is violated in
/// 3 steps and the whole space is a few thousand states.
pub const SMALL_SPEC: &str = r#"
[spec]
name = "small"
title = "Mainline Linux 6.18 at small bounds"
source = "the explorer tests"

[semantics]
variant = "mainline"
vm_init_def_mask = ["VM_NOHUGEPAGE"]
mmf_init_mask = ["MMF_DUMPABLE", "MMF_DISABLE_THP_COMPLETELY", "MMF_DISABLE_THP_EXCEPT_ADVISED"]
secureexec_clear_def_flags = []
secureexec_clear_mmf = []
pmadv_flags = []

[intent]
default_survives_fork = false
default_survives_exec = false

[bounds]
processes = 2
vmas = 2
sysfs = ["madvise", "never"]
depth = 4

[expect]
thp_flags_exclusive = "holds"
secure_exec_inherits_nothing = "violated"
disable_means_no_eligible_vma = "holds"
unmodified_program_gets_eligible_vma = "unreachable"
"#;

/// A fresh directory under the target dir (outside the repo's sources).
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the small spec into `dir` and returns its path.
pub fn small_spec(dir: &Path) -> PathBuf {
    let p = dir.join("small.toml");
    std::fs::write(&p, SMALL_SPEC).unwrap();
    p
}

pub fn check() -> Command {
    Command::new(env!("CARGO_BIN_EXE_check"))
}

/// `check trace SPEC PROPERTY [--html FILE]`: its stdout.
pub fn trace(spec: &Path, property: &str, html: Option<&Path>) -> String {
    let mut c = check();
    c.arg("trace").arg(spec).arg(property).args(["--threads", "1"]);
    if let Some(h) = html {
        c.arg("--html").arg(h);
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "check trace failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The `#/steps/...` path a printed trace links to.
pub fn steps_link(trace: &str) -> String {
    let line =
        trace.lines().find(|l| l.starts_with("# explorer: ")).expect("the trace carries an explorer link");
    let url = line.trim_start_matches("# explorer: ");
    url.split_once('#').expect("a fragment").1.to_string()
}

/// A `check explore` child on a free loopback port.
pub struct Explorer {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Explorer {
    pub fn start(spec: &Path) -> Explorer {
        let mut child = check()
            .arg("explore")
            .arg(spec)
            .args(["--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        // Keep reading what it prints, so its stdout never closes under it.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|r| r.trim().trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("no URL in `check explore`'s first line: {first:?}"));
        Explorer { child, addr }
    }

    pub fn url(&self, rest: &str) -> String {
        format!("http://{}{rest}", self.addr)
    }
}

impl Drop for Explorer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
