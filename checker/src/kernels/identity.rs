//! What a kernel job's JSON says it was made with, so that `check kernels
//! report` merges only jobs of one matrix (docs/design.md 7a):
//!
//! - `kernels_toml`: the SHA-256 of the kernels.toml this build carries
//!   (the list of series, and so the job indices);
//! - `model`: the model crate's version, a SHA-256 over this build's
//!   sources of the model, the conformance runner and agent, and `check
//!   conform`'s choice of traces (`checker/build.rs` computes it), and a
//!   SHA-256 over the specs (`specs/*.toml`) and litmus files
//!   (`specs/litmus/*.litmus`) the job read when it ran.
//!
//! Two jobs built from one commit on any machines have the same identity;
//! an edit to the model, the runner or a spec changes it.

use crate::spec;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// mmflags-model's crate version.
    pub version: String,
    /// The build's sources (checker/build.rs).
    pub sources: String,
    /// The specs and litmus files.
    pub specs: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub kernels_toml: String,
    pub model: Model,
}

fn hex(h: Sha256) -> String {
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

/// The SHA-256 over the specs and litmus files in `dir` (and `dir/litmus`),
/// each by its name relative to `dir`.
pub fn specs_sha256(dir: &Path) -> Result<String, String> {
    let mut h = Sha256::new();
    let files = files_with(dir, "toml").into_iter().chain(files_with(&dir.join("litmus"), "litmus"));
    for f in files {
        let name = f.strip_prefix(dir).unwrap_or(&f).to_string_lossy().replace('\\', "/");
        let data = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        h.update(name.as_bytes());
        h.update([0]);
        h.update((data.len() as u64).to_le_bytes());
        h.update(&data);
    }
    Ok(hex(h))
}

/// This build's identity, with the specs of the project's specs/.
pub fn current() -> Result<Identity, String> {
    let mut k = Sha256::new();
    k.update(mmflags_guest::kernels::KERNELS_TOML.as_bytes());
    Ok(Identity {
        kernels_toml: hex(k),
        model: Model {
            version: env!("MMFLAGS_MODEL_VERSION").to_string(),
            sources: env!("MMFLAGS_MODEL_SOURCES_SHA256").to_string(),
            specs: specs_sha256(&spec::specs_dir())?,
        },
    })
}

impl Model {
    /// `0.1.0, sources 1a2b3c4d5e6f, specs 0f1e2d3c4b5a`.
    pub fn short(&self) -> String {
        format!("{}, sources {}, specs {}", self.version, short(&self.sources), short(&self.specs))
    }

    /// What differs from `other`, in words (empty when nothing does).
    pub fn differences(&self, other: &Model) -> Vec<String> {
        let mut d = Vec::new();
        if self.version != other.version {
            d.push(format!("model version {} (this build's: {})", self.version, other.version));
        }
        if self.sources != other.sources {
            d.push(format!(
                "model sources {} (this build's: {})",
                short(&self.sources),
                short(&other.sources)
            ));
        }
        if self.specs != other.specs {
            d.push(format!("specs {} (this checkout's: {})", short(&self.specs), short(&other.specs)));
        }
        d
    }
}

/// The first 12 hex digits of a hash, as reports show it.
pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_is_hashes_and_the_version() {
        let a = current().unwrap();
        assert_eq!(a, current().unwrap(), "the same build and checkout, the same identity");
        for h in [&a.kernels_toml, &a.model.sources, &a.model.specs] {
            assert_eq!(h.len(), 64, "{h}");
            assert!(h.chars().all(|c| c.is_ascii_hexdigit()), "{h}");
        }
        assert!(a.model.differences(&a.model).is_empty());
        let mut b = a.model.clone();
        b.specs = "0".repeat(64);
        assert_eq!(a.model.differences(&b).len(), 1);
        assert!(a.model.differences(&b)[0].starts_with("specs "));
    }

    #[test]
    fn a_changed_spec_file_changes_the_specs_hash() {
        let dir = std::env::temp_dir().join(format!("mmflags-identity-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("litmus")).unwrap();
        std::fs::write(dir.join("a.toml"), "x").unwrap();
        let one = specs_sha256(&dir).unwrap();
        std::fs::write(dir.join("litmus/t.litmus"), "P0 mmap() = v0\n").unwrap();
        let two = specs_sha256(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a spec").unwrap();
        assert_eq!(two, specs_sha256(&dir).unwrap(), "only specs and litmus files count");
        assert_ne!(one, two);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
