//! The OpenAPI 3.1 document at `/api/v1/openapi.json`, generated from the handlers'
//! annotations and types (utoipa), never written by hand. Its error answers are written from
//! [`ERRORS`], each code under the status [`ApiError`] gives it.

use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use super::error::ApiError;

/// The API's description.
#[derive(OpenApi)]
#[openapi(
    info(title = "gridbeat", description = "Patrol tracks, coverage and monthly assessment of grid workers (DESIGN.md §5.4)."),
    paths(
        super::read::healthz,
        super::read::readyz,
        super::read::livez,
        super::read::metrics,
        super::ingest::post_pings,
        super::ingest::osmand,
        super::ingest::osmand_post,
        super::ingest::owntracks,
        super::registry::get_file,
        super::registry::put_file,
        super::read::units,
        super::read::unit,
        super::read::workers,
        super::read::worker,
        super::read::worker_day,
        super::read::report,
        super::read::positions,
        super::layers::layer,
        super::layers::tile,
        super::layers::tilejson,
        super::layers::style,
        super::layers::config,
        openapi_json,
    ),
    components(schemas(
        super::error::ErrorBody,
        super::ingest::BatchAnswer,
        super::ingest::PingJson,
        super::ingest::OsmandFields,
        super::ingest::Rejected,
        super::read::UnitOut,
        super::read::WorkerOut,
        super::read::PositionOut,
    )),
    modifiers(&Schemes, &Errors)
)]
pub struct ApiDoc;

/// Declares the ways to authenticate of DESIGN.md §7: the bearer token (every operation that
/// needs a token), the OsmAnd `token` query parameter (the app cannot set headers) and the
/// OwnTracks Basic-auth password. There is no document-wide requirement: each operation
/// states its own, and the probes, this document and the map page's configuration need none.
struct Schemes;

/// The security scheme of a bearer token.
pub const BEARER: &str = "bearer";
/// The security scheme of the OsmAnd `token` query parameter.
pub const OSMAND_TOKEN: &str = "osmand_token";
/// The security scheme of the OwnTracks Basic-auth password.
pub const OWNTRACKS_BASIC: &str = "owntracks_basic";

impl utoipa::Modify for Schemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "a token of `gridbeat token new` (role device, viewer or admin)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            OSMAND_TOKEN,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "OsmAnd / Traccar Client: the device's token as the `token` query (or form) \
                 parameter, since the app cannot set headers",
            ))),
        );
        components.add_security_scheme(
            OWNTRACKS_BASIC,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "OwnTracks HTTP mode: the user is the device id, the password the \
                         device's token",
                    ))
                    .build(),
            ),
        );
    }
}

/// The error codes an operation answers, each with what it means there.
pub struct OperationErrors {
    /// `get`, `put` or `post`.
    pub method: &'static str,
    /// The path as the document writes it.
    pub path: &'static str,
    /// Whether the operation needs a token: then it also answers [`TOKEN_ERRORS`].
    pub token: bool,
    /// Its own codes and what each means there.
    pub codes: &'static [(&'static str, &'static str)],
}

/// What every operation that needs a token may answer besides its own codes.
pub const TOKEN_ERRORS: [(&str, &str); 2] = [
    (
        "unauthorized",
        "no token, or one the server does not know. Checked before the request's parameters \
         and body, so a bad request without a token is a 401, not a 400",
    ),
    (
        "rate_limited",
        "the token is over its rate; `Retry-After` says when to try again",
    ),
];

