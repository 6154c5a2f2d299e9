//! The background recompute task: it runs the engine's incremental planner
//! ([`crate::incremental`]: which days, from which pings, with which carry and
//! fingerprints, what is put, dropped and cascaded) over the service's store, and schedules
//! it.
//!
//! - **Debounced**: a day is due once no ping has marked it for `recompute_quiet_ms`, or at the
//!   latest `recompute_max_delay_ms` after it was first marked.
//! - **Bounded**: one worker's days in day order on one thread; workers in parallel on
//!   `recompute_threads` threads.
//! - **Resumable**: the queue is in the store, so a restart picks up where it stopped.
//!
//! It keeps only the scheduling: the tokio loop (wake-ups, ticks, stop), the thread pool, the
//! queue and lag gauges, and the log.

use std::sync::Arc;

use rayon::prelude::*;

use super::AppState;
use crate::incremental;
use crate::model::UnixMs;
use crate::store::StoreError;

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
            // Another replica's registry change (PostgreSQL): rebuild before recomputing.
            if let Err(e) = s.refresh_engine() {
                tracing::warn!(error = %e, "the registry changed elsewhere but does not load here");
            }
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
    for (name, value) in state.store.gauges() {
        metrics::gauge!(name).set(value);
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
/// `due_before`), recomputed by the engine's planner ([`incremental`]), one worker at a time
/// on each of `recompute_threads` threads. Returns how many were.
///
/// # Errors
/// On a store failure.
pub fn run_once(
    state: &AppState,
    quiet_before: UnixMs,
    due_before: UnixMs,
) -> Result<usize, StoreError> {
    let store = state.store.as_ref();
    let round = incremental::due_round(store, quiet_before, due_before)?;
    if round.is_empty() {
        return Ok(0);
    }
    let threads = match state.config.server.recompute_threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()) * store.concurrency(),
        n => n,
    };
    let count = round.iter().map(|w| w.days.len()).sum();
    // Vehicles' days are route figures, not worker-days.
    let engine = state.engine();
    let (vehicles, round): (Vec<_>, Vec<_>) = round
        .into_iter()
        .partition(|w| engine.fleet.vehicle(&w.worker).is_some());
    let tz = engine.assessor.tz;
    for work in &vehicles {
        if let Some(v) = engine.fleet.vehicle(&work.worker) {
            incremental::recompute_vehicle(
                store,
                &engine.fleet,
                &engine.assessor.registry,
                v,
                work,
                tz,
                &state.config.route,
            )?;
        }
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
    // Each worker's days on the engine current when they start.
    let run = || -> Result<(), StoreError> {
        round.par_iter().try_for_each(|work| {
            state
                .engine()
                .assessor
                .recompute_worker_observed(store, work, &mut |day, begins| {
                    compute_log(if begins { "begin" } else { "end" }, &work.worker, day);
                })
        })
    };
    match pool {
        Ok(p) => p.install(run)?,
        Err(_) => run()?,
    }
    metrics::counter!("gridbeat_recomputed_total").increment(count as u64);
    Ok(count)
}

/// The test hook of the replica test: with `GRIDBEAT_TEST_COMPUTE_LOG=FILE` in the
/// environment, every worker-day's recomputation is logged as a `begin` line before its pings
/// are read and an `end` line after its summary is stored (`begin|end NANOS_SINCE_EPOCH PID
/// WORKER DAY`), appended to FILE with one write per line, so a test can show that no
/// worker-day was computed by two replicas at once. Without the variable it does nothing.
fn compute_log(what: &str, worker: &str, day: chrono::NaiveDate) {
    use std::io::Write;
    static FILE: std::sync::OnceLock<Option<std::sync::Mutex<std::fs::File>>> =
        std::sync::OnceLock::new();
    let file = FILE.get_or_init(|| {
        let path = std::env::var_os("GRIDBEAT_TEST_COMPUTE_LOG")?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(std::sync::Mutex::new)
    });
    let Some(file) = file else { return };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let line = format!("{what} {now} {} {worker} {day}\n", std::process::id());
    if let Ok(mut f) = file.lock() {
        let _ = f.write_all(line.as_bytes());
    }
}
