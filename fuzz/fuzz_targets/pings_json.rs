//! Fuzz target: see `gridbeat::fuzz::pings_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gridbeat::fuzz::pings_json(data));
