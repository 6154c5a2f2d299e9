//! Fuzz target: see `gridbeat::fuzz::gpx`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gridbeat::fuzz::gpx(data));
