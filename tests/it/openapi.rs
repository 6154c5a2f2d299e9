//! The OpenAPI document tells the truth (issue 16, item 10): client teams generate SDKs from
//! `/api/v1/openapi.json`, so each operation lists the answers it gives, its ways to
//! authenticate, its bodies' media types and the values its parameters take; and the server
//! does what the document says (tiles in GCJ-02, a style or TileJSON that names only tiles
//! that exist, 401 before 400). `benches/schemathesis.sh` checks the rest by generating
//! requests from the document.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gridbeat::config::Config;
use gridbeat::server::error::ApiError;
use gridbeat::server::openapi::{ERRORS, TOKEN_ERRORS};
use gridbeat::store::RegistryFile;
use serde_json::Value;

use crate::util::{get, post, token, App};

async fn server() -> App {
    App::new(
        vec![
            token("admin", "admin", None, &[]),
            token("viewer", "viewer", None, &[]),
        ],
        |_: &mut Config| {},
    )
    .await
}

async fn document(app: &App) -> Value {
    let a = app.send(get("/api/v1/openapi.json", None)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    a.json()
}

/// The operation `method path` of the document.
fn op<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let o = &doc["paths"][path][method];
    assert!(o.is_object(), "the document has no {method} {path}");
    o
}

/// Every operation of the document: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, o) in item.as_object().expect("a path item") {
            out.push((method.clone(), path.clone(), o.clone()));
        }
    }
    assert!(out.len() > 20, "{} operations", out.len());
    out
}

/// The names of the security schemes an operation accepts; `None` when it needs none (no
/// requirement, or an empty one among them).
fn schemes(o: &Value) -> Option<Vec<String>> {
    let reqs = o["security"].as_array()?;
    if reqs.is_empty()
        || reqs
            .iter()
            .any(|r| r.as_object().is_some_and(|m| m.is_empty()))
    {
        return None;
    }
    Some(
        reqs.iter()
            .flat_map(|r| r.as_object().unwrap().keys().cloned())
            .collect(),
    )
}

