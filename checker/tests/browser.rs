//! Real-browser tests: headless Chromium (driven over WebDriver) opens a
//! counterexample's deep link in `check explore` and must show the
//! violating state as a picture, and opens a generated HTML trace from disk
//! and steps through it with the keyboard. Screenshots are saved under
//! `target/tmp/browser-*/` for a person to look at.
//!
//! Without chromium these tests skip loudly; `.ci/run` installs it and sets
//! `MMFLAGS_REQUIRE_BROWSER=1`, which turns a skip into a failure.

mod common;

use common::webdriver::{self, Browser, ARROW_LEFT, ARROW_RIGHT, END, HOME};
use common::*;
use serde_json::json;
use std::sync::Mutex;

/// One browser at a time: the machine has two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const PROPERTY: &str = "secure_exec_inherits_nothing";

#[test]
fn base64_decodes_screenshots() {
    assert_eq!(webdriver::base64("aGVsbG8="), b"hello");
    assert_eq!(webdriver::base64("aGk="), b"hi");
    assert_eq!(webdriver::base64("YWJj"), b"abc");
}

#[test]
fn the_explorer_opens_a_counterexample_from_its_deep_link() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some((chromium, driver)) = webdriver::find() else {
        return;
    };
    let dir = scratch("browser-explore");
    let spec = small_spec(&dir);
    let link = steps_link(&trace(&spec, PROPERTY, None));
    let ex = Explorer::start(&spec);
    let b = Browser::start(&chromium, &driver, &dir);
    b.goto(&ex.url(&format!("/#{link}")));

    // The current-state pane draws the picture of the state after the exec.
    let svg = b.wait_for(
        "the picture of the counterexample's last state",
        "var s = document.querySelector('.main-flex-right svg.mmf');\
         return s && s.querySelector('title').textContent.indexOf('execve(setuid-root)') > 0\
             ? s.outerHTML : null;",
    );
    let svg = svg.as_str().unwrap();
    assert!(svg.contains("<title>state after P0 execve(setuid-root) = 0</title>"));
    assert!(svg.contains("✘ violated: secure_exec_inherits_nothing"));
    assert!(svg.contains("class=\"mmf-card-bad\""), "P0's card is marked");
    assert!(svg.contains("t-on\">AT_SECURE<"), "AT_SECURE is on");
    assert!(svg.contains(">DISABLE_THP_COMPLETELY<"), "the prctl survived");

    // It is drawn, at a readable size, and the path is exactly the trace.
    let size = b.js("var r = document.querySelector('.main-flex-right svg.mmf').getBoundingClientRect();\
         return [r.width, r.height];");
    assert!(size[0].as_f64().unwrap() > 400.0, "drawn {size}");
    let path =
        b.js("return [].map.call(document.querySelectorAll('.path-list a'), a => a.textContent.trim());");
    assert_eq!(
        path,
        json!([
            "Pre-init",
            "Init 0",
            "P0 setresuid(user)",
            "P0 prctl(PR_SET_THP_DISABLE, 1, 0)",
            "P0 execve(setuid-root)"
        ])
    );
    let outcome = b.js("return document.querySelector('.main-flex-right .font-small').textContent;");
    assert!(outcome.as_str().unwrap().starts_with("P0 execve(setuid-root) = 0\n"), "{outcome}");
    assert_eq!(b.js("return document.title;"), json!("small · mmflags explorer"));
    b.screenshot(&dir.join("explorer-deep-link.png"));
}

#[test]
fn the_html_trace_steps_through_with_the_keyboard_from_disk() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some((chromium, driver)) = webdriver::find() else {
        return;
    };
    let dir = scratch("browser-html");
    let spec = small_spec(&dir);
    let page = dir.join("trace.html");
    trace(&spec, PROPERTY, Some(&page));
    let b = Browser::start(&chromium, &driver, &dir);
    b.goto(&format!("file://{}", page.display()));

    // What is on screen: the step number, the one visible step's call,
    // result, picture and diff.
    let shown = || {
        b.js("var v = [].filter.call(document.querySelectorAll('article.step'), a => a.offsetParent !== null);\
              if (v.length !== 1) return {visible: v.length};\
              var a = v[0], q = s => (a.querySelector(s) || {}).textContent || '';\
              return {visible: 1, step: document.documentElement.dataset.step, id: a.id,\
                      call: q('.bar .call'), ret: q('.bar .ret'),\
                      svg: a.querySelector('svg.mmf').outerHTML, changed: q('.box pre')};")
    };
    let s = shown();
    assert_eq!((s["visible"].clone(), s["step"].clone()), (json!(1), json!("0")));
    assert!(s["svg"].as_str().unwrap().contains("<title>initial state</title>"));

    for (k, call) in
        [(1, "P0 setresuid(user)"), (2, "P0 prctl(PR_SET_THP_DISABLE, 1, 0)"), (3, "P0 execve(setuid-root)")]
    {
        b.keys("body", ARROW_RIGHT);
        let s = shown();
        assert_eq!(s["step"], json!(k.to_string()));
        assert_eq!(s["id"], json!(format!("step-{k}")));
        assert_eq!(s["call"], json!(call));
        assert_eq!(s["ret"], json!("= 0"));
        let violated = s["svg"].as_str().unwrap().contains("✘ violated: secure_exec_inherits_nothing");
        assert_eq!(violated, k == 3, "only the last state violates the property");
    }
    let last = shown();
    assert!(last["changed"].as_str().unwrap().contains("P0 AT_SECURE: false -> true"));
    b.screenshot(&dir.join("html-trace-last-step.png"));

    b.keys("body", ARROW_RIGHT);
    assert_eq!(shown()["step"], json!("3"), "the last step is the end");
    b.keys("body", ARROW_LEFT);
    assert_eq!(shown()["step"], json!("2"));
    b.keys("body", HOME);
    assert_eq!(shown()["step"], json!("0"));
    b.keys("body", END);
    assert_eq!(shown()["step"], json!("3"));
    b.keys("body", "k");
    assert_eq!(shown()["step"], json!("2"));
    b.click("nav a[data-step=\"1\"]");
    assert_eq!(shown()["call"], json!("P0 setresuid(user)"));
    assert_eq!(b.js("return location.hash;"), json!("#step=1"));

    // Self-contained: nothing was fetched besides the file itself.
    let fetched = b.js("return performance.getEntriesByType('resource').map(e => e.name);");
    assert_eq!(fetched, json!([]));
}
