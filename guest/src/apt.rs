//! Debian's kernel packages, fetched under a private apt state: a sources
//! list of our own (the mirror this machine's apt sources name, the suites
//! the kernels need, signed by the Debian archive keyring), lists and
//! package cache under the mmflags cache. The machine's apt configuration
//! is read, never written, and nothing is installed: only the kernel image
//! is unpacked from the package.

use crate::cache;
use crate::debver;
use crate::kernels::{glob, Kernel};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

/// The Debian archive this machine's apt sources name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirror {
    /// `http://deb.debian.org/debian`
    pub debian: String,
    /// `http://deb.debian.org/debian-security`
    pub security: String,
    /// The keyring the Release files are verified with.
    pub keyring: PathBuf,
}

const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
const CODENAMES: [&str; 7] = ["buster", "bullseye", "bookworm", "trixie", "forky", "duke", "sid"];
/// How long a fetched package index is trusted before `apt-get update` again.
const LISTS_FRESH: Duration = Duration::from_secs(3600);

/// One `deb` entry of a sources file: its URI and suites.
fn entries(text: &str, deb822: bool) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    if deb822 {
        for stanza in text.split("\n\n") {
            let field = |name: &str| {
                stanza.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    (k.trim().eq_ignore_ascii_case(name)).then(|| v.trim().to_string())
                })
            };
            let types = field("Types").unwrap_or_default();
            if !types.split_whitespace().any(|t| t == "deb") {
                continue;
            }
            let suites: Vec<String> =
                field("Suites").unwrap_or_default().split_whitespace().map(String::from).collect();
            for uri in field("URIs").unwrap_or_default().split_whitespace() {
                out.push((uri.to_string(), suites.clone()));
            }
        }
    } else {
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let mut words: Vec<&str> = Vec::new();
            let mut rest = line;
            // `deb [opt=val ...] uri suite comps`
            if let Some(r) = rest.strip_prefix("deb ") {
                rest = r.trim_start();
                if rest.starts_with('[') {
                    rest = rest.split_once(']').map_or("", |(_, r)| r);
                }
                words.extend(rest.split_whitespace());
                if words.len() >= 2 {
                    out.push((words[0].to_string(), vec![words[1].to_string()]));
                }
            }
        }
    }
    out
}

fn is_debian_suite(s: &str) -> bool {
    CODENAMES.iter().any(|c| s == *c || s.starts_with(&format!("{c}-")))
}

/// Reads the machine's apt sources for the Debian archive and its security archive.
pub fn machine_mirror() -> Result<Mirror, String> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    let mut all = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        let deb822 = f.extension().is_some_and(|x| x == "sources");
        all.extend(entries(&text, deb822));
    }
    mirror_from(&all, Path::new(KEYRING))
}

fn mirror_from(all: &[(String, Vec<String>)], keyring: &Path) -> Result<Mirror, String> {
    let trim = |u: &str| u.trim_end_matches('/').to_string();
    let debian = all
        .iter()
        .find(|(_, s)| s.iter().any(|s| is_debian_suite(s) && !s.ends_with("-security")))
        .map(|(u, _)| trim(u))
        .ok_or("this machine's apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d) name no Debian archive; add one, e.g. `deb http://deb.debian.org/debian bookworm main`")?;
    let security = all
        .iter()
        .find(|(_, s)| s.iter().any(|s| is_debian_suite(s) && s.ends_with("-security")))
        .map(|(u, _)| trim(u))
        .unwrap_or_else(|| format!("{}-security", debian));
    if !keyring.exists() {
        return Err(format!(
            "{} is missing: install Debian's `debian-archive-keyring` package to verify the kernel packages",
            keyring.display()
        ));
    }
    Ok(Mirror { debian, security, keyring: keyring.to_path_buf() })
}

/// A binary package as the index describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub suite: String,
    /// The index's SHA256 of the .deb (checked after download).
    pub sha256: String,
    pub size: u64,
}

/// A kernel fetched and unpacked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fetched {
    pub series: String,
    pub package: Package,
    /// The unpacked `/boot/vmlinuz-*` and its SHA256.
    pub vmlinuz: PathBuf,
    pub vmlinuz_sha256: String,
}

/// apt with a state of its own.
pub struct Apt {
    root: PathBuf,
}

