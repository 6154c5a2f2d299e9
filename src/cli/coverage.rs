//! `gridbeat coverage`: the share of each grid within `coverage_radius_m` of the tracks
//! (DESIGN.md §4.6), per grid (team coverage: the union over all workers and days of the
//! period) and per worker, as JSON or as a GeoJSON layer with the uncovered parts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use geo::MultiPolygon;
use rayon::prelude::*;
use serde_json::{json, Value};

use super::tracks::{read_pings_by_worker, round};
use crate::config::Config;
use crate::coverage::{CoverageIndex, CoverageParams, GridCoverage};
use crate::model::Crs;
use crate::registry::{GridId, LoadOptions, Registry, Source};
use crate::track::{self, CleanMode, Track, TrackParams};

/// Arguments of `gridbeat coverage`.
#[derive(Debug, Args)]
#[command(after_help = "\
Coverage of a grid is the share of its area within coverage_radius_m (default 30) of a track \
(DESIGN.md §4.6), computed on 10 m cells sampled at 2.5 m (cell_size_m / 4). Grid coverage is \
the union over all workers and days of the period (team coverage); each worker's coverage is \
the union of that worker's days. Periods are local calendar days in the configured timezone; \
a step between two fixes counts for the day of its first fix.")]
pub struct CoverageArgs {
    /// The grid registry (GeoJSON FeatureCollection, DESIGN.md §5.2).
    #[arg(long, value_name = "FILE")]
    pub grids: PathBuf,
    /// Ping files (CSV, Parquet or GPX); each worker's pings are cleaned into a track first.
    #[arg(long, num_args = 1.., value_name = "FILE", required_unless_present = "tracks", conflicts_with = "tracks")]
    pub pings: Vec<PathBuf>,
    /// A GeoJSON file whose LineStrings (and Points) are the track as they are: no cleaning,
    /// no gaps. A feature's `worker` property names its worker (default `track`).
    #[arg(long, value_name = "FILE.geojson")]
    pub tracks: Option<PathBuf>,
    /// Worker assignments (`worker,name,grid`): each grid also lists its assigned workers.
    #[arg(long, value_name = "FILE")]
    pub workers: Option<PathBuf>,
    /// A street network (GeoJSON LineStrings): adds each grid's attainable coverage, the
    /// coverage of walking every street.
    #[arg(long, value_name = "FILE.geojson")]
    pub streets: Option<PathBuf>,
    /// Only this local calendar month, YYYY-MM.
    #[arg(long, value_name = "YYYY-MM", conflicts_with_all = ["from", "to"])]
    pub month: Option<String>,
    /// First local day of the period, YYYY-MM-DD.
    #[arg(long, value_name = "DATE", requires = "to")]
    pub from: Option<NaiveDate>,
    /// Last local day of the period (inclusive), YYYY-MM-DD.
    #[arg(long, value_name = "DATE", requires = "from")]
    pub to: Option<NaiveDate>,
    /// One entry per grid (with its workers) or per worker (with their grids).
    #[arg(long, value_enum, default_value_t = Per::Grid)]
    pub per: Per,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CoverageFormat::Json)]
    pub format: CoverageFormat,
    /// Switch off the accuracy and speed gates (duplicates are still removed).
    #[arg(long)]
    pub no_clean: bool,
    /// Reference system of the pings: wgs84, gcj02 or bd09.
    #[arg(long, value_name = "CRS", default_value = "wgs84")]
    pub crs: Crs,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// How the JSON output is organised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Per {
    /// One entry per grid, listing the workers' coverage of it.
    Grid,
    /// One entry per worker, listing their coverage of each grid.
    Worker,
}

/// The output formats of `gridbeat coverage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CoverageFormat {
    /// One JSON object with the parameters and the figures.
    Json,
    /// A FeatureCollection: grid polygons with their coverage, and the uncovered parts.
    Geojson,
}

/// Local calendar days, first and last inclusive.
type Period = (NaiveDate, NaiveDate);

