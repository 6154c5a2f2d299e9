//! The location report body (位置信息汇报, 0x0200; JT/T 808-2019 §8.18) and the location batch
//! (定位数据批量上传, 0x0704; §8.52).
//!
//! A 0x0200 body is 28 bytes of basic information — alarm flags u32, status u32, latitude
//! u32 and longitude u32 in 1e-6 degrees, altitude u16 m, speed u16 in 0.1 km/h, direction
//! u16 degrees, time BCD\[6\] `YYMMDDhhmmss` in UTC+8 — then additional items (id u8, length
//! u8, value). Status bit 0 is ACC on, bit 1 positioned, bit 2 south latitude, bit 3 west
//! longitude.
//!
//! Decisions:
//! - Every item is kept raw ([`Location::items`]); the standard's items the door uses are also
//!   read into fields when their length is the standard's (0x01 mileage u32 0.1 km, 0x02 fuel
//!   u16 0.1 L, 0x03 recorder speed u16 0.1 km/h, 0x30 signal strength u8, 0x31 satellites
//!   u8); another length leaves the field `None`.
//! - The work state and water pressure of sanitation vehicles are vendor items whose ids the
//!   [`ItemMap`] names. **Our convention** (the default): 0xE1 work (any nonzero byte: working)
//!   and 0xE2 pressure in 0.01 MPa — ids in the standard's custom range 0xE0–0xFF, clear of its
//!   own 0x01–0x31. Other vendors use 0xE1/0xE2 for other things, so a fleet whose terminals
//!   do sets its own ids (or `None`).
//! - An item whose length runs past the end makes the whole location `bad_item`: its other
//!   values cannot be trusted to be where they seem. In a batch that costs that location only.
//! - Coordinates are not range-checked here: the ingest rules check every position.

use super::bcd;
use super::frame::FrameError;
use crate::model::UnixMs;

/// The bytes of a location's basic information, before the additional items.
const BASIC_BYTES: usize = 28;

/// Status bits (状态位定义, JT/T 808-2019 table 25).
const STATUS_ACC: u32 = 1 << 0;
const STATUS_POSITIONED: u32 = 1 << 1;
const STATUS_SOUTH: u32 = 1 << 2;
const STATUS_WEST: u32 = 1 << 3;

/// Which additional items carry the work state and the water pressure of sanitation vehicles
/// (vendor items, not in the standard), and the unit of the pressure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ItemMap {
    /// The id of the work-state item: a value with any nonzero byte is "working".
    pub work: Option<u8>,
    /// The id of the pressure item: a big-endian unsigned integer of 1, 2 or 4 bytes.
    pub pressure: Option<u8>,
    /// MPa per unit of the pressure item.
    pub pressure_scale: f64,
}

impl Default for ItemMap {
    /// Our convention: 0xE1 work, 0xE2 pressure in 0.01 MPa.
    fn default() -> Self {
        ItemMap {
            work: Some(0xe1),
            pressure: Some(0xe2),
            pressure_scale: 0.01,
        }
    }
}

/// One additional item (位置附加信息项) as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Its id (附加信息 ID).
    pub id: u8,
    /// Its value, `len` bytes.
    pub value: Vec<u8>,
}

/// One decoded location (0x0200 body, or one item of a 0x0704 batch).
#[derive(Clone, Debug, PartialEq)]
pub struct Location {
    /// The alarm flags as sent (报警标志).
    pub alarm: u32,
    /// The status bits as sent (状态).
    pub status: u32,
    /// Status bit 0: ACC (ignition) on.
    pub acc_on: bool,
    /// Status bit 1: the position is a fix (定位); when false, lon/lat are stale or zero.
    pub positioned: bool,
    /// Longitude, degrees, negative west (status bit 3); the terminal's datum (WGS84 by the
    /// standard).
    pub lon: f64,
    /// Latitude, degrees, negative south (status bit 2).
    pub lat: f64,
    /// Altitude, metres.
    pub altitude_m: u16,
    /// Speed, km/h (sent in 0.1 km/h).
    pub speed_kmh: f64,
    /// Direction, degrees clockwise from north (0–359).
    pub direction_deg: u16,
    /// When the fix was taken, UTC ms (sent as Beijing time).
    pub ts: UnixMs,
    /// Item 0x01: odometer, km (sent in 0.1 km).
    pub mileage_km: Option<f64>,
    /// Item 0x02: fuel, litres (sent in 0.1 L).
    pub fuel_l: Option<f64>,
    /// Item 0x03: the tachograph's speed, km/h (sent in 0.1 km/h).
    pub recorder_speed_kmh: Option<f64>,
    /// Item 0x30: mobile network signal strength.
    pub signal: Option<u8>,
    /// Item 0x31: GNSS satellites in view.
    pub satellites: Option<u8>,
    /// The work-state item of the [`ItemMap`]: working or not.
    pub work: Option<bool>,
    /// The pressure item of the [`ItemMap`], MPa.
    pub pressure_mpa: Option<f64>,
    /// Every additional item, in order.
    pub items: Vec<Item>,
}

