//! Late and out-of-order pings end in the same summaries as the batch door: the sample week is
//! posted days backwards, one day with its pings in reverse order, and a few pings of the
//! first day a "week" late; after each post the service recomputes only what is dirty. Every
//! stored worker-day must then equal, field for field (masks, visits, flags, fingerprint,
//! path, carry), what the batch engine computes from all the pings in the order received.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;
use gridbeat::model::{Ping, WorkerId};
use gridbeat::server::AppState;
use serde_json::json;

use crate::util::{self, ndjson_line, sample_pings, send, settle, App};

async fn post(state: &Arc<AppState>, pings: &[Ping]) {
    for chunk in pings.chunks(4000) {
        let body: Vec<String> = chunk.iter().map(ndjson_line).collect();
        let ndjson = "application/x-ndjson";
        let a = send(
            state,
            util::post("/api/v1/pings", ndjson, body.join("\n"), None),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
        let v = a.json();
        assert_eq!(v["rejected"], json!([]), "{v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_and_out_of_order_pings_end_in_the_batch_summaries() {
    let app = App::new(vec![], |_| {}).await;
    let state = &app.state;
    let tz = state.engine().assessor.tz;
    let day_of = |p: &Ping| {
        chrono::DateTime::from_timestamp_millis(p.ts)
            .unwrap()
            .with_timezone(&tz)
            .date_naive()
    };
    let mut by_day: BTreeMap<chrono::NaiveDate, Vec<Ping>> = BTreeMap::new();
    for p in sample_pings().into_iter().map(with_phone_fields) {
        by_day.entry(day_of(&p)).or_default().push(p);
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
    // And copies of a few pings of the second day that differ in their battery alone:
    // conflicts, which the store logs and both doors must tell from repeats by that field.
    let mut late = late;
    // Half of them without a bearing, altitude or battery level: were the stored ping read
    // without its own, the two would look alike.
    let conflicts = by_day[&days[1]].iter().step_by(97).enumerate();
    late.extend(conflicts.map(|(k, p)| {
        let mut q = p.clone();
        if k % 2 == 0 {
            (q.bearing_deg, q.alt_m, q.batt_pct) = (None, None, None);
        } else {
            q.batt_pct = Some(1.0);
        }
        q
    }));

    // The order of receipt: days backwards, day 3 reversed within, the late pings last.
    let mut received: Vec<Ping> = Vec::new();
    for (k, d) in days.iter().rev().enumerate() {
        let mut pings = by_day[d].clone();
        if *d == days[2] {
            pings.reverse();
        }
        post(state, &pings).await;
        received.extend(pings);
        if k % 2 == 0 {
            settle(state).await;
        }
    }
    settle(state).await;
    post(state, &late).await;
    received.extend(late);
    let s = Arc::clone(state);
    let n = tokio::task::spawn_blocking(move || s.settle().unwrap())
        .await
        .unwrap();
    assert!(n >= 1, "the late pings dirtied their day");

    assert_stored_as_batch(state, received);
}

/// `p` with a bearing, an altitude and a battery level, as phones send: fields no worker-day
/// figure reads, which the service's read of a worker-day may leave out (`Store::patrol_pings`)
/// except where pings share a timestamp.
fn with_phone_fields(mut p: Ping) -> Ping {
    p.bearing_deg = Some((p.ts / 1000 % 360) as f32);
    p.alt_m = Some((p.ts % 97) as f32 - 20.0);
    p.batt_pct = Some(100.0 - (p.ts / 60_000 % 80) as f32);
    p
}

/// Every stored worker-day equals, field for field, what the batch engine computes from
/// `received` (all the pings, in the order received), and nothing is pending.
fn assert_stored_as_batch(state: &Arc<AppState>, received: Vec<Ping>) {
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

/// Evening shifts (16:00–02:00) whose pings run on, without a pause, for more than the six
/// hours that the recompute first reads around a day: posted at once, a worker's week is one
/// run of dirty days read in one go; then a late ping marks one day alone, whose window reaches
/// back past what is read around it and is read again wider. Both end in the batch summaries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn days_read_as_a_run_and_alone_end_in_the_batch_summaries() {
    let app = App::new(vec![], |_| {}).await;
    let state = &app.state;
    let a = &state.engine().assessor;
    let mut pings: Vec<Ping> = sample_pings()
        .into_iter()
        .map(|mut p| {
            p.ts += 8 * 3_600_000;
            p
        })
        .collect();
    pings.sort_by_key(|p| p.ts);
    // The late ping: the first worker's first after 18:00 on the second day of data, in an
    // evening shift of that day; the shift of the evening before ran on past midnight.
    let worker = pings[0].worker.clone();
    let second = gridbeat::track::local_day(pings[0].ts, a.tz) + chrono::Days::new(1);
    let evening = gridbeat::assess::window::day_bounds(second, a.tz).start + 18 * 3_600_000;
    let at = pings
        .iter()
        .position(|p| p.worker == worker && p.ts >= evening)
        .unwrap();
    let late = pings.remove(at);

    // The precondition: the late ping's day alone is marked (the window of the day before ends
    // before it, and that of the day after starts after it), and its window starts more than
    // six hours before its midnight.
    let mut own: Vec<Ping> = pings
        .iter()
        .filter(|p| p.worker == worker)
        .chain([&late])
        .cloned()
        .collect();
    own.sort_by_key(|p| p.ts);
    let window = |d| gridbeat::assess::window::day_window(&own, d, a.tz, &a.track).unwrap();
    let (before, alone, after) = (
        window(second - chrono::Days::new(1)),
        window(second),
        window(second + chrono::Days::new(1)),
    );
    assert!(own[before.end - 1].ts < late.ts && own[after.start].ts > late.ts);
    let midnight = gridbeat::assess::window::day_bounds(second, a.tz).start;
    assert!(
        own[alone.start].ts < midnight - 6 * 3_600_000,
        "the window of {second} starts at {}",
        own[alone.start].ts
    );

    post(state, &pings).await;
    settle(state).await;
    post(state, std::slice::from_ref(&late)).await;
    settle(state).await;
    pings.push(late);
    assert_stored_as_batch(state, pings);
}
