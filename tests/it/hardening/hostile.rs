//! The hostile-input suite and the authorization matrix (issue 15, DESIGN.md §5.4 and §7).
//!
//! `hostile_requests_in_process`: a table of requests over every endpoint family, each with
//! the status and JSON error code the contract gives; for every case the answer must carry
//! `x-request-id`, an error must be `{"code","message"}` JSON (short: no echo of a huge value)
//! and a refused request must store nothing. Afterwards the server still answers, no handler
//! panicked, and the legitimate data reads the same as before.
//!
//! `hostile_transport_real_binary`: the cases where the transport matters (lying
//! Content-Length, chunked abuse), against `gridbeat serve` on a loopback port.
//!
//! `authorization_matrix`: every read endpoint × {no token, device, viewer of community A,
//! viewer of community B, city viewer, admin of community A}: the status per role, and no
//! worker id or grid code of the other community anywhere in an answer's bytes.
//!
//! Every case is checked and the failures are listed together at the end, so one run names
//! every case that breaks the contract.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderValue, Request};
use gridbeat::cli::demo::sample;
use gridbeat::server::{osmand_router, router, AppState};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::util::{self, sample_pings, token, App};

// ---------------------------------------------------------------- the sample's communities

/// Community A: the sample's first community, and its workers and grids.
const COMMUNITY_A: &str = "430102001001";
/// Community B: the second community.
const COMMUNITY_B: &str = "430102001002";
/// The city (the registry's root).
const CITY: &str = "430100";
/// The largest batch of the test servers (small, so a record-count bomb is cheap).
const MAX_BATCH: u64 = 5_000;
/// The largest body of the in-process server.
const MAX_BODY: u64 = 4 * 1024 * 1024;
/// The test servers' `max_registry_bytes`.
const MAX_REGISTRY: u64 = 6 * 1024 * 1024;
/// The longest error body accepted: a message names the fault, it does not echo the input.
const MAX_ERROR_BODY: usize = 8 * 1024;

/// The workers assigned to grids of a community (from the sample's `workers.csv`).
fn workers_of(community: &str) -> Vec<String> {
    let mut out: Vec<String> = sample::WORKERS
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() == 3 && f[2].starts_with(community)).then(|| f[0].to_string())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The grid codes of a community (from the sample's `grids.geojson`).
fn grids_of(community: &str) -> Vec<String> {
    let doc: Value = serde_json::from_str(sample::GRIDS).unwrap();
    doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["parent"] == community)
        .filter_map(|f| f["properties"]["code"].as_str().map(String::from))
        .collect()
}

/// What must never appear in an answer to a caller of the other community: its worker ids.
fn secrets_of(community: &str) -> Vec<String> {
    let mine = workers_of(if community == COMMUNITY_A {
        COMMUNITY_B
    } else {
        COMMUNITY_A
    });
    // Grid codes are not secrets: a caller's own worker may walk through the other
    // community's grid, and its track, stays and position then name that grid (whose code
    // begins with the community's). What must never appear is the other community's workers.
    workers_of(community)
        .into_iter()
        // A worker assigned in both communities may be seen by both.
        .filter(|w| !mine.contains(w))
        .collect()
}

/// The tokens of the test servers; each token's secret is its name.
fn tokens() -> Vec<gridbeat::config::TokenConfig> {
    vec![
        token("admin", "admin", None, &[]),
        token("admin-a", "admin", Some(COMMUNITY_A), &[]),
        token("viewer-a", "viewer", Some(COMMUNITY_A), &[]),
        token("viewer-b", "viewer", Some(COMMUNITY_B), &[]),
        token("city", "viewer", Some(CITY), &[]),
        token("device", "device", None, &["w-0001"]),
    ]
}

/// The sample city with its first two days of pings posted through the ingest path and
/// summarised: data to leak and to damage.
async fn seeded_app() -> App {
    let app = App::new(tokens(), |c| {
        c.server.max_batch = MAX_BATCH;
        c.server.max_body_bytes = MAX_BODY;
        c.server.max_registry_bytes = MAX_REGISTRY;
        c.server.rate_per_s = 1_000_000;
        c.server.rate_burst = 1_000_000;
    })
    .await;
    let end = chrono::DateTime::parse_from_rfc3339("2026-10-03T00:00:00+08:00")
        .unwrap()
        .timestamp_millis();
    let two_days: Vec<_> = sample_pings().into_iter().filter(|p| p.ts < end).collect();
    assert!(two_days.len() > 1_000, "{}", two_days.len());
    for chunk in two_days.chunks(MAX_BATCH as usize) {
        gridbeat::cli::serve::post_pings(&app.state, chunk, Some("admin"))
            .await
            .unwrap();
    }
    app.state.settle().unwrap();
    app
}

// ---------------------------------------------------------------- panics

/// Names of the threads that panicked (recorded by a hook installed once).
static PANICKED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Installs the hook that records which thread panicked (then runs the previous hook).
fn record_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = std::thread::current()
                .name()
                .unwrap_or("unnamed")
                .to_string();
            if let Ok(mut p) = PANICKED.lock() {
                p.push(name);
            }
            previous(info);
        }));
    });
}

/// Panics recorded on the threads whose name starts with `prefix`.
fn panics_on(prefix: &str) -> usize {
    PANICKED
        .lock()
        .map(|p| p.iter().filter(|n| n.starts_with(prefix)).count())
        .unwrap_or(0)
}

/// A runtime whose threads (workers and blocking pool) are named `prefix…`, so a panic in a
/// handler is told apart from a failed assertion of another test.
fn runtime(prefix: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(format!("{prefix}rt"))
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------- requests and answers

/// A request as data (built inside the spawned task).
#[derive(Clone, Debug)]
struct Req {
    method: &'static str,
    uri: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    /// Sent to the router of `--osmand-listen` instead of the API's.
    osmand_port: bool,
}

impl Req {
    fn new(method: &'static str, uri: impl Into<String>) -> Req {
        Req {
            method,
            uri: uri.into(),
            headers: Vec::new(),
            body: Vec::new(),
            osmand_port: false,
        }
    }
    fn get(uri: impl Into<String>) -> Req {
        Req::new("GET", uri)
    }
    fn header(mut self, k: &str, v: impl AsRef<[u8]>) -> Req {
        self.headers.push((k.to_string(), v.as_ref().to_vec()));
        self
    }
    fn bearer(self, t: &str) -> Req {
        self.header("authorization", format!("Bearer {t}"))
    }
    fn body(mut self, b: impl Into<Vec<u8>>) -> Req {
        self.body = b.into();
        self
    }
    fn json(self, b: impl Into<Vec<u8>>) -> Req {
        self.header("content-type", "application/json").body(b)
    }
    fn ndjson(self, b: impl Into<Vec<u8>>) -> Req {
        self.header("content-type", "application/x-ndjson").body(b)
    }
    fn on_osmand_port(mut self) -> Req {
        self.osmand_port = true;
        self
    }
    fn build(&self) -> Result<Request<Body>, String> {
        let mut r = Request::builder().method(self.method).uri(&self.uri);
        for (k, v) in &self.headers {
            let v = HeaderValue::from_bytes(v).map_err(|e| format!("header {k}: {e}"))?;
            r = r.header(k.as_str(), v);
        }
        r.body(Body::from(self.body.clone()))
            .map_err(|e| format!("request: {e}"))
    }
}

/// What came back.
struct Got {
    status: u16,
    content_type: String,
    request_id: bool,
    retry_after: bool,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
    fn short(&self) -> String {
        let t = String::from_utf8_lossy(&self.body[..self.body.len().min(160)]).into_owned();
        format!("{} {:?} {t:?}", self.status, self.content_type)
    }
}

/// Sends a request through the router in a task of its own: a handler that panics is a
/// failed join (and a panic on a named thread), not a crashed test.
async fn send(state: &Arc<AppState>, req: &Req) -> Result<Got, String> {
    let request = req.build()?;
    let state = Arc::clone(state);
    let app = if req.osmand_port {
        osmand_router(state)
    } else {
        router(state)
    };
    let task = tokio::spawn(async move {
        let resp = app.oneshot(request).await.unwrap();
        let status = resp.status().as_u16();
        let h = resp.headers();
        let content_type = h
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let request_id = h.get("x-request-id").is_some_and(|v| !v.is_empty());
        let retry_after = h.get(header::RETRY_AFTER).is_some();
        let body = to_bytes(resp.into_body(), usize::MAX)
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        Got {
            status,
            content_type,
            request_id,
            retry_after,
            body,
        }
    });
    match tokio::time::timeout(Duration::from_secs(20), task).await {
        Ok(Ok(g)) => Ok(g),
        Ok(Err(e)) => Err(format!("the handler panicked: {e}")),
        Err(_) => Err("no answer within 20 s".into()),
    }
}

// ---------------------------------------------------------------- expectations

/// An expected error code.
#[derive(Clone, Copy, Debug)]
enum Code {
    /// Exactly this code.
    Is(&'static str),
    /// The contract names no code: any snake_case code.
    Any,
}

impl Code {
    fn matches(self, code: &str) -> bool {
        let snake = !code.is_empty()
            && code.starts_with(|c: char| c.is_ascii_lowercase())
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        match self {
            Code::Is(c) => c == code,
            Code::Any => snake,
        }
    }
}

/// What a case must get.
#[derive(Clone, Debug)]
enum Expect {
    /// An error: status and `{"code","message"}` JSON.
    Error(u16, Code),
    /// `200` batch answer: nothing accepted, these records rejected (in order).
    Batch(Vec<Code>),
    /// `200` batch answer storing `n` pings.
    Accepted(usize),
    /// A success status, nothing stored.
    Ok(u16),
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Error(s, c) => write!(f, "{s} {c:?}"),
            Expect::Batch(c) => write!(f, "200 rejected {c:?}"),
            Expect::Accepted(n) => write!(f, "200 accepted {n}"),
            Expect::Ok(s) => write!(f, "{s}"),
        }
    }
}

use Code::{Any, Is};

/// One case of the table.
struct Case {
    family: &'static str,
    name: String,
    req: Req,
    expect: Expect,
    /// A string that must not appear in the answer (a reflected header, …).
    absent: Option<String>,
}

