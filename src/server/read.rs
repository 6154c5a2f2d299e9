//! Read endpoints (DESIGN.md §5.4), each limited to the caller's scope: a code outside it is
//! 403, a list is silently limited to it.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::auth::{Caller, Scope, Session};
use super::error::ApiError;
use super::{AppState, Engine};
use crate::assess::month::{assess_folded, MonthDays, MonthInput};
use crate::assess::WorkerDay;
use crate::model::{format_timestamp, Month, UnixMs};
use crate::registry::Registry;
use crate::report::{Format, Freshness, Lang, Report};

/// `GET /healthz` and `GET /readyz`: readiness. The store was read and a tiny write
/// transaction committed: 200 `{"status": "ok", ...}`; otherwise 503 with the reason as the
/// code (`disk_full`, `read_only`, `io_error`, `corrupt`, `unavailable`).
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "ready: the store reads and writes")))]
pub async fn healthz(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let store = Arc::clone(&state.store);
    let (ready, failures) =
        tokio::task::spawn_blocking(move || (store.readiness(), store.checksum_failures()))
            .await
            .unwrap_or((
                crate::store::Readiness::NotReady("unavailable", "the probe failed".into()),
                0,
            ));
    match ready {
        crate::store::Readiness::Ready => Ok(axum::Json(serde_json::json!({
            "status": "ok",
            "uptime_s": state.uptime_s().round(),
            "store": "ready",
            "summaries_failed_checksum": failures,
        }))
        .into_response()),
        crate::store::Readiness::NotReady(reason, message) => {
            Err(ApiError::NotReady { reason, message })
        }
    }
}

/// `GET /readyz`: readiness, the same answer as `/healthz`.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready: the store reads and writes")))]
pub async fn readyz(state: State<Arc<AppState>>) -> Result<Response, ApiError> {
    healthz(state).await
}

/// `GET /livez`: liveness; the process answers (it does not touch the store).
#[utoipa::path(get, path = "/livez", tag = "operations",
    responses((status = 200, description = "the process answers")))]
pub async fn livez(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(serde_json::json!({"status": "alive", "uptime_s": state.uptime_s().round()}))
        .into_response()
}

/// `GET /metrics`: Prometheus text (admin, or anyone on a server without tokens).
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("bearer" = [])),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    Session { caller, .. }: Session,
) -> Result<Response, ApiError> {
    if caller.role != super::auth::Role::Admin {
        return Err(ApiError::NotMetricsAdmin);
    }
    let s = Arc::clone(&state);
    blocking(move || {
        super::recompute::publish_lag(&s);
        Ok(())
    })
    .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response())
}

/// Runs blocking work (the store, the engine) on the blocking pool inside the request's span
/// and log dispatcher, so that every line it logs carries the request id the `observe`
/// middleware put on the span (issue 15, defect 18); the cause of an [`ApiError::Internal`]
/// it returns is logged in that span too, when the answer is made.
///
/// # Errors
/// The work's own error, or `internal` when it panicked.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    tokio::task::spawn_blocking(move || {
        tracing::dispatcher::with_default(&dispatch, || span.in_scope(work))
    })
    .await?
}

/// A unit of the tree.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct UnitOut {
    /// The code.
    pub code: String,
    /// The name.
    pub name: String,
    /// `city|district|street|community|grid`.
    pub level: String,
    /// The parent's code.
    pub parent: Option<String>,
    /// The children's codes.
    pub children: Vec<String>,
    /// Grids: the workers assigned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<String>,
}

fn unit_out(reg: &Registry, i: usize, scope: &Scope) -> UnitOut {
    let u = &reg.units[i];
    let children = reg
        .units
        .iter()
        .filter(|c| c.parent == Some(i) && scope.has_unit(c.code.as_str()))
        .map(|c| c.code.as_str().to_string())
        .collect();
    let workers = reg
        .grid_by_code(u.code.as_str())
        .map(|g| {
            reg.workers
                .iter()
                .filter(|w| w.grids.contains(&g) && scope.has_worker(w.id.as_str()))
                .map(|w| w.id.as_str().to_string())
                .collect()
        })
        .unwrap_or_default();
    UnitOut {
        code: u.code.as_str().to_string(),
        name: u.name.clone(),
        level: u.level.as_str().to_string(),
        parent: u.parent.map(|p| reg.units[p].code.as_str().to_string()),
        children,
        workers,
    }
}

