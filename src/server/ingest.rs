//! Ingest endpoints (DESIGN.md §5.4): gridbeat's JSON/NDJSON, the OsmAnd protocol (Traccar
//! Client) and OwnTracks HTTP mode. Each decodes with [`crate::ingest::wire`] (the row rules
//! every door shares), checks the timestamp against the receipt time and the caller's right
//! to post for the worker, and stores; a 2xx is sent only after the commit.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::auth::{authenticate, Role, Session};
use super::error::ApiError;
use super::AppState;
use crate::ingest;
use crate::ingest::wire::{self, Fix};
use crate::model::{UnixMs, WorkerId};
use crate::store::{Insert, NewPing, Source};

/// The answer to a batch of pings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BatchAnswer {
    /// Pings stored.
    pub accepted: usize,
    /// Pings whose (worker, ts) was already stored: `repeats` + `conflicts`.
    pub duplicates: usize,
    /// Of the duplicates, those with other values than the stored ping (another position,
    /// accuracy, battery, …): the first is kept, this one counts as received and dropped.
    pub conflicts: usize,
    /// Of the duplicates, exact copies of a ping already received (same worker, ts and
    /// stored values, e.g. a retry after a lost answer): they change no figure (DESIGN.md
    /// §4.2 step 1).
    #[serde(default)]
    pub repeats: usize,
    /// The records refused, by index in the batch.
    pub rejected: Vec<Rejected>,
}

/// One refused record.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Rejected {
    /// Its index in the batch (array index, or the 0-based index among NDJSON records).
    pub index: usize,
    /// The stable code.
    pub code: String,
    /// What to fix.
    pub message: String,
}

fn now_ms() -> UnixMs {
    chrono::Utc::now().timestamp_millis()
}

/// The largest body of a one-fix protocol request (OsmAnd, OwnTracks), bytes, also after
/// gzip: one position is a few hundred bytes. It also bounds what an OsmAnd request whose
/// token sits in its body (form or JSON) can make the server read before it is authenticated.
pub const MAX_FIX_BODY_BYTES: usize = 64 * 1024;

/// Reads a request body of at most `limit` bytes (before and after gzip), within
/// `[server] body_timeout_s`, un-gzipping every member of a gzip body (RFC 1952).
///
/// # Errors
/// 413 `body_too_large` over the limit (announced by `Content-Length` or counted);
/// 400 `bad_body` when the body cannot be read to its end (a malformed chunked body, a
/// connection cut mid-body); 408 `request_timeout` when it does not arrive in time;
/// 400 `bad_gzip` when a gzip body cannot be read to its end (a broken member, trailing
/// garbage: refused whole); 415 `unsupported_encoding` for another Content-Encoding.
pub(crate) async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::BodyTooLarge { limit };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    let gzip = match gzip.as_deref() {
        None | Some("identity") | Some("") => false,
        Some("gzip") | Some("x-gzip") => true,
        Some(other) => return Err(ApiError::UnsupportedEncoding(other.to_string())),
    };
    let wait = std::time::Duration::from_secs(state.config.server.body_timeout_s.max(1));
    let raw = match tokio::time::timeout(wait, collect(body, limit)).await {
        Ok(Ok(raw)) => raw,
        Ok(Err(BodyError::TooLarge)) => return Err(too_large()),
        Ok(Err(BodyError::Broken(e))) => return Err(ApiError::BrokenBody(e)),
        Err(_) => return Err(ApiError::BodyTimeout { s: wait.as_secs() }),
    };
    if !gzip {
        return Ok(raw);
    }
    // The same reader the fuzzer drives (`fuzz/fuzz_targets/gunzip.rs`).
    match crate::ingest::gzip::gunzip_limited(&raw, limit) {
        Ok(out) => Ok(Bytes::from(out)),
        Err(crate::ingest::gzip::GunzipError::TooLarge { .. }) => Err(too_large()),
        Err(e @ crate::ingest::gzip::GunzipError::Corrupt { .. }) => Err(ApiError::BadGzip(e)),
    }
}

/// Why a body could not be collected.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    /// Over the limit.
    #[error("the body is over the limit")]
    TooLarge,
    /// The transport failed (malformed chunks, a cut connection).
    #[error("the body cannot be read: {0}")]
    Broken(axum::Error),
}

