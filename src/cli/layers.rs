//! `gridbeat layers`: one map layer as GeoJSON from files — the batch door of the layers the
//! service serves at `/api/v1/layers/{layer}`, built by the same [`crate::layers::build`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::Args;

use crate::assess::{Assessor, Params, WorkerDay};
use crate::config::Config;
use crate::coverage::GridCoverage;
use crate::layers::{self, Everything, Extras, Filter, Layer};
use crate::model::Position;
use crate::model::{Crs, Period, UnixMs};

/// Arguments of `gridbeat layers`.
#[derive(Debug, Args)]
#[command(after_help = "\
Layers: grids, units, tracks, coverage, stays, visits, checkpoints, positions, heat, routes, \
vehicle_tracks (see the module documentation of `layers` and docs/layers.md for their \
properties). The routes and vehicle_tracks layers need --vehicles, --routes and \
--vehicle-pings (worker pings are then optional); vehicle-days are computed as the service \
computes them, and vehicles appear among the positions. Output is \
an RFC 7946 FeatureCollection: lon/lat in the --crs given, 6 decimals, a `bbox` and a \
`gridbeat` member with the layer, CRS and period. Positions are each worker's latest readable \
ping in the files (within the period and a day on either side); their age is taken at --now.")]
#[command(
    mut_args(super::tune("workers", |a| a.required_unless_present_any(["lake", "vehicles"]))),
    mut_args(super::tune("grids", |a| a.required(false).required_unless_present("lake"))),
    mut_args(super::tune("checkpoints", |a| {
        a.help("Checkpoints (GeoJSON points), for the visits and checkpoints layers")
    })),
)]
pub struct LayersArgs {
    /// The layer: grids, units, tracks, coverage, stays, visits, checkpoints, positions, heat,
    /// routes, vehicle_tracks.
    #[arg(value_name = "LAYER", value_parser = parse_layer)]
    pub layer: Layer,
    /// Ping files or glob patterns (CSV, Parquet or GPX).
    #[arg(required_unless_present_any = ["lake", "vehicles"], num_args = 1.., value_name = "PINGS")]
    pub pings: Vec<String>,
    /// A history lake instead of ping files: the `--month`'s worker_days (summarised again
    /// where stale, as `report --lake` does), with the lake's registry and `gridbeat.toml`.
    /// Positions need pings: the positions layer of a lake is empty.
    #[arg(long, value_name = "DIR", requires = "month", conflicts_with_all = ["pings", "grids", "workers", "checkpoints", "streets", "vehicles"])]
    pub lake: Option<PathBuf>,
    /// The registry files (`--workers` required here).
    #[command(flatten)]
    pub registry: super::RegistryFiles,
    /// The vehicles, their routes and pings: the routes and vehicle_tracks layers.
    #[command(flatten)]
    pub vehicles: super::vehicles::VehicleFiles,
    /// A street network (GeoJSON LineStrings): each grid's attainable coverage.
    #[arg(long, value_name = "FILE")]
    pub streets: Option<PathBuf>,
    /// The period: `--month`, or `--from`/`--to` (or `--day`).
    #[command(flatten)]
    pub period: super::DayPeriod,
    /// Only this local day, YYYY-MM-DD.
    #[arg(long, value_name = "DATE", conflicts_with_all = ["month", "from", "to"])]
    pub day: Option<NaiveDate>,
    /// Only grids in this unit's subtree and the workers assigned there.
    #[arg(long, value_name = "CODE")]
    pub unit: Option<String>,
    /// Only this worker.
    #[arg(long, value_name = "ID")]
    pub worker: Option<String>,
    /// Only features intersecting w,s,e,n (degrees, in the output CRS).
    #[arg(long, value_name = "W,S,E,N", value_parser = parse_bbox, allow_hyphen_values = true)]
    pub bbox: Option<[f64; 4]>,
    /// The CRS of the output: wgs84, gcj02 or bd09.
    #[arg(long, value_name = "CRS", default_value = "wgs84")]
    pub crs: Crs,
    /// The CRS of the pings and registry files.
    #[arg(long, value_name = "CRS", default_value = "wgs84")]
    pub input_crs: Crs,
    /// Simplify tracks with this tolerance, metres (0 to 10000).
    #[arg(long, value_name = "M", conflicts_with = "zoom")]
    pub simplify_m: Option<f64>,
    /// Simplify tracks to about one pixel at this web-map zoom (0 to 24).
    #[arg(long, value_name = "Z")]
    pub zoom: Option<f64>,
    /// Heat cell size, metres (5 to 10000; default 50).
    #[arg(long, value_name = "M")]
    pub cell_m: Option<f64>,
    /// The present instant for the positions' ages (RFC 3339; default: now).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Switch off the accuracy and speed gates (duplicates are still removed).
    #[arg(long)]
    pub no_clean: bool,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Report bad ping rows and keep the good ones (without it a bad row fails the run); a
    /// run that keeps no ping still fails.
    #[arg(long)]
    pub keep_going: bool,
}

fn parse_layer(s: &str) -> Result<Layer, String> {
    Layer::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Layer::ALL.iter().map(|l| l.name()).collect();
        format!("unknown layer {s:?}: expected one of {}", names.join(", "))
    })
}

/// Parses `w,s,e,n`.
///
/// # Errors
/// When there are not four numbers.
pub fn parse_bbox(s: &str) -> Result<[f64; 4], String> {
    let parts: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("bbox {s:?}: expected four numbers w,s,e,n"))?;
    <[f64; 4]>::try_from(parts).map_err(|_| format!("bbox {s:?}: expected four numbers w,s,e,n"))
}

