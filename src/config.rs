//! The configuration file (`gridbeat.toml`): every parameter of DESIGN.md §4 with its default.
//!
//! A config is built in three layers: the defaults below, then an optional TOML file, then
//! `--set key=value` overrides in the order given. Unknown keys and bad values are errors that
//! name the key, so a typo never silently falls back to a default.

use std::fmt;
use std::path::Path;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Every tunable parameter, with the defaults of DESIGN.md §4. Reports record the effective
/// values they were computed with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// IANA time zone whose calendar days and months the reports use (§4.1).
    pub timezone: String,
    /// Pings reporting a worse accuracy are dropped, metres (§4.2).
    pub max_accuracy_m: f64,
    /// A ping implying a faster move from the last accepted one is a jump, m/s (§4.2).
    pub max_speed_mps: f64,
    /// Consistent pings after a jump that make it a real relocation (§4.2).
    pub relocation_pings: u32,
    /// Pings stamped further than this after receipt are rejected, seconds (§4.2).
    pub max_future_s: f64,
    /// A gap strictly longer than this starts a new segment, seconds (§4.3).
    pub max_gap_s: f64,
    /// Radius of the anchor rule for stays, metres (§4.4).
    pub stay_radius_m: f64,
    /// Shortest stay, seconds (§4.4).
    pub stay_min_s: f64,
    /// Distance from the track within which area counts as covered, metres (§4.6).
    pub coverage_radius_m: f64,
    /// Side of the coverage cells, metres (§4.6).
    pub cell_size_m: f64,
    /// Radius around a checkpoint that counts as being there, metres (§4.7).
    pub visit_radius_m: f64,
    /// Shortest dwell that counts as a visit, seconds (§4.7).
    pub visit_min_s: f64,
    /// A check-in counts only within this distance of the checkpoint, metres (§4.7).
    pub checkin_radius_m: f64,
    /// Visits to one checkpoint closer together than this are one visit, seconds (§4.7).
    pub visit_merge_s: f64,
    /// Shortest "patrol" inside a small circle that flags a static device, seconds (§4.8).
    pub static_min_s: f64,
    /// Radius of that circle, metres (§4.8).
    pub static_radius_m: f64,
    /// A day with at least this many long speed-gate jumps is flagged (§4.8).
    pub jump_flag_count: u32,
    /// Only jumps at least this long count towards that flag, metres.
    pub jump_flag_min_m: f64,
    /// Two days' positions at the same time into the day coincide within this, metres.
    pub replay_radius_m: f64,
    /// Share of moving minutes that must coincide for a replayed track (0–1).
    pub replay_min_share: f64,
    /// Coinciding moving time that a replayed track needs at least, seconds.
    pub replay_min_s: f64,
    /// Shortest time outside the assigned grids that makes an out-of-grid episode, seconds.
    pub out_of_grid_min_s: f64,
    /// Patrol time that makes a day active, minutes (§4.9).
    pub min_active_minutes: f64,
    /// Douglas–Peucker tolerance for tracks drawn on maps, metres.
    pub simplify_tolerance_m: f64,
    /// Time in out-of-grid episodes (each longer than `out_of_grid_min_s`) in one day that
    /// raises an `out_of_grid` flag, seconds (§4.8).
    pub out_of_grid_flag_s: f64,
    /// A fix within this distance of one of the worker's assigned grids counts as inside it
    /// for in-grid time and out-of-grid episodes: boundaries run along streets (§4.5), metres.
    pub in_grid_tolerance_m: f64,
    /// The monthly score: weights, targets and penalties (§4.9), `[score]` in the file.
    pub score: ScoreConfig,
    /// Route coverage of vehicles (README "Route coverage (vehicles)"), `[route]` in the file.
    /// No worker-day depends on it: reports record it in their vehicles section.
    pub route: crate::route::RouteParams,
    /// The service (`gridbeat serve`): addresses, paths and limits, `[server]` in the file.
    /// Not a parameter of any figure: reports do not record it.
    pub server: ServerConfig,
    /// Where the service keeps its data (`[store]`): the embedded SQLite store in the data
    /// directory unless `url` names a PostgreSQL database. Not recorded by reports.
    pub store: StoreConfig,
    /// Bearer tokens of the service (DESIGN.md §7), `[[tokens]]` in the file; only their
    /// SHA-256 hashes. Not recorded by reports.
    pub tokens: Vec<TokenConfig>,
}

