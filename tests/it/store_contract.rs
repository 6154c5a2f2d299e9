//! The [`Store`] contract: what `src/store/mod.rs` documents, checked over `&dyn Store`, so
//! that every store (the embedded SQLite store now, PostgreSQL next) passes the same checks.
//!
//! Each check is a public function. Most take a store on a new, empty database
//! (`fn(&dyn Store)`); the two about what outlives a handle (the stored summaries version,
//! the checkpoint) take a [`Fresh`], which can also open the same database again. Every
//! expected value is worked out by hand from the pings, marks and summaries the check itself
//! writes, never read back from a store first.
//!
//! **Running it on another store.** Write a function that returns a [`Fresh`] on a new,
//! empty database (for PostgreSQL: a new schema or database per call, so checks running in
//! parallel do not see each other; `reopen` opens a second pool on the same one, as a second
//! replica would) and expand the macro in a module of its own:
//!
//! ```ignore
//! mod postgres {
//!     fn fresh() -> crate::store_contract::Fresh { /* a new database */ }
//!     crate::store_contract::store_contract_tests!(fresh);
//! }
//! ```
//!
//! which makes one `#[test]` per check (`cargo test --test it store_contract` runs the SQLite
//! ones, `sqlite::insert_outcomes` and so on). The checks read the store's clock only through
//! what it returns (`DirtyDay::since`, `pending`), except one bound with a minute of slack, so
//! a store whose marks use the database server's clock passes too.
//!
//! Not here, because they are one store's own: the SQLite store's lock, migrations and
//! checksums (its unit tests and `hardening::store_faults`). The version check opens the
//! second handle after closing the first, as SQLite's one-process lock requires; a PostgreSQL
//! runner may also check two live replicas (a write through one moves the other's version).

use std::any::Any;
use std::sync::Arc;

use chrono::NaiveDate;
use gridbeat::model::{Month, Ping, UnixMs, WorkerId};
use gridbeat::store::{
    Affected, DirtyDay, Insert, NewPing, Position, Readiness, RegistryFile, Source, SqliteStore,
    Store, SummaryRow,
};

/// A store on a new, empty database.
pub struct Fresh {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Opens another handle on the same database (as another process would). The SQLite store
    /// allows one open handle per data directory, so checks drop the earlier one first.
    pub reopen: Box<dyn Fn() -> Arc<dyn Store>>,
    /// What must outlive the store (the SQLite store's temporary directory); dropped last.
    pub keep: Box<dyn Any>,
}

/// One `#[test]` per contract check, each on its own [`Fresh`] store from `$fresh`.
macro_rules! store_contract_tests {
    ($fresh:path) => {
        $crate::store_contract::store_contract_tests!(@store $fresh;
            insert_outcomes,
            pings_order_and_range,
            patrol_pings_keep_what_tells_repeats,
            neighbours,
            registry_files_and_what_they_mark,
            insert_marks_days_and_reached_windows,
            mark_dirty_and_due,
            put_and_drop_summary_generations,
            summary_ranges_are_half_open,
            summary_months,
            positions,
            pending,
            summaries_version_changes_on_writes_only,
            meta,
            stats_counts,
            readiness
        );
        $crate::store_contract::store_contract_tests!(@fresh $fresh;
            summaries_version_is_kept_in_the_database,
            checkpoint_keeps_everything
        );
    };
    (@store $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let fresh = $fresh();
                $crate::store_contract::$check(&*fresh.store);
            }
        )*
    };
    (@fresh $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::store_contract::$check($fresh());
            }
        )*
    };
}

pub(crate) use store_contract_tests;

/// The embedded store runs the contract.
mod sqlite {
    use super::*;

    /// A SQLite store in a new temporary data directory.
    fn fresh() -> Fresh {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        Fresh {
            store,
            reopen: Box::new(move || Arc::new(SqliteStore::open(&path).unwrap())),
            keep: Box::new(dir),
        }
    }

    store_contract_tests!(fresh);
}

// ---------------------------------------------------------------- inputs

