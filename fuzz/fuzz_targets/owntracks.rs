//! Fuzz target: see `gridbeat::fuzz::owntracks`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gridbeat::fuzz::owntracks(data));
