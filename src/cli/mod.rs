//! The `gridbeat` command line (DESIGN.md §5.3): argument parsing and one module per
//! subcommand. Subcommands read files, call the engine and write results; they compute nothing
//! themselves.

use std::path::PathBuf;
use std::process::ExitCode;

use std::io::Write as _;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::Config;

pub mod coverage;
pub mod demo;
pub mod locate;
#[cfg(feature = "assess")]
pub mod report;
pub mod simulate;
pub mod tracks;
pub mod visits;

/// gridbeat: patrol tracks and grid coverage for grid-based community governance.
#[derive(Debug, Parser)]
#[command(name = "gridbeat", version, about, long_about = None)]
pub struct Cli {
    /// Options every subcommand accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// A TOML config file (see `gridbeat config --print` for every key and its default).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override one config key, e.g. `--set max_gap_s=600`; repeatable, applied in order.
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

impl GlobalArgs {
    /// The effective config: defaults, then `--config`, then each `--set`.
    ///
    /// # Errors
    /// When the file cannot be read or a key or value is bad; the message names it.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        Config::load(self.config.as_deref(), &self.sets).context("invalid configuration")
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the effective configuration.
    Config(ConfigArgs),
    /// Coverage of each grid by the tracks: team coverage per grid, and per worker.
    Coverage(coverage::CoverageArgs),
    /// Simulate a sample city, its patrols, and summarise them.
    Demo(demo::DemoArgs),
    /// Write each ping's grid code (point location on the grid registry).
    Locate(locate::LocateArgs),
    /// The monthly assessment report (JSON, CSV, XLSX, HTML) from files: the batch door.
    #[cfg(feature = "assess")]
    Report(report::ReportArgs),
    /// Generate a synthetic city, its grid workers and their patrol pings.
    Simulate(simulate::SimulateArgs),
    /// Clean tracks per worker: segments, length, patrol time, stays, anomalies.
    Tracks(tracks::TracksArgs),
    /// Checkpoint visits and compliance, in-grid time and out-of-grid episodes.
    Visits(visits::VisitsArgs),
}

/// Arguments of `gridbeat config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print the effective configuration as TOML.
    #[arg(long)]
    pub print: bool,
}

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the subcommand reports; the message names the file, line or key at fault.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.global.load_config()?;
    match cli.command {
        Command::Config(args) => {
            // Printing is the only thing `config` does; without --print it still validates.
            if args.print {
                print!("{}", config.to_toml());
            } else {
                eprintln!("configuration is valid (use --print to show it)");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Coverage(args) => coverage::run(&args, &config),
        Command::Demo(args) => demo::run(&args, &config),
        Command::Locate(args) => locate::run(&args, &config),
        #[cfg(feature = "assess")]
        Command::Report(args) => report::run(&args, &config),
        Command::Simulate(args) => simulate::run(&args, &config),
        Command::Tracks(args) => tracks::run(&args, &config),
        Command::Visits(args) => visits::run(&args, &config),
    }
}

/// Reads and validates a registry from its files, printing its warnings; errors name the
/// file, feature or line.
///
/// # Errors
/// When a file cannot be read or the registry does not validate.
pub fn load_registry(
    grids: &std::path::Path,
    workers: Option<&std::path::Path>,
    checkpoints: Option<&std::path::Path>,
    crs: crate::model::Crs,
    keep_going: bool,
) -> anyhow::Result<crate::registry::Registry> {
    use crate::registry::{LoadOptions, Registry, Source};
    let read = |path: &std::path::Path, what: &str| -> anyhow::Result<(String, String)> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the {what} file {name}"))?;
        Ok((name, text))
    };
    let grids = read(grids, "grids")?;
    let workers = workers.map(|p| read(p, "workers")).transpose()?;
    let checkpoints = checkpoints.map(|p| read(p, "checkpoints")).transpose()?;
    let opts = LoadOptions {
        crs: (crs != crate::model::Crs::Wgs84).then_some(crs),
        keep_going,
    };
    let registry = Registry::from_sources(
        Source::new(&grids.0, &grids.1),
        workers.as_ref().map(|(n, t)| Source::new(n, t)),
        checkpoints.as_ref().map(|(n, t)| Source::new(n, t)),
        &opts,
    )
    .with_context(|| format!("cannot load the registry from {}", grids.0))?;
    for warning in &registry.warnings {
        eprintln!("warning: {warning}");
    }
    for rejected in &registry.rejected {
        eprintln!("warning: skipped {rejected}");
    }
    Ok(registry)
}

/// Opens `--out FILE` for writing (buffered), or standard output when no file is given.
///
/// # Errors
/// When the file cannot be created; the message names it.
pub fn output(path: Option<&std::path::Path>) -> anyhow::Result<Box<dyn std::io::Write>> {
    Ok(match path {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// Writes a JSON document, pretty-printed with a final newline, to `--out FILE` or standard
/// output.
///
/// # Errors
/// When the output cannot be created or written.
pub fn write_json(doc: &serde_json::Value, path: Option<&std::path::Path>) -> anyhow::Result<()> {
    let mut out = output(path)?;
    serde_json::to_writer_pretty(&mut out, doc)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Parses a month given as `YYYY-MM` into its first day.
///
/// # Errors
/// A message naming the text and the expected form.
pub fn parse_month(text: &str) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d")
        .with_context(|| format!("{text:?} is not a month; expected YYYY-MM, e.g. 2026-10"))
}
