//! Why a trace breaks a property (or reaches a goal): which part of its
//! last state does it — a setting, a VMA's flags, a def_flags bit — and
//! where that part came from (`provenance.rs`). A catalogue property names
//! its culprit with a function written beside its meaning (`CULPRITS`); a
//! property a spec defines is explained by the choices of its quantifiers
//! and the tests that decided it (`predicate::explain`).
//!
//! The text is the last line of every printed counterexample:
//! `breaks secure_exec_inherits_nothing: P0 mm->flags DISABLE_THP_COMPLETELY, set at step 2 by P0 as user without NNP, kept by the setuid exec at step 3`.

use crate::flags::{MmfFlags, VmFlags};
use crate::ghost::{Ghost, Origin, Setting, VmaGhost};
use crate::model::Walk;
use crate::predicate::explain::{self, Binding};
use crate::properties::Kind;
use crate::property::Prop;
use crate::provenance::{Bit, Event, History};
use crate::setting;
use crate::state::{Process, State, Sysfs};
use crate::thp;
use crate::System;

/// What in one process breaks a property (or reaches a goal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Culprit {
    pub pid: usize,
    /// In the words of a trace: `P0 mm->flags DISABLE_THP_COMPLETELY`,
    /// `P1 v0 [hg nh]`, `P0 v1 [hg] THP-eligible under sysfs never`.
    pub what: String,
    /// The bits whose history explains it, each with its process.
    pub bits: Vec<(usize, Bit)>,
    /// `what` names its one bit already, so its story needs no name.
    pub named: bool,
}

/// A violated property's (or reached goal's) cause, for a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    pub property: String,
    pub kind: Kind,
    /// The step whose state breaks it (1-based; 0: the initial state).
    pub step: usize,
    /// The process it names.
    pub pid: Option<usize>,
    /// `breaks NAME: ...` or `reaches NAME: ...`.
    pub text: String,
}

/// What in a process breaks a property: its description, the bits whose
/// stories explain it, and whether the description names its one bit.
type Found = (String, Vec<Bit>, bool);
type Find = fn(&System, &State, &Process) -> Option<Found>;

fn mapped(p: &Process) -> impl Iterator<Item = (usize, VmFlags, VmaGhost)> + '_ {
    p.mm.vmas.iter().enumerate().filter_map(|(i, v)| v.flags.map(|f| (i, f, v.ghost)))
}

/// The bits of `set` as one `Bit` each.
fn vma_bits(v: usize, set: VmFlags) -> Vec<Bit> {
    VmFlags::NAMES.iter().filter(|(f, _, _)| set.contains(*f)).map(|(f, _, _)| Bit::VmaFlag(v, *f)).collect()
}

fn def_bits(set: VmFlags) -> Vec<Bit> {
    VmFlags::NAMES.iter().filter(|(f, _, _)| set.contains(*f)).map(|(f, _, _)| Bit::DefFlag(*f)).collect()
}

/// The origins of the settings in force that can decide eligibility.
fn thp_settings(p: &Process) -> Vec<Bit> {
    Setting::THP
        .into_iter()
        .filter(|s| s.in_force(&p.mm) && *s != Setting::ThpDefault)
        .map(Bit::Origin)
        .collect()
}

fn setting_with(p: &Process, origin: Origin, raising: bool) -> Option<Found> {
    setting_of(p, &Setting::THP, origin, raising)
}

fn setting_of(p: &Process, of: &[Setting], origin: Origin, raising: bool) -> Option<Found> {
    let s = setting::with_origin(p, of, origin, raising).next()?;
    Some((s.describe(&p.mm), vec![Bit::Origin(s)], true))
}

fn eligible_vma(s: &State, p: &Process, under: &str) -> Option<Found> {
    let (v, f, _) = mapped(p).find(|(_, f, _)| thp::thp_eligible(s.sysfs, *f, p.mm.flags))?;
    let mut bits = vma_bits(v, f.intersection(VmFlags::THP_MASK));
    bits.extend(thp_settings(p));
    Some((format!("v{v} {f} THP-eligible {under}"), bits, false))
}

