//! Conversions between WGS84, GCJ-02 and BD-09 (DESIGN.md §4.1).
//!
//! GCJ-02 is WGS84 plus a deliberate, position-dependent offset of a few hundred metres; BD-09
//! shifts GCJ-02 once more. The forward formulas are the published ones (Krasovsky constants
//! a = 6378245.0, ee = 0.00669342162296594323, x_pi = π·3000/180). GCJ-02 → WGS84 is computed
//! by fixed-point iteration on the forward formula, which converges to < 1e-9° in a few steps —
//! the usual one-step inverse is up to 4.6 m off. BD-09 → GCJ-02 is the published closed form
//! (see [`bd09_to_gcj02`] for its centimetre round-trip property).
//!
//! Outside mainland China's bounding box the GCJ-02 offset is not applied (every Chinese
//! basemap leaves foreign coordinates unshifted). BD-09 ⇄ GCJ-02 is applied everywhere.

use std::f64::consts::PI;

use crate::model::Crs;

const A: f64 = 6_378_245.0;
/// ee = 0.00669342162296594323 as written in the published formula, rounded to an f64.
const EE: f64 = 0.006_693_421_622_965_943;
const X_PI: f64 = PI * 3000.0 / 180.0;

/// Iterations stop once a step moves the estimate by less than this many degrees.
const INVERSE_TOLERANCE_DEG: f64 = 1e-12;
/// The inverse never needs more; the bound only guards against a pathological input.
const INVERSE_MAX_STEPS: usize = 30;

/// Whether (lon, lat) lies outside the box in which GCJ-02 shifts coordinates.
pub fn out_of_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS84 → GCJ-02.
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let dlat = transform_lat(lon - 105.0, lat - 35.0);
    let dlon = transform_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon * 180.0) / (A / sqrt_magic * rad_lat.cos() * PI);
    (lon + dlon, lat + dlat)
}

/// GCJ-02 → WGS84 by iterating the forward formula until it reproduces the input.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    invert(lon, lat, wgs84_to_gcj02)
}

/// GCJ-02 → BD-09.
pub fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000003 * (lon * X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// BD-09 → GCJ-02 by the published closed form, which Baidu's SDKs and every compatible
/// library use (the reference vectors agree with it to 1e-9°). It is not the exact inverse of
/// [`gcj02_to_bd09`]: a round trip moves a point by a few centimetres (≈ 5 cm at Beijing, up to
/// ≈ 23 cm at China's eastern edge), which is inherent in the published pair and below GPS noise.
pub fn bd09_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    let x = lon - 0.0065;
    let y = lat - 0.006;
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    (z * theta.cos(), z * theta.sin())
}

/// WGS84 → BD-09.
pub fn wgs84_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let (x, y) = wgs84_to_gcj02(lon, lat);
    gcj02_to_bd09(x, y)
}

/// BD-09 → WGS84.
pub fn bd09_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    let (x, y) = bd09_to_gcj02(lon, lat);
    gcj02_to_wgs84(x, y)
}

/// Converts (lon, lat) from one reference system to another.
pub fn convert(from: Crs, to: Crs, lon: f64, lat: f64) -> (f64, f64) {
    match (from, to) {
        (a, b) if a == b => (lon, lat),
        (Crs::Wgs84, Crs::Gcj02) => wgs84_to_gcj02(lon, lat),
        (Crs::Wgs84, Crs::Bd09) => wgs84_to_bd09(lon, lat),
        (Crs::Gcj02, Crs::Wgs84) => gcj02_to_wgs84(lon, lat),
        (Crs::Gcj02, Crs::Bd09) => gcj02_to_bd09(lon, lat),
        (Crs::Bd09, Crs::Wgs84) => bd09_to_wgs84(lon, lat),
        (Crs::Bd09, Crs::Gcj02) => bd09_to_gcj02(lon, lat),
        _ => (lon, lat),
    }
}

/// Converts input in `crs` to WGS84, the form gridbeat stores.
pub fn to_wgs84(crs: Crs, lon: f64, lat: f64) -> (f64, f64) {
    convert(crs, Crs::Wgs84, lon, lat)
}

