//! gridbeat's integration tests: one test binary (as ripgrep's `tests/integration`), so the
//! crate and its dependencies (polars, axum, SQLite) are linked once, not once per test file.
//! Each former test file is a module; the helpers they share are in `util`.
//!
//! The modules marked `assess` need the monthly assessment (`report`), those marked `service`
//! the HTTP door and the store (both default features); `cargo test --no-default-features`
//! runs the others.
//!
//! Paths: `data/sample/` and `tests/fixtures/` are found from `CARGO_MANIFEST_DIR`, the golden
//! reference data in `../shared/data` beside the checkout.

// Test and tooling code run by hand or by `cargo test`: a panic stops that run, never the service.
#![allow(clippy::unwrap_used)]

mod util;

mod cli_config;
mod cli_coverage;
mod cli_demo;
mod cli_locate;
#[cfg(feature = "service")]
mod cli_service;
mod cli_tracks;
mod cli_visits;
mod coverage_golden;
mod coverage_props;
mod day_windows;
mod hardening;
mod ingest_parquet;
mod ingest_table;
#[cfg(feature = "service")]
mod jt808_tcp;
#[cfg(feature = "assess")]
mod lake;
mod layers_geojson;
mod locate_golden;
#[cfg(feature = "service")]
mod map_page;
#[cfg(feature = "assess")]
mod one_engine;
#[cfg(feature = "service")]
mod openapi;
#[cfg(feature = "service")]
mod postgres;
mod registry_validation;
#[cfg(feature = "assess")]
mod report_e2e;
#[cfg(feature = "assess")]
mod report_vehicles;
mod report_xlsx;
mod route_coverage;
mod sample_city;
#[cfg(feature = "service")]
mod service_crash;
#[cfg(feature = "service")]
mod service_fleet;
#[cfg(feature = "service")]
mod service_http;
#[cfg(feature = "service")]
mod service_incremental;
#[cfg(feature = "service")]
mod service_layers;
#[cfg(feature = "service")]
mod service_report;
mod sim_fleet;
mod sim_invariants;
#[cfg(feature = "assess")]
mod spark;
#[cfg(feature = "service")]
mod store_contract;
mod stored_summaries;
mod tiles_decode;
mod track_properties;
mod tracks_golden;
mod visits_truth;
