//! TileJSON 3.0.0 for one tiled layer and the MapLibre style (v8) of the map page.
//!
//! The style has no `glyphs` and no `sprite`, so no symbol layer and no font server: it
//! renders offline with the tiles of this service alone.

use serde_json::{json, Map, Value};

use super::TILED_LAYERS;

/// The TileJSON field type of a property (what MapLibre's inspectors show).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Number,
    String,
    Boolean,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Number => "Number",
            Field::String => "String",
            Field::Boolean => "Boolean",
        }
    }
}

/// The properties of each layer (the layers contract); arrays are encoded as their JSON text,
/// so they are strings in a tile.
fn fields(layer: &str) -> &'static [(&'static str, Field)] {
    use Field::{Boolean as B, Number as N, String as S};
    match layer {
        "grids" => &[
            ("code", S),
            ("name", S),
            ("parent", S),
            ("parent_name", S),
            ("workers", S),
            ("area_m2", N),
            ("coverage", N),
            ("covered_m2", N),
            ("attainable", N),
            ("score", N),
            ("patrol_s", N),
        ],
        "units" => &[
            ("code", S),
            ("name", S),
            ("level", S),
            ("parent", S),
            ("grids", N),
            ("workers", N),
            ("area_m2", N),
            ("coverage", N),
            ("score", N),
        ],
        "tracks" => &[
            ("kind", S),
            ("worker", S),
            ("name", S),
            ("day", S),
            ("length_m", N),
            ("patrol_s", N),
            ("segments", N),
            ("start", S),
            ("end", S),
            ("gap_m", N),
        ],
        "coverage" => &[("kind", S), ("grid", S), ("worker", S), ("share", N)],
        "stays" => &[
            ("worker", S),
            ("name", S),
            ("day", S),
            ("start", S),
            ("end", S),
            ("duration_s", N),
            ("pings", N),
            ("grid", S),
        ],
        "visits" => &[
            ("checkpoint", S),
            ("name", S),
            ("worker", S),
            ("start", S),
            ("end", S),
            ("duration_s", N),
            ("via", S),
        ],
        "checkpoints" => &[
            ("code", S),
            ("name", S),
            ("kind", S),
            ("grid", S),
            ("visits_per_month", N),
            ("visits", N),
            ("compliance", N),
        ],
        "positions" => &[
            ("worker", S),
            ("name", S),
            ("ts", S),
            ("age_s", N),
            ("acc_m", N),
            ("grid", S),
            ("assigned", S),
            ("in_grid", B),
        ],
        "heat" => &[("patrol_s", N), ("cell", S)],
        _ => &[],
    }
}

fn description(layer: &str) -> &'static str {
    match layer {
        "grids" => "Grids with team coverage, score and patrol time over the period",
        "tracks" => "Worker-day tracks (kind walk) and the gaps between their segments (kind gap)",
        "coverage" => "Covered and uncovered parts of each grid",
        "heat" => "Patrol time per square cell",
        _ => "",
    }
}

/// The centre `[lon, lat]` of `[w, s, e, n]`, and a zoom that shows it whole on a screen
/// of about 800 pixels.
fn center(bounds: [f64; 4]) -> ([f64; 2], f64) {
    let [w, s, e, n] = bounds;
    let span = (e - w).max((n - s) * 1.3).max(1e-6);
    let zoom = (800.0 * 360.0 / (span * 512.0))
        .log2()
        .clamp(0.0, 18.0)
        .floor();
    ([(w + e) / 2.0, (s + n) / 2.0], zoom)
}

fn valid_bounds(bounds: [f64; 4]) -> bool {
    bounds.iter().all(|v| v.is_finite()) && bounds[0] < bounds[2] && bounds[1] < bounds[3]
}

/// TileJSON 3.0.0 of one layer's tiles: `tiles_url` is the tile template with `{z}/{x}/{y}`
/// (and the filters as its query), `bounds` `[w, s, e, n]` in degrees.
pub fn tilejson(layer: &str, tiles_url: &str, bounds: [f64; 4], minzoom: u8, maxzoom: u8) -> Value {
    let fields: Map<String, Value> = fields(layer)
        .iter()
        .map(|(k, t)| ((*k).to_string(), Value::from(t.name())))
        .collect();
    let bounds = if valid_bounds(bounds) {
        bounds
    } else {
        [-180.0, -85.051_128_779_806_59, 180.0, 85.051_128_779_806_59]
    };
    let (c, zoom) = center(bounds);
    let zoom = zoom.clamp(f64::from(minzoom), f64::from(maxzoom));
    json!({
        "tilejson": "3.0.0",
        "name": format!("gridbeat {layer}"),
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [c[0], c[1], zoom],
        "vector_layers": [{
            "id": layer,
            "description": description(layer),
            "fields": fields,
            "minzoom": minzoom,
            "maxzoom": maxzoom,
        }],
    })
}

/// Highest zoom the style's sources request; MapLibre over-zooms beyond it.
const SOURCE_MAXZOOM: u8 = 16;

