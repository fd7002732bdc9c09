//! The engine against stateright's own checkers, symmetry on against off,
//! one thread against two, and pinned state counts (a change in the model's
//! size shows up here).

use mmflags_checker::engine::limits::Limits;
use mmflags_checker::engine::{explore, Options};
use mmflags_checker::spec;
use mmflags_checker::verdict::Verdict;
use mmflags_model::flags::VmFlags;
use mmflags_model::key::Projection;
use mmflags_model::properties::{Kind, CATALOGUE, PREMISES};
use mmflags_model::property::Prop;
use mmflags_model::symmetry::Symmetry;
use mmflags_model::{alphabet, Bounds, Semantics, Sysfs, System};
use stateright::{Checker, Model};
use std::path::Path;

fn mainline() -> Semantics {
    spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/linux-6.18.toml")).unwrap().semantics
}

/// The mainline model with the catalogue's properties of flags, settings
/// and eligibility at small bounds, without the calls about pages (a
/// spec's flag view); `calls` narrows the alphabet (empty: every call).
fn small(procs: usize, vmas: usize, sysfs: Vec<Sysfs>, depth: Option<usize>, calls: &[&str]) -> System {
    let sys = small_all(procs, vmas, sysfs, depth, calls);
    let alpha = sys
        .alphabet
        .iter()
        .copied()
        .filter(|c| !c.is_pages_view_call() && !c.is_policy_call() && !c.is_sharing_call())
        .collect();
    let props = CATALOGUE
        .iter()
        .map(Prop::Catalogue)
        .filter(|p| !p.reads_pages() && !p.reads_policies() && !p.reads_shared())
        .collect();
    System::new(sys.semantics, sys.bounds, alpha, props)
}

/// ... with every call but the KSM and MDWE ones (the protections stay)
/// and the catalogue but the policy properties (a spec's page view).
fn small_pages(procs: usize, vmas: usize, sysfs: Vec<Sysfs>, depth: Option<usize>, calls: &[&str]) -> System {
    let sys = small_all(procs, vmas, sysfs, depth, calls);
    let alpha = sys
        .alphabet
        .iter()
        .copied()
        .filter(|c| (!c.is_policy_call() || c.is_protection_call()) && !c.is_sharing_call())
        .collect();
    let props =
        CATALOGUE.iter().map(Prop::Catalogue).filter(|p| !p.reads_policies() && !p.reads_shared()).collect();
    System::new(sys.semantics, sys.bounds, alpha, props)
}

/// ... with the policy calls instead of the page calls, and the policy
/// properties (a spec's policies view).
fn small_policies(procs: usize, vmas: usize, depth: Option<usize>) -> System {
    let sys = small_all(procs, vmas, vec![Sysfs::Madvise], depth, &[]);
    let alpha = sys.alphabet.iter().copied().filter(|c| !c.is_page_call() && !c.is_sharing_call()).collect();
    let props = CATALOGUE.iter().map(Prop::Catalogue).filter(|p| p.reads_policies()).collect();
    System::new(sys.semantics, sys.bounds, alpha, props)
}

/// ... with the policy calls and vfork and clone, and the shared-mm
/// properties with their premises (a spec's shared-mm view), and the
/// policy properties (`mdwe_never_lifted` holds: stateright's checkers
/// stop once every property is decided, so one that never is keeps them
/// going to the bound).
fn small_shared(procs: usize, vmas: usize, depth: Option<usize>) -> System {
    let sys = small_all(procs, vmas, vec![Sysfs::Madvise], depth, &[]);
    let alpha = sys.alphabet.iter().copied().filter(|c| !c.is_page_call()).collect();
    let checked: Vec<Prop> =
        CATALOGUE.iter().map(Prop::Catalogue).filter(|p| p.reads_shared() || p.reads_policies()).collect();
    System::new(sys.semantics, sys.bounds, alpha, mmflags_model::property::with_premises(&checked))
}

/// ... with every call and the whole catalogue.
fn small_all(procs: usize, vmas: usize, sysfs: Vec<Sysfs>, depth: Option<usize>, calls: &[&str]) -> System {
    let sem = mainline();
    let calls: Vec<String> = calls.iter().map(|s| s.to_string()).collect();
    let alpha = alphabet::select(&alphabet::candidates(&sem, procs, vmas), &calls, &[]).0;
    System::new(
        sem,
        Bounds { processes: procs, vmas, sysfs, depth },
        alpha,
        CATALOGUE.iter().map(Prop::Catalogue).collect(),
    )
}

