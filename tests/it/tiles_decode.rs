//! Vector tiles checked by an independent decoder: tiles cut from hand-built GeoJSON are
//! decoded by the Python `mapbox-vector-tile` package, and their coordinates compared with a
//! Web Mercator formula written here (not the module's). The style is checked by MapLibre's
//! own validator (`gl-style-validate` of `@maplibre/maplibre-gl-style-spec`).

use std::path::PathBuf;
use std::process::Command;

use gridbeat::tiles::{encode_tile, style, tilejson, PreparedLayer, TileId, BUFFER, EXTENT};
use serde_json::{json, Value};

use crate::util::{python_json, python_with};

/// Beijing, Tiananmen: tile 14/13489/6208.
const Z: u8 = 14;
const TX: u32 = 13489;
const TY: u32 = 6208;

/// Tile coordinates of (lon, lat) in tile (z, x, y): the slippy-map formula with asinh.
fn tile_xy(lon: f64, lat: f64, z: u8, x: u32, y: u32) -> [f64; 2] {
    let world = 2f64.powi(i32::from(z)) * 4096.0;
    let px = (lon + 180.0) / 360.0 * world - f64::from(x) * 4096.0;
    let lat = lat.to_radians();
    let py = (1.0 - lat.tan().asinh() / std::f64::consts::PI) / 2.0 * world - f64::from(y) * 4096.0;
    [px, py]
}

/// The inverse: (lon, lat) of tile coordinates.
fn lonlat(px: f64, py: f64, z: u8, x: u32, y: u32) -> [f64; 2] {
    let world = 2f64.powi(i32::from(z)) * 4096.0;
    let lon = (f64::from(x) * 4096.0 + px) / world * 360.0 - 180.0;
    let my = (f64::from(y) * 4096.0 + py) / world;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * my))
        .sinh()
        .atan()
        .to_degrees();
    [lon, lat]
}

/// Decodes a tile with the Python decoder, tile coordinates kept as stored (y down).
fn decode(tile: &[u8]) -> Value {
    python_with("mapbox_vector_tile", "mapbox-vector-tile");
    let script = "import sys, json, mapbox_vector_tile\n\
                  data = open(sys.argv[1], 'rb').read()\n\
                  print(json.dumps(mapbox_vector_tile.decode(data, default_options={'y_coord_down': True})))";
    python_json(script, tile)
}

fn collection(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features})
}

fn close(a: &Value, b: [f64; 2]) -> bool {
    let (x, y) = (a[0].as_f64().unwrap(), a[1].as_f64().unwrap());
    (x - b[0]).abs() <= 1.0 && (y - b[1]).abs() <= 1.0
}

