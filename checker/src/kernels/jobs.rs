//! The kernel matrix as data: one job per series of `kernels.toml` and
//! kind — its litmus files, then each THP mode (`never`, `madvise`,
//! `always`) — in that order, each with a stable index (`6.1-litmus` is 0,
//! `6.1-never` 1, ...). `check kernels jobs` lists them, `check kernels job
//! INDEX` runs one, `check kernels matrix` and every batch engine in
//! `deploy/` run them by index, and `check kernels report` merges their
//! JSON files against this list.

use super::claims::claims;
use mmflags_guest::kernels;
use mmflags_model::Sysfs;
use serde::Serialize;

/// The kinds of job each series has, in index order.
pub const KINDS: [&str; 4] = ["litmus", "never", "madvise", "always"];

/// One job of the matrix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KernelJob {
    /// Its place in the matrix: series (in kernels.toml's order) x KINDS.
    pub index: usize,
    /// `SERIES-KIND` (`6.12-madvise`): its JSON file is `NAME.json`.
    pub name: String,
    pub series: String,
    /// kernels.toml's glob over Debian's package names, and its suites.
    pub package: String,
    pub suites: Vec<String>,
    /// The spec that claims the series (`[spec] kernels`).
    pub spec: String,
    /// `litmus` or a THP mode.
    pub mode: String,
}

impl KernelJob {
    pub fn is_litmus(&self) -> bool {
        self.mode == "litmus"
    }

    /// The THP mode a mode job enumerates in (`None` for the litmus job).
    pub fn sysfs(&self) -> Option<Sysfs> {
        Sysfs::from_name(&self.mode)
    }
}

/// Every job of the matrix, from this build's kernels.toml and the specs'
/// claims (a series no spec claims is an error: its jobs could not run).
pub fn all() -> Result<Vec<KernelJob>, String> {
    let claims = claims()?;
    let mut out = Vec::new();
    for k in kernels::all() {
        let claimed: Vec<&String> =
            claims.iter().filter(|(_, s)| s.contains(&k.series)).map(|(n, _)| n).collect();
        let spec = match claimed.as_slice() {
            [one] => one.to_string(),
            _ => super::claiming(&k.series)?,
        };
        for kind in KINDS {
            out.push(KernelJob {
                index: out.len(),
                name: format!("{}-{kind}", k.series),
                series: k.series.clone(),
                package: k.package.clone(),
                suites: k.suites.clone(),
                spec: spec.clone(),
                mode: kind.to_string(),
            });
        }
    }
    Ok(out)
}

/// The job `key` names: its index (`5`) or its name (`6.12-never`).
pub fn find<'a>(all: &'a [KernelJob], key: &str) -> Result<&'a KernelJob, String> {
    let found = match key.parse::<usize>() {
        Ok(i) => all.get(i),
        Err(_) => all.iter().find(|j| j.name == key),
    };
    found.ok_or_else(|| {
        format!(
            "no job `{key}` in the matrix: its jobs are 0 to {} (`check kernels jobs` lists them), \
             or a name such as {}",
            all.len().saturating_sub(1),
            all.first().map_or("6.1-litmus", |j| j.name.as_str())
        )
    })
}

/// The jobs of the given series (all when none) and, when `only` names
/// some (indices or names, each entry possibly a comma-separated list),
/// only those; in index order.
pub fn select(all: &[KernelJob], series: &[String], only: &[String]) -> Result<Vec<KernelJob>, String> {
    for s in series {
        kernels::by_series(s)?;
    }
    let mut keep: Vec<usize> = Vec::new();
    for key in only.iter().flat_map(|o| o.split(',')).map(str::trim).filter(|k| !k.is_empty()) {
        keep.push(find(all, key)?.index);
    }
    Ok(all
        .iter()
        .filter(|j| series.is_empty() || series.contains(&j.series))
        .filter(|j| keep.is_empty() || keep.contains(&j.index))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_has_its_four_jobs_in_index_order() {
        let all = all().unwrap();
        let series = kernels::all();
        assert_eq!(all.len(), series.len() * KINDS.len());
        for (i, j) in all.iter().enumerate() {
            assert_eq!(j.index, i);
            assert_eq!(j.series, series[i / 4].series);
            assert_eq!(j.mode, KINDS[i % 4]);
            assert_eq!(j.name, format!("{}-{}", j.series, j.mode));
        }
        assert_eq!(find(&all, "1").unwrap().name, format!("{}-never", series[0].series));
        assert_eq!(find(&all, &all[6].name).unwrap().index, 6);
        assert!(find(&all, "999").unwrap_err().contains("check kernels jobs"));
    }

    #[test]
    fn a_selection_keeps_index_order_and_global_indices() {
        let all = all().unwrap();
        let s = select(&all, &[], &["5,1".into(), all[2].name.clone()]).unwrap();
        assert_eq!(s.iter().map(|j| j.index).collect::<Vec<_>>(), [1, 2, 5]);
        let one = select(&all, &[all[4].series.clone()], &[]).unwrap();
        assert_eq!(one.iter().map(|j| j.index).collect::<Vec<_>>(), [4, 5, 6, 7]);
        assert!(select(&all, &["5.4".into()], &[]).unwrap_err().contains("5.4"));
    }
}
