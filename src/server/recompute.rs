//! The background recompute: dirty worker-days are summarised again by the engine, each from
//! its own window of pings (see [`crate::assess::window`]), with the carry of the worker's
//! previous day and the fingerprints of the earlier days of its month.
//!
//! - **Debounced**: a day is due once no ping has marked it for `recompute_quiet_ms`, or at the
//!   latest `recompute_max_delay_ms` after it was first marked.
//! - **Bounded**: one worker's days in day order on one thread; workers in parallel on
//!   `recompute_threads` threads.
//! - **Cascading**: when a day's carry changes, the worker's next day is marked; when its
//!   fingerprint changes, every later day of the month (their replay check depends on it).
//! - **Resumable**: the queue is in the store, so a restart picks up where it stopped.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rayon::prelude::*;

use super::AppState;
use crate::anomaly::Fingerprint;
use crate::assess::window::day_bounds;
use crate::model::{Month, UnixMs, WorkerId};
use crate::store::{DirtyDay, Store, StoreError, SummaryRow};

/// How many dirty days one round takes.
const ROUND: usize = 4096;

/// Runs until `stop` turns true: waits for work (a wake-up or a short tick), recomputes what
/// is due, updates the lag metrics.
pub async fn run(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let quiet = state.config.server.recompute_quiet_ms as i64;
    let max_delay = state.config.server.recompute_max_delay_ms as i64;
    loop {
        if *stop.borrow() {
            return;
        }
        let s = Arc::clone(&state);
        let result = tokio::task::spawn_blocking(move || {
            let now = chrono::Utc::now().timestamp_millis();
            let n = run_once(&s, now - quiet, now - max_delay);
            publish_lag(&s);
            n
        })
        .await;
        let did = match result {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                // A full or read-only disk is logged once by the store while it lasts.
                if e.is_condition() {
                    tracing::debug!(error = %e, "recompute waits for the store");
                } else {
                    tracing::error!(error = %e, "recompute failed; retrying");
                }
                0
            }
            Err(e) => {
                tracing::error!(error = %e, "recompute task panicked; retrying");
                0
            }
        };
        if did > 0 {
            continue;
        }
        let tick = std::time::Duration::from_millis((quiet as u64 / 2).clamp(50, 1000));
        tokio::select! {
            _ = stop.changed() => {},
            () = state.wake.notified() => {
                // Let the debounce window of the pings that woke us pass.
                tokio::time::sleep(tick).await;
            },
            () = tokio::time::sleep(tick) => {},
        }
    }
}

/// Sets the queue and lag gauges.
pub fn publish_lag(state: &AppState) {
    if let Ok(stats) = state.store.stats() {
        let now = chrono::Utc::now().timestamp_millis();
        metrics::gauge!("gridbeat_recompute_pending").set(stats.pending as f64);
        metrics::gauge!("gridbeat_recompute_lag_seconds").set(
            stats
                .oldest_pending
                .map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0),
        );
        metrics::gauge!("gridbeat_store_bytes").set(stats.bytes as f64);
        metrics::gauge!("gridbeat_store_memory_bytes").set(stats.memory as f64);
        metrics::gauge!("gridbeat_store_pings").set(stats.pings as f64);
        metrics::gauge!("gridbeat_store_summaries").set(stats.summaries as f64);
    }
    let (entries, bytes) = state.cache_usage();
    metrics::gauge!("gridbeat_cache_entries").set(entries as f64);
    metrics::gauge!("gridbeat_cache_bytes").set(bytes as f64);
    publish_heap();
    // Request durations wait in the recorder until drained: without a scrape of /metrics
    // they would pile up for as long as the server runs.
    state.metrics.run_upkeep();
}

/// Sets the allocator's gauges (jemalloc's statistics, the whole process's heap with SQLite's
/// page caches): what is allocated, what of it is in resident pages, and what is kept mapped
/// for reuse. Where jemalloc is not linked (musl, other platforms) they stay unset.
fn publish_heap() {
    #[cfg(all(unix, not(target_env = "musl")))]
    {
        use tikv_jemalloc_ctl::{epoch, stats};
        if epoch::advance().is_err() {
            return;
        }
        let gauges = [
            ("gridbeat_heap_allocated_bytes", stats::allocated::read()),
            ("gridbeat_heap_active_bytes", stats::active::read()),
            ("gridbeat_heap_metadata_bytes", stats::metadata::read()),
            ("gridbeat_heap_resident_bytes", stats::resident::read()),
            ("gridbeat_heap_retained_bytes", stats::retained::read()),
        ];
        for (name, value) in gauges {
            if let Ok(v) = value {
                metrics::gauge!(name).set(v as f64);
            }
        }
    }
}

