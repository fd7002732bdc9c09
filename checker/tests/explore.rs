//! `check explore` answers bad requests with 4xx and keeps serving, and the
//! deep links that `check trace` prints are the paths stateright's own
//! `Path::encode` gives and open the counterexample's last state.

mod common;

use common::*;
use mmflags_checker::explorer::{self, route, Route};
use mmflags_checker::http;
use mmflags_checker::run::{run_spec, RunConfig};
use mmflags_checker::{engine::limits::Limits, spec};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

fn config() -> RunConfig {
    RunConfig {
        threads: 1,
        symmetry: true,
        limits: Limits::default(),
        interrupt: Arc::new(AtomicBool::new(false)),
        progress: false,
    }
}

#[test]
fn links_are_stateright_s_own_encoding_of_the_trace() {
    let dir = scratch("links");
    let s = spec::load(&small_spec(&dir)).unwrap();
    let sys = s.system();
    let o = run_spec(s, &config());
    let p = o.properties.iter().find(|p| p.def.name() == "secure_exec_inherits_nothing").unwrap();
    let t = p.trace.as_ref().unwrap();
    let ours = explorer::action_indices(&sys, t).unwrap();
    let actions: Vec<_> = t.steps.iter().map(|s| s.0).collect();
    let path = stateright::Path::from_actions(&sys, t.init, actions.iter()).unwrap();
    let theirs: Vec<usize> = path.encode(&sys).split('/').map(|i| i.parse().unwrap()).collect();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), t.steps.len() + 1);
    // A trace that is not a run of the model has no link.
    let mut wrong = t.clone();
    wrong.steps.swap(0, 2);
    assert_eq!(explorer::action_indices(&sys, &wrong), None);
}

#[test]
fn routes_reject_what_is_not_the_explorer_s_api() {
    let dir = scratch("routes");
    let sys = spec::load(&small_spec(&dir)).unwrap().system();
    let code = |m: &str, u: &str| match route(&sys, m, u) {
        Route::Reject(c, _) => c,
        _ => 200,
    };
    for ok in [
        "/",
        "/?x",
        "/app.js",
        "/app.css",
        "/knockout-3.5.0.js",
        "/mmflags.css",
        "/.status",
        "/.states",
        "/.states/",
        "/.states/0",
        "/.states/1/0/",
    ] {
        assert_eq!(code("GET", ok), 200, "{ok}");
    }
    assert_eq!(code("POST", "/.runtocompletion"), 200);
    let bad = [
        ("GET", "/nope", 404),
        ("GET", "/.statesfoo", 404),
        ("GET", "/index.html", 404),
        ("GET", "/.states/abc", 400),
        ("GET", "/.states/-1", 400),
        ("GET", "/.states/0x1", 400),
        ("GET", "/.states/%30", 400),
        ("GET", "/.states//0", 400),
        ("GET", "/.states/0//1", 400),
        ("GET", "/.states/99999999999999999999999999", 400),
        ("GET", "/.states/1000000000", 400),
        ("GET", "/.states/0?x=1", 400),
        ("GET", "/.states/2", 404),
        ("GET", "/.states/0/999999", 404),
        ("GET", "/.states/0/0/0/0/0/0/0/0/999", 404),
        ("POST", "/.status", 405),
        ("DELETE", "/", 405),
        ("GET", "/.runtocompletion", 405),
        ("PUT", "/.states/0", 405),
    ];
    for (m, u, want) in bad {
        assert_eq!(code(m, u), want, "{m} {u}");
    }
    let long = format!("/.states/0{}", "/0".repeat(explorer::MAX_STEPS));
    assert_eq!(code("GET", &long), 400);
}

/// Sends raw bytes and returns the status code of the answer, if any.
fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(T)).ok()?;
    s.write_all(bytes).ok()?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    text.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn the_server_answers_bad_requests_with_4xx_and_keeps_serving() {
    let dir = scratch("server");
    let spec = small_spec(&dir);
    let link = steps_link(&trace(&spec, "secure_exec_inherits_nothing", None));
    let ex = Explorer::start(&spec);
    let get = |path: &str| http::request(ex.addr, "GET", path, None, T).unwrap();

    for (path, want) in [
        ("/nope", 404),
        ("/.statesfoo", 404),
        ("/.states/abc", 400),
        ("/.states/99999999999999999999999999999999", 400),
        ("/.states/18446744073709551616", 400),
        ("/.states/7", 404),
        ("/.states/0/123456", 404),
        ("/.states/0/../../etc/passwd", 400),
    ] {
        let r = get(path);
        assert_eq!(r.status, want, "GET {path}: {}", r.text());
    }
    assert_eq!(http::request(ex.addr, "DELETE", "/.status", None, T).unwrap().status, 405);
    // Not HTTP at all, and a client that hangs up before the answer.
    assert!(raw(ex.addr, b"\x00\x01garbage\r\n\r\n").is_none_or(|c| (400..500).contains(&c)));
    for _ in 0..20 {
        let mut s = TcpStream::connect(ex.addr).unwrap();
        s.write_all(b"GET /.states/0 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        drop(s);
    }
    let long = format!("/.states/0{}", "/0".repeat(5000));
    assert!((400..500).contains(&get(&long).status));

    // Still serving: the page, the status, and the counterexample's path.
    let page = get("/");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("mmflags · small"), "the page names the spec");
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(get("/.status").status, 200);
    let (before, last) = link.trim_start_matches("/steps").rsplit_once('/').unwrap();
    let r = get(&format!("/.states{before}"));
    assert_eq!(r.status, 200);
    let steps: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let step = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["actionIndex"].as_u64() == last.parse().ok())
        .expect("the link's last action is offered");
    assert_eq!(step["action"], "P0 execve(setuid-root)");
    assert!(step["outcome"].as_str().unwrap().starts_with("P0 execve(setuid-root) = 0\n"));
    assert!(step["svg"].as_str().unwrap().contains("✘ violated: secure_exec_inherits_nothing"));
}

#[test]
fn report_pages_embed_the_picture_and_link_the_viewer_and_the_explorer() {
    let dir = scratch("report");
    let s = spec::load(&small_spec(&dir)).unwrap();
    let sys = s.system();
    let o = run_spec(s, &config());
    let page = mmflags_checker::report::spec_page(&o);
    let t = o.properties[1].trace.as_ref().unwrap();
    let link = explorer::link(&sys, t, explorer::DEFAULT_ADDR).unwrap();
    for want in [
        "![the state after the last step of the counterexample](small/secure_exec_inherits_nothing.svg)".to_string(),
        "[small/secure_exec_inherits_nothing.html](small/secure_exec_inherits_nothing.html)".to_string(),
        format!("- open it in the explorer: start `cargo run --release --bin check -- explore small`, then open <{link}>"),
    ] {
        assert!(page.contains(&want), "the page lacks {want}\n{page}");
    }
    let files = mmflags_checker::report::trace_files(&o);
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, ["small/secure_exec_inherits_nothing.svg", "small/secure_exec_inherits_nothing.html"]);
    assert!(files[0].1.starts_with("<svg xmlns=") && files[0].1.contains("✘ violated"));
    assert!(files[1].1.contains(&link), "the viewer links the explorer too");
    // Byte-for-byte reproducible: a second run (on two threads) writes the same files.
    let again = run_spec(spec::load(&small_spec(&dir)).unwrap(), &RunConfig { threads: 2, ..config() });
    assert_eq!(mmflags_checker::report::trace_files(&again), files);
    assert_eq!(mmflags_checker::report::spec_page(&again), page);
}
