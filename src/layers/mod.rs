//! Map layers (the layers contract, `docs/layers.md`): worker-day summaries and the
//! registry in, GeoJSON FeatureCollections out. Pure: no file I/O, no async, no polars; every
//! figure comes from the engine ([`crate::assess::period`], [`crate::coverage::CoverageIndex`],
//! the summaries' paths and stays), so the map shows what the report says.
//!
//! **Layers** (each feature's properties are listed in the contract):
//! - `grids`: each grid's polygon with its team coverage over the period (the union of its
//!   assigned workers' masks, [`period::team_coverage`]), covered area, attainable share, the
//!   mean score of its workers and their patrol time in it (the summaries' `grid_s`).
//! - `units`: communities, streets, districts and the city, dissolved from their grids
//!   (bottom-up union of the children); coverage is the area-weighted team coverage of the
//!   grids, score the mean of the workers assigned to them.
//! - `tracks`: per worker-day one `walk` (MultiLineString of the day's simplified segments; a
//!   one-fix segment is written as a two-position line on the same spot so that segment `i`
//!   stays line `i`) and one `gap` per pair of consecutive segments (a 2-point LineString from
//!   the last position of segment `i` to the first of `i+1`).
//! - `coverage`: per grid the `covered` part (the grid minus the uncovered cells) and the
//!   `uncovered` part ([`crate::coverage::CoverageIndex::uncovered_polygons`]) of the team's
//!   coverage, or of one worker's when the filter names a worker.
//! - `stays`, `visits` (merged over the period, [`period::merged_visits`]), `checkpoints`
//!   (visits and compliance, [`period::checkpoint_figures`]).
//! - `positions`: each worker's latest fix among [`Extras::positions`], the grid it is in and
//!   whether that is one of the worker's assigned grids; a vehicle's ([`Extras::fleet`]) with
//!   `vehicle`, plate, kind and unit instead.
//! - `routes`: the vehicles' planned routes cut into pieces (`routes.rs`), each piece's passes
//!   against the route's required passes over the period, consecutive pieces of a line with
//!   the same figures merged into one LineString; the route's figures beside them.
//! - `vehicle_tracks`: each vehicle's cleaned fixes of each local day as LineString runs,
//!   split where the reported work state changes or reporting stops (`vehicle_tracks.rs`).
//! - `heat`: square cells of `cell_m` metres (default 50) in a
//!   [`LocalFrame`](crate::geodesy::LocalFrame) anchored at the south-west corner of the
//!   registry's extent (so cells are the same in every request). A
//!   path has no times, so each worker-day's patrol time is spread along its path by length:
//!   a cell gets `patrol_s` of the day × the share of the day's path length inside the cell.
//!
//! Each layer's features are built in its own file (`grids.rs`, `units.rs`, … `heat.rs`) by a
//! method of the request context `Ctx`, which holds the filter resolved against the registry.
//!
//! **Filters** ([`Filter`]): the period, a unit (grids in its subtree, workers assigned there),
//! a worker, a bbox in the output CRS (features whose extent intersects it), the output CRS,
//! the track simplification tolerance (metres, or ~1 pixel at a zoom level), the heat cell
//! size. `build` applies them itself: the days given may reach beyond them. A [`Scope`] (the
//! caller's rights) narrows grids and workers further.
//!
//! **Output** (RFC 7946): lon/lat, exterior rings counter-clockwise and holes clockwise, no
//! `crs` member, 6 decimals (applied once, after the CRS conversion), `bbox` on the
//! collection, a `gridbeat` member with the layer, CRS and period. Times are RFC 3339 with the
//! configured time zone's offset.

mod checkpoints;
mod coverage;
mod geojson;
mod grids;
mod heat;
mod positions;
mod routes;
mod stays;
mod tracks;
mod units;
mod vehicle_tracks;
mod visits;

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::SecondsFormat;
use serde_json::{json, Map, Value};

