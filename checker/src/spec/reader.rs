//! Typed reads of a spec's merged sections: a key as a string, a boolean,
//! an integer in range, an array of strings or of flag names, each error at
//! the key or item that caused it.

use super::sections::{Entry, Located, Sections, Val};
use super::{err, suggest, SpecError};

pub(super) struct Reader<'a> {
    pub(super) sections: &'a Sections,
}

impl<'a> Reader<'a> {
    pub(super) fn get(&self, sec: &str, key: &str) -> Option<&'a Entry> {
        self.sections.get(sec).and_then(|s| s.get(key))
    }

    pub(super) fn string(&self, sec: &str, key: &str) -> Result<Option<String>, SpecError> {
        match self.get(sec, key) {
            None => Ok(None),
            Some(e) => e.value.as_str().map(|s| Some(s.to_string())).ok_or_else(|| {
                err(
                    &e.file,
                    e.value_at,
                    format!("[{sec}] {key} must be a string, found {}", e.value.type_str()),
                )
            }),
        }
    }

    pub(super) fn boolean(&self, sec: &str, key: &str) -> Result<Option<bool>, SpecError> {
        match self.get(sec, key) {
            None => Ok(None),
            Some(e) => e.value.as_bool_val().map(Some).ok_or_else(|| {
                err(
                    &e.file,
                    e.value_at,
                    format!("[{sec}] {key} must be true or false, found {}", e.value.type_str()),
                )
            }),
        }
    }

    /// An integer within `lo..=hi`.
    pub(super) fn int(
        &self,
        sec: &str,
        key: &str,
        lo: i64,
        hi: i64,
        why: &str,
    ) -> Result<Option<usize>, SpecError> {
        let Some(e) = self.get(sec, key) else {
            return Ok(None);
        };
        let n = match e.value {
            Val::Int(Some(n)) => n,
            Val::Int(None) => {
                return Err(err(
                    &e.file,
                    e.value_at,
                    format!("[{sec}] {key} is too large for a 64-bit integer: {why}"),
                ))
            }
            _ => {
                return Err(err(
                    &e.file,
                    e.value_at,
                    format!("[{sec}] {key} must be an integer, found {}", e.value.type_str()),
                ))
            }
        };
        if n < lo || n > hi {
            return Err(err(&e.file, e.value_at, format!("[{sec}] {key} = {n} is out of range: {why}")));
        }
        Ok(Some(n as usize))
    }

    /// An array of strings, each with its position.
    pub(super) fn strings(&self, sec: &str, key: &str) -> Result<Option<Vec<Located>>, SpecError> {
        let Some(e) = self.get(sec, key) else {
            return Ok(None);
        };
        let Val::Array(arr) = &e.value else {
            return Err(err(
                &e.file,
                e.value_at,
                format!("[{sec}] {key} must be an array of strings, like [\"a\", \"b\"]"),
            ));
        };
        arr.iter()
            .map(|(item, at)| {
                item.as_str().map(|s| (s.to_string(), *at, e.file.clone())).ok_or_else(|| {
                    err(&e.file, *at, format!("[{sec}] {key} holds strings only, found {}", item.type_str()))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// An array of flag names, parsed with `lookup`.
    pub(super) fn flags<T>(
        &self,
        sec: &str,
        key: &str,
        lookup: impl Fn(&str) -> Option<T>,
        names: &[&'static str],
        fold: impl Fn(T, T) -> T,
        empty: T,
    ) -> Result<Option<T>, SpecError> {
        let Some(items) = self.strings(sec, key)? else {
            return Ok(None);
        };
        let mut acc = empty;
        for (s, at, f) in items {
            let v = lookup(&s).ok_or_else(|| {
                err(
                    &f,
                    at,
                    format!("[{sec}] {key}: unknown flag `{s}`{}", suggest(&s, names.iter().copied())),
                )
            })?;
            acc = fold(acc, v);
        }
        Ok(Some(acc))
    }
}
