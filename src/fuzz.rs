//! The bodies of the fuzz targets (`fuzz/`, cargo-fuzz and libFuzzer): one function per
//! decoder that takes outside bytes, calling the very function the server or the command line
//! calls. The contract of each: for any input it returns, never panics (a bad input is an
//! error value of the decoder), and what it returns holds the decoder's promises (checked
//! here with `assert!`, so a broken promise is a crash the fuzzer reports).
//!
//! The corpus kept in `fuzz/corpus/<target>/` is replayed through these same functions by the
//! test suite (`tests/it/hardening/fuzz_corpus.rs`), so a fixed crash stays fixed without a
//! fuzzer. [`TARGETS`] lists them; `fuzz/README.md` says how to run them.
//!
//! Inputs that are text to the real door (registry files) are read with lossy UTF-8, so the
//! fuzzer's mutations reach the parser rather than an encoding check.

use std::sync::{Arc, LazyLock};

use crate::assess::{Assessor, Params};
use crate::config::Config;
use crate::ingest::row::{parse_row, read_row, Field, Outcome, RawRow, RowFilter, TsUnit};
use crate::ingest::{check_position, gzip, wire};
use crate::model::{Crs, WorkerId};
use crate::registry::{LoadOptions, Registry, Source};
use crate::track::CleanMode;

/// The body of a fuzz target.
pub type Target = fn(&[u8]);

/// Every target: its name (the `fuzz/fuzz_targets/<name>.rs` file and `fuzz/corpus/<name>/`)
/// and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("row_rules", row_rules),
    ("csv_pings", csv_pings),
    ("pings_json", pings_json),
    ("pings_ndjson", pings_ndjson),
    ("osmand", osmand),
    ("owntracks", owntracks),
    ("gpx", gpx),
    ("registry_grids", registry_grids),
    ("registry_workers", registry_workers),
    ("registry_checkpoints", registry_checkpoints),
    ("stored_summary", stored_summary),
    ("gunzip", gunzip),
    ("jt808", jt808),
];

/// The coordinate systems every position decoder is tried in.
const CRSES: [Crs; 3] = [Crs::Wgs84, Crs::Gcj02, Crs::Bd09];

/// A decoded position is a real WGS84 position.
fn assert_position(lon: f64, lat: f64) {
    assert!(
        check_position(lon, lat).is_ok(),
        "a decoder accepted an impossible position lon={lon} lat={lat}"
    );
}

/// The separator of the fields of a [`row_rules`] input.
pub const ROW_FIELD_SEPARATOR: u8 = b'\t';

/// One raw field of a [`row_rules`] input: empty is null; `\x01` + 8 bytes an integer and
/// `\x02` + 8 bytes a float (little-endian, as Parquet and JSON hand them over); `\x03` and
/// `\x04` true and false; anything else text.
fn raw_field(bytes: &[u8]) -> Field<'_> {
    match bytes {
        [] => Field::Null,
        [1, rest @ ..] if rest.len() == 8 => {
            Field::Int(i64::from_le_bytes(rest.try_into().unwrap_or([0; 8])))
        }
        [2, rest @ ..] if rest.len() == 8 => {
            Field::Float(f64::from_le_bytes(rest.try_into().unwrap_or([0; 8])))
        }
        [3] => Field::Bool(true),
        [4] => Field::Bool(false),
        text => Field::Text(text),
    }
}

/// The row rules ([`read_row`], [`parse_row`]), which every door's records go through: the
/// input is the record's fields in the order worker, ts, lat, lon, acc, speed, bearing, alt,
/// batt, mock, checkin, separated by [`ROW_FIELD_SEPARATOR`] (each field as [`raw_field`]
/// reads it). Tried in every CRS, with both timestamp units, with and without a filter.
pub fn row_rules(data: &[u8]) {
    let mut parts = data.split(|b| *b == ROW_FIELD_SEPARATOR).map(raw_field);
    let mut next = || parts.next().unwrap_or_default();
    let mut raw = RawRow {
        worker: next(),
        ts: next(),
        ts_unit: TsUnit::Auto,
        lat: next(),
        lon: next(),
        acc: next(),
        speed: next(),
        bearing: next(),
        alt: next(),
        batt: next(),
        mock: next(),
        checkin: next(),
        ..RawRow::default()
    };
    let range = 1_791_000_000_000..1_792_000_000_000;
    for unit in [TsUnit::Auto, TsUnit::Millis] {
        raw.ts_unit = unit;
        for crs in CRSES {
            match parse_row(&raw, crs) {
                Ok(row) => {
                    assert_position(row.lon, row.lat);
                    assert!(
                        !row.worker.is_empty(),
                        "a row was accepted without a worker"
                    );
                    let ping = row.to_ping();
                    assert_eq!(ping.ts, row.ts);
                }
                Err(fault) => {
                    assert!(!fault.code().is_empty());
                    let _ = fault.to_string();
                }
            }
            let filter = RowFilter {
                crs,
                range: Some(&range),
                worker: Some("w-0001"),
            };
            match read_row(&raw, &filter) {
                Outcome::Ping(row) => {
                    assert!(
                        range.contains(&row.ts),
                        "the period filter let {} in",
                        row.ts
                    );
                    assert_eq!(row.worker, "w-0001", "the worker filter let another in");
                }
                Outcome::Fault(fault, _) => {
                    let _ = fault.to_string();
                }
                Outcome::Skipped => {}
            }
        }
    }
}