/// A calendar day.
fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The instant `hour`:`minute` UTC on `day`, in ms.
fn at(day: NaiveDate, hour: u32, minute: u32) -> UnixMs {
    day.and_hms_opt(hour, minute, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

/// A ping of `worker` at `ts` (its day is the UTC day of `ts`), received a second later.
fn ping(worker: &str, ts: UnixMs, lon: f64) -> NewPing {
    let mut p = Ping::new(WorkerId::new(worker), ts, lon, 30.0);
    p.received = Some(ts + 1_000);
    NewPing {
        day: chrono::DateTime::from_timestamp_millis(ts)
            .unwrap()
            .date_naive(),
        ping: p,
        source: Source::Json,
        device: None,
    }
}

/// A summary row.
fn row(worker: &str, day: NaiveDate, data: &[u8], window: (UnixMs, Option<UnixMs>)) -> SummaryRow {
    SummaryRow {
        worker: worker.to_string(),
        day,
        data: data.to_vec(),
        window,
    }
}

/// A summary row as comparable values.
type RowShape = (String, NaiveDate, Vec<u8>, (UnixMs, Option<UnixMs>));

fn shape(r: &SummaryRow) -> RowShape {
    (r.worker.clone(), r.day, r.data.clone(), r.window)
}

fn shapes(rows: &[SummaryRow]) -> Vec<RowShape> {
    rows.iter().map(shape).collect()
}

/// The (worker, day) keys of rows.
fn keys(rows: &[SummaryRow]) -> Vec<(String, NaiveDate)> {
    rows.iter().map(|r| (r.worker.clone(), r.day)).collect()
}

/// Owned (worker, day) keys.
fn wd(list: &[(&str, NaiveDate)]) -> Vec<(String, NaiveDate)> {
    list.iter().map(|(w, d)| (w.to_string(), *d)).collect()
}

/// Every dirty day, whenever marked.
fn all_due(store: &dyn Store) -> Vec<DirtyDay> {
    store.due(UnixMs::MAX, UnixMs::MIN, 1_000).unwrap()
}

/// The (worker, day) keys of every dirty day, in the order `due` gives them.
fn due_keys(store: &dyn Store) -> Vec<(String, NaiveDate)> {
    all_due(store)
        .into_iter()
        .map(|d| (d.worker, d.day))
        .collect()
}

/// Clears every dirty mark by writing each marked day's summary again at the mark's
/// generation (a day without one gets a summary whose window, at 1970, no ping reaches).
fn clear_marks(store: &dyn Store) {
    for d in all_due(store) {
        let r = store
            .summary(&d.worker, d.day)
            .unwrap()
            .unwrap_or_else(|| row(&d.worker, d.day, b"cleared", (0, Some(0))));
        store.put_summary(&r, d.generation).unwrap();
    }
    assert!(due_keys(store).is_empty(), "the marks were not cleared");
}

/// Waits until the wall clock has moved on by a few ms, so the next mark is later.
fn tick() {
    std::thread::sleep(std::time::Duration::from_millis(5));
}

// ---------------------------------------------------------------- checks

/// New pings are accepted; the same fix again (every stored value equal, whatever its
/// receipt time or source) is a repeat; the same worker and ts with another value is a
/// conflict, and a conflict sent again is a repeat. Repeats are counted nowhere.
pub fn insert_outcomes(store: &dyn Store) {
    let (t1, t2) = (at(day(2026, 10, 1), 8, 0), at(day(2026, 10, 1), 8, 1));
    assert_eq!(store.insert_pings(Vec::new(), 0).unwrap(), Vec::new());
    let first = store
        .insert_pings(vec![ping("w1", t1, 112.0), ping("w1", t2, 112.0)], 0)
        .unwrap();
    assert_eq!(first, vec![Insert::Accepted, Insert::Accepted]);

    let mut resent = ping("w1", t1, 112.0);
    resent.ping.received = Some(t1 + 60_000);
    resent.source = Source::Osmand;
    resent.device = Some("phone-7".into());
    let mut other_battery = ping("w1", t1, 112.0);
    other_battery.ping.batt_pct = Some(40.0);
    let mut with_checkin = ping("w1", t2, 112.0);
    with_checkin.ping.checkin = Some("cp-1".into());
    let second = store
        .insert_pings(
            vec![
                resent,                // same values, other receipt: repeat
                ping("w1", t2, 112.5), // other lon: conflict
                ping("w1", t2, 112.5), // that conflict again: repeat
                other_battery.clone(), // other battery: conflict
                with_checkin,          // a check-in the stored ping lacks: conflict
                ping("w2", t1, 112.0), // another worker at the same ts: new
                other_battery,         // the battery conflict again: repeat
            ],
            0,
        )
        .unwrap();
    assert_eq!(
        second,
        vec![
            Insert::Repeat,
            Insert::Conflict,
            Insert::Repeat,
            Insert::Conflict,
            Insert::Conflict,
            Insert::Accepted,
            Insert::Repeat
        ]
    );

    // Within one batch: the first of a key is stored, its copy repeats it, a third differs.
    let third = store
        .insert_pings(
            vec![
                ping("w3", t1, 1.0),
                ping("w3", t1, 1.0),
                ping("w3", t1, 2.0),
            ],
            0,
        )
        .unwrap();
    assert_eq!(
        third,
        vec![Insert::Accepted, Insert::Repeat, Insert::Conflict]
    );

    // Stored: w1 at t1 and t2, w2 at t1, w3 at t1; logged: three conflicts of w1, one of w3.
    let s = store.stats().unwrap();
    assert_eq!((s.pings, s.duplicates), (4, 4));
    assert_eq!(store.pings("w1", 0..UnixMs::MAX).unwrap().len(), 2 + 3);
    assert_eq!(store.pings("w3", 0..UnixMs::MAX).unwrap().len(), 1 + 1);
}

/// `pings` gives one worker's pings with `start <= ts < end`, by timestamp whatever the order
/// they came in, each conflict right after its key's stored ping in the order logged, every
/// stored value as sent.
pub fn pings_order_and_range(store: &dyn Store) {
    let d = day(2026, 10, 2);
    let (t1, t2, t3) = (at(d, 9, 0), at(d, 9, 5), at(d, 9, 10));
    let mut full = ping("w1", t2, 2.0);
    full.ping.acc_m = Some(4.5);
    full.ping.speed_mps = Some(1.25);
    full.ping.bearing_deg = Some(270.0);
    full.ping.alt_m = Some(-3.5);
    full.ping.batt_pct = Some(81.0);
    full.ping.mock = true;
    full.ping.checkin = Some("cp-9".into());
    full.ping.work = Some(true);
    full.ping.pressure_mpa = Some(0.25);
    full.ping.ignition = Some(false);
    store
        .insert_pings(vec![ping("w1", t3, 3.0), ping("w1", t1, 1.0)], 0)
        .unwrap();
    store.insert_pings(vec![full.clone()], 0).unwrap();
    store
        .insert_pings(vec![ping("w1", t2, 2.1), ping("w2", t2, 9.0)], 0)
        .unwrap();
    store
        .insert_pings(vec![ping("w1", t1, 1.1), ping("w1", t2, 2.2)], 0)
        .unwrap();

    let lons = |range: std::ops::Range<UnixMs>| -> Vec<(UnixMs, f64)> {
        store
            .pings("w1", range)
            .unwrap()
            .iter()
            .map(|p| (p.ts, p.lon))
            .collect()
    };
    assert_eq!(
        lons(0..UnixMs::MAX),
        vec![
            (t1, 1.0),
            (t1, 1.1),
            (t2, 2.0),
            (t2, 2.1),
            (t2, 2.2),
            (t3, 3.0)
        ]
    );
    // Half-open: the end instant is left out, the start kept.
    assert_eq!(
        lons(t1..t3),
        vec![(t1, 1.0), (t1, 1.1), (t2, 2.0), (t2, 2.1), (t2, 2.2)]
    );
    assert_eq!(lons(t2..t2 + 1), vec![(t2, 2.0), (t2, 2.1), (t2, 2.2)]);
    assert_eq!(lons(t2..t2), Vec::new());
    assert_eq!(lons(t3 + 1..UnixMs::MAX), Vec::new());

    // Every stored value comes back as sent.
    let got = store.pings("w1", t2..t2 + 1).unwrap();
    assert_eq!(got[0], full.ping);
    let w2: Vec<(String, UnixMs)> = store
        .pings("w2", 0..UnixMs::MAX)
        .unwrap()
        .iter()
        .map(|p| (p.worker.as_str().to_string(), p.ts))
        .collect();
    assert_eq!(w2, vec![("w2".to_string(), t2)]);
    assert!(store.pings("nobody", 0..UnixMs::MAX).unwrap().is_empty());

    // A vehicle's work state is a stored value: another one under the key is a conflict, the
    // same again a repeat.
    let mut working = ping("v1", t1, 5.0);
    working.ping.work = Some(true);
    let mut idle = working.clone();
    idle.ping.work = Some(false);
    let mut no_state = working.clone();
    no_state.ping.work = None;
    let outcomes = store
        .insert_pings(vec![working.clone(), idle, working, no_state], 0)
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            Insert::Accepted,
            Insert::Conflict,
            Insert::Repeat,
            Insert::Conflict
        ]
    );
}

