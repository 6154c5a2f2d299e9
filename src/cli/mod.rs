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
pub mod lake;
pub mod layers;
pub mod locate;
#[cfg(feature = "service")]
pub mod replay;
#[cfg(feature = "assess")]
pub mod report;
#[cfg(feature = "service")]
pub mod serve;
pub mod simulate;
pub mod tracks;
pub mod vehicles;
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
    /// A month of the service's store into the history lake.
    #[cfg(feature = "service")]
    Export(lake::ExportArgs),
    /// The history lake: add ping and registry files (`lake add`).
    Lake(lake::LakeArgs),
    /// One map layer (grids, units, tracks, coverage, …) as GeoJSON from files.
    Layers(Box<layers::LayersArgs>),
    /// Write each ping's grid code (point location on the grid registry).
    Locate(locate::LocateArgs),
    /// The monthly assessment report (JSON, CSV, XLSX, HTML) from files: the batch door.
    #[cfg(feature = "assess")]
    Report(report::ReportArgs),
    /// Run the service: ingest from phones, summaries kept current, reports over HTTP.
    #[cfg(feature = "service")]
    Serve(serve::ServeArgs),
    /// Import ping files (CSV, Parquet, GPX) into a data directory.
    #[cfg(feature = "service")]
    Import(serve::ImportArgs),
    /// Load registry files into a data directory.
    #[cfg(feature = "service")]
    Registry(serve::RegistryArgs),
    /// Make bearer tokens for the service.
    #[cfg(feature = "service")]
    Token(serve::TokenArgs),
    /// Copy a data directory's database (SQLite online backup), also while a server runs.
    #[cfg(feature = "service")]
    Backup(serve::BackupArgs),
    /// Move a deployment between stores (`store copy --from DIR|URL --to URL|DIR`).
    #[cfg(feature = "service")]
    Store(serve::StoreArgs),
    /// Generate a synthetic city, its grid workers and their patrol pings.
    Simulate(simulate::SimulateArgs),
    /// Summarise a month of the history lake into its worker_days (one bucket or all).
    Summarize(lake::SummarizeArgs),
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
        #[cfg(feature = "service")]
        Command::Export(args) => lake::run_export(&args, &cli.global),
        Command::Lake(args) => lake::run_add(&args, &cli.global),
        Command::Layers(args) => layers::run(&args, &config, &cli.global),
        Command::Locate(args) => locate::run(&args, &config),
        #[cfg(feature = "assess")]
        Command::Report(args) => report::run(&args, &config, &cli.global),
        #[cfg(feature = "service")]
        Command::Serve(args) => serve::run(&args, &config),
        #[cfg(feature = "service")]
        Command::Import(args) => serve::run_import(&args, &config),
        #[cfg(feature = "service")]
        Command::Registry(args) => serve::run_registry(&args, &config),
        #[cfg(feature = "service")]
        Command::Token(args) => serve::run_token(&args, &config),
        #[cfg(feature = "service")]
        Command::Backup(args) => serve::run_backup(&args, &config),
        #[cfg(feature = "service")]
        Command::Store(args) => serve::run_store(&args, &config),
        Command::Simulate(args) => simulate::run(&args, &config),
        Command::Summarize(args) => lake::run_summarize(&args, &cli.global),
        Command::Tracks(args) => tracks::run(&args, &config),
        Command::Visits(args) => visits::run(&args, &config),
    }
}

/// The registry files a subcommand reads: `--grids`, `--workers`, `--checkpoints`, flattened
/// into its arguments. A subcommand that needs more (workers or checkpoints required) or says
/// more in its help sets that with [`tune`].
#[derive(Debug, Args)]
pub struct RegistryFiles {
    /// The grid hierarchy (GeoJSON).
    #[arg(long, value_name = "FILE", required = true)]
    pub grids: Option<PathBuf>,
    /// Worker assignments (CSV: worker,name,grid).
    #[arg(long, value_name = "FILE")]
    pub workers: Option<PathBuf>,
    /// Checkpoints (GeoJSON points).
    #[arg(long, value_name = "FILE")]
    pub checkpoints: Option<PathBuf>,
}

impl RegistryFiles {
    /// Reads and validates the registry from these files (see [`load_registry`]).
    ///
    /// # Errors
    /// When a file cannot be read or the registry does not validate.
    pub fn load(
        &self,
        crs: crate::model::Crs,
        keep_going: bool,
    ) -> anyhow::Result<crate::registry::Registry> {
        let Some(grids) = &self.grids else {
            anyhow::bail!("--grids is required");
        };
        load_registry(
            grids,
            self.workers.as_deref(),
            self.checkpoints.as_deref(),
            crs,
            keep_going,
        )
    }
}

/// A period of local days, flattened into a subcommand: `--month`, or `--from`/`--to`.
#[derive(Debug, Args)]
pub struct DayPeriod {
    /// Only this local calendar month, YYYY-MM.
    #[arg(long, value_name = "YYYY-MM", conflicts_with_all = ["from", "to"])]
    pub month: Option<String>,
    /// First local day of the period, YYYY-MM-DD.
    #[arg(long, value_name = "DATE", requires = "to")]
    pub from: Option<chrono::NaiveDate>,
    /// Last local day of the period (inclusive), YYYY-MM-DD.
    #[arg(long, value_name = "DATE", requires = "from")]
    pub to: Option<chrono::NaiveDate>,
}

