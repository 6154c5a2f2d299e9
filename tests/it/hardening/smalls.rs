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

/// A store that pauses a request at a chosen point: the first call of `summaries_version`
/// after [`PausingStore::arm`] tells the test it is there, then waits until the test lets it
/// go. Everything else is the SQLite store's own answer.
struct PausingStore {
    inner: gridbeat::store::SqliteStore,
    armed: std::sync::atomic::AtomicBool,
    paused: std::sync::Mutex<std::sync::mpsc::Sender<()>>,
    resume: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

impl PausingStore {
    fn arm(&self) {
        self.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl gridbeat::store::Store for PausingStore {
    fn summaries_version(&self) -> u64 {
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.paused.lock().unwrap().send(()).unwrap();
            self.resume.lock().unwrap().recv().unwrap();
        }
        self.inner.summaries_version()
    }
    fn insert_pings(
        &self,
        pings: Vec<gridbeat::store::NewPing>,
        margin_ms: i64,
    ) -> Result<Vec<gridbeat::store::Insert>, gridbeat::store::StoreError> {
        self.inner.insert_pings(pings, margin_ms)
    }
    fn pings(
        &self,
        worker: &str,
        range: std::ops::Range<i64>,
    ) -> Result<Vec<gridbeat::model::Ping>, gridbeat::store::StoreError> {
        self.inner.pings(worker, range)
    }
    fn neighbours(
        &self,
        worker: &str,
        ts: i64,
    ) -> Result<(Option<i64>, Option<i64>), gridbeat::store::StoreError> {
        self.inner.neighbours(worker, ts)
    }
    fn registry_file(
        &self,
        file: RegistryFile,
    ) -> Result<Option<String>, gridbeat::store::StoreError> {
        self.inner.registry_file(file)
    }
    fn put_registry_file(
        &self,
        file: RegistryFile,
        content: &str,
        affected: &gridbeat::store::Affected,
    ) -> Result<(), gridbeat::store::StoreError> {
        self.inner.put_registry_file(file, content, affected)
    }
    fn mark_dirty(
        &self,
        days: &[(String, chrono::NaiveDate)],
    ) -> Result<(), gridbeat::store::StoreError> {
        self.inner.mark_dirty(days)
    }
    fn mark_all_dirty(&self) -> Result<(), gridbeat::store::StoreError> {
        self.inner.mark_all_dirty()
    }
    fn due(
        &self,
        quiet_before: i64,
        due_before: i64,
        limit: usize,
    ) -> Result<Vec<gridbeat::store::DirtyDay>, gridbeat::store::StoreError> {
        self.inner.due(quiet_before, due_before, limit)
    }
    fn put_summary(
        &self,
        row: &gridbeat::store::SummaryRow,
        generation: i64,
    ) -> Result<(), gridbeat::store::StoreError> {
        self.inner.put_summary(row, generation)
    }
    fn drop_summary(
        &self,
        worker: &str,
        day: chrono::NaiveDate,
        generation: i64,
    ) -> Result<(), gridbeat::store::StoreError> {
        self.inner.drop_summary(worker, day, generation)
    }
    fn summary(
        &self,
        worker: &str,
        day: chrono::NaiveDate,
    ) -> Result<Option<gridbeat::store::SummaryRow>, gridbeat::store::StoreError> {
        self.inner.summary(worker, day)
    }
    fn worker_summaries(
        &self,
        worker: &str,
        days: std::ops::Range<chrono::NaiveDate>,
    ) -> Result<Vec<gridbeat::store::SummaryRow>, gridbeat::store::StoreError> {
        self.inner.worker_summaries(worker, days)
    }
    fn summary_before(
        &self,
        worker: &str,
        day: chrono::NaiveDate,
    ) -> Result<Option<gridbeat::store::SummaryRow>, gridbeat::store::StoreError> {
        self.inner.summary_before(worker, day)
    }
    fn summaries(
        &self,
        days: std::ops::Range<chrono::NaiveDate>,
    ) -> Result<Vec<gridbeat::store::SummaryRow>, gridbeat::store::StoreError> {
        self.inner.summaries(days)
    }
    fn summary_workers(
        &self,
        days: std::ops::Range<chrono::NaiveDate>,
    ) -> Result<Vec<String>, gridbeat::store::StoreError> {
        self.inner.summary_workers(days)
    }
    fn summary_months(&self) -> Result<Vec<gridbeat::model::Month>, gridbeat::store::StoreError> {
        self.inner.summary_months()
    }
    fn days_after(
        &self,
        worker: &str,
        day: chrono::NaiveDate,
        until: chrono::NaiveDate,
    ) -> Result<Vec<chrono::NaiveDate>, gridbeat::store::StoreError> {
        self.inner.days_after(worker, day, until)
    }
    fn positions(&self) -> Result<Vec<gridbeat::store::Position>, gridbeat::store::StoreError> {
        self.inner.positions()
    }
    fn pending(&self) -> Result<Vec<(String, i64)>, gridbeat::store::StoreError> {
        self.inner.pending()
    }
    fn stats(&self) -> Result<gridbeat::store::StoreStats, gridbeat::store::StoreError> {
        self.inner.stats()
    }
    fn copy_out(
        &self,
        part: gridbeat::store::Part,
        after: &gridbeat::store::Key,
        limit: usize,
    ) -> Result<gridbeat::store::Chunk, gridbeat::store::StoreError> {
        self.inner.copy_out(part, after, limit)
    }
    fn copy_in(
        &self,
        chunk: &gridbeat::store::Chunk,
        progress: (&str, &str),
    ) -> Result<u64, gridbeat::store::StoreError> {
        self.inner.copy_in(chunk, progress)
    }
    fn meta(&self, key: &str) -> Result<Option<String>, gridbeat::store::StoreError> {
        self.inner.meta(key)
    }
    fn set_meta(&self, key: &str, value: &str) -> Result<(), gridbeat::store::StoreError> {
        self.inner.set_meta(key, value)
    }
}

/// A server in process on a [`PausingStore`] with the sample registry: the test receives on
/// `paused` when a request reaches the armed point and sends on `resume` to let it go on.
struct Held {
    _dir: tempfile::TempDir,
    state: Arc<gridbeat::server::AppState>,
    store: Arc<PausingStore>,
    paused: std::sync::mpsc::Receiver<()>,
    resume: std::sync::mpsc::Sender<()>,
}

impl Held {
    async fn new(config: gridbeat::config::Config) -> Held {
        let dir = tempfile::tempdir().unwrap();
        let (paused_tx, paused) = std::sync::mpsc::channel();
        let (resume, resume_rx) = std::sync::mpsc::channel();
        let store = Arc::new(PausingStore {
            inner: gridbeat::store::SqliteStore::open(dir.path()).unwrap(),
            armed: false.into(),
            paused: paused_tx.into(),
            resume: resume_rx.into(),
        });
        let state = gridbeat::server::AppState::with_store(
            config,
            Arc::clone(&store) as Arc<dyn gridbeat::store::Store>,
        )
        .unwrap();
        gridbeat::cli::serve::load_registry_files(&state, &crate::util::sample_registry_files())
            .await
            .unwrap();
        Held {
            _dir: dir,
            state,
            store,
            paused,
            resume,
        }
    }
}

/// The grid codes a grids layer names.
fn layer_codes(answer: &Answer) -> BTreeSet<String> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    answer.json()["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["code"].as_str().unwrap().to_string())
        .collect()
}

/// Defect 9, made deterministic: a layer request is held inside its store read while a
/// registry upload lands, then let go. Its own answer names one registry's grids, and it
/// leaves nothing behind that a later request takes for the new registry's layer. (Before
/// one snapshot per request, the request built its layer from the old engine but filed it
/// under the new engine's generation, so every later request got the old grids.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_upload_landing_inside_a_layer_request_mixes_nothing() {
    let Held {
        _dir: _keep,
        state,
        store,
        paused: paused_rx,
        resume: resume_tx,
    } = Held::new(gridbeat::config::Config::default()).await;
    let day: Vec<_> = sample_pings()
        .into_iter()
        .filter(|p| p.ts < 1_790_870_400_000)
        .collect();
    gridbeat::cli::serve::post_pings(&state, &day, None)
        .await
        .unwrap();
    let st = Arc::clone(&state);
    tokio::task::spawn_blocking(move || recompute::run_once(&st, i64::MAX, i64::MAX))
        .await
        .unwrap()
        .unwrap();

