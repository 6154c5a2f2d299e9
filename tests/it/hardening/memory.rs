//! Defect 8: memory grew under steady load with dashboard reads. The map door's caches keep
//! only entries of the current data version and stay within their byte budget, however many
//! distinct queries a dashboard makes while the summaries change under it.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gridbeat::cli::demo::sample;

use crate::util::{get, sample_registry_files, App};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn superseded_cache_entries_are_dropped_when_the_summaries_change() {
    let app = App::new(vec![], |_| {}).await;
    gridbeat::cli::serve::seed_through_http(
        &app.state,
        &sample_registry_files(),
        sample::PINGS,
        None,
    )
    .await
    .unwrap();
    app.state.settle().unwrap();

    // A dashboard's distinct reads: every worker's track on three days, the grids layer,
    // and a few tiles.
    let workers: Vec<String> = sample::WORKERS
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .map(String::from)
        .collect();
    assert!(workers.len() >= 10, "{workers:?}");
    let mut distinct = 0;
    for w in &workers {
        for day in ["2026-10-01", "2026-10-02", "2026-10-03"] {
            let a = app
                .send(get(
                    &format!("/api/v1/layers/tracks?worker={w}&day={day}"),
                    None,
                ))
                .await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.text());
            distinct += 1;
        }
    }
    for uri in [
        "/api/v1/layers/grids?month=2026-10",
        "/api/v1/layers/coverage?month=2026-10",
        "/api/v1/layers/heat?month=2026-10",
    ] {
        let a = app.send(get(uri, None)).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
        distinct += 1;
    }
    let (before, bytes_before) = app.state.cache_usage();
    // One built layer per read (a worker's days are read directly, the month's are cached).
    assert!(
        before + 3 >= distinct,
        "{before} entries for {distinct} reads"
    );
    assert!(bytes_before > 0);

    // One new ping: the summaries change, so every cached entry is superseded.
    let ping = format!(
        "{{\"worker\":\"{}\",\"ts\":\"2026-10-02T03:00:00Z\",\"lat\":28.1944,\"lon\":112.9726}}",
        workers[0]
    );
    let a = app
        .send(
            Request::post("/api/v1/pings")
                .header("content-type", "application/x-ndjson")
                .body(Body::from(ping))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["accepted"], 1, "{}", a.text());
    app.state.settle().unwrap();

    let a = app
        .send(get("/api/v1/layers/grids?month=2026-10", None))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let (after, bytes_after) = app.state.cache_usage();
    // The grids layer of the new version: its decoded month and the built layer.
    assert!(
        after <= 2,
        "{after} entries held after the data changed ({before} before): stale ones were kept"
    );
    assert!(
        bytes_after < bytes_before,
        "{bytes_after} >= {bytes_before}"
    );
}
