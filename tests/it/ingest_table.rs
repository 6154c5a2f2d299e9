//! The one ping reader (`ingest::read_table`) gives the same pings and the same errors (codes
//! and line/row numbers) whichever format carries the rows. The Parquet files are written here
//! with the `parquet` crate (nulls, a dictionary-encoded worker column, INT64 `ts_ms`), the CSV
//! files as text; the expected pings and faults are written out by hand from the rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gridbeat::ingest::{read_table, PingTable, ReadOptions};
use gridbeat::model::{Ping, WorkerId};
use parquet::basic::Encoding;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::util::{read_sample, sample};

/// 2026-10-08T01:30:00Z in Unix ms (20_734 days × 86_400_000 + 5_400_000, by hand).
const T0: i64 = 1_791_423_000_000;

/// One column of test values; `None` is a Parquet null (an empty CSV field).
enum Col {
    Text(Vec<Option<&'static str>>),
    F64(Vec<Option<f64>>),
    F32(Vec<Option<f32>>),
    I64(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
}

fn defs<T>(v: &[Option<T>]) -> Vec<i16> {
    v.iter().map(|x| i16::from(x.is_some())).collect()
}

/// Writes row groups of OPTIONAL columns (in `schema` order), the text columns
/// dictionary-encoded.
fn write_parquet(path: &Path, schema: &str, groups: &[Vec<Col>]) {
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let props = Arc::new(
        WriterProperties::builder()
            .set_dictionary_enabled(true)
            .build(),
    );
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    for cols in groups {
        let mut rg = w.next_row_group().unwrap();
        for col in cols {
            let mut c = rg.next_column().unwrap().unwrap();
            match col {
                Col::Text(v) => {
                    let vals: Vec<ByteArray> =
                        v.iter().flatten().map(|s| ByteArray::from(*s)).collect();
                    c.typed::<ByteArrayType>()
                        .write_batch(&vals, Some(&defs(v)), None)
                        .unwrap();
                }
                Col::F64(v) => {
                    let vals: Vec<f64> = v.iter().flatten().copied().collect();
                    c.typed::<DoubleType>()
                        .write_batch(&vals, Some(&defs(v)), None)
                        .unwrap();
                }
                Col::F32(v) => {
                    let vals: Vec<f32> = v.iter().flatten().copied().collect();
                    c.typed::<FloatType>()
                        .write_batch(&vals, Some(&defs(v)), None)
                        .unwrap();
                }
                Col::I64(v) => {
                    let vals: Vec<i64> = v.iter().flatten().copied().collect();
                    c.typed::<Int64Type>()
                        .write_batch(&vals, Some(&defs(v)), None)
                        .unwrap();
                }
                Col::Bool(v) => {
                    let vals: Vec<bool> = v.iter().flatten().copied().collect();
                    c.typed::<BoolType>()
                        .write_batch(&vals, Some(&defs(v)), None)
                        .unwrap();
                }
            }
            c.close().unwrap();
        }
        rg.close().unwrap();
    }
    w.close().unwrap();
}

fn read(path: &Path, opts: &ReadOptions) -> PingTable {
    read_table(&[path.to_path_buf()], opts).unwrap()
}

fn all() -> ReadOptions {
    ReadOptions::default()
}

/// Every ping of a table in input order.
fn pings(t: &PingTable) -> Vec<Ping> {
    (0..t.len()).map(|r| t.ping(r)).collect()
}

/// The errors as (line, code, worker).
fn faults(t: &PingTable) -> Vec<(u64, &'static str, Option<String>)> {
    t.errors
        .iter()
        .map(|e| (e.line, e.code(), e.worker.clone()))
        .collect()
}

fn ping(worker: &str, ts: i64, lat: f64, lon: f64) -> Ping {
    Ping::new(WorkerId::new(worker), ts, lon, lat)
}

fn tmp(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn typed_parquet_with_nulls_and_csv_give_the_same_pings_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    // The text `ts` is garbage on row 2: `ts_ms` is read instead whenever a file has it.
    let csv = tmp(
        &dir,
        "typed.csv",
        "worker,ts,lat,lon,acc,speed,mock,checkin,ts_ms\n\
         w1,2026-10-08T09:30:00+08:00,28.2,112.98,8.5,1.5,false,cp-1,1791423000000\n\
         w2,not-a-time,28.21,112.99,,,true,,1791423010000\n\
         w1,,28.2,112.98,,,,,\n\
         ,x,28.2,112.98,,,,,1791423020000\n\
         w2,x,,112.98,,,,,1791423030000\n\
         w1,x,112.98,28.2,,,,,1791423040000\n\
         w1,x,28.2,112.98,0,0.5,,,1791423050000\n\
         w2,x,28.2,112.98,,,,,-1000\n\
         w3,x,95,10,,,,,1791423060000\n\
         w3,x,NaN,10,,,,,1791423070000\n",
    );
    let pq = dir.path().join("typed.parquet");
    write_parquet(
        &pq,
        "message p {
           OPTIONAL BYTE_ARRAY worker (UTF8);
           OPTIONAL BYTE_ARRAY ts (UTF8);
           OPTIONAL DOUBLE lat;
           OPTIONAL DOUBLE lon;
           OPTIONAL DOUBLE acc;
           OPTIONAL FLOAT speed;
           OPTIONAL BOOLEAN mock;
           OPTIONAL BYTE_ARRAY checkin (UTF8);
           OPTIONAL INT64 ts_ms (TIMESTAMP(MILLIS,true));
         }",
        &[vec![
            Col::Text(vec![
                Some("w1"),
                Some("w2"),
                Some("w1"),
                None,
                Some("w2"),
                Some("w1"),
                Some("w1"),
                Some("w2"),
                Some("w3"),
                Some("w3"),
            ]),
            Col::Text(vec![
                Some("2026-10-08T09:30:00+08:00"),
                Some("not-a-time"),
                None,
                Some("x"),
                Some("x"),
                Some("x"),
                Some("x"),
                Some("x"),
                Some("x"),
                Some("x"),
            ]),
            Col::F64(vec![
                Some(28.2),
                Some(28.21),
                Some(28.2),
                Some(28.2),
                None,
                Some(112.98),
                Some(28.2),
                Some(28.2),
                Some(95.0),
                Some(f64::NAN),
            ]),
            Col::F64(vec![
                Some(112.98),
                Some(112.99),
                Some(112.98),
                Some(112.98),
                Some(112.98),
                Some(28.2),
                Some(112.98),
                Some(112.98),
                Some(10.0),
                Some(10.0),
            ]),
            Col::F64(vec![
                Some(8.5),
                None,
                None,
                None,
                None,
                None,
                Some(0.0),
                None,
                None,
                None,
            ]),
            Col::F32(vec![
                Some(1.5),
                None,
                None,
                None,
                None,
                None,
                Some(0.5),
                None,
                None,
                None,
            ]),
            Col::Bool(vec![
                Some(false),
                Some(true),
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            ]),
            Col::Text(vec![
                Some("cp-1"),
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            ]),
            Col::I64(vec![
                Some(T0),
                Some(T0 + 10_000),
                None,
                Some(T0 + 20_000),
                Some(T0 + 30_000),
                Some(T0 + 40_000),
                Some(T0 + 50_000),
                Some(-1000),
                Some(T0 + 60_000),
                Some(T0 + 70_000),
            ]),
        ]],
    );
    // The test means something only if the worker column really is dictionary-encoded.
    let meta = SerializedFileReader::new(std::fs::File::open(&pq).unwrap())
        .unwrap()
        .metadata()
        .row_group(0)
        .column(0)
        .encodings()
        .collect::<Vec<_>>();
    assert!(meta.contains(&Encoding::RLE_DICTIONARY), "{meta:?}");

    let mut a = ping("w1", T0, 28.2, 112.98);
    a.acc_m = Some(8.5);
    a.speed_mps = Some(1.5);
    a.checkin = Some(Arc::from("cp-1"));
    let mut b = ping("w2", T0 + 10_000, 28.21, 112.99);
    b.mock = true;
    let mut c = ping("w1", T0 + 50_000, 28.2, 112.98);
    c.speed_mps = Some(0.5); // and acc 0 = unknown
    let expected_pings = vec![a, b, c];
    // Data row k is CSV line k + 1 and Parquet row k.
    let expected_faults = |line_of: fn(u64) -> u64| {
        vec![
            (line_of(3), "missing_field", Some("w1".to_string())),
            (line_of(4), "missing_field", None),
            (line_of(5), "missing_field", Some("w2".to_string())),
            (line_of(6), "bad_position", Some("w1".to_string())),
            (line_of(8), "timestamp_out_of_range", Some("w2".to_string())),
            (line_of(9), "bad_position", Some("w3".to_string())),
            (line_of(10), "bad_number", Some("w3".to_string())),
        ]
    };
    let from_csv = read(&csv, &all());
    let from_pq = read(&pq, &all());
    assert_eq!(pings(&from_csv), expected_pings);
    assert_eq!(pings(&from_pq), expected_pings);
    assert_eq!(faults(&from_csv), expected_faults(|k| k + 1));
    assert_eq!(faults(&from_pq), expected_faults(|k| k));
    assert_eq!((from_csv.rows_scanned, from_pq.rows_scanned), (10, 10));
    let names: Vec<&str> = from_pq.workers.iter().map(|w| w.as_str()).collect();
    assert_eq!(names, ["w1", "w2"], "w3 has no good ping");
    assert_eq!(from_pq.rows, vec![vec![0, 2], vec![1]]);
    assert_eq!(
        from_pq.pings(0),
        vec![expected_pings[0].clone(), expected_pings[2].clone()]
    );
    let msg = from_pq.errors[0].to_string();
    assert!(
        msg.ends_with("typed.parquet:3: the ts field is empty"),
        "{msg}"
    );
}

#[test]
fn text_columns_follow_the_same_rules_in_csv_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let rows: [[Option<&'static str>; 6]; 6] = [
        [
            Some("w1"),
            Some("2026-10-08T09:30:00+08:00"),
            Some("28.2"),
            Some("112.98"),
            Some("8.5"),
            Some("yes"),
        ],
        [
            Some("w1"),
            Some("1791423010"),
            Some("28.2001"),
            Some("112.9801"),
            Some("abc"),
            Some("no"),
        ],
        [
            Some("w1"),
            Some("1791423020000"),
            Some("28.2002"),
            Some("112.9802"),
            None,
            Some("Y"),
        ],
        [
            Some("w1"),
            Some("yesterday"),
            Some("28.2"),
            Some("112.98"),
            None,
            None,
        ],
        [
            Some("w1"),
            Some("1791423040"),
            Some("28.2"),
            Some("112.98"),
            None,
            Some("maybe"),
        ],
        [
            None,
            Some("1791423050"),
            Some("28.2"),
            Some("112.98"),
            None,
            Some("F"),
        ],
    ];
    let mut text = String::from("worker,ts,lat,lon,acc,mock\n");
    for r in &rows {
        let fields: Vec<&str> = r.iter().map(|f| f.unwrap_or("")).collect();
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    let csv = tmp(&dir, "text.csv", &text);
    let pq = dir.path().join("text.parquet");
    let col = |i: usize| Col::Text(rows.iter().map(|r| r[i]).collect());
    write_parquet(
        &pq,
        "message p {
           OPTIONAL BYTE_ARRAY worker (UTF8);
           OPTIONAL BYTE_ARRAY ts (UTF8);
           OPTIONAL BYTE_ARRAY lat (UTF8);
           OPTIONAL BYTE_ARRAY lon (UTF8);
           OPTIONAL BYTE_ARRAY acc (UTF8);
           OPTIONAL BYTE_ARRAY mock (UTF8);
         }",
        &[(0..6).map(col).collect()],
    );
    let mut a = ping("w1", T0, 28.2, 112.98);
    a.acc_m = Some(8.5);
    a.mock = true; // "yes"
    let mut b = ping("w1", T0 + 20_000, 28.2002, 112.9802);
    b.mock = true; // "Y"
    for (path, line_of) in [(&csv, 1), (&pq, 0)] {
        let t = read(path, &all());
        assert_eq!(pings(&t), vec![a.clone(), b.clone()], "{}", path.display());
        let w1 = Some("w1".to_string());
        assert_eq!(
            faults(&t),
            vec![
                (2 + line_of, "bad_number", w1.clone()),
                (4 + line_of, "bad_timestamp", w1.clone()),
                (5 + line_of, "bad_bool", w1),
                (6 + line_of, "missing_field", None),
            ],
            "{}",
            path.display()
        );
        assert!(
            t.errors[0].reason().starts_with("acc \"abc\""),
            "{}",
            t.errors[0]
        );
    }
}

/// Three days of `per_day` pings of w1 every 10 s from local midnight (+08:00) of 2026-10-01,
/// 02, 03; the row `bad` of day 3 has an unreadable latitude.
fn three_days(per_day: usize, bad: usize) -> Vec<(i64, String)> {
    // 2026-10-01T00:00:00+08:00 = 2026-09-30T16:00:00Z = 20_361 days × 86_400 s + 57_600 s.
    let day0 = (20_361 * 86_400 + 57_600) * 1000_i64;
    let mut rows = Vec::new();
    for d in 0..3 {
        for i in 0..per_day {
            let ts = day0 + d * 86_400_000 + i as i64 * 10_000;
            let lat = if d == 2 && i == bad {
                "abc".to_string()
            } else {
                "28.2".into()
            };
            rows.push((ts, lat));
        }
    }
    rows
}

#[test]
fn a_bad_row_after_rows_outside_the_period_keeps_its_line_and_row_groups_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let per_day = 50;
    let rows = three_days(per_day, 7);
    let day0 = rows[0].0;
    // The period: day 3 only (local), as UTC instants.
    let range = day0 + 2 * 86_400_000..day0 + 3 * 86_400_000;
    let opts = ReadOptions {
        range: Some(range.clone()),
        ..ReadOptions::default()
    };