/// `GET /api/v1/units`: the units in scope, parents before children.
#[utoipa::path(get, path = "/api/v1/units", tag = "read", security(("bearer" = [])),
    responses((status = 200, body = Vec<UnitOut>)))]
pub async fn units(session: Session) -> Result<Response, ApiError> {
    let scope = session.reader()?;
    let reg = &session.engine.assessor.registry;
    let mut order: Vec<usize> = (0..reg.units.len())
        .filter(|&i| scope.has_unit(reg.units[i].code.as_str()))
        .collect();
    order.sort_by_key(|&i| (reg.units[i].level, reg.units[i].code.clone()));
    let out: Vec<UnitOut> = order
        .into_iter()
        .map(|i| unit_out(reg, i, &scope))
        .collect();
    Ok(axum::Json(out).into_response())
}

/// `GET /api/v1/units/{code}`.
#[utoipa::path(get, path = "/api/v1/units/{code}", tag = "read", security(("bearer" = [])),
    params(("code" = String, Path, description = "a unit's code")),
    responses((status = 200, body = UnitOut)))]
pub async fn unit(session: Session, Path(code): Path<String>) -> Result<Response, ApiError> {
    let scope = session.reader()?;
    let (caller, engine) = (&session.caller, &session.engine);
    let reg = &engine.assessor.registry;
    let i = reg
        .units
        .iter()
        .position(|u| u.code.as_str() == code)
        .ok_or_else(|| ApiError::NoUnit(code.clone()))?;
    if !scope.has_unit(&code) {
        return Err(outside(caller, &format!("unit {code}")));
    }
    Ok(axum::Json(unit_out(reg, i, &scope)).into_response())
}

/// `forbidden`: `what` is outside the caller's scope.
pub(crate) fn outside(caller: &Caller, what: &str) -> ApiError {
    ApiError::OutsideScope {
        what: what.to_string(),
        token: caller.name.clone(),
        unit: caller.unit.as_deref().unwrap_or("-").to_string(),
    }
}

/// A worker.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WorkerOut {
    /// The id.
    pub id: String,
    /// The name.
    pub name: String,
    /// The assigned grids' codes.
    pub grids: Vec<String>,
    /// Days with a stored summary (only on `/workers/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
}

fn worker_out(reg: &Registry, w: &crate::registry::Worker) -> WorkerOut {
    WorkerOut {
        id: w.id.as_str().to_string(),
        name: w.name.clone(),
        grids: w
            .grids
            .iter()
            .filter_map(|g| reg.grid(*g).map(|g| g.code.as_str().to_string()))
            .collect(),
        days: None,
    }
}

/// `GET /api/v1/workers`: the workers in scope.
#[utoipa::path(get, path = "/api/v1/workers", tag = "read", security(("bearer" = [])),
    responses((status = 200, body = Vec<WorkerOut>)))]
pub async fn workers(session: Session) -> Result<Response, ApiError> {
    let scope = session.reader()?;
    let reg = &session.engine.assessor.registry;
    let out: Vec<WorkerOut> = reg
        .workers
        .iter()
        .filter(|w| scope.has_worker(w.id.as_str()))
        .map(|w| worker_out(reg, w))
        .collect();
    Ok(axum::Json(out).into_response())
}

/// Fails unless the worker is known and in scope.
fn check_worker(caller: &Caller, scope: &Scope, reg: &Registry, id: &str) -> Result<(), ApiError> {
    if reg.worker(id).is_none() && !scope.is_everything() {
        return Err(ApiError::NoWorker(id.to_string()));
    }
    if !scope.has_worker(id) {
        return Err(outside(caller, &format!("worker {id}")));
    }
    Ok(())
}

/// `GET /api/v1/workers/{id}`: the worker and the days with figures.
#[utoipa::path(get, path = "/api/v1/workers/{id}", tag = "read", security(("bearer" = [])),
    params(("id" = String, Path, description = "a worker's id")),
    responses((status = 200, body = WorkerOut)))]
