//! One engine behind every door: `tracks`, `coverage`, `visits` and `report` run on the same
//! simulated city — with night shifts across local midnight and sparse check-in-only workers —
//! and every figure they share is identical (up to the decimals each output prints).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn gridbeat(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gridbeat"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gridbeat {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

#[test]
fn every_door_gives_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |n: &str| d.join(n).display().to_string();
    gridbeat(&[
        "simulate",
        "--seed",
        "11",
        "--workers",
        "14",
        "--days",
        "5",
        "--interval-s",
        "60",
        "--night-share",
        "0.4",
        "--sparse-share",
        "0.3",
        "--out",
        &p("city"),
    ]);
    let city = |n: &str| d.join("city").join(n).display().to_string();
    let truth = json(&d.join("city/truth.json"));
    let shifts: Vec<&str> = truth["workers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["shift"].as_str())
        .collect();
    assert!(shifts.contains(&"night"), "the city has night shifts");

    gridbeat(&[
        "tracks",
        "--pings",
        &city("pings.csv"),
        "--out",
        &p("tracks.json"),
    ]);
    gridbeat(&[
        "coverage",
        "--grids",
        &city("grids.geojson"),
        "--workers",
        &city("workers.csv"),
        "--pings",
        &city("pings.csv"),
        "--month",
        "2026-10",
        "--out",
        &p("coverage.json"),
    ]);
    gridbeat(&[
        "visits",
        "--grids",
        &city("grids.geojson"),
        "--workers",
        &city("workers.csv"),
        "--checkpoints",
        &city("checkpoints.geojson"),
        "--pings",
        &city("pings.csv"),
        "--month",
        "2026-10",
        "--out",
        &p("visits.json"),
    ]);
    gridbeat(&[
        "report",
        "--grids",
        &city("grids.geojson"),
        "--workers",
        &city("workers.csv"),
        "--checkpoints",
        &city("checkpoints.geojson"),
        "--pings",
        &city("pings.parquet"),
        "--month",
        "2026-10",
        "--format",
        "json",
        "--out",
        &p("report"),
    ]);
    let (tracks, coverage, visits, report) = (
        json(&d.join("tracks.json")),
        json(&d.join("coverage.json")),
        json(&d.join("visits.json")),
        json(&d.join("report/report.json")),
    );
    // One record of the parameters, the same in every output.
    let params = &tracks["params"];
    assert_eq!(&coverage["params"], params);
    assert_eq!(&visits["params"], params);
    assert_eq!(&report["params"], params);

    // Per worker: length, patrol time, stays.
    let rows = report["workers"].as_array().unwrap();
    let mut compared = 0;
    for t in tracks["workers"].as_array().unwrap() {
        let w = t["worker"].as_str().unwrap();
        let r = rows.iter().find(|r| r["worker"] == w).unwrap();
        close(
            t["length_m"].as_f64().unwrap() / 1000.0,
            r["distance_km"].as_f64().unwrap(),
            1e-4,
            w,
        );
        close(
            t["patrol_s"].as_f64().unwrap() / 3600.0,
            r["patrol_h"].as_f64().unwrap(),
            1e-6,
            w,
        );
        assert_eq!(
            t["stays"].as_array().unwrap().len() as u64,
            r["stays"].as_u64().unwrap(),
            "{w}"
        );
        compared += 1;
    }
    assert_eq!(compared, 14);

    // Per grid: team coverage.
    for g in coverage["grids"].as_array().unwrap() {
        let code = g["code"].as_str().unwrap();
        let r = report["grids"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == code)
            .unwrap();
        close(
            g["coverage"].as_f64().unwrap(),
            r["team_coverage"].as_f64().unwrap(),
            5e-5,
            code,
        );
    }

    // Per worker and checkpoint: compliance from visits.
    for v in visits["workers"].as_array().unwrap() {
        let w = v["worker"].as_str().unwrap();
        let r = rows.iter().find(|r| r["worker"] == w).unwrap();
        match (
            v["compliance"].as_f64(),
            r["checkpoint_compliance"].as_f64(),
        ) {
            (Some(a), Some(b)) => close(a, b, 5e-5, w),
            (a, b) => assert_eq!(a, b, "{w}"),
        }
    }
    let counted: u64 = visits["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert!(counted > 0, "visits are found");
}
