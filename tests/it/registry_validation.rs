//! One test per registry fault (DESIGN.md §5.2): each loads a small broken file from
//! `tests/fixtures/registry/` and checks that the error names the file, the feature or line,
//! and the fault. `make_fixtures.py` there documents what each file breaks.

use gridbeat::model::{Crs, Level};
use gridbeat::registry::{
    Fault, LoadOptions, Place, Registry, RegistryError, RegistryIssue, Source,
};

use crate::util::read_fixture;

fn load_with(
    grids: &str,
    workers: Option<&str>,
    checkpoints: Option<&str>,
    opts: LoadOptions,
) -> Result<Registry, RegistryError> {
    let (g, w, c) = (
        read_fixture(grids),
        workers.map(read_fixture),
        checkpoints.map(read_fixture),
    );
    Registry::from_sources(
        Source::new(grids, &g),
        workers.zip(w.as_deref()).map(|(n, t)| Source::new(n, t)),
        checkpoints
            .zip(c.as_deref())
            .map(|(n, t)| Source::new(n, t)),
        &opts,
    )
}

/// Loads a grids file that must fail, and returns its single error.
fn only_error(grids: &str) -> RegistryIssue {
    let err = load_with(grids, None, None, LoadOptions::default()).expect_err("the load must fail");
    assert_eq!(err.issues.len(), 1, "{err}");
    err.issues[0].clone()
}

fn feature(index: usize, code: Option<&str>) -> Place {
    Place::Feature {
        index,
        code: code.map(str::to_string),
    }
}

/// The message names the file and the feature, then the fault.
fn assert_message(issue: &RegistryIssue, parts: &[&str]) {
    let text = issue.to_string();
    for part in parts {
        assert!(text.contains(part), "{text:?} should mention {part:?}");
    }
}

#[test]
fn the_base_fixture_is_valid() {
    let r = load_with(
        "base.geojson",
        Some("workers.csv"),
        Some("checkpoints.geojson"),
        LoadOptions::default(),
    )
    .expect("valid");
    assert_eq!((r.units.len(), r.grids.len()), (7, 3));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let w = r.worker("w-01").expect("worker");
    assert_eq!(w.name, "Zhang Wei");
    assert_eq!(w.grids.len(), 2);
    assert_eq!(r.checkpoints.len(), 2);
    assert_eq!(r.checkpoint("cp-2").map(|c| c.visits_per_month), Some(8));
    let g = r.grid_by_code("430102001001002").expect("grid");
    assert_eq!(
        r.ancestor(g, Level::District).map(|u| u.code.as_str()),
        Some("430102")
    );
}

#[test]
fn missing_code() {
    let e = only_error("missing_code.geojson");
    assert_eq!(e.place, feature(5, None));
    assert_eq!(e.fault, Fault::MissingCode);
    assert_message(
        &e,
        &["missing_code.geojson", "feature #5", "missing \"code\""],
    );
}

#[test]
fn duplicate_code() {
    let e = only_error("duplicate_code.geojson");
    assert_eq!(e.place, feature(6, Some("430102001001002")));
    assert!(
        matches!(e.fault, Fault::DuplicateCode { first_index: 5, .. }),
        "{e}"
    );
    assert_message(&e, &["feature #6", "duplicate code", "feature #5"]);
}

#[test]
fn unknown_parent() {
    let e = only_error("unknown_parent.geojson");
    assert_eq!(e.place, feature(5, Some("430102001001002")));
    assert_eq!(e.fault, Fault::UnknownParent("430102001999".to_string()));
    assert_message(
        &e,
        &["unknown_parent.geojson", "unknown parent", "430102001999"],
    );
}

#[test]
fn level_out_of_order() {
    let e = only_error("level_out_of_order.geojson");
    assert_eq!(e.place, feature(6, Some("430102001001003")));
    assert!(matches!(e.fault, Fault::LevelOutOfOrder { .. }), "{e}");
    assert_message(&e, &["level out of order", "430102001001001", "grid"]);
}

