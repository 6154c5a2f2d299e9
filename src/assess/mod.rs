//! The assessment engine (DESIGN.md §3, §4.9): worker-day summaries, the single source of
//! every figure, and what is computed from them.
//!
//! A [`WorkerDay`] holds everything any door shows about one worker and one local day: the
//! track's figures and stays, in-grid time, out-of-grid episodes, the covered area as masks
//! that union across days and workers, checkpoint visits, data-quality counts, plausibility
//! flags, the day's simplified path, and the state the next day's window starts from. It is
//! the unit of incremental work: the service stores one per worker-day ([`stored`]) and
//! recomputes single dirty days from a bounded window of pings ([`window`]); the batch door
//! summarises whole streams. Both give the same summaries (see [`day`]).
//!
//! - [`day`]: one worker's pings → worker-days; the day rule.
//! - [`window`]: the bounded window of pings a single worker-day is computed from.
//! - [`period`]: figures over a period from worker-days (per worker, per grid, per checkpoint).
//! - [`stored`]: the compact stored form, keyed by codes, with the basis it was computed on.
//! - [`units`]: a unit's figures from its grids and their workers, the one roll-up of the
//!   report's unit rows and the `units` map layer.
//! - `month` (feature `assess`): the monthly assessment with polars: scores, ranks, roll-ups.

use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::anomaly::AnomalyParams;
use crate::config::Config;
use crate::coverage::{CoverageIndex, CoverageParams};
use crate::registry::Registry;
use crate::track::{CleanMode, TrackParams};
use crate::visits::{CheckpointIndex, VisitParams};

pub mod day;
pub mod error;
pub mod period;
pub mod stored;
pub mod units;
pub mod window;

#[cfg(feature = "assess")]
pub mod month;

pub use day::WorkerDay;
pub use error::AssessError;

/// The version of the engine's definitions: stored summaries computed by another version are
/// stale. Bump the suffix whenever a figure's definition changes (`.2`: repeats are no
/// figure, DESIGN.md §4.2 step 1).
pub const ENGINE_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+day-rule.2");

/// The one record of the parameters a figure was computed with: the engine version, the
/// cleaning mode and every config value. Every output (tracks, coverage, visits, report, the
/// service) records exactly this.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Params {
    /// [`ENGINE_VERSION`].
    pub engine: String,
    /// Whether the accuracy and speed gates ran (`false`: duplicates only).
    pub clean: bool,
    /// Every parameter of DESIGN.md §4.
    #[serde(flatten)]
    pub config: Config,
}

impl Params {
    /// The record of a config and a cleaning mode.
    pub fn new(config: Config, clean: CleanMode) -> Params {
        Params {
            engine: ENGINE_VERSION.to_string(),
            clean: clean == CleanMode::Full,
            config,
        }
    }

    /// The cleaning mode.
    pub fn clean_mode(&self) -> CleanMode {
        if self.clean {
            CleanMode::Full
        } else {
            CleanMode::DedupeOnly
        }
    }

    /// The record as JSON, as every output shows it.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        // How the service runs and who may call it change no figure; the route parameters
        // change no worker-day (the vehicles section of a report records them).
        if let Some(o) = v.as_object_mut() {
            o.remove("route");
            o.remove("server");
            o.remove("store");
            o.remove("tokens");
        }
        v
    }

    /// A short digest of the record (hex): summaries computed with other parameters are stale.
    pub fn digest(&self) -> String {
        digest_hex(self.to_json().to_string().as_bytes())
    }
}

/// The first 16 hex digits of the SHA-256 of some bytes.
pub fn digest_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a summary was computed on besides its pings: the parameters and the registry. A
/// stored summary whose basis differs from the current one is stale and must be recomputed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Basis {
    /// [`Params::digest`].
    pub params: String,
    /// Digest of every grid's code and polygon (point location, coverage rasters).
    pub grids: String,
    /// Digest of every checkpoint's code, position, grid and required visits.
    pub checkpoints: String,
}