use crate::assess::period;
use crate::assess::{Assessor, WorkerDay};
use crate::coverage::{CoverageMask, GridCoverage};
use crate::model::{Crs, Period, Ping, Position, UnixMs, WorkerId};
use crate::registry::{Fleet, GridId, Registry};
use crate::route::{RouteParams, VehicleDay};

pub use geojson::{polygon_geometry, round_coord, COORD_DECIMALS};
pub use tracks::track_geojson;

/// The default heat cell, metres.
pub const DEFAULT_CELL_M: f64 = 50.0;
/// The smallest heat cell accepted, metres (smaller cells only multiply features).
pub const MIN_CELL_M: f64 = 5.0;
/// The largest track simplification tolerance and heat cell accepted, metres (about a
/// district: beyond it a layer says nothing more).
pub const MAX_METRES: f64 = 10_000.0;
/// The deepest web-map zoom a tolerance is derived from (the tiles' deepest zoom, the
/// service's public contract).
pub const MAX_ZOOM: f64 = 24.0;
/// Ground metres per pixel of a 256-pixel web-mercator tile at zoom 0 on the equator.
pub const METRES_PER_PIXEL_Z0: f64 = 156_543.03;

/// A map layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Grid polygons with their period figures.
    Grids,
    /// Communities, streets, districts and the city, dissolved from their grids.
    Units,
    /// Worker-day walks and the gaps between their segments.
    Tracks,
    /// Covered and uncovered parts of each grid.
    Coverage,
    /// Stays as points.
    Stays,
    /// Merged checkpoint visits at the checkpoints.
    Visits,
    /// Checkpoints with their visits and compliance.
    Checkpoints,
    /// Each worker's latest fix.
    Positions,
    /// Patrol time per square cell.
    Heat,
    /// The vehicles' route pieces with their passes against the required ones.
    Routes,
    /// Vehicles' tracks, split where the work state changes.
    VehicleTracks,
}

impl Layer {
    /// Every layer, in the contract's order.
    pub const ALL: [Layer; 11] = [
        Layer::Grids,
        Layer::Units,
        Layer::Tracks,
        Layer::Coverage,
        Layer::Stays,
        Layer::Visits,
        Layer::Checkpoints,
        Layer::Positions,
        Layer::Heat,
        Layer::Routes,
        Layer::VehicleTracks,
    ];

    /// The layer with this name (`grids`, `units`, …), if any.
    pub fn parse(s: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.name() == s)
    }

    /// The layer's name in URLs, tiles and the `gridbeat` member.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Grids => "grids",
            Layer::Units => "units",
            Layer::Tracks => "tracks",
            Layer::Coverage => "coverage",
            Layer::Stays => "stays",
            Layer::Visits => "visits",
            Layer::Checkpoints => "checkpoints",
            Layer::Positions => "positions",
            Layer::Heat => "heat",
            Layer::Routes => "routes",
            Layer::VehicleTracks => "vehicle_tracks",
        }
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a layer shows (HTTP query parameters = CLI flags).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// Features whose extent intersects [w, s, e, n], degrees in the output CRS.
    pub bbox: Option<[f64; 4]>,
    /// Only the local days of this period (default: every day given).
    pub period: Option<Period>,
    /// Only grids in this unit's subtree and the workers assigned there.
    pub unit: Option<String>,
    /// Only this worker.
    pub worker: Option<String>,
    /// The CRS of the output coordinates.
    pub crs: Crs,
    /// Douglas–Peucker tolerance for tracks, metres (wins over `zoom`).
    pub simplify_m: Option<f64>,
    /// A web-map zoom level: tracks are simplified to about one pixel at this zoom.
    pub zoom: Option<f64>,
    /// Heat cell size, metres (default [`DEFAULT_CELL_M`]).
    pub cell_m: Option<f64>,
}

/// A number of a [`Filter`] that must lie in a range: the one check both doors' values go
/// through (the service's `400 bad_parameter`, the command line's error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tuning {
    /// [`Filter::simplify_m`]: 0 to [`MAX_METRES`] metres.
    SimplifyM,
    /// [`Filter::zoom`]: 0 to [`MAX_ZOOM`].
    Zoom,
    /// [`Filter::cell_m`]: [`MIN_CELL_M`] to [`MAX_METRES`] metres.
    CellM,
}

