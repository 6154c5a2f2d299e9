//! The service's helpers: the sample city in a server in process, the real binary on a free
//! loopback port, raw HTTP/1.1 requests (so a test controls every byte on the wire), the demo's
//! files and the batch door's report on them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::http::{HeaderMap, Request, StatusCode};
use gridbeat::cli::demo::sample;
use gridbeat::config::{Config, TokenConfig};
use gridbeat::model::Ping;
use gridbeat::server::auth::token_hash;
use gridbeat::server::{router, AppState};
use gridbeat::store::RegistryFile;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::{assert_success, gridbeat};

// ---------------------------------------------------------------- a server in process

/// The sample city's registry files as the service loads them (the copies `gridbeat demo`
/// serves): grids, workers, checkpoints.
pub fn sample_registry_files() -> Vec<(RegistryFile, String)> {
    vec![
        (RegistryFile::Grids, sample::GRIDS.into()),
        (RegistryFile::Workers, sample::WORKERS.into()),
        (RegistryFile::Checkpoints, sample::CHECKPOINTS.into()),
    ]
}

/// A server in process on a fresh data directory, with `tokens` and a registry loaded.
pub struct App {
    /// The data directory, removed when the server is dropped.
    _dir: tempfile::TempDir,
    pub state: Arc<AppState>,
}

impl App {
    /// Opens a fresh data directory and loads the sample registry.
    pub async fn new(tokens: Vec<TokenConfig>, tweak: impl FnOnce(&mut Config)) -> App {
        App::with_registry(tokens, tweak, &sample_registry_files()).await
    }

    /// Opens a fresh data directory and loads the registry `files`.
    pub async fn with_registry(
        tokens: Vec<TokenConfig>,
        tweak: impl FnOnce(&mut Config),
        files: &[(RegistryFile, String)],
    ) -> App {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            tokens,
            ..Config::default()
        };
        tweak(&mut config);
        let state = AppState::open(config, dir.path()).unwrap();
        gridbeat::cli::serve::load_registry_files(&state, files)
            .await
            .unwrap();
        App { _dir: dir, state }
    }

    /// Sends one request through the router.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        send(&self.state, request).await
    }
}

/// A token whose secret is its name.
pub fn token(name: &str, role: &str, unit: Option<&str>, workers: &[&str]) -> TokenConfig {
    TokenConfig {
        name: name.into(),
        sha256: token_hash(name),
        role: role.into(),
        unit: unit.map(String::from),
        workers: workers.iter().map(|w| w.to_string()).collect(),
    }
}

/// Now, in Unix seconds (pings must not be from the future).
pub fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A GET, with a bearer token or none.
pub fn get(uri: &str, bearer: Option<&str>) -> Request<Body> {
    let mut r = Request::get(uri);
    if let Some(t) = bearer {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    r.body(Body::empty()).unwrap()
}

/// A POST of `body` as `ct`, with a bearer token or none.
pub fn post(uri: &str, ct: &str, body: impl Into<Body>, bearer: Option<&str>) -> Request<Body> {
    let mut r = Request::post(uri).header("content-type", ct);
    if let Some(t) = bearer {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    r.body(body.into()).unwrap()
}

/// Sends one request through the router of `state`.
pub async fn send(state: &Arc<AppState>, request: Request<Body>) -> Answer {
    send_to(router(Arc::clone(state)), request).await
}

/// Sends one request through `app` (the router, or another door such as OsmAnd's).
pub async fn send_to(app: axum::Router, request: Request<Body>) -> Answer {
    let resp = app.oneshot(request).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// A GET through the router of `state`, answered 200, as JSON.
pub async fn get_json(state: &Arc<AppState>, uri: &str) -> Value {
    let a = send(state, get(uri, None)).await;
    assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
    a.json()
}

/// Brings every summary of `state` up to date.
pub async fn settle(state: &Arc<AppState>) {
    let s = Arc::clone(state);
    tokio::task::spawn_blocking(move || s.settle().unwrap())
        .await
        .unwrap();
}

/// An answer: status, headers, body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (panics with the start of the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(1_000)])
            )
        })
    }

    /// The error code of a JSON error body ("" when there is none).
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_string()
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

// ---------------------------------------------------------------- the real binary

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One raw HTTP/1.1 exchange over a fresh connection: writes `raw` as is, reads to the end.
/// Returns the status (0 when the server closed without an answer), the head and the body.
pub fn http_raw(
    port: u16,
    raw: &[u8],
    timeout: Duration,
) -> std::io::Result<(u16, String, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(raw)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(out.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, head, out[split..].to_vec()))
}

/// One request with a body over a fresh connection (`connection: close`).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String, Vec<u8>)> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut raw = head.into_bytes();
    raw.extend_from_slice(body);
    http_raw(port, &raw, Duration::from_secs(30))
}

/// The real binary serving a data directory on a free port; killed when dropped.
pub struct Served {
    pub child: Child,
    pub port: u16,
    pub stderr: PathBuf,
}

impl Served {
    /// Starts `gridbeat serve --data DATA [--config CONFIG]` and waits for `/healthz`; its
    /// standard error goes to `DATA/../serve-PORT.log`.
    pub fn start(data: &Path, config: Option<&Path>) -> Served {
        let port = free_port();
        let stderr = data
            .parent()
            .unwrap_or(data)
            .join(format!("serve-{port}.log"));
        let mut cmd = gridbeat();
        cmd.args(["serve", "--data"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")]);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Served::watch(child, port, stderr)
    }

    /// A server already started on `port`, its standard error going to `stderr`, once
    /// `/healthz` answers.
    pub fn watch(child: Child, port: u16, stderr: PathBuf) -> Served {
        let mut s = Served {
            child,
            port,
            stderr,
        };
        s.wait_healthy();
        s
    }

    /// Waits up to 60 s for `/healthz` to answer 200; panics with the server's log otherwise.
    pub fn wait_healthy(&mut self) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server exited ({status}): {}", self.log());
            }
            if matches!(
                http(self.port, "GET", "/healthz", &[], b""),
                Ok((200, _, _))
            ) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the server did not come up: {}", self.log());
    }

