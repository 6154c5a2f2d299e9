//! The HTTP door (`gridbeat serve`, DESIGN.md §5.4): ingest from phone clients, the registry,
//! reports and reads, limited to each token's scope; a background task keeps the stored
//! worker-day summaries current.
//!
//! The door computes nothing: ingest validates with the row rules of [`crate::ingest`] and
//! stores; [`recompute`] calls the engine ([`crate::assess::Assessor::summarize_day`]) for
//! each dirty worker-day; reports fold the stored summaries one worker at a time into
//! [`crate::assess::month::MonthDays`] and call [`crate::assess::month::assess_folded`], the
//! same fold `gridbeat report` makes of files' summaries.

pub mod auth;
pub mod cache;
pub mod error;
pub mod etag;
pub mod ingest;
pub mod jt808;
pub mod layers;
pub mod listen;
pub mod openapi;
pub mod page;
pub mod read;
pub mod recompute;
pub mod registry;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::assess::{Assessor, Params};
use crate::config::Config;
use crate::report::Report;
use crate::store::{Location, Store};
use crate::track::CleanMode;
use auth::Tokens;
use error::ApiError;

/// The engine's context of the moment: the registry with its indexes and the parameters,
/// and which device reports for which worker. Replaced whole when the registry changes.
pub struct Engine {
    /// The engine.
    pub assessor: Assessor,
    /// Device id → the worker or vehicle it reports for (`devices.csv`).
    pub devices: HashMap<String, String>,
    /// The vehicles and their routes.
    pub fleet: Arc<crate::registry::Fleet>,
    /// A number that changes with every registry change (cache key).
    pub generation: u64,
}

impl Engine {
    /// The engine of a loaded registry.
    pub fn new(loaded: registry::Loaded, params: Params, generation: u64) -> Engine {
        Engine {
            assessor: Assessor::new(Arc::new(loaded.registry), params),
            devices: loaded.devices,
            fleet: Arc::new(loaded.fleet),
            generation,
        }
    }

    /// The vehicle a terminal reports for: its row of `devices.csv` naming a vehicle, else a
    /// vehicle whose id is the terminal's id (for JT/T 808, its phone number's digits).
    pub fn vehicle_of_device(&self, device: &str) -> Option<&crate::registry::Vehicle> {
        match self.devices.get(device) {
            Some(id) => self.fleet.vehicle(id),
            None => self.fleet.vehicle(device),
        }
    }

    /// Whom a device reports for, the id its pings are stored under: the device's row of
    /// `devices.csv` (a worker or a vehicle), else a worker or a vehicle whose id is the device
    /// id.
    pub fn worker_of_device(&self, device: &str) -> Option<String> {
        if let Some(w) = self.devices.get(device) {
            return Some(w.clone());
        }
        if self.fleet.vehicle(device).is_some() {
            return Some(device.to_string());
        }
        self.assessor
            .registry
            .worker(device)
            .map(|w| w.id.as_str().to_string())
    }
}

/// A cached report: (month, unit).
type ReportKey = (String, Option<String>);

/// A report with the summaries version and engine generation it was made at.
type CachedReport = (u64, u64, Arc<Report>);

/// Everything a request handler needs.
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    engine: RwLock<Arc<Engine>>,
    /// The effective configuration.
    pub config: Config,
    /// The configured tokens.
    pub tokens: Tokens,
    limiter: DefaultKeyedRateLimiter<String>,
    metrics: PrometheusHandle,
    reports: Mutex<HashMap<ReportKey, CachedReport>>,
    /// Decoded summaries, built layers and cut tiles of the map door.
    pub(crate) layers: layers::Cache,
    /// Wakes the recompute task.
    pub wake: tokio::sync::Notify,
    /// Serialises registry changes.
    pub registry_lock: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    /// The store's registry version the engine was built from ([`Store::registry_version`]).
    registry_seen: AtomicU64,
    started: Instant,
}

