//! A litmus file's `# kernels:` header resolved: the ranges select series
//! of `kernels.toml`, and each selected series is modelled by the spec that
//! claims it (`[spec] kernels`). So a new series that behaves like the last
//! one is a `kernels.toml` row and a claim: every `6.18..` file takes it in.
//!
//! A header must not split a spec's claim (`..6.18` where linux-6.18 also
//! claims 6.19): a file either holds on a spec or it does not.

use mmflags_model::parse::Series;
use mmflags_model::Trace;

/// What a header selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    /// The series of `kernels.toml` in its ranges, in order.
    pub series: Vec<String>,
    /// The specs that claim them: the ones whose results the file states.
    pub specs: Vec<String>,
}

/// The series of `kernels.toml`, in order.
pub fn known_series() -> Vec<String> {
    mmflags_guest::kernels::all().into_iter().map(|k| k.series).collect()
}

/// Resolves `t`'s header against `series` (those of `kernels.toml`) and
/// `claims` (each kernel spec with the series it claims).
pub fn select(t: &Trace, series: &[String], claims: &[(String, Vec<String>)]) -> Result<Selected, String> {
    let at = t.kernels_line;
    if t.kernels.is_empty() {
        return Err(
            "no `# kernels:` header: say on which kernel series the results hold, like `# kernels: 6.18..`"
                .into(),
        );
    }
    let parsed: Vec<(String, Series)> =
        series.iter().filter_map(|s| s.parse().ok().map(|p| (s.clone(), p))).collect();
    for r in &t.kernels {
        if !parsed.iter().any(|(_, s)| r.contains(*s)) {
            return Err(format!("line {at}: `{r}` holds no series of kernels.toml ({})", series.join(", ")));
        }
    }
    let chosen: Vec<String> = parsed.iter().filter(|(_, s)| t.holds_on(*s)).map(|(n, _)| n.clone()).collect();
    let mut specs = Vec::new();
    for s in &chosen {
        let who: Vec<&String> = claims.iter().filter(|(_, k)| k.contains(s)).map(|(n, _)| n).collect();
        match who.as_slice() {
            [one] => {
                if !specs.contains(*one) {
                    specs.push((*one).clone());
                }
            }
            [] => return Err(format!("line {at}: kernel series {s} is claimed by no spec")),
            many => return Err(format!("line {at}: kernel series {s} is claimed by {many:?}")),
        }
    }
    for (name, claimed) in claims {
        let inside: Vec<&String> = claimed.iter().filter(|s| chosen.contains(s)).collect();
        if !inside.is_empty() && inside.len() != claimed.len() {
            return Err(format!(
                "line {at}: the header takes {} of {name}'s series and not the rest ({}); \
                 a file holds on a spec or it does not: widen or narrow the range",
                inside.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                claimed.join(", ")
            ));
        }
    }
    Ok(Selected { series: chosen, specs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Vec<(String, Vec<String>)> {
        let c = |n: &str, s: &[&str]| (n.to_string(), s.iter().map(|x| x.to_string()).collect());
        vec![c("old", &["6.1"]), c("mid", &["6.12"]), c("main", &["6.18", "6.19"]), c("new", &["7.0", "7.3"])]
    }

    fn series() -> Vec<String> {
        ["6.1", "6.12", "6.18", "6.19", "7.0", "7.3"].iter().map(|s| s.to_string()).collect()
    }

    fn sel(header: &str) -> Result<Selected, String> {
        let t = Trace::parse(&format!("# kernels: {header}\nP0 mmap() = v0\n")).unwrap();
        select(&t, &series(), &claims())
    }

    #[test]
    fn ranges_select_series_and_their_specs() {
        assert_eq!(sel("6.18..").unwrap().specs, ["main", "new"]);
        assert_eq!(sel("..6.12").unwrap().specs, ["old", "mid"]);
        assert_eq!(sel("6.1 7.0..").unwrap().specs, ["old", "new"]);
        assert_eq!(sel("6.13..6.19").unwrap().series, ["6.18", "6.19"]);
        // A new series claimed by an existing spec joins every open range.
        let mut s = series();
        s.push("7.4".into());
        let mut c = claims();
        c[3].1.push("7.4".into());
        let t = Trace::parse("# kernels: 6.18..\nP0 mmap() = v0\n").unwrap();
        assert_eq!(select(&t, &s, &c).unwrap().series, ["6.18", "6.19", "7.0", "7.3", "7.4"]);
    }

    #[test]
    fn a_header_that_splits_a_claim_or_selects_nothing_is_refused() {
        assert!(sel("..6.18").unwrap_err().contains("main's series"));
        assert!(sel("5.0..5.9").unwrap_err().contains("holds no series"));
        let t = Trace::parse("P0 mmap() = v0\n").unwrap();
        assert!(select(&t, &series(), &claims()).unwrap_err().contains("no `# kernels:` header"));
    }
}
