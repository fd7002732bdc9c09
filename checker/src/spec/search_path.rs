//! Where a spec named by name is found. A spec's `extends` and `baseline`
//! name another spec by its file name without `.toml`; it is looked up
//! beside the file that names it, then in the project's `specs/`, then in
//! each directory given with `--specs DIR`, in that order, the first found
//! winning. So a reviewer's spec in a directory of their own can say
//! `extends = "linux-6.18"`. A spec named on the command line is a path,
//! or a name looked up in `specs/`, then in the `--specs` directories.

use super::SpecError;
use mmflags_model::suggest::did_you_mean;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// The `--specs DIR` directories, in the order given (set once by `check`).
static EXTRA: RwLock<Vec<PathBuf>> = RwLock::new(Vec::new());

/// Adds the `--specs DIR` directories to every later lookup.
pub fn add_dirs(dirs: &[PathBuf]) {
    EXTRA.write().unwrap_or_else(|e| e.into_inner()).extend(dirs.iter().cloned());
}

/// The `--specs DIR` directories given so far.
pub fn extra_dirs() -> Vec<PathBuf> {
    EXTRA.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The project's specs: `./specs` if present, else the workspace's.
pub fn specs_dir() -> PathBuf {
    let here = PathBuf::from("specs");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("specs")
}

/// The directory a file is in (`.` for a bare file name).
pub fn dir_of(file: &Path) -> PathBuf {
    file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}

/// Where a name written in `referrer` is looked up, in order, each
/// directory once.
pub fn dirs_for(referrer: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for d in [dir_of(referrer), specs_dir()].into_iter().chain(extra_dirs()) {
        let id = identity(&d);
        if !seen.contains(&id) {
            seen.push(id);
            out.push(d);
        }
    }
    out
}

/// A spec name as `extends` and `baseline` give it: a file stem.
pub fn is_spec_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The file of spec `name` as seen from `referrer`: the first of
/// `dirs_for(referrer)` that has it (anything at the path counts: reading
/// a dangling symlink or a directory says what is wrong with it), or the
/// message that says where it was looked for.
pub fn find(name: &str, referrer: &Path) -> Result<PathBuf, String> {
    let dirs = dirs_for(referrer);
    for d in &dirs {
        let f = d.join(format!("{name}.toml"));
        if f.symlink_metadata().is_ok() {
            return Ok(f);
        }
    }
    Err(not_found(name, &dirs))
}

/// `no spec `NAME`; looked in A, B; did you mean ...`.
fn not_found(name: &str, dirs: &[PathBuf]) -> String {
    let mut names: Vec<String> = dirs.iter().flat_map(|d| spec_names(d)).collect();
    names.sort();
    names.dedup();
    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let hint = did_you_mean(name, names.iter().map(|s| s.as_str()))
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_else(|| format!("; the specs there: {}", names.join(", ")));
    format!(
        "no spec `{name}`: looked for `{name}.toml` beside the file, in the project's specs/ \
         and in each --specs DIR: {}{hint}",
        looked.join(", ")
    )
}

/// A spec argument on the command line: a path to a file, or the name of
/// a spec in `specs/` or a `--specs` directory.
pub fn resolve(arg: &str) -> Result<PathBuf, SpecError> {
    let p = PathBuf::from(arg);
    // Anything at that path is meant as a file (the loader says what is
    // wrong with a directory or a device); otherwise it is a spec name.
    if p.symlink_metadata().is_ok() {
        return Ok(p);
    }
    let dirs: Vec<PathBuf> = [specs_dir()].into_iter().chain(extra_dirs()).collect();
    for d in &dirs {
        let named = d.join(format!("{arg}.toml"));
        if named.is_file() {
            return Ok(named);
        }
    }
    let mut names: Vec<String> = dirs.iter().flat_map(|d| spec_names(d)).collect();
    names.sort();
    names.dedup();
    let hint = did_you_mean(arg, names.iter().map(|s| s.as_str()))
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_else(|| format!("; the specs are: {}", names.join(", ")));
    Err(SpecError { file: p, line: 1, col: 1, msg: format!("no such spec file or spec name `{arg}`{hint}") })
}

/// Every spec file in `specs/`, sorted by name.
pub fn all_specs() -> Vec<PathBuf> {
    let dir = specs_dir();
    spec_names(&dir).into_iter().map(|n| dir.join(format!("{n}.toml"))).collect()
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

/// The file's identity for cycle detection: symlinks and `..` resolved.
pub fn identity(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `chain -> next` by spec names, if `next` is already in `chain` (a
/// cycle of `extends` or of baselines).
pub fn cycle(chain: &[PathBuf], next: &Path) -> Option<String> {
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