/// The Prometheus recorder: one per process (tests build many servers).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0,
                    ],
                )
                .unwrap_or_else(|_| metrics_exporter_prometheus::PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

impl AppState {
    /// Opens the data directory and builds the engine from the stored registry.
    ///
    /// # Errors
    /// When the store cannot be opened, the stored registry no longer loads, or a token in
    /// the config is malformed.
    pub fn open(config: Config, data: &Path) -> anyhow::Result<Arc<AppState>> {
        AppState::open_with(config, data, &crate::store::OpenOptions::default())
    }

    /// [`AppState::open`] with store options (`--init`, what the lock file names).
    ///
    /// # Errors
    /// As [`AppState::open`].
    pub fn open_with(
        config: Config,
        data: &Path,
        opts: &crate::store::OpenOptions,
    ) -> anyhow::Result<Arc<AppState>> {
        AppState::open_at(
            config,
            &Location::Dir(data.to_path_buf()),
            opts,
            std::time::Duration::ZERO,
        )
    }

    /// Opens the store at a location (a data directory, or a PostgreSQL database waited for up
    /// to `wait` while it cannot be reached) and builds the engine from its registry.
    ///
    /// # Errors
    /// As [`AppState::open`].
    pub fn open_at(
        config: Config,
        location: &Location,
        opts: &crate::store::OpenOptions,
        wait: std::time::Duration,
    ) -> anyhow::Result<Arc<AppState>> {
        let store = location.open(&config.store, opts, wait)?;
        AppState::with_store(config, store)
    }

    /// Builds the state around a store.
    ///
    /// # Errors
    /// As [`AppState::open`].
    pub fn with_store(config: Config, store: Arc<dyn Store>) -> anyhow::Result<Arc<AppState>> {
        let tokens = Tokens::from_config(&config.tokens).map_err(anyhow::Error::msg)?;
        let registry_seen = store.registry_version();
        let engine = registry::engine_from_store(store.as_ref(), &config, 1)?;
        // Summaries computed on other parameters or another engine version are stale.
        let basis = serde_json::to_string(&engine.assessor.basis)?;
        if store.meta("basis")?.as_deref() != Some(basis.as_str()) {
            store.mark_all_dirty()?;
            store.set_meta("basis", &basis)?;
        }
        // Vehicle-days computed with other route parameters or another format are stale.
        let route_basis = format!(
            "{}:{}",
            crate::route::VehicleDay::FORMAT,
            serde_json::to_string(&config.route)?
        );
        if store.meta("route_basis")?.as_deref() != Some(route_basis.as_str()) {
            let mut days = Vec::new();
            for v in &engine.fleet.vehicles {
                let all = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
                    ..chrono::NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
                for row in store.worker_summaries(&v.id, all)? {
                    days.push((row.worker, row.day));
                }
            }
            store.mark_dirty(&days)?;
            store.set_meta("route_basis", &route_basis)?;
        }
        let per_s = NonZeroU32::new(config.server.rate_per_s.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.server.rate_burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Ok(Arc::new(AppState {
            store,
            engine: RwLock::new(Arc::new(engine)),
            tokens,
            limiter: RateLimiter::keyed(Quota::per_second(per_s).allow_burst(burst)),
            metrics: metrics_handle(),
            reports: Mutex::new(HashMap::new()),
            layers: layers::Cache::default(),
            wake: tokio::sync::Notify::new(),
            registry_lock: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(1),
            registry_seen: AtomicU64::new(registry_seen),
            started: Instant::now(),
            config,
        }))
    }

    /// The engine of the moment.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine
            .read()
            .map(|e| Arc::clone(&e))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Replaces the engine after a registry change.
    fn set_engine(&self, engine: Engine) {
        match self.engine.write() {
            Ok(mut e) => *e = Arc::new(engine),
            Err(p) => *p.into_inner() = Arc::new(engine),
        }
    }

    /// Rebuilds the engine when another process sharing the store (a PostgreSQL replica)
    /// changed the registry since this one built its engine. Called by the recompute task on
    /// every tick, so a replica follows another's registry change within a second or so.
    /// Returns whether it rebuilt.
    ///
    /// # Errors
    /// When the stored registry cannot be read or no longer loads (the old engine stays).
    pub fn refresh_engine(&self) -> anyhow::Result<bool> {
        let version = self.store.registry_version();
        if version == 0 || version == self.registry_seen.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let engine =
            registry::engine_from_store(self.store.as_ref(), &self.config, self.next_generation())?;
        self.set_engine(engine);
        self.registry_seen.store(version, Ordering::Relaxed);
        tracing::info!(
            registry_version = version,
            "the registry was changed by another replica: engine rebuilt"
        );
        Ok(true)
    }

    /// Notes the registry version this process's own change produced.
    fn saw_registry(&self, version: u64) {
        self.registry_seen.store(version, Ordering::Relaxed);
    }

    /// A fresh engine generation number.
    fn next_generation(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Recomputes every dirty worker-day now, ignoring the debounce (tests, `demo`, the end of
    /// an import).
    ///
    /// # Errors
    /// On a store failure.
    pub fn settle(&self) -> anyhow::Result<usize> {
        let mut done = 0;
        loop {
            let n = recompute::run_once(self, i64::MAX, i64::MAX)?;
            if n == 0 {
                return Ok(done);
            }
            done += n;
        }
    }

    /// Uptime, seconds.
    pub fn uptime_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The map door's caches: entries and (estimated) bytes held.
    pub fn cache_usage(&self) -> (usize, usize) {
        self.layers.usage()
    }
}

/// The engine and parameters a config gives, without a registry (for tests and tools).
pub fn params_of(config: &Config) -> Params {
    Params::new(config.clone(), CleanMode::Full)
}

/// The router of the API (without the background task): what tests drive with `oneshot`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(read::healthz))
        .route("/readyz", get(read::readyz))
        .route("/livez", get(read::livez))
        .route("/metrics", get(read::metrics))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .route("/api/v1/pings", post(ingest::post_pings))
        .route("/osmand", get(ingest::osmand).post(ingest::osmand_post))
        .route("/owntracks", post(ingest::owntracks))
        .route(
            "/api/v1/registry/{file}",
            get(registry::get_file).put(registry::put_file),
        )
        .route("/api/v1/units", get(read::units))
        .route("/api/v1/units/{code}", get(read::unit))
        .route("/api/v1/workers", get(read::workers))
        .route("/api/v1/workers/{id}", get(read::worker))
        .route("/api/v1/workers/{id}/days/{day}", get(read::worker_day))
        .route("/api/v1/reports/{month}", get(read::report))
        .route("/api/v1/positions", get(read::positions))
        .route("/api/v1/layers/{layer}", get(layers::layer))
        .route("/api/v1/style.json", get(layers::style))
        .route("/api/v1/config.json", get(layers::config))
        .route("/tiles/{file}", get(layers::tilejson))
        .route("/tiles/{layer}/{z}/{x}/{y}", get(layers::tile))
        .merge(page::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(json_errors))
        .layer(
            tower_http::compression::CompressionLayer::new()
                .gzip(true)
                .br(true),
        )
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            observe,
        ))
        .with_state(state)
}

/// The router of `--osmand-listen`: the OsmAnd protocol at `/` (and `/osmand`).
pub fn osmand_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(ingest::osmand).post(ingest::osmand))
        .route("/osmand", get(ingest::osmand).post(ingest::osmand_post))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            observe,
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NoEndpoint
}

