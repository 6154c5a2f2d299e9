//! `ingest::parquet::read_pings` against the CSV decoder on the sample city, which the
//! simulator writes in both formats from the same rows.

use std::fs::File;

use gridbeat::ingest::{csv, parquet};
use gridbeat::model::Crs;

use crate::util::sample;

#[test]
fn the_sample_parquet_holds_the_same_pings_as_the_csv() {
    let csv_path = sample("pings.csv");
    let from_csv =
        csv::read_pings(File::open(&csv_path).unwrap(), "pings.csv", Crs::Wgs84).unwrap();
    let from_pq = parquet::read_pings(
        File::open(sample("pings.parquet")).unwrap(),
        "pings.parquet",
        Crs::Wgs84,
    )
    .unwrap();
    assert!(from_csv.errors.is_empty(), "{:?}", &from_csv.errors[..1]);
    assert!(from_pq.errors.is_empty(), "{:?}", &from_pq.errors[..1]);

    // The row count, from the text itself: one ping per line after the header.
    let lines = std::fs::read_to_string(&csv_path).unwrap().lines().count() - 1;
    assert_eq!(from_csv.pings.len(), lines);
    assert_eq!(from_pq.pings.len(), from_csv.pings.len());

    let mut with_acc = 0;
    let mut mock = 0;
    let mut checkins = 0;
    for (n, (c, p)) in from_csv.pings.iter().zip(&from_pq.pings).enumerate() {
        let row = n + 2;
        assert_eq!(c.worker, p.worker, "row {row}");
        assert_eq!(c.ts, p.ts, "row {row}");
        // Both hold the same 7-decimal values; allow for text vs binary rounding only.
        assert!(
            (c.lon - p.lon).abs() < 1e-9,
            "row {row}: {} {}",
            c.lon,
            p.lon
        );
        assert!(
            (c.lat - p.lat).abs() < 1e-9,
            "row {row}: {} {}",
            c.lat,
            p.lat
        );
        match (c.acc_m, p.acc_m) {
            (None, None) => {}
            (Some(a), Some(b)) => {
                assert!((a - b).abs() < 1e-4, "row {row}: acc {a} {b}");
                with_acc += 1;
            }
            other => panic!("row {row}: acc {other:?}"),
        }
        assert_eq!(c.mock, p.mock, "row {row}");
        assert_eq!(c.checkin, p.checkin, "row {row}");
        mock += usize::from(c.mock);
        checkins += usize::from(c.checkin.is_some());
    }
    // The comparison means something only if the sample has these fields at all.
    assert!(
        with_acc > lines / 2,
        "{with_acc} of {lines} rows with accuracy"
    );
    assert!(mock > 0, "the sample has mock pings");
    assert!(checkins > 0, "the sample has check-ins");
}

#[test]
fn a_file_that_is_not_parquet_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.parquet");
    std::fs::write(&path, "worker,ts,lat,lon\nw,1791423000,28.2,112.98\n").unwrap();
    let e = parquet::read_pings(File::open(&path).unwrap(), "fake.parquet", Crs::Wgs84)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("fake.parquet: "), "{e}");
    assert!(e.contains("not a readable Parquet file"), "{e}");

    let empty = dir.path().join("empty.parquet");
    std::fs::write(&empty, "").unwrap();
    let e = parquet::read_pings(File::open(&empty).unwrap(), "empty.parquet", Crs::Wgs84)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("empty.parquet: "), "{e}");
}

#[test]
fn read_file_names_the_path_of_a_bad_parquet_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.pq");
    std::fs::write(&path, b"PAR1 but not really").unwrap();
    let e = gridbeat::ingest::read_file(&path, Crs::Wgs84, None).unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}
