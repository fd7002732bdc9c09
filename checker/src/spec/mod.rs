//! Spec files (`specs/*.toml`): loading, `extends`, and validation into a
//! `Spec`. Every error names the file, line and column, says what is wrong
//! and how to fix it (with a "did you mean" for a misspelled name).
//!
//! The loader is fed hostile input by the fuzz target `spec_loader` and the
//! corpus in `tests/bad/`: it never panics, never reads without bound (see
//! `input`), and caps what could make it slow (nesting, `extends` chains,
//! the number and length of `[actions]` patterns).

mod baseline;
mod expect;
mod extends;
pub mod knobs;
mod props;
mod reader;
pub mod search_path;
mod sections;
mod validate;
mod versions;

use crate::input;
use crate::verdict::Verdict;
use mmflags_model::action::Call;
use mmflags_model::property::{self, Prop, SpecProperty};
use mmflags_model::suggest::did_you_mean;
use mmflags_model::{alphabet, Bounds, Semantics, System};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use extends::resolve_extends;
pub use search_path::{all_specs, resolve, spec_names, specs_dir};
use sections::sections_of;

/// A problem in a spec file, at a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.col, self.msg)
    }
}

impl std::error::Error for SpecError {}

/// A validated spec.
#[derive(Clone, Debug)]
pub struct Spec {
    pub name: String,
    pub title: String,
    pub source: String,
    pub file: PathBuf,
    pub extends: Option<String>,
    /// The kernel series this spec claims to model (`[spec] kernels`),
    /// each proved by `check conform --kernel SERIES`; empty for a proposal.
    pub kernels: Vec<String>,
    pub semantics: Semantics,
    /// The `[semantics]` and `[intent]` settings as written (after `extends`), for reports.
    pub knobs: Vec<(String, String)>,
    pub bounds: Bounds,
    /// How deep its page properties are explored, with the calls about
    /// pages (`[bounds] pages_depth`; see `views`).
    pub pages_depth: Option<usize>,
    /// How deep the policy properties are explored, with the calls about
    /// KSM merge-any and MDWE (`[bounds] policies_depth`; see `views`).
    pub policies_depth: Option<usize>,
    /// Which of its calls and properties a run of it takes (`views`).
    pub view: View,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// The properties it defines in `[properties]` (its own and inherited),
    /// in name order, whether or not `[expect]` checks them.
    pub properties: Vec<Arc<SpecProperty>>,
    /// The properties this spec checks, the catalogue's in catalogue order
    /// and then its own, with the verdict it expects.
    pub expect: Vec<(Prop, Verdict)>,
    /// What `[expect]` says of a verdict against the baseline
    /// (`"violated, new"`), for the properties where it says it.
    pub expect_against: Vec<ExpectAgainst>,
    /// The spec this one is judged against (`[spec] baseline`; by default,
    /// for a spec that claims no kernel, `kernel_base`).
    pub baseline: Option<Baseline>,
    /// The nearest spec up the `extends` chain that claims a kernel: its
    /// name and file.
    pub kernel_base: Option<(String, PathBuf)>,
    /// `[spec] baseline` as written, with its position.
    pub(crate) baseline_named: Option<Named>,
}

/// A spec name as written in a key: the name, the file, the position.
pub(crate) type Named = (String, PathBuf, (usize, usize));

/// `[expect] p = "violated, new"`: the relation half, where it was written.
#[derive(Clone, Debug)]
pub struct ExpectAgainst {
    pub property: String,
    pub relation: crate::verdict::Relation,
    pub file: PathBuf,
    pub at: (usize, usize),
}

/// A baseline: the loaded spec whose semantics answer the same traces.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub name: String,
    pub spec: Box<Spec>,
    /// Named by `[spec] baseline` (not the default).
    pub named: bool,
}

/// Which part of a spec a run takes. Pages multiply the states a run must
/// store, and so do the other process-wide policies (KSM merge-any, MDWE),
/// and only their own properties read them; so a spec is explored once per
/// kind of property it asks about: its flag properties to `depth` without
/// the calls about pages or policies (none of them reads anything those
/// calls change or read), its page properties to `pages_depth` with every
/// call about pages, its policy properties to `policies_depth` with every
/// call about policies. Each verdict holds within its own run's bounds,
/// and reports say which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Every property, as written, and the calls of every kind they read:
    /// the pages' and the policies' when it asks about them (the explorer,
    /// `trace`'s links, conformance).
    All,
    /// No call about pages or policies; the properties that read neither.
    Flags,
    /// Every call about pages, to `pages_depth`; the properties that read pages.
    Pages,
    /// Every call about policies, to `policies_depth`; the properties that
    /// read KSM merge-any or MDWE.
    Policies,
    /// Every call about policies and the calls that make tasks share an
    /// mm (`vfork`, `clone`), to `policies_depth`; the properties that read
    /// who shares an mm. Tasks that share an mm name each other's slots,
    /// so this run renames no process slot: kept apart, it leaves the
    /// other runs their symmetry and their state counts.
    Shared,
}

/// A spec's runs, each when it has properties to check.
pub struct Views {
    pub flags: Option<Spec>,
    pub pages: Option<Spec>,
    pub policies: Option<Spec>,
    pub shared: Option<Spec>,
}

/// The view a property is checked in.
pub fn view_of(p: &Prop) -> View {
    if p.reads_pages() {
        View::Pages
    } else if p.reads_shared() {
        View::Shared
    } else if p.reads_policies() {
        View::Policies
    } else {
        View::Flags
    }
}

