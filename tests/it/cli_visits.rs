//! `gridbeat visits` end to end: the built binary on the committed sample city.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::util::{gridbeat, read_json, sample};

fn visits(checkpoints: &PathBuf, extra: &[&str]) -> Output {
    gridbeat()
        .arg("visits")
        .arg("--checkpoints")
        .arg(checkpoints)
        .arg("--grids")
        .arg(sample("grids.geojson"))
        .arg("--workers")
        .arg(sample("workers.csv"))
        .arg("--pings")
        .arg(sample("pings.csv"))
        .args(extra)
        .output()
        .expect("run gridbeat")
}

#[test]
fn json_has_every_checkpoint_with_visits_and_compliance() {
    let out = visits(&sample("checkpoints.geojson"), &["--month", "2026-10"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(doc["period"]["months"], serde_json::json!(["2026-10"]));
    let cps = doc["checkpoints"].as_array().expect("checkpoints");
    assert_eq!(cps.len(), 69);
    let mut total = 0;
    for c in cps {
        for key in [
            "code",
            "name",
            "grid",
            "kind",
            "required",
            "visits",
            "count",
            "compliance",
        ] {
            assert!(c.get(key).is_some(), "{key} missing in {c}");
        }
        let visits = c["visits"].as_array().unwrap();
        assert_eq!(c["count"].as_u64().unwrap() as usize, visits.len());
        total += visits.len();
        let compliance = c["compliance"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&compliance), "{c}");
        let required = c["required"].as_f64().unwrap();
        let expected = (visits.len() as f64 / required).min(1.0);
        assert!((compliance - expected).abs() < 1e-4, "{c}");
        for v in visits {
            assert!(["dwell", "checkin", "both"].contains(&v["via"].as_str().unwrap()));
            assert!(v["start"].as_str().unwrap() <= v["end"].as_str().unwrap());
            assert!(v["worker"].as_str().unwrap().starts_with("w-"));
        }
    }
    // The visits found straight from the tracks (tests/it/visits_truth.rs, which checks them
    // against the simulator's truth) are the ones the door lists from worker-day summaries.
    let direct = crate::visits_truth::run().visits.len();
    assert!(direct > 0);
    assert_eq!(total, direct);
    let workers = doc["workers"].as_array().expect("workers");
    assert_eq!(workers.len(), 20);
    assert!(workers
        .iter()
        .any(|w| !w["out_of_grid"].as_array().unwrap().is_empty()));
    assert!(doc["rejected_checkins"].is_array());

    // Another month has no visits: compliance 0 everywhere.
    let out = visits(&sample("checkpoints.geojson"), &["--month", "2026-11"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let cps = doc["checkpoints"].as_array().unwrap();
    assert!(!cps.is_empty(), "no checkpoints in {doc}");
    assert!(cps
        .iter()
        .all(|c| c["count"] == 0 && c["compliance"] == 0.0));
}

#[test]
fn csv_has_one_row_per_checkpoint() {
    let out = visits(&sample("checkpoints.geojson"), &["--format", "csv"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("code,name,grid,kind,required,count,compliance")
    );
    assert_eq!(lines.count(), 69);
}

#[test]
fn a_bad_checkpoints_file_names_the_feature() {
    let mut doc = read_json(&sample("checkpoints.geojson"));
    let feature = doc["features"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["properties"]["code"] == "cp-0003")
        .expect("the sample has cp-0003");
    feature["properties"]["grid"] = "nowhere".into();
    let bad = doc.to_string();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoints.geojson");
    std::fs::write(&path, bad).unwrap();
    let out = visits(&path, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("checkpoints.geojson")
            && stderr.contains("cp-0003")
            && stderr.contains("nowhere"),
        "{stderr}"
    );
}
