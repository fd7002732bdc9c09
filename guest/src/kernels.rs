//! The kernels the project checks, as data (`kernels.toml` at the root of
//! the repository, compiled in): a series, the Debian suites that ship it
//! and a glob over the name of the package that holds its image.

use serde::Deserialize;

/// One kernel series and where Debian ships it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Kernel {
    /// `MAJOR.MINOR`, as the specs' `[spec] kernels` name it.
    pub series: String,
    /// Debian suites to look in (`bookworm-security`, `trixie-backports`).
    pub suites: Vec<String>,
    /// Glob (`*` only) over binary package names; the package must hold
    /// `/boot/vmlinuz-*`.
    pub package: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    kernel: Vec<Kernel>,
}

/// The list as shipped with this build.
pub const KERNELS_TOML: &str = include_str!("../../kernels.toml");

/// Parses a kernels list; every series once, every field filled.
pub fn parse(text: &str) -> Result<Vec<Kernel>, String> {
    let f: File = toml::from_str(text).map_err(|e| format!("kernels.toml: {e}"))?;
    let mut seen: Vec<&str> = Vec::new();
    for k in &f.kernel {
        if seen.contains(&k.series.as_str()) {
            return Err(format!("kernels.toml: series {} is listed twice", k.series));
        }
        if k.suites.is_empty() || k.package.is_empty() {
            return Err(format!("kernels.toml: series {} needs suites and a package", k.series));
        }
        seen.push(&k.series);
    }
    Ok(f.kernel)
}

/// The shipped list (it is tested to parse).
pub fn all() -> Vec<Kernel> {
    parse(KERNELS_TOML).expect("kernels.toml is checked by a test")
}

/// The entry for `series`, or an error that lists the known ones.
pub fn by_series(series: &str) -> Result<Kernel, String> {
    let all = all();
    all.iter().find(|k| k.series == series).cloned().ok_or_else(|| {
        let known: Vec<&str> = all.iter().map(|k| k.series.as_str()).collect();
        format!(
            "unknown kernel series `{series}`; the kernels checked are: {} (kernels.toml)",
            known.join(", ")
        )
    })
}

/// `*`-glob match (no other metacharacters: package names have none).
pub fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first)
        || !name[first.len()..].ends_with(last)
        || name.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_list_parses_and_names_the_required_series() {
        let series: Vec<String> = all().into_iter().map(|k| k.series).collect();
        for s in ["6.1", "6.12", "6.18", "6.19", "7.0", "7.1", "7.2", "7.3"] {
            assert!(series.iter().any(|x| x == s), "{s} missing from kernels.toml");
        }
    }

    #[test]
    fn an_unknown_series_lists_the_known_ones() {
        let e = by_series("5.4").unwrap_err();
        assert!(e.contains("5.4") && e.contains("6.12") && e.contains("7.3"), "{e}");
    }

    #[test]
    fn globs_match_package_names() {
        let p = "linux-image-6.1.*-cloud-amd64";
        assert!(glob(p, "linux-image-6.1.0-57-cloud-amd64"));
        assert!(!glob(p, "linux-image-6.12.117+deb12-cloud-amd64"));
        assert!(!glob(p, "linux-image-6.1.0-57-cloud-amd64-unsigned"));
        assert!(glob("linux-binary-7.3.*+deb13-cloud-amd64", "linux-binary-7.3.4+deb13-cloud-amd64"));
        assert!(!glob("a*b*c", "acb"));
        assert!(glob("a*b*c", "axbyc"));
    }

    #[test]
    fn duplicate_series_are_refused() {
        let t = "[[kernel]]\nseries=\"6.1\"\nsuites=[\"a\"]\npackage=\"p\"\n[[kernel]]\nseries=\"6.1\"\nsuites=[\"a\"]\npackage=\"p\"\n";
        assert!(parse(t).unwrap_err().contains("twice"));
        assert!(parse("[[kernel]]\nseries=\"6.1\"\n").is_err());
    }
}
