//! Fuzz target: see `gridbeat::fuzz::csv_pings`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gridbeat::fuzz::csv_pings(data));