const FORBIDDEN_READ: (&str, &str) = ("forbidden", "a device token");
const FORBIDDEN_SCOPE: (&str, &str) = (
    "forbidden",
    "a device token, or a unit or worker outside the token's scope",
);
const NOT_READY: [(&str, &str); 5] = [
    ("disk_full", "the disk holding the database is full"),
    ("read_only", "the database cannot be written"),
    ("io_error", "the database cannot be written"),
    ("corrupt", "the database is damaged"),
    ("unavailable", "the store does not answer"),
];
const STORE_WRITE: [(&str, &str); 2] = [
    (
        "insufficient_storage",
        "the server's disk is full: nothing stored; send again later",
    ),
    (
        "store_unavailable",
        "the store cannot be written now: nothing stored; send again later",
    ),
];
const QUERY: [(&str, &str); 7] = [
    ("bad_bbox", "not w,s,e,n in degrees with w <= e and s <= n"),
    ("bad_day", "`day`, `from` or `to` is not YYYY-MM-DD"),
    ("bad_month", "not YYYY-MM"),
    (
        "bad_period",
        "more than one of day, month, from and to; or from or to alone",
    ),
    ("bad_crs", "not a coordinate system of this answer"),
    ("bad_parameter", "simplify_m, zoom or cell_m out of range"),
    ("not_found", "no such unit"),
];
const DEVICE: [(&str, &str); 10] = [
    ("missing_device", "no device id"),
    ("unknown_device", "no worker has this device"),
    (
        "no_position",
        "no position (cell or wifi only): stored nowhere",
    ),
    ("too_long", "a value over 128 bytes"),
    ("future_timestamp", "a timestamp after the receipt time"),
    (
        "worker_not_allowed",
        "the token may not post for the device's worker",
    ),
    ("forbidden", "a viewer token"),
    ("body_too_large", "a body over 64 KiB (also after gzip)"),
    STORE_WRITE[0],
    STORE_WRITE[1],
];