    let path = "/api/v1/layers/grids?month=2026-10";
    let a = sample_codes();
    assert_eq!(layer_codes(&send(&state, get(path, None)).await), a);
    let (b_text, extra) = grids_with_extra(3);
    let b: BTreeSet<String> = a.union(&extra).cloned().collect();

    store.arm();
    let held = {
        let state = Arc::clone(&state);
        tokio::spawn(async move { send(&state, get(path, None)).await })
    };
    tokio::task::spawn_blocking(move || paused_rx.recv().unwrap())
        .await
        .unwrap();
    registry::replace(&state, RegistryFile::Grids, b_text)
        .await
        .unwrap();
    resume_tx.send(()).unwrap();
    let during = layer_codes(&held.await.unwrap());
    assert!(
        during == a || during == b,
        "the held request named the grids of neither registry: {} codes, {} new",
        during.len(),
        during.intersection(&extra).count()
    );
    let after = layer_codes(&send(&state, get(path, None)).await);
    assert_eq!(
        after.difference(&a).cloned().collect::<BTreeSet<_>>(),
        extra,
        "after the upload the layer must name the new registry's grids"
    );
    assert_eq!(after, b);
}

/// Defect 6, the per-request deadline: a read held longer than `request_timeout_s` is
/// answered `503 deadline_exceeded` (JSON, `Retry-After`, request id) while its work is
/// still stuck, and the service answers the same read normally once the store is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_past_the_request_deadline_is_answered_503_deadline_exceeded() {
    let mut config = gridbeat::config::Config::default();
    config.server.request_timeout_s = 1;
    let Held {
        _dir: _keep,
        state,
        store,
        paused: paused_rx,
        resume: resume_tx,
    } = Held::new(config).await;
    let path = "/api/v1/layers/grids?month=2026-10";
    store.arm();
    let start = std::time::Instant::now();
    let answer = send(
        &state,
        Request::get(path)
            .header("x-request-id", "stuck-read-1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let waited = start.elapsed();
    // The read is still held inside the store: the deadline answered, not the work.
    assert!(
        paused_rx.try_recv().is_ok(),
        "the read never reached the store"
    );
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.text()
    );
    assert_eq!(answer.code(), "deadline_exceeded");
    assert_eq!(answer.headers["retry-after"], "5");
    assert_eq!(answer.headers["x-request-id"], "stuck-read-1");
    assert!(
        waited >= std::time::Duration::from_millis(900)
            && waited < std::time::Duration::from_secs(10),
        "answered after {waited:?}, the deadline is 1 s"
    );
    resume_tx.send(()).unwrap();
    let again = send(&state, get(path, None)).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(layer_codes(&again), sample_codes());
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