/// The THP calls plus remote process_madvise: small enough for stateright's
/// checkers at a fixpoint, rich enough to reach every ghost.
const THP_AND_REMOTE: &[&str] = &[
    "mmap",
    "munmap",
    "madvise(*, MADV_HUGEPAGE)",
    "madvise(*, MADV_NOHUGEPAGE)",
    "prctl(PR_SET_THP_DISABLE)",
    "prctl(PR_SET_NO_NEW_PRIVS)",
    "fork",
    "execve",
    "setresuid",
    "exit",
    "process_madvise(P*",
];

fn verdicts(sys: &System, sym: Symmetry, threads: usize) -> (usize, Vec<Verdict>) {
    let x = explore(sys, &Options::new(threads, sym));
    assert!(x.complete);
    let v = sys
        .properties
        .iter()
        .zip(&x.discoveries)
        .map(|(p, d)| Verdict::decide(p.kind(), d.is_some(), true))
        .collect();
    (x.unique(), v)
}

#[test]
fn unreduced_counts_equal_stateright_bfs() {
    for (p, v, calls) in [(1, 1, &[][..]), (1, 2, THP_AND_REMOTE), (2, 1, THP_AND_REMOTE)] {
        let mut sys = small(p, v, vec![Sysfs::Madvise], None, calls);
        sys.projection = Projection::ALL;
        let mut opt = Options::new(2, Symmetry::NONE);
        opt.narrow = false;
        let ours = explore(&sys, &opt);
        let theirs = sys.clone().checker().spawn_bfs().join();
        assert!(theirs.is_done());
        assert_eq!(ours.unique(), theirs.unique_state_count(), "{p}x{v}");
        assert_eq!(ours.generated as usize + sys.init_states().len(), theirs.state_count(), "{p}x{v}");
    }
}

/// Our search of `sys` to `depth`, without symmetry and with every field
/// stored, finds the states stateright's BFS finds and decides every
/// property the same way.
fn agrees_with_stateright_bfs(mut sys: System, depth: usize, at: &str) {
    sys.projection = Projection::ALL;
    let mut opt = Options::new(2, Symmetry::NONE);
    opt.narrow = false;
    let ours = explore(&sys, &opt);
    let theirs = sys.clone().checker().target_max_depth(depth + 1).spawn_bfs().join();
    assert_eq!(ours.unique(), theirs.unique_state_count(), "{at}");
    same_discoveries(&sys, &ours, depth, at);
}

/// Every property our search decides within `depth` steps, stateright's
/// BFS decides the same way. Its `target_max_depth` generates the states
/// at the target but checks no property on them, so it searches one level
/// deeper here: what it finds only there lies beyond `depth`.
fn same_discoveries(sys: &System, ours: &mmflags_checker::engine::Exploration, depth: usize, at: &str) {
    let theirs = sys.clone().checker().target_max_depth(depth + 2).spawn_bfs().join();
    for (prop, disc) in sys.properties.iter().zip(&ours.discoveries) {
        let found = theirs.discovery(prop.static_name()).map(|path| path.into_actions().len());
        match (disc.is_some(), found) {
            (true, Some(steps)) => assert!(steps <= depth, "{} at {at}: {steps} steps", prop.name()),
            (false, None) => {}
            (false, Some(steps)) => {
                assert!(steps > depth, "{} at {at}: missed in {steps} steps", prop.name())
            }
            (true, None) => panic!("{} at {at}: stateright's BFS does not find it", prop.name()),
        }
    }
}

/// With pages the engine takes other paths (a fork that shares pages, a
/// call that lets go of shared pages and khugepaged are stepped on the
/// whole state): the same states and successors as stateright's BFS of
/// the model, and the same verdicts.
#[test]
fn pages_agree_with_stateright_bfs() {
    for (p, v, d) in [(2, 1, Some(5)), (3, 1, Some(4))] {
        let sys = small_pages(p, v, vec![Sysfs::Madvise, Sysfs::Always], d, &[]);
        agrees_with_stateright_bfs(sys, d.unwrap(), &format!("{p}x{v}"));
    }
}

/// The policies view (KSM merge-any, MDWE, protections; no page calls,
/// `VM_WRITE`/`VM_EXEC`/`VM_MERGEABLE` stored): the same states and
/// verdicts as stateright's BFS, each policy property decided.
#[test]
fn policies_agree_with_stateright_bfs() {
    for (p, v, d) in [(2, 1, Some(4)), (1, 2, Some(5))] {
        let sys = small_policies(p, v, d);
        assert!(sys
            .projection
            .vm_flags
            .contains(VmFlags::VM_MERGEABLE | VmFlags::VM_EXEC | VmFlags::VM_WRITE));
        agrees_with_stateright_bfs(sys, d.unwrap(), &format!("{p}x{v}"));
    }
}