/// Each catalogue property's culprit in one process of a state that
/// breaks it (or, for `sometimes`, reaches it).
const CULPRITS: &[(&str, Find)] = &[
    ("thp_flags_exclusive", |_, _, p| {
        if p.mm.def_flags.contains(VmFlags::THP_MASK) {
            return Some((format!("def_flags {}", p.mm.def_flags), def_bits(VmFlags::THP_MASK), false));
        }
        let (v, f, _) = mapped(p).find(|(_, f, _)| f.contains(VmFlags::THP_MASK))?;
        Some((format!("v{v} {f}"), vma_bits(v, VmFlags::THP_MASK), false))
    }),
    ("unprivileged_exec_gains_nothing", |_, _, p| {
        setting_with(p, Origin(Origin::BY_UNPRIV.0 | Origin::KEPT_BY_SECURE_EXEC.0), true)
    }),
    ("secure_exec_inherits_nothing", |_, _, p| setting_with(p, Origin::ALL, false)),
    ("mlock_not_inherited", |_, _, p| {
        if p.ghost.contains(Ghost::CALLED_MLOCKALL) {
            return None;
        }
        let lock = VmFlags::VM_LOCKED_MASK;
        if p.mm.def_flags.intersects(lock) {
            let bits = def_bits(p.mm.def_flags.intersection(lock));
            return Some((format!("def_flags {}", p.mm.def_flags), bits, false));
        }
        let (v, f, _) = mapped(p).find(|(_, f, _)| f.intersects(lock))?;
        Some((format!("v{v} {f}"), vma_bits(v, f.intersection(lock)), false))
    }),
    ("disable_means_no_eligible_vma", |_, s, p| {
        if !p.mm.flags.contains(MmfFlags::MMF_DISABLE_THP_COMPLETELY) {
            return None;
        }
        eligible_vma(s, p, "under mm->flags DISABLE_THP_COMPLETELY")
    }),
    ("no_eligible_vma_under_never", |_, s, p| {
        if s.sysfs != Sysfs::Never {
            return None;
        }
        eligible_vma(s, p, "under sysfs never")
    }),
    ("prctl_only_reduces_eligibility", |_, s, p| {
        let without = p.mm.flags.difference(MmfFlags::PRCTL_THP);
        let (v, f, g) = mapped(p).find(|(_, f, g)| {
            let f_without =
                if g.contains(VmaGhost::RAISED_BY_PRCTL) { f.difference(VmFlags::VM_HUGEPAGE) } else { *f };
            thp::thp_eligible(s.sysfs, *f, p.mm.flags) && !thp::thp_eligible(s.sysfs, f_without, without)
        })?;
        let mut bits = Vec::new();
        if g.contains(VmaGhost::RAISED_BY_PRCTL) {
            bits.push(Bit::VmaFlag(v, VmFlags::VM_HUGEPAGE));
        }
        bits.extend(thp_settings(p));
        Some((format!("v{v} {f} THP-eligible only through a prctl"), bits, false))
    }),
    ("explicit_optout_kept", |_, _, p| {
        let (v, f, _) = mapped(p)
            .find(|(_, f, g)| g.contains(VmaGhost::OPTED_OUT) && !f.contains(VmFlags::VM_NOHUGEPAGE))?;
        let bits = vec![Bit::VmaFlag(v, VmFlags::VM_NOHUGEPAGE), Bit::VmaFlag(v, VmFlags::VM_HUGEPAGE)];
        Some((format!("v{v} {f}, opted out with MADV_NOHUGEPAGE by its own process"), bits, false))
    }),
    ("default_kept_as_promised", |_, _, p| {
        let missing = p.ghost.promised().difference(p.mm.def_flags);
        if missing.is_empty() {
            return None;
        }
        Some((
            format!("def_flags {} without the promised {}", p.mm.def_flags, missing),
            def_bits(missing),
            false,
        ))
    }),
    ("failed_call_changes_no_default", |_, _, p| {
        if !p.ghost.contains(Ghost::FAILED_CALL_CHANGED_DEFAULT) {
            return None;
        }
        let thp = VmFlags::THP_MASK;
        let what = format!("def_flags {} changed by a process_madvise that failed", p.mm.def_flags);
        Some((what, def_bits(thp), false))
    }),
    ("no_huge_pages_under_never", |_, s, p| {
        if s.sysfs != Sysfs::Never {
            return None;
        }
        let (v, f, _) = mapped(p).find(|(v, _, _)| p.mm.vmas[*v].pages.is_huge())?;
        Some((format!("v{v} {f} huge under sysfs never"), vec![Bit::Pages(v)], false))
    }),
    ("disable_means_no_new_huge_pages", |_, _, p| {
        if !p.ghost.contains(Ghost::HUGE_WHILE_DISABLED) {
            return None;
        }
        let bits = (0..p.mm.vmas.len()).filter(|v| p.mm.vmas[*v].pages.is_huge()).map(Bit::Pages).collect();
        Some(("made huge pages while THP was disabled completely".to_string(), bits, false))
    }),
    ("unmodified_program_gets_huge_pages", |_, s, p| {
        if s.sysfs != Sysfs::Madvise || !p.ghost.contains(Ghost::EXEC_FRESH) {
            return None;
        }
        let (v, f, _) = mapped(p)
            .find(|(v, _, g)| p.mm.vmas[*v].pages.is_huge() && g.contains(VmaGhost::HUGE_BY_OWN_FAULT))?;
        let mut bits = vec![Bit::Pages(v)];
        bits.extend(vma_bits(v, f.intersection(VmFlags::THP_MASK)));
        let what = format!(
            "v{v} {f} huge from its own fault, in an image started by exec that made no THP call since"
        );
        Some((what, bits, false))
    }),
    ("unmodified_program_gets_eligible_vma", |_, s, p| {
        if s.sysfs != Sysfs::Madvise || !p.ghost.contains(Ghost::EXEC_FRESH) {
            return None;
        }
        eligible_vma(s, p, "in an image started by exec that made no THP call since")
    }),
    ("secure_exec_keeps_no_ksm_merge_any", |_, _, p| setting_of(p, &[Setting::MergeAny], Origin::ALL, false)),
    ("secure_exec_keeps_no_mdwe", |_, _, p| setting_of(p, &[Setting::Mdwe], Origin::ALL, false)),
    ("mdwe_never_lifted", |_, _, p| {
        if !p.ghost.contains(Ghost::MDWE_INHERITED) || p.mm.flags.contains(MmfFlags::MMF_HAS_MDWE) {
            return None;
        }
        let what = format!("mm->flags {} without the MDWE set to be inherited", p.mm.flags);
        Some((what, vec![Bit::MmFlag(MmfFlags::MMF_HAS_MDWE)], false))
    }),
    ("no_policy_change_through_shared_mm", |_, _, p| {
        if !p.ghost.contains(Ghost::POLICY_BY_SHARER) {
            return None;
        }
        let (def, mmf) =
            (p.mm.def_flags.intersection(VmFlags::THP_MASK), p.mm.flags.intersection(MmfFlags::POLICIES));
        let what = format!("def_flags {def} mm->flags {mmf}, changed by another task sharing its mm");
        let mut bits: Vec<Bit> =
            MmfFlags::NAMES.iter().filter(|(f, _)| mmf.contains(*f)).map(|(f, _)| Bit::MmFlag(*f)).collect();
        bits.extend(def_bits(def));
        Some((what, bits, false))
    }),
    ("unmodified_program_gets_mergeable_vma", |_, _, p| {
        if !p.ghost.contains(Ghost::EXEC_FRESH) {
            return None;
        }
        let (v, f, _) = mapped(p).find(|(_, f, _)| f.contains(VmFlags::VM_MERGEABLE))?;
        let what = format!("v{v} {f} in an image started by exec that made no memory-policy call since");
        Some((what, vma_bits(v, VmFlags::VM_MERGEABLE), false))
    }),
];

