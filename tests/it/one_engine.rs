//! One engine behind every door: `tracks`, `coverage`, `visits` and `report` run on the same
//! simulated city — with night shifts across local midnight and sparse check-in-only workers —
//! and every figure they share is identical (up to the decimals each output prints).

use crate::util::{read_json, run_ok, worker_row};

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

#[test]
fn every_door_gives_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |n: &str| d.join(n).display().to_string();
    run_ok([
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
    let truth = read_json(&d.join("city/truth.json"));
    let shifts: Vec<&str> = truth["workers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["shift"].as_str())
        .collect();
    assert!(shifts.contains(&"night"), "the city has night shifts");

    run_ok([
        "tracks",
        "--pings",
        &city("pings.csv"),
        "--out",
        &p("tracks.json"),
    ]);
    run_ok([
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
    run_ok([
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
    run_ok([
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
        read_json(&d.join("tracks.json")),
        read_json(&d.join("coverage.json")),
        read_json(&d.join("visits.json")),
        read_json(&d.join("report/report.json")),
    );
    // One record of the parameters, the same in every output.
    let params = &tracks["params"];
    assert_eq!(&coverage["params"], params);
    assert_eq!(&visits["params"], params);
    assert_eq!(&report["params"], params);

    // Per worker: length, patrol time, stays.
    let mut compared = 0;
    for t in tracks["workers"].as_array().unwrap() {
        let w = t["worker"].as_str().unwrap();
        let r = worker_row(&report, w);
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
    let grids = coverage["grids"].as_array().unwrap();
    assert!(!grids.is_empty(), "coverage has grids");
    for g in grids {
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
    let visiting = visits["workers"].as_array().unwrap();
    assert!(!visiting.is_empty(), "visits has workers");
    for v in visiting {
        let w = v["worker"].as_str().unwrap();
        let r = worker_row(&report, w);
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
