//! The initramfs format: a `newc` cpio archive (what the kernel's
//! `init/initramfs.c` unpacks), uncompressed, with every timestamp and
//! owner zero so the same inputs make the same bytes.

use std::io::Write;

/// What one archive member is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Member {
    Dir,
    File { data: Vec<u8>, mode: u32 },
    Symlink(String),
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

fn pad(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn header(out: &mut Vec<u8>, ino: u32, mode: u32, size: usize, name: &str) {
    let fields = [ino, mode, 0, 0, 1, 0, size as u32, 0, 0, 0, 0, name.len() as u32 + 1, 0];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad(out);
}

/// The archive of `members` (paths relative to `/`, parents first), ended
/// by the `TRAILER!!!` record.
pub fn archive<'a>(members: impl IntoIterator<Item = (&'a str, &'a Member)>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ino = 1;
    for (name, m) in members {
        ino += 1;
        match m {
            Member::Dir => header(&mut out, ino, S_IFDIR | 0o755, 0, name),
            Member::File { data, mode } => {
                header(&mut out, ino, S_IFREG | (mode & 0o7777), data.len(), name);
                out.extend_from_slice(data);
                pad(&mut out);
            }
            Member::Symlink(target) => {
                header(&mut out, ino, S_IFLNK | 0o777, target.len(), name);
                out.extend_from_slice(target.as_bytes());
                pad(&mut out);
            }
        }
    }
    header(&mut out, ino + 1, 0, 0, "TRAILER!!!");
    out
}

/// Writes `bytes` to `path` in one go.
pub fn write(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    let mut f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(bytes).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_records_are_aligned_and_end_with_the_trailer() {
        let file = Member::File { data: b"hello".to_vec(), mode: 0o4755 };
        let link = Member::Symlink("busybox".into());
        let a = archive([("bin", &Member::Dir), ("bin/x", &file), ("bin/sh", &link)]);
        assert_eq!(a.len() % 4, 0);
        assert!(a.starts_with(b"070701"));
        // The setuid bit survives: mode of bin/x is S_IFREG | 04755.
        let at = a.windows(8).position(|w| w == b"000089ED").expect("mode of bin/x");
        assert!(at > 0);
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("bin/x\0") && text.contains("hello"));
        let trailer = text.rfind("TRAILER!!!\0").expect("trailer");
        assert!(a[trailer + 11..].iter().all(|&b| b == 0), "only padding after the trailer");
    }
}