/// Each worker's latest readable ping as a layer position.
pub fn positions(latest: &[crate::model::Ping]) -> Vec<Position> {
    latest.iter().map(Position::from).collect()
}

/// Each worker's score in the month the period lies in (the period asked for, else the days'
/// span: [`crate::assess::period::resolve_period`]), from the monthly assessment the report
/// runs; `None` when the period spans several months, as in the HTTP door.
///
/// # Errors
/// When the assessment fails.
#[cfg(feature = "assess")]
pub fn scores(
    assessor: &Assessor,
    days: &[WorkerDay],
    period: Option<Period>,
    attainable: Option<&GridCoverage>,
) -> anyhow::Result<Option<BTreeMap<String, f64>>> {
    use crate::assess::month::{assess_month, MonthInput};
    use crate::assess::period::{resolve_period, Extent};
    let Some(month) =
        resolve_period(period, || anyhow::Ok(Extent::Days(days)))?.and_then(layers::score_month)
    else {
        return Ok(None);
    };
    let report = assess_month(
        days,
        &MonthInput {
            assessor,
            month,
            attainable,
            unit: None,
            generated_at: String::new(),
        },
    )?;
    Ok(Some(report.scores()))
}

/// Without the `assess` feature there is no assessment, so no scores.
///
/// # Errors
/// Never.
#[cfg(not(feature = "assess"))]
pub fn scores(
    _assessor: &Assessor,
    _days: &[WorkerDay],
    _period: Option<Period>,
    _attainable: Option<&GridCoverage>,
) -> anyhow::Result<Option<BTreeMap<String, f64>>> {
    Ok(None)
}

/// Runs `gridbeat layers`.
///
/// # Errors
/// When an input cannot be read, the registry is invalid, or the filter names an unknown unit
/// or worker or is malformed; bad ping rows are reported and skipped.
pub fn run(
    args: &LayersArgs,
    config: &Config,
    global: &super::GlobalArgs,
) -> anyhow::Result<ExitCode> {
    // The period asked for goes into the filter as it is: none shows every day of the files
    // (`"period": null`); what needs one period (scores, checkpoint compliance) resolves it
    // from the files' days (`assess::period::resolve_period`).
    let period = match args.day {
        Some(d) => Some(Period::day(d)),
        None => args.period.period()?,
    };
    let now_ms: UnixMs = match &args.now {
        Some(t) => crate::model::parse_timestamp(t).with_context(|| format!("--now {t}"))?,
        None => chrono::Utc::now().timestamp_millis(),
    };
    let (assessor, days, latest) = match &args.lake {
        Some(dir) => {
            let lake = crate::lake::Lake::open(dir)?;
            let config = super::lake::lake_config(global, dir)?;
            let assessor = super::lake::lake_assessor(&lake, &config)?;
            let Some(month) = period.map(|p| crate::model::Month::of(p.first)) else {
                bail!("--lake needs --month YYYY-MM");
            };
            let days = crate::lake::ops::month_days(&lake, &assessor, month, &mut |line| {
                eprintln!("{line}")
            })?;
            (assessor, days, Vec::new())
        }
        None => {
            let registry = args.registry.load(args.input_crs, false)?;
            let assessor = Assessor::new(
                Arc::new(registry),
                Params::new(config.clone(), super::clean_mode(args.no_clean)),
            );
            if args.pings.is_empty() {
                // Vehicles only (`--vehicles` without worker pings).
                (assessor, Vec::new(), Vec::new())
            } else {
                let paths = super::expand_globs(&args.pings)?;
                let s =
                    crate::batch::summarize_files(&assessor, &paths, args.input_crs, None, period)?;
                super::check_rows(&s.errors, s.pings, args.keep_going)?;
                if s.workers.is_empty() {
                    bail!("no pings found in {}", super::file_list(&paths));
                }
                (assessor, s.days, s.latest)
            }
        }
    };
    let vehicles = args.vehicles.read(
        &assessor.registry,
        args.input_crs,
        period,
        assessor.tz,
        &config.route,
        args.keep_going,
    )?;
    let attainable = match &args.streets {
        Some(path) => Some(super::coverage::street_coverage(&assessor, path)?),
        None => None,
    };
    let scores = scores(&assessor, &days, period, attainable.as_ref())?;
    let mut positions = positions(&latest);
    // Each vehicle's latest ping, among the positions.
    if let Some(v) = &vehicles {
        let mut latest: BTreeMap<&str, &crate::model::Ping> = BTreeMap::new();
        for p in &v.pings {
            let e = latest.entry(p.worker.as_str()).or_insert(p);
            if p.ts > e.ts {
                *e = p;
            }
        }
        positions.extend(latest.into_values().map(Position::from));
    }
    let extras = Extras {
        attainable: attainable.as_ref(),
        scores: scores.as_ref(),
        positions: &positions,
        now_ms,
        fleet: vehicles.as_ref().map(|v| &v.fleet),
        vehicle_days: vehicles.as_ref().map_or(&[], |v| &v.days),
        vehicle_pings: vehicles.as_ref().map_or(&[], |v| &v.pings),
        route: config.route,
    };
    let filter = Filter {
        bbox: args.bbox,
        period,
        unit: args.unit.clone(),
        worker: args.worker.clone(),
        crs: args.crs,
        simplify_m: args.simplify_m,
        zoom: args.zoom,
        cell_m: args.cell_m,
    };
    let doc = layers::build(args.layer, &assessor, &days, &extras, &filter, &Everything)
        .with_context(|| format!("layer {}", args.layer))?;
    super::write_json(&doc, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