/// Collects a body frame by frame, stopping as soon as it is over `limit`.
async fn collect(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    use axum::body::HttpBody;
    let mut body = std::pin::pin!(body);
    let mut buf = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(BodyError::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// A decoded fix on its way in: whose it is, when and how it arrived.
struct Arrival {
    fix: Fix,
    worker: String,
    received: UnixMs,
    source: Source,
    device: Option<String>,
}

/// Turns a decoded fix into a ping for the store: the caller's right to post for the worker
/// (authorization, this door's concern), then the engine's admission ([`ingest::admit()`]:
/// future timestamps, the receipt time, the local day).
///
/// # Errors
/// `forbidden` (a viewer), `worker_not_allowed`, `future_timestamp`,
/// `timestamp_out_of_range`: in a batch, the record's rejection.
fn admit(state: &AppState, session: &Session, arrival: Arrival) -> Result<NewPing, ApiError> {
    let (caller, engine) = (&session.caller, &session.engine);
    let Arrival {
        fix,
        worker,
        received,
        source,
        device,
    } = arrival;
    match caller.role {
        Role::Viewer => return Err(ApiError::ViewerCannotPost),
        Role::Device if !caller.workers.contains(&worker) => {
            return Err(ApiError::WorkerNotAllowed {
                token: caller.name.clone(),
                allowed: caller.workers.join(", "),
                worker,
            })
        }
        Role::Admin
            if caller.unit.is_some() && !session.scope().has_subject(&engine.fleet, &worker) =>
        {
            return Err(ApiError::WorkerOutsideUnit {
                worker,
                unit: caller.unit.clone().unwrap_or_default(),
                token: caller.name.clone(),
            });
        }
        _ => {}
    }
    let ping = fix.into_ping(WorkerId::new(&worker), received);
    Ok(new_ping(state, engine, ping, received, source, device)?)
}

/// A ping admitted ([`ingest::admit`]: future timestamps refused, the receipt time, the local
/// day) as it is handed to the store; every door that stores pings asks this.
pub(crate) fn new_ping(
    state: &AppState,
    engine: &super::Engine,
    ping: crate::model::Ping,
    received: crate::model::UnixMs,
    source: Source,
    device: Option<String>,
) -> Result<NewPing, ingest::AdmitError> {
    let tz = engine.assessor.tz;
    let admitted = ingest::admit(ping, received, state.config.max_future_s, tz)?;
    Ok(NewPing {
        ping: admitted.ping,
        day: admitted.day,
        source,
        device,
    })
}

/// Stores admitted pings (waiting for the commit) and counts them in the metrics.
pub(crate) async fn store_new(
    state: &Arc<AppState>,
    pings: Vec<NewPing>,
    source: Source,
) -> Result<Vec<Insert>, ApiError> {
    if pings.is_empty() {
        return Ok(Vec::new());
    }
    let store = Arc::clone(&state.store);
    let margin = (state.config.max_gap_s * 1000.0) as i64;
    let outcomes = tokio::task::spawn_blocking(move || store.insert_pings(pings, margin)).await??;
    let accepted = outcomes.iter().filter(|o| **o == Insert::Accepted).count();
    metrics::counter!("gridbeat_pings_accepted_total", "source" => source.as_str())
        .increment(accepted as u64);
    let repeats = outcomes.iter().filter(|o| **o == Insert::Repeat).count();
    let conflicts = outcomes.len() - accepted - repeats;
    if repeats + conflicts > 0 {
        metrics::counter!("gridbeat_pings_duplicate_total", "source" => source.as_str())
            .increment((repeats + conflicts) as u64);
    }
    if repeats > 0 {
        metrics::counter!("gridbeat_pings_repeat_total", "source" => source.as_str())
            .increment(repeats as u64);
    }
    if conflicts > 0 {
        metrics::counter!("gridbeat_pings_conflict_total", "source" => source.as_str())
            .increment(conflicts as u64);
    }
    state.wake.notify_one();
    Ok(outcomes)
}

pub(crate) fn count_rejection(source: Source, code: &'static str) {
    metrics::counter!("gridbeat_pings_rejected_total", "source" => source.as_str(), "reason" => code).increment(1);
}

/// A ping of DESIGN.md §5.1, as `POST /api/v1/pings` takes it. A record that is not one is
/// rejected on its own in the `200` answer (`rejected`), never the whole batch.
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // describes the wire format for the OpenAPI document
pub struct PingJson {
    /// The worker's id (required, except in a vehicle's ping, which gives `vehicle`).
    pub worker: Option<String>,
    /// A vehicle's id, in place of `worker`.
    pub vehicle: Option<String>,
    /// When the fix was taken: RFC 3339 with an offset, or Unix seconds or milliseconds.
    #[schema(value_type = String, example = "2026-10-08T09:30:00+08:00")]
    pub ts: serde_json::Value,
    /// Latitude, degrees.
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
    /// Longitude, degrees.
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: f64,
    /// Reported accuracy, metres.
    pub acc: Option<f64>,
    /// Speed, m/s.
    pub speed: Option<f64>,
    /// Bearing, degrees.
    pub bearing: Option<f64>,
    /// Altitude, metres.
    pub alt: Option<f64>,
    /// Battery, percent.
    pub batt: Option<f64>,
    /// The datum of `lat`/`lon`: `wgs84` (default), `gcj02` or `bd09`.
    #[schema(schema_with = super::openapi::crs)]
    pub crs: Option<String>,
    /// The client flags the fix as a mock location.
    pub mock: Option<bool>,
    /// A checkpoint's code: a check-in there.
    pub checkin: Option<String>,
    /// A vehicle's work state (brushes or spray on).
    pub work: Option<bool>,
    /// A washer's water pressure, MPa.
    pub pressure: Option<f64>,
    /// A vehicle's ignition (ACC).
    pub ignition: Option<bool>,
}

/// `POST /api/v1/pings`: a JSON array or NDJSON of §5.1 pings (gzip allowed).
#[utoipa::path(post, path = "/api/v1/pings", tag = "ingest", security(("bearer" = [])),
    request_body(description = "A JSON array of pings (`#/components/schemas/PingJson`, DESIGN.md §5.1), or one; or NDJSON, one ping a line. \
        Every record is judged on its own: one that is not a ping is listed in `rejected` of the 200 answer, so any JSON value is accepted here. \
        gzip (every member read) allowed; at most max_body_bytes before and after gzip.",
        content((serde_json::Value = "application/json"), (String = "application/x-ndjson"))),
    responses((status = 200, body = BatchAnswer, description = "good records stored even when others are rejected; a resent ping is a repeat and changes nothing")))]