/// The service's addresses, paths and limits (`[server]`). Command-line flags override the
/// addresses and the data directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Where the HTTP API listens.
    pub listen: String,
    /// Where the OsmAnd protocol listens at `/` (the port Traccar Client is pointed at); empty
    /// for none (it is always served at `/osmand` too).
    pub osmand_listen: String,
    /// The data directory (the embedded store).
    pub data: String,
    /// Largest request body accepted, bytes (after gzip decompression too).
    pub max_body_bytes: u64,
    /// Largest registry file accepted by `PUT /api/v1/registry/{file}`, bytes (after gzip too).
    pub max_registry_bytes: u64,
    /// Seconds a client has to send a request's headers (slow clients are closed).
    pub header_timeout_s: u64,
    /// Seconds a client has to send a request's body (`408 request_timeout` after).
    pub body_timeout_s: u64,
    /// Seconds a request may take in all (`503 deadline_exceeded` after).
    pub request_timeout_s: u64,
    /// Seconds a connection may stay open without a request in flight before it is closed.
    pub idle_timeout_s: u64,
    /// Open connections at most, all clients together (idle ones are closed first).
    pub max_connections: usize,
    /// Open connections at most from one client address.
    pub max_connections_per_ip: usize,
    /// Most records in one ingest batch.
    pub max_batch: u64,
    /// Requests per second each token may make (sustained).
    pub rate_per_s: u32,
    /// Requests a token may make in a burst above the sustained rate.
    pub rate_burst: u32,
    /// A dirty worker-day is recomputed once no ping has marked it for this long, ms.
    pub recompute_quiet_ms: u64,
    /// ... and at the latest this long after it was first marked, ms.
    pub recompute_max_delay_ms: u64,
    /// Worker-days recomputed at once (0: one per core, four per core on PostgreSQL, whose
    /// calls wait on the network).
    pub recompute_threads: usize,
    /// A basemap under the map page: a raster tile URL template
    /// (`https://…/{z}/{x}/{y}.png`) or a MapLibre style URL; empty for none (the page then
    /// draws grids on a plain background, which works offline).
    pub basemap_url: String,
    /// `raster` or `vector` (a style URL).
    pub basemap_type: String,
    /// The datum of the basemap: `wgs84`, or `gcj02` (AMap, Tencent) / `bd09` (Baidu), so
    /// the page asks for its layers in that datum.
    pub basemap_crs: String,
    /// The URL clients reach the service at (`https://map.example.gov.cn`), written into
    /// TileJSON and style URLs; empty (the default): those URLs are relative to the server's
    /// root. The `Host` header is never used for them.
    pub public_url: String,
    /// Where JT/T 808 vehicle terminals connect (TCP); empty for none (`--jt808-listen`).
    pub jt808_listen: String,
    /// Seconds a JT/T 808 connection may stay silent before it is closed (terminals send a
    /// heartbeat every minute by default).
    pub jt808_idle_s: u64,
    /// Open JT/T 808 connections at most; more are refused.
    pub jt808_max_connections: usize,
    /// The additional-item id that carries a sanitation vehicle's work state (0: none).
    pub jt808_work_item: u8,
    /// The additional-item id that carries the water pressure (0: none).
    pub jt808_pressure_item: u8,
    /// MPa per unit of the pressure item.
    pub jt808_pressure_scale: f64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            osmand_listen: String::new(),
            data: "./gridbeat-data".into(),
            max_body_bytes: 16 * 1024 * 1024,
            max_registry_bytes: 64 * 1024 * 1024,
            header_timeout_s: 10,
            body_timeout_s: 30,
            request_timeout_s: 60,
            idle_timeout_s: 60,
            max_connections: 1024,
            max_connections_per_ip: 256,
            max_batch: 50_000,
            rate_per_s: 50,
            rate_burst: 200,
            recompute_quiet_ms: 2_000,
            recompute_max_delay_ms: 30_000,
            recompute_threads: 0,
            basemap_url: String::new(),
            basemap_type: "raster".into(),
            basemap_crs: "wgs84".into(),
            public_url: String::new(),
            jt808_listen: String::new(),
            jt808_idle_s: 180,
            jt808_max_connections: 20_000,
            jt808_work_item: 0xe1,
            jt808_pressure_item: 0xe2,
            jt808_pressure_scale: 0.01,
        }
    }
}

