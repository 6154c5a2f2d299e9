//! The HTTP door's transport and body handling (issue 15, defects 2–7 and 17): authentication
//! before the body, bombs, multi-member gzip, registry size, the contract's JSON on the
//! framework's own errors, time limits, bounded ids and the connection cap.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use flate2::write::GzEncoder;
use gridbeat::cli::demo::sample;
use serde_json::{json, Value};

use crate::util::{demo_data, gridbeat, http, http_raw, now_s, token, App, Served};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

async fn app() -> App {
    App::new(
        vec![
            token("admin", "admin", None, &[]),
            token("phone", "device", None, &["w-0001"]),
        ],
        |_| {},
    )
    .await
}

/// A body that records whether the server ever asked for its bytes, and errors when it does
/// (`fail`) or gives a little data.
struct Watched {
    read: Arc<AtomicBool>,
    fail: bool,
}

impl axum::body::HttpBody for Watched {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        let first = !self.read.swap(true, Ordering::SeqCst);
        if self.fail {
            return Poll::Ready(Some(Err(std::io::Error::other("invalid chunk size"))));
        }
        Poll::Ready(first.then(|| Ok(hyper::body::Frame::data(Bytes::from_static(b"x=1")))))
    }
}

/// 8 million JSON zeros (16 MB) in about 16 KB of gzip.
fn zeros_bomb() -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(b"[0").unwrap();
    let chunk = b",0".repeat(1 << 16);
    for _ in 0..(8_000_000 / (1 << 16)) {
        e.write_all(&chunk).unwrap();
    }
    e.write_all(b"]").unwrap();
    e.finish().unwrap()
}

fn ping(worker: &str, ts: i64) -> Value {
    json!({"worker": worker, "ts": ts, "lat": 28.19, "lon": 112.97})
}

#[tokio::test]
async fn an_unauthenticated_osmand_request_is_refused_before_its_body_is_read() {
    let app = app().await;
    // The fix is in the query, no token anywhere: 401 without touching the body.
    let read = Arc::new(AtomicBool::new(false));
    let body = Body::new(Watched {
        read: Arc::clone(&read),
        fail: false,
    });
    let a = app
        .send(
            Request::post("/osmand?id=123456&lat=28.19&lon=112.97")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .unwrap(),
        )
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    assert!(
        !read.load(Ordering::SeqCst),
        "the body was read before authentication"
    );
    // A body that may carry the token (form) is read only up to the one-fix limit: the
    // 16 MB bomb is refused 413, not inflated and parsed.
    let bomb = zeros_bomb();
    assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
    let a = app
        .send(
            Request::post("/osmand")
                .header("content-encoding", "gzip")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(bomb))
                .unwrap(),
        )
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
}

#[tokio::test]
async fn a_gzip_bomb_of_zeros_with_a_device_token_is_refused_too_many_records() {
    let app = app().await;
    let a = app
        .send(
            Request::post("/api/v1/pings")
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .header("authorization", "Bearer phone")
                .body(Body::from(zeros_bomb()))
                .unwrap(),
        )
        .await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_many_records")
    );
}

#[tokio::test]
async fn every_member_of_a_multi_member_gzip_body_is_read_or_the_body_is_refused_whole() {
    let app = app().await;
    let t = now_s();
    let first = serde_json::to_vec(&vec![ping("w-0001", t - 10), ping("w-0001", t - 20)]).unwrap();
    let second = b"\n".to_vec();
    let third = serde_json::to_vec(&vec![ping("w-0001", t - 30), ping("w-0001", t - 40)]).unwrap();
    // NDJSON members: a body that `cat a.gz b.gz` makes.
    let nd = |v: &[u8]| {
        let vals: Vec<Value> = serde_json::from_slice(v).unwrap();
        vals.iter()
            .map(|v| format!("{v}\n"))
            .collect::<String>()
            .into_bytes()
    };
    let mut two = gzip(&nd(&first));
    two.extend(gzip(&nd(&third)));
    let post = |body: Vec<u8>| {
        Request::post("/api/v1/pings")
            .header("content-type", "application/x-ndjson")
            .header("content-encoding", "gzip")
            .header("authorization", "Bearer phone")
            .body(Body::from(body))
            .unwrap()
    };
    // Trailing garbage after the members: refused whole, nothing stored.
    let mut broken = two.clone();
    broken.extend_from_slice(b"garbage");
    let a = app.send(post(broken)).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "bad_gzip")
    );
    // A cut second member: refused whole too.
    let mut cut = gzip(&nd(&first));
    let member = gzip(&second);
    cut.extend_from_slice(&member[..member.len() / 2]);
    let a = app.send(post(cut)).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::BAD_REQUEST, "bad_gzip")
    );
    // Both members read: 4 new pings (none stored by the refused bodies).
    let a = app.send(post(two)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["accepted"], 4, "{}", a.text());
    assert_eq!(a.json()["rejected"], json!([]));
}

