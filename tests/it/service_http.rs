//! The HTTP door in process (`tower::ServiceExt::oneshot`): every endpoint, every request line
//! of `../shared/data/protocols/`, and every rejection path, each asserting status and code.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gridbeat::cli::demo::sample;
use gridbeat::config::{Config, TokenConfig};
use gridbeat::server::{osmand_router, router};
use gridbeat::store::RegistryFile;
use serde_json::{json, Value};

use crate::util::{get, now_s, post, sample_registry_files, send_to, token, App};

const OSMAND: &str = include_str!("../../../shared/data/protocols/osmand_requests.txt");
const OWNTRACKS: &str = include_str!("../../../shared/data/protocols/owntracks_messages.jsonl");

/// Devices of the protocol files mapped to sample workers.
const DEVICES: &str = "device,worker\n123456,w-0001\n902064,w-0002\n48241179,w-0003\n123456789012345,w-0004\not-user,w-0005\n";

/// A server on the sample city and the protocol files' devices; with `tokens`, the token of
/// each is its name.
async fn server(tokens: Vec<TokenConfig>, tweak: impl FnOnce(&mut Config)) -> App {
    let mut files = sample_registry_files();
    files.push((RegistryFile::Devices, DEVICES.into()));
    App::with_registry(tokens, tweak, &files).await
}

// ---------------------------------------------------------------- operations