pub async fn worker(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let scope = session.reader()?;
    let reg = &session.engine.assessor.registry;
    check_worker(&session.caller, &scope, reg, &id)?;
    let store = Arc::clone(&state.store);
    let wid = id.clone();
    let rows =
        blocking(move || Ok(store.worker_summaries(&wid, NaiveDate::MIN..NaiveDate::MAX)?)).await?;
    let mut out = match reg.worker(&id) {
        Some(w) => worker_out(reg, w),
        None if rows.is_empty() => return Err(ApiError::NoWorker(id)),
        None => WorkerOut {
            id: id.clone(),
            name: String::new(),
            grids: Vec::new(),
            days: None,
        },
    };
    out.days = Some(rows.iter().map(|r| r.day.to_string()).collect());
    Ok(axum::Json(out).into_response())
}

/// Query of the worker-day endpoint.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// `json` (default) or `geojson` (the day's track); another is `400 bad_format`.
    #[param(schema_with = day_format)]
    pub format: Option<String>,
}

/// The formats of a worker-day.
pub const DAY_FORMATS: [&str; 2] = ["json", "geojson"];

fn day_format() -> utoipa::openapi::schema::Object {
    super::openapi::names(DAY_FORMATS)
}

/// The path of a worker-day.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes the path for the OpenAPI document
pub struct DayPath {
    /// A worker's id.
    id: String,
    /// A local day, `YYYY-MM-DD`; another form is `400 bad_day`.
    #[param(schema_with = super::openapi::date)]
    day: String,
}

/// `GET /api/v1/workers/{id}/days/{day}`: the worker-day summary, or its track as GeoJSON.
#[utoipa::path(get, path = "/api/v1/workers/{id}/days/{day}", tag = "read", security(("bearer" = [])),
    params(DayPath, DayQuery),
    responses((status = 200, description = "the summary (JSON) or the track (GeoJSON FeatureCollection)",
            content((serde_json::Value = "application/json"), (serde_json::Value = "application/geo+json")))))]
pub async fn worker_day(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path((id, day)): Path<(String, String)>,
    Query(q): Query<DayQuery>,
) -> Result<Response, ApiError> {
    let scope = session.reader()?;
    let engine = &session.engine;
    let reg = &engine.assessor.registry;
    check_worker(&session.caller, &scope, reg, &id)?;
    let date =
        NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| ApiError::BadDay(day.clone()))?;
    // The format is checked before the store is read: a bad one is a bad request whether or
    // not the day has figures.
    let geojson = match q.format.as_deref() {
        None | Some("json") => false,
        Some("geojson") => true,
        Some(other) => return Err(ApiError::BadDayFormat(other.to_string())),
    };
    let store = Arc::clone(&state.store);
    let wid = id.clone();
    let row = blocking(move || Ok(store.summary(&wid, date)?))
        .await?
        .ok_or_else(|| ApiError::NoFigures {
            worker: id.clone(),
            day: day.clone(),
        })?;
    let restored = engine
        .assessor
        .decode(&row.data)
        .map_err(ApiError::internal)?;
    let d = restored.day;
    if geojson {
        let doc =
            crate::layers::track_geojson(&engine.assessor, &d, &crate::layers::Filter::default())?;
        Ok((
            [(header::CONTENT_TYPE, "application/geo+json")],
            axum::Json(doc),
        )
            .into_response())
    } else {
        let mut v = day_json(&engine.assessor, &d);
        v["stale"] = serde_json::json!(restored
            .stale
            .iter()
            .map(|s| format!("{s:?}").to_lowercase())
            .collect::<Vec<_>>());
        Ok(axum::Json(v).into_response())
    }
}

/// A worker-day as JSON, grids and checkpoints named by code.
fn day_json(a: &crate::assess::Assessor, d: &WorkerDay) -> serde_json::Value {
    let reg = &a.registry;
    let code = |g: crate::registry::GridId| {
        reg.grid(g)
            .map_or(String::new(), |g| g.code.as_str().to_string())
    };
    let mut v = serde_json::to_value(d).unwrap_or_default();
    let grid_s: serde_json::Map<String, serde_json::Value> = d
        .grid_s
        .iter()
        .map(|(g, s)| (code(*g), serde_json::json!(s)))
        .collect();
    v["grid_s"] = serde_json::Value::Object(grid_s);
    let coverage: serde_json::Map<String, serde_json::Value> = d
        .coverage
        .iter()
        .map(|(g, m)| (code(g), serde_json::json!(a.coverage.share(g, m))))
        .collect();
    v["coverage"] = serde_json::Value::Object(coverage);
    if let Some(visits) = v.get_mut("visits").and_then(|x| x.as_array_mut()) {
        for (out, visit) in visits.iter_mut().zip(&d.visits) {
            let cp = reg
                .checkpoints
                .get(visit.checkpoint)
                .map(|c| c.code.clone());
            out["checkpoint"] = serde_json::json!(cp);
        }
    }
    v["first_fix"] = serde_json::json!((d.first_fix != 0).then(|| format_timestamp(d.first_fix)));
    v["last_fix"] = serde_json::json!((d.last_fix != 0).then(|| format_timestamp(d.last_fix)));
    v
}

