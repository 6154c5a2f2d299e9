//! Map layers over HTTP: GeoJSON layers (`/api/v1/layers/{layer}`), vector tiles
//! (`/tiles/{layer}/{z}/{x}/{y}.mvt`), TileJSON (`/tiles/{layer}.json`), the MapLibre style
//! (`/api/v1/style.json`) and the map page's configuration (`/api/v1/config.json`).
//!
//! The door computes nothing: it resolves the query into a [`layers::Filter`], reads the
//! stored summaries of the period, and calls [`layers::build`] (and [`tiles`] to cut a tile),
//! exactly as `gridbeat layers` does on files. Decoded summaries, built layers and cut tiles
//! are cached until a summary or the registry changes; every answer carries an ETag of its
//! bytes and a matching `If-None-Match` gets `304`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::auth::{Caller, Scope, Session};
use super::error::ApiError;
use super::etag;
use super::read::blocking;
use super::{AppState, Engine};
use crate::assess::period::{resolve_period, Extent};
use crate::assess::WorkerDay;
use crate::layers::{self, Filter, Layer};
use crate::model::{Crs, Month, Period};
use crate::tiles::{self, TileId};

use super::cache::{Version, VersionedCache};

/// A built layer: its GeoJSON, the serialised body and its ETag.
pub struct Built {
    /// The collection (tiles are cut from it).
    pub value: Arc<serde_json::Value>,
    /// The JSON body.
    pub body: Bytes,
    /// The entity tag of the body.
    pub etag: String,
    /// The collection projected for tiles, made on the first tile asked of it.
    prepared: std::sync::OnceLock<Result<Arc<tiles::PreparedLayer>, String>>,
}

impl Built {
    /// About the memory it holds: the body, and the parsed collection (a `serde_json::Value`
    /// tree takes several times its text; the projected copy for tiles about as much again).
    fn weight(&self) -> usize {
        self.body.len().saturating_mul(6)
    }
}

/// The caches of the map door, each bounded in bytes and entries (the budget is shared among
/// them: half for built layers, a quarter each for decoded days and tiles).
pub struct Cache {
    /// Decoded worker-days per period (first and last day).
    days: VersionedCache<(NaiveDate, NaiveDate, Keep), Arc<Vec<WorkerDay>>>,
    /// Built layers per (layer, canonical query, scope).
    built: VersionedCache<String, Arc<Built>>,
    /// Cut tiles (`None`: empty) per (built layer, tile).
    tiles: VersionedCache<(String, TileId), Option<Bytes>>,
}

/// Most entries a cache holds.
const CACHE_ENTRIES: usize = 4096;

/// The memory budget of the map door's caches, bytes (a constant: no config key sets it yet).
pub const DEFAULT_CACHE_BYTES: usize = 256 << 20;

impl Cache {
    /// Caches holding at most `bytes` together.
    pub fn with_budget(bytes: usize) -> Cache {
        Cache {
            days: VersionedCache::new(bytes / 4, CACHE_ENTRIES),
            built: VersionedCache::new(bytes / 2, CACHE_ENTRIES),
            tiles: VersionedCache::new(bytes / 4, CACHE_ENTRIES),
        }
    }

    /// The entries and the bytes held now (by the caches' estimates).
    pub fn usage(&self) -> (usize, usize) {
        (
            self.days.len() + self.built.len() + self.tiles.len(),
            self.days.bytes() + self.built.bytes() + self.tiles.bytes(),
        )
    }
}

impl Default for Cache {
    fn default() -> Cache {
        Cache::with_budget(DEFAULT_CACHE_BYTES)
    }
}