/// The shared-mm view (vfork, clone(CLONE_VM), threads, beside the
/// policy calls): tasks that share an mm are stepped on the whole state,
/// and no process slot is renamed. The same states and verdicts as
/// stateright's BFS of the model.
#[test]
fn shared_mm_agrees_with_stateright_bfs() {
    for (p, v, d) in [(2, 1, Some(4)), (3, 1, Some(3))] {
        let sys = small_shared(p, v, d);
        assert!(!sys.symmetry.procs, "slots that name each other are not renamed");
        assert!(sys.alphabet.contains(&mmflags_model::Call::Vfork));
        agrees_with_stateright_bfs(sys, d.unwrap(), &format!("{p}x{v}"));
    }
}

#[test]
fn verdicts_equal_stateright_bfs_and_dfs() {
    let sys = small(2, 1, vec![Sysfs::Madvise], None, THP_AND_REMOTE);
    let (_, ours) = verdicts(&sys, Symmetry::NONE, 2);
    let bfs = sys.clone().checker().spawn_bfs().join();
    let dfs = sys.clone().checker().spawn_dfs().join();
    for (p, v) in sys.properties.iter().zip(&ours) {
        for (name, c) in [
            ("bfs", bfs.discovery(p.static_name()).is_some()),
            ("dfs", dfs.discovery(p.static_name()).is_some()),
        ] {
            assert_eq!(Verdict::decide(p.kind(), c, true), *v, "{} by stateright {name}", p.name());
        }
    }
}

/// The soundness of evaluating a property per process form (the engine's
/// `check_properties`): for every property marked `per_process`, on every
/// state every spec reaches at 2x2 (depth 5, nothing projected away, each
/// sysfs mode), the state hits it exactly when one of its live processes,
/// alone in a state with that mode, does.
#[test]
fn per_process_properties_are_decided_per_process() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    let props: Vec<Prop> = CATALOGUE.iter().chain(PREMISES).map(Prop::Catalogue).collect();
    assert!(props.iter().all(|p| p.per_process()), "a property not per process: test it apart");
    let mut hits = vec![0usize; props.len()];
    for file in &files {
        let sem = spec::load(file).unwrap().semantics;
        let alpha = alphabet::select(&alphabet::candidates(&sem, 2, 2), &[], &[]).0;
        let bounds = Bounds { processes: 2, vmas: 2, sysfs: Sysfs::ALL.to_vec(), depth: Some(5) };
        let mut sys = System::new(sem, bounds, alpha, props.clone());
        sys.projection = Projection::ALL;
        let mut opt = Options::new(2, Symmetry::NONE);
        opt.narrow = false;
        let x = explore(&sys, &opt);
        assert!(x.complete && x.unique() > 1000, "{}", file.display());
        for key in x.keys() {
            let mut s = mmflags_model::key::unpack(&key);
            for m in Sysfs::ALL {
                s.sysfs = m;
                for (i, p) in props.iter().enumerate() {
                    let alone = s.live().any(|(_, q)| {
                        let mut one = mmflags_model::State { sysfs: m, procs: Default::default() };
                        one.procs[0] = Some(*q);
                        p.hit(&sys, &one)
                    });
                    assert_eq!(p.hit(&sys, &s), alone, "{} on {s:?} ({})", p.name(), file.display());
                    hits[i] += alone as usize;
                }
            }
        }
    }
    // Not vacuous: each property is hit somewhere (the `always` ones by a
    // variant that breaks them, or by their premises' states).
    let never: Vec<&str> = props.iter().zip(&hits).filter(|(_, &h)| h == 0).map(|(p, _)| p.name()).collect();
    println!("per-process check: never hit at these bounds: {never:?}");
}

#[test]
fn symmetry_keeps_verdicts_and_reduces() {
    for (p, v, d) in [(3, 1, Some(5)), (2, 2, Some(5))] {
        let sys = small(p, v, vec![Sysfs::Madvise, Sysfs::Always], d, &[]);
        assert!(sys.symmetry.procs && sys.symmetry.vmas);
        let (full, a) = verdicts(&sys, Symmetry::NONE, 2);
        let (reduced, b) = verdicts(&sys, sys.symmetry, 2);
        assert_eq!(a, b, "{p}x{v}");
        assert!(reduced < full);
        println!(
            "{p}x{v} depth {d:?}: {full} states without symmetry, {reduced} with: reduction {:.2}x",
            full as f64 / reduced as f64
        );
    }
}