impl Tuning {
    /// Every number checked, in the order they are checked.
    pub const ALL: [Tuning; 3] = [Tuning::SimplifyM, Tuning::Zoom, Tuning::CellM];

    /// The name of the query parameter (the flag is the same with dashes).
    pub fn name(self) -> &'static str {
        match self {
            Tuning::SimplifyM => "simplify_m",
            Tuning::Zoom => "zoom",
            Tuning::CellM => "cell_m",
        }
    }

    /// The values accepted, bounds included.
    pub fn range(self) -> std::ops::RangeInclusive<f64> {
        match self {
            Tuning::SimplifyM => 0.0..=MAX_METRES,
            Tuning::Zoom => 0.0..=MAX_ZOOM,
            Tuning::CellM => MIN_CELL_M..=MAX_METRES,
        }
    }

    /// The number of this kind a filter holds, if any.
    pub fn of(self, filter: &Filter) -> Option<f64> {
        match self {
            Tuning::SimplifyM => filter.simplify_m,
            Tuning::Zoom => filter.zoom,
            Tuning::CellM => filter.cell_m,
        }
    }

    /// Checks a value against [`Tuning::range`].
    ///
    /// # Errors
    /// [`LayerError::OutOfRange`] outside the range, NaN included.
    pub fn check(self, value: f64) -> Result<f64, LayerError> {
        let range = self.range();
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(LayerError::OutOfRange {
                name: self.name(),
                value,
                min: *range.start(),
                max: *range.end(),
            })
        }
    }
}

/// What a caller may see: grids by code and workers by id.
pub trait Scope {
    /// Whether the grid with this code may be shown; also asked of unit codes (a vehicle or
    /// a route is shown when its unit may be).
    fn grid(&self, code: &str) -> bool;
    /// Whether the worker with this id may be shown.
    fn worker(&self, id: &str) -> bool;
}

/// The scope that shows everything (the batch door, an administrator).
pub struct Everything;

impl Scope for Everything {
    fn grid(&self, _code: &str) -> bool {
        true
    }

    fn worker(&self, _id: &str) -> bool {
        true
    }
}

/// What some layers need besides the summaries.
#[derive(Default)]
pub struct Extras<'a> {
    /// Each grid's attainable coverage (the street network as a track), if known.
    pub attainable: Option<&'a GridCoverage>,
    /// Worker id → score 0..100 over the period, if known (the monthly assessment).
    pub scores: Option<&'a BTreeMap<String, f64>>,
    /// Reported positions; the latest of each worker is shown.
    pub positions: &'a [Position],
    /// The present instant, UTC ms (ages of positions; the default period of checkpoints).
    pub now_ms: UnixMs,
    /// The vehicles and their routes, if any: the routes and vehicle_tracks layers, and
    /// vehicles among the positions.
    pub fleet: Option<&'a Fleet>,
    /// Vehicle-days (the routes layer), of any days: the period is applied.
    pub vehicle_days: &'a [VehicleDay],
    /// Pings of vehicles (the vehicle_tracks layer), in any order: the period is applied.
    pub vehicle_pings: &'a [Ping],
    /// The route parameters the vehicle-days were computed with (`piece_m` cuts the routes
    /// into the same pieces; `gap_s` and the speed gate shape the vehicle tracks).
    pub route: RouteParams,
}

