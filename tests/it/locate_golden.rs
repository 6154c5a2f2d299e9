//! Point location and grid areas against independent references (GeoPandas spatial join with
//! closed containment; PROJ geodesic areas) on the Helsinki registry of `../shared/data`.

use geo::Coord;
use gridbeat::registry::Registry;

use crate::util::{grids_registry, read_shared};

fn helsinki() -> Registry {
    grids_registry(
        "helsinki_grids.geojson",
        &read_shared("osm/helsinki_grids.geojson"),
    )
}

struct Case {
    lon: f64,
    lat: f64,
    kind: String,
    grid: String,
}

fn cases() -> Vec<Case> {
    let text = read_shared("golden/locate/helsinki_points_expected.csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.expect("readable golden row");
            Case {
                lon: r[0].parse().expect("lon"),
                lat: r[1].parse().expect("lat"),
                kind: r[2].to_string(),
                grid: r[3].to_string(),
            }
        })
        .collect()
}

fn check(name: &str, registry: &Registry, cases: &[Case], found: &[Option<u32>]) {
    let code = |g: Option<u32>| {
        g.map_or(String::new(), |g| {
            registry.grids[g as usize].code.to_string()
        })
    };
    let mismatches: Vec<String> = cases
        .iter()
        .zip(found)
        .filter(|(c, &g)| code(g) != c.grid)
        .map(|(c, &g)| {
            format!(
                "({:?}, {:?}) {}: expected {:?}, got {:?}",
                c.lon,
                c.lat,
                c.kind,
                c.grid,
                code(g)
            )
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{name}: {} of {} points disagree; first:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
}

#[test]
fn locate_matches_the_golden_file_exactly() {
    let registry = helsinki();
    assert_eq!(registry.grids.len(), 54);
    let cases = cases();
    assert_eq!(cases.len(), 20_193, "all golden points read");
    let found: Vec<Option<u32>> = cases
        .iter()
        .map(|c| registry.locate(c.lon, c.lat))
        .collect();
    check("locate", &registry, &cases, &found);
}

#[test]
fn locate_many_matches_the_golden_file_exactly() {
    let registry = helsinki();
    let cases = cases();
    let points: Vec<Coord<f64>> = cases.iter().map(|c| Coord { x: c.lon, y: c.lat }).collect();
    check(
        "locate_many",
        &registry,
        &cases,
        &registry.index.locate_many(&points),
    );
    // In file order the points jump around; sorted, they come in runs like a track does.
    let mut order: Vec<usize> = (0..cases.len()).collect();
    order.sort_by(|&a, &b| {
        (cases[a].lat, cases[a].lon)
            .partial_cmp(&(cases[b].lat, cases[b].lon))
            .expect("finite")
    });
    let sorted_cases: Vec<Case> = order
        .iter()
        .map(|&i| Case {
            lon: cases[i].lon,
            lat: cases[i].lat,
            kind: cases[i].kind.clone(),
            grid: cases[i].grid.clone(),
        })
        .collect();
    let sorted_points: Vec<Coord<f64>> = order.iter().map(|&i| points[i]).collect();
    check(
        "locate_many (sorted)",
        &registry,
        &sorted_cases,
        &registry.index.locate_many(&sorted_points),
    );
}

#[test]
fn grid_areas_match_the_geodesic_reference_within_0_1_percent() {
    let registry = helsinki();
    let text = read_shared("golden/coverage/helsinki_walk_ways_over_200m_grid.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("golden JSON");
    let cases = doc["cases"].as_array().expect("cases");
    let mut checked = 0;
    for case in cases {
        let code = case["grid"].as_str().expect("grid code");
        let expected = case["area_m2"].as_f64().expect("area_m2");
        let id = registry.grid_by_code(code).expect("grid in the registry");
        let area = registry.grids[id as usize].area_m2;
        assert!(
            ((area - expected) / expected).abs() < 1e-3,
            "grid {code}: area {area} m², expected {expected} m²"
        );
        checked += 1;
    }
    assert!(checked >= 54, "only {checked} cases");
}

#[test]
fn the_helsinki_hierarchy_resolves() {
    let registry = helsinki();
    assert!(registry.warnings.is_empty(), "{:?}", registry.warnings);
    let g = registry.grid_by_code("990101001001001").expect("grid");
    let community = registry
        .ancestor(g, gridbeat::model::Level::Community)
        .expect("community");
    assert_eq!(community.code.as_str(), "990101001001");
    let street = registry
        .ancestor(g, gridbeat::model::Level::Street)
        .expect("street");
    assert_eq!(street.code.as_str(), "990101001");
    assert_eq!(registry.grids_in_subtree("990100").len(), 54);
    let in_community = registry.grids_in_subtree("990101001001");
    assert!(!in_community.is_empty() && in_community.len() < 54);
    assert!(in_community.iter().all(|&g| registry.grids[g as usize]
        .code
        .as_str()
        .starts_with("990101001001")));
    assert!(registry.grids_in_subtree("nope").is_empty());
}