/// Runs `gridbeat coverage`.
///
/// # Errors
/// When a file cannot be read, the registry is invalid, a GeoJSON feature is not a line, or the
/// period is malformed; messages name the file, line or feature.
pub fn run(args: &CoverageArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let period = period(args)?;
    let registry = load_registry(args)?;
    let params = CoverageParams::from_config(config);
    let index = CoverageIndex::new(&registry, params);
    let tz = config.tz();

    let by_worker: BTreeMap<String, GridCoverage> = match &args.tracks {
        Some(path) => {
            let mut by_worker: BTreeMap<String, GridCoverage> = BTreeMap::new();
            for (worker, line) in read_lines(path)? {
                index.cover_polyline(&line, by_worker.entry(worker).or_default());
            }
            by_worker
        }
        None => {
            let (pings, errors) = read_pings_by_worker(&args.pings, args.crs, None)?;
            for e in &errors {
                eprintln!("warning: skipped {e}");
            }
            let mode = if args.no_clean {
                CleanMode::DedupeOnly
            } else {
                CleanMode::Full
            };
            let track_params = TrackParams::from_config(config, mode);
            pings
                .into_par_iter()
                .map(|(worker, pings)| {
                    let track = track::build(&pings, &track_params);
                    let mut cov = GridCoverage::new();
                    cover_in_period(&index, &track, period, tz, &mut cov);
                    (worker.as_str().to_string(), cov)
                })
                .collect()
        }
    };
    let mut team = GridCoverage::new();
    for cov in by_worker.values() {
        team.union_with(cov);
    }
    let attainable = match &args.streets {
        Some(path) => {
            let mut cov = GridCoverage::new();
            for (_, line) in read_lines(path)? {
                index.cover_polyline(&line, &mut cov);
            }
            Some(cov)
        }
        None => None,
    };

    let report = Report {
        registry: &registry,
        index: &index,
        by_worker: &by_worker,
        team: &team,
        attainable: attainable.as_ref(),
    };
    let doc = match args.format {
        CoverageFormat::Json => {
            let mut doc = json!({"params": params_json(args, config, period)});
            match args.per {
                Per::Grid => doc["grids"] = report.per_grid(),
                Per::Worker => doc["workers"] = report.per_worker(),
            }
            doc
        }
        CoverageFormat::Geojson => report.geojson(),
    };
    super::write_json(&doc, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// The period of `--month` or `--from`/`--to`, if any.
fn period(args: &CoverageArgs) -> anyhow::Result<Option<Period>> {
    if let Some(month) = &args.month {
        let first = super::parse_month(month).with_context(|| format!("--month {month}"))?;
        let last = first
            .checked_add_months(chrono::Months::new(1))
            .and_then(|d| d.pred_opt())
            .with_context(|| format!("--month {month:?} is out of range"))?;
        return Ok(Some((first, last)));
    }
    match (args.from, args.to) {
        (Some(from), Some(to)) if from > to => bail!("--from {from} is after --to {to}"),
        (Some(from), Some(to)) => Ok(Some((from, to))),
        _ => Ok(None),
    }
}

fn load_registry(args: &CoverageArgs) -> anyhow::Result<Registry> {
    let grids_name = args.grids.display().to_string();
    let grids_text = std::fs::read_to_string(&args.grids)
        .with_context(|| format!("cannot read the grids file {grids_name}"))?;
    let workers = match &args.workers {
        Some(path) => Some((
            path.display().to_string(),
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the workers file {}", path.display()))?,
        )),
        None => None,
    };
    let registry = Registry::from_sources(
        Source::new(&grids_name, &grids_text),
        workers.as_ref().map(|(n, t)| Source::new(n, t)),
        None,
        &LoadOptions::default(),
    )
    .with_context(|| format!("cannot load the registry from {grids_name}"))?;
    for warning in &registry.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(registry)
}

/// Covers the steps of a track whose first fix falls on a local day of the period (every step
/// without a period); a lone fix in the period is a point.
fn cover_in_period(
    index: &CoverageIndex,
    track: &Track,
    period: Option<Period>,
    tz: chrono_tz::Tz,
    out: &mut GridCoverage,
) {
    let Some((from, to)) = period else {
        index.cover_track(track, out);
        return;
    };
    let fixes = track.fixes();
    for seg in &track.segments {
        let run = &fixes[seg.clone()];
        let mut start: Option<usize> = None;
        for i in 0..=run.len() {
            let kept = i < run.len() && {
                let day = track::local_day(run[i].ts, tz);
                from <= day && day <= to
            };
            match (kept, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    // The step out of the period belongs to its first fix's day: keep it.
                    index.cover_fixes(&run[s..(i + 1).min(run.len())], out);
                    start = None;
                }
                _ => {}
            }
        }
    }
}

/// A worker and one line of their track, (lon, lat) degrees.
type WorkerLine = (String, Vec<(f64, f64)>);

/// The lines of a GeoJSON file with the worker each belongs to: LineStrings and
/// MultiLineStrings (each part a line), Points and MultiPoints (each a one-position track).
pub(crate) fn read_lines(path: &Path) -> anyhow::Result<Vec<WorkerLine>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("{name}: not valid JSON"))?;
    let features: Vec<&Value> = match doc["type"].as_str() {
        Some("FeatureCollection") => doc["features"]
            .as_array()
            .with_context(|| format!("{name}: a FeatureCollection needs a `features` array"))?
            .iter()
            .collect(),
        Some("Feature") => vec![&doc],
        _ => bail!("{name}: expected a GeoJSON FeatureCollection of LineStrings"),
    };
    let mut lines = Vec::new();
    for (n, feature) in features.into_iter().enumerate() {
        let at = || format!("{name}: feature #{n}");
        let worker = feature["properties"]["worker"]
            .as_str()
            .unwrap_or("track")
            .to_string();
        let geometry = &feature["geometry"];
        if geometry.is_null() {
            continue;
        }
        let coords = &geometry["coordinates"];
        let parts: Vec<Vec<(f64, f64)>> = match geometry["type"].as_str() {
            Some("LineString") => vec![positions(coords).with_context(at)?],
            Some("MultiPoint") => positions(coords)
                .with_context(at)?
                .into_iter()
                .map(|p| vec![p])
                .collect(),
            Some("MultiLineString") => coords
                .as_array()
                .with_context(|| format!("{}: coordinates must be an array", at()))?
                .iter()
                .map(positions)
                .collect::<anyhow::Result<_>>()
                .with_context(at)?,
            Some("Point") => vec![vec![position(coords).with_context(at)?]],
            other => bail!(
                "{}: geometry {} is not a line or point",
                at(),
                other.unwrap_or("without a type")
            ),
        };
        lines.extend(parts.into_iter().map(|p| (worker.clone(), p)));
    }
    Ok(lines)
}

