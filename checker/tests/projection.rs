//! The projection is sound: what the checker does not store (the sysfs mode,
//! the running image and AT_SECURE, VM_WIPEONFORK and VM_LOCKONFAULT,
//! MMF_DUMPABLE when no call reaches another process, and every ghost bit
//! and setting origin no checked property reads) is read by no
//! transition. For every state reachable in a few steps under every spec's
//! semantics, changing those fields changes no step's result and no stored
//! successor.

use mmflags_checker::spec;
use mmflags_model::flags::{MmfFlags, VmFlags};
use mmflags_model::ghost::{Ghost, VmaGhost};
use mmflags_model::state::{Image, State, Sysfs};
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
    t.sysfs = match s.sysfs {
        Sysfs::Never => Sysfs::Always,
        Sysfs::Madvise => Sysfs::Never,
        Sysfs::Always => Sysfs::Madvise,
    };
    for p in t.procs.iter_mut().flatten() {
        if !sys.projection.image {
            p.image = if p.image == Image::Plain { Image::SetuidRoot } else { Image::Plain };
            p.secure_exec = !p.secure_exec;
        }
        if !sys.projection.dumpable {
            p.mm.flags = MmfFlags(p.mm.flags.0 ^ MmfFlags::MMF_DUMPABLE.0);
        }
        p.ghost = Ghost(p.ghost.0 ^ !sys.projection.ghosts.process.0);
        for v in p.mm.vmas.iter_mut() {
            v.ghost = VmaGhost((v.ghost.0 ^ !sys.projection.ghosts.vma.0) & 3);
            if let Some(f) = v.flags {
                let mut g = VmFlags(f.0 ^ VmFlags::VM_WIPEONFORK.0);
                // VM_LOCKONFAULT only ever comes with VM_LOCKED.
                if g.contains(VmFlags::VM_LOCKED) {
                    g = VmFlags(g.0 ^ VmFlags::VM_LOCKONFAULT.0);
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
        let mut spec = spec::load(&file).unwrap();
        spec.bounds.processes = 2;
        spec.bounds.vmas = 2;
        let sys = spec.system();
        assert!(!sys.projection.sysfs, "{}: the checker should not store the sysfs mode", spec.name);
        for s in reachable(&sys, 4) {
            let s2 = perturbed(&sys, &s);
            sys.for_each_action(&s, |_, a| {
                let (Ok((r1, t1)), Ok((r2, t2))) = (sys.step(&s, &a), sys.step(&s2, &a)) else {
                    panic!("{}: {a} runs on one state and not the other", spec.name);
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
    assert!(checked > 100_000, "only {checked} steps checked");
}
