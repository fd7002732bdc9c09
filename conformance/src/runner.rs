//! Running traces on the kernel and comparing, step by step:
//! - `compare`: a model trace; after every step, the step's result and the
//!   observations of every live process (each VMA slot's `vmflags` and
//!   `thp_eligible`, `thp_enabled()`, `prctl(PR_GET_THP_DISABLE)`) must be
//!   what the model predicts;
//! - `litmus`: a written trace; every result written in the file must be
//!   what the kernel returns.
//!
//! Both stop at the first difference: after it the two states have parted
//! and later differences are noise. Steps the machine cannot make (root
//! steps when not root, a proposal's calls on a mainline kernel) end the
//! run there, and the rest is counted as skipped, never as passed.

use crate::calls::cannot_run;
use crate::kernel::{reaped_pidfd, HarnessError, Tree, TreeConfig};
use crate::machine::{Images, Machine};
use crate::mode_lock::ModeLock;
use crate::procfs::observation_calls;
use crate::sys;
use mmflags_model::action::{Action, Call, Ret, Step};
use mmflags_model::state::{Image, MAX_PROCS, MAX_VMAS};
use mmflags_model::{State, Sysfs, System, Trace};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
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

#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every step run agreed.
    Agreed,
    Mismatch(Mismatch),
    /// The harness failed at this step (0-based); the trace is unfinished.
    Error {
        step: usize,
        err: HarnessError,
    },
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
}

/// The runner: agent images, a reaped pidfd, the machine, the patience,
/// and its hold on the THP mode.
pub struct Runner {
    pub machine: Machine,
    images: Images,
    never: OwnedFd,
    pub timeout: Duration,
    lock: ModeLock,
}

impl Runner {
    /// Installs the agent images (the setuid-root copy only when root) and
    /// makes this process the subreaper of the agents it will start.
    /// `lock` is held (shared) for as long as the runner lives; take it
    /// before reading `machine`, so the mode cannot change in between.
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
        Ok(Runner { machine, images, never: reaped_pidfd()?, timeout, lock })
    }

    /// Holds the THP mode exclusively, so this run may change it (and no
    /// other run relies on it meanwhile).
    pub fn own_the_mode(&mut self, patience: Duration, waiting: &dyn Fn(&str)) -> Result<(), String> {
        self.lock.exclusive(patience, waiting)
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
        for (i, a) in actions.iter().enumerate() {
            if let Some(why) = cannot_run(&self.machine, a.pid, &a.call) {
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
            let got = match tree.run(a.pid, &a.call) {
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
            if result.is_some() || !observations.is_empty() {
                report.verdict =
                    Verdict::Mismatch(Mismatch { sysfs: init.sysfs, steps, result, observations });
                break;
            }
        }
        report
    }

    /// Runs a written trace on the kernel (model capacity: every process
    /// and VMA name the language has), checking each written result.
    pub fn litmus(&self, trace: &Trace) -> LitmusReport {
        let mut rep = LitmusReport { steps: Vec::new(), failure: None, skipped: None, error: None };
        let first_line = trace.steps.first().map_or(0, |s| s.0);
        let mut tree = match self.tree(MAX_PROCS, MAX_VMAS) {
            Ok(t) => t,
            Err(e) => {
                rep.error = Some((first_line, e));
                return rep;
            }
        };
        for (i, &(line, step)) in trace.steps.iter().enumerate() {
            let a = step.action;
            if let Some(why) = cannot_run(&self.machine, a.pid, &a.call) {
                rep.skipped = Some((trace.steps.len() - i, format!("line {line}: {why}")));
                break;
            }
            let got = match tree.run(a.pid, &a.call) {
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
            if let Some(expected) = step.ret.filter(|&e| e != got) {
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
            let kernel = snap.answer(&call).expect("an observation call");
            if model != kernel {
                diffs.push(Field { action: a, model, kernel });
            }
        }
    }
    Ok(diffs)
}
