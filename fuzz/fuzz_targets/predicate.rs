//! Fuzz target: any bytes as the predicate of a user property, compiled
//! alone and inside a spec beside the real specs. See
//! `mmflags_checker::fuzz::predicate_bytes`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;

fuzz_target!(|data: &[u8]| {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs");
    mmflags_checker::fuzz::predicate_bytes(&dir, data);
});