/// The error codes of every operation: [`Errors`] writes the document's error answers from
/// them, each under the status [`ApiError::status`] gives its code, so a status cannot drift
/// from the server's (a code the enum does not answer lands under `default`, which
/// `tests/it/openapi.rs` refuses).
pub const ERRORS: &[OperationErrors] = &[
    OperationErrors {
        method: "get",
        path: "/healthz",
        token: false,
        codes: &NOT_READY,
    },
    OperationErrors {
        method: "get",
        path: "/readyz",
        token: false,
        codes: &NOT_READY,
    },
    OperationErrors {
        method: "get",
        path: "/metrics",
        token: true,
        codes: &[("forbidden", "not an admin token")],
    },
    OperationErrors {
        method: "post",
        path: "/api/v1/pings",
        token: true,
        codes: &[
            ("bad_json", "the body as a whole is not JSON or NDJSON"),
            ("empty_body", "nothing to read"),
            (
                "bad_gzip",
                "a gzip body that cannot be read to its end (refused whole)",
            ),
            ("bad_body", "broken chunks, cut off"),
            (
                "request_timeout",
                "the body did not arrive within body_timeout_s",
            ),
            ("body_too_large", "over max_body_bytes (also after gzip)"),
            (
                "too_many_records",
                "counted while decoding: refused at max_batch + 1",
            ),
            ("forbidden", "a viewer token"),
            ("unsupported_media_type", "not JSON or NDJSON"),
            ("unsupported_encoding", "a Content-Encoding other than gzip"),
            STORE_WRITE[0],
            STORE_WRITE[1],
        ],
    },
    OperationErrors {
        method: "get",
        path: "/osmand",
        token: true,
        codes: &DEVICE,
    },
    OperationErrors {
        method: "post",
        path: "/osmand",
        token: true,
        codes: &[
            DEVICE[0],
            DEVICE[1],
            DEVICE[2],
            DEVICE[3],
            DEVICE[4],
            DEVICE[5],
            DEVICE[6],
            DEVICE[7],
            DEVICE[8],
            DEVICE[9],
            ("bad_json", "a JSON body that cannot be read"),
        ],
    },
    OperationErrors {
        method: "post",
        path: "/owntracks",
        token: true,
        codes: &[
            ("bad_json", "the body is not an OwnTracks message"),
            DEVICE[1],
            DEVICE[2],
            DEVICE[4],
            DEVICE[5],
            DEVICE[6],
            DEVICE[7],
            DEVICE[8],
            DEVICE[9],
        ],
    },
    OperationErrors {
        method: "get",
        path: "/api/v1/registry/{file}",
        token: true,
        codes: &[
            ("forbidden", "not an admin token of the whole city"),
            ("not_found", "no such registry file, or none loaded yet"),
        ],
    },
    OperationErrors {
        method: "put",
        path: "/api/v1/registry/{file}",
        token: true,
        codes: &[
            ("bad_encoding", "not UTF-8"),
            ("bad_gzip", "a gzip body that cannot be read to its end"),
            ("bad_body", "broken chunks, cut off"),
            ("forbidden", "not an admin token of the whole city"),
            ("not_found", "no such registry file"),
            ("body_too_large", "over max_registry_bytes"),
            (
                "invalid_registry",
                "faults, every one listed; nothing changed",
            ),
            STORE_WRITE[0],
            STORE_WRITE[1],
        ],
    },
    OperationErrors {
        method: "get",
        path: "/api/v1/units",
        token: true,
        codes: &[FORBIDDEN_READ],
    },
    OperationErrors {
        method: "get",
        path: "/api/v1/units/{code}",
        token: true,
        codes: &[
            (
                "forbidden",
                "a device token, or a unit outside the token's scope",
            ),
            ("not_found", "no such unit"),
        ],
    },
    OperationErrors {
        method: "get",
        path: "/api/v1/workers",
        token: true,
        codes: &[FORBIDDEN_READ],
    },
    OperationErrors {
        method: "get",
        path: "/api/v1/workers/{id}",
        token: true,
        codes: &[
            (
                "forbidden",
                "a device token, or a worker outside the token's scope",
            ),
            ("not_found", "no such worker"),
        ],
    },
    OperationErrors {
        method: "get",
        path: "/api/v1/workers/{id}/days/{day}",
        token: true,
        codes: &[
            ("bad_day", "not YYYY-MM-DD"),
            ("bad_format", "not json or geojson"),
            (
                "forbidden",
                "a device token, or a worker outside the token's scope",
            ),
            ("not_found", "no such worker, or no figures that day"),
        ],
    },
    OperationErrors {
        method: "get",
        path: "/api/v1/reports/{month}",
        token: true,
        codes: &[
            ("bad_month", "not YYYY-MM"),
            ("bad_format", "not json, csv, xlsx or html"),
            ("bad_lang", "not zh or en"),
            ("bad_table", "not workers, grids or units"),
            (
                "forbidden",
                "a device token, or a unit outside the token's scope",
            ),
            ("not_found", "no such unit"),
        ],
    },
    OperationErrors {
        method: "get",
        path: "/api/v1/positions",
        token: true,
        codes: &[FORBIDDEN_READ],
    },
    OperationErrors {
        method: "get",
        path: "/api/v1/layers/{layer}",
        token: true,
        codes: &[
            QUERY[0],
            QUERY[1],
            QUERY[2],
            QUERY[3],
            QUERY[4],
            QUERY[5],
            FORBIDDEN_SCOPE,
            ("not_found", "no such layer or unit"),
        ],
    },
    OperationErrors {
        method: "get",
        path: "/tiles/{layer}/{z}/{x}/{y}.mvt",
        token: true,
        codes: &[
            ("invalid_tile", "z, x or y is not a non-negative integer"),
            ("invalid_zoom", "z is above 24"),
            ("tile_out_of_range", "x or y is not below 2^z"),
            QUERY[0],
            QUERY[1],
            QUERY[2],
            QUERY[3],
            QUERY[4],
            QUERY[5],
            FORBIDDEN_SCOPE,
            ("not_found", "no such tiled layer, or no such unit"),
        ],
    },
    OperationErrors {
        method: "get",
        path: "/tiles/{file}",
        token: true,
        codes: &[
            QUERY[0],
            QUERY[1],
            QUERY[2],
            QUERY[3],
            QUERY[4],
            QUERY[5],
            FORBIDDEN_SCOPE,
            ("not_found", "no such tiled layer, or no such unit"),
        ],
    },
    OperationErrors {
        method: "get",
        path: "/api/v1/style.json",
        token: true,
        codes: &[
            QUERY[0],
            QUERY[1],
            QUERY[2],
            QUERY[3],
            QUERY[4],
            QUERY[5],
            FORBIDDEN_SCOPE,
            QUERY[6],
        ],
    },
    OperationErrors {
        method: "get",
        path: "/api/v1/config.json",
        token: false,
        codes: &[
            (
                "unauthorized",
                "a token was sent and is unknown (without one the answer is the public part)",
            ),
            FORBIDDEN_READ,
            ("rate_limited", "the token is over its rate"),
        ],
    },
];

/// Writes each operation's error answers from [`ERRORS`]: one response per status, its
/// description naming each code and what it means there, `x-codes` listing them, the body
/// [`super::error::ErrorBody`].
struct Errors;