impl Basis {
    /// The basis of a registry and parameters.
    pub fn of(registry: &Registry, params: &Params) -> Basis {
        let mut grids = Sha256::new();
        for g in &registry.grids {
            grids.update(g.code.as_str().as_bytes());
            grids.update([0]);
            for poly in &g.polygon {
                for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                    for c in ring.coords() {
                        grids.update(c.x.to_le_bytes());
                        grids.update(c.y.to_le_bytes());
                    }
                    grids.update([1]);
                }
            }
        }
        let mut cps = Sha256::new();
        for c in &registry.checkpoints {
            let grid = registry.grid(c.grid).map_or("", |g| g.code.as_str());
            cps.update(c.code.as_bytes());
            cps.update([0]);
            cps.update(grid.as_bytes());
            cps.update([0]);
            cps.update(c.lon.to_le_bytes());
            cps.update(c.lat.to_le_bytes());
            cps.update(c.visits_per_month.to_le_bytes());
        }
        let hex = |d: sha2::digest::Output<Sha256>| digest_hex(&d);
        Basis {
            params: params.digest(),
            grids: hex(grids.finalize()),
            checkpoints: hex(cps.finalize()),
        }
    }
}

/// The engine's context: the registry, the indexes built from it once (coverage rasters,
/// checkpoints), and the parameters. Shared by threads and tasks (`Send + Sync`, owns its
/// registry through an [`Arc`]).
pub struct Assessor {
    /// The grid registry.
    pub registry: Arc<Registry>,
    /// The parameters, as every output records them.
    pub params: Params,
    /// What summaries are computed on (parameters and registry digests).
    pub basis: Basis,
    /// Rasters of every grid, for coverage.
    pub coverage: CoverageIndex,
    /// The checkpoints, for visits.
    pub checkpoints: CheckpointIndex,
    /// Track parameters.
    pub track: TrackParams,
    /// Anomaly parameters.
    pub anomaly: AnomalyParams,
    /// Visit parameters.
    pub visit: VisitParams,
    /// The local time zone of days and months.
    pub tz: chrono_tz::Tz,
    /// Whether summaries carry each run's simplified path ([`WorkerDay::path`]): maps and the
    /// store need them; a door that only reports figures (the monthly report) turns them off
    /// with [`Assessor::without_paths`], and every other field is the same.
    pub paths: bool,
}

impl Assessor {
    /// Builds the indexes for a registry and the parameters.
    pub fn new(registry: Arc<Registry>, params: Params) -> Assessor {
        let config = &params.config;
        let clean = params.clean_mode();
        Assessor {
            coverage: CoverageIndex::new(&registry, CoverageParams::from_config(config)),
            checkpoints: CheckpointIndex::new(&registry.checkpoints),
            track: TrackParams::from_config(config, clean),
            anomaly: AnomalyParams::from_config(config),
            visit: VisitParams::from_config(config),
            tz: config.tz(),
            basis: Basis::of(&registry, &params),
            registry,
            params,
            paths: true,
        }
    }

    /// This assessor with summaries that carry no path (the Douglas–Peucker pass over every
    /// run is skipped): for doors that never draw a track. Every figure is unchanged.
    pub fn without_paths(mut self) -> Assessor {
        self.paths = false;
        self
    }

    /// An assessor without a registry (no grids, workers or checkpoints): track figures only.
    pub fn without_registry(params: Params) -> Assessor {
        Assessor::new(Arc::new(Registry::default()), params)
    }

    /// The config the parameters hold.
    pub fn config(&self) -> &Config {
        &self.params.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assessor_can_be_shared_by_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Assessor>();
        shared::<WorkerDay>();
    }

    #[test]
    fn the_parameter_digest_follows_every_value() {
        let a = Params::new(Config::default(), CleanMode::Full);
        let c = Config {
            max_gap_s: 301.0,
            ..Config::default()
        };
        assert_ne!(a.digest(), Params::new(c, CleanMode::Full).digest());
        assert_ne!(
            a.digest(),
            Params::new(Config::default(), CleanMode::DedupeOnly).digest()
        );
        assert_eq!(
            a.digest(),
            Params::new(Config::default(), CleanMode::Full).digest()
        );
        assert_eq!(a.to_json()["engine"], ENGINE_VERSION);
        assert_eq!(a.to_json()["max_gap_s"], 300.0);
    }
}