/// A big-endian unsigned integer of 1 to 4 bytes.
fn be_uint(bytes: &[u8]) -> Option<u32> {
    (1..=4)
        .contains(&bytes.len())
        .then(|| bytes.iter().fold(0, |acc, &b| (acc << 8) | u32::from(b)))
}

/// Reads a 0x0200 body.
///
/// # Errors
/// `truncated` (shorter than 28 bytes), `bad_bcd` / `bad_time` (the time), `bad_item` (an
/// item running past the end).
pub fn decode_location(body: &[u8], map: &ItemMap) -> Result<Location, FrameError> {
    let Some((basic, mut rest)) = body.split_first_chunk::<BASIC_BYTES>() else {
        return Err(FrameError::Truncated {
            what: "location",
            needed: BASIC_BYTES,
            got: body.len(),
        });
    };
    let u32_at =
        |at: usize| u32::from_be_bytes([basic[at], basic[at + 1], basic[at + 2], basic[at + 3]]);
    let u16_at = |at: usize| u16::from_be_bytes([basic[at], basic[at + 1]]);
    let status = u32_at(4);
    let mut lat = f64::from(u32_at(8)) / 1e6;
    let mut lon = f64::from(u32_at(12)) / 1e6;
    if status & STATUS_SOUTH != 0 {
        lat = -lat;
    }
    if status & STATUS_WEST != 0 {
        lon = -lon;
    }
    let mut time = [0u8; 6];
    time.copy_from_slice(&basic[22..28]);
    let mut loc = Location {
        alarm: u32_at(0),
        status,
        acc_on: status & STATUS_ACC != 0,
        positioned: status & STATUS_POSITIONED != 0,
        lon,
        lat,
        altitude_m: u16_at(16),
        speed_kmh: f64::from(u16_at(18)) / 10.0,
        direction_deg: u16_at(20),
        ts: bcd::time_utc8(&time)?,
        mileage_km: None,
        fuel_l: None,
        recorder_speed_kmh: None,
        signal: None,
        satellites: None,
        work: None,
        pressure_mpa: None,
        items: Vec::new(),
    };
    while let Some((&id, after_id)) = rest.split_first() {
        let Some((&len, after_len)) = after_id.split_first() else {
            return Err(FrameError::BadItem {
                id,
                len: 1,
                available: 0,
            });
        };
        let len = usize::from(len);
        let Some((value, next)) = after_len.split_at_checked(len) else {
            return Err(FrameError::BadItem {
                id,
                len,
                available: after_len.len(),
            });
        };
        rest = next;
        match (id, len) {
            (0x01, 4) => loc.mileage_km = be_uint(value).map(|v| f64::from(v) / 10.0),
            (0x02, 2) => loc.fuel_l = be_uint(value).map(|v| f64::from(v) / 10.0),
            (0x03, 2) => loc.recorder_speed_kmh = be_uint(value).map(|v| f64::from(v) / 10.0),
            (0x30, 1) => loc.signal = Some(value[0]),
            (0x31, 1) => loc.satellites = Some(value[0]),
            _ => {}
        }
        if Some(id) == map.work && !value.is_empty() {
            loc.work = Some(value.iter().any(|&b| b != 0));
        }
        if Some(id) == map.pressure && matches!(len, 1 | 2 | 4) {
            loc.pressure_mpa = be_uint(value).map(|v| f64::from(v) * map.pressure_scale);
        }
        loc.items.push(Item {
            id,
            value: value.to_vec(),
        });
    }
    Ok(loc)
}

/// The kind of a 0x0704 batch (位置数据类型).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchKind {
    /// 0: positions reported in a batch (正常位置批量汇报).
    Normal,
    /// 1: positions stored while out of coverage, sent afterwards (盲区补报).
    BlindArea,
    /// Any other value, as sent.
    Other(u8),
}

/// A decoded 0x0704 batch: count u16, kind u8, then items of a u16 length and a 0x0200 body.
#[derive(Clone, Debug, PartialEq)]
pub struct LocationBatch {
    /// The kind of the batch.
    pub kind: BatchKind,
    /// The count the terminal announced (数据项个数).
    pub count: u16,
    /// One result per item, in order: a bad item costs only itself. When the body ends
    /// before `count` items, or an item's length runs past the end, the last result is that
    /// `truncated` error and no more items follow.
    pub locations: Vec<Result<Location, FrameError>>,
}

