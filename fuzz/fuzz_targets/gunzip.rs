//! Fuzz target: see `gridbeat::fuzz::gunzip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gridbeat::fuzz::gunzip(data));