/// Solves `forward(x) = target` by fixed-point iteration: x ← x − (forward(x) − target).
/// The offset varies slowly with position, so each step gains several digits.
fn invert(lon: f64, lat: f64, forward: fn(f64, f64) -> (f64, f64)) -> (f64, f64) {
    let (mut x, mut y) = (lon, lat);
    for _ in 0..INVERSE_MAX_STEPS {
        let (fx, fy) = forward(x, y);
        let (dx, dy) = (fx - lon, fy - lat);
        x -= dx;
        y -= dy;
        if dx.abs() < INVERSE_TOLERANCE_DEG && dy.abs() < INVERSE_TOLERANCE_DEG {
            break;
        }
    }
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metres per degree of latitude, enough to express round-trip errors in metres.
    const M_PER_DEG: f64 = 111_320.0;

    /// One line of the reference vectors: from, to, input lon/lat, expected lon/lat,
    /// tolerance in degrees, source.
    type Vector = (Crs, Crs, f64, f64, f64, f64, f64, String);

    fn vectors() -> Vec<Vector> {
        let text = include_str!("../tests/fixtures/crs_vectors.csv");
        text.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.splitn(8, ',').collect();
                let num = |i: usize| f[i].parse::<f64>().unwrap();
                (
                    f[0].parse().unwrap(),
                    f[1].parse().unwrap(),
                    num(2),
                    num(3),
                    num(4),
                    num(5),
                    num(6),
                    f[7].to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn reference_vectors_match_within_their_tolerance() {
        let v = vectors();
        assert_eq!(v.len(), 10, "all vectors read");
        for (from, to, lon, lat, elon, elat, tol, source) in v {
            let (x, y) = convert(from, to, lon, lat);
            // A tolerance of 0 means "unchanged": allow only rounding noise.
            let tol = tol.max(1e-12);
            assert!(
                (x - elon).abs() <= tol && (y - elat).abs() <= tol,
                "{from}->{to} ({lon},{lat}) gave ({x},{y}), expected ({elon},{elat}) ±{tol} [{source}]"
            );
        }
    }

    #[test]
    fn canonical_chain_from_design() {
        let (gx, gy) = wgs84_to_gcj02(116.404, 39.915);
        assert!((gx - 116.41024449916938).abs() < 1e-9 && (gy - 39.91640428150164).abs() < 1e-9);
        let (bx, by) = gcj02_to_bd09(gx, gy);
        assert!((bx - 116.41662724378733).abs() < 1e-9 && (by - 39.922699552216216).abs() < 1e-9);
    }

    /// The largest distance in metres between a point and its round trip a → b → a, over a
    /// lattice covering mainland China and its edges.
    fn worst_round_trip_m(a: Crs, b: Crs) -> f64 {
        let mut worst: f64 = 0.0;
        for i in 0..=40 {
            for j in 0..=40 {
                let lon = 73.5 + 61.0 * i as f64 / 40.0;
                let lat = 18.5 + 35.0 * j as f64 / 40.0;
                let (x, y) = convert(a, b, lon, lat);
                let (x2, y2) = convert(b, a, x, y);
                worst = worst.max(((x2 - lon).powi(2) + (y2 - lat).powi(2)).sqrt() * M_PER_DEG);
            }
        }
        worst
    }

    #[test]
    fn wgs84_gcj02_round_trip_is_below_a_micrometre() {
        let worst = worst_round_trip_m(Crs::Wgs84, Crs::Gcj02);
        assert!(worst < 1e-6, "worst round trip {worst} m");
    }

    #[test]
    fn bd09_round_trips_stay_within_the_published_inverse_error() {
        // The published BD-09 inverse is approximate (see bd09_to_gcj02): centimetres.
        for (a, b) in [(Crs::Gcj02, Crs::Bd09), (Crs::Wgs84, Crs::Bd09)] {
            let worst = worst_round_trip_m(a, b);
            assert!(worst < 0.3, "{a}->{b}->{a}: worst round trip {worst} m");
        }
    }

    #[test]
    fn gcj_offset_is_hundreds_of_metres_in_china_and_zero_outside() {
        let (x, y) = wgs84_to_gcj02(112.98, 28.2);
        let d_m = ((x - 112.98).powi(2) + (y - 28.2).powi(2)).sqrt() * M_PER_DEG;
        assert!((100.0..1000.0).contains(&d_m), "offset {d_m} m");
        assert_eq!(wgs84_to_gcj02(24.94, 60.17), (24.94, 60.17));
        assert_eq!(gcj02_to_wgs84(8.55, 47.37), (8.55, 47.37));
    }
}