impl utoipa::Modify for Errors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use std::collections::BTreeMap;
        use utoipa::openapi::{Content, Ref, ResponseBuilder};
        for e in ERRORS {
            let Some(item) = openapi.paths.paths.get_mut(e.path) else {
                continue;
            };
            let op = match e.method {
                "get" => item.get.as_mut(),
                "put" => item.put.as_mut(),
                "post" => item.post.as_mut(),
                _ => None,
            };
            let Some(op) = op else { continue };
            let token = if e.token { &TOKEN_ERRORS[..] } else { &[] };
            // status → (code, what it means), in the table's order.
            let mut by_status: BTreeMap<String, Vec<(&str, &str)>> = BTreeMap::new();
            for &(code, note) in e.codes.iter().chain(token) {
                let status = ApiError::status_of(code)
                    .map_or_else(|| "default".to_string(), |s| s.as_u16().to_string());
                by_status.entry(status).or_default().push((code, note));
            }
            for (status, codes) in by_status {
                let description: Vec<String> = codes
                    .iter()
                    .map(|(code, note)| format!("`{code}`: {note}"))
                    .collect();
                let mut listed: Vec<&str> = Vec::new();
                for (code, _) in &codes {
                    if !listed.contains(code) {
                        listed.push(code);
                    }
                }
                let response = ResponseBuilder::new()
                    .description(description.join("; "))
                    .content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                    )
                    .extensions(Some(
                        [("x-codes".to_string(), serde_json::json!(listed))]
                            .into_iter()
                            .collect(),
                    ))
                    .build();
                op.responses.responses.insert(status, response.into());
            }
        }
    }
}

/// `GET /api/v1/openapi.json` (no token needed: it describes, it does not reveal).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "this OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Response {
    axum::Json(ApiDoc::openapi()).into_response()
}

// ---- Schemas of parameters whose allowed values are known: generated from the lists the
// handlers themselves accept, so the document cannot drift from them.

use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, SchemaFormat, Type};

/// A string schema whose only allowed values are `names`.
pub fn names<I, S>(names: I) -> Object
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let names: Vec<serde_json::Value> = names
        .into_iter()
        .map(|n| serde_json::Value::String(n.into()))
        .collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .build()
}

/// A map layer's name (`crate::layers::Layer::ALL`).
pub fn layer_name() -> Object {
    names(crate::layers::Layer::ALL.iter().map(|l| l.name()))
}

/// A tiled layer's name (`crate::tiles::TILED_LAYERS`).
pub fn tiled_layer_name() -> Object {
    names(crate::tiles::TILED_LAYERS)
}

/// A TileJSON file name, `LAYER.json` of a tiled layer.
pub fn tilejson_file() -> Object {
    names(
        crate::tiles::TILED_LAYERS
            .iter()
            .map(|n| format!("{n}.json")),
    )
}

/// A registry file's name (`crate::store::RegistryFile::ALL`).
pub fn registry_file() -> Object {
    names(crate::store::RegistryFile::ALL.iter().map(|f| f.as_str()))
}

/// An output coordinate system of GeoJSON layers (`crate::model::Crs`).
pub fn crs() -> Object {
    names(["wgs84", "gcj02", "bd09"])
}

/// The coordinate systems tiles are cut in: Web Mercator XYZ over WGS84, or over GCJ-02 (the
/// tile grid of AMap and Tencent basemaps). Baidu's tiles follow their own grid over BD-09,
/// which no XYZ tile of this server could match: `bd09` is for GeoJSON layers only.
pub const TILE_CRS: [&str; 2] = ["wgs84", "gcj02"];

/// An output coordinate system of tiles ([`TILE_CRS`]).
pub fn tile_crs() -> Object {
    names(TILE_CRS)
}

/// A local day, `YYYY-MM-DD`.
pub fn date() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .build()
}

/// A local calendar month, `YYYY-MM`.
pub fn month() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[0-9]{4}-(0[1-9]|1[0-2])$"))
        .build()
}

/// A bounding box `w,s,e,n` in degrees, each in range (w <= e and s <= n are checked too).
pub fn bbox() -> Object {
    const LON: &str = r"-?(180(\.0+)?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]+)?)";
    const LAT: &str = r"-?(90(\.0+)?|[1-8]?[0-9](\.[0-9]+)?)";
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^{LON},{LAT},{LON},{LAT}$")))
        .build()
}