pub async fn post_pings(
    State(state): State<Arc<AppState>>,
    session: Session,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if session.caller.role == Role::Viewer {
        return Err(ApiError::ViewerCannotPost);
    }
    let ndjson = match content_type(&headers).as_deref() {
        Some("application/json") => false,
        Some(
            "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/json-seq",
        ) => true,
        other => return Err(ApiError::UnsupportedMediaType(other.map(String::from))),
    };
    let limit = usize::try_from(state.config.server.max_body_bytes).unwrap_or(usize::MAX);
    let body = read_body(&state, &headers, body, limit).await?;
    let max = usize::try_from(state.config.server.max_batch).unwrap_or(usize::MAX);
    // Records are counted while they are decoded: the decoder stops at max_batch + 1.
    let records = wire::decode_pings_max(&body, ndjson, crate::model::Crs::Wgs84, max)?;
    let received = now_ms();
    let mut answer = BatchAnswer::default();
    let mut admitted = Vec::with_capacity(records.len());
    for (index, record) in records.into_iter().enumerate() {
        let result = record.map_err(ApiError::Wire).and_then(|fix| {
            let worker = fix.id.clone();
            admit(
                &state,
                &session,
                Arrival {
                    fix,
                    worker,
                    received,
                    source: Source::Json,
                    device: None,
                },
            )
        });
        match result {
            Ok(p) => admitted.push(p),
            Err(e) => {
                count_rejection(Source::Json, e.code());
                answer.rejected.push(Rejected {
                    index,
                    code: e.code().to_string(),
                    message: e.to_string(),
                });
            }
        }
    }
    for o in store_new(&state, admitted, Source::Json).await? {
        match o {
            Insert::Accepted => answer.accepted += 1,
            Insert::Repeat => {
                answer.duplicates += 1;
                answer.repeats += 1;
            }
            Insert::Conflict => {
                answer.duplicates += 1;
                answer.conflicts += 1;
            }
        }
    }
    Ok(axum::Json(answer).into_response())
}

