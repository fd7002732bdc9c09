//! `extends`: a spec built on another one in the same directory, key by
//! key for knobs and bounds, whole sections for the questions.

use super::sections::{sections_of, Sections, WHOLE_SECTIONS};
use super::validate::validate;
use super::{err, Spec, SpecError, MAX_EXTENDS, MAX_SPEC_BYTES};
use crate::input;
use mmflags_model::suggest::did_you_mean;
use std::path::{Path, PathBuf};

/// A spec name as `extends` may give it: a file stem in the same directory.
pub(super) fn is_spec_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `chain -> next` by spec names, if `next` is already in `chain` (a
/// cycle of `extends` or of baselines).
pub(super) fn cycle(chain: &[PathBuf], next: &Path) -> Option<String> {
    let next = identity(next);
    chain.contains(&next).then(|| {
        let names: Vec<String> = chain
            .iter()
            .chain([&next])
            .map(|p| p.file_stem().unwrap_or_default().to_string_lossy().into_owned())
            .collect();
        names.join(" -> ")
    })
}

/// The file's identity for cycle detection: symlinks and `..` resolved.
pub(super) fn identity(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Follows the `extends` chain from `file` (already read as `merged`) and validates.
pub(super) fn resolve_extends(file: &Path, mut merged: Sections) -> Result<Spec, SpecError> {
    let mut chain = vec![identity(file)];
    let mut extends = None;
    let mut cur = merged.clone();
    while let Some(e) = cur.get("spec").and_then(|s| s.get("extends")).cloned() {
        let Some(base) = e.value.as_str() else {
            return Err(err(&e.file, e.value_at, "`extends` is the name of another spec, as a string"));
        };
        if !is_spec_name(base) {
            return Err(err(
                &e.file,
                e.value_at,
                format!("`extends = {base:?}` is not a spec name; name a spec in the same directory by its file name without `.toml`, like \"linux-6.18\""),
            ));
        }
        let base_file = e.file.with_file_name(format!("{base}.toml"));
        if extends.is_none() {
            extends = Some(base.to_string());
        }
        if let Some(cycle) = cycle(&chain, &base_file) {
            return Err(err(&e.file, e.value_at, format!("`extends = \"{base}\"` makes a cycle: {cycle}")));
        }
        if chain.len() > MAX_EXTENDS {
            return Err(err(
                &e.file,
                e.value_at,
                format!("`extends` chain is longer than {MAX_EXTENDS} specs; extend the base directly"),
            ));
        }
        // A dangling or looping symlink exists too: reading it says what is wrong.
        if base_file.symlink_metadata().is_err() {
            let dir = e.file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let names = spec_names(dir);
            let hint = did_you_mean(base, names.iter().map(|s| s.as_str()))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_else(|| format!("; the specs beside it: {}", names.join(", ")));
            return Err(err(
                &e.file,
                e.value_at,
                format!("`extends`: no spec `{}`{hint}", base_file.display()),
            ));
        }
        chain.push(identity(&base_file));
        // A base that cannot be read at all is this `extends`'s problem; an
        // error inside a base is shown where it is, with the way it was reached.
        let text = input::read_text(&base_file, MAX_SPEC_BYTES, "a spec").map_err(|r| {
            err(&e.file, e.value_at, format!("`extends = \"{base}\"`: {}: {}", base_file.display(), r.msg))
        })?;
        cur = sections_of(&base_file, &text).map_err(|b| SpecError {
            msg: format!("{} (extended from {}:{}:{})", b.msg, e.file.display(), e.value_at.0, e.value_at.1),
            ..b
        })?;
        // The extending file's keys win; the base fills in the rest, key by
        // key for knobs and bounds. [actions] and [expect] are questions, not
        // knobs: the base's apply only when the extending file has none.
        for (sec, keys) in &cur {
            if WHOLE_SECTIONS.contains(&sec.as_str()) && merged.contains_key(sec) {
                continue;
            }
            let dst = merged.entry(sec.clone()).or_default();
            for (k, v) in keys {
                // A claim to model a kernel is the claiming file's own: a
                // proposal built on linux-6.18 models no kernel. So is the
                // baseline a file is judged against.
                if sec == "spec" && matches!(k.as_str(), "name" | "extends" | "kernels" | "baseline") {
                    continue;
                }
                dst.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    validate(file, &merged, extends)
}

/// The spec names (file stems) in a directory.
pub fn spec_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    v.sort();
    v
}
