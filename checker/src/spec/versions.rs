//! What tells one kernel version from another in a spec beyond a list of
//! flags: `process_madvise_checks` (the order of `process_madvise()`'s
//! checks, validated as a whole), and `[spec] kernels`, the series a spec
//! claims to model (which `check conform --kernel` proves). The other
//! knobs where kernels differ are plain flag lists (`knobs`).

use super::reader::Reader;
use super::{err, suggest, SpecError};
use mmflags_model::semantics::PmadvCheck;

/// The checks every `process_madvise` has, in some order, and the pairs of
/// which a kernel has exactly one (the same check, for every target or for
/// another process's mm only).
const REQUIRED: [PmadvCheck; 4] =
    [PmadvCheck::Flags, PmadvCheck::Iovec, PmadvCheck::Pidfd, PmadvCheck::MmAccess];
const ONE_OF: [(PmadvCheck, PmadvCheck); 2] =
    [(PmadvCheck::Advice, PmadvCheck::RemoteAdvice), (PmadvCheck::CapSysNice, PmadvCheck::RemoteCapSysNice)];

/// `process_madvise_checks`, if the spec sets it: each check once, those
/// that read the target after `pidfd`, every required one, and exactly one
/// of each pair.
pub(super) fn checks(r: &Reader<'_>, sec: &str, key: &str) -> Result<Option<Vec<PmadvCheck>>, SpecError> {
    let Some(items) = r.strings(sec, key)? else { return Ok(None) };
    let e = r.get(sec, key).expect("just read");
    let all: Vec<&'static str> = PmadvCheck::NAMES.iter().map(|n| n.1).collect();
    let mut checks: Vec<PmadvCheck> = Vec::new();
    for (s, at, f) in &items {
        let c = PmadvCheck::from_name(s).ok_or_else(|| {
            err(f, *at, format!("[{sec}] {key}: unknown check `{s}`{}", suggest(s, all.iter().copied())))
        })?;
        if checks.contains(&c) {
            return Err(err(f, *at, format!("[{sec}] {key} lists `{s}` twice")));
        }
        if c.reads_target() && !checks.contains(&PmadvCheck::Pidfd) {
            return Err(err(
                f,
                *at,
                format!("[{sec}] {key}: `{s}` reads the target process, so it comes after `pidfd`"),
            ));
        }
        checks.push(c);
    }
    let missing: Vec<&str> = REQUIRED.iter().filter(|c| !checks.contains(c)).map(|c| c.name()).collect();
    if !missing.is_empty() {
        return Err(err(
            &e.file,
            e.value_at,
            format!("[{sec}] {key} lacks {}: every process_madvise() makes these checks", missing.join(", ")),
        ));
    }
    for (a, b) in ONE_OF {
        if checks.contains(&a) == checks.contains(&b) {
            return Err(err(
                &e.file,
                e.value_at,
                format!(
                    "[{sec}] {key} needs exactly one of `{}` (for every target, one's own mm included) \
                     and `{}` (for another process's mm only)",
                    a.name(),
                    b.name()
                ),
            ));
        }
    }
    Ok(Some(checks))
}

/// A series is `MAJOR.MINOR`, as Debian's packages and kernel.org name them.
fn is_series(s: &str) -> bool {
    let mut parts = s.split('.');
    let num = |p: Option<&str>| {
        p.is_some_and(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    num(parts.next()) && num(parts.next()) && parts.next().is_none()
}

/// `[spec] kernels`: the series this spec claims, each once.
pub(super) fn kernels(r: &Reader<'_>) -> Result<Vec<String>, SpecError> {
    let mut out: Vec<String> = Vec::new();
    for (s, at, f) in r.strings("spec", "kernels")?.unwrap_or_default() {
        if !is_series(&s) {
            return Err(err(
                &f,
                at,
                format!(
                    "[spec] kernels: `{s}` is not a kernel series; write it as MAJOR.MINOR, like \"6.12\""
                ),
            ));
        }
        if out.contains(&s) {
            return Err(err(&f, at, format!("[spec] kernels lists `{s}` twice")));
        }
        out.push(s);
    }
    Ok(out)
}
