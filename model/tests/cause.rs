//! Causes: a counterexample names the part of its last state that breaks
//! the property and where that part came from, and a property reads the
//! origin of the setting that is there, not who else touched the process.

use mmflags_model::cause::{cause, story};
use mmflags_model::flags::VmFlags;
use mmflags_model::properties::{by_name, CATALOGUE};
use mmflags_model::property::Prop;
use mmflags_model::provenance::{Bit, History};
use mmflags_model::state::Sysfs;
use mmflags_model::{alphabet, replay, Bounds, Semantics, System, Trace, Walk};
use std::sync::Arc;

fn system(sem: Semantics) -> System {
    let bounds = Bounds { processes: 3, vmas: 2, sysfs: vec![Sysfs::Madvise], depth: None };
    let calls = alphabet::candidates(&sem, 3, 2);
    System::new(sem, bounds, calls, CATALOGUE.iter().map(Prop::Catalogue).collect())
}

fn walk(sys: &System, text: &str) -> Walk {
    let t = Trace::parse(text).unwrap();
    let (init, steps, err) = replay::replay(sys, &t, Sysfs::Madvise);
    assert!(err.is_none(), "{err:?}");
    Walk { init, steps: steps.into_iter().map(|r| (r.step.action, r.step.ret.unwrap(), r.state)).collect() }
}

fn last(w: &Walk) -> &mmflags_model::State {
    w.steps.last().map_or(&w.init, |s| &s.2)
}

fn prop(name: &str) -> Prop {
    Prop::Catalogue(by_name(name).unwrap())
}

#[test]
fn the_secure_exec_counterexample_names_the_setting_its_setter_and_the_exec() {
    let sys = system(Semantics::mainline());
    let w = walk(&sys, "P0 setresuid(user)\nP0 prctl(PR_SET_THP_DISABLE, 1, 0)\nP0 execve(setuid-root)\n");
    let p = prop("secure_exec_inherits_nothing");
    assert!(p.hit(&sys, last(&w)));
    let c = cause(&sys, &p, &w);
    assert_eq!(
        c.text,
        "breaks secure_exec_inherits_nothing: P0 mm->flags DISABLE_THP_COMPLETELY, \
         set at step 2 by P0 as user without NNP, kept by the setuid exec at step 3"
    );
    assert_eq!((c.step, c.pid), (3, Some(0)));
}

/// Issue 22's false positive: root disables THP, drops to a user, the user
/// sets PR_SET_THP_ALWAYS (which exec drops), and a setuid exec keeps only
/// root's disable. Nothing an unprivileged process made survives.
#[test]
fn a_setting_root_made_is_not_tainted_by_another_the_user_made() {
    let sem = Semantics {
        variant: mmflags_model::variants::by_name("prctl-thp-always").unwrap(),
        ..Semantics::mainline()
    };
    let sys = system(sem);
    let w = walk(
        &sys,
        "P0 prctl(PR_SET_THP_DISABLE, 1, 0) = 0\nP0 setresuid(user) = 0\n\
         P0 prctl(78, 1) = 0\nP0 execve(setuid-root) = 0\n",
    );
    let s = last(&w);
    let p0 = s.proc(0).unwrap();
    assert_eq!(p0.mm.flags.to_string(), "{DISABLE_THP_COMPLETELY}");
    assert!(!prop("secure_exec_inherits_nothing").hit(&sys, s), "root's disable is not the user's setting");
    // The user re-making the disable makes it theirs.
    let w = walk(
        &sys,
        "P0 prctl(PR_SET_THP_DISABLE, 1, 0)\nP0 setresuid(user)\nP0 prctl(PR_SET_THP_DISABLE, 1, 0)\n\
         P0 execve(setuid-root)\n",
    );
    let c = cause(&sys, &prop("secure_exec_inherits_nothing"), &w);
    assert_eq!(
        c.text,
        "breaks secure_exec_inherits_nothing: P0 mm->flags DISABLE_THP_COMPLETELY, \
         set at step 3 by P0 as user without NNP, kept by the setuid exec at step 4"
    );
}

#[test]
fn a_story_follows_a_bit_through_mmap_fork_and_exec() {
    let sys = system(Semantics::mainline());
    let w = walk(
        &sys,
        "P0 mlockall(MCL_FUTURE)\nP0 mmap()\nP0 madvise(v0, MADV_HUGEPAGE)\nP0 fork()\nP1 execve(plain)\n",
    );
    let h = History::of(&w);
    assert_eq!(
        story(&h, 0, Bit::VmaFlag(0, VmFlags::VM_LOCKED)),
        "set from def_flags at step 2 by P0 as root without NNP \
         (def_flags VM_LOCKED: set at step 1 by P0 as root without NNP)"
    );
    assert_eq!(
        story(&h, 1, Bit::VmaFlag(0, VmFlags::VM_HUGEPAGE)),
        "set at step 3 by P0 as root without NNP, copied from P0 to P1 by the fork at step 4, \
         dropped by the exec at step 5"
    );
    assert_eq!(
        story(&h, 1, Bit::VmaFlag(0, VmFlags::VM_LOCKED)),
        "set from def_flags at step 2 by P0 as root without NNP, not copied from P0 by the fork at step 4 \
         (def_flags VM_LOCKED: set at step 1 by P0 as root without NNP)",
        "dup_mmap clears VM_LOCKED"
    );
    // A property kept names no culprit.
    assert_eq!(cause(&sys, &prop("thp_flags_exclusive"), &w).pid, None);
}

#[test]
fn a_user_property_is_explained_by_its_quantifiers_choices() {
    let spec = mmflags_model::predicate::Predicate::compile(
        "all p: not (p.mm_flags has MMF_DISABLE_THP_COMPLETELY and p.cred == setuid-root)",
    )
    .unwrap();
    let def = Arc::new(mmflags_model::property::SpecProperty {
        name: "no_disabled_setuid".into(),
        kind: mmflags_model::properties::Kind::Always,
        meaning: "a setuid program never runs with THP disabled".into(),
        predicate: spec,
        premise: None,
    });
    let sys = system(Semantics::mainline());
    let w = walk(
        &sys,
        "P0 setresuid(user)\nP0 prctl(PR_SET_THP_DISABLE, 1, 0)\nP0 fork()\nP1 execve(setuid-root)\n",
    );
    let c = cause(&sys, &Prop::Spec(def), &w);
    assert_eq!(
        c.text,
        "breaks no_disabled_setuid: P1.mm_flags has MMF_DISABLE_THP_COMPLETELY and P1.cred == setuid-root: \
         mm->flags DISABLE_THP_COMPLETELY set at step 2 by P0 as user without NNP, copied from P0 to P1 by the fork \
         at step 3, kept by the setuid exec at step 4"
    );
}
