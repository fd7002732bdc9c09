//! Validation: the merged sections of a spec checked and turned into a
//! `Spec` (semantics knobs, intent, bounds, the `[actions]` alphabet and
//! the `[expect]` verdicts), each error at the key or item that caused it.

use super::knobs::{Knob, Type, Value, KNOBS};
use super::reader::Reader;
use super::sections::Sections;
use super::{err, suggest, Spec, SpecError, MAX_PATTERNS, MAX_PATTERN_CHARS};
use mmflags_model::action::{ForeignPrctls, PmadvFlags, ThpDisableFlags};
use mmflags_model::flags::{MmfFlags, VmFlags};
use mmflags_model::state::{Sysfs, MAX_PROCS, MAX_VMAS};
use mmflags_model::suggest::did_you_mean;
use mmflags_model::{alphabet, variants, Bounds, Semantics};
use std::path::Path;

pub(super) fn validate(file: &Path, sections: &Sections, extends: Option<String>) -> Result<Spec, SpecError> {
    let r = Reader { sections };
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = r.string("spec", "name")?.ok_or_else(|| {
        err(file, (1, 1), format!("missing [spec] name; add `[spec]` with `name = \"{stem}\"`"))
    })?;
    if name != stem {
        let at = r.get("spec", "name").map_or((1, 1), |e| e.value_at);
        return Err(err(file, at, format!("[spec] name is `{name}` but the file is `{stem}.toml`; a spec's name is its file name, so write `name = \"{stem}\"`")));
    }

    let mut sem = Semantics::mainline();
    let mut written: Vec<&str> = Vec::new();
    let mut named_flags: Vec<(&Knob, PmadvFlags)> = Vec::new();
    for k in KNOBS {
        if let Some(v) = read_knob(&r, k)? {
            if let (Value::Pmadv(f), true) = (&v, k.name != "pmadv_flags") {
                named_flags.push((k, *f));
            }
            (k.set)(&mut sem, v);
            written.push(k.name);
        }
    }
    // Every flag a knob names must exist in this spec.
    for (k, v) in named_flags {
        let extra = PmadvFlags(v.0 & !sem.pmadv_flags.0);
        if let (true, Some(e)) = (extra.0 != 0, r.get(k.section, k.name)) {
            let msg = format!(
                "[{}] {} names {extra}, which is not in [semantics] pmadv_flags; add it there",
                k.section, k.name
            );
            return Err(err(&e.file, e.value_at, msg));
        }
    }
    let knobs: Vec<(String, String)> = KNOBS
        .iter()
        .filter(|k| k.always_listed || written.contains(&k.name))
        .map(|k| (k.listed_name(), (k.show)(&sem)))
        .collect();

    let need = |key: &str, what: &str| err(file, (1, 1), format!("missing [bounds] {key}; add it ({what})"));
    let processes = r
        .int(
            "bounds",
            "processes",
            1,
            MAX_PROCS as i64,
            &format!("the model holds 1 to {MAX_PROCS} processes"),
        )?
        .ok_or_else(|| need("processes", "for example `processes = 3`"))?;
    let vmas = r
        .int(
            "bounds",
            "vmas",
            1,
            MAX_VMAS as i64,
            &format!("the model holds 1 to {MAX_VMAS} VMA slots per process"),
        )?
        .ok_or_else(|| need("vmas", "for example `vmas = 2`"))?;
    let depth = r.int(
        "bounds",
        "depth",
        1,
        1000,
        "a depth is 1 to 1000 syscalls; leave it out to run to the fixpoint",
    )?;
    let mut sysfs = Vec::new();
    for (s, at, f) in
        r.strings("bounds", "sysfs")?.ok_or_else(|| need("sysfs", "for example `sysfs = [\"madvise\"]`"))?
    {
        let m = Sysfs::from_name(&s).ok_or_else(|| {
            err(
                &f,
                at,
                format!("[bounds] sysfs: unknown mode `{s}`{}", suggest(&s, ["never", "madvise", "always"])),
            )
        })?;
        if sysfs.contains(&m) {
            return Err(err(&f, at, format!("[bounds] sysfs lists `{s}` twice")));
        }
        sysfs.push(m);
    }
    if sysfs.is_empty() {
        let at = r.get("bounds", "sysfs").map_or((1, 1), |e| e.value_at);
        return Err(err(file, at, "[bounds] sysfs is empty; list at least one mode, like [\"madvise\"]"));
    }
    let bounds = Bounds { processes, vmas, sysfs, depth };
    let pages_depth = r.int(
        "bounds",
        "pages_depth",
        1,
        1000,
        "a depth is 1 to 1000 syscalls: how deep the page properties are explored, with the calls about pages",
    )?;
    let policies_depth = r.int(
        "bounds",
        "policies_depth",
        1,
        1000,
        "a depth is 1 to 1000 syscalls: how deep the policy properties are explored, with the calls about KSM merge-any and MDWE",
    )?;

    let cands = alphabet::candidates(&sem, processes, vmas);
    let patterns = |key: &str| -> Result<Vec<String>, SpecError> {
        let Some(items) = r.strings("actions", key)? else {
            return Ok(Vec::new());
        };
        if let (true, Some(e)) = (items.len() > MAX_PATTERNS, r.get("actions", key)) {
            return Err(err(
                &e.file,
                e.value_at,
                format!("[actions] {key} lists {} patterns; at most {MAX_PATTERNS}", items.len()),
            ));
        }
        for (p, at, f) in &items {
            if p.chars().count() > MAX_PATTERN_CHARS {
                return Err(err(
                    f,
                    *at,
                    format!("[actions] {key}: a pattern is at most {MAX_PATTERN_CHARS} characters; a call's printed form is much shorter"),
                ));
            }
            if !cands.iter().any(|c| alphabet::matches(p, c)) {
                let names: Vec<&'static str> = cands.iter().map(|c| c.name()).collect();
                let hint = did_you_mean(p, names.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| "patterns are call names (`madvise`, `prctl(PR_SET_THP_DISABLE)`) or globs over printed calls (`madvise(*, MADV_HUGEPAGE)`)".into());
                return Err(err(
                    f,
                    *at,
                    format!("[actions] {key}: `{p}` matches no call at these bounds; {hint}"),
                ));
            }
        }
        Ok(items.into_iter().map(|(p, _, _)| p).collect())
    };
    let include = patterns("include")?;
    let exclude = patterns("exclude")?;
    let (alpha, _) = alphabet::select(&cands, &include, &exclude);
    if alpha.is_empty() {
        let at = r.get("actions", "include").or(r.get("actions", "exclude")).map_or((1, 1), |e| e.key_at);
        return Err(err(file, at, "[actions] leaves no call to explore; loosen include or exclude"));
    }

    let defined = super::props::user_properties(sections)?;
    let (expect, expect_against) = super::expect::expectations(file, sections, &defined)?;
    let baseline_named = super::baseline::named(&r)?;

    let kernels = super::versions::kernels(&r)?;
    Ok(Spec {
        name,
        kernels,
        title: r.string("spec", "title")?.unwrap_or_default(),
        source: r.string("spec", "source")?.unwrap_or_default(),
        file: file.to_path_buf(),
        extends,
        semantics: sem,
        knobs,
        bounds,
        pages_depth,
        policies_depth,
        view: super::View::All,
        include,
        exclude,
        properties: defined,
        expect,
        expect_against,
        baseline: None,
        baseline_named,
        kernel_base: None,
    })
}