/// Turns every error answer that is not already the contract's JSON — the framework's own
/// (405 for a wrong method, 400 for a query string or path that does not deserialize, 413,
/// …) — into `{"code","message"}` with the same status and headers (`Allow` kept).
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let code = match status.as_u16() {
        400 if text.starts_with("Failed to deserialize query string") => "bad_query",
        400 if text.starts_with("Invalid URL") || text.contains("path") => "bad_path",
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        413 => "body_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        429 => "rate_limited",
        s if s >= 500 => "internal",
        _ => "bad_request",
    };
    let message = if status.is_server_error() {
        tracing::error!(status = status.as_u16(), cause = %crate::ingest::row::shown(&text), "internal error");
        "internal error".to_string()
    } else if status == axum::http::StatusCode::METHOD_NOT_ALLOWED {
        // A route's method router adds its Allow header after this layer has run, so the
        // header is usually not here yet; the answer carries it either way.
        match parts
            .headers
            .get(axum::http::header::ALLOW)
            .and_then(|v| v.to_str().ok())
        {
            Some(allow) if !allow.is_empty() => {
                format!("this method is not allowed here; allowed: {allow}")
            }
            _ => {
                "this method is not allowed here; the Allow header lists those that are".to_string()
            }
        }
    } else if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_string()
    } else {
        cut_message(&text)
    };
    let mut answer = ApiError::Framework {
        status,
        code,
        message,
    }
    .into_response();
    for (k, v) in &parts.headers {
        if k != axum::http::header::CONTENT_TYPE && k != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().insert(k.clone(), v.clone());
        }
    }
    answer
}

