//! The map layers (src/layers) on the sample city: every layer is valid RFC 7946 by a checker
//! written here (ring closure, orientation by signed area, ranges, bbox, geometry types, no
//! `crs`), every filter narrows what it should (worker, unit, period, bbox, scope), the output
//! CRS matches the published conversion vectors, the grid figures agree with the report, gaps
//! join consecutive segments, and the batch door gives exactly what `layers::build` gives.
//! The vehicles' layers (`routes`, `vehicle_tracks`) on the sample's vehicles, routes and
//! terminal fixes: valid, scoped, and the routes' figures those of the report's route rows.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use gridbeat::assess::{Assessor, WorkerDay};
use gridbeat::config::Config;
use gridbeat::layers::{self, Everything, Extras, Filter, Layer, Scope};
use gridbeat::model::Position;
use gridbeat::model::{Crs, Month, Period, Ping};
use serde_json::Value;

use gridbeat::cli::vehicles::{VehicleFiles, Vehicles};

use crate::util::{
    assert_success, assessor_with, gridbeat, read, read_json, read_sample, sample, sample_assessor,
    shared,
};

const MONTH: &str = "2026-10";
/// 2026-11-01T00:00:00+08:00.
const NOW: &str = "2026-11-01T00:00:00+08:00";

struct City {
    assessor: Assessor,
    days: Vec<WorkerDay>,
    /// The sample's vehicles, routes, terminal fixes and vehicle-days of the month, read as
    /// the batch door reads them.
    vehicles: Vehicles,
    latest: Vec<Ping>,
    /// Unit code → parent code, read from grids.geojson here.
    parent: BTreeMap<String, Option<String>>,
    /// Worker id → assigned grid codes, read from workers.csv here.
    assigned: BTreeMap<String, BTreeSet<String>>,
}

fn month() -> Period {
    MONTH.parse::<Month>().unwrap().period()
}

/// The sample's pings of the month, summarised by the batch door.
fn month_summaries(assessor: &Assessor) -> gridbeat::batch::Summaries {
    gridbeat::batch::summarize_files(
        assessor,
        &[sample("pings.csv")],
        Crs::Wgs84,
        None,
        Some(month()),
    )
    .unwrap()
}

fn city() -> &'static City {
    static CITY: OnceLock<City> = OnceLock::new();
    CITY.get_or_init(|| {
        let registry = gridbeat::cli::load_registry(
            &sample("grids.geojson"),
            Some(&sample("workers.csv")),
            Some(&sample("checkpoints.geojson")),
            Crs::Wgs84,
            false,
        )
        .unwrap();
        let assessor = assessor_with(registry, Config::default());
        let s = month_summaries(&assessor);
        let grids = read_json(&sample("grids.geojson"));
        let parent = grids["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let p = &f["properties"];
                (
                    p["code"].as_str().unwrap().to_string(),
                    p["parent"].as_str().map(String::from),
                )
            })
            .collect();
        let mut assigned: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for line in read_sample("workers.csv").lines().skip(1) {
            let cols: Vec<&str> = line.split(',').collect();
            assigned
                .entry(cols[0].to_string())
                .or_default()
                .insert(cols[2].trim().to_string());
        }
        let vehicles = vehicle_files()
            .read(
                &assessor.registry,
                Crs::Wgs84,
                Some(month()),
                assessor.tz,
                &Config::default().route,
                false,
            )
            .unwrap()
            .unwrap();
        City {
            assessor,
            days: s.days,
            vehicles,
            latest: s.latest,
            parent,
            assigned,
        }
    })
}

/// The sample's vehicle files, as `--vehicles --routes --vehicle-pings` name them.
fn vehicle_files() -> VehicleFiles {
    VehicleFiles {
        vehicles: Some(sample("vehicles.csv")),
        routes: Some(sample("routes.geojson")),
        vehicle_pings: vec![sample("vehicle_pings.csv").display().to_string()],
    }
}

/// The workers' latest pings and the vehicles' (as `gridbeat layers` takes both).
fn positions() -> Vec<Position> {
    let mut out = gridbeat::cli::layers::positions(&city().latest);
    let mut latest: BTreeMap<&str, &Ping> = BTreeMap::new();
    for p in &city().vehicles.pings {
        let e = latest.entry(p.worker.as_str()).or_insert(p);
        if p.ts > e.ts {
            *e = p;
        }
    }
    out.extend(latest.into_values().map(Position::from));
    out
}

