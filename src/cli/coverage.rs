//! `gridbeat coverage`: the share of each grid within `coverage_radius_m` of the tracks
//! (DESIGN.md §4.6), per grid (team coverage: the union over all workers and days of the
//! period) and per worker, as JSON or as a GeoJSON layer with the uncovered parts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use super::round;
use crate::assess::{period, Assessor, Params};
use crate::config::Config;
use crate::coverage::{CoverageMask, GridCoverage};
use crate::layers::polygon_geometry;
use crate::model::{Crs, Period, WorkerId};
use crate::registry::{GridId, Registry};

/// Arguments of `gridbeat coverage`.
#[derive(Debug, Args)]
#[command(after_help = "\
Coverage of a grid is the share of its area within coverage_radius_m (default 30) of a track \
(DESIGN.md §4.6), computed on 10 m cells sampled at 2.5 m (cell_size_m / 4). Grid coverage is \
team coverage: the union over the period of the tracks of the grid's assigned workers (from \
--workers), wherever they walked; other workers who passed through are listed as `visitors` \
and do not count. Without --workers every track counts for every grid. Each worker's coverage \
is the union of that worker's days. Periods are local calendar days in the configured \
timezone; a step between two fixes counts for the day of its first fix.")]
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
    /// The period: `--month`, or `--from`/`--to`.
    #[command(flatten)]
    pub period: super::DayPeriod,
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
    /// Report bad ping rows and keep the good ones (without it a bad row fails the run); a
    /// run that keeps no ping still fails.
    #[arg(long)]
    pub keep_going: bool,
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

