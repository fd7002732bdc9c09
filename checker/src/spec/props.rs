//! `[properties]`: the invariants and goals a spec writes itself, in the
//! predicate language (`mmflags_model::predicate`). Each is a table
//!
//! ```toml
//! [properties.no_hugepage_default]
//! always = "all p: not p.def_flags has VM_HUGEPAGE"   # or `sometimes = "..."`
//! meaning = "no process has VM_HUGEPAGE in def_flags"
//! premise = "any p: p.cred == setuid-root"             # optional, `always` only
//! ```
//!
//! checked and compiled here, once per load. A predicate's error is a byte
//! offset into its text; it is reported at the line and column of that
//! byte inside the TOML string as written (escapes, multi-line strings and
//! all), so the column points at the offending token.

use super::sections::{Entry, Sections, Val};
use super::{err, suggest, SpecError};
use mmflags_model::predicate::Predicate;
use mmflags_model::properties::{self, Kind};
use mmflags_model::property::SpecProperty;
use std::sync::Arc;

const FIELDS: [&str; 4] = ["always", "sometimes", "meaning", "premise"];
/// Most properties one spec defines (each may bring a premise).
pub const MAX_USER_PROPERTIES: usize = 32;
/// Longest property name: names become report file names.
const MAX_NAME: usize = 64;

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase())
        && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        && s.len() <= MAX_NAME
}

/// The properties `sections` define (after `extends`), in name order.
pub(super) fn user_properties(sections: &Sections) -> Result<Vec<Arc<SpecProperty>>, SpecError> {
    let mut out = Vec::new();
    for (name, e) in sections.get("properties").into_iter().flatten() {
        if !is_name(name) {
            return Err(err(
                &e.file,
                e.key_at,
                format!("`{name}` is not a property name: lowercase letters, digits and `_`, starting with a letter, at most {MAX_NAME} (it names report files), like `no_hugepage_default`"),
            ));
        }
        if properties::by_name(name).is_some() || properties::premise_by_name(name).is_some() {
            return Err(err(
                &e.file,
                e.key_at,
                format!("`{name}` is the name of a catalogue property; a property a spec defines needs a name of its own, like `my_{name}`"),
            ));
        }
        if out.len() == MAX_USER_PROPERTIES {
            return Err(err(
                &e.file,
                e.key_at,
                format!("a spec defines at most {MAX_USER_PROPERTIES} properties"),
            ));
        }
        let Val::Table(fields) = &e.value else {
            return Err(err(
                &e.file,
                e.value_at,
                format!("`[properties] {name}` must be a table: write `[properties.{name}]` with `always = \"...\"` (or `sometimes`) and `meaning = \"...\"`"),
            ));
        };
        out.push(Arc::new(one(name, e, fields)?));
    }
    Ok(out)
}

fn one(
    name: &str,
    e: &Entry,
    fields: &std::collections::BTreeMap<String, Entry>,
) -> Result<SpecProperty, SpecError> {
    for (k, f) in fields {
        if !FIELDS.contains(&k.as_str()) {
            return Err(err(
                &f.file,
                f.key_at,
                format!("unknown key `{k}` in [properties.{name}]{}", suggest(k, FIELDS)),
            ));
        }
        if f.value.as_str().is_none() {
            return Err(err(
                &f.file,
                f.value_at,
                format!("[properties.{name}] {k} must be a string, found {}", f.value.type_str()),
            ));
        }
    }
    let (pred, kind) = match (fields.get("always"), fields.get("sometimes")) {
        (Some(_), Some(s)) => {
            return Err(err(
                &s.file,
                s.key_at,
                format!("`{name}` has both `always` and `sometimes`; a property is one of them"),
            ))
        }
        (Some(a), None) => (a, Kind::Always),
        (None, Some(s)) => (s, Kind::Sometimes),
        (None, None) => {
            return Err(err(
                &e.file,
                e.key_at,
                format!("`{name}` needs `always = \"...\"` (an invariant) or `sometimes = \"...\"` (a state to reach)"),
            ))
        }
    };
    let meaning = match fields.get("meaning") {
        None => {
            return Err(err(
                &e.file,
                e.key_at,
                format!(
                    "`{name}` needs `meaning = \"...\"`: one line saying what it checks, for the reports"
                ),
            ))
        }
        Some(m) if m.value.as_str().is_some_and(|s| s.trim().is_empty()) => {
            return Err(err(
                &m.file,
                m.value_at,
                format!("[properties.{name}] meaning is empty; say what it checks"),
            ))
        }
        Some(m) => m.value.as_str().expect("checked").trim().to_string(),
    };
    let premise = match fields.get("premise") {
        Some(p) if kind == Kind::Sometimes => {
            return Err(err(
                &p.file,
                p.key_at,
                format!("`{name}` is a `sometimes` property; a premise (the case an invariant rules on) belongs to an `always` one"),
            ))
        }
        Some(p) => Some(Arc::new(SpecProperty {
            name: format!("{name}.premise"),
            kind: Kind::Sometimes,
            meaning: format!("the premise of `{name}`: {}", p.value.as_str().expect("checked").trim()),
            predicate: compile(p)?,
            premise: None,
        })),
        None => None,
    };
    Ok(SpecProperty { name: name.to_string(), kind, meaning, predicate: compile(pred)?, premise })
}

