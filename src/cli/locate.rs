//! `gridbeat locate`: adds to each ping of a CSV file the code of the grid that contains it
//! (DESIGN.md §4.5).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;

use crate::config::Config;
use crate::crs::to_wgs84;
use crate::model::Crs;
use crate::registry::{LoadOptions, Registry, Source};

/// Exit code when `--keep-going` skipped rows or grid features: the output is complete for the
/// good rows, but something needs fixing.
const EXIT_SKIPPED: u8 = 2;

/// Arguments of `gridbeat locate`.
#[derive(Debug, Args)]
#[command(after_help = "\
The output is the input CSV, every column kept as it is, plus a last column `grid`: the code \
of the grid whose polygon contains the ping (on a shared edge, the smaller code), empty when \
the ping is outside all grids.

Exit status: 0 when every row was located; 1 on an error (a bad grids file, or without \
--keep-going the first unreadable row: the message names the file and line, and the output \
stops there); 2 with --keep-going when rows or grid features were skipped (each is reported \
on stderr; a skipped row is still written, with an empty grid).")]
pub struct LocateArgs {
    /// The grid registry (GeoJSON FeatureCollection, DESIGN.md §5.2).
    #[arg(long, value_name = "FILE")]
    pub grids: PathBuf,
    /// Pings as CSV with a header that has `lat` and `lon` columns (`-` reads stdin).
    #[arg(long, value_name = "FILE")]
    pub pings: PathBuf,
    /// Where to write the CSV (default: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Reference system of the pings' lat/lon: wgs84, gcj02 or bd09 (default wgs84).
    #[arg(long, value_name = "CRS")]
    pub crs: Option<Crs>,
    /// Reference system of the grids file, overriding its `crs` member (default: the member,
    /// else wgs84).
    #[arg(long, value_name = "CRS")]
    pub grids_crs: Option<Crs>,
    /// Report bad rows and bad grid features on stderr and carry on without them.
    #[arg(long)]
    pub keep_going: bool,
}

/// Runs `gridbeat locate`.
///
/// # Errors
/// When a file cannot be read or written, the registry is invalid (every fault is listed with
/// its feature), the pings lack a `lat` or `lon` column, or (without `--keep-going`) a row
/// cannot be read; messages name the file and line.
pub fn run(args: &LocateArgs, _config: &Config) -> anyhow::Result<ExitCode> {
    let grids_name = args.grids.display().to_string();
    let grids_text = std::fs::read_to_string(&args.grids)
        .with_context(|| format!("cannot read the grids file {grids_name}"))?;
    let registry = Registry::from_sources(
        Source::new(&grids_name, &grids_text),
        None,
        None,
        &LoadOptions {
            crs: args.grids_crs,
            keep_going: args.keep_going,
        },
    )
    .with_context(|| format!("cannot load the grids from {grids_name}"))?;
    for warning in &registry.warnings {
        eprintln!("warning: {warning}");
    }
    for skipped in &registry.rejected {
        eprintln!("skipped: {skipped}");
    }

    let pings_name = args.pings.display().to_string();
    let input: Box<dyn Read> = if args.pings == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(BufReader::new(File::open(&args.pings).with_context(
            || format!("cannot open the pings file {pings_name}"),
        )?))
    };
    let output: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(
            File::create(path)
                .with_context(|| format!("cannot create the output file {}", path.display()))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    let skipped_rows = locate_csv(
        &registry,
        input,
        &pings_name,
        BufWriter::new(output),
        args.crs.unwrap_or_default(),
        args.keep_going,
    )?;
    if skipped_rows > 0 || !registry.rejected.is_empty() {
        eprintln!(
            "{skipped_rows} row(s) of {pings_name} and {} grid feature(s) skipped",
            registry.rejected.len()
        );
        return Ok(ExitCode::from(EXIT_SKIPPED));
    }
    Ok(ExitCode::SUCCESS)
}

/// Copies the pings CSV to `output` with a `grid` column added; returns the number of rows
/// that could not be read (only with `keep_going`, else the first one is an error).
fn locate_csv(
    registry: &Registry,
    input: impl Read,
    name: &str,
    output: impl Write,
    crs: Crs,
    keep_going: bool,
) -> anyhow::Result<usize> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let mut writer = csv::Writer::from_writer(output);
    let headers = reader
        .headers()
        .with_context(|| format!("{name}: cannot read the header"))?
        .clone();
    let column = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let (Some(lat_col), Some(lon_col)) = (
        column(&["lat", "latitude"]),
        column(&["lon", "lng", "longitude"]),
    ) else {
        bail!("{name}: the header needs `lat` and `lon` columns (found: {headers:?})");
    };
    if column(&["grid"]).is_some() {
        bail!("{name}: the input already has a `grid` column; rename or drop it first");
    }
    let mut out_headers = headers.clone();
    out_headers.push_field("grid");
    writer.write_record(&out_headers)?;

    let mut locator = registry.index.locator();
    let mut skipped = 0;
    let mut record = csv::StringRecord::new();
    loop {
        let read = reader.read_record(&mut record);
        let (line, position) = match read {
            Ok(false) => break,
            Ok(true) => (
                record.position().map_or(0, csv::Position::line),
                read_position(&record, lat_col, lon_col).map(|(lon, lat)| to_wgs84(crs, lon, lat)),
            ),
            Err(e) => (
                e.position().map_or(0, csv::Position::line),
                Err(e.to_string()),
            ),
        };
        let grid = match position {
            Ok((lon, lat)) => locator
                .locate(lon, lat)
                .map_or("", |g| registry.grids[g as usize].code.as_str()),
            Err(problem) => {
                if !keep_going {
                    writer.flush()?;
                    bail!("{name}: line {line}: {problem} (use --keep-going to skip bad rows)");
                }
                eprintln!("skipped: {name}: line {line}: {problem}");
                skipped += 1;
                // A row with the wrong number of fields cannot be copied column for column.
                if record.len() != headers.len() {
                    continue;
                }
                ""
            }
        };
        record.push_field(grid);
        writer
            .write_record(&record)
            .with_context(|| format!("cannot write the row for {name} line {line}"))?;
    }
    writer.flush().context("cannot write the output")?;
    Ok(skipped)
}

/// Reads a row's (lon, lat) in degrees; the error says what is wrong with it.
fn read_position(
    record: &csv::StringRecord,
    lat_col: usize,
    lon_col: usize,
) -> Result<(f64, f64), String> {
    let number = |col: usize, what: &str| -> Result<f64, String> {
        let text = record.get(col).unwrap_or("").trim();
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(format!("{what} {text:?} is not a number")),
        }
    };
    let (lat, lon) = (number(lat_col, "lat")?, number(lon_col, "lon")?);
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(format!(
            "lat {lat}, lon {lon} is out of range (lat within -90..90, lon within -180..180)"
        ));
    }
    Ok((lon, lat))
}
