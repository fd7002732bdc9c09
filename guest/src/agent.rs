//! The agent image the guests run. Statically linked by default: under
//! TCG every exec runs the loader and every smaps read the runner makes
//! walks the mappings, so a static agent (no loader, no shared objects)
//! runs the same traces about a quarter faster (README, "Every kernel
//! users run").
//!
//! The project's build makes it, not a hand-set RUSTFLAGS: `check` runs
//! `cargo build --release --target x86_64-unknown-linux-gnu` for the agent
//! alone, with `+crt-static` for that target only (given `--target`, cargo
//! builds build scripts and proc-macros for the host without those flags,
//! which `+crt-static` would break), into a target directory of its own
//! (`target/static-agent`, so the ordinary build is never rebuilt). Cargo
//! makes it once and finds it fresh afterwards in well under a second.
//! `check kernels agent` does only that and prints its path.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The guests are x86_64 (`qemu-system-x86_64`, Debian's amd64 kernels).
pub const TARGET: &str = "x86_64-unknown-linux-gnu";
/// The flags the static agent is built with, for `TARGET` only.
pub const RUSTFLAGS: &str = "-Ctarget-feature=+crt-static";
const PT_INTERP: u32 = 3;

/// How an executable is linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linking {
    /// No program interpreter: runs without the loader or shared objects.
    Static,
    Dynamic,
}

impl Linking {
    pub fn name(self) -> &'static str {
        match self {
            Linking::Static => "static",
            Linking::Dynamic => "dynamic",
        }
    }
}

/// The agent a guest will run, and how it is linked.
#[derive(Clone, Debug)]
pub struct Agent {
    pub path: PathBuf,
    pub linking: Linking,
}

/// How the ELF64 file `path` is linked: dynamic when it has a
/// program interpreter (`PT_INTERP`), static otherwise.
pub fn linking(path: &Path) -> Result<Linking, String> {
    let b = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bad = || format!("{}: not a 64-bit little-endian ELF executable", path.display());
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        return Err(bad());
    }
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(b[0x20..0x28].try_into().expect("8 bytes")) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    for i in 0..phnum {
        let at = phoff.checked_add(i * phentsize).filter(|a| a + 4 <= b.len()).ok_or_else(bad)?;
        if u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes")) == PT_INTERP {
            return Ok(Linking::Dynamic);
        }
    }
    Ok(Linking::Static)
}

/// The source tree this build came from, if it is still there.
pub fn workspace() -> Option<PathBuf> {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.to_path_buf();
    (ws.join("Cargo.toml").is_file() && ws.join("conformance/src/bin/mmflags-agent.rs").is_file())
        .then_some(ws)
}

/// Where the static agent is built: `target/static-agent` beside the
/// `release`/`debug` directory `exe` runs from, else the workspace's.
fn static_target_dir(ws: &Path, exe: &Path) -> PathBuf {
    let profile_dir = exe.parent();
    match profile_dir.and_then(|d| d.file_name().map(|n| (d, n))) {
        Some((d, n)) if n == "release" || n == "debug" => {
            d.parent().unwrap_or(Path::new(".")).join("static-agent")
        }
        _ => ws.join("target").join("static-agent"),
    }
}

/// Builds (or finds fresh) the statically linked agent from the workspace
/// `ws`, next to the build `exe` comes from; fails unless it is static.
pub fn build_static(ws: &Path, exe: &Path) -> Result<PathBuf, String> {
    let dir = static_target_dir(ws, exe);
    let cargo = cargo();
    let mut c = Command::new(&cargo);
    c.current_dir(ws)
        .args(["build", "--quiet", "--release", "--target", TARGET, "-p", "mmflags-conformance"])
        .args(["--bin", "mmflags-agent", "--target-dir"])
        .arg(&dir)
        .arg("--manifest-path")
        .arg(ws.join("Cargo.toml"))
        // For TARGET only (see the module's doc); RUSTFLAGS would take precedence.
        .env("CARGO_ENCODED_RUSTFLAGS", RUSTFLAGS)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET");
    let what = format!(
        "building the static agent (CARGO_ENCODED_RUSTFLAGS={RUSTFLAGS} {} build --release --target {TARGET} \
         -p mmflags-conformance --bin mmflags-agent --target-dir {})",
        Path::new(&cargo).display(),
        dir.display()
    );
    let st = c.status().map_err(|e| format!("{what}: {e}"))?;
    if !st.success() {
        return Err(format!("{what}: {st}"));
    }
    let path = dir.join(TARGET).join("release").join("mmflags-agent");
    match linking(&path)? {
        Linking::Static => Ok(path),
        Linking::Dynamic => Err(format!("{what}: {} is not statically linked", path.display())),
    }
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The agent guests run: `explicit` (`--agent`) as it is; else the
/// `mmflags-agent` beside `exe` when it is static (a deployed pair, as the
/// batch engines in deploy/ ship); else the static agent built from this
/// build's workspace; else, with a note through `say`, the one beside
/// `exe` (no source tree or no cargo to build the static one with).
pub fn for_guests(explicit: Option<&Path>, exe: &Path, say: &dyn Fn(&str)) -> Result<Agent, String> {
    if let Some(p) = explicit {
        return Ok(Agent { path: p.to_path_buf(), linking: linking(p)? });
    }
    let sibling = exe.parent().map(|d| d.join("mmflags-agent")).filter(|p| p.is_file());
    let sibling = match sibling {
        Some(p) => Some(Agent { linking: linking(&p)?, path: p }),
        None => None,
    };
    if let Some(a) = sibling.as_ref().filter(|a| a.linking == Linking::Static) {
        return Ok(a.clone());
    }
    let has_cargo = Command::new(cargo()).arg("--version").output().is_ok_and(|o| o.status.success());
    match (workspace().filter(|_| has_cargo), sibling) {
        (Some(ws), _) => Ok(Agent { path: build_static(&ws, exe)?, linking: Linking::Static }),
        (None, Some(a)) => {
            say(&format!(
                "note: no source tree and cargo to build the static agent with; the guests run {} ({})",
                a.path.display(),
                a.linking.name()
            ));
            Ok(a)
        }
        (None, None) => {
            Err("cannot locate the agent binary (mmflags-agent beside check); pass --agent".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_executable_is_told_from_a_static_one() {
        // This test binary is linked as cargo links it: dynamically.
        let me = std::env::current_exe().unwrap();
        assert_eq!(linking(&me).unwrap(), Linking::Dynamic);
        let bb = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(Path::new).find(|p| p.exists());
        if let Some(bb) = bb {
            // Debian's busybox-static.
            assert_eq!(linking(bb).unwrap(), Linking::Static, "{}", bb.display());
        }
        let junk = std::env::temp_dir().join(format!("mmflags-not-elf-{}", std::process::id()));
        std::fs::write(&junk, b"#!/bin/sh\n").unwrap();
        assert!(linking(&junk).unwrap_err().contains("not a 64-bit"));
        let _ = std::fs::remove_file(&junk);
    }

    #[test]
    fn the_static_agent_is_built_beside_the_profile_directory() {
        let ws = Path::new("/ws");
        assert_eq!(static_target_dir(ws, Path::new("/t/release/check")), Path::new("/t/static-agent"));
        assert_eq!(static_target_dir(ws, Path::new("/opt/bin/check")), Path::new("/ws/target/static-agent"));
    }
}