/// Runs `gridbeat coverage`.
///
/// # Errors
/// When a file cannot be read, the registry is invalid, a GeoJSON feature is not a line, or the
/// period is malformed; messages name the file, line or feature.
pub fn run(args: &CoverageArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let period = args.period.period()?;
    let registry = super::load_registry(
        &args.grids,
        args.workers.as_deref(),
        None,
        Crs::Wgs84,
        false,
    )?;
    let clean = args.tracks.is_none() && !args.no_clean;
    let assessor = Assessor::new(
        Arc::new(registry),
        Params::new(config.clone(), super::clean_mode(!clean)),
    );

    let by_worker: BTreeMap<WorkerId, GridCoverage> = match &args.tracks {
        Some(path) => {
            let mut by_worker: BTreeMap<WorkerId, GridCoverage> = BTreeMap::new();
            for (worker, line) in read_lines(path)? {
                assessor
                    .coverage
                    .cover_polyline(&line, by_worker.entry(WorkerId::new(&worker)).or_default());
            }
            by_worker
        }
        None => {
            let paths: Vec<PathBuf> = args.pings.clone();
            let s = crate::batch::summarize_files(&assessor, &paths, args.crs, None, period)?;
            super::check_rows(&s.errors, s.pings, args.keep_going)?;
            period::coverage_by_worker(&s.days)
        }
    };
    let team = period::team_coverage(&assessor, &by_worker);
    let attainable = match &args.streets {
        Some(path) => Some(street_coverage(&assessor, path)?),
        None => None,
    };

    let report = Report {
        assessor: &assessor,
        by_worker: &by_worker,
        team: &team,
        attainable: attainable.as_ref(),
    };
    let doc = match args.format {
        CoverageFormat::Json => {
            let mut doc = json!({
                "params": assessor.params.to_json(),
                "period": period_json(period),
                "input": if args.tracks.is_some() { "tracks" } else { "pings" },
            });
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

/// The period as JSON: first and last local day (null when open).
fn period_json(period: Option<Period>) -> Value {
    let day = |d: chrono::NaiveDate| {
        (d != chrono::NaiveDate::MIN && d != chrono::NaiveDate::MAX).then(|| d.to_string())
    };
    json!({
        "from": period.and_then(|p| day(p.first)),
        "to": period.and_then(|p| day(p.last)),
    })
}

/// Each grid's attainable coverage: the street network taken as a track.
pub(crate) fn street_coverage(assessor: &Assessor, path: &Path) -> anyhow::Result<GridCoverage> {
    let mut cov = GridCoverage::new();
    for (_, line) in read_lines(path)? {
        assessor.coverage.cover_polyline(&line, &mut cov);
    }
    Ok(cov)
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

/// Everything the output is drawn from.
struct Report<'a> {
    assessor: &'a Assessor,
    by_worker: &'a BTreeMap<WorkerId, GridCoverage>,
    team: &'a BTreeMap<GridId, CoverageMask>,
    attainable: Option<&'a GridCoverage>,
}

impl Report<'_> {
    fn registry(&self) -> &Registry {
        &self.assessor.registry
    }

    /// The share and covered area of one grid in a mask.
    fn figures(&self, grid: GridId, mask: Option<&CoverageMask>) -> (f64, f64) {
        let index = &self.assessor.coverage;
        mask.map_or((0.0, 0.0), |m| {
            (index.share(grid, m), index.covered_m2(grid, m))
        })
    }

    fn worker_share(&self, worker: &WorkerId, grid: GridId) -> f64 {
        self.figures(grid, self.by_worker.get(worker).and_then(|c| c.get(grid)))
            .0
    }

    fn grid_properties(&self, grid: GridId) -> serde_json::Map<String, Value> {
        let g = &self.registry().grids[grid as usize];
        let (share, covered) = self.figures(grid, self.team.get(&grid));
        let mut props = serde_json::Map::new();
        props.insert("code".into(), json!(g.code.as_str()));
        props.insert("area_m2".into(), json!(round(g.area_m2, 1)));
        props.insert("coverage".into(), json!(round(share, 4)));
        props.insert("covered_m2".into(), json!(round(covered, 1)));
        if let Some(att) = self.attainable {
            props.insert(
                "attainable".into(),
                json!(round(self.figures(grid, att.get(grid)).0, 4)),
            );
        }
        props
    }

    /// One entry per grid: team coverage (its assigned workers' union), each assigned
    /// worker's coverage, and the other workers who passed through, labelled as visitors.
    fn per_grid(&self) -> Value {
        let reg = self.registry();
        let grids: Vec<Value> = (0..reg.grids.len() as GridId)
            .map(|grid| {
                let mut props = self.grid_properties(grid);
                let assigned: Vec<Value> = reg
                    .workers
                    .iter()
                    .filter(|w| w.grids.contains(&grid))
                    .map(|w| json!({"worker": w.id.as_str(), "coverage": round(self.worker_share(&w.id, grid), 4)}))
                    .collect();
                let visitors: Vec<Value> = period::visitors(self.assessor, self.by_worker, grid)
                    .iter()
                    .map(|w| json!({"worker": w.as_str(), "coverage": round(self.worker_share(w, grid), 4), "assigned": false}))
                    .collect();
                props.insert("workers".into(), Value::Array(assigned));
                props.insert("visitors".into(), Value::Array(visitors));
                Value::Object(props)
            })
            .collect();
        Value::Array(grids)
    }

    fn per_worker(&self) -> Value {
        let reg = self.registry();
        let mut names: BTreeSet<WorkerId> = self.by_worker.keys().cloned().collect();
        names.extend(reg.workers.iter().map(|w| w.id.clone()));
        let workers: Vec<Value> = names
            .into_iter()
            .map(|w| {
                let assigned = self.assessor.assigned(&w);
                let grids: Vec<Value> = (0..reg.grids.len() as GridId)
                    .filter_map(|grid| {
                        let (share, covered) =
                            self.figures(grid, self.by_worker.get(&w).and_then(|c| c.get(grid)));
                        let is_assigned = assigned.contains(&grid);
                        (share > 0.0 || is_assigned).then(|| {
                            json!({"code": reg.grids[grid as usize].code.as_str(),
                                   "assigned": is_assigned,
                                   "coverage": round(share, 4), "covered_m2": round(covered, 1)})
                        })
                    })
                    .collect();
                json!({"worker": w.as_str(), "grids": grids})
            })
            .collect();
        Value::Array(workers)
    }

    fn geojson(&self) -> Value {
        let mut features = Vec::new();
        for (grid, g) in self.registry().grids.iter().enumerate() {
            let grid = grid as GridId;
            let mut props = self.grid_properties(grid);
            props.insert("kind".into(), json!("grid"));
            features.push(
                json!({"type": "Feature", "geometry": polygon_geometry(&g.polygon, Crs::Wgs84),
                                 "properties": props}),
            );
            let uncovered = self
                .assessor
                .coverage
                .uncovered_polygons(grid, self.team.get(&grid));
            if !uncovered.0.is_empty() {
                features.push(
                    json!({"type": "Feature", "geometry": polygon_geometry(&uncovered, Crs::Wgs84),
                                     "properties": {"kind": "uncovered", "code": g.code.as_str()}}),
                );
            }
        }
        json!({"type": "FeatureCollection", "features": features})
    }
}
