//! `extends`: a spec built on another one (found on the search path,
//! `search_path`), key by key for knobs, whole sections for the
//! questions.

use super::search_path::{self, cycle, identity, is_spec_name};
use super::sections::{sections_of, Sections, Val, WHOLE_SECTIONS};
use super::validate::validate;
use super::{err, Spec, SpecError, MAX_EXTENDS, MAX_SPEC_BYTES};
use crate::input;
use std::path::Path;

/// Follows the `extends` chain from `file` (already read as `merged`) and validates.
pub(super) fn resolve_extends(file: &Path, mut merged: Sections) -> Result<Spec, SpecError> {
    let mut chain = vec![identity(file)];
    let mut extends = None;
    // The nearest spec up the chain that claims a kernel: what a spec that
    // claims none is judged against unless it names a baseline.
    let mut kernel_base = None;
    let mut cur = merged.clone();
    while let Some(e) = cur.get("spec").and_then(|s| s.get("extends")).cloned() {
        let Some(base) = e.value.as_str() else {
            return Err(err(&e.file, e.value_at, "`extends` is the name of another spec, as a string"));
        };
        if !is_spec_name(base) {
            return Err(err(
                &e.file,
                e.value_at,
                format!("`extends = {base:?}` is not a spec name; name a spec by its file name without `.toml`, like \"linux-6.18\" (looked up beside this file, in the project's specs/, then in each --specs DIR)"),
            ));
        }
        let base_file = search_path::find(base, &e.file)
            .map_err(|why| err(&e.file, e.value_at, format!("`extends`: {why}")))?;
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
        let claims = cur.get("spec").and_then(|s| s.get("kernels")).is_some_and(|k| match &k.value {
            Val::Array(a) => !a.is_empty(),
            _ => false,
        });
        if claims && kernel_base.is_none() {
            kernel_base = Some((base.to_string(), base_file.clone()));
        }
        // The extending file's keys win; the base fills in the rest, key by
        // key for knobs. [bounds], [actions] and [expect] are questions, not
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
    let mut spec = validate(file, &merged, extends)?;
    spec.kernel_base = kernel_base;
    Ok(spec)
}