fn now_ms() -> i64 {
    gridbeat::model::parse_timestamp(NOW).unwrap()
}

fn scores() -> Option<BTreeMap<String, f64>> {
    let c = city();
    gridbeat::cli::layers::scores(&c.assessor, &c.days, Some(month()), None).unwrap()
}

/// Calls `f` with the extras every layer of the sample month is built with: the month's
/// scores, the latest positions, "now" after the month.
fn with_extras<R>(f: impl FnOnce(&Extras) -> R) -> R {
    let pos = positions();
    let scores = scores();
    f(&Extras {
        attainable: None,
        scores: scores.as_ref(),
        positions: &pos,
        now_ms: now_ms(),
        fleet: Some(&city().vehicles.fleet),
        vehicle_days: &city().vehicles.days,
        vehicle_pings: &city().vehicles.pings,
        route: Config::default().route,
    })
}

fn build_with(layer: Layer, filter: &Filter, scope: &dyn Scope) -> Value {
    let c = city();
    with_extras(|extras| layers::build(layer, &c.assessor, &c.days, extras, filter, scope).unwrap())
}

fn build(layer: Layer, filter: &Filter) -> Value {
    build_with(layer, filter, &Everything)
}

fn month_filter() -> Filter {
    Filter {
        period: Some(month()),
        ..Filter::default()
    }
}

fn features(doc: &Value) -> &Vec<Value> {
    doc["features"].as_array().unwrap()
}

fn pt(c: &Value) -> (f64, f64) {
    let a = c.as_array().expect("a position is an array");
    assert_eq!(a.len(), 2, "positions are [lon, lat]: {c}");
    (a[0].as_f64().unwrap(), a[1].as_f64().unwrap())
}

/// Every position of a geometry.
fn coords(g: &Value) -> Vec<(f64, f64)> {
    let c = &g["coordinates"];
    match g["type"].as_str().unwrap() {
        "Point" => vec![pt(c)],
        "LineString" | "MultiPoint" => c.as_array().unwrap().iter().map(pt).collect(),
        "MultiLineString" | "Polygon" => c
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|l| l.as_array().unwrap().iter().map(pt))
            .collect(),
        "MultiPolygon" => c
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p.as_array().unwrap().iter())
            .flat_map(|l| l.as_array().unwrap().iter().map(pt))
            .collect(),
        other => panic!("unexpected geometry {other}"),
    }
}

/// Twice the signed area of a ring (shoelace, positive counter-clockwise).
fn signed_area2(ring: &[(f64, f64)]) -> f64 {
    ring.windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum()
}

fn check_rings(poly: &Value, what: &str) {
    for (k, ring) in poly.as_array().unwrap().iter().enumerate() {
        let r: Vec<(f64, f64)> = ring.as_array().unwrap().iter().map(pt).collect();
        assert!(r.len() >= 4, "{what}: ring {k} has {} positions", r.len());
        assert_eq!(r.first(), r.last(), "{what}: ring {k} is not closed");
        let a = signed_area2(&r);
        if k == 0 {
            assert!(
                a > 0.0,
                "{what}: exterior ring is not counter-clockwise ({a})"
            );
        } else {
            assert!(a < 0.0, "{what}: hole {k} is not clockwise ({a})");
        }
    }
}

