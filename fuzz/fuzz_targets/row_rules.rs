//! Fuzz target: see `gridbeat::fuzz::row_rules`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gridbeat::fuzz::row_rules(data));
