//! Mapbox Vector Tiles, TileJSON and the MapLibre style of the map layers (DESIGN.md §5.4,
//! the layers contract).
//!
//! Pure: a GeoJSON FeatureCollection in WGS84 (as the layers module writes it) goes in, the
//! bytes of one tile come out. The door caches a [`PreparedLayer`] (the collection projected
//! to Web Mercator once) and cuts many tiles from it; [`encode_tile`] is the one-shot form.
//!
//! Per tile: a bounding-box prefilter per feature, then its coordinates in tile space
//! (0..[`EXTENT`]), clipped to the tile grown by [`BUFFER`] units (Liang–Barsky for lines,
//! Sutherland–Hodgman for rings), snapped to integers, repeated points dropped and
//! Douglas–Peucker at one tile unit — the simplification follows the zoom by itself. Rings
//! get the MVT 2.1 winding (exterior positive area with y down, holes negative). The protobuf
//! messages and the geometry command stream are geozero's.

mod clip;
mod prepare;
mod style;

pub use prepare::PreparedLayer;
pub use style::{style, tilejson};

/// Size of a tile in tile units (the MVT `extent`).
pub const EXTENT: u32 = 4096;
/// Tile units kept around each tile, so that lines and outlines join across tile edges.
pub const BUFFER: u32 = 64;
/// The layers the service serves as vector tiles (the others only as GeoJSON).
pub const TILED_LAYERS: [&str; 4] = ["grids", "tracks", "coverage", "heat"];
/// Highest zoom a [`TileId`] may have.
pub const MAX_ZOOM: u8 = 24;

/// Web Mercator's latitude limit (degrees), where the projected world is square.
pub(crate) const MAX_LAT: f64 = 85.051_128_779_806_59;

/// Why a tile could not be named or cut.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    /// A path segment of `/{z}/{x}/{y}` is not a non-negative integer.
    #[error("tile {field} `{value}` is not a non-negative integer")]
    NotANumber {
        /// `z`, `x` or `y`.
        field: &'static str,
        /// The text as given.
        value: String,
    },
    /// The zoom is above [`MAX_ZOOM`].
    #[error("zoom {z} is above the highest zoom {MAX_ZOOM}")]
    ZoomOutOfRange {
        /// The zoom as given.
        z: u32,
    },
    /// `x` or `y` is not below 2^z.
    #[error("tile {z}/{x}/{y} does not exist: x and y must be below 2^{z}")]
    TileOutOfRange {
        /// Zoom.
        z: u8,
        /// Column.
        x: u32,
        /// Row.
        y: u32,
    },
    /// The input is not a GeoJSON FeatureCollection.
    #[error("not a GeoJSON FeatureCollection: {reason}")]
    NotACollection {
        /// What is wrong.
        reason: String,
    },
    /// A feature's geometry cannot be read.
    #[error("feature {index}: {reason}")]
    BadGeometry {
        /// Index of the feature in the collection.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The MVT encoder refused a geometry (a bug here: every part is checked before).
    #[error("vector tile encoder: {reason}")]
    Encoder {
        /// The encoder's message.
        reason: String,
    },
}

impl TileError {
    /// A stable snake_case code for the HTTP error body.
    pub fn code(&self) -> &'static str {
        match self {
            TileError::NotANumber { .. } => "invalid_tile",
            TileError::ZoomOutOfRange { .. } => "invalid_zoom",
            TileError::TileOutOfRange { .. } => "tile_out_of_range",
            TileError::NotACollection { .. } => "not_a_feature_collection",
            TileError::BadGeometry { .. } => "invalid_geometry",
            TileError::Encoder { .. } => "tile_encoder",
        }
    }
}

/// One tile of the XYZ scheme (y = 0 at the north, as MapLibre requests them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Zoom, 0..=[`MAX_ZOOM`].
    pub z: u8,
    /// Column, 0 at 180° W.
    pub x: u32,
    /// Row, 0 at the north edge.
    pub y: u32,
}