/// Pings from a CSV file ([`crate::ingest::csv::read_pings`], the batch door): the input is
/// the whole file, header included.
pub fn csv_pings(data: &[u8]) {
    for crs in CRSES {
        if let Ok(decoded) = crate::ingest::csv::read_pings(data, "fuzz.csv", crs) {
            for p in &decoded.pings {
                assert_position(p.lon, p.lat);
            }
            for e in &decoded.errors {
                let _ = e.to_string();
            }
        }
    }
}

/// Checks the answer of [`wire::decode_pings`].
fn check_pings(answer: Result<Vec<Result<wire::Fix, wire::WireError>>, wire::WireError>) {
    match answer {
        Ok(records) => {
            for r in records {
                match r {
                    Ok(fix) => {
                        assert_position(fix.lon, fix.lat);
                        assert!(fix.ts.is_some(), "a §5.1 ping without ts was accepted");
                    }
                    Err(e) => assert!(!e.code.is_empty()),
                }
            }
        }
        Err(e) => assert!(!e.code.is_empty()),
    }
}

/// `POST /api/v1/pings` with a JSON content type ([`wire::decode_pings`], `ndjson = false`):
/// a JSON array of §5.1 records, or one record.
pub fn pings_json(data: &[u8]) {
    check_pings(wire::decode_pings(data, false, Crs::Wgs84));
}

/// `POST /api/v1/pings` with an NDJSON content type ([`wire::decode_pings`], `ndjson = true`),
/// records in GCJ-02 by default.
pub fn pings_ndjson(data: &[u8]) {
    check_pings(wire::decode_pings(data, true, Crs::Gcj02));
}

/// The OsmAnd protocol ([`wire::decode_osmand`]): the input's first line is the query string,
/// its second line the content type (an empty line: none), the rest the body. Tried in a zone
/// without and one with daylight saving time.
pub fn osmand(data: &[u8]) {
    let mut lines = data.splitn(3, |b| *b == b'\n');
    let query = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let ct = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let body = lines.next().unwrap_or_default();
    let ct = (!ct.is_empty()).then_some(ct.as_ref());
    for tz in [chrono_tz::Asia::Shanghai, chrono_tz::Europe::Helsinki] {
        match wire::decode_osmand(Some(&query), ct, body, tz) {
            Ok((fix, _token)) => {
                assert_position(fix.lon, fix.lat);
                assert!(!fix.id.is_empty(), "an OsmAnd fix without a device id");
            }
            Err(e) => assert!(!e.code.is_empty()),
        }
    }
}

/// OwnTracks HTTP mode ([`wire::decode_owntracks`]): the input is the body; tried with and
/// without a user.
pub fn owntracks(data: &[u8]) {
    for user in [Some("phone-1"), None] {
        match wire::decode_owntracks(data, user) {
            Ok(Some(fix)) => {
                assert_position(fix.lon, fix.lat);
                assert!(user.is_some(), "an OwnTracks fix without a user");
            }
            Ok(None) => {}
            Err(e) => assert!(!e.code.is_empty()),
        }
    }
}

/// A GPX file ([`crate::ingest::gpx::read_pings`], the batch door).
pub fn gpx(data: &[u8]) {
    let worker = WorkerId::new("w-fuzz");
    for crs in [Crs::Wgs84, Crs::Bd09] {
        if let Ok(decoded) = crate::ingest::gpx::read_pings(data, "fuzz.gpx", &worker, crs) {
            for p in &decoded.pings {
                assert_position(p.lon, p.lat);
            }
        }
    }
}

/// The embedded sample city's registry files.
fn sample() -> (&'static str, &'static str, &'static str) {
    use crate::cli::demo::sample;
    (sample::GRIDS, sample::WORKERS, sample::CHECKPOINTS)
}