/// The store of the service (`[store]`, DESIGN.md §6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `postgres://user:password@host:port/database`: every replica on this database. Empty
    /// (the default): the embedded SQLite store in `[server] data`. `--store URL` overrides.
    pub url: String,
    /// PostgreSQL connections at most per process.
    pub pool_size: usize,
    /// The longest one statement may run, ms (PostgreSQL's `statement_timeout`; 0: no limit).
    pub statement_timeout_ms: u64,
    /// The longest a connection attempt, or a wait for a free pooled connection, may take, s.
    pub connect_timeout_s: u64,
    /// How long a replica's claim on dirty worker-days lasts, s: a live replica renews its
    /// claims every third of it; one that dies leaves its days to another after it.
    pub claim_lease_s: u64,
    /// Whether gridbeat makes the monthly partitions of `pings` itself (this month and the
    /// next at start, any other month a ping needs). `false` when a DBA manages the table (a
    /// TimescaleDB hypertable, pre-made partitions).
    pub manage_partitions: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: String::new(),
            pool_size: 16,
            statement_timeout_ms: 30_000,
            connect_timeout_s: 5,
            claim_lease_s: 30,
            manage_partitions: true,
        }
    }
}

/// One bearer token (DESIGN.md §7).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Shown in logs, never the token.
    pub name: String,
    /// Hex SHA-256 of the token.
    pub sha256: String,
    /// `device`, `viewer` or `admin`.
    pub role: String,
    /// Scope: this unit and its subtree; omitted = everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Device tokens: the workers it may post for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<String>,
}

/// The monthly score (DESIGN.md §4.9): a weighted mean of capped attainment terms, minus a
/// penalty for days with plausibility flags. Every report records these values and the
/// formula text, so a score can be recomputed by hand:
///
/// score = 100 × Σ wᵢ·min(1, xᵢ/targetᵢ) / Σ wᵢ − min(anomaly_penalty_cap, anomaly_penalty × flagged days)
///
/// clamped to 0..100. A term whose figure does not exist for a worker (no checkpoints in
/// their grids) is left out of both sums.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreConfig {
    /// Weight of days active.
    pub days_weight: f64,
    /// Days active that earn the full term.
    pub days_target: f64,
    /// Weight of patrol hours.
    pub hours_weight: f64,
    /// Patrol hours in the month that earn the full term.
    pub hours_target: f64,
    /// Weight of coverage (area-weighted over the assigned grids, union over the month).
    pub coverage_weight: f64,
    /// Coverage that earns the full term (0–1).
    pub coverage_target: f64,
    /// Weight of checkpoint compliance.
    pub checkpoints_weight: f64,
    /// Compliance that earns the full term (0–1).
    pub checkpoints_target: f64,
    /// Weight of data quality (share of received pings accepted by cleaning).
    pub quality_weight: f64,
    /// Accepted share that earns the full term (0–1).
    pub quality_target: f64,
    /// Points taken off per worker-day with a plausibility flag (jumps, static device,
    /// replay, out of grid, future timestamps; client mock flags alone never count).
    pub anomaly_penalty: f64,
    /// The most points the penalty can take off.
    pub anomaly_penalty_cap: f64,
    /// Share of rows highlighted as the weakest in reports (0–1).
    pub weak_share: f64,
}

