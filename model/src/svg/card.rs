//! One process's card in the state picture: its name and who forked it,
//! credentials and image, `def_flags`, `mm->flags`, one row per VMA slot,
//! and its ghost (history) bits, with what the last step changed banded in
//! amber and the properties this process breaks on its own in red.

use super::canvas::*;
use crate::flags::{MmfFlags, VmFlags};
use crate::properties::Kind;
use crate::state::{Process, State, MAX_PROCS, MAX_VMAS};
use crate::thp::thp_eligible;
use crate::System;

/// Vertical layout of a card (baselines and row tops), shared by every
/// column so that `def_flags`, `v0`, `v1`, ... line up across processes.
pub struct Rows {
    pub blame: i32,
    pub cred: i32,
    pub image: i32,
    pub def: i32,
    pub mmf: i32,
    pub vma: i32,
    pub ghost: i32,
    pub end: i32,
}

impl Rows {
    /// Rows for cards starting at `top` whose longest blame list, mm flag
    /// flow and ghost text take the given numbers of lines.
    pub fn new(top: i32, blame_lines: i32, mmf_lines: i32, vmas: usize, ghost_lines: i32) -> Rows {
        let blame = top + 30;
        let cred = blame + blame_lines * 20 + 14;
        let image = cred + 20;
        let def = image + 20;
        let mmf = def + ROW_H;
        let vma = mmf + mmf_lines * 20 + 8;
        let ghost = vma + vmas as i32 * ROW_H + 8;
        Rows { blame, cred, image, def, mmf, vma, ghost, end: ghost + ghost_lines * LINE_H + 8 }
    }
}

/// What every card needs: the system, the state, the state before the last
/// step, who forked whom, and the shared row layout starting at `top`.
pub struct Ctx<'a> {
    pub sys: &'a System,
    pub s: &'a State,
    pub prev: Option<&'a State>,
    pub parent: [Option<u8>; MAX_PROCS],
    pub rows: Rows,
    pub top: i32,
}

/// The set bits of `flags` as (bit, label) in the table's order, labelled
/// without the `MMF_` prefix as `MmfFlags`'s Display prints them.
pub fn mmf_bits(flags: MmfFlags) -> Vec<(MmfFlags, &'static str)> {
    MmfFlags::NAMES
        .iter()
        .filter(|(b, _)| flags.contains(*b))
        .map(|(b, n)| (*b, MmfFlags::short_name(n)))
        .collect()
}

/// Lines of the mm flag chips of `p`.
pub fn mmf_lines(p: &Process) -> i32 {
    let labels: Vec<&str> = mmf_bits(p.mm.flags).iter().map(|b| b.1).collect();
    flow(&labels, COL_W - PAD - LABEL_W - PAD).1
}

/// The ghost (history) words of a process, with its opted-out VMAs, as
/// lines that fit a card.
pub fn history(p: &Process, vmas: usize) -> Vec<String> {
    let mut words: Vec<String> = p.ghost.names().iter().map(|s| s.to_string()).collect();
    words.extend(p.ghost.origin_words());
    for (i, v) in p.mm.vmas.iter().enumerate().take(vmas) {
        if v.flags.is_some() && !v.ghost.to_string().is_empty() {
            words.push(format!("v{i}{}", v.ghost));
        }
    }
    if words.is_empty() {
        words.push("—".to_string());
    }
    wrap(&words, " · ", GHOST_CHARS)
}

/// The properties that process `pid` decides on its own: evaluated on the
/// state with only that process, an `always` one that fails there (true) or
/// a `sometimes` one that holds there (false). Every catalogue predicate
/// quantifies over processes, so this names the culprit; a property no
/// single process decides is shown only in the picture's header.
pub fn blame<'a>(sys: &'a System, s: &State, pid: usize) -> Vec<(&'a str, bool)> {
    let mut alone = *s;
    for (i, slot) in alone.procs.iter_mut().enumerate() {
        if i != pid {
            *slot = None;
        }
    }
    sys.properties
        .iter()
        .filter_map(|p| match (p.kind(), p.holds(sys, &alone)) {
            (Kind::Always, false) => Some((p.name(), true)),
            (Kind::Sometimes, true) => Some((p.name(), false)),
            _ => None,
        })
        .collect()
}

