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
    };
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
    Ok(ExitCode::SUCCESS)
}
