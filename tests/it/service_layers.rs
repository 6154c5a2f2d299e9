//! The map door over HTTP (in process): GeoJSON layers, vector tiles, TileJSON, the style and
//! the page's configuration, on the sample city loaded through the ingest path. Each test
//! asserts what a map frontend relies on: RFC 7946 shape, filters, scope, datum conversion
//! against independent vectors, tiles an independent decoder reads, ETags and compression.

use std::io::Read;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gridbeat::cli::demo::sample;
use gridbeat::config::Config;
use gridbeat::server::AppState;
use serde_json::Value;

use crate::util::{self, python_json, python_with, sample_registry_files, send, token};

/// The community the scoped viewer may see (the sample's first community).
fn first_community() -> String {
    let doc: Value = serde_json::from_str(sample::GRIDS).unwrap();
    doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["level"] == "community")
        .and_then(|f| f["properties"]["code"].as_str())
        .expect("the sample has a community")
        .to_string()
}

/// A server on the sample city with the sample week ingested and summarised. Tokens: `admin`
/// (everything), `city` (viewer, everything), `community` (viewer of one community).
async fn server() -> (tempfile::TempDir, Arc<AppState>) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        tokens: vec![
            token("admin", "admin", None, &[]),
            token("city", "viewer", None, &[]),
            token("community", "viewer", Some(&first_community()), &[]),
        ],
        ..Config::default()
    };
    let state = AppState::open(config, dir.path()).unwrap();
    gridbeat::cli::serve::seed_through_http(
        &state,
        &sample_registry_files(),
        sample::PINGS,
        Some("admin"),
    )
    .await
    .unwrap();
    state.settle().unwrap();
    (dir, state)
}

/// A GET with the bearer token `bearer`.
fn get(uri: &str, bearer: &str) -> Request<Body> {
    util::get(uri, Some(bearer))
}

async fn layer(state: &Arc<AppState>, query: &str, bearer: &str) -> Value {
    let a = send(state, get(&format!("/api/v1/layers/{query}"), bearer)).await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{query}: {}",
        String::from_utf8_lossy(&a.body)
    );
    assert_eq!(a.headers["content-type"], "application/geo+json", "{query}");
    a.json()
}

fn features(doc: &Value) -> &Vec<Value> {
    doc["features"].as_array().expect("features")
}

/// Every position of a geometry.
fn positions(geometry: &Value, out: &mut Vec<(f64, f64)>) {
    fn walk(v: &Value, out: &mut Vec<(f64, f64)>) {
        match v.as_array() {
            Some(a) if a.len() >= 2 && a[0].is_number() => {
                out.push((a[0].as_f64().unwrap(), a[1].as_f64().unwrap()))
            }
            Some(a) => a.iter().for_each(|x| walk(x, out)),
            None => {}
        }
    }
    walk(&geometry["coordinates"], out);
}

/// Twice the signed area of a ring (positive = counter-clockwise), computed here.
fn signed_area(ring: &[Value]) -> f64 {
    let p: Vec<(f64, f64)> = ring
        .iter()
        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
        .collect();
    p.windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum()
}

