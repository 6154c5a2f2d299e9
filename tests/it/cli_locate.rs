//! `gridbeat locate` end to end: the built binary on small files.

use std::process::Output;

use crate::util::{fixture, gridbeat};

fn locate(pings: &str, extra: &[&str]) -> (Output, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pings.csv");
    std::fs::write(&path, pings).expect("write pings");
    let output = gridbeat()
        .arg("locate")
        .arg("--grids")
        .arg(fixture("base.geojson"))
        .arg("--pings")
        .arg(&path)
        .args(extra)
        .output()
        .expect("run gridbeat");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

const PINGS: &str = "\
worker,ts,lat,lon,acc
w-1,2026-10-08T09:30:00+08:00,28.201,112.981,5
w-1,2026-10-08T09:30:10+08:00,28.201,112.983,\"4,5\"
w-1,2026-10-08T09:30:20+08:00,28.201,112.982,5
w-1,2026-10-08T09:30:30+08:00,28.3,112.9,5
";

#[test]
fn output_is_the_input_columns_plus_grid() {
    let (output, stdout, stderr) = locate(PINGS, &[]);
    assert!(output.status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "worker,ts,lat,lon,acc,grid",
            "w-1,2026-10-08T09:30:00+08:00,28.201,112.981,5,430102001001001",
            "w-1,2026-10-08T09:30:10+08:00,28.201,112.983,\"4,5\",430102001001002",
            // On the edge shared by 001 and 002: the smaller code.
            "w-1,2026-10-08T09:30:20+08:00,28.201,112.982,5,430102001001001",
            // Outside every grid: empty.
            "w-1,2026-10-08T09:30:30+08:00,28.3,112.9,5,",
        ]
    );
}

#[test]
fn out_writes_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("located.csv");
    let out_arg = out.to_string_lossy().into_owned();
    let (output, stdout, stderr) = locate(PINGS, &["--out", &out_arg]);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.is_empty());
    let written = std::fs::read_to_string(&out).expect("output file");
    assert_eq!(written.lines().count(), 5);
    assert!(written.starts_with("worker,ts,lat,lon,acc,grid\n"));
}

#[test]
fn a_bad_row_is_an_error_naming_the_line() {
    let bad = PINGS.replace("28.201,112.983", "north,112.983");
    let (output, _, stderr) = locate(&bad, &[]);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("pings.csv: line 3"), "{stderr}");
    assert!(stderr.contains("\"north\" is not a number"), "{stderr}");
}

#[test]
fn keep_going_writes_the_bad_row_with_an_empty_grid_and_exits_2() {
    let bad = PINGS.replace("28.201,112.983", "north,112.983");
    let (output, stdout, stderr) = locate(&bad, &["--keep-going"]);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines[2],
        "w-1,2026-10-08T09:30:10+08:00,north,112.983,\"4,5\","
    );
    assert!(lines[3].ends_with(",430102001001001"));
}

#[test]
fn pings_in_gcj02_are_converted_before_location() {
    // The WGS84 point (112.9819, 28.201) is in grid 001 near its east edge; its GCJ-02 form
    // lies ~500 m away, in no grid unless converted back.
    let (x, y) = gridbeat::crs::wgs84_to_gcj02(112.9819, 28.201);
    let pings = format!("lat,lon\n{y},{x}\n");
    let (_, plain, _) = locate(&pings, &[]);
    assert_eq!(
        plain.lines().nth(1).map(|l| l.ends_with(',')),
        Some(true),
        "{plain}"
    );
    let (output, converted, stderr) = locate(&pings, &["--crs", "gcj02"]);
    assert!(output.status.success(), "{stderr}");
    assert!(
        converted
            .lines()
            .nth(1)
            .is_some_and(|l| l.ends_with(",430102001001001")),
        "{converted}"
    );
}

#[test]
fn a_bad_registry_names_the_feature() {
    let output = gridbeat()
        .arg("locate")
        .arg("--grids")
        .arg(fixture("unclosed_ring.geojson"))
        .arg("--pings")
        .arg(fixture("workers.csv"))
        .output()
        .expect("run gridbeat");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains(
            "unclosed_ring.geojson: feature #5 (code \"430102001001002\"): ring 0 is not closed"
        ),
        "{stderr}"
    );
}

#[test]
fn missing_lat_lon_columns_are_an_error() {
    let (output, _, stderr) = locate("worker,x,y\nw,1,2\n", &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("`lat` and `lon`"), "{stderr}");
}