    let mut text = String::from("worker,ts_ms,lat,lon\n");
    for (ts, lat) in &rows {
        text.push_str(&format!("w1,{ts},{lat},112.98\n"));
    }
    let csv = tmp(&dir, "days.csv", &text);
    let pq = dir.path().join("days.parquet");
    let groups: Vec<Vec<Col>> = rows
        .chunks(per_day)
        .map(|day| {
            let lat: Vec<Option<&'static str>> = day
                .iter()
                .map(|(_, l)| Some(if l == "abc" { "abc" } else { "28.2" }))
                .collect();
            vec![
                Col::Text(vec![Some("w1"); day.len()]),
                Col::I64(day.iter().map(|(t, _)| Some(*t)).collect()),
                Col::Text(lat),
                Col::F64(vec![Some(112.98); day.len()]),
            ]
        })
        .collect();
    write_parquet(
        &pq,
        "message p {
           OPTIONAL BYTE_ARRAY worker (UTF8);
           OPTIONAL INT64 ts_ms;
           OPTIONAL BYTE_ARRAY lat (UTF8);
           OPTIONAL DOUBLE lon;
         }",
        &groups,
    );
    let from_csv = read(&csv, &opts);
    let from_pq = read(&pq, &opts);
    // Row 7 (0-based) of day 3 is data row 2 × 50 + 8 = 108: CSV line 109, Parquet row 108.
    assert_eq!(
        faults(&from_csv),
        vec![(109, "bad_number", Some("w1".into()))]
    );
    assert_eq!(
        faults(&from_pq),
        vec![(108, "bad_number", Some("w1".into()))]
    );
    assert_eq!(pings(&from_csv), pings(&from_pq));
    assert_eq!(from_pq.len(), per_day - 1);
    assert!(pings(&from_pq).iter().all(|p| range.contains(&p.ts)));
    // The CSV reader reads every row; the Parquet reader only day 3's row group.
    assert_eq!(from_csv.rows_scanned, 3 * per_day);
    assert_eq!(from_pq.rows_scanned, per_day);

    // Days 1–2: the bad row of day 3 is outside, so not reported.
    let early = ReadOptions {
        range: Some(day0..day0 + 2 * 86_400_000),
        ..ReadOptions::default()
    };
    let t = read(&pq, &early);
    assert_eq!(
        (t.len(), t.errors.len(), t.rows_scanned),
        (2 * per_day, 0, 2 * per_day)
    );
}