/// A message cut to 300 characters (the framework's rejections quote the input).
fn cut_message(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// A request id for every request (the client's `x-request-id` when it sent a sane one), a
/// span with it for the logs, the latency histogram, the per-request deadline of reads
/// (`[server] request_timeout_s`: `503 deadline_exceeded`), and the id on the response.
///
/// The deadline applies to `GET` and `HEAD`, whose work can be dropped halfway harmlessly;
/// a write (ingest, a registry upload) is not cut off mid-commit: its time is bounded by the
/// body timeout and the size limits instead.
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(String::from)
        .unwrap_or_else(|| {
            format!(
                "{:08x}-{:06}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            )
        });
    let method = request.method().clone();
    let path = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!("request", id = %id, method = %method, path = %path);
    let start = Instant::now();
    let deadline = if matches!(method, axum::http::Method::GET | axum::http::Method::HEAD) {
        std::time::Duration::from_secs(state.config.server.request_timeout_s.max(1))
    } else {
        std::time::Duration::MAX
    };
    let mut response = {
        use tracing::Instrument;
        match tokio::time::timeout(deadline, next.run(request).instrument(span.clone())).await {
            Ok(r) => r,
            Err(_) => {
                span.in_scope(|| tracing::warn!(s = deadline.as_secs(), "request deadline passed"));
                ApiError::DeadlineExceeded {
                    s: deadline.as_secs(),
                }
                .into_response()
            }
        }
    };
    let elapsed = start.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    metrics::histogram!("gridbeat_http_request_duration_seconds",
        "method" => method.to_string(), "path" => path.clone(), "status" => status.to_string())
    .record(elapsed);
    span.in_scope(|| {
        tracing::info!(status, ms = elapsed * 1000.0, "done");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// How `gridbeat serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The API address.
    pub listen: SocketAddr,
    /// The OsmAnd address, if any.
    pub osmand_listen: Option<SocketAddr>,
    /// The JT/T 808 address, if any.
    pub jt808_listen: Option<SocketAddr>,
}

/// Checks that a server without tokens listens on loopback only.
///
/// # Errors
/// A message saying what to do.
pub fn check_open_listen(tokens: &Tokens, addrs: &[SocketAddr]) -> anyhow::Result<()> {
    if tokens.is_empty() {
        if let Some(a) = addrs.iter().find(|a| !a.ip().is_loopback()) {
            anyhow::bail!(
                "no tokens are configured, so the server is open and may listen on loopback only, \
                 but --listen is {a}: add [[tokens]] to the config (`gridbeat token new --role admin`) \
                 or listen on 127.0.0.1"
            );
        }
    }
    Ok(())
}

/// Runs the service until Ctrl-C or SIGTERM: the API, the optional OsmAnd port and the
/// background recompute. In-flight requests finish (their commits included) before it returns.
///
/// # Errors
/// When an address cannot be bound.
pub async fn serve(state: Arc<AppState>, opts: ServeOptions) -> anyhow::Result<()> {
    let mut addrs = vec![opts.listen];
    addrs.extend(opts.osmand_listen);
    check_open_listen(&state.tokens, &addrs)?;
    if state.tokens.is_empty() {
        tracing::warn!("no tokens configured: the server is open to every local caller");
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let recompute = tokio::spawn(recompute::run(Arc::clone(&state), stop_rx.clone()));

    let files = listen::raise_open_files_limit();
    let limits = listen::Limits::of(&state.config.server);
    if let Some(n) = files {
        if (limits.max_total as u64).saturating_add(64) > n {
            tracing::warn!(
                open_files = n,
                max_connections = limits.max_total,
                "max_connections is near the open-files limit: raise the hard limit (ulimit -Hn)"
            );
        }
    }
    let conns = listen::Conns::new(limits);
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", opts.listen))?;
    let mut servers = vec![tokio::spawn(listen::run(
        listener,
        router(Arc::clone(&state)),
        Arc::clone(&conns),
        stop_rx.clone(),
    ))];
    if let Some(addr) = opts.osmand_listen {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (--osmand-listen): {e}"))?;
        servers.push(tokio::spawn(listen::run(
            l,
            osmand_router(Arc::clone(&state)),
            Arc::clone(&conns),
            stop_rx.clone(),
        )));
        tracing::info!(%addr, "OsmAnd protocol listening");
    }
    if let Some(addr) = opts.jt808_listen {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (--jt808-listen): {e}"))?;
        let door = jt808::Door::new(Arc::clone(&state))
            .map_err(|e| anyhow::anyhow!("cannot start the JT/T 808 door: {e}"))?;
        servers.push(tokio::spawn(jt808::run(door, l, stop_rx.clone())));
        tracing::info!(%addr, "JT/T 808 listening");
    }
    tracing::info!(addr = %opts.listen, "gridbeat listening");
    wait_for_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    let _ = stop_tx.send(true);
    for s in servers {
        let _ = s.await;
    }
    let _ = recompute.await;
    // The requests in flight are done: move every commit into the main database file, so
    // it alone is a complete copy.
    let store = Arc::clone(&state.store);
    match tokio::task::spawn_blocking(move || store.checkpoint()).await {
        Ok(Ok(())) => tracing::info!("store checkpointed: the database file holds everything"),
        Ok(Err(e)) => tracing::error!(error = %e, "store checkpoint at stop failed"),
        Err(e) => tracing::error!(error = %e, "store checkpoint at stop failed"),
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Answers a cached report when the summaries and registry have not changed since.
fn cached_report(
    state: &AppState,
    key: &(String, Option<String>),
    version: (u64, u64),
) -> Option<Arc<Report>> {
    let cache = state.reports.lock().ok()?;
    cache
        .get(key)
        .filter(|(s, g, _)| (*s, *g) == version)
        .map(|(_, _, r)| Arc::clone(r))
}

fn cache_report(
    state: &AppState,
    key: (String, Option<String>),
    version: (u64, u64),
    report: Arc<Report>,
) {
    if let Ok(mut cache) = state.reports.lock() {
        if cache.len() > 256 {
            cache.clear();
        }
        cache.insert(key, (version.0, version.1, report));
    }
}

/// The state as handlers extract it.
pub type AppStateRef = State<Arc<AppState>>;
