//! mmflags-checker: the `check` binary's library: spec loading, the
//! exhaustive engine, verdicts, traces, JSON, reports, the HTML trace
//! viewer and the explorer's front. The only crate that prints or serves;
//! the model crate knows nothing of files, terminals or HTTP.

pub mod baseline;
pub mod changelog;
pub mod cost;
pub mod diff;
pub mod engine;
pub mod expand;
pub mod exploration;
pub mod explore;
pub mod fuzz;
pub mod html;
pub mod http;
pub mod input;
pub mod intern;
pub mod json;
pub mod limits;
pub mod orbits;
pub mod render;
pub mod replay;
pub mod report;
pub mod report_against;
pub mod run;
pub mod spec;
pub mod store;
pub mod verdict;
pub mod witness;