#[tokio::test]
async fn healthz_openapi_and_metrics_answer_with_request_ids() {
    let s = server(vec![], |_| {}).await;
    let a = s.send(get("/healthz", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["status"], "ok");
    assert!(a.headers.contains_key("x-request-id"));
    let mut r = get("/healthz", None);
    r.headers_mut()
        .insert("x-request-id", "abc-123".parse().unwrap());
    assert_eq!(s.send(r).await.headers["x-request-id"], "abc-123");

    let a = s.send(get("/api/v1/openapi.json", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    let doc = a.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/api/v1/pings",
        "/osmand",
        "/owntracks",
        "/api/v1/registry/{file}",
        "/api/v1/units",
        "/api/v1/units/{code}",
        "/api/v1/workers",
        "/api/v1/workers/{id}",
        "/api/v1/workers/{id}/days/{day}",
        "/api/v1/reports/{month}",
        "/api/v1/positions",
        "/healthz",
        "/metrics",
    ] {
        assert!(doc["paths"].get(path).is_some(), "openapi lacks {path}");
    }
    assert!(doc["components"]["schemas"].get("BatchAnswer").is_some());

    // A ping, then the metrics count it by source, and a rejection by reason.
    let body = json!([{"worker": "w-0001", "ts": now_s(), "lat": 28.19, "lon": 112.97},
                      {"worker": "w-0001", "ts": now_s(), "lat": 128.19, "lon": 112.97}]);
    let a = s
        .send(post(
            "/api/v1/pings",
            "application/json",
            body.to_string(),
            None,
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let m = s.send(get("/metrics", None)).await;
    assert_eq!(m.status, StatusCode::OK);
    let text = m.text();
    assert!(
        text.contains("gridbeat_pings_accepted_total{source=\"json\"}"),
        "{text}"
    );
    assert!(
        text.contains("gridbeat_pings_rejected_total{source=\"json\",reason=\"bad_position\"}"),
        "{text}"
    );
    assert!(
        text.contains("gridbeat_http_request_duration_seconds"),
        "{text}"
    );
    assert!(text.contains("gridbeat_recompute_pending"), "{text}");
    assert!(text.contains("gridbeat_store_bytes"), "{text}");
    // The allocator's figures: jemalloc is `malloc` in this process too, so something is
    // allocated, and jemalloc never has fewer bytes in active pages than allocated in them.
    let gauge = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no gauge {name} in {text}"))
    };
    let allocated = gauge("gridbeat_heap_allocated_bytes");
    assert!(allocated > 0.0, "{text}");
    assert!(gauge("gridbeat_heap_active_bytes") >= allocated, "{text}");
    assert!(gauge("gridbeat_heap_resident_bytes") > 0.0, "{text}");

    let a = s.send(get("/no/such/thing", None)).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
}

// ---------------------------------------------------------------- gridbeat JSON

#[tokio::test]
async fn json_and_ndjson_batches_store_the_good_records_and_name_the_bad() {
    let s = server(vec![], |_| {}).await;
    let t = now_s() - 60;
    let batch = json!([
        {"worker": "w-0001", "ts": t, "lat": 28.1944, "lon": 112.9725, "acc": 8.5},
        {"worker": "w-0001", "lat": 28.1944, "lon": 112.9725},
        {"worker": "w-0001", "ts": t + 1, "lat": "NaN", "lon": 112.9725},
        {"worker": "w-0001", "ts": t + 2, "lat": 112.97, "lon": 28.19},
        {"worker": "w-0001", "ts": t + 3, "lat": 28.19, "lon": 200.0},
        {"worker": "w-0001", "ts": t + 3600, "lat": 28.19, "lon": 112.97},
        {"worker": "w-0001", "ts": "1960-01-01T00:00:00Z", "lat": 28.19, "lon": 112.97},
        {"ts": t + 4, "lat": 28.19, "lon": 112.97},
        {"worker": "w-0001", "ts": t + 5, "lat": 28.19, "lon": 112.97, "mock": "perhaps"},
        {"worker": "w-0002", "ts": format!("{}", chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339()), "lat": 28.19, "lon": 112.97}
    ]);
    let a = s
        .send(post(
            "/api/v1/pings",
            "application/json",
            batch.to_string(),
            None,
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    assert_eq!(v["accepted"], 2);
    assert_eq!(v["duplicates"], 0);
    let codes: Vec<(u64, String)> = v["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        (1, "missing_field"),
        (2, "bad_number"),
        (3, "bad_position"),
        (4, "bad_position"),
        (5, "future_timestamp"),
        (6, "timestamp_out_of_range"),
        (7, "missing_field"),
        (8, "bad_bool"),
    ];
    let expect: Vec<(u64, String)> = expect.iter().map(|(i, c)| (*i, c.to_string())).collect();
    assert_eq!(codes, expect);
    for r in v["rejected"].as_array().unwrap() {
        assert!(!r["message"].as_str().unwrap().is_empty());
    }

    // Resent: a repeat; another position at the same instant: a conflict.
    let again = json!([{"worker": "w-0001", "ts": t, "lat": 28.1944, "lon": 112.9725, "acc": 8.5},
                       {"worker": "w-0002", "ts": t, "lat": 28.2, "lon": 112.97}]);
    let v = s
        .send(post(
            "/api/v1/pings",
            "application/json",
            again.to_string(),
            None,
        ))
        .await
        .json();
    assert_eq!(
        (
            v["accepted"].as_u64(),
            v["duplicates"].as_u64(),
            v["conflicts"].as_u64(),
            v["repeats"].as_u64()
        ),
        (Some(0), Some(2), Some(1), Some(1))
    );

    // NDJSON: a bad line among good ones; the good ones are stored.
    let nd = format!(
        "{}\n{{not json\n\n{}\n",
        json!({"worker": "w-0003", "ts": t, "lat": 28.19, "lon": 112.97}),
        json!({"worker": "w-0003", "ts": t + 10, "lat": 28.19, "lon": 112.97})
    );
    let a = s
        .send(post("/api/v1/pings", "application/x-ndjson", nd, None))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let v = a.json();
    assert_eq!(v["accepted"], 2);
    assert_eq!(v["rejected"][0]["code"], "bad_json");
    assert_eq!(v["rejected"][0]["index"], 1);

    // gzip bodies.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(
        json!([{"worker": "w-0004", "ts": t, "lat": 28.19, "lon": 112.97}])
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let mut r = post(
        "/api/v1/pings",
        "application/json",
        gz.finish().unwrap(),
        None,
    );
    r.headers_mut()
        .insert("content-encoding", "gzip".parse().unwrap());
    let a = s.send(r).await;
    assert_eq!(
        (a.status, a.json()["accepted"].as_u64()),
        (StatusCode::OK, Some(1))
    );

    // The body as a whole unreadable: 400; wrong content type: 415.
    let a = s
        .send(post(
            "/api/v1/pings",
            "application/json",
            "[{\"worker\": ",
            None,
        ))
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "bad_json")
    );
    let a = s
        .send(post("/api/v1/pings", "text/plain", "hello", None))
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let mut r = post("/api/v1/pings", "application/json", "[]", None);
    r.headers_mut()
        .insert("content-encoding", "gzip".parse().unwrap());
    let a = s.send(r).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "bad_gzip")
    );

    // What was stored: the latest positions say so.
    let v = s.send(get("/api/v1/positions", None)).await.json();
    let workers: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["worker"].as_str().unwrap())
        .collect();
    assert_eq!(workers, vec!["w-0001", "w-0002", "w-0003", "w-0004"]);
}

