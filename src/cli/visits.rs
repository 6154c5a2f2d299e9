//! `gridbeat visits`: checkpoint visits and compliance per checkpoint, in-grid time and
//! out-of-grid episodes per worker, and rejected check-ins (DESIGN.md §4.5, §4.7, §4.9).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::config::Config;
use crate::ingest::read_file;
use crate::model::{format_timestamp, Crs, Ping, WorkerId};
use crate::registry::{LoadOptions, Registry, Source};
use crate::track::{self, CleanMode, TrackParams};
use crate::visits::{
    self, compliance, CheckpointIndex, GridDay, Month, OutOfGridEpisode, RejectedCheckin, Visit,
    VisitParams,
};

/// Arguments of `gridbeat visits`.
#[derive(Debug, Args)]
#[command(after_help = "\
A checkpoint is visited when a worker's accepted fixes stay within visit_radius_m (≤) of it \
for at least visit_min_s (last − first fix of a run of consecutive fixes, ≥ counts), or when a \
ping carrying a check-in for it lies within checkin_radius_m (≤); visits of one worker to one \
checkpoint with a gap shorter than visit_merge_s are one visit. A visit belongs to the local \
month and day of its start. Compliance per checkpoint is the mean over the months of the \
period of min(1, visits that month / visits_per_month), counting every worker's visits.

JSON: {params, period, checkpoints: [{code, name, grid, kind, required, visits: [{worker, \
start, end, via}], count, compliance}], workers: [{worker, compliance, days: [{day, grid_s, \
outside_s, outside_assigned_s}], out_of_grid: [{start, end, duration_s, grid}]}], \
rejected_checkins: [{worker, ts, checkpoint, reason, distance_m?}]}.
CSV: one row per checkpoint: code,name,grid,kind,required,count,compliance.")]
pub struct VisitsArgs {
    /// The checkpoints (GeoJSON Point features, DESIGN.md §5.2).
    #[arg(long, value_name = "FILE")]
    pub checkpoints: PathBuf,
    /// The grid registry (GeoJSON FeatureCollection, DESIGN.md §5.2).
    #[arg(long, value_name = "FILE")]
    pub grids: PathBuf,
    /// The workers CSV (worker,name,grid); without it, no in-grid figures per worker.
    #[arg(long, value_name = "FILE")]
    pub workers: Option<PathBuf>,
    /// Ping files: CSV or Parquet (GPX: one worker per file, named by the file's stem).
    #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
    pub pings: Vec<PathBuf>,
    /// Only this local month, YYYY-MM.
    #[arg(long, value_name = "YYYY-MM", value_parser = parse_month, conflicts_with_all = ["from", "to"])]
    pub month: Option<Month>,
    /// First local day of the period (default: the first day with pings).
    #[arg(long, value_name = "DATE")]
    pub from: Option<NaiveDate>,
    /// Last local day of the period, inclusive (default: the last day with pings).
    #[arg(long, value_name = "DATE")]
    pub to: Option<NaiveDate>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = VisitsFormat::Json)]
    pub format: VisitsFormat,
    /// Switch off the accuracy and speed gates (duplicates are still removed).
    #[arg(long)]
    pub no_clean: bool,
    /// The coordinate system of the pings.
    #[arg(long, default_value = "wgs84")]
    pub crs: Crs,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn parse_month(s: &str) -> Result<Month, String> {
    let day = super::parse_month(s).map_err(|e| e.to_string())?;
    Ok(Month::of(day))
}

/// The output formats of `gridbeat visits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VisitsFormat {
    /// One JSON object (see below).
    Json,
    /// One CSV row per checkpoint.
    Csv,
}

/// One worker's results.
struct WorkerResult {
    worker: WorkerId,
    visits: Vec<Visit>,
    rejected: Vec<RejectedCheckin>,
    days: Vec<GridDay>,
    episodes: Vec<OutOfGridEpisode>,
}

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))
}

