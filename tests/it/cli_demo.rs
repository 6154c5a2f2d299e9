//! `gridbeat demo` end to end: it runs from any directory on the embedded sample city.

use crate::util::{assert_success, gridbeat, sample};

#[test]
fn demo_summarises_the_embedded_sample_city() {
    let dir = tempfile::tempdir().unwrap();
    let out = gridbeat()
        .args(["demo", "--no-serve", "--out"])
        .arg(dir.path().join("city"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("12 grids"), "{text}");
    assert!(text.contains("20 workers"), "{text}");
    // Every data line of the sample's CSV, counted as text (not by the decoder under test).
    let rows = std::fs::read_to_string(sample("pings.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    assert!(rows > 0);
    assert!(
        text.contains(&format!("{rows} read, 0 unreadable")),
        "{rows} rows: {text}"
    );
    // One row per worker.
    assert_eq!(
        text.lines().filter(|l| l.starts_with("w-00")).count(),
        20,
        "{text}"
    );
    for f in [
        "grids.geojson",
        "workers.csv",
        "checkpoints.geojson",
        "pings.csv",
        "truth.json",
    ] {
        assert!(dir.path().join("city").join(f).is_file(), "{f} written");
    }
}
