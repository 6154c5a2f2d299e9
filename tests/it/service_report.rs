//! The monthly report served over HTTP equals `gridbeat report` on the same pings: every
//! figure, every row, the parameters and the formula (only `generated_at` and the service's
//! `freshness` differ).

use gridbeat::cli::demo::sample;
use gridbeat::config::Config;
use gridbeat::server::AppState;

use crate::util::{
    batch_report, demo_city, get_json, sample_registry_files, settle, without_timing,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_report_equals_the_batch_report() {
    let dir = tempfile::tempdir().unwrap();
    let city = demo_city(dir.path());
    let (batch, _) = batch_report(
        &city,
        &city.join("pings.csv"),
        &dir.path().join("batch"),
        &[],
    );

    let state = AppState::open(Config::default(), &dir.path().join("data")).unwrap();
    let sent = gridbeat::cli::serve::seed_through_http(
        &state,
        &sample_registry_files(),
        sample::PINGS,
        None,
    )
    .await
    .unwrap();
    // Every data line of the embedded CSV was sent (counted as text, not by the decoder).
    let rows = sample::PINGS
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    assert!(rows > 0);
    assert_eq!(sent, rows);
    settle(&state).await;

    let served = get_json(&state, "/api/v1/reports/2026-10?format=json").await;
    assert_eq!(served["freshness"]["pending"], 0);
    assert!(batch["workers"].as_array().unwrap().len() >= 20);
    assert_eq!(without_timing(served), without_timing(batch.clone()));

    // One community's subtree, too.
    let (batch_unit, _) = batch_report(
        &city,
        &city.join("pings.csv"),
        &dir.path().join("batch-unit"),
        &["--unit", "430102001002"],
    );
    let served_unit = get_json(&state, "/api/v1/reports/2026-10?unit=430102001002").await;
    assert_eq!(without_timing(served_unit), without_timing(batch_unit));
}