#[tokio::test]
async fn oversized_bodies_and_batches_are_refused_whole() {
    let s = server(vec![], |c| {
        c.server.max_body_bytes = 2_000;
        c.server.max_batch = 3;
    })
    .await;
    let t = now_s();
    let big: Vec<Value> = (0..40)
        .map(|i| json!({"worker": "w-0001", "ts": t - i, "lat": 28.19, "lon": 112.97}))
        .collect();
    let a = s
        .send(post(
            "/api/v1/pings",
            "application/json",
            Value::Array(big).to_string(),
            None,
        ))
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
    let four: Vec<Value> = (0..4)
        .map(|i| json!({"worker": "w-0001", "ts": t - i, "lat": 28.19, "lon": 112.97}))
        .collect();
    let a = s
        .send(post(
            "/api/v1/pings",
            "application/json",
            Value::Array(four).to_string(),
            None,
        ))
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_many_records")
    );
    // Nothing of either was stored.
    let v = s.send(get("/api/v1/positions", None)).await.json();
    assert_eq!(v.as_array().unwrap().len(), 0);
}

// ---------------------------------------------------------------- OsmAnd and OwnTracks

fn osmand_request(line: &str, at_root: bool) -> Request<Body> {
    if line.starts_with('{') {
        return post(
            if at_root { "/" } else { "/osmand" },
            "application/json",
            line.to_string(),
            None,
        );
    }
    let query = line.split_once('?').map_or("", |(_, q)| q);
    let uri = format!("{}?{query}", if at_root { "/" } else { "/osmand" });
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn every_osmand_request_line_is_stored_or_refused_with_its_code() {
    let s = server(vec![], |_| {}).await;
    let lines: Vec<&str> = OSMAND.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 9);
    for (i, line) in lines.iter().enumerate() {
        for at_root in [false, true] {
            let app = if at_root {
                osmand_router(Arc::clone(&s.state))
            } else {
                router(Arc::clone(&s.state))
            };
            let a = send_to(app, osmand_request(line, at_root)).await;
            if line.contains("id=") || line.contains("device_id") {
                assert_eq!(
                    a.status,
                    StatusCode::OK,
                    "line {}: {line}: {}",
                    i + 1,
                    a.text()
                );
                assert!(
                    a.body.is_empty(),
                    "line {}: OsmAnd answers an empty body",
                    i + 1
                );
            } else {
                assert_eq!(
                    (a.status, a.code().as_str()),
                    (StatusCode::BAD_REQUEST, "missing_device"),
                    "line {}",
                    i + 1
                );
            }
        }
    }
    // The 123456 lines are one worker at one instant: stored once, the rest duplicates.
    let store = &s.state.store;
    let pings = store.pings("w-0001", 0..i64::MAX).unwrap();
    let unique: std::collections::BTreeSet<i64> = pings.iter().map(|p| p.ts).collect();
    assert_eq!(
        unique.into_iter().collect::<Vec<_>>(),
        vec![1_377_177_267_000]
    );
    // Traccar 9.x JSON: ISO timestamp with milliseconds, position, accuracy.
    let w3 = store.pings("w-0003", 0..i64::MAX).unwrap();
    assert_eq!(
        w3[0].ts,
        chrono::DateTime::parse_from_rfc3339("2025-06-15T13:45:12.862Z")
            .unwrap()
            .timestamp_millis()
    );
    assert!((w3[0].lat - 37.4219983).abs() < 1e-12 && (w3[0].lon + 122.084).abs() < 1e-12);
    // The old client's full URL, Unix seconds.
    let w4 = store.pings("w-0004", 0..i64::MAX).unwrap();
    assert_eq!(w4[0].ts, 619_315_200_000);
}