fn sha256_file(p: &Path) -> Result<String, String> {
    let mut f = std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| format!("{}: {e}", p.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn run(cmd: &mut Command, what: &str) -> Result<String, String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!("{what}: {e}; the kernels are fetched with Debian's apt-get and dpkg-deb")
        } else {
            format!("{what}: {e}")
        }
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        return Err(format!("{what} failed ({}): {}", out.status, last.join(" / ")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Apt {
    /// A private apt state under the cache for `suites` of `mirror`.
    pub fn new(mirror: &Mirror, suites: &[String]) -> Result<Apt, String> {
        let root = cache::sub("apt")?;
        for d in ["lists/partial", "archives/partial", "etc/apt.conf.d", "etc/preferences.d"] {
            std::fs::create_dir_all(root.join(d)).map_err(|e| format!("{}: {e}", root.join(d).display()))?;
        }
        let mut list =
            String::from("# written by mmflags (guest/src/apt.rs); the machine's own apt is untouched\n");
        for s in suites {
            let uri = if s.ends_with("-security") { &mirror.security } else { &mirror.debian };
            list.push_str(&format!("deb [signed-by={}] {uri} {s} main\n", mirror.keyring.display()));
        }
        let file = root.join("etc/sources.list");
        let old = std::fs::read_to_string(&file).unwrap_or_default();
        if old != list {
            std::fs::write(&file, &list).map_err(|e| format!("{}: {e}", file.display()))?;
            // A changed list makes the fetched indexes stale.
            let _ = std::fs::remove_file(root.join("updated"));
        }
        let status = root.join("status");
        if !status.exists() {
            std::fs::write(&status, "").map_err(|e| format!("{}: {e}", status.display()))?;
        }
        Ok(Apt { root })
    }

    fn opts(&self) -> Vec<String> {
        let r = self.root.display();
        [
            format!("Dir::Etc::SourceList={r}/etc/sources.list"),
            "Dir::Etc::SourceParts=/dev/null".into(),
            format!("Dir::Etc::Parts={r}/etc/apt.conf.d"),
            "Dir::Etc::Preferences=/dev/null".into(),
            format!("Dir::Etc::PreferencesParts={r}/etc/preferences.d"),
            format!("Dir::State={r}"),
            format!("Dir::State::Lists={r}/lists"),
            format!("Dir::State::status={r}/status"),
            format!("Dir::Cache={r}"),
            format!("Dir::Cache::Archives={r}/archives"),
            "APT::Architecture=amd64".into(),
            "APT::Architectures=amd64".into(),
            "Debug::NoLocking=true".into(),
            "APT::Sandbox::User=root".into(),
            "Acquire::Languages=none".into(),
        ]
        .into_iter()
        .flat_map(|o| ["-o".to_string(), o])
        .collect()
    }

    fn cmd(&self, tool: &str) -> Command {
        let mut c = Command::new(tool);
        c.args(self.opts()).env("LC_ALL", "C");
        c
    }

    /// `apt-get update`, unless the indexes were fetched within the hour.
    pub fn update(&self, force: bool) -> Result<(), String> {
        let stamp = self.root.join("updated");
        let fresh = std::fs::metadata(&stamp)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age < LISTS_FRESH);
        if fresh && !force {
            return Ok(());
        }
        let list = std::fs::read_to_string(self.root.join("etc/sources.list")).unwrap_or_default();
        run(self.cmd("apt-get").args(["-q", "update"]), "apt-get update").map_err(|e| {
            format!(
                "{e}\n  (the private sources list, {}:\n{list})",
                self.root.join("etc/sources.list").display()
            )
        })?;
        std::fs::write(&stamp, "").map_err(|e| format!("{}: {e}", stamp.display()))
    }

    /// The newest package of `k.series` in `k.suites` whose name matches `k.package`.
    pub fn resolve(&self, k: &Kernel) -> Result<Package, String> {
        let prefix = k.package.split('*').next().unwrap_or("");
        let names: Vec<String> = run(self.cmd("apt-cache").args(["pkgnames", prefix]), "apt-cache pkgnames")?
            .lines()
            .map(str::trim)
            .filter(|n| glob(&k.package, n))
            .map(String::from)
            .collect();
        let none = || {
            format!(
                "Debian no longer ships kernel series {} as `{}` in {} (or the mirror is unreachable); \
                 update kernels.toml",
                k.series,
                k.package,
                k.suites.join(", ")
            )
        };
        if names.is_empty() {
            return Err(none());
        }
        let madison = run(self.cmd("apt-cache").arg("madison").args(&names), "apt-cache madison")?;
        let mut best: Option<(String, String, String)> = None;
        for line in madison.lines() {
            let f: Vec<&str> = line.split('|').map(str::trim).collect();
            if f.len() < 3 {
                continue;
            }
            let suite = f[2].split_whitespace().nth(1).and_then(|s| s.split('/').next()).unwrap_or("");
            let (name, version) = (f[0], f[1]);
            if !k.suites.iter().any(|s| s == suite)
                || !debver::upstream(version).starts_with(&format!("{}.", k.series))
            {
                continue;
            }
            if best.as_ref().is_none_or(|b| debver::compare(version, &b.1).is_gt()) {
                best = Some((name.to_string(), version.to_string(), suite.to_string()));
            }
        }
        let (name, version, suite) = best.ok_or_else(none)?;
        let show = run(
            self.cmd("apt-cache").args(["show", "--no-all-versions", &format!("{name}={version}")]),
            "apt-cache show",
        )?;
        let field =
            |f: &str| show.lines().find_map(|l| l.strip_prefix(&format!("{f}: "))).map(str::to_string);
        let sha256 =
            field("SHA256").ok_or_else(|| format!("the index gives no SHA256 for {name} {version}"))?;
        let size = field("Size").and_then(|s| s.parse().ok()).unwrap_or(0);
        Ok(Package { name, version, suite, sha256, size })
    }

    /// Downloads `p` into `dir` and checks it against the index's SHA256.
    pub fn download(&self, p: &Package, dir: &Path) -> Result<PathBuf, String> {
        let what = format!("downloading {} {} from {}", p.name, p.version, p.suite);
        run(
            self.cmd("apt-get").current_dir(dir).args([
                "-q",
                "download",
                &format!("{}={}", p.name, p.version),
            ]),
            &what,
        )?;
        let deb = std::fs::read_dir(dir)
            .map_err(|e| format!("{what}: {e}"))?
            .flatten()
            .map(|e| e.path())
            .find(|f| f.extension().is_some_and(|x| x == "deb"))
            .ok_or_else(|| format!("{what}: apt-get left no .deb in {}", dir.display()))?;
        let got = sha256_file(&deb)?;
        if got != p.sha256 {
            return Err(format!("{what}: SHA256 {got} is not the index's {}", p.sha256));
        }
        Ok(deb)
    }
}

/// The members of `deb`'s data archive.
fn members(deb: &Path) -> Result<Vec<String>, String> {
    let out = run(Command::new("dpkg-deb").arg("--contents").arg(deb), "dpkg-deb --contents")?;
    Ok(out.lines().filter_map(|l| l.split_whitespace().nth(5)).map(str::to_string).collect())
}

/// Where a kernel image sits in a package: `/boot/vmlinuz-VERSION` (up to
/// 7.1), `/usr/lib/modules/VERSION/vmlinuz` (7.2's linux-binary packages).
fn is_image(member: &str) -> bool {
    let m = member.trim_start_matches("./");
    (m.starts_with("boot/vmlinuz-") && m.matches('/').count() == 1)
        || (m.starts_with("usr/lib/modules/") && m.ends_with("/vmlinuz") && m.matches('/').count() == 4)
}

/// Unpacks the kernel image (only) from `deb` into `dir`.
fn unpack_vmlinuz(deb: &Path, dir: &Path) -> Result<PathBuf, String> {
    let what = format!("unpacking the kernel image from {}", deb.display());
    let member = members(deb)?.into_iter().find(|m| is_image(m)).ok_or_else(|| {
        format!(
            "{what}: the package holds no /boot/vmlinuz-* or /usr/lib/modules/*/vmlinuz; \
             is kernels.toml's package the one with the image?"
        )
    })?;
    let mut dpkg = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: dpkg-deb: {e}"))?;
    let tar_in = dpkg.stdout.take().expect("piped");
    let tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dir)
        .arg(&member)
        .stdin(tar_in)
        .output()
        .map_err(|e| format!("{what}: tar: {e}"))?;
    let _ = dpkg.wait();
    if !tar.status.success() {
        return Err(format!("{what}: tar: {}", String::from_utf8_lossy(&tar.stderr).trim()));
    }
    Ok(dir.join(member.trim_start_matches("./")))
}

/// Resolves `k` to its newest package and returns its unpacked image,
/// downloading only what the cache does not already hold.
///
/// Fetches on one machine take turns (a lock in the cache): the jobs of a
/// matrix run side by side share the private apt state and the kernels.
pub fn fetch(k: &Kernel, all: &[Kernel], refresh: bool) -> Result<Fetched, String> {
    let _turn = cache::lock("apt.lock")?;
    let mirror = machine_mirror()?;
    let mut suites: Vec<String> = all.iter().flat_map(|k| k.suites.clone()).collect();
    suites.sort();
    suites.dedup();
    let apt = Apt::new(&mirror, &suites)?;
    apt.update(refresh)?;
    let p = apt.resolve(k)?;
    let dir = cache::sub(&format!("kernels/{}_{}", p.name, p.version.replace(':', "%3a")))?;
    let meta = dir.join("fetched.json");
    if let Some(f) = std::fs::read(&meta).ok().and_then(|b| serde_json::from_slice::<Fetched>(&b).ok()) {
        if f.package == p
            && f.vmlinuz.exists()
            && sha256_file(&f.vmlinuz).ok().as_ref() == Some(&f.vmlinuz_sha256)
        {
            return Ok(f);
        }
    }
    let tmp = dir.join("download");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let deb = apt.download(&p, &tmp)?;
    let vmlinuz = unpack_vmlinuz(&deb, &tmp)?;
    let dst = dir.join("vmlinuz");
    std::fs::rename(&vmlinuz, &dst).map_err(|e| format!("{}: {e}", dst.display()))?;
    let _ = std::fs::remove_dir_all(&tmp);
    let f =
        Fetched { series: k.series.clone(), package: p, vmlinuz_sha256: sha256_file(&dst)?, vmlinuz: dst };
    let json = serde_json::to_vec_pretty(&f).map_err(|e| e.to_string())?;
    std::fs::write(&meta, json).map_err(|e| format!("{}: {e}", meta.display()))?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_images_are_found_where_each_release_puts_them() {
        assert!(is_image("./boot/vmlinuz-6.12.117+deb12-cloud-amd64"));
        assert!(is_image("./usr/lib/modules/7.3.4+deb13-cloud-amd64/vmlinuz"));
        assert!(!is_image("./boot/config-6.12.117+deb12-cloud-amd64"));
        assert!(!is_image("./usr/lib/modules/7.3.4+deb13-cloud-amd64/kernel/vmlinuz"));
        assert!(!is_image("./boot/x/vmlinuz-1"));
    }

    #[test]
    fn sources_in_both_formats() {
        let one = "deb [signed-by=/k.gpg] http://m/debian bookworm main\n# deb http://x/ sid main\ndeb-src http://m/debian bookworm main\n";
        assert_eq!(entries(one, false), vec![("http://m/debian".to_string(), vec!["bookworm".to_string()])]);
        let d = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n";
        let e = entries(d, true);
        assert_eq!(e.len(), 2);
        let m = mirror_from(&e, Path::new("/")).unwrap();
        assert_eq!(m.debian, "http://deb.debian.org/debian");
        assert_eq!(m.security, "http://deb.debian.org/debian-security");
    }

    #[test]
    fn no_debian_archive_is_an_error_that_says_what_to_add() {
        let e = vec![(
            "https://packages.cloud.google.com/apt".to_string(),
            vec!["cloud-sdk-bookworm".to_string()],
        )];
        assert!(mirror_from(&e, Path::new("/")).unwrap_err().contains("no Debian archive"));
        let ok = vec![("http://m/debian".to_string(), vec!["trixie".to_string()])];
        assert_eq!(mirror_from(&ok, Path::new("/")).unwrap().security, "http://m/debian-security");
        assert!(mirror_from(&ok, Path::new("/no/such/keyring"))
            .unwrap_err()
            .contains("debian-archive-keyring"));
    }
}