/// Query of the report endpoint.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The unit whose subtree is assessed (default: the token's unit, or everything); an
    /// unknown unit is `404 not_found`.
    pub unit: Option<String>,
    /// `json` (default), `csv`, `xlsx` or `html`; another is `400 bad_format`.
    #[param(schema_with = report_format)]
    pub format: Option<String>,
    /// Labels of CSV, XLSX and HTML: `zh` (default) or `en`; another is `400 bad_lang`.
    #[param(schema_with = report_lang)]
    pub lang: Option<String>,
    /// CSV only: `workers` (default), `grids` or `units`; another is `400 bad_table`.
    #[param(schema_with = report_table)]
    pub table: Option<String>,
}

/// How current the summaries of a unit's subtree are (`None`: the whole store): the
/// worker-days waiting, how long the oldest has waited, the newest ping of its workers. Never
/// about workers outside it (a community sees nothing of another's traffic).
///
/// # Errors
/// A store failure.
fn freshness(state: &AppState, engine: &Engine, unit: Option<&str>) -> Result<Freshness, ApiError> {
    let now = chrono::Utc::now().timestamp_millis();
    let lag_s =
        |oldest: Option<UnixMs>| oldest.map_or(0.0, |t| ((now - t).max(0) as f64 / 1000.0).round());
    let scope = Scope::of_unit(unit, &engine.assessor.registry);
    if scope.is_everything() {
        let stats = state.store.stats()?;
        return Ok(Freshness {
            pending: stats.pending,
            lag_s: lag_s(stats.oldest_pending),
            newest_ping: stats.newest_ping.map(format_timestamp),
        });
    }
    let pending: Vec<UnixMs> = state
        .store
        .pending()?
        .into_iter()
        .filter(|(w, _)| scope.has_worker(w))
        .map(|(_, since)| since)
        .collect();
    let newest = state
        .store
        .positions()?
        .into_iter()
        .filter(|p| scope.has_worker(&p.worker))
        .map(|p| p.ts)
        .max();
    Ok(Freshness {
        pending: pending.len() as u64,
        lag_s: lag_s(pending.iter().copied().min()),
        newest_ping: newest.map(format_timestamp),
    })
}

/// The monthly report of a unit from the stored summaries (cached until a summary or the
/// registry changes).
///
/// # Errors
/// A bad unit or a store failure.
pub fn month_report(
    state: &AppState,
    engine: &Engine,
    month: Month,
    unit: Option<&str>,
) -> Result<Arc<Report>, ApiError> {
    let key = (month.to_string(), unit.map(String::from));
    let version = (state.store.summaries_version(), engine.generation);
    let freshness = freshness(state, engine, unit)?;
    if let Some(r) = super::cached_report(state, &key, version) {
        let mut r = (*r).clone();
        r.freshness = Some(freshness);
        return Ok(Arc::new(r));
    }
    let folded = fold_month(state, engine, month)?;
    let generated_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let report = assess_folded(
        &folded,
        &MonthInput {
            assessor: &engine.assessor,
            month,
            attainable: None,
            unit,
            generated_at,
        },
    )?;
    let mut report = report;
    report.vehicles = vehicle_section(state, engine, month, unit)?;
    let report = Arc::new(report);
    super::cache_report(state, key, version, Arc::clone(&report));
    let mut r = (*report).clone();
    r.freshness = Some(freshness);
    Ok(Arc::new(r))
}

