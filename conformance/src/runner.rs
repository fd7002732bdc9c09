//! Running traces on the kernel and comparing, step by step:
//! - `compare`: a model trace; after every step, the step's result and the
//!   observations of every live process (each VMA slot's `vmflags`,
//!   `thp_eligible` and `pages`, `thp_enabled()`,
//!   `prctl(PR_GET_THP_DISABLE)`, `prctl(PR_GET_MEMORY_MERGE)`,
//!   `prctl(PR_GET_MDWE)`) must be what the model predicts;
//! - `litmus`: a written trace; every result written in the file must be
//!   what the kernel returns.
//!
//! Both stop at the first difference: after it the two states have parted
//! and later differences are noise. Steps the machine cannot make (root
//! steps when not root, a proposal's calls on a mainline kernel,
//! `khugepaged()` where the run may not drive khugepaged) end the run there,
//! and the rest is counted as skipped, never as passed.
//!
//! The model assumes every huge page it wants can be allocated, and that
//! khugepaged collapses nothing between `khugepaged()` steps. Around every
//! step the runner reads what says otherwise (`procfs::ThpCounters`): if
//! `thp_fault_fallback` or `thp_collapse_alloc_failed` moved, the trace is
//! `Inconclusive` whatever the kernel answered; if khugepaged's
//! `pages_collapsed` moved since the last `khugepaged()` step (or the
//! trace's start) and the kernel differed, the difference is
//! `Inconclusive` too, not a mismatch (a collapse of its own may show only
//! a step or more later); and so
//! is a collapse that returned -EAGAIN where the model said otherwise (the
//! kernel's "transient, retry": the harness never re-issues a call). An
//! inconclusive trace is neither a pass nor a mismatch. The counters are
//! the whole machine's: another process's fallback also makes a trace
//! inconclusive, which errs on the safe side.
//!
//! `khugepaged()` is the kernel's step, driven by the runner, not an agent
//! (`khugepaged`): only where the run may change khugepaged's knobs (see
//! `Runner::khugepaged`). Elsewhere such steps are skipped with the reason,
//! and `Runner::enumerable` leaves them out of what is enumerated. A trace
//! with a `khugepaged()` step runs alone: a scan reaches every process on
//! the machine, so it would collapse other traces' pages under them.

use crate::calls::cannot_run;
use crate::kernel::{reaped_pidfd, HarnessError, Tree, TreeConfig};
use crate::khugepaged::{self, Anchor, Khugepaged};
use crate::machine::{read_sysfs_mode, Images, Machine, THP_DIR};
use crate::mode_lock::ModeLock;
use crate::procfs::{observation_calls, CounterFiles, CounterMove, ThpCounters, COLLAPSE_EAGAIN};
use crate::sys;
use mmflags_model::action::{Action, Advice, Call, Ret, Step};
use mmflags_model::state::{Image, MAX_PROCS, MAX_VMAS};
use mmflags_model::Errno;
use mmflags_model::{State, Sysfs, System, Trace};
use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

const CAP_IPC_LOCK: u32 = 14;

/// One observed difference: a call (the step itself, or an observation
/// made after it) and what each side returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub action: Action,
    pub model: Ret,
    pub kernel: Ret,
}

/// A model trace the kernel disagreed with.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    pub sysfs: Sysfs,
    /// The trace up to and including the step after which they differed,
    /// with the model's results (so it replays on the model as written).
    pub steps: Vec<Step>,
    /// The step's own result, when that differed.
    pub result: Option<Field>,
    /// Observations after the step that differed.
    pub observations: Vec<Field>,
}

impl Mismatch {
    /// The mismatch as a replayable trace: the model's results, the
    /// differing observations as written steps, the kernel's values in
    /// comments. It passes `check replay` on the model it came from and
    /// fails `check conform --trace` at the first difference.
    pub fn trace_text(&self) -> String {
        let mut s = format!("# sysfs: {}\n", self.sysfs);
        for (i, st) in self.steps.iter().enumerate() {
            s.push_str(&st.to_string());
            match &self.result {
                Some(f) if i + 1 == self.steps.len() => s.push_str(&format!("    # kernel: {}\n", f.kernel)),
                _ => s.push('\n'),
            }
        }
        for f in &self.observations {
            s.push_str(&format!("{} = {}    # kernel: {}\n", f.action, f.model, f.kernel));
        }
        s
    }
}

