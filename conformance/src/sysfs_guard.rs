//! Changing the system-wide THP mode (`SysfsGuard`) and khugepaged's
//! knobs (`KhugepagedGuard`), for `--set-sysfs` or inside a guest only, and
//! putting them back on every way out: the guard's drop (normal return,
//! error, panic), `exit()` (a second Ctrl-C ends the checker with
//! `process::exit`, which runs atexit handlers) and SIGTERM/SIGHUP/SIGQUIT
//! (a handler that writes the old values back with async-signal-safe calls
//! and re-raises). Only SIGKILL can leave them changed; the run says what to
//! restore by hand before it starts changing anything.
//!
//! The two guards share one set of handlers (a second `signal()` would
//! replace the first guard's handler), and each handler restores whatever
//! is saved: the mode, the knobs, or both.

use mmflags_model::Sysfs;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use std::sync::Once;

/// The mode to restore (0: nothing to restore) and where, for the handlers.
static ORIGINAL: AtomicU8 = AtomicU8::new(0);
static ENABLED_PATH: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());
static INSTALL: Once = Once::new();

const NAMES: [&[u8]; 3] = [b"never", b"madvise", b"always"];

fn code(m: Sysfs) -> u8 {
    match m {
        Sysfs::Never => 1,
        Sysfs::Madvise => 2,
        Sysfs::Always => 3,
    }
}

/// Writes back everything saved; async-signal-safe.
fn restore_now() {
    restore_mode_now();
    restore_knobs_now();
}

/// Writes `len` bytes at `value` to the file `path`: open, write, close.
fn write_raw(path: *const libc::c_char, value: *const u8, len: usize) {
    unsafe {
        let fd = libc::open(path, libc::O_WRONLY | libc::O_TRUNC | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::write(fd, value as *const libc::c_void, len);
            libc::close(fd);
        }
    }
}

/// Writes the saved mode back; async-signal-safe (open, write, close).
fn restore_mode_now() {
    let c = ORIGINAL.load(Ordering::SeqCst);
    let path = ENABLED_PATH.load(Ordering::SeqCst);
    if c == 0 || path.is_null() {
        return;
    }
    let word = NAMES[(c - 1) as usize];
    write_raw(path, word.as_ptr(), word.len());
}

extern "C" fn restore_at_exit() {
    restore_now();
}

extern "C" fn restore_on_signal(sig: libc::c_int) {
    restore_now();
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

fn install_handlers() {
    INSTALL.call_once(|| unsafe {
        libc::atexit(restore_at_exit);
        for sig in [libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            libc::signal(sig, restore_on_signal as *const () as libc::sighandler_t);
        }
    });
}

/// Holds the system's THP mode changed; restores the original when dropped.
#[derive(Debug)]
pub struct SysfsGuard {
    dir: PathBuf,
    pub original: Sysfs,
}

impl SysfsGuard {
    /// Remembers the current mode of `dir/enabled` (normally
    /// `/sys/kernel/mm/transparent_hugepage`) and arms the restore paths.
    /// Only one guard may be alive at a time.
    pub fn new(dir: &Path) -> Result<SysfsGuard, String> {
        let original = crate::machine::read_sysfs_mode(dir)?;
        let path = CString::new(dir.join("enabled").into_os_string().into_encoded_bytes())
            .map_err(|e| e.to_string())?;
        let old = ENABLED_PATH.swap(path.into_raw(), Ordering::SeqCst);
        if !old.is_null() {
            drop(unsafe { CString::from_raw(old) });
        }
        ORIGINAL.store(code(original), Ordering::SeqCst);
        install_handlers();
        Ok(SysfsGuard { dir: dir.to_path_buf(), original })
    }

    /// Switches the system to `mode`.
    pub fn set(&self, mode: Sysfs) -> Result<(), String> {
        let p = self.dir.join("enabled");
        std::fs::write(&p, mode.name()).map_err(|e| format!("writing {}: {e}", p.display()))
    }
}

impl Drop for SysfsGuard {
    fn drop(&mut self) {
        restore_mode_now();
        ORIGINAL.store(0, Ordering::SeqCst);
    }
}

/// The khugepaged knobs (files of `THP_DIR/khugepaged`) a `khugepaged()`
/// step writes, in the order they are restored: `scan_sleep_millisecs`
/// last, since writing it wakes khugepaged, which should then find the
/// other two as they were.
pub const KHUGEPAGED_KNOBS: [&str; 3] = ["pages_to_scan", "alloc_sleep_millisecs", "scan_sleep_millisecs"];

/// The saved knobs for the handlers: each file's path and its original
/// value (leaked, so a handler never reads freed memory), and whether
/// they are to be restored.
static KNOB_PATHS: [AtomicPtr<libc::c_char>; 3] = [const { AtomicPtr::new(std::ptr::null_mut()) }; 3];
static KNOB_VALUES: [AtomicPtr<u8>; 3] = [const { AtomicPtr::new(std::ptr::null_mut()) }; 3];
static KNOB_LENS: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];
static KNOBS_SAVED: AtomicBool = AtomicBool::new(false);

/// Writes the saved knobs back; async-signal-safe (open, write, close).
fn restore_knobs_now() {
    if !KNOBS_SAVED.load(Ordering::SeqCst) {
        return;
    }
    for i in 0..KHUGEPAGED_KNOBS.len() {
        let path = KNOB_PATHS[i].load(Ordering::SeqCst);
        let value = KNOB_VALUES[i].load(Ordering::SeqCst);
        if !path.is_null() && !value.is_null() {
            write_raw(path, value, KNOB_LENS[i].load(Ordering::SeqCst));
        }
    }
}

