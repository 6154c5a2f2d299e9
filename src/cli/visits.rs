//! `gridbeat visits`: checkpoint visits and compliance per checkpoint, in-grid time and
//! out-of-grid episodes per worker, and rejected check-ins (DESIGN.md §4.5, §4.7, §4.9).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use super::round;
use crate::assess::period::{self as assess_period, Extent};
use crate::assess::{Assessor, Params, WorkerDay};
use crate::config::Config;
use crate::model::{format_timestamp, Crs, Month, Period};
use crate::track;
use crate::visits::Visit;

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
#[command(
    mut_args(super::tune("checkpoints", |a| {
        // Listed first here, as before the registry files were one group.
        a.required(true)
            .display_order(0)
            .help("The checkpoints (GeoJSON Point features, DESIGN.md §5.2)")
    })),
    mut_args(super::tune("grids", |a| {
        a.display_order(1).help("The grid registry (GeoJSON FeatureCollection, DESIGN.md §5.2)")
    })),
    mut_args(super::tune("workers", |a| {
        a.display_order(2).help("The workers CSV (worker,name,grid); without it, no in-grid figures per worker")
    })),
)]
pub struct VisitsArgs {
    /// The registry files (`--checkpoints` required here).
    #[command(flatten)]
    pub registry: super::RegistryFiles,
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
    /// Report bad ping rows and keep the good ones (without it a bad row fails the run); a
    /// run that keeps no ping still fails.
    #[arg(long)]
    pub keep_going: bool,
}

fn parse_month(s: &str) -> Result<Month, String> {
    s.parse()
}

/// The output formats of `gridbeat visits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VisitsFormat {
    /// One JSON object (see below).
    Json,
    /// One CSV row per checkpoint.
    Csv,
}

/// Runs `gridbeat visits`.
///
/// # Errors
/// When a file cannot be read, the registry is invalid (the message names each bad feature or
/// row), or no pings are found.
pub fn run(args: &VisitsArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let registry = args.registry.load(Crs::Wgs84, false)?;
    let assessor = Assessor::new(
        Arc::new(registry),
        Params::new(config.clone(), super::clean_mode(args.no_clean)),
    );
    let month = args.month.map(|m| m.period());
    let asked = month.or(super::period_of(None, args.from, args.to)?);
    let s = crate::batch::summarize_files(&assessor, &args.pings, args.crs, None, asked)?;
    super::check_rows(&s.errors, s.pings, args.keep_going)?;
    if s.workers.is_empty() && asked.is_none() {
        anyhow::bail!("no pings found in {}", super::file_list(&args.pings));
    }
    // --month, --from/--to (an end left open is closed by the days read), else the local
    // days the input spans.
    let period = assess_period::resolve_period(asked, || anyhow::Ok(Extent::Days(&s.days)))?;
    let doc = report(&assessor, &s.days, period);
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

fn report(assessor: &Assessor, days: &[WorkerDay], period: Option<Period>) -> Value {
    let registry = &assessor.registry;
    let grid_code = |g: Option<u32>| g.and_then(|g| registry.grid(g)).map(|g| g.code.as_str());
    let merged = assess_period::merged_visits(assessor, days);
    let figures = period.map(|p| assess_period::checkpoint_figures(assessor, &merged, p));
    let checkpoints: Vec<Value> = registry
        .checkpoints
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let f = figures.as_ref().and_then(|f| f.get(i));
            let vs: &[Visit] = f.map_or(&[], |f| f.visits.as_slice());
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
                "compliance": round(f.map_or(1.0, |f| f.compliance), 4),
            })
        })
        .collect();

    let in_days = |d: NaiveDate| period.is_some_and(|p| p.contains(d));
    let tz = assessor.tz;
    let totals = assess_period::worker_totals(days);
    let workers: Vec<Value> = totals
        .iter()
        .filter(|t| registry.worker(t.worker.as_str()).is_some())
        .map(|t| {
            let compliance = period
                .and_then(|p| assess_period::worker_compliance_over(assessor, &t.worker, &merged, p))
                .map(|c| round(c, 4));
            json!({
                "worker": t.worker.as_str(),
                "compliance": compliance,
                "days": t.days.iter().filter(|d| in_days(d.day) && d.accepted > 0).map(|d| json!({
                    "day": d.day.to_string(),
                    "grid_s": d.grid_s.iter().filter_map(|(&g, &s)| Some((grid_code(Some(g))?.to_string(), json!(round(s, 3))))).collect::<serde_json::Map<_, _>>(),
                    "outside_s": round(d.outside_s, 3),
                    "outside_assigned_s": round(d.outside_assigned_s, 3),
                    "in_assigned_s": round(d.in_assigned_s, 3),
                })).collect::<Vec<_>>(),
                "out_of_grid": t.days.iter().flat_map(|d| &d.out_of_grid).filter(|e| in_days(track::local_day(e.start, tz))).map(|e| json!({
                    "start": format_timestamp(e.start),
                    "end": format_timestamp(e.end),
                    "duration_s": round(e.duration_s(), 3),
                    "grid": grid_code(e.grid),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();

    let rejected: Vec<Value> = days
        .iter()
        .flat_map(|d| d.rejected_checkins.iter().map(move |c| (d.day, c)))
        .filter(|(day, _)| in_days(*day))
        .map(|(_, c)| {
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

    let period_json = match period {
        None => Value::Null,
        Some(p) => json!({"from": p.first.to_string(), "to": p.last.to_string(),
               "months": p.month_list().iter().map(|m| m.to_string()).collect::<Vec<_>>()}),
    };
    json!({
        "params": assessor.params.to_json(),
        "period": period_json,
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
    fn months_are_parsed() {
        let m = parse_month("2026-10").unwrap();
        assert_eq!(m.to_string(), "2026-10");
        assert!(parse_month("2026-13").is_err());
    }
}
