//! The browser check: the demo (this build's binary) serves the sample city, and headless
//! Chromium opens its map page through the DevTools protocol (`tests/browser/`), waits for the
//! layers and checks the first view (grids coloured and labelled once each, labels that do not
//! overlap, no tracks until a worker is chosen), then the tracks of a chosen worker, the replay,
//! a pop-up and the language, with no console error; then the first view again on a phone-sized
//! screen. Screenshots: `target/map.png` (the README's `docs/map.png`) and `target/map-phone.png`.

use std::path::Path;
use std::process::Command;

/// Debian's Chromium, installed when missing and we may (as `.ci/run` does).
fn chromium() -> bool {
    let found = || {
        Command::new("sh")
            .args(["-c", "command -v chromium"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if found() {
        return true;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if root {
        let _ = Command::new("sh")
            .args([
                "-c",
                "apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null",
            ])
            .status();
    }
    found()
}

#[test]
fn the_demo_map_draws_grids_and_tracks_without_console_errors() {
    assert!(
        chromium(),
        "the browser check needs Debian's chromium: apt-get install chromium fonts-wqy-microhei"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shot = root.join("target").join("map.png");
    let phone_shot = root.join("target").join("map-phone.png");
    let _ = std::fs::remove_file(&shot);
    let _ = std::fs::remove_file(&phone_shot);
    let out = Command::new("python3")
        .arg(root.join("tests/browser/demo_check.py"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_gridbeat"))
        .arg("--screenshot")
        .arg(&shot)
        .arg("--phone-screenshot")
        .arg(&phone_shot)
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser check failed:\n{stdout}\n{stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
            panic!("the check's last line is its JSON summary ({e}):\n{stdout}")
        });
    assert!(
        summary["rendered"]["grids"].as_u64().unwrap_or(0) > 0,
        "{summary}"
    );
    // The first view is the whole city without tracks; a chosen worker's tracks are drawn.
    assert_eq!(summary["rendered"]["tracks"], 0, "{summary}");
    assert!(
        summary["tracks_of_a_worker"].as_u64().unwrap_or(0) > 0,
        "{summary}"
    );
    // The sample's grid names repeat across its three communities (第1网格 three times): every
    // grid is labelled, each label once.
    let grid_labels: Vec<&str> = summary["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_str())
        .filter(|l| l.contains('%'))
        .collect();
    assert_eq!(grid_labels.len(), 12, "{summary}");
    let firsts: std::collections::BTreeSet<&str> = grid_labels
        .iter()
        .map(|l| l.split('\n').next().unwrap_or_default())
        .collect();
    assert_eq!(firsts.len(), 12, "grid labels repeat: {grid_labels:?}");
    for (name, view) in [("desktop", &summary), ("phone", &summary["phone"])] {
        assert_eq!(view["ok"], true, "{name}: {view}");
        assert_eq!(
            view["problems"],
            serde_json::json!([]),
            "{name}: console errors, failed requests: {view}"
        );
    }
    for png in [&shot, &phone_shot] {
        let png = std::fs::read(png).expect("the screenshot");
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 20_000,
            "a real screenshot"
        );
    }
}

/// The vehicles on the map: a service with the sample's vehicles, routes and terminal fixes
/// (`tests/browser/fleet_check.py`), opened in headless Chromium. The routes source has
/// features and the routes layer is drawn (the test hook's `counts` and `rendered()`), with
/// the vehicles' positions; a unit's vehicle tracks are drawn and a route's pop-up shows the
/// route's figures, with no console error. Screenshot: `target/map-routes.png`.
#[test]
fn the_map_draws_routes_and_vehicles() {
    assert!(
        chromium(),
        "the browser check needs Debian's chromium: apt-get install chromium fonts-wqy-microhei"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shot = root.join("target").join("map-routes.png");
    let out = Command::new("python3")
        .arg(root.join("tests/browser/fleet_check.py"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_gridbeat"))
        .arg("--screenshot")
        .arg(&shot)
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser check failed:\n{stdout}\n{stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
            panic!("the check's last line is its JSON summary ({e}):\n{stdout}")
        });
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["problems"], serde_json::json!([]), "{summary}");
    let routes = &summary["routes"];
    assert!(
        routes["counts"]["routes"].as_u64().unwrap_or(0) > 0,
        "{summary}"
    );
    assert!(
        routes["rendered"]["routes"].as_u64().unwrap_or(0) > 0,
        "{summary}"
    );
    assert!(
        routes["rendered"]["vehicles"].as_u64().unwrap_or(0) > 0,
        "{summary}"
    );
    assert!(
        routes["vehicle_tracks"].as_u64().unwrap_or(0) > 0,
        "{summary}"
    );
    // A week of a working fleet in a month of scheduled days: some stretches were passed (a
    // month counts its days without a vehicle-day as missed, as the report does).
    assert!(
        routes["states"]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x == "met" || x == "partial")),
        "{summary}"
    );
}