fn statuses(o: &Value) -> Vec<String> {
    o["responses"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn response_text(o: &Value, status: &str) -> String {
    o["responses"][status]["description"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// The schema of a parameter of an operation.
fn param<'a>(o: &'a Value, name: &str) -> &'a Value {
    o["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .map(|p| &p["schema"])
        .unwrap_or_else(|| panic!("no parameter {name} in {o}"))
}

fn enum_of(schema: &Value) -> Vec<String> {
    schema["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("no enum in {schema}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_operation_that_needs_a_token_lists_401_and_the_server_answers_it() {
    let app = server().await;
    let doc = document(&app).await;
    let mut needing = 0;
    for (method, path, o) in operations(&doc) {
        if schemes(&o).is_some() {
            needing += 1;
            let s = statuses(&o);
            assert!(
                s.contains(&"401".into()),
                "{method} {path} lacks 401: {s:?}"
            );
            assert!(
                s.contains(&"429".into()),
                "{method} {path} lacks 429: {s:?}"
            );
        }
    }
    assert!(needing >= 17, "{needing} operations need a token");
    // And the server agrees: each of these, without a token, is 401.
    for (method, uri) in [
        ("get", "/metrics"),
        ("get", "/api/v1/units"),
        ("get", "/api/v1/units/430100"),
        ("get", "/api/v1/workers"),
        ("get", "/api/v1/workers/w-0001"),
        ("get", "/api/v1/workers/w-0001/days/2026-10-01"),
        ("get", "/api/v1/reports/2026-10"),
        ("get", "/api/v1/positions"),
        ("get", "/api/v1/layers/grids"),
        ("get", "/api/v1/style.json"),
        ("get", "/tiles/grids.json"),
        ("get", "/tiles/grids/14/0/0.mvt"),
        ("get", "/api/v1/registry/grids"),
        ("get", "/osmand?id=w-0001&lat=28.2&lon=112.9"),
    ] {
        let a = app.send(get(uri, None)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{uri}: {}", a.text());
        let path = doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .find(|p| matches(p, uri))
            .unwrap_or_else(|| panic!("no path of the document matches {uri}"))
            .clone();
        assert!(
            statuses(op(&doc, method, &path)).contains(&"401".into()),
            "{path}"
        );
    }
}

/// Whether a path template of the document matches a concrete URI.
fn matches(template: &str, uri: &str) -> bool {
    let uri = uri.split('?').next().unwrap();
    let (t, u): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), uri.split('/').collect());
    t.len() == u.len()
        && t.iter().zip(&u).all(|(t, u)| {
            if let Some(rest) = t.strip_prefix('{') {
                // `{y}.mvt`
                let suffix = rest.split_once('}').map_or("", |(_, s)| s);
                u.ends_with(suffix)
            } else {
                t == u
            }
        })
}

#[tokio::test]
async fn the_probes_the_document_and_the_map_config_need_no_token() {
    let app = server().await;
    let doc = document(&app).await;
    for path in ["/healthz", "/readyz", "/livez", "/api/v1/openapi.json"] {
        let o = op(&doc, "get", path);
        assert!(schemes(o).is_none(), "{path} is marked as needing a token");
        assert!(!statuses(o).contains(&"401".into()), "{path}");
    }
    assert!(
        doc.get("security").is_none() || doc["security"] == serde_json::json!([]),
        "a document-wide requirement: {}",
        doc["security"]
    );
    // config.json: a token is optional (its answer grows with one).
    let o = op(&doc, "get", "/api/v1/config.json");
    assert!(
        schemes(o).is_none(),
        "config.json is marked as needing a token"
    );
    let reqs = o["security"]
        .as_array()
        .expect("config.json names the bearer token");
    assert!(reqs.iter().any(|r| r.get("bearer").is_some()), "{reqs:?}");
    let a = app.send(get("/api/v1/config.json", None)).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn the_device_protocols_ways_to_authenticate_are_described() {
    let app = server().await;
    let doc = document(&app).await;
    let sch = &doc["components"]["securitySchemes"];
    assert_eq!(sch["bearer"]["scheme"], "bearer", "{sch}");
    assert_eq!(sch["osmand_token"]["type"], "apiKey", "{sch}");
    assert_eq!(sch["osmand_token"]["in"], "query", "{sch}");
    assert_eq!(sch["osmand_token"]["name"], "token", "{sch}");
    assert_eq!(sch["owntracks_basic"]["type"], "http", "{sch}");
    assert_eq!(sch["owntracks_basic"]["scheme"], "basic", "{sch}");
    for method in ["get", "post"] {
        let s = schemes(op(&doc, method, "/osmand")).expect("osmand needs a token");
        assert!(
            s.contains(&"osmand_token".into()),
            "{method} /osmand: {s:?}"
        );
        assert!(s.contains(&"bearer".into()), "{method} /osmand: {s:?}");
    }
    let s = schemes(op(&doc, "post", "/owntracks")).expect("owntracks needs a token");
    assert!(s.contains(&"owntracks_basic".into()), "{s:?}");
}

#[tokio::test]
async fn post_osmand_and_the_ingest_bodies_are_described_as_they_are_sent() {
    let app = server().await;
    let doc = document(&app).await;
    let body = &op(&doc, "post", "/osmand")["requestBody"]["content"];
    assert!(
        body.get("application/x-www-form-urlencoded").is_some(),
        "{body}"
    );
    assert!(body.get("application/json").is_some(), "{body}");
    let body = &op(&doc, "post", "/api/v1/pings")["requestBody"]["content"];
    assert!(body.get("application/x-ndjson").is_some(), "{body}");
    let json = &body["application/json"]["schema"];
    assert_ne!(json["type"], "string", "a JSON body described as a string");
    assert!(
        doc["components"]["schemas"]["PingJson"]["properties"]
            .get("worker")
            .is_some(),
        "the ping of DESIGN.md §5.1 is described"
    );
    assert_ne!(
        op(&doc, "post", "/owntracks")["requestBody"]["content"]["application/json"]["schema"]
            ["type"],
        "string"
    );
}

#[tokio::test]
async fn the_codes_the_server_answers_are_listed() {
    let app = server().await;
    let doc = document(&app).await;
    let day = op(&doc, "get", "/api/v1/workers/{id}/days/{day}");
    assert!(statuses(day).contains(&"400".into()), "{:?}", statuses(day));
    let text = response_text(day, "400");
    assert!(
        text.contains("bad_day") && text.contains("bad_format"),
        "{text}"
    );
    let report = op(&doc, "get", "/api/v1/reports/{month}");
    assert!(
        statuses(report).contains(&"404".into()),
        "{:?}",
        statuses(report)
    );
    let put = op(&doc, "put", "/api/v1/registry/{file}");
    assert!(statuses(put).contains(&"404".into()), "{:?}", statuses(put));
    // And the server answers them.
    for (uri, status, code) in [
        ("/api/v1/workers/w-0001/days/2026-13-01", 400, "bad_day"),
        (
            "/api/v1/workers/w-0001/days/2026-10-01?format=kml",
            400,
            "bad_format",
        ),
        ("/api/v1/reports/2026-10?unit=nowhere", 404, "not_found"),
        ("/api/v1/reports/2026-10?table=nothing", 400, "bad_table"),
    ] {
        let a = app.send(get(uri, Some("admin"))).await;
        assert_eq!(a.status.as_u16(), status, "{uri}: {}", a.text());
        assert_eq!(a.code(), code, "{uri}");
    }
    let a = app
        .send(
            Request::put("/api/v1/registry/passwords")
                .header("authorization", "Bearer admin")
                .body(Body::from("x"))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text());
}

/// The codes of `ApiError` with their statuses.
fn enum_answers() -> Vec<(String, String)> {
    ApiError::answers()
        .into_iter()
        .map(|(c, s)| (c.to_string(), s.as_u16().to_string()))
        .collect()
}

#[test]
fn every_code_the_document_is_built_from_is_one_the_error_enum_answers() {
    let answers = enum_answers();
    let known = |code: &str| answers.iter().any(|(c, _)| c == code);
    for op in ERRORS {
        for (code, _) in op.codes.iter().chain(&TOKEN_ERRORS) {
            assert!(
                known(code),
                "{} {} lists `{code}`, which ApiError never answers: {answers:?}",
                op.method,
                op.path
            );
        }
    }
    // A code the enum does not have is not one it answers (the check above can fail).
    assert!(!known("no_such_code"));
    assert!(known("bad_day") && known("unauthorized") && known("too_many_records"));
}

#[tokio::test]
async fn every_error_answer_of_the_document_comes_from_the_error_enum() {
    let app = server().await;
    let doc = document(&app).await;
    let answers = enum_answers();
    let mut listed = 0;
    for (method, path, o) in operations(&doc) {
        for (status, response) in o["responses"].as_object().expect("responses") {
            assert_ne!(
                status, "default",
                "{method} {path} lists a code ApiError does not answer: {response}"
            );
            let error = status.starts_with('4') || status.starts_with('5');
            let codes = response["x-codes"].as_array();
            assert_eq!(
                error,
                codes.is_some(),
                "{method} {path} {status}: error answers, and only they, list x-codes: {response}"
            );
            for code in codes.into_iter().flatten() {
                let code = code.as_str().expect("a code");
                assert!(
                    answers.contains(&(code.to_string(), status.clone())),
                    "{method} {path}: `{code}` under {status}, but ApiError answers {:?}",
                    answers
                        .iter()
                        .filter(|(c, _)| c == code)
                        .collect::<Vec<_>>()
                );
                assert!(
                    response["description"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("`{code}`")),
                    "{method} {path} {status}: {response}"
                );
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody"
                );
                listed += 1;
            }
        }
    }
    assert!(listed > 100, "{listed} codes listed");
}

#[tokio::test]
async fn allowed_values_are_in_the_schemas_not_only_in_descriptions() {
    let app = server().await;
    let doc = document(&app).await;
    let files = enum_of(param(op(&doc, "put", "/api/v1/registry/{file}"), "file"));
    let known: Vec<String> = RegistryFile::ALL
        .iter()
        .map(|f| f.as_str().to_string())
        .collect();
    assert_eq!(files, known);
    let layers = enum_of(param(op(&doc, "get", "/api/v1/layers/{layer}"), "layer"));
    assert!(
        layers.contains(&"routes".into()) && layers.len() == 11,
        "{layers:?}"
    );
    let tiles = op(&doc, "get", "/tiles/{layer}/{z}/{x}/{y}.mvt");
    assert_eq!(
        enum_of(param(tiles, "layer")),
        ["grids", "tracks", "coverage", "heat"]
    );
    assert_eq!(param(tiles, "z")["maximum"], 24, "{}", param(tiles, "z"));
    assert_eq!(enum_of(param(tiles, "crs")), ["wgs84", "gcj02"]);
    let layer = op(&doc, "get", "/api/v1/layers/{layer}");
    assert_eq!(enum_of(param(layer, "crs")), ["wgs84", "gcj02", "bd09"]);
    assert!(param(layer, "bbox")["pattern"].is_string());
    assert!(param(layer, "month")["pattern"].is_string());
    assert_eq!(param(layer, "day")["format"], "date");
    assert_eq!(param(layer, "cell_m")["minimum"], 5.0);
    // The documented ranges are the ones the engine checks (`layers::Tuning`), for layers and
    // tiles alike.
    for o in [layer, tiles] {
        for t in gridbeat::layers::Tuning::ALL {
            let p = param(o, t.name());
            assert_eq!(p["minimum"], *t.range().start(), "{}: {p}", t.name());
            assert_eq!(p["maximum"], *t.range().end(), "{}: {p}", t.name());
        }
    }
    let report = op(&doc, "get", "/api/v1/reports/{month}");
    assert_eq!(
        enum_of(param(report, "format")),
        ["json", "csv", "xlsx", "html"]
    );
    assert_eq!(enum_of(param(report, "lang")), ["zh", "en"]);
    assert!(param(report, "month")["pattern"].is_string());
    assert_eq!(
        enum_of(param(
            op(&doc, "get", "/api/v1/workers/{id}/days/{day}"),
            "format"
        )),
        ["json", "geojson"]
    );
}

#[tokio::test]
async fn style_and_tilejson_refuse_a_query_no_tile_would_take() {
    let app = server().await;
    for base in ["/api/v1/style.json", "/tiles/grids.json"] {
        for (query, code) in [
            ("crs=foo", "bad_crs"),
            ("crs=bd09", "bad_crs"),
            ("bbox=foo", "bad_bbox"),
            ("bbox=10,0,5,1", "bad_bbox"),
            ("month=2026-13", "bad_month"),
            ("cell_m=1", "bad_parameter"),
        ] {
            let uri = format!("{base}?{query}");
            let a = app.send(get(&uri, Some("viewer"))).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}: {}", a.text());
            assert_eq!(a.code(), code, "{uri}");
        }
        let a = app
            .send(get(&format!("{base}?crs=gcj02"), Some("viewer")))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{base}: {}", a.text());
        assert!(a.text().contains("crs=gcj02"), "{}", a.text());
    }
}

#[tokio::test]
async fn tiles_are_cut_in_gcj02_for_amap_and_tencent_basemaps() {
    let app = server().await;
    let config = app
        .send(get("/api/v1/config.json", Some("viewer")))
        .await
        .json();
    let (lon, lat) = (
        config["center"][0].as_f64().unwrap(),
        config["center"][1].as_f64().unwrap(),
    );
    let z = 14;
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let r = lat.to_radians();
    let y =
        ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    let uri = |crs: &str| format!("/tiles/grids/{z}/{x}/{y}.mvt?crs={crs}");
    let wgs = app.send(get(&uri("wgs84"), Some("viewer"))).await;
    let gcj = app.send(get(&uri("gcj02"), Some("viewer"))).await;
    assert_eq!(wgs.status, StatusCode::OK, "{}", wgs.text());
    assert_eq!(gcj.status, StatusCode::OK, "{}", gcj.text());
    assert_ne!(
        wgs.body, gcj.body,
        "the GCJ-02 tile is the WGS84 one: nothing was shifted"
    );
    // Baidu's tiles have a grid of their own: refused, saying what to use instead.
    let a = app.send(get(&uri("bd09"), Some("viewer"))).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.code(), "bad_crs");
    assert!(a.json()["message"].as_str().unwrap().contains("GeoJSON"));
}

#[tokio::test]
async fn a_bad_request_without_a_token_is_401_not_400() {
    let app = server().await;
    for uri in [
        "/api/v1/layers/grids?zoom=abc",
        "/api/v1/style.json?crs=foo&bbox=foo",
        "/tiles/grids.json?bbox=foo",
        "/api/v1/reports/2026-10?format=pdf",
        "/osmand",
        "/osmand?id=",
    ] {
        let a = app.send(get(uri, None)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{uri}: {}", a.text());
        assert_eq!(a.code(), "unauthorized", "{uri}");
    }
    for body in ["id=", "", "lat=1"] {
        let a = app
            .send(post(
                "/osmand",
                "application/x-www-form-urlencoded",
                body,
                None,
            ))
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{body:?}: {}", a.text());
    }
    // With a token in the form, the same broken request is what it is: 400.
    let a = app
        .send(post(
            "/osmand",
            "application/x-www-form-urlencoded",
            "token=admin",
            None,
        ))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
}
