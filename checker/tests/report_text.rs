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

/// "Newly breaks" is said only of what the baseline keeps: a matrix cell
/// `new in n` (the spec's shorter trace breaks the baseline too) is
/// reviewed as "Like BASELINE, it ... and its own calls reach it where
/// BASELINE does not", never as a new break.
#[test]
fn a_break_the_baseline_shares_is_not_reviewed_as_new() {
    let text = std::fs::read_to_string(root().join("reports/README.md")).unwrap();
    let header = text.lines().find(|l| l.starts_with("| property |")).unwrap();
    let specs: Vec<&str> = header.split('|').skip(2).map(|c| c.trim()).filter(|c| !c.is_empty()).collect();
    let mut widened = 0;
    for row in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').skip(1).map(|c| c.trim()).collect();
        let prop = cells[0].trim_matches('`');
        for (spec, cell) in specs.iter().zip(&cells[1..]) {
            let name = spec.trim_start_matches('[').split(']').next().unwrap();
            let review = text
                .lines()
                .find(|l| l.starts_with(&format!("**[{name}]")))
                .unwrap_or_else(|| panic!("no review of {name}"));
            let link = format!("({name}.md#new-{})", prop.replace('_', "-"));
            let Some(at) = review.find(&link) else { continue };
            // The sentence the link is in: a review's sentences about the
            // baseline start " Against BASE, it newly breaks" or " Like BASE".
            let said_new = review[..at].rfind(" Against ") > review[..at].rfind(" Like ");
            if cell.starts_with('✘') && cell.contains(" new in ") {
                widened += 1;
                let like = review[..at].rfind(" Like ").expect("said beside the baseline's own");
                assert!(!said_new, "{name} {prop} is said to be new: {review}");
                assert!(review[like..at].contains(&format!("#{prop})")), "{name} {prop}: {review}");
            } else if cell.starts_with('✘') && cell.ends_with(" new") {
                assert!(said_new, "{name} {prop} is new but not said to be: {review}");
            }
        }
    }
    assert!(widened >= 3, "{widened} cells are `new in n`");
}
