//! `System`: the semantics, bounds and alphabet of one spec, with how one
//! step is taken, keyed and enumerated (`model_impl.rs` makes it a
//! `stateright::Model`).

use crate::action::{Action, Call, Item, Ret, Target};
use crate::alphabet;
use crate::flags::VmFlags;
use crate::ghost::{Ghost, GhostMask};
use crate::key::{canonical_key, Canon, Key, Projection};
use crate::property::{self, Prop, Reads};
use crate::semantics::Semantics;
use crate::state::Process;
use crate::state::{State, Sysfs, MAX_PROCS, MAX_VMAS};
use crate::symmetry::Symmetry;
use crate::syscalls::task::fork_parent;
use crate::syscalls::{
    apply, apply_to_caller, fork_child, pages, process_madvise_on, StepError, StepMode, Target2,
};

/// The question a spec asks: how many processes and VMAs, which sysfs
/// modes, and how deep (`None`: to the fixpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounds {
    pub processes: usize,
    pub vmas: usize,
    pub sysfs: Vec<Sysfs>,
    pub depth: Option<usize>,
}

impl Bounds {
    /// The model's full capacity, every sysfs mode, no depth: for replay.
    pub fn capacity() -> Bounds {
        Bounds { processes: MAX_PROCS, vmas: MAX_VMAS, sysfs: Sysfs::ALL.to_vec(), depth: None }
    }
}

/// A concrete run of the model: the initial state and each step with its
/// result and the state after it. Printed, it is a replayable trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Walk {
    pub init: State,
    pub steps: Vec<(Action, Ret, State)>,
}

impl Walk {
    /// The steps in the trace language, `P0 mmap() = v0`.
    pub fn lines(&self) -> Vec<String> {
        self.steps.iter().map(|(a, r, _)| format!("{a} = {r}")).collect()
    }
}

#[derive(Clone, Debug)]
pub struct System {
    pub semantics: Semantics,
    pub bounds: Bounds,
    /// The calls every live process may make (after `[actions]`).
    pub alphabet: Vec<Call>,
    pub properties: Vec<Prop>,
    /// What the checker must keep of a state to answer this spec's
    /// question: the ghosts its properties read, and the history fields only
    /// when something reads them.
    pub projection: Projection,
    /// What it must keep whatever the properties: what transitions read.
    pub base_projection: Projection,
    /// The renamings this alphabet permits (the checker may turn them off).
    pub symmetry: Symmetry,
}

impl System {
    pub fn new(semantics: Semantics, bounds: Bounds, alphabet: Vec<Call>, properties: Vec<Prop>) -> System {
        assert!(
            properties.len() <= property::MAX_PROPERTIES,
            "more properties than stateright's table holds"
        );
        let remote = alphabet.iter().any(|c| {
            matches!(
                c,
                Call::ProcessMadvise { target: Target::Pid(_), .. }
                    | Call::Mctl { target: Target::Pid(_), .. }
            )
        });
        // Pages are kept where a call reads them (a collapse, khugepaged)
        // or a property does; then so is what a fault reads: the sysfs
        // mode, VM_WIPEONFORK (a fork) and VM_LOCKONFAULT (an mmap).
        let vm_flags = VmFlags::ALL.difference(crate::key::UNREAD_VM_FLAGS);
        // VM_WRITE and VM_EXEC change only by a protection (an `mmap(PROT)`
        // or `mprotect`); without one VM_EXEC is never set and VM_WRITE is
        // on every VMA, read only by writes to pages (kept with the pages).
        let prot = alphabet.iter().any(|c| matches!(c, Call::MmapProt(_) | Call::Mprotect(..)));
        let vm_flags = if prot { vm_flags } else { vm_flags.difference(VmFlags::PROT) };
        let base = Projection {
            ghosts: GhostMask::NONE,
            image: false,
            dumpable: remote,
            sysfs: false,
            vm_flags,
            pages: false,
        };
        let base_projection = if alphabet::reads_pages(&alphabet) { base.with_pages() } else { base };
        let projection =
            properties.iter().fold(Reads::default(), |r, p| r.union(p.reads())).keep_in(base_projection);
        let symmetry = Symmetry {
            procs: alphabet::symmetric_procs(&alphabet, bounds.processes),
            vmas: alphabet::symmetric_vmas(&alphabet, bounds.vmas)
                && (!projection.pages || alphabet::vmas_independent(&alphabet)),
        };
        System { semantics, bounds, alphabet, properties, projection, base_projection, symmetry }
    }

    /// A system for replaying traces: full capacity, every property's ghosts,
    /// and every call of the language (the trace decides what happens).
    pub fn replayer(semantics: Semantics) -> System {
        let bounds = Bounds::capacity();
        let alphabet = alphabet::candidates(&semantics, bounds.processes, bounds.vmas);
        let props = crate::properties::CATALOGUE.iter().map(Prop::Catalogue).collect();
        System::new(semantics, bounds, alphabet, props)
    }