impl TileId {
    /// A tile, checked.
    ///
    /// # Errors
    /// [`TileError::ZoomOutOfRange`] when `z > 24`, [`TileError::TileOutOfRange`] when `x` or
    /// `y` is not below 2^z.
    pub fn new(z: u8, x: u32, y: u32) -> Result<TileId, TileError> {
        if z > MAX_ZOOM {
            return Err(TileError::ZoomOutOfRange { z: u32::from(z) });
        }
        let n = 1u64 << z;
        if u64::from(x) >= n || u64::from(y) >= n {
            return Err(TileError::TileOutOfRange { z, x, y });
        }
        Ok(TileId { z, x, y })
    }

    /// A tile from the path segments of `/{z}/{x}/{y}`; `y` may end in `.mvt`.
    ///
    /// # Errors
    /// [`TileError::NotANumber`] for a segment that is not a decimal integer, else as
    /// [`TileId::new`].
    pub fn parse(z: &str, x: &str, y: &str) -> Result<TileId, TileError> {
        let y = y.strip_suffix(".mvt").unwrap_or(y);
        let z = parse_u32("z", z)?;
        let x = parse_u32("x", x)?;
        let y = parse_u32("y", y)?;
        let z = u8::try_from(z)
            .ok()
            .filter(|z| *z <= MAX_ZOOM)
            .ok_or(TileError::ZoomOutOfRange { z })?;
        TileId::new(z, x, y)
    }

    /// The tile's bounds in degrees, `[west, south, east, north]`.
    pub fn bounds_lonlat(&self) -> [f64; 4] {
        self.bounds_lonlat_buffered(0)
    }

    /// The tile's bounds grown by `buffer_px` tile units (of [`EXTENT`] per tile) on every
    /// side, in degrees `[west, south, east, north]`, clamped to the Web Mercator world.
    pub fn bounds_lonlat_buffered(&self, buffer_px: u32) -> [f64; 4] {
        let n = 2f64.powi(i32::from(self.z));
        let b = f64::from(buffer_px) / f64::from(EXTENT);
        let w = ((f64::from(self.x) - b) / n).max(0.0);
        let e = ((f64::from(self.x) + 1.0 + b) / n).min(1.0);
        let top = ((f64::from(self.y) - b) / n).max(0.0);
        let bottom = ((f64::from(self.y) + 1.0 + b) / n).min(1.0);
        [
            unproject_x(w),
            unproject_y(bottom),
            unproject_x(e),
            unproject_y(top),
        ]
    }
}

fn parse_u32(field: &'static str, text: &str) -> Result<u32, TileError> {
    // `u32::from_str` takes a leading `+`; a path segment should be digits only.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TileError::NotANumber {
            field,
            value: text.to_string(),
        });
    }
    text.parse().map_err(|_| TileError::NotANumber {
        field,
        value: text.to_string(),
    })
}

/// Longitude (degrees) → Web Mercator x in world units, 0..1 from west to east.
#[inline]
pub(crate) fn project_x(lon: f64) -> f64 {
    (lon + 180.0) / 360.0
}

/// Latitude (degrees) → Web Mercator y in world units, 0..1 from north to south; latitudes
/// beyond ±[`MAX_LAT`] are clamped.
#[inline]
pub(crate) fn project_y(lat: f64) -> f64 {
    let phi = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    0.5 - (phi.tan() + 1.0 / phi.cos()).ln() / (2.0 * std::f64::consts::PI)
}

fn unproject_x(x: f64) -> f64 {
    x * 360.0 - 180.0
}

fn unproject_y(y: f64) -> f64 {
    (std::f64::consts::PI * (1.0 - 2.0 * y))
        .sinh()
        .atan()
        .to_degrees()
}