/// The query of a layer, a tile, TileJSON or the style (DESIGN.md §5.4).
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LayerQuery {
    /// `w,s,e,n` in degrees with w <= e and s <= n: only features that reach into it;
    /// otherwise `400 bad_bbox`.
    #[param(schema_with = super::openapi::bbox)]
    pub bbox: Option<String>,
    /// One local day, `YYYY-MM-DD` (`400 bad_day` otherwise). One of `day`, `month`, or
    /// `from` and `to` (`400 bad_period` otherwise).
    #[param(schema_with = super::openapi::date)]
    pub day: Option<String>,
    /// A local month, `YYYY-MM` (the default: the newest month with figures); `400 bad_month`
    /// otherwise.
    #[param(schema_with = super::openapi::month)]
    pub month: Option<String>,
    /// The first day of a period, `YYYY-MM-DD` (with `to`).
    #[param(schema_with = super::openapi::date)]
    pub from: Option<String>,
    /// The last day of a period, `YYYY-MM-DD` (with `from`, not before it), inclusive.
    #[param(schema_with = super::openapi::date)]
    pub to: Option<String>,
    /// A unit code: its subtree only (`404 not_found` for an unknown unit, `403` outside the
    /// token's scope).
    pub unit: Option<String>,
    /// One worker only (`403` outside the token's scope).
    pub worker: Option<String>,
    /// The output coordinates: `wgs84` (default), `gcj02` (AMap, Tencent) or `bd09` (Baidu);
    /// `400 bad_crs` otherwise.
    #[param(schema_with = super::openapi::crs)]
    pub crs: Option<String>,
    /// Simplification tolerance of tracks, metres, 0..=10000 (`400 bad_parameter` otherwise).
    #[param(minimum = 0.0, maximum = 10000.0)]
    pub simplify_m: Option<f64>,
    /// A map zoom the tolerance is derived from (about one pixel), 0..=24.
    #[param(minimum = 0.0, maximum = 24.0)]
    pub zoom: Option<f64>,
    /// The side of a heat cell, metres, 5..=10000 (default 50).
    #[param(minimum = 5.0, maximum = 10000.0)]
    pub cell_m: Option<f64>,
}

/// The query of a tile, TileJSON or the style: a [`LayerQuery`] whose `crs` is one tiles are
/// cut in ([`super::openapi::TILE_CRS`]). TileJSON and the style check it whole before they
/// copy it into every tile URL they name.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TileQuery {
    /// `w,s,e,n` in degrees with w <= e and s <= n: only features that reach into it;
    /// otherwise `400 bad_bbox`.
    #[param(schema_with = super::openapi::bbox)]
    pub bbox: Option<String>,
    /// One local day, `YYYY-MM-DD` (`400 bad_day` otherwise). One of `day`, `month`, or
    /// `from` and `to` (`400 bad_period` otherwise).
    #[param(schema_with = super::openapi::date)]
    pub day: Option<String>,
    /// A local month, `YYYY-MM` (the default: the newest month with figures); `400 bad_month`
    /// otherwise.
    #[param(schema_with = super::openapi::month)]
    pub month: Option<String>,
    /// The first day of a period, `YYYY-MM-DD` (with `to`).
    #[param(schema_with = super::openapi::date)]
    pub from: Option<String>,
    /// The last day of a period, `YYYY-MM-DD` (with `from`, not before it), inclusive.
    #[param(schema_with = super::openapi::date)]
    pub to: Option<String>,
    /// A unit code: its subtree only (`404 not_found` for an unknown unit, `403` outside the
    /// token's scope).
    pub unit: Option<String>,
    /// One worker only (`403` outside the token's scope).
    pub worker: Option<String>,
    /// The datum of the tiles: `wgs84` (default) or `gcj02` (Web Mercator over GCJ-02, the
    /// tile grid of AMap and Tencent basemaps); `400 bad_crs` otherwise. Baidu's tiles follow a
    /// grid of their own: use the GeoJSON layers with `crs=bd09` there.
    #[param(schema_with = super::openapi::tile_crs)]
    pub crs: Option<String>,
    /// Simplification tolerance of tracks, metres, 0..=10000 (`400 bad_parameter` otherwise).
    #[param(minimum = 0.0, maximum = 10000.0)]
    pub simplify_m: Option<f64>,
    /// A map zoom the tolerance is derived from (about one pixel), 0..=24.
    #[param(minimum = 0.0, maximum = 24.0)]
    pub zoom: Option<f64>,
    /// The side of a heat cell, metres, 5..=10000 (default 50).
    #[param(minimum = 5.0, maximum = 10000.0)]
    pub cell_m: Option<f64>,
}

