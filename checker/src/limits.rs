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
    Memory { limit: u64, rss: u64 },
    Interrupted,
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
            Stop::Interrupted => f.write_str("interrupted (Ctrl-C)"),
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

/// Total RAM, from /proc/meminfo.
pub fn mem_total_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
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
    pub fn before_level(&self, depth: usize, unique: usize, start: Instant) -> Option<Stop> {
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

    /// Checked after a level is merged.
    pub fn after_merge(&self, unique: usize) -> Option<Stop> {
        self.max_states.filter(|&n| unique > n).map(Stop::StateCap)
    }
}
