//! A clone explains itself: no file points at a document outside the
//! repository (the old design notes and the shared reference directory);
//! the design and the kernel facts are `docs/design.md` and
//! `docs/kernel-semantics.md`.

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        // docs/ is where the documents now are; it may name their old homes.
        if name == "target" || name == ".git" || name == "docs" || name.ends_with(".lock") {
            continue;
        }
        if p.is_dir() {
            files(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

#[test]
fn no_file_points_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut all = Vec::new();
    files(&root, &mut all);
    // Spelled in pieces so that this file does not match itself.
    let outside = [["..", "/shared"].concat(), ["DES", "IGN"].concat(), ["reference", "/"].concat()];
    let bare = ["kernel", "-semantics"].concat();
    let mut found = Vec::new();
    for f in all {
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        for (i, line) in text.lines().enumerate() {
            let stray = line.match_indices(&bare).any(|(k, _)| !line[..k].ends_with("docs/"));
            if outside.iter().any(|o| line.contains(o.as_str())) || stray {
                found.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "references outside the repository:\n{}", found.join("\n"));
}

/// The README's layout names every top-level folder, `kernels.toml`, and
/// every folder of the checker's sources.
#[test]
fn the_readme_layout_lists_the_tree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let layout = &readme[readme.find("## Layout").expect("a Layout section")..];
    let mut want: Vec<String> = vec!["kernels.toml".into(), "docs/".into()];
    for e in std::fs::read_dir(&root).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() && !name.starts_with('.') && name != "target" {
            want.push(format!("{name}/"));
        }
    }
    for e in std::fs::read_dir(root.join("checker/src")).unwrap().flatten() {
        if e.path().is_dir() {
            want.push(format!("src/{}/", e.file_name().to_string_lossy()));
        }
    }
    let missing: Vec<&String> = want.iter().filter(|w| !layout.contains(w.as_str())).collect();
    assert!(missing.is_empty(), "README.md's layout does not list {missing:?}");
}