/// A knob's value, read as its type says, if the spec sets it.
fn read_knob(r: &Reader<'_>, k: &Knob) -> Result<Option<Value>, SpecError> {
    let (sec, key) = (k.section, k.name);
    let vm_names: Vec<&'static str> = VmFlags::NAMES.iter().map(|n| n.1).collect();
    Ok(match k.ty {
        Type::Variant => match r.string(sec, key)? {
            None => None,
            Some(v) => {
                let e = r.get(sec, key).expect("just read");
                Some(Value::Variant(variants::by_name(&v).ok_or_else(|| {
                    err(
                        &e.file,
                        e.value_at,
                        format!(
                            "unknown variant module `{v}`{}",
                            suggest(&v, variants::NAMES.iter().copied())
                        ),
                    )
                })?))
            }
        },
        Type::VmFlags => r
            .flags(
                sec,
                key,
                |s| VmFlags::from_name(s).filter(|_| s.starts_with("VM_")),
                &vm_names,
                |a, b| a | b,
                VmFlags::EMPTY,
            )?
            .map(Value::Vm),
        Type::MmfFlags => {
            let names: Vec<&'static str> = MmfFlags::NAMES.iter().map(|n| n.1).collect();
            r.flags(sec, key, MmfFlags::from_name, &names, |a, b| a | b, MmfFlags::EMPTY)?.map(Value::Mmf)
        }
        Type::PmadvFlags => {
            let names: Vec<&'static str> = PmadvFlags::NAMES.iter().map(|n| n.1).collect();
            r.flags(sec, key, PmadvFlags::from_name, &names, |a, b| a | b, PmadvFlags(0))?.map(Value::Pmadv)
        }
        Type::ThpDisableFlags => {
            let names: Vec<&'static str> = ThpDisableFlags::NAMES.iter().map(|n| n.1).collect();
            r.flags(sec, key, ThpDisableFlags::from_name, &names, |a, b| a | b, ThpDisableFlags(0))?
                .map(Value::ThpDisable)
        }
        Type::ForeignPrctls => {
            let names: Vec<&'static str> = ForeignPrctls::NAMES.iter().map(|n| n.1).collect();
            r.flags(sec, key, ForeignPrctls::from_name, &names, |a, b| a | b, ForeignPrctls(0))?
                .map(Value::Foreign)
        }
        Type::PmadvChecks => super::versions::checks(r, sec, key)?.map(Value::Checks),
        Type::Bool => r.boolean(sec, key)?.map(Value::Bool),
    })
}
