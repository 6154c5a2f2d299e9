//! Invariants of coverage (DESIGN.md §4.6) on random tracks over two small grids: a 200 m
//! square with a 60 m hole and its 150 m × 200 m neighbour.

use gridbeat::coverage::{CoverageIndex, CoverageParams, GridCoverage};
use gridbeat::geodesy::LocalFrame;
use proptest::prelude::*;

use crate::util::grids_registry;

const LON0: f64 = 112.98;
const LAT0: f64 = 28.2;

fn frame() -> LocalFrame {
    LocalFrame::new(LON0, LAT0)
}

fn ring(points: &[(f64, f64)]) -> serde_json::Value {
    let f = frame();
    serde_json::Value::Array(
        points
            .iter()
            .map(|&(x, y)| {
                let (lon, lat) = f.unproject(x, y);
                serde_json::json!([lon, lat])
            })
            .collect(),
    )
}

fn index() -> CoverageIndex {
    let square = [(0., 0.), (200., 0.), (200., 200.), (0., 200.), (0., 0.)];
    let hole = [
        (70., 70.),
        (70., 130.),
        (130., 130.),
        (130., 70.),
        (70., 70.),
    ];
    let right = [
        (200., 0.),
        (350., 0.),
        (350., 200.),
        (200., 200.),
        (200., 0.),
    ];
    let text = serde_json::json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "1", "name": "a", "level": "grid", "parent": null},
         "geometry": {"type": "Polygon", "coordinates": [ring(&square), ring(&hole)]}},
        {"type": "Feature", "properties": {"code": "2", "name": "b", "level": "grid", "parent": null},
         "geometry": {"type": "Polygon", "coordinates": [ring(&right)]}},
    ]})
    .to_string();
    let registry = grids_registry("props", &text);
    CoverageIndex::new(&registry, CoverageParams::default())
}

/// A random walk in metres around the grids (some steps leave them), as lon/lat.
fn track() -> impl Strategy<Value = Vec<(f64, f64)>> {
    (
        (-80.0..430.0f64, -80.0..280.0f64),
        prop::collection::vec((-40.0..40.0f64, -40.0..40.0f64), 0..40),
    )
        .prop_map(|(start, steps)| {
            let f = frame();
            let mut p = start;
            let mut out = vec![f.unproject(p.0, p.1)];
            for (dx, dy) in steps {
                p = (p.0 + dx, p.1 + dy);
                out.push(f.unproject(p.0, p.1));
            }
            out
        })
}

fn cover(index: &CoverageIndex, track: &[(f64, f64)]) -> GridCoverage {
    let mut cov = GridCoverage::new();
    index.cover_polyline(track, &mut cov);
    cov
}

fn union(a: &GridCoverage, b: &GridCoverage) -> GridCoverage {
    let mut u = a.clone();
    u.union_with(b);
    u
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn coverage_is_a_share(t in track()) {
        let index = index();
        let cov = cover(&index, &t);
        for grid in 0..2 {
            let c = index.coverage(&cov, grid);
            prop_assert!((0.0..=1.0).contains(&c), "grid {grid}: {c}");
        }
    }

    #[test]
    fn union_of_two_days_is_at_least_each_day_and_equals_covering_both(a in track(), b in track()) {
        let index = index();
        let (ca, cb) = (cover(&index, &a), cover(&index, &b));
        let u = union(&ca, &cb);
        let mut both = ca.clone();
        index.cover_polyline(&b, &mut both);
        prop_assert_eq!(&u, &both);
        for grid in 0..2 {
            let cu = index.coverage(&u, grid);
            prop_assert!(cu >= index.coverage(&ca, grid) && cu >= index.coverage(&cb, grid));
        }
    }

    #[test]
    fn adding_pings_never_lowers_coverage(t in track(), cut in 0usize..40) {
        let index = index();
        let prefix = &t[..cut.min(t.len()).max(1)];
        let (cp, ct) = (cover(&index, prefix), cover(&index, &t));
        for grid in 0..2 {
            prop_assert!(index.coverage(&cp, grid) <= index.coverage(&ct, grid));
        }
    }

    #[test]
    fn a_track_far_away_covers_nothing(t in track()) {
        let index = index();
        // 5 km north: far beyond the 30 m radius of both grids.
        let far: Vec<(f64, f64)> = t.iter().map(|&(lon, lat)| (lon, lat + 0.045)).collect();
        let cov = cover(&index, &far);
        for grid in 0..2 {
            prop_assert_eq!(index.coverage(&cov, grid), 0.0);
        }
    }

    #[test]
    fn union_is_commutative_and_associative(a in track(), b in track(), c in track()) {
        let index = index();
        let (ca, cb, cc) = (cover(&index, &a), cover(&index, &b), cover(&index, &c));
        prop_assert_eq!(union(&ca, &cb), union(&cb, &ca));
        prop_assert_eq!(union(&union(&ca, &cb), &cc), union(&ca, &union(&cb, &cc)));
    }

    #[test]
    fn masks_round_trip_through_serialisation(t in track()) {
        let index = index();
        let cov = cover(&index, &t);
        let text = serde_json::to_string(&cov).expect("serialises");
        let back: GridCoverage = serde_json::from_str(&text).expect("deserialises");
        prop_assert_eq!(&back, &cov);
        for grid in 0..2 {
            prop_assert_eq!(index.coverage(&back, grid), index.coverage(&cov, grid));
        }
    }
}

#[test]
fn a_track_just_outside_covers_the_inside_within_the_radius() {
    let index = index();
    let f = frame();
    // 10 m south of grid 1's south edge, along its whole width: a strip 20 m deep is covered.
    let t = [f.unproject(-40.0, -10.0), f.unproject(240.0, -10.0)];
    let cov = cover(&index, &t);
    let area = 200.0 * 200.0 - 60.0 * 60.0;
    let want = 200.0 * 20.0 / area;
    let got = index.coverage(&cov, 0);
    assert!((got - want).abs() < 0.005, "{got} vs {want}");
}

#[test]
fn the_hole_is_not_counted() {
    let index = index();
    let f = frame();
    // A point in the middle of the hole with a radius that stays inside the hole.
    let cov = cover(&index, &[f.unproject(100.0, 100.0)]);
    assert_eq!(index.coverage(&cov, 0), 0.0);
    let cov = cover(&index, &[f.unproject(100.0, 50.0)]);
    assert!(index.coverage(&cov, 0) > 0.0);
}

#[test]
fn uncovered_polygons_cover_what_the_mask_leaves() {
    use geo::Area;
    let index = index();
    let f = frame();
    let t = [f.unproject(-40.0, -10.0), f.unproject(240.0, -10.0)];
    let cov = cover(&index, &t);
    let none = index.uncovered_polygons(0, None);
    let some = index.uncovered_polygons(0, cov.get(0));
    let to_m = |mp: &geo::MultiPolygon<f64>| {
        use geo::MapCoords;
        mp.map_coords(|c| {
            let (x, y) = f.project(c.x, c.y);
            geo::Coord { x, y }
        })
        .unsigned_area()
    };
    let area = 200.0 * 200.0 - 60.0 * 60.0;
    assert!((to_m(&none) - area).abs() < 1.0, "{}", to_m(&none));
    // The strip of 20 m is drawn as two rows of 10 m cells.
    assert!(
        (to_m(&some) - (area - 4000.0)).abs() < 1.0,
        "{}",
        to_m(&some)
    );
}
