//! The history lake's commands (DESIGN.md §6 "Lake commands"): `gridbeat lake add` (files into
//! the lake) and `gridbeat summarize` (one or every partition of a month into worker_days).
//! `gridbeat report --lake` is in [`super::report`]. They parse flags and call
//! [`crate::lake`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use crate::assess::{Assessor, Params};
use crate::config::Config;
use crate::lake::{ops, Lake};
use crate::model::Crs;

/// Arguments of `gridbeat lake`.
#[derive(Debug, Args)]
pub struct LakeArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: LakeCommand,
}

/// `gridbeat lake` subcommands.
#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Add ping files (CSV, Parquet, GPX) to a lake (made if missing), and registry files to
    /// its `registry/`.
    Add(LakeAddArgs),
}

/// Arguments of `gridbeat lake add`.
#[derive(Debug, Args)]
pub struct LakeAddArgs {
    /// The lake directory.
    #[arg(long, value_name = "DIR")]
    pub lake: PathBuf,
    /// The bucket count of a new lake (default 64); an existing lake keeps its own.
    #[arg(long, value_name = "N")]
    pub buckets: Option<u32>,
    /// The grid hierarchy (GeoJSON), copied into the lake's registry.
    #[arg(long, value_name = "FILE")]
    pub grids: Option<PathBuf>,
    /// Worker assignments (CSV), copied into the lake's registry.
    #[arg(long, value_name = "FILE")]
    pub workers: Option<PathBuf>,
    /// Checkpoints (GeoJSON points), copied into the lake's registry.
    #[arg(long, value_name = "FILE")]
    pub checkpoints: Option<PathBuf>,
    /// Devices (CSV: device,worker), copied into the lake's registry.
    #[arg(long, value_name = "FILE")]
    pub devices: Option<PathBuf>,
    /// The coordinate system of the ping files.
    #[arg(long, default_value = "wgs84")]
    pub crs: Crs,
    /// Ping files or glob patterns.
    #[arg(num_args = 0.., value_name = "PINGS")]
    pub pings: Vec<String>,
}

/// Arguments of `gridbeat summarize`.
#[derive(Debug, Args)]
pub struct SummarizeArgs {
    /// The lake directory.
    #[arg(long, value_name = "DIR")]
    pub lake: PathBuf,
    /// The month, YYYY-MM (local to the lake's time zone).
    #[arg(long, value_name = "YYYY-MM")]
    pub month: String,
    /// One bucket only (default: every bucket of the month).
    #[arg(long, value_name = "N", conflicts_with = "arrow")]
    pub bucket: Option<u32>,
    /// Read one bucket's pings (the month's and its context's) as an Arrow IPC stream on
    /// standard input and write its worker_days rows as an Arrow IPC stream on standard
    /// output, with `month` and `bucket` columns (what a distributed engine calls; nothing is
    /// written into the lake).
    #[arg(long)]
    pub arrow: bool,
    /// Print, as JSON, the engine version and the parameter and registry digests a current
    /// worker_days row carries under this lake's registry and config (the Spark job compares
    /// them with the stored rows to skip current partitions), and do nothing else.
    #[arg(long, conflicts_with_all = ["arrow", "bucket"])]
    pub digests: bool,
}

/// The effective config of a lake command: the defaults, then `LAKE/gridbeat.toml` if the
/// lake has one (or `--config` instead, when given), then each `--set`.
///
/// # Errors
/// When the file cannot be read or a key is bad.
pub fn lake_config(global: &super::GlobalArgs, lake: &Path) -> anyhow::Result<Config> {
    let own = lake.join("gridbeat.toml");
    let file = global
        .config
        .clone()
        .or_else(|| own.exists().then_some(own));
    Config::load(file.as_deref(), &global.sets).context("invalid configuration")
}

/// The engine on the lake's registry (`LAKE/registry/`) and `config`.
///
/// # Errors
/// When the registry is missing or does not load.
pub fn lake_assessor(lake: &Lake, config: &Config) -> anyhow::Result<Assessor> {
    let dir = lake.dir.join("registry");
    let grids = dir.join("grids.geojson");
    if !grids.exists() {
        bail!(
            "{} has no registry/grids.geojson: add it with `gridbeat lake add --lake {} --grids FILE --workers FILE`",
            lake.dir.display(),
            lake.dir.display()
        );
    }
    let optional = |name: &str| {
        let p = dir.join(name);
        p.exists().then_some(p)
    };
    let registry = super::load_registry(
        &grids,
        optional("workers.csv").as_deref(),
        optional("checkpoints.geojson").as_deref(),
        Crs::Wgs84,
        false,
    )?;
    Ok(Assessor::new(
        Arc::new(registry),
        Params::new(config.clone(), crate::track::CleanMode::Full),
    ))
}