impl TileQuery {
    /// The layer query, once its `crs` is one tiles are cut in.
    ///
    /// # Errors
    /// `400 bad_crs` for another.
    fn layer_query(self) -> Result<LayerQuery, ApiError> {
        if let Some(c) = &self.crs {
            let ok = c
                .parse::<Crs>()
                .is_ok_and(|c| matches!(c, Crs::Wgs84 | Crs::Gcj02));
            if !ok {
                return Err(ApiError::NotTileCrs(c.clone()));
            }
        }
        Ok(LayerQuery {
            bbox: self.bbox,
            day: self.day,
            month: self.month,
            from: self.from,
            to: self.to,
            unit: self.unit,
            worker: self.worker,
            crs: self.crs,
            simplify_m: self.simplify_m,
            zoom: self.zoom,
            cell_m: self.cell_m,
        })
    }
}

impl LayerQuery {
    /// The query in canonical form (a cache key, and what tile URLs carry on).
    fn canonical(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut push = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{k}={}", encode(&v)));
            }
        };
        push("bbox", self.bbox.clone());
        push("day", self.day.clone());
        push("month", self.month.clone());
        push("from", self.from.clone());
        push("to", self.to.clone());
        push("unit", self.unit.clone());
        push("worker", self.worker.clone());
        push("crs", self.crs.clone());
        push("simplify_m", self.simplify_m.map(|x| x.to_string()));
        push("zoom", self.zoom.map(|x| x.to_string()));
        push("cell_m", self.cell_m.map(|x| x.to_string()));
        parts.join("&")
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_day(field: &'static str, text: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| ApiError::BadQueryDay {
        field,
        text: text.to_string(),
    })
}

/// The period of a query: `day`, `month` or `from`&`to` as parsed here, else the default
/// [`resolve_period`] takes from the store (the newest month with figures, else the current
/// month); `None` never (the store's extent always has a month).
fn period_of(
    state: &AppState,
    engine: &Engine,
    q: &LayerQuery,
) -> Result<Option<Period>, ApiError> {
    let given = [
        q.day.is_some(),
        q.month.is_some(),
        q.from.is_some() || q.to.is_some(),
    ];
    if given.iter().filter(|x| **x).count() > 1 {
        return Err(ApiError::PeriodAmbiguous);
    }
    let asked = if let Some(d) = &q.day {
        Some(Period::day(parse_day("day", d)?))
    } else if let Some(m) = &q.month {
        let m: Month = m.parse().map_err(|reason| ApiError::BadQueryMonth {
            text: m.clone(),
            reason,
        })?;
        Some(m.period())
    } else {
        match (&q.from, &q.to) {
            (Some(f), Some(t)) => {
                let (f, t) = (parse_day("from", f)?, parse_day("to", t)?);
                Some(Period::new(f, t).map_err(ApiError::BadPeriod)?)
            }
            (Some(_), None) | (None, Some(_)) => return Err(ApiError::PeriodHalf),
            (None, None) => None,
        }
    };
    resolve_period(asked, || {
        Ok(Extent::Months {
            newest: state.store.summary_months()?.into_iter().last(),
            today: chrono::Utc::now()
                .with_timezone(&engine.assessor.tz)
                .date_naive(),
        })
    })
}

/// The filter of a query, checked against the registry and the caller's scope.
fn filter_of(
    state: &AppState,
    engine: &Engine,
    caller: &Caller,
    scope: &Scope,
    q: &LayerQuery,
) -> Result<Filter, ApiError> {
    let reg = &engine.assessor.registry;
    let bbox = match &q.bbox {
        None => None,
        Some(text) => {
            let v: Vec<f64> = text
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| ApiError::BboxNotNumbers(text.clone()))?;
            // The engine's rule ([`layers::check_bbox`]), in this door's words.
            let b = <[f64; 4]>::try_from(v)
                .ok()
                .and_then(|b| layers::check_bbox(b).ok())
                .ok_or_else(|| ApiError::BboxOutOfRange(text.clone()))?;
            Some(b)
        }
    };
    let crs = match &q.crs {
        None => Crs::Wgs84,
        Some(c) => c.parse().map_err(|_| ApiError::BadCrs(c.clone()))?,
    };
    if let Some(u) = &q.unit {
        if reg.unit(u).is_none() {
            return Err(ApiError::NoUnit(u.clone()));
        }
        if !scope.has_unit(u) {
            return Err(super::read::outside(caller, &format!("unit {u}")));
        }
    }
    if let Some(w) = &q.worker {
        if !scope.has_worker(w) {
            return Err(super::read::outside(caller, &format!("worker {w}")));
        }
    }
    let mut filter = Filter {
        bbox,
        period: None,
        unit: q.unit.clone(),
        worker: q.worker.clone(),
        crs,
        simplify_m: q.simplify_m,
        zoom: q.zoom,
        cell_m: q.cell_m,
    };
    // The numbers' ranges are the engine's (`400 bad_parameter`), checked before the period
    // is read from the store.
    filter.check()?;
    filter.period = period_of(state, engine, q)?;
    Ok(filter)
}

