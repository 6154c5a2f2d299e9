//! The OpenAPI 3.1 document at `/api/v1/openapi.json`, generated from the handlers'
//! annotations and types (utoipa), never written by hand.

use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

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
    modifiers(&Schemes)
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

/// `GET /api/v1/openapi.json` (no token needed: it describes, it does not reveal).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "this OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Response {
    axum::Json(ApiDoc::openapi()).into_response()
}

// ---- Schemas of parameters whose allowed values are known: generated from the lists the
// handlers themselves accept, so the document cannot drift from them.

use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, SchemaFormat, Type};

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
