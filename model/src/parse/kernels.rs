//! Kernel series and ranges of them, as a litmus file's `# kernels:`
//! header writes them: `6.18..` (6.18 and every later series), `..6.12`
//! (every series up to 6.12), `6.12..6.19` (both ends included), `6.1`
//! (that series alone). Which series exist, and which spec models each, is
//! the checker's business (`kernels.toml`, `[spec] kernels`).

use std::fmt;
use std::str::FromStr;

/// A kernel series, `MAJOR.MINOR`, ordered as versions are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Series {
    pub major: u16,
    pub minor: u16,
}

impl Series {
    /// The series of a kernel release (`6.18.44-fc-v1252` is 6.18).
    pub fn of_release(release: &str) -> Option<Series> {
        let mut parts = release.split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Series { major, minor })
    }
}

impl FromStr for Series {
    type Err = String;

    fn from_str(s: &str) -> Result<Series, String> {
        let num = |p: Option<&str>| {
            p.filter(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse().ok())
        };
        let mut parts = s.split('.');
        match (num(parts.next()), num(parts.next()), parts.next()) {
            (Some(major), Some(minor), None) => Ok(Series { major, minor }),
            _ => Err(format!("`{s}` is not a kernel series; write MAJOR.MINOR, like 6.12")),
        }
    }
}

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A range of series, each end included when given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesRange {
    pub from: Option<Series>,
    pub to: Option<Series>,
}

impl SeriesRange {
    pub fn contains(&self, s: Series) -> bool {
        self.from.is_none_or(|f| f <= s) && self.to.is_none_or(|t| s <= t)
    }
}

impl FromStr for SeriesRange {
    type Err = String;

    fn from_str(s: &str) -> Result<SeriesRange, String> {
        let end = |p: &str| if p.is_empty() { Ok(None) } else { p.parse().map(Some) };
        let r = match s.split_once("..") {
            None => {
                let one: Series = s.parse()?;
                SeriesRange { from: Some(one), to: Some(one) }
            }
            Some((a, b)) => SeriesRange { from: end(a)?, to: end(b)? },
        };
        if let (Some(a), Some(b)) = (r.from, r.to) {
            if a > b {
                return Err(format!("`{s}` is empty: {a} comes after {b}"));
            }
        }
        Ok(r)
    }
}

impl fmt::Display for SeriesRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.from, self.to) {
            (Some(a), Some(b)) if a == b => write!(f, "{a}"),
            (a, b) => {
                if let Some(a) = a {
                    write!(f, "{a}")?;
                }
                f.write_str("..")?;
                if let Some(b) = b {
                    write!(f, "{b}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Series {
        x.parse().unwrap()
    }

    #[test]
    fn series_order_as_versions() {
        assert!(s("6.9") < s("6.12") && s("6.19") < s("7.0"));
        assert_eq!(Series::of_release("6.18.44-fc-v1252"), Some(s("6.18")));
        assert_eq!(Series::of_release("7.3.0-1-cloud-amd64"), Some(s("7.3")));
        assert!("6".parse::<Series>().is_err() && "6.x".parse::<Series>().is_err());
    }

    #[test]
    fn ranges_include_their_ends() {
        let r: SeriesRange = "6.12..6.19".parse().unwrap();
        assert!(
            r.contains(s("6.12")) && r.contains(s("6.19")) && !r.contains(s("7.0")) && !r.contains(s("6.1"))
        );
        let open: SeriesRange = "6.18..".parse().unwrap();
        assert!(open.contains(s("7.4")) && !open.contains(s("6.12")));
        let upto: SeriesRange = "..6.12".parse().unwrap();
        assert!(upto.contains(s("6.1")) && !upto.contains(s("6.13")));
        let one: SeriesRange = "6.1".parse().unwrap();
        assert!(one.contains(s("6.1")) && !one.contains(s("6.12")));
        assert!("..".parse::<SeriesRange>().unwrap().contains(s("9.9")));
        assert!("7.0..6.18".parse::<SeriesRange>().is_err());
        for t in ["6.18..", "..6.12", "6.12..6.19", "6.1", ".."] {
            assert_eq!(t.parse::<SeriesRange>().unwrap().to_string(), t);
        }
    }
}
