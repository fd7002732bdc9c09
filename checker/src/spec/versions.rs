//! What tells one kernel version from another in a spec: the knobs where
//! the kernel changed a table between 6.1 and 6.18 (`thp_disable_flags`,
//! `process_madvise_checks`, `smaps_vm_flags`, `foreign_prctls`), and `[spec] kernels`, the
//! series a spec claims to model (which `check conform --kernel` proves).

use super::reader::Reader;
use super::{err, suggest, SpecError};
use mmflags_model::action::{ForeignPrctls, ThpDisableFlags};
use mmflags_model::flags::VmFlags;
use mmflags_model::syscalls::PmadvCheck;
use mmflags_model::Semantics;

/// The checks every `process_madvise` has, in some order, and the pairs of
/// which a kernel has exactly one (the same check, for every target or for
/// another process's mm only).
const REQUIRED: [PmadvCheck; 4] =
    [PmadvCheck::Flags, PmadvCheck::Iovec, PmadvCheck::Pidfd, PmadvCheck::MmAccess];
const ONE_OF: [(PmadvCheck, PmadvCheck); 2] =
    [(PmadvCheck::Advice, PmadvCheck::RemoteAdvice), (PmadvCheck::CapSysNice, PmadvCheck::RemoteCapSysNice)];

/// `process_madvise_checks` as a spec writes it.
pub(super) fn checks_text(checks: &[PmadvCheck]) -> String {
    checks.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
}

pub(super) fn kernel_knobs(r: &Reader<'_>, sem: &mut Semantics) -> Result<(), SpecError> {
    let sec = "semantics";
    let names: Vec<&'static str> = ThpDisableFlags::NAMES.iter().map(|n| n.1).collect();
    if let Some(v) = r.flags(
        sec,
        "thp_disable_flags",
        ThpDisableFlags::from_name,
        &names,
        |a, b| a | b,
        ThpDisableFlags(0),
    )? {
        sem.thp_disable_flags = v;
    }
    let foreign: Vec<&'static str> = ForeignPrctls::NAMES.iter().map(|n| n.1).collect();
    if let Some(v) =
        r.flags(sec, "foreign_prctls", ForeignPrctls::from_name, &foreign, |a, b| a | b, ForeignPrctls(0))?
    {
        sem.foreign_prctls = v;
    }
    let vm_names: Vec<&'static str> = VmFlags::NAMES.iter().map(|n| n.1).collect();
    if let Some(v) = r.flags(
        sec,
        "smaps_vm_flags",
        |s| VmFlags::from_name(s).filter(|_| s.starts_with("VM_")),
        &vm_names,
        |a, b| a | b,
        VmFlags::EMPTY,
    )? {
        sem.smaps_vm_flags = v;
    }
    let key = "process_madvise_checks";
    if let Some(items) = r.strings(sec, key)? {
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
                format!(
                    "[{sec}] {key} lacks {}: every process_madvise() makes these checks",
                    missing.join(", ")
                ),
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
        sem.pmadv_checks = checks;
    }
    Ok(())
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
