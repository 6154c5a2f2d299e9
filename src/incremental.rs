//! The incremental planner (DESIGN.md §4, §6): which dirty worker-days a round takes, which
//! pings each is recomputed from, what the days before it hand on, which summaries are put or
//! dropped, and which later days a new summary makes dirty again. It is written over
//! [`Store`], so every store (SQLite, PostgreSQL) recomputes the same summaries from the same
//! pings; the service's background task only schedules the rounds and reports on them.
//!
//! **A round** claims up to [`ROUND`] due days ([`Store::claim`]: a store shared by several
//! replicas leases them to this one, and may give fewer), grouped per worker
//! ([`due_round`]); one worker's days are recomputed in day order by
//! [`Assessor::recompute_worker`], different workers independently.
//!
//! **One dirty day D of worker W** is recomputed from
//! - the pings of D's window ([`crate::assess::window`]), read with a margin around D that doubles
//!   while the window touches an end of what was read and W has pings beyond it
//!   ([`load_window`]); the days of a run of W's dirty days share one read ([`RunPings`]);
//! - the carry of W's latest stored day before D (the speed gate's state where the window
//!   starts);
//! - the fingerprints of W's stored days earlier in D's month (the replay check).
//!
//! **What it changes**: a day left without a window (no ping) has its summary dropped;
//! otherwise the new summary is put, which clears D's mark unless a newer ping re-marked it.
//! Then the cascade ([`Links`], [`Changed`], [`cascade`]): when D's fingerprint differs from
//! the summary it replaces, every later stored day of D's month is marked dirty; when its
//! carry differs, W's next stored day. A summary that was missing or no longer decodes counts
//! as changed in both. A day the same round reaches later needs no new mark.

use std::collections::BTreeMap;
use std::ops::Range;

use chrono::NaiveDate;

use crate::anomaly::Fingerprint;
use crate::assess::window::{day_bounds, day_window};
use crate::assess::{Assessor, WorkerDay};
use crate::model::{Month, Ping, UnixMs, WorkerId};
use crate::registry::{Fleet, Registry, Vehicle};
use crate::route::{RouteParams, VehicleDay, VehicleFix};
use crate::store::{DirtyDay, Store, StoreError, SummaryRow};
use crate::track::Carry;

/// How many dirty days one round takes.
pub const ROUND: usize = 4096;

/// The first margin around a day when its window is read: six hours, or four of the longest
/// gaps that do not split a segment if that is more; ms.
const FIRST_MARGIN_MS: UnixMs = 6 * 3_600_000;

/// Past this margin the window is read no further (a phone reporting without a pause for more
/// than a year is not a patrol); ms.
const MAX_MARGIN_MS: UnixMs = 400 * 86_400_000;

/// How far ahead the next stored day is looked for (the carry cascade); days.
const NEXT_DAY_HORIZON_DAYS: u64 = 3660;

/// One worker's due days of a round, in day order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerDays {
    /// The worker.
    pub worker: String,
    /// The worker's dirty days, in day order.
    pub days: Vec<DirtyDay>,
}

/// The days due in one round (marked last at or before `quiet_before`, or first at or before
/// `due_before`; at most [`ROUND`]), claimed for this process ([`Store::claim`]) and grouped
/// per worker ([`group_by_worker`]).
///
/// # Errors
/// On a store failure.
pub fn due_round(
    store: &dyn Store,
    quiet_before: UnixMs,
    due_before: UnixMs,
) -> Result<Vec<WorkerDays>, StoreError> {
    Ok(group_by_worker(store.claim(
        quiet_before,
        due_before,
        ROUND,
    )?))
}

/// Dirty days grouped per worker: workers in id order, each worker's days in day order.
pub fn group_by_worker(due: Vec<DirtyDay>) -> Vec<WorkerDays> {
    let mut by_worker: BTreeMap<String, Vec<DirtyDay>> = BTreeMap::new();
    for d in due {
        by_worker.entry(d.worker.clone()).or_default().push(d);
    }
    by_worker
        .into_iter()
        .map(|(worker, mut days)| {
            days.sort_by_key(|d| d.day);
            WorkerDays { worker, days }
        })
        .collect()
}

/// What a later day needs of an earlier one: its carry (for the next day) and its replay
/// fingerprint (for the later days of its month).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Links {
    /// The last fix accepted on the day ([`WorkerDay::carry`]).
    pub carry: Option<Carry>,
    /// The day's replay fingerprint ([`WorkerDay::fingerprint`]).
    pub fingerprint: Option<Fingerprint>,
}

