//! Fuzz target: any bytes as a spec file beside the real specs (so
//! `extends` reaches them). See `mmflags_checker::fuzz::spec_bytes`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;

fuzz_target!(|data: &[u8]| {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs");
    mmflags_checker::fuzz::spec_bytes(&dir, data);
});