impl Spec {
    /// The runs that check it: its flag, page and policy views.
    pub fn views(&self) -> Views {
        let part = |v: View, depth: Option<usize>| {
            let expect: Vec<_> = self.expect.iter().filter(|(p, _)| view_of(p) == v).cloned().collect();
            (!expect.is_empty()).then(|| {
                let bounds = Bounds { depth: depth.or(self.bounds.depth), ..self.bounds.clone() };
                Spec { expect, view: v, bounds, ..self.clone() }
            })
        };
        Views {
            flags: part(View::Flags, self.bounds.depth),
            pages: part(View::Pages, self.pages_depth),
            policies: part(View::Policies, self.policies_depth),
            shared: part(View::Shared, self.policies_depth),
        }
    }

    /// The model this spec asks about: its calls, and its expected
    /// properties followed by their premises (checked alongside, to tell a
    /// vacuous `holds` from a real one).
    pub fn system(&self) -> System {
        let cands = alphabet::candidates(&self.semantics, self.bounds.processes, self.bounds.vmas);
        let (mut calls, _) = alphabet::select(&cands, &self.include, &self.exclude);
        // A view has every call of its kind an `exclude` does not take
        // away, whatever `include` names: `include` narrows the question
        // the flags ask, and pages and policies need their own calls.
        // `All` (the explorer, `trace`'s links, conformance) has the calls
        // of every kind its properties read: a spec that asks nothing of
        // pages or policies (`linux-6.18-thp`) keeps its own alphabet.
        let (allowed, _) = alphabet::select(&cands, &[], &self.exclude);
        let asks = |v: View| self.expect.iter().any(|(p, _)| view_of(p) == v);
        let (pages, policies, shared) = (asks(View::Pages), asks(View::Policies), asks(View::Shared));
        let kind = |c: &Call| match self.view {
            View::All => {
                (pages && c.is_pages_view_call())
                    || ((policies || shared) && c.is_policy_call())
                    || (shared && c.is_sharing_call())
            }
            View::Pages => c.is_pages_view_call(),
            View::Policies => c.is_policy_call(),
            View::Shared => c.is_policy_call() || c.is_sharing_call(),
            View::Flags => false,
        };
        calls.retain(|c| !c.is_page_call() && !c.is_policy_call() && !c.is_sharing_call());
        let more: Vec<_> = allowed.into_iter().filter(|c| kind(c) && !calls.contains(c)).collect();
        calls.extend(more);
        let checked: Vec<Prop> = self.expect.iter().map(|(p, _)| p.clone()).collect();
        let props = property::with_premises(&checked);
        System::new(self.semantics.clone(), self.bounds.clone(), calls, props)
    }

    /// What the properties it defines make the checker keep in its states
    /// that the catalogue's would not: one line per field, for the summary.
    pub fn kept_for_user_properties(&self) -> Vec<String> {
        let sys = self.system();
        let catalogue = sys.projection_for(sys.properties.iter().filter(|p| p.is_catalogue()));
        let users = sys.properties.iter().filter(|p| !p.is_catalogue());
        users.fold(property::Reads::default(), |r, p| r.union(p.reads())).beyond(&catalogue)
    }
}

/// Largest spec file read: real specs are a few KiB.
pub const MAX_SPEC_BYTES: u64 = 1 << 20;
/// Longest `extends` chain followed (the specs in `specs/` use two).
pub const MAX_EXTENDS: usize = 16;
/// Most patterns in one `[actions]` list, and the longest pattern: enough
/// to name every call, small enough that matching stays instant.
pub const MAX_PATTERNS: usize = 256;
pub const MAX_PATTERN_CHARS: usize = 200;

pub(super) fn err(file: &Path, at: (usize, usize), msg: impl Into<String>) -> SpecError {
    SpecError { file: file.to_path_buf(), line: at.0, col: at.1, msg: msg.into() }
}

pub(super) fn suggest(word: &str, cands: impl IntoIterator<Item = &'static str>) -> String {
    let cands: Vec<&str> = cands.into_iter().collect();
    match did_you_mean(word, cands.iter().copied()) {
        Some(s) => format!("; did you mean `{s}`?"),
        None => format!("; expected one of: {}", cands.join(", ")),
    }
}

/// Loads `file`, following `extends` (found on the search path:
/// `search_path`), validates, and loads its baseline.
pub fn load(file: &Path) -> Result<Spec, SpecError> {
    load_in(file, &mut Vec::new())
}

/// `load`, with the specs whose baselines are being loaded (for cycles).
fn load_in(file: &Path, chain: &mut Vec<PathBuf>) -> Result<Spec, SpecError> {
    let text =
        input::read_text(file, MAX_SPEC_BYTES, "a spec").map_err(|e| err(file, (e.line, e.col), e.msg))?;
    let spec = resolve_extends(file, sections_of(file, &text)?)?;
    baseline::attach(spec, chain)
}

/// Loads `bytes` as if they were the contents of `file` (whose `extends`
/// are looked up from where it would be on disk). The fuzz target's way in.
pub fn load_bytes(file: &Path, bytes: &[u8]) -> Result<Spec, SpecError> {
    if bytes.len() as u64 > MAX_SPEC_BYTES {
        return Err(err(file, (1, 1), format!("a spec file is at most {MAX_SPEC_BYTES} bytes")));
    }
    let text = input::decode(bytes.to_vec(), "a spec").map_err(|e| err(file, (e.line, e.col), e.msg))?;
    let spec = resolve_extends(file, sections_of(file, &text)?)?;
    baseline::attach(spec, &mut Vec::new())
}
