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
    ),
    components(schemas(
        super::error::ErrorBody,
        super::ingest::BatchAnswer,
        super::ingest::Rejected,
        super::read::UnitOut,
        super::read::WorkerOut,
        super::read::PositionOut,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// Declares the bearer-token scheme of DESIGN.md §7.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/v1/openapi.json` (no token needed: it describes, it does not reveal).
pub async fn openapi_json() -> Response {
    axum::Json(ApiDoc::openapi()).into_response()
}
