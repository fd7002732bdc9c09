//! The picture of a state that the explorer, the HTML trace viewer and the
//! reports show (`Model::as_svg`): the step that led here with its result,
//! the properties the state violates (red) or witnesses (blue), one column
//! per live process (see `card.rs`), what the step changed in the words of
//! the text traces (`diff`), and a legend.
//!
//! It lives in the model crate because `impl Model for System` does; it only
//! builds a string. Every word in it comes from the domain types' own tables
//! and `Display`s (`VmFlags::NAMES`, `MmfFlags::NAMES`, `Cred`, `Ret`,
//! `diff`), so the picture says what traces and reports say. The output is a
//! pure function of the walk: no ids, no hash order, so reports embedding it
//! stay byte-for-byte reproducible.

mod canvas;
mod card;

use crate::action::{Call, Ret};
use crate::diff::diff;
use crate::flags::VmFlags;
use crate::properties::Kind;
use crate::state::{State, MAX_PROCS, MAX_VMAS};
use crate::{System, Walk};
use canvas::*;
use card::{blame, card, history, mmf_lines, Ctx, Rows};

/// Who forked each process slot, read from the walk's `fork() = Pn` steps
/// (the state keeps no parent on purpose; see state.rs).
pub fn parents(walk: &Walk) -> [Option<u8>; MAX_PROCS] {
    let mut parent = [None; MAX_PROCS];
    for (a, r, _) in &walk.steps {
        if let (Call::Fork, Ret::Pid(c)) = (a.call, r) {
            if let Some(p) = parent.get_mut(*c as usize) {
                *p = Some(a.pid);
            }
        }
    }
    parent
}

/// The picture of the walk's last state under `sys`'s bounds and properties.
pub fn render(sys: &System, walk: &Walk) -> String {
    let s = walk.steps.last().map_or(walk.init, |st| st.2);
    let prev = match walk.steps.len() {
        0 => None,
        1 => Some(walk.init),
        n => Some(walk.steps[n - 2].2),
    };
    // Columns: live processes, and a dashed one for a process the step ended.
    let cols: Vec<(usize, bool)> = (0..MAX_PROCS)
        .filter_map(|i| match (s.proc(i), prev.as_ref().and_then(|t| t.proc(i))) {
            (Some(_), _) => Some((i, true)),
            (None, Some(_)) => Some((i, false)),
            _ => None,
        })
        .collect();
    let cols_w = cols.len() as i32 * (COL_W + GAP) - GAP;
    let width = (2 * MARGIN + cols_w).max(2 * MARGIN + header_width(walk, &s)).max(560);

    let mut c = Canvas::default();
    header(&mut c, walk, &s, width);
    let top = properties(&mut c, sys, walk, &s, width) + 32;

    let live = || cols.iter().filter(|c| c.1).filter_map(|&(i, _)| s.proc(i).map(|p| (i, p)));
    let vmas = sys.bounds.vmas.min(MAX_VMAS);
    let blame_lines = live().map(|(i, _)| blame(sys, &s, i).len() as i32).max();
    let mmf = live().map(|(_, p)| mmf_lines(p)).max();
    let ghost_lines = live().map(|(_, p)| history(p, vmas).len() as i32).max();
    let ctx = Ctx {
        sys,
        s: &s,
        prev: prev.as_ref(),
        parent: parents(walk),
        rows: Rows::new(top, blame_lines.unwrap_or(0), mmf.unwrap_or(1), vmas, ghost_lines.unwrap_or(1)),
        top,
    };
    for (n, &(pid, is_live)) in cols.iter().enumerate() {
        let x = MARGIN + n as i32 * (COL_W + GAP);
        if is_live {
            card(&mut c, &ctx, pid, x);
        } else {
            c.rect(x, top, COL_W, ctx.rows.end - top, 8, "mmf-gone");
            c.text(x + PAD, top + 20, "mmf-pid mmf-faint", &format!("P{pid}"));
            c.text(x + PAD, top + 40, "mmf-mut", "exited in this step");
        }
    }
    let mut y = ctx.rows.end + 26;
    if let Some(prev) = prev {
        y = changes(&mut c, &prev, &s, vmas, width, y) + 22;
    }
    let height = legend(&mut c, width, y) + MARGIN;

    let title = match walk.steps.last() {
        Some((a, r, _)) => format!("state after {a} = {r}"),
        None => "initial state".to_string(),
    };
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" class="mmf" role="img"><title>{}</title><style>{STYLE}</style><rect x="0.5" y="0.5" width="{}" height="{}" rx="10" class="mmf-bg"/>{}</svg>"#,
        esc(&title),
        width - 1,
        height - 1,
        c.out
    )
}

/// The header's parts: "step N", the call, its result (is it an error?).
fn head_parts(walk: &Walk) -> (String, String, String, bool) {
    match walk.steps.last() {
        Some((a, r, _)) => {
            (format!("step {}", walk.steps.len()), format!("{a} = "), r.to_string(), r.is_err())
        }
        None => ("initial state".into(), String::new(), String::new(), false),
    }
}

fn sysfs_label(s: &State) -> String {
    format!("sysfs THP: {}", s.sysfs)
}

fn header_width(walk: &Walk, s: &State) -> i32 {
    let (_, call, ret, _) = head_parts(walk);
    110 + mono_w(&call, 13) + mono_w(&ret, 13) + chip_w(&sysfs_label(s)) + 20
}

