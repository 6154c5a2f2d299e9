//! `gridbeat tracks`: clean tracks, lengths, patrol time, stays and anomaly flags per worker,
//! from CSV, Parquet or GPX files, as JSON or GeoJSON.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use crate::anomaly::{self, Anomaly, AnomalyParams};
use crate::config::Config;
use crate::ingest::{read_file, RecordError};
use crate::model::{format_timestamp, Crs, Ping, WorkerId};
use crate::track::{self, CleanMode, DaySummary, DropCounts, Track, TrackParams};

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
    /// Make an unreadable row fatal instead of reporting and skipping it.
    #[arg(long)]
    pub strict: bool,
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
    /// A FeatureCollection: simplified segments per worker-day and stays as points.
    Geojson,
}

/// Runs `gridbeat tracks`.
///
/// # Errors
/// When a file cannot be read, or (with `--strict`) holds a bad row; messages name the file
/// and line.
pub fn run(args: &TracksArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let (by_worker, errors) = read_inputs(args)?;
    for e in &errors {
        eprintln!("warning: skipped {e}");
    }
    if args.strict && !errors.is_empty() {
        anyhow::bail!(
            "{} unreadable record(s) (see above); without --strict they are skipped",
            errors.len()
        );
    }
    if by_worker.is_empty() {
        match &args.worker {
            Some(w) => anyhow::bail!("no pings of worker {w:?} in the input files"),
            None => anyhow::bail!("no pings found in the input files"),
        }
    }
    let mode = if args.no_clean {
        CleanMode::DedupeOnly
    } else {
        CleanMode::Full
    };
    let params = TrackParams::from_config(config, mode);
    let anomaly_params = AnomalyParams::from_config(config);
    let tz = config.tz();
    let tracks: Vec<WorkerTrack> = by_worker
        .into_par_iter()
        .map(|(worker, pings)| {
            let track = track::build(&pings, &params);
            let (anomalies, _) = anomaly::detect(&pings, &track, &[], &anomaly_params, tz);
            WorkerTrack {
                worker,
                track,
                anomalies,
            }
        })
        .collect();

    let doc = match args.format {
        TracksFormat::Json => tracks_json(&tracks, config, mode),
        TracksFormat::Geojson => tracks_geojson(&tracks, config),
    };
    super::write_json(&doc, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// Each worker's pings, in input order.
pub(crate) type PingsByWorker = BTreeMap<WorkerId, Vec<Ping>>;

/// Reads every input file and groups the pings by worker.
fn read_inputs(args: &TracksArgs) -> anyhow::Result<(PingsByWorker, Vec<RecordError>)> {
    read_pings_by_worker(&args.pings, args.crs, args.worker.as_deref())
}

/// Reads ping files and groups the pings by worker, keeping only `worker` when given (which
/// also names the worker of GPX files). Workers named only by bad rows still appear (with no
/// pings), so they are reported with zeros.
pub(crate) fn read_pings_by_worker(
    paths: &[PathBuf],
    crs: Crs,
    worker: Option<&str>,
) -> anyhow::Result<(PingsByWorker, Vec<RecordError>)> {
    let mut by_worker = PingsByWorker::new();
    let mut errors = Vec::new();
    for path in paths {
        let decoded = read_file(path, crs, worker)?;
        if decoded.pings.is_empty() && decoded.errors.is_empty() {
            eprintln!("warning: {} holds no pings", path.display());
        }
        let wanted = |w: &str| worker.is_none_or(|only| only == w);
        for p in decoded.pings {
            if wanted(p.worker.as_str()) {
                by_worker.entry(p.worker.clone()).or_default().push(p);
            }
        }
        for e in decoded.errors {
            if let Some(w) = e.worker.as_deref().filter(|w| wanted(w)) {
                by_worker.entry(WorkerId::new(w)).or_default();
            }
            errors.push(e);
        }
    }
    Ok((by_worker, errors))
}

/// One worker's results.
struct WorkerTrack {
    worker: WorkerId,
    track: Track,
    anomalies: Vec<Anomaly>,
}

/// The effective parameters as reports record them: the whole config plus the cleaning mode.
fn params_json(config: &Config, mode: CleanMode) -> Value {
    let mut v = serde_json::to_value(config).unwrap_or_else(|_| json!({}));
    if let Value::Object(m) = &mut v {
        m.insert("clean".into(), json!(mode == CleanMode::Full));
    }
    v
}

/// Rounds to a fixed number of decimals for output.
pub(crate) fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

#[derive(Serialize)]
struct WorkerOut<'a> {
    worker: &'a str,
    pings: usize,
    accepted: usize,
    dropped: DropCounts,
    segments: usize,
    length_m: f64,
    patrol_s: f64,
    stays: Vec<Value>,
    anomalies: Vec<Value>,
    days: Vec<Value>,
}

fn day_json(d: &DaySummary) -> Value {
    json!({
        "day": d.day.to_string(),
        "length_m": round(d.length_m, 1),
        "patrol_s": round(d.patrol_s, 3),
        "segments": d.segments,
        "stays": d.stays,
        "fixes": d.fixes,
    })
}

fn tracks_json(tracks: &[WorkerTrack], config: &Config, mode: CleanMode) -> Value {
    let workers: Vec<WorkerOut> = tracks
        .iter()
        .map(
            |WorkerTrack {
                 worker,
                 track: t,
                 anomalies,
             }| WorkerOut {
                worker: worker.as_str(),
                pings: t.pings,
                accepted: t.fixes().len(),
                dropped: t.cleaned.dropped,
                segments: t.segments.len(),
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
                anomalies: anomalies
                    .iter()
                    .filter_map(|a| serde_json::to_value(a).ok())
                    .collect(),
                days: t.days.iter().map(day_json).collect(),
            },
        )
        .collect();
    json!({"params": params_json(config, mode), "workers": workers})
}

fn tracks_geojson(tracks: &[WorkerTrack], config: &Config) -> Value {
    let tz = config.tz();
    let mut features = Vec::new();
    for WorkerTrack {
        worker: w,
        track: t,
        ..
    } in tracks
    {
        let fixes = t.fixes();
        // One MultiLineString per worker-day: each segment's simplified pieces, cut where a
        // step's first fix falls on another local day.
        let mut lines_by_day: BTreeMap<chrono::NaiveDate, Vec<Vec<[f64; 2]>>> = BTreeMap::new();
        for seg in &t.segments {
            let run = &fixes[seg.clone()];
            let kept = track::simplify(run, config.simplify_tolerance_m);
            let mut current: Option<(chrono::NaiveDate, Vec<[f64; 2]>)> = None;
            for (n, &k) in kept.iter().enumerate() {
                let f = &run[k];
                let day = track::local_day(f.ts, tz);
                let pos = [round(f.lon, 7), round(f.lat, 7)];
                match &mut current {
                    Some((d, line)) if *d == day => line.push(pos),
                    _ => {
                        if let Some((d, mut line)) = current.take() {
                            // The step into the new day belongs to the old day: end it here.
                            line.push(pos);
                            lines_by_day.entry(d).or_default().push(line);
                        }
                        current = Some((day, vec![pos]));
                    }
                }
                if n + 1 == kept.len() {
                    if let Some((d, line)) = current.take() {
                        lines_by_day.entry(d).or_default().push(line);
                    }
                }
            }
        }
        for d in &t.days {
            let lines: Vec<Vec<[f64; 2]>> = lines_by_day
                .remove(&d.day)
                .unwrap_or_default()
                .into_iter()
                .filter(|l| l.len() >= 2)
                .collect();
            features.push(json!({
                "type": "Feature",
                "geometry": if lines.is_empty() { Value::Null } else { json!({"type": "MultiLineString", "coordinates": lines}) },
                "properties": {"kind": "track", "worker": w.as_str(), "day": d.day.to_string(),
                               "length_m": round(d.length_m, 1), "patrol_s": round(d.patrol_s, 3)},
            }));
        }
        for s in &t.stays {
            features.push(json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(s.lon, 7), round(s.lat, 7)]},
                "properties": {"kind": "stay", "worker": w.as_str(),
                               "day": track::local_day(s.start, tz).to_string(),
                               "start": format_timestamp(s.start), "end": format_timestamp(s.end),
                               "duration_s": s.duration_s(), "pings": s.pings},
            }));
        }
    }
    json!({"type": "FeatureCollection", "features": features})
}