/// The independent RFC 7946 checker.
fn check_rfc7946(doc: &Value, layer: Layer) {
    let what = layer.name();
    assert_eq!(doc["type"], "FeatureCollection", "{what}");
    assert!(
        doc.get("crs").is_none(),
        "{what}: RFC 7946 has no crs member"
    );
    assert_eq!(doc["gridbeat"]["layer"], what);
    let allowed: &[&str] = match layer {
        Layer::Grids | Layer::Units | Layer::Coverage | Layer::Heat => &["Polygon", "MultiPolygon"],
        Layer::Tracks => &["LineString", "MultiLineString"],
        Layer::Routes | Layer::VehicleTracks => &["LineString"],
        _ => &["Point"],
    };
    let fs = features(doc);
    let mut all = Vec::new();
    for (n, f) in fs.iter().enumerate() {
        let at = format!("{what} feature #{n}");
        assert_eq!(f["type"], "Feature", "{at}");
        assert!(f.get("crs").is_none(), "{at}");
        assert!(f["properties"].is_object(), "{at}");
        let g = &f["geometry"];
        let ty = g["type"].as_str().unwrap();
        assert!(allowed.contains(&ty), "{at}: {ty} not allowed");
        match ty {
            "Polygon" => check_rings(&g["coordinates"], &at),
            "MultiPolygon" => {
                for p in g["coordinates"].as_array().unwrap() {
                    check_rings(p, &at);
                }
            }
            "LineString" => assert!(g["coordinates"].as_array().unwrap().len() >= 2, "{at}"),
            "MultiLineString" => {
                for l in g["coordinates"].as_array().unwrap() {
                    assert!(l.as_array().unwrap().len() >= 2, "{at}");
                }
            }
            _ => {}
        }
        for (lon, lat) in coords(g) {
            assert!((-180.0..=180.0).contains(&lon), "{at}: lon {lon}");
            assert!((-90.0..=90.0).contains(&lat), "{at}: lat {lat}");
            for x in [lon, lat] {
                let scaled = x * 1e6;
                assert!(
                    (scaled - scaled.round()).abs() < 1e-6,
                    "{at}: {x} has more than 6 decimals"
                );
            }
            all.push((lon, lat));
        }
    }
    if fs.is_empty() {
        assert!(doc.get("bbox").is_none(), "{what}: bbox without features");
    } else {
        let b: Vec<f64> = doc["bbox"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: no bbox"))
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(b.len(), 4);
        for (lon, lat) in all {
            assert!(
                lon >= b[0] && lon <= b[2] && lat >= b[1] && lat <= b[3],
                "{what}: ({lon}, {lat}) outside the bbox {b:?}"
            );
        }
    }
}

#[test]
fn every_layer_is_valid_rfc7946_and_not_empty() {
    for layer in Layer::ALL {
        let doc = build(layer, &month_filter());
        check_rfc7946(&doc, layer);
        assert!(!features(&doc).is_empty(), "{} is empty", layer.name());
        for crs in [Crs::Gcj02, Crs::Bd09] {
            let f = Filter {
                crs,
                ..month_filter()
            };
            check_rfc7946(&build(layer, &f), layer);
        }
    }
}

#[test]
fn the_worker_filter_keeps_that_workers_features_only() {
    let w = "w-0001";
    let f = Filter {
        worker: Some(w.into()),
        ..month_filter()
    };
    for layer in [
        Layer::Tracks,
        Layer::Stays,
        Layer::Visits,
        Layer::Positions,
        Layer::Coverage,
    ] {
        let all = build(layer, &month_filter());
        let doc = build(layer, &f);
        check_rfc7946(&doc, layer);
        assert!(!features(&doc).is_empty(), "{}", layer.name());
        assert!(
            features(&doc).len() < features(&all).len(),
            "{} did not narrow",
            layer.name()
        );
        for feat in features(&doc) {
            assert_eq!(feat["properties"]["worker"], w, "{}", layer.name());
        }
    }
    let grids = build(Layer::Grids, &f);
    assert!(!features(&grids).is_empty());
    for g in features(&grids) {
        let code = g["properties"]["code"].as_str().unwrap();
        assert!(city().assigned[w].contains(code), "{code}");
        assert!(g["properties"]["workers"]
            .as_array()
            .unwrap()
            .contains(&Value::from(w)));
    }
    // Heat conserves time: the worker's cells add up to the worker's patrol time.
    let heat: f64 = features(&build(Layer::Heat, &f))
        .iter()
        .map(|c| c["properties"]["patrol_s"].as_f64().unwrap())
        .sum();
    let patrol: f64 = city()
        .days
        .iter()
        .filter(|d| d.worker.as_str() == w && month().contains(d.day))
        .map(|d| d.patrol_s)
        .sum();
    let cells = features(&build(Layer::Heat, &f)).len() as f64;
    assert!(
        (heat - patrol).abs() <= 0.05 * cells + 1e-6,
        "{heat} vs {patrol}"
    );
}

/// Whether a unit code is `unit` or below it, by the parent chain read from the file.
fn under(code: &str, unit: &str) -> bool {
    let mut at = Some(code.to_string());
    while let Some(c) = at {
        if c == unit {
            return true;
        }
        at = city().parent.get(&c).cloned().flatten();
    }
    false
}

#[test]
fn the_unit_filter_keeps_its_subtree_and_its_workers() {
    let unit = "430102001001";
    let f = Filter {
        unit: Some(unit.into()),
        ..month_filter()
    };
    let grids = build(Layer::Grids, &f);
    assert!(!features(&grids).is_empty());
    assert!(features(&grids).len() < features(&build(Layer::Grids, &month_filter())).len());
    for g in features(&grids) {
        assert!(under(g["properties"]["code"].as_str().unwrap(), unit));
    }
    let units = build(Layer::Units, &f);
    assert!(!features(&units).is_empty());
    for u in features(&units) {
        assert!(under(u["properties"]["code"].as_str().unwrap(), unit));
    }
    let tracks = build(Layer::Tracks, &f);
    assert!(!features(&tracks).is_empty());
    for t in features(&tracks) {
        let w = t["properties"]["worker"].as_str().unwrap();
        assert!(
            city().assigned[w].iter().any(|g| under(g, unit)),
            "{w} is not assigned in {unit}"
        );
    }
    let bad = Filter {
        unit: Some("nope".into()),
        ..month_filter()
    };
    let c = city();
    let err = layers::build(
        Layer::Grids,
        &c.assessor,
        &c.days,
        &Extras::default(),
        &bad,
        &Everything,
    )
    .unwrap_err();
    assert_eq!(err.code(), "unknown_unit");
}

#[test]
fn the_period_keeps_its_days_only() {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 3).unwrap();
    let f = Filter {
        period: Some(Period::day(day)),
        ..Filter::default()
    };
    for layer in [Layer::Tracks, Layer::Stays] {
        let doc = build(layer, &f);
        assert!(!features(&doc).is_empty());
        assert!(features(&doc).len() < features(&build(layer, &month_filter())).len());
        for feat in features(&doc) {
            assert_eq!(feat["properties"]["day"], "2026-10-03");
        }
    }
    let visits = build(Layer::Visits, &f);
    assert!(!features(&visits).is_empty());
    for v in features(&visits) {
        let start = v["properties"]["start"].as_str().unwrap();
        assert!(start.starts_with("2026-10-03T"), "{start}");
        assert!(start.ends_with("+08:00"), "{start}");
    }
    assert_eq!(
        build(Layer::Tracks, &f)["gridbeat"]["period"]["first"],
        "2026-10-03"
    );
}