/// `patrol_pings`: the pings of `pings`, in the same order, with a vehicle's fields (work,
/// pressure, ignition) possibly left out of a ping that no other shares a timestamp with, and
/// kept on those that do (they tell a repeat from a conflict).
pub fn patrol_pings_keep_what_tells_repeats(store: &dyn Store) {
    let d = day(2026, 10, 2);
    let (t1, t2, t3) = (at(d, 9, 0), at(d, 9, 5), at(d, 9, 10));
    let vehicle = |ts: UnixMs, work: Option<bool>| {
        let mut p = ping("w1", ts, 1.0);
        p.ping.work = work;
        p.ping.pressure_mpa = Some(0.5);
        p.ping.ignition = Some(true);
        p
    };
    let mut alone = ping("w1", t3, 3.0);
    alone.ping.acc_m = Some(7.5);
    alone.ping.checkin = Some("cp-1".into());
    alone.ping.work = Some(false);
    alone.ping.ignition = Some(false);
    // At t2 a ping, its repeat, and a copy that differs in the work state alone: a conflict.
    let outcomes = store
        .insert_pings(
            vec![
                vehicle(t1, Some(true)),
                vehicle(t2, Some(true)),
                vehicle(t2, Some(true)),
                vehicle(t2, Some(false)),
                alone.clone(),
            ],
            0,
        )
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            Insert::Accepted,
            Insert::Accepted,
            Insert::Repeat,
            Insert::Conflict,
            Insert::Accepted
        ]
    );
    let without = |p: &Ping| Ping {
        work: None,
        pressure_mpa: None,
        ignition: None,
        ..p.clone()
    };
    for range in [0..UnixMs::MAX, t1..t2, t2..t3, t3..t3 + 1] {
        let all = store.pings("w1", range.clone()).unwrap();
        let patrol = store.patrol_pings("w1", range.clone()).unwrap();
        assert_eq!(patrol.len(), all.len(), "{range:?}");
        for (k, (got, full)) in patrol.iter().zip(&all).enumerate() {
            let shared = all.iter().filter(|p| p.ts == full.ts).count() > 1;
            if shared {
                assert_eq!(got, full, "{range:?}: ping {k} shares its timestamp");
            } else {
                assert!(
                    *got == *full || *got == without(full),
                    "{range:?}: ping {k} is {got:?}, not {full:?} with or without its vehicle fields"
                );
            }
        }
    }
    // The pings at t2 as sent: the stored one, then the conflict with its own work state.
    let at_t2 = store.patrol_pings("w1", t2..t2 + 1).unwrap();
    let works: Vec<Option<bool>> = at_t2.iter().map(|p| p.work).collect();
    assert_eq!(works, vec![Some(true), Some(false)]);
    assert!(at_t2
        .iter()
        .all(|p| p.pressure_mpa == Some(0.5) && p.ignition == Some(true)));
    // The other values of a ping come back whole.
    let got = store.patrol_pings("w1", t3..t3 + 1).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(without(&got[0]), without(&alone.ping));
}

/// `neighbours(w, ts)`: the newest stored ping before `ts` and the oldest at or after it.
pub fn neighbours(store: &dyn Store) {
    let d = day(2026, 10, 3);
    let (t1, t2, t3) = (at(d, 6, 0), at(d, 7, 0), at(d, 8, 0));
    store
        .insert_pings(
            vec![
                ping("w1", t2, 2.0),
                ping("w1", t1, 1.0),
                ping("w1", t3, 3.0),
                ping("w2", t2 + 1, 0.0),
            ],
            0,
        )
        .unwrap();
    store.insert_pings(vec![ping("w1", t2, 2.5)], 0).unwrap();
    assert_eq!(store.neighbours("w1", t2).unwrap(), (Some(t1), Some(t2)));
    assert_eq!(
        store.neighbours("w1", t2 + 1).unwrap(),
        (Some(t2), Some(t3))
    );
    assert_eq!(store.neighbours("w1", t1).unwrap(), (None, Some(t1)));
    assert_eq!(store.neighbours("w1", t1 - 1).unwrap(), (None, Some(t1)));
    assert_eq!(store.neighbours("w1", t3 + 1).unwrap(), (Some(t3), None));
    assert_eq!(store.neighbours("nobody", t2).unwrap(), (None, None));
}

