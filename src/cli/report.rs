//! `gridbeat report`: the batch door. Reads a month (or several) of pings from CSV/Parquet,
//! summarises every worker-day with the engine, assesses each month (polars), and writes the
//! report as JSON, CSV, XLSX and HTML — the same figures the service gives.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use chrono::{Datelike, NaiveDate};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde_json::json;

use super::{load_registry, parse_month};
use crate::assess::month::{assess_month, MonthInput};
use crate::assess::{Assessor, WorkerDay};
use crate::batch::{read_pings, Period};
use crate::config::Config;
use crate::coverage::GridCoverage;
use crate::model::Crs;
use crate::report::{self, Format, Lang, Report};
use crate::track::days::local_midnight_ms;
use crate::track::CleanMode;

/// Arguments of `gridbeat report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The grid hierarchy (GeoJSON).
    #[arg(long, value_name = "FILE")]
    pub grids: PathBuf,
    /// Worker assignments (CSV: worker,name,grid).
    #[arg(long, value_name = "FILE")]
    pub workers: PathBuf,
    /// Checkpoints (GeoJSON points) for visits and compliance.
    #[arg(long, value_name = "FILE")]
    pub checkpoints: Option<PathBuf>,
    /// A street network (GeoJSON LineStrings): adds each grid's attainable coverage.
    #[arg(long, value_name = "FILE")]
    pub streets: Option<PathBuf>,
    /// Ping files or glob patterns (CSV or Parquet), e.g. 'pings/*.parquet'.
    #[arg(long, required = true, num_args = 1.., value_name = "FILE_OR_GLOB")]
    pub pings: Vec<String>,
    /// The month to assess (local calendar month of the config's time zone).
    #[arg(long, value_name = "YYYY-MM", conflicts_with_all = ["from", "to"])]
    pub month: Option<String>,
    /// First month of a historical batch: one report per month plus a trend table.
    #[arg(long, value_name = "YYYY-MM", requires = "to")]
    pub from: Option<String>,
    /// Last month of a historical batch (inclusive).
    #[arg(long, value_name = "YYYY-MM", requires = "from")]
    pub to: Option<String>,
    /// Where to write the report (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Formats to write, comma-separated: json, csv, xlsx, html (or all).
    #[arg(long, default_value = "json,csv,xlsx,html")]
    pub format: String,
    /// Restrict the report to one unit's subtree (a community, street or district code).
    #[arg(long, value_name = "CODE")]
    pub unit: Option<String>,
    /// Language of the CSV/XLSX/HTML labels.
    #[arg(long, default_value = "zh")]
    pub lang: Lang,
    /// Switch off the accuracy and speed gates (duplicates are still removed).
    #[arg(long)]
    pub no_clean: bool,
    /// The coordinate system of the pings and registry files.
    #[arg(long, default_value = "wgs84")]
    pub crs: Crs,
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
}

/// Expands glob patterns (a plain path is kept as it is, so a missing file is reported by name).
fn expand(patterns: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in patterns {
        if p.contains(['*', '?', '[']) {
            let matches: Vec<PathBuf> = glob::glob(p)
                .with_context(|| format!("--pings {p:?}: not a valid glob pattern"))?
                .filter_map(Result::ok)
                .collect();
            if matches.is_empty() {
                bail!("--pings {p:?}: no file matches");
            }
            out.extend(matches);
        } else {
            out.push(PathBuf::from(p));
        }
    }
    Ok(out)
}

