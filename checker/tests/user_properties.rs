//! Properties a spec defines (`[properties]`) are checked exactly like the
//! catalogue's. The catalogue rewritten in the language
//! (`tests/props/catalogue.toml`) gets the same verdicts and the same
//! shortest traces as the compiled catalogue on every spec of `specs/`; a
//! spec with its own properties (`tests/props/reviewer.toml`) goes through
//! `check`, `check --json`, `check trace`, the reports and the explorer;
//! `extends` inherits properties key by key; stateright's own checkers see
//! them too.

mod common;
mod small;

use common::{check, scratch, steps_link, Explorer};
use mmflags_checker::engine::{explore, Options};
use mmflags_checker::run::SpecOutcome;
use mmflags_checker::spec::{self, Spec};
use mmflags_checker::verdict::Verdict;
use mmflags_checker::{http, report};
use mmflags_model::properties::{Kind, CATALOGUE};
use mmflags_model::property::Prop;
use stateright::{Checker, Model};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn props_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/props")
}

/// Each rewrite with a premise, and the catalogue premise it rewrites.
const PREMISES: &[(&str, &str)] = &[
    ("user_unprivileged_exec_gains_nothing", "secure_exec_by_user"),
    ("user_mlock_not_inherited", "mlock_in_use"),
    ("user_disable_means_no_eligible_vma", "thp_disabled_with_vma"),
    ("user_no_eligible_vma_under_never", "sysfs_never_with_vma"),
    ("user_explicit_optout_kept", "vma_opted_out"),
    ("user_default_kept_as_promised", "default_promised"),
    ("user_failed_call_changes_no_default", "thp_default_set"),
];

/// `tests/props/catalogue.toml` on top of `base` (a spec of `specs/`),
/// asking the whole catalogue and every rewrite (placeholder verdicts:
/// runs are compared with each other, not with `[expect]`).
fn catalogue_on(base: &Spec, depth: Option<usize>) -> Spec {
    let text = std::fs::read_to_string(props_dir().join("catalogue.toml")).unwrap();
    let text = text.replace("extends = \"linux-6.18\"", &format!("extends = \"{}\"", base.name));
    let mut s = spec::load_bytes(&spec::specs_dir().join("catalogue.toml"), text.as_bytes())
        .unwrap_or_else(|e| panic!("on {}: {e}", base.name));
    s.bounds.depth = depth;
    let placeholder = |k: Kind| if k == Kind::Always { Verdict::Holds } else { Verdict::Reachable };
    s.expect = CATALOGUE.iter().map(|p| (Prop::Catalogue(p), placeholder(p.kind))).collect();
    s.expect.extend(s.properties.iter().map(|p| (Prop::Spec(p.clone()), placeholder(p.kind))));
    s
}

/// Compares every rewrite with its catalogue property; returns how many
/// traces were compared.
fn same_answers(o: &SpecOutcome) -> usize {
    let mut traces = 0;
    let get = |name: &str| o.properties.iter().find(|p| p.def.name() == name).unwrap();
    // The rewrites (a base may define properties of its own, inherited too).
    let user: Vec<_> =
        o.properties.iter().filter(|p| !p.def.is_catalogue() && p.def.name().starts_with("user_")).collect();
    let names: Vec<&str> = user.iter().map(|p| p.def.name()).collect();
    assert_eq!(user.len(), 10, "{} (on {:?}): the ten rewrites: {names:?}", o.spec.name, o.spec.extends);
    for u in user {
        let name = u.def.name();
        let c = get(name.strip_prefix("user_").unwrap());
        let at = format!("{} / {name}", o.spec.name);
        assert_eq!(u.verdict, c.verdict, "{at}: verdict");
        assert_eq!(u.trace, c.trace, "{at}: the shortest trace");
        traces += u.trace.is_some() as usize;
        if let Some(&(_, cat)) = PREMISES.iter().find(|(n, _)| *n == name) {
            let q = &u.premises[0];
            let cq = c.premises.iter().find(|q| q.def.name() == cat).unwrap();
            assert_eq!(q.verdict, cq.verdict, "{at}: premise {cat}");
            assert_eq!(q.trace, cq.trace, "{at}: premise {cat}'s witness");
            traces += q.trace.is_some() as usize;
        }
    }
    traces
}

