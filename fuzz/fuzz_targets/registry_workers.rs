//! Fuzz target: see `gridbeat::fuzz::registry_workers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gridbeat::fuzz::registry_workers(data));