    fn capacity(&self) -> StepMode {
        StepMode { procs: self.bounds.processes.min(MAX_PROCS), vmas: self.bounds.vmas.min(MAX_VMAS) }
    }

    /// Runs one action: its result and the next state (ghosts normalised,
    /// not canonicalised).
    pub fn step(&self, s: &State, a: &Action) -> Result<(Ret, State), StepError> {
        let mut next = *s;
        let ret = self.step_in_place(&mut next, a)?;
        Ok((ret, next))
    }

    /// `step` on `s` itself (left half-done on an error). The checker's
    /// way: a state returned by value is copied out right after the
    /// syscall's byte-sized writes, a store-forwarding stall per successor.
    #[inline]
    pub fn step_in_place(&self, s: &mut State, a: &Action) -> Result<Ret, StepError> {
        let ret = apply(&self.semantics, self.capacity(), s, a.pid as usize, &a.call)?;
        self.normalize(s);
        Ok(ret)
    }

    /// Forgets the origin of a setting once it is not in force, so the
    /// provenance ghosts cannot split otherwise equal states.
    #[inline]
    fn normalize(&self, s: &mut State) {
        for p in s.procs.iter_mut().flatten() {
            normalize_process(p);
        }
        pages::unshare_lone(s);
    }

    /// `step_in_place` for a call of the caller alone (`Reach::Caller`),
    /// on the caller's process: the same semantics by construction (`apply`
    /// runs such a call through `apply_to_caller` too, and normalising is
    /// per process, a no-op on the processes of a state that was stepped
    /// before), so a checker may compute it once per distinct process and
    /// call. `sysfs` is the mode of the state the process is in.
    #[inline]
    pub fn step_caller(&self, p: &mut Process, sysfs: Sysfs, call: &Call) -> Result<Ret, StepError> {
        let ret = apply_to_caller(&self.semantics, self.capacity(), sysfs, p, call)?;
        normalize_process(p);
        Ok(ret)
    }

    /// `step_in_place` for a `process_madvise` by `me` naming another live
    /// process `target` (`Reach::Pair`): the same semantics by construction
    /// (`apply` runs it through `process_madvise_on` too).
    #[inline]
    pub fn step_pair(
        &self,
        sysfs: Sysfs,
        me: &mut Process,
        target: &mut Process,
        call: &Call,
    ) -> Option<Ret> {
        let Call::ProcessMadvise { iov, advice, flags, .. } = call else { return None };
        let ret =
            process_madvise_on(&self.semantics, sysfs, me, Target2::Other(target), *iov, *advice, *flags);
        normalize_process(me);
        normalize_process(target);
        Some(ret)
    }

    /// The child `fork()` puts in the lowest free slot (`Reach::Forks`),
    /// normalised as `step_in_place` leaves it.
    #[inline]
    pub fn fork_child(&self, parent: &Process) -> Process {
        let mut child = fork_child(&self.semantics, parent);
        normalize_process(&mut child);
        child
    }

    /// What `fork()` leaves of the parent (its pages shared with the child),
    /// normalised as `step_in_place` leaves it.
    #[inline]
    pub fn fork_parent(&self, parent: &Process) -> Process {
        let mut p = fork_parent(parent);
        normalize_process(&mut p);
        p
    }

    /// The part of normalising that reads more than one process: a huge
    /// page left with one mapper is that mapper's own
    /// (`pages::unshare_lone`). `step_in_place` does it; a checker
    /// that steps processes one at a time does it on the state it builds.
    #[inline]
    pub fn normalize_shared(&self, s: &mut State) {
        pages::unshare_lone(s);
    }

