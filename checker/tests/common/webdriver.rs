//! Just enough W3C WebDriver to drive headless Chromium through Debian's
//! chromedriver: a session, navigation, scripts, keys, clicks and
//! screenshots. Speaks JSON over `mmflags_checker::http`.
//!
//! `Browser::find()` looks for chromium and chromedriver (`CHROMIUM`,
//! `CHROMEDRIVER`, else /usr/bin). When they are missing the browser tests
//! skip with a loud message, unless `MMFLAGS_REQUIRE_BROWSER=1` (set by
//! `.ci/run`), which turns the skip into a failure so CI never counts a
//! skip as a pass.

use mmflags_checker::http;
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(60);
/// The WebDriver name of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// WebDriver key codes.
pub const ARROW_LEFT: &str = "\u{E012}";
pub const ARROW_RIGHT: &str = "\u{E014}";
pub const HOME: &str = "\u{E011}";
pub const END: &str = "\u{E010}";

fn tool(env: &str, default: &str) -> Option<PathBuf> {
    let p = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    p.is_file().then_some(p)
}

/// Chromium and chromedriver, or `None` (after saying why) when the test
/// may be skipped; panics when `MMFLAGS_REQUIRE_BROWSER=1` and one is missing.
pub fn find() -> Option<(PathBuf, PathBuf)> {
    let found = (tool("CHROMIUM", "/usr/bin/chromium"), tool("CHROMEDRIVER", "/usr/bin/chromedriver"));
    if let (Some(c), Some(d)) = found {
        return Some((c, d));
    }
    let msg = "chromium and chromedriver are needed for the browser tests \
               (apt-get install chromium chromium-driver, or set CHROMIUM and CHROMEDRIVER)";
    if std::env::var("MMFLAGS_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("MMFLAGS_REQUIRE_BROWSER=1 but {msg}");
    }
    eprintln!("\n*** SKIPPED: {msg} ***\n");
    None
}

/// A chromedriver process with one headless Chromium session.
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    profile: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium profile in `dir`.
    pub fn start(chromium: &Path, chromedriver: &Path, dir: &Path) -> Browser {
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + T;
        while http::request(addr, "GET", "/status", None, Duration::from_secs(2)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not come up on {addr}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = dir.join("chromium-profile");
        std::fs::create_dir_all(&profile).unwrap();
        let mut b = Browser { driver, addr, session: String::new(), profile: profile.clone() };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--hide-scrollbars",
                    "--window-size=1440,1000",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        }}});
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"].as_str().expect("a session id").to_string();
        b
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string());
        let r = http::request(self.addr, method, path, body.as_deref().map(str::as_bytes), T)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let v: Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}: {}", r.text()));
        assert!(r.status == 200, "WebDriver {method} {path}: {} {}", r.status, v);
        v["value"].clone()
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", &self.s("/url"), Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `return` gives the value).
    pub fn js(&self, script: &str) -> Value {
        self.call("POST", &self.s("/execute/sync"), Some(json!({"script": script, "args": []})))
    }

    /// Waits until `script` returns something truthy and returns it.
    pub fn wait_for(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + T;
        loop {
            let v = self.js(script);
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn element(&self, css: &str) -> String {
        let v = self.call("POST", &self.s("/element"), Some(json!({"using": "css selector", "value": css})));
        v[ELEMENT].as_str().expect("an element").to_string()
    }

    /// Types `keys` into the element `css` (keydown events bubble to the document).
    pub fn keys(&self, css: &str, keys: &str) {
        let e = self.element(css);
        self.call("POST", &self.s(&format!("/element/{e}/value")), Some(json!({ "text": keys })));
    }

    pub fn click(&self, css: &str) {
        let e = self.element(css);
        self.call("POST", &self.s(&format!("/element/{e}/click")), Some(json!({})));
    }

    /// Saves a PNG of the viewport to `file`.
    pub fn screenshot(&self, file: &Path) {
        let v = self.call("GET", &self.s("/screenshot"), None);
        let png = base64(v.as_str().expect("base64 PNG"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(file, png).unwrap();
        eprintln!("screenshot: {}", file.display());
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let path = self.s("");
            let _ = http::request(self.addr, "DELETE", &path, None, T);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // The screenshots stay; the browser profile goes.
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Standard base64 (the screenshot encoding).
pub fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &c)| n | (val(c) as u32) << (18 - 6 * i));
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}