/// The month's stored summaries read, decoded and folded in one worker at a time, so a
/// report of a city's month never holds its summaries or decoded worker-days at once (flat
/// memory under load).
fn fold_month(state: &AppState, engine: &Engine, month: Month) -> Result<MonthDays, ApiError> {
    let period = month.period();
    let days = period.first..period.last.succ_opt().unwrap_or(period.last);
    let mut folded = MonthDays::new(month);
    for worker in state.store.summary_workers(days.clone())? {
        let rows = state.store.worker_summaries(&worker, days.clone())?;
        for d in &decode_rows(engine, &rows) {
            folded.add(d);
        }
    }
    Ok(folded)
}

/// The report's vehicles section from the stored vehicle-days of the month, folded in one
/// vehicle at a time (`None` for a registry without vehicles or routes): the same fold and
/// rows as the batch door's `report --vehicles`.
fn vehicle_section(
    state: &AppState,
    engine: &Engine,
    month: Month,
    unit: Option<&str>,
) -> Result<Option<crate::report::VehicleReport>, ApiError> {
    let fleet = &engine.fleet;
    if fleet.vehicles.is_empty() && fleet.routes.is_empty() {
        return Ok(None);
    }
    let period = month.period();
    let days = period.first..period.last.succ_opt().unwrap_or(period.last);
    let mut folded = crate::route::month::VehicleMonth::new(month);
    for v in &fleet.vehicles {
        for row in state.store.worker_summaries(&v.id, days.clone())? {
            match crate::incremental::decode_vehicle_day(&row.data) {
                Some(d) => folded.add(&d),
                None => {
                    tracing::warn!(vehicle = %v.id, day = %row.day, "vehicle-day skipped until recomputed");
                }
            }
        }
    }
    crate::route::month::vehicle_report(
        &folded,
        fleet,
        &engine.assessor.registry,
        unit,
        &state.config.route,
    )
    .map(Some)
    .map_err(ApiError::internal)
}

/// Decodes stored summaries in parallel; one that does not decode (damaged, or naming a grid
/// the registry no longer has) is logged and left out until it is recomputed.
pub(super) fn decode_rows(engine: &Engine, rows: &[crate::store::SummaryRow]) -> Vec<WorkerDay> {
    use rayon::prelude::*;
    rows.par_iter()
        // A vehicle's stored day is route figures, read by the vehicles section.
        .filter(|row| !crate::incremental::is_vehicle_day(&row.data))
        .filter_map(|row| match engine.assessor.decode(&row.data) {
            Ok(r) => Some(r.day),
            Err(e) => {
                tracing::warn!(worker = %row.worker, day = %row.day, error = %e, "summary skipped until recomputed");
                None
            }
        })
        .collect()
}

fn report_format() -> utoipa::openapi::schema::Object {
    super::openapi::names(["json", "csv", "xlsx", "html"])
}

fn report_lang() -> utoipa::openapi::schema::Object {
    super::openapi::names(["zh", "en"])
}

/// The tables of a CSV report.
pub const CSV_TABLES: [&str; 3] = ["workers", "grids", "units"];

fn report_table() -> utoipa::openapi::schema::Object {
    super::openapi::names(CSV_TABLES)
}

/// The path of a report.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes the path for the OpenAPI document
pub struct ReportPath {
    /// A local calendar month, `YYYY-MM`; another form is `400 bad_month`.
    #[param(schema_with = super::openapi::month)]
    month: String,
}

/// `GET /api/v1/reports/{YYYY-MM}`: the monthly assessment of a subtree.
#[utoipa::path(get, path = "/api/v1/reports/{month}", tag = "read", security(("bearer" = [])),
    params(ReportPath, ReportQuery),
    responses((status = 200, description = "the report: JSON (with `freshness`), CSV, XLSX or HTML",
            content((serde_json::Value = "application/json"), (String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (String = "text/html")))))]
