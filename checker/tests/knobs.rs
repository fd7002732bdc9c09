//! One table of knobs (`spec::knobs::KNOBS`): specs/README.md's knob table
//! is generated from it, every knob is a key the loader takes and reads,
//! and an unknown knob gets a "did you mean" over the table's names.
//! `MMFLAGS_BLESS=1 cargo test --test knobs` rewrites the README's table.

use mmflags_checker::spec::{self, knobs::KNOBS};
use std::path::Path;

const BEGIN: &str = "<!-- knobs: generated from checker/src/spec/knobs.rs; `MMFLAGS_BLESS=1 cargo test --test knobs` rewrites it -->\n";
const END: &str = "<!-- end of knobs -->\n";

#[test]
fn the_readme_table_is_the_knob_table() {
    let path = spec::specs_dir().join("README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (Some(a), Some(b)) = (text.find(BEGIN), text.find(END)) else {
        panic!("{}: no knob table between the markers {BEGIN:?} and {END:?}", path.display());
    };
    let want = spec::knobs::knob_table();
    let have = &text[a + BEGIN.len()..b];
    if have != want {
        if std::env::var_os("MMFLAGS_BLESS").is_some() {
            let new = format!("{}{want}{}", &text[..a + BEGIN.len()], &text[b..]);
            std::fs::write(&path, new).unwrap();
            return;
        }
        panic!(
            "{}'s knob table differs from checker/src/spec/knobs.rs; run `MMFLAGS_BLESS=1 cargo test --test knobs`.\nwant:\n{want}",
            path.display()
        );
    }
}

/// A spec setting each knob to its mainline value loads, and lists every
/// knob with that value; a misspelled knob is refused with the table's name.
#[test]
fn every_knob_is_read_and_listed() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("knobs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mainline = mmflags_model::Semantics::mainline();
    let mut text = String::from("[spec]\nname = \"all\"\n");
    for sec in ["semantics", "intent"] {
        text.push_str(&format!("\n[{sec}]\n"));
        for k in KNOBS.iter().filter(|k| k.section == sec) {
            let v = (k.show)(&mainline);
            let value = match k.ty {
                spec::knobs::Type::Bool => v,
                spec::knobs::Type::Variant => format!("{v:?}"),
                _ => {
                    let items: Vec<String> = v
                        .trim_matches(|c| c == '[' || c == ']' || c == '{' || c == '}')
                        .split([',', '|', ' '])
                        .filter(|s| !s.is_empty() && *s != "0")
                        .map(|s| format!("{:?}", kernel_name(s)))
                        .collect();
                    format!("[{}]", items.join(", "))
                }
            };
            text.push_str(&format!("{} = {value}\n", k.name));
        }
    }
    text.push_str("\n[bounds]\nprocesses = 1\nvmas = 1\nsysfs = [\"madvise\"]\n\n[expect]\nthp_flags_exclusive = \"holds\"\n");
    let f = dir.join("all.toml");
    std::fs::write(&f, &text).unwrap();
    let s = spec::load(&f).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let listed: Vec<String> = s.knobs.iter().map(|(k, _)| k.clone()).collect();
    let table: Vec<String> = KNOBS.iter().map(|k| k.listed_name()).collect();
    assert_eq!(listed, table, "a spec that sets every knob lists every knob, in the table's order");
    for (k, (_, v)) in KNOBS.iter().zip(&s.knobs) {
        assert_eq!(*v, (k.show)(&mainline), "{}", k.name);
    }

    let typo = text.replace("vm_init_def_mask", "vm_init_def_mak");
    std::fs::write(&f, typo).unwrap();
    let e = spec::load(&f).unwrap_err();
    assert!(
        e.msg.contains("unknown key `vm_init_def_mak` in [semantics]; did you mean `vm_init_def_mask`?"),
        "{e}"
    );
}

/// The flag names as a spec writes them, from how `show` prints them.
fn kernel_name(s: &str) -> String {
    let s = s.trim();
    let prefixed = ["VM_", "MMF_", "PMADV_", "PR_"].iter().any(|p| s.starts_with(p));
    if prefixed || s.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        s.to_string()
    } else {
        format!("MMF_{s}")
    }
}
