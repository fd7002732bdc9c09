//! A spec's page properties run in a view of their own (docs/design.md,
//! "Pages"): the JSON and the report say what that view explored, and a
//! spec that asks only about pages reports its pages view's bounds as its
//! own, never the flag depth it did not explore.

mod small;

use mmflags_checker::report::json;
use mmflags_checker::run;
use mmflags_checker::spec::Spec;

fn spec_with_pages_depth(pages_depth: usize) -> Spec {
    let mut s = small::catalogue_at(small::every_spec().remove(0), 2, 1, Some(4));
    s.pages_depth = Some(pages_depth);
    s
}

#[test]
fn the_json_reports_the_pages_view_beside_the_flag_view() {
    let o = run::check_spec(spec_with_pages_depth(3), &small::config(2, true, Default::default()));
    let v = json::summary(&[o]);
    let s = &v["specs"][0];
    assert_eq!(s["bounds"]["depth"], 4);
    let pg = &s["pages_view"];
    assert_eq!((pg["depth"].as_u64(), pg["complete"].as_bool()), (Some(3), Some(true)), "{pg}");
    assert!(pg["max_depth"].as_u64().unwrap() <= 3, "{pg}");
    // Pages multiply the states: the page view at depth 3 has a state space
    // of its own, neither empty nor the flag view's.
    let (p, f) = (pg["unique_states"].as_u64().unwrap(), s["unique_states"].as_u64().unwrap());
    assert!(p > 1 && p != f, "pages {p}, flags {f}");
}

#[test]
fn a_spec_asking_only_about_pages_reports_the_pages_depth() {
    let mut s = spec_with_pages_depth(3);
    s.expect.retain(|(p, _)| p.reads_pages());
    assert!(!s.expect.is_empty());
    let o = run::check_spec(s, &small::config(2, true, Default::default()));
    assert_eq!(o.spec.bounds.depth, Some(3));
    assert!(o.pages.is_none() && o.max_depth <= 3, "{}", o.max_depth);
    let v = json::summary(&[o]);
    assert_eq!(v["specs"][0]["bounds"]["depth"], 3);
    assert!(v["specs"][0]["pages_view"].is_null());
}
