//! The state picture (`svg::render`, `Model::as_svg`): it shows what the
//! state holds, highlights exactly what the last step changed, names the
//! violated properties, and stays one fixed-width column per process.

use mmflags_model::properties::{Kind, PropertyDef, CATALOGUE};
use mmflags_model::property::Prop;
use mmflags_model::state::Sysfs;
use mmflags_model::{alphabet, ghost::GhostMask, replay, svg, Bounds, Semantics, System, Trace, Walk};
use stateright::Model;

fn system(procs: usize, vmas: usize, props: Vec<&'static PropertyDef>) -> System {
    let sem = Semantics::mainline();
    let bounds = Bounds { processes: procs, vmas, sysfs: vec![Sysfs::Madvise], depth: None };
    let calls = alphabet::candidates(&sem, procs, vmas);
    System::new(sem, bounds, calls, props.into_iter().map(Prop::Catalogue).collect())
}

fn walk(sys: &System, text: &str) -> Walk {
    let t = Trace::parse(text).unwrap();
    let (init, steps, err) = replay::replay(sys, &t, Sysfs::Madvise);
    assert!(err.is_none(), "{err:?}");
    Walk { init, steps: steps.into_iter().map(|r| (r.step.action, r.step.ret.unwrap(), r.state)).collect() }
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

const SECURE: &str = "P0 setresuid(user)\nP0 prctl(PR_SET_THP_DISABLE, 1, 0)\nP0 execve(setuid-root)\n";

#[test]
fn the_secure_exec_counterexample_shows_the_violation_on_the_process() {
    let sys = system(3, 2, CATALOGUE.iter().collect());
    let out = svg::render(&sys, &walk(&sys, SECURE));
    assert!(out.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(out.contains("✘ violated: secure_exec_inherits_nothing"));
    // The card of P0 carries the blame and the red border.
    assert!(out.contains("✘ secure_exec_inherits_nothing"));
    assert_eq!(count(&out, "class=\"mmf-card-bad\""), 1);
    // The header is the step and its result; AT_SECURE is on; the mm keeps the prctl.
    assert!(out.contains(">P0 execve(setuid-root) = </text>"));
    assert!(out.contains("class=\"mmf-mono mmf-ct t-on\">AT_SECURE<"));
    assert!(out.contains(">DISABLE_THP_COMPLETELY<"));
    assert!(out.contains("thp_disable_origin{by-unpriv without-nnp kept-by-secure-exec}"));
    // Why: the setting, who made it and which exec kept it (wrapped).
    assert!(
        out.contains("why: breaks secure_exec_inherits_nothing: P0 mm-&gt;flags DISABLE_THP_COMPLETELY,"),
        "{out}"
    );
    assert!(out.contains("kept by the setuid exec at step 3"));
    // The text diff of the step is there, escaped.
    assert!(out.contains("P0 AT_SECURE: false -&gt; true"));
    assert_eq!(count(&out, "<g>"), count(&out, "</g>"));
}

#[test]
fn before_the_exec_nothing_is_violated() {
    let sys = system(3, 2, CATALOGUE.iter().collect());
    let two: String = SECURE.lines().take(2).map(|l| format!("{l}\n")).collect();
    let out = svg::render(&sys, &walk(&sys, &two));
    assert!(!out.contains("violated"));
    assert!(out.contains("✔ 16 invariants hold here"));
}

#[test]
fn only_what_the_step_changed_is_highlighted() {
    let sys = system(2, 3, CATALOGUE.iter().collect());
    let out = svg::render(&sys, &walk(&sys, "P0 mmap()\nP0 mmap()\nP0 madvise(v1, MADV_HUGEPAGE)\n"));
    // One band for the v1 row, one in the legend; one ring, on v1's hg chip.
    // (MADV_HUGEPAGE on a VMA never faulted in registers nothing with
    // khugepaged: mm->flags is unchanged.)
    assert_eq!(count(&out, "class=\"mmf-chg\""), 2);
    assert_eq!(count(&out, "class=\"mmf-ring\""), 1);
    assert!(out.contains("P0 v1: [] -&gt; [hg]"));
    // Under sysfs madvise, the advised VMA is THP-eligible and the other is not.
    assert!(out.contains("<title>v1=[hg] THPeligible=1</title>"));
    assert!(out.contains("<title>v0=[] THPeligible=0</title>"));
    assert!(out.contains("<title>v2=unmapped</title>"));
}

#[test]
fn parents_come_from_fork_steps_and_exits_leave_a_dashed_column() {
    let sys = system(4, 3, CATALOGUE.iter().collect());
    let w = walk(&sys, "P0 fork()\nP1 fork()\nP2 fork()\nP1 exit()\n");
    assert_eq!(svg::parents(&w), [None, Some(0), Some(1), Some(2)]);
    let out = svg::render(&sys, &w);
    assert!(out.contains(">initial process<"));
    assert!(out.contains(">forked by P1<"));
    assert!(out.contains(">forked by P2<"));
    assert!(out.contains(">exited in this step<"));
}

#[test]
fn four_processes_with_three_vmas_stay_one_legible_row_of_columns() {
    let sys = system(4, 3, CATALOGUE.iter().collect());
    let w = walk(
        &sys,
        "P0 mmap()\nP0 mmap()\nP0 mmap()\nP0 madvise(v0, MADV_HUGEPAGE)\nP0 fork()\nP1 fork()\nP2 fork()\n\
         P3 prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED)\n",
    );
    let out = svg::render(&sys, &w);
    let width: i32 = out.split("width=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
    assert!((1000..=1200).contains(&width), "width {width}");
    for p in 0..4 {
        assert!(out.contains(&format!(">P{p}</text>")));
    }
    // 4 processes × 3 slots, each with its own tooltip row.
    assert_eq!(count(&out, "<title>v0=[hg] THPeligible="), 4);
    assert_eq!(count(&out, "<title>v2=[] THPeligible=0</title>"), 4);
    // P3's EXCEPT_ADVISED leaves its advised VMA eligible.
    assert_eq!(count(&out, "<title>v0=[hg] THPeligible=1</title>"), 4);
}

fn any_mapped(_: &System, s: &mmflags_model::State) -> bool {
    s.live().any(|(_, p)| p.mm.vmas.iter().any(|v| v.is_mapped()))
}

static ANY_MAPPED: PropertyDef = PropertyDef {
    name: "something_is_mapped",
    kind: Kind::Sometimes,
    subject: mmflags_model::properties::Subject::Flags,
    meaning: "a test goal: some process has a mapped VMA",
    good: "maps something",
    bad: "maps nothing",
    ghosts: GhostMask::NONE,
    condition: any_mapped,
    per_process: true,
};

#[test]
fn a_witnessed_goal_is_blue_and_an_unmet_one_is_counted() {
    let sys = system(2, 1, vec![&ANY_MAPPED]);
    let init = svg::render(&sys, &walk(&sys, ""));
    assert!(init.contains("○ 1 reachability goal not met here"));
    assert!(init.contains(">initial state<"));
    let out = svg::render(&sys, &walk(&sys, "P0 mmap()\n"));
    assert!(out.contains("◆ witnessed: something_is_mapped"));
    assert!(out.contains("class=\"c-wit\""));
}

#[test]
fn as_svg_draws_the_last_state_of_a_stateright_path() {
    let sys = system(3, 2, CATALOGUE.iter().collect());
    let w = walk(&sys, SECURE);
    let actions: Vec<_> = w.steps.iter().map(|s| s.0).collect();
    let path = stateright::Path::from_actions(&sys, w.init, actions.iter()).unwrap();
    assert_eq!(sys.as_svg(path), Some(svg::render(&sys, &w)));
}

#[test]
fn format_step_shows_the_result_and_the_change() {
    let sys = system(2, 2, CATALOGUE.iter().collect());
    let w = walk(&sys, "P0 mmap()\n");
    let a = Trace::parse("P0 madvise(v0..v1, MADV_HUGEPAGE)\n").unwrap().steps[0].1.action;
    let text = sys.format_step(&w.steps[0].2, a).unwrap();
    assert!(text.starts_with("P0 madvise(v0..v1, MADV_HUGEPAGE) = -ENOMEM\n"), "{text}");
    assert!(text.contains("changed:\n  P0 v0: [] -> [hg]\n"), "{text}");
    assert!(text.contains("state:\n  sysfs=madvise\n  P0: root plain"), "{text}");
}