#[test]
fn a_worker_filter_keeps_that_worker_and_its_faults_only() {
    let dir = tempfile::tempdir().unwrap();
    let csv = tmp(
        &dir,
        "w.csv",
        "worker,ts,lat,lon\n\
         w1,1791423000,28.2,112.98\n\
         w2,1791423000,28.3,112.90\n\
         w2,never,28.3,112.90\n\
         w1,never,28.2,112.98\n",
    );
    let opts = ReadOptions {
        worker: Some("w1".into()),
        ..ReadOptions::default()
    };
    let t = read(&csv, &opts);
    assert_eq!(pings(&t), vec![ping("w1", T0, 28.2, 112.98)]);
    assert_eq!(faults(&t), vec![(5, "bad_timestamp", Some("w1".into()))]);
    assert_eq!(t.rows_scanned, 4);
}

#[test]
fn the_sample_city_reads_the_same_from_csv_and_parquet() {
    let from_csv = read(&sample("pings.csv"), &all());
    let from_pq = read(&sample("pings.parquet"), &all());
    assert!(from_csv.errors.is_empty(), "{}", from_csv.errors[0]);
    assert!(from_pq.errors.is_empty(), "{}", from_pq.errors[0]);
    // One ping per line after the header, counted from the text itself.
    let text = read_sample("pings.csv");
    assert_eq!(from_csv.len(), text.lines().count() - 1);
    assert_eq!(pings(&from_csv), pings(&from_pq));
    assert_eq!(from_csv.workers, from_pq.workers);
    assert_eq!(
        from_csv.rows, from_pq.rows,
        "each worker's rows, in file order"
    );
    let p = pings(&from_pq);
    assert!(p.iter().any(|p| p.mock) && p.iter().any(|p| p.checkin.is_some()));
    assert!(p.iter().filter(|p| p.acc_m.is_some()).count() > p.len() / 2);
}

