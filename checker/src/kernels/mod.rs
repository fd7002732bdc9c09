//! Kernel series as data: the series `kernels.toml` lists and the spec
//! that claims each (`claims`). How a series is booted and checked is the
//! `check conform --kernel` and `check kernels` commands' business (the
//! binary's `cmd/`) and the guest crate's.

pub mod claims;

pub use claims::{claiming, claims};