#[tokio::test]
async fn osmand_rejections_name_what_to_fix() {
    let s = server(vec![], |_| {}).await;
    let t = now_s();
    let cases = [
        (
            format!("/osmand?id=999&lat=28.19&lon=112.97&timestamp={t}"),
            "unknown_device",
        ),
        (
            format!("/osmand?id=123456&cid=460&lac=1&timestamp={t}"),
            "no_position",
        ),
        (
            format!("/osmand?id=123456&lat=95&lon=112.97&timestamp={t}"),
            "bad_position",
        ),
        (
            format!(
                "/osmand?id=123456&lat=28.19&lon=112.97&timestamp={}",
                t + 3600
            ),
            "future_timestamp",
        ),
    ];
    for (uri, code) in cases {
        let a = s
            .send(Request::get(&uri).body(Body::empty()).unwrap())
            .await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (StatusCode::BAD_REQUEST, code),
            "{uri}"
        );
    }
    // A form body; a request without a timestamp takes the receipt time; speed in knots.
    let a = s
        .send(post(
            "/osmand",
            "application/x-www-form-urlencoded",
            "id=902064&lat=28.19&lon=112.97&speed=10",
            None,
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let p = s.state.store.pings("w-0002", 0..i64::MAX).unwrap();
    assert!((p[0].ts / 1000 - t).abs() <= 5, "{} vs {t}", p[0].ts);
    assert!((f64::from(p[0].speed_mps.unwrap()) - 10.0 * 1852.0 / 3600.0).abs() < 1e-3);
}

#[tokio::test]
async fn owntracks_locations_are_stored_and_other_messages_ignored() {
    let s = server(vec![], |_| {}).await;
    for line in OWNTRACKS.lines().filter(|l| !l.trim().is_empty()) {
        let mut r = post("/owntracks", "application/json", line.to_string(), None);
        r.headers_mut()
            .insert("x-limit-u", "ot-user".parse().unwrap());
        r.headers_mut()
            .insert("x-limit-d", "phone".parse().unwrap());
        let a = s.send(r).await;
        assert_eq!(
            (a.status, a.text().as_str()),
            (StatusCode::OK, "[]"),
            "{line}"
        );
    }
    let p = s.state.store.pings("w-0005", 0..i64::MAX).unwrap();
    let ts: Vec<i64> = p.iter().map(|p| p.ts).collect();
    assert_eq!(ts, vec![1_497_349_316_000, 1_551_874_878_000]);
    // vel 61 km/h.
    assert!((f64::from(p[0].speed_mps.unwrap()) - 61.0 / 3.6).abs() < 1e-3);
    let mut r = post(
        "/owntracks",
        "application/json",
        r#"{"_type":"transition","event":"enter"}"#,
        None,
    );
    r.headers_mut()
        .insert("x-limit-u", "ot-user".parse().unwrap());
    let a = s.send(r).await;
    assert_eq!((a.status, a.text().as_str()), (StatusCode::OK, "[]"));
    let mut r = post(
        "/owntracks",
        "application/json",
        r#"{"_type":"location","tst":1551874878,"lat":46.0,"lon":11.1}"#,
        None,
    );
    r.headers_mut()
        .insert("x-limit-u", "stranger".parse().unwrap());
    let a = s.send(r).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "unknown_device")
    );
    // Basic auth carries the user (and the password as the token).
    let mut r = post(
        "/owntracks",
        "application/json",
        r#"{"_type":"location","tst":1551874999,"lat":46.0,"lon":11.1}"#,
        None,
    );
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("ot-user:secret");
    r.headers_mut()
        .insert("authorization", format!("Basic {basic}").parse().unwrap());
    assert_eq!(s.send(r).await.status, StatusCode::OK);
    let a = s
        .send(post("/owntracks", "application/json", "{oops", None))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------- accounts and scopes

