//! A spec file's text as sections of keys, each value kept with the
//! position it was written at (and the file, once `extends` merges files),
//! so that every later error can point at it. Section and key names are
//! checked here, against the one table of what a spec may say.

use super::knobs;
use super::{err, suggest, SpecError};
use crate::input::line_col;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};

/// A value as written, owned, with the positions of array items.
#[derive(Clone, Debug)]
pub(super) enum Val {
    Str(String),
    Int(Option<i64>),
    Bool(bool),
    Array(Vec<(Val, (usize, usize))>),
    /// A table under `[properties]`: its keys as written.
    Table(BTreeMap<String, Entry>),
    Other(&'static str),
}

impl Val {
    /// No knob is an array of arrays; deeper nesting is not read (it only
    /// has to be reported, and recursion must stay bounded).
    const MAX_NESTING: usize = 4;

    fn of(v: &DeValue<'_>, text: &str, depth: usize) -> Val {
        match v {
            DeValue::String(s) => Val::Str(s.to_string()),
            DeValue::Integer(i) => {
                Val::Int(i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok())
            }
            DeValue::Boolean(b) => Val::Bool(*b),
            DeValue::Array(_) if depth >= Self::MAX_NESTING => Val::Other("nested array"),
            DeValue::Array(a) => Val::Array(
                a.iter()
                    .map(|item| (Val::of(item.get_ref(), text, depth + 1), line_col(text, item.span().start)))
                    .collect(),
            ),
            other => Val::Other(other.type_str()),
        }
    }

    pub(super) fn type_str(&self) -> &'static str {
        match self {
            Val::Str(_) => "string",
            Val::Int(_) => "integer",
            Val::Bool(_) => "boolean",
            Val::Array(_) => "array",
            Val::Table(_) => "table",
            Val::Other(t) => t,
        }
    }

    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(super) fn as_bool_val(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

/// One key as written: its value, where it is, and in which file.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) value: Val,
    pub(super) key_at: (usize, usize),
    pub(super) value_at: (usize, usize),
    pub(super) file: PathBuf,
    /// The value's text as written (a string with its quotes and escapes),
    /// for positions inside it; kept for the strings of `[properties]`.
    pub(super) raw: Option<String>,
}

pub(super) type Sections = BTreeMap<String, BTreeMap<String, Entry>>;

/// A string from an array, with its position and file.
pub(super) type Located = (String, (usize, usize), PathBuf);

/// The sections a spec may have and, where the keys are fixed, the keys:
/// `[semantics]` and `[intent]` are the knob table's (`knobs::KNOBS`).
const SECTIONS: &[(&str, Keys)] = &[
    ("spec", Keys::Fixed(&["name", "title", "source", "extends", "kernels", "baseline"])),
    ("semantics", Keys::Knobs),
    ("intent", Keys::Knobs),
    ("bounds", Keys::Fixed(&["processes", "vmas", "sysfs", "depth", "pages_depth", "policies_depth"])),
    ("actions", Keys::Fixed(&["include", "exclude"])),
    ("properties", Keys::Any),
    ("expect", Keys::Any),
];

/// What keys a section may have.
enum Keys {
    Fixed(&'static [&'static str]),
    /// The knobs of the section's name.
    Knobs,
    /// Any (property names), checked later.
    Any,
}

impl Keys {
    fn of(&self, section: &str) -> Vec<&'static str> {
        match self {
            Keys::Fixed(k) => k.to_vec(),
            Keys::Knobs => knobs::of_section(section).map(|k| k.name).collect(),
            Keys::Any => Vec::new(),
        }
    }
}

/// Sections an extending spec replaces as a whole rather than key by key.
pub(super) const WHOLE_SECTIONS: &[&str] = &["bounds", "actions", "expect"];

/// Parses one file's text into sections, checking section and key names.
pub(super) fn sections_of(file: &Path, text: &str) -> Result<Sections, SpecError> {
    let doc = DeTable::parse(text).map_err(|e| {
        let at = e.span().map_or((1, 1), |s| line_col(text, s.start));
        err(file, at, format!("not valid TOML: {}", e.message().trim()))
    })?;
    let mut out = Sections::new();
    for (sec, body) in doc.get_ref().iter() {
        let at = line_col(text, sec.span().start);
        let name = sec.get_ref().as_ref();
        let Some((_, keys)) = SECTIONS.iter().find(|(s, _)| *s == name) else {
            return Err(err(
                file,
                at,
                format!("unknown section `[{name}]`{}", suggest(name, SECTIONS.iter().map(|s| s.0))),
            ));
        };
        let Some(table) = body.get_ref().as_table() else {
            return Err(err(
                file,
                at,
                format!("`{name}` must be a section: write `[{name}]` on its own line"),
            ));
        };
        let keys = keys.of(name);
        let entries = out.entry(name.to_string()).or_default();
        for (k, v) in table.iter() {
            let kname = k.get_ref().as_ref();
            let kat = line_col(text, k.span().start);
            if !keys.is_empty() && !keys.contains(&kname) {
                return Err(err(
                    file,
                    kat,
                    format!("unknown key `{kname}` in [{name}]{}", suggest(kname, keys.iter().copied())),
                ));
            }
            let value = match v.get_ref().as_table() {
                Some(t) if name == "properties" => Val::Table(fields(file, text, t)),
                _ => Val::of(v.get_ref(), text, 0),
            };
            entries.insert(
                kname.to_string(),
                Entry {
                    value,
                    key_at: kat,
                    value_at: line_col(text, v.span().start),
                    file: file.to_path_buf(),
                    raw: None,
                },
            );
        }
    }
    Ok(out)
}

/// The keys of one `[properties.NAME]` table, each string with its text
/// as written (so an error can point inside it).
fn fields(file: &Path, text: &str, t: &DeTable<'_>) -> BTreeMap<String, Entry> {
    t.iter()
        .map(|(k, v)| {
            let span = v.span();
            let raw = matches!(v.get_ref(), DeValue::String(_))
                .then(|| text.get(span.clone()).unwrap_or("").to_string());
            let e = Entry {
                value: Val::of(v.get_ref(), text, 0),
                key_at: line_col(text, k.span().start),
                value_at: line_col(text, span.start),
                file: file.to_path_buf(),
                raw,
            };
            (k.get_ref().to_string(), e)
        })
        .collect()
}