fn extent(g: &Value) -> [f64; 4] {
    coords(g)
        .iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, &(x, y)| {
            [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)]
        })
}

#[test]
fn the_bbox_keeps_features_that_reach_into_it() {
    // The first grid's corner of the city: about 150 m square.
    let bbox = [112.9725, 28.1935, 112.9740, 28.1950];
    let f = Filter {
        bbox: Some(bbox),
        ..month_filter()
    };
    for layer in [
        Layer::Grids,
        Layer::Tracks,
        Layer::Stays,
        Layer::Heat,
        Layer::Checkpoints,
    ] {
        let doc = build(layer, &f);
        check_rfc7946(&doc, layer);
        let all = features(&build(layer, &month_filter())).len();
        assert!(!features(&doc).is_empty(), "{}", layer.name());
        assert!(features(&doc).len() < all, "{} not narrowed", layer.name());
        for feat in features(&doc) {
            let e = extent(&feat["geometry"]);
            assert!(
                e[0] <= bbox[2] && e[2] >= bbox[0] && e[1] <= bbox[3] && e[3] >= bbox[1],
                "{}: {e:?} misses {bbox:?}",
                layer.name()
            );
        }
    }
    let c = city();
    let bad = Filter {
        bbox: Some([113.0, 28.0, 112.0, 29.0]),
        ..Filter::default()
    };
    let err = layers::build(
        Layer::Grids,
        &c.assessor,
        &c.days,
        &Extras::default(),
        &bad,
        &Everything,
    )
    .unwrap_err();
    assert_eq!(err.code(), "bad_bbox");
}

