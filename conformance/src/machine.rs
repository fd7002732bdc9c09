//! The machine the traces run on: what it is (kernel release, THP sysfs
//! mode, per-size mTHP settings, privileges) and whether that is the machine
//! the model describes. The model assumes only the PMD size (2048kB) is
//! `inherit` and every other anonymous size `never`, a 2 MiB PMD,
//! `fs.suid_dumpable` not 1 (so a credential change makes an mm
//! non-dumpable), and KSM built in but ksmd stopped (`ksm/run` 0, so no
//! page is merged, and no huge page split, behind a trace's back); a
//! machine that differs is refused, loudly.
//!
//! It also knows where it runs: on a host, or inside an mmflags qemu guest
//! (`Machine::guest`), whose kernel and sysfs are the run's own to change.
//!
//! Nothing here writes to sysfs: `sysfs_guard` does that, and only when the
//! user asked for it (or inside a guest).

use crate::proto::{PLAIN_IMAGE, SETUID_IMAGE, TOKEN_FILE};
use mmflags_model::Sysfs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

pub const THP_DIR: &str = "/sys/kernel/mm/transparent_hugepage";

/// Capabilities the privileged steps rely on (bit numbers from
/// include/uapi/linux/capability.h).
const NEEDED_CAPS: [(u32, &str); 8] = [
    (0, "CAP_CHOWN"),
    (3, "CAP_FOWNER"),
    (6, "CAP_SETGID"),
    (7, "CAP_SETUID"),
    (14, "CAP_IPC_LOCK"),
    (19, "CAP_SYS_PTRACE"),
    (21, "CAP_SYS_ADMIN"),
    (23, "CAP_SYS_NICE"),
];
/// Lifts RLIMIT_MEMLOCK's hard limit.
const CAP_SYS_RESOURCE: u32 = 24;

/// Each anonymous mTHP size (`hugepages-2048kB`) with its selected mode.
pub type Sizes = Vec<(String, String)>;

#[derive(Clone, Debug)]
pub struct Machine {
    /// `uname -r`.
    pub kernel: String,
    /// The top-level THP mode.
    pub sysfs: Sysfs,
    /// `hugepages-<size>/enabled` for every anonymous mTHP size.
    pub sizes: Sizes,
    /// Ways this machine differs from the one the model describes.
    pub problems: Vec<String>,
    /// Root with the capabilities the privileged steps need.
    pub root: bool,
    /// Why not, when `root` is false.
    pub unprivileged_because: Option<String>,
    /// RLIMIT_MEMLOCK can be made unlimited for the agents (the hard limit
    /// is unlimited, or CAP_SYS_RESOURCE can raise it). When it cannot, an
    /// unprivileged agent meets the limit the model does not have.
    pub memlock_unlimited: bool,
    /// The hard RLIMIT_MEMLOCK in bytes (`None`: unlimited).
    pub memlock_hard: Option<u64>,
    /// This is an mmflags qemu guest (`in_mmflags_guest`): a throwaway
    /// machine whose system-wide settings the run may change freely.
    pub guest: bool,
}

/// What the guest's `/init` says on its second line (guest/src/initramfs.rs
/// writes `# mmflags guest job (guest/src/initramfs.rs)`).
pub const GUEST_INIT_MARK: &str = "# mmflags guest job";

const RAMFS_MAGIC: i64 = 0x8584_58f6;
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// The decision of `in_mmflags_guest` from what it read: the root
/// filesystem's type, `/init`'s text and pid 1's command line.
pub fn is_mmflags_guest(root_fs_magic: i64, init: &str, pid1_cmdline: &[u8]) -> bool {
    let initramfs = root_fs_magic == RAMFS_MAGIC || root_fs_magic == TMPFS_MAGIC;
    let our_init =
        init.starts_with("#!") && init.lines().nth(1).is_some_and(|l| l.starts_with(GUEST_INIT_MARK));
    let pid1_runs_it = pid1_cmdline.split(|&b| b == 0).any(|a| a == b"/init");
    initramfs && our_init && pid1_runs_it
}

/// Whether this process runs inside an mmflags guest: the root filesystem
/// is still the initramfs (ramfs or tmpfs, no disk), its `/init` is the
/// script the guest crate writes, and pid 1 is running it. A host boots
/// from a disk (or pivots away from its initramfs), and only root could
/// put such an `/init` there.
pub fn in_mmflags_guest() -> bool {
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c"/".as_ptr(), &mut st) } != 0 {
        return false;
    }
    let init = std::fs::read_to_string("/init").unwrap_or_default();
    let cmdline = std::fs::read("/proc/1/cmdline").unwrap_or_default();
    is_mmflags_guest(st.f_type as i64, &init, &cmdline)
}

