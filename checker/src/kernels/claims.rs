//! Which spec models which kernel series: each kernel spec's `[spec]
//! kernels` claim, over the series of `kernels.toml`. A series is claimed
//! by exactly one spec.

use crate::spec;

/// Every spec with the series it claims.
pub fn claims() -> Result<Vec<(String, Vec<String>)>, String> {
    spec::all_specs()
        .iter()
        .map(|f| spec::load(f).map(|s| (s.name, s.kernels)).map_err(|e| e.to_string()))
        .collect()
}

/// The one spec that claims `series`.
pub fn claiming(series: &str) -> Result<String, String> {
    let all = claims()?;
    let who: Vec<&String> =
        all.iter().filter(|(_, k)| k.iter().any(|s| s == series)).map(|(n, _)| n).collect();
    match who.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(format!(
            "no spec claims kernel series {series}: add it to the `[spec] kernels` of the spec that models it \
             (a series whose traces disagree with every spec gets a spec of its own)"
        )),
        many => Err(format!(
            "kernel series {series} is claimed by {}; a series is modelled by one spec",
            many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" and ")
        )),
    }
}
