//! `check explore`: stateright's Explorer over a spec's model, and the deep
//! links (`#/steps/<init>/<action>/...`) that reports and `check trace`
//! print so that a counterexample opens in it at its last state.
//!
//! The Explorer is served behind a small front that checks every request
//! against the model before anything reaches stateright. What we found in
//! stateright 0.31's Explorer: `Path::from_action_indices` panics on an
//! index that names no initial state or action (`states()` happens to call
//! the checking `Path::final_state` first, so today that panic is not
//! reachable over HTTP, but nothing keeps it so); `/.statesXYZ` is answered
//! 200 with the initial states; every bad path is a 404, whatever is wrong
//! with it; and it answers one request at a time. The front binds the
//! user's address (loopback by default) and answers what is not the
//! Explorer's API itself: unknown paths 404, wrong methods 405, malformed
//! or overlong step paths 400, indices that name no initial state, or no
//! action of the state they apply to, 404. It forwards the rest to the
//! Explorer on a private loopback port. It also serves the Explorer's page
//! with the spec's name and a note on what "Run to completion" does here.

use crate::http;
use crate::spec::Spec;
use crate::verdict::Trace;
use mmflags_model::System;
use stateright::Model;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tiny_http::{Header, Request, Response, Server};

/// Where `check explore` listens unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
/// Longest path of steps a request may name (far beyond any spec's depth).
pub const MAX_STEPS: usize = 1000;
/// Threads answering requests at the front.
const WORKERS: usize = 4;
/// How long a forwarded request may take (a state with hundreds of
/// successors, each drawn, takes well under a second).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(120);

/// The Explorer's path to the last state of a concrete trace: the initial
/// state's index in `init_states()`, then each step's action's index in
/// `actions(state before it)`. `None` if the trace is not a run of `sys`.
pub fn action_indices(sys: &System, t: &Trace) -> Option<Vec<usize>> {
    let mut out = vec![sys.init_states().iter().position(|s| *s == t.init)?];
    let mut cur = t.init;
    for (a, _, next) in &t.steps {
        let mut actions = Vec::new();
        sys.actions(&cur, &mut actions);
        out.push(actions.iter().position(|b| b == a)?);
        if sys.next_state(&cur, *a) != Some(*next) {
            return None;
        }
        cur = *next;
    }
    Some(out)
}

/// The URL that opens the trace's last state in an Explorer at `addr`.
pub fn link(sys: &System, t: &Trace, addr: &str) -> Option<String> {
    let steps: Vec<String> = action_indices(sys, t)?.iter().map(|i| i.to_string()).collect();
    Some(format!("http://{addr}/#/steps/{}", steps.join("/")))
}

/// The command that starts the Explorer for `spec` (a name or a path).
pub fn command(spec: &str) -> String {
    format!("cargo run --release --bin check -- explore {spec}")
}

/// `# explorer: URL` comment lines for a printed trace.
pub fn comment(sys: &System, t: &Trace, spec: &str) -> String {
    match link(sys, t, DEFAULT_ADDR) {
        Some(url) => format!("# explorer: {url}\n#   (start it with: {})\n", command(spec)),
        None => String::new(),
    }
}

/// What the front does with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// The Explorer's page, with the spec's name.
    Index,
    /// The front's own style sheet.
    Style,
    /// Forward as is; the response has this content type.
    Forward(&'static str),
    /// Answer with this status and message; the Explorer never sees it.
    Reject(u16, String),
}

const JSON: &str = "application/json";
const PAGES: [(&str, &str); 3] = [
    ("/app.css", "text/css; charset=utf-8"),
    ("/app.js", "text/javascript; charset=utf-8"),
    ("/knockout-3.5.0.js", "text/javascript; charset=utf-8"),
];