/// The selected word of a sysfs choice file: `always [madvise] never`.
pub fn selected(text: &str) -> Option<&str> {
    let start = text.find('[')?;
    let end = text[start..].find(']')? + start;
    Some(&text[start + 1..end])
}

fn read_trim(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map(|s| s.trim().to_string()).map_err(|e| format!("{}: {e}", p.display()))
}

/// Reads the top-level THP mode from `dir/enabled`.
pub fn read_sysfs_mode(dir: &Path) -> Result<Sysfs, String> {
    let p = dir.join("enabled");
    let text = read_trim(&p)?;
    selected(&text)
        .and_then(Sysfs::from_name)
        .ok_or_else(|| format!("{}: cannot read the mode from `{text}`", p.display()))
}

/// Checks the per-size settings under `dir` against the model's assumption;
/// returns the sizes read and the differences.
pub fn check_sizes(dir: &Path, pmd_kb: u64) -> Result<(Sizes, Vec<String>), String> {
    let mut sizes = Vec::new();
    let mut problems = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("hugepages-"))
        .collect();
    names.sort_by_key(|n| {
        n.trim_start_matches("hugepages-").trim_end_matches("kB").parse::<u64>().unwrap_or(0)
    });
    for name in names {
        let f = dir.join(&name).join("enabled");
        if !f.exists() {
            continue; // a size with no anonymous control (shmem/file only)
        }
        let text = read_trim(&f)?;
        let mode = selected(&text).unwrap_or("?").to_string();
        let want = if name == format!("hugepages-{pmd_kb}kB") { "inherit" } else { "never" };
        if mode != want {
            problems.push(format!(
                "{}/{name}/enabled is `{mode}`; the model assumes `{want}` \
                 (only the {pmd_kb}kB PMD size follows the top-level mode)",
                dir.display()
            ));
        }
        sizes.push((name, mode));
    }
    Ok((sizes, problems))
}

/// ksmd's switch: 0 stopped, 1 running, 2 unmerging.
pub const KSM_RUN: &str = "/sys/kernel/mm/ksm/run";

/// The model's KSM: `MADV_MERGEABLE` and `PR_SET_MEMORY_MERGE` exist (only
/// their flags are modelled), and ksmd never runs: every Debian kernel's
/// default. A running ksmd would merge the agents' identical pages and
/// split their huge pages to do it.
pub fn check_ksm(run: &Path) -> Option<String> {
    match read_trim(run).as_deref() {
        Ok("0") => None,
        Ok(v) => Some(format!(
            "{} is {v}: ksmd runs, and the model assumes it never does (it would merge pages and split \
             huge pages behind the traces' backs); echo 0 > {} to stop it",
            run.display(),
            run.display()
        )),
        Err(_) if !run.exists() => Some(format!(
            "{} does not exist: this kernel has no KSM (CONFIG_KSM), which the model assumes \
             (MADV_MERGEABLE, PR_SET_MEMORY_MERGE)",
            run.display()
        )),
        Err(e) => Some(e.clone()),
    }
}

fn effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

