//! Helpers shared by the hardening tests: the sample city in process, the real binary on a
//! free loopback port, raw HTTP/1.1 requests (so a test controls every byte on the wire).
#![allow(dead_code)]

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
use gridbeat::server::auth::token_hash;
use gridbeat::server::{router, AppState};
use gridbeat::store::RegistryFile;
use tower::ServiceExt;

/// The binary under test.
pub fn gridbeat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gridbeat"))
}

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

/// A server in process on the sample city (grids, workers, checkpoints), with `tokens`.
pub struct App {
    pub dir: tempfile::TempDir,
    pub state: Arc<AppState>,
}

impl App {
    /// Opens a fresh data directory and loads the sample registry.
    pub async fn new(tokens: Vec<TokenConfig>, tweak: impl FnOnce(&mut Config)) -> App {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            tokens,
            ..Config::default()
        };
        tweak(&mut config);
        let state = AppState::open(config, dir.path()).unwrap();
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
        App { dir, state }
    }

    /// Sends one request through the router.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        let resp = router(Arc::clone(&self.state))
            .oneshot(request)
            .await
            .unwrap();
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
}

/// An answer: status, headers, body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
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

/// The sample city's registry files written into `dir` (by `gridbeat demo --no-serve --out`),
/// and a data directory `dir/data` loaded with them (`gridbeat registry load`).
pub fn demo_data(dir: &Path) -> PathBuf {
    let city = dir.join("city");
    let out = gridbeat()
        .args(["demo", "--no-serve", "--out"])
        .arg(&city)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = dir.join("data");
    let f = |n: &str| city.join(n).display().to_string();
    let out = gridbeat()
        .args(["registry", "load", "--data"])
        .arg(&data)
        .args([
            "--grids",
            &f("grids.geojson"),
            "--workers",
            &f("workers.csv"),
            "--checkpoints",
            &f("checkpoints.geojson"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    data
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
