//! Late and out-of-order pings end in the same summaries as the batch door: the sample week is
//! posted days backwards, one day with its pings in reverse order, and a few pings of the
//! first day a "week" late; after each post the service recomputes only what is dirty. Every
//! stored worker-day must then equal, field for field (masks, visits, flags, fingerprint,
//! path, carry), what the batch engine computes from all the pings in the order received.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use gridbeat::cli::demo::sample;
use gridbeat::config::Config;
use gridbeat::model::{Ping, WorkerId};
use gridbeat::server::{router, AppState};
use gridbeat::store::RegistryFile;
use serde_json::json;
use tower::ServiceExt;

async fn post(state: &Arc<AppState>, pings: &[Ping]) {
    for chunk in pings.chunks(4000) {
        let body: Vec<String> = chunk
            .iter()
            .map(|p| {
                let mut v =
                    json!({"worker": p.worker.as_str(), "ts": p.ts, "lat": p.lat, "lon": p.lon});
                if let Some(a) = p.acc_m {
                    v["acc"] = json!(a);
                }
                if let Some(s) = p.speed_mps {
                    v["speed"] = json!(s);
                }
                if p.mock {
                    v["mock"] = json!(true);
                }
                if let Some(c) = &p.checkin {
                    v["checkin"] = json!(c.as_ref());
                }
                v.to_string()
            })
            .collect();
        let req = Request::post("/api/v1/pings")
            .header("content-type", "application/x-ndjson")
            .body(Body::from(body.join("\n")))
            .unwrap();
        let resp = router(Arc::clone(state)).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let v: serde_json::Value =
            serde_json::from_slice(&to_bytes(resp.into_body(), usize::MAX).await.unwrap()).unwrap();
        assert_eq!(v["rejected"], json!([]), "{v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_and_out_of_order_pings_end_in_the_batch_summaries() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(Config::default(), dir.path()).unwrap();
    gridbeat::cli::serve::load_registry_files(
        &state,
        &[
            (RegistryFile::Grids, sample::GRIDS.into()),
            (RegistryFile::Workers, sample::WORKERS.into()),
            (RegistryFile::Checkpoints, sample::CHECKPOINTS.into()),
        ],
    )
    .await
    .unwrap();
    let decoded = gridbeat::ingest::csv::read_pings(
        sample::PINGS.as_bytes(),
        "pings.csv",
        gridbeat::model::Crs::Wgs84,
    )
    .unwrap();
    let tz = state.engine().assessor.tz;
    let day_of = |p: &Ping| {
        chrono::DateTime::from_timestamp_millis(p.ts)
            .unwrap()
            .with_timezone(&tz)
            .date_naive()
    };
    let mut by_day: BTreeMap<chrono::NaiveDate, Vec<Ping>> = BTreeMap::new();
    for p in &decoded.pings {
        by_day.entry(day_of(p)).or_default().push(p.clone());
    }
    let days: Vec<chrono::NaiveDate> = by_day.keys().copied().collect();
    assert!(days.len() >= 7);
    // A few pings of the first morning held back, to arrive "a week late".
    let first = days[0];
    let first_day = by_day.get_mut(&first).unwrap();
    let late: Vec<Ping> = first_day
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 7 == 3)
        .map(|(_, p)| p.clone())
        .collect();
    first_day.retain(|p| !late.contains(p));

    // The order of receipt: days backwards, day 3 reversed within, the late pings last.
    let mut received: Vec<Ping> = Vec::new();
    for (k, d) in days.iter().rev().enumerate() {
        let mut pings = by_day[d].clone();
        if *d == days[2] {
            pings.reverse();
        }
        post(&state, &pings).await;
        received.extend(pings);
        if k % 2 == 0 {
            let s = Arc::clone(&state);
            tokio::task::spawn_blocking(move || s.settle().unwrap())
                .await
                .unwrap();
        }
    }
    let s = Arc::clone(&state);
    tokio::task::spawn_blocking(move || s.settle().unwrap())
        .await
        .unwrap();
    post(&state, &late).await;
    received.extend(late);
    let s = Arc::clone(&state);
    let n = tokio::task::spawn_blocking(move || s.settle().unwrap())
        .await
        .unwrap();
    assert!(n >= 1, "the late pings dirtied their day");

    // The batch door's summaries of the same pings in the same order of receipt.
    let engine = state.engine();
    let a = &engine.assessor;
    let mut by_worker: BTreeMap<WorkerId, Vec<Ping>> = BTreeMap::new();
    for p in received {
        by_worker.entry(p.worker.clone()).or_default().push(p);
    }
    let mut compared = 0;
    for (w, pings) in &by_worker {
        let batch = a.summarize_worker(w, pings);
        let stored = state
            .store
            .worker_summaries(w.as_str(), chrono::NaiveDate::MIN..chrono::NaiveDate::MAX)
            .unwrap();
        assert_eq!(
            stored.iter().map(|r| r.day).collect::<Vec<_>>(),
            batch.iter().map(|d| d.day).collect::<Vec<_>>(),
            "{w:?}: the days with figures"
        );
        for (row, expected) in stored.iter().zip(&batch) {
            let restored = a.decode(&row.data).unwrap();
            assert!(restored.stale.is_empty());
            assert_eq!(&restored.day, expected, "{w:?} {}", row.day);
            compared += 1;
        }
    }
    assert!(compared >= 100, "{compared} worker-days compared");
    assert_eq!(state.store.stats().unwrap().pending, 0);
}
