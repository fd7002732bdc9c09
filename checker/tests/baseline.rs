//! Baselines: every proposal's properties against linux-6.18 on the same
//! traces. The lockstep search (joint symmetry reduction, masks per THP
//! mode, pruning) is checked against a naive product of the two specs with
//! no reduction at all, its `new` traces are replayed on both specs, and
//! `fixed`, `same` and `inherited` are each produced where they must be.

mod small;

use mmflags_checker::engine::Options;
use mmflags_checker::report::json;
use mmflags_checker::run;
use mmflags_checker::run::lockstep::against;
use mmflags_checker::spec::{self, Spec};
use mmflags_checker::verdict::Relation;
use mmflags_model::property::Prop;
use mmflags_model::state::State;
use mmflags_model::symmetry::Symmetry;
use mmflags_model::{Semantics, System};
use std::collections::{HashSet, VecDeque};
use std::path::Path;

fn load(name: &str) -> Spec {
    spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../specs/{name}.toml"))).unwrap()
}

/// The proposals (every spec with a baseline), at bounds a naive product
/// can afford.
fn proposals_small() -> Vec<Spec> {
    small::every_spec()
        .into_iter()
        .filter(|s| s.baseline.is_some())
        .map(|s| small::catalogue_at(s, 2, 1, Some(4)))
        .collect()
}

fn base_system(spec: &System, base: &Semantics) -> System {
    System::new(base.clone(), spec.bounds.clone(), spec.alphabet.clone(), spec.properties.clone())
}

/// The length of the shortest trace on which `spec` breaks `p` and `base`
/// has not broken it at that step or before, over every mode; `None` if no
/// trace within the bounds does. Breadth-first over pairs of concrete
/// states, nothing renamed or projected away.
fn naive_first_new(spec: &System, base: &System, p: &Prop) -> Option<usize> {
    let mut best: Option<usize> = None;
    for &mode in &spec.bounds.sysfs {
        let init = State::init(mode);
        let mut seen: HashSet<(State, State)> = HashSet::new();
        let mut queue = VecDeque::from([(init, init, 0usize)]);
        seen.insert((init, init));
        while let Some((s, b, d)) = queue.pop_front() {
            if p.hit(base, &b) {
                continue;
            }
            if p.hit(spec, &s) {
                best = Some(best.map_or(d, |x| x.min(d)));
                break;
            }
            if spec.bounds.depth.is_some_and(|max| d >= max) {
                continue;
            }
            spec.for_each_action(&s, |_, a| {
                if let (Ok((_, ts)), Ok((_, tb))) = (spec.step(&s, &a), base.step(&b, &a)) {
                    if seen.insert((ts, tb)) {
                        queue.push_back((ts, tb, d + 1));
                    }
                }
            });
        }
    }
    best
}

/// Whether `base` breaks `p` in some state it reaches alone, any mode.
fn naive_breaks(base: &System, p: &Prop) -> bool {
    spec_reaches(base, |s| p.hit(base, s))
}

fn spec_reaches(sys: &System, hit: impl Fn(&State) -> bool) -> bool {
    for &mode in &sys.bounds.sysfs {
        let init = State::init(mode);
        let mut seen = HashSet::from([init]);
        let mut queue = VecDeque::from([(init, 0usize)]);
        while let Some((s, d)) = queue.pop_front() {
            if hit(&s) {
                return true;
            }
            if sys.bounds.depth.is_some_and(|max| d >= max) {
                continue;
            }
            sys.for_each_action(&s, |_, a| {
                if let Ok((_, t)) = sys.step(&s, &a) {
                    if seen.insert(t) {
                        queue.push_back((t, d + 1));
                    }
                }
            });
        }
    }
    false
}

#[test]
fn the_lockstep_search_agrees_with_a_naive_product_on_every_proposal() {
    let mut relations = HashSet::new();
    for s in proposals_small() {
        let sys = s.system();
        let base = &s.baseline.as_ref().unwrap().spec.semantics;
        let bsys = base_system(&sys, base);
        let props: Vec<Prop> = s.expect.iter().map(|(p, _)| p.clone()).collect();
        let bad: Vec<Option<bool>> =
            props.iter().map(|p| Some(spec_reaches(&sys, |st| p.hit(&sys, st)))).collect();
        for threads in [1, 2] {
            let l =
                against(&sys, &props, &bad, base, "linux-6.18", false, &Options::new(threads, sys.symmetry));
            assert!(l.complete, "{}", s.name);
            for ((p, b), a) in props.iter().zip(&bad).zip(&l.properties) {
                let what = format!("{} {} ({threads} threads)", s.name, p.name());
                let want = match b.unwrap() {
                    true => match naive_first_new(&sys, &bsys, p) {
                        Some(_) => Relation::New,
                        None => Relation::Inherited,
                    },
                    false if naive_breaks(&bsys, p) => Relation::Fixed,
                    false => Relation::Same,
                };
                assert_eq!(a.relation, Some(want), "{what}");
                relations.insert(want);
                if want == Relation::New {
                    let t = a.new_trace.as_ref().expect("a new trace");
                    assert_eq!(Some(t.steps.len()), naive_first_new(&sys, &bsys, p), "{what}: not shortest");
                    // On the spec the trace ends where the property breaks;
                    // on the baseline no state along it breaks it.
                    let last = t.steps.last().map_or(t.init, |x| x.2);
                    assert!(p.hit(&sys, &last), "{what}: the new trace does not break the spec");
                    let mut cur = t.init;
                    assert!(!p.hit(&bsys, &cur), "{what}");
                    for (act, _, _) in &t.steps {
                        cur = bsys.step(&cur, act).unwrap().1;
                        assert!(!p.hit(&bsys, &cur), "{what}: the baseline breaks it along the new trace");
                    }
                } else {
                    assert!(a.new_trace.is_none(), "{what}");
                }
            }
        }
    }
    assert!(relations.contains(&Relation::New) && relations.contains(&Relation::Same), "{relations:?}");
}