/// A model trace whose last step the kernel ran under conditions the model
/// does not describe: a huge page could not be allocated, or khugepaged
/// collapsed pages on its own. What the kernel did there says nothing about
/// the model: never a pass, never a mismatch.
#[derive(Clone, Debug, PartialEq)]
pub struct Inconclusive {
    /// The counters that moved during the last step (or while its
    /// observations were read).
    pub moved: Vec<CounterMove>,
    /// The trace up to and including that step, and what differed there, if
    /// anything (for the reader: it is not a mismatch).
    pub seen: Mismatch,
}

impl Inconclusive {
    /// Why, in a sentence.
    pub fn why(&self) -> String {
        let moved: Vec<String> = self.moved.iter().map(|m| m.to_string()).collect();
        let step = self.seen.steps.last().map(|s| s.action.to_string()).unwrap_or_default();
        let mut what: Vec<&str> = self.moved.iter().map(|m| m.meaning()).collect();
        what.dedup();
        let what = what.join(" and ");
        let differed = if self.seen.result.is_some() || !self.seen.observations.is_empty() {
            "; the kernel differed there"
        } else {
            ""
        };
        format!(
            "{} during step {} (`{step}`): {what}, which the model assumes never happens{differed}",
            moved.join(", "),
            self.seen.steps.len()
        )
    }

    /// The trace as `Mismatch::trace_text` writes it, after a comment
    /// saying why it is inconclusive.
    pub fn trace_text(&self) -> String {
        format!("# inconclusive: {}\n{}", self.why(), self.seen.trace_text())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every step run agreed.
    Agreed,
    Mismatch(Mismatch),
    /// A step ran where the model does not apply (see `Inconclusive`); the
    /// trace stops there.
    Inconclusive(Inconclusive),
    /// The harness failed at this step (0-based); the trace is unfinished.
    Error {
        step: usize,
        err: HarnessError,
    },
}

/// What many trace reports came to: for a summary, and for its JSON
/// (`moved` counts the inconclusive traces by counter: how many traces,
/// and by how much in all).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub traces: usize,
    pub agreed: usize,
    pub mismatches: usize,
    pub inconclusive: usize,
    pub errors: usize,
    pub steps_run: usize,
    pub steps_skipped: usize,
    /// Counter name -> (traces it made inconclusive, total it moved by).
    pub moved: BTreeMap<&'static str, (usize, u64)>,
}

impl Tally {
    pub fn add(&mut self, r: &TraceReport) {
        self.traces += 1;
        self.steps_run += r.steps_run;
        self.steps_skipped += r.skipped.as_ref().map_or(0, |s| s.0);
        match &r.verdict {
            Verdict::Agreed => self.agreed += 1,
            Verdict::Mismatch(_) => self.mismatches += 1,
            Verdict::Error { .. } => self.errors += 1,
            Verdict::Inconclusive(i) => {
                self.inconclusive += 1;
                for m in &i.moved {
                    let e = self.moved.entry(m.counter).or_default();
                    e.0 += 1;
                    e.1 += m.by;
                }
            }
        }
    }

    pub fn of<'a>(reports: impl IntoIterator<Item = &'a TraceReport>) -> Tally {
        let mut t = Tally::default();
        for r in reports {
            t.add(r);
        }
        t
    }

    /// Every trace ran to its end and agreed: the only outcome that passes.
    pub fn passed(&self) -> bool {
        self.traces > 0 && self.agreed == self.traces && self.steps_skipped == 0
    }
}

/// The outcome of one model trace.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceReport {
    pub verdict: Verdict,
    /// Steps run on the kernel and compared.
    pub steps_run: usize,
    /// Steps not run because the machine cannot make them, and why.
    pub skipped: Option<(usize, String)>,
}

