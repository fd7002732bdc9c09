//! `[spec] baseline`: the spec a proposal is judged against, property by
//! property, on the same traces (`run::lockstep`). A spec that claims no
//! kernel is judged against the nearest spec up its `extends` chain that
//! claims one (every proposal in specs/ extends, directly or not,
//! `linux-6.18`) unless it names another; a kernel spec has none unless it
//! names one. The baseline is the file's own question, so `extends` does
//! not pass it on. A named baseline is found on the search path
//! (`search_path`).

use super::reader::Reader;
use super::search_path::{self, cycle, identity, is_spec_name};
use super::{err, Baseline, Named, Spec, SpecError, MAX_EXTENDS};
use std::path::PathBuf;

/// `[spec] baseline` as written: a spec name, with where it is.
pub(super) fn named(r: &Reader<'_>) -> Result<Option<Named>, SpecError> {
    let Some(e) = r.get("spec", "baseline") else { return Ok(None) };
    let name = r.string("spec", "baseline")?.expect("present");
    if !is_spec_name(&name) {
        return Err(err(
            &e.file,
            e.value_at,
            format!("`baseline = {name:?}` is not a spec name; name a spec by its file name without `.toml`, like \"linux-6.12\" (looked up beside this file, in the project's specs/, then in each --specs DIR)"),
        ));
    }
    Ok(Some((name, e.file.clone(), e.value_at)))
}

/// Loads `spec`'s baseline (named, or the default) and checks that it can
/// answer the spec's traces. `chain` holds the specs whose baselines are
/// being loaded, outermost first.
pub(super) fn attach(mut spec: Spec, chain: &mut Vec<PathBuf>) -> Result<Spec, SpecError> {
    let (name, file, at, named) = match (spec.baseline_named.clone(), &spec.kernel_base) {
        (Some((n, f, at)), _) => (n, f, at, true),
        (None, Some((n, _))) if spec.kernels.is_empty() => (n.clone(), spec.file.clone(), (1, 1), false),
        (None, _) => return without_baseline(spec),
    };
    let why = if named {
        ""
    } else {
        " (the default baseline of a spec that claims no kernel: the nearest spec it extends that claims one; \
         name another with [spec] baseline = \"...\")"
    };
    let base_file = match (&spec.kernel_base, named) {
        (Some((_, f)), false) => f.clone(),
        _ => search_path::find(&name, &file).map_err(|e| err(&file, at, format!("`baseline`: {e}")))?,
    };
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
                 or extends no spec that claims one, has one only if it names it); \
                 name one with [spec] baseline = \"...\", or write the verdict alone",
                e.property, e.relation
            ),
        ));
    }
    Ok(spec)
}