/// The vector tile of one layer of a FeatureCollection: `None` when no feature touches the
/// tile (the door answers 204).
///
/// Parses the collection each call; to cut many tiles of one collection, keep a
/// [`PreparedLayer`].
///
/// # Errors
/// [`TileError::NotACollection`] or [`TileError::BadGeometry`] for input that is not a
/// FeatureCollection of readable geometries.
pub fn encode_tile(
    layer: &str,
    collection: &serde_json::Value,
    tile: TileId,
) -> Result<Option<Vec<u8>>, TileError> {
    PreparedLayer::from_geojson(collection)?
        .with_name(layer)
        .encode(tile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_mvt_suffix_and_checks_ranges() {
        assert_eq!(
            TileId::parse("14", "13487", "6208.mvt").unwrap(),
            TileId {
                z: 14,
                x: 13487,
                y: 6208
            }
        );
        assert_eq!(
            TileId::parse("0", "0", "0").unwrap(),
            TileId::new(0, 0, 0).unwrap()
        );
        assert_eq!(
            TileId::parse("1", "2", "0").unwrap_err().code(),
            "tile_out_of_range"
        );
        assert_eq!(
            TileId::parse("25", "0", "0").unwrap_err().code(),
            "invalid_zoom"
        );
        assert_eq!(
            TileId::parse("300", "0", "0").unwrap_err().code(),
            "invalid_zoom"
        );
        assert_eq!(
            TileId::parse("a", "0", "0").unwrap_err().code(),
            "invalid_tile"
        );
        assert_eq!(
            TileId::parse("1", "-1", "0").unwrap_err().code(),
            "invalid_tile"
        );
        assert_eq!(
            TileId::parse("1", "+1", "0").unwrap_err().code(),
            "invalid_tile"
        );
        assert_eq!(
            TileId::parse("1", "0", "").unwrap_err().code(),
            "invalid_tile"
        );
        assert_eq!(
            TileId::parse("1", "0", "0.png").unwrap_err().code(),
            "invalid_tile"
        );
        assert!(TileId::new(24, (1 << 24) - 1, 0).is_ok());
        assert!(TileId::new(24, 1 << 24, 0).is_err());
    }

    #[test]
    fn bounds_of_known_tiles() {
        let b = TileId::new(0, 0, 0).unwrap().bounds_lonlat();
        assert!((b[0] + 180.0).abs() < 1e-9 && (b[2] - 180.0).abs() < 1e-9);
        assert!((b[1] + MAX_LAT).abs() < 1e-9 && (b[3] - MAX_LAT).abs() < 1e-9);
        // z1 tile 1/1 is the south-east quarter.
        let b = TileId::new(1, 1, 1).unwrap().bounds_lonlat();
        assert!(b[0].abs() < 1e-9 && b[3].abs() < 1e-9);
        // The z14 tile of Tiananmen (116.3975, 39.9087); reference values computed with
        // Python's math module from the slippy-map formula.
        let t = TileId::new(14, 13489, 6208).unwrap();
        let b = t.bounds_lonlat();
        let (w, s, e, n) = (
            116.38916015625,
            39.89287990029479,
            116.4111328125,
            39.90973623453718,
        );
        assert!((b[0] - w).abs() < 1e-9 && (b[2] - e).abs() < 1e-9, "{b:?}");
        assert!((b[1] - s).abs() < 1e-9 && (b[3] - n).abs() < 1e-9, "{b:?}");
        // The buffer adds 64/4096 of the tile's width on each side.
        let bb = t.bounds_lonlat_buffered(BUFFER);
        let dx = (b[2] - b[0]) * 64.0 / 4096.0;
        assert!((bb[0] - (b[0] - dx)).abs() < 1e-9 && (bb[2] - (b[2] + dx)).abs() < 1e-9);
        assert!(bb[1] < b[1] && bb[3] > b[3]);
        // At the world's edge the buffer is clamped.
        let bb = TileId::new(0, 0, 0).unwrap().bounds_lonlat_buffered(BUFFER);
        assert_eq!(bb[0], -180.0);
    }

    #[test]
    fn projection_round_trips() {
        for lat in [-80.0, -10.5, 0.0, 39.9, 85.0] {
            assert!((unproject_y(project_y(lat)) - lat).abs() < 1e-9);
        }
        assert!((project_y(0.0) - 0.5).abs() < 1e-15);
        assert!(project_y(90.0).abs() < 1e-12);
    }
}
