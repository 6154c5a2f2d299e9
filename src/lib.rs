//! gridbeat: patrol tracks and grid coverage for grid-based community governance (网格化管理).
//!
//! One engine, two doors (see `ARCHITECTURE.md`): the pure engine modules compute every
//! figure; the command line and the HTTP service only read input and write output.
//!
//! **Vocabulary and parameters**
//! - [`model`]: pings, workers, unit codes, levels, CRS, timestamps.
//! - [`config`]: the TOML config with every parameter of DESIGN.md §4.
//!
//! **Engine** (no I/O, no async)
//! - [`crs`]: WGS84 ⇄ GCJ-02 ⇄ BD-09.
//! - [`geodesy`]: fast ellipsoidal distances and local metric frames.
//! - [`track`]: cleaning, segments, length, stays, the per-day split, simplification.
//! - [`visits`]: in-grid time, out-of-grid episodes, checkpoint visits and compliance.
//! - [`anomaly`]: plausibility flags per worker-day (jumps, static device, replay, mock).
//! - [`registry`]: units, grids, workers, checkpoints; validation; the R-tree point locator.
//! - [`coverage`]: covered samples per grid, unions over days and workers, uncovered parts.
//! - [`assess`]: worker-day summaries; with the `assess` feature, the monthly assessment
//!   (polars): scores, ranks, roll-ups.
//!
//! **Maps**
//! - [`tiles`]: Mapbox Vector Tiles cut from a layer's GeoJSON, TileJSON, the MapLibre style.
//!
//! **Input**
//! - [`ingest`]: decoders from files and client protocols to pings, with per-record errors.
//!
//! **Data**
//! - [`sim`]: the synthetic city and its month of patrols.
//!
//! **Doors**
//! - [`cli`]: the `gridbeat` subcommands.
//! - [`layers`]: map layers as GeoJSON (grids, units, tracks, coverage, stays, visits,
//!   checkpoints, positions, heat) from worker-day summaries, filtered and scoped.
//! - [`report`]: the monthly assessment report model and its JSON, CSV, XLSX and HTML writers.
//!
//! **Service** (feature `service`)
//! - `server`: the HTTP door (axum): ingest from phones, reads, reports, map layers and tiles.
//! - `store`: the `Store` trait and its SQLite implementation: pings, summaries, the dirty queue.
//!
//! **Features**: `assess` (polars: the monthly assessment and `gridbeat report`) and `service`
//! (the HTTP door and the store; implies `assess`) are both default. Without them the engine,
//! the layers and tiles and the other batch commands build alone.

pub mod anomaly;
pub mod assess;
pub mod cli;
pub mod config;
pub mod coverage;
pub mod crs;
#[doc(hidden)]
pub mod fuzz;
pub mod geodesy;
pub mod ingest;
pub mod layers;
pub mod model;
pub mod registry;
pub mod report;
#[cfg(feature = "service")]
pub mod server;
pub mod sim;
#[cfg(feature = "service")]
pub mod store;
pub mod tiles;
pub mod track;
pub mod visits;