/// Registry files round trip and are replaced; putting one marks the summarized days of the
/// workers it affects (all for `Everything`, none for `Nothing`), never a day without a
/// summary. `mark_all_dirty` marks every summarized day.
pub fn registry_files_and_what_they_mark(store: &dyn Store) {
    for f in RegistryFile::ALL {
        assert_eq!(store.registry_file(f).unwrap(), None, "{f:?}");
    }
    let grids = "{\"type\":\"FeatureCollection\",\"features\":[]}";
    store
        .put_registry_file(RegistryFile::Grids, grids, &Affected::Nothing)
        .unwrap();
    assert_eq!(
        store.registry_file(RegistryFile::Grids).unwrap().as_deref(),
        Some(grids)
    );
    assert_eq!(store.registry_file(RegistryFile::Workers).unwrap(), None);
    let workers = "id,name\nw1,张三\n";
    store
        .put_registry_file(RegistryFile::Workers, workers, &Affected::Nothing)
        .unwrap();
    store
        .put_registry_file(RegistryFile::Workers, "id\n", &Affected::Nothing)
        .unwrap();
    assert_eq!(
        store
            .registry_file(RegistryFile::Workers)
            .unwrap()
            .as_deref(),
        Some("id\n")
    );
    assert_eq!(
        store.registry_file(RegistryFile::Grids).unwrap().as_deref(),
        Some(grids)
    );

    let (d1, d2) = (day(2026, 10, 4), day(2026, 10, 5));
    for (w, d) in [("w1", d1), ("w1", d2), ("w2", d1)] {
        store.put_summary(&row(w, d, b"s", (0, None)), 0).unwrap();
    }
    assert!(due_keys(store).is_empty());
    store
        .put_registry_file(RegistryFile::Devices, "device,worker\n", &Affected::Nothing)
        .unwrap();
    assert!(due_keys(store).is_empty());
    store
        .put_registry_file(
            RegistryFile::Workers,
            "id\nw1\n",
            &Affected::Workers(vec!["w1".into(), "w3".into()]),
        )
        .unwrap();
    assert_eq!(due_keys(store), wd(&[("w1", d1), ("w1", d2)]));
    clear_marks(store);
    store
        .put_registry_file(RegistryFile::Checkpoints, grids, &Affected::Everything)
        .unwrap();
    assert_eq!(due_keys(store), wd(&[("w1", d1), ("w1", d2), ("w2", d1)]));
    clear_marks(store);
    store.mark_all_dirty().unwrap();
    assert_eq!(due_keys(store), wd(&[("w1", d1), ("w1", d2), ("w2", d1)]));
}

/// A batch marks the day of each accepted or conflicting ping and every stored day whose
/// window (widened by `margin_ms`; an open window runs on forever) reaches it; a repeat marks
/// nothing.
pub fn insert_marks_days_and_reached_windows(store: &dyn Store) {
    let (d0, d1, d2, d5) = (
        day(2026, 10, 9),
        day(2026, 10, 10),
        day(2026, 10, 11),
        day(2026, 10, 14),
    );
    let hour: UnixMs = 3_600_000;
    // w1's and w2's day d1 has a window from 20:00 on d1 to 02:00 on d2 (a night shift);
    // w3's is open (it ran to the worker's newest ping); w4's starts at 00:30 on d1.
    let window = (at(d1, 20, 0), Some(at(d2, 2, 0)));
    for w in ["w1", "w2"] {
        store.put_summary(&row(w, d1, b"n", window), 0).unwrap();
    }
    store
        .put_summary(&row("w3", d1, b"n", (at(d1, 20, 0), None)), 0)
        .unwrap();
    store
        .put_summary(
            &row("w4", d1, b"n", (at(d1, 0, 30), Some(at(d1, 10, 0)))),
            0,
        )
        .unwrap();
    assert!(due_keys(store).is_empty());

    // w1: 03:00 on d2 is an hour past the window's end, inside a 2 h margin: d1 and d2.
    store
        .insert_pings(vec![ping("w1", at(d2, 3, 0), 1.0)], 2 * hour)
        .unwrap();
    // w2: 05:00 on d2 is three hours past it, outside a 2 h margin: d2 only.
    store
        .insert_pings(vec![ping("w2", at(d2, 5, 0), 1.0)], 2 * hour)
        .unwrap();
    // w3: an open window reaches a ping days later, even with no margin.
    store
        .insert_pings(vec![ping("w3", at(d5, 12, 0), 1.0)], 0)
        .unwrap();
    // w4: 23:45 on d0 is 45 min before the window's start, inside a 1 h margin: d0 and d1.
    store
        .insert_pings(vec![ping("w4", at(d0, 23, 45), 1.0)], hour)
        .unwrap();
    assert_eq!(
        due_keys(store),
        wd(&[
            ("w1", d1),
            ("w1", d2),
            ("w2", d2),
            ("w3", d1),
            ("w3", d5),
            ("w4", d0),
            ("w4", d1)
        ])
    );
    clear_marks(store);
    // w4 again: 22:00 on d0 is 2.5 h before the start, outside the 1 h margin: d0 only.
    store
        .insert_pings(vec![ping("w4", at(d0, 22, 0), 1.0)], hour)
        .unwrap();
    assert_eq!(due_keys(store), wd(&[("w4", d0)]));
    clear_marks(store);

    // A repeat marks nothing; a conflict marks its day (and the windows it reaches).
    let again = store
        .insert_pings(vec![ping("w2", at(d2, 5, 0), 1.0)], 2 * hour)
        .unwrap();
    assert_eq!(again, vec![Insert::Repeat]);
    assert!(due_keys(store).is_empty());
    let conflict = store
        .insert_pings(vec![ping("w2", at(d2, 5, 0), 1.5)], 2 * hour)
        .unwrap();
    assert_eq!(conflict, vec![Insert::Conflict]);
    assert_eq!(due_keys(store), wd(&[("w2", d2)]));
}