/// A caller who may see one community: its grids and the workers assigned there.
struct OneCommunity(&'static str);

impl Scope for OneCommunity {
    fn grid(&self, code: &str) -> bool {
        under(code, self.0)
    }

    fn worker(&self, id: &str) -> bool {
        city()
            .assigned
            .get(id)
            .is_some_and(|gs| gs.iter().any(|g| under(g, self.0)))
    }
}

#[test]
fn the_scope_holds_in_every_layer() {
    let scope = OneCommunity("430102001002");
    for layer in Layer::ALL {
        let doc = build_with(layer, &month_filter(), &scope);
        check_rfc7946(&doc, layer);
        for f in features(&doc) {
            let p = &f["properties"];
            if let Some(w) = p["worker"].as_str() {
                assert!(scope.worker(w), "{}: worker {w}", layer.name());
            }
            // Vehicles and routes are in scope by their unit.
            if p.get("vehicle").is_some() || layer == Layer::Routes {
                let u = p["unit"].as_str().unwrap();
                assert!(under(u, scope.0), "{}: unit {u}", layer.name());
            }
            let grid = match layer {
                Layer::Grids | Layer::Checkpoints => p["grid"].as_str().or(p["code"].as_str()),
                Layer::Coverage => p["grid"].as_str(),
                _ => None,
            };
            if let Some(g) = grid {
                let g = if layer == Layer::Grids {
                    p["code"].as_str().unwrap()
                } else {
                    g
                };
                assert!(scope.grid(g), "{}: grid {g}", layer.name());
            }
        }
    }
    let units = build_with(Layer::Units, &month_filter(), &scope);
    let codes: BTreeSet<&str> = features(&units)
        .iter()
        .map(|u| u["properties"]["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains("430102001002"));
    assert!(!codes.contains("430102001001"), "{codes:?}");
}

#[test]
fn output_crs_matches_the_published_vectors() {
    let text = read(&shared("crs/vectors.csv"));
    let c = city();
    let mut checked = 0;
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let to = match (cols[0], cols[1]) {
            ("wgs84", "gcj02") => Crs::Gcj02,
            ("wgs84", "bd09") => Crs::Bd09,
            _ => continue,
        };
        let n = |k: usize| cols[k].parse::<f64>().unwrap();
        let (lon, lat, out_lon, out_lat) = (n(2), n(3), n(4), n(5));
        let pos = [Position {
            worker: "probe".into(),
            ts: now_ms(),
            lon,
            lat,
            acc_m: None,
            received: None,
        }];
        let extras = Extras {
            positions: &pos,
            now_ms: now_ms(),
            ..Extras::default()
        };
        let f = Filter {
            crs: to,
            ..Filter::default()
        };
        let doc = layers::build(
            Layer::Positions,
            &c.assessor,
            &c.days,
            &extras,
            &f,
            &Everything,
        )
        .unwrap();
        check_rfc7946(&doc, Layer::Positions);
        assert_eq!(doc["gridbeat"]["crs"], to.as_str());
        let (x, y) = pt(&features(&doc)[0]["geometry"]["coordinates"]);
        assert!(
            (x - out_lon).abs() <= 1e-6 && (y - out_lat).abs() <= 1e-6,
            "{line}: got ({x}, {y})"
        );
        checked += 1;
    }
    assert!(checked >= 5, "{checked} vectors");
    // A whole layer: every GCJ-02 position is its WGS84 position converted (both rounded).
    let wgs = build(Layer::Grids, &month_filter());
    for to in [Crs::Gcj02, Crs::Bd09] {
        let out = build(
            Layer::Grids,
            &Filter {
                crs: to,
                ..month_filter()
            },
        );
        for (a, b) in features(&wgs).iter().zip(features(&out)) {
            let (pa, pb) = (coords(&a["geometry"]), coords(&b["geometry"]));
            assert_eq!(pa.len(), pb.len());
            for (&(lon, lat), &(x, y)) in pa.iter().zip(&pb) {
                let (ex, ey) = gridbeat::crs::convert(Crs::Wgs84, to, lon, lat);
                // 0.5e-6 from each rounding, and the WGS84 input was rounded too.
                assert!((ex - x).abs() < 2e-6 && (ey - y).abs() < 2e-6);
            }
        }
    }
}

#[test]
fn gaps_join_the_end_of_a_segment_to_the_start_of_the_next() {
    let doc = build(Layer::Tracks, &month_filter());
    let mut gaps: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    let mut walks = Vec::new();
    for f in features(&doc) {
        let p = &f["properties"];
        let key = (
            p["worker"].as_str().unwrap().to_string(),
            p["day"].as_str().unwrap().to_string(),
        );
        match p["kind"].as_str().unwrap() {
            "walk" => walks.push((key, f)),
            "gap" => gaps.entry(key).or_default().push(f),
            other => panic!("kind {other}"),
        }
    }
    let mut joined = 0;
    for (key, w) in walks {
        let lines = w["geometry"]["coordinates"].as_array().unwrap();
        let day_gaps = gaps.remove(&key).unwrap_or_default();
        assert_eq!(day_gaps.len(), lines.len() - 1, "{key:?}");
        for (i, g) in day_gaps.iter().enumerate() {
            let c = g["geometry"]["coordinates"].as_array().unwrap();
            assert_eq!(c.len(), 2);
            assert_eq!(c[0], *lines[i].as_array().unwrap().last().unwrap());
            assert_eq!(c[1], lines[i + 1][0]);
            let (a, b) = (pt(&c[0]), pt(&c[1]));
            let m = gridbeat::geodesy::distance_m(a.0, a.1, b.0, b.1);
            assert!((g["properties"]["gap_m"].as_f64().unwrap() - m).abs() < 1.0);
            joined += 1;
        }
    }
    assert!(gaps.is_empty(), "gaps without a walk");
    assert!(joined > 0, "the sample has no gap to check");
}

#[cfg(feature = "assess")]
#[test]
fn grid_coverage_and_scores_agree_with_the_report() {
    use gridbeat::assess::month::{assess_month, MonthInput};
    let c = city();
    let report = assess_month(
        &c.days,
        &MonthInput {
            assessor: &c.assessor,
            month: MONTH.parse().unwrap(),
            attainable: None,
            unit: None,
            generated_at: String::new(),
        },
    )
    .unwrap();
    let doc = build(Layer::Grids, &month_filter());
    assert!(!report.grids.is_empty(), "the report has grids");
    assert_eq!(features(&doc).len(), report.grids.len());
    for row in &report.grids {
        let f = features(&doc)
            .iter()
            .find(|f| f["properties"]["code"] == row.code.as_str())
            .unwrap();
        let cov = f["properties"]["coverage"].as_f64().unwrap();
        assert!((cov - row.team_coverage).abs() <= 5e-5, "{}", row.code);
        let ws: Vec<&str> = row.workers.iter().map(String::as_str).collect();
        let scores: Vec<f64> = report
            .workers
            .iter()
            .filter(|w| ws.contains(&w.worker.as_str()))
            .map(|w| w.score)
            .collect();
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let score = f["properties"]["score"].as_f64().unwrap();
        assert!(
            (score - mean).abs() <= 0.005,
            "{}: {score} vs {mean}",
            row.code
        );
    }
}

/// The units layer over the month shows the report's unit rows (one roll-up,
/// `assess::units::unit_figures`, behind both): every unit with grids, with the same grids,
/// workers, team coverage and mean score (up to the layer's rounding).
#[cfg(feature = "assess")]
#[test]
fn unit_figures_agree_with_the_report() {
    use gridbeat::assess::month::{assess_month, MonthInput};
    let c = city();
    let report = assess_month(
        &c.days,
        &MonthInput {
            assessor: &c.assessor,
            month: MONTH.parse().unwrap(),
            attainable: None,
            unit: None,
            generated_at: String::new(),
        },
    )
    .unwrap();
    let doc = build(Layer::Units, &month_filter());
    let rows: Vec<_> = report.units.iter().filter(|u| u.grids > 0).collect();
    assert!(rows.len() >= 3, "the report rolls up too few units");
    assert_eq!(features(&doc).len(), rows.len());
    for row in rows {
        let f = features(&doc)
            .iter()
            .find(|f| f["properties"]["code"] == row.code.as_str())
            .unwrap_or_else(|| panic!("{} not in the units layer", row.code));
        let p = &f["properties"];
        assert_eq!(p["level"], row.level.as_str(), "{}", row.code);
        assert_eq!(p["grids"], row.grids, "{}", row.code);
        assert_eq!(p["workers"], row.workers, "{}", row.code);
        let cov = p["coverage"].as_f64().unwrap();
        assert!((cov - row.team_coverage).abs() <= 5e-5, "{}", row.code);
        if row.workers > 0 {
            let score = p["score"].as_f64().unwrap();
            assert!(
                (score - row.mean_score).abs() <= 0.005,
                "{}: {score} vs {}",
                row.code,
                row.mean_score
            );
        }
    }
}

/// Numbers equal up to float parsing; everything else exactly.
fn same(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{at}: {x} vs {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                same(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, v) in x {
                same(v, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[test]
fn the_batch_door_gives_what_the_module_builds() {
    for (layer, extra) in [
        (Layer::Grids, vec![]),
        (
            Layer::Tracks,
            vec!["--simplify-m".to_string(), "10".to_string()],
        ),
        (Layer::Positions, vehicle_args()),
        (Layer::Checkpoints, vec![]),
        (Layer::Units, vec!["--crs".to_string(), "gcj02".to_string()]),
        (Layer::Routes, vehicle_args()),
        (Layer::VehicleTracks, vehicle_args()),
    ] {
        let out = gridbeat()
            .arg("layers")
            .arg(layer.name())
            .args(["--month", MONTH, "--now", NOW])
            .arg("--grids")
            .arg(sample("grids.geojson"))
            .arg("--workers")
            .arg(sample("workers.csv"))
            .arg("--checkpoints")
            .arg(sample("checkpoints.geojson"))
            // The pings before the options: `--vehicle-pings` takes every file after it.
            .arg(sample("pings.csv"))
            .args(&extra)
            .output()
            .unwrap();
        assert_success(&out);
        let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut f = month_filter();
        if layer == Layer::Tracks {
            f.simplify_m = Some(10.0);
        }
        if layer == Layer::Units {
            f.crs = Crs::Gcj02;
        }
        same(&cli, &build(layer, &f), layer.name());
    }
}

/// The service keeps one folded day per worker for the grids and units layers
/// (`period::fold_for_grids`): every figure of those layers is the same as over the days
/// themselves, for the month, a day, a unit and one worker.
#[test]
fn grids_and_units_over_days_folded_per_worker_are_unchanged() {
    let c = city();
    let first_day = c.days.iter().map(|d| d.day).min().unwrap();
    // A community: the parent of a grid.
    let grid = c.assigned.values().next().unwrap().iter().next().unwrap();
    let unit = c.parent[grid].as_ref().unwrap();
    let filters = [
        month_filter(),
        Filter {
            period: Some(Period::day(first_day)),
            ..Filter::default()
        },
        Filter {
            unit: Some(unit.clone()),
            ..month_filter()
        },
        Filter {
            worker: Some(c.assigned.keys().next().unwrap().clone()),
            ..month_filter()
        },
    ];
    for filter in &filters {
        let period = filter.period.unwrap();
        let in_period: Vec<WorkerDay> = c
            .days
            .iter()
            .filter(|d| period.contains(d.day))
            .cloned()
            .collect();
        let folded = gridbeat::assess::period::fold_for_grids(in_period.clone());
        let workers: BTreeSet<&str> = in_period.iter().map(|d| d.worker.as_str()).collect();
        assert_eq!(folded.len(), workers.len(), "one day per worker");
        for layer in [Layer::Grids, Layer::Units] {
            let [whole, kept] = [&in_period, &folded].map(|days| {
                with_extras(|extras| {
                    layers::build(layer, &c.assessor, days, extras, filter, &Everything).unwrap()
                })
            });
            assert!(
                !features(&whole).is_empty(),
                "{layer:?} {filter:?}: no features"
            );
            assert_eq!(whole, kept, "{layer:?} {filter:?}");
        }
    }
}

/// The vehicle files as `gridbeat layers` takes them.
fn vehicle_args() -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    for (flag, file) in [
        ("--vehicles", "vehicles.csv"),
        ("--routes", "routes.geojson"),
        ("--vehicle-pings", "vehicle_pings.csv"),
    ] {
        a.push(flag.into());
        a.push(sample(file).display().to_string());
    }
    a
}

/// Every route of the sample is drawn whole: its features' pieces tile its pieces in order,
/// and their lengths add up to the route's.
#[test]
fn routes_are_drawn_whole_in_merged_runs() {
    let doc = build(Layer::Routes, &month_filter());
    let mut by_route: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for f in features(&doc) {
        let p = &f["properties"];
        by_route
            .entry(p["route"].as_str().unwrap().to_string())
            .or_default()
            .push(p);
        let state = p["state"].as_str().unwrap();
        assert!(
            ["met", "partial", "missed", "unscheduled"].contains(&state),
            "{state}"
        );
    }
    assert_eq!(by_route.len(), city().vehicles.fleet.routes.len());
    let mut merged = 0;
    for (code, ps) in &by_route {
        let mut next = 0;
        let mut length = 0.0;
        for p in ps {
            let (a, b) = (
                p["pieces"][0].as_u64().unwrap(),
                p["pieces"][1].as_u64().unwrap(),
            );
            assert_eq!(a, next, "{code}: pieces {a}..={b} do not follow {next}");
            assert!(b >= a);
            merged += usize::from(b > a);
            next = b + 1;
            length += p["length_m"].as_f64().unwrap();
        }
        let total = ps[0]["route_length_m"].as_f64().unwrap();
        assert!(
            (length - total).abs() < 0.05 * ps.len() as f64 + 0.1,
            "{code}: {length} vs {total}"
        );
    }
    assert!(merged > 0, "no run of pieces was merged");
    // Over a month of a working fleet, some pieces had their passes.
    assert!(features(&doc)
        .iter()
        .any(|f| f["properties"]["passes"].as_f64().unwrap() > 0.0));
}

/// The routes' figures in the layer are the report's route rows for the month (the report
/// folds the same vehicle-days through `route::month`).
#[test]
fn route_figures_agree_with_the_report() {
    use gridbeat::route::month::{vehicle_report, VehicleMonth};
    let c = city();
    let mut folded = VehicleMonth::new(MONTH.parse().unwrap());
    for d in &c.vehicles.days {
        folded.add(d);
    }
    let report = vehicle_report(
        &folded,
        &c.vehicles.fleet,
        &c.assessor.registry,
        None,
        &Config::default().route,
    )
    .unwrap();
    let doc = build(Layer::Routes, &month_filter());
    assert!(!report.routes.is_empty());
    for row in &report.routes {
        let f = features(&doc)
            .iter()
            .find(|f| f["properties"]["route"] == row.code.as_str())
            .unwrap_or_else(|| panic!("route {} not drawn", row.code));
        let p = &f["properties"];
        let near = |key: &str, want: Option<f64>| match (p[key].as_f64(), want) {
            (Some(got), Some(want)) => assert!(
                (got - want).abs() <= 0.5e-4 + 1e-12,
                "{} {key}: {got} vs {want}",
                row.code
            ),
            (None, None) => {}
            (got, want) => panic!("{} {key}: {got:?} vs {want:?}", row.code),
        };
        near("worked_share", row.worked_share);
        near("passes_met_share", row.passes_met_share);
        near("on_schedule_share", row.on_schedule_share);
        assert_eq!(p["scheduled_days"], row.scheduled_days, "{}", row.code);
        assert_eq!(
            p["fully_worked_days"], row.fully_worked_days,
            "{}",
            row.code
        );
        assert_eq!(p["required"], row.passes, "{}", row.code);
    }
}

/// Vehicle tracks carry the reported work state, each run of one day of the period and of a
/// fleet vehicle; a day and a vehicle narrow them.
#[test]
fn vehicle_tracks_split_by_work_state() {
    let doc = build(Layer::VehicleTracks, &month_filter());
    let fs = features(&doc);
    let states: BTreeSet<String> = fs
        .iter()
        .map(|f| f["properties"]["work"].to_string())
        .collect();
    assert!(
        states.contains("true") && states.contains("false"),
        "{states:?}"
    );
    for f in fs {
        let p = &f["properties"];
        assert!(city()
            .vehicles
            .fleet
            .vehicle(p["vehicle"].as_str().unwrap())
            .is_some());
        assert!(month().contains(p["day"].as_str().unwrap().parse().unwrap()));
    }
    // One day of one vehicle: fewer features, all of that day.
    let day = fs[0]["properties"]["day"].as_str().unwrap();
    let v = fs[0]["properties"]["vehicle"].as_str().unwrap();
    let one = build(
        Layer::VehicleTracks,
        &Filter {
            period: Some(Period::day(day.parse().unwrap())),
            worker: Some(v.into()),
            ..Filter::default()
        },
    );
    check_rfc7946(&one, Layer::VehicleTracks);
    assert!(!features(&one).is_empty() && features(&one).len() < fs.len());
    for f in features(&one) {
        assert_eq!(f["properties"]["day"], day);
        assert_eq!(f["properties"]["vehicle"], v);
    }
    // Vehicles are among the positions, with their plate.
    let pos = build(Layer::Positions, &month_filter());
    assert!(features(&pos)
        .iter()
        .any(|f| f["properties"]["vehicle"] == v && f["properties"]["plate"].is_string()));
}

/// The report's summaries (`Assessor::without_paths`) are the map's summaries without their
/// paths: every other field the same, day by day.
#[test]
fn summaries_without_paths_differ_only_in_the_paths() {
    let c = city();
    let s = month_summaries(&sample_assessor().without_paths());
    assert_eq!(s.days.len(), c.days.len());
    assert!(
        c.days.iter().filter(|d| !d.path.is_empty()).count() > 10,
        "the sample's days have paths"
    );
    for (bare, full) in s.days.iter().zip(&c.days) {
        assert!(bare.path.is_empty(), "{} {}: a path", bare.worker, bare.day);
        let mut full = full.clone();
        full.path = Vec::new();
        assert_eq!(bare, &full, "{} {}", bare.worker, bare.day);
    }
}