/// The token's scope as the layers module asks for it.
struct ScopeView<'a>(&'a Scope);

impl layers::Scope for ScopeView<'_> {
    fn grid(&self, code: &str) -> bool {
        self.0.has_unit(code)
    }
    fn worker(&self, id: &str) -> bool {
        self.0.has_worker(id)
    }
}

/// The version a built layer depends on.
fn version(state: &AppState, engine: &Engine) -> Version {
    (state.store.summaries_version(), engine.generation)
}

/// What of a decoded worker-day a layer draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Keep {
    /// Everything but the replay fingerprint and the speed gate's carry (no layer reads them).
    Paths,
    /// Also without the simplified paths: the layers that show figures, not tracks.
    Figures,
    /// Only the time per grid and the coverage, one day per worker
    /// ([`crate::assess::period::fold_for_grids`]): the grids and units layers.
    Grids,
}

impl Keep {
    fn of(layer: Layer) -> Keep {
        match layer {
            Layer::Tracks | Layer::Heat => Keep::Paths,
            Layer::Grids | Layer::Units => Keep::Grids,
            _ => Keep::Figures,
        }
    }
}

/// Decodes one worker's summaries and drops what the layer does not read (and, for the
/// figure layers, gathers the worker's masks into one day), so a month's full days are never
/// held together.
fn decode(engine: &Engine, rows: &[crate::store::SummaryRow], keep: Keep) -> Vec<WorkerDay> {
    let mut days = super::read::decode_rows(engine, rows);
    for d in &mut days {
        d.fingerprint = None;
        d.carry = None;
        if keep != Keep::Paths {
            d.path = Vec::new();
        }
    }
    match keep {
        Keep::Paths => days,
        Keep::Figures => {
            crate::assess::period::gather_coverage(&mut days);
            days
        }
        Keep::Grids => crate::assess::period::fold_for_grids(days),
    }
}

/// About what a decoded day kept for a layer takes in memory: its masks, path points and
/// records (the cache's byte budget counts it).
fn kept_bytes(d: &WorkerDay) -> usize {
    let masks: usize = d.coverage.iter().map(|(_, m)| m.words().len() * 8).sum();
    let path: usize = d.path.iter().map(|l| l.len() * 16).sum();
    let records = (d.stays.len() + d.visits.len() + d.anomalies.len() + d.out_of_grid.len()) * 64
        + d.grid_s.len() * 16;
    std::mem::size_of::<WorkerDay>() + masks + path + records
}

/// The decoded worker-days of a period, of one worker or of everyone (cached).
fn days_of(
    state: &AppState,
    engine: &Engine,
    period: Period,
    worker: Option<&str>,
    keep: Keep,
) -> Result<Arc<Vec<WorkerDay>>, ApiError> {
    let end = period.last.succ_opt().unwrap_or(period.last);
    if let Some(w) = worker {
        // One worker's days are read directly: a few rows, no need to decode the city's.
        let rows = state.store.worker_summaries(w, period.first..end)?;
        return Ok(Arc::new(decode(engine, &rows, keep)));
    }
    let v = version(state, engine);
    let key = (period.first, period.last, keep);
    if let Some(days) = state.layers.days.get(&key, v) {
        return Ok(days);
    }
    // One worker's summaries at a time: the month's stored bytes and full decoded days are
    // never in memory together, only what the layer keeps of them.
    let mut days = Vec::new();
    let mut bytes = 0;
    for w in state.store.summary_workers(period.first..end)? {
        let rows = state.store.worker_summaries(&w, period.first..end)?;
        let kept = decode(engine, &rows, keep);
        bytes += kept.iter().map(kept_bytes).sum::<usize>();
        days.extend(kept);
    }
    let days = Arc::new(days);
    state.layers.days.put(key, v, Arc::clone(&days), bytes);
    Ok(days)
}

