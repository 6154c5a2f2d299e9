//! The browser check: the demo (this build's binary) serves the sample city, and headless
//! Chromium opens its map page through the DevTools protocol (`tests/browser/`), waits for the
//! layers, checks that grids and tracks are drawn and that the console logged no error, and
//! saves a screenshot to `target/map.png`.

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
    let _ = std::fs::remove_file(&shot);
    let out = Command::new("python3")
        .arg(root.join("tests/browser/demo_check.py"))
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
    assert!(
        summary["rendered"]["grids"].as_u64().unwrap_or(0) > 0,
        "{summary}"
    );
    assert!(
        summary["rendered"]["tracks"].as_u64().unwrap_or(0) > 0,
        "{summary}"
    );
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(
        summary["problems"],
        serde_json::json!([]),
        "console errors, failed requests: {summary}"
    );
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real screenshot"
    );
}
