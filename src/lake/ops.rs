//! What the lake commands do: files into the lake (`lake add`), one partition summarised
//! (`summarize`), and a month's worker-days gathered for a report (`report --lake`), each
//! partition recomputed when its parameters or registry differ from the run's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::parts::{self, DayRow, LakePing};
use super::{Lake, LakeError};
use crate::assess::{Assessor, Params, WorkerDay};
use crate::model::{Crs, Month, Period};

/// The registry files a lake keeps in `LAKE/registry/`, in load order.
pub const REGISTRY_FILES: [&str; 4] = [
    "grids.geojson",
    "workers.csv",
    "checkpoints.geojson",
    "devices.csv",
];

/// The digest of the parameters a worker-day depends on: every parameter but the score's
/// (weights, targets and penalties are applied to worker-days, so a re-run with other weights
/// reuses every stored worker-day).
pub fn params_digest(params: &Params) -> String {
    let mut v = params.to_json();
    if let Some(o) = v.as_object_mut() {
        o.remove("score");
    }
    crate::assess::digest_hex(v.to_string().as_bytes())
}

/// The digest of the lake's registry files (their bytes, in [`REGISTRY_FILES`] order).
///
/// # Errors
/// When a file exists but cannot be read.
pub fn registry_digest(lake: &Lake) -> Result<String, LakeError> {
    let mut h = Sha256::new();
    for name in REGISTRY_FILES {
        let path = lake.dir.join("registry").join(name);
        h.update(name.as_bytes());
        match std::fs::read(&path) {
            Ok(bytes) => {
                h.update([1]);
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(&bytes);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => h.update([0]),
            Err(e) => return Err(super::io(&path, e)),
        }
    }
    Ok(crate::assess::digest_hex(&h.finalize()))
}

/// What `lake add` did.
#[derive(Clone, Debug, Default)]
pub struct Added {
    /// Rows read from the files.
    pub rows: usize,
    /// Of them, rows already in the lake with every value the same (left out).
    pub repeats: usize,
    /// Partitions written, as (month, bucket).
    pub partitions: Vec<(Month, u32)>,
    /// The rows that could not be read.
    pub errors: Vec<crate::ingest::RecordError>,
}

/// Reads ping files and adds their rows to the lake: each touched (month, bucket) partition is
/// read, merged with the new rows (rows identical to one already there are left out; a row
/// with the same worker and timestamp but other values is kept, as the engine counts it),
/// sorted by worker and timestamp, and written whole.
///
/// # Errors
/// When a file cannot be read or a partition cannot be written.
pub fn add(lake: &Lake, paths: &[PathBuf], crs: Crs) -> Result<Added, LakeError> {
    let tz: chrono_tz::Tz = lake.meta.timezone.parse().unwrap_or(chrono_tz::UTC);
    let read = |paths: &[PathBuf]| {
        crate::ingest::read_table(
            paths,
            &crate::ingest::ReadOptions {
                crs,
                range: None,
                worker: None,
            },
        )
        .map_err(|e| LakeError::BadPart {
            path: paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            reason: e.to_string(),
        })
    };
    let table = read(paths)?;
    let mut added = Added {
        errors: table.errors.clone(),
        ..Added::default()
    };
    let mut groups: BTreeMap<(Month, u32), Vec<LakePing>> = BTreeMap::new();
    for w in 0..table.workers.len() {
        let bucket = lake.bucket(table.workers[w].as_str());
        for p in table.pings(w) {
            added.rows += 1;
            let Some(day) = chrono::DateTime::from_timestamp_millis(p.ts)
                .map(|t| t.with_timezone(&tz).date_naive())
            else {
                continue;
            };
            groups
                .entry((Month::of(day), bucket))
                .or_default()
                .push(LakePing {
                    ping: p,
                    source: None,
                    device: None,
                });
        }
    }
    for ((month, bucket), new) in groups {
        let existing = lake.parts("pings", month, bucket)?;
        let mut rows: Vec<LakePing> = Vec::new();
        if !existing.is_empty() {
            let old = read(&existing)?;
            for w in 0..old.workers.len() {
                rows.extend(old.pings(w).into_iter().map(|p| LakePing {
                    ping: p,
                    source: None,
                    device: None,
                }));
            }
        }
        let before = rows.len() + new.len();
        rows.extend(new);
        // Stable: for one key, what was there first stays first.
        rows.sort_by(|a, b| {
            (a.ping.worker.as_str(), a.ping.ts).cmp(&(b.ping.worker.as_str(), b.ping.ts))
        });
        rows.dedup_by(|b, a| a == b);
        added.repeats += before - rows.len();
        let bytes = parts::pings_part(&rows)?;
        super::replace_partition(&lake.partition("pings", month, bucket), &bytes)?;
        added.partitions.push((month, bucket));
    }
    Ok(added)
}

/// The month before.
fn prev(m: Month) -> Month {
    Month::of(m.first_day() - chrono::Days::new(1))
}

/// What [`summarize_partition`] did.
#[derive(Clone, Debug, Default)]
pub struct Summarized {
    /// Worker-days written.
    pub days: usize,
    /// Pings read (the partition and its context).
    pub pings: usize,
    /// Whether an adjacent month's partition was missing (the days next to it were computed
    /// without context).
    pub missing_context: Vec<Month>,
}

/// Summarises one (month, bucket): its pings and one local day of context from the adjacent
/// months' same bucket, every worker-day of the month written as its worker_days partition
/// (whole), with the digests of `params` and of the lake's registry.
///
/// # Errors
/// When a part cannot be read or the partition cannot be written.
pub fn summarize_partition(
    lake: &Lake,
    assessor: &Assessor,
    month: Month,
    bucket: u32,
) -> Result<Summarized, LakeError> {
    let mut paths = lake.parts("pings", month, bucket)?;
    let mut out = Summarized::default();
    for m in [prev(month), month.next()] {
        let p = lake.parts("pings", m, bucket)?;
        if p.is_empty() && !lake.months("pings")?.contains(&m) {
            out.missing_context.push(m);
        }
        paths.extend(p);
    }
    let rows = if paths.is_empty() {
        Vec::new()
    } else {
        let s = crate::batch::summarize_files(
            assessor,
            &paths,
            Crs::Wgs84,
            None,
            Some(Period::months(month, month)),
        )
        .map_err(|e| LakeError::BadPart {
            path: lake.partition("pings", month, bucket).display().to_string(),
            reason: e.to_string(),
        })?;
        out.pings = s.pings;
        day_rows(lake, assessor, &s.days)?
    };
    out.days = rows.len();
    let bytes = parts::worker_days_part(&rows)?;
    super::replace_partition(&lake.partition("worker_days", month, bucket), &bytes)?;
    Ok(out)
}

/// The worker_days rows of summarised days.
pub(crate) fn day_rows(
    lake: &Lake,
    assessor: &Assessor,
    days: &[WorkerDay],
) -> Result<Vec<DayRow>, LakeError> {
    let params = params_digest(&assessor.params);
    let registry = registry_digest(lake)?;
    let engine = crate::assess::ENGINE_VERSION.to_string();
    let mut rows: Vec<DayRow> = days
        .iter()
        .map(|d| DayRow {
            worker: d.worker.as_str().to_string(),
            day: d.day,
            pings: d.pings as i32,
            accepted: d.accepted as i32,
            patrol_s: d.patrol_s,
            length_m: d.length_m,
            in_assigned_s: d.in_assigned_s,
            out_of_grid_s: d.out_of_grid_s,
            anomalies: d.anomalies.len() as i32,
            summary: assessor.encode(d),
            engine: engine.clone(),
            params_digest: params.clone(),
            registry_digest: registry.clone(),
        })
        .collect();
    rows.sort_by(|a, b| (&a.worker, a.day).cmp(&(&b.worker, b.day)));
    Ok(rows)
}

/// The month's days that are summarised without their neighbour's context (DESIGN.md §6: one
/// local day of context from the adjacent months): its first day when the lake holds no pings
/// of the month before, its last day when it holds none of the month after. A month the lake
/// holds in some bucket is context for every bucket (a bucket without pings there had none).
///
/// # Errors
/// When the lake's pings directory cannot be listed.
pub fn days_without_context(
    lake: &Lake,
    month: Month,
) -> Result<Vec<chrono::NaiveDate>, LakeError> {
    let held = lake.months("pings")?;
    let mut days = Vec::new();
    if !held.contains(&prev(month)) {
        days.push(month.first_day());
    }
    if !held.contains(&month.next()) {
        days.push(month.next().first_day() - chrono::Days::new(1));
    }
    Ok(days)
}

/// A month's worker-days from the lake's worker_days, as a report assembles them: each
/// bucket's partition is read; one that is missing, or was computed by another engine, other
/// parameters or another registry, is summarised again first (`log` is told which and why).
///
/// # Errors
/// When a part cannot be read or decoded, or a partition cannot be written.
pub fn month_days(
    lake: &Lake,
    assessor: &Assessor,
    month: Month,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<WorkerDay>, LakeError> {
    let params = params_digest(&assessor.params);
    let registry = registry_digest(lake)?;
    let engine = crate::assess::ENGINE_VERSION.to_string();
    let mut days = Vec::new();
    for bucket in 0..lake.meta.buckets {
        let mut rows = read_partition(lake, month, bucket)?;
        let why = match &rows {
            None => Some("no worker_days yet".to_string()),
            Some(r) => r.iter().find_map(|row| {
                if row.engine != engine {
                    Some(format!("engine {} (now {engine})", row.engine))
                } else if row.params_digest != params {
                    Some("other cleaning parameters".into())
                } else if row.registry_digest != registry {
                    Some("another registry".into())
                } else {
                    None
                }
            }),
        };
        if let Some(why) = why {
            let has_pings = !lake.parts("pings", month, bucket)?.is_empty();
            if has_pings || rows.is_some() {
                log(&format!(
                    "month={month}/bucket={bucket:03}: {why}: summarised again"
                ));
                summarize_partition(lake, assessor, month, bucket)?;
                rows = read_partition(lake, month, bucket)?;
            }
        }
        for row in rows.unwrap_or_default() {
            let restored = assessor
                .decode(&row.summary)
                .map_err(|e| LakeError::BadPart {
                    path: lake
                        .partition("worker_days", month, bucket)
                        .display()
                        .to_string(),
                    reason: format!("worker {} day {}: {e}", row.worker, row.day),
                })?;
            days.push(restored.day);
        }
    }
    days.sort_by(|a, b| (a.worker.as_str(), a.day).cmp(&(b.worker.as_str(), b.day)));
    Ok(days)
}

/// The rows of a worker_days partition, `None` when it does not exist.
fn read_partition(
    lake: &Lake,
    month: Month,
    bucket: u32,
) -> Result<Option<Vec<DayRow>>, LakeError> {
    let files = lake.parts("worker_days", month, bucket)?;
    if files.is_empty() {
        return Ok(None);
    }
    let mut rows = Vec::new();
    for f in files {
        rows.extend(parts::read_worker_days(&f)?);
    }
    Ok(Some(rows))
}

/// Copies registry files into `LAKE/registry/` (each written whole).
///
/// # Errors
/// When a file cannot be read or written.
pub fn put_registry(lake: &Lake, files: &[(&str, &Path)]) -> Result<(), LakeError> {
    let dir = lake.dir.join("registry");
    std::fs::create_dir_all(&dir).map_err(|e| super::io(&dir, e))?;
    for (name, path) in files {
        let bytes = std::fs::read(path).map_err(|e| super::io(path, e))?;
        super::write_whole(&dir.join(name), &bytes)?;
    }
    Ok(())
}

/// What [`export`] did.
#[cfg(feature = "service")]
#[derive(Clone, Debug, Default)]
pub struct Exported {
    /// Stored pings of the month written.
    pub pings: usize,
    /// Logged conflicts of the month written (as rows after the ping of their key, as the
    /// engine counts them).
    pub conflicts: usize,
    /// Partitions written.
    pub partitions: usize,
}

/// Writes a month of a service's store into the lake: its registry files into
/// `LAKE/registry/`, and every stored ping and logged conflict with a timestamp in the local
/// month (with receipt times, sources and devices) into the month's partitions, each bucket's
/// written whole (an earlier export of the month is replaced). The other months' partitions
/// are left as they are: export them too for context across the month's first and last night.
///
/// # Errors
/// When the store cannot be read or the lake cannot be written.
#[cfg(feature = "service")]
pub fn export(
    lake: &Lake,
    store: &dyn crate::store::Store,
    month: Month,
) -> Result<Exported, LakeError> {
    use crate::store::{Key, Part, RegistryFile};
    let err = |e: crate::store::StoreError| LakeError::Io {
        path: "the store".into(),
        reason: e.to_string(),
    };
    let tz: chrono_tz::Tz = lake.meta.timezone.parse().unwrap_or(chrono_tz::UTC);
    let dir = lake.dir.join("registry");
    std::fs::create_dir_all(&dir).map_err(|e| super::io(&dir, e))?;
    for (file, name) in RegistryFile::ALL.iter().zip(REGISTRY_FILES) {
        if let Some(text) = store.registry_file(*file).map_err(err)? {
            super::write_whole(&dir.join(name), text.as_bytes())?;
        }
    }
    let range = Period::months(month, month).instants(tz);
    let mut out = Exported::default();
    let mut groups: BTreeMap<u32, Vec<LakePing>> = BTreeMap::new();
    for part in [Part::Pings, Part::Duplicates] {
        let mut after = Key::start();
        loop {
            let chunk = store.copy_out(part, &after, 50_000).map_err(err)?;
            let Some(last) = chunk.last.clone() else {
                break;
            };
            for (p, conflict) in chunk.pings {
                if !range.contains(&p.ping.ts) || (part == Part::Duplicates && !conflict) {
                    continue;
                }
                if part == Part::Pings {
                    out.pings += 1;
                } else {
                    out.conflicts += 1;
                }
                groups
                    .entry(lake.bucket(p.ping.worker.as_str()))
                    .or_default()
                    .push(LakePing {
                        ping: p.ping,
                        source: Some(p.source.as_str().to_string()),
                        device: p.device,
                    });
            }
            after = last;
        }
    }
    for bucket in 0..lake.meta.buckets {
        let mut rows = groups.remove(&bucket).unwrap_or_default();
        // Stable: a key's stored ping first, its conflicts after it in logged order.
        rows.sort_by(|a, b| {
            (a.ping.worker.as_str(), a.ping.ts).cmp(&(b.ping.worker.as_str(), b.ping.ts))
        });
        let path = lake.partition("pings", month, bucket);
        if rows.is_empty() && !path.exists() {
            continue;
        }
        super::replace_partition(&path, &parts::pings_part(&rows)?)?;
        out.partitions += 1;
    }
    Ok(out)
}
