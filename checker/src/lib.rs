//! mmflags-checker: the `check` binary's library: spec loading, the
//! exhaustive engine, verdicts, traces, JSON and reports. The only crate
//! that prints; the model crate knows nothing of files or terminals.

pub mod diff;
pub mod engine;
pub mod json;
pub mod limits;
pub mod render;
pub mod replay;
pub mod report;
pub mod run;
pub mod spec;
pub mod verdict;