impl Machine {
    pub fn probe() -> Result<Machine, String> {
        let dir = Path::new(THP_DIR);
        if !dir.is_dir() {
            return Err(format!("{THP_DIR} does not exist: this kernel has no CONFIG_TRANSPARENT_HUGEPAGE"));
        }
        let sysfs = read_sysfs_mode(dir)?;
        let pmd = read_trim(&dir.join("hpage_pmd_size"))?
            .parse::<u64>()
            .map_err(|e| format!("{THP_DIR}/hpage_pmd_size: {e}"))?;
        let (sizes, mut problems) = check_sizes(dir, pmd / 1024)?;
        if pmd != 2 << 20 {
            problems.push(format!(
                "{THP_DIR}/hpage_pmd_size is {pmd}; the model's 4 MiB slots assume a 2 MiB PMD"
            ));
        }
        match read_trim(Path::new("/proc/sys/fs/suid_dumpable")).as_deref() {
            Ok("1") => problems.push(
                "fs.suid_dumpable is 1: a setuid/setresuid process stays dumpable, the model assumes \
                 it does not (0 or 2)"
                    .into(),
            ),
            Ok(_) => {}
            Err(e) => problems.push(e.clone()),
        }
        problems.extend(check_ksm(Path::new(KSM_RUN)));
        let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
        unsafe { libc::uname(&mut uts) };
        let kernel = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) }.to_string_lossy().into_owned();
        let caps = effective_caps();
        let missing: Vec<&str> =
            NEEDED_CAPS.iter().filter(|(bit, _)| caps & (1 << bit) == 0).map(|(_, n)| *n).collect();
        let euid = unsafe { libc::geteuid() };
        let unprivileged_because = if euid != 0 {
            Some(format!("running as uid {euid}, not root"))
        } else if !missing.is_empty() {
            Some(format!("root without {}", missing.join(", ")))
        } else {
            None
        };
        let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
        unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) };
        let root = unprivileged_because.is_none();
        let memlock_hard = (lim.rlim_max != libc::RLIM_INFINITY).then_some(lim.rlim_max);
        Ok(Machine {
            memlock_unlimited: memlock_hard.is_none() || caps & (1 << CAP_SYS_RESOURCE) != 0,
            memlock_hard,
            kernel,
            sysfs,
            sizes,
            problems,
            root,
            unprivileged_because,
            guest: in_mmflags_guest(),
        })
    }
}

/// The two agent images: the plain copy and, when root, the setuid-root
/// copy with its root-only token, in a fresh directory that every uid can
/// reach, on a mount that honours the setuid bit. Removed on drop, and at
/// `exit()` for a run that ends without dropping it.
#[derive(Debug)]
pub struct Images {
    dir: PathBuf,
    pub plain: PathBuf,
    pub setuid_root: Option<PathBuf>,
    /// What a setuid-root agent demands before it serves (see `agent`).
    pub token: Option<Vec<u8>>,
}

/// Image directories to remove at `exit()`.
static INSTALLED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

extern "C" fn remove_installed() {
    if let Ok(dirs) = INSTALLED.lock() {
        for d in dirs.iter() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// 32 hex digits from the kernel's random pool.
fn random_token() -> Result<Vec<u8>, String> {
    let mut raw = [0u8; 16];
    let n = unsafe { libc::getrandom(raw.as_mut_ptr() as *mut libc::c_void, raw.len(), 0) };
    if n != raw.len() as isize {
        return Err(format!("getrandom: {}", std::io::Error::last_os_error()));
    }
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect::<String>().into_bytes())
}

fn mount_flags(p: &Path) -> Result<u64, String> {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(format!("statvfs {}: {}", p.display(), std::io::Error::last_os_error()));
    }
    Ok(st.f_flag)
}

/// Every directory from `/` to `p` can be searched by any uid.
fn world_reachable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.ancestors().all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

