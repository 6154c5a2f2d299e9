//! The history lake with the real binary: a simulated month (with night shifts across
//! midnight and across the month's first and last day) into a lake of 8 buckets, every bucket
//! summarised, then `report --lake` equals `gridbeat report` on the same pings value for value.
//! A re-run with other score weights reuses every worker-day; other cleaning parameters
//! summarise every partition again; partitions are deterministic; a lake of another layout
//! and a damaged part are refused naming the file.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{assert_success, gridbeat};

fn run(args: &[&str]) -> (String, String) {
    let out = gridbeat().args(args).output().unwrap();
    assert_success(&out);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `gridbeat report --lake LAKE --month 2026-10 --format FORMAT --out OUT EXTRA…`: what it
/// printed on stdout and stderr.
fn lake_report(lake: &Path, out: &Path, format: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec![
        "report",
        "--lake",
        s(lake),
        "--month",
        "2026-10",
        "--format",
        format,
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// `gridbeat report` for October on the files of the simulation in `sim`, as JSON into `out`.
pub fn batch_report(sim: &Path, out: &Path) {
    let (grids, workers, cps, pings) = sim_files(sim);
    run(&[
        "report",
        "--grids",
        s(&grids),
        "--workers",
        s(&workers),
        "--checkpoints",
        s(&cps),
        "--pings",
        s(&pings),
        "--month",
        "2026-10",
        "--format",
        "json",
        "--out",
        s(out),
    ]);
}

/// A report.json without its `generated_at`.
pub fn report_json(dir: &Path) -> Value {
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("generated_at");
    v
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The registry files and pings of a simulation in `sim`: grids, workers, checkpoints, pings.
pub fn sim_files(sim: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    (
        sim.join("grids.geojson"),
        sim.join("workers.csv"),
        sim.join("checkpoints.geojson"),
        sim.join("pings.parquet"),
    )
}

/// A simulated month in `dir/sim` (16 workers from 2026-09-28 for 36 days, a third on night
/// shifts, so nights cross the month's first and last midnight) added to a lake of 8 buckets
/// in `dir/lake` with its registry; returns the lake and what `lake add` said.
pub fn simulated_lake(dir: &Path) -> (PathBuf, String) {
    let sim = dir.join("sim");
    run(&[
        "simulate",
        "--seed",
        "11",
        "--workers",
        "16",
        "--days",
        "36",
        "--start",
        "2026-09-28",
        "--night-share",
        "0.3",
        "--out",
        s(&sim),
    ]);
    let (grids, workers, cps, pings) = sim_files(&sim);
    let lake = dir.join("lake");
    let (said, _) = run(&[
        "lake",
        "add",
        "--lake",
        s(&lake),
        "--buckets",
        "8",
        "--grids",
        s(&grids),
        "--workers",
        s(&workers),
        "--checkpoints",
        s(&cps),
        s(&pings),
    ]);
    (lake, said)
}

#[test]
fn summarize_every_bucket_then_report_from_the_lake_equals_the_batch_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (lake, said) = simulated_lake(d);
    let sim = d.join("sim");
    let (grids, workers, cps, pings) = sim_files(&sim);
    assert!(said.contains("partitions written"), "{said}");
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(lake.join("_gridbeat.json")).unwrap())
            .unwrap();
    assert_eq!(
        (meta["layout"].as_u64(), meta["buckets"].as_u64()),
        (Some(1), Some(8))
    );
    assert_eq!(meta["timezone"], "Asia/Shanghai");
    assert!(
        lake.join("pings/month=2026-10/bucket=000/part-00000.parquet")
            .exists()
            || (1..8).any(|b| lake
                .join(format!(
                    "pings/month=2026-10/bucket={b:03}/part-00000.parquet"
                ))
                .exists())
    );
    // Adding the same file again changes no partition's rows (every row is already there).
    let (again, _) = run(&["lake", "add", "--lake", s(&lake), s(&pings)]);
    assert!(again.contains("already in the lake"), "{again}");

    let (said, _) = run(&["summarize", "--lake", s(&lake), "--month", "2026-10"]);
    assert!(said.contains("8 partition(s)"), "{said}");
    let part = |b: u32| {
        lake.join(format!(
            "worker_days/month=2026-10/bucket={b:03}/part-00000.parquet"
        ))
    };
    let first: Vec<Vec<u8>> = (0..8)
        .map(|b| std::fs::read(part(b)).unwrap_or_default())
        .collect();
    // Deterministic: the same partition again gives the same bytes.
    run(&[
        "summarize",
        "--lake",
        s(&lake),
        "--month",
        "2026-10",
        "--bucket",
        "3",
    ]);
    assert_eq!(std::fs::read(part(3)).unwrap_or_default(), first[3]);

    let from_lake = d.join("from-lake");
    let (_, err) = lake_report(&lake, &from_lake, "json", &[]);
    assert!(
        !err.contains("summarised again"),
        "every partition was current: {err}"
    );
    let batch = d.join("batch");
    batch_report(&sim, &batch);
    let (a, b) = (report_json(&from_lake), report_json(&batch));
    assert!(a["workers"].as_array().unwrap().len() >= 16);
    // September and November are in the lake: every day of October had its context.
    assert!(a.get("days_without_context").is_none(), "{a:?}");
    assert_eq!(a["workers"], b["workers"], "worker rows");
    assert_eq!(a, b, "the whole report");

    // The map layers from the lake equal those from the files.
    for layer in ["grids", "tracks", "visits"] {
        let (from_lake, _) = run(&["layers", layer, "--lake", s(&lake), "--month", "2026-10"]);
        let (from_files, _) = run(&[
            "layers",
            layer,
            "--grids",
            s(&grids),
            "--workers",
            s(&workers),
            "--checkpoints",
            s(&cps),
            "--month",
            "2026-10",
            s(&pings),
        ]);
        let (a, b): (Value, Value) = (
            serde_json::from_str(&from_lake).unwrap(),
            serde_json::from_str(&from_files).unwrap(),
        );
        assert!(!a["features"].as_array().unwrap().is_empty(), "{layer}");
        // The same features; their order follows the input's worker order in the files.
        let sorted = |v: &Value| -> Vec<String> {
            let mut f: Vec<String> = v["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.to_string())
                .collect();
            f.sort();
            f
        };
        assert_eq!(sorted(&a), sorted(&b), "the {layer} layer's features");
        assert_eq!(a["bbox"], b["bbox"], "the {layer} layer's bbox");
    }

    // Other score weights: the same worker-days (nothing summarised again), other scores.
    let weights = d.join("weights");
    let (_, err) = lake_report(&lake, &weights, "json", &["--set", "score.days_weight=0.9"]);
    assert!(!err.contains("summarised again"), "{err}");
    assert_eq!(
        (0..8)
            .map(|b| std::fs::read(part(b)).unwrap_or_default())
            .collect::<Vec<_>>(),
        first
    );
    assert_ne!(report_json(&weights)["workers"], a["workers"]);

    // Other cleaning parameters: every partition is summarised again, and says so.
    let other = d.join("other");
    let (_, err) = lake_report(&lake, &other, "json", &["--set", "max_gap_s=600"]);
    assert_eq!(
        err.matches("other cleaning parameters: summarised again")
            .count(),
        8,
        "{err}"
    );
}

#[test]
fn another_layout_and_a_damaged_part_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir_all(&lake).unwrap();
    std::fs::write(
        lake.join("_gridbeat.json"),
        r#"{"layout": 2, "buckets": 8, "timezone": "Asia/Shanghai"}"#,
    )
    .unwrap();
    let out = gridbeat()
        .args(["summarize", "--lake", s(&lake), "--month", "2026-10"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("_gridbeat.json") && err.contains("layout version 2"),
        "{err}"
    );

    // A lake of layout 1 whose worker_days part is not Parquet.
    let sample = crate::util::sample("grids.geojson");
    run(&[
        "lake",
        "add",
        "--lake",
        s(&lake.with_file_name("lake1")),
        "--buckets",
        "1",
        "--grids",
        s(&sample),
        "--workers",
        s(&crate::util::sample("workers.csv")),
    ]);
    let lake1 = lake.with_file_name("lake1");
    let part = lake1.join("worker_days/month=2026-10/bucket=000/part-00000.parquet");
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    std::fs::write(&part, b"not parquet").unwrap();
    let out = gridbeat()
        .args([
            "report",
            "--lake",
            s(&lake1),
            "--month",
            "2026-10",
            "--out",
            s(&dir.path().join("r")),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("part-00000.parquet"), "{err}");
}

/// Pings ingested by the service → `export` → lake → `report --lake` equals the service's own
/// report of that month.
#[cfg(feature = "service")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_from_the_service_then_report_from_the_lake_equals_the_service_report() {
    use gridbeat::config::Config;
    use gridbeat::server::AppState;
    use gridbeat::store::{Location, OpenOptions};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = crate::util::demo_data(d);
    run(&[
        "import",
        "--data",
        s(&data),
        s(&crate::util::sample("pings.csv")),
    ]);
    let served = {
        let state = AppState::open_at(
            Config::default(),
            &Location::Dir(data.clone()),
            &OpenOptions::default(),
            std::time::Duration::ZERO,
        )
        .unwrap();
        crate::util::settle(&state).await;
        crate::util::get_json(&state, "/api/v1/reports/2026-10").await
    };
    let lake = d.join("lake");
    let (said, _) = run(&[
        "export",
        "--lake",
        s(&lake),
        "--month",
        "2026-10",
        "--data",
        s(&data),
        "--buckets",
        "4",
    ]);
    assert!(said.contains("logged conflicts"), "{said}");
    assert!(lake.join("registry/grids.geojson").exists());
    let out = d.join("from-lake");
    let (_, err) = lake_report(&lake, &out, "json,html", &[]);
    // Only October was exported: its first and last days lack their neighbours' context, and
    // the report says so (in the JSON, the HTML and on stderr).
    let mut from_lake = report_json(&out);
    assert_eq!(
        from_lake
            .as_object_mut()
            .unwrap()
            .remove("days_without_context"),
        Some(serde_json::json!(["2026-10-01", "2026-10-31"]))
    );
    assert!(
        err.contains("2026-10-01 was summarised without context"),
        "{err}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("2026-10-01, 2026-10-31"), "{html}");
    let from_lake = crate::util::without_timing(from_lake);
    let served = crate::util::without_timing(served);
    assert_eq!(from_lake["workers"], served["workers"], "worker rows");
    assert_eq!(from_lake, served, "the whole report");
}
