//! Distances on the WGS84 ellipsoid, fast enough for the per-ping hot loops.
//!
//! A step between two pings is a few metres to a few hundred metres. Over such a step the
//! ellipsoid is flat to within a part in a billion, so the distance is the Euclidean norm of
//! the latitude and longitude differences scaled by the ellipsoid's radii of curvature (the
//! meridian radius M and the prime-vertical radius N·cos φ), averaged over the step's two ends.
//! Against Karney's geodesic (geographiclib) this is within 1e-6 relative for steps under
//! 10 km; longer steps fall back to the geodesic itself (DESIGN.md §4.3 asks for 0.01 %).

use geo::{Distance, Geodesic, Point};

/// WGS84 semi-major axis, metres.
const WGS84_A: f64 = 6_378_137.0;
/// WGS84 first eccentricity squared.
const WGS84_E2: f64 = 0.006_694_379_990_141_317;

/// Steps longer than this many metres (by the local estimate) use the full geodesic.
const LOCAL_LIMIT_M: f64 = 10_000.0;

/// Metres per radian of longitude (`kx`) and of latitude (`ky`) at one latitude: the local
/// scale of the ellipsoid. Computing it once per ping makes every distance a few
/// multiplications.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    /// Metres per radian of longitude: N(φ)·cos φ.
    pub kx: f64,
    /// Metres per radian of latitude: M(φ).
    pub ky: f64,
}

impl Scale {
    /// The scale at latitude `lat` (degrees).
    pub fn at(lat: f64) -> Scale {
        let (s, c) = lat.to_radians().sin_cos();
        let w2 = 1.0 - WGS84_E2 * s * s;
        let w = w2.sqrt();
        let n = WGS84_A / w;
        let m = WGS84_A * (1.0 - WGS84_E2) / (w2 * w);
        Scale { kx: n * c, ky: m }
    }
}

/// The distance in metres between two positions (degrees) given their scales, on the WGS84
/// ellipsoid: the local estimate below 10 km, Karney's geodesic beyond.
#[inline]
pub fn distance_scaled_m(lon1: f64, lat1: f64, s1: Scale, lon2: f64, lat2: f64, s2: Scale) -> f64 {
    let mut dlon = lon2 - lon1;
    // Steps across the antimeridian go the short way round.
    if dlon > 180.0 {
        dlon -= 360.0;
    } else if dlon < -180.0 {
        dlon += 360.0;
    }
    let dx = dlon.to_radians() * 0.5 * (s1.kx + s2.kx);
    let dy = (lat2 - lat1).to_radians() * 0.5 * (s1.ky + s2.ky);
    let d = (dx * dx + dy * dy).sqrt();
    if d < LOCAL_LIMIT_M {
        d
    } else {
        geodesic_m(lon1, lat1, lon2, lat2)
    }
}

/// The distance in metres between two positions (degrees) on the WGS84 ellipsoid.
#[inline]
pub fn distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    distance_scaled_m(lon1, lat1, Scale::at(lat1), lon2, lat2, Scale::at(lat2))
}

/// Karney's geodesic distance in metres (geographiclib via geo): exact, and ~50× slower.
pub fn geodesic_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    Geodesic.distance(Point::new(lon1, lat1), Point::new(lon2, lat2))
}

/// A local metric frame: east/north metres from an origin, for geometry (buffers, cells,
/// simplification) over an area of a few kilometres. Distortion grows with the distance from
/// the origin (about 2e-4 relative at 10 km north or south at mid latitudes), so origins
/// should be near the data: one per grid or per segment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocalFrame {
    /// Origin longitude, degrees.
    pub lon0: f64,
    /// Origin latitude, degrees.
    pub lat0: f64,
    /// Metres per degree of longitude at the origin.
    pub mx: f64,
    /// Metres per degree of latitude at the origin.
    pub my: f64,
}

impl LocalFrame {
    /// A frame with its origin at (lon0, lat0).
    pub fn new(lon0: f64, lat0: f64) -> LocalFrame {
        let s = Scale::at(lat0);
        LocalFrame {
            lon0,
            lat0,
            mx: s.kx.to_radians(),
            my: s.ky.to_radians(),
        }
    }

    /// (lon, lat) in degrees → (east, north) in metres.
    #[inline]
    pub fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        ((lon - self.lon0) * self.mx, (lat - self.lat0) * self.my)
    }

    /// (east, north) in metres → (lon, lat) in degrees.
    #[inline]
    pub fn unproject(&self, x: f64, y: f64) -> (f64, f64) {
        (self.lon0 + x / self.mx, self.lat0 + y / self.my)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_distance_matches_karney_within_a_millionth() {
        // Steps of 1 m to 9.9 km in every direction at latitudes 0–70°.
        for lat in [0.0, 22.5, 28.2, 39.9, 47.4, 60.2, 70.0] {
            for (i, len_deg) in [1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.08].into_iter().enumerate() {
                for k in 0..16 {
                    let az = (k as f64 * 22.5 + i as f64).to_radians();
                    let (lon1, lat1) = (112.98, lat);
                    let (lon2, lat2) = (lon1 + len_deg * az.sin(), lat1 + len_deg * az.cos());
                    let exact = geodesic_m(lon1, lat1, lon2, lat2);
                    let fast = distance_m(lon1, lat1, lon2, lat2);
                    assert!(
                        (fast - exact).abs() <= 1e-6 * exact + 1e-9,
                        "lat {lat}, step {len_deg}° az {k}: {fast} vs {exact}"
                    );
                }
            }
        }
    }

    #[test]
    fn long_steps_use_the_geodesic() {
        let (a, b) = ((7.03, 47.05), (7.2, 47.1));
        assert_eq!(
            distance_m(a.0, a.1, b.0, b.1),
            geodesic_m(a.0, a.1, b.0, b.1)
        );
    }

    #[test]
    fn frame_round_trips_and_measures_metres() {
        let f = LocalFrame::new(24.94, 60.17);
        let (x, y) = f.project(24.95, 60.175);
        let (lon, lat) = f.unproject(x, y);
        assert!((lon - 24.95).abs() < 1e-12 && (lat - 60.175).abs() < 1e-12);
        let exact = geodesic_m(24.94, 60.17, 24.95, 60.175);
        assert!(((x * x + y * y).sqrt() - exact).abs() < 1e-3 * exact);
    }
}
