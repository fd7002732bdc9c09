//! Limits that are not part of a spec's question: a depth or state cap from
//! the command line, a timeout, a memory ceiling, Ctrl-C. Any of them makes
//! a run inconclusive; the spec's own bounds never do.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// `--max-depth`: only a limit when below the spec's own depth.
    pub max_depth: Option<usize>,
    /// `--max-states`: unique states.
    pub max_states: Option<usize>,
    pub timeout: Option<Duration>,
    /// `--max-memory`: resident set size in bytes.
    pub max_memory: Option<u64>,
}

/// Why a search stopped before it had explored its bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    DepthCap(usize),
    StateCap(usize),
    Timeout(Duration),
    Memory {
        limit: u64,
        rss: u64,
    },
    /// Refused before merging the states of `depth`: the merge was
    /// estimated to need `need` more bytes for `states` candidates.
    MemoryEstimate {
        limit: u64,
        rss: u64,
        need: u64,
        depth: usize,
        states: usize,
    },
    Interrupted,
    /// More distinct process slots than a packed state can number.
    SlotNumbers(u64),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::DepthCap(d) => write!(f, "stopped at depth {d} by --max-depth, below the spec's bound"),
            Stop::StateCap(n) => write!(f, "stopped by --max-states {n}"),
            Stop::Timeout(t) => write!(f, "stopped by --timeout {}s", t.as_secs_f64()),
            Stop::Memory { limit, rss } => {
                write!(f, "stopped by --max-memory {} MiB (resident {} MiB)", limit >> 20, rss >> 20)
            }
            Stop::MemoryEstimate { limit, rss, need, depth, states } => write!(
                f,
                "stopped by --max-memory {} MiB before storing depth {depth}: merging its next {states} candidate states would need about {} MiB more on top of {} MiB resident, counting a new visited table half as large again beside the old one when the table must grow",
                limit >> 20,
                need.div_ceil(1 << 20),
                rss >> 20
            ),
            Stop::Interrupted => f.write_str("interrupted (Ctrl-C)"),
            Stop::SlotNumbers(n) => {
                write!(f, "stopped: more than {n} distinct process slots, more than a stored state can number")
            }
        }
    }
}

/// Resident set size of this process, from /proc/self/statm.
pub fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Peak resident set size (VmHWM), from /proc/self/status.
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU time this process has used so far, user and system, on all its
/// threads (`getrusage(RUSAGE_SELF)`): the work a run did, which a
/// wall-clock figure on a shared or throttled machine does not show.
pub fn cpu_seconds() -> Option<f64> {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return None;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(ru.ru_utime) + secs(ru.ru_stime))
}

/// A field of /proc/meminfo, in bytes.
fn meminfo_bytes(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.split(':').next() == Some(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// Total RAM, from /proc/meminfo.
pub fn mem_total_bytes() -> Option<u64> {
    meminfo_bytes("MemTotal")
}

/// The memory ceiling when `--max-memory` is not given: three quarters of
/// RAM, and no more than nine tenths of what is available now (other
/// programs, other runs on a shared machine), so that the search stops
/// itself, inconclusive, before the kernel's OOM killer would stop it.
pub fn default_max_memory() -> Option<u64> {
    let total = mem_total_bytes()? / 4 * 3;
    let available = meminfo_bytes("MemAvailable").map(|a| a / 10 * 9 + rss_bytes().unwrap_or(0));
    Some(available.map_or(total, |a| a.min(total)))
}

/// Most worker threads `--threads` accepts (each is a real OS thread).
pub const MAX_THREADS: usize = 1024;

/// `--threads N`.
pub fn threads_arg(n: Option<usize>, default: usize) -> Result<usize, String> {
    match n {
        Some(0) => Err("--threads 0: give at least 1".into()),
        Some(n) if n > MAX_THREADS => Err(format!("--threads {n}: give at most {MAX_THREADS}")),
        Some(n) => Ok(n),
        None => Ok(default.clamp(1, MAX_THREADS)),
    }
}

/// `--timeout SECONDS`.
pub fn timeout_arg(t: Option<f64>) -> Result<Option<Duration>, String> {
    t.map(|t| {
        Duration::try_from_secs_f64(t)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("--timeout {t:?}: give a positive number of seconds"))
    })
    .transpose()
}

/// `--max-memory MIB`, or the default ceiling.
pub fn max_memory_arg(mib: Option<u64>) -> Result<Option<u64>, String> {
    match mib {
        Some(0) => Err("--max-memory 0: give a number of MiB, at least 1".into()),
        Some(m) => m.checked_mul(1 << 20).map(Some).ok_or_else(|| format!("--max-memory {m}: too large")),
        None => Ok(default_max_memory()),
    }
}

impl Limits {
    fn memory(&self) -> Option<Stop> {
        let limit = self.max_memory?;
        let rss = rss_bytes()?;
        (rss > limit).then_some(Stop::Memory { limit, rss })
    }

    fn time(&self, start: Instant) -> Option<Stop> {
        let t = self.timeout?;
        (start.elapsed() >= t).then_some(Stop::Timeout(t))
    }

    /// Checked before expanding level `depth`.
    pub fn before_level(
        &self,
        depth: usize,
        unique: usize,
        start: Instant,
        interrupt: &AtomicBool,
    ) -> Option<Stop> {
        if interrupt.load(Ordering::Relaxed) {
            return Some(Stop::Interrupted);
        }
        if self.max_depth == Some(depth) {
            return Some(Stop::DepthCap(depth));
        }
        if let Some(n) = self.max_states.filter(|&n| unique >= n) {
            return Some(Stop::StateCap(n));
        }
        self.time(start).or_else(|| self.memory())
    }

    /// Checked by workers between chunks.
    pub fn during(&self, interrupt: &AtomicBool, start: Instant) -> Option<Stop> {
        if interrupt.load(Ordering::Relaxed) {
            return Some(Stop::Interrupted);
        }
        self.time(start).or_else(|| self.memory())
    }

    /// Checked before the candidates for level `depth` are merged into the
    /// store: refuses a merge whose estimated peak (`need` more bytes: see
    /// `store::Store::bytes_to_add`) would take the resident set above
    /// `--max-memory`, before it is attempted.
    pub fn before_merge(&self, depth: usize, incoming: usize, need: u64) -> Option<Stop> {
        let limit = self.max_memory?;
        let rss = rss_bytes()?;
        (rss.saturating_add(need) > limit).then_some(Stop::MemoryEstimate {
            limit,
            rss,
            need,
            depth,
            states: incoming,
        })
    }

    /// Checked after a level is merged.
    pub fn after_merge(&self, unique: usize) -> Option<Stop> {
        self.max_states.filter(|&n| unique > n).map(Stop::StateCap)
    }
}