/// `mark_dirty` marks any day; `due` gives the days last marked at or before `quiet_before`
/// or first marked at or before `due_before`, by worker then day, at most `limit`. A re-mark
/// by `mark_dirty` gives a new generation and keeps the instants; a ping's re-mark moves the
/// last-marked instant.
pub fn mark_dirty_and_due(store: &dyn Store) {
    let (d1, d2, d3) = (day(2026, 9, 1), day(2026, 9, 2), day(2026, 9, 3));
    assert!(all_due(store).is_empty());
    store.mark_dirty(&[]).unwrap();
    assert!(all_due(store).is_empty());
    let before = chrono::Utc::now().timestamp_millis();
    store.mark_dirty(&wd(&[("b", d2), ("a", d3)])).unwrap();
    let after = chrono::Utc::now().timestamp_millis();
    tick();
    store.mark_dirty(&wd(&[("b", d1), ("a", d1)])).unwrap();
    let due = all_due(store);
    assert_eq!(
        due.iter()
            .map(|d| (d.worker.clone(), d.day))
            .collect::<Vec<_>>(),
        wd(&[("a", d1), ("a", d3), ("b", d1), ("b", d2)])
    );
    let since = |w: &str, d: NaiveDate| -> (UnixMs, i64) {
        let x = all_due(store)
            .into_iter()
            .find(|x| x.worker == w && x.day == d)
            .unwrap();
        (x.since, x.generation)
    };
    let (s_a3, g1) = since("a", d3);
    // The first call's last mark and the second call's first.
    let s1 = s_a3.max(since("b", d2).0);
    let s2 = since("a", d1).0.min(since("b", d1).0);
    assert!(s2 > s1, "the second call is later: {s2} > {s1}");
    // The store's clock and the test's agree within a minute (UTC ms, not seconds).
    assert!(
        s1 >= before - 60_000 && s1 <= after + 60_000,
        "{s1} outside {before}..{after} (a minute of slack)"
    );

    // Debounce: only the days last marked at or before `quiet_before`.
    let quiet = |q: UnixMs| -> Vec<(String, NaiveDate)> {
        store
            .due(q, UnixMs::MIN, 100)
            .unwrap()
            .into_iter()
            .map(|d| (d.worker, d.day))
            .collect()
    };
    assert_eq!(quiet(s1), wd(&[("a", d3), ("b", d2)]));
    assert_eq!(quiet(s_a3.min(since("b", d2).0) - 1), Vec::new());
    assert_eq!(quiet(s2), wd(&[("a", d1), ("a", d3), ("b", d1), ("b", d2)]));
    // The limit keeps the first in order.
    let limited = store.due(UnixMs::MAX, UnixMs::MIN, 1).unwrap();
    assert_eq!(
        limited
            .iter()
            .map(|d| (d.worker.clone(), d.day))
            .collect::<Vec<_>>(),
        wd(&[("a", d1)])
    );

    // mark_dirty again on a dirty day: a new generation, the same instants.
    tick();
    store.mark_dirty(&wd(&[("a", d3)])).unwrap();
    let (s1_again, g1_again) = since("a", d3);
    assert_eq!(s1_again, s_a3);
    assert_ne!(g1_again, g1);
    assert_eq!(quiet(s1), wd(&[("a", d3), ("b", d2)]));

    // A day that keeps getting pings: its last mark moves on (not quiet), its first mark
    // stays (due by `due_before`).
    let d = day(2026, 9, 10);
    store
        .insert_pings(vec![ping("c", at(d, 10, 0), 1.0)], 0)
        .unwrap();
    let (s3, _) = since("c", d);
    tick();
    store
        .insert_pings(vec![ping("c", at(d, 10, 1), 1.0)], 0)
        .unwrap();
    assert_eq!(since("c", d).0, s3, "the first mark stays");
    let c_due = |q: UnixMs, first: UnixMs| -> bool {
        store
            .due(q, first, 100)
            .unwrap()
            .iter()
            .any(|x| x.worker == "c")
    };
    assert!(
        !c_due(s3, UnixMs::MIN),
        "re-marked by a later ping: not quiet"
    );
    assert!(c_due(s3, s3), "first marked at s3: due");
    assert!(!c_due(s3, s3 - 1));
}

