//! mmflags-checker: the `check` binary's library: spec loading, the
//! exhaustive engine, verdicts, traces, JSON, reports, the HTML trace
//! viewer and the explorer's front. The only crate that prints or serves;
//! the model crate knows nothing of files, terminals or HTTP.

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
