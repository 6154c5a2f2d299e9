//! The built-in map page (DESIGN.md §5.4, "the map page at `/`"): `assets/map/` and the
//! vendored MapLibre GL JS, embedded in the binary at build time so the service needs no
//! network and no files beside it.
//!
//! The page's script is a set of ES modules (`map.js` imports the rest by relative URL), each
//! embedded and served here as `text/javascript`; a test walks the imports from `map.js`.
//!
//! `index.html` and the page's own scripts and style are served `no-cache` (revalidated by
//! ETag, so a new binary shows the new page at once); the vendored library is served with a
//! one-year `max-age` because `index.html` asks for it with its version in the query string.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::error::ApiError;

/// One embedded file.
struct Asset {
    /// The name in the URL.
    name: &'static str,
    /// `content-type`.
    content_type: &'static str,
    /// `cache-control`.
    cache_control: &'static str,
    /// The bytes.
    body: &'static [u8],
}

/// Revalidate every time (the page changes with the binary).
const NO_CACHE: &str = "no-cache";
/// The vendored library: its URL carries its version.
const LONG: &str = "public, max-age=31536000, immutable";

/// The page itself, at `/`.
const INDEX: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    cache_control: NO_CACHE,
    body: include_bytes!("../../assets/map/index.html"),
};

/// One of the page's ES modules (`assets/map/*.js`), at `/map/{name}`.
macro_rules! module {
    ($name:literal) => {
        Asset {
            name: $name,
            content_type: "text/javascript; charset=utf-8",
            cache_control: NO_CACHE,
            body: include_bytes!(concat!("../../assets/map/", $name)),
        }
    };
}

/// The page's style and its ES modules, at `/map/{file}`: `map.js` is the entry
/// (`<script type="module">`), which imports the others by relative URL; no build step.
const MAP_FILES: [Asset; 14] = [
    Asset {
        name: "map.css",
        content_type: "text/css; charset=utf-8",
        cache_control: NO_CACHE,
        body: include_bytes!("../../assets/map/map.css"),
    },
    module!("map.js"),
    module!("api.js"),
    module!("controls.js"),
    module!("data.js"),
    module!("format.js"),
    module!("geometry.js"),
    module!("i18n.js"),
    module!("labels.js"),
    module!("layers.js"),
    module!("popups.js"),
    module!("replay.js"),
    module!("state.js"),
    module!("weakest.js"),
];

/// MapLibre GL JS (`assets/vendor/maplibre-gl/README.md` says which version and how).
const VENDOR_FILES: [Asset; 3] = [
    Asset {
        name: "maplibre-gl.js",
        content_type: "text/javascript; charset=utf-8",
        cache_control: LONG,
        body: include_bytes!("../../assets/vendor/maplibre-gl/maplibre-gl.js"),
    },
    Asset {
        name: "maplibre-gl.css",
        content_type: "text/css; charset=utf-8",
        cache_control: LONG,
        body: include_bytes!("../../assets/vendor/maplibre-gl/maplibre-gl.css"),
    },
    Asset {
        name: "LICENSE.txt",
        content_type: "text/plain; charset=utf-8",
        cache_control: LONG,
        body: include_bytes!("../../assets/vendor/maplibre-gl/LICENSE.txt"),
    },
];

/// The routes of the page, for any state: `GET /`, `GET /map/{file}`,
/// `GET /vendor/maplibre-gl/{file}` (HEAD too); an unknown file is a 404 `{code, message}`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(get_index))
        .route("/map/{file}", get(get_map_file))
        .route("/vendor/maplibre-gl/{file}", get(get_vendor_file))
}

/// `GET /`: the map page.
async fn get_index(headers: HeaderMap) -> Response {
    serve(&INDEX, &headers)
}

/// `GET /map/{file}`: the page's script and style.
async fn get_map_file(Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve_from(&MAP_FILES, "/map/", &file, &headers)
}

/// `GET /vendor/maplibre-gl/{file}`: the vendored MapLibre GL JS.
async fn get_vendor_file(Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve_from(&VENDOR_FILES, "/vendor/maplibre-gl/", &file, &headers)
}

fn serve_from(assets: &[Asset], dir: &'static str, file: &str, headers: &HeaderMap) -> Response {
    match assets.iter().find(|a| a.name == file) {
        Some(asset) => serve(asset, headers),
        None => ApiError::NoAsset {
            dir,
            file: file.chars().take(100).collect(),
        }
        .into_response(),
    }
}

/// The asset with its headers, or 304 when the client's `if-none-match` names its ETag.
fn serve(asset: &Asset, headers: &HeaderMap) -> Response {
    let etag = etag_of(asset);
    let fresh = super::etag::not_modified(headers, etag);
    let common = [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(asset.cache_control),
        ),
        (
            header::ETAG,
            HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"\"")),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        common,
        asset.body,
    )
        .into_response()
}

