//! Issue 15, defects 9 and 10(b): one engine snapshot per request (a registry upload landing
//! mid-request never mixes two registries nor answers 500), and no `Host` header reflected
//! into TileJSON or style URLs.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gridbeat::cli::demo::sample;
use gridbeat::server::{recompute, registry};
use gridbeat::store::RegistryFile;
use serde_json::Value;

use crate::util::{get, sample_pings, send, token, Answer, App};

/// The sample's grids with `extra` grids (far east of the city, in the first community)
/// inserted before its first grid, so that every grid's index differs from the sample's.
fn grids_with_extra(extra: usize) -> (String, BTreeSet<String>) {
    let mut doc: Value = serde_json::from_str(sample::GRIDS).unwrap();
    let features = doc["features"].as_array_mut().unwrap();
    let first = features
        .iter()
        .position(|f| f["properties"]["level"] == "grid")
        .unwrap();
    let template = features[first].clone();
    let mut codes = BTreeSet::new();
    for i in 0..extra {
        let mut f = template.clone();
        let code = format!("99990000000000{i}");
        f["properties"]["code"] = Value::from(code.clone());
        f["properties"]["name"] = Value::from(format!("extra {i}"));
        for ring in f["geometry"]["coordinates"].as_array_mut().unwrap() {
            for p in ring.as_array_mut().unwrap() {
                p[0] = Value::from(p[0].as_f64().unwrap() + 0.2 + 0.05 * i as f64);
            }
        }
        codes.insert(code);
        features.insert(first, f);
    }
    (doc.to_string(), codes)
}

/// The grid codes of the sample.
fn sample_codes() -> BTreeSet<String> {
    let doc: Value = serde_json::from_str(sample::GRIDS).unwrap();
    doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["level"] == "grid")
        .map(|f| f["properties"]["code"].as_str().unwrap().to_string())
        .collect()
}

/// An answer is 200 and names the grids of exactly one registry, and a grid nobody is
/// assigned to and nobody walked has no figures.
fn check(
    path: &str,
    answer: &Answer,
    a: &BTreeSet<String>,
    b: &BTreeSet<String>,
    extra: &BTreeSet<String>,
) {
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
    let doc = answer.json();
    let codes: BTreeSet<String> = if path.contains("reports") {
        doc["grids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["code"].as_str().unwrap().to_string())
            .collect()
    } else {
        let features = doc["features"].as_array().unwrap();
        for f in features {
            let p = &f["properties"];
            if extra.contains(p["code"].as_str().unwrap()) {
                assert_eq!(p["patrol_s"].as_f64(), Some(0.0), "{path}: {p}");
            }
        }
        features
            .iter()
            .map(|f| f["properties"]["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        codes == *a || codes == *b,
        "{path}: the grids of neither registry: {} codes, {} extra",
        codes.len(),
        codes.intersection(extra).count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn layers_and_reports_racing_registry_uploads_answer_from_one_registry() {
    let app = App::new(vec![], |_| {}).await;
    // A day of figures: the sample's pings of 2026-10-01, summarised.
    let day: Vec<_> = sample_pings()
        .into_iter()
        .filter(|p| p.ts < 1_790_870_400_000)
        .collect();
    assert!(day.len() > 1000);
    gridbeat::cli::serve::post_pings(&app.state, &day, None)
        .await
        .unwrap();
    let st = Arc::clone(&app.state);
    tokio::task::spawn_blocking(move || recompute::run_once(&st, i64::MAX, i64::MAX))
        .await
        .unwrap()
        .unwrap();

    let a = sample_codes();
    let (b_text, extra) = grids_with_extra(3);
    let b: BTreeSet<String> = a.union(&extra).cloned().collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let uploader = {
        let (state, stop) = (Arc::clone(&app.state), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let text = if n % 2 == 0 {
                    b_text.clone()
                } else {
                    sample::GRIDS.to_string()
                };
                registry::replace(&state, RegistryFile::Grids, text)
                    .await
                    .unwrap();
                n += 1;
                tokio::task::yield_now().await;
            }
            n
        })
    };
    // Four dashboards at once, each asking 150 times.
    let mut readers = Vec::new();
    for r in 0..4 {
        let (state, a, b, extra) = (Arc::clone(&app.state), a.clone(), b.clone(), extra.clone());
        readers.push(tokio::spawn(async move {
            for i in 0..150 {
                let path = match (i + r) % 3 {
                    0 => "/api/v1/layers/grids?month=2026-10",
                    1 => "/api/v1/layers/grids?day=2026-10-01",
                    _ => "/api/v1/reports/2026-10",
                };
                let answer = send(&state, get(path, None)).await;
                check(path, &answer, &a, &b, &extra);
            }
        }));
    }
    for r in readers {
        r.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let uploads = uploader.await.unwrap();
    assert!(uploads >= 2, "the registry changed {uploads} times");
}

#[tokio::test]
async fn tile_urls_never_reflect_the_host_header() {
    let app = App::new(vec![], |_| {}).await;
    for path in ["/tiles/grids.json", "/api/v1/style.json"] {
        let answer = app
            .send(
                Request::get(path)
                    .header("host", "evil.example")
                    .header("x-forwarded-proto", "https")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        let text = answer.text();
        assert!(!text.contains("evil.example"), "{path}: {text}");
        assert!(
            text.contains("\"/tiles/grids/{z}/{x}/{y}.mvt"),
            "{path}: relative: {text}"
        );
    }
    let app = App::new(vec![], |c| {
        c.server.public_url = "https://map.example.gov.cn/".into();
    })
    .await;
    let answer = app
        .send(
            Request::get("/tiles/grids.json")
                .header("host", "evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let tiles = answer.json()["tiles"][0].as_str().unwrap().to_string();
    assert_eq!(
        tiles,
        "https://map.example.gov.cn/tiles/grids/{z}/{x}/{y}.mvt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_months_are_those_of_the_tokens_scope() {
    let app = App::new(
        vec![
            token("city", "viewer", None, &[]),
            token("admin", "admin", None, &[]),
            token("mine", "viewer", Some("430102001001"), &[]),
            token("other", "viewer", Some("430102001003"), &[]),
        ],
        |_| {},
    )
    .await;
    // Figures of w-0001 only (community 430102001001), on 2026-10-01.
    let day: Vec<_> = sample_pings()
        .into_iter()
        .filter(|p| p.worker.as_str() == "w-0001" && p.ts < 1_790_870_400_000)
        .collect();
    assert!(!day.is_empty());
    gridbeat::cli::serve::post_pings(&app.state, &day, Some("admin"))
        .await
        .unwrap();
    let st = Arc::clone(&app.state);
    tokio::task::spawn_blocking(move || recompute::run_once(&st, i64::MAX, i64::MAX))
        .await
        .unwrap()
        .unwrap();
    let months = |who: &'static str| {
        let app = &app;
        async move {
            let a = app.send(get("/api/v1/config.json", Some(who))).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.text());
            a.json()["months"].clone()
        }
    };
    assert_eq!(months("city").await, serde_json::json!(["2026-10"]));
    assert_eq!(months("mine").await, serde_json::json!(["2026-10"]));
    assert_eq!(months("other").await, serde_json::json!([]));
}