/// Decides what to do with `method url` for the Explorer of `sys`.
pub fn route(sys: &System, method: &str, url: &str) -> Route {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let known = path == "/"
        || path == "/mmflags.css"
        || path == "/.status"
        || path == "/.runtocompletion"
        || path.starts_with("/.states")
        || PAGES.iter().any(|p| p.0 == path);
    if !known {
        return Route::Reject(404, format!("no such page: {}", shorten(path)));
    }
    let want = if path == "/.runtocompletion" { "POST" } else { "GET" };
    if method != want {
        return Route::Reject(405, format!("{} takes {want}, not {method}", shorten(path)));
    }
    if !query.is_empty() && path != "/" {
        return Route::Reject(400, "the Explorer's API takes no query string".into());
    }
    match path {
        "/" => Route::Index,
        "/mmflags.css" => Route::Style,
        "/.status" => Route::Forward(JSON),
        "/.runtocompletion" => Route::Forward("text/plain; charset=utf-8"),
        p if p.starts_with("/.states") => match check_steps(sys, &p["/.states".len()..]) {
            Ok(()) => Route::Forward(JSON),
            Err((code, msg)) => Route::Reject(code, msg),
        },
        p => Route::Forward(PAGES.iter().find(|q| q.0 == p).map_or("", |q| q.1)),
    }
}

fn shorten(s: &str) -> String {
    let mut t: String = s.chars().take(60).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

/// Checks `/.states` + `rest`: `""` or `/` (the initial states), or
/// `/I/A1/A2...` where I names an initial state and each A an action that
/// happens in the state the previous ones reached.
fn check_steps(sys: &System, rest: &str) -> Result<(), (u16, String)> {
    if rest.is_empty() || rest == "/" {
        return Ok(());
    }
    let Some(body) = rest.strip_prefix('/') else {
        return Err((404, format!("no such page: /.states{}", shorten(rest))));
    };
    let parts: Vec<&str> = body.strip_suffix('/').unwrap_or(body).split('/').collect();
    if parts.len() > MAX_STEPS {
        return Err((
            400,
            format!("a path of {} steps is longer than the {MAX_STEPS} the Explorer serves", parts.len()),
        ));
    }
    let mut indices = Vec::with_capacity(parts.len());
    for p in &parts {
        if p.is_empty() || p.len() > 9 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err((
                400,
                format!("malformed step index `{}`: give a decimal number below 10^9", shorten(p)),
            ));
        }
        indices.push(p.parse::<usize>().expect("at most 9 digits"));
    }
    let inits = sys.init_states();
    let Some(mut s) = inits.get(indices[0]).copied() else {
        return Err((404, format!("no initial state {}: there are {}", indices[0], inits.len())));
    };
    for (depth, &i) in indices.iter().enumerate().skip(1) {
        let mut actions = Vec::new();
        sys.actions(&s, &mut actions);
        let Some(a) = actions.get(i) else {
            return Err((404, format!("step {depth}: no action {i}, the state has {}", actions.len())));
        };
        match sys.next_state(&s, *a) {
            Some(next) => s = next,
            None => return Err((404, format!("step {depth}: `{a}` cannot happen in this state"))),
        }
    }
    Ok(())
}

/// The front's style sheet: room for the picture, the spec note's look.
const STYLE: &str = "\
.mmflags-note{font-size:12px;line-height:1.5;color:var(--fg-med);margin:.4em 0 .8em;max-width:50em}\n\
.mmflags-note code{color:var(--contrast-dim)}\n\
.main-flex-left{flex-basis:360px;flex-grow:0;max-width:460px}\n\
.main-flex-right{flex-grow:1;min-width:0}\n\
.hscroll>svg{display:block;max-width:100%;height:auto}\n";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The Explorer's page with the spec's name and a note on what is shown.
fn index_page(stock: &str, spec: &Spec, max_states: usize) -> String {
    let name = esc(&spec.name);
    let note = format!(
        "<p class=\"mmflags-note\">mmflags model of <b>{name}</b>: {}. \
         Pick actions below or open a deep link from a report or <code>check trace</code>. \
         Verdicts come from <code>check</code> (symmetry-reduced, bounded by the spec); \
         “Run to completion” here explores concrete states, without the spec's depth, \
         and stops after {max_states} states.</p>",
        esc(&spec.title)
    );
    stock
        .replacen(
            "<title>Stateright Explorer</title>",
            &format!("<title>{name} · mmflags explorer</title>"),
            1,
        )
        .replacen("</head>", "<link rel=\"stylesheet\" href=\"/mmflags.css\" />\n</head>", 1)
        .replacen(
            "<h1><a href=\"/\">Stateright Explorer</a></h1>",
            &format!("<h1><a href=\"/\">mmflags · {name}</a></h1>"),
            1,
        )
        .replacen("<nav class=\"main-flex-left\">", &format!("<nav class=\"main-flex-left\">\n{note}"), 1)
}

