//! The spec search path: `extends` and `baseline` find a spec beside the
//! file that names it, then in the project's `specs/`, then in each
//! `--specs DIR`; a name that is nowhere is an error at its key that says
//! where it was looked for.

use mmflags_checker::spec;
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("search-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A spec extending `base`, at bounds small enough to check in a moment.
fn extending(name: &str, base: &str) -> String {
    format!(
        "[spec]\nname = \"{name}\"\nextends = \"{base}\"\n\n[bounds]\nprocesses = 1\nvmas = 1\nsysfs = [\"madvise\"]\ndepth = 2\n\n[expect]\nthp_flags_exclusive = \"holds\"\n"
    )
}

fn check(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_check")).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn a_spec_in_its_own_directory_extends_a_project_spec() {
    let dir = scratch("own");
    let f = dir.join("mine.toml");
    std::fs::write(&f, extending("mine", "linux-6.18")).unwrap();
    let s = spec::load(&f).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.extends.as_deref(), Some("linux-6.18"));
    let mainline = spec::load(&spec::specs_dir().join("linux-6.18.toml")).unwrap();
    assert_eq!(s.knobs, mainline.knobs, "it inherits linux-6.18's knobs");
    // It claims no kernel: judged against the nearest spec it extends that does.
    let b = s.baseline.as_ref().expect("a default baseline");
    assert_eq!((b.name.as_str(), b.named), ("linux-6.18", false));

    // Two levels: extending linux-6.18-thp (which claims no kernel) still
    // finds linux-6.18 as the baseline.
    let g = dir.join("thp.toml");
    std::fs::write(&g, extending("thp", "linux-6.18-thp")).unwrap();
    let s = spec::load(&g).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.baseline.map(|b| b.name), Some("linux-6.18".to_string()));

    let (code, out, err) = check(&[f.as_os_str()]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("mine") && out.contains("against linux-6.18"), "{out}");
}

#[test]
fn a_spec_beside_the_file_comes_first() {
    let dir = scratch("beside");
    // A local linux-6.18 that differs from the project's in one knob.
    let local = "[spec]\nname = \"linux-6.18\"\nkernels = [\"6.18\"]\n\n[semantics]\nvm_init_def_mask = []\n\n[bounds]\nprocesses = 1\nvmas = 1\nsysfs = [\"madvise\"]\n\n[expect]\nthp_flags_exclusive = \"holds\"\n";
    std::fs::write(dir.join("linux-6.18.toml"), local).unwrap();
    let f = dir.join("mine.toml");
    std::fs::write(&f, extending("mine", "linux-6.18")).unwrap();
    let s = spec::load(&f).unwrap_or_else(|e| panic!("{e}"));
    let mask = s.knobs.iter().find(|(k, _)| k == "vm_init_def_mask").map(|(_, v)| v.as_str());
    assert_eq!(mask, Some("0"), "the linux-6.18 beside it, not the project's");
    assert_eq!(s.baseline.map(|b| b.spec.file), Some(dir.join("linux-6.18.toml")));
}

#[test]
fn specs_dirs_are_searched_in_order_and_a_missing_name_says_where_it_looked() {
    let mine = scratch("dirs-mine");
    let lib1 = scratch("dirs-lib1");
    let lib2 = scratch("dirs-lib2");
    let f = mine.join("mine.toml");
    std::fs::write(&f, extending("mine", "reviewer-base")).unwrap();
    std::fs::write(lib2.join("reviewer-base.toml"), extending("reviewer-base", "linux-6.12")).unwrap();

    // Not found: an error at the `extends` value (line 3, column 11) that
    // lists every place it looked, in order.
    let (code, _, err) = check(&[f.as_os_str(), "--specs".as_ref(), lib1.as_os_str()]);
    assert_eq!(code, Some(2), "{err}");
    let at = format!("{}:3:11: `extends`: no spec `reviewer-base`", f.display());
    assert!(err.contains(&at), "{err}");
    let looked = format!("{}, {}, {}", mine.display(), spec::specs_dir().display(), lib1.display());
    assert!(err.contains(&looked), "{err}");

    // Found in the second --specs directory; its own `extends` is found in
    // the project's specs/, and the baseline is the kernel spec it extends.
    let (code, out, err) =
        check(&[f.as_os_str(), "--specs".as_ref(), lib1.as_os_str(), "--specs".as_ref(), lib2.as_os_str()]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("against linux-6.12"), "{out}");

    // `--specs` also names specs on the command line, after specs/.
    let (code, out, err) = check(&["reviewer-base".as_ref(), "--specs".as_ref(), lib2.as_os_str()]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("reviewer-base"), "{out}");
}

#[test]
fn a_named_baseline_is_found_on_the_search_path() {
    let dir = scratch("baseline");
    let f = dir.join("mine.toml");
    let text = extending("mine", "linux-6.18")
        .replace("extends = \"linux-6.18\"\n", "extends = \"linux-6.18\"\nbaseline = \"linux-6.12\"\n");
    std::fs::write(&f, text).unwrap();
    let s = spec::load(&f).unwrap_or_else(|e| panic!("{e}"));
    let b = s.baseline.expect("the named baseline");
    assert_eq!((b.name.as_str(), b.named), ("linux-6.12", true));

    let g = dir.join("nowhere.toml");
    std::fs::write(
        &g,
        extending("nowhere", "linux-6.18")
            .replace("extends = \"linux-6.18\"\n", "extends = \"linux-6.18\"\nbaseline = \"linux-6.81\"\n"),
    )
    .unwrap();
    let e = spec::load(&g).unwrap_err();
    assert_eq!((e.line, e.col), (4, 12), "{e}");
    assert!(e.msg.contains("no spec `linux-6.81`") && e.msg.contains("did you mean `linux-6.1"), "{e}");
}

#[test]
fn the_help_documents_specs_dir() {
    let (code, out, _) = check(&["--help".as_ref()]);
    assert_eq!(code, Some(0));
    assert!(out.contains("--specs <DIR>") && out.contains("beside the file that names it"), "{out}");
}
