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
//!   whether that is one of the worker's assigned grids.
//! - `heat`: square cells of `cell_m` metres (default 50) in a [`LocalFrame`] anchored at the
//!   south-west corner of the registry's extent (so cells are the same in every request). A
//!   path has no times, so each worker-day's patrol time is spread along its path by length:
//!   a cell gets `patrol_s` of the day × the share of the day's path length inside the cell.
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

mod geojson;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::SecondsFormat;
use geo::{BooleanOps, MultiPolygon};
use serde_json::{json, Map, Value};

use crate::assess::period;
use crate::assess::{Assessor, WorkerDay};
use crate::coverage::{CoverageMask, GridCoverage};
use crate::geodesy::LocalFrame;
use crate::model::{Crs, Level, Period, UnixMs, WorkerId};
use crate::registry::{GridId, Registry};

pub use geojson::{polygon_geometry, round_coord, COORD_DECIMALS};
use geojson::{Feat, Geom};

/// The default heat cell, metres.
pub const DEFAULT_CELL_M: f64 = 50.0;
/// The smallest heat cell accepted, metres (smaller cells only multiply features).
pub const MIN_CELL_M: f64 = 5.0;
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
}

impl Layer {
    /// Every layer, in the contract's order.
    pub const ALL: [Layer; 9] = [
        Layer::Grids,
        Layer::Units,
        Layer::Tracks,
        Layer::Coverage,
        Layer::Stays,
        Layer::Visits,
        Layer::Checkpoints,
        Layer::Positions,
        Layer::Heat,
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

/// What a caller may see: grids by code and workers by id.
pub trait Scope {
    /// Whether the grid with this code may be shown.
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

/// A worker's reported position (the positions layer), WGS84.
#[derive(Clone, Debug, PartialEq)]
pub struct Position {
    /// The worker's id.
    pub worker: String,
    /// When the fix was taken, UTC ms.
    pub ts: UnixMs,
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Reported accuracy, metres.
    pub acc_m: Option<f32>,
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
    /// The simplification tolerance is negative or not finite.
    #[error("bad simplify_m {0}: expected a finite number of metres ≥ 0")]
    BadSimplify(f64),
    /// The zoom level is outside 0–30.
    #[error("bad zoom {0}: expected 0 to 30")]
    BadZoom(f64),
    /// The heat cell is smaller than [`MIN_CELL_M`] or not finite.
    #[error("bad cell_m {0}: expected a finite number of metres ≥ {MIN_CELL_M}")]
    BadCell(f64),
}

impl LayerError {
    /// The snake_case code of the error (HTTP `{"code"}`).
    pub fn code(&self) -> &'static str {
        match self {
            LayerError::UnknownUnit(_) => "unknown_unit",
            LayerError::UnknownWorker(_) => "unknown_worker",
            LayerError::BadBbox { .. } => "bad_bbox",
            LayerError::BadSimplify(_) => "bad_simplify_m",
            LayerError::BadZoom(_) => "bad_zoom",
            LayerError::BadCell(_) => "bad_cell_m",
        }
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
    };
    Ok(geojson::collection(
        feats,
        filter.crs,
        filter.bbox,
        member(layer, filter.crs, filter.period),
    ))
}

/// One worker-day's track as a FeatureCollection: its `walk` and its `gap`s (the tracks layer
/// of that day alone), in the filter's CRS, simplification and bbox; the period is the day.
///
/// # Errors
/// A malformed bbox, tolerance or zoom.
pub fn track_geojson(
    assessor: &Assessor,
    day: &WorkerDay,
    filter: &Filter,
) -> Result<Value, LayerError> {
    check(filter)?;
    let feats = track_features(assessor, day, filter);
    Ok(geojson::collection(
        feats,
        filter.crs,
        filter.bbox,
        member(Layer::Tracks, filter.crs, Some(Period::day(day.day))),
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

/// Checks the parts of a filter that need no registry.
fn check(filter: &Filter) -> Result<(), LayerError> {
    if let Some(b) = filter.bbox {
        let reason = if b.iter().any(|x| !x.is_finite()) {
            Some("not finite")
        } else if b[0] > b[2] || b[1] > b[3] {
            Some("expected w ≤ e and s ≤ n")
        } else if b[0] < -180.0 || b[2] > 180.0 || b[1] < -90.0 || b[3] > 90.0 {
            Some("outside lon −180…180, lat −90…90")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(LayerError::BadBbox { bbox: b, reason });
        }
    }
    if let Some(m) = filter.simplify_m {
        if !m.is_finite() || m < 0.0 {
            return Err(LayerError::BadSimplify(m));
        }
    }
    if let Some(z) = filter.zoom {
        if !(0.0..=30.0).contains(&z) {
            return Err(LayerError::BadZoom(z));
        }
    }
    if let Some(c) = filter.cell_m {
        if !c.is_finite() || c < MIN_CELL_M {
            return Err(LayerError::BadCell(c));
        }
    }
    Ok(())
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

/// The Douglas–Peucker tolerance for a line starting at `lat`, if any.
fn tolerance_m(filter: &Filter, lat: f64) -> Option<f64> {
    filter.simplify_m.or_else(|| {
        filter
            .zoom
            .map(|z| METRES_PER_PIXEL_Z0 * lat.to_radians().cos() / 2f64.powf(z))
    })
}

/// The walk and gaps of one worker-day.
fn track_features(assessor: &Assessor, d: &WorkerDay, filter: &Filter) -> Vec<Feat> {
    let reg = &assessor.registry;
    let w = d.worker.as_str();
    let lines: Vec<Vec<(f64, f64)>> = d
        .path
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut l = match tolerance_m(filter, l[0].1) {
                Some(tol) if l.len() > 2 => crate::track::simplify::simplify_lonlat(l, tol)
                    .into_iter()
                    .map(|k| l[k])
                    .collect(),
                _ => l.clone(),
            };
            if l.len() == 1 {
                l.push(l[0]);
            }
            l
        })
        .collect();
    let mut out = Vec::new();
    if lines.is_empty() {
        return out;
    }
    out.push(Feat {
        props: props([
            ("kind", json!("walk")),
            ("worker", json!(w)),
            ("name", worker_name(reg, w)),
            ("day", json!(d.day.to_string())),
            ("length_m", json!(round(d.length_m, 1))),
            ("patrol_s", json!(round(d.patrol_s, 1))),
            ("segments", json!(d.segments)),
            ("start", time(assessor.tz, d.first_fix)),
            ("end", time(assessor.tz, d.last_fix)),
        ]),
        geom: Geom::MultiLineString(lines.clone()),
    });
    for pair in lines.windows(2) {
        let (Some(&a), Some(&b)) = (pair[0].last(), pair[1].first()) else {
            continue;
        };
        out.push(Feat {
            props: props([
                ("kind", json!("gap")),
                ("worker", json!(w)),
                ("name", worker_name(reg, w)),
                ("day", json!(d.day.to_string())),
                (
                    "gap_m",
                    json!(round(crate::geodesy::distance_m(a.0, a.1, b.0, b.1), 1)),
                ),
            ]),
            geom: Geom::LineString(vec![a, b]),
        });
    }
    out
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
        check(filter)?;
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

    /// Time the assigned workers spent in each grid over the period (everyone's when the
    /// registry assigns nobody), in one pass over the days.
    fn patrol_by_grid(&self) -> BTreeMap<GridId, f64> {
        let everyone = self.reg.workers.is_empty();
        let mut out: BTreeMap<GridId, f64> = BTreeMap::new();
        for d in self.period_days.iter() {
            let assigned = self
                .reg
                .worker(d.worker.as_str())
                .map_or(&[][..], |w| &w.grids[..]);
            for (g, s) in &d.grid_s {
                if everyone || assigned.contains(g) {
                    *out.entry(*g).or_insert(0.0) += s;
                }
            }
        }
        out
    }

    fn grids(&self) -> Vec<Feat> {
        let team = self.team();
        let patrol = self.patrol_by_grid();
        let index = &self.a.coverage;
        self.worker_grids()
            .into_iter()
            .map(|g| {
                let grid = &self.reg.grids[g as usize];
                let parent = self.reg.units[grid.unit].parent.map(|i| &self.reg.units[i]);
                let workers = self.assigned_workers(g);
                let mask = team.get(&g);
                let share = period::share(self.a, &team, g);
                let covered = mask.map_or(0.0, |m| index.covered_m2(g, m));
                let attainable = self.extras.attainable.map(|att| index.coverage(att, g));
                let patrol_s = patrol.get(&g).copied().unwrap_or(0.0);
                Feat {
                    geom: Geom::Polygons(grid.polygon.clone()),
                    props: props([
                        ("code", json!(grid.code.as_str())),
                        ("name", json!(grid.name)),
                        ("parent", json!(parent.map(|u| u.code.as_str()))),
                        ("parent_name", json!(parent.map(|u| u.name.as_str()))),
                        (
                            "workers",
                            json!(workers.iter().map(|w| w.as_str()).collect::<Vec<_>>()),
                        ),
                        ("area_m2", json!(round(grid.area_m2, 1))),
                        ("coverage", json!(round(share, 4))),
                        ("covered_m2", json!(round(covered, 1))),
                        ("attainable", json!(attainable.map(|x| round(x, 4)))),
                        ("score", self.mean_score(workers.iter().copied())),
                        ("patrol_s", json!(round(patrol_s, 1))),
                    ]),
                }
            })
            .collect()
    }

    fn units(&self) -> Vec<Feat> {
        let reg = self.reg;
        let n = reg.units.len();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, u) in reg.units.iter().enumerate() {
            if let Some(p) = u.parent {
                children[p].push(i);
            }
        }
        // The selected grids under each unit, by walking up from each grid once.
        let mut grids_under: Vec<Vec<GridId>> = vec![Vec::new(); n];
        for &g in &self.grids {
            let mut at = reg.units[reg.grids[g as usize].unit].parent;
            while let Some(i) = at {
                grids_under[i].push(g);
                at = reg.units[i].parent;
            }
        }
        let root = self
            .filter
            .unit
            .as_deref()
            .and_then(|u| reg.units.iter().position(|x| x.code.as_str() == u));
        let in_root = |mut i: usize| -> bool {
            let Some(r) = root else { return true };
            loop {
                if i == r {
                    return true;
                }
                match reg.units[i].parent {
                    Some(p) => i = p,
                    None => return false,
                }
            }
        };
        let worker_grids = self.worker_grids();
        let wanted: Vec<usize> = (0..n)
            .filter(|&i| reg.units[i].level != Level::Grid && !grids_under[i].is_empty())
            .filter(|&i| in_root(i))
            .filter(|&i| {
                self.filter.worker.is_none()
                    || grids_under[i].iter().any(|g| worker_grids.contains(g))
            })
            .collect();
        if wanted.is_empty() {
            return Vec::new();
        }
        let grid_of_unit: BTreeMap<usize, GridId> = self
            .grids
            .iter()
            .map(|&g| (reg.grids[g as usize].unit, g))
            .collect();
        let mut dissolved: Vec<Option<MultiPolygon<f64>>> = vec![None; n];
        let team = self.team();
        let mut out = Vec::new();
        for i in wanted {
            let shape = dissolve(i, &children, &grid_of_unit, reg, &mut dissolved);
            let u = &reg.units[i];
            let gs = &grids_under[i];
            let area: f64 = gs.iter().map(|&g| reg.grids[g as usize].area_m2).sum();
            let covered: f64 = gs
                .iter()
                .map(|&g| period::share(self.a, &team, g) * reg.grids[g as usize].area_m2)
                .sum();
            let workers: BTreeSet<&WorkerId> =
                gs.iter().flat_map(|&g| self.assigned_workers(g)).collect();
            out.push(Feat {
                geom: Geom::Polygons(shape),
                props: props([
                    ("code", json!(u.code.as_str())),
                    ("name", json!(u.name)),
                    ("level", json!(u.level.as_str())),
                    (
                        "parent",
                        json!(u.parent.map(|p| reg.units[p].code.as_str())),
                    ),
                    ("grids", json!(gs.len())),
                    ("workers", json!(workers.len())),
                    ("area_m2", json!(round(area, 1))),
                    (
                        "coverage",
                        json!(if area > 0.0 {
                            round(covered / area, 4)
                        } else {
                            0.0
                        }),
                    ),
                    ("score", self.mean_score(workers.iter().copied())),
                ]),
            });
        }
        out
    }

    fn tracks(&self) -> Vec<Feat> {
        self.days()
            .flat_map(|d| track_features(self.a, d, self.filter))
            .collect()
    }

    fn coverage(&self) -> Vec<Feat> {
        let index = &self.a.coverage;
        let by_worker = period::coverage_by_worker(&self.period_days);
        let (masks, worker, grids): (BTreeMap<GridId, CoverageMask>, Value, Vec<GridId>) =
            match self.filter.worker.as_deref() {
                Some(w) => {
                    let own: BTreeMap<GridId, CoverageMask> = by_worker
                        .get(&WorkerId::new(w))
                        .filter(|_| self.worker_ok(w))
                        .map(|c| c.iter().map(|(g, m)| (g, m.clone())).collect())
                        .unwrap_or_default();
                    let mut grids = self.worker_grids();
                    grids.extend(
                        self.grids
                            .iter()
                            .filter(|g| own.get(g).is_some_and(|m| !m.is_empty())),
                    );
                    grids.sort_unstable();
                    grids.dedup();
                    (own, json!(w), grids)
                }
                None => (
                    period::team_coverage(self.a, &by_worker),
                    Value::Null,
                    self.grids.clone(),
                ),
            };
        let mut out = Vec::new();
        for g in grids {
            let grid = &self.reg.grids[g as usize];
            let mask = masks.get(&g);
            let share = mask.map_or(0.0, |m| index.share(g, m));
            let uncovered = index.uncovered_polygons(g, mask);
            let prop = |kind: &str| {
                props([
                    ("kind", json!(kind)),
                    ("grid", json!(grid.code.as_str())),
                    ("worker", worker.clone()),
                    ("share", json!(round(share, 4))),
                ])
            };
            if share > 0.0 {
                let covered = if uncovered.0.is_empty() {
                    grid.polygon.clone()
                } else {
                    grid.polygon.difference(&uncovered)
                };
                out.push(Feat {
                    geom: Geom::Polygons(covered),
                    props: prop("covered"),
                });
            }
            if !uncovered.0.is_empty() {
                out.push(Feat {
                    geom: Geom::Polygons(uncovered),
                    props: prop("uncovered"),
                });
            }
        }
        out
    }

    fn stays(&self) -> Vec<Feat> {
        let mut out = Vec::new();
        for d in self.days() {
            let w = d.worker.as_str();
            for s in &d.stays {
                let grid = self.reg.locate(s.lon, s.lat).map(|g| self.grid_code(g));
                out.push(Feat {
                    geom: Geom::Point((s.lon, s.lat)),
                    props: props([
                        ("worker", json!(w)),
                        ("name", worker_name(self.reg, w)),
                        ("day", json!(d.day.to_string())),
                        ("start", time(self.tz(), s.start)),
                        ("end", time(self.tz(), s.end)),
                        ("duration_s", json!(s.duration_s())),
                        ("pings", json!(s.pings)),
                        ("grid", json!(grid)),
                    ]),
                });
            }
        }
        out
    }

    /// Whether a checkpoint's grid is among the selected ones.
    fn checkpoint_shown(&self, grid: GridId) -> bool {
        self.grids.contains(&grid)
    }

    fn visits(&self) -> Vec<Feat> {
        let days: Vec<WorkerDay> = self.days().cloned().collect();
        period::merged_visits(self.a, &days)
            .into_iter()
            .filter_map(|v| {
                let c = self.reg.checkpoints.get(v.checkpoint)?;
                if !self.checkpoint_shown(c.grid) {
                    return None;
                }
                let w = v.worker.as_str();
                Some(Feat {
                    geom: Geom::Point((c.lon, c.lat)),
                    props: props([
                        ("checkpoint", json!(c.code)),
                        ("name", json!(c.name)),
                        ("worker", json!(w)),
                        ("worker_name", worker_name(self.reg, w)),
                        ("start", time(self.tz(), v.start)),
                        ("end", time(self.tz(), v.end)),
                        ("duration_s", json!((v.end - v.start) as f64 / 1000.0)),
                        ("via", json!(v.via.as_str())),
                    ]),
                })
            })
            .collect()
    }

    fn checkpoints(&self) -> Vec<Feat> {
        let merged = period::merged_visits(self.a, &self.period_days);
        let today = crate::track::local_day(self.extras.now_ms, self.tz());
        let period = self
            .filter
            .period
            .or_else(|| period::day_span(&self.period_days))
            .unwrap_or(Period::day(today));
        let figures = period::checkpoint_figures(self.a, &merged, period);
        let grids = self.worker_grids();
        figures
            .into_iter()
            .filter_map(|f| {
                let c = self.reg.checkpoints.get(f.checkpoint)?;
                if !grids.contains(&c.grid) {
                    return None;
                }
                Some(Feat {
                    geom: Geom::Point((c.lon, c.lat)),
                    props: props([
                        ("code", json!(c.code)),
                        ("name", json!(c.name)),
                        ("kind", json!(c.kind)),
                        ("grid", json!(self.grid_code(c.grid))),
                        ("visits_per_month", json!(c.visits_per_month)),
                        ("visits", json!(f.visits.len())),
                        ("compliance", json!(round(f.compliance, 4))),
                    ]),
                })
            })
            .collect()
    }

    fn positions(&self) -> Vec<Feat> {
        let mut latest: BTreeMap<&str, &Position> = BTreeMap::new();
        for p in self.extras.positions {
            if !self.worker_ok(&p.worker) {
                continue;
            }
            let e = latest.entry(p.worker.as_str()).or_insert(p);
            if p.ts > e.ts {
                *e = p;
            }
        }
        latest
            .into_values()
            .map(|p| {
                let grid = self.reg.locate(p.lon, p.lat);
                let assigned: &[GridId] = self.reg.worker(&p.worker).map_or(&[], |w| &w.grids);
                Feat {
                    geom: Geom::Point((p.lon, p.lat)),
                    props: props([
                        ("worker", json!(p.worker)),
                        ("name", worker_name(self.reg, &p.worker)),
                        ("ts", time(self.tz(), p.ts)),
                        (
                            "age_s",
                            json!(((self.extras.now_ms - p.ts).max(0) as f64 / 1000.0).round()),
                        ),
                        ("acc_m", json!(p.acc_m)),
                        ("grid", json!(grid.map(|g| self.grid_code(g)))),
                        (
                            "assigned",
                            json!(assigned
                                .iter()
                                .map(|&g| self.grid_code(g))
                                .collect::<Vec<_>>()),
                        ),
                        (
                            "in_grid",
                            json!(grid.is_some_and(|g| assigned.contains(&g))),
                        ),
                    ]),
                }
            })
            .collect()
    }

    fn heat(&self) -> Vec<Feat> {
        let cell = self.filter.cell_m.unwrap_or(DEFAULT_CELL_M);
        let Some(frame) = heat_frame(self.reg, &self.period_days) else {
            return Vec::new();
        };
        let mut cells: BTreeMap<(i64, i64), f64> = BTreeMap::new();
        for d in self.days() {
            let mut day_cells: BTreeMap<(i64, i64), f64> = BTreeMap::new();
            let mut total = 0.0;
            let mut points: Vec<(i64, i64)> = Vec::new();
            for line in &d.path {
                let pts: Vec<(f64, f64)> = line.iter().map(|&(x, y)| frame.project(x, y)).collect();
                points.extend(pts.iter().map(|&p| cell_of(p, cell)));
                for w in pts.windows(2) {
                    total += lengths_in_cells(w[0], w[1], cell, &mut day_cells);
                }
            }
            if total > 0.0 {
                for (c, len) in day_cells {
                    *cells.entry(c).or_insert(0.0) += d.patrol_s * len / total;
                }
            } else if !points.is_empty() {
                // No length (one-fix segments only): the day's time goes to its fixes' cells.
                let each = d.patrol_s / points.len() as f64;
                for c in points {
                    *cells.entry(c).or_insert(0.0) += each;
                }
            }
        }
        cells
            .into_iter()
            .filter(|&(_, s)| s > 0.0)
            .map(|((i, j), s)| {
                let (x0, y0) = (i as f64 * cell, j as f64 * cell);
                let ring: Vec<(f64, f64)> = [
                    (x0, y0),
                    (x0 + cell, y0),
                    (x0 + cell, y0 + cell),
                    (x0, y0 + cell),
                    (x0, y0),
                ]
                .iter()
                .map(|&(x, y)| frame.unproject(x, y))
                .collect();
                Feat {
                    geom: Geom::Polygons(MultiPolygon::new(vec![geo::Polygon::new(
                        ring.into(),
                        Vec::new(),
                    )])),
                    props: props([
                        ("patrol_s", json!(round(s, 1))),
                        ("cell", json!(format!("{i},{j}"))),
                    ]),
                }
            })
            .collect()
    }
}

/// The union of a unit's selected grids, computed once per unit from its children's unions.
fn dissolve(
    i: usize,
    children: &[Vec<usize>],
    grid_of_unit: &BTreeMap<usize, GridId>,
    reg: &Registry,
    memo: &mut [Option<MultiPolygon<f64>>],
) -> MultiPolygon<f64> {
    if let Some(done) = &memo[i] {
        return done.clone();
    }
    let shape = if let Some(&g) = grid_of_unit.get(&i) {
        use geo::orient::{Direction, Orient};
        reg.grids[g as usize].polygon.orient(Direction::Default)
    } else {
        let parts: Vec<MultiPolygon<f64>> = children[i]
            .iter()
            .map(|&c| dissolve(c, children, grid_of_unit, reg, memo))
            .filter(|p| !p.0.is_empty())
            .collect();
        match parts.len() {
            0 => MultiPolygon::new(Vec::new()),
            1 => parts[0].clone(),
            _ => geo::unary_union(parts.iter()),
        }
    };
    memo[i] = Some(shape.clone());
    shape
}

/// The heat frame: at the south-west corner of the registry's grids, or (no grids) at the
/// whole degree south-west of the first position of the days.
fn heat_frame(reg: &Registry, days: &[WorkerDay]) -> Option<LocalFrame> {
    let sw = reg.grids.iter().fold(None, |acc: Option<(f64, f64)>, g| {
        let m = g.bbox.min();
        Some(acc.map_or((m.x, m.y), |(x, y)| (x.min(m.x), y.min(m.y))))
    });
    let sw = match sw {
        Some(sw) => sw,
        None => {
            let &(x, y) = days.iter().flat_map(|d| d.path.iter().flatten()).next()?;
            (x.floor(), y.floor())
        }
    };
    Some(LocalFrame::new(sw.0, sw.1))
}

/// The cell (i, j) of a point in frame metres.
fn cell_of(p: (f64, f64), cell: f64) -> (i64, i64) {
    ((p.0 / cell).floor() as i64, (p.1 / cell).floor() as i64)
}

/// Adds the length of the step p → q inside each cell it crosses; returns the step's length.
fn lengths_in_cells(
    p: (f64, f64),
    q: (f64, f64),
    cell: f64,
    out: &mut BTreeMap<(i64, i64), f64>,
) -> f64 {
    let len = (q.0 - p.0).hypot(q.1 - p.1);
    if len == 0.0 || !len.is_finite() {
        return 0.0;
    }
    // Where the step crosses a cell edge, as fractions of the step.
    let mut ts = vec![0.0, 1.0];
    for (a, b) in [(p.0 / cell, q.0 / cell), (p.1 / cell, q.1 / cell)] {
        if a != b {
            let (lo, hi) = (a.min(b).ceil() as i64, a.max(b).floor() as i64);
            for k in lo..=hi {
                let t = (k as f64 - a) / (b - a);
                if t > 0.0 && t < 1.0 {
                    ts.push(t);
                }
            }
        }
    }
    ts.sort_by(f64::total_cmp);
    for w in ts.windows(2) {
        let mid = (w[0] + w[1]) / 2.0;
        let at = (p.0 + (q.0 - p.0) * mid, p.1 + (q.1 - p.1) * mid);
        *out.entry(cell_of(at, cell)).or_insert(0.0) += len * (w[1] - w[0]);
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names_round_trip() {
        for l in Layer::ALL {
            assert_eq!(Layer::parse(l.name()), Some(l));
        }
        assert_eq!(Layer::parse("nope"), None);
    }

    #[test]
    fn a_step_is_split_by_the_cells_it_crosses() {
        let mut out = BTreeMap::new();
        // 0 → 120 m east at y = 10 with 50 m cells: 50 + 50 + 20.
        let len = lengths_in_cells((0.0, 10.0), (120.0, 10.0), 50.0, &mut out);
        assert!((len - 120.0).abs() < 1e-9);
        assert!((out[&(0, 0)] - 50.0).abs() < 1e-9);
        assert!((out[&(1, 0)] - 50.0).abs() < 1e-9);
        assert!((out[&(2, 0)] - 20.0).abs() < 1e-9);
        // A diagonal across a corner splits into three cells and keeps its length.
        let mut out = BTreeMap::new();
        let len = lengths_in_cells((40.0, 45.0), (60.0, 60.0), 50.0, &mut out);
        let sum: f64 = out.values().sum();
        assert!((sum - len).abs() < 1e-9);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn bad_filters_have_codes() {
        let bad = |f: Filter| check(&f).unwrap_err().code();
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
            "bad_cell_m"
        );
        assert_eq!(
            bad(Filter {
                zoom: Some(40.0),
                ..Filter::default()
            }),
            "bad_zoom"
        );
        assert!(check(&Filter::default()).is_ok());
    }

    #[test]
    fn zoom_tolerance_is_a_pixel() {
        let f = Filter {
            zoom: Some(16.0),
            ..Filter::default()
        };
        let t = tolerance_m(&f, 0.0).unwrap();
        assert!((t - 2.388_657).abs() < 1e-3, "{t}");
        let t60 = tolerance_m(&f, 60.0).unwrap();
        assert!((t60 - t / 2.0).abs() < 1e-9);
    }
}