impl ScoreConfig {
    /// Checks that weights are non-negative with a positive sum, targets positive, and the
    /// weak share a fraction.
    ///
    /// # Errors
    /// [`ConfigError::BadValue`] naming the first `score.` key at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, reason: String| ConfigError::BadValue {
            key: format!("score.{key}"),
            reason,
        };
        for (key, w) in self.terms().iter().map(|t| (t.0, t.1)) {
            if !(w.is_finite() && w >= 0.0) {
                return Err(bad(
                    &format!("{key}_weight"),
                    format!("{w} must be zero or more"),
                ));
            }
        }
        if self.terms().iter().map(|t| t.1).sum::<f64>() <= 0.0 {
            return Err(bad(
                "days_weight",
                "the weights must not all be zero".into(),
            ));
        }
        for (key, _, target) in self.terms() {
            if !(target.is_finite() && target > 0.0) {
                return Err(bad(
                    &format!("{key}_target"),
                    format!("{target} must be positive"),
                ));
            }
        }
        for (key, v) in [
            ("anomaly_penalty", self.anomaly_penalty),
            ("anomaly_penalty_cap", self.anomaly_penalty_cap),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(key, format!("{v} must be zero or more")));
            }
        }
        if !(0.0..=1.0).contains(&self.weak_share) {
            return Err(bad(
                "weak_share",
                format!("{} must be a share between 0 and 1", self.weak_share),
            ));
        }
        Ok(())
    }

    /// The terms as (name, weight, target), in formula order.
    pub fn terms(&self) -> [(&'static str, f64, f64); 5] {
        [
            ("days", self.days_weight, self.days_target),
            ("hours", self.hours_weight, self.hours_target),
            ("coverage", self.coverage_weight, self.coverage_target),
            (
                "checkpoints",
                self.checkpoints_weight,
                self.checkpoints_target,
            ),
            ("quality", self.quality_weight, self.quality_target),
        ]
    }
}

impl Default for ScoreConfig {
    fn default() -> Self {
        ScoreConfig {
            days_weight: 0.15,
            days_target: 22.0,
            hours_weight: 0.15,
            hours_target: 120.0,
            coverage_weight: 0.35,
            coverage_target: 0.8,
            checkpoints_weight: 0.25,
            checkpoints_target: 1.0,
            quality_weight: 0.10,
            quality_target: 0.9,
            anomaly_penalty: 3.0,
            anomaly_penalty_cap: 30.0,
            weak_share: 0.1,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timezone: "Asia/Shanghai".to_string(),
            max_accuracy_m: 100.0,
            max_speed_mps: 15.0,
            relocation_pings: 3,
            max_future_s: 300.0,
            max_gap_s: 300.0,
            stay_radius_m: 50.0,
            stay_min_s: 300.0,
            coverage_radius_m: 30.0,
            cell_size_m: 10.0,
            visit_radius_m: 30.0,
            visit_min_s: 120.0,
            checkin_radius_m: 100.0,
            visit_merge_s: 1800.0,
            static_min_s: 3600.0,
            static_radius_m: 20.0,
            jump_flag_count: 3,
            jump_flag_min_m: 500.0,
            replay_radius_m: 10.0,
            replay_min_share: 0.8,
            replay_min_s: 1800.0,
            out_of_grid_min_s: 600.0,
            min_active_minutes: 30.0,
            simplify_tolerance_m: 5.0,
            out_of_grid_flag_s: 1800.0,
            in_grid_tolerance_m: 30.0,
            score: ScoreConfig::default(),
            route: crate::route::RouteParams::default(),
            server: ServerConfig::default(),
            store: StoreConfig::default(),
            tokens: Vec::new(),
        }
    }
}