/// One round: the due days (marked before `quiet_before`, or first marked before
/// `due_before`), recomputed. Returns how many were.
///
/// # Errors
/// On a store failure.
pub fn run_once(
    state: &AppState,
    quiet_before: UnixMs,
    due_before: UnixMs,
) -> Result<usize, StoreError> {
    let due = state.store.due(quiet_before, due_before, ROUND)?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut by_worker: BTreeMap<String, Vec<DirtyDay>> = BTreeMap::new();
    for d in due {
        by_worker.entry(d.worker.clone()).or_default().push(d);
    }
    let threads = match state.config.server.recompute_threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let work: Vec<(String, Vec<DirtyDay>)> = by_worker.into_iter().collect();
    let count = work.iter().map(|(_, d)| d.len()).sum();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
    let run = || -> Result<(), StoreError> {
        work.par_iter()
            .try_for_each(|(worker, days)| recompute_worker(state, worker, days))
    };
    match pool {
        Ok(p) => p.install(run)?,
        Err(_) => run()?,
    }
    metrics::counter!("gridbeat_recomputed_total").increment(count as u64);
    Ok(count)
}

/// What a later day needs of an earlier one: its carry and its replay fingerprint.
struct Links {
    carry: Option<crate::track::Carry>,
    fingerprint: Option<Fingerprint>,
}

/// Recomputes one worker's dirty days, in day order. Each stored summary the days depend on
/// is decoded once per call (a month of dirty days costs a month of decodes, not its square).
fn recompute_worker(state: &AppState, worker: &str, days: &[DirtyDay]) -> Result<(), StoreError> {
    let engine = state.engine();
    let assessor = &engine.assessor;
    let store = state.store.as_ref();
    let id = WorkerId::new(worker);
    let gap_ms = (assessor.track.max_gap_s * 1000.0) as UnixMs;
    let decode = |row: &SummaryRow| -> Links {
        match assessor.decode(&row.data) {
            Ok(r) => Links {
                carry: r.day.carry,
                fingerprint: r.day.fingerprint,
            },
            Err(_) => Links {
                carry: None,
                fingerprint: None,
            },
        }
    };
    let mut links: BTreeMap<NaiveDate, Links> = BTreeMap::new();
    let mut months_loaded: Vec<Month> = Vec::new();
    for d in days {
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
        let (pings, open_end) = load_window(store, worker, d.day, assessor.tz, gap_ms, |p| {
            crate::assess::window::day_window(p, d.day, assessor.tz, &assessor.track)
        })?;
        let old = store.summary(worker, d.day)?;
        let Some(summary) = assessor.summarize_day(&id, &pings, d.day, carry, &earlier, open_end)
        else {
            // No ping left that day (none is ever deleted today, but a day can be empty).
            store.drop_summary(worker, d.day, d.generation)?;
            continue;
        };
        let data = assessor.encode(&summary.day);
        let row = SummaryRow {
            worker: worker.to_string(),
            day: d.day,
            data,
            window: summary.window,
        };
        // What later days depend on: the carry (the next day) and the fingerprint (the
        // month's later days).
        let (carry_changed, fp_changed) =
            match old.as_ref().and_then(|o| assessor.decode(&o.data).ok()) {
                Some(o) => (
                    o.day.carry != summary.day.carry,
                    o.day.fingerprint != summary.day.fingerprint,
                ),
                None => (true, true),
            };
        store.put_summary(&row, d.generation)?;
        links.insert(
            d.day,
            Links {
                carry: summary.day.carry,
                fingerprint: summary.day.fingerprint.clone(),
            },
        );
        let month_end = Month::of(d.day).last_day();
        let mut cascade: Vec<(String, NaiveDate)> = Vec::new();
        if fp_changed {
            for later in store.days_after(worker, d.day, month_end)? {
                cascade.push((worker.to_string(), later));
            }
        }
        if carry_changed {
            if let Some(next) = store
                .days_after(worker, d.day, d.day + chrono::Days::new(3660))?
                .first()
            {
                if !cascade.iter().any(|(_, x)| x == next) {
                    cascade.push((worker.to_string(), *next));
                }
            }
        }
        // Days this round will reach anyway need no new mark.
        cascade.retain(|(_, day)| !days.iter().any(|x| x.day == *day && x.day > d.day));
        store.mark_dirty(&cascade)?;
    }
    Ok(())
}

/// Loads the pings around `day` until its window (as `window` finds it) lies inside what was
/// loaded, growing the range while the window touches an end with more pings beyond it.
/// Returns the pings and whether they run to the worker's newest ping.
fn load_window(
    store: &dyn Store,
    worker: &str,
    day: NaiveDate,
    tz: chrono_tz::Tz,
    gap_ms: UnixMs,
    window: impl Fn(&[crate::model::Ping]) -> Option<std::ops::Range<usize>>,
) -> Result<(Vec<crate::model::Ping>, bool), StoreError> {
    let bounds = day_bounds(day, tz);
    let mut margin: UnixMs = (6 * 3_600_000).max(4 * gap_ms);
    loop {
        let range = bounds.start.saturating_sub(margin)..bounds.end.saturating_add(margin);
        let pings = store.pings(worker, range.clone())?;
        let (before, _) = store.neighbours(worker, range.start)?;
        let (_, after) = store.neighbours(worker, range.end)?;
        let open_end = after.is_none();
        let Some(w) = window(&pings) else {
            return Ok((pings, open_end));
        };
        let short_start = w.start == 0 && before.is_some();
        let short_end = w.end == pings.len() && after.is_some();
        if !(short_start || short_end) || margin > 400 * 86_400_000 {
            return Ok((pings, open_end));
        }
        margin *= 2;
    }
}
