//! Spec files (`specs/*.toml`): loading, `extends`, and validation into a
//! `Spec`. Every error names the file, line and column, says what is wrong
//! and how to fix it (with a "did you mean" for a misspelled name).

use crate::verdict::Verdict;
use mmflags_model::action::PmadvFlags;
use mmflags_model::flags::{MmfFlags, VmFlags};
use mmflags_model::properties::{self, Kind, PropertyDef};
use mmflags_model::state::{Sysfs, MAX_PROCS, MAX_VMAS};
use mmflags_model::suggest::did_you_mean;
use mmflags_model::{alphabet, variants, Bounds, Semantics, System};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};

/// A problem in a spec file, at a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.col, self.msg)
    }
}

impl std::error::Error for SpecError {}

/// A validated spec.
#[derive(Clone, Debug)]
pub struct Spec {
    pub name: String,
    pub title: String,
    pub source: String,
    pub file: PathBuf,
    pub extends: Option<String>,
    pub semantics: Semantics,
    /// The `[semantics]` and `[intent]` settings as written (after `extends`), for reports.
    pub knobs: Vec<(String, String)>,
    pub bounds: Bounds,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// The properties this spec checks, in catalogue order, with the verdict it expects.
    pub expect: Vec<(&'static PropertyDef, Verdict)>,
}

impl Spec {
    /// The model this spec asks about.
    pub fn system(&self) -> System {
        let cands = alphabet::candidates(&self.semantics, self.bounds.processes, self.bounds.vmas);
        let (calls, _) = alphabet::select(&cands, &self.include, &self.exclude);
        let props = self.expect.iter().map(|(p, _)| *p).collect();
        System::new(self.semantics.clone(), self.bounds.clone(), calls, props)
    }
}

/// A value as written, owned, with the positions of array items.
#[derive(Clone, Debug)]
enum Val {
    Str(String),
    Int(Option<i64>),
    Bool(bool),
    Array(Vec<(Val, (usize, usize))>),
    Other(&'static str),
}

impl Val {
    fn of(v: &DeValue<'_>, text: &str) -> Val {
        match v {
            DeValue::String(s) => Val::Str(s.to_string()),
            DeValue::Integer(i) => {
                Val::Int(i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok())
            }
            DeValue::Boolean(b) => Val::Bool(*b),
            DeValue::Array(a) => Val::Array(
                a.iter()
                    .map(|item| (Val::of(item.get_ref(), text), line_col(text, item.span().start)))
                    .collect(),
            ),
            other => Val::Other(other.type_str()),
        }
    }