    /// The projection that keeps what `props` (the undecided properties) read.
    pub fn projection_for<'a>(&self, props: impl Iterator<Item = &'a Prop>) -> Projection {
        props.fold(Reads::default(), |r, p| r.union(p.reads())).keep_in(self.base_projection)
    }

    /// Cheap enabling conditions, so exploration does not try calls that
    /// cannot happen (no free slot) or that name nobody (a dead target).
    #[inline]
    pub fn enabled(&self, s: &State, pid: usize, call: &Call) -> bool {
        if *call == Call::Khugepaged {
            return pid == crate::action::KHUGEPAGED as usize && s.live().next().is_some();
        }
        let Some(p) = s.proc(pid) else { return false };
        if p.link.shared() && s.vfork_child_of(pid).is_some() {
            return false;
        }
        let live_other = |t: Target| match t {
            Target::SelfProc => true,
            Target::Pid(t) => t as usize != pid && s.proc(t as usize).is_some(),
        };
        match call {
            Call::Fork | Call::Vfork | Call::Clone(_) => s.free_pid(self.capacity().procs).is_some(),
            Call::ProcessMadvise { target, .. } | Call::Mctl { target, .. } => live_other(*target),
            _ => self.caller_may(p, call),
        }
    }

    /// The part of `enabled` that reads the caller only (all of it for the
    /// `Reach::Caller` calls and `exit`).
    #[inline]
    pub fn caller_may(&self, p: &Process, call: &Call) -> bool {
        let vmas = self.capacity().vmas;
        match call {
            Call::Mmap | Call::MmapProt(_) => p.mm.vmas[..vmas].iter().any(|v| !v.is_mapped()),
            Call::Munmap(r) => (0..vmas).any(|i| r.covers(i) && p.mm.vmas[i].is_mapped()),
            Call::Touch(Item::Vma(v)) => p.mm.vmas[*v as usize].is_mapped(),
            _ => true,
        }
    }

    /// Calls `f(action_id, action)` for every enabled action of `s`, in a
    /// fixed order; `action_id` indexes `alphabet` as `pid * len + i`.
    pub fn for_each_action(&self, s: &State, f: impl FnMut(usize, Action)) {
        self.for_each_action_but_twins(s, Symmetry::NONE, f)
    }

    /// `for_each_action`, less the actions of a process that has a twin: an
    /// identical process in a lower slot. When process slots are
    /// interchangeable, renaming the two maps every action of the one onto
    /// an action of the other (a target naming either swaps with it; `fork`
    /// takes the same free slot), so both reach the same representatives and
    /// the search need not try the second. Traces are rebuilt with
    /// `for_each_action`, so they name the slot the kernel would.
    pub fn for_each_action_but_twins(&self, s: &State, sym: Symmetry, mut f: impl FnMut(usize, Action)) {
        let n = self.alphabet.len();
        for (pid, p) in s.live() {
            if sym.procs && s.procs[..pid].iter().any(|q| q.as_ref() == Some(p)) {
                continue;
            }
            for (i, call) in self.alphabet.iter().enumerate() {
                if self.enabled(s, pid, call) {
                    f(pid * n + i, Action { pid: pid as u8, call: *call });
                }
            }
        }
        // The kernel's own work, once per state: numbered after every
        // process's calls.
        if let Some(i) = self.kernel_call() {
            if self.enabled(s, Action::KHUGEPAGED.pid as usize, &Call::Khugepaged) {
                f(MAX_PROCS * n + i, Action::KHUGEPAGED);
            }
        }
    }

    /// The alphabet's call no process makes (khugepaged's scan), if any.
    pub fn kernel_call(&self) -> Option<usize> {
        self.alphabet.iter().position(|c| *c == Call::Khugepaged)
    }

    /// The keying of states under `proj` and `sym` at this system's bounds.
    #[inline]
    pub fn canon(&self, proj: &Projection, sym: Symmetry) -> Canon {
        Canon::new(proj, sym, self.bounds.processes, self.bounds.vmas)
    }

    /// The key the checker stores for `s`.
    pub fn key(&self, s: &State, proj: &Projection, sym: Symmetry) -> Key {
        canonical_key(s, proj, sym, self.bounds.processes, self.bounds.vmas)
    }

    /// Rebuilds concrete, replayable steps from a chain of stored keys
    /// (`chain[d]` at depth `d`, stored under `projs[d]`): at each step, the
    /// first action in `actions` order whose successor has the next key.
    /// `sysfs` picks the initial state when the keys do not record the mode.
    pub fn concretize(
        &self,
        chain: &[Key],
        sym: Symmetry,
        projs: &[Projection],
        sysfs: Sysfs,
    ) -> Option<Walk> {
        let proj = |d: usize| projs.get(d).or(projs.last()).copied().unwrap_or(self.projection);
        let first = chain.first()?;
        let init = State::init(sysfs);
        if self.key(&init, &proj(0), sym) != *first {
            return None;
        }
        let mut cur = init;
        let mut steps = Vec::with_capacity(chain.len().saturating_sub(1));
        for (d, want) in chain.iter().enumerate().skip(1) {
            let mut found = None;
            self.for_each_action(&cur, |_, a| {
                if found.is_none() {
                    if let Ok((r, t)) = self.step(&cur, &a) {
                        if self.key(&t, &proj(d), sym) == *want {
                            found = Some((a, r, t));
                        }
                    }
                }
            });
            let (a, r, t) = found?;
            steps.push((a, r, t));
            cur = t;
        }
        Some(Walk { init, steps })
    }

    pub fn property(&self, name: &str) -> Option<&Prop> {
        self.properties.iter().find(|p| p.name() == name)
    }
}

/// Forgets the origin of a setting no longer in force, so the provenance
/// ghosts cannot split otherwise equal states.
#[inline]
fn normalize_process(p: &mut Process) {
    crate::setting::forget_absent(p);
    pages::normalize(p);
    if !p.mm.def_flags.contains(VmFlags::VM_HUGEPAGE) {
        p.ghost.set(Ghost::DEFAULT_HG_BY_PRCTL, false);
    }
}
