//! `gridbeat simulate`: writes a synthetic city, its workers, checkpoints, a period of patrol
//! pings and the truth behind them into a directory.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;

use crate::config::Config;
use crate::sim::{self, SimOptions};

/// Arguments of `gridbeat simulate`.
#[derive(Debug, Args)]
#[command(after_help = "\
Worker kinds: every worker has a behaviour label (about 60 % diligent; lazy, out_of_grid,
static_device, replay, mock), a shift (day or night) and an app mode (continuous or sparse).
--night-share and --sparse-share each choose round(F x workers) workers, on random streams of
their own: with both at 0 (the default) the files are byte for byte those of earlier versions.
  Night workers (any label, kept) patrol 20:00-06:00 or 22:00-04:00 local; a shift belongs to
  the day it starts on.
  Sparse workers come from the diligent and lazy workers first (when the share asks for more,
  others follow and become diligent); their phone sends one fix per checkpoint visit, carrying
  the check-in.
A worker may be both. truth.json names every worker's \"shift\" and \"app_mode\" when
either share is above 0; see data/README.md.

Vehicles (--vehicles N): sweepers, washers and collectors, each with a route of 1-4 km along
the streets, a schedule (washers 22:00-02:00, across midnight) and a JT/T 808 terminal
reporting every 10-30 s (ignition, work, washers' pressure). Faults per vehicle-day
(--vehicle-faults): skipped_street, work_off_early, too_fast, quiet, outside_window, written
to vehicle_truth.json with the figures a perfect engine finds. The vehicles draw from random
streams of their own: the workers' files do not change.")]
pub struct SimulateArgs {
    /// Seed: the same arguments give byte-identical files.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Number of grid workers (about one grid per 1.5 workers).
    #[arg(long, default_value_t = 200)]
    pub workers: usize,
    /// Number of days to simulate.
    #[arg(long, default_value_t = 30)]
    pub days: usize,
    /// First local day, YYYY-MM-DD.
    #[arg(long, default_value = "2026-10-01")]
    pub start: NaiveDate,
    /// The app's reporting interval, seconds.
    #[arg(long = "interval-s", default_value_t = 10)]
    pub interval_s: u32,
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A GeoJSON file of LineStrings to walk on instead of a generated street network.
    #[arg(long, value_name = "FILE")]
    pub streets: Option<PathBuf>,
    /// Share of workers (0 to 1) on night shifts across local midnight (20:00-06:00 or
    /// 22:00-04:00), whatever their behaviour label.
    #[arg(long = "night-share", value_name = "F", default_value_t = 0.0, value_parser = share)]
    pub night_share: f64,
    /// Share of workers (0 to 1) whose app only reports at checkpoints: one fix per visit
    /// carrying the check-in, as the 海兰江e站 app does. Taken from the diligent and lazy
    /// workers first; they meet each checkpoint's visits_per_month.
    #[arg(long = "sparse-share", value_name = "F", default_value_t = 0.0, value_parser = share)]
    pub sparse_share: f64,
    /// Number of city-management vehicles (sweepers, washers, collectors) with planned
    /// routes on the streets; writes vehicles.csv, routes.geojson, devices.csv,
    /// vehicle_pings.csv and vehicle_truth.json beside the workers' files (0: none, and the
    /// other files are unchanged).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub vehicles: usize,
    /// The share of vehicle-days given each fault: one share for every kind (e.g. 0.1) or
    /// KIND=F pairs (skipped_street, work_off_early, too_fast, quiet, outside_window; the
    /// others keep 0.1). A vehicle-day gets at most one fault, so they add up to at most 1.
    #[arg(long = "vehicle-faults", value_name = "SPEC", default_value = "0.1", value_parser = sim::fleet::FaultRates::parse)]
    pub vehicle_faults: sim::fleet::FaultRates,
}

/// Parses a share: a number from 0 to 1 (clap names the option in its error).
fn share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "expected a share from 0 to 1 (e.g. 0.25), got {s:?}"
        )),
    }
}

/// Runs `gridbeat simulate`.
///
/// # Errors
/// When the streets file cannot be used or an output file cannot be written; the message
/// names the file.
pub fn run(args: &SimulateArgs, config: &Config) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.workers > 0, "--workers must be at least 1");
    anyhow::ensure!(args.interval_s > 0, "--interval-s must be at least 1");
    let opts = SimOptions {
        seed: args.seed,
        workers: args.workers,
        days: args.days,
        start: args.start,
        interval_s: args.interval_s,
        tz: config.tz(),
        streets: args.streets.clone(),
        night_share: args.night_share,
        sparse_share: args.sparse_share,
        vehicles: args.vehicles,
        vehicle_faults: args.vehicle_faults,
    };
    opts.validate().map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    let city = sim::generate_city(&opts)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output directory {}", args.out.display()))?;
    let summary = sim::write_simulation(&city, &opts, &args.out)?;
    eprintln!(
        "simulated {} workers on {} grids ({} checkpoints) for {} days: {} pings in {:.1} s -> {}",
        summary.workers,
        summary.grids,
        summary.checkpoints,
        opts.days,
        summary.pings,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    if summary.vehicles > 0 {
        eprintln!(
            "  and {} vehicles on their routes: {} terminal fixes (vehicle_pings.csv, vehicle_truth.json)",
            summary.vehicles, summary.vehicle_pings
        );
    }
    Ok(ExitCode::SUCCESS)
}
