//! The exhaustive search: a deterministic, parallel, level-synchronous
//! breadth-first exploration of a `System` with symmetry reduction.
//!
//! - `search`: the driver (`explore`, its `Options` and live `Counters`);
//! - `expand`: one level's successors, computed on packed states;
//! - `store`: the visited table of packed states; `intern`: the slot
//!   forms they are packed from and the memo of single-process moves;
//! - `decode`: packed states read back as states and keys;
//! - `exploration`: what a search found (`Exploration`, coverage,
//!   discoveries) and the chain of states to any of them;
//! - `limits`: what stops a run outside the spec's question;
//! - `witness`: the least of the shortest traces to a state;
//! - `orbits`: how many states a symmetry-reduced count stands for.

pub mod decode;
pub mod expand;
pub mod exploration;
pub mod intern;
pub mod limits;
pub mod orbits;
pub mod search;
pub mod store;
pub mod witness;

pub use exploration::{Coverage, Discovery, Exploration, Packing, Phases, Stored};
pub use search::{explore, Counters, Options};
