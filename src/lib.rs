//! gridbeat: patrol tracks and grid coverage for grid-based community governance (网格化管理).
//!
//! One engine, two doors (see `ARCHITECTURE.md`, which also says where each kind of change
//! goes). The engine computes every figure and decides every rule; the doors — the command
//! line ([`cli`]) and the HTTP service ([`server`]) — parse, call the engine, and format. A
//! door function that computes a figure or decides a rule is a defect.
//!
//! **Vocabulary and parameters**
//! - [`model`]: pings, workers, unit codes, levels, CRS, months and periods, timestamps.
//! - [`config`]: the TOML config with every parameter of DESIGN.md §4.
//!
//! **Engine** (no async; file reading only where named)
//! - [`crs`]: WGS84 ⇄ GCJ-02 ⇄ BD-09.
//! - [`geodesy`]: fast ellipsoidal distances and local metric frames.
//! - [`track`]: cleaning, segments, length, stays, the per-day split, simplification.
//! - [`visits`]: in-grid time, out-of-grid episodes, checkpoint visits and compliance.
//! - [`anomaly`]: plausibility flags per worker-day (jumps, static device, replay, mock).
//! - [`registry`]: units, grids, workers, checkpoints, vehicles and routes; validation; the R-tree point locator;
//!   what replacing a registry file makes stale.
//! - [`coverage`]: covered samples per grid, unions over days and workers, uncovered parts.
//! - [`assess`]: worker-day summaries (the one source of every figure); figures over
//!   periods, the default period, unit roll-ups; with the `assess` feature, the monthly
//!   assessment (polars): scores, ranks. Pure: no I/O.
//! - [`layers`]: map layers as GeoJSON (grids, units, tracks, coverage, stays, visits,
//!   checkpoints, positions, heat) from worker-day summaries, filtered and scoped; the one
//!   check of a layer query's numbers.
//! - [`tiles`]: Mapbox Vector Tiles cut from a layer's GeoJSON, TileJSON, the MapLibre style.
//! - [`report`]: the monthly assessment report model and its JSON, CSV, XLSX and HTML writers.
//! - [`route`]: route coverage of city-management vehicles: route pieces, passes, the
//!   vehicle-day (the one source of the vehicles' figures) and the month of vehicles.
//!
//! **Input and storage**
//! - [`batch`]: ping files read and every worker's days summarised with the engine, as the
//!   batch door gets them (reads files).
//! - [`incremental`] (feature `service`): the planner that keeps stored summaries current,
//!   over a [`store::Store`] (which dirty days a round takes, their windows, cascades).
//! - [`ingest`]: decoders from files and client protocols to pings, with per-record errors;
//!   admission of a ping into the store (future timestamps, local day).
//! - [`jt808`]: the JT/T 808 codec of vehicle terminals (frames, sub-packages, messages,
//!   the platform's answers); the TCP door is `server::jt808`.
//! - [`store`] (feature `service`): the `Store` trait (its contract is
//!   `tests/it/store_contract.rs`) and the SQLite store.
//!
//! **Data**
//! - [`sim`]: the synthetic city and its month of patrols.
//!
//! **Doors**
//! - [`cli`]: the `gridbeat` subcommands.
//! - [`server`] (feature `service`): the HTTP service: ingest protocols, reports, layers,
//!   tiles, the map page, tokens and scopes, the recompute task.
//!
//! **Features**: `assess` (polars: the monthly assessment and `gridbeat report`) and `service`
//! (the HTTP door and the store; implies `assess`) are both default. Without them the engine,
//! the layers and tiles and the other batch commands build alone.

pub mod anomaly;
pub mod assess;
pub mod batch;
pub mod cli;
pub mod config;
pub mod coverage;
pub mod crs;
#[doc(hidden)]
pub mod fuzz;
pub mod geodesy;
#[cfg(feature = "service")]
pub mod incremental;
pub mod ingest;
pub mod jt808;
pub mod lake;
pub mod layers;
pub mod model;
pub mod registry;
pub mod report;
pub mod route;
#[cfg(feature = "service")]
pub mod server;
pub mod sim;
#[cfg(feature = "service")]
pub mod store;
pub mod tiles;
pub mod track;
pub mod visits;