/// `put_summary` stores or replaces a summary and clears the day's mark only at the mark's
/// generation; `drop_summary` removes it under the same rule.
pub fn put_and_drop_summary_generations(store: &dyn Store) {
    let d = day(2026, 10, 6);
    assert!(store.summary("w1", d).unwrap().is_none());
    store
        .insert_pings(vec![ping("w1", at(d, 8, 0), 1.0)], 0)
        .unwrap();
    let g1 = all_due(store)[0].generation;
    store
        .insert_pings(vec![ping("w1", at(d, 9, 0), 1.0)], 0)
        .unwrap();
    let g2 = all_due(store)[0].generation;
    assert_ne!(g1, g2, "a newer ping re-marks the day at a new generation");

    let first = row("w1", d, &[1, 2, 3], (at(d, 8, 0), Some(at(d, 9, 0))));
    store.put_summary(&first, g1).unwrap();
    assert_eq!(
        store.summary("w1", d).unwrap().as_ref().map(shape),
        Some(shape(&first))
    );
    assert_eq!(
        due_keys(store),
        wd(&[("w1", d)]),
        "g1 is stale: the mark stays"
    );
    let second = row("w1", d, &[4, 5], (at(d, 8, 0), None));
    store.put_summary(&second, g2).unwrap();
    assert!(due_keys(store).is_empty());
    assert_eq!(
        store.summary("w1", d).unwrap().as_ref().map(shape),
        Some(shape(&second)),
        "replaced"
    );
    assert!(store.summary("w2", d).unwrap().is_none());
    assert!(store.summary("w1", day(2026, 10, 7)).unwrap().is_none());

    // Removal: at a stale generation the summary goes and the mark stays.
    store.mark_dirty(&wd(&[("w1", d)])).unwrap();
    let g3 = all_due(store)[0].generation;
    assert_ne!(g3, g2);
    store.drop_summary("w1", d, g2).unwrap();
    assert!(store.summary("w1", d).unwrap().is_none());
    assert_eq!(due_keys(store), wd(&[("w1", d)]));
    store.drop_summary("w1", d, g3).unwrap();
    assert!(due_keys(store).is_empty());
    assert_eq!(store.stats().unwrap().summaries, 0);
}

/// The day ranges of `worker_summaries`, `summaries` and `summary_workers` are half-open
/// (`start <= day < end`: a day at the end bound is left out); `summary_before` is strictly
/// before; `days_after(w, day, until)` is `day < d <= until`.
pub fn summary_ranges_are_half_open(store: &dyn Store) {
    let (oct1, oct15, oct31, nov1) = (
        day(2026, 10, 1),
        day(2026, 10, 15),
        day(2026, 10, 31),
        day(2026, 11, 1),
    );
    // Written out of order.
    for (w, d) in [
        ("w1", nov1),
        ("w3", nov1),
        ("w1", oct15),
        ("w2", oct31),
        ("w1", oct1),
        ("w1", oct31),
    ] {
        let data = format!("{w}@{d}").into_bytes();
        store
            .put_summary(&row(w, d, &data, (1, Some(2))), 0)
            .unwrap();
    }
    let ws = |w: &str, r: std::ops::Range<NaiveDate>| keys(&store.worker_summaries(w, r).unwrap());
    assert_eq!(
        ws("w1", oct1..nov1),
        wd(&[("w1", oct1), ("w1", oct15), ("w1", oct31)])
    );
    assert_eq!(ws("w1", day(2026, 10, 2)..oct31), wd(&[("w1", oct15)]));
    assert_eq!(ws("w1", oct15..oct15), Vec::new());
    assert_eq!(
        ws("w1", oct31..day(2026, 11, 2)),
        wd(&[("w1", oct31), ("w1", nov1)])
    );
    assert_eq!(ws("w9", oct1..nov1), Vec::new());
    assert_eq!(ws("w1", NaiveDate::MIN..NaiveDate::MAX).len(), 4);
    // The bytes and window come back as written.
    assert_eq!(
        shapes(&store.worker_summaries("w2", oct1..nov1).unwrap()),
        vec![(
            "w2".to_string(),
            oct31,
            b"w2@2026-10-31".to_vec(),
            (1, Some(2))
        )]
    );

    let all = |r: std::ops::Range<NaiveDate>| keys(&store.summaries(r).unwrap());
    assert_eq!(
        all(oct1..nov1),
        wd(&[("w1", oct1), ("w1", oct15), ("w1", oct31), ("w2", oct31)])
    );
    assert_eq!(
        all(oct31..day(2026, 11, 2)),
        wd(&[("w1", oct31), ("w1", nov1), ("w2", oct31), ("w3", nov1)])
    );
    assert_eq!(all(day(2026, 10, 16)..oct31), Vec::new());
    assert_eq!(all(NaiveDate::MIN..NaiveDate::MAX).len(), 6);

    let workers = |r: std::ops::Range<NaiveDate>| store.summary_workers(r).unwrap();
    assert_eq!(workers(oct1..nov1), vec!["w1", "w2"]);
    assert_eq!(workers(nov1..day(2026, 12, 1)), vec!["w1", "w3"]);
    assert_eq!(workers(oct15..oct31), vec!["w1"]);
    assert_eq!(workers(day(2026, 10, 16)..oct31), Vec::<String>::new());

    let before = |w: &str, d: NaiveDate| store.summary_before(w, d).unwrap().map(|r| r.day);
    assert_eq!(before("w1", oct31), Some(oct15));
    assert_eq!(before("w1", day(2026, 11, 1)), Some(oct31));
    assert_eq!(before("w1", day(2026, 12, 25)), Some(nov1));
    assert_eq!(before("w1", oct1), None);
    assert_eq!(before("w2", oct31), None);
    assert_eq!(
        store
            .summary_before("w2", nov1)
            .unwrap()
            .as_ref()
            .map(shape),
        Some((
            "w2".to_string(),
            oct31,
            b"w2@2026-10-31".to_vec(),
            (1, Some(2))
        ))
    );

    let after = |w: &str, d: NaiveDate, until: NaiveDate| store.days_after(w, d, until).unwrap();
    assert_eq!(after("w1", oct1, oct31), vec![oct15, oct31]);
    assert_eq!(
        after("w1", oct15, day(2026, 10, 30)),
        Vec::<NaiveDate>::new()
    );
    assert_eq!(
        after("w1", day(2026, 9, 30), day(2026, 12, 31)),
        vec![oct1, oct15, oct31, nov1]
    );
    assert_eq!(after("w3", oct1, oct31), Vec::<NaiveDate>::new());
}