/// Twice the signed area by the MVT spec's formula, y down.
fn area2(ring: &[Value]) -> f64 {
    let p: Vec<[f64; 2]> = ring
        .iter()
        .map(|c| [c[0].as_f64().unwrap(), c[1].as_f64().unwrap()])
        .collect();
    (0..p.len())
        .map(|i| {
            let (a, b) = (p[i], p[(i + 1) % p.len()]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

fn tile() -> TileId {
    TileId::new(Z, TX, TY).unwrap()
}

#[test]
fn a_square_polygon_and_a_square_with_a_hole() {
    // Corners chosen in tile units, turned into lon/lat by this test's own inverse.
    let corner = |px, py| lonlat(px, py, Z, TX, TY);
    let ring = |a: f64, b: f64| {
        // Counter-clockwise in lon/lat, as RFC 7946 has exteriors.
        vec![
            corner(a, b),
            corner(a, a),
            corner(b, a),
            corner(b, b),
            corner(a, b),
        ]
    };
    let square = ring(1000.0, 3000.0);
    let mut hole = ring(1500.0, 2500.0);
    hole.reverse();
    let fc = collection(vec![
        json!({"type": "Feature", "id": 7, "geometry": {"type": "Polygon", "coordinates": [square]},
               "properties": {"code": "G1", "coverage": 0.5, "score": null, "workers": ["w1", "w2"]}}),
        json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring(100.0, 3900.0), hole]},
               "properties": {"code": "G2"}}),
    ]);
    let bytes = encode_tile("grids", &fc, tile()).unwrap().unwrap();
    let decoded = decode(&bytes);
    let layer = &decoded["grids"];
    assert_eq!(layer["extent"], 4096);
    let features = layer["features"].as_array().unwrap();
    assert_eq!(features.len(), 2);

    let f = &features[0];
    assert_eq!(f["id"], 7);
    assert_eq!(f["geometry"]["type"], "Polygon");
    assert_eq!(
        f["properties"],
        json!({"code": "G1", "coverage": 0.5, "workers": "[\"w1\",\"w2\"]"})
    );
    let rings = f["geometry"]["coordinates"].as_array().unwrap();
    assert_eq!(rings.len(), 1);
    let r = rings[0].as_array().unwrap();
    assert_eq!(r.len(), 5, "{r:?}");
    for c in &r[..4] {
        let hit = [
            [1000.0, 1000.0],
            [1000.0, 3000.0],
            [3000.0, 1000.0],
            [3000.0, 3000.0],
        ]
        .iter()
        .any(|e| close(c, *e));
        assert!(hit, "vertex {c:?} is no corner");
    }
    assert!(
        area2(&r[..4]) > 0.0,
        "exterior must be clockwise with y down"
    );

    let rings = features[1]["geometry"]["coordinates"].as_array().unwrap();
    assert_eq!(rings.len(), 2, "exterior and hole: {rings:?}");
    assert!(area2(&rings[0].as_array().unwrap()[..4]) > 0.0);
    assert!(
        area2(&rings[1].as_array().unwrap()[..4]) < 0.0,
        "holes turn the other way"
    );
    for c in &rings[1].as_array().unwrap()[..4] {
        let hit = [
            [1500.0, 1500.0],
            [1500.0, 2500.0],
            [2500.0, 1500.0],
            [2500.0, 2500.0],
        ]
        .iter()
        .any(|e| close(c, *e));
        assert!(hit, "hole vertex {c:?}");
    }
}