pub async fn report(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(month): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let scope = session.reader()?;
    let (caller, engine) = (&session.caller, Arc::clone(&session.engine));
    let m: Month = month.parse().map_err(|reason| ApiError::BadMonth {
        text: month.clone(),
        reason,
    })?;
    let unit = q.unit.clone().or_else(|| caller.unit.clone());
    if let Some(u) = &unit {
        if engine.assessor.registry.unit(u).is_none() {
            return Err(ApiError::NoUnit(u.clone()));
        }
        if !scope.has_unit(u) {
            return Err(outside(caller, &format!("unit {u}")));
        }
    }
    let format: Format = q.format.as_deref().unwrap_or("json").parse()?;
    let lang: Lang = q.lang.as_deref().unwrap_or("zh").parse()?;
    // The table is checked whatever the format: a client never learns of a typo late.
    let table = q.table.as_deref().unwrap_or("workers");
    if !CSV_TABLES.contains(&table) {
        return Err(ApiError::BadTable(table.to_string()));
    }
    let s = Arc::clone(&state);
    let r = blocking(move || month_report(&s, &engine, m, unit.as_deref())).await?;
    let name = format!(
        "gridbeat-{}{}",
        r.month,
        r.unit
            .as_deref()
            .map(|u| format!("-{u}"))
            .unwrap_or_default()
    );
    let attach = |ext: &str| format!("attachment; filename=\"{name}.{ext}\"");
    Ok(match format {
        Format::Json => (
            [(header::CONTENT_TYPE, "application/json")],
            crate::report::json::to_json(&r).map_err(ApiError::internal)?,
        )
            .into_response(),
        Format::Html => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            crate::report::html::to_html(&r, lang),
        )
            .into_response(),
        Format::Xlsx => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                ),
                (header::CONTENT_DISPOSITION, attach("xlsx")),
            ],
            crate::report::xlsx::to_xlsx(&r, lang).map_err(ApiError::internal)?,
        )
            .into_response(),
        Format::Csv => {
            let bytes = match table {
                "workers" => crate::report::csv::workers_csv(&r, lang),
                "grids" => crate::report::csv::grids_csv(&r, lang),
                "units" => crate::report::csv::units_csv(&r, lang),
                other => return Err(ApiError::BadTable(other.to_string())),
            }
            .map_err(ApiError::internal)?;
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (header::CONTENT_DISPOSITION, attach(&format!("{table}.csv"))),
                ],
                bytes,
            )
                .into_response()
        }
    })
}

/// A latest position.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PositionOut {
    /// The worker (absent for a vehicle).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// The vehicle (absent for a worker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vehicle: Option<String>,
    /// When the fix was taken (RFC 3339, UTC).
    pub ts: String,
    /// Longitude (WGS84).
    pub lon: f64,
    /// Latitude (WGS84).
    pub lat: f64,
    /// Reported accuracy, metres.
    pub acc_m: Option<f32>,
    /// Seconds since the fix was taken.
    pub age_s: f64,
}

/// `GET /api/v1/positions`: the latest position of each worker and vehicle in scope (a
/// vehicle is in scope when its unit is).
#[utoipa::path(get, path = "/api/v1/positions", tag = "read", security(("bearer" = [])),
    responses((status = 200, body = Vec<PositionOut>)))]
pub async fn positions(
    State(state): State<Arc<AppState>>,
    session: Session,
) -> Result<Response, ApiError> {
    let scope = session.reader()?;
    let store = Arc::clone(&state.store);
    let rows = blocking(move || Ok(store.positions()?)).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let fleet = &session.engine.fleet;
    let out: Vec<PositionOut> = rows
        .into_iter()
        .filter(|p| scope.has_subject(fleet, &p.worker))
        .map(|p| (fleet.vehicle(&p.worker).is_some(), p))
        .map(|(is_vehicle, p)| PositionOut {
            age_s: ((now - p.ts).max(0) as f64 / 1000.0).round(),
            ts: format_timestamp(p.ts),
            vehicle: is_vehicle.then(|| p.worker.clone()),
            worker: (!is_vehicle).then_some(p.worker),
            lon: p.lon,
            lat: p.lat,
            acc_m: p.acc_m,
        })
        .collect();
    Ok(axum::Json(out).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Mutex;
    use tracing::Instrument;

    /// A log sink the test can read.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_internal_error_in_blocking_work_is_logged_with_the_request_id() {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .build()
                .unwrap();
            rt.block_on(
                async {
                    let r: Result<(), ApiError> =
                        blocking(|| Err(ApiError::internal("disk on fire"))).await;
                    let e = r.unwrap_err();
                    assert_eq!(e.code(), "internal");
                    // The cause is logged where the answer is made, in the request's span.
                    drop(e.into_response());
                }
                .instrument(tracing::info_span!("request", id = "req-4242")),
            );
        });
        let log = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let line = log
            .lines()
            .find(|l| l.contains("disk on fire"))
            .unwrap_or_else(|| panic!("the error was not logged: {log:?}"));
        assert!(line.contains("req-4242"), "{line}");
    }
}