/// The stored vehicle-days of a period, every vehicle of the fleet (a route's passes are those
/// of every vehicle, whatever the caller's scope; the layer scopes the routes). A stored day
/// that does not decode is left out until it is recomputed, as the report does.
fn vehicle_days_of(
    state: &AppState,
    engine: &Engine,
    period: Period,
) -> Result<Vec<crate::route::VehicleDay>, ApiError> {
    let end = period.last.succ_opt().unwrap_or(period.last);
    let mut out = Vec::new();
    for v in &engine.fleet.vehicles {
        for row in state.store.worker_summaries(&v.id, period.first..end)? {
            match crate::incremental::decode_vehicle_day(&row.data) {
                Some(d) => out.push(d),
                None => {
                    tracing::warn!(vehicle = %v.id, day = %row.day, "vehicle-day skipped until recomputed");
                }
            }
        }
    }
    Ok(out)
}

/// The stored pings of the vehicles in the caller's scope (and the query's vehicle, when its
/// `worker` names one) over the period's local days, and `gap_s` beyond: the step that ends
/// the last day's last run.
fn vehicle_pings_of(
    state: &AppState,
    engine: &Engine,
    scope: &Scope,
    period: Period,
    q: &LayerQuery,
) -> Result<Vec<crate::model::Ping>, ApiError> {
    let tz = engine.assessor.tz;
    let after = period.last.succ_opt().unwrap_or(period.last);
    let (Some(from), Some(to)) = (
        crate::model::local_midnight_ms(period.first, tz),
        crate::model::local_midnight_ms(after, tz),
    ) else {
        return Ok(Vec::new());
    };
    let to = to + (state.config.route.gap_s * 1000.0) as i64;
    let mut out = Vec::new();
    for v in &engine.fleet.vehicles {
        if !scope.has_unit(&v.unit.0) || q.worker.as_deref().is_some_and(|w| w != &*v.id) {
            continue;
        }
        out.extend(state.store.pings(&v.id, from..to)?);
    }
    Ok(out)
}

/// Worker scores of the month a period lies in (from the cached monthly report), if it lies
/// in one month.
fn scores_of(
    state: &AppState,
    engine: &Engine,
    period: Period,
    unit: Option<&str>,
) -> Result<Option<BTreeMap<String, f64>>, ApiError> {
    let Some(month) = layers::score_month(period) else {
        return Ok(None);
    };
    let report = super::read::month_report(state, engine, month, unit)?;
    Ok(Some(report.scores()))
}

