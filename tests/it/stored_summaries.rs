//! Stored worker-day summaries: complete, compact, keyed by codes. Adding a grid or a
//! checkpoint to the registry makes them stale (so they are recomputed) and never re-points a
//! stored figure to another grid or checkpoint.

use gridbeat::assess::stored::Staleness;
use gridbeat::assess::Assessor;
use gridbeat::config::Config;
use gridbeat::model::{Ping, WorkerId};
use serde_json::{json, Value};

use crate::util::{assessor_with, read_sample, registry_of, sample_pings};

fn assessor(grids: &str, checkpoints: &str, config: Config) -> Assessor {
    let registry = registry_of(grids, &read_sample("workers.csv"), checkpoints);
    assessor_with(registry, config)
}

/// The sample grids plus a new grid far to the south-west whose code sorts before every other,
/// so every grid id of the registry moves up by one.
fn grids_with_a_new_first_grid() -> String {
    let mut doc: Value = serde_json::from_str(&read_sample("grids.geojson")).unwrap();
    let features = doc["features"].as_array_mut().unwrap();
    let community = features
        .iter()
        .find(|f| f["properties"]["level"] == "community")
        .unwrap()["properties"]["code"]
        .clone();
    let (x, y) = (112.80, 28.05);
    features.push(json!({
        "type": "Feature",
        "properties": {"code": "000000000000000", "name": "新网格", "level": "grid", "parent": community},
        "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 0.002, y], [x + 0.002, y + 0.002], [x, y + 0.002], [x, y]]]},
    }));
    doc.to_string()
}

/// The sample checkpoints plus one whose code sorts first, on the first sample checkpoint.
fn checkpoints_with_a_new_first_one() -> String {
    let mut doc: Value = serde_json::from_str(&read_sample("checkpoints.geojson")).unwrap();
    let features = doc["features"].as_array_mut().unwrap();
    let mut extra = features[0].clone();
    extra["properties"]["code"] = json!("cp-0000");
    features.insert(0, extra);
    doc.to_string()
}

fn one_worker() -> (WorkerId, Vec<Ping>) {
    let pings = sample_pings();
    // The worker with the most pings: a diligent one, out every day.
    let mut counts: std::collections::BTreeMap<WorkerId, usize> = Default::default();
    for p in &pings {
        *counts.entry(p.worker.clone()).or_default() += 1;
    }
    let worker = counts.into_iter().max_by_key(|(_, n)| *n).unwrap().0;
    let own = pings.into_iter().filter(|p| p.worker == worker).collect();
    (worker, own)
}

#[test]
fn a_stored_summary_decodes_to_the_same_summary() {
    let a = assessor(
        &read_sample("grids.geojson"),
        &read_sample("checkpoints.geojson"),
        Config::default(),
    );
    let (worker, pings) = one_worker();
    let days = a.summarize_worker(&worker, &pings);
    assert!(days.len() >= 5);
    let mut bytes = 0;
    for d in &days {
        let stored = a.encode(d);
        bytes += stored.len();
        let back = a.decode(&stored).unwrap();
        assert!(back.stale.is_empty(), "{:?}", back.stale);
        assert_eq!(&back.day, d);
    }
    // Compact: a worker-day of ~700 pings (masks, path, fingerprint included) in a few KB.
    let per_day = bytes / days.len();
    assert!(per_day < 64 * 1024, "{per_day} bytes per worker-day");
    assert!(a.decode(b"not a summary").is_err());
}

#[test]
fn adding_a_grid_and_a_checkpoint_makes_stored_summaries_stale_never_re_pointed() {
    let old = assessor(
        &read_sample("grids.geojson"),
        &read_sample("checkpoints.geojson"),
        Config::default(),
    );
    let new = assessor(
        &grids_with_a_new_first_grid(),
        &checkpoints_with_a_new_first_one(),
        Config::default(),
    );
    assert_eq!(new.registry.grids.len(), old.registry.grids.len() + 1);
    let (worker, pings) = one_worker();
    let days = old.summarize_worker(&worker, &pings);
    let mut visits = 0;
    for d in &days {
        let back = new.decode(&old.encode(d)).unwrap();
        assert!(back.stale.contains(&Staleness::Grids));
        assert!(back.stale.contains(&Staleness::Checkpoints));
        // Every grid's figure stays with its code, though every grid id moved.
        for (g, mask) in d.coverage.iter() {
            let code = old.registry.grids[g as usize].code.as_str();
            let g_new = new.registry.grid_by_code(code).unwrap();
            assert_eq!(g_new, g + 1);
            assert_eq!(back.day.coverage.get(g_new), Some(mask));
            assert_eq!(
                old.coverage.share(g, mask),
                new.coverage
                    .share(g_new, back.day.coverage.get(g_new).unwrap())
            );
        }
        for (v_old, v_new) in d.visits.iter().zip(&back.day.visits) {
            assert_eq!(
                old.registry.checkpoints[v_old.checkpoint].code,
                new.registry.checkpoints[v_new.checkpoint].code
            );
            assert_eq!(v_new.checkpoint, v_old.checkpoint + 1);
            visits += 1;
        }
    }
    assert!(visits > 0, "the worker visits checkpoints");
}

#[test]
fn other_parameters_or_assignments_make_a_summary_stale() {
    let a = assessor(
        &read_sample("grids.geojson"),
        &read_sample("checkpoints.geojson"),
        Config::default(),
    );
    let (worker, pings) = one_worker();
    let d = &a.summarize_worker(&worker, &pings)[0];
    let stored = a.encode(d);
    let c = Config {
        coverage_radius_m: 25.0,
        ..Config::default()
    };
    let b = assessor(
        &read_sample("grids.geojson"),
        &read_sample("checkpoints.geojson"),
        c,
    );
    assert_eq!(b.decode(&stored).unwrap().stale, vec![Staleness::Params]);
}