#[test]
fn file_level_errors_have_codes_and_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = tmp(&dir, "m.csv", "worker,time,lat\nw,1,2\n");
    let e = read_table(&[missing], &all()).unwrap_err();
    assert_eq!(e.code(), "missing_column");
    assert!(
        e.to_string()
            .contains("m.csv: no \"lon\" column (found: worker,time,lat)"),
        "{e}"
    );
    let fake = tmp(&dir, "f.parquet", "worker,ts,lat,lon\n");
    let e = read_table(&[fake], &all()).unwrap_err();
    assert_eq!(e.code(), "not_parquet");
    let e = read_table(&[dir.path().join("none.csv")], &all()).unwrap_err();
    assert_eq!(e.code(), "cannot_open");
    let e = read_table(&[tmp(&dir, "x.json", "[]")], &all()).unwrap_err();
    assert_eq!(e.code(), "unknown_format");
    let e = read_table(&[tmp(&dir, "e.csv", "")], &all()).unwrap_err();
    assert_eq!(e.code(), "empty_file");

    let pq = dir.path().join("t.parquet");
    write_parquet(
        &pq,
        "message p {
           OPTIONAL BOOLEAN worker;
           OPTIONAL INT64 ts;
           OPTIONAL DOUBLE lat;
           OPTIONAL DOUBLE lon;
         }",
        &[vec![
            Col::Bool(vec![Some(true)]),
            Col::I64(vec![Some(1)]),
            Col::F64(vec![Some(1.0)]),
            Col::F64(vec![Some(1.0)]),
        ]],
    );
    let e = read_table(&[pq], &all()).unwrap_err();
    assert_eq!(e.code(), "bad_column_type");
    assert!(
        e.to_string().contains("column \"worker\" is BOOLEAN"),
        "{e}"
    );
}

