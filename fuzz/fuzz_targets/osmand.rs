//! Fuzz target: see `gridbeat::fuzz::osmand`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gridbeat::fuzz::osmand(data));
