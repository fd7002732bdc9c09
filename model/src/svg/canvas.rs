//! The drawing vocabulary of the state picture: the style sheet, the
//! sizes, text measuring and wrapping, and a small writer of SVG elements.
//! Kept apart from what is drawn (`card.rs`, `svg.rs`) so the look can be
//! tuned in one place.

use crate::flags::{MmfFlags, VmFlags};
use std::fmt::Write;

pub const MARGIN: i32 = 16;
pub const COL_W: i32 = 264;
pub const GAP: i32 = 12;
pub const PAD: i32 = 10;
/// Where values and chips start inside a card (after the row label).
pub const LABEL_W: i32 = 62;
pub const CHIP_W: i32 = 22;
pub const CHIP_STEP: i32 = 25;
pub const ROW_H: i32 = 24;
pub const LINE_H: i32 = 16;
/// Characters of ghost words per card line.
pub const GHOST_CHARS: usize = 30;

/// Colours and type, scoped by the `mmf` prefix because the explorer inlines
/// the SVG into its page, where an inline SVG's `<style>` applies to the
/// whole document. Light GitHub-like colours: the picture is a white card
/// in the explorer's dark pane, in the HTML viewer and on a report page.
pub const STYLE: &str = "\
.mmf{font-family:system-ui,-apple-system,'Segoe UI','DejaVu Sans',sans-serif;font-size:11px;fill:#1f2328}\
.mmf-bg{fill:#fff;stroke:#d0d7de}\
.mmf-card{fill:#f6f8fa;stroke:#d0d7de}\
.mmf-card-new{fill:#f6f8fa;stroke:#d4a72c;stroke-width:2}\
.mmf-card-bad{fill:#fff;stroke:#cf222e;stroke-width:2}\
.mmf-gone{fill:none;stroke:#afb8c1;stroke-dasharray:5 4}\
.mmf-sep{stroke:#d8dee4}\
.mmf-chg{fill:#fff8c5}.mmf-bar{fill:#d4a72c}.mmf-ring{fill:none;stroke:#bf8700;stroke-width:2}\
.mmf-mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace}\
.mmf-mut{fill:#656d76}.mmf-lbl{fill:#656d76;font-size:10px}.mmf-faint{fill:#8c959f}\
.mmf-h1{font-size:13px;font-weight:600}.mmf-pid{font-size:15px;font-weight:700}\
.mmf-err{fill:#cf222e;font-weight:600}.mmf-ok{fill:#1a7f37;font-weight:600}\
.mmf-ct{font-size:10px;text-anchor:middle}\
.c-hg{fill:#dafbe1;stroke:#1a7f37}.t-hg{fill:#116329}\
.c-nh{fill:#fff1e5;stroke:#bc4c00}.t-nh{fill:#953800}\
.c-lk{fill:#fbefff;stroke:#8250df}.t-lk{fill:#6639ba}\
.c-fk{fill:#ddf4ff;stroke:#0969da}.t-fk{fill:#0550ae}\
.c-nt{fill:#eaeef2;stroke:#afb8c1}.t-nt{fill:#424a53}\
.c-off{fill:#fff;stroke:#e1e4e8}.t-off{fill:#c1c8cf}\
.c-on{fill:#24292f;stroke:#24292f}.t-on{fill:#fff}\
.c-thp{fill:#1a7f37;stroke:#1a7f37}.t-thp{fill:#fff;font-weight:700}\
.c-bad{fill:#ffebe9;stroke:#cf222e}.t-bad{fill:#a40e26;font-weight:600}\
.c-wit{fill:#ddf4ff;stroke:#0969da}.t-wit{fill:#0550ae;font-weight:600}\
.c-sys{fill:#eaeef2;stroke:#d0d7de}.t-sys{fill:#424a53}";

