//! The self-contained HTML trace viewer (`check trace --html`, and one per
//! counterexample or witness in `reports/`): one file, no server, no
//! network, inline CSS and JS, that steps through a trace with the keyboard,
//! showing at each step the state picture (`svg::render`), the call, its
//! result, what it changed (`diff`) and the whole state (`describe`).
//!
//! Without JavaScript every step is shown one after the other, so the file
//! also reads as a document. The output is a pure function of the trace
//! (no dates, no random ids), so reports that include it stay reproducible.

use crate::explorer;
use crate::report::trace_text::trace_text;
use crate::spec::Spec;
use crate::verdict::{Trace, Verdict};
use mmflags_model::diff::{describe, diff};
use mmflags_model::property::Prop;
use mmflags_model::{svg, Walk};
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = r#"
:root{--fg:#1f2328;--mut:#656d76;--line:#d0d7de;--bg:#f6f8fa;--acc:#0969da;--bad:#cf222e;--ok:#1a7f37}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;color:var(--fg);background:#fff}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
header{padding:18px 28px 14px;border-bottom:1px solid var(--line);background:var(--bg)}
.kicker{color:var(--mut);font-size:12px;letter-spacing:.02em}
h1{margin:2px 0 4px;font-size:22px;font-weight:650}
h1 code{font-size:21px}
.verdict{display:inline-block;vertical-align:middle;margin-left:10px;padding:1px 9px;border-radius:999px;font-size:13px;font-weight:600;border:1px solid}
.verdict.bad{color:#a40e26;background:#ffebe9;border-color:var(--bad)}
.verdict.wit{color:#0550ae;background:#ddf4ff;border-color:var(--acc)}
.meaning{margin:0;max-width:70em}
.meta{margin:4px 0 0;color:var(--mut);font-size:13px}
main{display:grid;grid-template-columns:minmax(260px,340px) minmax(0,1fr);gap:24px;padding:18px 28px}
nav ol{list-style:none;margin:0;padding:0;border:1px solid var(--line);border-radius:8px;overflow:hidden}
nav li+li{border-top:1px solid var(--line)}
nav a{display:flex;gap:8px;padding:7px 10px;color:var(--fg);text-decoration:none}
nav a:hover{background:var(--bg)}
nav a.current{background:#ddf4ff;box-shadow:inset 3px 0 0 var(--acc)}
nav .n{flex:none;width:1.6em;color:var(--mut);text-align:right}
nav .last .n{color:var(--bad);font-weight:700}
.keys{color:var(--mut);font-size:12px;margin:8px 2px}
kbd{font:11px ui-monospace,monospace;border:1px solid var(--line);border-bottom-width:2px;border-radius:4px;padding:0 4px;background:#fff}
.ret.ok{color:var(--ok)}.ret.err{color:var(--bad)}
.bar{display:flex;align-items:center;gap:10px;flex-wrap:wrap;margin-bottom:10px}
.bar .count{color:var(--mut);font-size:13px;min-width:6.5em}
.bar .call{font-size:15px;font-weight:600}
button{font:inherit;border:1px solid var(--line);background:var(--bg);border-radius:6px;padding:2px 10px;cursor:pointer}
button:disabled{opacity:.4;cursor:default}
.pic{overflow-x:auto;margin-bottom:12px}
.pic svg{display:block;max-width:100%;height:auto}
.boxes{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px}
.box{border:1px solid var(--line);border-radius:8px;padding:8px 12px;background:var(--bg)}
.box h3{margin:0 0 4px;font-size:13px;color:var(--mut);font-weight:600}
.box pre{margin:0;white-space:pre-wrap;word-break:break-word}
.step{padding-bottom:22px;margin-bottom:22px;border-bottom:1px dashed var(--line)}
.js .step{display:none;border:0;margin:0;padding:0}
.js .step.current{display:block}
.nojs-hide{display:none}.js .nojs-hide{display:inline-block}
footer{padding:4px 28px 28px;border-top:1px solid var(--line)}
footer h2{font-size:15px;margin:16px 0 6px}
footer pre{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:10px 12px;overflow-x:auto}
a{color:var(--acc)}
@media (max-width:900px){main{grid-template-columns:1fr}}
"#;

const SCRIPT: &str = r#"
(function () {
  var root = document.documentElement;
  root.classList.add('js');
  var steps = [].slice.call(document.querySelectorAll('article.step'));
  var links = [].slice.call(document.querySelectorAll('nav a[data-step]'));
  var cur = -1;
  function show(k, remember) {
    k = Math.max(0, Math.min(steps.length - 1, k));
    if (k === cur) return;
    cur = k;
    steps.forEach(function (s, i) { s.classList.toggle('current', i === k); });
    links.forEach(function (a, i) {
      a.classList.toggle('current', i === k);
      if (i === k) a.setAttribute('aria-current', 'step'); else a.removeAttribute('aria-current');
    });
    root.setAttribute('data-step', String(k));
    if (remember) {
      try { history.replaceState(null, '', '#step=' + k); } catch (e) {}
    }
  }
  var keys = { ArrowRight: 1, ArrowDown: 1, j: 1, n: 1, ' ': 1, ArrowLeft: -1, ArrowUp: -1, k: -1, p: -1 };
  document.addEventListener('keydown', function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === 'Home') show(0, true);
    else if (e.key === 'End') show(steps.length - 1, true);
    else if (keys[e.key]) show(cur + keys[e.key], true);
    else return;
    e.preventDefault();
  });
  document.addEventListener('click', function (e) {
    var t = e.target.closest('[data-step],[data-go]');
    if (!t) return;
    e.preventDefault();
    if (t.hasAttribute('data-go')) show(cur + Number(t.getAttribute('data-go')), true);
    else show(Number(t.getAttribute('data-step')), true);
  });
  // `#step=N` picks the step; it names no element, so the page opens at
  // its top (`#step-N`, the articles' ids, is what works without script).
  var m = /^#step[=-](\d+)$/.exec(location.hash);
  show(m ? Number(m[1]) : 0, false);
})();
"#;

/// `<code>` for a call and its result, the result coloured by success.
fn call_html(call: &str, ret: &str, err: bool) -> String {
    format!(
        "<code class=\"call\">{}</code> <code class=\"ret {}\">= {}</code>",
        esc(call),
        if err { "err" } else { "ok" },
        esc(ret)
    )
}

/// The meaning, and for a property the spec defines, its predicate.
fn meaning_line(def: &Prop) -> String {
    match def.predicate() {
        Some(p) => format!("{} — {} {}", def.meaning(), def.kind(), p.text()),
        None => def.meaning().to_string(),
    }
}

fn pre(lines: &[String]) -> String {
    format!("<pre>{}</pre>", esc(&lines.join("\n")))
}

/// The viewer for `t`, the shortest trace of property `def` of `spec`.
/// `spec_arg` is how the commands it prints name the spec.
pub fn trace_page(spec: &Spec, spec_arg: &str, def: &Prop, verdict: Verdict, t: &Trace) -> String {
    let sys = spec.system();
    let vmas = spec.bounds.vmas;
    let n = t.steps.len();
    let (kind, vclass) = match verdict {
        Verdict::Violated => ("counterexample", "bad"),
        _ => ("witness", "wit"),
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n\
         <title>{0} · {1} — mmflags trace</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header>\n<div class=\"kicker\">mmflags · {1} — {2}</div>\n\
         <h1><code>{0}</code><span class=\"verdict {vclass}\">{3} {4}</span></h1>\n\
         <p class=\"meaning\">{5}</p>\n<p class=\"cause\">{10}</p>\n<p class=\"meta\">shortest {kind}: {n} step{6} · sysfs {7} · bounds: {8} processes × {9} VMAs</p>\n</header>\n",
        esc(def.name()),
        esc(&spec.name),
        esc(&spec.title),
        verdict.symbol(),
        verdict,
        esc(&meaning_line(def)),
        if n == 1 { "" } else { "s" },
        t.init.sysfs,
        spec.bounds.processes,
        vmas,
        esc(&mmflags_model::cause::cause(&sys, def, t).text),
    );

    h.push_str("<main>\n<nav aria-label=\"steps\">\n<ol>\n");
    let _ = writeln!(
        h,
        "<li><a href=\"#step-0\" data-step=\"0\"><span class=\"n\">0</span><span>initial state</span></a></li>"
    );
    for (i, (a, r, _)) in t.steps.iter().enumerate() {
        let last = if i + 1 == n { " class=\"last\"" } else { "" };
        let _ = writeln!(
            h,
            "<li{last}><a href=\"#step-{0}\" data-step=\"{0}\"><span class=\"n\">{0}</span><span>{1}</span></a></li>",
            i + 1,
            call_html(&a.to_string(), &r.to_string(), r.is_err())
        );
    }
    h.push_str("</ol>\n<p class=\"keys\"><kbd>→</kbd> <kbd>j</kbd> next · <kbd>←</kbd> <kbd>k</kbd> previous · <kbd>Home</kbd> <kbd>End</kbd> first, last</p>\n</nav>\n<section class=\"stage\">\n");

    let mut prev = t.init;
    for k in 0..=n {
        let walk = Walk { init: t.init, steps: t.steps[..k].to_vec() };
        let (state, head, changed) = match k {
            0 => (
                t.init,
                "<strong>initial state</strong>".to_string(),
                vec!["(the initial state)".to_string()],
            ),
            _ => {
                let (a, r, s) = &t.steps[k - 1];
                let mut d = diff(&prev, s, vmas);
                if d.is_empty() {
                    d.push("nothing".into());
                }
                (*s, call_html(&a.to_string(), &r.to_string(), r.is_err()), d)
            }
        };
        let _ = write!(
            h,
            "<article class=\"step\" id=\"step-{k}\">\n<div class=\"bar\">\
             <button class=\"nojs-hide\" data-go=\"-1\"{} aria-label=\"previous step\">‹</button>\
             <span class=\"count\">step {k} of {n}</span>\
             <button class=\"nojs-hide\" data-go=\"1\"{} aria-label=\"next step\">›</button> {head}</div>\n\
             <div class=\"pic\">{}</div>\n<div class=\"boxes\">\n\
             <div class=\"box\"><h3>changed by this step</h3>{}</div>\n\
             <div class=\"box\"><h3>state</h3>{}</div>\n</div>\n</article>\n",
            if k == 0 { " disabled" } else { "" },
            if k == n { " disabled" } else { "" },
            svg::render(&sys, &walk),
            pre(&changed),
            pre(&describe(&state, vmas)),
        );
        prev = state;
    }
    h.push_str("</section>\n</main>\n<footer>\n");

    let _ = write!(
        h,
        "<h2>Replay it</h2>\n<p>The trace is a trace file: save it as <code>t.trace</code> and run \
         <code>{}</code>.</p>\n<pre>{}</pre>\n",
        esc(&format!("cargo run --release --bin check -- replay {spec_arg} t.trace")),
        esc(&trace_text(&sys, def, t, false))
    );
    if let Some(url) = explorer::link(&sys, t, explorer::DEFAULT_ADDR) {
        let _ = write!(
            h,
            "<h2>Open it in the explorer</h2>\n<p>Start <code>{}</code>, then open \
             <a href=\"{1}\">{1}</a> to branch off any step.</p>\n",
            esc(&explorer::command(spec_arg)),
            esc(&url)
        );
    }
    let _ = write!(h, "</footer>\n<script>{SCRIPT}</script>\n</body>\n</html>\n");
    h
}