#[tokio::test]
async fn a_registry_file_over_two_mib_is_accepted() {
    let app = app().await;
    // The sample grids, each feature with a long description (as exports from a city's GIS
    // carry): a valid 2.4+ MB file.
    let mut grids: Value = serde_json::from_str(sample::GRIDS).unwrap();
    let features = grids["features"].as_array_mut().unwrap();
    let per = 2_500_000 / features.len();
    for (i, f) in features.iter_mut().enumerate() {
        f["properties"]["description"] = json!(format!("grid {i}: ").repeat(per / 9));
    }
    let text = serde_json::to_string(&grids).unwrap();
    assert!(text.len() > 2 * 1024 * 1024);
    let a = app
        .send(
            Request::put("/api/v1/registry/grids")
                .header("authorization", "Bearer admin")
                .body(Body::from(text.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let a = app
        .send(
            Request::get("/api/v1/registry/grids")
                .header("authorization", "Bearer admin")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(a.body.len(), text.len());
}

#[tokio::test]
async fn the_frameworks_own_errors_are_the_contract_json() {
    let app = app().await;
    let check = |a: &crate::util::Answer, status: StatusCode, code: &str| {
        assert_eq!(a.status, status, "{}", a.text());
        assert_eq!(a.code(), code, "{}", a.text());
        assert!(!a.json()["message"].as_str().unwrap_or("").is_empty());
        assert!(a.headers.contains_key("x-request-id"));
    };
    let req = |method: &str, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", "Bearer admin")
            .body(Body::empty())
            .unwrap()
    };
    // A wrong method: 405 with the Allow header kept.
    for (m, uri) in [
        ("DELETE", "/api/v1/pings"),
        ("PUT", "/api/v1/units"),
        ("POST", "/healthz"),
        ("PATCH", "/api/v1/registry/grids"),
    ] {
        let a = app.send(req(m, uri)).await;
        check(&a, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        assert!(a.headers.contains_key("allow"));
        // The message never promises a list it leaves empty.
        let message = a.json()["message"].as_str().unwrap_or("").to_string();
        assert!(!message.trim_end().ends_with(':'), "{message}");
    }
    // A query string that does not deserialize: duplicate and non-numeric parameters.
    for uri in [
        "/api/v1/reports/2026-10?unit=a&unit=b",
        "/api/v1/layers/grids?zoom=abc",
        "/api/v1/layers/grids?cell_m=1&cell_m=2",
    ] {
        let a = app.send(req("GET", uri)).await;
        check(&a, StatusCode::BAD_REQUEST, "bad_query");
    }
    // A body that breaks off mid-way (a malformed chunk) is 400 bad_body, not 413.
    let a = app
        .send(
            Request::post("/api/v1/pings")
                .header("content-type", "application/json")
                .header("authorization", "Bearer phone")
                .body(Body::new(Watched {
                    read: Arc::new(AtomicBool::new(false)),
                    fail: true,
                }))
                .unwrap(),
        )
        .await;
    check(&a, StatusCode::BAD_REQUEST, "bad_body");
}

#[tokio::test]
async fn ids_are_bounded_and_echoes_are_cut() {
    let app = app().await;
    let long = "w".repeat(10 * 1024 * 1024);
    let body = serde_json::to_vec(&vec![ping(&long, now_s() - 5)]).unwrap();
    let a = app
        .send(
            Request::post("/api/v1/pings")
                .header("content-type", "application/json")
                .header("authorization", "Bearer admin")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        &a.text()[..200.min(a.body.len())]
    );
    assert!(a.body.len() < 1024, "{} bytes answered", a.body.len());
    assert_eq!(a.json()["rejected"][0]["code"], "too_long");
    // A registry with a 10 KB worker id on line 3: 422 naming the line, shortly.
    let workers = format!(
        "worker,name,grid\nw-0001,A,430102001001001\n{},B,430102001001002\n",
        "x".repeat(10 * 1024)
    );
    let a = app
        .send(
            Request::put("/api/v1/registry/workers")
                .header("authorization", "Bearer admin")
                .body(Body::from(workers))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    assert!(a.body.len() < 1024, "{} bytes answered", a.body.len());
    let faults = a.json()["faults"].clone();
    assert!(
        faults
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().contains("line 3")),
        "{faults}"
    );
}

/// The real binary with `[server]` settings, its open-files limit (soft and hard) set to
/// `nofile` when given.
fn serve(dir: &std::path::Path, server: &str, nofile: Option<u32>) -> Served {
    let data = demo_data(dir);
    let config = dir.join("gridbeat.toml");
    std::fs::write(&config, format!("[server]\n{server}\n")).unwrap();
    let port = crate::util::free_port();
    let stderr = dir.join(format!("serve-{port}.log"));
    let bin = gridbeat().get_program().to_owned();
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(match nofile {
            Some(n) => format!("ulimit -Sn {n} && ulimit -Hn {n} && exec \"$0\" \"$@\""),
            None => "exec \"$0\" \"$@\"".to_string(),
        })
        .arg(bin)
        .args(["serve", "--data"])
        .arg(&data)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&config);
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    Served::watch(child, port, stderr)
}

#[test]
fn stalled_headers_bodies_and_idle_connections_are_cut_off_by_the_configured_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(
        dir.path(),
        "header_timeout_s = 2\nbody_timeout_s = 2\nidle_timeout_s = 2",
        None,
    );
    let wait = Duration::from_secs(15);
    // A body that stalls after 12 of 1000 bytes: 408 request_timeout in JSON.
    let (status, head, body) = http_raw(
        s.port,
        b"POST /api/v1/pings HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n[{\"worker\":1",
        wait,
    )
    .expect("the server neither answered nor closed the stalled body");
    assert_eq!(status, 408, "{head}");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["code"], "request_timeout");
    assert!(head.to_ascii_lowercase().contains("x-request-id"));
    // Headers that stall: the connection is closed.
    let r = http_raw(s.port, b"GET /healthz HTTP/1.1\r\nhost: x\r\n", wait);
    assert!(r.is_ok(), "stalled headers were not cut off: {r:?}");
    // An idle keep-alive connection: answered, then closed.
    let (status, _, _) = http_raw(s.port, b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n", wait)
        .expect("an idle keep-alive connection was not closed");
    assert_eq!(status, 200);
    // A malformed chunked body over the wire is 400 bad_body, not 413.
    let (status, head, body) = http_raw(
        s.port,
        b"POST /api/v1/pings HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\nzz\r\n[]\r\n0\r\n\r\n",
        wait,
    )
    .unwrap();
    assert_eq!(status, 400, "{head}");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["code"], "bad_body");
}

#[test]
fn a_client_is_served_while_1100_idle_connections_are_held() {
    let dir = tempfile::tempdir().unwrap();
    // The server may hold 1,024 descriptors (the usual default); the cap keeps it far below.
    let s = serve(
        dir.path(),
        "max_connections = 100\nmax_connections_per_ip = 5000\nidle_timeout_s = 120\nheader_timeout_s = 120",
        Some(1024),
    );
    let mut idle = Vec::new();
    for _ in 0..1100 {
        match TcpStream::connect(("127.0.0.1", s.port)) {
            Ok(c) => idle.push(c),
            Err(e) => panic!("connect failed after {} connections: {e}", idle.len()),
        }
    }
    let (status, head, _) = http(s.port, "GET", "/healthz", &[], b"")
        .expect("a fresh client was not served while idle connections were held");
    assert_eq!(status, 200, "{head}");
    // Most idle connections were closed by the server (read gives end of file).
    std::thread::sleep(Duration::from_secs(3));
    let mut closed = 0;
    for c in &mut idle {
        c.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let mut b = [0u8; 16];
        if matches!(c.read(&mut b), Ok(0)) {
            closed += 1;
        }
    }
    assert!(
        closed >= 900,
        "only {closed} of 1100 idle connections were closed"
    );
    drop(idle);
    let log = s.log();
    assert_eq!(
        log.matches("connection cap reached").count(),
        1,
        "the cap is logged once per episode: {log}"
    );
}

#[test]
fn a_stop_lets_the_request_in_flight_finish_and_closes_idle_connections() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), "", None);
    let t = now_s();
    let body = serde_json::to_vec(&vec![ping("w-0001", t - 10), ping("w-0001", t - 20)]).unwrap();
    let idle = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST /api/v1/pings HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = s.child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    c.write_all(&body[10..]).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"accepted\":2"), "{text}");
    // The server exits while the idle connection is still open on this side.
    let mut s = s;
    let status = s.child.wait().unwrap();
    assert!(status.success(), "{status:?}: {}", s.log());
    drop(idle);
}