/// One GeoJSON position as (lon, lat), checked.
fn position(p: &Value) -> anyhow::Result<(f64, f64)> {
    let (Some(lon), Some(lat)) = (p[0].as_f64(), p[1].as_f64()) else {
        bail!("a position must be [lon, lat], got {p}");
    };
    crate::ingest::check_position(lon, lat).map_err(anyhow::Error::msg)?;
    Ok((lon, lat))
}

/// An array of GeoJSON positions.
fn positions(ps: &Value) -> anyhow::Result<Vec<(f64, f64)>> {
    ps.as_array()
        .with_context(|| format!("coordinates must be an array of positions, got {ps}"))?
        .iter()
        .map(position)
        .collect()
}

/// The effective parameters as reports record them.
fn params_json(args: &CoverageArgs, config: &Config, period: Option<Period>) -> Value {
    let params = CoverageParams::from_config(config);
    json!({
        "coverage_radius_m": params.radius_m,
        "cell_size_m": params.cell_size_m,
        "sample_spacing_m": params.spacing_m(),
        "timezone": config.timezone,
        "from": period.map(|p| p.0.to_string()),
        "to": period.map(|p| p.1.to_string()),
        "input": if args.tracks.is_some() { "tracks" } else { "pings" },
        "clean": args.tracks.is_none() && !args.no_clean,
    })
}

/// Everything the output is drawn from.
struct Report<'a> {
    registry: &'a Registry,
    index: &'a CoverageIndex,
    by_worker: &'a BTreeMap<String, GridCoverage>,
    team: &'a GridCoverage,
    attainable: Option<&'a GridCoverage>,
}

