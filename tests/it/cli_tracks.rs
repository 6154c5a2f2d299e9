//! `gridbeat tracks` end to end: the built binary on real tracks (../shared/data), the sample
//! city (data/sample) and small files written here.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{read_json, run, sample, shared, worker_row};

/// Runs `gridbeat tracks ARGS`, expects success, and parses standard output.
fn tracks_ok(args: &[&str]) -> (Value, String) {
    let mut all = vec!["tracks"];
    all.extend_from_slice(args);
    let out = run(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    let doc = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    (doc, stderr)
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn zurich() -> PathBuf {
    shared("gps/google_phone_zurich.csv")
}

#[test]
fn zurich_without_cleaning_reproduces_the_golden_values() {
    let golden = read_json(&shared(
        "golden/tracks/google_phone_zurich__gap300_r50_t300.json",
    ));
    let (doc, _) = tracks_ok(&[
        "--no-clean",
        "--set",
        "max_gap_s=300",
        "--set",
        "stay_radius_m=50",
        "--set",
        "stay_min_s=300",
        "--pings",
        path_str(&zurich()),
    ]);
    let params = &doc["params"];
    assert_eq!(params["max_gap_s"].as_f64(), Some(300.0));
    assert_eq!(params["stay_radius_m"].as_f64(), Some(50.0));
    assert_eq!(params["stay_min_s"].as_f64(), Some(300.0));
    assert_eq!(params["clean"], Value::Bool(false));

    let expected_workers = golden["workers"].as_array().unwrap();
    assert!(!expected_workers.is_empty(), "the golden file has workers");
    assert_eq!(
        doc["workers"].as_array().unwrap().len(),
        expected_workers.len()
    );
    for g in expected_workers {
        let name = g["worker"].as_str().unwrap();
        let w = worker_row(&doc, name);
        assert_eq!(w["pings"], g["pings"], "{name}: pings");
        assert_eq!(w["accepted"], g["after_dedupe"], "{name}: accepted");
        assert_eq!(w["segments"], g["segments"], "{name}: segments");
        let (len, want) = (
            w["length_m"].as_f64().unwrap(),
            g["length_m"].as_f64().unwrap(),
        );
        assert!(
            (len - want).abs() / want < 1e-4,
            "{name}: length {len} vs {want}"
        );
        let (patrol, want) = (
            w["patrol_s"].as_f64().unwrap(),
            g["patrol_s"].as_f64().unwrap(),
        );
        assert!(
            (patrol - want).abs() < 1e-3,
            "{name}: patrol {patrol} vs {want}"
        );
        let got = w["stays"].as_array().unwrap();
        let want = g["stays"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{name}: stay count");
        for (s, e) in got.iter().zip(want) {
            assert_eq!((&s["start"], &s["end"]), (&e["start"], &e["end"]), "{name}");
            assert_eq!(s["pings"], e["pings"], "{name}: stay at {}", e["start"]);
            assert!((s["lat"].as_f64().unwrap() - e["lat"].as_f64().unwrap()).abs() < 1e-6);
            assert!((s["lon"].as_f64().unwrap() - e["lon"].as_f64().unwrap()).abs() < 1e-6);
        }
    }
}

/// Checks every key and type of one worker's JSON, and that its days add up.
fn check_worker_shape(w: &Value) {
    let name = w["worker"].as_str().expect("worker is a string");
    for key in ["pings", "accepted", "segments"] {
        assert!(w[key].is_u64(), "{name}: {key} = {}", w[key]);
    }
    for key in ["length_m", "patrol_s"] {
        assert!(w[key].as_f64().is_some_and(|x| x >= 0.0), "{name}: {key}");
    }
    let dropped = &w["dropped"];
    let mut dropped_total = 0;
    for key in ["conflict", "future", "accuracy", "speed"] {
        dropped_total += dropped[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: dropped.{key}"));
    }
    assert_eq!(dropped.as_object().unwrap().len(), 4, "{name}: {dropped}");
    assert_eq!(
        w["pings"].as_u64().unwrap(),
        w["accepted"].as_u64().unwrap() + dropped_total,
        "{name}: pings = accepted + dropped"
    );
    let stays = w["stays"].as_array().expect("stays is an array");
    for s in stays {
        let (start, end) = (s["start"].as_str().unwrap(), s["end"].as_str().unwrap());
        let start = chrono::DateTime::parse_from_rfc3339(start).unwrap();
        let end = chrono::DateTime::parse_from_rfc3339(end).unwrap();
        assert!(start < end, "{name}: stay {s}");
        assert!(s["lat"].is_f64() && s["lon"].is_f64(), "{name}: stay {s}");
        assert!(s["pings"].as_u64().is_some_and(|n| n >= 1));
    }
    for a in w["anomalies"].as_array().expect("anomalies is an array") {
        assert!(a["day"].is_string() && a["kind"].is_string(), "{name}: {a}");
        assert!(a["evidence"].is_object(), "{name}: {a}");
    }
    let days = w["days"].as_array().expect("days is an array");
    let (mut length, mut patrol, mut fixes, mut n_stays) = (0.0, 0.0, 0, 0);
    for d in days {
        assert!(
            chrono::NaiveDate::parse_from_str(d["day"].as_str().unwrap(), "%Y-%m-%d").is_ok(),
            "{name}: {d}"
        );
        assert!(d["segments"].is_u64(), "{name}: {d}");
        length += d["length_m"].as_f64().unwrap();
        patrol += d["patrol_s"].as_f64().unwrap();
        fixes += d["fixes"].as_u64().unwrap();
        n_stays += d["stays"].as_u64().unwrap();
    }
    // Days are rounded to 0.1 m each; the total once.
    let total_length = w["length_m"].as_f64().unwrap();
    let tol = 0.05 * (days.len() as f64 + 1.0);
    assert!(
        (length - total_length).abs() <= tol,
        "{name}: {length} vs {total_length}"
    );
    let total_patrol = w["patrol_s"].as_f64().unwrap();
    assert!(
        (patrol - total_patrol).abs() <= 1e-3,
        "{name}: {patrol} vs {total_patrol}"
    );
    assert_eq!(fixes, w["accepted"].as_u64().unwrap(), "{name}: day fixes");
    assert_eq!(n_stays, stays.len() as u64, "{name}: day stays");
}

#[test]
fn json_output_has_every_key_with_the_right_type_and_days_add_up() {
    // w-0008 has jumps and mock pings in the sample city, so every part is populated.
    let (doc, _) = tracks_ok(&[
        "--pings",
        path_str(&sample("pings.csv")),
        "--worker",
        "w-0008",
    ]);
    assert!(doc["params"].is_object());
    assert_eq!(doc["params"]["clean"], Value::Bool(true));
    assert_eq!(
        doc["params"]["max_gap_s"].as_f64(),
        Some(300.0),
        "the default"
    );
    let workers = doc["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 1);
    let w = &workers[0];
    check_worker_shape(w);
    assert!(w["days"].as_array().unwrap().len() > 1);
    assert!(!w["stays"].as_array().unwrap().is_empty());
    let kinds: Vec<&str> = w["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"jumps") && kinds.contains(&"mock_location"),
        "{kinds:?}"
    );
    assert!(w["dropped"]["speed"].as_u64().unwrap() > 0);

    let (doc, _) = tracks_ok(&["--pings", path_str(&zurich())]);
    check_worker_shape(worker_row(&doc, "google_1"));
}

/// The bounding box (min lon, min lat, max lon, max lat) of a CSV of pings, read here.
fn bbox_of_csv(path: &Path) -> [f64; 4] {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (lat_i, lon_i) = (col("lat"), col("lon"));
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let (lon, lat): (f64, f64) = (f[lon_i].parse().unwrap(), f[lat_i].parse().unwrap());
        b = [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)];
    }
    b
}

#[test]
fn geojson_output_is_a_feature_collection_of_tracks_and_stays() {
    let path = zurich();
    let (doc, _) = tracks_ok(&["--pings", path_str(&path), "--format", "geojson"]);
    let (json, _) = tracks_ok(&["--pings", path_str(&path)]);
    let w = worker_row(&json, "google_1");
    assert_eq!(doc["type"], "FeatureCollection");
    let features = doc["features"].as_array().unwrap();
    let bbox = bbox_of_csv(&path);
    let eps = 1e-6; // output is rounded to 6 decimals (the layers' policy)
    let inside = |c: &Value| {
        let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        lon >= bbox[0] - eps && lon <= bbox[2] + eps && lat >= bbox[1] - eps && lat <= bbox[3] + eps
    };
    let (mut tracks, mut stays, mut track_length) = (0, 0, 0.0);
    let mut positions = 0;
    for f in features {
        assert_eq!(f["type"], "Feature");
        let props = &f["properties"];
        assert_eq!(props["worker"], "google_1");
        assert!(props["day"].is_string());
        match props["kind"].as_str().unwrap() {
            "gap" => {
                assert_eq!(f["geometry"]["type"], "LineString");
                assert_eq!(f["geometry"]["coordinates"].as_array().unwrap().len(), 2);
            }
            "walk" => {
                tracks += 1;
                track_length += props["length_m"].as_f64().unwrap();
                assert!(props["patrol_s"].is_f64());
                assert_eq!(f["geometry"]["type"], "MultiLineString");
                for line in f["geometry"]["coordinates"].as_array().unwrap() {
                    let line = line.as_array().unwrap();
                    assert!(line.len() >= 2);
                    for c in line {
                        assert_eq!(c.as_array().unwrap().len(), 2);
                        assert!(inside(c), "{c} outside {bbox:?} (lat and lon swapped?)");
                        positions += 1;
                    }
                }
            }
            "stay" => {
                stays += 1;
                assert_eq!(f["geometry"]["type"], "Point");
                assert!(inside(&f["geometry"]["coordinates"]));
            }
            other => panic!("unexpected kind {other}"),
        }
    }
    assert_eq!(
        tracks,
        w["days"].as_array().unwrap().len(),
        "one track per day"
    );
    assert_eq!(stays, w["stays"].as_array().unwrap().len());
    let accepted = w["accepted"].as_u64().unwrap() as usize;
    assert!(
        positions >= 2 && positions < accepted,
        "simplified: {positions} of {accepted}"
    );
    let total = w["length_m"].as_f64().unwrap();
    assert!((track_length - total).abs() <= 0.05 * (tracks as f64 + 1.0));
}

#[test]
fn worker_filter_keeps_only_that_worker() {
    let path = sample("pings.csv");
    // Pings received: the worker's distinct rows (a repeated row is no ping, DESIGN.md §4.2.1).
    let rows = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("w-0003,"))
        .map(String::from)
        .collect::<std::collections::HashSet<String>>()
        .len() as u64;
    let (doc, _) = tracks_ok(&["--pings", path_str(&path), "--worker", "w-0003"]);
    let workers = doc["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 1);
    assert_eq!(workers[0]["worker"], "w-0003");
    assert_eq!(workers[0]["pings"].as_u64(), Some(rows));
    assert!(rows > 100);

    // A worker the files never name gets no report at all, and never someone else's.
    let out = run(["tracks", "--pings", path_str(&path), "--worker", "nobody"]);
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("w-00"));
}

#[test]
fn a_gpx_file_belongs_to_the_worker_named_on_the_command_line() {
    let path = shared("protocols/wikipedia_example.gpx");
    let points = std::fs::read_to_string(&path)
        .unwrap()
        .matches("<trkpt ")
        .count() as u64;
    let (doc, _) = tracks_ok(&["--pings", path_str(&path), "--worker", "w9"]);
    let workers = doc["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 1);
    assert_eq!(workers[0]["worker"], "w9");
    assert_eq!(workers[0]["pings"].as_u64(), Some(points));
    // 18:37:26 to 18:37:34 UTC: one segment of 8 s.
    assert_eq!(workers[0]["patrol_s"].as_f64(), Some(8.0));
}

#[test]
fn timestamps_in_every_form_and_the_worker_id_alias_agree() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("rfc.csv");
    let b = dir.path().join("unix.csv");
    std::fs::write(
        &a,
        "worker,ts,lat,lon\n\
         w1,2026-10-08T09:30:00+08:00,28.2,112.98\n\
         w1,2026-10-08T01:31:00Z,28.2005,112.98\n\
         w1,2026-10-08T09:32:00.500+08:00,28.201,112.98\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "worker_id,ts,lat,lon\n\
         w1,1791423000,28.2,112.98\n\
         w1,1791423060000,28.2005,112.98\n\
         w1,1791423120.5,28.201,112.98\n",
    )
    .unwrap();
    let (x, _) = tracks_ok(&["--pings", path_str(&a)]);
    let (y, _) = tracks_ok(&["--pings", path_str(&b)]);
    assert_eq!(x["workers"], y["workers"]);
    assert_eq!(x["workers"][0]["patrol_s"].as_f64(), Some(120.5));
}

/// A CSV with one good row before and after each kind of bad row, and a worker whose every
/// row is bad.
const BAD_CSV: &str = "worker,ts,lat,lon\n\
w1,2026-10-08T01:30:00Z,28.2,112.98\n\
w1,not-a-time,28.2,112.98\n\
w1,2026-10-08T01:30:20Z,NaN,112.98\n\
w1,2026-10-08T01:30:30Z,123,112.98\n\
w1,2026-10-08T01:30:40Z,28.2,\n\
w1,2026-10-08T01:30:50Z,28.2001,112.9801\n\
w2,2026-10-08T01:30:50Z,95,200\n\
w2,2026-10-08T01:31:50Z,inf,112.98\n";

#[test]
fn bad_rows_are_reported_with_file_and_line_and_the_good_rows_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, BAD_CSV).unwrap();
    let (doc, stderr) = tracks_ok(&["--keep-going", "--pings", path_str(&path)]);
    let shown = path.display().to_string();
    for (line, what) in [
        (3, "not-a-time"),
        (4, "finite"),
        (5, "123"),
        (6, "lon"),
        (8, "95"),
        (9, "finite"),
    ] {
        let needle = format!("{shown}:{line}: ");
        let at = stderr
            .lines()
            .find(|l| l.contains(&needle))
            .unwrap_or_else(|| panic!("no {needle} in {stderr}"));
        assert!(at.contains(what), "{at}");
    }
    assert!(!stderr.contains(&format!("{shown}:2:")) && !stderr.contains(&format!("{shown}:7:")));

    let w1 = worker_row(&doc, "w1");
    assert_eq!(
        (w1["pings"].as_u64(), w1["accepted"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(w1["patrol_s"].as_f64(), Some(50.0));

    // Every row of w2 is bad: it is reported, with zeros.
    let w2 = worker_row(&doc, "w2");
    check_worker_shape(w2);
    for key in ["pings", "accepted", "segments"] {
        assert_eq!(w2[key].as_u64(), Some(0), "{key}");
    }
    for key in ["length_m", "patrol_s"] {
        let x = w2[key].as_f64().unwrap();
        assert!(x == 0.0 && x.is_sign_positive(), "{key} = {x:?}");
    }
    assert!(w2["days"].as_array().unwrap().is_empty());
}

#[test]
fn strict_makes_a_bad_row_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, BAD_CSV).unwrap();
    let out = run(["tracks", "--strict", "--pings", path_str(&path)]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no report on failure");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3: ", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("error:"), "{stderr}");

    // A clean file passes --strict.
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "worker,ts,lat,lon\nw1,1791423000,28.2,112.98\n").unwrap();
    let (doc, _) = tracks_ok(&["--strict", "--pings", path_str(&good)]);
    assert_eq!(worker_row(&doc, "w1")["pings"].as_u64(), Some(1));
}

