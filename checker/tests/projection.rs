//! The projection is sound: what the checker does not store (the sysfs mode,
//! VM_WIPEONFORK, VM_LOCKONFAULT, the pages of every VMA and MMF_VM_HUGEPAGE
//! where no call or property reads pages, the running image and AT_SECURE,
//! MMF_DUMPABLE when no call reaches another process, and every ghost bit
//! and setting origin no checked property reads) is read by no
//! transition. For every state reachable in a few steps under every spec's
//! semantics, changing those fields changes no step's result and no stored
//! successor.

use mmflags_checker::spec;
use mmflags_model::flags::{MmfFlags, VmFlags};
use mmflags_model::ghost::{Ghost, VmaGhost};
use mmflags_model::state::{Image, Pages, State, Sysfs};
use mmflags_model::symmetry::Symmetry;
use mmflags_model::System;
use std::collections::HashSet;

/// The states reachable from the initial ones in at most `depth` steps.
fn reachable(sys: &System, depth: usize) -> Vec<State> {
    let mut seen: HashSet<State> = HashSet::new();
    let mut frontier: Vec<State> = stateright::Model::init_states(sys);
    seen.extend(frontier.iter().copied());
    for _ in 0..depth {
        let mut next = Vec::new();
        for s in &frontier {
            sys.for_each_action(s, |_, a| {
                if let Ok((_, t)) = sys.step(s, &a) {
                    if seen.insert(t) {
                        next.push(t);
                    }
                }
            });
        }
        frontier = next;
    }
    seen.into_iter().collect()
}

/// `s` with every field the projection drops changed.
fn perturbed(sys: &System, s: &State) -> State {
    let mut t = *s;
    if !sys.projection.sysfs {
        t.sysfs = match s.sysfs {
            Sysfs::Never => Sysfs::Always,
            Sysfs::Madvise => Sysfs::Never,
            Sysfs::Always => Sysfs::Madvise,
        };
    }
    for p in t.procs.iter_mut().flatten() {
        if !sys.projection.image {
            p.image = if p.image == Image::Plain { Image::SetuidRoot } else { Image::Plain };
            p.secure_exec = !p.secure_exec;
        }
        if !sys.projection.dumpable {
            p.mm.flags = MmfFlags(p.mm.flags.0 ^ MmfFlags::MMF_DUMPABLE.0);
        }
        if !sys.projection.pages {
            p.mm.flags = MmfFlags(p.mm.flags.0 ^ MmfFlags::MMF_VM_HUGEPAGE.0);
            for v in p.mm.vmas.iter_mut() {
                v.pages = match v.pages {
                    Pages::None => Pages::Huge,
                    Pages::Huge => Pages::SmallShared,
                    _ => Pages::None,
                };
            }
        }
        p.ghost = Ghost((p.ghost.0 ^ !sys.projection.ghosts.process.0) & ((1 << Ghost::BITS) - 1));
        for v in p.mm.vmas.iter_mut() {
            v.ghost = VmaGhost((v.ghost.0 ^ !sys.projection.ghosts.vma.0) & 7);
            if let Some(f) = v.flags {
                let dropped = VmFlags::ALL.difference(sys.projection.vm_flags);
                // The protection is dropped only where no call sets or reads it.
                let flip = VmFlags::VM_WIPEONFORK | VmFlags::VM_WRITE | VmFlags::VM_EXEC;
                let mut g = VmFlags(f.0 ^ (dropped.0 & flip.0));
                // VM_LOCKONFAULT only ever comes with VM_LOCKED.
                if g.contains(VmFlags::VM_LOCKED) {
                    g = VmFlags(g.0 ^ (dropped.0 & VmFlags::VM_LOCKONFAULT.0));
                }
                v.flags = Some(g);
            }
        }
    }
    t
}

#[test]
fn what_is_not_stored_is_read_by_no_transition() {
    let mut checked = 0;
    for file in spec::all_specs() {
        let mut whole = spec::load(&file).unwrap();
        whole.bounds.processes = 2;
        whole.bounds.vmas = 2;
        let v = whole.views();
        for spec in v.flags.into_iter().chain(v.pages).chain(v.policies) {
            let sys = spec.system();
            // Only the run of the page properties keeps pages, and then what a
            // fault reads.
            assert_eq!(sys.projection.pages, spec.view == spec::View::Pages, "{}", spec.name);
            assert_eq!(
                sys.projection.sysfs, sys.projection.pages,
                "{}: the sysfs mode is kept for pages only",
                spec.name
            );
            for s in reachable(&sys, 4) {
                let s2 = perturbed(&sys, &s);
                sys.for_each_action(&s, |_, a| {
                    let (Ok((r1, t1)), Ok((r2, t2))) = (sys.step(&s, &a), sys.step(&s2, &a)) else {
                        panic!(
                            "{}: {a} runs on one state and not the other: {:?} / {:?}\n{s:?}\n{s2:?}",
                            spec.name,
                            sys.step(&s, &a).err(),
                            sys.step(&s2, &a).err()
                        );
                    };
                    assert_eq!(r1, r2, "{}: {a} returned differently on\n{s:?}\nand\n{s2:?}", spec.name);
                    let (k1, k2) = (
                        sys.key(&t1, &sys.projection, Symmetry::NONE),
                        sys.key(&t2, &sys.projection, Symmetry::NONE),
                    );
                    assert_eq!(k1, k2, "{}: {a} led to different stored states from\n{s:?}", spec.name);
                    checked += 1;
                });
            }
        }
    }
    assert!(checked > 100_000, "only {checked} steps checked");
}
