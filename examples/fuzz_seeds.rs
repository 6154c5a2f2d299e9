//! Writes the seed corpus of every fuzz target (`fuzz/corpus/<target>/seed-*`) from real
//! inputs: the sample city, the shared data (`../shared/data`: phone tracks, OsmAnd and
//! OwnTracks requests, GPX, registries) and stored summaries of the sample month. Run by hand
//! from the repository (`cargo run --example fuzz_seeds`), then minimise (`fuzz/README.md`);
//! `tests/it/hardening/fuzz_corpus.rs` replays the corpus in `cargo test`.

// Test and tooling code run by hand or by `cargo test`: a panic stops that run, never the service.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;

use gridbeat::cli::demo::sample;
use gridbeat::fuzz::{sample_assessor, ROW_FIELD_SEPARATOR};
use gridbeat::ingest::csv::read_pings;
use gridbeat::model::{Crs, Ping, WorkerId};

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Writes one seed input.
fn seed(target: &str, label: &str, data: impl AsRef<[u8]>) {
    let dir = fuzz_dir().join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{label}")), data).unwrap();
}

fn shared(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The first `n` lines of a text, header included.
fn head(text: &str, n: usize) -> String {
    text.lines().take(n).map(|l| format!("{l}\n")).collect()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A typed row field of the `row_rules` input format.
fn int(n: i64) -> Vec<u8> {
    let mut v = vec![1];
    v.extend(n.to_le_bytes());
    v
}

fn float(x: f64) -> Vec<u8> {
    let mut v = vec![2];
    v.extend(x.to_le_bytes());
    v
}

fn row(fields: &[&[u8]]) -> Vec<u8> {
    fields.join(&ROW_FIELD_SEPARATOR)
}

fn ping_json(p: &Ping) -> serde_json::Value {
    serde_json::json!({
        "worker": p.worker.as_str(), "ts": gridbeat::model::format_timestamp(p.ts),
        "lat": p.lat, "lon": p.lon, "acc": p.acc_m, "speed": p.speed_mps, "mock": p.mock,
        "checkin": p.checkin.as_deref(),
    })
}

fn main() {
    // The row rules: sample rows as text fields, typed values and extremes.
    let pings = sample::PINGS;
    for (i, line) in pings.lines().skip(1).step_by(20_000).take(6).enumerate() {
        // worker,ts,lat,lon,acc,speed,mock,checkin → worker,ts,lat,lon,acc,speed,bearing,alt,batt,mock,checkin
        let f: Vec<&str> = line.split(',').collect();
        let fields: Vec<&[u8]> = vec![
            f[0].as_bytes(),
            f[1].as_bytes(),
            f[2].as_bytes(),
            f[3].as_bytes(),
            f[4].as_bytes(),
            f[5].as_bytes(),
            b"",
            b"",
            b"",
            f[6].as_bytes(),
            f.get(7).copied().unwrap_or("").as_bytes(),
        ];
        seed("row_rules", &format!("sample-{i}"), row(&fields));
    }
    let typed: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "typed",
            vec![
                b"w-0001".to_vec(),
                int(1_791_423_000_000),
                float(28.2),
                float(112.98),
                float(5.0),
                float(1.5),
                int(90),
                float(44.0),
                int(80),
                vec![4],
                b"cp-0001".to_vec(),
            ],
        ),
        (
            "seconds",
            vec![b"w-0001".to_vec(), int(1_791_423_000), int(28), int(113)],
        ),
        (
            "extremes",
            vec![
                b"w".to_vec(),
                int(i64::MIN),
                float(f64::NAN),
                float(f64::INFINITY),
                float(-0.0),
                float(1e308),
                float(f64::MIN_POSITIVE),
                float(-1e308),
                int(i64::MAX),
                vec![3],
            ],
        ),
        (
            "text-forms",
            vec![
                b" w-0002 ".to_vec(),
                b"2026-10-01T00:32:33.000+0000".to_vec(),
                b" 28.2 ".to_vec(),
                b"1.1298e2".to_vec(),
                b"NaN".to_vec(),
                b"inf".to_vec(),
                b"-1".to_vec(),
                b"".to_vec(),
                b"0.5".to_vec(),
                b"YES".to_vec(),
                b"\xff\xfe".to_vec(),
            ],
        ),
        (
            "swapped",
            vec![
                b"w-0001".to_vec(),
                b"1791423000.5".to_vec(),
                b"112.98".to_vec(),
                b"28.2".to_vec(),
            ],
        ),
    ];
    for (label, fields) in &typed {
        let refs: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
        seed("row_rules", label, row(&refs));
    }

    // CSV files: the sample, the phone tracks, and the exporters' variants.
    seed("csv_pings", "sample", head(pings, 12));
    for name in [
        "google_phone_zurich",
        "posmo_phone_switzerland",
        "strava_bus304_limerick",
    ] {
        seed(
            "csv_pings",
            name,
            head(&shared(&format!("gps/{name}.csv")), 8),
        );
    }
    seed(
        "csv_pings",
        "ts-ms-bom",
        "\u{feff}Worker_ID,ts,ts_ms,Latitude,Lng,accuracy,course,altitude,battery,mock\n\
         w1,2026-10-01T00:32:33.000+0000,1791423000000,28.2,112.98,5,90,40,80,1\n\
         \"w,2\",\"2026-10-01T00:32:33Z\",1791423000001,28.2,112.98,,,,,no\n\
         w3,x,y\n",
    );

    // POST /api/v1/pings: arrays, single records, NDJSON.
    let decoded = read_pings(head(pings, 40).as_bytes(), "p.csv", Crs::Wgs84).unwrap();
    let records: Vec<serde_json::Value> = decoded.pings.iter().map(ping_json).collect();
    seed(
        "pings_json",
        "array",
        serde_json::to_string(&records[..5]).unwrap(),
    );
    seed("pings_json", "object", records[0].to_string());
    seed(
        "pings_json",
        "odd-records",
        r#"[{"worker":42,"ts":1791423000,"lat":"28.2","lon":112.98,"crs":"gcj02"},
            {"worker":"w","ts":"2026-10-08T09:30:00+08:00","lat":28.2,"lon":112.98,"crs":"bd09","mock":"y"},
            {"worker":true,"ts":[1],"lat":{},"lon":null}, 7, null, "x",
            {"worker":"w","ts":1791423000000,"lat":1e400,"lon":-0.0,"acc":-1,"batt":1e39}]"#,
    );
    let ndjson: String = records[..6].iter().map(|r| format!("{r}\n")).collect();
    seed("pings_ndjson", "lines", &ndjson);
    seed(
        "pings_ndjson",
        "blank-and-bad",
        format!(
            "\u{feff}{}\n\n   \n{{\"worker\":\n[1,2]\n{}",
            records[6], records[7]
        ),
    );
    seed(
        "pings_ndjson",
        "array-as-ndjson",
        format!("[{}]", records[8]),
    );

    // OsmAnd: query strings, form bodies and the JSON bodies of Traccar Client 9.x.
    for (i, line) in shared("protocols/osmand_requests.txt").lines().enumerate() {
        if line.starts_with('{') {
            seed(
                "osmand",
                &format!("json-{i}"),
                format!("\napplication/json\n{line}"),
            );
            seed(
                "osmand",
                &format!("json-noct-{i}"),
                format!("token=t\n\n{line}"),
            );
        } else if let Some((_, query)) = line.split_once('?') {
            seed("osmand", &format!("query-{i}"), format!("{query}\n\n"));
            seed(
                "osmand",
                &format!("form-{i}"),
                format!("token=abc\napplication/x-www-form-urlencoded\n{query}"),
            );
        }
    }
    seed(
        "osmand",
        "local-time",
        "id=dev%201&lat=28.2&lon=112.98&timestamp=2026-03-29+03%3A30%3A00&batt=50&mock=true\n\n",
    );

    // OwnTracks.
    for (i, line) in shared("protocols/owntracks_messages.jsonl")
        .lines()
        .enumerate()
    {
        seed("owntracks", &format!("location-{i}"), line);
    }
    seed(
        "owntracks",
        "other-types",
        r#"{"_type":"transition","event":"enter","tst":1551874878}"#,
    );
    seed(
        "owntracks",
        "odd",
        r#"{"_type":"location","lat":"46.1","lon":11.2,"tst":"1551874878","vel":-1,"cog":-1,"acc":0}"#,
    );

    // GPX.
    seed(
        "gpx",
        "wikipedia",
        shared("protocols/wikipedia_example.gpx"),
    );
    seed(
        "gpx",
        "route-and-track",
        r#"<?xml version="1.0"?>
<gpx version="1.0" creator="t"><rte><rtept lat="28.2" lon="112.98"><time>2026-10-08T01:30:00Z</time><speed>1.2</speed></rtept></rte>
<trk><trkseg><trkpt lat="28.2" lon="112.98"><ele>50</ele><time>2026-10-08T01:30:00+08:00</time></trkpt><trkpt lat="91" lon="0"/></trkseg></trk></gpx>"#,
    );

    // Registry files.
    seed("registry_grids", "sample", sample::GRIDS);
    seed(
        "registry_grids",
        "helsinki",
        shared("osm/helsinki_grids.geojson"),
    );
    seed(
        "registry_grids",
        "tiny",
        r#"{"type":"FeatureCollection","crs":"gcj02","features":[
{"type":"Feature","properties":{"code":"1","name":"c","level":"community","parent":null},"geometry":null},
{"type":"Feature","properties":{"code":"1001","name":"g","level":"grid","parent":"1"},"geometry":{"type":"MultiPolygon","coordinates":[[[[112.0,28.0],[112.01,28.0],[112.01,28.01],[112.0,28.01],[112.0,28.0]],[[112.002,28.002],[112.004,28.002],[112.004,28.004],[112.002,28.002]]]]}}]}"#,
    );
    seed("registry_workers", "sample", sample::WORKERS);
    seed(
        "registry_workers",
        "odd",
        "\u{feff}Worker,Grid,Name\nw-1,430102001001001,甲\nw-1,430102001001001,甲\nw-2,,乙\n\"w-3\",nope\n,,\n",
    );
    seed("registry_checkpoints", "sample", sample::CHECKPOINTS);
    seed(
        "registry_checkpoints",
        "odd",
        r#"{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"code":"cp-x","grid":"430102001001001","visits_per_month":"4"},"geometry":{"type":"Point","coordinates":[28.19,112.97]}},
{"type":"Feature","properties":{"code":"cp-x","grid":"nope","visits_per_month":-1},"geometry":{"type":"LineString","coordinates":[]}}]}"#,
    );

    // Stored summaries: days of a few sample workers, as the store holds them.
    let assessor = sample_assessor();
    let decoded = read_pings(pings.as_bytes(), "pings.csv", Crs::Wgs84).unwrap();
    for worker in ["w-0001", "w-0007", "w-0013"] {
        let id = WorkerId::new(worker);
        let mine: Vec<Ping> = decoded
            .pings
            .iter()
            .filter(|p| p.worker == id)
            .cloned()
            .collect();
        for day in assessor.summarize_worker(&id, &mine).iter().take(2) {
            let blob = assessor.encode(day);
            assert!(assessor.decode(&blob).is_ok());
            seed("stored_summary", &format!("{worker}-{}", day.day), blob);
        }
    }

    // Gzip bodies: one member, several, an empty one, header fields.
    seed("gunzip", "one", gz(ndjson.as_bytes()));
    let mut two = gz(b"{\"a\":1}\n");
    two.extend(gz(b"{\"a\":2}\n"));
    seed("gunzip", "two-members", two);
    seed("gunzip", "empty-member", gz(b""));
    let mut named = flate2::GzBuilder::new()
        .filename("pings.ndjson")
        .comment("c")
        .extra(vec![1, 2, 0, 0])
        .mtime(1)
        .write(Vec::new(), flate2::Compression::best());
    named.write_all(b"[{\"worker\":\"w\"}]").unwrap();
    seed("gunzip", "header-fields", named.finish().unwrap());

    // JT/T 808: the real frames of tests/fixtures/jt808/frames.txt as sent (read as a TCP
    // stream), their content without flags, escapes and checksum (read as one frame's header
    // and body), and all of them as one stream.
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jt808/frames.txt");
    let mut stream = Vec::new();
    for line in std::fs::read_to_string(fixture).unwrap().lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (label, hex) = line.split_once(' ').unwrap();
        let hex = hex.trim();
        let frame: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let mut content = Vec::new();
        let mut escaped = false;
        for &b in &frame[1..frame.len() - 1] {
            match (escaped, b) {
                (false, 0x7d) => escaped = true,
                (true, b) => {
                    content.push(if b == 0x02 { 0x7e } else { 0x7d });
                    escaped = false;
                }
                (false, b) => content.push(b),
            }
        }
        content.pop();
        seed("jt808", label, &frame);
        seed("jt808", &format!("content-{label}"), content);
        stream.extend(frame);
    }
    seed("jt808", "stream", stream);
}