/// One row of six flag chips (`hg nh lo lf dc wf`, VmFlags's own table),
/// with a ring on each bit that differs from `was`.
fn flag_chips(c: &mut Canvas, x: i32, y: i32, flags: VmFlags, was: Option<VmFlags>) {
    for (i, (bit, _, mnemonic)) in VmFlags::NAMES.iter().enumerate() {
        let cx = x + i as i32 * CHIP_STEP;
        let on = flags.contains(*bit);
        c.chip(cx, y, CHIP_W, if on { vm_class(*bit) } else { "off" }, mnemonic);
        if was.is_some_and(|w| w.contains(*bit) != on) {
            c.ring(cx, y, CHIP_W);
        }
    }
}

/// Draws the card of live process `pid` at column position `x`.
pub fn card(c: &mut Canvas, cx: &Ctx, pid: usize, x: i32) {
    let Some(p) = cx.s.proc(pid) else { return };
    // This slot's process before the last step; `None` when it is new.
    let before = cx.prev.and_then(|t| t.proc(pid));
    let is_new = cx.prev.is_some() && before.is_none();
    let blamed = blame(cx.sys, cx.s, pid);
    let class = if blamed.iter().any(|b| b.1) {
        "mmf-card-bad"
    } else if is_new {
        "mmf-card-new"
    } else {
        "mmf-card"
    };
    c.rect(x, cx.top, COL_W, cx.rows.end - cx.top, 8, class);
    head(c, cx, pid, x, is_new, &blamed);
    creds(c, &cx.rows, p, before, x);
    mm(c, &cx.rows, p, before, x);
    vmas(c, cx, p, before, x);
    ghosts(c, cx, p, before, x);
}

fn head(c: &mut Canvas, cx: &Ctx, pid: usize, x: i32, is_new: bool, blamed: &[(&str, bool)]) {
    let top = cx.top;
    if is_new {
        c.changed(x, top + 1, 26);
    }
    c.text(x + PAD, top + 20, "mmf-pid", &format!("P{pid}"));
    let origin = match (pid, cx.parent[pid]) {
        (0, _) => "initial process".to_string(),
        (_, Some(pp)) => format!("forked by P{pp}"),
        _ => String::new(),
    };
    c.text(x + PAD + 30, top + 19, "mmf-mut", &origin);
    if is_new {
        c.text(x + COL_W - PAD - 24, top + 19, "mmf-err", "new");
    }
    for (k, (name, violated)) in blamed.iter().enumerate() {
        let (class, mark) = if *violated { ("bad", "✘") } else { ("wit", "◆") };
        let label = format!("{mark} {name}");
        let w = chip_w(&label).min(COL_W - 2 * PAD);
        c.chip(x + PAD, cx.rows.blame + k as i32 * 20, w, class, &label);
    }
}

/// Credentials with the capability they carry and who shares the mm;
/// image with NNP and AT_SECURE.
fn creds(c: &mut Canvas, r: &Rows, p: &Process, before: Option<&Process>, x: i32) {
    let (xi, xv, right) = (x + PAD, x + PAD + LABEL_W, x + COL_W - PAD);
    if before.is_some_and(|b| b.cred != p.cred || b.link != p.link) {
        c.changed(x, r.cred - 14, 20);
    }
    c.text(xi, r.cred, "mmf-lbl", "cred");
    c.text(xv, r.cred, "mmf-mono", &p.cred.to_string());
    let (caps, class) = if p.cap_sys_admin() { ("CAP_SYS_ADMIN", "hg") } else { ("no caps", "off") };
    c.chip(right - chip_w(caps), r.cred - 12, chip_w(caps), class, caps);
    // A task that shares its mm: with whom (`mm=P0 thread vfork-child-of=P0`).
    let link = p.link.to_string();
    let link = link.trim();
    if !link.is_empty() {
        let at = right - chip_w(caps) - 4 - chip_w(link);
        c.chip(at, r.cred - 12, chip_w(link), "on", link);
    }

    let exec = |q: &Process| (q.image, q.no_new_privs, q.secure_exec);
    if before.is_some_and(|b| exec(b) != exec(p)) {
        c.changed(x, r.image - 14, 20);
    }
    c.text(xi, r.image, "mmf-lbl", "image");
    c.text(xv, r.image, "mmf-mono", &p.image.to_string());
    let mut bx = right;
    for (on, label) in [(p.secure_exec, "AT_SECURE"), (p.no_new_privs, "NNP")] {
        bx -= chip_w(label);
        c.chip(bx, r.image - 12, chip_w(label), if on { "on" } else { "off" }, label);
        bx -= 4;
    }
    c.line(xi, right, r.image + 9);
}