/// The fields of an OsmAnd request (DESIGN.md §5.4), in the query string or a form body. The
/// device's token may come as the `token` parameter (security scheme `osmand_token`).
#[derive(Clone, Debug, serde::Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // describes the wire format for the OpenAPI document
pub struct OsmandFields {
    /// The device id (or `deviceid`): a row of devices.csv, or a worker's id
    /// (`400 unknown_device` otherwise).
    pub id: Option<String>,
    /// Latitude, degrees (or `location=lat,lon`); without a position the request is
    /// `400 no_position`.
    #[param(minimum = -90.0, maximum = 90.0)]
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: Option<f64>,
    /// Longitude, degrees.
    #[param(minimum = -180.0, maximum = 180.0)]
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: Option<f64>,
    /// Unix seconds (< 2^31) or milliseconds, ISO 8601 with an offset, or `yyyy-MM-dd
    /// HH:mm:ss` in the configured time zone; without it, the receipt time.
    pub timestamp: Option<String>,
    /// Speed, knots.
    pub speed: Option<f64>,
    /// Bearing, degrees (or `heading`).
    pub bearing: Option<f64>,
    /// Altitude, metres.
    pub altitude: Option<f64>,
    /// Accuracy, metres (or `hacc`).
    pub accuracy: Option<f64>,
    /// Battery, percent.
    pub batt: Option<f64>,
    /// The client flags the fix as a mock location.
    pub mock: Option<bool>,
    /// A vehicle tracker's work state (brushes or spray on).
    pub work: Option<bool>,
    /// A washer's water pressure, MPa.
    pub pressure: Option<f64>,
    /// A vehicle tracker's ignition.
    pub ignition: Option<bool>,
}

/// `GET|POST /osmand` (and `/` on `--osmand-listen`): the OsmAnd protocol.
#[utoipa::path(get, path = "/osmand", tag = "ingest",
    security(("bearer" = []), ("osmand_token" = [])),
    params(OsmandFields),
    responses((status = 200, description = "stored (empty body)")))]
pub async fn osmand(
    State(state): State<Arc<AppState>>,
    OsmandFix { session, fix }: OsmandFix,
) -> Result<Response, ApiError> {
    let device = fix.id.clone();
    store_fix(
        &state,
        &session,
        fix,
        &device,
        Some(device.clone()),
        Source::Osmand,
    )
    .await?;
    Ok(StatusCode::OK.into_response())
}

/// An OsmAnd request, authenticated once, and its fix. The token is the bearer header, the
/// query's `token`, or a form or JSON body's own: the caller is authenticated before the body
/// whenever the token is known without it (a bearer header, the query's token, or a fix in
/// the query, when the body is not read at all). Only a request whose token may sit in its
/// body is read first, and then at most [`MAX_FIX_BODY_BYTES`]; when it cannot be decoded it
/// is still answered 401 unless it carries a token the server knows (a form body's own
/// `token` counts).
pub struct OsmandFix {
    /// The caller and the engine of the request.
    pub session: Session,
    /// The decoded fix.
    pub fix: Fix,
}

impl axum::extract::FromRequest<Arc<AppState>> for OsmandFix {
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &Arc<AppState>,
    ) -> Result<OsmandFix, ApiError> {
        let (parts, body) = request.into_parts();
        let (headers, query) = (&parts.headers, parts.uri.query());
        let engine = state.engine();
        let (query_token, fix_in_query) = wire::osmand_query(query);
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer ") || v.starts_with("bearer "));
        let early = if fix_in_query || bearer || query_token.is_some() || state.tokens.is_empty() {
            Some(authenticate(state, headers, query_token.as_deref())?)
        } else {
            None
        };
        let body = if fix_in_query {
            Bytes::new()
        } else {
            read_body(state, headers, body, MAX_FIX_BODY_BYTES).await?
        };
        let ct = content_type(headers);
        let (fix, token) =
            match wire::decode_osmand(query, ct.as_deref(), &body, engine.assessor.tz) {
                Ok(decoded) => decoded,
                Err(e) => {
                    if early.is_none() {
                        let form_token = std::str::from_utf8(&body)
                            .ok()
                            .and_then(|b| wire::osmand_query(Some(b)).0);
                        authenticate(state, headers, form_token.as_deref())?;
                    }
                    count_rejection(Source::Osmand, e.code);
                    return Err(ApiError::Wire(e));
                }
            };
        let caller = match early {
            Some(c) => c,
            None => authenticate(state, headers, token.as_deref())?,
        };
        Ok(OsmandFix {
            session: Session { caller, engine },
            fix,
        })
    }
}

