//! Where each part of a trace's state came from: for every bit a cause can
//! name (a `def_flags` or `mm->flags` bit, a VMA flag, the origin of a
//! setting), the steps that set it, cleared it, copied it into a child or
//! carried it through an exec. Computed from a `Walk` after the search, so
//! the stored states carry none of it; the state's own origins
//! (`Ghost::origin`) say who, this says when and how.

use crate::action::{Call, Ret};
use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::Setting;
use crate::model::Walk;
use crate::state::{Cred, Process, State, MAX_PROCS, MAX_VMAS};
use std::collections::HashMap;

/// One bit of one process's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bit {
    DefFlag(VmFlags),
    MmFlag(MmfFlags),
    /// A flag of VMA slot `.0`.
    VmaFlag(usize, VmFlags),
    /// The origin of a setting: "set" each time a caller makes the
    /// setting anew, even to the value it had.
    Origin(Setting),
    /// Slot `.0` is backed by huge pages.
    Pages(usize),
}

impl Bit {
    /// Is it set in `p`?
    pub fn get(self, p: &Process) -> bool {
        match self {
            Bit::DefFlag(f) => p.mm.def_flags.contains(f),
            Bit::MmFlag(f) => p.mm.flags.contains(f),
            Bit::VmaFlag(v, f) => p.mm.vmas[v].flags.is_some_and(|x| x.contains(f)),
            Bit::Origin(s) => s.in_force(&p.mm),
            Bit::Pages(v) => p.mm.vmas[v].is_mapped() && p.mm.vmas[v].pages.is_huge(),
        }
    }

    /// Every bit of a process, in a fixed order.
    fn all() -> impl Iterator<Item = Bit> {
        let def = VmFlags::NAMES.into_iter().map(|(f, _, _)| Bit::DefFlag(f));
        let mmf = MmfFlags::NAMES.into_iter().map(|(f, _)| Bit::MmFlag(f));
        let vma =
            (0..MAX_VMAS).flat_map(|v| VmFlags::NAMES.into_iter().map(move |(f, _, _)| Bit::VmaFlag(v, f)));
        let origin = Setting::ALL.into_iter().map(Bit::Origin);
        let pages = (0..MAX_VMAS).map(Bit::Pages);
        def.chain(mmf).chain(vma).chain(origin).chain(pages)
    }

    /// `def_flags VM_HUGEPAGE`, `mm->flags DISABLE_THP_COMPLETELY`, `v0 VM_NOHUGEPAGE`.
    pub fn name(self) -> String {
        let vm = |f: VmFlags| f.kernel_names();
        match self {
            Bit::DefFlag(f) => format!("def_flags {}", vm(f)),
            Bit::MmFlag(f) => format!("mm->flags {}", f.to_string().trim_matches(|c| c == '{' || c == '}')),
            Bit::VmaFlag(v, f) => format!("v{v} {}", vm(f)),
            Bit::Origin(s) => s.name().to_string(),
            Bit::Pages(v) => format!("v{v} huge pages"),
        }
    }
}

/// Something a step did to a bit of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Step `step` (1-based) by `by`, with those credentials, set it
    /// (`from`: the mm's bit an `mmap` took it from, `def_flags`' own or
    /// `MMF_VM_MERGE_ANY` for `VM_MERGEABLE`).
    Set {
        step: usize,
        by: usize,
        cred: Cred,
        nnp: bool,
        from: Option<Bit>,
        call: Call,
    },
    Cleared {
        step: usize,
        by: usize,
    },
    /// A fork at `step` copied it from `from` into this process.
    Copied {
        step: usize,
        from: usize,
    },
    /// A fork at `step` made this process without it (its parent had it).
    DroppedByFork {
        step: usize,
        from: usize,
    },
    /// An exec at `step` kept it (`secure`: AT_SECURE).
    KeptByExec {
        step: usize,
        secure: bool,
    },
    DroppedByExec {
        step: usize,
        secure: bool,
    },
}

/// A step and who made it.
struct StepBy<'a> {
    step: usize,
    by: usize,
    caller: &'a Process,
    call: &'a Call,
}

/// The events of every bit of every process slot over a walk.
#[derive(Clone, Debug, Default)]
pub struct History {
    slots: [HashMap<Bit, Vec<Event>>; MAX_PROCS],
}

impl History {
    pub fn of(walk: &Walk) -> History {
        let mut h = History::default();
        let mut before = walk.init;
        for (i, (a, r, after)) in walk.steps.iter().enumerate() {
            h.step(i + 1, a.pid as usize, &a.call, r, &before, after);
            before = *after;
        }
        h
    }

    fn push(&mut self, pid: usize, bit: Bit, e: Event) {
        self.slots[pid].entry(bit).or_default().push(e);
    }

