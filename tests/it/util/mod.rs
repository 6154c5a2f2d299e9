//! Helpers shared by the integration tests, written once: where the test data is, the built
//! binary, the sample city in memory, a worker's row of an answer, an independent Python
//! reader. The service's helpers (the sample city in a server in process, the real binary on
//! a free loopback port, raw HTTP/1.1) need the `service` feature and are in `service`.

#[cfg(feature = "service")]
mod service;

#[cfg(feature = "service")]
pub use service::*;

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use gridbeat::anomaly::Fingerprint;
use gridbeat::assess::window::day_window;
use gridbeat::assess::{Assessor, Params, WorkerDay};
use gridbeat::config::Config;
use gridbeat::ingest::csv::read_pings;
use gridbeat::model::{Crs, Month, Ping, WorkerId};
use gridbeat::registry::{LoadOptions, Registry, Source};
use gridbeat::track::CleanMode;
use serde_json::Value;

// ---------------------------------------------------------------- files

/// A file of the committed sample city (`data/sample/`).
pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/sample")
        .join(name)
}

/// A path in the golden reference data, `../shared/data` beside the checkout. A missing file
/// fails the test: it must not pass by skipping.
pub fn shared(path: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(path);
    assert!(
        p.exists(),
        "{} is missing: the golden data must sit beside the checkout",
        p.display()
    );
    p
}

/// A small registry file of `tests/fixtures/registry/` (`make_fixtures.py` there says what
/// each one breaks).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/registry")
        .join(name)
}

/// A file's text; panics naming the file.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A file's JSON; panics naming the file.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text of a file of the sample city.
pub fn read_sample(name: &str) -> String {
    read(&sample(name))
}

/// The text of a registry fixture.
pub fn read_fixture(name: &str) -> String {
    read(&fixture(name))
}

/// The text of a golden reference file.
pub fn read_shared(path: &str) -> String {
    read(&shared(path))
}

// ---------------------------------------------------------------- the binary

/// The binary under test.
pub fn gridbeat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gridbeat"))
}

/// Asserts that a command (the binary, mostly) succeeded, showing its standard error when it
/// did not.
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the binary with `args` to its end.
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    gridbeat()
        .args(args)
        .output()
        .expect("the gridbeat binary runs")
}

/// Runs the binary with `args`, expects success, and returns its standard output.
pub fn run_ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    let out = run(&args);
    assert!(
        out.status.success(),
        "gridbeat {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

// ---------------------------------------------------------------- the sample city in memory

/// A registry of grids alone, from the text of a grids file named `name`; panics with the
/// faults when it does not load.
pub fn grids_registry(name: &str, grids: &str) -> Registry {
    Registry::from_sources(
        Source::new(name, grids),
        None,
        None,
        &LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{name} must load cleanly:\n{e}"))
}

/// A registry from the texts of its three files (named as in `data/sample/`); panics with
/// the faults when it does not load.
pub fn registry_of(grids: &str, workers: &str, checkpoints: &str) -> Registry {
    Registry::from_sources(
        Source::new("grids.geojson", grids),
        Some(Source::new("workers.csv", workers)),
        Some(Source::new("checkpoints.geojson", checkpoints)),
        &LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("the registry must load cleanly:\n{e}"))
}

/// The sample city's registry, from the committed files.
pub fn sample_registry() -> Registry {
    registry_of(
        &read_sample("grids.geojson"),
        &read_sample("workers.csv"),
        &read_sample("checkpoints.geojson"),
    )
}

/// The sample city's pings (the committed `pings.csv`), in file order.
pub fn sample_pings() -> Vec<Ping> {
    read_pings(read_sample("pings.csv").as_bytes(), "pings.csv", Crs::Wgs84)
        .unwrap()
        .pings
}

/// An assessor on `registry` with `config` and full cleaning (as the report runs).
pub fn assessor_with(registry: Registry, config: Config) -> Assessor {
    Assessor::new(Arc::new(registry), Params::new(config, CleanMode::Full))
}

/// The sample city's assessor with the default config.
pub fn sample_assessor() -> Assessor {
    assessor_with(sample_registry(), Config::default())
}

/// Summarises each day of one worker's pings on its own window, in day order, each day taking
/// the carry of the day before and the fingerprints of the earlier days of its month (as the
/// service recomputes a dirty day from its store, where pings are in time order, ties in
/// order of receipt).
pub fn by_windows(a: &Assessor, worker: &WorkerId, pings: &[Ping]) -> Vec<WorkerDay> {
    let mut sorted = pings.to_vec();
    sorted.sort_by_key(|p| p.ts); // stable: equal timestamps keep their order of receipt
    let mut days: Vec<chrono::NaiveDate> = sorted
        .iter()
        .map(|p| gridbeat::track::local_day(p.ts, a.tz))
        .collect();
    days.dedup();
    let mut out: Vec<WorkerDay> = Vec::new();
    for day in days {
        let w = day_window(&sorted, day, a.tz, &a.track).expect("the day has pings");
        let carry = out.last().and_then(|d| d.carry);
        let earlier: Vec<Fingerprint> = out
            .iter()
            .filter(|d| Month::of(d.day) == Month::of(day))
            .filter_map(|d| d.fingerprint.clone())
            .collect();
        let mut one = a.summarize_stream(worker, &sorted[w], carry, &|d| d == day, &earlier);
        assert_eq!(one.len(), 1, "one summary for {day}");
        out.push(one.remove(0));
    }
    out
}

// ---------------------------------------------------------------- answers

/// The row of `worker` in an answer's `workers` array (a report, `gridbeat tracks`).
pub fn worker_row<'a>(doc: &'a Value, worker: &str) -> &'a Value {
    doc["workers"]
        .as_array()
        .expect("workers array")
        .iter()
        .find(|w| w["worker"] == worker)
        .unwrap_or_else(|| panic!("no row for {worker}"))
}

// ---------------------------------------------------------------- Python

/// Runs a Python 3 `script` with `input` written to a scratch file (its `sys.argv[1]`), and
/// parses what it prints as JSON; panics with its standard error when it fails.
pub fn python_json(script: &str, input: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input");
    std::fs::write(&path, input).unwrap();
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Makes sure Python 3 imports `module`, installing `package` with pip once if it does not,
/// so that `cargo test` alone works on a fresh machine that has Python 3 with pip. One test
/// at a time: two never run pip at once.
pub fn python_with(module: &str, package: &str) {
    static READY: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut ready = READY.lock().unwrap_or_else(|e| e.into_inner());
    if ready.contains(module) {
        return;
    }
    let present = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}); install Python 3 and then `python3 -m pip install {package}`")
        });
    if !present.success() {
        let status = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", package])
            .status()
            .expect("python3 runs");
        assert!(status.success(), "pip install {package} failed");
    }
    ready.insert(module.to_string());
}
