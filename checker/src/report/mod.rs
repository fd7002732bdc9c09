//! What people read: `reports/` (the matrix, the reviews and one page per
//! spec), the trace as text and as a self-contained HTML viewer, the JSON
//! summary, and the changelog between kernel specs.
//!
//! - `pages`: `reports/README.md` and `reports/<spec>.md`, and the files
//!   beside each page (the SVG of a trace's last state, its viewer);
//! - `review`: the paragraphs of the README that say what each spec gets
//!   right and what breaks; `against`: how verdicts stand against a baseline;
//! - `changelog`: `reports/changelog.md`, derived from the kernel specs;
//! - `trace_text`: a trace as a replayable file with the state in comments;
//! - `html`: a trace as one page that steps through it;
//! - `json`: `check --json`;
//! - `kernels_page`: `reports/kernels.md`, the kernel matrix.

pub mod against;
pub mod changelog;
pub mod html;
pub mod json;
pub mod kernels_page;
pub mod pages;
pub mod review;
pub mod trace_text;

pub use pages::{index, spec_page, trace_files};