/// Runs `gridbeat tracks --pings PATH`, expects failure, and returns standard error.
fn tracks_err(path: &Path) -> String {
    let out = run(["tracks", "--pings", path_str(path)]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    stderr
}

#[test]
fn empty_and_header_only_files_give_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let stderr = tracks_err(&empty);
    assert!(
        stderr.contains(&format!("{}: ", empty.display())),
        "{stderr}"
    );
    assert!(stderr.contains("empty"), "{stderr}");

    let header = dir.path().join("header.csv");
    std::fs::write(&header, "worker,ts,lat,lon\n").unwrap();
    let stderr = tracks_err(&header);
    assert!(stderr.contains(&header.display().to_string()), "{stderr}");
    assert!(stderr.contains("no pings"), "{stderr}");
}

#[test]
fn a_missing_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nolon.csv");
    std::fs::write(&path, "worker,ts,lat\nw1,1791423000,28.2\n").unwrap();
    let stderr = tracks_err(&path);
    assert!(stderr.contains("\"lon\""), "{stderr}");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
}

#[test]
fn parquet_and_csv_give_identical_reports() {
    let csv = sample("pings.csv");
    let pq = sample("pings.parquet");
    for w in ["w-0001", "w-0008"] {
        let (a, _) = tracks_ok(&["--pings", path_str(&csv), "--worker", w]);
        let (b, _) = tracks_ok(&["--pings", path_str(&pq), "--worker", w]);
        assert!(worker_row(&a, w)["pings"].as_u64().unwrap() > 100);
        assert_eq!(a, b, "{w}");
    }
}
