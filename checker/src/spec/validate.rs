//! Validation: the merged sections of a spec checked and turned into a
//! `Spec` (semantics knobs, intent, bounds, the `[actions]` alphabet and
//! the `[expect]` verdicts), each error at the key or item that caused it.

use super::reader::Reader;
use super::sections::Sections;
use super::{err, suggest, Spec, SpecError, MAX_PATTERNS, MAX_PATTERN_CHARS};
use mmflags_model::action::PmadvFlags;
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
    let mut knobs = Vec::new();
    if let Some(v) = r.string("semantics", "variant")? {
        let e = r.get("semantics", "variant").expect("just read");
        sem.variant = variants::by_name(&v).ok_or_else(|| {
            err(
                &e.file,
                e.value_at,
                format!("unknown variant module `{v}`{}", suggest(&v, variants::NAMES.iter().copied())),
            )
        })?;
        knobs.push(("variant".to_string(), v));
    }
    let vm_names: Vec<&'static str> = VmFlags::NAMES.iter().map(|n| n.1).collect();
    let mmf_names: Vec<&'static str> = MmfFlags::NAMES.iter().map(|n| n.1).collect();
    let pm_names: Vec<&'static str> = PmadvFlags::NAMES.iter().map(|n| n.1).collect();
    let vm = |k: &str| {
        r.flags(
            "semantics",
            k,
            |s| VmFlags::from_name(s).filter(|_| s.starts_with("VM_")),
            &vm_names,
            |a, b| a | b,
            VmFlags::EMPTY,
        )
    };
    let mmf =
        |k: &str| r.flags("semantics", k, MmfFlags::from_name, &mmf_names, |a, b| a | b, MmfFlags::EMPTY);
    if let Some(v) = vm("vm_init_def_mask")? {
        sem.vm_init_def_mask = v;
    }
    if let Some(v) = mmf("mmf_init_mask")? {
        sem.mmf_init_mask = v;
    }
    if let Some(v) = vm("secureexec_clear_def_flags")? {
        sem.secureexec_clear_def_flags = v;
    }
    if let Some(v) = mmf("secureexec_clear_mmf")? {
        sem.secureexec_clear_mmf = v;
    }
    let pmadv = |sec: &str, k: &str| -> Result<Option<PmadvFlags>, SpecError> {
        r.flags(sec, k, PmadvFlags::from_name, &pm_names, |a, b| a | b, PmadvFlags(0))
    };
    if let Some(v) = pmadv("semantics", "pmadv_flags")? {
        sem.pmadv_flags = v;
    }
    if let Some(v) = pmadv("semantics", "pmadv_default_flags")? {
        sem.pmadv_default_flags = v;
    }
    if let Some(v) = pmadv("semantics", "pmadv_default_exact")? {
        sem.pmadv_default_exact = v;
    }
    if let Some(v) = pmadv("semantics", "pmadv_default_cap")? {
        sem.pmadv_default_cap = v;
    }
    if let Some(v) = r.boolean("semantics", "nnp_exec_resets_euid")? {
        sem.nnp_exec_resets_euid = v;
    }
    if let Some(v) = r.boolean("semantics", "def_needs_future")? {
        sem.def_needs_future = v;
    }
    if let Some(v) = r.boolean("intent", "default_survives_fork")? {
        sem.intent.default_survives_fork = v;
    }
    if let Some(v) = r.boolean("intent", "default_survives_exec")? {
        sem.intent.default_survives_exec = v;
    }
    if let Some(v) = r.boolean("intent", "dropped_by_secure_exec")? {
        sem.intent.dropped_by_secure_exec = v;
    }
    if let Some(v) = pmadv("intent", "promised_by")? {
        sem.intent.promised_by = v;
    }
    // Every flag a knob names must exist in this spec.
    for (sec, k, v) in [
        ("semantics", "pmadv_default_flags", sem.pmadv_default_flags),
        ("semantics", "pmadv_default_exact", sem.pmadv_default_exact),
        ("semantics", "pmadv_default_cap", sem.pmadv_default_cap),
        ("intent", "promised_by", sem.intent.promised_by),
    ] {
        let extra = PmadvFlags(v.0 & !sem.pmadv_flags.0);
        if let (true, Some(e)) = (extra.0 != 0, r.get(sec, k)) {
            let msg =
                format!("[{sec}] {k} names {extra}, which is not in [semantics] pmadv_flags; add it there");
            return Err(err(&e.file, e.value_at, msg));
        }
    }
    super::versions::kernel_knobs(&r, &mut sem)?;
    let i = &sem.intent;
    knobs.extend([
        ("vm_init_def_mask".to_string(), sem.vm_init_def_mask.kernel_names()),
        ("mmf_init_mask".to_string(), sem.mmf_init_mask.to_string()),
        ("secureexec_clear_def_flags".to_string(), sem.secureexec_clear_def_flags.kernel_names()),
        ("secureexec_clear_mmf".to_string(), sem.secureexec_clear_mmf.to_string()),
        ("pmadv_flags".to_string(), sem.pmadv_flags.to_string()),
        ("pmadv_default_flags".to_string(), sem.pmadv_default_flags.to_string()),
        ("pmadv_default_exact".to_string(), sem.pmadv_default_exact.to_string()),
        ("pmadv_default_cap".to_string(), sem.pmadv_default_cap.to_string()),
        ("def_needs_future".to_string(), sem.def_needs_future.to_string()),
        ("thp_disable_flags".to_string(), sem.thp_disable_flags.to_string()),
        ("process_madvise_checks".to_string(), super::versions::checks_text(&sem.pmadv_checks)),
        ("smaps_vm_flags".to_string(), sem.smaps_vm_flags.kernel_names()),
        ("foreign_prctls".to_string(), sem.foreign_prctls.to_string()),
        ("nnp_exec_resets_euid".to_string(), sem.nnp_exec_resets_euid.to_string()),
        ("intent.default_survives_fork".to_string(), i.default_survives_fork.to_string()),
        ("intent.default_survives_exec".to_string(), i.default_survives_exec.to_string()),
        ("intent.dropped_by_secure_exec".to_string(), i.dropped_by_secure_exec.to_string()),
        ("intent.promised_by".to_string(), i.promised_by.to_string()),
    ]);

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