/// A strong ETag per asset (`etag::tag_of` of the bytes), computed once.
fn etag_of(asset: &Asset) -> &'static str {
    static TAGS: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
        std::iter::once(&INDEX)
            .chain(MAP_FILES.iter())
            .chain(VENDOR_FILES.iter())
            .map(|a| (a.name, super::etag::tag_of(a.body)))
            .collect()
    });
    TAGS.iter()
        .find(|(name, _)| *name == asset.name)
        .map(|(_, tag)| tag.as_str())
        .unwrap_or("\"\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get_path(path: &str, if_none_match: Option<&str>) -> Response {
        let mut req = Request::builder().uri(path);
        if let Some(tag) = if_none_match {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        routes::<()>()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn header_of(resp: &Response, name: header::HeaderName) -> &str {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    async fn body_of(resp: Response) -> Vec<u8> {
        to_bytes(resp.into_body(), 1 << 24).await.unwrap().to_vec()
    }

    #[tokio::test]
    async fn index_is_html_revalidated_and_links_the_embedded_assets() {
        let resp = get_path("/", None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            header_of(&resp, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(header_of(&resp, header::CACHE_CONTROL), "no-cache");
        let html = String::from_utf8(body_of(resp).await).unwrap();
        // Every asset the page asks for is one this module serves (no external URL).
        for path in [
            "/map/map.js",
            "/map/map.css",
            "/vendor/maplibre-gl/maplibre-gl.js",
            "/vendor/maplibre-gl/maplibre-gl.css",
        ] {
            assert!(html.contains(path), "index.html does not load {path}");
        }
        assert!(!html.contains("http://") && !html.contains("https://"));
    }

    #[tokio::test]
    async fn page_files_have_their_types() {
        for (path, ctype, cache, starts) in [
            (
                "/map/map.js",
                "text/javascript; charset=utf-8",
                "no-cache",
                "",
            ),
            ("/map/map.css", "text/css; charset=utf-8", "no-cache", ""),
            (
                "/vendor/maplibre-gl/maplibre-gl.js",
                "text/javascript; charset=utf-8",
                LONG,
                "/**\n * MapLibre GL JS",
            ),
            (
                "/vendor/maplibre-gl/maplibre-gl.css",
                "text/css; charset=utf-8",
                LONG,
                "",
            ),
            (
                "/vendor/maplibre-gl/LICENSE.txt",
                "text/plain; charset=utf-8",
                LONG,
                "",
            ),
        ] {
            let resp = get_path(path, None).await;
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            assert_eq!(header_of(&resp, header::CONTENT_TYPE), ctype, "{path}");
            assert_eq!(header_of(&resp, header::CACHE_CONTROL), cache, "{path}");
            assert_eq!(header_of(&resp, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
            let body = body_of(resp).await;
            assert!(body.len() > 100, "{path} is {} bytes", body.len());
            assert!(body.starts_with(starts.as_bytes()), "{path}");
        }
        let licence = body_of(get_path("/vendor/maplibre-gl/LICENSE.txt", None).await).await;
        assert!(String::from_utf8(licence).unwrap().contains("BSD"));
    }

    #[tokio::test]
    async fn unknown_files_are_json_404s() {
        for path in [
            "/map/nope.js",
            "/map/index.html",
            "/vendor/maplibre-gl/maplibre-gl.js.map",
            "/vendor/maplibre-gl/..%2Fmap%2Fmap.js",
            "/map/",
            "/vendor/other/x.js",
        ] {
            let resp = get_path(path, None).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
            if path == "/map/" || path == "/vendor/other/x.js" {
                continue; // no route at all: the integrating router's fallback answers
            }
            assert_eq!(header_of(&resp, header::CONTENT_TYPE), "application/json");
            let v: serde_json::Value = serde_json::from_slice(&body_of(resp).await).unwrap();
            assert_eq!(v["code"], "not_found", "{path}");
            assert!(v["message"].as_str().unwrap().contains("no file"), "{path}");
        }
    }

    #[tokio::test]
    async fn etag_revalidation_answers_304_and_a_changed_tag_200() {
        let first = get_path("/map/map.js", None).await;
        let tag = header_of(&first, header::ETAG).to_string();
        assert!(tag.starts_with('"') && tag.len() == 34, "{tag}");
        let again = get_path("/map/map.js", Some(&tag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(body_of(again).await.is_empty());
        let other = get_path("/map/map.js", Some("\"0000000000000000\"")).await;
        assert_eq!(other.status(), StatusCode::OK);
        // Tags differ between files.
        let css = get_path("/map/map.css", None).await;
        assert_ne!(header_of(&css, header::ETAG), tag);
    }

    /// The names a module imports (`from './x.js'`), in the order written.
    fn imports_of(js: &str) -> Vec<&str> {
        js.split("from './")
            .skip(1)
            .filter_map(|rest| rest.split_once('\'').map(|(name, _)| name))
            .collect()
    }

    #[tokio::test]
    async fn every_module_the_page_imports_is_served_as_javascript() {
        let html = String::from_utf8(INDEX.body.to_vec()).unwrap();
        assert!(html.contains(r#"<script type="module" src="/map/map.js">"#));
        // Walk the import graph from the entry: each module it reaches is served, as JS.
        let mut todo = vec!["map.js".to_string()];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let resp = get_path(&format!("/map/{name}"), None).await;
            assert_eq!(
                resp.status(),
                StatusCode::OK,
                "{name} is imported but not served"
            );
            assert_eq!(
                header_of(&resp, header::CONTENT_TYPE),
                "text/javascript; charset=utf-8",
                "{name}"
            );
            let js = String::from_utf8(body_of(resp).await).unwrap();
            assert!(
                !js.contains("http://") && !js.contains("https://"),
                "{name}"
            );
            todo.extend(imports_of(&js).into_iter().map(String::from));
        }
        // ... and every module served is reached (none left behind by a rename).
        let served: std::collections::BTreeSet<String> = MAP_FILES
            .iter()
            .filter(|a| a.name.ends_with(".js"))
            .map(|a| a.name.to_string())
            .collect();
        assert_eq!(served, seen);
        assert!(seen.len() > 5, "{seen:?}");
    }

    #[test]
    fn imports_are_read_from_the_source() {
        let js = "import { a } from './a.js';\nimport * as b from './b.js';\nconst c = 'from';";
        assert_eq!(imports_of(js), ["a.js", "b.js"]);
    }
}
