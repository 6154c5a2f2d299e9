//! Fuzz target: see `gridbeat::fuzz::stored_summary`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gridbeat::fuzz::stored_summary(data));