    fn type_str(&self) -> &'static str {
        match self {
            Val::Str(_) => "string",
            Val::Int(_) => "integer",
            Val::Bool(_) => "boolean",
            Val::Array(_) => "array",
            Val::Other(t) => t,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_bool_val(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

/// One key as written: its value, where it is, and in which file.
#[derive(Clone, Debug)]
struct Entry {
    value: Val,
    key_at: (usize, usize),
    value_at: (usize, usize),
    file: PathBuf,
}

type Sections = BTreeMap<String, BTreeMap<String, Entry>>;

/// A string from an array, with its position and file.
type Located = (String, (usize, usize), PathBuf);

const SECTIONS: &[(&str, &[&str])] = &[
    ("spec", &["name", "title", "source", "extends"]),
    (
        "semantics",
        &[
            "variant",
            "vm_init_def_mask",
            "mmf_init_mask",
            "secureexec_clear_def_flags",
            "secureexec_clear_mmf",
            "pmadv_flags",
            "pmadv_default_flags",
            "pmadv_default_exact",
            "pmadv_default_cap",
            "def_needs_future",
        ],
    ),
    ("intent", &["default_survives_fork", "default_survives_exec", "dropped_by_secure_exec", "promised_by"]),
    ("bounds", &["processes", "vmas", "sysfs", "depth"]),
    ("actions", &["include", "exclude"]),
    ("expect", &[]),
];

/// Sections an extending spec replaces as a whole rather than key by key.
const WHOLE_SECTIONS: &[&str] = &["bounds", "actions", "expect"];

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn err(file: &Path, at: (usize, usize), msg: impl Into<String>) -> SpecError {
    SpecError { file: file.to_path_buf(), line: at.0, col: at.1, msg: msg.into() }
}

fn suggest(word: &str, cands: impl IntoIterator<Item = &'static str>) -> String {
    let cands: Vec<&str> = cands.into_iter().collect();
    match did_you_mean(word, cands.iter().copied()) {
        Some(s) => format!("; did you mean `{s}`?"),
        None => format!("; expected one of: {}", cands.join(", ")),
    }
}

/// Parses one file into sections, checking section and key names.
fn read_sections(file: &Path) -> Result<Sections, SpecError> {
    let text = std::fs::read_to_string(file).map_err(|e| err(file, (1, 1), format!("cannot read: {e}")))?;
    let doc = DeTable::parse(&text).map_err(|e| {
        let at = e.span().map_or((1, 1), |s| line_col(&text, s.start));
        err(file, at, format!("not valid TOML: {}", e.message().trim()))
    })?;
    let mut out = Sections::new();
    for (sec, body) in doc.get_ref().iter() {
        let at = line_col(&text, sec.span().start);
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
        let entries = out.entry(name.to_string()).or_default();
        for (k, v) in table.iter() {
            let kname = k.get_ref().as_ref();
            let kat = line_col(&text, k.span().start);
            if !keys.is_empty() && !keys.contains(&kname) {
                return Err(err(
                    file,
                    kat,
                    format!("unknown key `{kname}` in [{name}]{}", suggest(kname, keys.iter().copied())),
                ));
            }
            let value = Val::of(v.get_ref(), &text);
            entries.insert(
                kname.to_string(),
                Entry {
                    value,
                    key_at: kat,
                    value_at: line_col(&text, v.span().start),
                    file: file.to_path_buf(),
                },
            );
        }
    }
    Ok(out)
}

/// Loads `file`, following `extends` (looked up beside it), and validates.
pub fn load(file: &Path) -> Result<Spec, SpecError> {
    let mut chain = vec![file.to_path_buf()];
    let mut merged = read_sections(file)?;
    let mut extends = None;
    let mut cur = merged.clone();
    while let Some(e) = cur.get("spec").and_then(|s| s.get("extends")).cloned() {
        let Some(base) = e.value.as_str() else {
            return Err(err(&e.file, e.value_at, "`extends` is the name of another spec, as a string"));
        };
        let base_file = e.file.with_file_name(format!("{base}.toml"));
        if extends.is_none() {
            extends = Some(base.to_string());
        }
        if chain.contains(&base_file) {
            return Err(err(&e.file, e.value_at, format!("`extends = \"{base}\"` makes a cycle")));
        }
        if !base_file.exists() {
            let names = spec_names(e.file.parent().unwrap_or(Path::new(".")));
            let hint = did_you_mean(base, names.iter().map(|s| s.as_str()))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_else(|| format!("; the specs beside it: {}", names.join(", ")));
            return Err(err(
                &e.file,
                e.value_at,
                format!("`extends`: no spec `{}`{hint}", base_file.display()),
            ));
        }
        chain.push(base_file.clone());
        cur = read_sections(&base_file)?;
        // The extending file's keys win; the base fills in the rest, key by
        // key for knobs and bounds. [actions] and [expect] are questions, not
        // knobs: the base's apply only when the extending file has none.
        for (sec, keys) in &cur {
            if WHOLE_SECTIONS.contains(&sec.as_str()) && merged.contains_key(sec) {
                continue;
            }
            let dst = merged.entry(sec.clone()).or_default();
            for (k, v) in keys {
                if sec == "spec" && (k == "name" || k == "extends") {
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

struct Reader<'a> {
    sections: &'a Sections,
}

impl<'a> Reader<'a> {
    fn get(&self, sec: &str, key: &str) -> Option<&'a Entry> {
        self.sections.get(sec).and_then(|s| s.get(key))
    }

    fn string(&self, sec: &str, key: &str) -> Result<Option<String>, SpecError> {
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

    fn boolean(&self, sec: &str, key: &str) -> Result<Option<bool>, SpecError> {
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
    fn int(&self, sec: &str, key: &str, lo: i64, hi: i64, why: &str) -> Result<Option<usize>, SpecError> {
        let Some(e) = self.get(sec, key) else {
            return Ok(None);
        };
        let n = match e.value {
            Val::Int(Some(n)) => Some(n),
            _ => None,
        }
        .ok_or_else(|| {
            err(
                &e.file,
                e.value_at,
                format!("[{sec}] {key} must be an integer, found {}", e.value.type_str()),
            )
        })?;
        if n < lo || n > hi {
            return Err(err(&e.file, e.value_at, format!("[{sec}] {key} = {n} is out of range: {why}")));
        }
        Ok(Some(n as usize))
    }

    /// An array of strings, each with its position.
    fn strings(&self, sec: &str, key: &str) -> Result<Option<Vec<Located>>, SpecError> {
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
    fn flags<T>(
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

fn validate(file: &Path, sections: &Sections, extends: Option<String>) -> Result<Spec, SpecError> {
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
        for (p, at, f) in &items {
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

    let mut expect = Vec::new();
    for (prop, e) in sections.get("expect").into_iter().flatten() {
        let def = properties::by_name(prop).ok_or_else(|| {
            err(&e.file, e.key_at, format!("unknown property `{prop}`{}", suggest(prop, properties::names())))
        })?;
        let word = e.value.as_str().ok_or_else(|| {
            err(
                &e.file,
                e.value_at,
                format!("expected verdict for `{prop}` must be a string, like \"holds\""),
            )
        })?;
        let allowed: &[&'static str] = match def.kind {
            Kind::Always => &["holds", "violated"],
            Kind::Sometimes => &["reachable", "unreachable"],
        };
        let v = Verdict::from_word(word).filter(|v| allowed.contains(&v.word())).ok_or_else(|| {
            err(
                &e.file,
                e.value_at,
                format!(
                    "`{prop}` is a {} property: expect {}, not `{word}`{}",
                    def.kind,
                    allowed.join(" or "),
                    did_you_mean(word, allowed.iter().copied())
                        .map(|w| format!("; did you mean `{w}`?"))
                        .unwrap_or_default()
                ),
            )
        })?;
        expect.push((def, v));
    }
    if expect.is_empty() {
        return Err(err(
            file,
            (1, 1),
            "no [expect] section: list the properties to check, like `thp_flags_exclusive = \"holds\"`",
        ));
    }
    expect.sort_by_key(|(d, _)| properties::CATALOGUE.iter().position(|c| c.name == d.name));

    Ok(Spec {
        name,
        title: r.string("spec", "title")?.unwrap_or_default(),
        source: r.string("spec", "source")?.unwrap_or_default(),
        file: file.to_path_buf(),
        extends,
        semantics: sem,
        knobs,
        bounds,
        include,
        exclude,
        expect,
    })
}