impl Links {
    /// The links of a summary.
    pub fn of(day: &WorkerDay) -> Links {
        Links {
            carry: day.carry,
            fingerprint: day.fingerprint.clone(),
        }
    }
}

/// Which links a recomputed day changed, compared with the summary it replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Changed {
    /// The carry differs: the worker's next day starts from another fix.
    pub carry: bool,
    /// The fingerprint differs: the replay check of the month's later days may differ.
    pub fingerprint: bool,
}

impl Changed {
    /// What changed from `old` (the links of the replaced summary; `None` when there was none
    /// or it no longer decodes: then both changed) to `new`.
    pub fn between(old: Option<&Links>, new: &Links) -> Changed {
        match old {
            Some(o) => Changed {
                carry: o.carry != new.carry,
                fingerprint: o.fingerprint != new.fingerprint,
            },
            None => Changed {
                carry: true,
                fingerprint: true,
            },
        }
    }
}

/// The days to mark dirty after `day` was recomputed: `later_in_month` (the worker's stored
/// days after `day` in its month, when its fingerprint changed; empty otherwise), then `next`
/// (the worker's next stored day, when its carry changed) unless already listed; less the
/// days of `round` after `day`, which this round recomputes anyway.
pub fn cascade(
    day: NaiveDate,
    later_in_month: &[NaiveDate],
    next: Option<NaiveDate>,
    round: &[DirtyDay],
) -> Vec<NaiveDate> {
    let mut marks: Vec<NaiveDate> = later_in_month.to_vec();
    if let Some(next) = next {
        if !marks.contains(&next) {
            marks.push(next);
        }
    }
    marks.retain(|m| !round.iter().any(|x| x.day == *m && x.day > day));
    marks
}

impl Assessor {
    /// Recomputes one worker's dirty days of a round in day order (see the module
    /// documentation): each day from its window with the carry and fingerprints of the earlier
    /// days, its summary put or dropped at the day's generation, the cascade marked. Each
    /// stored summary the days depend on is decoded once per call (a month of dirty days
    /// costs a month of decodes, not its square).
    ///
    /// # Errors
    /// On a store failure; the days before it are done, the rest stay dirty.
    pub fn recompute_worker(&self, store: &dyn Store, work: &WorkerDays) -> Result<(), StoreError> {
        self.recompute_worker_observed(store, work, &mut |_, _| {})
    }

