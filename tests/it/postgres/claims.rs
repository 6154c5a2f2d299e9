//! Claims on dirty worker-days shared by replicas: what one replica claims no other gets
//! until it is done or its lease lapses; versions written through one replica are read by
//! another while both are open.

use chrono::NaiveDate;
use gridbeat::store::{Affected, PgStore, RegistryFile, Store, SummaryRow};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn keys(days: &[gridbeat::store::DirtyDay]) -> Vec<(String, NaiveDate)> {
    days.iter().map(|d| (d.worker.clone(), d.day)).collect()
}

fn wd(list: &[(&str, u32)]) -> Vec<(String, NaiveDate)> {
    list.iter().map(|(w, d)| (w.to_string(), day(*d))).collect()
}

#[test]
fn a_claimed_day_goes_to_one_replica_until_done_or_its_lease_lapses() {
    let db = super::TestDb::new();
    let mut opts = super::options();
    opts.claim_lease_s = 2;
    let a = PgStore::open(&db.url, &opts).unwrap();
    let b = PgStore::open(&db.url, &opts).unwrap();
    assert_ne!(a.replica(), b.replica());
    a.mark_dirty(&wd(&[("w1", 1), ("w1", 2), ("w2", 1)]))
        .unwrap();
    let all = i64::MAX;
    let got_a = a.claim(all, all, 2).unwrap();
    assert_eq!(
        keys(&got_a),
        wd(&[("w1", 1), ("w1", 2)]),
        "the first two in order"
    );
    let got_b = b.claim(all, all, 10).unwrap();
    assert_eq!(keys(&got_b), wd(&[("w2", 1)]), "only what A did not claim");
    assert!(
        a.claim(all, all, 10).unwrap().is_empty(),
        "everything is claimed"
    );
    // `due` still lists every dirty day (a read, no claim).
    assert_eq!(a.due(all, all, 10).unwrap().len(), 3);

    // A finishes (w1, 1); (w1, 2) is re-marked by a newer mark meanwhile: A's put at the old
    // generation leaves the mark and ends A's claim, so the day is due again for anyone.
    let row = |w: &str, d: u32| SummaryRow {
        worker: w.into(),
        day: day(d),
        data: vec![1],
        window: (0, None),
    };
    a.put_summary(&row("w1", 1), got_a[0].generation).unwrap();
    a.mark_dirty(&wd(&[("w1", 2)])).unwrap();
    a.put_summary(&row("w1", 2), got_a[1].generation).unwrap();
    let again = b.claim(all, all, 10).unwrap();
    assert_eq!(keys(&again), wd(&[("w1", 2)]));
    b.put_summary(&row("w1", 2), again[0].generation).unwrap();

    // B "dies" holding (w2, 1): nobody gets it until the lease lapses, then A does.
    drop(b);
    assert!(a.claim(all, all, 10).unwrap().is_empty());
    std::thread::sleep(std::time::Duration::from_millis(2_300));
    let taken = a.claim(all, all, 10).unwrap();
    assert_eq!(
        keys(&taken),
        wd(&[("w2", 1)]),
        "the lapsed claim is taken over"
    );
    a.put_summary(&row("w2", 1), taken[0].generation).unwrap();
    assert!(
        a.due(all, all, 10).unwrap().is_empty(),
        "the queue is empty"
    );
}

#[test]
fn versions_written_through_one_replica_are_read_by_the_other() {
    let db = super::TestDb::new();
    let a = PgStore::open(&db.url, &super::options()).unwrap();
    let b = PgStore::open(&db.url, &super::options()).unwrap();
    let (v, r) = (b.summaries_version(), b.registry_version());
    assert!(v >= 1 && r >= 1, "real versions start at 1: {v}, {r}");
    a.put_summary(
        &SummaryRow {
            worker: "w1".into(),
            day: day(3),
            data: vec![7],
            window: (0, None),
        },
        0,
    )
    .unwrap();
    assert!(b.summaries_version() > v, "B sees A's summary write");
    a.put_registry_file(RegistryFile::Workers, "id\nw1\n", &Affected::Nothing)
        .unwrap();
    assert!(b.registry_version() > r, "B sees A's registry change");
    assert_eq!(
        b.registry_file(RegistryFile::Workers).unwrap().as_deref(),
        Some("id\nw1\n")
    );
    // Registry files keep their versions: the newest is served.
    a.put_registry_file(RegistryFile::Workers, "id\nw2\n", &Affected::Nothing)
        .unwrap();
    assert_eq!(
        b.registry_file(RegistryFile::Workers).unwrap().as_deref(),
        Some("id\nw2\n")
    );
    assert_eq!(
        super::psql(
            &db.url,
            "SELECT count(*) FROM registry_files WHERE file = 'workers'"
        ),
        "2"
    );
}