#[test]
fn invalid_level() {
    let e = only_error("bad_level.geojson");
    assert_eq!(e.place, feature(5, Some("430102001001002")));
    assert!(matches!(e.fault, Fault::BadLevel(_)), "{e}");
    assert_message(&e, &["block", "city, district, street, community or grid"]);
}

#[test]
fn grid_without_polygon() {
    let e = only_error("grid_without_polygon.geojson");
    assert_eq!(e.place, feature(5, Some("430102001001002")));
    assert!(matches!(e.fault, Fault::MissingPolygon(_)), "{e}");
    assert_message(&e, &["Polygon or MultiPolygon"]);
}

#[test]
fn unclosed_ring() {
    let e = only_error("unclosed_ring.geojson");
    assert_eq!(e.place, feature(5, Some("430102001001002")));
    match e.fault {
        Fault::UnclosedRing {
            ring,
            first_lat,
            last_lat,
            ..
        } => {
            assert_eq!(ring, 0);
            assert!((first_lat - 28.2).abs() < 1e-12 && (last_lat - 28.2001).abs() < 1e-12);
        }
        ref other => panic!("expected an unclosed ring, got {other}"),
    }
    assert_message(&e, &["ring 0 is not closed", "repeat the first position"]);
}

#[test]
fn self_intersection() {
    let e = only_error("self_intersection.geojson");
    assert_eq!(e.place, feature(5, Some("430102001001002")));
    assert!(matches!(e.fault, Fault::SelfIntersection(_)), "{e}");
    assert_message(&e, &["self-intersecting", "feature #5"]);
}

#[test]
fn coordinates_out_of_range() {
    let e = only_error("out_of_range.geojson");
    assert_eq!(e.place, feature(5, Some("430102001001002")));
    match e.fault {
        Fault::OutOfRange { lon, lat } => {
            assert!(
                (lon - 212.982).abs() < 1e-9 && (lat - 28.2).abs() < 1e-9,
                "{lon} {lat}"
            )
        }
        ref other => panic!("expected out of range, got {other}"),
    }
    assert_message(&e, &["out of range", "-180..180"]);
}

#[test]
fn lat_lon_swapped_beyond_90() {
    let e = only_error("latlon_swapped.geojson");
    assert_eq!(e.place, feature(5, Some("430102001001002")));
    assert!(matches!(e.fault, Fault::LatLonSwapped { .. }), "{e}");
    assert_message(&e, &["[lat, lon]", "[longitude, latitude]"]);
}

#[test]
fn lat_lon_swapped_far_from_the_other_grids() {
    // In Urumqi both orders are in range: only the distance from the other grids tells.
    let e = only_error("latlon_swapped_far.geojson");
    assert_eq!(e.place, feature(5, Some("430102001001002")));
    assert!(matches!(e.fault, Fault::LatLonSwapped { .. }), "{e}");
    assert_message(&e, &["x and y exchanged"]);
}

#[test]
fn worker_pointing_at_an_unknown_grid() {
    let err = load_with(
        "base.geojson",
        Some("workers_unknown_grid.csv"),
        None,
        LoadOptions::default(),
    )
    .expect_err("must fail");
    assert_eq!(err.issues.len(), 1, "{err}");
    let e = &err.issues[0];
    assert_eq!(e.file, "workers_unknown_grid.csv");
    assert_eq!(e.place, Place::Line(3));
    assert_eq!(e.fault, Fault::UnknownGrid("430102001001042".to_string()));
    assert_message(e, &["workers_unknown_grid.csv: line 3", "unknown grid"]);
}

#[test]
fn bad_worker_rows() {
    let err = load_with(
        "base.geojson",
        Some("workers_bad_rows.csv"),
        None,
        LoadOptions::default(),
    )
    .expect_err("must fail");
    let places: Vec<&Place> = err.issues.iter().map(|i| &i.place).collect();
    assert_eq!(places, [&Place::Line(3), &Place::Line(4)], "{err}");
    assert!(err
        .issues
        .iter()
        .all(|i| matches!(i.fault, Fault::BadRow(_))));
    assert_message(&err.issues[0], &["line 3", "empty worker"]);
    assert_message(&err.issues[1], &["line 4", "empty grid"]);
}