/// `summary_months`: the months with a stored summary, oldest first, each once.
pub fn summary_months(store: &dyn Store) {
    assert_eq!(store.summary_months().unwrap(), Vec::new());
    for (w, d) in [
        ("w1", day(2026, 11, 30)),
        ("w2", day(2026, 10, 1)),
        ("w1", day(2026, 10, 31)),
        ("w3", day(2025, 12, 31)),
        ("w2", day(2026, 11, 1)),
    ] {
        store.put_summary(&row(w, d, b"m", (0, None)), 0).unwrap();
    }
    let months: Vec<String> = store
        .summary_months()
        .unwrap()
        .iter()
        .map(Month::to_string)
        .collect();
    assert_eq!(months, vec!["2025-12", "2026-10", "2026-11"]);
}

/// `positions`: per worker (by worker) the accepted ping with the newest timestamp; a late
/// older ping, a repeat or a conflict does not move it.
pub fn positions(store: &dyn Store) {
    assert_eq!(store.positions().unwrap(), Vec::new());
    let d = day(2026, 10, 8);
    let mut w2 = ping("w2", at(d, 7, 0), 113.5);
    w2.ping.acc_m = Some(6.0);
    store.insert_pings(vec![w2], 0).unwrap();
    store
        .insert_pings(vec![ping("w1", at(d, 8, 0), 112.0)], 0)
        .unwrap();
    store
        .insert_pings(
            vec![
                ping("w1", at(d, 8, 20), 112.2),
                ping("w1", at(d, 8, 10), 112.1),
            ],
            0,
        )
        .unwrap();
    // A late older ping, a conflict at the newest instant, a repeat.
    store
        .insert_pings(
            vec![
                ping("w1", at(d, 6, 0), 111.0),
                ping("w1", at(d, 8, 20), 119.0),
                ping("w1", at(d, 8, 20), 112.2),
            ],
            0,
        )
        .unwrap();
    assert_eq!(
        store.positions().unwrap(),
        vec![
            Position {
                worker: "w1".into(),
                ts: at(d, 8, 20),
                lon: 112.2,
                lat: 30.0,
                acc_m: None,
                received: Some(at(d, 8, 20) + 1_000),
            },
            Position {
                worker: "w2".into(),
                ts: at(d, 7, 0),
                lon: 113.5,
                lat: 30.0,
                acc_m: Some(6.0),
                received: Some(at(d, 7, 0) + 1_000),
            },
        ]
    );
}

/// `pending`: one (worker, first marked) per dirty day.
pub fn pending(store: &dyn Store) {
    assert_eq!(store.pending().unwrap(), Vec::new());
    let (d1, d2) = (day(2026, 8, 1), day(2026, 8, 2));
    store
        .mark_dirty(&wd(&[("w1", d1), ("w1", d2), ("w2", d1)]))
        .unwrap();
    let mut pending = store.pending().unwrap();
    pending.sort();
    let mut want: Vec<(String, UnixMs)> = all_due(store)
        .into_iter()
        .map(|d| (d.worker, d.since))
        .collect();
    want.sort();
    assert_eq!(
        pending.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>(),
        vec!["w1", "w1", "w2"]
    );
    assert_eq!(pending, want);
    let g = all_due(store)[0].generation;
    store
        .put_summary(&row("w1", d1, b"p", (0, None)), g)
        .unwrap();
    let mut left: Vec<String> = store.pending().unwrap().into_iter().map(|p| p.0).collect();
    left.sort();
    assert_eq!(left, vec!["w1", "w2"]);
}

/// `summaries_version` is at least 1, grows with every summary written or removed, and no
/// read changes it.
pub fn summaries_version_changes_on_writes_only(store: &dyn Store) {
    let d = day(2026, 10, 12);
    let v0 = store.summaries_version();
    assert!(v0 >= 1, "a real version is at least 1: {v0}");
    let reads = |store: &dyn Store| {
        store.summary("w1", d).unwrap();
        store.worker_summaries("w1", d..day(2026, 11, 1)).unwrap();
        store.summaries(NaiveDate::MIN..NaiveDate::MAX).unwrap();
        store
            .summary_workers(NaiveDate::MIN..NaiveDate::MAX)
            .unwrap();
        store.summary_before("w1", day(2026, 12, 1)).unwrap();
        store.summary_months().unwrap();
        store
            .days_after("w1", day(2026, 1, 1), day(2026, 12, 31))
            .unwrap();
        store.due(UnixMs::MAX, UnixMs::MIN, 10).unwrap();
        store.pending().unwrap();
        store.stats().unwrap();
        store.positions().unwrap();
    };
    reads(store);
    assert_eq!(store.summaries_version(), v0);
    store
        .put_summary(&row("w1", d, b"a", (0, None)), 0)
        .unwrap();
    let v1 = store.summaries_version();
    assert!(v1 > v0, "a summary written: {v1} > {v0}");
    reads(store);
    assert_eq!(store.summaries_version(), v1);
    store
        .put_summary(&row("w1", d, b"a", (0, None)), 0)
        .unwrap();
    let v2 = store.summaries_version();
    assert!(v2 > v1, "the same summary written again: {v2} > {v1}");
    store.drop_summary("w1", d, 0).unwrap();
    let v3 = store.summaries_version();
    assert!(v3 > v2, "a summary removed: {v3} > {v2}");
    reads(store);
    assert_eq!(store.summaries_version(), v3);
}