/// Loads a registry as the registry upload and `--grids` do, strict and keep-going; a
/// registry that loads is queried.
fn load(grids: &str, workers: Option<&str>, checkpoints: Option<&str>) {
    for keep_going in [false, true] {
        let opts = LoadOptions {
            crs: None,
            keep_going,
        };
        let result = Registry::from_sources(
            Source::new("grids.geojson", grids),
            workers.map(|t| Source::new("workers.csv", t)),
            checkpoints.map(|t| Source::new("checkpoints.geojson", t)),
            &opts,
        );
        match result {
            Ok(registry) => {
                for g in &registry.grids {
                    let c = g.bbox.center();
                    let _ = registry.locate(c.x, c.y);
                }
                for w in &registry.workers {
                    for &g in &w.grids {
                        assert!(registry.grid(g).is_some(), "a worker names no grid");
                    }
                }
                for issue in registry.warnings.iter().chain(&registry.rejected) {
                    let _ = issue.to_string();
                }
            }
            Err(e) => {
                assert!(!e.issues.is_empty(), "a registry error without an issue");
                let _ = e.to_string();
            }
        }
    }
}

/// The grids file (`grids.geojson`), alone.
pub fn registry_grids(data: &[u8]) {
    load(&String::from_utf8_lossy(data), None, None);
}

/// The workers file (`workers.csv`) against the sample city's grids.
pub fn registry_workers(data: &[u8]) {
    let (grids, _, _) = sample();
    load(grids, Some(&String::from_utf8_lossy(data)), None);
}

/// The checkpoints file (`checkpoints.geojson`) against the sample city's grids and workers.
pub fn registry_checkpoints(data: &[u8]) {
    let (grids, workers, _) = sample();
    load(grids, Some(workers), Some(&String::from_utf8_lossy(data)));
}

/// The assessor of the sample city with the default parameters, built once.
pub fn sample_assessor() -> &'static Assessor {
    static ASSESSOR: LazyLock<Assessor> = LazyLock::new(|| {
        let (grids, workers, checkpoints) = sample();
        let registry = Registry::from_sources(
            Source::new("grids.geojson", grids),
            Some(Source::new("workers.csv", workers)),
            Some(Source::new("checkpoints.geojson", checkpoints)),
            &LoadOptions::default(),
        )
        .unwrap_or_default();
        Assessor::new(
            Arc::new(registry),
            Params::new(Config::default(), CleanMode::Full),
        )
    });
    &ASSESSOR
}

/// A stored worker-day summary as read back from the store ([`Assessor::decode`]) against the
/// sample city: a corrupted blob is an error, never a panic. A blob that decodes is encoded
/// again and must decode to the same summary.
pub fn stored_summary(data: &[u8]) {
    let assessor = sample_assessor();
    if let Ok(restored) = assessor.decode(data) {
        let again = assessor.encode(&restored.day);
        if let Ok(back) = assessor.decode(&again) {
            assert_eq!(back.day.worker, restored.day.worker);
            assert_eq!(back.day.day, restored.day.day);
            assert_eq!(back.day.pings, restored.day.pings);
        }
    }
}

/// The inflated-size limit of the [`gunzip`] target (small, so bombs are cheap to refuse).
pub const GUNZIP_LIMIT: usize = 1 << 16;

