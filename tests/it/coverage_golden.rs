//! Coverage against independent references (`../shared/data/golden/coverage/`): GEOS buffers
//! of the Helsinki walk network over the 54 Helsinki grids at radii 10, 30 and 50 m, and
//! hand-checkable cases on a 100 m square. DESIGN.md §4.6 asks for ±0.01 absolute.

use gridbeat::coverage::{CoverageIndex, CoverageParams, GridCoverage};
use serde_json::Value;

use crate::util::{grids_registry, read_json, read_shared, shared};

const TOLERANCE: f64 = 0.01;

/// The positions of a GeoJSON LineString or Point geometry, (lon, lat).
fn positions(geometry: &Value) -> Vec<(f64, f64)> {
    let pos = |p: &Value| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
    match geometry["type"].as_str() {
        Some("LineString") => geometry["coordinates"]
            .as_array()
            .unwrap()
            .iter()
            .map(pos)
            .collect(),
        Some("Point") => vec![pos(&geometry["coordinates"])],
        other => panic!("unexpected geometry {other:?}"),
    }
}

fn params(radius_m: f64) -> CoverageParams {
    CoverageParams {
        radius_m,
        ..CoverageParams::default()
    }
}

#[test]
fn helsinki_walk_network_matches_geos_buffers() {
    let golden = read_json(&shared(
        "golden/coverage/helsinki_walk_ways_over_200m_grid.json",
    ));
    let grids = read_shared("osm/helsinki_grids.geojson");
    let registry = grids_registry("helsinki_grids.geojson", &grids);
    let ways = read_json(&shared("osm/helsinki_walk_ways.geojson"));
    let lines: Vec<Vec<(f64, f64)>> = ways["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| positions(&f["geometry"]))
        .collect();
    let cases = golden["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 162);

    let mut failures = Vec::new();
    for radius in [10.0, 30.0, 50.0] {
        let index = CoverageIndex::new(&registry, params(radius));
        let mut coverage = GridCoverage::new();
        for line in &lines {
            index.cover_polyline(line, &mut coverage);
        }
        let mut max_err: f64 = 0.0;
        let mut n = 0;
        for case in cases
            .iter()
            .filter(|c| c["radius_m"].as_f64() == Some(radius))
        {
            let code = case["grid"].as_str().unwrap();
            let grid = registry.grid_by_code(code).expect("golden grid exists");
            let got = index.coverage(&coverage, grid);
            let want = case["coverage"].as_f64().unwrap();
            let err = (got - want).abs();
            max_err = max_err.max(err);
            n += 1;
            if err > TOLERANCE {
                failures.push(format!("grid {code} r={radius}: {got:.6} vs {want:.6}"));
            }
        }
        assert_eq!(n, 54, "54 grids at radius {radius}");
        eprintln!("radius {radius} m: max abs error {max_err:.5} over {n} grids");
    }
    assert!(
        failures.is_empty(),
        "beyond ±{TOLERANCE}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn analytic_square_cases_match_exact_values() {
    let golden = read_json(&shared("golden/coverage/analytic.json"));
    let grids = serde_json::json!({
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": golden["polygon"],
                      "properties": {"code": "1", "name": "square", "level": "grid", "parent": null}}]
    })
    .to_string();
    let registry = grids_registry("square", &grids);
    let cases = golden["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let index = CoverageIndex::new(&registry, params(case["radius_m"].as_f64().unwrap()));
        let mut coverage = GridCoverage::new();
        for track in case["tracks"].as_array().unwrap() {
            index.cover_polyline(&positions(track), &mut coverage);
        }
        let got = index.coverage(&coverage, 0);
        let want = case["exact"].as_f64().unwrap();
        eprintln!("{name}: {got:.6} (exact {want:.6})");
        assert!(
            (got - want).abs() <= TOLERANCE,
            "{name}: {got} vs exact {want}"
        );
    }
}