/// RFC 7946 as a map client relies on it: a FeatureCollection, no `crs`, closed rings with
/// counter-clockwise exteriors and clockwise holes, positions in range, and a `bbox` that
/// holds every position.
fn assert_rfc7946(name: &str, doc: &Value) {
    assert_eq!(doc["type"], "FeatureCollection", "{name}");
    assert!(
        doc.get("crs").is_none(),
        "{name}: RFC 7946 has no crs member"
    );
    let mut all = Vec::new();
    for f in features(doc) {
        assert_eq!(f["type"], "Feature", "{name}");
        assert!(f["properties"].is_object(), "{name}: properties");
        let g = &f["geometry"];
        let polygons: Vec<&Value> = match g["type"].as_str().unwrap() {
            "Polygon" => vec![&g["coordinates"]],
            "MultiPolygon" => g["coordinates"].as_array().unwrap().iter().collect(),
            "Point" | "LineString" | "MultiLineString" => vec![],
            other => panic!("{name}: unexpected geometry {other}"),
        };
        for rings in polygons {
            for (i, ring) in rings.as_array().unwrap().iter().enumerate() {
                let ring = ring.as_array().unwrap();
                assert!(ring.len() >= 4, "{name}: a ring has at least 4 positions");
                assert_eq!(ring.first(), ring.last(), "{name}: rings are closed");
                let a = signed_area(ring);
                if i == 0 {
                    assert!(a > 0.0, "{name}: exterior rings are counter-clockwise");
                } else {
                    assert!(a < 0.0, "{name}: holes are clockwise");
                }
            }
        }
        positions(g, &mut all);
    }
    for &(x, y) in &all {
        assert!(
            (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y),
            "{name}: range"
        );
    }
    if !all.is_empty() {
        let b: Vec<f64> = doc["bbox"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: bbox on the collection"))
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        for &(x, y) in &all {
            assert!(
                b[0] - 1e-9 <= x && x <= b[2] + 1e-9 && b[1] - 1e-9 <= y && y <= b[3] + 1e-9,
                "{name}: ({x},{y}) outside bbox {b:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_layer_is_rfc7946_and_scope_holds() {
    let (_dir, state) = server().await;
    let month = "month=2026-10";
    let community = first_community();
    for name in [
        "grids",
        "units",
        "tracks",
        "coverage",
        "stays",
        "visits",
        "checkpoints",
        "positions",
        "heat",
    ] {
        let all = layer(&state, &format!("{name}?{month}"), "city").await;
        assert_rfc7946(name, &all);
        assert!(
            !features(&all).is_empty(),
            "{name}: the sample week has features"
        );
        let mine = layer(&state, &format!("{name}?{month}"), "community").await;
        assert_rfc7946(name, &mine);
        assert!(
            features(&mine).len() < features(&all).len(),
            "{name}: a community sees less than the city ({} vs {})",
            features(&mine).len(),
            features(&all).len()
        );
    }
    // Grids of the community's viewer are its own.
    let grids = layer(&state, &format!("grids?{month}"), "community").await;
    for f in features(&grids) {
        assert_eq!(f["properties"]["parent"], community.as_str());
    }
    // Outside the scope: 403, with the code.
    let other = layer(&state, &format!("grids?{month}"), "city").await;
    let foreign = features(&other)
        .iter()
        .map(|f| f["properties"]["parent"].as_str().unwrap().to_string())
        .find(|p| *p != community)
        .expect("another community");
    let a = send(
        &state,
        get(&format!("/api/v1/layers/grids?unit={foreign}"), "community"),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // Unknown layer: 404; bad bbox: 400 with its code; no token: 401.
    let a = send(&state, get("/api/v1/layers/nope", "city")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = send(&state, get("/api/v1/layers/grids?bbox=1,2,3", "city")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json()["code"], "bad_bbox");
    let a = send(
        &state,
        Request::get("/api/v1/layers/grids")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_narrow_what_they_should() {
    let (_dir, state) = server().await;
    let all = layer(&state, "tracks?month=2026-10", "city").await;
    let walks: Vec<&Value> = features(&all)
        .iter()
        .filter(|f| f["properties"]["kind"] == "walk")
        .collect();
    let worker = walks[0]["properties"]["worker"]
        .as_str()
        .unwrap()
        .to_string();
    let day = walks[0]["properties"]["day"].as_str().unwrap().to_string();
    // worker=
    let one = layer(
        &state,
        &format!("tracks?month=2026-10&worker={worker}"),
        "city",
    )
    .await;
    assert!(!features(&one).is_empty());
    assert!(features(&one).len() < features(&all).len());
    assert!(features(&one)
        .iter()
        .all(|f| f["properties"]["worker"] == worker.as_str()));
    // day=
    let d = layer(&state, &format!("tracks?day={day}"), "city").await;
    assert!(!features(&d).is_empty());
    assert!(features(&d).len() < features(&all).len());
    assert!(features(&d)
        .iter()
        .all(|f| f["properties"]["day"] == day.as_str()));
    // A month without data: empty.
    let none = layer(&state, "tracks?month=2025-01", "city").await;
    assert!(features(&none).is_empty());
    // bbox= the south-west quarter of the city.
    let grids = layer(&state, "grids?month=2026-10", "city").await;
    let b: Vec<f64> = grids["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let (cx, cy) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let q = layer(
        &state,
        &format!("grids?month=2026-10&bbox={},{},{cx},{cy}", b[0], b[1]),
        "city",
    )
    .await;
    assert!(!features(&q).is_empty() && features(&q).len() < features(&grids).len());
    for f in features(&q) {
        let mut ps = Vec::new();
        positions(&f["geometry"], &mut ps);
        let (w, s) = ps
            .iter()
            .fold((f64::MAX, f64::MAX), |a, p| (a.0.min(p.0), a.1.min(p.1)));
        assert!(w <= cx && s <= cy, "a grid outside the bbox");
    }
    // unit= a community: only its grids.
    let community = first_community();
    let u = layer(
        &state,
        &format!("grids?month=2026-10&unit={community}"),
        "city",
    )
    .await;
    assert!(!features(&u).is_empty() && features(&u).len() < features(&grids).len());
    assert!(features(&u)
        .iter()
        .all(|f| f["properties"]["parent"] == community.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grids_layer_has_the_reports_figures() {
    let (_dir, state) = server().await;
    let grids = layer(&state, "grids?month=2026-10", "city").await;
    let a = send(&state, get("/api/v1/reports/2026-10?format=json", "city")).await;
    assert_eq!(a.status, StatusCode::OK);
    let report = a.json();
    let rows = report["grids"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert_eq!(rows.len(), features(&grids).len());
    for f in features(&grids) {
        let p = &f["properties"];
        let row = rows
            .iter()
            .find(|r| r["code"] == p["code"])
            .expect("every grid is in the report");
        let (layer_cov, report_cov) = (
            p["coverage"].as_f64().unwrap(),
            row["team_coverage"].as_f64().unwrap(),
        );
        assert!(
            (layer_cov - report_cov).abs() < 1e-4,
            "{}: coverage {layer_cov} vs the report's {report_cov}",
            p["code"]
        );
    }
}

/// `crs=gcj02|bd09`: positions at the independent vectors' WGS84 points come back at their
/// expected GCJ-02 / BD-09 positions (to the layers' 6-decimal rounding).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crs_output_matches_the_conversion_vectors() {
    let (_dir, state) = server().await;
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/crs/vectors.csv"),
    )
    .expect("../shared/data/crs/vectors.csv beside the checkout");
    let now = chrono::Utc::now().timestamp_millis() - 60_000;
    let mut cases = Vec::new();
    let mut body = String::new();
    for (i, line) in text.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let (from, to) = (f[0], f[1]);
        let xy: Vec<f64> = f[2..6].iter().map(|x| x.parse().unwrap()).collect();
        if from != "wgs84" || (xy[0] == 0.0 && xy[1] == 0.0) {
            continue;
        }
        let worker = format!("w-{:04}", i + 1);
        body.push_str(&format!(
            "{{\"worker\":\"{worker}\",\"ts\":{now},\"lon\":{},\"lat\":{}}}\n",
            xy[0], xy[1]
        ));
        cases.push((worker, to.to_string(), xy[2], xy[3]));
    }
    assert!(cases.len() >= 5, "the vectors file has WGS84 cases");
    let a = send(
        &state,
        Request::post("/api/v1/pings")
            .header("content-type", "application/x-ndjson")
            .header("authorization", "Bearer admin")
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    for (worker, to, lon, lat) in cases {
        let doc = layer(
            &state,
            &format!("positions?crs={to}&worker={worker}"),
            "city",
        )
        .await;
        let f = features(&doc)
            .iter()
            .find(|f| f["properties"]["worker"] == worker.as_str())
            .unwrap_or_else(|| panic!("{worker}: no position"));
        let c = &f["geometry"]["coordinates"];
        let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        assert!(
            (x - lon).abs() <= 6e-7 && (y - lat).abs() <= 6e-7,
            "{worker} {to}: ({x}, {y}) vs expected ({lon}, {lat})"
        );
        assert_eq!(doc["gridbeat"]["crs"], to.as_str());
    }
}

/// Decodes a tile with the Python `mapbox-vector-tile` package (an independent decoder).
fn decode_tile(bytes: &[u8]) -> Value {
    python_with("mapbox_vector_tile", "mapbox-vector-tile");
    python_json(
        "import sys, json, mapbox_vector_tile as m\n\
         t = m.decode(open(sys.argv[1], 'rb').read())\n\
         print(json.dumps({k: {'extent': v['extent'], 'features': [{'type': f['geometry']['type'], 'properties': f['properties']} for f in v['features']]} for k, v in t.items()}))",
        bytes,
    )
}

/// The tile (x, y) at zoom z holding a lon/lat (Web Mercator, computed here).
fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let r = lat.to_radians();
    let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    (x as u32, y as u32)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_tilejson_and_style() {
    let (_dir, state) = server().await;
    let grids = layer(&state, "grids?month=2026-10", "city").await;
    let f0 = &features(&grids)[0];
    let mut ps = Vec::new();
    positions(&f0["geometry"], &mut ps);
    let (lon, lat) = ps[0];
    let (x, y) = tile_of(lon, lat, 14);
    let a = send(
        &state,
        get(
            &format!("/tiles/grids/14/{x}/{y}.mvt?month=2026-10"),
            "city",
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.headers["content-type"],
        "application/vnd.mapbox-vector-tile"
    );
    let t = decode_tile(&a.body);
    let fs = t["grids"]["features"].as_array().expect("a grids layer");
    assert_eq!(t["grids"]["extent"], 4096);
    assert!(fs
        .iter()
        .any(|f| f["properties"]["code"] == f0["properties"]["code"]));
    assert!(fs
        .iter()
        .all(|f| f["type"] == "Polygon" || f["type"] == "MultiPolygon"));
    // Tracks tile of the same place has walk lines.
    let a = send(
        &state,
        get(
            &format!("/tiles/tracks/14/{x}/{y}.mvt?month=2026-10"),
            "city",
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let t = decode_tile(&a.body);
    assert!(t["tracks"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["properties"]["kind"] == "walk"));
    // Far away: 204, empty body.
    let a = send(&state, get("/tiles/grids/14/0/0.mvt?month=2026-10", "city")).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(a.body.is_empty());
    // Bad coordinates, untiled layer.
    let a = send(&state, get("/tiles/grids/3/9/1.mvt", "city")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = send(&state, get("/tiles/stays/14/1/1.mvt", "city")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // TileJSON 3.0 and the style.
    let a = send(&state, get("/tiles/grids.json?month=2026-10", "city")).await;
    assert_eq!(a.status, StatusCode::OK);
    let tj = a.json();
    assert_eq!(tj["tilejson"], "3.0.0");
    let url = tj["tiles"][0].as_str().unwrap();
    assert!(
        url.contains("/tiles/grids/{z}/{x}/{y}.mvt") && url.contains("month=2026-10"),
        "{url}"
    );
    assert_eq!(tj["vector_layers"][0]["id"], "grids");
    let a = send(&state, get("/api/v1/style.json", "city")).await;
    assert_eq!(a.status, StatusCode::OK);
    let style = a.json();
    assert_eq!(style["version"], 8);
    let sources = style["sources"].as_object().unwrap();
    let layers = style["layers"].as_array().unwrap();
    assert!(!layers.is_empty(), "the style has layers");
    for l in layers {
        if let Some(s) = l["source"].as_str() {
            assert!(
                sources.contains_key(s),
                "layer {} uses a missing source {s}",
                l["id"]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_revalidate_and_bodies_compress() {
    let (_dir, state) = server().await;
    let a = send(&state, get("/api/v1/layers/tracks?month=2026-10", "city")).await;
    let tag = a.headers["etag"].to_str().unwrap().to_string();
    let again = send(
        &state,
        Request::get("/api/v1/layers/tracks?month=2026-10")
            .header("authorization", "Bearer city")
            .header("if-none-match", &tag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    // gzip on request.
    let z = send(
        &state,
        Request::get("/api/v1/layers/tracks?month=2026-10")
            .header("authorization", "Bearer city")
            .header("accept-encoding", "gzip")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(z.headers["content-encoding"], "gzip");
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&z.body[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(plain, a.body);
    assert!(z.body.len() * 3 < a.body.len(), "GeoJSON compresses well");
    // A new ping of a sample day changes the figures, hence the tag.
    let doc: Value = serde_json::from_slice(&a.body).unwrap();
    let walk = features(&doc)
        .iter()
        .find(|f| f["properties"]["kind"] == "walk")
        .unwrap();
    let worker = walk["properties"]["worker"].as_str().unwrap();
    let end = walk["properties"]["end"].as_str().unwrap();
    let ts = chrono::DateTime::parse_from_rfc3339(end)
        .unwrap()
        .timestamp_millis()
        + 60_000;
    let mut ps = Vec::new();
    positions(&walk["geometry"], &mut ps);
    let (lon, lat) = *ps.last().unwrap();
    let body = format!(
        "{{\"worker\":\"{worker}\",\"ts\":{ts},\"lon\":{},\"lat\":{}}}\n",
        lon + 0.0004,
        lat
    );
    let p = send(
        &state,
        Request::post("/api/v1/pings")
            .header("content-type", "application/x-ndjson")
            .header("authorization", "Bearer admin")
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(p.status, StatusCode::OK);
    state.settle().unwrap();
    let b = send(&state, get("/api/v1/layers/tracks?month=2026-10", "city")).await;
    assert_ne!(
        b.headers["etag"].to_str().unwrap(),
        tag,
        "new figures, new tag"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_config_says_what_it_needs() {
    let (_dir, state) = server().await;
    let a = send(
        &state,
        Request::get("/api/v1/config.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let open = a.json();
    assert_eq!(open["auth"], true);
    assert!(open.get("months").is_none(), "no figures without a token");
    let c = send(&state, get("/api/v1/config.json", "community"))
        .await
        .json();
    assert_eq!(c["months"], serde_json::json!(["2026-10"]));
    let b: Vec<f64> = c["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let grids = layer(&state, "grids?month=2026-10", "community").await;
    let gb: Vec<f64> = grids["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    for i in 0..4 {
        assert!(
            (b[i] - gb[i]).abs() < 1e-5,
            "bounds {b:?} vs the grids' bbox {gb:?}"
        );
    }
}

/// The vehicles' layers through the service: the sample's vehicles and routes loaded, their
/// terminal fixes imported and the vehicle-days summarised. `routes` and `vehicle_tracks` are
/// RFC 7946, a community sees only its units' routes and vehicles, and the service's routes of
/// the month are the batch door's (`gridbeat layers routes`, the same `route::vehicle_days`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vehicle_layers_are_rfc7946_scoped_and_the_batch_doors() {
    use gridbeat::store::RegistryFile;
    let (_dir, state) = server().await;
    gridbeat::cli::serve::load_registry_files(
        &state,
        &[
            (RegistryFile::Vehicles, sample::VEHICLES.into()),
            (RegistryFile::Routes, sample::ROUTES.into()),
        ],
    )
    .await
    .unwrap();
    let counts = gridbeat::cli::serve::import_files(
        &*state.store,
        &state.config,
        &[util::sample("vehicle_pings.csv")],
        gridbeat::model::Crs::Wgs84,
    )
    .unwrap();
    assert!(counts.accepted > 0);
    state.settle().unwrap();
    let month = "month=2026-10";
    let community = first_community();
    for name in ["routes", "vehicle_tracks"] {
        let all = layer(&state, &format!("{name}?{month}"), "city").await;
        assert_rfc7946(name, &all);
        assert!(
            !features(&all).is_empty(),
            "{name}: the sample has features"
        );
        let mine = layer(&state, &format!("{name}?{month}"), "community").await;
        assert_rfc7946(name, &mine);
        assert!(features(&mine).len() < features(&all).len(), "{name}");
        for f in features(&mine) {
            let unit = f["properties"]["unit"].as_str().unwrap();
            // Unit codes extend their parent's: the community's subtree only.
            assert!(
                unit.starts_with(&community),
                "{name}: unit {unit} outside {community}"
            );
        }
    }
    // gcj02 works through the one writer.
    let gcj = layer(&state, &format!("routes?{month}&crs=gcj02"), "city").await;
    assert_eq!(gcj["gridbeat"]["crs"], "gcj02");
    // Vehicles are among the positions, with `vehicle` and their plate.
    let pos = layer(&state, "positions", "city").await;
    assert!(features(&pos)
        .iter()
        .any(|f| f["properties"]["vehicle"].is_string() && f["properties"]["plate"].is_string()));

    let out = util::gridbeat()
        .args(["layers", "routes", "--month", "2026-10", "--grids"])
        .arg(util::sample("grids.geojson"))
        .arg("--vehicles")
        .arg(util::sample("vehicles.csv"))
        .arg("--routes")
        .arg(util::sample("routes.geojson"))
        .arg("--vehicle-pings")
        .arg(util::sample("vehicle_pings.csv"))
        .output()
        .unwrap();
    util::assert_success(&out);
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let http = layer(&state, &format!("routes?{month}"), "city").await;
    assert_eq!(cli["features"], http["features"]);
}