/// "step N  P0 call(...) = result", and the sysfs mode on the right.
fn header(c: &mut Canvas, walk: &Walk, s: &State, width: i32) {
    let (step, call, ret, err) = head_parts(walk);
    c.text(MARGIN, 30, "mmf-h1", &step);
    let x = MARGIN + if walk.steps.is_empty() { 100 } else { 80 };
    c.text(x, 30, "mmf-mono mmf-h1", &call);
    let class = if err { "mmf-err" } else { "mmf-ok" };
    c.text(x + mono_w(&call, 13), 30, &format!("mmf-mono mmf-h1 {class}"), &ret);
    let label = sysfs_label(s);
    let w = chip_w(&label) + 4;
    c.chip(width - MARGIN - w, 18, w, "sys", &label);
}

/// The System's properties in this state: each violated `always` one as a
/// red chip, each witnessed `sometimes` one as a blue chip, the rest counted.
/// Returns the y of the last line.
fn properties(c: &mut Canvas, sys: &System, walk: &Walk, s: &State, width: i32) -> i32 {
    let (mut x, mut y) = (MARGIN, 46);
    let (mut holding, mut unseen) = (0, 0);
    let mut why = Vec::new();
    for p in &sys.properties {
        let (class, label) = match (p.kind(), p.holds(sys, s)) {
            (Kind::Always, false) => ("bad", format!("✘ violated: {}", p.name())),
            (Kind::Sometimes, true) => ("wit", format!("◆ witnessed: {}", p.name())),
            (Kind::Always, true) => {
                holding += 1;
                continue;
            }
            (Kind::Sometimes, false) => {
                unseen += 1;
                continue;
            }
        };
        let w = chip_w(&label) + 4;
        if x > MARGIN && x + w > width - MARGIN {
            (x, y) = (MARGIN, y + 22);
        }
        c.open_title(&format!("{} ({}): {}", p.name(), p.kind(), p.meaning()));
        c.chip(x, y, w, class, &label);
        c.close();
        x += w + 6;
        why.push(crate::cause::cause(sys, p, walk).text);
    }
    let plural = |n: usize, one: &str, many: &str| if n == 1 { one } else { many }.to_string();
    let mut rest = Vec::new();
    if holding > 0 {
        rest.push(format!("✔ {holding} {} here", plural(holding, "invariant holds", "invariants hold")));
    }
    if unseen > 0 {
        rest.push(format!(
            "○ {unseen} {} here",
            plural(unseen, "reachability goal not met", "reachability goals not met")
        ));
    }
    let rest = rest.join(" · ");
    if x > MARGIN && x + mono_w(&rest, 11) > width - MARGIN {
        (x, y) = (MARGIN, y + 22);
    }
    c.text(x, y + 12, "mmf-mut", &rest);
    // What breaks each property (or reaches each goal) and where it came from.
    let chars = ((width - 2 * MARGIN) * 5 / (11 * 3)).max(40) as usize;
    y += 8;
    for text in why {
        for line in wrap_text(&format!("why: {text}"), chars) {
            y += LINE_H;
            c.text(MARGIN, y + 12, "mmf-mut", &line);
        }
    }
    y
}

/// "changed by this step" and `diff`'s lines, wrapped to the width.
/// Returns the y of the last line.
fn changes(c: &mut Canvas, prev: &State, s: &State, vmas: usize, width: i32, mut y: i32) -> i32 {
    c.text(MARGIN, y, "mmf-h1", "changed by this step");
    let lines = diff(prev, s, vmas);
    if lines.is_empty() {
        y += LINE_H + 2;
        c.text(MARGIN + 12, y, "mmf-mut", "nothing: the call returned without changing the state");
    }
    let max = ((width - 2 * MARGIN - 40) / mono_w("m", 11)).max(20) as usize;
    for l in &lines {
        for (k, part) in wrap_text(l, max).iter().enumerate() {
            y += LINE_H;
            c.text(MARGIN + if k > 0 { 36 } else { 12 }, y, "mmf-mono", part);
        }
    }
    y
}

/// The chip colours (from VmFlags's own table), the THP pill and the change
/// band, wrapped to the width. Returns the y of the last line.
fn legend(c: &mut Canvas, width: i32, mut y: i32) -> i32 {
    let mut items: Vec<(&str, &str, &str)> =
        VmFlags::NAMES.iter().map(|(b, k, m)| (vm_class(*b), *m, *k)).collect();
    items.push(("thp", "THP", "THP-eligible (smaps THPeligible)"));
    items.push(("chg", "", "changed by this step"));
    let mut x = MARGIN;
    for (class, chip, name) in items {
        let cw = if chip.is_empty() { CHIP_W } else { chip_w(chip).max(CHIP_W) };
        let w = cw + 5 + mono_w(name, 10) + 16;
        if x > MARGIN && x + w > width - MARGIN {
            (x, y) = (MARGIN, y + 20);
        }
        if class == "chg" {
            c.rect(x, y - 12, cw, 16, 0, "mmf-chg");
            c.rect(x, y - 12, 3, 16, 0, "mmf-bar");
        } else {
            c.chip(x, y - 12, cw, class, chip);
        }
        c.text(x + cw + 5, y, "mmf-lbl mmf-mono", name);
        x += w;
    }
    y
}