/// Runs `gridbeat visits`.
///
/// # Errors
/// When a file cannot be read, the registry is invalid (the message names each bad feature or
/// row), or no pings are found.
pub fn run(args: &VisitsArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let grids_name = args.grids.display().to_string();
    let cps_name = args.checkpoints.display().to_string();
    let grids_text = read_text(&args.grids, "grids")?;
    let cps_text = read_text(&args.checkpoints, "checkpoints")?;
    let workers_name = args.workers.as_ref().map(|p| p.display().to_string());
    let workers_text = match &args.workers {
        Some(p) => Some(read_text(p, "workers")?),
        None => None,
    };
    let registry = Registry::from_sources(
        Source::new(&grids_name, &grids_text),
        workers_name
            .as_deref()
            .zip(workers_text.as_deref())
            .map(|(n, t)| Source::new(n, t)),
        Some(Source::new(&cps_name, &cps_text)),
        &LoadOptions::default(),
    )
    .context("invalid registry")?;
    for warning in &registry.warnings {
        eprintln!("warning: {warning}");
    }

    let mut by_worker: BTreeMap<WorkerId, Vec<Ping>> = BTreeMap::new();
    for path in &args.pings {
        let decoded = read_file(path, args.crs, None)?;
        for e in &decoded.errors {
            eprintln!("warning: skipped {e}");
        }
        for p in decoded.pings {
            by_worker.entry(p.worker.clone()).or_default().push(p);
        }
    }
    if by_worker.is_empty() {
        anyhow::bail!("no pings found in the input files");
    }

    let mode = if args.no_clean {
        CleanMode::DedupeOnly
    } else {
        CleanMode::Full
    };
    let track_params = TrackParams::from_config(config, mode);
    let params = VisitParams::from_config(config);
    let tz = params.timezone;
    let index = CheckpointIndex::new(&registry.checkpoints);
    let results: Vec<WorkerResult> = by_worker
        .into_par_iter()
        .map(|(worker, pings)| {
            let t = track::build(&pings, &track_params);
            let (visits, rejected) = visits::visits(&worker, &pings, &t, &index, &params);
            let (days, episodes) = match registry.worker(worker.as_str()) {
                Some(w) => {
                    let located = visits::locate_fixes(&t, &registry.index);
                    (
                        visits::grid_time(&t, &located, &w.grids, tz),
                        visits::out_of_grid_episodes(
                            &t,
                            &located,
                            &w.grids,
                            params.out_of_grid_min_s,
                        ),
                    )
                }
                None => (Vec::new(), Vec::new()),
            };
            WorkerResult {
                worker,
                visits,
                rejected,
                days,
                episodes,
            }
        })
        .collect();

    // The period: --month, --from/--to, else the local days the visits and tracks span.
    let (from, to) = period(args, &results, tz);
    let in_period = |ts: i64| (from..=to).contains(&track::local_day(ts, tz));
    let months = months_between(from, to);

    let doc = report(
        &registry,
        &results,
        &params,
        mode,
        (from, to),
        &months,
        &in_period,
    );
    let mut out = super::output(args.out.as_deref())?;
    match args.format {
        VisitsFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        VisitsFormat::Csv => write_csv(&mut out, &doc)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn period(
    args: &VisitsArgs,
    results: &[WorkerResult],
    tz: chrono_tz::Tz,
) -> (NaiveDate, NaiveDate) {
    if let Some(m) = args.month {
        let first = NaiveDate::from_ymd_opt(m.year, m.month, 1).unwrap_or_default();
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(first);
        return (first, next.pred_opt().unwrap_or(first));
    }
    let days = results.iter().flat_map(|r| {
        r.days
            .iter()
            .map(|d| d.day)
            .chain(r.visits.iter().map(|v| track::local_day(v.start, tz)))
    });
    let (lo, hi) = days.fold((NaiveDate::MAX, NaiveDate::MIN), |(lo, hi), d| {
        (lo.min(d), hi.max(d))
    });
    let lo = args.from.unwrap_or(if lo == NaiveDate::MAX {
        NaiveDate::MIN
    } else {
        lo
    });
    let hi = args.to.unwrap_or(if hi == NaiveDate::MIN {
        NaiveDate::MAX
    } else {
        hi
    });
    (lo, hi)
}

/// The months a period touches (at most 120, so an open period stays bounded).
fn months_between(from: NaiveDate, to: NaiveDate) -> Vec<Month> {
    let mut out = Vec::new();
    if from > to || from == NaiveDate::MIN || to == NaiveDate::MAX {
        return out;
    }
    let mut m = Month::of(from);
    let last = Month::of(to);
    while m <= last && out.len() < 120 {
        out.push(m);
        m = if m.month == 12 {
            Month {
                year: m.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: m.year,
                month: m.month + 1,
            }
        };
    }
    out
}

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// Mean per-month compliance over `months` given visit counts per month.
fn mean_compliance(counts: &BTreeMap<Month, usize>, required: u32, months: &[Month]) -> f64 {
    if months.is_empty() {
        return 1.0;
    }
    months
        .iter()
        .map(|m| compliance(counts.get(m).copied().unwrap_or(0), required))
        .sum::<f64>()
        / months.len() as f64
}

fn report(
    registry: &Registry,
    results: &[WorkerResult],
    params: &VisitParams,
    mode: CleanMode,
    (from, to): (NaiveDate, NaiveDate),
    months: &[Month],
    in_period: &dyn Fn(i64) -> bool,
) -> Value {
    let tz = params.timezone;
    let month_of = |ts: i64| Month::of(track::local_day(ts, tz));
    // Per checkpoint: its visits (any worker) in the period, by month.
    let mut per_cp: Vec<Vec<&Visit>> = vec![Vec::new(); registry.checkpoints.len()];
    for r in results {
        for v in r.visits.iter().filter(|v| in_period(v.start)) {
            per_cp[v.checkpoint].push(v);
        }
    }
    let checkpoints: Vec<Value> = registry
        .checkpoints
        .iter()
        .zip(&mut per_cp)
        .map(|(c, vs)| {
            vs.sort_by_key(|v| (v.start, v.worker.as_str()));
            let mut counts: BTreeMap<Month, usize> = BTreeMap::new();
            for v in vs.iter() {
                *counts.entry(month_of(v.start)).or_insert(0) += 1;
            }
            json!({
                "code": c.code,
                "name": c.name,
                "grid": registry.grid(c.grid).map(|g| g.code.as_str()),
                "kind": c.kind,
                "required": c.visits_per_month,
                "visits": vs.iter().map(|v| json!({
                    "worker": v.worker.as_str(),
                    "start": format_timestamp(v.start),
                    "end": format_timestamp(v.end),
                    "via": v.via.as_str(),
                })).collect::<Vec<_>>(),
                "count": vs.len(),
                "compliance": round(mean_compliance(&counts, c.visits_per_month, months), 4),
            })
        })
        .collect();

    let grid_code = |g: Option<u32>| g.and_then(|g| registry.grid(g)).map(|g| g.code.as_str());
    let workers: Vec<Value> = results
        .iter()
        .filter_map(|r| {
            let w = registry.worker(r.worker.as_str())?;
            // The worker's own visits per (checkpoint, month) against their grids' checkpoints.
            let mut counts: BTreeMap<(usize, Month), usize> = BTreeMap::new();
            for v in r.visits.iter().filter(|v| in_period(v.start)) {
                *counts.entry((v.checkpoint, month_of(v.start))).or_insert(0) += 1;
            }
            let own: Vec<f64> = registry
                .checkpoints
                .iter()
                .enumerate()
                .filter(|(_, c)| w.grids.contains(&c.grid))
                .map(|(i, c)| {
                    let by_month = months
                        .iter()
                        .map(|&m| (m, counts.get(&(i, m)).copied().unwrap_or(0)))
                        .collect();
                    mean_compliance(&by_month, c.visits_per_month, months)
                })
                .collect();
            let worker_compliance = (!own.is_empty()).then(|| round(own.iter().sum::<f64>() / own.len() as f64, 4));
            Some(json!({
                "worker": w.id.as_str(),
                "compliance": worker_compliance,
                "days": r.days.iter().filter(|d| (from..=to).contains(&d.day)).map(|d| json!({
                    "day": d.day.to_string(),
                    "grid_s": d.grid_s.iter().filter_map(|(&g, &s)| Some((grid_code(Some(g))?.to_string(), json!(round(s, 3))))).collect::<serde_json::Map<_, _>>(),
                    "outside_s": round(d.outside_s, 3),
                    "outside_assigned_s": round(d.outside_assigned_s, 3),
                })).collect::<Vec<_>>(),
                "out_of_grid": r.episodes.iter().filter(|e| in_period(e.start)).map(|e| json!({
                    "start": format_timestamp(e.start),
                    "end": format_timestamp(e.end),
                    "duration_s": round(e.duration_s(), 3),
                    "grid": grid_code(e.grid),
                })).collect::<Vec<_>>(),
            }))
        })
        .collect();

    let rejected: Vec<Value> = results
        .iter()
        .flat_map(|r| r.rejected.iter())
        .filter(|c| in_period(c.ts))
        .map(|c| {
            let mut v = serde_json::to_value(c).unwrap_or_else(|_| json!({}));
            if let Value::Object(m) = &mut v {
                m.insert("ts".into(), json!(format_timestamp(c.ts)));
                if let Some(d) = m.get("distance_m").and_then(Value::as_f64) {
                    m.insert("distance_m".into(), json!(round(d, 1)));
                }
            }
            v
        })
        .collect();

    let period = if months.is_empty() {
        Value::Null
    } else {
        json!({"from": from.to_string(), "to": to.to_string(),
               "months": months.iter().map(|m| m.to_string()).collect::<Vec<_>>()})
    };
    json!({
        "params": {"visits": params, "clean": mode == CleanMode::Full},
        "period": period,
        "checkpoints": checkpoints,
        "workers": workers,
        "rejected_checkins": rejected,
    })
}

fn write_csv(out: &mut dyn Write, doc: &Value) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "code",
        "name",
        "grid",
        "kind",
        "required",
        "count",
        "compliance",
    ])?;
    for c in doc["checkpoints"].as_array().into_iter().flatten() {
        let field = |k: &str| match &c[k] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        w.write_record([
            field("code"),
            field("name"),
            field("grid"),
            field("kind"),
            field("required"),
            field("count"),
            field("compliance"),
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_parsed_and_listed() {
        let m = parse_month("2026-10").unwrap();
        assert_eq!(m.to_string(), "2026-10");
        assert!(parse_month("2026-13").is_err());
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let ms: Vec<String> = months_between(d("2026-11-20"), d("2027-01-03"))
            .iter()
            .map(|m| m.to_string())
            .collect();
        assert_eq!(ms, ["2026-11", "2026-12", "2027-01"]);
    }
}