/// A running Explorer: the front's socket and the Explorer behind it.
pub struct Explorer {
    front: Server,
    backend: SocketAddr,
    sys: Arc<System>,
    index: String,
}

/// Starts the Explorer for `spec` on a private loopback port and binds the
/// front to `addr` (port 0 picks a free one).
pub fn start(spec: &Spec, addr: &str, max_states: usize) -> Result<Explorer, String> {
    let sys = spec.system();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free loopback port for the explorer: {e}"))?
        .port();
    let backend = SocketAddr::from(([127, 0, 0, 1], port));
    let model = sys.clone();
    let handle = std::thread::Builder::new()
        .name("explorer".into())
        .spawn(move || {
            // Serves until the process ends.
            model.checker().target_state_count(max_states).serve(backend);
        })
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&backend, Duration::from_millis(200)).is_err() {
        if handle.is_finished() || Instant::now() > deadline {
            return Err(format!("stateright's explorer did not start on {backend}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let stock = http::request(backend, "GET", "/", None, FORWARD_TIMEOUT)
        .map_err(|e| format!("stateright's explorer did not answer: {e}"))?;
    let front = Server::http(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    Ok(Explorer { front, backend, sys: Arc::new(sys), index: index_page(&stock.text(), spec, max_states) })
}

impl Explorer {
    /// The address the front listens on.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.front.server_addr().to_ip()
    }

    /// Answers requests until the process ends.
    pub fn run(self) {
        let me = Arc::new(self);
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let me = me.clone();
                std::thread::spawn(move || loop {
                    match me.front.recv() {
                        Ok(rq) => me.answer(rq),
                        Err(e) => eprintln!("explorer: {e}"),
                    }
                })
            })
            .collect();
        for w in workers {
            let _ = w.join();
        }
    }

    fn answer(&self, rq: Request) {
        let method = rq.method().as_str().to_string();
        let url = rq.url().to_string();
        let (status, ctype, body) = match route(&self.sys, &method, &url) {
            Route::Index => (200, "text/html; charset=utf-8", self.index.clone().into_bytes()),
            Route::Style => (200, "text/css; charset=utf-8", STYLE.as_bytes().to_vec()),
            Route::Reject(code, msg) => (code, "text/plain; charset=utf-8", format!("{msg}\n").into_bytes()),
            Route::Forward(ctype) => {
                match http::request(self.backend, &method, &url, None, FORWARD_TIMEOUT) {
                    Ok(r) => (r.status, ctype, r.body),
                    Err(e) => (
                        502,
                        "text/plain; charset=utf-8",
                        format!("the explorer behind this front failed: {e}\n").into_bytes(),
                    ),
                }
            }
        };
        let headers =
            [("Content-Type", ctype), ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")];
        let mut resp = Response::from_data(body).with_status_code(status);
        for (n, v) in headers {
            if let Ok(h) = Header::from_bytes(n.as_bytes(), v.as_bytes()) {
                resp.add_header(h);
            }
        }
        // A client that hung up is its own loss; the front goes on.
        let _ = rq.respond(resp);
    }
}
