//! Defect 1 of issue 15, "retries change figures" (DESIGN.md §4.2 step 1): a ping identical to
//! one already received is a repeat and changes no figure in any door; a same-(worker, ts) ping
//! with other values is a conflict, counted as received and dropped.

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gridbeat::cli::demo::sample;
use gridbeat::model::Ping;
use serde_json::{json, Value};

use crate::util::{
    batch_report, get_json, ndjson_line, sample_pings, settle, without_timing, worker_row, App,
};

/// Posts pings as NDJSON (in batches of 5,000) and sums the answers' counts.
async fn post(app: &App, pings: &[Ping]) -> [u64; 4] {
    let mut sum = [0u64; 4];
    for chunk in pings.chunks(5_000) {
        let body: String = chunk.iter().map(|p| ndjson_line(p) + "\n").collect();
        let a = app
            .send(
                Request::post("/api/v1/pings")
                    .header("content-type", "application/x-ndjson")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        let v = a.json();
        assert_eq!(v["rejected"], json!([]), "{v}");
        for (i, k) in ["accepted", "duplicates", "conflicts", "repeats"]
            .iter()
            .enumerate()
        {
            sum[i] += v[k].as_u64().unwrap_or(0);
        }
    }
    sum
}

/// The October report without the fields that say when it was made.
async fn report(app: &App) -> Value {
    let v = get_json(&app.state, "/api/v1/reports/2026-10?format=json").await;
    assert_eq!(v["freshness"]["pending"], 0);
    without_timing(v)
}

/// `gridbeat report` for October on a pings file, beside the sample registry written into
/// `dir`, out to `dir/name`; returns the report and the standard error.
fn batch(dir: &std::path::Path, pings: &std::path::Path, name: &str) -> (Value, String) {
    for (file, text) in [
        ("grids.geojson", sample::GRIDS),
        ("workers.csv", sample::WORKERS),
        ("checkpoints.geojson", sample::CHECKPOINTS),
    ] {
        std::fs::write(dir.join(file), text).unwrap();
    }
    let (v, stderr) = batch_report(dir, pings, &dir.join(name), &[]);
    (without_timing(v), stderr)
}

/// Resending a batch whose answer was lost (whole, twice, or 500 pings of it) changes no
/// figure of the served report; the answer says the pings were repeats, and `/metrics` counts
/// them. The served report equals `gridbeat report` over a file holding repeated rows, whose
/// figures are those of its distinct rows; its summary line counts the repeats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_change_no_figure_in_either_door() {
    let app = App::new(vec![], |_| {}).await;
    let pings = sample_pings();
    let n = pings.len() as u64;
    let first = post(&app, &pings).await;
    assert_eq!(first[0] + first[1], n, "each ping stored or a same-key one");
    settle(&app.state).await;
    let before = report(&app).await;

    // The whole batch again, twice: every ping is a repeat, nothing else.
    for _ in 0..2 {
        let again = post(&app, &pings).await;
        settle(&app.state).await;
        assert_eq!(
            report(&app).await,
            before,
            "a resent batch moved the report"
        );
        assert_eq!(
            again,
            [0, n, 0, n],
            "accepted, duplicates, conflicts, repeats"
        );
    }

    // 500 pings resent (a client whose answer was lost).
    let resent = &pings[..500];
    let worker = resent[0].worker.as_str().to_string();
    let answer = post(&app, resent).await;
    settle(&app.state).await;
    let after = report(&app).await;
    for key in ["pings", "accepted_share", "score"] {
        assert_eq!(
            worker_row(&after, &worker)[key],
            worker_row(&before, &worker)[key],
            "{worker}: {key}"
        );
    }
    assert_eq!(after, before);
    assert_eq!(answer, [0, 500, 0, 500]);

    // /metrics counts the repeats (an operational number, not a figure).
    let metrics = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .text();
    let repeats: f64 = metrics
        .lines()
        .find(|l| l.starts_with("gridbeat_pings_repeat_total{") && l.contains("json"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("no repeat counter in /metrics:\n{metrics}"));
    assert!(repeats >= (2 * n + 500) as f64, "{repeats}");

    // The batch door on the sample file and on it with 500 of its rows repeated at the end.
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("pings.csv");
    std::fs::write(&original, sample::PINGS).unwrap();
    let rows: Vec<&str> = sample::PINGS.lines().skip(1).collect();
    let mut text = sample::PINGS.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    for r in &rows[..500] {
        text.push_str(r);
        text.push('\n');
    }
    let with_repeats = dir.path().join("pings-resent.csv");
    std::fs::write(&with_repeats, &text).unwrap();
    // Repeats in that file, counted from its text: rows equal to an earlier row.
    let mut seen = HashSet::new();
    let expected = text.lines().skip(1).filter(|l| !seen.insert(*l)).count();
    assert!(expected >= 500);

    let (plain, _) = batch(dir.path(), &original, "plain");
    let (batch, stderr) = batch(dir.path(), &with_repeats, "resent");
    assert_eq!(batch, plain, "repeated rows moved the batch report");
    assert_eq!(after, batch, "the service differs from the batch door");
    assert!(
        stderr.contains(&format!("{expected} repeated rows")),
        "the summary line does not count {expected} repeats: {stderr}"
    );
}

/// A ping with the same worker and timestamp but another position is a conflict: counted as
/// received and dropped with reason `conflict`; sent again, it is a repeat of the conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_received_and_dropped_and_its_copy_is_a_repeat() {
    let app = App::new(vec![], |_| {}).await;
    let pings: Vec<Ping> = sample_pings().into_iter().take(300).collect();
    let worker = pings[0].worker.as_str().to_string();
    assert!(pings.iter().all(|p| p.worker.as_str() == worker));
    post(&app, &pings).await;
    settle(&app.state).await;
    let k = 150;
    let day = chrono::DateTime::from_timestamp_millis(pings[k].ts)
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let uri = format!("/api/v1/workers/{worker}/days/{day}");
    let before = get_json(&app.state, &uri).await;
    let report_before = report(&app).await;

    let mut moved = pings[k].clone();
    moved.lat += 0.0005;
    assert_eq!(post(&app, &[moved.clone()]).await, [0, 1, 1, 0]);
    settle(&app.state).await;
    let after = get_json(&app.state, &uri).await;
    assert_eq!(after["pings"], before["pings"].as_u64().unwrap() + 1);
    assert_eq!(
        after["dropped"]["conflict"],
        before["dropped"]["conflict"].as_u64().unwrap() + 1
    );
    assert_eq!(after["accepted"], before["accepted"]);
    let report_after = report(&app).await;
    assert_eq!(
        worker_row(&report_after, &worker)["pings"],
        worker_row(&report_before, &worker)["pings"]
            .as_u64()
            .unwrap()
            + 1
    );

    // The conflict resent: a repeat of it, nothing moves.
    assert_eq!(post(&app, &[moved]).await, [0, 1, 0, 1]);
    settle(&app.state).await;
    let mut again = get_json(&app.state, &uri).await;
    let mut after = after;
    again.as_object_mut().unwrap().remove("stale");
    after.as_object_mut().unwrap().remove("stale");
    assert_eq!(again, after);
    assert_eq!(report(&app).await, report_after);
}
