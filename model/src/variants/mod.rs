//! The variant modules: proposal behaviour that no knob expresses, one small
//! module per proposal behind the `Variant` trait. A spec picks one with
//! `[semantics] variant = "..."`; most specs need none beyond `mainline`.

use crate::semantics::{Mainline, Variant};
use std::sync::Arc;

/// Every variant module a spec may name.
pub const NAMES: &[&str] = &["mainline"];

pub fn by_name(name: &str) -> Option<Arc<dyn Variant>> {
    match name {
        "mainline" => Some(Arc::new(Mainline)),
        _ => None,
    }
}