/// Builds (or takes from the cache) a layer for a caller.
fn built(
    state: &AppState,
    session: &Session,
    layer: Layer,
    q: &LayerQuery,
) -> Result<Arc<Built>, ApiError> {
    let (engine, caller) = (session.engine.as_ref(), &session.caller);
    let scope = session.scope();
    let filter = filter_of(state, engine, caller, &scope, q)?;
    let key = format!(
        "{}?{}#{}",
        layer.name(),
        q.canonical(),
        caller.unit.as_deref().unwrap_or("*")
    );
    let v = version(state, engine);
    // Positions change with every ping, not with the summaries: never cached.
    if layer != Layer::Positions {
        if let Some(b) = state.layers.built.get(&key, v) {
            return Ok(b);
        }
    }
    let Some(period) = filter.period else {
        return Err(ApiError::internal("filter_of gave no period"));
    };
    let (days, scores, positions) = match layer {
        Layer::Positions => (Arc::new(Vec::new()), None, state.store.positions()?),
        Layer::Grids | Layer::Units => {
            let unit = q.unit.as_deref().or(caller.unit.as_deref());
            (
                days_of(state, engine, period, None, Keep::of(layer))?,
                scores_of(state, engine, period, unit)?,
                Vec::new(),
            )
        }
        // The vehicles' layers read vehicle-days and pings, below.
        Layer::Routes | Layer::VehicleTracks => (Arc::new(Vec::new()), None, Vec::new()),
        // These are one worker's own figures: read only that worker's days.
        Layer::Tracks | Layer::Stays | Layer::Heat => (
            days_of(state, engine, period, q.worker.as_deref(), Keep::of(layer))?,
            None,
            Vec::new(),
        ),
        _ => (
            days_of(state, engine, period, None, Keep::of(layer))?,
            None,
            Vec::new(),
        ),
    };
    let vehicle_days = match layer {
        Layer::Routes => vehicle_days_of(state, engine, period)?,
        _ => Vec::new(),
    };
    let vehicle_pings = match layer {
        Layer::VehicleTracks => vehicle_pings_of(state, engine, &scope, period, q)?,
        _ => Vec::new(),
    };
    let extras = layers::Extras {
        attainable: None,
        scores: scores.as_ref(),
        positions: &positions,
        now_ms: chrono::Utc::now().timestamp_millis(),
        fleet: Some(&engine.fleet),
        vehicle_days: &vehicle_days,
        vehicle_pings: &vehicle_pings,
        route: state.config.route,
    };
    let value = layers::build(
        layer,
        &engine.assessor,
        &days,
        &extras,
        &filter,
        &ScopeView(&scope),
    )?;
    let body = Bytes::from(serde_json::to_vec(&value).map_err(ApiError::internal)?);
    let built = Arc::new(Built {
        etag: etag::tag_of(&body),
        value: Arc::new(value),
        body,
        prepared: std::sync::OnceLock::new(),
    });
    if layer != Layer::Positions {
        let bytes = built.weight();
        state.layers.built.put(key, v, Arc::clone(&built), bytes);
    }
    Ok(built)
}

fn answer(headers: &HeaderMap, tag: &str, content_type: &'static str, body: Bytes) -> Response {
    let mut response = if etag::not_modified(headers, tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::VARY,
        HeaderValue::from_static("authorization, accept-encoding"),
    );
    response
}

fn layer_named(name: &str) -> Result<Layer, ApiError> {
    Layer::parse(name).ok_or_else(|| ApiError::NoLayer(name.to_string()))
}

/// The path of a GeoJSON layer.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes the path for the OpenAPI document
pub struct LayerPath {
    /// The layer (another name is `404 not_found`).
    #[param(schema_with = super::openapi::layer_name)]
    layer: String,
}

/// The path of a vector tile.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes the path for the OpenAPI document
pub struct TilePath {
    /// A tiled layer (another name is `404 not_found`).
    #[param(schema_with = super::openapi::tiled_layer_name)]
    layer: String,
    /// The zoom, 0..=24 (`400 invalid_zoom` otherwise).
    #[param(minimum = 0, maximum = 24)]
    z: u8,
    /// The column, below 2^z (`400 tile_out_of_range` otherwise).
    #[param(minimum = 0, maximum = 16777215)]
    x: u32,
    /// The row, below 2^z, 0 at the north (`400 tile_out_of_range` otherwise).
    #[param(minimum = 0, maximum = 16777215)]
    y: u32,
}

/// The path of a TileJSON document.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes the path for the OpenAPI document
pub struct TileJsonPath {
    /// `LAYER.json` of a tiled layer (another is `404 not_found`).
    #[param(schema_with = super::openapi::tilejson_file)]
    file: String,
}

/// `GET /api/v1/layers/{layer}`: a GeoJSON layer (RFC 7946).
#[utoipa::path(get, path = "/api/v1/layers/{layer}", tag = "map", security(("bearer" = [])),
    params(LayerPath, LayerQuery),
    responses((status = 200, description = "a GeoJSON FeatureCollection", body = serde_json::Value, content_type = "application/geo+json"),
        (status = 304, description = "not modified (If-None-Match)")))]
pub async fn layer(
    State(state): State<Arc<AppState>>,
    session: Session,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<LayerQuery>,
) -> Result<Response, ApiError> {
    session.caller.require_read()?;
    let layer = layer_named(&name)?;
    let st = Arc::clone(&state);
    let b = blocking(move || built(&st, &session, layer, &q)).await?;
    Ok(answer(
        &headers,
        &b.etag,
        "application/geo+json",
        b.body.clone(),
    ))
}

