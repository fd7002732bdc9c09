//! Driving khugepaged for the trace language's `khugepaged()` step ("khugepaged
//! finishes a full scan") through its sysfs knobs in
//! `/sys/kernel/mm/transparent_hugepage/khugepaged/`.
//!
//! While a run holds the knobs (`Khugepaged::arm`: the originals are saved
//! first and restored on every way out, see `sysfs_guard`), khugepaged is
//! *parked*: `scan_sleep_millisecs` is an hour, so it does not collapse
//! anything between steps, which the model assumes. A step (`full_scan`)
//! sets `pages_to_scan` to 4096 and `alloc_sleep_millisecs` to 0, wakes it
//! with `scan_sleep_millisecs` 0 (1 where 0 is refused), waits until
//! `full_scans` has moved by 2 (the first pass may have started before the
//! step; the second began after it and saw every registered mm), and parks
//! it again. No pass within `SCAN_TIMEOUT` is a harness error, never a
//! result.
//!
//! khugepaged sleeps without a timeout while no mm is registered with it,
//! so a step first registers one of the runner's own (`Anchor`); and where
//! it does not run at all (mode `never`: `hugepage_pmd_enabled()` is false
//! and the thread is stopped), a full scan is a scan of nothing and the
//! step returns at once.
//!
//! Who may do this: the knobs are the whole machine's, so on the host only
//! a run that owns the THP mode (`--set-sysfs`, under the exclusive mode
//! lock), and always inside an mmflags guest (`Machine::guest`).

use crate::sysfs_guard::KhugepagedGuard;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `scan_sleep_millisecs` between steps: an hour.
pub const PARKED_SCAN_SLEEP_MS: u32 = 3_600_000;
/// `pages_to_scan` during a run (the kernel's default, set in case the
/// machine's is lower).
pub const PAGES_TO_SCAN: u32 = 4096;
/// `full_scans` must move by this much for a step to be a full scan.
pub const FULL_SCANS: u64 = 2;
/// How long a step may wait for them.
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(30);

/// One step's scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scan {
    /// `full_scans` before and after.
    pub full_scans: (u64, u64),
    /// `pages_collapsed` before and after (any process's).
    pub pages_collapsed: (u64, u64),
    /// The `scan_sleep_millisecs` that woke it (0, or 1 where 0 is refused).
    pub scan_sleep_ms: u32,
    pub took: Duration,
}

/// What the steps of a run cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Steps that waited for full scans.
    pub scans: usize,
    /// Steps that returned at once: khugepaged does not run.
    pub idle: usize,
    pub total: Duration,
    pub max: Duration,
    /// Full scans counted while the steps waited (each waits for 2 or more).
    pub full_scans: u64,
    /// Pages khugepaged collapsed during the steps (any process's).
    pub pages_collapsed: u64,
}

/// khugepaged's knobs, held for a run.
#[derive(Debug)]
pub struct Khugepaged {
    guard: KhugepagedGuard,
    timeout: Duration,
    poll: Duration,
    stats: Mutex<Stats>,
    /// Where to find the khugepaged thread to see it asleep (`/proc` for
    /// the machine's own knobs; none for a fake THP directory).
    proc: Option<PathBuf>,
}

fn read_u64(p: &Path) -> Result<u64, String> {
    let t = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
    t.trim().parse().map_err(|e| format!("{}: `{}`: {e}", p.display(), t.trim()))
}

impl Khugepaged {
    /// Saves the knobs of `thp_dir/khugepaged` (restored when this is
    /// dropped, and at exit or on SIGTERM/SIGHUP/SIGQUIT) and parks
    /// khugepaged. On an error nothing is left changed.
    pub fn arm(thp_dir: &Path) -> Result<Khugepaged, String> {
        Khugepaged::arm_with(thp_dir, SCAN_TIMEOUT, Duration::from_millis(2))
    }

    /// `arm` with another patience and polling interval (for tests).
    pub fn arm_with(thp_dir: &Path, timeout: Duration, poll: Duration) -> Result<Khugepaged, String> {
        let guard = KhugepagedGuard::new(thp_dir)?;
        let proc = thp_dir.starts_with(crate::machine::THP_DIR).then(|| PathBuf::from("/proc"));
        let k = Khugepaged { guard, timeout, poll, stats: Mutex::new(Stats::default()), proc };
        k.set("pages_to_scan", PAGES_TO_SCAN)?;
        k.set("alloc_sleep_millisecs", 0)?;
        k.park()?;
        Ok(k)
    }

