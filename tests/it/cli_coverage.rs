//! `gridbeat coverage` end to end: the built binary on the Helsinki grids with the walk network
//! as the track (against the GEOS golden values), and on the sample city's pings.

use std::ffi::OsStr;

use serde_json::Value;

use crate::util::{gridbeat, read_json, read_sample, run_ok, sample, shared};

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// Runs `gridbeat coverage ARGS`, expects success, and parses standard output.
fn coverage(args: &[&OsStr]) -> Value {
    let stdout = run_ok([os("coverage")].iter().chain(args));
    serde_json::from_str(&stdout).expect("JSON output")
}

#[test]
fn helsinki_walk_network_matches_golden_at_default_and_set_radius() {
    let golden = read_json(&shared(
        "golden/coverage/helsinki_walk_ways_over_200m_grid.json",
    ));
    let grids = shared("osm/helsinki_grids.geojson");
    let ways = shared("osm/helsinki_walk_ways.geojson");
    for (radius, set) in [(30.0, None), (50.0, Some("coverage_radius_m=50"))] {
        let mut args = vec![
            os("--grids"),
            grids.as_os_str(),
            os("--tracks"),
            ways.as_os_str(),
        ];
        if let Some(s) = set {
            args.extend([os("--set"), os(s)]);
        }
        let out = coverage(&args);
        assert_eq!(out["params"]["coverage_radius_m"], radius);
        let got = out["grids"].as_array().unwrap();
        assert_eq!(got.len(), 54);
        for code in ["990101001001001", "990101001002011", "990101002006054"] {
            let case = golden["cases"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["grid"] == code && c["radius_m"] == radius)
                .unwrap_or_else(|| panic!("golden case {code} r={radius}"));
            let grid = got.iter().find(|g| g["code"] == code).unwrap();
            let (g, w) = (
                grid["coverage"].as_f64().unwrap(),
                case["coverage"].as_f64().unwrap(),
            );
            assert!((g - w).abs() <= 0.01, "{code} r={radius}: {g} vs {w}");
            let area = grid["area_m2"].as_f64().unwrap();
            let covered = grid["covered_m2"].as_f64().unwrap();
            assert!((covered - g * area).abs() <= 0.01 * area);
        }
    }
}

#[test]
fn sample_pings_give_team_coverage_at_least_each_workers() {
    let (grids, workers, pings) = (
        sample("grids.geojson"),
        sample("workers.csv"),
        sample("pings.csv"),
    );
    let out = coverage(&[
        os("--grids"),
        grids.as_os_str(),
        os("--workers"),
        workers.as_os_str(),
        os("--pings"),
        pings.as_os_str(),
        os("--from"),
        os("2026-10-01"),
        os("--to"),
        os("2026-10-03"),
    ]);
    assert_eq!(out["period"]["from"], "2026-10-01");
    assert_eq!(out["input"], "pings");
    assert_eq!(out["params"]["coverage_radius_m"], 30.0);
    // Team coverage counts the grid's assigned workers only; others who passed through are
    // listed apart, as visitors.
    let visitors: usize = out["grids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["visitors"].as_array().unwrap().len())
        .sum();
    assert!(visitors > 0, "sample workers cross into neighbouring grids");
    let grids = out["grids"].as_array().unwrap();
    assert_eq!(grids.len(), 12);
    for g in grids {
        let team = g["coverage"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&team));
        assert!(g["code"].is_string() && g["area_m2"].as_f64().unwrap() > 0.0);
        let workers = g["workers"].as_array().unwrap();
        assert!(!workers.is_empty(), "every sample grid has a worker");
        for w in workers {
            let c = w["coverage"].as_f64().unwrap();
            assert!(
                c <= team + 1e-9,
                "{}: worker {} {c} > team {team}",
                g["code"],
                w["worker"]
            );
        }
        // Diligent workers patrol their streets: most sample grids are well covered.
        assert!(team > 0.3, "{}: team coverage {team}", g["code"]);
    }
}

#[test]
fn a_period_without_pings_covers_nothing() {
    let (grids, pings) = (sample("grids.geojson"), sample("pings.csv"));
    // The sample's grids, counted from the file itself.
    let doc: Value = serde_json::from_str(&read_sample("grids.geojson")).unwrap();
    let n_grids = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["level"] == "grid")
        .count();
    assert!(n_grids > 0);
    let per_grid = |month: &str| {
        coverage(&[
            os("--grids"),
            grids.as_os_str(),
            os("--pings"),
            pings.as_os_str(),
            os("--month"),
            os(month),
            os("--per"),
            os("grid"),
        ])["grids"]
            .as_array()
            .unwrap()
            .clone()
    };
    // November has no pings: every grid is listed, and none is covered.
    let november = per_grid("2026-11");
    assert_eq!(november.len(), n_grids);
    for g in &november {
        assert_eq!(g["coverage"].as_f64(), Some(0.0), "{g}");
        assert_eq!(g["covered_m2"].as_f64(), Some(0.0), "{g}");
    }
    // The sample's pings are of October: the same command on October covers every grid.
    let october = per_grid("2026-10");
    assert_eq!(october.len(), n_grids);
    for g in &october {
        assert!(g["coverage"].as_f64().unwrap() > 0.0, "{g}");
    }
}

#[test]
fn geojson_layer_has_grids_and_uncovered_parts() {
    let grids = shared("osm/helsinki_grids.geojson");
    let ways = shared("osm/helsinki_walk_ways.geojson");
    let out = coverage(&[
        os("--grids"),
        grids.as_os_str(),
        os("--tracks"),
        ways.as_os_str(),
        os("--streets"),
        ways.as_os_str(),
        os("--format"),
        os("geojson"),
    ]);
    let features = out["features"].as_array().unwrap();
    let grid_features: Vec<&Value> = features
        .iter()
        .filter(|f| f["properties"]["kind"] == "grid")
        .collect();
    assert_eq!(grid_features.len(), 54);
    for f in &grid_features {
        // The walk network is both the track and the street network: coverage is attainable.
        assert_eq!(f["properties"]["coverage"], f["properties"]["attainable"]);
    }
    let uncovered = features
        .iter()
        .filter(|f| f["properties"]["kind"] == "uncovered")
        .count();
    assert!(uncovered > 0 && uncovered <= 54, "{uncovered}");
}

#[test]
fn a_bad_track_feature_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.geojson");
    std::fs::write(
        &path,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[24.9,60.1],[24.9,95.0]]}}]}"#,
    )
    .unwrap();
    let output = gridbeat()
        .arg("coverage")
        .arg("--grids")
        .arg(shared("osm/helsinki_grids.geojson"))
        .arg("--tracks")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.geojson") && stderr.contains("feature #0"),
        "{stderr}"
    );
}