/// With pages, processes stay interchangeable; a process's VMA slots no
/// longer do on their own (a fork ties slot `v` of the processes that
/// share its pages), and the checker knows it.
#[test]
fn symmetry_keeps_verdicts_with_pages() {
    let sys = small_pages(3, 2, vec![Sysfs::Madvise, Sysfs::Never], Some(4), &[]);
    assert!(sys.projection.pages && sys.symmetry.procs && !sys.symmetry.vmas);
    let (full, a) = verdicts(&sys, Symmetry::NONE, 2);
    let (reduced, b) = verdicts(&sys, sys.symmetry, 2);
    assert_eq!(a, b);
    assert!(reduced < full);
    // Under sysfs never, MADV_COLLAPSE still makes huge pages.
    let i = sys.properties.iter().position(|p| p.name() == "no_huge_pages_under_never").unwrap();
    assert_eq!(a[i], Verdict::Violated);
}

#[test]
fn results_do_not_depend_on_threads() {
    let sys = small(2, 2, vec![Sysfs::Madvise], Some(5), &[]);
    let one = explore(&sys, &Options::new(1, sys.symmetry));
    let two = explore(&sys, &Options::new(2, sys.symmetry));
    assert!(one.keys().eq(two.keys()));
    let last = one.unique() as u32 - 1;
    assert_eq!(one.chain(last), two.chain(last));
    assert_eq!(one.discoveries, two.discoveries);
    assert_eq!(one.coverage, two.coverage);
}

#[test]
fn a_truncated_run_never_holds() {
    let sys = small(2, 2, vec![Sysfs::Madvise], None, &[]);
    let mut opt = Options::new(2, sys.symmetry);
    opt.limits = Limits { max_states: Some(500), ..Limits::default() };
    let x = explore(&sys, &opt);
    assert!(!x.complete && x.stopped.is_some());
    for (p, d) in sys.properties.iter().zip(&x.discoveries) {
        let v = Verdict::decide(p.kind(), d.is_some(), x.complete);
        assert!(
            !matches!(v, Verdict::Holds | Verdict::Unreachable),
            "{} decided {v} on a truncated run",
            p.name()
        );
        if d.is_none() {
            assert_eq!(v, Verdict::Inconclusive);
        }
    }
    assert!(sys.properties.iter().any(|p| p.kind() == Kind::Always));
}

/// Pinned sizes: a change here is a change in the model; update it on purpose.
#[test]
fn pinned_state_counts() {
    let cases =
        [((1, 1, None), 191usize), ((2, 1, None), 14456), ((2, 2, Some(4)), 1678), ((3, 2, Some(3)), 360)];
    let mut got = Vec::new();
    for ((p, v, d), _) in cases {
        let calls = if d.is_none() { THP_AND_REMOTE } else { &[][..] };
        let sys = small(p, v, Sysfs::ALL.to_vec(), d, calls);
        got.push(explore(&sys, &Options::new(2, sys.symmetry)).unique());
    }
    assert_eq!(got, cases.iter().map(|c| c.1).collect::<Vec<_>>());
    // With pages (their calls and the protections, no KSM or MDWE calls).
    let pages = [((1, 1, Some(4)), 6503usize), ((2, 2, Some(4)), 32508)];
    let got: Vec<usize> = pages
        .iter()
        .map(|&((p, v, d), _)| {
            let sys = small_pages(p, v, Sysfs::ALL.to_vec(), d, &[]);
            explore(&sys, &Options::new(2, sys.symmetry)).unique()
        })
        .collect();
    assert_eq!(got, pages.iter().map(|c| c.1).collect::<Vec<_>>());
    // With the policies (their calls instead of the page calls).
    let policies = [((1, 1), 1738usize), ((2, 2), 7267)];
    let got: Vec<usize> = policies
        .iter()
        .map(|&((p, v), _)| {
            let sys = small_policies(p, v, Some(4));
            explore(&sys, &Options::new(2, sys.symmetry)).unique()
        })
        .collect();
    assert_eq!(got, policies.iter().map(|c| c.1).collect::<Vec<_>>());
    // With tasks that share an mm (vfork, clone; no renaming of process slots).
    let shared = [((2, 1), 1673usize), ((3, 1), 2346)];
    let got: Vec<usize> = shared
        .iter()
        .map(|&((p, v), _)| {
            let sys = small_shared(p, v, Some(3));
            explore(&sys, &Options::new(2, sys.symmetry)).unique()
        })
        .collect();
    assert_eq!(got, shared.iter().map(|c| c.1).collect::<Vec<_>>());
}