/// The culprit of a catalogue property, or for anything else (a premise,
/// a property without a row) the first process that decides it alone.
fn culprit_of(sys: &System, prop: &Prop, s: &State) -> Option<Culprit> {
    let find = CULPRITS.iter().find(|(n, _)| *n == prop.name()).map(|(_, f)| *f);
    for (pid, p) in s.live() {
        if let Some(find) = find {
            if let Some((what, bits, named)) = find(sys, s, p) {
                let bits = bits.into_iter().map(|b| (pid, b)).collect();
                return Some(Culprit { pid, what: format!("P{pid} {what}"), bits, named });
            }
        } else {
            let mut alone = *s;
            for (i, slot) in alone.procs.iter_mut().enumerate() {
                if i != pid {
                    *slot = None;
                }
            }
            if prop.hit(sys, &alone) {
                return Some(Culprit { pid, what: format!("P{pid}"), bits: Vec::new(), named: true });
            }
        }
    }
    None
}

/// The culprit of a property a spec defines: the processes and VMAs its
/// quantifiers chose, and the fields of the tests that decided it.
fn culprit_of_predicate(text: &str, s: &State) -> Option<Culprit> {
    let w = explain::witness(text, s);
    let pid = w
        .bindings
        .first()
        .map(|(_, b)| b.pid())
        .or_else(|| w.reads.iter().find_map(|r| r.on.map(|b| b.pid())))?;
    let tests: Vec<&str> = w.reads.iter().map(|r| r.shown.as_str()).collect();
    let bits = w
        .reads
        .iter()
        .filter_map(|r| match (r.on, r.word) {
            (Some(b), Some(word)) => bit_of(b, r.field, word).map(|bit| (b.pid(), bit)),
            _ => None,
        })
        .collect();
    Some(Culprit { pid, what: tests.join(" and "), bits, named: false })
}