/// Why a layer cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The unit filter names no unit of the registry.
    #[error("unknown unit {0:?}")]
    UnknownUnit(String),
    /// The worker filter names no worker of the registry or of the data.
    #[error("unknown worker {0:?}")]
    UnknownWorker(String),
    /// The bbox is not four finite numbers w ≤ e, s ≤ n within lon/lat ranges.
    #[error("bad bbox {bbox:?}: {reason}")]
    BadBbox {
        /// The bbox given.
        bbox: [f64; 4],
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A number of the filter outside its [`Tuning::range`] (`simplify_m`, `zoom`,
    /// `cell_m`).
    #[error("{name}={value}: expected {min}..={max}")]
    OutOfRange {
        /// The parameter ([`Tuning::name`]).
        name: &'static str,
        /// Its value.
        value: f64,
        /// The smallest allowed.
        min: f64,
        /// The largest allowed.
        max: f64,
    },
}

impl LayerError {
    /// The snake_case code of the error (HTTP `{"code"}`).
    pub fn code(&self) -> &'static str {
        match self {
            LayerError::UnknownUnit(_) => "unknown_unit",
            LayerError::UnknownWorker(_) => "unknown_worker",
            LayerError::BadBbox { .. } => "bad_bbox",
            LayerError::OutOfRange { .. } => "bad_parameter",
        }
    }
}

/// The month whose workers' monthly scores the grid and unit layers show for a period: the
/// month the period lies in; `None` when it spans several (no door averages the scores of
/// several months).
pub fn score_month(period: Period) -> Option<crate::model::Month> {
    let month = crate::model::Month::of(period.first);
    (crate::model::Month::of(period.last) == month).then_some(month)
}

/// The extent of the grids a scope may see, `[w, s, e, n]` in WGS84 degrees: what TileJSON's
/// `bounds` and the style's initial view name. With no grid in scope, the whole Web Mercator
/// world (±85.0511°), so a client's map still opens somewhere valid.
pub fn bounds(registry: &Registry, scope: &dyn Scope) -> [f64; 4] {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for g in registry
        .grids
        .iter()
        .filter(|g| scope.grid(g.code.as_str()))
    {
        let (min, max) = (g.bbox.min(), g.bbox.max());
        b = [
            b[0].min(min.x),
            b[1].min(min.y),
            b[2].max(max.x),
            b[3].max(max.y),
        ];
    }
    if b[0].is_finite() {
        b
    } else {
        [-180.0, -85.0511, 180.0, 85.0511]
    }
}

/// Builds one layer as a GeoJSON FeatureCollection.
///
/// `days` may hold days outside the filter: the period, unit, worker, scope and bbox are
/// applied here.
///
/// # Errors
/// A filter naming an unknown unit or worker, or a malformed bbox, tolerance, zoom or cell.
pub fn build(
    layer: Layer,
    assessor: &Assessor,
    days: &[WorkerDay],
    extras: &Extras,
    filter: &Filter,
    scope: &dyn Scope,
) -> Result<Value, LayerError> {
    let ctx = Ctx::new(assessor, days, extras, filter, scope)?;
    let feats = match layer {
        Layer::Grids => ctx.grids(),
        Layer::Units => ctx.units(),
        Layer::Tracks => ctx.tracks(),
        Layer::Coverage => ctx.coverage(),
        Layer::Stays => ctx.stays(),
        Layer::Visits => ctx.visits(),
        Layer::Checkpoints => ctx.checkpoints(),
        Layer::Positions => ctx.positions(),
        Layer::Heat => ctx.heat(),
        Layer::Routes => ctx.routes(),
        Layer::VehicleTracks => ctx.vehicle_tracks(),
    };
    Ok(geojson::collection(
        feats,
        filter.crs,
        filter.bbox,
        member(layer, filter.crs, filter.period),
    ))
}

/// The collection's `gridbeat` member.
fn member(layer: Layer, crs: Crs, period: Option<Period>) -> Value {
    json!({
        "layer": layer.name(),
        "crs": crs.as_str(),
        "period": period.map(|p| json!({"first": p.first.to_string(), "last": p.last.to_string()})),
    })
}

impl Filter {
    /// Checks the parts of the filter that need no registry: the bbox ([`check_bbox`]) and the
    /// numbers ([`Tuning::check`]), in that order.
    ///
    /// # Errors
    /// The first part that fails.
    pub fn check(&self) -> Result<(), LayerError> {
        if let Some(b) = self.bbox {
            check_bbox(b)?;
        }
        for t in Tuning::ALL {
            if let Some(x) = t.of(self) {
                t.check(x)?;
            }
        }
        Ok(())
    }
}

