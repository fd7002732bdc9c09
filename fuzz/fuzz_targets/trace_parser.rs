//! Fuzz target: any bytes as a trace file, parsed, printed back, and
//! replayed on every spec. See `mmflags_checker::fuzz::trace_bytes`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mmflags_checker::fuzz::trace_bytes(data);
});