/// The bit a test of `field` against `word` reads, where it has a history.
fn bit_of(b: Binding, field: &str, word: &str) -> Option<Bit> {
    match (b, field) {
        (Binding::Proc(_), "def_flags") => VmFlags::from_name(word).map(Bit::DefFlag),
        (Binding::Proc(_), "mm_flags") => MmfFlags::from_name(word).map(Bit::MmFlag),
        (Binding::Vma(_, v), "flags") => VmFlags::from_name(word).map(|f| Bit::VmaFlag(v, f)),
        (Binding::Proc(_), f) => Setting::ALL.into_iter().find(|s| s.field() == f).map(Bit::Origin),
        _ => None,
    }
}

/// The cause of `prop` on `walk`, whose last state breaks it (`always`)
/// or reaches it (`sometimes`).
pub fn cause(sys: &System, prop: &Prop, walk: &Walk) -> Cause {
    let last = walk.steps.last().map_or(&walk.init, |(_, _, s)| s);
    let culprit = match prop.predicate() {
        Some(p) => culprit_of_predicate(p.text(), last),
        None => culprit_of(sys, prop, last),
    };
    let verb = match prop.kind() {
        Kind::Always => "breaks",
        Kind::Sometimes => "reaches",
    };
    let history = History::of(walk);
    let text = match &culprit {
        Some(c) => format!("{verb} {}: {}", prop.name(), tell(&history, c)),
        None => format!("{verb} {}", prop.name()),
    };
    Cause {
        property: prop.name().to_string(),
        kind: prop.kind(),
        step: walk.steps.len(),
        pid: culprit.map(|c| c.pid),
        text,
    }
}

/// `P0 what, story` for one bit, `P0 what: bit story; bit story` for more.
fn tell(h: &History, c: &Culprit) -> String {
    let stories: Vec<(String, String)> = c
        .bits
        .iter()
        .map(|&(pid, b)| {
            let name = if pid == c.pid { b.name() } else { format!("P{pid} {}", b.name()) };
            (name, story(h, pid, b))
        })
        .filter(|(_, s)| !s.is_empty())
        .collect();
    let head = &c.what;
    match stories.as_slice() {
        [] => head.clone(),
        [(_, s)] if c.named => format!("{head}, {s}"),
        many => {
            let parts: Vec<String> = many.iter().map(|(b, s)| format!("{b} {s}")).collect();
            format!("{head}: {}", parts.join("; "))
        }
    }
}

/// The story of a bit, and for a VMA flag an `mmap` took from the mm
/// (`def_flags`, or `MMF_VM_MERGE_ANY`), the story of that bit up to then.
pub fn story(h: &History, pid: usize, bit: Bit) -> String {
    let s = h.story(pid, bit);
    let from = h.events(pid, bit).iter().rev().find_map(|e| match e {
        Event::Set { step, from: Some(src), .. } => Some((*step, *src)),
        _ => None,
    });
    let Some((step, src)) = from else { return s };
    let d = h.story_before(pid, src, step);
    if d.is_empty() {
        return s;
    }
    match src {
        Bit::DefFlag(f) => format!("{s} (def_flags {}: {d})", f.kernel_names()),
        _ => format!("{s} (MMF_VM_MERGE_ANY: {d})"),
    }
}
