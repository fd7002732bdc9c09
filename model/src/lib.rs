//! mmflags-model: a formal model of the Linux memory-management flags that
//! decide transparent-hugepage policy (`mm->def_flags`, `VM_HUGEPAGE` /
//! `VM_NOHUGEPAGE`, the `MMF_*` bits) and how `mmap`, `madvise`,
//! `process_madvise`, `prctl`, `mlockall`, `fork` and `execve` move them,
//! for every Linux series a kernel spec claims (from 6.1 LTS on; the tables
//! where kernels differ are knobs of `Semantics`, and `specs/` says which
//! spec models which series) and for the 2025 proposals.
//!
//! `System` is a `stateright::Model`. This crate knows nothing of files, the
//! command line or HTTP: the checker crate loads specs and prints.

pub mod action;
pub mod alphabet;
pub mod cause;
pub mod diff;
pub mod flags;
pub mod ghost;
pub mod key;
pub mod model;
pub mod model_impl;
pub mod parse;
pub mod predicate;
pub mod properties;
pub mod property;
pub mod provenance;
pub mod reads;
pub mod replay;
pub mod semantics;
pub mod setting;
pub mod state;
pub mod suggest;
pub mod svg;
pub mod symmetry;
pub mod syscalls;
pub mod thp;
pub mod variants;

pub use action::{Action, Call, Errno, Ret, Step};
pub use model::{Bounds, System, Walk};
pub use parse::{ParseError, Trace, TraceError};
pub use semantics::{Intent, Semantics, Variant};
pub use state::{State, Sysfs};
pub use syscalls::StepError;