fn tiled(name: &str) -> Result<Layer, ApiError> {
    let layer = layer_named(name)?;
    if !tiles::TILED_LAYERS.contains(&layer.name()) {
        return Err(ApiError::NotTiled(name.to_string()));
    }
    Ok(layer)
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt`: a Mapbox Vector Tile (204 when empty).
#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}.mvt", tag = "map", security(("bearer" = [])),
    params(TilePath, TileQuery),
    responses((status = 200, description = "a vector tile", body = Vec<u8>, content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "no feature in this tile"),
        (status = 304, description = "not modified (If-None-Match)")))]
pub async fn tile(
    State(state): State<Arc<AppState>>,
    session: Session,
    headers: HeaderMap,
    Path((name, z, x, y)): Path<(String, String, String, String)>,
    Query(q): Query<TileQuery>,
) -> Result<Response, ApiError> {
    session.caller.require_read()?;
    let layer = tiled(&name)?;
    let id = TileId::parse(&z, &x, &y)?;
    let q = q.layer_query()?;
    // Tracks are simplified to about a pixel of the tile's zoom before they are cut (the
    // layer per zoom is cached like any other), unless the query sets its own tolerance.
    let mut q = q;
    if layer == Layer::Tracks && q.zoom.is_none() && q.simplify_m.is_none() {
        q.zoom = Some(f64::from(id.z));
    }
    let st = Arc::clone(&state);
    let bytes = blocking(move || -> Result<Option<Bytes>, ApiError> {
        let b = built(&st, &session, layer, &q)?;
        let key = (format!("{}#{}", b.etag, layer.name()), id);
        let v = version(&st, &session.engine);
        if let Some(t) = st.layers.tiles.get(&key, v) {
            return Ok(t);
        }
        let prepared = b
            .prepared
            .get_or_init(|| {
                tiles::PreparedLayer::from_geojson(&b.value)
                    .map(|p| Arc::new(p.with_name(layer.name())))
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(ApiError::internal)?;
        let t = prepared.encode(id)?.map(Bytes::from);
        let bytes = t.as_ref().map_or(0, Bytes::len) + key.0.len();
        st.layers.tiles.put(key, v, t.clone(), bytes);
        Ok(t)
    })
    .await?;
    match bytes {
        None => Ok(StatusCode::NO_CONTENT.into_response()),
        Some(b) => {
            let tag = etag::tag_of(&b);
            Ok(answer(
                &headers,
                &tag,
                "application/vnd.mapbox-vector-tile",
                b,
            ))
        }
    }
}

/// The base of the URLs written into TileJSON and the style: the configured
/// `[server] public_url` (without a trailing `/`), else empty, which makes the URLs relative
/// to the server's root (`/tiles/…`). MapLibre resolves a relative URL in a style or TileJSON
/// against the URL of the document it came from. The `Host` header is never reflected: a
/// client could otherwise make the server hand out links to any host (issue 15, defect 10).
fn base_url(state: &AppState) -> String {
    state
        .config
        .server
        .public_url
        .trim()
        .trim_end_matches('/')
        .to_string()
}

/// Checks a tile query whole — its `crs`, `bbox`, period, unit, worker and ranges, as a tile
/// would — before TileJSON or the style copy it into every tile URL they name.
///
/// # Errors
/// What a tile of that query would answer.
async fn checked_tile_query(
    state: &Arc<AppState>,
    session: &Session,
    q: TileQuery,
) -> Result<LayerQuery, ApiError> {
    let q = q.layer_query()?;
    let (st, s, query) = (Arc::clone(state), session.clone(), q.clone());
    blocking(move || {
        filter_of(&st, &s.engine, &s.caller, &s.scope(), &query)?;
        Ok(())
    })
    .await?;
    Ok(q)
}

/// `GET /tiles/{layer}.json`: the TileJSON 3.0 document of a tiled layer.
#[utoipa::path(get, path = "/tiles/{file}", tag = "map", security(("bearer" = [])),
    params(TileJsonPath, TileQuery),
    responses((status = 200, description = "TileJSON 3.0.0", body = serde_json::Value)))]
pub async fn tilejson(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(file): Path<String>,
    Query(q): Query<TileQuery>,
) -> Result<Response, ApiError> {
    let scope = session.reader()?;
    let name = file
        .strip_suffix(".json")
        .ok_or_else(|| ApiError::NoTileJson(file.clone()))?;
    let layer = tiled(name)?;
    let q = checked_tile_query(&state, &session, q).await?;
    let query = q.canonical();
    let sep = if query.is_empty() { "" } else { "?" };
    let url = format!(
        "{}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt{sep}{query}",
        base_url(&state),
        layer.name()
    );
    let doc = tiles::tilejson(
        layer.name(),
        &url,
        layers::bounds(&session.engine.assessor.registry, &ScopeView(&scope)),
        0,
        22,
    );
    Ok(axum::Json(doc).into_response())
}

/// `GET /api/v1/style.json`: a MapLibre style drawing the tiled layers.
#[utoipa::path(get, path = "/api/v1/style.json", tag = "map", security(("bearer" = [])), params(TileQuery),
    responses((status = 200, description = "a MapLibre style (version 8)", body = serde_json::Value)))]
pub async fn style(
    State(state): State<Arc<AppState>>,
    session: Session,
    Query(q): Query<TileQuery>,
) -> Result<Response, ApiError> {
    let scope = session.reader()?;
    let q = checked_tile_query(&state, &session, q).await?;
    let doc = tiles::style(
        &base_url(&state),
        &q.canonical(),
        layers::bounds(&session.engine.assessor.registry, &ScopeView(&scope)),
    );
    Ok(axum::Json(doc).into_response())
}

/// `GET /api/v1/config.json`: what the map page needs to start. Without a token it says only
/// whether one is needed and which basemap to draw; with one it adds the caller's bounds and
/// the months with figures.
#[utoipa::path(get, path = "/api/v1/config.json", tag = "map", security((), ("bearer" = [])),
    responses((status = 200, description = "the map page's configuration", body = serde_json::Value)))]
pub async fn config(
    State(state): State<Arc<AppState>>,
    session: Option<Session>,
) -> Result<Response, ApiError> {
    let server = &state.config.server;
    let auth = !state.tokens.is_empty();
    let engine = session
        .as_ref()
        .map_or_else(|| state.engine(), |s| Arc::clone(&s.engine));
    let mut doc = serde_json::json!({
        "auth": auth,
        "tz": engine.assessor.tz.name(),
        "lang": "zh",
        "basemap": {
            "url": (!server.basemap_url.is_empty()).then(|| server.basemap_url.clone()),
            "type": (!server.basemap_url.is_empty()).then(|| server.basemap_type.clone()),
            "crs": server.basemap_crs,
        },
    });
    // No token: the public part only (no session). A token that is refused is a 401, so
    // that the page asks for a new one instead of drawing an empty map.
    if let Some(session) = session {
        let scope = session.reader()?;
        let caller = session.caller;
        let b = layers::bounds(&engine.assessor.registry, &ScopeView(&scope));
        let st = Arc::clone(&state);
        // A scoped token sees the months its own workers have figures in, not the store's.
        let mine: Option<Vec<String>> = (!scope.is_everything()).then(|| {
            engine
                .assessor
                .registry
                .workers
                .iter()
                .filter(|w| scope.has_worker(w.id.as_str()))
                .map(|w| w.id.as_str().to_string())
                .collect()
        });
        let months = blocking(move || {
            let Some(workers) = mine else {
                return Ok(st.store.summary_months()?);
            };
            let mut months = std::collections::BTreeSet::new();
            let (from, until) = (
                NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default(),
                NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default(),
            );
            for w in &workers {
                for d in st.store.days_after(w, from, until)? {
                    months.insert(Month::of(d));
                }
            }
            Ok(months.into_iter().collect::<Vec<Month>>())
        })
        .await?;
        doc["bounds"] = serde_json::json!(b);
        doc["center"] = serde_json::json!([(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0]);
        doc["months"] = serde_json::json!(months.iter().map(|m| m.to_string()).collect::<Vec<_>>());
        doc["unit"] = serde_json::json!(caller.unit);
    }
    Ok(axum::Json(doc).into_response())
}
