//! The variant modules: proposal behaviour that no knob expresses, one small
//! module per proposal behind the `Variant` trait. A spec picks one with
//! `[semantics] variant = "..."`; most specs need none beyond `mainline`
//! (the process_madvise proposals are knobs, see `Semantics`).

mod mctl;
mod prctl_thp_always;
mod prctl_thp_policy;

use crate::semantics::{Mainline, Variant};
use std::sync::Arc;

/// Every variant module a spec may name.
pub const NAMES: &[&str] = &["mainline", "prctl-thp-policy", "prctl-thp-always", "mctl"];

pub fn by_name(name: &str) -> Option<Arc<dyn Variant>> {
    match name {
        "mainline" => Some(Arc::new(Mainline)),
        "prctl-thp-policy" => Some(Arc::new(prctl_thp_policy::PrctlThpPolicy)),
        "prctl-thp-always" => Some(Arc::new(prctl_thp_always::PrctlThpAlways)),
        "mctl" => Some(Arc::new(mctl::Mctl)),
        _ => None,
    }
}