fn case(family: &'static str, name: impl Into<String>, req: Req, expect: Expect) -> Case {
    Case {
        family,
        name: name.into(),
        req,
        expect,
        absent: None,
    }
}

fn err(status: u16, code: &'static str) -> Expect {
    Expect::Error(status, Is(code))
}

fn err_any(status: u16) -> Expect {
    Expect::Error(status, Any)
}

fn rejected(codes: &[&'static str]) -> Expect {
    Expect::Batch(codes.iter().map(|c| Is(c)).collect())
}

/// Checks one answer against its expectation; `Err` says how it differs.
fn check(expect: &Expect, absent: Option<&str>, got: &Got) -> Result<(), String> {
    let mut faults = Vec::new();
    if got.status >= 500 {
        faults.push("a 5xx for bad input".to_string());
    }
    if !got.request_id {
        faults.push("no x-request-id".into());
    }
    match expect {
        Expect::Error(status, code) => {
            if got.status != *status {
                faults.push(format!("status {}", got.status));
            }
            if !got.content_type.starts_with("application/json") {
                faults.push(format!("content-type {:?}", got.content_type));
            }
            match got.json() {
                Some(v) => {
                    let c = v["code"].as_str().unwrap_or("");
                    if !code.matches(c) {
                        faults.push(format!("code {c:?}"));
                    }
                    if !v["message"].is_string() {
                        faults.push("no message".into());
                    }
                }
                None => faults.push("the body is not JSON".into()),
            }
            if got.body.len() > MAX_ERROR_BODY {
                faults.push(format!("an error body of {} bytes", got.body.len()));
            }
            if got.status == 429 && !got.retry_after {
                faults.push("429 without Retry-After".into());
            }
        }
        Expect::Batch(codes) => {
            if got.status != 200 {
                faults.push(format!("status {}", got.status));
            }
            match got.json() {
                Some(v) => {
                    if v["accepted"] != 0 {
                        faults.push(format!("accepted {}", v["accepted"]));
                    }
                    let got_codes: Vec<&str> = v["rejected"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|r| r["code"].as_str()).collect())
                        .unwrap_or_default();
                    if got_codes.len() != codes.len()
                        || !codes.iter().zip(&got_codes).all(|(e, g)| e.matches(g))
                    {
                        faults.push(format!("rejected {got_codes:?}"));
                    }
                }
                None => faults.push("the body is not JSON".into()),
            }
            if got.body.len() > MAX_ERROR_BODY {
                faults.push(format!("an answer of {} bytes", got.body.len()));
            }
        }
        Expect::Accepted(n) => {
            let accepted = got.json().map(|v| v["accepted"].clone());
            if got.status != 200 || accepted != Some(json!(n)) {
                faults.push(format!("status {} accepted {accepted:?}", got.status));
            }
        }
        Expect::Ok(status) => {
            if got.status != *status {
                faults.push(format!("status {}", got.status));
            }
        }
    }
    if let Some(a) = absent {
        if got.body.windows(a.len()).any(|w| w == a.as_bytes()) {
            faults.push(format!("the answer contains {a:?}"));
        }
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(faults.join(", "))
    }
}

// ---------------------------------------------------------------- inputs

/// Percent-encodes every byte but the unreserved ones.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// SQL strings tried in every identifier.
const SQL: [&str; 2] = ["' OR 1=1 --", "\"; DROP TABLE pings; --"];

/// A good ping of worker `w` in October 2026, with `extra` fields replacing its own.
fn ping(w: &str, extra: Value) -> Value {
    let mut p =
        json!({"worker": w, "ts": "2026-10-05T09:30:00+08:00", "lat": 28.1944, "lon": 112.9726});
    if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            p.insert(k.clone(), v.clone());
        }
    }
    p
}

