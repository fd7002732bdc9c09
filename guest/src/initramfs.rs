//! A minimal initramfs for one guest job: busybox (for `/init` and the
//! `/bin/true` the runner spawns), the checker and the agent with the
//! shared libraries `ldd` names, and the files the job reads. `/init`
//! mounts what the agents read (`/proc`, `/sys`), runs the job in `/mm`
//! with its stdout on the second serial port, and powers off.

use crate::cpio::{self, Member};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Printed on the console by `/init` once the job is about to start.
pub const BOOTED: &str = "mmflags-guest: booted";
/// Printed after the job with its exit status: `mmflags-guest: exit 0`.
pub const EXIT: &str = "mmflags-guest: exit";

#[derive(Default)]
pub struct Initramfs {
    members: BTreeMap<String, Member>,
}

fn rel(p: &str) -> String {
    p.trim_start_matches('/').to_string()
}

/// Where busybox is, or which Debian package provides it.
pub fn busybox() -> Result<PathBuf, String> {
    ["/bin/busybox", "/usr/bin/busybox", "/sbin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| {
            "busybox is not installed: install Debian's `busybox-static` (apt-get install busybox-static)"
                .into()
        })
}

/// The shared objects `ldd` says `bin` needs (the loader included).
fn libraries(bin: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new("ldd").arg(bin).output().map_err(|e| format!("ldd {}: {e}", bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success()
        || text.contains("not a dynamic executable")
        || text.contains("statically linked")
    {
        return Ok(Vec::new());
    }
    Ok(text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = match l.split_once("=>") {
                Some((_, r)) => r.split_whitespace().next()?,
                None => l.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect())
}

impl Initramfs {
    fn dirs_of(&mut self, path: &str) {
        let mut at = String::new();
        for part in path.split('/').collect::<Vec<_>>().split_last().map_or(&[][..], |(_, d)| d) {
            if !at.is_empty() {
                at.push('/');
            }
            at.push_str(part);
            self.members.entry(at.clone()).or_insert(Member::Dir);
        }
    }

    pub fn dir(&mut self, path: &str) {
        let p = rel(path);
        self.dirs_of(&format!("{p}/x"));
    }

    pub fn file(&mut self, path: &str, data: Vec<u8>, mode: u32) {
        let p = rel(path);
        self.dirs_of(&p);
        self.members.insert(p, Member::File { data, mode });
    }

    pub fn symlink(&mut self, path: &str, target: &str) {
        let p = rel(path);
        self.dirs_of(&p);
        self.members.insert(p, Member::Symlink(target.to_string()));
    }

    /// Copies `src` to `dst` in the image.
    pub fn copy(&mut self, src: &Path, dst: &str, mode: u32) -> Result<(), String> {
        let data = std::fs::read(src).map_err(|e| format!("{}: {e}", src.display()))?;
        self.file(dst, data, mode);
        Ok(())
    }

    /// Copies the executable `src` to `dst`, with every library it needs at
    /// the path the loader looks for it.
    pub fn binary(&mut self, src: &Path, dst: &str) -> Result<(), String> {
        self.copy(src, dst, 0o755)?;
        for lib in libraries(src)? {
            let path = lib.display().to_string();
            if !self.members.contains_key(&rel(&path)) {
                self.copy(&lib, &path, 0o755)?;
            }
        }
        Ok(())
    }

    /// Busybox as `/bin/busybox` (its applets are linked at boot).
    pub fn busybox(&mut self) -> Result<(), String> {
        let bb = busybox()?;
        self.binary(&bb, "/bin/busybox")?;
        self.symlink("/bin/sh", "busybox");
        for d in ["/dev", "/proc", "/sys", "/tmp", "/run", "/etc"] {
            self.dir(d);
        }
        Ok(())
    }

    /// `/init`: run `argv` in `/mm`, its output on the console (the job
    /// writes what it sends back to `/dev/ttyS1` itself).
    pub fn init(&mut self, argv: &[String]) {
        let quoted: Vec<String> = argv.iter().map(|a| format!("'{}'", a.replace('\'', r"'\''"))).collect();
        let script = format!(
            "#!/bin/sh\n\
             # mmflags guest job (guest/src/initramfs.rs)\n\
             /bin/busybox --install -s /bin\n\
             export PATH=/bin\n\
             mount -t proc proc /proc\n\
             mount -t sysfs sysfs /sys\n\
             mount -t devtmpfs devtmpfs /dev\n\
             mount -t tmpfs tmpfs /tmp\n\
             mount -t tmpfs tmpfs /run\n\
             ulimit -l unlimited\n\
             echo \"{BOOTED} $(uname -r)\"\n\
             cd /mm\n\
             # Through a pipe: the job sees no terminal, so prints no progress lines.\n\
             ( {cmd} </dev/null 2>&1; echo $? > /tmp/status ) | cat\n\
             echo \"{EXIT} $(cat /tmp/status)\"\n\
             sync\n\
             poweroff -f\n",
            cmd = quoted.join(" ")
        );
        self.file("/init", script.into_bytes(), 0o755);
    }

    pub fn bytes(&self) -> Vec<u8> {
        cpio::archive(self.members.iter().map(|(k, v)| (k.as_str(), v)))
    }

    pub fn write(&self, path: &Path) -> Result<(), String> {
        cpio::write(path, &self.bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first_and_init_quotes_its_arguments() {
        let mut i = Initramfs::default();
        i.file("/mm/specs/a.toml", b"x".to_vec(), 0o644);
        i.init(&["./check".into(), "it's".into()]);
        let names: Vec<&String> = i.members.keys().collect();
        assert_eq!(names, ["init", "mm", "mm/specs", "mm/specs/a.toml"]);
        let Member::File { data, .. } = &i.members["init"] else { panic!() };
        let s = String::from_utf8_lossy(data);
        assert!(s.contains(r"'./check' 'it'\''s'"), "{s}");
        assert!(s.contains(BOOTED) && s.contains(EXIT));
    }
}