impl DayPeriod {
    /// The period asked for, if any (see [`period_of`]).
    ///
    /// # Errors
    /// When a month is malformed or the period ends before it starts.
    pub fn period(&self) -> anyhow::Result<Option<crate::model::Period>> {
        period_of(self.month.as_deref(), self.from, self.to)
    }
}

/// Changes one flattened argument in place (`#[command(mut_args(tune(id, f)))]`): a
/// subcommand that requires it or says more about it in its help. In place, unlike
/// `mut_arg`, so the usage line and the help keep the argument where it was.
pub(crate) fn tune(
    id: &'static str,
    f: fn(clap::Arg) -> clap::Arg,
) -> impl FnMut(clap::Arg) -> clap::Arg {
    move |a| if a.get_id() == id { f(a) } else { a }
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

/// Parses a month given as `YYYY-MM`.
///
/// # Errors
/// A message naming the text and the expected form.
pub fn parse_month(text: &str) -> anyhow::Result<crate::model::Month> {
    text.parse().map_err(anyhow::Error::msg)
}

/// The period of `--month`, or of `--from`/`--to` (local days), if any, as asked: an end
/// left open is `NaiveDate::MIN` or `MAX`, which
/// [`resolve_period`](crate::assess::period::resolve_period) closes.
///
/// # Errors
/// When a month is malformed or the period ends before it starts.
pub fn period_of(
    month: Option<&str>,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> anyhow::Result<Option<crate::model::Period>> {
    use crate::model::Period;
    if let Some(m) = month {
        return Ok(Some(
            parse_month(m)
                .with_context(|| format!("--month {m}"))?
                .period(),
        ));
    }
    match (from, to) {
        (Some(f), Some(t)) => Ok(Some(
            Period::new(f, t).map_err(|e| anyhow::anyhow!("--from/--to: {e}"))?,
        )),
        (Some(f), None) => Ok(Some(Period {
            first: f,
            last: chrono::NaiveDate::MAX,
        })),
        (None, Some(t)) => Ok(Some(Period {
            first: chrono::NaiveDate::MIN,
            last: t,
        })),
        (None, None) => Ok(None),
    }
}

/// The cleaning mode of a `--no-clean` flag.
pub fn clean_mode(no_clean: bool) -> crate::track::CleanMode {
    if no_clean {
        crate::track::CleanMode::DedupeOnly
    } else {
        crate::track::CleanMode::Full
    }
}

/// Expands glob patterns (a plain path is kept as it is, so a missing file is reported by name).
///
/// # Errors
/// When a pattern is malformed or matches no file.
pub fn expand_globs(patterns: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in patterns {
        if p.contains(['*', '?', '[']) {
            let matches: Vec<PathBuf> = glob::glob(p)
                .with_context(|| format!("--pings {p:?}: not a valid glob pattern"))?
                .filter_map(Result::ok)
                .collect();
            if matches.is_empty() {
                anyhow::bail!("--pings {p:?}: no file matches");
            }
            out.extend(matches);
        } else {
            out.push(PathBuf::from(p));
        }
    }
    Ok(out)
}

/// The batch door's operational summary line (standard error): rows read, repeats left out,
/// unreadable rows. Repeats are no figure (DESIGN.md §4.2 step 1), so only this line shows them.
pub fn repeats_line(s: &crate::batch::Summaries) -> String {
    format!(
        "read {} pings of {} workers: {} repeated rows left out (identical to an earlier row), {} unreadable rows",
        s.pings,
        s.workers.len(),
        s.repeats,
        s.errors.len()
    )
}

/// The files of a command line, for messages: `a.csv, b.parquet`.
pub fn file_list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints unreadable rows as warnings (the first 20, then a count).
pub fn warn_rows(errors: &[crate::ingest::RecordError]) {
    for e in errors.iter().take(20) {
        eprintln!("warning: skipped {e}");
    }
    if errors.len() > 20 {
        eprintln!("warning: … and {} more unreadable rows", errors.len() - 20);
    }
}

/// How many bad rows a run lists before it only counts the rest.
const ROWS_LISTED: usize = 20;

/// Lists the bad rows of a batch run and decides whether it may go on (README, "Bad input"):
/// without `--keep-going` any bad row fails the run; with it the good rows are kept, but a run
/// that kept no ping at all still fails, so that an unreadable file never becomes an empty
/// report with exit status 0. The first [`ROWS_LISTED`] rows are listed, then a count.
///
/// # Errors
/// When the run must stop; the message counts the bad rows and says what to do.
pub fn check_rows(
    errors: &[crate::ingest::RecordError],
    pings: usize,
    keep_going: bool,
) -> anyhow::Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    let lead = if keep_going {
        "warning: skipped"
    } else {
        "bad row:"
    };
    for e in errors.iter().take(ROWS_LISTED) {
        eprintln!("{lead} {e}");
    }
    if errors.len() > ROWS_LISTED {
        eprintln!("{lead} … and {} more bad rows", errors.len() - ROWS_LISTED);
    }
    if !keep_going {
        anyhow::bail!(
            "{} bad row(s) (the first listed above); fix them, or give --keep-going to keep the good rows",
            errors.len()
        );
    }
    if pings == 0 {
        anyhow::bail!(
            "no row could be read: all {} row(s) are bad (the first listed above)",
            errors.len()
        );
    }
    Ok(())
}

/// Rounds to a fixed number of decimals for output (coordinates: 7, about 1 cm).
pub fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}