/// The result of running a written trace.
#[derive(Clone, Debug, PartialEq)]
pub struct LitmusReport {
    /// Each step run, with the kernel's result, and its line in the file.
    pub steps: Vec<(usize, Step)>,
    /// The first line whose written result the kernel did not return:
    /// (line, expected, got).
    pub failure: Option<(usize, Ret, Ret)>,
    pub skipped: Option<(usize, String)>,
    pub error: Option<(usize, HarnessError)>,
    /// The line whose step ran where the model does not apply (see
    /// `Inconclusive`), and the counters that moved: the file neither
    /// passed nor failed. (`failure` is `None` then, even if the kernel
    /// returned something else.)
    pub inconclusive: Option<(usize, Vec<CounterMove>)>,
}

impl LitmusReport {
    /// Every step of the file ran and returned what it says.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
            && self.skipped.is_none()
            && self.error.is_none()
            && self.inconclusive.is_none()
    }
}

/// Whether this run drives khugepaged.
#[derive(Debug)]
enum Driving {
    /// Not allowed here, or arming failed: why.
    No(String),
    Yes(Box<Khugepaged>, Anchor),
}

/// The reason `khugepaged()` steps are not run on a host that does not
/// own the THP mode.
const NOT_OWNED: &str =
    "khugepaged() changes khugepaged's sysfs knobs for the whole machine: on a host only \
                         with --set-sysfs (which holds the THP mode lock exclusively), always inside a guest";

/// The runner: agent images, a reaped pidfd, the machine, the patience,
/// its hold on the THP mode, and khugepaged's knobs when it may drive it.
pub struct Runner {
    pub machine: Machine,
    images: Images,
    never: OwnedFd,
    pub timeout: Duration,
    /// Dropped (restored) before `lock` is released: fields drop in order.
    khugepaged: Driving,
    /// Traces with a `khugepaged()` step hold it exclusively, all others
    /// shared.
    alone: RwLock<()>,
    counters: Counters,
    /// Last: the next run may change what this one held only once
    /// everything above is put back.
    lock: ModeLock,
}

/// Where the runner reads `ThpCounters`: the system's files, or a test's
/// stand-in.
type Counters = Box<dyn Fn() -> Result<ThpCounters, String> + Send + Sync>;