/// Checks a bbox `[w, s, e, n]`: finite, w ≤ e and s ≤ n, within lon −180…180 and lat −90…90
/// (a bbox does not cross the antimeridian).
///
/// # Errors
/// [`LayerError::BadBbox`] with the reason.
pub fn check_bbox(b: [f64; 4]) -> Result<[f64; 4], LayerError> {
    let reason = if b.iter().any(|x| !x.is_finite()) {
        Some("not finite")
    } else if b[0] > b[2] || b[1] > b[3] {
        Some("expected w ≤ e and s ≤ n")
    } else if b[0] < -180.0 || b[2] > 180.0 || b[1] < -90.0 || b[3] > 90.0 {
        Some("outside lon −180…180, lat −90…90")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(LayerError::BadBbox { bbox: b, reason }),
        None => Ok(b),
    }
}

/// An instant as RFC 3339 with the offset of the time zone.
fn time(tz: chrono_tz::Tz, ms: UnixMs) -> Value {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => json!(t
            .with_timezone(&tz)
            .to_rfc3339_opts(SecondsFormat::AutoSi, false)),
        None => Value::Null,
    }
}

/// Rounds a figure for output.
fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// A property map from pairs.
fn props<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The worker's name in the registry, or null.
fn worker_name(reg: &Registry, id: &str) -> Value {
    reg.worker(id).map_or(Value::Null, |w| json!(w.name))
}

/// A layer request with its filter resolved against the registry.
struct Ctx<'a> {
    a: &'a Assessor,
    reg: &'a Registry,
    filter: &'a Filter,
    scope: &'a dyn Scope,
    extras: &'a Extras<'a>,
    /// The grids the unit filter and the scope leave, in code order (the worker filter is
    /// applied by each layer, as it means something different for each).
    grids: Vec<GridId>,
    /// The days of the period (every worker): team figures are the team's whatever the filter.
    period_days: Cow<'a, [WorkerDay]>,
}

