//! Changing the system-wide THP mode, for `--set-sysfs` only, and putting
//! it back on every way out: the guard's drop (normal return, error,
//! panic), `exit()` (a second Ctrl-C ends the checker with
//! `process::exit`, which runs atexit handlers) and SIGTERM/SIGHUP/SIGQUIT
//! (a handler that writes the old mode back with async-signal-safe calls and
//! re-raises). Only SIGKILL can leave the mode changed; the run says which
//! mode to restore by hand before it starts changing anything.

use mmflags_model::Sysfs;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
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

/// Writes the saved mode back; async-signal-safe (open, write, close).
fn restore_now() {
    let c = ORIGINAL.load(Ordering::SeqCst);
    let path = ENABLED_PATH.load(Ordering::SeqCst);
    if c == 0 || path.is_null() {
        return;
    }
    let word = NAMES[(c - 1) as usize];
    unsafe {
        let fd = libc::open(path, libc::O_WRONLY | libc::O_TRUNC | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::write(fd, word.as_ptr() as *const libc::c_void, word.len());
            libc::close(fd);
        }
    }
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
        restore_now();
        ORIGINAL.store(0, Ordering::SeqCst);
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
}