/// How a trace holds `Runner::alone`.
#[allow(dead_code)]
enum Turn<'a> {
    Shared(RwLockReadGuard<'a, ()>),
    Alone(RwLockWriteGuard<'a, ()>),
}

impl Runner {
    /// Installs the agent images (the setuid-root copy only when root) and
    /// makes this process the subreaper of the agents it will start.
    /// `lock` is held (shared) for as long as the runner lives; take it
    /// before reading `machine`, so the mode cannot change in between.
    /// Inside a guest it also takes khugepaged's knobs (see `khugepaged`).
    pub fn new(agent: &Path, machine: Machine, timeout: Duration, lock: ModeLock) -> Result<Runner, String> {
        if !agent.is_file() {
            return Err(format!(
                "no agent binary at {}; build it with `cargo build --release -p mmflags-conformance`",
                agent.display()
            ));
        }
        let images = Images::install(agent, machine.root)?;
        sys::become_subreaper()
            .map_err(|e| format!("PR_SET_CHILD_SUBREAPER: {}", std::io::Error::from_raw_os_error(e)))?;
        let guest = machine.guest;
        let mut r = Runner {
            machine,
            images,
            never: reaped_pidfd()?,
            timeout,
            khugepaged: Driving::No(NOT_OWNED.into()),
            alone: RwLock::new(()),
            counters: Box::new(|| CounterFiles::system().read()),
            lock,
        };
        if guest {
            r.drive_khugepaged(Path::new(THP_DIR));
        }
        Ok(r)
    }

    /// Holds the THP mode exclusively, so this run may change it (and no
    /// other run relies on it meanwhile). Then the run also owns
    /// khugepaged's knobs: they are saved and khugepaged parked until the
    /// runner is dropped (see `khugepaged`); if that fails, `khugepaged()`
    /// steps are skipped with the reason, and the mode is still owned.
    pub fn own_the_mode(&mut self, patience: Duration, waiting: &dyn Fn(&str)) -> Result<(), String> {
        self.lock.exclusive(patience, waiting)?;
        self.drive_khugepaged(Path::new(THP_DIR));
        Ok(())
    }

    /// Takes khugepaged's knobs under `thp_dir` (normally `THP_DIR`; a
    /// stand-in in tests) unless already held: saves them, arms their
    /// restore and parks khugepaged. Only where the run may (it owns the
    /// mode, or runs in a guest): `own_the_mode` and `new` call it.
    pub fn drive_khugepaged(&mut self, thp_dir: &Path) {
        if matches!(self.khugepaged, Driving::Yes(..)) {
            return;
        }
        if !self.machine.root {
            let why = self.machine.unprivileged_because.as_deref().unwrap_or("");
            self.khugepaged =
                Driving::No(format!("khugepaged() needs root to write khugepaged's knobs; {why}"));
            return;
        }
        self.khugepaged = match Anchor::new().and_then(|a| Ok((Khugepaged::arm(thp_dir)?, a))) {
            Ok((k, a)) => Driving::Yes(Box::new(k), a),
            Err(e) => Driving::No(format!("khugepaged() cannot be driven here: {e}")),
        };
    }

    /// khugepaged's knobs as this run holds them (their original values,
    /// `by_hand()` to restore them after a SIGKILL, the steps' `stats()`),
    /// or why `khugepaged()` steps are not run here.
    pub fn khugepaged(&self) -> Result<&Khugepaged, &str> {
        match &self.khugepaged {
            Driving::Yes(k, _) => Ok(k),
            Driving::No(why) => Err(why),
        }
    }

    /// Reads the counters from a stand-in instead of the system's files
    /// (tests): `read` is called once before a trace's first step and once
    /// after each step.
    pub fn watch_counters_with(
        &mut self,
        read: impl Fn() -> Result<ThpCounters, String> + Send + Sync + 'static,
    ) {
        self.counters = Box::new(read);
    }

    /// Why this runner cannot run action `a` here, if it cannot.
    pub fn cannot_run(&self, a: &Action) -> Option<String> {
        if let Some(why) = cannot_run(&self.machine, a.pid, &a.call) {
            return Some(why);
        }
        match (&a.call, self.khugepaged()) {
            (Call::Khugepaged, Err(why)) => Some(why.to_string()),
            _ => None,
        }
    }

    /// The system to enumerate traces from on this machine: `sys` itself,
    /// or `sys` without `khugepaged()` where this run may not drive it (so
    /// the enumeration neither runs nor skips such steps), with a sentence
    /// saying what was left out and why.
    pub fn enumerable(&self, sys: &System) -> (System, Option<String>) {
        match self.khugepaged() {
            Err(why) if sys.alphabet.contains(&Call::Khugepaged) => {
                let alphabet = sys.alphabet.iter().copied().filter(|c| *c != Call::Khugepaged).collect();
                let s =
                    System::new(sys.semantics.clone(), sys.bounds.clone(), alphabet, sys.properties.clone());
                (s, Some(format!("khugepaged() left out of the enumeration: {why}")))
            }
            _ => (sys.clone(), None),
        }
    }

    /// A trace's turn: alone if it drives khugepaged. Where khugepaged is
    /// driven the anchor is registered first (again, if the mode was
    /// `never` when it was made), so no agent's registration wakes it.
    fn turn<'a>(&'a self, calls: impl IntoIterator<Item = &'a Call>) -> Result<Turn<'a>, HarnessError> {
        if let Driving::Yes(_, anchor) = &self.khugepaged {
            anchor.register().map_err(HarnessError::Broken)?;
        }
        let scans = self.khugepaged().is_ok() && calls.into_iter().any(|c| *c == Call::Khugepaged);
        Ok(if scans {
            Turn::Alone(self.alone.write().unwrap_or_else(|e| e.into_inner()))
        } else {
            Turn::Shared(self.alone.read().unwrap_or_else(|e| e.into_inner()))
        })
    }

    fn read_counters(&self) -> Result<ThpCounters, HarnessError> {
        (self.counters)().map_err(HarnessError::Broken)
    }

    /// `khugepaged()`: a full scan, or nothing where khugepaged does not
    /// run (mode `never`: it collapses no anonymous memory there, and its
    /// thread is stopped unless shmem THP keeps it).
    fn khugepaged_step(&self) -> Result<Ret, HarnessError> {
        let Driving::Yes(k, anchor) = &self.khugepaged else {
            return Err(HarnessError::BadStep(format!("khugepaged(): {}", NOT_OWNED)));
        };
        let thp = k.thp_dir();
        let mode = read_sysfs_mode(&thp).map_err(HarnessError::Broken)?;
        if mode == Sysfs::Never || khugepaged::thread_running(Path::new("/proc")) == Some(false) {
            k.idle();
            return Ok(Ret::Val(0));
        }
        anchor.register().map_err(HarnessError::Broken)?;
        k.full_scan().map_err(HarnessError::Broken)?;
        Ok(Ret::Val(0))
    }

    /// Runs step `a` on `tree` (or drives khugepaged).
    fn run_step(&self, tree: &mut Tree, a: &Action) -> Result<Ret, HarnessError> {
        if a.call == Call::Khugepaged {
            self.khugepaged_step()
        } else {
            tree.run(a.pid, &a.call)
        }
    }

    /// What `setresuid(user)` keeps: nothing, unless RLIMIT_MEMLOCK cannot
    /// be lifted here; then CAP_IPC_LOCK, because every memlock check in
    /// v6.18 (`can_do_mlock`, `mlockall`'s `total_vm` test,
    /// `mlock_future_ok`, `do_mlock`) is "within RLIMIT_MEMLOCK or
    /// capable(CAP_IPC_LOCK)", so it stands in exactly for the unlimited
    /// limit the model assumes. No other modelled check reads it: ptrace
    /// access compares permitted sets, which stay equal among user agents.
    pub fn user_keeps(&self) -> u64 {
        if self.machine.root && !self.machine.memlock_unlimited {
            1 << CAP_IPC_LOCK
        } else {
            0
        }
    }

    pub fn images(&self) -> &Images {
        &self.images
    }

    /// A fresh tree: P0 only.
    pub fn tree(&self, procs: usize, vmas: usize) -> Result<Tree<'_>, HarnessError> {
        Tree::spawn(
            &self.images,
            &self.never,
            TreeConfig {
                procs,
                vmas,
                timeout: self.timeout,
                memlock_limited: !self.machine.memlock_unlimited,
                user_keeps: self.user_keeps(),
            },
        )
    }

    /// Checks that the agents are what the model's P0 is and that the
    /// setuid-root image really gives euid 0 with AT_SECURE, before any
    /// trace relies on it.
    pub fn selftest(&self) -> Result<(), String> {
        let mut t = self.tree(2, 1).map_err(|e| e.to_string())?;
        let h = t.hello(0).expect("P0 is live");
        if self.machine.root && (h.uid != 0 || h.euid != 0) {
            return Err(format!("P0 runs as uid {} euid {}, not root", h.uid, h.euid));
        }
        // The model's P0 has neither KSM merge-any nor MDWE. Both survive
        // fork and exec, so a runner started with them (systemd's
        // MemoryKSM= or MemoryDenyWriteExecute=, which sets MDWE where the
        // kernel has it) hands them to every agent. (-EINVAL: the kernel
        // has no such prctl, as the model of 6.1 says.)
        let snap = t.snapshot(0).map_err(|e| e.to_string())?;
        let none = |r: i64| r == 0 || r == -(libc::EINVAL as i64);
        if !none(snap.memory_merge) || !none(snap.mdwe) {
            return Err(format!(
                "P0 starts with prctl(PR_GET_MEMORY_MERGE) = {} and prctl(PR_GET_MDWE) = {}, and the \
                 model's P0 has neither KSM merge-any nor MDWE: run this from a process without them \
                 (systemd's MemoryKSM=, MemoryDenyWriteExecute=?)",
                snap.memory_merge, snap.mdwe
            ));
        }
        if self.images.setuid_root.is_none() {
            return Ok(());
        }
        let step = |t: &mut Tree, c: Call| t.run(0, &c).map_err(|e| e.to_string());
        let want = |what: &str, got: Ret| match got {
            Ret::Val(0) => Ok(()),
            r => Err(format!("selftest: {what} = {r}")),
        };
        want("setresuid(user)", step(&mut t, Call::Setresuid)?)?;
        want("execve(setuid-root)", step(&mut t, Call::Execve(Image::SetuidRoot))?)?;
        let h = t.hello(0).expect("P0 is live");
        if h.euid != 0 || !h.at_secure || h.uid != crate::abi::USER_UID {
            return Err(format!(
                "the setuid-root agent image gave uid {} euid {} AT_SECURE={} (expected {}, 0, 1): \
                 is {} on a nosuid mount?",
                h.uid,
                h.euid,
                h.at_secure as u8,
                crate::abi::USER_UID,
                self.images.dir().display()
            ));
        }
        Ok(())
    }

    /// Runs `actions` from `init` on the model and on the kernel, comparing
    /// each step's result and every live process's observations.
    pub fn compare(&self, sys: &System, init: State, actions: &[Action]) -> TraceReport {
        let mut report = TraceReport { verdict: Verdict::Agreed, steps_run: 0, skipped: None };
        let _turn = match self.turn(actions.iter().map(|a| &a.call)) {
            Ok(t) => t,
            Err(err) => {
                report.verdict = Verdict::Error { step: 0, err };
                return report;
            }
        };
        let mut tree = match self.tree(sys.bounds.processes, sys.bounds.vmas) {
            Ok(t) => t,
            Err(err) => {
                report.verdict = Verdict::Error { step: 0, err };
                return report;
            }
        };
        let obs = observation_calls(sys.bounds.vmas);
        let mut state = init;
        let mut steps = Vec::with_capacity(actions.len());
        let mut before = match self.read_counters() {
            Ok(c) => c,
            Err(err) => {
                report.verdict = Verdict::Error { step: 0, err };
                return report;
            }
        };
        // khugepaged's count as the last `khugepaged()` step (or the
        // start) left it: see `Runner::litmus`.
        let mut quiet = before;
        for (i, a) in actions.iter().enumerate() {
            if let Some(why) = self.cannot_run(a) {
                report.skipped = Some((actions.len() - i, why));
                break;
            }
            let Ok((want, next)) = sys.step(&state, a) else {
                report.verdict = Verdict::Error {
                    step: i,
                    err: HarnessError::BadStep(format!("the model cannot take `{a}`")),
                };
                break;
            };
            steps.push(Step { action: *a, ret: Some(want) });
            let got = match self.run_step(&mut tree, a) {
                Ok(r) => r,
                Err(HarnessError::Limit(why)) => {
                    steps.pop();
                    report.skipped = Some((actions.len() - i, why));
                    break;
                }
                Err(err) => {
                    report.verdict = Verdict::Error { step: i, err };
                    break;
                }
            };
            report.steps_run += 1;
            state = next;
            let result = (got != want).then_some(Field { action: *a, model: want, kernel: got });
            let observations = if result.is_some() {
                Vec::new()
            } else {
                match observe(sys, &state, &tree, &obs) {
                    Ok(f) => f,
                    Err(err) => {
                        report.verdict = Verdict::Error { step: i, err };
                        break;
                    }
                }
            };
            let now = match self.read_counters() {
                Ok(c) => c,
                Err(err) => {
                    report.verdict = Verdict::Error { step: i, err };
                    break;
                }
            };
            let differs = result.is_some() || !observations.is_empty();
            let mut moved = now.failed_since(&before);
            if differs && a.call != Call::Khugepaged {
                moved.extend(now.collapsed_since(&quiet));
            }
            moved.extend(transient(&a.call, got, want));
            before = now;
            if a.call == Call::Khugepaged {
                quiet = now;
            }
            if !moved.is_empty() || differs {
                let seen = Mismatch { sysfs: init.sysfs, steps, result, observations };
                report.verdict = if moved.is_empty() {
                    Verdict::Mismatch(seen)
                } else {
                    Verdict::Inconclusive(Inconclusive { moved, seen })
                };
                break;
            }
        }
        report
    }

    /// Runs a written trace on the kernel (model capacity: every process
    /// and VMA name the language has), checking each written result.
    pub fn litmus(&self, trace: &Trace) -> LitmusReport {
        let mut rep =
            LitmusReport { steps: Vec::new(), failure: None, skipped: None, error: None, inconclusive: None };
        let first_line = trace.steps.first().map_or(0, |s| s.0);
        let _turn = match self.turn(trace.steps.iter().map(|(_, s)| &s.action.call)) {
            Ok(t) => t,
            Err(e) => {
                rep.error = Some((first_line, e));
                return rep;
            }
        };
        let mut tree = match self.tree(MAX_PROCS, MAX_VMAS) {
            Ok(t) => t,
            Err(e) => {
                rep.error = Some((first_line, e));
                return rep;
            }
        };
        let mut before = match self.read_counters() {
            Ok(c) => c,
            Err(e) => {
                rep.error = Some((first_line, e));
                return rep;
            }
        };
        // khugepaged's count as the last `khugepaged()` step (or the
        // start) left it. A collapse of its own may show only steps later
        // (a file need not read `pages` after every step, and the pass
        // that parking wakes may run into the next step), so a written
        // result that differs is inconclusive if khugepaged collapsed
        // anything since, not only during that step.
        let mut quiet = before;
        for (i, &(line, step)) in trace.steps.iter().enumerate() {
            let a = step.action;
            if let Some(why) = self.cannot_run(&a) {
                rep.skipped = Some((trace.steps.len() - i, format!("line {line}: {why}")));
                break;
            }
            let got = match self.run_step(&mut tree, &a) {
                Ok(r) => r,
                Err(HarnessError::Limit(why)) => {
                    rep.skipped = Some((trace.steps.len() - i, format!("line {line}: {why}")));
                    break;
                }
                Err(e) => {
                    rep.error = Some((line, e));
                    break;
                }
            };
            rep.steps.push((line, Step { action: a, ret: Some(got) }));
            let now = match self.read_counters() {
                Ok(c) => c,
                Err(e) => {
                    rep.error = Some((line, e));
                    break;
                }
            };
            let failed = step.ret.filter(|&e| e != got);
            let mut moved = now.failed_since(&before);
            if failed.is_some() && a.call != Call::Khugepaged {
                moved.extend(now.collapsed_since(&quiet));
            }
            moved.extend(failed.and_then(|e| transient(&a.call, got, e)));
            before = now;
            if a.call == Call::Khugepaged {
                quiet = now;
            }
            if !moved.is_empty() {
                rep.inconclusive = Some((line, moved));
                break;
            }
            if let Some(expected) = failed {
                rep.failure = Some((line, expected, got));
                break;
            }
        }
        rep
    }

    /// Compares many traces, `workers` at a time, in any order; the reports
    /// come back in the order of `traces`. `progress(done)` is called after
    /// each one; `stop` ends the run early (unrun traces get no report).
    pub fn compare_all(
        &self,
        sys: &System,
        init: State,
        traces: &[Vec<Action>],
        workers: usize,
        stop: &AtomicBool,
        progress: &(dyn Fn(usize, &TraceReport) + Sync),
    ) -> Vec<Option<TraceReport>> {
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let out: Mutex<Vec<Option<TraceReport>>> = Mutex::new(vec![None; traces.len()]);
        std::thread::scope(|s| {
            for _ in 0..workers.max(1) {
                s.spawn(|| loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(t) = traces.get(i) else { break };
                    let r = self.compare(sys, init, t);
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress(n, &r);
                    out.lock().expect("no poisoned lock")[i] = Some(r);
                });
            }
        });
        out.into_inner().expect("no poisoned lock")
    }
}

