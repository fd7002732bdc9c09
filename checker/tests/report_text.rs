//! The reports' generator and what it wrote: the review paragraphs read as
//! sentences, and the report code is generic over the catalogue and the
//! specs (it names no catalogue property and no spec: what is at stake and
//! which spec is mainline come from the data).

use mmflags_model::properties::CATALOGUE;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn every_review_sentence_starts_a_sentence() {
    let text = std::fs::read_to_string(root().join("reports/README.md")).unwrap();
    let start = text.find("## What each variant gets right").expect("the reviews");
    let end = start + text[start..].find("\n## Kernels").expect("the next section");
    // Outside code spans (traces hold `. ` only inside backticks).
    let mut prose = String::new();
    for (i, part) in text[start..end].split('`').enumerate() {
        if i % 2 == 0 {
            prose.push_str(part);
        }
    }
    for w in prose.split(". ").skip(1) {
        let first = w.chars().next().unwrap_or('A');
        assert!(!first.is_lowercase(), "a sentence starts in lower case: `... {}`", &w[..w.len().min(80)]);
    }
    assert!(!prose.contains("gains a use case: it delivers"), "the use case twice in one breath");
}

#[test]
fn the_report_code_names_no_property_and_no_spec() {
    let dir = root().join("checker/src/report");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let code = std::fs::read_to_string(&p).unwrap();
        for c in CATALOGUE {
            assert!(!code.contains(&format!("\"{}\"", c.name)), "{} names `{}`", p.display(), c.name);
        }
        assert!(!code.contains("\"linux-"), "{} picks a spec by name", p.display());
    }
}