/// `def_flags` (as six chips, like a VMA: it is ORed into new VMAs) and
/// one chip per set `mm->flags` bit.
fn mm(c: &mut Canvas, r: &Rows, p: &Process, before: Option<&Process>, x: i32) {
    let (xi, xv) = (x + PAD, x + PAD + LABEL_W);
    if before.is_some_and(|b| b.mm.def_flags != p.mm.def_flags) {
        c.changed(x, r.def - 3, ROW_H - 2);
    }
    c.open_title(&format!("def_flags={}", p.mm.def_flags));
    c.text(xi, r.def + 12, "mmf-lbl", "def_flags");
    flag_chips(c, xv, r.def, p.mm.def_flags, before.map(|b| b.mm.def_flags));
    c.close();

    let bits = mmf_bits(p.mm.flags);
    if before.is_some_and(|b| b.mm.flags != p.mm.flags) {
        c.changed(x, r.mmf - 3, r.vma - r.mmf - 6);
    }
    c.open_title(&format!("mm->flags={}", p.mm.flags));
    c.text(xi, r.mmf + 12, "mmf-lbl", "mm->flags");
    if bits.is_empty() {
        c.text(xv, r.mmf + 12, "mmf-faint", "—");
    }
    let labels: Vec<&str> = bits.iter().map(|b| b.1).collect();
    let (pos, _) = flow(&labels, COL_W - PAD - LABEL_W - PAD);
    for ((bit, label), (dx, line)) in bits.iter().zip(pos) {
        let (bx, by) = (xv + dx, r.mmf + line * 20);
        c.chip(bx, by, chip_w(label), mmf_class(*bit), label);
        if before.is_some_and(|b| !b.mm.flags.contains(*bit)) {
            c.ring(bx, by, chip_w(label));
        }
    }
    c.close();
    c.line(xi, x + COL_W - PAD, r.vma - 5);
}

/// One row per VMA slot within the spec's bound: its flags, and whether
/// it is THP-eligible (`thp_eligible`, smaps `THPeligible`).
fn vmas(c: &mut Canvas, cx: &Ctx, p: &Process, before: Option<&Process>, x: i32) {
    let (xi, xv, right) = (x + PAD, x + PAD + LABEL_W, x + COL_W - PAD);
    for i in 0..cx.sys.bounds.vmas.min(MAX_VMAS) {
        let y = cx.rows.vma + i as i32 * ROW_H;
        let v = p.mm.vmas[i];
        let was = before.map(|b| b.mm.vmas[i]);
        if was.is_some_and(|w| w != v) {
            c.changed(x, y - 3, ROW_H - 2);
        }
        let eligible = v.flags.map(|f| thp_eligible(cx.s.sysfs, f, p.mm.flags));
        c.open_title(&match (v.flags, eligible) {
            (Some(f), Some(e)) => format!("v{i}={f}{} THPeligible={}", v.ghost, u8::from(e)),
            _ => format!("v{i}=unmapped"),
        });
        c.text(xi, y + 12, "mmf-mono", &format!("v{i}"));
        match v.flags {
            Some(f) => {
                flag_chips(c, xv, y, f, was.map(|w| w.flags.unwrap_or_default()));
                let px = xv + 6 * CHIP_STEP + 4;
                let class = if eligible == Some(true) { "thp" } else { "off" };
                c.chip(px, y, right - px, class, "THP");
            }
            None => {
                c.rect(xv, y, right - xv, 16, 4, "mmf-gone");
                c.text((xv + right) / 2, y + 12, "mmf-ct mmf-faint", "unmapped");
            }
        }
        c.close();
    }
}

/// The ghost (history) bits: what the properties read beyond kernel state.
fn ghosts(c: &mut Canvas, cx: &Ctx, p: &Process, before: Option<&Process>, x: i32) {
    let r = &cx.rows;
    let vmas = cx.sys.bounds.vmas;
    let lines = history(p, vmas);
    if before.is_some_and(|b| history(b, vmas) != lines) {
        c.changed(x, r.ghost - 3, r.end - r.ghost - 4);
    }
    c.text(x + PAD, r.ghost + 11, "mmf-lbl", "ghost");
    for (l, line) in lines.iter().enumerate() {
        c.text(x + PAD + LABEL_W, r.ghost + 11 + l as i32 * LINE_H, "mmf-mut", line);
    }
}
