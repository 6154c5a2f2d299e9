//! The monthly report served over HTTP equals `gridbeat report` on the same pings: every
//! figure, every row, the parameters and the formula (only `generated_at` and the service's
//! `freshness` differ).

use std::process::Command;
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use gridbeat::cli::demo::sample;
use gridbeat::config::Config;
use gridbeat::server::{router, AppState};
use gridbeat::store::RegistryFile;
use serde_json::Value;
use tower::ServiceExt;

async fn get_json(state: &Arc<AppState>, uri: &str) -> Value {
    let resp = router(Arc::clone(state))
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    serde_json::from_slice(&to_bytes(resp.into_body(), usize::MAX).await.unwrap()).unwrap()
}

fn without_timing(mut v: Value) -> Value {
    let o = v.as_object_mut().unwrap();
    o.remove("generated_at");
    o.remove("freshness");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_report_equals_the_batch_report() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("city");
    let out = Command::new(env!("CARGO_BIN_EXE_gridbeat"))
        .args(["demo", "--no-serve", "--out"])
        .arg(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let batch_dir = dir.path().join("batch");
    let f = |n: &str| files.join(n).display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_gridbeat"))
        .args([
            "report",
            "--grids",
            &f("grids.geojson"),
            "--workers",
            &f("workers.csv"),
            "--checkpoints",
            &f("checkpoints.geojson"),
            "--pings",
            &f("pings.csv"),
            "--month",
            "2026-10",
            "--format",
            "json",
            "--out",
        ])
        .arg(&batch_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let batch: Value =
        serde_json::from_str(&std::fs::read_to_string(batch_dir.join("report.json")).unwrap())
            .unwrap();

    let state = AppState::open(Config::default(), &dir.path().join("data")).unwrap();
    let registry = vec![
        (RegistryFile::Grids, sample::GRIDS.to_string()),
        (RegistryFile::Workers, sample::WORKERS.to_string()),
        (RegistryFile::Checkpoints, sample::CHECKPOINTS.to_string()),
    ];
    let sent = gridbeat::cli::serve::seed_through_http(&state, &registry, sample::PINGS, None)
        .await
        .unwrap();
    assert_eq!(sent, 68_820);
    let s = Arc::clone(&state);
    tokio::task::spawn_blocking(move || s.settle().unwrap())
        .await
        .unwrap();

    let served = get_json(&state, "/api/v1/reports/2026-10?format=json").await;
    assert_eq!(served["freshness"]["pending"], 0);
    assert!(batch["workers"].as_array().unwrap().len() >= 20);
    assert_eq!(without_timing(served), without_timing(batch.clone()));

    // One community's subtree, too.
    let out = Command::new(env!("CARGO_BIN_EXE_gridbeat"))
        .args([
            "report",
            "--grids",
            &f("grids.geojson"),
            "--workers",
            &f("workers.csv"),
            "--checkpoints",
            &f("checkpoints.geojson"),
            "--pings",
            &f("pings.csv"),
            "--month",
            "2026-10",
            "--format",
            "json",
            "--unit",
            "430102001002",
            "--out",
        ])
        .arg(dir.path().join("batch-unit"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let batch_unit: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("batch-unit/report.json")).unwrap(),
    )
    .unwrap();
    let served_unit = get_json(&state, "/api/v1/reports/2026-10?unit=430102001002").await;
    assert_eq!(without_timing(served_unit), without_timing(batch_unit));
}
