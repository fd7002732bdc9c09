//! The build's half of a kernel job's identity (docs/design.md 7a): a
//! SHA-256 over the sources that decide what a job runs and what it
//! expects — the model (`model/src`), the runner and agent that observe
//! the kernel (`conformance/src`) and `check conform`'s choice of traces
//! and verdicts (`checker/src/cmd/conform`, less `guest.rs`, which boots
//! the guest and decides neither) — and the model crate's version. `check
//! kernels report` refuses to merge jobs whose identity is not this build's.
//! The other half, the specs and litmus files, is read when the job runs.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const SOURCES: [&str; 3] = ["model/src", "conformance/src", "checker/src/cmd/conform"];
const NOT: [&str; 1] = ["checker/src/cmd/conform/guest.rs"];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut all = Vec::new();
    for d in SOURCES {
        println!("cargo:rerun-if-changed=../{d}");
        files(&root.join(d), &mut all);
    }
    // By path relative to the root, '/'-separated: the same on every machine.
    let mut named: Vec<(String, PathBuf)> = all
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap_or(&p);
            let name: Vec<String> =
                rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            (name.join("/"), p)
        })
        .filter(|(name, _)| !NOT.contains(&name.as_str()))
        .collect();
    named.sort();
    let mut h = Sha256::new();
    for (name, p) in &named {
        let data = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        h.update(name.as_bytes());
        h.update([0]);
        h.update((data.len() as u64).to_le_bytes());
        h.update(&data);
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo:rustc-env=MMFLAGS_MODEL_SOURCES_SHA256={hex}");
    println!("cargo:rerun-if-changed=../model/Cargo.toml");
    let manifest = std::fs::read_to_string(root.join("model/Cargo.toml")).expect("model/Cargo.toml");
    let version = manifest
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("version")
                .map(|v| v.trim_start_matches([' ', '=']).trim().trim_matches('"').to_string())
        })
        .expect("model/Cargo.toml has a version");
    println!("cargo:rustc-env=MMFLAGS_MODEL_VERSION={version}");
}
