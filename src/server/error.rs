//! The HTTP errors of DESIGN.md §5.4: `{"code": "snake_case_code", "message": "what to fix"}`
//! with the right status; a 5xx says only "internal error" and the cause goes to the log with
//! the request id.
//!
//! [`ApiError`] is the one list of what the HTTP door answers when it does not serve: one
//! variant per cause, its status and code each given by one `match`, the engine's typed
//! errors wrapped whole. The OpenAPI document takes every error code and status it lists from
//! [`ApiError::answers`].

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::assess::AssessError;
use crate::ingest::gzip::GunzipError;
use crate::ingest::row::shown;
use crate::ingest::wire::{BatchError, WireError};
use crate::layers::LayerError;
use crate::report::ReportError;
use crate::store::{RegistryFile, StoreError};
use crate::tiles::TileError;

/// The body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable snake_case code clients match on.
    pub code: String,
    /// What is wrong and what to fix.
    pub message: String,
}

/// Why the HTTP door does not serve a request. The `Display` text is the message the client
/// reads (a 5xx other than the store's says only "internal error").
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    // ---- Who is calling (DESIGN.md §7)
    /// No token on a server that needs one.
    #[error("this server needs a token: Authorization: Bearer <token>")]
    MissingToken,
    /// A token the server does not know.
    #[error("unknown token")]
    UnknownToken,
    /// The token is over its rate.
    #[error("token {token} is over its rate; retry in {wait_s} s")]
    RateLimited {
        /// The token's name.
        token: String,
        /// Seconds until it may ask again (`Retry-After`).
        wait_s: u64,
    },

    // ---- What the caller may do
    /// A device token asked to read.
    #[error("a device token may only post pings; use a viewer or admin token to read")]
    DeviceCannotRead,
    /// The registry changed or read by a token that is not an admin of the whole city.
    #[error("changing the registry needs an admin token for the whole city")]
    NotRegistryAdmin,
    /// `/metrics` asked by a token that is not an admin.
    #[error("/metrics needs an admin token")]
    NotMetricsAdmin,
    /// A viewer token posted pings.
    #[error("a viewer token cannot post pings")]
    ViewerCannotPost,
    /// A unit or worker outside the token's scope.
    #[error("{what} is outside the scope of token {token} (unit {unit})")]
    OutsideScope {
        /// What was asked for, e.g. `unit 430102`.
        what: String,
        /// The token's name.
        token: String,
        /// The token's unit (`-`: none).
        unit: String,
    },
    /// A device token posted for a worker it does not report for.
    #[error("token {token} may post only for {allowed}, not for worker {worker}")]
    WorkerNotAllowed {
        /// The token's name.
        token: String,
        /// The workers it may post for, joined.
        allowed: String,
        /// The worker of the ping.
        worker: String,
    },
    /// An admin token of a unit posted for a worker outside that unit.
    #[error("worker {worker} is outside the unit {unit} of token {token}")]
    WorkerOutsideUnit {
        /// The worker of the ping.
        worker: String,
        /// The token's unit.
        unit: String,
        /// The token's name.
        token: String,
    },

    // ---- Nothing there
    /// No route matches.
    #[error("no such endpoint; see /api/v1/openapi.json")]
    NoEndpoint,
    /// No unit of that code.
    #[error("no unit {0}")]
    NoUnit(String),
    /// No worker of that id.
    #[error("no worker {0}")]
    NoWorker(String),
    /// The worker has no summary of that day.
    #[error("worker {worker} has no figures for {day}")]
    NoFigures {
        /// The worker.
        worker: String,
        /// The day as asked.
        day: String,
    },
    /// No map layer of that name.
    #[error("no layer {0:?}; the layers are {names}", names = layer_names())]
    NoLayer(String),
    /// A layer that is not cut into tiles.
    #[error("layer {0} has no tiles; tiled layers: {names}", names = crate::tiles::TILED_LAYERS.join(", "))]
    NotTiled(String),
    /// A TileJSON path that is not `LAYER.json`.
    #[error("no such file {0}; try /tiles/grids.json")]
    NoTileJson(String),
    /// No registry file of that name.
    #[error("no registry file {:?}: expected grids, workers, checkpoints, devices, vehicles or routes", shown(.0))]
    NoRegistryFile(String),
    /// A registry file never loaded.
    #[error("no {0} file has been loaded yet")]
    RegistryFileNotLoaded(String),
    /// No file of the map page of that name.
    #[error("no file {dir}{file}; the map page is at /")]
    NoAsset {
        /// The folder asked in.
        dir: &'static str,
        /// The file asked for (its first 100 characters).
        file: String,
    },

    // ---- A parameter that cannot be used
    /// A worker-day's day (path) that is not `YYYY-MM-DD`.
    #[error("day {0:?} is not YYYY-MM-DD")]
    BadDay(String),
    /// A day of a layer query (`day`, `from`, `to`) that is not `YYYY-MM-DD`.
    #[error("{field}={text:?}: expected YYYY-MM-DD")]
    BadQueryDay {
        /// The parameter.
        field: &'static str,
        /// Its text.
        text: String,
    },
    /// A worker-day's format that is neither `json` nor `geojson`.
    #[error("format {:?}: expected {formats}", shown(.0), formats = super::read::DAY_FORMATS.join(" or "))]
    BadDayFormat(String),
    /// A report's month (path) that is not `YYYY-MM`.
    #[error("month {text:?}: {reason}")]
    BadMonth {
        /// The text.
        text: String,
        /// Why it is not a month.
        reason: String,
    },
    /// A layer query's `month` that is not `YYYY-MM`.
    #[error("month={text:?}: {reason}")]
    BadQueryMonth {
        /// The text.
        text: String,
        /// Why it is not a month.
        reason: String,
    },
    /// A report's `format` or `lang` that is not one of the report's.
    #[error(transparent)]
    Report(ReportError),
    /// A report's `table` that is not one of the CSV tables.
    #[error("table {:?}: expected {tables}", shown(.0), tables = super::read::CSV_TABLES.join(", "))]
    BadTable(String),
    /// A layer query giving more than one of `day`, `month`, `from`&`to`.
    #[error("give one of day, month, or from and to")]
    PeriodAmbiguous,
    /// A layer query giving `from` or `to` alone.
    #[error("from and to go together")]
    PeriodHalf,
    /// `from` and `to` that do not make a period.
    #[error("{0}")]
    BadPeriod(String),
    /// A `bbox` that is not four numbers.
    #[error("bbox={0:?}: expected w,s,e,n in degrees")]
    BboxNotNumbers(String),
    /// A `bbox` out of order or out of range.
    #[error("bbox={0:?}: expected w,s,e,n with w <= e, s <= n, in range")]
    BboxOutOfRange(String),
    /// A `crs` that is not a coordinate system.
    #[error("crs={0:?}: expected wgs84, gcj02 or bd09")]
    BadCrs(String),
    /// A `crs` tiles are not cut in.
    #[error(
        "crs={:?}: tiles are cut in {tile_crs} (Web Mercator over WGS84, or over \
         GCJ-02 for AMap and Tencent basemaps); Baidu's tiles follow their own \
         grid: use the GeoJSON layers with crs=bd09",
        shown(.0),
        tile_crs = super::openapi::TILE_CRS.join(" or ")
    )]
    NotTileCrs(String),
    /// A tile that cannot be named or cut.
    #[error(transparent)]
    Tile(TileError),
    /// A layer that cannot be built from its filter.
    #[error(transparent)]
    Layer(LayerError),
    /// An assessment that cannot be made.
    #[error(transparent)]
    Assess(AssessError),

    // ---- A body that cannot be read
    /// The body is over the limit (announced, counted, or after gzip).
    #[error("the request body is over {limit} bytes: send smaller batches")]
    BodyTooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// A `Content-Encoding` other than gzip.
    #[error("Content-Encoding {} is not supported: send gzip or plain", shown(.0))]
    UnsupportedEncoding(String),
    /// The transport failed mid-body (malformed chunks, a cut connection).
    #[error("the request body cannot be read to its end: {0}")]
    BrokenBody(axum::Error),
    /// The body did not arrive in time.
    #[error("the request body did not arrive within {s} s")]
    BodyTimeout {
        /// `[server] body_timeout_s`.
        s: u64,
    },
    /// A gzip body that cannot be read to its end.
    #[error("the gzip body cannot be read to its end, so none of it is taken: {0}")]
    BadGzip(GunzipError),
    /// A ping batch whose `Content-Type` is not JSON or NDJSON.
    #[error(
        "Content-Type {} is not accepted: send application/json (an array) or application/x-ndjson",
        .0.as_deref().unwrap_or("(none)")
    )]
    UnsupportedMediaType(Option<String>),
    /// A registry file that is not UTF-8.
    #[error("the {0} file must be UTF-8 text")]
    NotUtf8(String),
    /// A device protocol's request, or a batch, that cannot be read (the wire's code).
    #[error("{}", .0.message)]
    Wire(WireError),
    /// A batch of more records than `[server] max_batch`.
    #[error("more than {max} records in one batch: split the batch")]
    TooManyRecords {
        /// `[server] max_batch`.
        max: usize,
    },

    // ---- A ping the server will not store
    /// No worker reports with this device.
    #[error("no worker has device {:?}: add it to devices.csv (device,worker)", shown(.0))]
    UnknownDevice(String),
    /// A timestamp too far after the receipt time.
    #[error("ts {ts} is {ahead_s:.0} s after the server received it (at most {max_s} s): check the phone's clock")]
    FutureTimestamp {
        /// The timestamp, RFC 3339.
        ts: String,
        /// How far after the receipt time, seconds.
        ahead_s: f64,
        /// `max_future_s`.
        max_s: f64,
    },
    /// A timestamp no calendar can hold.
    #[error("ts {0} is out of range")]
    TimestampOutOfRange(i64),

    // ---- The registry
    /// An uploaded registry file with faults: nothing changed.
    #[error(
        "{}.{}: {} fault{}; nothing was changed",
        file.as_str(),
        if matches!(file, RegistryFile::Workers | RegistryFile::Devices | RegistryFile::Vehicles) { "csv" } else { "geojson" },
        faults.len(),
        if faults.len() == 1 { "" } else { "s" }
    )]
    InvalidRegistry {
        /// The file.
        file: RegistryFile,
        /// Every fault, each naming its feature or line.
        faults: Vec<String>,
    },

    // ---- The server
    /// The store failed: a full disk (507) or a store that cannot be written (503) is said
    /// with `Retry-After`; any other failure is a logged 500.
    #[error("{}", store_message(.0))]
    Store(StoreError),
    /// The store is not ready (`/healthz`): the reason is the code.
    #[error("{message}")]
    NotReady {
        /// `disk_full`, `read_only`, `io_error`, `corrupt` or `unavailable`.
        reason: &'static str,
        /// What the store reported.
        message: String,
    },
    /// A read that took longer than `[server] request_timeout_s`.
    #[error("the request took over {s} s and was stopped; retry later")]
    DeadlineExceeded {
        /// The deadline, seconds.
        s: u64,
    },
    /// A failure that is the server's, not the request's: logged, never shown.
    #[error("internal error")]
    Internal(String),
    /// An answer of the framework that is not the contract's JSON (a query or path that does
    /// not deserialize, a wrong method, …): its status kept, a code for that status.
    #[error("{message}")]
    Framework {
        /// The framework's status.
        status: StatusCode,
        /// The code of that status.
        code: &'static str,
        /// What the framework said (cut), or the status's reason.
        message: String,
    },
}

