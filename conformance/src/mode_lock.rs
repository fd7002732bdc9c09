//! The system-wide THP mode is shared by every process on the machine, so
//! conformance runs agree on it through a lock file: a run holds it
//! shared while it relies on the mode, and `--set-sysfs` holds it
//! exclusive while it changes the mode. Two runs on one machine (two CI
//! jobs, a developer and CI) then never see the mode change under them.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A held lock on the THP mode; released when dropped.
#[derive(Debug)]
pub struct ModeLock {
    file: File,
    path: PathBuf,
    exclusive: bool,
}

fn lock_path() -> PathBuf {
    let run = PathBuf::from("/run/lock");
    let dir = if run.is_dir() { run } else { std::env::temp_dir() };
    dir.join("mmflags-thp-mode.lock")
}

impl ModeLock {
    /// Takes the machine's lock shared, waiting up to `patience` for a run
    /// that changes the mode; `waiting` is told once if it has to wait.
    pub fn shared(patience: Duration, waiting: &dyn Fn(&str)) -> Result<ModeLock, String> {
        ModeLock::shared_at(lock_path(), patience, waiting)
    }

    /// The same on the lock file `path`.
    pub fn shared_at(path: PathBuf, patience: Duration, waiting: &dyn Fn(&str)) -> Result<ModeLock, String> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o666)
            .open(&path)
            .or_else(|_| File::open(&path))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut l = ModeLock { file, path, exclusive: false };
        l.take(libc::LOCK_SH, patience, waiting)?;
        Ok(l)
    }

    /// Turns a shared lock into an exclusive one (waiting for the other
    /// holders to finish), for changing the mode.
    pub fn exclusive(&mut self, patience: Duration, waiting: &dyn Fn(&str)) -> Result<(), String> {
        self.take(libc::LOCK_EX, patience, waiting)?;
        self.exclusive = true;
        Ok(())
    }

    pub fn is_exclusive(&self) -> bool {
        self.exclusive
    }

    fn take(&mut self, how: i32, patience: Duration, waiting: &dyn Fn(&str)) -> Result<(), String> {
        let deadline = Instant::now() + patience;
        let mut told = false;
        loop {
            if unsafe { libc::flock(self.file.as_raw_fd(), how | libc::LOCK_NB) } == 0 {
                return Ok(());
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(format!("locking {}: {e}", self.path.display()));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "another conformance run held {} for {}s; giving up",
                    self.path.display(),
                    patience.as_secs()
                ));
            }
            if !told {
                waiting(&format!(
                    "waiting for another conformance run on this machine ({})",
                    self.path.display()
                ));
                told = true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_holders_coexist_and_exclusive_waits_for_them() {
        let path = std::env::temp_dir().join(format!("mmflags-lock-test-{}", std::process::id()));
        let quick = Duration::from_millis(300);
        let lock = || ModeLock::shared_at(path.clone(), quick, &|_| {});
        let a = lock().unwrap();
        let mut b = lock().unwrap();
        let told = std::cell::Cell::new(false);
        assert!(b.exclusive(quick, &|_| told.set(true)).is_err());
        assert!(told.get());
        drop(a);
        b.exclusive(quick, &|_| {}).unwrap();
        assert!(b.is_exclusive());
        assert!(lock().is_err());
        drop(b);
        std::fs::remove_file(&path).unwrap();
    }
}