impl<'a> Ctx<'a> {
    fn new(
        a: &'a Assessor,
        days: &'a [WorkerDay],
        extras: &'a Extras<'a>,
        filter: &'a Filter,
        scope: &'a dyn Scope,
    ) -> Result<Ctx<'a>, LayerError> {
        filter.check()?;
        let reg: &Registry = &a.registry;
        let mut grids: Vec<GridId> = match &filter.unit {
            Some(u) => {
                if reg.unit(u).is_none() {
                    return Err(LayerError::UnknownUnit(u.clone()));
                }
                reg.grids_in_subtree(u)
            }
            None => (0..reg.grids.len() as GridId).collect(),
        };
        grids.retain(|&g| scope.grid(reg.grids[g as usize].code.as_str()));
        if let Some(w) = &filter.worker {
            let known = reg.worker(w).is_some()
                || extras.fleet.is_some_and(|f| f.vehicle(w).is_some())
                || days.iter().any(|d| d.worker.as_str() == w)
                || extras.positions.iter().any(|p| &p.worker == w);
            if !known {
                return Err(LayerError::UnknownWorker(w.clone()));
            }
        }
        // The service passes exactly the period's days: borrow them rather than copy a
        // month of summaries per request.
        let period_days = match filter.period {
            Some(p) if !days.iter().all(|d| p.contains(d.day)) => {
                Cow::Owned(period::in_period(days, p))
            }
            _ => Cow::Borrowed(days),
        };
        Ok(Ctx {
            a,
            reg,
            filter,
            scope,
            extras,
            grids,
            period_days,
        })
    }

    fn tz(&self) -> chrono_tz::Tz {
        self.a.tz
    }

    fn grid_code(&self, g: GridId) -> &str {
        self.reg.grids[g as usize].code.as_str()
    }

    /// Whether a worker passes the scope, the worker filter and the unit filter (assigned to a
    /// grid of the unit; without assignments in the registry every worker is).
    fn worker_ok(&self, id: &str) -> bool {
        if !self.scope.worker(id) || self.filter.worker.as_deref().is_some_and(|w| w != id) {
            return false;
        }
        match &self.filter.unit {
            Some(_) if !self.reg.workers.is_empty() => self
                .reg
                .worker(id)
                .is_some_and(|w| w.grids.iter().any(|g| self.grids.contains(g))),
            _ => true,
        }
    }

    /// Whether a unit (of a vehicle or a route) passes the scope and the unit filter (its
    /// code is the filter's unit or below it).
    fn unit_ok(&self, code: &str) -> bool {
        if !self.scope.grid(code) {
            return false;
        }
        match &self.filter.unit {
            Some(u) => match (self.reg.unit_index(code), self.reg.unit_index(u)) {
                (Some(c), Some(u)) => self.reg.is_within(c, u),
                _ => false,
            },
            None => true,
        }
    }

    /// The period's days of the workers shown.
    fn days(&self) -> impl Iterator<Item = &WorkerDay> {
        self.period_days
            .iter()
            .filter(|d| self.worker_ok(d.worker.as_str()))
    }

    /// The workers assigned to a grid and in scope, in registry order.
    fn assigned_workers(&self, g: GridId) -> Vec<&WorkerId> {
        self.reg
            .workers
            .iter()
            .filter(|w| w.grids.contains(&g) && self.scope.worker(w.id.as_str()))
            .map(|w| &w.id)
            .collect()
    }

    /// The grids the worker filter leaves among the selected ones: the worker's assigned
    /// grids (all of them when the registry assigns nobody).
    fn worker_grids(&self) -> Vec<GridId> {
        match self
            .filter
            .worker
            .as_deref()
            .and_then(|w| self.reg.worker(w))
        {
            Some(w) => self
                .grids
                .iter()
                .copied()
                .filter(|g| w.grids.contains(g))
                .collect(),
            None if self.filter.worker.is_some() && !self.reg.workers.is_empty() => Vec::new(),
            None => self.grids.clone(),
        }
    }

    /// The mean score of some workers, or null when none has one.
    fn mean_score<'w>(&self, workers: impl Iterator<Item = &'w WorkerId>) -> Value {
        let Some(scores) = self.extras.scores else {
            return Value::Null;
        };
        let known: Vec<f64> = workers
            .filter_map(|w| scores.get(w.as_str()).copied())
            .collect();
        if known.is_empty() {
            Value::Null
        } else {
            json!(round(known.iter().sum::<f64>() / known.len() as f64, 2))
        }
    }

    /// Team coverage masks over the period.
    fn team(&self) -> BTreeMap<GridId, CoverageMask> {
        period::team_coverage_of_days(self.a, &self.period_days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scope of these grid codes.
    struct Only(&'static [&'static str]);

    impl Scope for Only {
        fn grid(&self, code: &str) -> bool {
            self.0.contains(&code)
        }
        fn worker(&self, _: &str) -> bool {
            true
        }
    }

    #[test]
    fn bounds_are_the_extent_of_the_grids_in_scope() {
        use crate::model::UnitCode;
        use crate::registry::Grid;
        let mut r = Registry::default();
        // Two grids' boxes, worked out by hand: a (112.90, 28.10)-(112.95, 28.20) and
        // b (112.97, 28.05)-(113.00, 28.12).
        for (i, (code, min, max)) in [
            ("a", (112.90, 28.10), (112.95, 28.20)),
            ("b", (112.97, 28.05), (113.00, 28.12)),
        ]
        .into_iter()
        .enumerate()
        {
            r.grids.push(Grid {
                code: UnitCode(code.into()),
                name: code.to_string(),
                unit: i,
                polygon: geo::MultiPolygon(Vec::new()),
                area_m2: 0.0,
                bbox: geo::Rect::new(min, max),
            });
        }
        assert_eq!(bounds(&r, &Everything), [112.90, 28.05, 113.00, 28.20]);
        assert_eq!(bounds(&r, &Only(&["b"])), [112.97, 28.05, 113.00, 28.12]);
        // Nothing in scope: the whole Web Mercator world, not an inverted box.
        assert_eq!(bounds(&r, &Only(&[])), [-180.0, -85.0511, 180.0, 85.0511]);
    }

    #[test]
    fn layer_names_round_trip() {
        for l in Layer::ALL {
            assert_eq!(Layer::parse(l.name()), Some(l));
        }
        assert_eq!(Layer::parse("nope"), None);
    }

    #[test]
    fn bad_filters_have_codes() {
        let bad = |f: Filter| f.check().unwrap_err().code();
        assert_eq!(
            bad(Filter {
                bbox: Some([10.0, 0.0, 5.0, 1.0]),
                ..Filter::default()
            }),
            "bad_bbox"
        );
        assert_eq!(
            bad(Filter {
                cell_m: Some(1.0),
                ..Filter::default()
            }),
            "bad_parameter"
        );
        assert_eq!(
            bad(Filter {
                zoom: Some(40.0),
                ..Filter::default()
            }),
            "bad_parameter"
        );
        assert!(Filter::default().check().is_ok());
    }

    #[test]
    fn each_number_has_one_range_bounds_included() {
        // (number, value, accepted): the bounds of the service's public contract (the
        // OpenAPI document's minimum and maximum): simplify_m 0..=10000, zoom 0..=24,
        // cell_m 5..=10000.
        let cases = [
            (Tuning::SimplifyM, 0.0, true),
            (Tuning::SimplifyM, 10_000.0, true),
            (Tuning::SimplifyM, -0.5, false),
            (Tuning::SimplifyM, 10_000.5, false),
            (Tuning::Zoom, 0.0, true),
            (Tuning::Zoom, 24.0, true),
            (Tuning::Zoom, 24.5, false),
            (Tuning::Zoom, 30.0, false),
            (Tuning::Zoom, -1.0, false),
            (Tuning::Zoom, f64::NAN, false),
            (Tuning::Zoom, 1e308, false),
            (Tuning::CellM, 5.0, true),
            (Tuning::CellM, 50.0, true),
            (Tuning::CellM, 4.99, false),
            (Tuning::CellM, 0.0, false),
            (Tuning::CellM, f64::INFINITY, false),
        ];
        for (t, x, ok) in cases {
            assert_eq!(t.check(x).is_ok(), ok, "{} = {x}", t.name());
        }
    }

    #[test]
    fn an_out_of_range_number_says_its_range() {
        let e = Tuning::Zoom.check(25.0).unwrap_err();
        assert_eq!(e.to_string(), "zoom=25: expected 0..=24");
        assert_eq!(e.code(), "bad_parameter");
        let e = Tuning::CellM.check(1.0).unwrap_err();
        assert_eq!(e.to_string(), "cell_m=1: expected 5..=10000");
        // The filter checks its numbers in the order of `Tuning::ALL`.
        let f = Filter {
            simplify_m: Some(-1.0),
            zoom: Some(99.0),
            ..Filter::default()
        };
        assert_eq!(
            f.check().unwrap_err().to_string(),
            "simplify_m=-1: expected 0..=10000"
        );
    }

    #[test]
    fn a_bbox_is_finite_ordered_and_on_the_globe() {
        assert!(check_bbox([112.9, 28.1, 113.0, 28.3]).is_ok());
        assert!(check_bbox([-180.0, -90.0, 180.0, 90.0]).is_ok());
        let reason = |b| match check_bbox(b) {
            Err(LayerError::BadBbox { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason([f64::NAN, 0.0, 1.0, 1.0]), "not finite");
        assert_eq!(reason([10.0, 0.0, 5.0, 1.0]), "expected w ≤ e and s ≤ n");
        assert_eq!(
            reason([170.0, 0.0, 190.0, 1.0]),
            "outside lon −180…180, lat −90…90"
        );
        assert_eq!(
            reason([0.0, -91.0, 1.0, 1.0]),
            "outside lon −180…180, lat −90…90"
        );
    }
}