#[test]
fn a_spec_judged_against_itself_is_inherited_or_same_by_search_and_by_shortcut() {
    let s = small::catalogue_at(load("linux-6.18"), 2, 1, Some(4));
    let sys = s.system();
    let props: Vec<Prop> = s.expect.iter().map(|(p, _)| p.clone()).collect();
    let bad: Vec<Option<bool>> =
        props.iter().map(|p| Some(spec_reaches(&sys, |st| p.hit(&sys, st)))).collect();
    assert!(bad.contains(&Some(true)), "linux-6.18 breaks something at 2x1");
    let opt = Options::new(2, sys.symmetry);
    let searched = against(&sys, &props, &bad, &s.semantics, "linux-6.18", false, &opt);
    let shortcut = against(&sys, &props, &bad, &s.semantics, "linux-6.18", true, &opt);
    for ((p, b), (x, y)) in props.iter().zip(&bad).zip(searched.properties.iter().zip(&shortcut.properties)) {
        let want = if b.unwrap() { Relation::Inherited } else { Relation::Same };
        assert_eq!(x.relation, Some(want), "{}", p.name());
        assert_eq!(y.relation, Some(want), "{}", p.name());
    }
}

#[test]
fn mainline_against_a_proposal_is_fixed_where_the_proposal_breaks_what_mainline_keeps() {
    // Mainline on the proposal's calls (which it answers with -EINVAL),
    // judged against the proposal.
    let rfc = small::catalogue_at(load("rfc-set-fork-exec-default"), 2, 1, Some(4));
    let s = rfc.clone();
    let sys = base_system(&rfc.system(), &load("linux-6.18").semantics);
    let props: Vec<Prop> = s.expect.iter().map(|(p, _)| p.clone()).collect();
    let bad: Vec<Option<bool>> =
        props.iter().map(|p| Some(spec_reaches(&sys, |st| p.hit(&sys, st)))).collect();
    let l = against(&sys, &props, &bad, &rfc.semantics, "rfc", false, &Options::new(2, Symmetry::NONE));
    let rel = |name: &str| props.iter().position(|p| p.name() == name).and_then(|i| l.properties[i].relation);
    assert_eq!(rel("explicit_optout_kept"), Some(Relation::Fixed));
    assert_eq!(rel("thp_flags_exclusive"), Some(Relation::Same));
}

#[test]
fn the_json_says_against_baseline_for_every_property_and_new_trace_for_every_new() {
    let cfg = small::config(2, true, Default::default());
    let outcomes: Vec<_> = proposals_small().into_iter().map(|s| run::check_spec(s, &cfg)).collect();
    let v = json::summary(&outcomes);
    let mut news = 0;
    for spec in v["specs"].as_array().unwrap() {
        assert_eq!(spec["baseline"]["name"], "linux-6.18", "{}", spec["name"]);
        for p in spec["properties"].as_array().unwrap() {
            let r =
                p["against_baseline"].as_str().unwrap_or_else(|| panic!("{}: {}", spec["name"], p["name"]));
            assert!(["new", "inherited", "fixed", "same"].contains(&r), "{r}");
            assert_eq!(r == "new", p.get("new_trace").is_some(), "{} {}", spec["name"], p["name"]);
            news += (r == "new") as usize;
        }
    }
    assert!(news > 0);
}

#[test]
fn kernel_specs_have_no_baseline_and_proposals_default_to_mainline() {
    for s in small::every_spec() {
        match (s.kernels.is_empty(), &s.baseline) {
            (false, b) => assert!(b.is_none(), "{} claims kernels", s.name),
            (true, Some(b)) => assert_eq!((b.name.as_str(), b.named), ("linux-6.18", false), "{}", s.name),
            (true, None) => panic!("{} claims no kernel and has no baseline", s.name),
        }
    }
}

#[test]
fn an_expected_relation_that_is_not_found_fails_the_expectation() {
    let dir = std::env::temp_dir().join(format!("mmflags-baseline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["linux-6.18", "rfc-set-fork-exec-default"] {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../specs/{f}.toml")),
            dir.join(format!("{f}.toml")),
        )
        .unwrap();
    }
    let text = "[spec]\nname = \"x\"\nextends = \"rfc-set-fork-exec-default\"\n\n[bounds]\nprocesses = 2\nvmas = 1\nsysfs = [\"madvise\"]\ndepth = 4\n\n[expect]\nexplicit_optout_kept = \"violated, inherited\"\nthp_flags_exclusive = \"holds, same\"\n";
    std::fs::write(dir.join("x.toml"), text).unwrap();
    let s = spec::load(&dir.join("x.toml")).unwrap();
    let o = run::check_spec(s, &small::config(2, true, Default::default()));
    let p = |n: &str| o.properties.iter().find(|p| p.def.name() == n).unwrap();
    assert_eq!(p("explicit_optout_kept").relation(), Some(Relation::New));
    assert!(p("explicit_optout_kept").contradicts_expect());
    assert!(p("thp_flags_exclusive").as_expected());
    let _ = std::fs::remove_dir_all(&dir);
}