    fn step(&mut self, step: usize, by: usize, call: &Call, ret: &Ret, s: &State, t: &State) {
        // The kernel's own work (khugepaged) is done as root.
        let kernel = Process::INIT;
        let Some(caller) = s.proc(by).or((*call == Call::Khugepaged).then_some(&kernel)) else { return };
        match (call, ret) {
            (Call::Fork, Ret::Pid(child)) => {
                let child = *child as usize;
                self.slots[child] = self.slots[by].clone();
                let (Some(p), Some(c)) = (s.proc(by), t.proc(child)) else { return };
                for bit in Bit::all().filter(|b| b.get(p)) {
                    let e = if bit.get(c) {
                        Event::Copied { step, from: by }
                    } else {
                        Event::DroppedByFork { step, from: by }
                    };
                    self.push(child, bit, e);
                }
            }
            (Call::Execve(_), Ret::Val(_)) => {
                let Some(after) = t.proc(by) else { return };
                let secure = after.secure_exec;
                for bit in Bit::all().filter(|b| b.get(caller)) {
                    let e = if bit.get(after) {
                        Event::KeptByExec { step, secure }
                    } else {
                        Event::DroppedByExec { step, secure }
                    };
                    self.push(by, bit, e);
                }
            }
            _ => {
                for q in 0..MAX_PROCS {
                    match (s.proc(q), t.proc(q)) {
                        (_, None) => self.slots[q].clear(),
                        (None, Some(_)) => {}
                        (Some(x), Some(y)) => self.changes(&StepBy { step, by, caller, call }, x, y, q),
                    }
                }
            }
        }
    }

    /// What step `at` changed in process `q` (`x` before, `y` after).
    fn changes(&mut self, at: &StepBy, x: &Process, y: &Process, q: usize) {
        let StepBy { step, by, caller, call } = *at;
        for bit in Bit::all() {
            let (was, is) = (bit.get(x), bit.get(y));
            let remade = match bit {
                Bit::Origin(s) => is && x.ghost.origin(s) != y.ghost.origin(s),
                _ => false,
            };
            if is && (!was || remade) {
                let from = match (call, bit) {
                    (Call::Mmap | Call::MmapProt(_), Bit::VmaFlag(_, f)) if y.mm.def_flags.contains(f) => {
                        Some(Bit::DefFlag(f))
                    }
                    (Call::Mmap | Call::MmapProt(_), Bit::VmaFlag(_, VmFlags::VM_MERGEABLE)) => {
                        Some(Bit::MmFlag(MmfFlags::MMF_VM_MERGE_ANY))
                    }
                    _ => None,
                };
                let e =
                    Event::Set { step, by, cred: caller.cred, nnp: caller.no_new_privs, from, call: *call };
                self.push(q, bit, e);
            } else if was && !is {
                self.push(q, bit, Event::Cleared { step, by });
            }
        }
    }

    /// The events of `bit` of process `pid`.
    pub fn events(&self, pid: usize, bit: Bit) -> &[Event] {
        self.slots[pid].get(&bit).map_or(&[], |v| v.as_slice())
    }

    /// How `bit` of `pid` came to be as it is, from the last time it was
    /// set (or cleared): "set at step 2 by P0 as user without NNP, kept by
    /// the setuid exec at step 3". Empty when no step touched it (it was
    /// so in the initial state).
    pub fn story(&self, pid: usize, bit: Bit) -> String {
        tell_all(self.events(pid, bit), pid, bit)
    }

    /// `story` as it stood before step `step`.
    pub fn story_before(&self, pid: usize, bit: Bit, step: usize) -> String {
        let ev = self.events(pid, bit);
        let n = ev.iter().take_while(|e| e.step() < step).count();
        tell_all(&ev[..n], pid, bit)
    }
}

impl Event {
    pub fn step(self) -> usize {
        match self {
            Event::Set { step, .. }
            | Event::Cleared { step, .. }
            | Event::Copied { step, .. }
            | Event::DroppedByFork { step, .. }
            | Event::KeptByExec { step, .. }
            | Event::DroppedByExec { step, .. } => step,
        }
    }
}

/// The events from the last set or clear on, told in order.
fn tell_all(ev: &[Event], pid: usize, bit: Bit) -> String {
    let start = ev.iter().rposition(|e| matches!(e, Event::Set { .. } | Event::Cleared { .. })).unwrap_or(0);
    let parts: Vec<String> = ev[start..].iter().map(|e| tell(*e, pid, bit)).collect();
    parts.join(", ")
}

fn tell(e: Event, pid: usize, bit: Bit) -> String {
    let exec = |secure: bool| if secure { "the setuid exec" } else { "the exec" };
    let pages = matches!(bit, Bit::Pages(_));
    match e {
        // What backs memory is made by a call, whoever's credentials.
        Event::Set { step, call: Call::Khugepaged, .. } if pages => {
            format!("made at step {step} by khugepaged()")
        }
        Event::Set { step, by, call, .. } if pages => format!("made at step {step} by P{by} {call}"),
        Event::Set { step, by, cred, nnp, from, .. } => {
            let how = match from {
                Some(Bit::DefFlag(_)) => " from def_flags",
                Some(Bit::MmFlag(_)) => " from MMF_VM_MERGE_ANY",
                _ => "",
            };
            let nnp = if nnp { " with NNP" } else { " without NNP" };
            format!("set{how} at step {step} by P{by} as {cred}{nnp}")
        }
        Event::Cleared { step, by } if pages => format!("gone at step {step} (P{by})"),
        Event::Cleared { step, by } => format!("cleared at step {step} by P{by}"),
        Event::Copied { step, from } => format!("copied from P{from} to P{pid} by the fork at step {step}"),
        Event::DroppedByFork { step, from } => format!("not copied from P{from} by the fork at step {step}"),
        Event::KeptByExec { step, secure } => format!("kept by {} at step {step}", exec(secure)),
        Event::DroppedByExec { step, secure } => format!("dropped by {} at step {step}", exec(secure)),
    }
}