impl Report<'_> {
    /// The figures of one grid for one coverage map.
    fn figures(&self, grid: GridId, cov: &GridCoverage) -> (f64, f64) {
        match cov.get(grid) {
            Some(mask) => (
                self.index.share(grid, mask),
                self.index.covered_m2(grid, mask),
            ),
            None => (0.0, 0.0),
        }
    }

    /// The workers listed under a grid: those assigned to it and those who covered some of it.
    fn workers_of(&self, grid: GridId) -> BTreeSet<&str> {
        let mut names: BTreeSet<&str> = self
            .registry
            .workers
            .iter()
            .filter(|w| w.grids.contains(&grid))
            .map(|w| w.id.as_str())
            .collect();
        for (w, cov) in self.by_worker {
            if self.figures(grid, cov).0 > 0.0 {
                names.insert(w);
            }
        }
        names
    }

    fn grid_properties(&self, grid: GridId) -> serde_json::Map<String, Value> {
        let g = &self.registry.grids[grid as usize];
        let (share, covered) = self.figures(grid, self.team);
        let mut props = serde_json::Map::new();
        props.insert("code".into(), json!(g.code.as_str()));
        props.insert("area_m2".into(), json!(round(g.area_m2, 1)));
        props.insert("coverage".into(), json!(round(share, 4)));
        props.insert("covered_m2".into(), json!(round(covered, 1)));
        if let Some(att) = self.attainable {
            props.insert(
                "attainable".into(),
                json!(round(self.figures(grid, att).0, 4)),
            );
        }
        props
    }

    fn per_grid(&self) -> Value {
        let grids: Vec<Value> = (0..self.registry.grids.len() as GridId)
            .map(|grid| {
                let mut props = self.grid_properties(grid);
                let workers: Vec<Value> = self
                    .workers_of(grid)
                    .into_iter()
                    .map(|w| {
                        let share = self
                            .by_worker
                            .get(w)
                            .map_or(0.0, |cov| self.figures(grid, cov).0);
                        json!({"worker": w, "coverage": round(share, 4)})
                    })
                    .collect();
                props.insert("workers".into(), Value::Array(workers));
                Value::Object(props)
            })
            .collect();
        Value::Array(grids)
    }

    fn per_worker(&self) -> Value {
        let mut names: BTreeSet<&str> = self.by_worker.keys().map(String::as_str).collect();
        names.extend(self.registry.workers.iter().map(|w| w.id.as_str()));
        let empty = GridCoverage::new();
        let workers: Vec<Value> = names
            .into_iter()
            .map(|w| {
                let cov = self.by_worker.get(w).unwrap_or(&empty);
                let assigned = self.registry.worker(w).map_or(&[][..], |x| &x.grids[..]);
                let grids: Vec<Value> = (0..self.registry.grids.len() as GridId)
                    .filter_map(|grid| {
                        let (share, covered) = self.figures(grid, cov);
                        let is_assigned = assigned.contains(&grid);
                        (share > 0.0 || is_assigned).then(|| {
                            json!({"code": self.registry.grids[grid as usize].code.as_str(),
                                   "assigned": is_assigned,
                                   "coverage": round(share, 4), "covered_m2": round(covered, 1)})
                        })
                    })
                    .collect();
                json!({"worker": w, "grids": grids})
            })
            .collect();
        Value::Array(workers)
    }

    fn geojson(&self) -> Value {
        let mut features = Vec::new();
        for (grid, g) in self.registry.grids.iter().enumerate() {
            let grid = grid as GridId;
            let mut props = self.grid_properties(grid);
            props.insert("kind".into(), json!("grid"));
            features.push(
                json!({"type": "Feature", "geometry": multipolygon_json(&g.polygon),
                                 "properties": props}),
            );
            let uncovered = self.index.uncovered_polygons(grid, self.team.get(grid));
            if !uncovered.0.is_empty() {
                features.push(
                    json!({"type": "Feature", "geometry": multipolygon_json(&uncovered),
                                     "properties": {"kind": "uncovered", "code": g.code.as_str()}}),
                );
            }
        }
        json!({"type": "FeatureCollection", "features": features})
    }
}

/// A MultiPolygon as GeoJSON (a Polygon when it has one part), positions to 7 decimals.
fn multipolygon_json(mp: &MultiPolygon<f64>) -> Value {
    let ring = |r: &geo::LineString<f64>| -> Vec<[f64; 2]> {
        r.coords().map(|c| [round(c.x, 7), round(c.y, 7)]).collect()
    };
    let polys: Vec<Vec<Vec<[f64; 2]>>> = mp
        .iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(ring)
                .collect()
        })
        .collect();
    if polys.len() == 1 {
        json!({"type": "Polygon", "coordinates": polys[0]})
    } else {
        json!({"type": "MultiPolygon", "coordinates": polys})
    }
}