/// `POST /osmand`: the OsmAnd protocol with the fields in a form body, or the JSON body of
/// Traccar Client 9.x (the same handler as `GET`).
#[utoipa::path(post, path = "/osmand", tag = "ingest",
    security(("bearer" = []), ("osmand_token" = [])),
    params(OsmandFields),
    request_body(description = "the fields as a form, or Traccar Client 9.x's JSON (`{\"location\": {\"timestamp\", \"coords\": {...}, ...}, \"device_id\": ...}`); at most 64 KiB (also after gzip)",
        content((OsmandFields = "application/x-www-form-urlencoded"), (serde_json::Value = "application/json"))),
    responses((status = 200, description = "stored (empty body)")))]
pub async fn osmand_post(
    state: State<Arc<AppState>>,
    request: OsmandFix,
) -> Result<Response, ApiError> {
    osmand(state, request).await
}

/// Stores one fix of a device protocol (OsmAnd, OwnTracks): the device's worker, the checks
/// of [`admit`] (403 for a worker the caller may not post for, else 400), the commit.
async fn store_fix(
    state: &Arc<AppState>,
    session: &Session,
    fix: Fix,
    device: &str,
    kept_device: Option<String>,
    source: Source,
) -> Result<(), ApiError> {
    let refuse = |e: ApiError| {
        count_rejection(source, e.code());
        e
    };
    let worker = session
        .engine
        .worker_of_device(device)
        .ok_or_else(|| refuse(ApiError::UnknownDevice(device.to_string())))?;
    let arrival = Arrival {
        fix,
        worker,
        received: now_ms(),
        source,
        device: kept_device,
    };
    let p = admit(state, session, arrival).map_err(refuse)?;
    store_new(state, vec![p], source).await?;
    Ok(())
}

/// The OwnTracks user and password: `X-Limit-U`, else Basic auth.
fn owntracks_user(headers: &HeaderMap) -> (Option<String>, Option<String>) {
    use base64::Engine as _;
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
        });
    let user = headers
        .get("x-limit-u")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| basic.as_ref().map(|(u, _)| u.clone()));
    (user, basic.map(|(_, p)| p))
}

/// `POST /owntracks`: OwnTracks HTTP mode.
#[utoipa::path(post, path = "/owntracks", tag = "ingest",
    security(("owntracks_basic" = []), ("bearer" = [])),
    request_body(content = serde_json::Value, description = "an OwnTracks JSON message (`_type: location` is stored; other types are accepted and ignored), at most 64 KiB (also after gzip); the device is the Basic-auth user or `X-Limit-U`", content_type = "application/json"),
    responses((status = 200, description = "`[]`: stored, or a message type that carries no position", body = Vec<serde_json::Value>)))]
pub async fn owntracks(
    State(state): State<Arc<AppState>>,
    OwnTracksSession { session, user }: OwnTracksSession,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(&state, &headers, body, MAX_FIX_BODY_BYTES).await?;
    let decoded = wire::decode_owntracks(&body, user.as_deref()).map_err(|e| {
        count_rejection(Source::Owntracks, e.code);
        ApiError::Wire(e)
    })?;
    let Some(fix) = decoded else {
        return Ok(axum::Json(serde_json::json!([])).into_response());
    };
    let device = fix.id.clone();
    let phone = headers
        .get("x-limit-d")
        .and_then(|v| v.to_str().ok())
        .map_or_else(
            || device.clone(),
            |d| format!("{device}/{}", crate::ingest::row::shown(d)),
        );
    store_fix(
        &state,
        &session,
        fix,
        &device,
        Some(phone),
        Source::Owntracks,
    )
    .await?;
    Ok(axum::Json(serde_json::json!([])).into_response())
}

/// An OwnTracks request's session, authenticated before its body: the bearer token, else the
/// Basic-auth password; and the device, the user of `X-Limit-U` or Basic auth.
pub struct OwnTracksSession {
    /// The caller and the engine of the request.
    pub session: Session,
    /// The device id.
    pub user: Option<String>,
}

impl axum::extract::FromRequestParts<Arc<AppState>> for OwnTracksSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<OwnTracksSession, ApiError> {
        let (user, password) = owntracks_user(&parts.headers);
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer "));
        let token = if bearer { None } else { password.as_deref() };
        let caller = authenticate(state, &parts.headers, token)?;
        Ok(OwnTracksSession {
            session: Session::new(state, caller),
            user,
        })
    }
}