/// Runs `gridbeat lake add`.
///
/// # Errors
/// When a file cannot be read or the lake cannot be written.
pub fn run_add(args: &LakeArgs, global: &super::GlobalArgs) -> anyhow::Result<ExitCode> {
    let LakeCommand::Add(a) = &args.command;
    let config = lake_config(global, &a.lake)?;
    let lake = Lake::open_or_create(&a.lake, a.buckets, &config.timezone)?;
    let mut files: Vec<(&str, &Path)> = Vec::new();
    for (name, path) in [
        ("grids.geojson", &a.grids),
        ("workers.csv", &a.workers),
        ("checkpoints.geojson", &a.checkpoints),
        ("devices.csv", &a.devices),
    ] {
        if let Some(p) = path {
            files.push((name, p.as_path()));
        }
    }
    if files.is_empty() && a.pings.is_empty() {
        bail!("give ping files, registry files (--grids, --workers, …), or both");
    }
    ops::put_registry(&lake, &files)?;
    if a.pings.is_empty() {
        println!("registry of {} updated", lake.dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let paths = super::expand_globs(&a.pings)?;
    let start = std::time::Instant::now();
    let added = ops::add(&lake, &paths, a.crs)?;
    super::warn_rows(&added.errors);
    println!(
        "added {} rows ({} already in the lake, {} unreadable) from {} to {}: {} partitions written in {:.1} s",
        added.rows,
        added.repeats,
        added.errors.len(),
        super::file_list(&paths),
        lake.dir.display(),
        added.partitions.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `gridbeat summarize`.
///
/// # Errors
/// When the lake or its registry cannot be read or a partition cannot be written.
pub fn run_summarize(args: &SummarizeArgs, global: &super::GlobalArgs) -> anyhow::Result<ExitCode> {
    let lake = Lake::open(&args.lake)?;
    let config = lake_config(global, &args.lake)?;
    let assessor = lake_assessor(&lake, &config)?;
    let month =
        super::parse_month(&args.month).with_context(|| format!("--month {}", args.month))?;
    if args.digests {
        println!(
            "{}",
            serde_json::json!({
                "engine": crate::assess::ENGINE_VERSION,
                "params_digest": ops::params_digest(&assessor.params),
                "registry_digest": ops::registry_digest(&lake)?,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.arrow {
        let n = crate::lake::arrow::summarize_stream(
            &lake,
            &assessor,
            month,
            std::io::stdin().lock(),
            std::io::BufWriter::new(std::io::stdout().lock()),
        )?;
        eprintln!("summarised {n} worker-days of {month} from the Arrow stream");
        return Ok(ExitCode::SUCCESS);
    }
    let buckets: Vec<u32> = match args.bucket {
        Some(b) if b >= lake.meta.buckets => bail!(
            "--bucket {b}: the lake has buckets 0 to {}",
            lake.meta.buckets - 1
        ),
        Some(b) => vec![b],
        None => (0..lake.meta.buckets).collect(),
    };
    let start = std::time::Instant::now();
    let (mut days, mut pings) = (0, 0);
    let mut missing = Vec::new();
    for b in &buckets {
        let s = ops::summarize_partition(&lake, &assessor, month, *b)?;
        days += s.days;
        pings += s.pings;
        for m in s.missing_context {
            if !missing.contains(&m) {
                missing.push(m);
            }
        }
    }
    for m in &missing {
        eprintln!(
            "note: the lake has no pings of {m}: the days next to it were summarised without that context"
        );
    }
    println!(
        "summarised {days} worker-days from {pings} pings in {} partition(s) of {month} in {:.1} s",
        buckets.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `gridbeat export`.
#[cfg(feature = "service")]
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The lake directory (made if missing, with the config's time zone).
    #[arg(long, value_name = "DIR")]
    pub lake: PathBuf,
    /// The month, YYYY-MM (local).
    #[arg(long, value_name = "YYYY-MM")]
    pub month: String,
    /// The service's data directory (default: `[server] data`).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The service's PostgreSQL database instead (default: `[store] url`).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// The bucket count of a new lake (default 64).
    #[arg(long, value_name = "N")]
    pub buckets: Option<u32>,
}

/// Runs `gridbeat export`.
///
/// # Errors
/// When the store cannot be opened or read, or the lake cannot be written.
#[cfg(feature = "service")]
pub fn run_export(args: &ExportArgs, global: &super::GlobalArgs) -> anyhow::Result<ExitCode> {
    let config = global.load_config()?;
    let month =
        super::parse_month(&args.month).with_context(|| format!("--month {}", args.month))?;
    let location = crate::store::Location::of(args.store.as_deref(), args.data.as_deref(), &config);
    let store = location
        .open(
            &config.store,
            &crate::store::OpenOptions::default(),
            std::time::Duration::ZERO,
        )
        .with_context(|| format!("cannot open the store {}", location.name()))?;
    let lake = Lake::open_or_create(&args.lake, args.buckets, &config.timezone)?;
    let start = std::time::Instant::now();
    let e = ops::export(&lake, store.as_ref(), month)?;
    println!(
        "exported {month} of {}: {} pings and {} logged conflicts into {} partition(s) of {} in {:.1} s",
        location.name(),
        e.pings,
        e.conflicts,
        e.partitions,
        lake.dir.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