    /// [`Assessor::recompute_worker`], telling `observe` when each day's computation begins
    /// (`true`: before its pings are read) and ends (`false`: after its summary is put or
    /// dropped); the service's test hook logs these to show that no two replicas compute one
    /// worker-day at once.
    ///
    /// # Errors
    /// As [`Assessor::recompute_worker`].
    pub fn recompute_worker_observed(
        &self,
        store: &dyn Store,
        work: &WorkerDays,
        observe: &mut dyn FnMut(NaiveDate, bool),
    ) -> Result<(), StoreError> {
        let worker = work.worker.as_str();
        let days = work.days.as_slice();
        let id = WorkerId::new(worker);
        let gap_ms = (self.track.max_gap_s * 1000.0) as UnixMs;
        // A summary that no longer decodes hands on nothing.
        let decode = |row: &SummaryRow| -> Links {
            self.decode(&row.data)
                .map(|r| Links::of(&r.day))
                .unwrap_or_default()
        };
        let mut links: BTreeMap<NaiveDate, Links> = BTreeMap::new();
        let mut months_loaded: Vec<Month> = Vec::new();
        let mut run = RunPings::default();
        for (i, d) in days.iter().enumerate() {
            let month = Month::of(d.day);
            let first = month.first_day();
            if !months_loaded.contains(&month) {
                months_loaded.push(month);
                for row in store.worker_summaries(worker, first..d.day)? {
                    links.entry(row.day).or_insert_with(|| decode(&row));
                }
            }
            let carry = match store.summary_before(worker, d.day)? {
                Some(row) => match links.get(&row.day) {
                    Some(l) => l.carry,
                    None => decode(&row).carry,
                },
                None => None,
            };
            let earlier: Vec<Fingerprint> = links
                .range(first..d.day)
                .filter_map(|(_, l)| l.fingerprint.clone())
                .collect();
            observe(d.day, true);
            let (pings, open_end) = run.day(store, worker, days, i, self.tz, gap_ms, |p| {
                day_window(p, d.day, self.tz, &self.track)
            })?;
            let old = store.summary(worker, d.day)?;
            let Some(summary) = self.summarize_day(&id, &pings, d.day, carry, &earlier, open_end)
            else {
                // No ping left that day (none is ever deleted today, but a day can be empty).
                store.drop_summary(worker, d.day, d.generation)?;
                observe(d.day, false);
                continue;
            };
            let row = SummaryRow {
                worker: worker.to_string(),
                day: d.day,
                data: self.encode(&summary.day),
                window: summary.window,
            };
            let new = Links::of(&summary.day);
            let old = old
                .as_ref()
                .and_then(|o| self.decode(&o.data).ok())
                .map(|o| Links::of(&o.day));
            let changed = Changed::between(old.as_ref(), &new);
            store.put_summary(&row, d.generation)?;
            observe(d.day, false);
            links.insert(d.day, new);
            let later_in_month = if changed.fingerprint {
                store.days_after(worker, d.day, month.last_day())?
            } else {
                Vec::new()
            };
            let next = if changed.carry {
                let horizon = d.day + chrono::Days::new(NEXT_DAY_HORIZON_DAYS);
                store.days_after(worker, d.day, horizon)?.first().copied()
            } else {
                None
            };
            let marks: Vec<(String, NaiveDate)> = cascade(d.day, &later_in_month, next, days)
                .into_iter()
                .map(|day| (worker.to_string(), day))
                .collect();
            store.mark_dirty(&marks)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- vehicles

/// The first bytes of a stored vehicle-day (a summary row of a vehicle's id), then the
/// format ([`VehicleDay::FORMAT`], u32 little-endian), then the postcard of the day: a
/// worker-day summary never starts so (it is the assessor's encoding), so every reader of
/// summaries tells the two apart without the fleet.
pub const VEHICLE_DAY_MAGIC: &[u8; 4] = b"GBVD";

/// Whether a stored summary is a vehicle-day.
pub fn is_vehicle_day(data: &[u8]) -> bool {
    data.starts_with(VEHICLE_DAY_MAGIC)
}

/// The stored form of a vehicle-day.
pub fn encode_vehicle_day(day: &VehicleDay) -> Vec<u8> {
    let mut out = VEHICLE_DAY_MAGIC.to_vec();
    out.extend(VehicleDay::FORMAT.to_le_bytes());
    // A plain struct of numbers, strings and vectors: postcard cannot fail on it.
    out.extend(postcard::to_allocvec(day).unwrap_or_default());
    out
}

/// A stored vehicle-day; `None` when it is not one, or of another format (it is then
/// recomputed like a stale worker-day).
pub fn decode_vehicle_day(data: &[u8]) -> Option<VehicleDay> {
    let rest = data.strip_prefix(VEHICLE_DAY_MAGIC.as_slice())?;
    let (format, body) = rest.split_first_chunk::<4>()?;
    (u32::from_le_bytes(*format) == VehicleDay::FORMAT)
        .then(|| postcard::from_bytes(body).ok())
        .flatten()
}

/// Recomputes one vehicle's dirty days: each from the pings of its
/// [`crate::route::fix_window`] (from an hour before the local day to an hour after the next:
/// a night window ends the next morning) through [`crate::route::vehicle_days`], put as a
/// summary whose window is that range, so a ping arriving anywhere in it marks the day dirty
/// again (a
/// day without a ping and without a scheduled route is dropped). The route figures depend on
/// nothing stored before the day, so there is no cascade.
///
/// # Errors
/// On a store failure.
#[allow(clippy::too_many_arguments)]
pub fn recompute_vehicle(
    store: &dyn Store,
    fleet: &Fleet,
    registry: &Registry,
    vehicle: &Vehicle,
    work: &WorkerDays,
    tz: chrono_tz::Tz,
    params: &RouteParams,
) -> Result<(), StoreError> {
    for d in &work.days {
        let range = crate::route::fix_window(d.day, tz);
        let pings = store.pings(&work.worker, range.clone())?;
        let fixes: Vec<VehicleFix> = pings.iter().map(VehicleFix::of_ping).collect();
        let day =
            crate::route::vehicle_days(fleet, registry, vehicle, &fixes, &[d.day], tz, params)
                .pop();
        match day {
            Some(day) if !(fixes.is_empty() && day.routes.is_empty()) => {
                let row = SummaryRow {
                    worker: work.worker.clone(),
                    day: d.day,
                    data: encode_vehicle_day(&day),
                    window: (range.start, Some(range.end)),
                };
                store.put_summary(&row, d.generation)?;
            }
            _ => store.drop_summary(&work.worker, d.day, d.generation)?,
        }
    }
    Ok(())
}

/// A worker's dirty days within this many days of the first of a run are read in one go.
const RUN_DAYS: u64 = 16;

/// The pings of a run of one worker's dirty days, read once for all of them: from
/// [`FIRST_MARGIN_MS`] (or four `gap_ms`) before the run's first day to as much after its
/// last (the first dirty day and those up to [`RUN_DAYS`] later). A day's window is taken
/// from them when it lies inside (it then is the window [`load_window`] finds, and the pings
/// run to the worker's newest exactly when they do there); a day whose window reaches an end
/// of the read with more pings beyond is read on its own by [`load_window`].
#[derive(Default)]
struct RunPings {
    /// The instants read, `[start, end)`.
    range: Range<UnixMs>,
    pings: Vec<Ping>,
    /// The worker has pings before `range.start`.
    before: bool,
    /// The worker has pings at or after `range.end`.
    after: bool,
}

impl RunPings {
    /// The pings holding the window of `days[i]` and whether they run to the worker's newest
    /// ping (as [`load_window`]); `window` finds the day's window in pings sorted by time.
    #[allow(clippy::too_many_arguments)]
    fn day(
        &mut self,
        store: &dyn Store,
        worker: &str,
        days: &[DirtyDay],
        i: usize,
        tz: chrono_tz::Tz,
        gap_ms: UnixMs,
        window: impl Fn(&[Ping]) -> Option<Range<usize>>,
    ) -> Result<(std::borrow::Cow<'_, [Ping]>, bool), StoreError> {
        let day = days[i].day;
        let margin = FIRST_MARGIN_MS.max(4 * gap_ms);
        let bounds = day_bounds(day, tz);
        let inside = |r: &Range<UnixMs>| {
            r.start <= bounds.start.saturating_sub(margin)
                && bounds.end.saturating_add(margin) <= r.end
        };
        if !inside(&self.range) {
            let horizon = day + chrono::Days::new(RUN_DAYS);
            let last = days[i..]
                .iter()
                .take_while(|d| d.day <= horizon)
                .last()
                .map_or(day, |d| d.day);
            let start = bounds.start.saturating_sub(margin);
            let end = day_bounds(last, tz).end.saturating_add(margin);
            self.pings = store.patrol_pings(worker, start..end)?;
            self.before = store.neighbours(worker, start)?.0.is_some();
            self.after = store.neighbours(worker, end)?.1.is_some();
            self.range = start..end;
        }
        let short = window(&self.pings)
            .is_some_and(|w| reaches_past(&w, self.pings.len(), self.before, self.after));
        if short {
            let (pings, open_end) = load_window(store, worker, day, tz, gap_ms, window)?;
            return Ok((std::borrow::Cow::Owned(pings), open_end));
        }
        Ok((std::borrow::Cow::Borrowed(&self.pings), !self.after))
    }
}

/// Whether a window `w` found in `len` pings read touches an end of them with more of the
/// worker's pings beyond it (`before`, `after`): then it may be cut short.
fn reaches_past(w: &Range<usize>, len: usize, before: bool, after: bool) -> bool {
    (w.start == 0 && before) || (w.end == len && after)
}

/// Reads the pings around `day` until its window (as `window` finds it in them) lies inside
/// what was read: from a margin of [`FIRST_MARGIN_MS`] (or four `gap_ms`) around the day,
/// doubled while the window touches an end with more of the worker's pings beyond it.
/// Returns the pings and whether they run to the worker's newest ping.
///
/// # Errors
/// On a store failure.
pub fn load_window(
    store: &dyn Store,
    worker: &str,
    day: NaiveDate,
    tz: chrono_tz::Tz,
    gap_ms: UnixMs,
    window: impl Fn(&[Ping]) -> Option<Range<usize>>,
) -> Result<(Vec<Ping>, bool), StoreError> {
    let bounds = day_bounds(day, tz);
    let mut margin: UnixMs = FIRST_MARGIN_MS.max(4 * gap_ms);
    loop {
        let range = bounds.start.saturating_sub(margin)..bounds.end.saturating_add(margin);
        let pings = store.patrol_pings(worker, range.clone())?;
        let (before, _) = store.neighbours(worker, range.start)?;
        let (_, after) = store.neighbours(worker, range.end)?;
        let open_end = after.is_none();
        let Some(w) = window(&pings) else {
            return Ok((pings, open_end));
        };
        if !reaches_past(&w, pings.len(), before.is_some(), after.is_some())
            || margin > MAX_MARGIN_MS
        {
            return Ok((pings, open_end));
        }
        margin *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
    }

    fn dirty(worker: &str, d: u32) -> DirtyDay {
        DirtyDay {
            worker: worker.to_string(),
            day: date(d),
            generation: 1,
            since: 0,
        }
    }

    fn carry(ts: UnixMs) -> Option<Carry> {
        Some(Carry {
            ts,
            lon: 112.98,
            lat: 28.2,
        })
    }

    #[test]
    fn due_days_are_grouped_per_worker_in_id_and_day_order() {
        let due = vec![
            dirty("w2", 3),
            dirty("w1", 5),
            dirty("w2", 1),
            dirty("w1", 2),
        ];
        let round = group_by_worker(due);
        let got: Vec<(&str, Vec<NaiveDate>)> = round
            .iter()
            .map(|w| (w.worker.as_str(), w.days.iter().map(|d| d.day).collect()))
            .collect();
        assert_eq!(
            got,
            [
                ("w1", vec![date(2), date(5)]),
                ("w2", vec![date(1), date(3)])
            ]
        );
        assert!(group_by_worker(Vec::new()).is_empty());
    }

    #[test]
    fn a_missing_or_undecodable_summary_changed_everything() {
        let new = Links {
            carry: carry(1000),
            fingerprint: None,
        };
        let both = Changed {
            carry: true,
            fingerprint: true,
        };
        assert_eq!(Changed::between(None, &new), both);
        // Even a new day with nothing to hand on.
        assert_eq!(Changed::between(None, &Links::default()), both);
    }

    #[test]
    fn only_the_links_that_differ_changed() {
        let old = Links {
            carry: carry(1000),
            fingerprint: None,
        };
        assert_eq!(
            Changed::between(Some(&old), &old.clone()),
            Changed {
                carry: false,
                fingerprint: false
            }
        );
        let moved = Links {
            carry: carry(2000),
            fingerprint: None,
        };
        assert_eq!(
            Changed::between(Some(&old), &moved),
            Changed {
                carry: true,
                fingerprint: false
            }
        );
        // A day that lost its carry (no accepted fix left) changed it too.
        assert_eq!(
            Changed::between(Some(&old), &Links::default()),
            Changed {
                carry: true,
                fingerprint: false
            }
        );
    }

    #[test]
    fn the_cascade_marks_later_days_and_the_next_once() {
        // Fingerprint changed on the 10th: the 12th and 20th of the month; carry changed: the
        // next stored day, the 12th, already listed.
        assert_eq!(
            cascade(date(10), &[date(12), date(20)], Some(date(12)), &[]),
            [date(12), date(20)]
        );
        // Only the carry changed: the next stored day alone (here in the next month).
        let next_month = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        assert_eq!(cascade(date(31), &[], Some(next_month), &[]), [next_month]);
        // Nothing changed: nothing marked.
        assert_eq!(cascade(date(10), &[], None, &[]), Vec::<NaiveDate>::new());
    }

    #[test]
    fn the_cascade_leaves_out_days_this_round_reaches_later() {
        // The round holds the 5th, 10th and 20th: the 20th comes after the 10th and will be
        // recomputed with the new links, so only the 12th is marked.
        let round = [dirty("w", 5), dirty("w", 10), dirty("w", 20)];
        assert_eq!(
            cascade(date(10), &[date(12), date(20)], Some(date(12)), &round),
            [date(12)]
        );
        // Recomputing the 20th itself, last of the round: its later days are all marked.
        assert_eq!(
            cascade(date(20), &[date(25), date(30)], Some(date(25)), &round),
            [date(25), date(30)]
        );
    }

    /// The planner over a real store: a day, its window, its summary and the cascade.
    mod over_a_store {
        use super::*;
        use crate::assess::Params;
        use crate::config::Config;
        use crate::store::{NewPing, Source, SqliteStore};
        use crate::track::CleanMode;

        fn assessor() -> Assessor {
            Assessor::without_registry(Params::new(Config::default(), CleanMode::Full))
        }

        /// Local midnight of October `d`, 2026 in the assessor's zone (Asia/Shanghai).
        fn midnight(a: &Assessor, d: u32) -> UnixMs {
            day_bounds(date(d), a.tz).start
        }

        /// Stores a walk of `w` eastwards at about 1 m/s: a fix a minute for `minutes`,
        /// from `start`.
        fn walk(store: &SqliteStore, a: &Assessor, start: UnixMs, minutes: i64) {
            let batch = (0..minutes)
                .map(|i| {
                    let ts = start + i * 60_000;
                    let mut p = Ping::new(WorkerId::new("w"), ts, 112.98 + i as f64 * 6e-4, 28.2);
                    p.received = Some(ts);
                    let day = chrono::DateTime::from_timestamp_millis(ts)
                        .unwrap()
                        .with_timezone(&a.tz)
                        .date_naive();
                    NewPing {
                        ping: p,
                        day,
                        source: Source::Import,
                        device: None,
                    }
                })
                .collect();
            let margin = (a.track.max_gap_s * 1000.0) as i64;
            store.insert_pings(batch, margin).unwrap();
        }

        /// Runs one round of every dirty day; returns the days it took.
        fn round(store: &SqliteStore, a: &Assessor) -> Vec<NaiveDate> {
            let round = due_round(store, UnixMs::MAX, UnixMs::MAX).unwrap();
            for work in &round {
                a.recompute_worker(store, work).unwrap();
            }
            round
                .iter()
                .flat_map(|w| w.days.iter().map(|d| d.day))
                .collect()
        }

        #[test]
        fn a_changed_carry_and_fingerprint_mark_the_next_day_once() {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(dir.path()).unwrap();
            let a = assessor();
            let hour = 3_600_000;
            walk(&store, &a, midnight(&a, 5) + 8 * hour, 30);
            walk(&store, &a, midnight(&a, 7) + 8 * hour, 30);
            // Both days in one round; the 7th had no summary when the 5th was put, and once
            // it has one the round is over: nothing is left dirty.
            assert_eq!(round(&store, &a), [date(5), date(7)]);
            assert!(store.summary("w", date(5)).unwrap().is_some());
            assert!(store.summary("w", date(7)).unwrap().is_some());
            assert_eq!(round(&store, &a), Vec::<NaiveDate>::new());
            // A late walk on the 5th marks the 5th alone (the 7th's window is two days off);
            // recomputed, the 5th ends at another fix and samples more minutes, so the 7th
            // (its next day and the month's later day) is marked, once.
            walk(&store, &a, midnight(&a, 5) + 9 * hour, 10);
            assert_eq!(round(&store, &a), [date(5)]);
            let fifth = a.decode(&store.summary("w", date(5)).unwrap().unwrap().data);
            let carry = fifth.unwrap().day.carry.unwrap();
            assert_eq!(carry.ts, midnight(&a, 5) + 9 * hour + 9 * 60_000);
            assert_eq!(round(&store, &a), [date(7)]);
            assert_eq!(round(&store, &a), Vec::<NaiveDate>::new());
        }

        #[test]
        fn an_unchanged_day_marks_nothing_and_an_empty_day_is_dropped() {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(dir.path()).unwrap();
            let a = assessor();
            walk(&store, &a, midnight(&a, 5) + 8 * 3_600_000, 30);
            walk(&store, &a, midnight(&a, 7) + 8 * 3_600_000, 30);
            assert_eq!(round(&store, &a), [date(5), date(7)]);
            // The 5th again, with the same pings: the same carry and fingerprint, so the 7th
            // stays clean.
            let fifth = store.summary("w", date(5)).unwrap().unwrap();
            store.mark_dirty(&[("w".into(), date(5))]).unwrap();
            assert_eq!(round(&store, &a), [date(5)]);
            assert_eq!(
                store.summary("w", date(5)).unwrap().unwrap().data,
                fifth.data
            );
            assert_eq!(round(&store, &a), Vec::<NaiveDate>::new());
            // The 6th has no ping: recomputed, it has no summary and is no longer dirty.
            store.mark_dirty(&[("w".into(), date(6))]).unwrap();
            assert_eq!(round(&store, &a), [date(6)]);
            assert!(store.summary("w", date(6)).unwrap().is_none());
            assert_eq!(round(&store, &a), Vec::<NaiveDate>::new());
        }
    }
}