/// A collapse (MADV_COLLAPSE, by madvise or process_madvise) that returned
/// -EAGAIN where something else was expected: the kernel's "transient,
/// retry", which the model does not have.
fn transient(call: &Call, got: Ret, expected: Ret) -> Option<CounterMove> {
    let collapse = matches!(
        call,
        Call::Madvise(_, Advice::Collapse) | Call::ProcessMadvise { advice: Advice::Collapse, .. }
    );
    (collapse && got == Ret::Err(Errno::EAGAIN) && expected != got)
        .then_some(CounterMove { counter: COLLAPSE_EAGAIN, by: 1 })
}

/// Observes every live process on both sides and returns the differences.
/// The live sets agree whenever every `fork` and `exit` result agreed, so a
/// difference there is a harness error.
fn observe(sys: &System, state: &State, tree: &Tree, obs: &[Call]) -> Result<Vec<Field>, HarnessError> {
    let model_live: Vec<u8> = state.live().map(|(p, _)| p as u8).collect();
    let kernel_live: Vec<u8> = tree.live().collect();
    if model_live != kernel_live {
        return Err(HarnessError::Broken(format!(
            "the model has processes {model_live:?} alive, the kernel tree {kernel_live:?}"
        )));
    }
    let mut diffs = Vec::new();
    for &p in &model_live {
        let snap = tree.snapshot(p)?;
        for &call in obs {
            let a = Action { pid: p, call };
            let (model, _) = sys
                .step(state, &a)
                .map_err(|e| HarnessError::Broken(format!("model observation `{a}`: {e}")))?;
            let kernel = snap.answer(&call).ok_or_else(|| {
                HarnessError::Broken(format!("`{a}` returned an errno the trace language cannot name"))
            })?;
            if model != kernel {
                diffs.push(Field { action: a, model, kernel });
            }
        }
    }
    Ok(diffs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procfs::FAULT_FALLBACK;

    #[test]
    fn a_collapse_that_fails_transiently_is_not_the_models_business() {
        let collapse: Call = "P0 madvise(v0, MADV_COLLAPSE)".parse::<Action>().unwrap().call;
        let remote: Call = "P0 process_madvise(P1, [v0], MADV_COLLAPSE, 0)".parse::<Action>().unwrap().call;
        let other: Call = "P0 madvise(v0, MADV_HUGEPAGE)".parse::<Action>().unwrap().call;
        let eagain = Ret::Err(Errno::EAGAIN);
        assert_eq!(transient(&collapse, eagain, Ret::Val(0)).unwrap().counter, COLLAPSE_EAGAIN);
        assert!(transient(&remote, eagain, Ret::Val(4 << 20)).is_some());
        assert_eq!(transient(&collapse, eagain, eagain), None, "as expected: nothing to excuse");
        assert_eq!(transient(&collapse, Ret::Err(Errno::EINVAL), Ret::Val(0)), None);
        assert_eq!(transient(&other, eagain, Ret::Val(0)), None);
    }

    #[test]
    fn inconclusive_traces_are_counted_by_cause_and_never_pass() {
        let steps: Vec<Step> = ["P0 mmap() = v0", "P0 madvise(v0, MADV_COLLAPSE) = 0"]
            .iter()
            .map(|l| {
                let (a, r) = l.split_once(" = ").unwrap();
                Step {
                    action: a.parse().unwrap(),
                    ret: Some(if r == "v0" { Ret::Vma(0) } else { Ret::Val(0) }),
                }
            })
            .collect();
        let seen = Mismatch { sysfs: Sysfs::Madvise, steps, result: None, observations: Vec::new() };
        let moved = vec![
            CounterMove { counter: FAULT_FALLBACK, by: 2 },
            CounterMove { counter: COLLAPSE_EAGAIN, by: 1 },
        ];
        let i = Inconclusive { moved, seen };
        assert_eq!(
            i.why(),
            "thp_fault_fallback moved by 2, MADV_COLLAPSE returned -EAGAIN during step 2 \
             (`P0 madvise(v0, MADV_COLLAPSE)`): a huge page could not be allocated and a collapse \
             failed transiently, which the model assumes never happens"
        );
        let rep = |verdict| TraceReport { verdict, steps_run: 2, skipped: None };
        let reports =
            [rep(Verdict::Agreed), rep(Verdict::Inconclusive(i.clone())), rep(Verdict::Inconclusive(i))];
        let t = Tally::of(&reports);
        assert_eq!((t.traces, t.agreed, t.inconclusive, t.mismatches), (3, 1, 2, 0));
        assert_eq!(t.moved[FAULT_FALLBACK], (2, 4));
        assert_eq!(t.moved[COLLAPSE_EAGAIN], (2, 2));
        assert!(!t.passed());
        assert!(Tally::of(&reports[..1]).passed());
        assert!(!Tally::default().passed(), "nothing run is no pass");
    }
}
