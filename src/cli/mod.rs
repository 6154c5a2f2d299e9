//! The `gridbeat` command line (DESIGN.md §5.3): argument parsing and one module per
//! subcommand. Subcommands read files, call the engine and write results; they compute nothing
//! themselves.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::Config;

pub mod coverage;
pub mod demo;
pub mod locate;
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
        Command::Simulate(args) => simulate::run(&args, &config),
        Command::Tracks(args) => tracks::run(&args, &config),
        Command::Visits(args) => visits::run(&args, &config),
    }
}
