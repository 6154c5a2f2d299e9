//! `gridbeat report`: the batch door. Reads a month (or several) of pings from CSV/Parquet,
//! summarises every worker-day with the engine, assesses each month (polars), and writes the
//! report as JSON, CSV, XLSX and HTML — the same figures the service gives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;

use super::parse_month;
use crate::assess::month::{assess_month, MonthInput};
use crate::assess::{Assessor, Params};
use crate::config::Config;
use crate::model::{Crs, Period};
use crate::report::{self, Format, Lang, Report};
use crate::route::month::{vehicle_report, VehicleMonth};

/// Arguments of `gridbeat report`.
#[derive(Debug, Args)]
#[command(
    mut_args(super::tune("workers", |a| a.required_unless_present("lake"))),
    mut_args(super::tune("grids", |a| a.required(false).required_unless_present("lake"))),
    mut_args(super::tune("checkpoints", |a| {
        a.help("Checkpoints (GeoJSON points) for visits and compliance")
    })),
)]
pub struct ReportArgs {
    /// The registry files (`--workers` required here).
    #[command(flatten)]
    pub registry: super::RegistryFiles,
    /// A street network (GeoJSON LineStrings): adds each grid's attainable coverage.
    #[arg(long, value_name = "FILE")]
    pub streets: Option<PathBuf>,
    /// Ping files or glob patterns (CSV or Parquet), e.g. 'pings/*.parquet'.
    #[arg(long, required_unless_present = "lake", num_args = 1.., value_name = "FILE_OR_GLOB")]
    pub pings: Vec<String>,
    /// A history lake instead of ping files: the month's worker_days (a partition missing or
    /// computed on other parameters or another registry is summarised again first), with the
    /// lake's registry and `gridbeat.toml`.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["pings", "grids", "workers", "checkpoints", "from", "to", "streets"])]
    pub lake: Option<PathBuf>,
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
    /// City-management vehicles, their routes and pings: adds the monthly vehicle report
    /// (not with `--lake`).
    #[command(flatten)]
    pub fleet: super::vehicles::VehicleFiles,
    /// Report bad ping rows and keep the good ones (without it a bad row fails the run); a
    /// run that keeps no ping still fails.
    #[arg(long)]
    pub keep_going: bool,
}

/// Runs `gridbeat report`.
///
/// # Errors
/// When an input cannot be read or the output cannot be written, when a ping row is bad
/// (without `--keep-going`), or when no ping row could be read.
pub fn run(
    args: &ReportArgs,
    config: &Config,
    global: &super::GlobalArgs,
) -> anyhow::Result<ExitCode> {
    if let Some(lake) = &args.lake {
        if args.fleet.vehicles.is_some() {
            bail!("--vehicles cannot be used with --lake: a lake holds no vehicle-days; give the vehicle ping files with the worker ping files instead");
        }
        return run_lake(args, lake, global);
    }
    let (first, last) = match (&args.month, &args.from, &args.to) {
        (Some(m), _, _) => {
            let m = parse_month(m).with_context(|| format!("--month {m}"))?;
            (m, m)
        }
        (None, Some(f), Some(t)) => {
            let (f_m, t_m) = (
                parse_month(f).with_context(|| format!("--from {f}"))?,
                parse_month(t).with_context(|| format!("--to {t}"))?,
            );
            if t_m < f_m {
                bail!("--to {t} is before --from {f}");
            }
            (f_m, t_m)
        }
        _ => bail!("give --month YYYY-MM, or --from YYYY-MM --to YYYY-MM"),
    };
    let formats =
        Format::parse_list(&args.format).with_context(|| format!("--format {}", args.format))?;
    let period = Period::months(first, last);

    let registry = args.registry.load(args.crs, false)?;
    if let Some(unit) = &args.unit {
        if registry.unit(unit).is_none() {
            bail!("--unit {unit}: no such unit in the registry");
        }
    }
    let assessor = Assessor::new(
        Arc::new(registry),
        Params::new(config.clone(), super::clean_mode(args.no_clean)),
    )
    // The report draws no track.
    .without_paths();
    let attainable = match &args.streets {
        Some(path) => Some(super::coverage::street_coverage(&assessor, path)?),
        None => None,
    };
    let paths = super::expand_globs(&args.pings)?;
    let s = crate::batch::summarize_files(&assessor, &paths, args.crs, None, Some(period))?;
    super::check_rows(&s.errors, s.pings, args.keep_going)?;

    let generated_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let vehicles = args.fleet.read(
        &assessor.registry,
        args.crs,
        Some(period),
        config.tz(),
        &config.route,
        args.keep_going,
    )?;
    let mut reports: Vec<Report> = Vec::new();
    let months = period.month_list();
    for &m in &months {
        let mut report = assess_month(
            &s.days,
            &MonthInput {
                assessor: &assessor,
                month: m,
                attainable: attainable.as_ref(),
                unit: args.unit.as_deref(),
                generated_at: generated_at.clone(),
            },
        )?;
        if let Some(v) = &vehicles {
            let mut folded = VehicleMonth::new(m);
            for d in &v.days {
                folded.add(d);
            }
            report.vehicles = Some(vehicle_report(
                &folded,
                &v.fleet,
                &assessor.registry,
                args.unit.as_deref(),
                &config.route,
            )?);
        }
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
        "{} pings of {} workers read ({} unreadable rows)",
        s.pings,
        s.workers.len(),
        s.errors.len()
    );
    eprintln!("{}", super::repeats_line(&s));
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

/// `gridbeat report --lake`: the month's worker-days from the lake's worker_days, assessed as
/// the batch door assesses the days it summarises from files.
fn run_lake(args: &ReportArgs, dir: &Path, global: &super::GlobalArgs) -> anyhow::Result<ExitCode> {
    let Some(month) = &args.month else {
        bail!("--lake needs --month YYYY-MM");
    };
    let month = parse_month(month).with_context(|| format!("--month {month}"))?;
    let formats =
        Format::parse_list(&args.format).with_context(|| format!("--format {}", args.format))?;
    let lake = crate::lake::Lake::open(dir)?;
    let config = super::lake::lake_config(global, dir)?;
    let assessor = super::lake::lake_assessor(&lake, &config)?;
    if let Some(unit) = &args.unit {
        if assessor.registry.unit(unit).is_none() {
            bail!("--unit {unit}: no such unit in the lake's registry");
        }
    }
    let days =
        crate::lake::ops::month_days(&lake, &assessor, month, &mut |line| eprintln!("{line}"))?;
    let without_context = crate::lake::ops::days_without_context(&lake, month)?;
    for day in &without_context {
        eprintln!(
            "note: {day} was summarised without context: the lake has no pings of the adjacent month"
        );
    }
    let generated_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut report = assess_month(
        &days,
        &MonthInput {
            assessor: &assessor,
            month,
            attainable: None,
            unit: args.unit.as_deref(),
            generated_at,
        },
    )?;
    report.days_without_context = without_context.iter().map(ToString::to_string).collect();
    let written = report::write_all(&report, &args.out, &formats, args.lang)?;
    println!(
        "{}: {} workers, {} grids, {} units from {} worker-days of {} → {}",
        report.month,
        report.workers.len(),
        report.grids.len(),
        report.units.len(),
        days.len(),
        lake.dir.display(),
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
