//! The batch door's input, summarised: ping files read and every worker's days summarised
//! with the engine, as `report`, `tracks`, `coverage`, `visits` and `layers` all get them.
//!
//! What a worker-day is computed from is decided here, once: each worker's pings are cleaned
//! as one stream; with a period, from the pings of the period and one day of context on
//! either side (a night shift across the period's first midnight is cleaned and measured as
//! the service does). The doors only expand globs, call, and format.

use std::path::PathBuf;

use crate::assess::{Assessor, WorkerDay};
use crate::ingest::IngestError;

/// Worker-day summaries of ping files, as every subcommand gets them.
pub struct Summaries {
    /// The summaries of the wanted days, by worker then day.
    pub days: Vec<WorkerDay>,
    /// Each worker's latest readable ping (of the period and its context), in worker order.
    pub latest: Vec<crate::model::Ping>,
    /// Every worker the input names (also those named only by bad rows), in order.
    pub workers: Vec<crate::model::WorkerId>,
    /// The rows that could not be read.
    pub errors: Vec<crate::ingest::RecordError>,
    /// Pings read (inside the period and its context).
    pub pings: usize,
    /// Of them, repeats: rows identical to an earlier row of the same worker and timestamp
    /// (DESIGN.md §4.2 step 1), left out of every figure; an operational number.
    pub repeats: usize,
}

/// Reads ping files and summarises every worker's days with the engine: each worker's pings
/// are cleaned as one stream; with a period, its days are summarised from the pings of the
/// period and one day of context on either side (so that a night shift across the period's
/// first midnight is cleaned and measured as the service does).
///
/// # Errors
/// When a file cannot be read; bad rows are in [`Summaries::errors`].
pub fn summarize_files(
    assessor: &Assessor,
    paths: &[PathBuf],
    crs: crate::model::Crs,
    worker: Option<&str>,
    period: Option<crate::model::Period>,
) -> Result<Summaries, IngestError> {
    use rayon::prelude::*;
    let range = period.map(|p| {
        let r = p.instants(assessor.tz);
        r.start.saturating_sub(86_400_000)..r.end.saturating_add(86_400_000)
    });
    let opts = crate::ingest::ReadOptions {
        crs,
        range,
        worker: worker.map(String::from),
    };
    let table = crate::ingest::read_table(paths, &opts)?;
    let wanted = |d: chrono::NaiveDate| period.is_none_or(|p| p.contains(d));
    // One worker's pings at a time, materialised and dropped inside the parallel loop, so a
    // month never exists as one `Ping` per row.
    type PerWorker = (Vec<WorkerDay>, Option<crate::model::Ping>, usize);
    // The workers with the most rows first: a long worker taken last would leave the other
    // threads idle at the end. The results are put back in the table's order.
    let mut order: Vec<usize> = (0..table.workers.len()).collect();
    order.sort_by_key(|&w| std::cmp::Reverse(table.rows[w].len()));
    let mut done: Vec<(usize, PerWorker)> = order
        .into_par_iter()
        .with_max_len(1)
        .map(|w| {
            // In time order and without repeats from the table's own columns, so no ping is
            // sorted or copied. The engine leaves repeats out itself; they are counted here for
            // the summary line.
            let (pings, repeats) = table.distinct_pings(w);
            // In time order: the latest is the last (of equal timestamps, the last received,
            // as `max_by_key` would pick).
            let latest = pings.last().cloned();
            let days = assessor.summarize_stream(&table.workers[w], &pings, None, &wanted, &[]);
            (w, (days, latest, repeats))
        })
        .collect();
    done.sort_unstable_by_key(|&(w, _)| w);
    let mut days = Vec::new();
    let mut latest = Vec::new();
    let mut repeats = 0;
    for (_, (d, l, r)) in done {
        days.extend(d);
        latest.extend(l);
        repeats += r;
    }
    // Workers named only by bad rows are listed too, so they are reported with zeros.
    let mut workers: Vec<crate::model::WorkerId> = table.workers.clone();
    for e in &table.errors {
        if let Some(w) = e
            .worker
            .as_deref()
            .filter(|w| worker.is_none_or(|only| only == *w))
        {
            if !workers.iter().any(|x| x.as_str() == w) {
                workers.push(crate::model::WorkerId::new(w));
            }
        }
    }
    workers.sort();
    Ok(Summaries {
        days,
        latest,
        workers,
        pings: table.len(),
        repeats,
        errors: table.errors,
    })
}