/// Why a configuration could not be built. Every variant names the key or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The config file is not valid TOML, or a key in it is unknown or has a bad value.
    #[error("config file {path}: {message}")]
    File {
        /// The file.
        path: String,
        /// The parser's message, which names the key and line.
        message: String,
    },
    /// A `--set` argument is not of the form `key=value`.
    #[error("--set {0:?}: expected key=value, e.g. --set max_gap_s=600")]
    SetSyntax(String),
    /// A `--set` names a key the config does not have.
    #[error("--set {key}: unknown key; known keys: {known}")]
    UnknownKey {
        /// The key given.
        key: String,
        /// The keys that exist.
        known: String,
    },
    /// A key has a value of the wrong type or out of range.
    #[error("config key {key}: {reason}")]
    BadValue {
        /// The key.
        key: String,
        /// What is wrong and what is expected.
        reason: String,
    },
}

impl Config {
    /// Builds the effective config: defaults, then `file` if given, then each `key=value` of
    /// `sets` in order.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, line or key at fault.
    pub fn load(file: Option<&Path>, sets: &[String]) -> Result<Config, ConfigError> {
        let mut table =
            toml::Table::try_from(Config::default()).map_err(|e| ConfigError::BadValue {
                key: "(defaults)".into(),
                reason: e.to_string(),
            })?;
        if let Some(path) = file {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: shown.clone(),
                source,
            })?;
            let from_file: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::File {
                path: shown.clone(),
                message: e.to_string(),
            })?;
            merge(&mut table, from_file, "").map_err(|key| ConfigError::File {
                path: shown,
                message: format!("unknown key {key:?}; known keys: {}", known_keys()),
            })?;
        }
        for set in sets {
            let (key, raw) = set
                .split_once('=')
                .ok_or_else(|| ConfigError::SetSyntax(set.clone()))?;
            let key = key.trim();
            let unknown = || ConfigError::UnknownKey {
                key: key.to_string(),
                known: known_keys(),
            };
            // Dotted keys reach into tables: `--set score.coverage_weight=0.4`.
            let mut parts: Vec<&str> = key.split('.').collect();
            let last = parts.pop().ok_or_else(unknown)?;
            let mut at = &mut table;
            for part in parts {
                at = match at.get_mut(part) {
                    Some(toml::Value::Table(t)) => t,
                    _ => return Err(unknown()),
                };
            }
            if !at.contains_key(last) || at.get(last).is_some_and(toml::Value::is_table) {
                return Err(unknown());
            }
            at.insert(last.to_string(), parse_set_value(raw.trim()));
        }
        // Deserialize key by key so that a type error names its key.
        let config: Config =
            toml::Value::Table(table.clone())
                .try_into()
                .map_err(|e: toml::de::Error| {
                    let key = table
                        .keys()
                        .find(|k| e.message().contains(k.as_str()))
                        .cloned()
                        .unwrap_or_else(|| first_bad_key(&table));
                    ConfigError::BadValue {
                        key,
                        reason: e.message().to_string(),
                    }
                })?;
        config.validate()?;
        Ok(config)
    }

    /// The configured time zone.
    pub fn tz(&self) -> Tz {
        // `validate` has checked the name; UTC is only a fallback for hand-built configs.
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// Checks ranges that types alone cannot express.
    ///
    /// # Errors
    /// [`ConfigError::BadValue`] naming the first key out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !matches!(self.server.basemap_type.as_str(), "raster" | "vector") {
            return Err(ConfigError::BadValue {
                key: "server.basemap_type".into(),
                reason: format!("{:?}: expected raster or vector", self.server.basemap_type),
            });
        }
        if self
            .server
            .basemap_crs
            .parse::<crate::model::Crs>()
            .is_err()
        {
            return Err(ConfigError::BadValue {
                key: "server.basemap_crs".into(),
                reason: format!(
                    "{:?}: expected wgs84, gcj02 or bd09",
                    self.server.basemap_crs
                ),
            });
        }
        let url = self.store.url.as_str();
        if !(url.is_empty() || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::BadValue {
                key: "store.url".into(),
                reason: "expected empty (the embedded store) or postgres://user@host:port/database"
                    .into(),
            });
        }
        if self.store.pool_size == 0 || self.store.claim_lease_s == 0 {
            return Err(ConfigError::BadValue {
                key: if self.store.pool_size == 0 {
                    "store.pool_size"
                } else {
                    "store.claim_lease_s"
                }
                .into(),
                reason: "must be at least 1".into(),
            });
        }
        if self.timezone.parse::<Tz>().is_err() {
            return Err(ConfigError::BadValue {
                key: "timezone".into(),
                reason: format!(
                    "{:?} is not an IANA time zone such as Asia/Shanghai",
                    self.timezone
                ),
            });
        }
        let positive = [
            ("max_accuracy_m", self.max_accuracy_m),
            ("max_speed_mps", self.max_speed_mps),
            ("max_gap_s", self.max_gap_s),
            ("stay_radius_m", self.stay_radius_m),
            ("coverage_radius_m", self.coverage_radius_m),
            ("cell_size_m", self.cell_size_m),
            ("visit_radius_m", self.visit_radius_m),
            ("checkin_radius_m", self.checkin_radius_m),
            ("static_radius_m", self.static_radius_m),
            ("replay_radius_m", self.replay_radius_m),
        ];
        for (key, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(ConfigError::BadValue {
                    key: key.into(),
                    reason: format!("{value} must be a positive number"),
                });
            }
        }
        let non_negative = [
            ("max_future_s", self.max_future_s),
            ("stay_min_s", self.stay_min_s),
            ("visit_min_s", self.visit_min_s),
            ("visit_merge_s", self.visit_merge_s),
            ("static_min_s", self.static_min_s),
            ("out_of_grid_min_s", self.out_of_grid_min_s),
            ("in_grid_tolerance_m", self.in_grid_tolerance_m),
            ("min_active_minutes", self.min_active_minutes),
            ("simplify_tolerance_m", self.simplify_tolerance_m),
            ("jump_flag_min_m", self.jump_flag_min_m),
            ("replay_min_s", self.replay_min_s),
        ];
        for (key, value) in non_negative {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ConfigError::BadValue {
                    key: key.into(),
                    reason: format!("{value} must be zero or more"),
                });
            }
        }
        self.score.validate()?;
        if !(0.0..=1.0).contains(&self.replay_min_share) {
            return Err(ConfigError::BadValue {
                key: "replay_min_share".into(),
                reason: format!("{} must be a share between 0 and 1", self.replay_min_share),
            });
        }
        Ok(())
    }

    /// The effective config as TOML, as `gridbeat config --print` shows it.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_toml())
    }
}