#[tokio::test]
async fn tokens_roles_and_scopes_hold() {
    let s = server(
        vec![
            token("city-admin", "admin", None, &[]),
            token("community-1", "viewer", Some("430102001001"), &[]),
            token("phone-1", "device", None, &["w-0001"]),
        ],
        |c| {
            c.server.rate_per_s = 1;
            c.server.rate_burst = 1000;
        },
    )
    .await;
    let t = now_s();
    // No token, unknown token: 401.
    let a = s.send(get("/api/v1/units", None)).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let a = s.send(get("/api/v1/units", Some("nope"))).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    // healthz and openapi need none.
    assert_eq!(s.send(get("/healthz", None)).await.status, StatusCode::OK);
    // A device posts for its worker only, and reads nothing.
    let body = json!([{"worker": "w-0001", "ts": t, "lat": 28.19, "lon": 112.97},
                      {"worker": "w-0002", "ts": t, "lat": 28.19, "lon": 112.97}]);
    let v = s
        .send(post(
            "/api/v1/pings",
            "application/json",
            body.to_string(),
            Some("phone-1"),
        ))
        .await
        .json();
    assert_eq!(v["accepted"], 1);
    assert_eq!(v["rejected"][0]["code"], "worker_not_allowed");
    let a = s.send(get("/api/v1/workers", Some("phone-1"))).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    // OsmAnd with the token as a parameter, for a device of another worker: 403.
    let a = s
        .send(
            Request::get(format!(
                "/osmand?id=902064&lat=28.19&lon=112.97&timestamp={t}&token=phone-1"
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::FORBIDDEN, "worker_not_allowed")
    );
    let a = s
        .send(
            Request::get(format!(
                "/osmand?id=123456&lat=28.19&lon=112.97&timestamp={}&token=phone-1",
                t + 1
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    // A viewer reads its community only: lists limited, codes outside are 403.
    let v = s
        .send(get("/api/v1/workers", Some("community-1")))
        .await
        .json();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    let all = s
        .send(get("/api/v1/workers", Some("city-admin")))
        .await
        .json();
    assert!(
        !ids.is_empty() && ids.len() < all.as_array().unwrap().len(),
        "{ids:?}"
    );
    let units = s
        .send(get("/api/v1/units", Some("community-1")))
        .await
        .json();
    let units = units.as_array().unwrap();
    assert!(!units.is_empty(), "the community viewer sees its units");
    assert!(units
        .iter()
        .all(|u| u["code"].as_str().unwrap().starts_with("430102001001")));
    let a = s
        .send(get("/api/v1/units/430102001002", Some("community-1")))
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let outsider = all
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .find(|id| !ids.contains(id))
        .unwrap()
        .to_string();
    let a = s
        .send(get(
            &format!("/api/v1/workers/{outsider}"),
            Some("community-1"),
        ))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = s
        .send(get(
            "/api/v1/reports/2026-10?unit=430102001002",
            Some("community-1"),
        ))
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let a = s
        .send(post(
            "/api/v1/pings",
            "application/json",
            "[]",
            Some("community-1"),
        ))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // Metrics and the registry: admin only.
    assert_eq!(
        s.send(get("/metrics", Some("community-1"))).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        s.send(get("/metrics", Some("city-admin"))).await.status,
        StatusCode::OK
    );
    let r = Request::put("/api/v1/registry/devices")
        .header("authorization", "Bearer community-1")
        .body(Body::from(DEVICES))
        .unwrap();
    assert_eq!(s.send(r).await.status, StatusCode::FORBIDDEN);
    // Rate limit: 429 with Retry-After once the burst is spent.
    let s2 = server(vec![token("slow", "viewer", None, &[])], |c| {
        c.server.rate_per_s = 1;
        c.server.rate_burst = 2;
    })
    .await;
    let mut statuses = Vec::new();
    let mut retry = None;
    for _ in 0..4 {
        let a = s2.send(get("/api/v1/units", Some("slow"))).await;
        statuses.push(a.status.as_u16());
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(a.code(), "rate_limited");
            retry = a
                .headers
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
        }
    }
    assert_eq!(statuses, vec![200, 200, 429, 429]);
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
}

#[test]
fn an_open_server_refuses_to_listen_beyond_loopback() {
    let tokens = gridbeat::server::auth::Tokens::default();
    let err = gridbeat::server::check_open_listen(&tokens, &["0.0.0.0:8080".parse().unwrap()])
        .unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
    assert!(
        gridbeat::server::check_open_listen(&tokens, &["127.0.0.1:8080".parse().unwrap()]).is_ok()
    );
}

// ---------------------------------------------------------------- registry

#[tokio::test]
async fn a_registry_upload_with_faults_is_rejected_whole_listing_every_fault() {
    let s = server(vec![], |_| {}).await;
    let a = s.send(get("/api/v1/registry/workers", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.text(), sample::WORKERS);
    let bad = "worker,name,grid\nw-1,A,999\nw-2,B,998\n";
    let a = s
        .send(
            Request::put("/api/v1/registry/workers")
                .body(Body::from(bad))
                .unwrap(),
        )
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_registry")
    );
    let faults = a.json()["faults"].as_array().unwrap().clone();
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert_eq!(
        s.send(get("/api/v1/registry/workers", None)).await.text(),
        sample::WORKERS
    );
    let bad_devices = "device,worker\nd1,w-0001\nd1,w-0002\nd2,nobody\n";
    let a = s
        .send(
            Request::put("/api/v1/registry/devices")
                .body(Body::from(bad_devices))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.json()["faults"].as_array().unwrap().len(), 2);
    let a = s
        .send(
            Request::put("/api/v1/registry/grids")
                .body(Body::from("{\"type\": \"FeatureCollection\""))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = s.send(get("/api/v1/registry/streets", None)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // A good replacement: a changed assignment marks that worker's days.
    let moved = sample::WORKERS.replacen(
        "w-0001,韩磊,430102001001001",
        "w-0001,韩磊,430102001001002",
        1,
    );
    let a = s
        .send(
            Request::put("/api/v1/registry/workers")
                .body(Body::from(moved.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["recompute"]["workers"], json!(["w-0001"]));
    assert_eq!(
        s.send(get("/api/v1/registry/workers", None)).await.text(),
        moved
    );
}

// ---------------------------------------------------------------- reads

#[tokio::test]
async fn reads_give_units_workers_days_reports_and_positions() {
    let s = server(vec![], |_| {}).await;
    // The first sample day, posted as NDJSON.
    let decoded = gridbeat::ingest::csv::read_pings(
        sample::PINGS.as_bytes(),
        "pings.csv",
        gridbeat::model::Crs::Wgs84,
    )
    .unwrap();
    let day1: Vec<String> = decoded
        .pings
        .iter()
        .filter(|p| p.worker.as_str() == "w-0001")
        .map(|p| json!({"worker": "w-0001", "ts": p.ts, "lat": p.lat, "lon": p.lon}).to_string())
        .collect();
    let a = s
        .send(post(
            "/api/v1/pings",
            "application/x-ndjson",
            day1.join("\n"),
            None,
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    // Before the recompute the report says what is pending.
    let v = s
        .send(get("/api/v1/reports/2026-10?format=json", None))
        .await
        .json();
    assert!(
        v["freshness"]["pending"].as_u64().unwrap() > 0,
        "{}",
        v["freshness"]
    );
    s.state.settle().unwrap();
    let v = s.send(get("/api/v1/reports/2026-10", None)).await.json();
    assert_eq!(v["freshness"]["pending"], 0);
    assert!(v["freshness"]["newest_ping"]
        .as_str()
        .unwrap()
        .starts_with("2026-10"));
    let w1 = v["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["worker"] == "w-0001")
        .unwrap();
    assert!(w1["patrol_h"].as_f64().unwrap() > 1.0);

    let units = s.send(get("/api/v1/units", None)).await.json();
    assert_eq!(units[0]["level"], "city");
    let u = s
        .send(get("/api/v1/units/430102001001001", None))
        .await
        .json();
    assert_eq!(
        (u["level"].as_str(), u["parent"].as_str()),
        (Some("grid"), Some("430102001001"))
    );
    // The workers assigned to that grid in workers.csv.
    let assigned: Vec<&str> = sample::WORKERS
        .lines()
        .filter(|l| l.ends_with(",430102001001001"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert!(assigned.contains(&"w-0001"));
    assert_eq!(u["workers"], json!(assigned));
    assert_eq!(
        s.send(get("/api/v1/units/999", None)).await.status,
        StatusCode::NOT_FOUND
    );
    let w = s.send(get("/api/v1/workers/w-0001", None)).await.json();
    assert_eq!(w["grids"], json!(["430102001001001"]));
    let days = w["days"].as_array().unwrap().clone();
    let local_days: std::collections::BTreeSet<String> = decoded
        .pings
        .iter()
        .filter(|p| p.worker.as_str() == "w-0001")
        .map(|p| {
            chrono::DateTime::from_timestamp_millis(p.ts)
                .unwrap()
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .date_naive()
                .to_string()
        })
        .collect();
    assert_eq!(
        days,
        local_days.into_iter().map(Value::from).collect::<Vec<_>>()
    );
    let d = s
        .send(get("/api/v1/workers/w-0001/days/2026-10-01", None))
        .await
        .json();
    assert!(d["length_m"].as_f64().unwrap() > 100.0);
    assert!(
        d["grid_s"].get("430102001001001").is_some(),
        "{}",
        d["grid_s"]
    );
    let g = s
        .send(get(
            "/api/v1/workers/w-0001/days/2026-10-01?format=geojson",
            None,
        ))
        .await;
    assert_eq!(g.headers["content-type"], "application/geo+json");
    assert_eq!(g.json()["type"], "FeatureCollection");
    assert!(!g.json()["features"].as_array().unwrap().is_empty());
    let a = s
        .send(get("/api/v1/workers/w-0001/days/2026-13-01", None))
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "bad_day")
    );
    let a = s
        .send(get("/api/v1/workers/w-0001/days/2026-11-01", None))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    let html = s
        .send(get("/api/v1/reports/2026-10?format=html&lang=zh", None))
        .await;
    assert_eq!(html.headers["content-type"], "text/html; charset=utf-8");
    assert!(html.text().contains("<html"));
    let csv = s
        .send(get(
            "/api/v1/reports/2026-10?format=csv&table=grids&lang=en",
            None,
        ))
        .await;
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let xlsx = s
        .send(get("/api/v1/reports/2026-10?format=xlsx", None))
        .await;
    assert_eq!(&xlsx.body[..2], b"PK");
    let a = s.send(get("/api/v1/reports/2026-13", None)).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "bad_month")
    );
    let a = s
        .send(get("/api/v1/reports/2026-10?format=pdf", None))
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "bad_format")
    );

    let p = s.send(get("/api/v1/positions", None)).await.json();
    assert_eq!(p[0]["worker"], "w-0001");
    assert!(p[0]["age_s"].as_f64().unwrap() > 0.0);
}
