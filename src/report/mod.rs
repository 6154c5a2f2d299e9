//! The monthly assessment report (DESIGN.md §4.9) and its writers: the [`Report`] model the
//! assessment fills in, and JSON, CSV, XLSX and HTML output from it.
//!
//! A door module: [`write_all`] creates files; the `to_*` functions of the writers build the
//! bytes in memory, so tests and the HTTP door can use them without a file system.
//! Labels (Chinese and English) for every format live in one table, `labels.rs`.

pub mod csv;
pub mod html;
pub mod json;
mod labels;
pub mod model;
pub mod xlsx;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use model::{
    Format, Freshness, GridRow, Lang, NamedValue, Report, ReportError, RouteRow, UnitRow,
    VehicleReport, VehicleRow, VehicleUnitRow, Weight, WorkerRow,
};

/// Writes the report in each of `formats` into `dir` (created if missing) and returns the
/// paths written, in order: `report.json`; `workers.csv`, `grids.csv`, `units.csv` (and
/// `vehicles.csv`, `routes.csv`, `vehicle_units.csv` with a vehicles section);
/// `report.xlsx`; `report.html`. A format listed twice is written once.
///
/// # Errors
/// When `dir` cannot be created or a file cannot be written (the message names the path), or
/// the workbook cannot be assembled.
pub fn write_all(
    report: &Report,
    dir: &Path,
    formats: &[Format],
    lang: Lang,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create report directory {}", dir.display()))?;
    let mut written = Vec::new();
    let mut done = Vec::new();
    for &format in formats {
        if done.contains(&format) {
            continue;
        }
        done.push(format);
        let files: Vec<(&str, Vec<u8>)> = match format {
            Format::Json => vec![("report.json", json::to_json(report)?.into_bytes())],
            Format::Csv => {
                let mut files = vec![
                    ("workers.csv", csv::workers_csv(report, lang)?),
                    ("grids.csv", csv::grids_csv(report, lang)?),
                    ("units.csv", csv::units_csv(report, lang)?),
                ];
                if let Some(v) = &report.vehicles {
                    files.push(("vehicles.csv", csv::vehicles_csv(v, lang)?));
                    files.push(("routes.csv", csv::routes_csv(v, lang)?));
                    files.push(("vehicle_units.csv", csv::vehicle_units_csv(v, lang)?));
                }
                files
            }
            Format::Xlsx => vec![(
                "report.xlsx",
                xlsx::to_xlsx(report, lang).context("cannot assemble report.xlsx")?,
            )],
            Format::Html => vec![("report.html", html::to_html(report, lang).into_bytes())],
        };
        for (name, bytes) in files {
            let path = dir.join(name);
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_all_writes_each_format_once() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("2026-10");
        let paths = write_all(
            &Report::sample(),
            &out,
            &[
                Format::Html,
                Format::Csv,
                Format::Json,
                Format::Html,
                Format::Xlsx,
            ],
            Lang::Zh,
        )
        .unwrap();
        let names: Vec<String> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "report.html",
                "workers.csv",
                "grids.csv",
                "units.csv",
                "report.json",
                "report.xlsx"
            ]
        );
        for p in &paths {
            assert!(std::fs::metadata(p).unwrap().len() > 100, "{}", p.display());
        }
    }

    #[test]
    fn write_all_names_the_path_it_cannot_create() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let err = write_all(
            &Report::sample(),
            &file.join("sub"),
            &[Format::Json],
            Lang::En,
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("not-a-dir"), "{err:#}");
    }
}