impl Images {
    /// Copies `agent` into a new directory under the first candidate that
    /// fits (the temp dir, `/var/tmp`, the agent's own directory).
    pub fn install(agent: &Path, setuid: bool) -> Result<Images, String> {
        use std::os::unix::fs::PermissionsExt;
        let mut tried = Vec::new();
        let mut candidates = vec![std::env::temp_dir(), PathBuf::from("/var/tmp")];
        if let Some(d) = agent.parent() {
            candidates.push(d.to_path_buf());
        }
        for base in candidates {
            let flags = match mount_flags(&base) {
                Ok(f) => f,
                Err(e) => {
                    tried.push(e);
                    continue;
                }
            };
            if flags & libc::ST_NOEXEC != 0 || (setuid && flags & libc::ST_NOSUID != 0) {
                tried.push(format!("{}: mounted noexec or nosuid", base.display()));
                continue;
            }
            if !world_reachable(&base) {
                tried.push(format!("{}: not searchable by every uid", base.display()));
                continue;
            }
            let mut template = base.join("mmflags-conform-XXXXXX").into_os_string().into_encoded_bytes();
            template.push(0);
            let p = unsafe { libc::mkdtemp(template.as_mut_ptr() as *mut libc::c_char) };
            if p.is_null() {
                tried.push(format!("mkdtemp in {}: {}", base.display(), std::io::Error::last_os_error()));
                continue;
            }
            template.pop();
            let dir =
                PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(template));
            static AT_EXIT: Once = Once::new();
            AT_EXIT.call_once(|| unsafe {
                libc::atexit(remove_installed);
            });
            INSTALLED.lock().map_err(|e| e.to_string())?.push(dir.clone());
            let mut images = Images { plain: dir.join(PLAIN_IMAGE), setuid_root: None, token: None, dir };
            let err = |e: std::io::Error, what: &Path| format!("{}: {e}", what.display());
            std::fs::set_permissions(&images.dir, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| err(e, &images.dir))?;
            std::fs::copy(agent, &images.plain).map_err(|e| err(e, agent))?;
            std::fs::set_permissions(&images.plain, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| err(e, &images.plain))?;
            if setuid {
                let token = random_token()?;
                let t = images.dir.join(TOKEN_FILE);
                std::fs::write(&t, &token).map_err(|e| err(e, &t))?;
                std::fs::set_permissions(&t, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| err(e, &t))?;
                images.token = Some(token);
                let s = images.dir.join(SETUID_IMAGE);
                std::fs::copy(agent, &s).map_err(|e| err(e, agent))?;
                std::os::unix::fs::chown(&s, Some(0), Some(0)).map_err(|e| err(e, &s))?;
                // chown clears the setuid bit, so set the mode after it.
                std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o4755))
                    .map_err(|e| err(e, &s))?;
                images.setuid_root = Some(s);
            }
            return Ok(images);
        }
        Err(format!("no directory to install the agent images in: {}", tried.join("; ")))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Ok(mut dirs) = INSTALLED.lock() {
            dirs.retain(|d| *d != self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selected_word() {
        assert_eq!(selected("always [madvise] never"), Some("madvise"));
        assert_eq!(selected("[always] madvise never"), Some("always"));
        assert_eq!(selected("always madvise never"), None);
    }

    #[test]
    fn a_guest_is_the_initramfs_running_our_init() {
        let init =
            "#!/bin/sh\n# mmflags guest job (guest/src/initramfs.rs)\n/bin/busybox --install -s /bin\n";
        let pid1 = b"/bin/sh\0/init\0";
        assert!(is_mmflags_guest(TMPFS_MAGIC, init, pid1));
        assert!(is_mmflags_guest(RAMFS_MAGIC, init, pid1));
        let ext4 = 0xef53;
        assert!(!is_mmflags_guest(ext4, init, pid1), "a disk root is a host");
        assert!(!is_mmflags_guest(TMPFS_MAGIC, "#!/bin/sh\necho hi\n", pid1), "someone else's initramfs");
        assert!(!is_mmflags_guest(TMPFS_MAGIC, init, b"/sbin/init\0"), "pid 1 is not running it");
        assert!(!is_mmflags_guest(TMPFS_MAGIC, "", b""));
        // The guest crate writes the mark this looks for.
        let guest_src = include_str!("../../guest/src/initramfs.rs");
        assert!(
            guest_src.contains(&format!("#!/bin/sh\\n\\\n             {GUEST_INIT_MARK} (")),
            "guest/src/initramfs.rs no longer writes `{GUEST_INIT_MARK}` as /init's second line"
        );
        // This machine (a host, where these tests run) is no guest.
        assert!(!in_mmflags_guest());
    }

    #[test]
    fn ksmd_must_be_stopped() {
        let d = std::env::temp_dir().join(format!("mmflags-ksm-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let run = d.join("run");
        assert!(check_ksm(&run).unwrap().contains("no KSM"));
        std::fs::write(&run, "0\n").unwrap();
        assert_eq!(check_ksm(&run), None);
        std::fs::write(&run, "1\n").unwrap();
        assert!(check_ksm(&run).unwrap().contains("ksmd runs"));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn per_size_settings_are_checked() {
        let d = std::env::temp_dir().join(format!("mmflags-sizes-{}", std::process::id()));
        let size = |n: &str, v: &str| {
            std::fs::create_dir_all(d.join(n)).unwrap();
            std::fs::write(d.join(n).join("enabled"), v).unwrap();
        };
        size("hugepages-2048kB", "always [inherit] madvise never\n");
        size("hugepages-64kB", "always inherit madvise [never]\n");
        std::fs::create_dir_all(d.join("hugepages-8kB")).unwrap(); // no `enabled`
        let (sizes, problems) = check_sizes(&d, 2048).unwrap();
        assert_eq!(sizes.len(), 2);
        assert!(problems.is_empty(), "{problems:?}");
        size("hugepages-64kB", "always [inherit] madvise never\n");
        let (_, problems) = check_sizes(&d, 2048).unwrap();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("hugepages-64kB"), "{problems:?}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