/// Estimated width of `s` in a monospace font of `px` pixels (0.6 em).
pub fn mono_w(s: &str, px: i32) -> i32 {
    (s.chars().count() as i32 * px * 3 + 4) / 5
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Joins `words` with `sep` into lines of at most `max` characters (a word
/// longer than that gets a line of its own).
pub fn wrap(words: &[String], sep: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in words {
        match lines.last_mut() {
            Some(l) if l.chars().count() + sep.chars().count() + word.chars().count() <= max => {
                l.push_str(sep);
                l.push_str(word);
            }
            _ => lines.push(word.clone()),
        }
    }
    lines
}

/// `s` split at spaces into lines of at most `max` characters.
pub fn wrap_text(s: &str, max: usize) -> Vec<String> {
    let words: Vec<String> = s.split(' ').map(str::to_string).collect();
    wrap(&words, " ", max)
}

/// Lays chips labelled `labels` out left to right in `width`, wrapping:
/// (x offset, line) per chip, and the number of lines (at least 1).
pub fn flow(labels: &[&str], width: i32) -> (Vec<(i32, i32)>, i32) {
    let (mut x, mut line, mut out) = (0, 0, Vec::new());
    for l in labels {
        let w = chip_w(l);
        if x > 0 && x + w > width {
            x = 0;
            line += 1;
        }
        out.push((x, line));
        x += w + 4;
    }
    (out, line + 1)
}

/// The width of a chip that fits `label`.
pub fn chip_w(label: &str) -> i32 {
    mono_w(label, 10) + 10
}

/// The chip colour of a VMA flag: THP advice, mlock, fork behaviour.
pub fn vm_class(f: VmFlags) -> &'static str {
    if f == VmFlags::VM_HUGEPAGE {
        "hg"
    } else if f == VmFlags::VM_NOHUGEPAGE {
        "nh"
    } else if VmFlags::VM_LOCKED_MASK.contains(f) {
        "lk"
    } else {
        "fk"
    }
}

/// The chip colour of an mm flag, by what it does to THP: disabling bits
/// like `nh`, raising bits like `hg`, other policy bits blue, bookkeeping grey.
pub fn mmf_class(f: MmfFlags) -> &'static str {
    if MmfFlags::MMF_DISABLE_THP_MASK.contains(f) {
        "nh"
    } else if MmfFlags::THP_RAISING.contains(f) {
        "hg"
    } else if MmfFlags::THP_POLICY.contains(f) {
        "fk"
    } else {
        "nt"
    }
}

/// An SVG body being written.
#[derive(Default)]
pub struct Canvas {
    pub out: String,
}

impl Canvas {
    pub fn rect(&mut self, x: i32, y: i32, w: i32, h: i32, rx: i32, class: &str) {
        let _ =
            write!(self.out, r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{rx}" class="{class}"/>"#);
    }

    pub fn line(&mut self, x1: i32, x2: i32, y: i32) {
        let _ = write!(self.out, r#"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" class="mmf-sep"/>"#);
    }

    pub fn text(&mut self, x: i32, y: i32, class: &str, s: &str) {
        let _ = write!(self.out, r#"<text x="{x}" y="{y}" class="{class}">{}</text>"#, esc(s));
    }

    /// A labelled chip; `class` picks the colour pair `c-*` / `t-*`.
    pub fn chip(&mut self, x: i32, y: i32, w: i32, class: &str, label: &str) {
        self.rect(x, y, w, 16, 4, &format!("c-{class}"));
        self.text(x + w / 2, y + 12, &format!("mmf-mono mmf-ct t-{class}"), label);
    }

    /// A ring around a chip whose bit the last step flipped.
    pub fn ring(&mut self, x: i32, y: i32, w: i32) {
        self.rect(x - 2, y - 2, w + 4, 20, 5, "mmf-ring");
    }

    /// Opens a group whose tooltip is `title`; `close` ends it.
    pub fn open_title(&mut self, title: &str) {
        let _ = write!(self.out, "<g><title>{}</title>", esc(title));
    }

    pub fn close(&mut self) {
        self.out.push_str("</g>");
    }

    /// The changed-by-the-last-step band behind a row of the card at `x`.
    pub fn changed(&mut self, x: i32, y: i32, h: i32) {
        self.rect(x + 1, y, COL_W - 2, h, 0, "mmf-chg");
        self.rect(x, y, 3, h, 0, "mmf-bar");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_words_whole_and_lines_short() {
        let w: Vec<String> =
            ["exec-fresh", "default-by-unpriv", "secure-exec-kept"].iter().map(|s| s.to_string()).collect();
        assert_eq!(wrap(&w, " · ", 30), vec!["exec-fresh · default-by-unpriv", "secure-exec-kept"]);
        assert_eq!(wrap_text("a bb ccc", 4), vec!["a bb", "ccc"]);
    }

    #[test]
    fn flow_wraps_chips_that_do_not_fit() {
        let (pos, lines) = flow(&["DUMPABLE", "DISABLE_THP_COMPLETELY"], 182);
        assert_eq!(lines, 2);
        assert_eq!(pos[1], (0, 1));
        assert_eq!(flow(&[], 100).1, 1);
    }

    #[test]
    fn text_is_escaped() {
        let mut c = Canvas::default();
        c.text(0, 0, "x", "mm->flags <&>");
        assert!(c.out.contains("mm-&gt;flags &lt;&amp;&gt;"));
    }
}
