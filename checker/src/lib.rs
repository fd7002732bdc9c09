//! mmflags-checker: the `check` binary's library. The only crate that
//! prints or serves; the model crate knows nothing of files, terminals or
//! HTTP. Its modules in layers, each using only those before it
//! (`tests/module_graph.rs` fails on an import cycle):
//!
//! - `verdict`: the result words (`Verdict`, `Relation`); `input`: bounded
//!   reading of untrusted files; `http`: a minimal loopback HTTP client;
//! - `spec`: spec files: loading, `extends` and the search path, the one
//!   table of knobs, validation, `[expect]`, `[properties]`, baselines;
//! - `engine`: the exhaustive, deterministic, parallel search;
//! - `run`: running specs and judging them: outcomes, the lockstep against
//!   a baseline, `check diff`'s divergence, `check replay`'s trace file,
//!   what a property costs;
//! - `kernels`: kernel series, the spec that claims each, litmus headers;
//! - `explorer`: stateright's explorer behind a checked front, and links;
//! - `report`: `reports/`, traces as text and HTML, the JSON summary;
//! - `fuzz`: the fuzz targets' oracles.
//!
//! The binary (`main.rs` and `cmd/`, one file per subcommand) sits on top.

pub mod engine;
pub mod explorer;
pub mod fuzz;
pub mod http;
pub mod input;
pub mod kernels;
pub mod report;
pub mod run;
pub mod spec;
pub mod verdict;