#[test]
fn gpx_points_go_into_the_same_table_under_the_given_worker() {
    let dir = tempfile::tempdir().unwrap();
    let gpx = tmp(
        &dir,
        "walk.gpx",
        r#"<?xml version="1.0"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
 <trk><trkseg>
  <trkpt lat="28.2" lon="112.98"><time>2026-10-08T01:30:00Z</time></trkpt>
  <trkpt lat="28.2001" lon="112.9801"></trkpt>
 </trkseg></trk>
</gpx>"#,
    );
    let t = read(&gpx, &all());
    assert_eq!(pings(&t), vec![ping("walk", T0, 28.2, 112.98)]);
    assert_eq!(faults(&t), vec![(2, "missing_field", Some("walk".into()))]);
    let named = ReadOptions {
        worker: Some("w9".into()),
        ..ReadOptions::default()
    };
    assert_eq!(read(&gpx, &named).workers, vec![WorkerId::new("w9")]);
}

#[test]
fn several_files_share_worker_numbers_and_optional_columns_fill_in() {
    let dir = tempfile::tempdir().unwrap();
    let first = tmp(
        &dir,
        "a.csv",
        "worker,ts,lat,lon\nw1,1791423000,28.2,112.98\nw2,1791423000,28.3,112.9\n",
    );
    let second = tmp(
        &dir,
        "b.csv",
        "worker,ts,lat,lon,acc,batt,checkin\nw2,1791423010,28.3,112.9,5,80,cp-9\nw1,1791423010,28.2,112.98,,,\n",
    );
    let t = read_table(&[first, second], &all()).unwrap();
    let mut w2 = ping("w2", T0 + 10_000, 28.3, 112.9);
    w2.acc_m = Some(5.0);
    w2.batt_pct = Some(80.0);
    w2.checkin = Some(Arc::from("cp-9"));
    assert_eq!(
        pings(&t),
        vec![
            ping("w1", T0, 28.2, 112.98),
            ping("w2", T0, 28.3, 112.9),
            w2,
            ping("w1", T0 + 10_000, 28.2, 112.98),
        ]
    );
    assert_eq!(t.rows, vec![vec![0, 3], vec![1, 2]]);
    assert_eq!(t.worker_number("w2"), Some(1));
}