    fn set(&self, knob: &str, v: u32) -> Result<(), String> {
        self.guard
            .set(knob, &v.to_string())
            .map_err(|e| format!("{}/{knob} = {v}: {e}", self.dir().display()))
    }

    fn dir(&self) -> &Path {
        self.guard.dir()
    }

    /// The THP directory whose `khugepaged/` this holds.
    pub fn thp_dir(&self) -> PathBuf {
        self.dir().parent().map_or_else(|| PathBuf::from(crate::machine::THP_DIR), Path::to_path_buf)
    }

    /// Parks khugepaged and waits until it sleeps: a pass that began
    /// before the knob changed runs to its end (up to `pages_to_scan`
    /// pages, read when it began) and would collapse, during the next
    /// steps, what those steps make collapsible.
    fn park(&self) -> Result<(), String> {
        self.set("scan_sleep_millisecs", PARKED_SCAN_SLEEP_MS)?;
        match &self.proc {
            Some(proc) => asleep(proc, self.timeout),
            None => Ok(()),
        }
    }

    /// The knobs as they were, and how to put them back by hand (for a
    /// run that is SIGKILLed).
    pub fn original(&self) -> &[(&'static str, String)] {
        &self.guard.original
    }

    pub fn by_hand(&self) -> String {
        self.guard.by_hand()
    }

    pub fn stats(&self) -> Stats {
        *self.stats.lock().expect("no poisoned lock")
    }

    /// Counts a step that had nothing to wait for.
    pub fn idle(&self) {
        self.stats.lock().expect("no poisoned lock").idle += 1;
    }

    /// Wakes khugepaged, waits for `FULL_SCANS` full scans, and parks it
    /// again (also when the wait fails).
    pub fn full_scan(&self) -> Result<Scan, String> {
        let full = self.dir().join("full_scans");
        let collapsed = self.dir().join("pages_collapsed");
        let (f0, c0) = (read_u64(&full)?, read_u64(&collapsed)?);
        let start = Instant::now();
        let woke = match self.guard.set("scan_sleep_millisecs", "0") {
            Ok(()) => Ok(0),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                self.set("scan_sleep_millisecs", 1).map(|_| 1)
            }
            Err(e) => Err(format!("{}/scan_sleep_millisecs = 0: {e}", self.dir().display())),
        };
        let waited = woke.and_then(|ms| loop {
            let f = read_u64(&full)?;
            if f >= f0 + FULL_SCANS {
                return Ok((ms, f));
            }
            if start.elapsed() >= self.timeout {
                return Err(format!(
                    "khugepaged did not finish {FULL_SCANS} full scans in {:.0} s (full_scans {f0} -> {f}): \
                         a harness error, not a result",
                    self.timeout.as_secs_f64()
                ));
            }
            std::thread::sleep(self.poll);
        });
        let took = start.elapsed();
        let parked = self.park();
        let (ms, f1) = waited?;
        parked?;
        let c1 = read_u64(&collapsed)?;
        let mut st = self.stats.lock().expect("no poisoned lock");
        st.scans += 1;
        st.total += took;
        st.max = st.max.max(took);
        st.full_scans += f1.saturating_sub(f0);
        st.pages_collapsed += c1.saturating_sub(c0);
        Ok(Scan { full_scans: (f0, f1), pages_collapsed: (c0, c1), scan_sleep_ms: ms, took })
    }
}

/// Whether a kernel thread named `khugepaged` exists, from the processes
/// under `proc` (normally `/proc`): `None` when kernel threads cannot be
/// seen there at all (no `kthreadd` at pid 2: another pid namespace).
pub fn thread_running(proc: &Path) -> Option<bool> {
    let comm = |pid: &str| std::fs::read_to_string(proc.join(pid).join("comm")).ok();
    if comm("2").as_deref().map(str::trim) != Some("kthreadd") {
        return None;
    }
    Some(thread_pid(proc).is_some())
}

/// The pid of the kernel thread named `khugepaged` under `proc`.
fn thread_pid(proc: &Path) -> Option<String> {
    std::fs::read_dir(proc).ok()?.filter_map(|e| e.ok()).find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        let comm = std::fs::read_to_string(proc.join(&name).join("comm")).ok()?;
        (name.bytes().all(|b| b.is_ascii_digit()) && comm.trim() == "khugepaged").then_some(name)
    })
}

/// Whether the thread sleeps where khugepaged waits between passes
/// (`khugepaged_wait_work`, inlined into `khugepaged`): state `S` and that
/// wchan. Where wchan is hidden ("0"), `S` alone.
fn sleeps_between_passes(task: &Path) -> bool {
    let stat = std::fs::read_to_string(task.join("stat")).unwrap_or_default();
    let state = stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next());
    let wchan = std::fs::read_to_string(task.join("wchan")).unwrap_or_default();
    state == Some('S') && matches!(wchan.trim(), "khugepaged" | "khugepaged_wait_work" | "0" | "")
}

