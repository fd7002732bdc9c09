//! Reading an input file (a spec, a trace) as text, whatever the path
//! names: a directory, a FIFO, `/dev/zero`, a symlink loop, a file larger
//! than any real input, or bytes that are not UTF-8. Each becomes an error
//! with a line and column; nothing here blocks, panics or reads without
//! bound, so a hostile path cannot hang `check` or bring in the OOM killer.

use std::io::Read;
use std::path::Path;

/// Why a file could not be read as text, and where (1-based line and
/// column; 1:1 when the problem is the file as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

/// 1-based line and column (in characters) of byte `offset` in `text`. An
/// offset inside a character or past the end counts as the character
/// boundary before it, so any offset is safe.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn whole(msg: String) -> InputError {
    InputError { line: 1, col: 1, msg }
}

/// A limit for messages: `1 MiB`, `3 KiB`, `17 bytes`.
fn size(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// Reads `path` as UTF-8 text of at most `max_bytes`; `what` names the kind
/// of file in messages ("a spec", "a trace").
pub fn read_text(path: &Path, max_bytes: u64, what: &str) -> Result<String, InputError> {
    // Look before opening: opening a FIFO blocks until a writer comes, and
    // a character device may never end.
    let meta = std::fs::metadata(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    if meta.is_dir() {
        return Err(whole(format!("is a directory, not {what} file")));
    }
    if !meta.is_file() {
        return Err(whole(format!(
            "is not a regular file (a device, FIFO or socket); {what} is a text file"
        )));
    }
    let too_big =
        |n: u64| whole(format!("is {} or more; {what} file is at most {}", size(n), size(max_bytes)));
    if meta.len() > max_bytes {
        return Err(too_big(meta.len()));
    }
    let file = std::fs::File::open(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    let mut bytes = Vec::new();
    // The file may have grown since it was looked at.
    file.take(max_bytes + 1).read_to_end(&mut bytes).map_err(|e| whole(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_big(bytes.len() as u64));
    }
    decode(bytes, what)
}

/// `bytes` as UTF-8, or an error at the first byte that is not.
pub fn decode(bytes: Vec<u8>, what: &str) -> Result<String, InputError> {
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        // The valid prefix is text, so its line and column are well defined.
        let prefix = std::str::from_utf8(&bytes[..good]).unwrap_or_default();
        let (line, col) = line_col(prefix, prefix.len());
        InputError {
            line,
            col,
            msg: format!("byte 0x{:02x} is not UTF-8; {what} file is UTF-8 text", bytes[good]),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_safe_inside_a_character() {
        let t = "ab\nçd";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        // Byte 4 is inside `ç` (two bytes): the boundary before it.
        assert_eq!(line_col(t, 4), (2, 1));
        assert_eq!(line_col(t, 5), (2, 2));
        assert_eq!(line_col(t, 999), (2, 3));
    }

    #[test]
    fn invalid_utf8_is_located() {
        let e = decode(b"a = 1\nb = \"\xff\"".to_vec(), "a spec").unwrap_err();
        assert_eq!((e.line, e.col), (2, 6));
        assert!(e.msg.contains("0xff"), "{}", e.msg);
    }

    #[test]
    fn devices_and_directories_are_refused_without_reading() {
        let e = read_text(Path::new("/dev/zero"), 1 << 20, "a spec").unwrap_err();
        assert!(e.msg.contains("not a regular file"), "{}", e.msg);
        let e = read_text(Path::new("/"), 1 << 20, "a spec").unwrap_err();
        assert!(e.msg.contains("is a directory"), "{}", e.msg);
        let e = read_text(Path::new("/no/such/file"), 1 << 20, "a spec").unwrap_err();
        assert!(e.msg.contains("cannot read"), "{}", e.msg);
    }
}
