//! Symmetry reduction by canonicalisation. Process slots are interchangeable,
//! and so are a process's VMA slots when the alphabet allows it (see
//! `alphabet::symmetric_vmas`). There are no cross-references between slots
//! in the state (no parent pointers, no addresses), so sorting is an exact
//! canonical form: two states get the same representative exactly when a
//! renaming maps one onto the other.
//!
//! The sorting itself is done on packed keys (`key::canonical_key`).
//! The checker stores representatives only. Printed traces are rebuilt from
//! the concrete initial state (`System::concretize`), so they keep the names
//! the kernel would hand out and replay as written.

/// Which renamings the checker may apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Symmetry {
    pub procs: bool,
    pub vmas: bool,
}

impl Symmetry {
    pub const NONE: Symmetry = Symmetry { procs: false, vmas: false };

    pub fn any(self) -> bool {
        self.procs || self.vmas
    }
}