/// Waits until khugepaged has slept between passes for several polls in a
/// row (a thread that is not there, as under `never`, has nothing to
/// finish). Not within `timeout` is a harness error.
fn asleep(proc: &Path, timeout: Duration) -> Result<(), String> {
    const IN_A_ROW: u32 = 3;
    let Some(pid) = thread_pid(proc) else { return Ok(()) };
    let task = proc.join(&pid);
    let start = Instant::now();
    let mut row = 0;
    while row < IN_A_ROW {
        if !task.exists() {
            return Ok(());
        }
        row = if sleeps_between_passes(&task) { row + 1 } else { 0 };
        if start.elapsed() >= timeout {
            return Err(format!(
                "khugepaged (pid {pid}) did not go to sleep within {:.0} s of being parked: \
                 a harness error, not a result",
                timeout.as_secs_f64()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// A 4 MiB region of the runner's own, advised MADV_HUGEPAGE and written
/// once: it keeps the runner's mm registered with khugepaged (in `madvise`
/// and `always`), so khugepaged always has work. Without any registered mm
/// it sleeps with no timeout, full scans are not counted, and the first
/// agent that registers wakes it for a scan at once, parked or not. An mm
/// is registered only through a VMA that has an `anon_vma` (a fault made
/// one), hence the one write. Unmapped on drop.
#[derive(Debug)]
pub struct Anchor {
    addr: usize,
}

const ANCHOR_LEN: usize = 4 << 20;

impl Anchor {
    pub fn new() -> Result<Anchor, String> {
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ANCHOR_LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!("mmap of khugepaged's anchor: {}", std::io::Error::last_os_error()));
        }
        let a = Anchor { addr: p as usize };
        a.register()?;
        // The fault (a huge page where the mode allows one) gives the VMA
        // its anon_vma, and registers the mm itself where it is eligible.
        unsafe { std::ptr::write_volatile(p as *mut u8, 1) };
        a.register()?;
        Ok(a)
    }

    /// Registers the runner's mm if it is not (`khugepaged_enter_vma` runs
    /// on every MADV_HUGEPAGE; a registered mm stays so until it exits).
    /// Harmless in `never`, where nothing registers.
    pub fn register(&self) -> Result<(), String> {
        let r = unsafe { libc::madvise(self.addr as *mut libc::c_void, ANCHOR_LEN, libc::MADV_HUGEPAGE) };
        if r != 0 {
            return Err(format!(
                "madvise(MADV_HUGEPAGE) of khugepaged's anchor: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }
}

impl Drop for Anchor {
    fn drop(&mut self) {
        unsafe { libc::munmap(self.addr as *mut libc::c_void, ANCHOR_LEN) };
    }
}

/// A stand-in for `THP_DIR` for tests: `khugepaged/` with the knobs at the
/// given values, and `full_scans` and `pages_collapsed` at 0.
pub fn fake_thp_dir(dir: &Path, knobs: [&str; 3]) -> std::io::Result<PathBuf> {
    let k = dir.join("khugepaged");
    std::fs::create_dir_all(&k)?;
    for (name, v) in crate::sysfs_guard::KHUGEPAGED_KNOBS.iter().zip(knobs) {
        std::fs::write(k.join(name), format!("{v}\n"))?;
    }
    std::fs::write(k.join("full_scans"), "0\n")?;
    std::fs::write(k.join("pages_collapsed"), "0\n")?;
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    fn knob(d: &Path, n: &str) -> String {
        std::fs::read_to_string(d.join("khugepaged").join(n)).unwrap().trim().to_string()
    }

    /// A fake khugepaged: while `scan_sleep_millisecs` is 0 it finishes a
    /// full scan (and collapses a page) every millisecond.
    fn fake_khugepaged(d: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            let k = d.join("khugepaged");
            while !stop.load(Ordering::Relaxed) {
                if knob(&d, "scan_sleep_millisecs") == "0" {
                    for f in ["full_scans", "pages_collapsed"] {
                        let n: u64 = knob(&d, f).parse().unwrap();
                        // Whole, as sysfs shows a value: write aside, rename.
                        std::fs::write(k.join("next"), format!("{}\n", n + 1)).unwrap();
                        std::fs::rename(k.join("next"), k.join(f)).unwrap();
                    }
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    }

    // One test (the guard is one per process): arming, a scan, a timeout, the restore.
    #[test]
    fn a_step_wakes_waits_and_parks_and_the_knobs_come_back() {
        let _turn = crate::sysfs_guard::KNOBS_TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let d = std::env::temp_dir().join(format!("mmflags-khugepaged-{}", std::process::id()));
        let d = fake_thp_dir(&d, ["1024", "60000", "10000"]).unwrap();
        {
            let k = Khugepaged::arm_with(&d, Duration::from_secs(10), Duration::from_millis(1)).unwrap();
            assert_eq!(knob(&d, "pages_to_scan"), "4096");
            assert_eq!(knob(&d, "alloc_sleep_millisecs"), "0");
            assert_eq!(knob(&d, "scan_sleep_millisecs"), PARKED_SCAN_SLEEP_MS.to_string());
            assert!(k.by_hand().contains("echo 1024 > "), "{}", k.by_hand());

            let stop = Arc::new(AtomicBool::new(false));
            let t = fake_khugepaged(d.clone(), stop.clone());
            let s = k.full_scan().unwrap();
            assert_eq!(s.scan_sleep_ms, 0);
            assert!(s.full_scans.1 >= s.full_scans.0 + FULL_SCANS, "{s:?}");
            assert!(s.pages_collapsed.1 > s.pages_collapsed.0, "{s:?}");
            assert_eq!(knob(&d, "scan_sleep_millisecs"), PARKED_SCAN_SLEEP_MS.to_string());
            stop.store(true, Ordering::Relaxed);
            t.join().unwrap();
            assert_eq!(k.stats().scans, 1);
        }
        assert_eq!(knob(&d, "pages_to_scan"), "1024");
        assert_eq!(knob(&d, "alloc_sleep_millisecs"), "60000");
        assert_eq!(knob(&d, "scan_sleep_millisecs"), "10000");

        // No khugepaged: a timeout is an error, and it is parked again.
        {
            let k = Khugepaged::arm_with(&d, Duration::from_millis(50), Duration::from_millis(5)).unwrap();
            let e = k.full_scan().unwrap_err();
            assert!(e.contains("did not finish 2 full scans") && e.contains("harness error"), "{e}");
            assert_eq!(knob(&d, "scan_sleep_millisecs"), PARKED_SCAN_SLEEP_MS.to_string());
        }
        assert_eq!(knob(&d, "scan_sleep_millisecs"), "10000");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_thread_is_found_by_its_name() {
        let d = std::env::temp_dir().join(format!("mmflags-proc-{}", std::process::id()));
        let comm = |pid: &str, name: &str| {
            std::fs::create_dir_all(d.join(pid)).unwrap();
            std::fs::write(d.join(pid).join("comm"), format!("{name}\n")).unwrap();
        };
        comm("1", "init");
        assert_eq!(thread_running(&d), None, "no kthreadd: cannot tell");
        comm("2", "kthreadd");
        comm("self", "khugepaged");
        assert_eq!(thread_running(&d), Some(false));
        comm("77", "khugepaged");
        assert_eq!(thread_running(&d), Some(true));
        std::fs::remove_dir_all(&d).unwrap();
        // This machine: its answer agrees with its mode.
        let mode = crate::machine::read_sysfs_mode(Path::new(crate::machine::THP_DIR));
        if let (Ok(mode), Some(running)) = (mode, thread_running(Path::new("/proc"))) {
            if mode != mmflags_model::Sysfs::Never {
                assert!(running, "mode {mode} but no khugepaged thread");
            }
        }
    }

    #[test]
    fn khugepaged_counts_as_asleep_only_where_it_waits_between_passes() {
        let d = std::env::temp_dir().join(format!("mmflags-wchan-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let task = |state: char, wchan: &str| {
            std::fs::write(d.join("stat"), format!("77 (khugepaged) {state} 2 0 0")).unwrap();
            std::fs::write(d.join("wchan"), wchan).unwrap();
            sleeps_between_passes(&d)
        };
        assert!(task('S', "khugepaged"));
        assert!(task('S', "0"), "wchan hidden: the state alone");
        assert!(!task('R', "khugepaged"), "running a pass");
        assert!(!task('D', "rwsem_down_read_slowpath"), "waiting for an mmap_lock in a pass");
        assert!(!task('S', "khugepaged_alloc_sleep"), "asleep inside a pass");
        std::fs::remove_dir_all(&d).unwrap();
        // This machine's khugepaged, parked by no one, sleeps between passes
        // at least once within a minute.
        if thread_running(Path::new("/proc")) == Some(true) {
            asleep(Path::new("/proc"), Duration::from_secs(60)).unwrap();
        }
    }
}