#[test]
fn a_microsecond_timestamp_column_is_read_as_milliseconds() {
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("us.parquet");
    write_parquet(
        &pq,
        "message p {
           OPTIONAL BYTE_ARRAY worker_id (UTF8);
           OPTIONAL INT64 timestamp (TIMESTAMP(MICROS,true));
           OPTIONAL FLOAT latitude;
           OPTIONAL FLOAT longitude;
         }",
        &[vec![
            Col::Text(vec![Some("w1"), Some("w1")]),
            Col::I64(vec![Some(T0 * 1000 + 999), None]),
            Col::F32(vec![Some(28.5), Some(28.5)]),
            Col::F32(vec![Some(112.75), Some(112.75)]),
        ]],
    );
    let t = read(&pq, &all());
    assert_eq!(pings(&t), vec![ping("w1", T0, 28.5, 112.75)]);
    assert_eq!(faults(&t), vec![(2, "missing_field", Some("w1".into()))]);
}

#[test]
fn a_workers_distinct_pings_are_those_the_engine_keeps() {
    let dir = tempfile::tempdir().unwrap();
    // w1 out of order, a copy of its first row later, another position at a shared time,
    // and a copy of that one; w2 between them with its own copy.
    let csv = tmp(
        &dir,
        "w.csv",
        "worker,ts,lat,lon,acc\n\
         w1,1791423020,28.2002,112.98,5\n\
         w1,1791423000,28.2,112.98,5\n\
         w2,1791423000,28.3,112.90,5\n\
         w1,1791423010,28.2001,112.98,5\n\
         w1,1791423010,28.2009,112.98,5\n\
         w2,1791423000,28.3,112.90,5\n\
         w1,1791423000,28.2,112.98,5\n\
         w1,1791423010,28.2009,112.98,5\n\
         w1,1791423010,28.2009,112.98,7\n",
    );
    let t = read(&csv, &all());
    for w in 0..t.workers.len() {
        let input: Vec<Ping> = t.rows[w].iter().map(|&r| t.ping(r as usize)).collect();
        let (expected, repeats) = gridbeat::track::distinct(&input);
        let (got, n) = t.distinct_pings(w);
        assert_eq!((got.as_slice(), n), (&*expected, repeats), "worker {w}");
    }
    let w1 = t.worker_number("w1").unwrap();
    let (got, n) = t.distinct_pings(w1);
    let kept: Vec<(i64, f64, Option<f32>)> = got.iter().map(|p| (p.ts, p.lat, p.acc_m)).collect();
    assert_eq!(
        (kept, n),
        (
            vec![
                (T0, 28.2, Some(5.0)),
                (T0 + 10_000, 28.2001, Some(5.0)),
                (T0 + 10_000, 28.2009, Some(5.0)),
                (T0 + 10_000, 28.2009, Some(7.0)),
                (T0 + 20_000, 28.2002, Some(5.0)),
            ],
            2
        )
    );
}
