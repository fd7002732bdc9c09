//! Debian version comparison (deb-version(7)): which package of a series
//! is the newest. `[epoch:]upstream[-revision]`, compared part by part,
//! each as alternating non-digit and digit runs, with `~` sorting before
//! everything (even the end of the string).

use std::cmp::Ordering;

fn split(v: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if e.bytes().all(|b| b.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
        _ => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((u, r)) => (epoch, u, r),
        None => (epoch, rest, ""),
    }
}

fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(c) => c as i32 + 256,
    }
}

fn cmp_part(mut a: &[u8], mut b: &[u8]) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        // Non-digit run, character by character.
        loop {
            let ca = a.first().copied().filter(|c| !c.is_ascii_digit());
            let cb = b.first().copied().filter(|c| !c.is_ascii_digit());
            if ca.is_none() && cb.is_none() {
                break;
            }
            let o = order(ca).cmp(&order(cb));
            if o != Ordering::Equal {
                return o;
            }
            a = &a[1..];
            b = &b[1..];
        }
        // Digit run, numerically.
        let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
        let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let num = |s: &[u8]| s.iter().skip_while(|&&c| c == b'0').copied().collect::<Vec<u8>>();
        let (na, nb) = (num(&a[..da]), num(&b[..db]));
        let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(&nb));
        if o != Ordering::Equal {
            return o;
        }
        a = &a[da..];
        b = &b[db..];
    }
    Ordering::Equal
}

/// Compares two Debian versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| cmp_part(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| cmp_part(ra.as_bytes(), rb.as_bytes()))
}

/// The upstream part of a version (`6.12.117` of `6.12.117-1~deb12u1`).
pub fn upstream(v: &str) -> &str {
    split(v).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn debian_ordering() {
        assert_eq!(compare("6.1.192-3", "6.1.170-3"), Greater);
        assert_eq!(compare("6.12.117-1~deb12u1", "6.12.117-1"), Less);
        assert_eq!(compare("6.12.9-1", "6.12.10-1"), Less);
        assert_eq!(compare("7.3.4-1~bpo13+1", "7.3.4-1~bpo13+1"), Equal);
        assert_eq!(compare("1:1.0", "2.0"), Greater);
        assert_eq!(compare("1.0~rc1", "1.0"), Less);
        assert_eq!(compare("1.0a", "1.0"), Greater);
        assert_eq!(compare("1.0+b1", "1.0"), Greater);
        assert_eq!(upstream("6.12.117-1~deb12u1"), "6.12.117");
        assert_eq!(upstream("1:2.3"), "2.3");
    }
}
