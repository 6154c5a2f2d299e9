//! `gridbeat tracks`: clean tracks, lengths, patrol time, stays and anomaly flags per worker,
//! from CSV, Parquet or GPX files, as JSON or GeoJSON.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::{json, Value};

use super::round;
use crate::assess::period::{self, WorkerTotals};
use crate::assess::{Assessor, Params, WorkerDay};
use crate::config::Config;
use crate::layers::round_coord;
use crate::model::{format_timestamp, Crs, WorkerId};
use crate::track::{self, DropCounts};

/// Arguments of `gridbeat tracks`.
#[derive(Debug, Args)]
pub struct TracksArgs {
    /// Ping files: CSV or Parquet (columns worker|worker_id, ts, lat, lon, optional acc, speed,
    /// mock, checkin) or GPX (one worker per file, named by --worker or the file's stem).
    #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
    pub pings: Vec<PathBuf>,
    /// Only this worker (and the name of the worker in GPX files).
    #[arg(long, value_name = "ID")]
    pub worker: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TracksFormat::Json)]
    pub format: TracksFormat,
    /// Switch off the accuracy and speed gates (duplicates are still removed).
    #[arg(long)]
    pub no_clean: bool,
    /// Make an unreadable row fatal (the default; kept for older scripts).
    #[arg(long, conflicts_with = "keep_going")]
    pub strict: bool,
    /// Report bad rows and keep the good ones; a run that keeps no row still fails.
    #[arg(long)]
    pub keep_going: bool,
    /// The coordinate system of the input.
    #[arg(long, default_value = "wgs84")]
    pub crs: Crs,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The output formats of `gridbeat tracks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TracksFormat {
    /// One JSON object with the parameters and a summary per worker.
    Json,
    /// A FeatureCollection: per worker-day the simplified segments (`walk`) and the gaps
    /// between them (`gap`), as the tracks layer writes them, and stays as points.
    Geojson,
}

/// Runs `gridbeat tracks`.
///
/// # Errors
/// When a file cannot be read, or holds a bad row (without `--keep-going`), or holds no good
/// row; messages name the file and line.
pub fn run(args: &TracksArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let assessor = Assessor::without_registry(Params::new(
        config.clone(),
        super::clean_mode(args.no_clean),
    ));
    let s = crate::batch::summarize_files(
        &assessor,
        &args.pings,
        args.crs,
        args.worker.as_deref(),
        None,
    )?;
    super::check_rows(&s.errors, s.pings, args.keep_going && !args.strict)?;
    if s.workers.is_empty() {
        match &args.worker {
            Some(w) => anyhow::bail!("no pings of worker {w:?} in the input files"),
            None => anyhow::bail!("no pings found in {}", super::file_list(&args.pings)),
        }
    }
    eprintln!("{}", super::repeats_line(&s));
    let totals = period::worker_totals(&s.days);
    let doc = match args.format {
        TracksFormat::Json => tracks_json(&s.workers, &totals, &assessor),
        TracksFormat::Geojson => tracks_geojson(&totals, &assessor)?,
    };
    super::write_json(&doc, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct WorkerOut<'a> {
    worker: &'a str,
    pings: u64,
    accepted: u64,
    dropped: DropCounts,
    segments: u64,
    length_m: f64,
    patrol_s: f64,
    stays: Vec<Value>,
    anomalies: Vec<Value>,
    days: Vec<Value>,
}

fn day_json(d: &WorkerDay) -> Value {
    json!({
        "day": d.day.to_string(),
        "length_m": round(d.length_m, 1),
        "patrol_s": round(d.patrol_s, 3),
        "segments": d.segments,
        "stays": d.stays.len(),
        "fixes": d.accepted,
    })
}

fn tracks_json(workers: &[WorkerId], totals: &[WorkerTotals<'_>], assessor: &Assessor) -> Value {
    let out: Vec<WorkerOut> = workers
        .iter()
        .map(|w| match totals.iter().find(|t| &t.worker == w) {
            Some(t) => WorkerOut {
                worker: w.as_str(),
                pings: t.pings,
                accepted: t.accepted,
                dropped: t.dropped,
                segments: t.segments,
                length_m: round(t.length_m, 1),
                patrol_s: round(t.patrol_s, 3),
                stays: t
                    .stays
                    .iter()
                    .map(|s| {
                        json!({"start": format_timestamp(s.start), "end": format_timestamp(s.end),
                           "lat": round(s.lat, 7), "lon": round(s.lon, 7), "pings": s.pings})
                    })
                    .collect(),
                anomalies: t
                    .anomalies
                    .iter()
                    .filter_map(|a| serde_json::to_value(a).ok())
                    .collect(),
                days: t.days.iter().map(|d| day_json(d)).collect(),
            },
            None => WorkerOut {
                worker: w.as_str(),
                pings: 0,
                accepted: 0,
                dropped: DropCounts::default(),
                segments: 0,
                length_m: 0.0,
                patrol_s: 0.0,
                stays: Vec::new(),
                anomalies: Vec::new(),
                days: Vec::new(),
            },
        })
        .collect();
    json!({"params": assessor.params.to_json(), "workers": out})
}

/// The tracks as a FeatureCollection: each worker-day's walk and gaps as the tracks layer
/// writes them ([`crate::layers::track_geojson`]), and the stays as points.
fn tracks_geojson(
    totals: &[WorkerTotals<'_>],
    assessor: &Assessor,
) -> Result<Value, crate::layers::LayerError> {
    let tz = assessor.tz;
    let mut features = Vec::new();
    for t in totals {
        let w = t.worker.as_str();
        // Per worker-day the layers' `walk` (the simplified segments) and its `gap`s.
        for d in &t.days {
            let day = crate::layers::track_geojson(assessor, d, &crate::layers::Filter::default())?;
            if let Some(fs) = day.get("features").and_then(Value::as_array) {
                features.extend(fs.iter().cloned());
            }
        }
        for s in &t.stays {
            features.push(json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round_coord(s.lon), round_coord(s.lat)]},
                "properties": {"kind": "stay", "worker": w,
                               "day": track::local_day(s.start, tz).to_string(),
                               "start": format_timestamp(s.start), "end": format_timestamp(s.end),
                               "duration_s": s.duration_s(), "pings": s.pings},
            }));
        }
    }
    Ok(json!({"type": "FeatureCollection", "features": features}))
}
