//! A local equirectangular frame: metres east/north of an origin ⇄ WGS84 lon/lat.
//!
//! Good to a few centimetres over the ~10 km of a simulated city, which is all the simulator
//! needs; the engine measures with proper geodesics.

/// Metres per degree of latitude on the mean Earth sphere (R = 6,371,008.8 m).
const M_PER_DEG_LAT: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// An equirectangular projection centred on (`lon0`, `lat0`); x = east, y = north, metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocalFrame {
    /// Longitude of the origin, degrees.
    pub lon0: f64,
    /// Latitude of the origin, degrees.
    pub lat0: f64,
    /// Metres per degree of longitude at the origin's latitude.
    m_per_deg_lon: f64,
}

impl LocalFrame {
    /// A frame centred on `lon0`, `lat0` (degrees).
    pub fn new(lon0: f64, lat0: f64) -> Self {
        LocalFrame {
            lon0,
            lat0,
            m_per_deg_lon: M_PER_DEG_LAT * lat0.to_radians().cos(),
        }
    }

    /// Projects lon/lat (degrees) to metres east/north of the origin.
    pub fn to_m(&self, lon: f64, lat: f64) -> [f64; 2] {
        [
            (lon - self.lon0) * self.m_per_deg_lon,
            (lat - self.lat0) * M_PER_DEG_LAT,
        ]
    }

    /// Unprojects metres east/north of the origin to lon/lat (degrees).
    pub fn to_lonlat(&self, x_m: f64, y_m: f64) -> [f64; 2] {
        [
            self.lon0 + x_m / self.m_per_deg_lon,
            self.lat0 + y_m / M_PER_DEG_LAT,
        ]
    }

    /// Unprojects to lon/lat in units of 1e-7 degree (≈ 1 cm), the precision of every output.
    pub fn to_lonlat_e7(&self, x_m: f64, y_m: f64) -> [i64; 2] {
        let [lon, lat] = self.to_lonlat(x_m, y_m);
        [(lon * 1e7).round() as i64, (lat * 1e7).round() as i64]
    }
}

/// Degrees from an integer count of 1e-7 degree (exactly what parsing its decimal text gives).
pub fn e7_to_deg(v: i64) -> f64 {
    v as f64 / 1e7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_exact_to_a_millimetre() {
        let f = LocalFrame::new(112.98, 28.2);
        let [x, y] = f.to_m(112.99, 28.21);
        assert!((x - 979.8).abs() < 2.0, "{x}");
        assert!((y - 1111.95).abs() < 0.1, "{y}");
        let [lon, lat] = f.to_lonlat(x, y);
        assert!((lon - 112.99).abs() < 1e-11 && (lat - 28.21).abs() < 1e-11);
    }

    #[test]
    fn e7_values_equal_their_parsed_text() {
        let v = 1_129_811_234_i64;
        assert_eq!(e7_to_deg(v), "112.9811234".parse::<f64>().unwrap());
        assert_eq!(
            e7_to_deg(-282_012_345),
            "-28.2012345".parse::<f64>().unwrap()
        );
    }
}