#[test]
fn a_newer_schema_is_refused_and_a_bad_url_names_the_host() {
    let db = super::TestDb::new();
    drop(PgStore::open(&db.url, &super::options()).unwrap());
    super::psql(&db.url, "INSERT INTO gridbeat_schema (version) VALUES (99)");
    let err = PgStore::open(&db.url, &super::options())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("schema version 99"), "{err}");
    // Nothing listens on port 1: the error names the host and port and the cause.
    let mut o = super::options();
    o.connect_timeout_s = 1;
    let err = PgStore::open("postgres://postgres@127.0.0.1:1/none", &o)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("127.0.0.1:1/none"), "{err}");
    assert!(err.to_lowercase().contains("refused"), "{err}");
}

#[test]
fn pings_are_partitioned_by_month_and_partitions_are_made_on_demand() {
    let db = super::TestDb::new();
    let s = PgStore::open(&db.url, &super::options()).unwrap();
    // 2024-02-29 12:00 UTC and 2019-07-01 00:00 UTC: months no partition was made ahead for.
    let ts = [1_709_208_000_000i64, 1_561_939_200_000];
    let pings: Vec<_> = ts
        .iter()
        .map(|&t| gridbeat::store::NewPing {
            ping: gridbeat::model::Ping::new(gridbeat::model::WorkerId::new("w1"), t, 112.9, 28.2),
            day: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
            source: gridbeat::store::Source::Json,
            device: None,
        })
        .collect();
    s.insert_pings(pings, 0).unwrap();
    let parts = super::psql(
        &db.url,
        "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'pings'::regclass",
    );
    assert!(parts.contains("pings_202402"), "{parts}");
    assert!(parts.contains("pings_201907"), "{parts}");
    assert_eq!(
        super::psql(&db.url, "SELECT count(*) FROM pings_202402"),
        "1"
    );
}

#[test]
fn import_by_copy_gives_the_outcomes_and_rows_of_insert() {
    use gridbeat::model::{Ping, WorkerId};
    use gridbeat::store::{Insert, NewPing, Source};
    let db_a = super::TestDb::new();
    let db_b = super::TestDb::new();
    let a = PgStore::open(&db_a.url, &super::options()).unwrap();
    let b = PgStore::open(&db_b.url, &super::options()).unwrap();
    let p = |w: &str, ts: i64, lon: f64| NewPing {
        ping: Ping {
            acc_m: Some(7.5),
            checkin: (ts % 3 == 0).then(|| "cp-1".into()),
            received: Some(1_800_000_000_000),
            ..Ping::new(WorkerId::new(w), ts, lon, 28.2)
        },
        day: NaiveDate::from_ymd_opt(2026, 11, 3).unwrap(),
        source: Source::Import,
        device: None,
    };
    let t = 1_793_000_000_000i64;
    let first = vec![p("w1", t, 112.9), p("w2", t, 112.9)];
    // A repeat and a conflict of stored keys, a key twice inside the batch (the second a
    // conflict, the third a repeat of that conflict), and new keys.
    let second = vec![
        p("w1", t, 112.9),
        p("w2", t, 113.0),
        p("w1", t + 1000, 112.9),
        p("w1", t + 2000, 112.5),
        p("w1", t + 2000, 112.6),
        p("w1", t + 2000, 112.6),
    ];
    for batch in [first, second] {
        let via_copy = a.import_pings(batch.clone(), 0).unwrap();
        let via_unnest = b.insert_pings(batch, 0).unwrap();
        assert_eq!(via_copy, via_unnest);
    }
    assert_eq!(
        b.insert_pings(vec![p("w1", t + 2000, 112.6)], 0).unwrap(),
        vec![Insert::Repeat]
    );
    let expected = vec![
        Insert::Repeat,
        Insert::Conflict,
        Insert::Accepted,
        Insert::Accepted,
        Insert::Conflict,
        Insert::Repeat,
    ];
    let again = a
        .import_pings(
            vec![
                p("w1", t, 112.9),
                p("w2", t, 113.5),
                p("w1", t + 3000, 112.9),
                p("w1", t + 4000, 112.5),
                p("w1", t + 4000, 112.6),
                p("w1", t + 4000, 112.6),
            ],
            0,
        )
        .unwrap();
    assert_eq!(again, expected);
    let (sa, sb) = (a.stats().unwrap(), b.stats().unwrap());
    assert_eq!((sa.pings, sa.duplicates), (6, 4));
    assert_eq!((sb.pings, sb.duplicates), (4, 2));
    assert_eq!(
        a.pings("w1", 0..i64::MAX).unwrap()[..4],
        b.pings("w1", 0..i64::MAX).unwrap()[..4],
        "the same stored rows, duplicates after their key"
    );
}
