//! The committed sample city (`data/sample/`) and the simulator's output load through the
//! registry exactly as users' files do: no errors, no warnings, and the pings fall where the
//! truth says the workers were.

use std::collections::HashMap;

use crate::util::{read_json, read_sample, sample, sample_registry};
use gridbeat::ingest::csv::read_pings;
use gridbeat::model::Crs;

#[test]
fn the_sample_city_loads_without_warnings_and_has_the_documented_shape() {
    let r = sample_registry();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.grids.len(), 12);
    assert_eq!(r.workers.len(), 20);
    let communities = r
        .units
        .iter()
        .filter(|u| u.level == gridbeat::model::Level::Community)
        .count();
    assert!((2..=3).contains(&communities), "{communities} communities");
    for g in &r.grids {
        assert!(
            (50_000.0..500_000.0).contains(&g.area_m2),
            "{} has {} m²",
            g.code,
            g.area_m2
        );
    }
    for w in &r.workers {
        assert!(!w.grids.is_empty(), "{} has no grid", w.id);
    }
}

#[test]
fn diligent_workers_pings_fall_mostly_in_their_own_grid_and_out_of_grid_workers_less() {
    let r = sample_registry();
    let truth = read_json(&sample("truth.json"));
    let labels: HashMap<String, String> = truth["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["worker"].as_str().unwrap().to_string(),
                w["label"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let text = read_sample("pings.csv");
    let decoded = read_pings(text.as_bytes(), "pings.csv", Crs::Wgs84).unwrap();
    assert!(
        decoded.errors.is_empty(),
        "{:?}",
        &decoded.errors[..decoded.errors.len().min(3)]
    );

    let mut share: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut locator = r.index.locator();
    for p in &decoded.pings {
        let own = r
            .worker(p.worker.as_str())
            .expect("every pinging worker is registered");
        let inside = locator
            .locate(p.lon, p.lat)
            .is_some_and(|g| own.grids.contains(&g));
        let e = share.entry(labels[p.worker.as_str()].as_str()).or_default();
        e.0 += usize::from(inside);
        e.1 += 1;
    }
    let ratio = |label: &str| {
        share
            .get(label)
            .map(|(a, n)| *a as f64 / *n as f64)
            .unwrap()
    };
    // Boundaries follow streets, so a diligent worker's noisy fixes fall on either side of
    // boundary streets; still, most are inside.
    assert!(ratio("diligent") > 0.7, "diligent {}", ratio("diligent"));
    assert!(
        ratio("out_of_grid") < ratio("diligent") - 0.05,
        "out_of_grid {} vs diligent {}",
        ratio("out_of_grid"),
        ratio("diligent")
    );
}