/// The predicate in string entry `e`, or its error at its place in the file.
fn compile(e: &Entry) -> Result<Predicate, SpecError> {
    let text = e.value.as_str().expect("checked");
    Predicate::compile(text).map_err(|pe| {
        let raw = e.raw.as_deref().unwrap_or("");
        err(&e.file, advance(e.value_at, &raw[..raw_offset(raw, pe.at)]), pe.msg)
    })
}

/// The position after `text`, starting at `at` (columns in characters, as `input::line_col`).
fn advance(at: (usize, usize), text: &str) -> (usize, usize) {
    let (mut line, mut col) = at;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// Where byte `at` of a TOML string's value sits in `raw`, the string as
/// written (quotes included): basic strings decode escapes (`\"`, `\u00e9`),
/// multi-line ones drop the newline after the opening quotes and a
/// backslash at the end of a line with the whitespace after it; literal
/// strings are the value itself.
fn raw_offset(raw: &str, at: usize) -> usize {
    let (delim, basic) = if raw.starts_with("\"\"\"") {
        (3, true)
    } else if raw.starts_with("'''") {
        (3, false)
    } else if raw.starts_with('"') {
        (1, true)
    } else if raw.starts_with('\'') {
        (1, false)
    } else {
        return 0;
    };
    let end = raw.len().saturating_sub(delim).max(delim.min(raw.len()));
    let mut i = delim.min(raw.len());
    if delim == 3 {
        if raw[i..].starts_with("\r\n") {
            i += 2;
        } else if raw[i..].starts_with('\n') {
            i += 1;
        }
    }
    let mut decoded = 0;
    while i < end {
        let Some(c) = raw[i..].chars().next() else { break };
        let rest = &raw[i + c.len_utf8()..];
        let next = rest.chars().next();
        if basic && c == '\\' && next.is_some_and(char::is_whitespace) {
            // A line-ending backslash: it and all whitespace after it vanish.
            i += 1;
            while let Some(w) = raw[i.min(end)..end].chars().next().filter(|w| w.is_whitespace()) {
                i += w.len_utf8();
            }
            continue;
        }
        if decoded >= at {
            break;
        }
        if !(basic && c == '\\') {
            i += c.len_utf8();
            decoded += c.len_utf8();
            continue;
        }
        match next {
            Some(u @ ('u' | 'U')) => {
                let n = if u == 'u' { 4 } else { 8 };
                let ch =
                    rest.get(1..1 + n).and_then(|h| u32::from_str_radix(h, 16).ok()).and_then(char::from_u32);
                i += 2 + n;
                decoded += ch.map_or(1, |c| c.len_utf8());
            }
            Some(c) => {
                i += 1 + c.len_utf8();
                decoded += 1;
            }
            None => break,
        }
    }
    let mut i = i.min(end);
    while !raw.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_into_the_string_as_written() {
        // Value `all p: "x"` written with escaped quotes: byte 7 (`"`) is raw 8.
        assert_eq!(raw_offset(r#""all p: \"x\"""#, 7), 8);
        assert_eq!(raw_offset(r#""all p: \"x\"""#, 8), 10);
        assert_eq!(raw_offset("'all p: x'", 7), 8);
        assert_eq!(raw_offset("\"\"\"\nab\ncd\"\"\"", 3), 7);
        assert_eq!(raw_offset("\"\"\"\r\nab \\\r\n   cd\"\"\"", 3), 14);
        assert_eq!(raw_offset(r#""\u00e9x""#, 2), 7);
        assert_eq!(raw_offset("'''\nab'''", 2), 6);
        // The end of the value is the closing quote.
        assert_eq!(raw_offset("\"ab\"", 99), 3);
        assert_eq!(raw_offset("\"", 5), 1);
        assert_eq!(advance((3, 10), "ab\ncd"), (4, 3));
    }

    #[test]
    fn names_are_file_safe() {
        assert!(is_name("no_hugepage_default") && is_name("p2"));
        for bad in ["", "2p", "No", "a-b", "a.b", "a b", "../x", &"a".repeat(65)] {
            assert!(!is_name(bad), "{bad}");
        }
    }
}
