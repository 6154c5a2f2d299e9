//! Fuzz target: see `gridbeat::fuzz::jt808`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gridbeat::fuzz::jt808(data));