#[test]
fn checkpoint_pointing_at_an_unknown_grid() {
    let err = load_with(
        "base.geojson",
        None,
        Some("checkpoints_unknown_grid.geojson"),
        LoadOptions::default(),
    )
    .expect_err("must fail");
    assert_eq!(err.issues.len(), 1, "{err}");
    let e = &err.issues[0];
    assert_eq!(e.place, feature(1, Some("cp-2")));
    assert_eq!(e.fault, Fault::UnknownGrid("430102001001009".to_string()));
    assert_message(
        e,
        &[
            "checkpoints_unknown_grid.geojson",
            "feature #1 (code \"cp-2\")",
        ],
    );
}

#[test]
fn overlapping_grids_are_a_warning_naming_both() {
    let r = load_with("overlap.geojson", None, None, LoadOptions::default()).expect("loads");
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    match &r.warnings[0].fault {
        Fault::Overlap { a, b, area_m2 } => {
            assert_eq!(
                (a.as_str(), b.as_str()),
                ("430102001001001", "430102001001002")
            );
            // 0.0005° × 0.002° at 28.2° N ≈ 49.0 m × 221.5 m.
            assert!((area_m2 - 10_860.0).abs() < 150.0, "{area_m2}");
        }
        other => panic!("expected an overlap, got {other}"),
    }
    assert!(r.warnings[0].fault.is_warning());
    assert_message(&r.warnings[0], &["overlap by", "m²"]);
    // Points in the overlap go to the smaller code.
    let g = r.locate(112.98175, 28.201).expect("located");
    assert_eq!(r.grids[g as usize].code.as_str(), "430102001001001");
    assert!(!r.index.is_exclusive(g));
}

#[test]
fn slivers_are_a_warning() {
    let r = load_with("sliver.geojson", None, None, LoadOptions::default()).expect("loads");
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert_eq!(r.warnings[0].place, feature(6, Some("430102001001003")));
    match r.warnings[0].fault {
        Fault::Sliver {
            area_m2,
            compactness,
        } => {
            assert!((area_m2 - 433.0).abs() < 10.0, "{area_m2}");
            assert!(compactness < 0.05, "{compactness}");
        }
        ref other => panic!("expected a sliver, got {other}"),
    }
}

fn assert_same_polygons(a: &Registry, b: &Registry, tol_deg: f64) {
    assert_eq!(a.grids.len(), b.grids.len());
    for (ga, gb) in a.grids.iter().zip(&b.grids) {
        assert_eq!(ga.code, gb.code);
        let (ca, cb): (Vec<_>, Vec<_>) = (
            ga.polygon.0[0].exterior().0.clone(),
            gb.polygon.0[0].exterior().0.clone(),
        );
        for (p, q) in ca.iter().zip(&cb) {
            assert!(
                (p.x - q.x).abs() <= tol_deg && (p.y - q.y).abs() <= tol_deg,
                "{}: {p:?} vs {q:?}",
                ga.code
            );
        }
        assert!((ga.area_m2 - gb.area_m2).abs() / gb.area_m2 < 1e-6);
    }
}

#[test]
fn gcj02_input_is_converted_to_wgs84() {
    let opts = LoadOptions::default();
    let wgs = load_with("base.geojson", None, Some("checkpoints.geojson"), opts).expect("base");
    let gcj = load_with(
        "gcj02.geojson",
        None,
        Some("checkpoints_gcj02.geojson"),
        opts,
    )
    .expect("gcj02");
    // 1e-9° is 0.1 mm: the iterative inverse recovers the WGS84 vertices.
    assert_same_polygons(&gcj, &wgs, 1e-9);
    let (a, b) = (&gcj.checkpoints[0], &wgs.checkpoints[0]);
    assert!((a.lon - b.lon).abs() < 1e-9 && (a.lat - b.lat).abs() < 1e-9);
    // The raw GCJ-02 coordinates are hundreds of metres away from the WGS84 ones.
    let raw = read_fixture("gcj02.geojson");
    let raw_gcj = Registry::from_sources(
        Source::new("gcj02.geojson", &raw),
        None,
        None,
        &LoadOptions {
            crs: Some(Crs::Wgs84),
            keep_going: false,
        },
    )
    .expect("loads as WGS84 when told to");
    let (p, q) = (
        raw_gcj.grids[0].polygon.0[0].exterior().0[0],
        wgs.grids[0].polygon.0[0].exterior().0[0],
    );
    assert!((p.x - q.x).abs() > 1e-3, "the option overrides the member");
}