/// The names of the map layers, joined.
fn layer_names() -> String {
    let names: Vec<&str> = crate::layers::Layer::ALL.iter().map(|l| l.name()).collect();
    names.join(", ")
}

/// The message of a store failure.
fn store_message(e: &StoreError) -> &'static str {
    match e {
        StoreError::Full { .. } => {
            "the server's disk is full: nothing of this request was stored; send it again later"
        }
        StoreError::Unwritable { .. } | StoreError::Corrupt { .. } | StoreError::Closed => {
            "the server's store cannot be written now: nothing of this request was stored; send it again later"
        }
        StoreError::Unavailable { .. } => {
            "the server's database is unavailable: nothing of this request was stored; send it again later"
        }
        _ => "internal error",
    }
}

impl ApiError {
    /// The status of the answer.
    pub fn status(&self) -> StatusCode {
        use ApiError as E;
        match self {
            E::MissingToken | E::UnknownToken => StatusCode::UNAUTHORIZED,
            E::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            E::DeviceCannotRead
            | E::NotRegistryAdmin
            | E::NotMetricsAdmin
            | E::ViewerCannotPost
            | E::OutsideScope { .. }
            | E::WorkerNotAllowed { .. }
            | E::WorkerOutsideUnit { .. } => StatusCode::FORBIDDEN,
            E::NoEndpoint
            | E::NoUnit(_)
            | E::NoWorker(_)
            | E::NoFigures { .. }
            | E::NoLayer(_)
            | E::NotTiled(_)
            | E::NoTileJson(_)
            | E::NoRegistryFile(_)
            | E::RegistryFileNotLoaded(_)
            | E::NoAsset { .. }
            | E::Layer(LayerError::UnknownUnit(_) | LayerError::UnknownWorker(_)) => {
                StatusCode::NOT_FOUND
            }
            E::BadDay(_)
            | E::BadQueryDay { .. }
            | E::BadDayFormat(_)
            | E::BadMonth { .. }
            | E::BadQueryMonth { .. }
            | E::Report(_)
            | E::BadTable(_)
            | E::PeriodAmbiguous
            | E::PeriodHalf
            | E::BadPeriod(_)
            | E::BboxNotNumbers(_)
            | E::BboxOutOfRange(_)
            | E::BadCrs(_)
            | E::NotTileCrs(_)
            | E::Tile(_)
            | E::Layer(_)
            | E::Assess(_)
            | E::BrokenBody(_)
            | E::BadGzip(_)
            | E::NotUtf8(_)
            | E::Wire(_)
            | E::UnknownDevice(_)
            | E::FutureTimestamp { .. }
            | E::TimestampOutOfRange(_) => StatusCode::BAD_REQUEST,
            E::BodyTooLarge { .. } | E::TooManyRecords { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            E::UnsupportedEncoding(_) | E::UnsupportedMediaType(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            E::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            E::InvalidRegistry { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            E::Store(StoreError::Full { .. }) => StatusCode::INSUFFICIENT_STORAGE,
            E::Store(
                StoreError::Unwritable { .. }
                | StoreError::Corrupt { .. }
                | StoreError::Closed
                | StoreError::Unavailable { .. },
            )
            | E::NotReady { .. }
            | E::DeadlineExceeded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            E::Store(_) | E::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            E::Framework { status, .. } => *status,
        }
    }

    /// The stable snake_case code of the answer.
    pub fn code(&self) -> &'static str {
        use ApiError as E;
        match self {
            E::MissingToken | E::UnknownToken => "unauthorized",
            E::RateLimited { .. } => "rate_limited",
            E::DeviceCannotRead
            | E::NotRegistryAdmin
            | E::NotMetricsAdmin
            | E::ViewerCannotPost
            | E::OutsideScope { .. } => "forbidden",
            E::WorkerNotAllowed { .. } | E::WorkerOutsideUnit { .. } => "worker_not_allowed",
            E::NoEndpoint
            | E::NoUnit(_)
            | E::NoWorker(_)
            | E::NoFigures { .. }
            | E::NoLayer(_)
            | E::NotTiled(_)
            | E::NoTileJson(_)
            | E::NoRegistryFile(_)
            | E::RegistryFileNotLoaded(_)
            | E::NoAsset { .. }
            | E::Layer(LayerError::UnknownUnit(_) | LayerError::UnknownWorker(_)) => "not_found",
            E::BadDay(_) | E::BadQueryDay { .. } => "bad_day",
            E::BadDayFormat(_) | E::Report(ReportError::UnknownFormat(_)) => "bad_format",
            E::Report(ReportError::UnknownLang(_)) => "bad_lang",
            E::BadMonth { .. } | E::BadQueryMonth { .. } => "bad_month",
            E::BadTable(_) => "bad_table",
            E::PeriodAmbiguous | E::PeriodHalf | E::BadPeriod(_) => "bad_period",
            E::BboxNotNumbers(_) | E::BboxOutOfRange(_) => "bad_bbox",
            E::BadCrs(_) | E::NotTileCrs(_) => "bad_crs",
            E::Tile(e) => e.code(),
            E::Layer(e) => e.code(),
            E::Assess(e) => e.code(),
            E::BodyTooLarge { .. } => "body_too_large",
            E::UnsupportedEncoding(_) => "unsupported_encoding",
            E::BrokenBody(_) => "bad_body",
            E::BodyTimeout { .. } => "request_timeout",
            E::BadGzip(_) => "bad_gzip",
            E::UnsupportedMediaType(_) => "unsupported_media_type",
            E::NotUtf8(_) => "bad_encoding",
            E::Wire(e) => e.code,
            E::TooManyRecords { .. } => "too_many_records",
            E::UnknownDevice(_) => "unknown_device",
            E::FutureTimestamp { .. } => "future_timestamp",
            E::TimestampOutOfRange(_) => "timestamp_out_of_range",
            E::InvalidRegistry { .. } => "invalid_registry",
            E::Store(StoreError::Full { .. }) => "insufficient_storage",
            E::Store(
                StoreError::Unwritable { .. }
                | StoreError::Corrupt { .. }
                | StoreError::Closed
                | StoreError::Unavailable { .. },
            ) => "store_unavailable",
            E::NotReady { reason, .. } => reason,
            E::DeadlineExceeded { .. } => "deadline_exceeded",
            E::Store(_) | E::Internal(_) => "internal",
            E::Framework { code, .. } => code,
        }
    }

    /// Seconds a client should wait before it asks again (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { wait_s, .. } => Some(*wait_s),
            ApiError::Store(StoreError::Unavailable { .. }) => Some(5),
            ApiError::Store(_) if self.status() != StatusCode::INTERNAL_SERVER_ERROR => Some(30),
            ApiError::NotReady { .. } => Some(30),
            ApiError::DeadlineExceeded { .. } => Some(5),
            _ => None,
        }
    }

