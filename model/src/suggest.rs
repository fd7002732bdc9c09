//! "Did you mean" for misspelled names, shared by the trace parser and the
//! spec loader so both suggest the same way.

/// Edit distance between two strings (insert, delete, substitute; case-insensitive).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["thp_flags_exclusive", "mlock_not_inherited"];
        assert_eq!(did_you_mean("thp_flag_exclusive", names), Some("thp_flags_exclusive"));
        assert_eq!(did_you_mean("MADV_HUGEPAG", ["MADV_HUGEPAGE", "MADV_NOHUGEPAGE"]), Some("MADV_HUGEPAGE"));
        assert_eq!(did_you_mean("zzz", names), None);
    }
}