/// Merges `incoming` into `base`, key by key and table by table.
///
/// # Errors
/// The dotted path of the first key `base` does not have.
fn merge(base: &mut toml::Table, incoming: toml::Table, prefix: &str) -> Result<(), String> {
    for (key, value) in incoming {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (base.get_mut(&key), value) {
            (None, _) => return Err(path),
            (Some(toml::Value::Table(b)), toml::Value::Table(v)) => merge(b, v, &path)?,
            (Some(slot), v) => *slot = v,
        }
    }
    Ok(())
}

/// The value of a `--set`: TOML if it parses as one (numbers, booleans, quoted strings),
/// otherwise the raw text as a string (so `--set timezone=Asia/Shanghai` needs no quotes).
fn parse_set_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

/// The keys a config has, nested ones dotted, for error messages.
fn known_keys() -> String {
    fn walk(t: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (k, v) in t {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(inner) => walk(inner, &path, out),
                _ => out.push(path),
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(t) = toml::Table::try_from(Config::default()) {
        walk(&t, "", &mut out);
    }
    out.join(", ")
}

/// Finds the first key whose value alone does not deserialize, when the parser's message
/// does not name one.
fn first_bad_key(table: &toml::Table) -> String {
    for (key, value) in table {
        let mut probe = toml::Table::try_from(Config::default()).unwrap_or_default();
        probe.insert(key.clone(), value.clone());
        if toml::Value::Table(probe).try_into::<Config>().is_err() {
            return key.clone();
        }
    }
    "(unknown)".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn defaults_are_those_of_the_design() {
        let c = Config::load(None, &[]).unwrap();
        assert_eq!(c.max_gap_s, 300.0);
        assert_eq!(c.coverage_radius_m, 30.0);
        assert_eq!(c.relocation_pings, 3);
        assert_eq!(c.tz(), chrono_tz::Asia::Shanghai);
    }

    #[test]
    fn sets_override_the_file_which_overrides_defaults() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "max_gap_s = 600\nstay_radius_m = 80").unwrap();
        let c = Config::load(
            Some(f.path()),
            &["max_gap_s=900".into(), "timezone=UTC".into()],
        )
        .unwrap();
        assert_eq!(c.max_gap_s, 900.0);
        assert_eq!(c.stay_radius_m, 80.0);
        assert_eq!(c.timezone, "UTC");
    }

    #[test]
    fn integers_are_accepted_for_float_keys() {
        let c = Config::load(None, &["max_speed_mps=20".into()]).unwrap();
        assert_eq!(c.max_speed_mps, 20.0);
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = Config::load(None, &["max_gap=600".into()]).unwrap_err();
        assert!(e.to_string().contains("max_gap"), "{e}");
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "stay_radius = 80").unwrap();
        let e = Config::load(Some(f.path()), &[]).unwrap_err();
        assert!(e.to_string().contains("stay_radius"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = Config::load(None, &["max_gap_s=soon".into()]).unwrap_err();
        assert!(
            matches!(&e, ConfigError::BadValue { key, .. } if key == "max_gap_s"),
            "{e}"
        );
        let e = Config::load(None, &["cell_size_m=-1".into()]).unwrap_err();
        assert!(
            matches!(&e, ConfigError::BadValue { key, .. } if key == "cell_size_m"),
            "{e}"
        );
        let e = Config::load(None, &["timezone=Mars/Olympus".into()]).unwrap_err();
        assert!(
            matches!(&e, ConfigError::BadValue { key, .. } if key == "timezone"),
            "{e}"
        );
        let e = Config::load(None, &["max_gap_s".into()]).unwrap_err();
        assert!(matches!(e, ConfigError::SetSyntax(_)));
    }

    #[test]
    fn score_keys_are_set_with_dotted_names_and_files_may_set_a_few() {
        let c = Config::load(None, &["score.coverage_weight=0.5".into()]).unwrap();
        assert_eq!(c.score.coverage_weight, 0.5);
        assert_eq!(c.score.days_weight, 0.15);
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "max_gap_s = 600\n[score]\nhours_target = 100").unwrap();
        let c = Config::load(Some(f.path()), &[]).unwrap();
        assert_eq!(
            (c.max_gap_s, c.score.hours_target, c.score.days_target),
            (600.0, 100.0, 22.0)
        );
    }

    #[test]
    fn bad_score_keys_are_named() {
        let e = Config::load(None, &["score.coverage_wieght=0.5".into()]).unwrap_err();
        assert!(e.to_string().contains("score.coverage_wieght"), "{e}");
        let e = Config::load(None, &["score=1".into()]).unwrap_err();
        assert!(matches!(e, ConfigError::UnknownKey { .. }), "{e}");
        let e = Config::load(None, &["score.hours_target=0".into()]).unwrap_err();
        assert!(
            matches!(&e, ConfigError::BadValue { key, .. } if key == "score.hours_target"),
            "{e}"
        );
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "[score]\nbonus = 3").unwrap();
        let e = Config::load(Some(f.path()), &[]).unwrap_err();
        assert!(e.to_string().contains("score.bonus"), "{e}");
    }

    #[test]
    fn printed_config_loads_back_identically() {
        let c = Config::load(None, &["max_gap_s=450".into()]).unwrap();
        let mut f = tempfile::NamedTempFile::new().unwrap();
        write!(f, "{}", c.to_toml()).unwrap();
        assert_eq!(Config::load(Some(f.path()), &[]).unwrap(), c);
    }
}