/// The unit tests that hold a `KhugepagedGuard` take turns.
#[cfg(test)]
pub(crate) static KNOBS_TEST_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds khugepaged's knobs changed; restores the originals when dropped.
/// Only one may be alive in a process (`new` refuses a second).
#[derive(Debug)]
pub struct KhugepagedGuard {
    dir: PathBuf,
    /// Each knob of `KHUGEPAGED_KNOBS` with its value before the run.
    pub original: Vec<(&'static str, String)>,
}

impl KhugepagedGuard {
    /// Remembers the knobs of `thp_dir/khugepaged` (normally
    /// `/sys/kernel/mm/transparent_hugepage/khugepaged`) and arms the
    /// restore paths. Changes nothing yet.
    pub fn new(thp_dir: &Path) -> Result<KhugepagedGuard, String> {
        let dir = thp_dir.join("khugepaged");
        let mut original = Vec::new();
        for knob in KHUGEPAGED_KNOBS {
            let p = dir.join(knob);
            let v = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let v = v.trim().to_string();
            if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("{}: `{v}` is not a number", p.display()));
            }
            original.push((knob, v));
        }
        if KNOBS_SAVED.swap(true, Ordering::SeqCst) {
            return Err("khugepaged's knobs are already held by another guard in this process".into());
        }
        for (i, (knob, v)) in original.iter().enumerate() {
            let path = CString::new(dir.join(knob).into_os_string().into_encoded_bytes())
                .map_err(|e| e.to_string())?;
            let value: &'static mut [u8] = Box::leak(v.clone().into_bytes().into_boxed_slice());
            KNOB_LENS[i].store(value.len(), Ordering::SeqCst);
            KNOB_VALUES[i].store(value.as_mut_ptr(), Ordering::SeqCst);
            KNOB_PATHS[i].store(path.into_raw(), Ordering::SeqCst);
        }
        install_handlers();
        Ok(KhugepagedGuard { dir, original })
    }

    /// The `khugepaged` directory the guard holds.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `value` to the knob `knob` (one of `KHUGEPAGED_KNOBS`).
    pub fn set(&self, knob: &str, value: &str) -> std::io::Result<()> {
        if !KHUGEPAGED_KNOBS.contains(&knob) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("`{knob}` is not a knob the guard restores"),
            ));
        }
        std::fs::write(self.dir.join(knob), value)
    }

    /// The shell commands that put the knobs back, for a run that is
    /// SIGKILLed.
    pub fn by_hand(&self) -> String {
        let cmds: Vec<String> =
            self.original.iter().map(|(k, v)| format!("echo {v} > {}", self.dir.join(k).display())).collect();
        cmds.join("; ")
    }
}

impl Drop for KhugepagedGuard {
    fn drop(&mut self) {
        restore_knobs_now();
        KNOBS_SAVED.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_restores_the_original_mode() {
        let d = std::env::temp_dir().join(format!("mmflags-guard-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("enabled"), "always [madvise] never\n").unwrap();
        {
            let g = SysfsGuard::new(&d).unwrap();
            assert_eq!(g.original, Sysfs::Madvise);
            g.set(Sysfs::Never).unwrap();
            assert_eq!(std::fs::read_to_string(d.join("enabled")).unwrap(), "never");
        }
        assert_eq!(std::fs::read_to_string(d.join("enabled")).unwrap(), "madvise");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn drop_restores_the_khugepaged_knobs() {
        let _turn = KNOBS_TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let d = std::env::temp_dir().join(format!("mmflags-kguard-{}", std::process::id()));
        let k = d.join("khugepaged");
        std::fs::create_dir_all(&k).unwrap();
        let knob = |n: &str| std::fs::read_to_string(k.join(n)).unwrap();
        std::fs::write(k.join("pages_to_scan"), "4096\n").unwrap();
        std::fs::write(k.join("alloc_sleep_millisecs"), "60000\n").unwrap();
        std::fs::write(k.join("scan_sleep_millisecs"), "10000\n").unwrap();
        {
            let g = KhugepagedGuard::new(&d).unwrap();
            assert_eq!(g.original[2], ("scan_sleep_millisecs", "10000".to_string()));
            assert!(KhugepagedGuard::new(&d).unwrap_err().contains("already held"));
            g.set("scan_sleep_millisecs", "0").unwrap();
            g.set("alloc_sleep_millisecs", "0").unwrap();
            g.set("pages_to_scan", "1").unwrap();
            assert!(g.set("max_ptes_none", "0").is_err());
            assert_eq!(knob("scan_sleep_millisecs"), "0");
            assert!(g.by_hand().contains("echo 10000 > "), "{}", g.by_hand());
        }
        assert_eq!(knob("pages_to_scan"), "4096");
        assert_eq!(knob("alloc_sleep_millisecs"), "60000");
        assert_eq!(knob("scan_sleep_millisecs"), "10000");
        // Released: a new guard may hold them again.
        drop(KhugepagedGuard::new(&d).unwrap());
        std::fs::write(k.join("pages_to_scan"), "lots").unwrap();
        assert!(KhugepagedGuard::new(&d).unwrap_err().contains("not a number"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
