//! mmflags-conformance: a klitmus7 for mm flags. It runs model traces on
//! the running kernel, one step at a time, with a tree of agent processes
//! (one per model process), and compares every step's result and what
//! `/proc` shows afterwards with the model's prediction. It also writes a
//! trace as a standalone C program (`emit_c`) for a kernel that has no
//! checker on it.
//!
//! This is the only crate of the workspace that makes syscalls; like the
//! model it prints nothing (the checker does): results come back as data.

pub mod abi;
pub mod agent;
pub mod calls;
pub mod emit_c;
pub mod enumerate;
pub mod kernel;
pub mod khugepaged;
pub mod machine;
pub mod mode_lock;
pub mod procfs;
pub mod proto;
pub mod runner;
pub mod sys;
pub mod sysfs_guard;