/// Reads a 0x0704 body.
///
/// # Errors
/// `truncated` when the body is shorter than its count and kind (3 bytes); errors of single
/// items are in [`LocationBatch::locations`].
pub(crate) fn decode_batch(body: &[u8], map: &ItemMap) -> Result<LocationBatch, FrameError> {
    let Some((head, mut rest)) = body.split_first_chunk::<3>() else {
        return Err(FrameError::Truncated {
            what: "location batch",
            needed: 3,
            got: body.len(),
        });
    };
    let count = u16::from_be_bytes([head[0], head[1]]);
    let kind = match head[2] {
        0 => BatchKind::Normal,
        1 => BatchKind::BlindArea,
        other => BatchKind::Other(other),
    };
    let mut locations = Vec::new();
    for _ in 0..count {
        let item = rest
            .split_first_chunk::<2>()
            .map(|(len, after)| (usize::from(u16::from_be_bytes(*len)), after))
            .and_then(|(len, after)| after.split_at_checked(len));
        match item {
            Some((one, next)) => {
                locations.push(decode_location(one, map));
                rest = next;
            }
            None => {
                let needed = rest
                    .split_first_chunk::<2>()
                    .map_or(2, |(len, _)| 2 + usize::from(u16::from_be_bytes(*len)));
                locations.push(Err(FrameError::Truncated {
                    what: "location batch item",
                    needed,
                    got: rest.len(),
                }));
                break;
            }
        }
    }
    Ok(LocationBatch {
        kind,
        count,
        locations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 0x0200 body: alarm 0, the status given, 31.000562 N 121.451372 E (or S/W by the
    /// status), 5 m, 12.3 km/h, 270°, 2024-10-29 21:39:03 +08:00, then `items`.
    fn body(status: u32, items: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(0u32.to_be_bytes());
        b.extend(status.to_be_bytes());
        b.extend(31_000_562u32.to_be_bytes());
        b.extend(121_451_372u32.to_be_bytes());
        b.extend(5u16.to_be_bytes());
        b.extend(123u16.to_be_bytes());
        b.extend(270u16.to_be_bytes());
        b.extend([0x24, 0x10, 0x29, 0x21, 0x39, 0x03]);
        b.extend(items);
        b
    }

    /// 2024-10-29T13:39:03Z (`date -u -d 2024-10-29T13:39:03Z +%s`).
    const TS: UnixMs = 1_730_209_143_000;

    #[test]
    fn basic_information_and_status_bits() {
        let loc = decode_location(&body(0b0011, &[]), &ItemMap::default()).unwrap();
        assert_eq!(loc.ts, TS);
        assert!(loc.acc_on && loc.positioned);
        assert!((loc.lat - 31.000562).abs() < 1e-9);
        assert!((loc.lon - 121.451372).abs() < 1e-9);
        assert_eq!(loc.altitude_m, 5);
        assert!((loc.speed_kmh - 12.3).abs() < 1e-9);
        assert_eq!(loc.direction_deg, 270);
        assert!(loc.items.is_empty());
        let sw = decode_location(&body(0b1100, &[]), &ItemMap::default()).unwrap();
        assert!(!sw.acc_on && !sw.positioned);
        assert!((sw.lat + 31.000562).abs() < 1e-9);
        assert!((sw.lon + 121.451372).abs() < 1e-9);
    }

    #[test]
    fn standard_and_vendor_items() {
        let items = [
            0x01, 4, 0, 0, 0x30, 0x39, // 12345 → 1234.5 km
            0x02, 2, 0x01, 0xf4, // 500 → 50.0 L
            0x03, 2, 0x00, 0x64, // 100 → 10.0 km/h
            0x30, 1, 0x17, // signal 23
            0x31, 1, 0x0c, // 12 satellites
            0xe1, 2, 0x00, 0x01, // working
            0xe2, 2, 0x00, 0x96, // 150 → 1.5 MPa
            0x25, 4, 0, 0, 0, 0, // an item we do not read
        ];
        let loc = decode_location(&body(3, &items), &ItemMap::default()).unwrap();
        assert_eq!(loc.mileage_km, Some(1234.5));
        assert_eq!(loc.fuel_l, Some(50.0));
        assert_eq!(loc.recorder_speed_kmh, Some(10.0));
        assert_eq!(loc.signal, Some(23));
        assert_eq!(loc.satellites, Some(12));
        assert_eq!(loc.work, Some(true));
        assert!((loc.pressure_mpa.unwrap() - 1.5).abs() < 1e-9);
        assert_eq!(loc.items.len(), 8);
        assert_eq!(
            loc.items[7],
            Item {
                id: 0x25,
                value: vec![0; 4]
            }
        );
    }

    #[test]
    fn the_item_map_is_configurable() {
        let items = [0xe1, 1, 0x00, 0xf0, 4, 0, 0, 0x03, 0xe8, 0xe2, 3, 1, 2, 3];
        let map = ItemMap {
            work: Some(0xe1),
            pressure: Some(0xf0),
            pressure_scale: 0.001,
        };
        let loc = decode_location(&body(3, &items), &map).unwrap();
        assert_eq!(loc.work, Some(false));
        assert!((loc.pressure_mpa.unwrap() - 1.0).abs() < 1e-9);
        // With the defaults, 0xe2 has 3 bytes: not a pressure, still kept raw.
        let loc = decode_location(&body(3, &items), &ItemMap::default()).unwrap();
        assert_eq!(loc.pressure_mpa, None);
        assert_eq!(loc.items[2].value, vec![1, 2, 3]);
        let none = ItemMap {
            work: None,
            pressure: None,
            pressure_scale: 1.0,
        };
        let loc = decode_location(&body(3, &items), &none).unwrap();
        assert_eq!((loc.work, loc.pressure_mpa), (None, None));
    }

    #[test]
    fn standard_items_of_another_length_are_kept_raw_only() {
        let loc =
            decode_location(&body(3, &[0x01, 2, 0, 9, 0x30, 0]), &ItemMap::default()).unwrap();
        assert_eq!(loc.mileage_km, None);
        assert_eq!(loc.signal, None);
        assert_eq!(loc.items.len(), 2);
    }

    #[test]
    fn malformed_locations_are_errors() {
        let map = ItemMap::default();
        assert_eq!(
            decode_location(&body(3, &[])[..27], &map)
                .unwrap_err()
                .code(),
            "truncated"
        );
        assert_eq!(
            decode_location(&body(3, &[0x01, 4, 0, 0]), &map),
            Err(FrameError::BadItem {
                id: 0x01,
                len: 4,
                available: 2
            })
        );
        assert_eq!(
            decode_location(&body(3, &[0x30, 1, 5, 0x31]), &map)
                .unwrap_err()
                .code(),
            "bad_item"
        );
        let mut bad_time = body(3, &[]);
        bad_time[23] = 0x13;
        assert_eq!(
            decode_location(&bad_time, &map).unwrap_err().code(),
            "bad_time"
        );
        bad_time[23] = 0x1f;
        assert_eq!(
            decode_location(&bad_time, &map).unwrap_err().code(),
            "bad_bcd"
        );
    }

    fn batch(kind: u8, items: &[Vec<u8>], count: u16) -> Vec<u8> {
        let mut b = count.to_be_bytes().to_vec();
        b.push(kind);
        for item in items {
            b.extend(u16::try_from(item.len()).unwrap().to_be_bytes());
            b.extend(item);
        }
        b
    }

    #[test]
    fn a_bad_item_in_a_batch_costs_only_itself() {
        let good = body(3, &[0x30, 1, 9]);
        let bad = body(3, &[0x30, 9, 9]);
        let b = batch(1, &[good.clone(), bad, good], 3);
        let got = decode_batch(&b, &ItemMap::default()).unwrap();
        assert_eq!(got.kind, BatchKind::BlindArea);
        assert_eq!(got.count, 3);
        let codes: Vec<&str> = got
            .locations
            .iter()
            .map(|r| r.as_ref().map_or_else(|e| e.code(), |_| "ok"))
            .collect();
        assert_eq!(codes, ["ok", "bad_item", "ok"]);
        assert_eq!(got.locations[2].as_ref().unwrap().signal, Some(9));
    }

    #[test]
    fn a_batch_cut_short_keeps_the_items_before_the_cut() {
        let good = body(3, &[]);
        let mut b = batch(0, &[good.clone(), good], 3);
        let got = decode_batch(&b, &ItemMap::default()).unwrap();
        assert_eq!(got.kind, BatchKind::Normal);
        assert_eq!(got.locations.len(), 3);
        assert!(got.locations[0].is_ok() && got.locations[1].is_ok());
        assert_eq!(got.locations[2].as_ref().unwrap_err().code(), "truncated");
        // An item whose length runs past the end.
        b.truncate(b.len() - 1);
        let got = decode_batch(&b, &ItemMap::default()).unwrap();
        assert_eq!(got.locations.len(), 2);
        assert_eq!(
            got.locations[1],
            Err(FrameError::Truncated {
                what: "location batch item",
                needed: 30,
                got: 29
            })
        );
        assert_eq!(
            decode_batch(&[0, 1], &ItemMap::default())
                .unwrap_err()
                .code(),
            "truncated"
        );
        let other = decode_batch(&[0, 0, 7], &ItemMap::default()).unwrap();
        assert_eq!(other.kind, BatchKind::Other(7));
        assert!(other.locations.is_empty());
    }
}