/// The MapLibre style (v8) of the map page: one vector source per tiled layer at
/// `{base_url}/tiles/{layer}/{z}/{x}/{y}.mvt?{query}`, and the layers, bottom to top:
/// background, heat (hidden until the page shows it), grids coloured by coverage, uncovered
/// parts, grid outlines, track gaps (dashed), track walks.
pub fn style(base_url: &str, query: &str, bounds: [f64; 4]) -> Value {
    let base = base_url.trim_end_matches('/');
    let query = query.trim_start_matches('?');
    let mut sources = Map::new();
    for layer in TILED_LAYERS {
        let mut url = format!("{base}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt");
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        let mut source = json!({
            "type": "vector",
            "tiles": [url],
            "minzoom": 0,
            "maxzoom": SOURCE_MAXZOOM,
        });
        if valid_bounds(bounds) {
            source["bounds"] = json!(bounds);
        }
        sources.insert(layer.to_string(), source);
    }
    let (c, zoom) = if valid_bounds(bounds) {
        center(bounds)
    } else {
        ([0.0, 0.0], 1.0)
    };
    let red = "#d73027";
    json!({
        "version": 8,
        "name": "gridbeat",
        "center": c,
        "zoom": zoom,
        "sources": sources,
        "layers": [
            {
                "id": "background",
                "type": "background",
                "paint": {"background-color": "#f2efe9"}
            },
            {
                "id": "heat",
                "type": "fill",
                "source": "heat",
                "source-layer": "heat",
                "layout": {"visibility": "none"},
                "paint": {
                    "fill-color": [
                        "interpolate", ["linear"], ["coalesce", ["get", "patrol_s"], 0],
                        0, "#ffffcc",
                        600, "#fed976",
                        1800, "#fd8d3c",
                        3600, "#e31a1c",
                        14400, "#800026"
                    ],
                    "fill-opacity": 0.6
                }
            },
            {
                "id": "grids-fill",
                "type": "fill",
                "source": "grids",
                "source-layer": "grids",
                "paint": {
                    // A grid without a coverage figure (null, left out of the tile) is grey.
                    "fill-color": [
                        "case",
                        ["==", ["typeof", ["get", "coverage"]], "number"],
                        [
                            "interpolate", ["linear"], ["get", "coverage"],
                            0, red,
                            0.5, "#fee08b",
                            1, "#1a9850"
                        ],
                        "#9e9e9e"
                    ],
                    "fill-opacity": 0.45
                }
            },
            {
                "id": "coverage-uncovered",
                "type": "fill",
                "source": "coverage",
                "source-layer": "coverage",
                "filter": ["==", ["get", "kind"], "uncovered"],
                "paint": {
                    "fill-color": red,
                    "fill-opacity": 0.35,
                    "fill-outline-color": red
                }
            },
            {
                "id": "grids-outline",
                "type": "line",
                "source": "grids",
                "source-layer": "grids",
                "layout": {"line-join": "round"},
                "paint": {
                    "line-color": "#37474f",
                    "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.5, 16, 2]
                }
            },
            {
                "id": "tracks-gap",
                "type": "line",
                "source": "tracks",
                "source-layer": "tracks",
                "filter": ["==", ["get", "kind"], "gap"],
                "paint": {
                    "line-color": "#616161",
                    "line-width": 1.5,
                    "line-dasharray": [2, 2]
                }
            },
            {
                "id": "tracks-walk",
                "type": "line",
                "source": "tracks",
                "source-layer": "tracks",
                "filter": ["==", ["get", "kind"], "walk"],
                "layout": {"line-cap": "round", "line-join": "round"},
                "paint": {
                    "line-color": "#1565c0",
                    "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1, 16, 3]
                }
            }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_layers_name_existing_sources() {
        let s = style(
            "http://h:8080/",
            "?month=2026-10",
            [116.3, 39.8, 116.5, 40.0],
        );
        assert_eq!(s["version"], 8);
        assert!(s.get("glyphs").is_none() && s.get("sprite").is_none());
        let url = s["sources"]["grids"]["tiles"][0].as_str().unwrap();
        assert_eq!(
            url,
            "http://h:8080/tiles/grids/{z}/{x}/{y}.mvt?month=2026-10"
        );
        for layer in s["layers"].as_array().unwrap() {
            assert_ne!(layer["type"], "symbol");
            if let Some(src) = layer["source"].as_str() {
                assert!(s["sources"].get(src).is_some(), "{src}");
                assert_eq!(layer["source-layer"], src);
            }
        }
        let s = style("http://h", "", [0.0; 4]);
        assert!(s["sources"]["heat"]["tiles"][0]
            .as_str()
            .unwrap()
            .ends_with(".mvt"));
        assert!(s["sources"]["heat"].get("bounds").is_none());
    }

    #[test]
    fn tilejson_lists_the_layer_fields() {
        let t = tilejson(
            "grids",
            "http://h/t/{z}/{x}/{y}.mvt",
            [116.0, 39.0, 117.0, 40.0],
            0,
            16,
        );
        assert_eq!(t["tilejson"], "3.0.0");
        assert_eq!(t["vector_layers"][0]["id"], "grids");
        assert_eq!(t["vector_layers"][0]["fields"]["coverage"], "Number");
        assert_eq!(t["vector_layers"][0]["fields"]["workers"], "String");
        let z = t["center"][2].as_f64().unwrap();
        assert!((0.0..=16.0).contains(&z));
    }
}