/// Runs `gridbeat report`.
///
/// # Errors
/// When an input cannot be read or the output cannot be written; bad rows are reported and
/// skipped.
pub fn run(args: &ReportArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let months: Vec<NaiveDate> = match (&args.month, &args.from, &args.to) {
        (Some(m), _, _) => vec![parse_month(m)?],
        (None, Some(f), Some(t)) => {
            let (mut m, last) = (parse_month(f)?, parse_month(t)?);
            if last < m {
                bail!("--to {t} is before --from {f}");
            }
            let mut v = Vec::new();
            while m <= last {
                v.push(m);
                m = next_month(m);
            }
            v
        }
        _ => bail!("give --month YYYY-MM, or --from YYYY-MM --to YYYY-MM"),
    };
    let formats =
        Format::parse_list(&args.format).with_context(|| format!("--format {}", args.format))?;
    let tz = config.tz();
    let start = *months.first().context("no month")?;
    let end = next_month(*months.last().context("no month")?);
    let period = Period {
        from: local_midnight_ms(start, tz).context("month start")?,
        to: local_midnight_ms(end, tz).context("month end")?,
    };

    let registry = load_registry(
        &args.grids,
        Some(&args.workers),
        args.checkpoints.as_deref(),
        args.crs,
        false,
    )?;
    let paths = expand(&args.pings)?;
    let table = read_pings(&paths, Some(period), args.crs)?;
    for e in table.errors.iter().take(20) {
        eprintln!("warning: skipped {e}");
    }
    if table.errors.len() > 20 {
        eprintln!(
            "warning: … and {} more unreadable rows",
            table.errors.len() - 20
        );
    }
    let mode = if args.no_clean {
        CleanMode::DedupeOnly
    } else {
        CleanMode::Full
    };
    let assessor = Assessor::new(&registry, config, mode);

    let attainable = match &args.streets {
        Some(path) => {
            let mut cov = GridCoverage::new();
            for (_, line) in super::coverage::read_lines(path)? {
                assessor.coverage.cover_polyline(&line, &mut cov);
            }
            Some(cov)
        }
        None => None,
    };

    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(table.workers.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} workers {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.set_prefix("summarising");
        b
    } else {
        ProgressBar::hidden()
    };
    let days: Vec<WorkerDay> = (0..table.workers.len())
        .into_par_iter()
        .map(|w| {
            let pings = table.pings(w);
            let d = assessor.summarize_worker(&table.workers[w], &pings);
            bar.inc(1);
            d
        })
        .flatten()
        .collect();
    bar.finish_and_clear();

    let mut params = serde_json::to_value(config).unwrap_or_else(|_| json!({}));
    if let Some(m) = params.as_object_mut() {
        m.insert("clean".into(), json!(!args.no_clean));
    }
    let mut reports: Vec<Report> = Vec::new();
    for &m in &months {
        let month_days: Vec<WorkerDay> = days
            .iter()
            .filter(|d| d.day.year() == m.year() && d.day.month() == m.month())
            .cloned()
            .collect();
        let report = assess_month(
            &month_days,
            &MonthInput {
                assessor: &assessor,
                config,
                month: m,
                attainable: attainable.as_ref(),
                unit: args.unit.as_deref(),
                params: params.clone(),
                generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            },
        )?;
        let dir = if months.len() == 1 {
            args.out.clone()
        } else {
            args.out.join(&report.month)
        };
        let written = report::write_all(&report, &dir, &formats, args.lang)?;
        println!(
            "{}: {} workers, {} grids, {} units → {}",
            report.month,
            report.workers.len(),
            report.grids.len(),
            report.units.len(),
            written
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        reports.push(report);
    }
    if reports.len() > 1 {
        let path = write_trend(&reports, &args.out)?;
        println!("trend: {}", path.display());
    }
    println!(
        "{} pings of {} workers read ({} rows scanned, {} unreadable)",
        table.len(),
        table.workers.len(),
        table.rows_scanned,
        table.errors.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// One worker-month of the trend table: score, coverage, patrol hours.
type TrendCell = (f64, f64, f64);

/// Writes `trend.csv` (UTF-8 with BOM): one row per worker, score / coverage / patrol hours
/// per month.
fn write_trend(reports: &[Report], out: &Path) -> anyhow::Result<PathBuf> {
    let mut rows: BTreeMap<(String, String), Vec<Option<TrendCell>>> = BTreeMap::new();
    for (i, r) in reports.iter().enumerate() {
        for w in &r.workers {
            rows.entry((w.worker.clone(), w.name.clone()))
                .or_insert_with(|| vec![None; reports.len()])[i] =
                Some((w.score, w.coverage, w.patrol_h));
        }
    }
    let mut text = String::from("\u{feff}");
    text.push_str("worker,name");
    for r in reports {
        text.push_str(&format!(
            ",{m} score,{m} coverage,{m} patrol_h",
            m = r.month
        ));
    }
    text.push('\n');
    for ((worker, name), cells) in rows {
        text.push_str(&format!("{worker},\"{}\"", name.replace('"', "\"\"")));
        for c in cells {
            match c {
                Some((s, c, h)) => text.push_str(&format!(",{s:.2},{c:.4},{h:.2}")),
                None => text.push_str(",,,"),
            }
        }
        text.push('\n');
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let path = out.join("trend.csv");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