#[test]
fn the_old_crs84_member_means_wgs84() {
    let opts = LoadOptions::default();
    let wgs = load_with("base.geojson", None, None, opts).expect("base");
    let crs84 = load_with("crs84.geojson", None, None, opts).expect("crs84");
    assert_same_polygons(&crs84, &wgs, 0.0);
}

#[test]
fn without_keep_going_every_error_is_listed() {
    let err = load_with(
        "keep_going.geojson",
        Some("workers_keep_going.csv"),
        None,
        LoadOptions::default(),
    )
    .expect_err("must fail");
    let text = err.to_string();
    assert_eq!(err.issues.len(), 2, "{text}");
    assert!(
        matches!(err.issues[0].fault, Fault::UnclosedRing { .. }),
        "{text}"
    );
    assert_eq!(err.issues[1].place, feature(7, Some("430102001002")));
    assert!(
        text.contains("2 errors") && text.contains("keep-going"),
        "{text}"
    );
}

#[test]
fn keep_going_keeps_the_good_features() {
    let r = load_with(
        "keep_going.geojson",
        Some("workers_keep_going.csv"),
        None,
        LoadOptions {
            crs: None,
            keep_going: true,
        },
    )
    .expect("keep going loads");
    let codes: Vec<&str> = r.grids.iter().map(|g| g.code.as_str()).collect();
    assert_eq!(codes, ["430102001001001", "430102001001003"]);
    assert!(r.unit("430102001002").is_none() && r.unit("430102001001").is_some());
    // Rejected: the unclosed grid, the orphan community, its grid, and the two worker rows
    // pointing at rejected grids.
    let rejected: Vec<(String, Place)> = r
        .rejected
        .iter()
        .map(|i| (i.file.clone(), i.place.clone()))
        .collect();
    assert_eq!(
        rejected,
        [
            (
                "keep_going.geojson".to_string(),
                feature(5, Some("430102001001002"))
            ),
            (
                "keep_going.geojson".to_string(),
                feature(7, Some("430102001002"))
            ),
            (
                "keep_going.geojson".to_string(),
                feature(8, Some("430102001002001"))
            ),
            ("workers_keep_going.csv".to_string(), Place::Line(3)),
            ("workers_keep_going.csv".to_string(), Place::Line(4)),
        ]
    );
    assert!(matches!(r.rejected[2].fault, Fault::ParentRejected(_)));
    assert!(matches!(r.rejected[4].fault, Fault::GridRejected(_)));
    let w = r.worker("w-01").expect("w-01 kept with its good grid");
    assert_eq!(w.grids.len(), 1);
    assert!(r.worker("w-02").is_none());
    assert!(r.locate(112.981, 28.201).is_some());
    assert!(
        r.locate(112.983, 28.201).is_none(),
        "the rejected grid is not located"
    );
}

#[test]
fn unreadable_json_names_the_file() {
    let err = Registry::from_sources(
        Source::new(
            "broken.geojson",
            "{\"type\": \"FeatureCollection\", \"features\": [",
        ),
        None,
        None,
        &LoadOptions {
            crs: None,
            keep_going: true,
        },
    )
    .expect_err("must fail even when keeping going");
    assert_eq!(err.issues[0].place, Place::File);
    assert!(
        err.to_string()
            .contains("broken.geojson: file: not a GeoJSON"),
        "{err}"
    );
}