    /// A failure of the server: the cause is logged (with the request's span), the client
    /// reads "internal error".
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(cause.to_string())
    }

    /// The faults of a registry upload, each naming its feature or line.
    pub fn faults(&self) -> &[String] {
        match self {
            ApiError::InvalidRegistry { faults, .. } => faults,
            _ => &[],
        }
    }

    /// The cause of a 500, for the log (never for the client).
    pub fn cause(&self) -> Option<String> {
        match self {
            ApiError::Internal(cause) => Some(cause.clone()),
            ApiError::Store(e) if self.status() == StatusCode::INTERNAL_SERVER_ERROR => {
                Some(e.to_string())
            }
            _ => None,
        }
    }

    /// One answer of every cause: the list the OpenAPI document takes its codes and statuses
    /// from ([`ApiError::answers`]). The wrapped errors that answer different codes appear
    /// once per code.
    pub fn examples() -> Vec<ApiError> {
        use ApiError as E;
        let s = String::new;
        let wire = |code: &'static str| E::Wire(WireError { code, message: s() });
        let framework = |status: StatusCode, code: &'static str| E::Framework {
            status,
            code,
            message: s(),
        };
        let mut all = vec![
            E::MissingToken,
            E::UnknownToken,
            E::RateLimited {
                token: s(),
                wait_s: 1,
            },
            E::DeviceCannotRead,
            E::NotRegistryAdmin,
            E::NotMetricsAdmin,
            E::ViewerCannotPost,
            E::OutsideScope {
                what: s(),
                token: s(),
                unit: s(),
            },
            E::WorkerNotAllowed {
                token: s(),
                allowed: s(),
                worker: s(),
            },
            E::WorkerOutsideUnit {
                worker: s(),
                unit: s(),
                token: s(),
            },
            E::NoEndpoint,
            E::NoUnit(s()),
            E::NoWorker(s()),
            E::NoFigures {
                worker: s(),
                day: s(),
            },
            E::NoLayer(s()),
            E::NotTiled(s()),
            E::NoTileJson(s()),
            E::NoRegistryFile(s()),
            E::RegistryFileNotLoaded(s()),
            E::NoAsset {
                dir: "/",
                file: s(),
            },
            E::BadDay(s()),
            E::BadQueryDay {
                field: "day",
                text: s(),
            },
            E::BadDayFormat(s()),
            E::BadMonth {
                text: s(),
                reason: s(),
            },
            E::BadQueryMonth {
                text: s(),
                reason: s(),
            },
            E::Report(ReportError::UnknownFormat(s())),
            E::Report(ReportError::UnknownLang(s())),
            E::BadTable(s()),
            E::PeriodAmbiguous,
            E::PeriodHalf,
            E::BadPeriod(s()),
            E::BboxNotNumbers(s()),
            E::BboxOutOfRange(s()),
            E::BadCrs(s()),
            E::NotTileCrs(s()),
            E::Tile(TileError::NotANumber {
                field: "z",
                value: s(),
            }),
            E::Tile(TileError::ZoomOutOfRange { z: 0 }),
            E::Tile(TileError::TileOutOfRange { z: 0, x: 0, y: 0 }),
            E::Tile(TileError::NotACollection { reason: s() }),
            E::Tile(TileError::BadGeometry {
                index: 0,
                reason: s(),
            }),
            E::Tile(TileError::Encoder { reason: s() }),
            E::Layer(LayerError::UnknownUnit(s())),
            E::Layer(LayerError::UnknownWorker(s())),
            E::Layer(LayerError::BadBbox {
                bbox: [0.0; 4],
                reason: "",
            }),
            E::Layer(LayerError::OutOfRange {
                name: "zoom",
                value: 0.0,
                min: 0.0,
                max: 0.0,
            }),
            E::Assess(AssessError::UnknownUnit { code: s() }),
            E::Assess(AssessError::BadSummary { reason: s() }),
            E::Assess(AssessError::UnknownCode {
                what: "grid",
                code: s(),
            }),
            E::Assess(AssessError::Aggregation { reason: s() }),
            E::BodyTooLarge { limit: 0 },
            E::UnsupportedEncoding(s()),
            E::BodyTimeout { s: 0 },
            E::BadGzip(GunzipError::Corrupt { reason: s() }),
            E::UnsupportedMediaType(None),
            E::NotUtf8(s()),
            E::TooManyRecords { max: 0 },
            E::UnknownDevice(s()),
            E::FutureTimestamp {
                ts: s(),
                ahead_s: 0.0,
                max_s: 0.0,
            },
            E::TimestampOutOfRange(0),
            E::InvalidRegistry {
                file: RegistryFile::Grids,
                faults: Vec::new(),
            },
            E::Store(StoreError::Full { path: s() }),
            E::Store(StoreError::Unwritable {
                path: s(),
                reason: s(),
            }),
            E::Store(StoreError::Closed),
            E::DeadlineExceeded { s: 0 },
            E::Internal(s()),
        ];
        // A transport failure mid-body: `axum::Error` has no public constructor of its own.
        all.push(E::BrokenBody(axum::Error::new(std::io::Error::other(""))));
        // The codes of the wire decoders (`crate::ingest::wire`) and of the row rules
        // (`crate::ingest::row::RecordFault`) a device protocol's request is refused with.
        all.extend(
            [
                "bad_json",
                "empty_body",
                "not_an_object",
                "bad_crs",
                "missing_device",
                "no_position",
                "bad_message",
                "duplicate_parameter",
                "missing_field",
                "bad_timestamp",
                "timestamp_out_of_range",
                "bad_number",
                "bad_position",
                "bad_bool",
                "bad_encoding",
                "wrong_type",
                "too_long",
                "unreadable_row",
            ]
            .map(wire),
        );
        // The reasons of `crate::store::Readiness::NotReady`.
        all.extend(
            [
                "disk_full",
                "read_only",
                "io_error",
                "corrupt",
                "unavailable",
            ]
            .map(|reason| E::NotReady {
                reason,
                message: s(),
            }),
        );
        // What `json_errors` names the framework's own answers.
        all.extend([
            framework(StatusCode::BAD_REQUEST, "bad_query"),
            framework(StatusCode::BAD_REQUEST, "bad_path"),
            framework(StatusCode::BAD_REQUEST, "bad_request"),
            framework(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            framework(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
        ]);
        all
    }

    /// Every code the door answers with its status, in the order of [`ApiError::examples`],
    /// each once.
    pub fn answers() -> Vec<(&'static str, StatusCode)> {
        let mut out: Vec<(&'static str, StatusCode)> = Vec::new();
        for e in ApiError::examples() {
            let answer = (e.code(), e.status());
            if !out.contains(&answer) {
                out.push(answer);
            }
        }
        out
    }

    /// The status of a code ([`ApiError::answers`]), if the door answers it.
    pub fn status_of(code: &str) -> Option<StatusCode> {
        ApiError::answers()
            .into_iter()
            .find(|(c, _)| *c == code)
            .map(|(_, s)| s)
    }
}

/// A ping the engine does not admit, in this door's words (the codes are the engine's).
impl From<crate::ingest::AdmitError> for ApiError {
    fn from(e: crate::ingest::AdmitError) -> ApiError {
        use crate::ingest::AdmitError as A;
        match e {
            A::Future { ts, ahead_s, max_s } => ApiError::FutureTimestamp {
                ts: crate::model::format_timestamp(ts),
                ahead_s,
                max_s,
            },
            A::OutOfRange(ts) => ApiError::TimestampOutOfRange(ts),
        }
    }
}

/// `From` for each engine error wrapped whole: the variant's status and code come from the
/// error's own kind ([`ApiError::status`], [`ApiError::code`]).
macro_rules! wrap_engine_errors {
    ($($error:ty => $variant:ident),* $(,)?) => {
        $(impl From<$error> for ApiError {
            fn from(e: $error) -> ApiError {
                ApiError::$variant(e)
            }
        })*
    };
}

wrap_engine_errors! {
    StoreError => Store,
    LayerError => Layer,
    TileError => Tile,
    AssessError => Assess,
    ReportError => Report,
    WireError => Wire,
}

impl From<BatchError> for ApiError {
    fn from(e: BatchError) -> ApiError {
        match e {
            BatchError::Unreadable(e) => ApiError::Wire(e),
            BatchError::TooManyRecords { max } => ApiError::TooManyRecords { max },
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    /// Blocking work that panicked or was cancelled.
    fn from(e: tokio::task::JoinError) -> ApiError {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Some(cause) = self.cause() {
            tracing::error!(cause = %cause, "internal error");
        }
        // A last bound on what an answer can echo: each message is cut (the values inside it
        // are cut where they are quoted already).
        let message = cut(&self.to_string(), 1024);
        let mut body = serde_json::json!({"code": self.code(), "message": message});
        if !self.faults().is_empty() {
            let faults: Vec<String> = self.faults().iter().map(|f| cut(f, 512)).collect();
            body["faults"] = serde_json::json!(faults);
        }
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after() {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut().insert("retry-after", v);
            }
        }
        resp
    }
}

/// `text` cut to `max` characters and `…`.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_status() {
        let answers = ApiError::answers();
        for (code, status) in &answers {
            let others: Vec<_> = answers
                .iter()
                .filter(|(c, s)| c == code && s != status)
                .collect();
            assert!(others.is_empty(), "{code} is {status} and {others:?}");
            assert!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code:?} is not snake_case"
            );
        }
        assert_eq!(
            ApiError::status_of("bad_day"),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(ApiError::status_of("no_such_code"), None);
    }

    #[test]
    fn every_variant_has_an_example() {
        // The match has no wildcard: a new variant does not compile until it is named here,
        // and the count below makes sure it is among the examples too.
        let kind = |e: &ApiError| -> usize {
            use ApiError as E;
            match e {
                E::MissingToken => 0,
                E::UnknownToken => 1,
                E::RateLimited { .. } => 2,
                E::DeviceCannotRead => 3,
                E::NotRegistryAdmin => 4,
                E::NotMetricsAdmin => 5,
                E::ViewerCannotPost => 6,
                E::OutsideScope { .. } => 7,
                E::WorkerNotAllowed { .. } => 8,
                E::WorkerOutsideUnit { .. } => 9,
                E::NoEndpoint => 10,
                E::NoUnit(_) => 11,
                E::NoWorker(_) => 12,
                E::NoFigures { .. } => 13,
                E::NoLayer(_) => 14,
                E::NotTiled(_) => 15,
                E::NoTileJson(_) => 16,
                E::NoRegistryFile(_) => 17,
                E::RegistryFileNotLoaded(_) => 18,
                E::NoAsset { .. } => 19,
                E::BadDay(_) => 20,
                E::BadQueryDay { .. } => 21,
                E::BadDayFormat(_) => 22,
                E::BadMonth { .. } => 23,
                E::BadQueryMonth { .. } => 24,
                E::Report(_) => 25,
                E::BadTable(_) => 26,
                E::PeriodAmbiguous => 27,
                E::PeriodHalf => 28,
                E::BadPeriod(_) => 29,
                E::BboxNotNumbers(_) => 30,
                E::BboxOutOfRange(_) => 31,
                E::BadCrs(_) => 32,
                E::NotTileCrs(_) => 33,
                E::Tile(_) => 34,
                E::Layer(_) => 35,
                E::Assess(_) => 36,
                E::BodyTooLarge { .. } => 37,
                E::UnsupportedEncoding(_) => 38,
                E::BrokenBody(_) => 39,
                E::BodyTimeout { .. } => 40,
                E::BadGzip(_) => 41,
                E::UnsupportedMediaType(_) => 42,
                E::NotUtf8(_) => 43,
                E::Wire(_) => 44,
                E::TooManyRecords { .. } => 45,
                E::UnknownDevice(_) => 46,
                E::FutureTimestamp { .. } => 47,
                E::TimestampOutOfRange(_) => 48,
                E::InvalidRegistry { .. } => 49,
                E::Store(_) => 50,
                E::NotReady { .. } => 51,
                E::DeadlineExceeded { .. } => 52,
                E::Internal(_) => 53,
                E::Framework { .. } => 54,
            }
        };
        let seen: std::collections::BTreeSet<usize> =
            ApiError::examples().iter().map(kind).collect();
        assert_eq!(seen, (0..=54).collect());
    }

    #[test]
    fn a_ping_not_admitted_keeps_the_engines_code_in_this_doors_words() {
        use crate::ingest::AdmitError;
        let future = AdmitError::Future {
            ts: 1_791_417_600_000,
            ahead_s: 600.0,
            max_s: 300.0,
        };
        let e = ApiError::from(future.clone());
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::BAD_REQUEST, future.code())
        );
        assert_eq!(
            e.to_string(),
            "ts 2026-10-08T00:00:00Z is 600 s after the server received it (at most 300 s): \
             check the phone's clock"
        );
        let far = AdmitError::OutOfRange(i64::MIN);
        let e = ApiError::from(far.clone());
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::BAD_REQUEST, far.code())
        );
    }

    #[test]
    fn a_5xx_says_internal_error_and_the_store_says_when_to_retry() {
        let e = ApiError::internal("disk on fire");
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        );
        assert_eq!(e.to_string(), "internal error");
        let full = ApiError::from(StoreError::Full { path: "x".into() });
        assert_eq!(full.status(), StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(full.retry_after(), Some(30));
        let other = ApiError::from(StoreError::DataDir {
            path: "x".into(),
            reason: "secret path".into(),
        });
        assert_eq!(other.code(), "internal");
        assert_eq!(other.to_string(), "internal error");
        assert_eq!(other.retry_after(), None);
    }
}