/// A gzip request body ([`gzip::gunzip_limited`]): never more than the limit.
pub fn gunzip(data: &[u8]) {
    match gzip::gunzip_limited(data, GUNZIP_LIMIT) {
        Ok(out) => {
            assert!(out.len() <= GUNZIP_LIMIT);
            // Whatever inflates is refused again with a smaller limit, never half-returned.
            if !out.is_empty() {
                assert_eq!(
                    gzip::gunzip_limited(data, out.len() - 1),
                    Err(gzip::GunzipError::TooLarge {
                        limit: out.len() - 1
                    })
                );
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// The deframer limit of the [`jt808`] target (small, so `oversized` is reachable).
const JT808_MAX_FRAME: usize = 512;

/// Everything a [`crate::jt808::Deframer`] of [`JT808_MAX_FRAME`] returns for `data` pushed
/// in pieces of `step` bytes, checking its memory bound after every push.
fn jt808_deframe(
    data: &[u8],
    step: usize,
) -> Vec<Result<crate::jt808::Frame, crate::jt808::FrameError>> {
    let mut d = crate::jt808::Deframer::new(JT808_MAX_FRAME);
    let mut out = Vec::new();
    for piece in data.chunks(step.max(1)) {
        d.push(piece);
        assert!(
            d.buffered() <= JT808_MAX_FRAME,
            "the deframer held {}",
            d.buffered()
        );
        out.extend(std::iter::from_fn(|| d.pop()));
    }
    out
}

/// A decoded JT/T 808 message holds the decoder's promises.
fn jt808_check_message(answer: Result<crate::jt808::Message, crate::jt808::FrameError>) {
    use crate::jt808::Message;
    // 2000-01-01 and 2100-01-01 UTC, ms: the BCD years are 2000–2099 in UTC+8.
    let years = 946_684_800_000 - 8 * 3_600_000..4_102_444_800_000;
    let check = |l: &crate::jt808::Location| {
        assert!(years.contains(&l.ts), "a location at {}", l.ts);
        assert!(l.lat.abs() <= 4_294.967_295 && l.lon.abs() <= 4_294.967_295);
        assert_eq!(l.acc_on, l.status & 1 != 0);
        assert_eq!(l.lat < 0.0, l.status & 4 != 0 && l.lat != 0.0);
    };
    match answer {
        Ok(Message::Location(l)) => check(&l),
        Ok(Message::LocationBatch(b)) => {
            assert!(b.locations.len() <= usize::from(b.count));
            for l in b.locations.iter().flatten() {
                check(l);
            }
        }
        Ok(_) => {}
        Err(e) => {
            assert!(!e.code().is_empty());
            let _ = e.to_string();
        }
    }
}

/// A frame the deframer returned: re-encoded it deframes to the same header and body, the
/// platform can answer it, and it decodes (with the default item map and another) without a
/// panic.
fn jt808_check_frame(frame: &crate::jt808::Frame) {
    use crate::jt808::{decode, encode_frame, general_response, ItemMap, ResponseResult};
    let wire = match encode_frame(&frame.header, &frame.body) {
        Ok(wire) => wire,
        Err(e) => panic!("a deframed frame does not encode: {e}"),
    };
    let mut d = crate::jt808::Deframer::new(crate::jt808::DEFAULT_MAX_FRAME_BYTES);
    d.push(&wire);
    assert_eq!(d.pop(), Some(Ok(frame.clone())), "re-encoded frame differs");
    assert_eq!(d.pop(), None);
    assert!(general_response(&frame.header, 1, ResponseResult::Ok).is_ok());
    let other = ItemMap {
        work: Some(0x30),
        pressure: Some(0x01),
        pressure_scale: 0.1,
    };
    for map in [ItemMap::default(), other] {
        jt808_check_message(decode(frame, &map));
    }
}

/// The JT/T 808 codec ([`crate::jt808`], the vehicles' TCP door), three ways:
/// 1. the input as a TCP stream: pushed whole, in pieces of a size taken from its first byte,
///    and byte by byte, it gives the same results; each frame holds [`jt808_check_frame`], and
///    the frames go through a small [`crate::jt808::Reassembler`] that stays within bounds;
/// 2. the input as a frame's header and body, checksum appended, escaped between flags: one
///    result, never more;
/// 3. the input as the body of every message the door reads, in both header editions.
pub fn jt808(data: &[u8]) {
    use crate::jt808::{decode, decode_body, ItemMap, Reassembler, ReassemblyLimits, Version};
    let whole = jt808_deframe(data, data.len());
    let step = usize::from(data.first().copied().unwrap_or(0) % 16) + 1;
    assert_eq!(jt808_deframe(data, step,), whole, "pieces of {step} differ");
    assert_eq!(jt808_deframe(data, 1), whole, "byte by byte differs");

    let limits = ReassemblyLimits {
        max_messages: 3,
        max_bytes: 2048,
        max_age_ms: 1000,
    };
    let mut reassembler = Reassembler::new(limits);
    let mut now_ms = 0;
    for result in whole {
        match result {
            Ok(frame) => {
                jt808_check_frame(&frame);
                now_ms += 300;
                match reassembler.push(frame, now_ms) {
                    Ok(Some(done)) => {
                        assert!(done.header.package.is_none());
                        jt808_check_message(decode(&done, &ItemMap::default()));
                    }
                    Ok(None) => {}
                    Err(e) => assert!(!e.code().is_empty()),
                }
                assert!(reassembler.pending() <= limits.max_messages);
                assert!(reassembler.bytes() <= limits.max_bytes);
            }
            Err(e) => {
                assert!(!e.code().is_empty());
                let _ = e.to_string();
            }
        }
    }

    let checksum = data.iter().fold(0u8, |acc, b| acc ^ b);
    let mut wire = vec![0x7e];
    for &b in data.iter().chain([&checksum]) {
        match b {
            0x7e => wire.extend([0x7d, 0x02]),
            0x7d => wire.extend([0x7d, 0x01]),
            b => wire.push(b),
        }
    }
    wire.push(0x7e);
    let framed = jt808_deframe(&wire, wire.len());
    assert_eq!(
        framed.len(),
        1,
        "one frame's content gave {} results",
        framed.len()
    );
    if let Some(Ok(frame)) = framed.first() {
        jt808_check_frame(frame);
    }

    for version in [Version::V2013, Version::V2019 { protocol: 1 }] {
        for id in [0x0001, 0x0002, 0x0100, 0x0102, 0x0200, 0x0704] {
            jt808_check_message(decode_body(id, version, data, &ItemMap::default()));
        }
    }
}