#[test]
fn a_polygon_crossing_the_tile_edge_is_clipped_at_the_buffer() {
    let corner = |px, py| lonlat(px, py, Z, TX, TY);
    let square = vec![
        corner(3000.0, 3000.0),
        corner(3000.0, 6000.0),
        corner(6000.0, 6000.0),
        corner(6000.0, 3000.0),
        corner(3000.0, 3000.0),
    ];
    let fc = collection(vec![json!({"type": "Feature", "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [square]}})]);
    let decoded = decode(&encode_tile("grids", &fc, tile()).unwrap().unwrap());
    let r = decoded["grids"]["features"][0]["geometry"]["coordinates"][0]
        .as_array()
        .unwrap()
        .clone();
    let edge = f64::from(EXTENT + BUFFER);
    for c in &r {
        let hit = [
            [3000.0, 3000.0],
            [3000.0, edge],
            [edge, 3000.0],
            [edge, edge],
        ]
        .iter()
        .any(|e| close(c, *e));
        assert!(hit, "vertex {c:?}");
    }
    assert!(area2(&r[..r.len() - 1]) > 0.0);
}

#[test]
fn a_line_crossing_two_tiles_is_in_both_up_to_the_buffer() {
    let a = lonlat(3000.0, 1000.0, Z, TX, TY);
    let b = lonlat(5000.0, 1500.0, Z, TX, TY); // in the next tile east
    let fc = collection(vec![json!({"type": "Feature",
        "properties": {"kind": "gap", "worker": "w1", "gap_m": 212.5},
        "geometry": {"type": "LineString", "coordinates": [a, b]}})]);
    let prepared = PreparedLayer::from_geojson(&fc)
        .unwrap()
        .with_name("tracks");
    let west = decode(&prepared.encode(tile()).unwrap().unwrap());
    let east_tile = TileId::new(Z, TX + 1, TY).unwrap();
    let east = decode(&prepared.encode(east_tile).unwrap().unwrap());

    // Where the segment crosses a vertical line x = c, in tile units of the west tile.
    let pa = tile_xy(a[0], a[1], Z, TX, TY);
    let pb = tile_xy(b[0], b[1], Z, TX, TY);
    let at_x = |c: f64| [c, pa[1] + (pb[1] - pa[1]) * (c - pa[0]) / (pb[0] - pa[0])];

    let f = &west["tracks"]["features"][0];
    assert_eq!(west["tracks"]["features"].as_array().unwrap().len(), 1);
    assert_eq!(f["geometry"]["type"], "LineString");
    assert_eq!(
        f["properties"],
        json!({"kind": "gap", "worker": "w1", "gap_m": 212.5})
    );
    let c = f["geometry"]["coordinates"].as_array().unwrap();
    assert_eq!(c.len(), 2);
    assert!(close(&c[0], pa), "{:?} vs {pa:?}", c[0]);
    assert!(
        close(&c[1], at_x(4160.0)),
        "{:?} vs {:?}",
        c[1],
        at_x(4160.0)
    );

    let c = east["tracks"]["features"][0]["geometry"]["coordinates"]
        .as_array()
        .unwrap()
        .clone();
    let pb_east = tile_xy(b[0], b[1], Z, TX + 1, TY);
    let entry = at_x(4096.0 - 64.0);
    assert!(
        close(&c[0], [entry[0] - 4096.0, entry[1]]),
        "{:?} vs {entry:?}",
        c[0]
    );
    assert!(close(&c[1], pb_east), "{:?} vs {pb_east:?}", c[1]);

    // Two tiles further east nothing touches.
    let far = TileId::new(Z, TX + 3, TY).unwrap();
    assert!(prepared.encode(far).unwrap().is_none());
}

#[test]
fn points_carry_every_property_type() {
    let p = lonlat(1234.0, 2345.0, Z, TX, TY);
    let fc = collection(vec![
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": p},
        "properties": {"s": "网格 A", "f": 1.5, "u": 42, "i": -7, "b": true, "n": null,
                       "a": ["G1", "G2"], "o": {"k": 1}}}),
    ]);
    let decoded = decode(&encode_tile("stays", &fc, tile()).unwrap().unwrap());
    let f = &decoded["stays"]["features"][0];
    assert_eq!(f["geometry"]["type"], "Point");
    assert!(
        close(&f["geometry"]["coordinates"], [1234.0, 2345.0]),
        "{f}"
    );
    let props = f["properties"].as_object().unwrap();
    assert_eq!(props.len(), 7, "null is left out: {props:?}");
    assert_eq!(props["s"], "网格 A");
    assert_eq!(props["f"], 1.5);
    assert_eq!(props["u"], 42);
    assert_eq!(props["i"], -7);
    assert_eq!(props["b"], true);
    assert_eq!(props["a"], "[\"G1\",\"G2\"]");
    assert_eq!(props["o"], "{\"k\":1}");
}

#[test]
fn the_buffer_keeps_near_points_and_drops_far_ones() {
    let point = |px, py| {
        let p = lonlat(px, py, Z, TX, TY);
        collection(vec![json!({"type": "Feature", "properties": {"k": 1},
            "geometry": {"type": "Point", "coordinates": p}})])
    };
    let decoded = decode(
        &encode_tile("p", &point(-30.0, 2000.0), tile())
            .unwrap()
            .unwrap(),
    );
    let c = &decoded["p"]["features"][0]["geometry"]["coordinates"];
    assert!(close(c, [-30.0, 2000.0]), "{c}");
    assert!(encode_tile("p", &point(-100.0, 2000.0), tile())
        .unwrap()
        .is_none());
    assert!(encode_tile("p", &point(2000.0, 4096.0 + 100.0), tile())
        .unwrap()
        .is_none());
}

#[test]
fn empty_tiles_are_none_and_bad_input_is_an_error() {
    // The layer name of a prepared layer comes from the contract's foreign member.
    let mut fc = collection(vec![json!({"type": "Feature", "properties": {},
        "geometry": {"type": "Point", "coordinates": lonlat(10.0, 10.0, Z, TX, TY)}})]);
    fc["gridbeat"] = json!({"layer": "stays", "crs": "wgs84", "period": null});
    let prepared = PreparedLayer::from_geojson(&fc).unwrap();
    assert_eq!(prepared.name(), "stays");
    assert!(decode(&prepared.encode(tile()).unwrap().unwrap())["stays"].is_object());

    assert!(encode_tile("grids", &collection(vec![]), tile())
        .unwrap()
        .is_none());
    let elsewhere = collection(vec![json!({"type": "Feature", "properties": {},
        "geometry": {"type": "Point", "coordinates": [0.0, 0.0]}})]);
    assert!(encode_tile("grids", &elsewhere, tile()).unwrap().is_none());
    let null_geometry = collection(vec![
        json!({"type": "Feature", "properties": {}, "geometry": null}),
    ]);
    assert!(encode_tile("grids", &null_geometry, tile())
        .unwrap()
        .is_none());
    let err = encode_tile("grids", &json!({"type": "Feature"}), tile()).unwrap_err();
    assert_eq!(err.code(), "not_a_feature_collection");
    let bad = collection(vec![json!({"type": "Feature", "properties": {},
        "geometry": {"type": "Point", "coordinates": ["a", 1]}})]);
    assert_eq!(
        encode_tile("grids", &bad, tile()).unwrap_err().code(),
        "invalid_geometry"
    );
}

#[test]
fn tilejson_3() {
    let url = "http://host/tiles/grids/{z}/{x}/{y}.mvt?month=2026-10";
    let t = tilejson("grids", url, [116.2, 39.8, 116.5, 40.0], 0, 16);
    assert_eq!(t["tilejson"], "3.0.0");
    assert_eq!(t["tiles"], json!([url]));
    assert_eq!(t["minzoom"], 0);
    assert_eq!(t["maxzoom"], 16);
    let vl = t["vector_layers"].as_array().unwrap();
    assert_eq!(vl.len(), 1);
    assert_eq!(vl[0]["id"], "grids");
    assert_eq!(vl[0]["fields"]["code"], "String");
    assert_eq!(vl[0]["fields"]["patrol_s"], "Number");
    let t = tilejson("tracks", url, [116.2, 39.8, 116.5, 40.0], 2, 18);
    assert_eq!(t["vector_layers"][0]["fields"]["kind"], "String");
}

/// MapLibre's own style validator, installed with npm on first use. A machine without npm
/// fails the test (it must not pass by skipping).
fn validator() -> PathBuf {
    let npm_ok = Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        npm_ok,
        "npm is not installed: install Node.js with npm (`apt-get install nodejs npm`, as \
         .ci/run does) to check the styles with MapLibre's gl-style-validate"
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("npm-style-spec");
    let bin = dir.join("node_modules/.bin/gl-style-validate");
    if !bin.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("@maplibre/maplibre-gl-style-spec")
            .status()
            .expect("npm runs");
        assert!(
            status.success(),
            "npm install @maplibre/maplibre-gl-style-spec failed"
        );
    }
    bin
}

#[test]
fn the_style_is_valid_maplibre() {
    let s = style(
        "http://127.0.0.1:8080",
        "month=2026-10&unit=110101",
        [116.2, 39.8, 116.5, 40.0],
    );
    assert_eq!(s["version"], 8);
    assert!(s.get("glyphs").is_none());
    let sources = s["sources"].as_object().unwrap();
    for name in gridbeat::tiles::TILED_LAYERS {
        assert_eq!(sources[name]["type"], "vector");
        let url = sources[name]["tiles"][0].as_str().unwrap();
        assert_eq!(
            url,
            format!("http://127.0.0.1:8080/tiles/{name}/{{z}}/{{x}}/{{y}}.mvt?month=2026-10&unit=110101")
        );
    }
    let layers = s["layers"].as_array().unwrap();
    assert_eq!(layers[0]["type"], "background");
    for layer in layers {
        assert_ne!(layer["type"], "symbol");
        if layer["type"] != "background" {
            let src = layer["source"].as_str().unwrap();
            assert!(
                sources.contains_key(src),
                "layer {} names source {src}",
                layer["id"]
            );
        }
    }
    let bin = validator();
    let dir = tempfile::tempdir().unwrap();
    for (i, s) in [s, style("http://h/", "", [0.0; 4])].iter().enumerate() {
        let path = dir.path().join(format!("style{i}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(s).unwrap()).unwrap();
        let out = Command::new(&bin)
            .arg(&path)
            .output()
            .expect("gl-style-validate runs");
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "gl-style-validate: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