    /// What the server wrote to standard error so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- the demo's files, the batch door

/// `--grids`, `--workers` and `--checkpoints` with the registry files in `city`.
fn registry_args(city: &Path) -> Vec<std::ffi::OsString> {
    let mut args = Vec::new();
    for (flag, file) in [
        ("--grids", "grids.geojson"),
        ("--workers", "workers.csv"),
        ("--checkpoints", "checkpoints.geojson"),
    ] {
        args.push(flag.into());
        args.push(city.join(file).into_os_string());
    }
    args
}

/// The sample city's files (grids, workers, checkpoints, pings, truth) written into
/// `dir/city` by `gridbeat demo --no-serve --out`; returns `dir/city`.
pub fn demo_city(dir: &Path) -> PathBuf {
    let city = dir.join("city");
    let out = gridbeat()
        .args(["demo", "--no-serve", "--out"])
        .arg(&city)
        .output()
        .unwrap();
    assert_success(&out);
    city
}

/// The sample city's registry files written into `dir/city` (by `demo_city`), and a data
/// directory `dir/data` loaded with them (`gridbeat registry load`); returns `dir/data`.
pub fn demo_data(dir: &Path) -> PathBuf {
    let city = demo_city(dir);
    let data = dir.join("data");
    let out = gridbeat()
        .args(["registry", "load", "--data"])
        .arg(&data)
        .args(registry_args(&city))
        .output()
        .unwrap();
    assert_success(&out);
    data
}

/// `gridbeat report` for October 2026 as JSON, on the registry files in `city` (grids,
/// workers, checkpoints) and the pings file `pings`, written to `out`, with `extra` arguments.
/// Expects success; returns `out/report.json` and the standard error.
pub fn batch_report(city: &Path, pings: &Path, out: &Path, extra: &[&str]) -> (Value, String) {
    let run = gridbeat()
        .arg("report")
        .args(registry_args(city))
        .arg("--pings")
        .arg(pings)
        .args(["--month", "2026-10", "--format", "json"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    (super::read_json(&out.join("report.json")), stderr)
}

/// A report without what changes from one request to the next (`generated_at`, and the
/// service's `freshness`).
pub fn without_timing(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("generated_at");
        o.remove("freshness");
    }
    v
}

/// One §5.1 NDJSON line with every value the ping carries.
pub fn ndjson_line(p: &Ping) -> String {
    let mut v = json!({"worker": p.worker.as_str(), "ts": p.ts, "lat": p.lat, "lon": p.lon});
    for (k, x) in [
        ("acc", p.acc_m),
        ("speed", p.speed_mps),
        ("bearing", p.bearing_deg),
        ("alt", p.alt_m),
        ("batt", p.batt_pct),
    ] {
        if let Some(x) = x {
            v[k] = json!(x);
        }
    }
    if p.mock {
        v["mock"] = json!(true);
    }
    if let Some(c) = &p.checkin {
        v["checkin"] = json!(c.as_ref());
    }
    v.to_string()
}

/// One HTTP/1.1 request with an NDJSON body (or none) over a fresh connection: the status and
/// the body. An error when the server is not there or cuts the connection (it was killed).
pub fn http_ndjson(
    port: u16,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.set_write_timeout(Some(Duration::from_secs(30)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-ndjson\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    Ok((status, body))
}

/// Waits up to 60 s for `/healthz` on `port` to answer 200; panics with `log()` otherwise.
pub fn wait_port_healthy(port: u16, log: &dyn Fn() -> String) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(60) {
        if matches!(http_ndjson(port, "GET", "/healthz", b""), Ok((200, _))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the server on {port} did not come up: {}", log());
}

/// Pings as a batch-door CSV file's text, each row with every value the CSV carries.
pub fn pings_csv(pings: &[Ping]) -> String {
    let mut csv = String::from("worker,ts,lat,lon,acc,speed,mock,checkin\n");
    for p in pings {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            p.worker.as_str(),
            p.ts,
            p.lat,
            p.lon,
            p.acc_m.map(|x| x.to_string()).unwrap_or_default(),
            p.speed_mps.map(|x| x.to_string()).unwrap_or_default(),
            p.mock,
            p.checkin.as_deref().unwrap_or_default()
        ));
    }
    csv
}

/// Posts one NDJSON batch until a server acknowledges it, as a client that resends after a
/// failure does: each attempt goes to the next of `ports` (round-robin from `*next`); an
/// answer of 5xx or a cut connection (a server killed mid-request, not up yet) counts a resend
/// and the same batch goes again. The acknowledgement must reject no row.
pub fn post_until_acked(
    ports: &[u16],
    next: &mut usize,
    body: &[u8],
    resends: &std::sync::atomic::AtomicUsize,
) {
    loop {
        let port = ports[*next % ports.len()];
        *next += 1;
        match http_ndjson(port, "POST", "/api/v1/pings", body) {
            Ok((200, answer)) => {
                let v: Value = serde_json::from_str(&answer).unwrap();
                assert_eq!(v["rejected"], json!([]), "{answer}");
                return;
            }
            Ok((status, answer)) => {
                assert!(status >= 500, "{status}: {answer}");
                resends.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => {
                resends.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}
