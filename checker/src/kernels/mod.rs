//! Kernel series as data: the series `kernels.toml` lists, the spec that
//! claims each (`claims`), the series and specs a litmus file's
//! `# kernels:` header selects (`litmus`), the matrix's jobs by index
//! (`jobs`) and what identifies the build and checkout a job ran with
//! (`identity`). How a series is booted and checked is the
//! `check conform --kernel` and `check kernels` commands' business (the
//! binary's `cmd/`) and the guest crate's.

pub mod claims;
pub mod identity;
pub mod jobs;
pub mod litmus;

pub use claims::{claiming, claims};