#[test]
fn the_catalogue_in_the_language_agrees_on_every_spec() {
    let mut traces = 0;
    for base in small::every_spec() {
        // The spec's own bounds, to depth 6 (every catalogue trace of the
        // reports is at most 4 steps).
        let depth = base.bounds.depth.map(|d| d.min(6)).or(Some(6));
        let s = catalogue_on(&base, depth);
        traces += same_answers(&small::run(&s, 2, true));
    }
    assert!(traces > 60, "only {traces} traces compared");
}

#[test]
fn the_catalogue_in_the_language_agrees_at_mainline_s_own_bounds() {
    let base = small::every_spec().into_iter().find(|s| s.name == "linux-6.18").unwrap();
    let s = catalogue_on(&base, base.bounds.depth);
    assert_eq!(s.bounds.depth, Some(8));
    let o = small::run(&s, 2, true);
    assert!(o.complete);
    assert!(same_answers(&o) >= 6);
}

fn reviewer() -> PathBuf {
    props_dir().join("reviewer.toml")
}

fn stdout(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = check().args(args).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn a_spec_with_its_own_properties_goes_through_check_json_and_trace() {
    let file = reviewer();
    let (code, table) = stdout(&[file.as_os_str()]);
    assert_eq!(code, Some(0), "{table}");
    for want in [
        "kept in the state for its own properties: P.image and P.at_secure, P.ghost exec-fresh",
        "no_hugepage_default                ✔ holds",
        "setuid_program_gets_thp            ◆ reachable in 2 steps",
        "secure_exec_keeps_no_thp_disable   ✘ violated in 3 steps",
        "nohugepage_default_only_for_root   ✔ holds (vacuous)",
        "vacuous: never reached: the premise of `nohugepage_default_only_for_root`",
    ] {
        assert!(table.contains(want), "no `{want}` in\n{table}");
    }

    let (code, json) = stdout(&[file.as_os_str(), "--json".as_ref()]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let spec = &v["specs"][0];
    assert_eq!(spec["kept_for_user_properties"][0], "P.image and P.at_secure");
    let props = spec["properties"].as_array().unwrap();
    let p = props.iter().find(|p| p["name"] == "setuid_program_gets_thp").unwrap();
    assert_eq!(p["kind"], "sometimes");
    assert_eq!(p["verdict"], "reachable");
    assert_eq!(p["predicate"], "any p: p.image == setuid-root and (any v in p.vmas: v.thp_eligible)");
    assert_eq!(p["trace"][0], "P0 execve(setuid-root) = 0");
    let q = props.iter().find(|p| p["name"] == "nohugepage_default_only_for_root").unwrap();
    assert_eq!(q["vacuous"], true);
    assert_eq!(q["premises"][0]["predicate"], "any p: p.def_flags has VM_NOHUGEPAGE");

    let dir = scratch("user-props-trace");
    let html = dir.join("t.html");
    let text = common::trace(&file, "secure_exec_keeps_no_thp_disable", Some(&html));
    assert!(text.contains("# always: all p: not (p.at_secure and p.ghost has exec-fresh and p.mm_flags has MMF_DISABLE_THP_COMPLETELY)"), "{text}");
    assert!(text.contains("# shortest counterexample: 3 steps"), "{text}");
    assert!(text.contains("P0 prctl(PR_SET_THP_DISABLE, 1, 0) = 0"), "{text}");
    assert!(std::fs::read_to_string(&html).unwrap().contains("p.ghost has exec-fresh"));
    // The printed trace replays on the spec.
    let t = dir.join("t.trace");
    std::fs::write(&t, &text).unwrap();
    let (code, _) = stdout(&["replay".as_ref(), file.as_os_str(), t.as_os_str()]);
    assert_eq!(code, Some(0));
}

#[test]
fn reports_show_a_spec_s_own_properties_with_their_predicates() {
    let s = spec::load(&reviewer()).unwrap();
    let o = small::run(&s, 2, true);
    let page = report::spec_page(&o);
    for want in [
        "## Properties this spec defines",
        "| `setuid_program_gets_thp` | sometimes | a setuid-root program has a THP-eligible VMA | `any p: p.image == setuid-root and (any v in p.vmas: v.thp_eligible)` |",
        "| `nohugepage_default_only_for_root.premise` | premise | the case `nohugepage_default_only_for_root` rules on | `any p: p.def_flags has VM_NOHUGEPAGE` |",
        "kept in the state only for the properties this spec defines: P.image and P.at_secure, P.ghost exec-fresh",
        "| `secure_exec_keeps_no_thp_disable` | always | ✘ violated | violated | [3 steps](#secure_exec_keeps_no_thp_disable) |",
        "### secure_exec_keeps_no_thp_disable",
        "Defined by the spec: always `all p: not (p.at_secure and p.ghost has exec-fresh and p.mm_flags has MMF_DISABLE_THP_COMPLETELY)`",
        "![the state after the last step of the counterexample](reviewer/secure_exec_keeps_no_thp_disable.svg)",
    ] {
        assert!(page.contains(want), "the page lacks {want}\n{page}");
    }
    let index = report::index(std::slice::from_ref(&o));
    assert!(index.contains("| `setuid_program_gets_thp` | ◆ 2 |"), "{index}");
    assert!(index.contains("- `no_hugepage_default` (always, defined by the spec): no process has VM_HUGEPAGE in def_flags — `all p: not p.def_flags has VM_HUGEPAGE` (in reviewer)"), "{index}");
    assert!(index.contains("it breaks `secure_exec_keeps_no_thp_disable` (a program started by a secure exec does not start with THP disabled) ([3 steps](reviewer.md#secure_exec_keeps_no_thp_disable)"), "{index}");
    let files = report::trace_files(&o);
    let svg = files.iter().find(|f| f.0 == "reviewer/setuid_program_gets_thp.svg").unwrap();
    assert!(svg.1.contains("◆ witnessed: setuid_program_gets_thp"));
}

#[test]
fn the_explorer_opens_a_user_property_s_witness() {
    let file = reviewer();
    let link = steps_link(&common::trace(&file, "setuid_program_gets_thp", None));
    let ex = Explorer::start(&file);
    let t = Duration::from_secs(60);
    let (before, last) = link.trim_start_matches("/steps").rsplit_once('/').unwrap();
    let r = http::request(ex.addr, "GET", &format!("/.states{before}"), None, t).unwrap();
    assert_eq!(r.status, 200);
    let steps: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let step = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["actionIndex"].as_u64() == last.parse().ok())
        .expect("the link's last action is offered");
    assert_eq!(step["action"], "P0 mmap()");
    assert!(step["svg"].as_str().unwrap().contains("◆ witnessed: setuid_program_gets_thp"));
    // stateright's own status lists the property by name.
    let status = http::request(ex.addr, "GET", "/.status", None, t).unwrap();
    assert!(status.text().contains("setuid_program_gets_thp"), "{}", status.text());
}

#[test]
fn stateright_s_checkers_agree_on_user_properties() {
    let s = spec::load(&reviewer()).unwrap();
    let mut s = s;
    s.bounds.depth = None;
    s.bounds.processes = 1;
    let sys = s.system();
    assert!(sys.properties.iter().any(|p| !p.is_catalogue()));
    let ours = explore(&sys, &Options::new(2, sys.symmetry));
    assert!(ours.complete);
    let bfs = sys.clone().checker().spawn_bfs().join();
    assert!(bfs.is_done());
    assert_eq!(sys.properties().len(), sys.properties.len());
    for (p, d) in sys.properties.iter().zip(&ours.discoveries) {
        let v = Verdict::decide(p.kind(), d.is_some(), true);
        let theirs = Verdict::decide(p.kind(), bfs.discovery(p.static_name()).is_some(), true);
        assert_eq!(theirs, v, "{}", p.name());
    }
}

/// Writes `files` (name, text) into a fresh directory.
fn write_all(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let d = scratch(name);
    for (f, text) in files {
        std::fs::write(d.join(f), text).unwrap();
    }
    d
}

const BOUNDS: &str = "[bounds]\nprocesses = 1\nvmas = 1\nsysfs = [\"madvise\"]\n";

#[test]
fn extends_inherits_properties_key_by_key() {
    let base = format!(
        "[spec]\nname = \"base\"\n{BOUNDS}\n\
         [properties.a]\nalways = \"sysfs == madvise\"\nmeaning = \"a from base\"\n\n\
         [properties.b]\nalways = \"all p: not p.nnp\"\nmeaning = \"b from base\"\n\n\
         [properties.broken]\nalways = \"all p: p.nnp\"\nmeaning = \"fine here\"\n\n\
         [expect]\na = \"holds\"\nb = \"holds\"\nbroken = \"holds\"\n"
    );
    let child = "[spec]\nname = \"child\"\nextends = \"base\"\n\n\
         [properties.b]\nsometimes = \"any p: p.nnp\"\nmeaning = \"b from child\"\n\n\
         [properties.c]\nsometimes = \"any p: any v in p.vmas: v.thp_eligible\"\nmeaning = \"c\"\n\n\
         [expect]\na = \"holds\"\nb = \"reachable\"\nc = \"reachable\"\n";
    let d = write_all("user-props-extends", &[("base.toml", &base), ("child.toml", child)]);
    let s = spec::load(&d.join("child.toml")).unwrap();
    let defs: Vec<(&str, &str, Kind)> =
        s.properties.iter().map(|p| (p.name.as_str(), p.meaning.as_str(), p.kind)).collect();
    assert_eq!(
        defs,
        [
            ("a", "a from base", Kind::Always),
            ("b", "b from child", Kind::Sometimes),
            ("broken", "fine here", Kind::Always),
            ("c", "c", Kind::Sometimes),
        ]
    );
    let checked: Vec<&str> = s.expect.iter().map(|(p, _)| p.name()).collect();
    assert_eq!(checked, ["a", "b", "c"], "the extending file's [expect] is the question");
    let o = small::run(&s, 1, true);
    let got: Vec<(&str, Verdict)> = o.properties.iter().map(|p| (p.def.name(), p.verdict)).collect();
    assert!(o.all_as_expected(), "{got:?}");

    // An error in an inherited property is reported where it is written.
    let bad_base = base.replace("all p: p.nnp\"", "all p: p.nnq\"");
    let d = write_all("user-props-extends-bad", &[("base.toml", &bad_base), ("child.toml", child)]);
    let e = spec::load(&d.join("child.toml")).unwrap_err();
    assert_eq!(e.file, d.join("base.toml"), "{e}");
    assert_eq!((e.line, e.col), (17, 20), "{e}");
    assert!(e.msg.contains("unknown field `nnq` of a process (`p`); did you mean `nnp`?"), "{e}");
}

#[test]
fn a_premise_tells_a_vacuous_holds_from_a_real_one() {
    let spec = |premise: &str| {
        format!(
            "[spec]\nname = \"vac\"\n{BOUNDS}\n[properties.x]\nalways = \"all p: p.nnp or not p.nnp\"\n\
             meaning = \"a tautology\"\npremise = \"{premise}\"\n\n[expect]\nx = \"holds\"\n"
        )
    };
    for (premise, vacuous) in [("any p: p.nnp", false), ("any p: p.def_flags has VM_HUGEPAGE", true)] {
        let d = write_all("user-props-vacuity", &[("vac.toml", &spec(premise))]);
        let o = small::run(&spec::load(&d.join("vac.toml")).unwrap(), 1, true);
        let p = &o.properties[0];
        assert_eq!(p.verdict, Verdict::Holds);
        assert_eq!(p.vacuous(), vacuous, "premise {premise}");
        assert_eq!(p.premises[0].def.name(), "x.premise");
    }
}

#[test]
fn the_guide_lists_every_field_and_word() {
    use mmflags_model::predicate::words::{all_words, Owner, FIELDS};
    let guide = std::fs::read_to_string(spec::specs_dir().join("README.md")).unwrap();
    for f in FIELDS {
        let v = if f.owner == Owner::Process { "P" } else { "V" };
        assert!(guide.contains(&format!("`{v}.{}`", f.name)), "specs/README.md lacks `{v}.{}`", f.name);
    }
    for w in all_words() {
        assert!(guide.contains(&format!("`{w}`")), "specs/README.md lacks the word `{w}`");
    }
}