/// A JSON array of one ping, as text.
fn one(w: &str, extra: Value) -> String {
    json!([ping(w, extra)]).to_string()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// `n` bytes of `b`.
fn filled(b: u8, n: usize) -> String {
    String::from_utf8(vec![b; n]).unwrap()
}

/// A gzip body that inflates to `mib` MiB of zeros (single member, built in 1 MiB steps).
fn gzip_bomb(mib: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..mib {
        e.write_all(&zeros).unwrap();
    }
    e.finish().unwrap()
}

/// The z/x/y of the tile holding a point.
fn tile_of(lon: f64, lat: f64, z: u8) -> (u8, u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let phi = lat.to_radians();
    let y = ((1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor()
        as u32;
    (z, x, y)
}

/// Basic auth of `user:password`.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

// ---------------------------------------------------------------- the table

/// Every case of the in-process suite.
fn cases() -> Vec<Case> {
    let mut c = Vec::new();
    let pings = |body: Vec<u8>| Req::new("POST", "/api/v1/pings").bearer("admin").body(body);
    let pj = |body: String| Req::new("POST", "/api/v1/pings").bearer("admin").json(body);
    let huge = filled(b'x', 1 << 20);
    let long_id = filled(b'x', 60_000); // the http crate takes URIs up to 64 KiB

    // ---- ingest: JSON and NDJSON bodies
    let f = "ingest-json";
    c.push(case(
        f,
        "empty body",
        pj(String::new()),
        err(400, "empty_body"),
    ));
    c.push(case(f, "only [", pj("[".into()), err(400, "bad_json")));
    let full = one("w-0001", json!({}));
    c.push(case(
        f,
        "truncated array",
        pj(full[..full.len() - 7].into()),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "array missing ]",
        pj(full[..full.len() - 1].into()),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "array of numbers",
        pj("[1,2,3]".into()),
        rejected(&["not_an_object"; 3]),
    ));
    c.push(case(
        f,
        "empty array",
        pj("[]".into()),
        Expect::Batch(vec![]),
    ));
    c.push(case(
        f,
        "null",
        pj("null".into()),
        rejected(&["not_an_object"]),
    ));
    c.push(case(
        f,
        "a bare string",
        pj("\"w-0001\"".into()),
        rejected(&["not_an_object"]),
    ));
    c.push(case(
        f,
        "100k [ (deep nesting)",
        pj(filled(b'[', 100_000)),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "100k nested arrays closed",
        pj(format!(
            "{}{}",
            filled(b'[', 100_000),
            filled(b']', 100_000)
        )),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "deep nesting inside a field",
        pj(format!(
            "[{{\"worker\":\"w-0001\",\"ts\":1790000000,\"lat\":28.19,\"lon\":112.97,\"x\":{}}}]",
            filled(b'[', 50_000)
        )),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "invalid UTF-8 in a worker id",
        pings(
            [
                b"[{\"worker\":\"w-\xff\xfe\",\"ts\":1790000000,\"lat\":28.19,\"lon\":112.97}]"
                    .as_slice(),
            ]
            .concat(),
        )
        .header("content-type", "application/json"),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "raw NUL in a string",
        pings(
            b"[{\"worker\":\"w-0001\x00\",\"ts\":1790000000,\"lat\":28.19,\"lon\":112.97}]"
                .to_vec(),
        )
        .header("content-type", "application/json"),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "NaN literal",
        pj(r#"[{"worker":"w-0001","ts":1790000000,"lat":NaN,"lon":112.97}]"#.into()),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "Infinity literal",
        pj(r#"[{"worker":"w-0001","ts":1790000000,"lat":28.19,"lon":Infinity}]"#.into()),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "-Infinity literal",
        pj(r#"[{"worker":"w-0001","ts":1790000000,"lat":-Infinity,"lon":112.97}]"#.into()),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "1e309 overflows",
        pj(r#"[{"worker":"w-0001","ts":1790000000,"lat":1e309,"lon":112.97}]"#.into()),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "lat 1e308",
        pj(one("w-0001", json!({"lat": 1e308}))),
        rejected(&["bad_position"]),
    ));
    c.push(case(
        f,
        "lon -1e308",
        pj(one("w-0001", json!({"lon": -1e308}))),
        rejected(&["bad_position"]),
    ));
    c.push(case(
        f,
        "lat \"NaN\" as text",
        pj(one("w-0001", json!({"lat": "NaN"}))),
        rejected(&["bad_number"]),
    ));
    c.push(case(
        f,
        "lat 90.000001",
        pj(one("w-0001", json!({"lat": 90.000001}))),
        rejected(&["bad_position"]),
    ));
    c.push(case(
        f,
        "lat -91",
        pj(one("w-0001", json!({"lat": -91}))),
        rejected(&["bad_position"]),
    ));
    c.push(case(
        f,
        "lon 180.5",
        pj(one("w-0001", json!({"lon": 180.5}))),
        rejected(&["bad_position"]),
    ));
    c.push(case(
        f,
        "lon -181",
        pj(one("w-0001", json!({"lon": -181}))),
        rejected(&["bad_position"]),
    ));
    c.push(case(
        f,
        "lat and lon swapped",
        pj(one("w-0001", json!({"lat": 112.9726, "lon": 28.1944}))),
        rejected(&["bad_position"]),
    ));
    c.push(case(
        f,
        "ts i64::MAX",
        pj(one("w-0001", json!({"ts": i64::MAX}))),
        rejected(&["timestamp_out_of_range"]),
    ));
    c.push(case(
        f,
        "ts i64::MIN",
        pj(one("w-0001", json!({"ts": i64::MIN}))),
        rejected(&["timestamp_out_of_range"]),
    ));
    c.push(case(
        f,
        "ts u64::MAX",
        pj(one("w-0001", json!({"ts": u64::MAX}))),
        rejected(&["timestamp_out_of_range"]),
    ));
    c.push(case(
        f,
        "ts 1e300",
        pj(one("w-0001", json!({"ts": 1e300}))),
        rejected(&["timestamp_out_of_range"]),
    ));
    c.push(case(
        f,
        "ts year 1",
        pj(one("w-0001", json!({"ts": "0001-01-01T00:00:00Z"}))),
        rejected(&["timestamp_out_of_range"]),
    ));
    c.push(case(
        f,
        "ts year 9999",
        pj(one("w-0001", json!({"ts": "9999-12-31T23:59:59+08:00"}))),
        rejected(&["timestamp_out_of_range"]),
    ));
    c.push(case(
        f,
        "ts year 2100 (future)",
        pj(one("w-0001", json!({"ts": "2100-01-01T00:00:00Z"}))),
        rejected(&["future_timestamp"]),
    ));
    c.push(case(
        f,
        "ts month 13",
        pj(one("w-0001", json!({"ts": "2026-13-01T00:00:00+08:00"}))),
        rejected(&["bad_timestamp"]),
    ));
    c.push(case(
        f,
        "ts hour 25",
        pj(one("w-0001", json!({"ts": "2026-10-01T25:00:00+08:00"}))),
        rejected(&["bad_timestamp"]),
    ));
    c.push(case(
        f,
        "ts without an offset",
        pj(one("w-0001", json!({"ts": "2026-10-01T08:00:00"}))),
        rejected(&["bad_timestamp"]),
    ));
    c.push(case(
        f,
        "ts SQL",
        pj(one("w-0001", json!({"ts": SQL[0]}))),
        rejected(&["bad_timestamp"]),
    ));
    c.push(case(
        f,
        "no lat",
        pj(json!([{"worker": "w-0001", "ts": 1790000000, "lon": 112.97}]).to_string()),
        rejected(&["missing_field"]),
    ));
    c.push(case(
        f,
        "no worker",
        pj(json!([{"ts": 1790000000, "lat": 28.19, "lon": 112.97}]).to_string()),
        rejected(&["missing_field"]),
    ));
    c.push(case(
        f,
        "acc abc",
        pj(one("w-0001", json!({"acc": "abc"}))),
        rejected(&["bad_number"]),
    ));
    c.push(case(
        f,
        "batt beyond f32",
        pj(one("w-0001", json!({"batt": 1e39}))),
        rejected(&["bad_number"]),
    ));
    c.push(case(
        f,
        "mock maybe",
        pj(one("w-0001", json!({"mock": "maybe"}))),
        rejected(&["bad_bool"]),
    ));
    c.push(case(
        f,
        "crs mars",
        pj(one("w-0001", json!({"crs": "mars"}))),
        rejected(&["bad_crs"]),
    ));
    c.push(case(
        f,
        "-0 in acc and speed (a good ping of 2025)",
        pj(r#"[{"worker":"w-0001","ts":"2025-06-01T09:00:00+08:00","lat":28.1944,"lon":112.9726,"acc":-0,"speed":-0.0}]"#.into()),
        Expect::Accepted(1),
    ));
    c.push(case(
        f,
        "1 MB worker id (admin)",
        pj(one(&huge, json!({}))),
        Expect::Batch(vec![Any]),
    ));
    c.push(case(
        f,
        "1 MB checkin code",
        pj(one("w-0001", json!({"checkin": huge}))),
        Expect::Batch(vec![Any]),
    ));
    c.push(case(
        f,
        "1 MB field name beside a bad lat",
        pj(format!(
            "[{{\"worker\":\"w-0001\",\"ts\":1790000000,\"lat\":91,\"lon\":112.97,\"{huge}\":1}}]"
        )),
        rejected(&["bad_position"]),
    ));
    for s in SQL {
        c.push(case(
            f,
            format!("SQL worker id {s:?} (device)"),
            Req::new("POST", "/api/v1/pings")
                .bearer("device")
                .json(one(s, json!({}))),
            rejected(&["worker_not_allowed"]),
        ));
    }
    c.push(case(
        f,
        "NUL in a worker id (device)",
        Req::new("POST", "/api/v1/pings")
            .bearer("device")
            .json(one("w-0001\u{0}", json!({}))),
        rejected(&["worker_not_allowed"]),
    ));
    c.push(case(
        f,
        "another worker (device)",
        Req::new("POST", "/api/v1/pings")
            .bearer("device")
            .json(one("w-0002", json!({}))),
        rejected(&["worker_not_allowed"]),
    ));
    c.push(case(
        f,
        "outside the scoped admin's community",
        Req::new("POST", "/api/v1/pings")
            .bearer("admin-a")
            .json(one("w-0006", json!({}))),
        rejected(&["worker_not_allowed"]),
    ));
    let bomb_records = format!("[{}0]", "0,".repeat(1_000_000));
    c.push(case(
        f,
        "record-count bomb: 1M zeros",
        pj(bomb_records.clone()),
        err(413, "too_many_records"),
    ));
    c.push(case(
        f,
        "record count max_batch + 1",
        pj(format!(
            "[{}]",
            vec!["{}"; MAX_BATCH as usize + 1].join(",")
        )),
        err(413, "too_many_records"),
    ));
    c.push(case(
        f,
        "body over max_body_bytes",
        pj(format!("[{}]", filled(b' ', MAX_BODY as usize + 1))),
        err(413, "body_too_large"),
    ));

    let f = "ingest-ndjson";
    let pn = |body: String| {
        Req::new("POST", "/api/v1/pings")
            .bearer("admin")
            .ndjson(body)
    };
    let line = ping("w-0001", json!({"ts": "2026-10-05T09:30:00+08:00"})).to_string();
    c.push(case(
        f,
        "truncated line",
        pn(line[..line.len() - 5].into()),
        rejected(&["bad_json"]),
    ));
    c.push(case(
        f,
        "empty body",
        pn(String::new()),
        err(400, "empty_body"),
    ));
    c.push(case(
        f,
        "only blank lines",
        pn("\n\n \n".into()),
        err(400, "empty_body"),
    ));
    c.push(case(
        f,
        "array on a line",
        pn("[1]".into()),
        rejected(&["not_an_object"]),
    ));
    c.push(case(
        f,
        "deep nesting on a line",
        pn(filled(b'{', 100_000)),
        rejected(&["bad_json"]),
    ));
    c.push(case(
        f,
        "NaN in a line",
        pn(r#"{"worker":"w-0001","ts":1790000000,"lat":NaN,"lon":1}"#.into()),
        rejected(&["bad_json"]),
    ));
    c.push(case(
        f,
        "invalid UTF-8",
        Req::new("POST", "/api/v1/pings")
            .bearer("admin")
            .header("content-type", "application/x-ndjson")
            .body(b"{\"worker\":\"\xc3\x28\"}".to_vec()),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "two bad lines",
        pn(format!("{{\n{}", line.replace("28.1944", "1e308"))),
        rejected(&["bad_json", "bad_position"]),
    ));
    c.push(case(
        f,
        "record-count bomb",
        pn("{}\n".repeat(MAX_BATCH as usize + 1)),
        err(413, "too_many_records"),
    ));
    c.push(case(
        f,
        "1 MB line of spaces",
        pn(format!("{}{line}", filled(b' ', 1 << 20))
            .replace("2026-10-05T09:30:00+08:00", "2026-13-05T09:30:00+08:00")),
        rejected(&["bad_timestamp"]),
    ));

    // ---- gzip bodies
    let f = "ingest-gzip";
    let gz = |body: Vec<u8>| {
        Req::new("POST", "/api/v1/pings")
            .bearer("admin")
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(body)
    };
    let good = gzip(one("w-0001", json!({"lat": 91})).as_bytes());
    c.push(case(
        f,
        "not gzip at all",
        gz(b"[{\"worker\":1}]".to_vec()),
        err(400, "bad_gzip"),
    ));
    c.push(case(
        f,
        "empty gzip body",
        gz(Vec::new()),
        err(400, "bad_gzip"),
    ));
    c.push(case(
        f,
        "truncated gzip",
        gz(good[..good.len() / 2].to_vec()),
        err(400, "bad_gzip"),
    ));
    c.push(case(
        f,
        "gzip without its trailer",
        gz(good[..good.len() - 8].to_vec()),
        err(400, "bad_gzip"),
    ));
    let mut bad_crc = good.clone();
    let n = bad_crc.len();
    bad_crc[n - 8] ^= 0xff;
    c.push(case(
        f,
        "gzip with a wrong CRC",
        gz(bad_crc),
        err(400, "bad_gzip"),
    ));
    let mut second_bad = good.clone();
    second_bad.extend_from_slice(&good[..good.len() / 2]);
    c.push(case(
        f,
        "second gzip member cut off",
        gz(second_bad),
        err(400, "bad_gzip"),
    ));
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"garbage after the member");
    c.push(case(
        f,
        "garbage after the gzip member",
        gz(trailing),
        err(400, "bad_gzip"),
    ));
    c.push(case(
        f,
        "gzip bomb: 64 MiB of zeros",
        gz(gzip_bomb(64)),
        err(413, "body_too_large"),
    ));
    c.push(case(
        f,
        "gzip record-count bomb",
        gz(gzip(bomb_records.as_bytes())),
        err(413, "too_many_records"),
    ));
    c.push(case(
        f,
        "gzip inside gzip",
        gz(gzip(&good)),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "gzip bomb without a token",
        Req::new("POST", "/api/v1/pings")
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(gzip_bomb(64)),
        err(401, "unauthorized"),
    ));
    for enc in ["br", "deflate", "gzip, gzip", "zstd"] {
        c.push(case(
            f,
            format!("content-encoding {enc}"),
            Req::new("POST", "/api/v1/pings")
                .bearer("admin")
                .header("content-type", "application/json")
                .header("content-encoding", enc)
                .body(good.clone()),
            err(415, "unsupported_encoding"),
        ));
    }

    // ---- content types and auth of ingest
    let f = "ingest-auth";
    for ct in [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
    ] {
        c.push(case(
            f,
            format!("content-type {ct}"),
            Req::new("POST", "/api/v1/pings")
                .bearer("admin")
                .header("content-type", ct)
                .body(full.clone()),
            err(415, "unsupported_media_type"),
        ));
    }
    c.push(case(
        f,
        "no content-type",
        Req::new("POST", "/api/v1/pings")
            .bearer("admin")
            .body(full.clone()),
        err(415, "unsupported_media_type"),
    ));
    c.push(case(
        f,
        "no token",
        Req::new("POST", "/api/v1/pings").json(full.clone()),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "garbage token",
        Req::new("POST", "/api/v1/pings")
            .bearer("garbage")
            .json(full.clone()),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "10 kB token",
        Req::new("POST", "/api/v1/pings")
            .bearer(&filled(b'a', 10_000))
            .json(full.clone()),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "empty bearer",
        Req::new("POST", "/api/v1/pings")
            .header("authorization", "Bearer ")
            .json(full.clone()),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "non-UTF-8 token",
        Req::new("POST", "/api/v1/pings")
            .header("authorization", b"Bearer adm\xffin".as_slice())
            .json(full.clone()),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "Basic auth on the JSON door",
        Req::new("POST", "/api/v1/pings")
            .header("authorization", basic("admin", "admin"))
            .json(full.clone()),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "viewer posts",
        Req::new("POST", "/api/v1/pings")
            .bearer("city")
            .json(full.clone()),
        err(403, "forbidden"),
    ));
    c.push(case(
        f,
        "SQL token",
        Req::new("POST", "/api/v1/pings")
            .bearer(SQL[0])
            .json(full.clone()),
        err(401, "unauthorized"),
    ));

    // ---- OsmAnd
    let f = "osmand";
    let q = |params: &str| format!("/osmand?{params}");
    let ok = "id=w-0001&lat=28.1944&lon=112.9726&timestamp=1790000000&token=device";
    c.push(case(
        f,
        "no token",
        Req::get(q("id=w-0001&lat=28.1944&lon=112.9726&timestamp=1790000000")),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "garbage token",
        Req::get(q(&ok.replace("token=device", "token=garbage"))),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "10 kB token",
        Req::get(q(&ok.replace(
            "token=device",
            &format!("token={}", filled(b'a', 10_000)),
        ))),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "no id",
        Req::get(q("lat=28.1944&lon=112.9726&token=device")),
        err(400, "missing_device"),
    ));
    c.push(case(
        f,
        "unknown device",
        Req::get(q(&ok.replace("id=w-0001", "id=nobody"))),
        err(400, "unknown_device"),
    ));
    for s in SQL {
        c.push(case(
            f,
            format!("SQL id {s:?}"),
            Req::get(q(&ok.replace("id=w-0001", &format!("id={}", pct(s))))),
            err(400, "unknown_device"),
        ));
    }
    c.push(case(
        f,
        "60 kB id",
        Req::get(q(&ok.replace("id=w-0001", &format!("id={long_id}")))),
        err_any(400),
    ));
    c.push(case(
        f,
        "no position",
        Req::get(q("id=w-0001&timestamp=1790000000&token=device")),
        err(400, "no_position"),
    ));
    c.push(case(
        f,
        "lat NaN",
        Req::get(q(&ok.replace("lat=28.1944", "lat=NaN"))),
        err(400, "bad_number"),
    ));
    c.push(case(
        f,
        "lat inf",
        Req::get(q(&ok.replace("lat=28.1944", "lat=inf"))),
        err(400, "bad_number"),
    ));
    c.push(case(
        f,
        "lat 1e308",
        Req::get(q(&ok.replace("lat=28.1944", "lat=1e308"))),
        err(400, "bad_position"),
    ));
    c.push(case(
        f,
        "lat 91",
        Req::get(q(&ok.replace("lat=28.1944", "lat=91"))),
        err(400, "bad_position"),
    ));
    c.push(case(
        f,
        "swapped",
        Req::get(q(
            "id=w-0001&lat=112.9726&lon=28.1944&timestamp=1790000000&token=device",
        )),
        err(400, "bad_position"),
    ));
    c.push(case(
        f,
        "timestamp i64::MAX",
        Req::get(q(&ok.replace("1790000000", &i64::MAX.to_string()))),
        err(400, "timestamp_out_of_range"),
    ));
    c.push(case(
        f,
        "timestamp i64::MIN",
        Req::get(q(&ok.replace("1790000000", &i64::MIN.to_string()))),
        err(400, "timestamp_out_of_range"),
    ));
    c.push(case(
        f,
        "timestamp year 1",
        Req::get(q(&ok.replace("1790000000", "0001-01-01T00%3A00%3A00Z"))),
        err(400, "timestamp_out_of_range"),
    ));
    c.push(case(
        f,
        "timestamp year 9999",
        Req::get(q(&ok.replace("1790000000", "9999-12-31%2023%3A59%3A59"))),
        err(400, "timestamp_out_of_range"),
    ));
    c.push(case(
        f,
        "timestamp month 13",
        Req::get(q(&ok.replace("1790000000", "2026-13-01%2000%3A00%3A00"))),
        err(400, "bad_timestamp"),
    ));
    c.push(case(
        f,
        "speed abc",
        Req::get(q(&format!("{ok}&speed=abc"))),
        err(400, "bad_number"),
    ));
    c.push(case(
        f,
        "duplicate id",
        Req::get(q(&format!("{ok}&id=w-0002"))),
        err_any(400),
    ));
    c.push(case(
        f,
        "duplicate lat",
        Req::get(q(&format!("{ok}&lat=10"))),
        err_any(400),
    ));
    c.push(case(
        f,
        "query with invalid UTF-8",
        Req::get(q(&ok.replace("id=w-0001", "id=w-%FF%FE"))),
        err_any(400),
    ));
    c.push(case(
        f,
        "truncated JSON body",
        Req::new("POST", "/osmand?token=device")
            .json(r#"{"location":{"timestamp":"2026-10-05T01:30:00Z","coords":{"latitude":28.19"#),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "deep JSON body",
        Req::new("POST", "/osmand?token=device")
            .json(format!("{{\"location\":{}", filled(b'[', 30_000))),
        err(400, "bad_json"),
    ));
    // A protocol body carries one fix: over 64 KiB it is refused unread (README, Limits).
    c.push(case(
        f,
        "deep JSON body over 64 KiB",
        Req::new("POST", "/osmand?token=device")
            .json(format!("{{\"location\":{}", filled(b'[', 100_000))),
        err(413, "body_too_large"),
    ));
    c.push(case(
        f,
        "form body with invalid UTF-8",
        Req::new("POST", "/osmand?token=device")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b"id=w-0001&lat=28.19\xff&lon=112.97".to_vec()),
        err_any(400),
    ));
    c.push(case(
        f,
        "1 MB body without a token",
        Req::new("POST", "/osmand")
            .header("content-type", "application/json")
            .body(format!("[{}0]", "0,".repeat(500_000))),
        // Its token could only be in the body, which is read up to 64 KiB and no further.
        err(413, "body_too_large"),
    ));
    c.push(case(
        f,
        "gzip bomb without a token",
        Req::new("POST", "/osmand")
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(gzip_bomb(64)),
        err(413, "body_too_large"),
    ));

    // ---- the OsmAnd port (`--osmand-listen`), where the protocol is at `/`
    let p = |r: Req| r.on_osmand_port();
    c.push(case(
        f,
        "port: no token",
        p(Req::get("/?id=w-0001&lat=28.1944&lon=112.9726")),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "port: good token, unknown device",
        p(Req::get(format!(
            "/?{}",
            ok.replace("id=w-0001", "id=nobody")
        ))),
        err(400, "unknown_device"),
    ));
    c.push(case(
        f,
        "port: gzip bomb without a token",
        p(Req::new("POST", "/")
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(gzip_bomb(64))),
        err(413, "body_too_large"),
    ));
    c.push(case(
        f,
        "port: deep JSON without a token",
        p(Req::new("POST", "/").json(filled(b'[', 100_000))),
        err(413, "body_too_large"),
    ));
    c.push(case(
        f,
        "port: small body without a token",
        p(Req::new("POST", "/").json(
            r#"{"location":{"coords":{"latitude":28.19,"longitude":112.97}},"device_id":"w-0001"}"#,
        )),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "port: an API path",
        p(Req::get("/api/v1/units").bearer("admin")),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "port: traversal",
        p(Req::get("/..%2f..%2fetc%2fpasswd")),
        err(404, "not_found"),
    ));
    for m in ["PUT", "DELETE", "PATCH"] {
        c.push(case(
            f,
            format!("port: {m} /"),
            p(Req::new(m, "/").bearer("admin")),
            err_any(405),
        ));
    }

    // ---- OwnTracks
    let f = "owntracks";
    let loc = json!({"_type": "location", "tst": 1790000000, "lat": 28.1944, "lon": 112.9726})
        .to_string();
    let ot = |auth: &str, body: String| {
        Req::new("POST", "/owntracks")
            .header("authorization", auth)
            .json(body)
    };
    let dev = basic("w-0001", "device");
    c.push(case(
        f,
        "no auth",
        Req::new("POST", "/owntracks").json(loc.clone()),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "Basic garbage base64",
        ot("Basic !!!***", loc.clone()),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "Basic without a colon",
        ot(
            &format!("Basic {}", {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode("w-0001device")
            }),
            loc.clone(),
        ),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "Basic with invalid UTF-8",
        ot(
            &format!("Basic {}", {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(b"w-0001:dev\xffice")
            }),
            loc.clone(),
        ),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "Basic wrong password",
        ot(&basic("w-0001", "wrong"), loc.clone()),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "Basic 10 kB",
        ot(&basic("w-0001", &filled(b'p', 10_000)), loc.clone()),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "Basic empty",
        ot("Basic ", loc.clone()),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "truncated JSON",
        ot(&dev, loc[..loc.len() - 4].to_string()),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "deep JSON",
        ot(&dev, filled(b'[', 30_000)),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "deep JSON over 64 KiB",
        ot(&dev, filled(b'[', 100_000)),
        err(413, "body_too_large"),
    ));
    c.push(case(
        f,
        "invalid UTF-8",
        Req::new("POST", "/owntracks")
            .header("authorization", dev.as_str())
            .header("content-type", "application/json")
            .body(b"{\"_type\":\"loc\xffation\"}".to_vec()),
        err(400, "bad_json"),
    ));
    c.push(case(
        f,
        "no lat",
        ot(
            &dev,
            json!({"_type": "location", "tst": 1790000000, "lon": 112.97}).to_string(),
        ),
        err(400, "missing_field"),
    ));
    c.push(case(
        f,
        "lat 1e308",
        ot(&dev, loc.replace("28.1944", "1e308")),
        err(400, "bad_position"),
    ));
    c.push(case(
        f,
        "swapped",
        ot(
            &dev,
            json!({"_type": "location", "tst": 1790000000, "lat": 112.97, "lon": 28.19})
                .to_string(),
        ),
        err(400, "bad_position"),
    ));
    c.push(case(
        f,
        "tst i64::MAX",
        ot(&dev, loc.replace("1790000000", &i64::MAX.to_string())),
        err(400, "timestamp_out_of_range"),
    ));
    c.push(case(
        f,
        "tst -1e18",
        ot(&dev, loc.replace("1790000000", "-1000000000000000000")),
        err(400, "timestamp_out_of_range"),
    ));
    c.push(case(
        f,
        "a waypoint (ignored)",
        ot(
            &dev,
            json!({"_type": "waypoint", "desc": SQL[1]}).to_string(),
        ),
        Expect::Ok(200),
    ));
    c.push(case(
        f,
        "unknown device user",
        ot(&basic(SQL[0], "device"), loc.clone()),
        err(400, "unknown_device"),
    ));
    c.push(case(
        f,
        "another worker's user",
        ot(&basic("w-0002", "device"), loc.clone()),
        err(403, "worker_not_allowed"),
    ));
    c.push(case(
        f,
        "gzip garbage",
        ot(&dev, loc.clone()).header("content-encoding", "gzip"),
        err(400, "bad_gzip"),
    ));

    // ---- registry
    let f = "registry";
    let put = |file: &str, body: Vec<u8>| {
        Req::new("PUT", format!("/api/v1/registry/{file}"))
            .bearer("admin")
            .body(body)
    };
    c.push(case(
        f,
        "grids not JSON",
        put("grids", b"{\"type\":\"FeatureCollection\",".to_vec()),
        err(422, "invalid_registry"),
    ));
    c.push(case(
        f,
        "grids deep nesting",
        put("grids", filled(b'[', 100_000).into_bytes()),
        err(422, "invalid_registry"),
    ));
    c.push(case(
        f,
        "grids invalid UTF-8",
        put("grids", b"{\"type\":\"\xff\"}".to_vec()),
        err(400, "bad_encoding"),
    ));
    c.push(case(
        f,
        "grids NaN coordinates",
        put(
            "grids",
            sample::GRIDS.replacen("112.", "NaN", 1).into_bytes(),
        ),
        err(422, "invalid_registry"),
    ));
    c.push(case(
        f,
        "grids swapped coordinates",
        put("grids", swap_first_ring(sample::GRIDS).into_bytes()),
        err(422, "invalid_registry"),
    ));
    for s in SQL {
        c.push(case(
            f,
            format!("workers SQL grid {s:?}"),
            put(
                "workers",
                format!("worker,name,grid\nw-0001,x,{s}\n").into_bytes(),
            ),
            err(422, "invalid_registry"),
        ));
        c.push(case(
            f,
            format!("devices SQL worker {s:?}"),
            put("devices", format!("device,worker\nd1,{s}\n").into_bytes()),
            err(422, "invalid_registry"),
        ));
    }
    c.push(case(
        f,
        "workers NUL",
        put("workers", b"worker,name,grid\nw-\x00,x,nowhere\n".to_vec()),
        err(422, "invalid_registry"),
    ));
    for name in [
        "passwd",
        "..%2f..%2fetc%2fpasswd",
        "%2e%2e",
        "grids.geojson",
        "%27%20OR%201%3D1%20--",
    ] {
        c.push(case(
            f,
            format!("PUT unknown file {name}"),
            put(name, b"x".to_vec()),
            err(404, "not_found"),
        ));
        c.push(case(
            f,
            format!("GET unknown file {name}"),
            Req::get(format!("/api/v1/registry/{name}")).bearer("admin"),
            err(404, "not_found"),
        ));
    }
    c.push(case(
        f,
        "PUT ../../etc/passwd (plain)",
        put("../../etc/passwd", b"x".to_vec()),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "PUT by a viewer",
        Req::new("PUT", "/api/v1/registry/workers")
            .bearer("city")
            .body(sample::WORKERS),
        err(403, "forbidden"),
    ));
    c.push(case(
        f,
        "PUT by a scoped admin",
        Req::new("PUT", "/api/v1/registry/workers")
            .bearer("admin-a")
            .body(sample::WORKERS),
        err(403, "forbidden"),
    ));
    c.push(case(
        f,
        "PUT by a device",
        Req::new("PUT", "/api/v1/registry/workers")
            .bearer("device")
            .body(sample::WORKERS),
        err(403, "forbidden"),
    ));
    c.push(case(
        f,
        "PUT without a token",
        Req::new("PUT", "/api/v1/registry/workers").body(sample::WORKERS),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "GET by a viewer",
        Req::get("/api/v1/registry/workers").bearer("city"),
        err(403, "forbidden"),
    ));
    c.push(case(
        f,
        "PUT over max_registry_bytes",
        put(
            "grids",
            filled(b' ', MAX_REGISTRY as usize + 1).into_bytes(),
        ),
        err(413, "body_too_large"),
    ));

    // ---- reads: units, workers, worker days
    let f = "reads";
    let a = |uri: String| Req::get(uri).bearer("admin");
    for s in SQL {
        c.push(case(
            f,
            format!("unit {s:?}"),
            a(format!("/api/v1/units/{}", pct(s))),
            err(404, "not_found"),
        ));
        c.push(case(
            f,
            format!("worker {s:?}"),
            a(format!("/api/v1/workers/{}", pct(s))),
            err(404, "not_found"),
        ));
        c.push(case(
            f,
            format!("worker day of {s:?}"),
            a(format!("/api/v1/workers/{}/days/2026-10-01", pct(s))),
            err(404, "not_found"),
        ));
    }
    c.push(case(
        f,
        "unit 60 kB",
        a(format!("/api/v1/units/{long_id}")),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "worker 60 kB",
        a(format!("/api/v1/workers/{long_id}")),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "unit ..%2f..%2fetc%2fpasswd",
        a("/api/v1/units/..%2f..%2fetc%2fpasswd".into()),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "worker with NUL",
        a("/api/v1/workers/w-0001%00".into()),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "day 2026-13-01",
        a("/api/v1/workers/w-0001/days/2026-13-01".into()),
        err(400, "bad_day"),
    ));
    c.push(case(
        f,
        "day 2026-02-30",
        a("/api/v1/workers/w-0001/days/2026-02-30".into()),
        err(400, "bad_day"),
    ));
    c.push(case(
        f,
        "day ..%2f..%2fetc%2fpasswd",
        a("/api/v1/workers/w-0001/days/..%2f..%2fetc%2fpasswd".into()),
        err(400, "bad_day"),
    ));
    c.push(case(
        f,
        "day year 1 (no figures)",
        a("/api/v1/workers/w-0001/days/0001-01-01".into()),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "day year 9999 (no figures)",
        a("/api/v1/workers/w-0001/days/9999-12-31".into()),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "day format=xml",
        a("/api/v1/workers/w-0001/days/2026-10-01?format=xml".into()),
        err(400, "bad_format"),
    ));
    c.push(case(
        f,
        "day duplicate format",
        a("/api/v1/workers/w-0001/days/2026-10-01?format=json&format=geojson".into()),
        err_any(400),
    ));

    // ---- reports
    let f = "reports";
    for fmt in ["json", "csv", "xlsx", "html"] {
        c.push(case(
            f,
            format!("format={fmt}"),
            a(format!("/api/v1/reports/2026-10?format={fmt}&lang=en")),
            Expect::Ok(200),
        ));
    }
    for m in [
        "2026-13",
        "2026-00",
        "99999-01",
        "2026-1x",
        "..%2f..%2fetc%2fpasswd",
        "%27%20OR%201%3D1%20--",
    ] {
        c.push(case(
            f,
            format!("month {m}"),
            a(format!("/api/v1/reports/{m}")),
            err(400, "bad_month"),
        ));
    }
    c.push(case(
        f,
        "format=pdf",
        a("/api/v1/reports/2026-10?format=pdf".into()),
        err(400, "bad_format"),
    ));
    c.push(case(
        f,
        "lang=fr",
        a("/api/v1/reports/2026-10?format=csv&lang=fr".into()),
        err(400, "bad_lang"),
    ));
    c.push(case(
        f,
        "table=passwd",
        a("/api/v1/reports/2026-10?format=csv&table=passwd".into()),
        err(400, "bad_table"),
    ));
    for s in SQL {
        c.push(case(
            f,
            format!("unit {s:?}"),
            a(format!("/api/v1/reports/2026-10?unit={}", pct(s))),
            err(404, "not_found"),
        ));
    }
    c.push(case(
        f,
        "unit 60 kB",
        a(format!("/api/v1/reports/2026-10?unit={long_id}")),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "duplicate format",
        a("/api/v1/reports/2026-10?format=csv&format=json".into()),
        err_any(400),
    ));
    c.push(case(
        f,
        "duplicate unit",
        a(format!(
            "/api/v1/reports/2026-10?unit={COMMUNITY_A}&unit={COMMUNITY_B}"
        )),
        err_any(400),
    ));
    c.push(case(
        f,
        "outside the viewer's scope",
        Req::get(format!("/api/v1/reports/2026-10?unit={COMMUNITY_B}")).bearer("viewer-a"),
        err(403, "forbidden"),
    ));

    // ---- layers
    let f = "layers";
    let l = |q: &str| a(format!("/api/v1/layers/grids?{q}"));
    for name in [
        "..%2f..%2fetc%2fpasswd",
        "%2e%2e",
        "..",
        "passwd",
        "%27%20OR%201%3D1%20--",
        "grids%00",
    ] {
        c.push(case(
            f,
            format!("layer {name}"),
            a(format!("/api/v1/layers/{name}")),
            err(404, "not_found"),
        ));
    }
    c.push(case(
        f,
        "layer ../../etc/passwd (plain)",
        a("/api/v1/layers/../../etc/passwd".into()),
        err(404, "not_found"),
    ));
    for (name, bbox) in [
        ("inverted bbox", "113,29,112,28"),
        ("NaN bbox", "NaN,NaN,NaN,NaN"),
        ("inf bbox", "-inf,-90,inf,90"),
        ("1e308 bbox", "-1e308,-1e308,1e308,1e308"),
        ("bbox of 3", "112,28,113"),
        ("bbox of 5", "112,28,113,29,0"),
        ("empty bbox", ""),
        ("bbox text", "a,b,c,d"),
        ("bbox lat over 90", "112,28,113,91"),
        ("bbox SQL", "%27%20OR%201%3D1%20--"),
    ] {
        c.push(case(
            f,
            name,
            l(&format!("bbox={bbox}")),
            err(400, "bad_bbox"),
        ));
    }
    c.push(case(
        f,
        "bbox 60 kB",
        l(&format!("bbox={long_id}")),
        err(400, "bad_bbox"),
    ));
    c.push(case(
        f,
        "month 2026-13",
        l("month=2026-13"),
        err(400, "bad_month"),
    ));
    c.push(case(
        f,
        "month 0000-00",
        l("month=0000-00"),
        err(400, "bad_month"),
    ));
    c.push(case(
        f,
        "day 2026-13-01",
        l("day=2026-13-01"),
        err(400, "bad_day"),
    ));
    c.push(case(
        f,
        "from after to",
        l("from=2026-10-05&to=2026-10-01"),
        err(400, "bad_period"),
    ));
    c.push(case(
        f,
        "from without to",
        l("from=2026-10-05"),
        err(400, "bad_period"),
    ));
    c.push(case(
        f,
        "day and month",
        l("day=2026-10-01&month=2026-10"),
        err(400, "bad_period"),
    ));
    c.push(case(
        f,
        "from year 1 to year 9999 (answered, not a hang)",
        l("from=0001-01-01&to=9999-12-31"),
        Expect::Ok(200),
    ));
    c.push(case(f, "crs mars", l("crs=mars"), err(400, "bad_crs")));
    c.push(case(
        f,
        "zoom NaN",
        l("zoom=NaN"),
        err(400, "bad_parameter"),
    ));
    c.push(case(
        f,
        "zoom 1e308",
        l("zoom=1e308"),
        err(400, "bad_parameter"),
    ));
    c.push(case(
        f,
        "cell_m 0",
        a("/api/v1/layers/heat?cell_m=0".into()),
        err(400, "bad_parameter"),
    ));
    c.push(case(
        f,
        "simplify_m -0.5",
        a("/api/v1/layers/tracks?simplify_m=-0.5".into()),
        err(400, "bad_parameter"),
    ));
    c.push(case(f, "zoom abc", l("zoom=abc"), err_any(400)));
    c.push(case(
        f,
        "duplicate month",
        l("month=2026-10&month=2026-09"),
        err_any(400),
    ));
    for s in SQL {
        c.push(case(
            f,
            format!("unit {s:?}"),
            l(&format!("unit={}", pct(s))),
            err(404, "not_found"),
        ));
        c.push(case(
            f,
            format!("worker {s:?} (viewer of A)"),
            Req::get(format!("/api/v1/layers/tracks?worker={}", pct(s))).bearer("viewer-a"),
            err(403, "forbidden"),
        ));
    }

    // ---- tiles, TileJSON, style
    let f = "tiles";
    let t = |path: &str| a(format!("/tiles/{path}"));
    for (name, path, code) in [
        ("zoom 25", "grids/25/0/0.mvt", "invalid_zoom"),
        ("zoom 255", "grids/255/0/0.mvt", "invalid_zoom"),
        ("zoom 2^32", "grids/4294967296/0/0.mvt", "invalid_tile"),
        ("x 2^z", "grids/1/2/0.mvt", "tile_out_of_range"),
        ("y 2^z", "grids/0/0/1.mvt", "tile_out_of_range"),
        (
            "x 16384 at z14",
            "grids/14/16384/0.mvt",
            "tile_out_of_range",
        ),
        ("x -1", "grids/14/-1/0.mvt", "invalid_tile"),
        ("y 2^32", "grids/14/0/4294967296.mvt", "invalid_tile"),
        ("z NaN", "grids/NaN/0/0.mvt", "invalid_tile"),
        ("z 1e3", "grids/1e3/0/0.mvt", "invalid_tile"),
        ("y .png", "grids/1/0/0.png", "invalid_tile"),
        (
            "y traversal",
            "grids/1/0/..%2f..%2fetc%2fpasswd",
            "invalid_tile",
        ),
        (
            "z SQL",
            "grids/%27%20OR%201%3D1%20--/0/0.mvt",
            "invalid_tile",
        ),
    ] {
        c.push(case(f, name, t(path), err(400, code)));
    }
    for (name, path) in [
        ("layer traversal", "..%2f..%2fetc%2fpasswd/1/0/0.mvt"),
        ("layer %2e%2e", "%2e%2e/1/0/0.mvt"),
        ("layer SQL", "%27%20OR%201%3D1%20--/1/0/0.mvt"),
        ("untiled layer", "stays/1/0/0.mvt"),
        ("plain traversal", "../../etc/passwd"),
        ("tilejson traversal", "..%2f..%2fetc%2fpasswd.json"),
        ("tilejson of passwd", "passwd"),
        ("tilejson of an untiled layer", "stays.json"),
        ("tilejson SQL", "%27%20OR%201%3D1%20--.json"),
    ] {
        c.push(case(f, name, t(path), err(404, "not_found")));
    }
    c.push(case(
        f,
        "crs bd09 on a tile",
        t("grids/14/0/0.mvt?crs=bd09"),
        err(400, "bad_crs"),
    ));
    c.push(case(
        f,
        "NaN bbox on a tile",
        t("grids/14/0/0.mvt?bbox=NaN,NaN,NaN,NaN"),
        err(400, "bad_bbox"),
    ));
    c.push(case(
        f,
        "month 2026-13 on a tile",
        t("grids/14/0/0.mvt?month=2026-13"),
        err(400, "bad_month"),
    ));
    c.push(case(
        f,
        "duplicate month on a tile",
        t("grids/14/0/0.mvt?month=2026-10&month=2026-11"),
        err_any(400),
    ));
    let mut host = case(
        f,
        "tilejson does not reflect Host",
        t("grids.json").header("host", "evil.example"),
        Expect::Ok(200),
    );
    host.absent = Some("evil.example".into());
    c.push(host);
    let mut host = case(
        f,
        "style does not reflect Host",
        a("/api/v1/style.json".into()).header("host", "evil.example"),
        Expect::Ok(200),
    );
    host.absent = Some("evil.example".into());
    c.push(host);

    // ---- operations and the page
    let f = "operations";
    c.push(case(
        f,
        "healthz with junk query",
        Req::get("/healthz?x=%27%20OR%201%3D1%20--"),
        Expect::Ok(200),
    ));
    c.push(case(
        f,
        "openapi",
        Req::get("/api/v1/openapi.json"),
        Expect::Ok(200),
    ));
    c.push(case(
        f,
        "metrics without a token",
        Req::get("/metrics"),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "metrics by a viewer",
        Req::get("/metrics").bearer("city"),
        err(403, "forbidden"),
    ));
    c.push(case(
        f,
        "metrics by a device",
        Req::get("/metrics").bearer("device"),
        err(403, "forbidden"),
    ));
    c.push(case(
        f,
        "metrics with malformed Basic",
        Req::get("/metrics").header("authorization", "Basic %%%"),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "config.json with a garbage token",
        Req::get("/api/v1/config.json").bearer("garbage"),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "config.json with malformed Basic",
        Req::get("/api/v1/config.json").header("authorization", "Basic"),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "units with a 10 kB token",
        Req::get("/api/v1/units").bearer(&filled(b'z', 10_000)),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "units with Basic auth",
        Req::get("/api/v1/units").header("authorization", basic("admin", "admin")),
        err(401, "unauthorized"),
    ));
    c.push(case(
        f,
        "map file traversal",
        Req::get("/map/..%2f..%2fCargo.toml"),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "map file NUL",
        Req::get("/map/index.html%00"),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "vendor traversal",
        Req::get("/vendor/maplibre-gl/..%2f..%2f..%2fetc%2fpasswd"),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "plain traversal",
        Req::get("/api/v1/../../etc/passwd"),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "unknown path",
        Req::get("/api/v2/units"),
        err(404, "not_found"),
    ));
    c.push(case(
        f,
        "percent-encoded NUL path",
        Req::get("/%00"),
        err(404, "not_found"),
    ));

    // ---- every method on every path
    let f = "methods";
    let paths: [(&str, &[&str]); 23] = [
        ("/healthz", &["GET"]),
        ("/metrics", &["GET"]),
        ("/api/v1/openapi.json", &["GET"]),
        ("/api/v1/pings", &["POST"]),
        ("/osmand", &["GET", "POST"]),
        ("/owntracks", &["POST"]),
        ("/api/v1/registry/grids", &["GET", "PUT"]),
        ("/api/v1/units", &["GET"]),
        ("/api/v1/units/430100", &["GET"]),
        ("/api/v1/workers", &["GET"]),
        ("/api/v1/workers/w-0001", &["GET"]),
        ("/api/v1/workers/w-0001/days/2026-10-01", &["GET"]),
        ("/api/v1/reports/2026-10", &["GET"]),
        ("/api/v1/positions", &["GET"]),
        ("/api/v1/layers/grids", &["GET"]),
        ("/api/v1/style.json", &["GET"]),
        ("/api/v1/config.json", &["GET"]),
        ("/tiles/grids.json", &["GET"]),
        ("/tiles/grids/14/0/0.mvt", &["GET"]),
        ("/", &["GET"]),
        ("/map/map.js", &["GET"]),
        ("/vendor/maplibre-gl/maplibre-gl.js", &["GET"]),
        ("/api/v1/registry/workers", &["GET", "PUT"]),
    ];
    for (path, allowed) in paths {
        for m in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if allowed.contains(&m) {
                continue;
            }
            c.push(case(
                f,
                format!("{m} {path}"),
                Req::new(m, path).bearer("admin"),
                err_any(405),
            ));
        }
    }
    c
}

/// The sample grids with the first coordinate pair of the file swapped (lat, lon).
fn swap_first_ring(grids: &str) -> String {
    let mut doc: Value = serde_json::from_str(grids).unwrap();
    for f in doc["features"].as_array_mut().unwrap() {
        if let Some(ring) = f
            .pointer_mut("/geometry/coordinates/0")
            .and_then(Value::as_array_mut)
        {
            for p in ring.iter_mut() {
                if let Some(xy) = p.as_array_mut() {
                    xy.swap(0, 1);
                }
            }
            break;
        }
    }
    doc.to_string()
}

/// What must read the same before and after the suite: the month's report (without the
/// times that change by themselves), its CSV, the workers and the units.
async fn legitimate(state: &Arc<AppState>) -> Vec<String> {
    let mut out = Vec::new();
    for uri in [
        "/api/v1/reports/2026-10?format=json",
        "/api/v1/reports/2026-10?format=csv&lang=en",
        "/api/v1/workers",
        "/api/v1/units",
        "/api/v1/workers/w-0001/days/2026-10-01",
    ] {
        let g = send(state, &Req::get(uri).bearer("admin")).await.unwrap();
        assert_eq!(g.status, 200, "{uri}: {}", g.short());
        let mut text = String::from_utf8_lossy(&g.body).into_owned();
        if let Ok(mut v) = serde_json::from_str::<Value>(&text) {
            if let Some(o) = v.as_object_mut() {
                o.remove("freshness");
                o.remove("generated_at");
            }
            text = v.to_string();
        }
        out.push(format!("{uri}\n{text}"));
    }
    out
}

#[test]
fn hostile_requests_in_process() {
    record_panics();
    let rt = runtime("hostile-");
    rt.block_on(async {
        let app = seeded_app().await;
        let state = Arc::clone(&app.state);
        let before = legitimate(&state).await;
        let cases = cases();
        let mut families: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        let mut failures = Vec::new();
        for case in &cases {
            let stored = state.store.stats().unwrap().pings;
            let outcome = match send(&state, &case.req).await {
                Err(e) => Err(e),
                Ok(got) => check(&case.expect, case.absent.as_deref(), &got)
                    .map_err(|e| format!("{e} (got {})", got.short())),
            };
            let added = match case.expect {
                Expect::Accepted(n) => n as u64,
                _ => 0,
            };
            let now = state.store.stats().unwrap().pings;
            let outcome = outcome.and_then(|()| {
                if now == stored + added {
                    Ok(())
                } else {
                    Err(format!("{} pings stored, expected {added}", now - stored))
                }
            });
            let e = families.entry(case.family).or_default();
            e.0 += 1;
            if let Err(why) = outcome {
                e.1 += 1;
                failures.push(format!(
                    "[{}] {}: expected {}; {why}",
                    case.family, case.name, case.expect
                ));
            }
        }
        // A second server whose token may make one request a second: the second is a 429.
        let limited = App::new(vec![token("slow", "viewer", None, &[])], |c| {
            c.server.rate_per_s = 1;
            c.server.rate_burst = 1;
        })
        .await;
        let mut rate = Vec::new();
        for _ in 0..2 {
            rate.push(
                send(&limited.state, &Req::get("/api/v1/units").bearer("slow"))
                    .await
                    .unwrap(),
            );
        }
        let e = families.entry("rate").or_default();
        e.0 += 2;
        for (i, (got, expect)) in rate
            .iter()
            .zip([Expect::Ok(200), err(429, "rate_limited")])
            .enumerate()
        {
            if let Err(why) = check(&expect, None, got) {
                e.1 += 1;
                failures.push(format!("[rate] request {i}: expected {expect}; {why}"));
            }
        }

        let total: usize = families.values().map(|(n, _)| n).sum();
        for (f, (n, bad)) in &families {
            println!("hostile: {f:<14} {n:>4} requests, {bad:>3} off the contract");
        }
        println!(
            "hostile: total {total} requests, {} off the contract",
            failures.len()
        );
        // Afterwards: alive, no panic, the legitimate data unchanged.
        let health = send(&state, &Req::get("/healthz")).await.unwrap();
        assert_eq!(health.status, 200, "{}", health.short());
        // What the suite stored, summarised, must not have moved the legitimate figures.
        if let Err(e) = state.settle() {
            failures.push(format!("the recompute after the suite failed: {e}"));
        }
        let after = legitimate(&state).await;
        for (b, a) in before.iter().zip(&after) {
            if b != a {
                failures.push(format!(
                    "legitimate data changed: {}",
                    b.lines().next().unwrap_or("")
                ));
            }
        }
        let panics = panics_on("hostile-");
        if panics > 0 {
            failures.push(format!("{panics} panics in handlers"));
        }
        assert!(total >= 150, "only {total} hostile requests");
        assert!(
            failures.is_empty(),
            "{} of {total} hostile requests off the contract:\n{}",
            failures.len(),
            failures.join("\n")
        );
    });
}

// ---------------------------------------------------------------- the transport

/// Writes `raw`, optionally closes the sending half, and reads the first answer's status,
/// content type and body (status 0: closed without an answer; `Err`: no answer in time).
fn exchange(
    port: u16,
    raw: &[u8],
    close_send: bool,
) -> Result<(u16, String, bool, String), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    // The server may answer and close before it has read everything: keep reading.
    let _ = s.write_all(raw);
    if close_send {
        let _ = s.shutdown(Shutdown::Write);
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.windows(4).any(|w| w == b"\r\n\r\n") && out.len() > 4096 {
                    break;
                }
            }
            Err(e) if out.is_empty() => return Err(format!("no answer: {e}")),
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let ct = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    let has_id = head.to_ascii_lowercase().contains("x-request-id:");
    Ok((status, ct, has_id, body.to_string()))
}

/// The expected status of a request the HTTP library refuses itself: 400, or the connection
/// closed without an answer (the issue lets those stay as they are).
const LIBRARY: u16 = 1;

#[test]
fn hostile_transport_real_binary() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let config = dir.path().join("gridbeat.toml");
    std::fs::write(&config, "[server]\nmax_body_bytes = 1048576\n").unwrap();
    let server = util::Served::start(&data, Some(&config));
    let port = server.port;
    let head = |extra: &str| {
        format!("POST /api/v1/pings HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n{extra}\r\n")
    };
    let body = one("w-0001", json!({}));
    // (name, bytes, close the sending half, expected status, a JSON error is required)
    let mut cases: Vec<(&str, Vec<u8>, bool, u16, bool)> = vec![
        (
            "Content-Length larger than the body, then EOF",
            format!("{}{body}", head("content-length: 1000\r\n")).into_bytes(),
            true,
            400,
            true,
        ),
        (
            "Content-Length smaller than the body",
            format!(
                "{}{body}",
                head(&format!("content-length: {}\r\n", body.len() - 10))
            )
            .into_bytes(),
            false,
            400,
            true,
        ),
        (
            "Content-Length over the limit, no body",
            head("content-length: 1073741824\r\n").into_bytes(),
            false,
            413,
            true,
        ),
        (
            "bad chunk size",
            format!(
                "{}zz\r\n{body}\r\n0\r\n\r\n",
                head("transfer-encoding: chunked\r\n")
            )
            .into_bytes(),
            true,
            400,
            true,
        ),
        (
            "chunk size overflows u64",
            format!(
                "{}ffffffffffffffffff\r\n{body}\r\n0\r\n\r\n",
                head("transfer-encoding: chunked\r\n")
            )
            .into_bytes(),
            true,
            400,
            true,
        ),
        (
            "chunked body cut off",
            format!(
                "{}{:x}\r\n{}",
                head("transfer-encoding: chunked\r\n"),
                body.len(),
                &body[..10]
            )
            .into_bytes(),
            true,
            400,
            true,
        ),
        (
            "chunked body without the last chunk",
            format!(
                "{}{:x}\r\n{body}\r\n",
                head("transfer-encoding: chunked\r\n"),
                body.len()
            )
            .into_bytes(),
            true,
            400,
            true,
        ),
        (
            "negative Content-Length",
            format!("{}{body}", head("content-length: -5\r\n")).into_bytes(),
            true,
            LIBRARY,
            false,
        ),
        (
            "two different Content-Lengths",
            format!(
                "{}{body}",
                head(&format!(
                    "content-length: {}\r\ncontent-length: 3\r\n",
                    body.len()
                ))
            )
            .into_bytes(),
            true,
            LIBRARY,
            false,
        ),
        // Answered (or closed: status 0) by the HTTP library itself, before any router.
        (
            "Content-Length and chunked",
            format!(
                "{}{:x}\r\n{body}\r\n0\r\n\r\n",
                head("content-length: 3\r\ntransfer-encoding: chunked\r\n"),
                body.len()
            )
            .into_bytes(),
            true,
            LIBRARY,
            false,
        ),
    ];
    // A chunked body over max_body_bytes, in 64 KiB chunks.
    let mut big = head("transfer-encoding: chunked\r\n").into_bytes();
    let chunk = filled(b' ', 64 * 1024);
    for _ in 0..20 {
        big.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    big.extend_from_slice(b"0\r\n\r\n");
    cases.push(("chunked body over max_body_bytes", big, true, 413, true));

    let mut failures = Vec::new();
    for (name, raw, close, status, json_error) in &cases {
        match exchange(port, raw, *close) {
            Err(e) => failures.push(format!("{name}: expected {status}; {e}")),
            Ok((got, ct, has_id, body)) => {
                let mut faults = Vec::new();
                if got != *status && !(*status == LIBRARY && (got == 0 || got == 400)) {
                    faults.push(format!("status {got}"));
                }
                if *json_error {
                    if !has_id {
                        faults.push("no x-request-id".into());
                    }
                    // Only the first answer's body (a second one may follow on the connection).
                    let code = serde_json::Deserializer::from_str(&body)
                        .into_iter::<Value>()
                        .next()
                        .and_then(Result::ok)
                        .and_then(|v| v["code"].as_str().map(String::from));
                    if !ct.starts_with("application/json") || code.is_none() {
                        faults.push(format!("not a JSON error: {ct:?} {body:?}"));
                    }
                }
                if !faults.is_empty() {
                    failures.push(format!("{name}: expected {status}; {}", faults.join(", ")));
                }
            }
        }
    }
    println!(
        "hostile: transport       {:>4} requests, {:>3} off the contract",
        cases.len(),
        failures.len()
    );
    let alive = util::http(port, "GET", "/healthz", &[], b"").unwrap();
    assert_eq!(alive.0, 200, "{}", alive.1);
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        failures.is_empty(),
        "{} transport cases off the contract:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------- the authorization matrix

/// Who asks.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Nobody,
    Device,
    ViewerA,
    ViewerB,
    City,
    AdminA,
}

impl Who {
    const ALL: [Who; 6] = [
        Who::Nobody,
        Who::Device,
        Who::ViewerA,
        Who::ViewerB,
        Who::City,
        Who::AdminA,
    ];
    fn token(self) -> Option<&'static str> {
        match self {
            Who::Nobody => None,
            Who::Device => Some("device"),
            Who::ViewerA => Some("viewer-a"),
            Who::ViewerB => Some("viewer-b"),
            Who::City => Some("city"),
            Who::AdminA => Some("admin-a"),
        }
    }
    /// The community the caller is limited to (`None`: the city, or no token).
    fn community(self) -> Option<&'static str> {
        match self {
            Who::ViewerA | Who::AdminA => Some(COMMUNITY_A),
            Who::ViewerB => Some(COMMUNITY_B),
            _ => None,
        }
    }
}

/// A read endpoint: its URI and the community its explicit target lies in (if any).
struct Endpoint {
    uri: String,
    target: Option<&'static str>,
}

fn endpoints() -> Vec<Endpoint> {
    let mut e = Vec::new();
    let plain = |uri: &str| Endpoint {
        uri: uri.to_string(),
        target: None,
    };
    for uri in [
        "/api/v1/units",
        "/api/v1/workers",
        "/api/v1/positions",
        "/api/v1/reports/2026-10?format=json",
        "/api/v1/reports/2026-10?format=csv&lang=en",
        "/api/v1/reports/2026-10?format=csv&table=grids",
        "/api/v1/reports/2026-10?format=csv&table=units",
        "/api/v1/reports/2026-10?format=html",
        "/api/v1/style.json",
        "/api/v1/config.json",
    ] {
        e.push(plain(uri));
    }
    for layer in gridbeat::layers::Layer::ALL {
        e.push(plain(&format!(
            "/api/v1/layers/{}?month=2026-10",
            layer.name()
        )));
    }
    // The tile holding the sample's streets, at a zoom where it holds them all.
    let (z, x, y) = tile_of(112.9726, 28.1944, 12);
    for layer in gridbeat::tiles::TILED_LAYERS {
        e.push(plain(&format!(
            "/tiles/{layer}/{z}/{x}/{y}.mvt?month=2026-10"
        )));
        e.push(plain(&format!("/tiles/{layer}.json")));
    }
    for (community, worker) in [(COMMUNITY_A, "w-0001"), (COMMUNITY_B, "w-0006")] {
        let grid = grids_of(community)[0].clone();
        let t = |uri: String| Endpoint {
            uri,
            target: Some(community),
        };
        e.push(t(format!("/api/v1/units/{community}")));
        e.push(t(format!("/api/v1/units/{grid}")));
        e.push(t(format!("/api/v1/workers/{worker}")));
        e.push(t(format!("/api/v1/workers/{worker}/days/2026-10-01")));
        e.push(t(format!(
            "/api/v1/workers/{worker}/days/2026-10-01?format=geojson"
        )));
        e.push(t(format!("/api/v1/reports/2026-10?unit={community}")));
        e.push(t(format!(
            "/api/v1/reports/2026-10?unit={community}&format=csv"
        )));
        e.push(t(format!(
            "/api/v1/layers/grids?month=2026-10&unit={community}"
        )));
        e.push(t(format!(
            "/api/v1/layers/tracks?day=2026-10-01&worker={worker}"
        )));
        e.push(t(format!("/api/v1/layers/positions?worker={worker}")));
        e.push(t(format!(
            "/tiles/tracks/{z}/{x}/{y}.mvt?day=2026-10-01&worker={worker}"
        )));
    }
    e
}

/// The statuses a caller may get from an endpoint (a tile may be empty: 204).
fn expected(who: Who, ep: &Endpoint) -> Vec<u16> {
    let ok = if ep.uri.starts_with("/tiles/") && ep.uri.contains(".mvt") {
        vec![200, 204]
    } else {
        vec![200]
    };
    match who {
        // The map page learns without a token only whether one is needed.
        Who::Nobody if ep.uri.starts_with("/api/v1/config.json") => ok,
        Who::Nobody => vec![401],
        Who::Device => vec![403],
        Who::City => ok,
        _ => match ep.target {
            Some(t) if Some(t) != who.community() => vec![403],
            _ => ok,
        },
    }
}

#[test]
fn authorization_matrix() {
    record_panics();
    let rt = runtime("authz-");
    rt.block_on(async {
        let app = seeded_app().await;
        let state = Arc::clone(&app.state);
        let mut failures = Vec::new();
        let mut n = 0;
        let mut leaks_checked = 0;
        let mut own_named = 0;
        for ep in endpoints() {
            for who in Who::ALL {
                n += 1;
                let mut req = Req::get(ep.uri.clone());
                if let Some(t) = who.token() {
                    req = req.bearer(t);
                }
                let expect = expected(who, &ep);
                let got = match send(&state, &req).await {
                    Ok(g) => g,
                    Err(e) => {
                        failures.push(format!("{who:?} {}: {e}", ep.uri));
                        continue;
                    }
                };
                let tag = format!("{who:?} GET {}", ep.uri);
                if !expect.contains(&got.status) {
                    failures.push(format!("{tag}: expected {expect:?}, got {}", got.short()));
                    continue;
                }
                if !got.request_id {
                    failures.push(format!("{tag}: no x-request-id"));
                }
                if got.status >= 400 {
                    let code = got.json().and_then(|v| v["code"].as_str().map(String::from));
                    let want = if got.status == 401 { "unauthorized" } else { "forbidden" };
                    if code.as_deref() != Some(want) {
                        failures.push(format!("{tag}: expected code {want}, got {}", got.short()));
                    }
                    continue;
                }
                // A 2xx: nothing of the other community (nothing at all without a token).
                let forbidden: Vec<String> = match who {
                    Who::Nobody => [secrets_of(COMMUNITY_A), secrets_of(COMMUNITY_B)].concat(),
                    _ => match who.community() {
                        Some(COMMUNITY_A) => secrets_of(COMMUNITY_B),
                        Some(_) => secrets_of(COMMUNITY_A),
                        None => Vec::new(),
                    },
                };
                if !forbidden.is_empty() {
                    leaks_checked += 1;
                }
                let body = &got.body;
                let leaked: Vec<&String> = forbidden
                    .iter()
                    .filter(|s| body.windows(s.len()).any(|w| w == s.as_bytes()))
                    .collect();
                if !leaked.is_empty() {
                    failures.push(format!("{tag}: leaks {leaked:?}"));
                }
                // The check is not vacuous: scoped answers do name their own community.
                if let Some(own) = who.community() {
                    if secrets_of(own)
                        .iter()
                        .any(|s| body.windows(s.len()).any(|w| w == s.as_bytes()))
                    {
                        own_named += 1;
                    }
                }
            }
        }
        // The answers that must hold data do: a viewer of A sees A's workers.
        let own = send(&state, &Req::get("/api/v1/workers").bearer("viewer-a"))
            .await
            .unwrap();
        let own: Value = serde_json::from_slice(&own.body).unwrap();
        let ids: Vec<&str> = own
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|w| w["id"].as_str())
            .collect();
        let mut want = workers_of(COMMUNITY_A);
        want.sort();
        assert_eq!(ids, want, "a viewer of A sees exactly A's workers");
        // What is said about the whole store is scoped too (issue 15, defect 10): a month
        // that only B has figures for must not show in A's config.json nor in the
        // freshness of A's report.
        let b_only = json!([{"worker": "w-0006", "ts": "2026-11-15T10:00:00+08:00", "lat": 28.1944, "lon": 112.9726}]);
        let g = send(
            &state,
            &Req::new("POST", "/api/v1/pings")
                .bearer("admin")
                .json(b_only.to_string()),
        )
        .await
        .unwrap();
        assert_eq!(g.status, 200, "{}", g.short());
        state.settle().unwrap();
        let months = |g: &Got| {
            g.json()
                .map(|v| v["months"].to_string())
                .unwrap_or_default()
        };
        let city = send(&state, &Req::get("/api/v1/config.json").bearer("city"))
            .await
            .unwrap();
        assert!(months(&city).contains("2026-11"), "{}", city.short());
        for who in [Who::ViewerA, Who::AdminA] {
            n += 2;
            let t = who.token().unwrap_or("");
            let config = send(&state, &Req::get("/api/v1/config.json").bearer(t))
                .await
                .unwrap();
            if months(&config).contains("2026-11") {
                failures.push(format!(
                    "{who:?} GET /api/v1/config.json: months name 2026-11, which only B has: {}",
                    months(&config)
                ));
            }
            let report = send(&state, &Req::get("/api/v1/reports/2026-10").bearer(t))
                .await
                .unwrap();
            let fresh = report
                .json()
                .map(|v| v["freshness"].to_string())
                .unwrap_or_default();
            if fresh.contains("2026-11-15") {
                failures.push(format!(
                    "{who:?} GET /api/v1/reports/2026-10: freshness names B's newest ping: {fresh}"
                ));
            }
        }
        assert!(
            own_named >= 40,
            "only {own_named} scoped answers name their own community's workers or grids"
        );
        let panics = panics_on("authz-");
        if panics > 0 {
            failures.push(format!("{panics} panics in handlers"));
        }
        println!("authorization matrix: {n} requests, {leaks_checked} answers searched for the other community ({own_named} scoped ones name their own), {} off the contract", failures.len());
        assert!(
            failures.is_empty(),
            "{} of {n} authorization cases off the contract:\n{}",
            failures.len(),
            failures.join("\n")
        );
    });
}
