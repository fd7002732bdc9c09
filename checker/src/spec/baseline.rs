//! `[spec] baseline`: the spec a proposal is judged against, property by
//! property, on the same traces (`crate::baseline`). A spec that claims no
//! kernel is judged against `linux-6.18` beside it unless it names
//! another; a kernel spec has none unless it names one. The baseline is
//! the file's own question, so `extends` does not pass it on.

use super::extends::{cycle, identity, is_spec_name, spec_names};
use super::validate::Reader;
use super::{err, Baseline, Named, Spec, SpecError, MAX_EXTENDS};
use mmflags_model::suggest::did_you_mean;
use std::path::{Path, PathBuf};

/// The baseline of a spec that names none and claims no kernel.
pub const DEFAULT: &str = "linux-6.18";

/// `[spec] baseline` as written: a spec name, with where it is.
pub(super) fn named(r: &Reader<'_>) -> Result<Option<Named>, SpecError> {
    let Some(e) = r.get("spec", "baseline") else { return Ok(None) };
    let name = r.string("spec", "baseline")?.expect("present");
    if !is_spec_name(&name) {
        return Err(err(
            &e.file,
            e.value_at,
            format!("`baseline = {name:?}` is not a spec name; name a spec in the same directory by its file name without `.toml`, like \"{DEFAULT}\""),
        ));
    }
    Ok(Some((name, e.file.clone(), e.value_at)))
}

/// Loads `spec`'s baseline (named, or the default) and checks that it can
/// answer the spec's traces. `chain` holds the specs whose baselines are
/// being loaded, outermost first.
pub(super) fn attach(mut spec: Spec, chain: &mut Vec<PathBuf>) -> Result<Spec, SpecError> {
    let dir =
        spec.file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let (name, file, at, named) = match spec.baseline_named.clone() {
        Some((n, f, at)) => (n, f, at, true),
        None => {
            let default = dir.join(format!("{DEFAULT}.toml"));
            let is_default = identity(&default) == identity(&spec.file);
            if !spec.kernels.is_empty() || is_default || !default.is_file() {
                return without_baseline(spec);
            }
            (DEFAULT.to_string(), spec.file.clone(), (1, 1), false)
        }
    };
    let why = if named {
        ""
    } else {
        " (the default baseline of a spec that claims no kernel; name another with [spec] baseline = \"...\")"
    };
    let base_file = dir.join(format!("{name}.toml"));
    if base_file.symlink_metadata().is_err() {
        let names = spec_names(&dir);
        let hint = did_you_mean(&name, names.iter().map(|s| s.as_str()))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_else(|| format!("; the specs beside it: {}", names.join(", ")));
        return Err(err(&file, at, format!("`baseline`: no spec `{}`{hint}", base_file.display())));
    }
    let me = identity(&spec.file);
    chain.push(me.clone());
    if let Some(cycle) = cycle(chain, &base_file) {
        return Err(err(&file, at, format!("`baseline = \"{name}\"` makes a cycle: {cycle}")));
    }
    if chain.len() > MAX_EXTENDS {
        return Err(err(
            &file,
            at,
            format!("baselines chain more than {MAX_EXTENDS} specs; name the last one"),
        ));
    }
    let base = super::load_in(&base_file, chain).map_err(|b| SpecError {
        msg: format!("{} (the baseline of {}:{}:{}{why})", b.msg, file.display(), at.0, at.1),
        ..b
    })?;
    chain.pop();
    let (s, b) = (&spec.bounds, &base.bounds);
    for (what, mine, theirs) in [("processes", s.processes, b.processes), ("vmas", s.vmas, b.vmas)] {
        if mine > theirs {
            return Err(err(
                &file,
                at,
                format!(
                    "baseline `{name}` is bounded at {what} = {theirs}, so it cannot hold this spec's {what} = {mine}{why}; \
                     raise [bounds] {what} in {name}, lower it here, or name another baseline"
                ),
            ));
        }
    }
    spec.baseline = Some(Baseline { name, spec: Box::new(base), named });
    Ok(spec)
}

/// A spec without a baseline may not say how a verdict stands against one.
fn without_baseline(spec: Spec) -> Result<Spec, SpecError> {
    if let Some(e) = spec.expect_against.first() {
        return Err(err(
            &e.file,
            e.at,
            format!(
                "`{}` says `{}` against a baseline, but this spec has none (a spec that claims a kernel, \
                 or has no {DEFAULT} beside it, has one only if it names it); \
                 name one with [spec] baseline = \"...\", or write the verdict alone",
                e.property, e.relation
            ),
        ));
    }
    Ok(spec)
}