/// The stored summaries version lives in the database: another handle on it (here opened
/// after the first is closed) reads the same number and its writes move it on.
pub fn summaries_version_is_kept_in_the_database(fresh: Fresh) {
    let Fresh {
        store,
        reopen,
        keep,
    } = fresh;
    let d = day(2026, 10, 13);
    for w in ["w1", "w2", "w3"] {
        store.put_summary(&row(w, d, b"v", (0, None)), 0).unwrap();
    }
    let v = store.summaries_version();
    drop(store);
    let again = reopen();
    assert_eq!(
        again.summaries_version(),
        v,
        "the version after three writes"
    );
    again.drop_summary("w2", d, 0).unwrap();
    let after = again.summaries_version();
    assert!(after > v, "{after} > {v}");
    drop(again);
    assert_eq!(reopen().summaries_version(), after);
    drop(keep);
}

/// After `checkpoint` the store still reads what was committed, and a new handle on the
/// database finds all of it.
pub fn checkpoint_keeps_everything(fresh: Fresh) {
    let Fresh {
        store,
        reopen,
        keep,
    } = fresh;
    let d = day(2026, 10, 20);
    store
        .insert_pings(
            vec![ping("w1", at(d, 8, 0), 1.0), ping("w1", at(d, 8, 1), 1.0)],
            0,
        )
        .unwrap();
    store
        .put_summary(&row("w1", d, b"c", (0, None)), 0)
        .unwrap();
    store.set_meta("basis", "b-1").unwrap();
    store
        .put_registry_file(RegistryFile::Workers, "id\nw1\n", &Affected::Nothing)
        .unwrap();
    store.checkpoint().unwrap();
    assert_eq!(store.pings("w1", 0..UnixMs::MAX).unwrap().len(), 2);
    assert_eq!(store.meta("basis").unwrap().as_deref(), Some("b-1"));
    drop(store);
    let again = reopen();
    assert_eq!(again.pings("w1", 0..UnixMs::MAX).unwrap().len(), 2);
    assert_eq!(
        again.summary("w1", d).unwrap().map(|r| r.data),
        Some(b"c".to_vec())
    );
    assert_eq!(again.meta("basis").unwrap().as_deref(), Some("b-1"));
    assert_eq!(
        again
            .registry_file(RegistryFile::Workers)
            .unwrap()
            .as_deref(),
        Some("id\nw1\n")
    );
    assert_eq!(again.stats().unwrap().pings, 2);
    drop(again);
    drop(keep);
}

/// `meta`/`set_meta`: missing is `None`, a value round trips and is replaced.
pub fn meta(store: &dyn Store) {
    assert_eq!(store.meta("basis").unwrap(), None);
    store.set_meta("basis", "engine 3; params abc").unwrap();
    assert_eq!(
        store.meta("basis").unwrap().as_deref(),
        Some("engine 3; params abc")
    );
    store.set_meta("basis", "网格 4").unwrap();
    assert_eq!(store.meta("basis").unwrap().as_deref(), Some("网格 4"));
    store.set_meta("empty", "").unwrap();
    assert_eq!(store.meta("empty").unwrap().as_deref(), Some(""));
    assert_eq!(store.meta("other").unwrap(), None);
}

/// `stats`: stored pings, logged conflicts (not repeats), summaries, dirty days and the
/// oldest mark, the newest accepted ping.
pub fn stats_counts(store: &dyn Store) {
    let s = store.stats().unwrap();
    assert_eq!(
        (
            s.pings,
            s.duplicates,
            s.summaries,
            s.pending,
            s.oldest_pending,
            s.newest_ping
        ),
        (0, 0, 0, 0, None, None)
    );
    let (d1, d2) = (day(2026, 10, 21), day(2026, 10, 22));
    let (t1, t2, t5) = (at(d1, 8, 0), at(d1, 9, 0), at(d2, 8, 0));
    store
        .insert_pings(vec![ping("w1", t1, 1.0), ping("w1", t2, 1.0)], 0)
        .unwrap();
    store
        .insert_pings(
            vec![
                ping("w2", t5, 1.0),
                ping("w1", t1, 1.5), // conflict
                ping("w1", t2, 1.0), // repeat
            ],
            0,
        )
        .unwrap();
    // A late older ping does not lower the newest.
    store
        .insert_pings(vec![ping("w2", at(d1, 1, 0), 1.0)], 0)
        .unwrap();
    let due = all_due(store);
    // Dirty: (w1, d1) and (w2, d1), (w2, d2).
    assert_eq!(due.len(), 3);
    let oldest = due.iter().map(|d| d.since).min();
    let s = store.stats().unwrap();
    assert_eq!(
        (s.pings, s.duplicates, s.summaries, s.pending, s.newest_ping),
        (4, 1, 0, 3, Some(t5))
    );
    assert_eq!(s.oldest_pending, oldest);
    let w1 = due.iter().find(|d| d.worker == "w1").unwrap();
    store
        .put_summary(&row("w1", d1, b"s", (t1, Some(t2))), w1.generation)
        .unwrap();
    store
        .put_summary(&row("w3", d2, b"s", (t5, None)), 0)
        .unwrap();
    let s = store.stats().unwrap();
    assert_eq!((s.summaries, s.pending), (2, 2));
    let left = all_due(store).iter().map(|d| d.since).min();
    assert_eq!(s.oldest_pending, left);
}

/// `readiness`: a healthy store is ready, before and after writes.
pub fn readiness(store: &dyn Store) {
    assert_eq!(store.readiness(), Readiness::Ready);
    store
        .insert_pings(vec![ping("w1", at(day(2026, 10, 23), 8, 0), 1.0)], 0)
        .unwrap();
    store.set_meta("basis", "x").unwrap();
    assert_eq!(store.readiness(), Readiness::Ready);
    assert_eq!(store.meta("basis").unwrap().as_deref(), Some("x"));
}
