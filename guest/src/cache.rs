//! Where fetched kernels, apt's private state and guest consoles live:
//! `$MMFLAGS_CACHE`, else `$XDG_CACHE_HOME/mmflags`, else `~/.cache/mmflags`.
//! Everything in it can be deleted; it is fetched again.

use std::path::PathBuf;

pub fn dir() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("MMFLAGS_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("mmflags")))
        .or_else(|| env("HOME").map(|h| h.join(".cache").join("mmflags")))
        .unwrap_or_else(|| std::env::temp_dir().join("mmflags-cache"))
}

/// `dir()/sub`, created.
pub fn sub(sub: &str) -> Result<PathBuf, String> {
    let d = dir().join(sub);
    std::fs::create_dir_all(&d).map_err(|e| format!("creating {}: {e}", d.display()))?;
    Ok(d)
}

/// An exclusive lock on `dir()/name`, held until the file is dropped (a
/// process that dies releases it); waits for another holder.
pub fn lock(name: &str) -> Result<std::fs::File, String> {
    let d = dir();
    std::fs::create_dir_all(&d).map_err(|e| format!("creating {}: {e}", d.display()))?;
    let path = d.join(name);
    let f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.lock().map_err(|e| format!("locking {}: {e}", path.display()))?;
    Ok(f)
}
