//! `gridbeat store copy`: moves a deployment between stores (SQLite ↔ PostgreSQL, either way)
//! through the [`Store`] trait only, so any two stores copy into each other.
//!
//! **What moves**: the registry files, every ping with its receipt time, source and device,
//! the duplicates log (conflicts, and the repeats old SQLite stores logged), the summaries
//! with their windows, the dirty queue, the latest positions, and the meta string `basis`
//! (so the destination does not recompute what is current).
//!
//! **Resumable**: each part goes in chunks in key order; each chunk is committed together
//! with its progress (`copy:<part>` in the destination's meta), so a copy that is interrupted
//! (killed, the database gone) and run again continues after its last committed chunk and
//! writes every row once. A destination that holds data and no progress of a copy from the
//! same source is refused.
//!
//! **Verified**: at the end both stores' counts (pings, duplicates, summaries, dirty days) and
//! a SHA-256 digest over every copied row in key order must agree, else the copy fails.

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::{DirtyDay, NewPing, Position, RegistryFile, Source, Store, StoreError, SummaryRow};
use crate::model::Ping;

/// The parts of a store, in the order they are copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Stored pings, by (worker, ts).
    Pings,
    /// The duplicates log, in logged order.
    Duplicates,
    /// Summaries, by (worker, day).
    Summaries,
    /// The dirty queue, by (worker, day).
    Dirty,
    /// Latest positions, by worker.
    Positions,
}

impl Part {
    /// Every part, in copy order.
    pub const ALL: [Part; 5] = [
        Part::Pings,
        Part::Duplicates,
        Part::Summaries,
        Part::Dirty,
        Part::Positions,
    ];

    /// The name in progress keys and messages.
    pub fn name(self) -> &'static str {
        match self {
            Part::Pings => "pings",
            Part::Duplicates => "duplicates",
            Part::Summaries => "summaries",
            Part::Dirty => "dirty",
            Part::Positions => "positions",
        }
    }
}

/// A position in a part's key order: (worker, n) where n is the ping's ts, the duplicate's
/// log sequence (worker empty), or the day's number ([`Key::day`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// The worker (empty for the duplicates log).
    pub worker: String,
    /// The ts, sequence or day number.
    pub n: i64,
}

impl Key {
    /// Before every row.
    pub fn start() -> Key {
        Key {
            worker: String::new(),
            n: i64::MIN,
        }
    }

    /// The key of a worker-day.
    pub fn of_day(worker: &str, day: NaiveDate) -> Key {
        Key {
            worker: worker.to_string(),
            n: i64::from(chrono::Datelike::num_days_from_ce(&day)),
        }
    }

    /// The day of a worker-day key.
    pub fn day(&self) -> NaiveDate {
        NaiveDate::from_num_days_from_ce_opt(self.n.clamp(1, 3_000_000) as i32)
            .unwrap_or(NaiveDate::MIN)
    }

    /// As stored in the progress meta string: `n` TAB `worker`.
    pub fn encode(&self) -> String {
        format!("{}\t{}", self.n, self.worker)
    }

    /// A key from its progress string.
    pub fn decode(text: &str) -> Option<Key> {
        let (n, worker) = text.split_once('\t')?;
        Some(Key {
            worker: worker.to_string(),
            n: n.parse().ok()?,
        })
    }
}

/// A ping as stored, with what only the store keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPing {
    /// The ping (with its receipt time).
    pub ping: Ping,
    /// Where it came from.
    pub source: Source,
    /// The device that sent it.
    pub device: Option<String>,
}

impl StoredPing {
    /// As a [`NewPing`] (its day is not used by a copy).
    pub fn as_new(&self) -> NewPing {
        NewPing {
            ping: self.ping.clone(),
            day: NaiveDate::MIN,
            source: self.source,
            device: self.device.clone(),
        }
    }
}

/// Rows of one part ([`Store::copy_out`], [`Store::copy_in`]).
#[derive(Clone, Debug)]
pub struct Chunk {
    /// The part.
    pub part: Part,
    /// Pings, or duplicates with whether each was logged as a conflict.
    pub pings: Vec<(StoredPing, bool)>,
    /// Summaries.
    pub summaries: Vec<SummaryRow>,
    /// Dirty days.
    pub dirty: Vec<DirtyDay>,
    /// Positions.
    pub positions: Vec<Position>,
    /// The key of the last row, `None` when the chunk is empty.
    pub last: Option<Key>,
}

impl Chunk {
    /// An empty chunk of a part.
    pub fn empty(part: Part) -> Chunk {
        Chunk {
            part,
            pings: Vec::new(),
            summaries: Vec::new(),
            dirty: Vec::new(),
            positions: Vec::new(),
            last: None,
        }
    }

    /// Rows in it.
    pub fn len(&self) -> usize {
        self.pings.len() + self.summaries.len() + self.dirty.len() + self.positions.len()
    }

    /// Whether it has no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Feeds every row into a digest (the values a copy must keep; not the dirty days'
    /// generations, which each store assigns itself).
    fn digest(&self, h: &mut Sha256) {
        let opt = |h: &mut Sha256, v: Option<f32>| match v {
            Some(x) => {
                h.update([1]);
                h.update(x.to_le_bytes());
            }
            None => h.update([0]),
        };
        let text = |h: &mut Sha256, v: Option<&str>| match v {
            Some(s) => {
                h.update([1]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
            None => h.update([0]),
        };
        for (p, conflict) in &self.pings {
            let q = &p.ping;
            text(h, Some(q.worker.as_str()));
            h.update(q.ts.to_le_bytes());
            h.update(q.lon.to_le_bytes());
            h.update(q.lat.to_le_bytes());
            for v in [q.acc_m, q.speed_mps, q.bearing_deg, q.alt_m, q.batt_pct] {
                opt(h, v);
            }
            h.update([u8::from(q.mock), u8::from(*conflict)]);
            text(h, q.checkin.as_deref());
            h.update(q.received.unwrap_or(0).to_le_bytes());
            text(h, Some(p.source.as_str()));
            text(h, p.device.as_deref());
            let tri = |b: Option<bool>| b.map_or(0u8, |b| 1 + u8::from(b));
            h.update([tri(q.work), tri(q.ignition)]);
            opt(h, q.pressure_mpa);
        }
        for s in &self.summaries {
            text(h, Some(&s.worker));
            h.update(Key::of_day("", s.day).n.to_le_bytes());
            h.update(s.window.0.to_le_bytes());
            h.update(s.window.1.unwrap_or(i64::MIN).to_le_bytes());
            h.update((s.data.len() as u64).to_le_bytes());
            h.update(&s.data);
        }
        for d in &self.dirty {
            text(h, Some(&d.worker));
            h.update(Key::of_day("", d.day).n.to_le_bytes());
            h.update(d.since.to_le_bytes());
        }
        for p in &self.positions {
            text(h, Some(&p.worker));
            h.update(p.ts.to_le_bytes());
            h.update(p.lon.to_le_bytes());
            h.update(p.lat.to_le_bytes());
            opt(h, p.acc_m);
        }
    }
}

/// What a copy did.
#[derive(Clone, Debug, Default)]
pub struct CopyReport {
    /// Rows written per part (this run; a resumed copy counts only what it wrote).
    pub written: Vec<(Part, u64)>,
    /// Rows in the destination per part at the end (equal to the source's).
    pub rows: Vec<(Part, u64)>,
    /// The digest both stores gave (hex).
    pub digest: String,
    /// Whether this run continued an interrupted copy.
    pub resumed: bool,
}

/// Why a copy failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The destination holds data that is not an interrupted copy of this source.
    #[error("the destination {to} already holds data ({what}) and no interrupted copy from {from}: copy into an empty database or data directory")]
    NotEmpty {
        /// The destination.
        to: String,
        /// The source.
        from: String,
        /// What it holds.
        what: String,
    },
    /// The stores differ after the copy.
    #[error("verification failed: {0}")]
    Mismatch(String),
}

/// How many rows a chunk holds unless told otherwise (`--chunk-rows`).
pub const CHUNK_ROWS: usize = 20_000;

/// The meta key of a part's progress.
fn progress_key(part: Part) -> String {
    format!("copy:{}", part.name())
}

/// Copies `from` into `to` (see the module documentation) in chunks of `chunk_rows` rows.
/// `from_name` identifies the source (a data directory or a URL without password) so that
/// only a copy of the same source is resumed; `log` is told each part's progress.
///
/// # Errors
/// A store failure (the copy can be run again to resume), a destination with other data, or
/// a verification that fails.
pub fn copy(
    from: &dyn Store,
    to: &dyn Store,
    from_name: &str,
    to_name: &str,
    chunk_rows: usize,
    log: &mut dyn FnMut(&str),
) -> Result<CopyReport, CopyError> {
    let mut report = CopyReport::default();
    let started = to.meta("copy:from")?;
    match started.as_deref() {
        Some(name) if name == from_name => report.resumed = true,
        Some(other) => {
            return Err(CopyError::NotEmpty {
                to: to_name.into(),
                from: from_name.into(),
                what: format!("an interrupted copy from {other}"),
            })
        }
        None => {
            let s = to.stats()?;
            let has_registry = RegistryFile::ALL
                .iter()
                .map(|f| to.registry_file(*f))
                .collect::<Result<Vec<_>, _>>()?
                .iter()
                .any(Option::is_some);
            if s.pings > 0 || s.duplicates > 0 || s.summaries > 0 || s.pending > 0 || has_registry {
                return Err(CopyError::NotEmpty {
                    to: to_name.into(),
                    from: from_name.into(),
                    what: format!(
                        "{} pings, {} summaries, {} dirty days{}",
                        s.pings,
                        s.summaries,
                        s.pending,
                        if has_registry { ", registry files" } else { "" }
                    ),
                });
            }
            to.set_meta("copy:from", from_name)?;
        }
    }
    // The registry first (its files are small; a rerun writes them again, affecting nothing).
    for file in RegistryFile::ALL {
        if let Some(content) = from.registry_file(file)? {
            if to.registry_file(file)?.as_deref() != Some(content.as_str()) {
                to.put_registry_file(file, &content, &super::Affected::Nothing)?;
            }
        }
    }
    for part in Part::ALL {
        let key = progress_key(part);
        let mut after = match to.meta(&key)? {
            Some(text) if text == "done" => continue,
            Some(text) => Key::decode(&text).unwrap_or_else(Key::start),
            None => Key::start(),
        };
        let mut written = 0u64;
        loop {
            let chunk = from.copy_out(part, &after, chunk_rows.max(1))?;
            let Some(last) = chunk.last.clone() else {
                break;
            };
            written += to.copy_in(&chunk, (&key, &last.encode()))?;
            after = last;
            log(&format!(
                "{}: {written} rows copied (up to {} {})",
                part.name(),
                after.worker,
                after.n
            ));
        }
        to.set_meta(&key, "done")?;
        report.written.push((part, written));
    }
    if let Some(basis) = from.meta("basis")? {
        to.set_meta("basis", &basis)?;
    }
    verify(from, to, &mut report, log)?;
    to.set_meta("copy:from", &format!("{from_name} (finished)"))?;
    Ok(report)
}

/// The rows of every part and a digest over all of them, read in key order.
///
/// # Errors
/// A store failure.
pub fn digest(store: &dyn Store) -> Result<(Vec<(Part, u64)>, String), StoreError> {
    let mut h = Sha256::new();
    let mut rows = Vec::new();
    for part in Part::ALL {
        h.update(part.name().as_bytes());
        let mut after = Key::start();
        let mut n = 0u64;
        loop {
            let chunk = store.copy_out(part, &after, CHUNK_ROWS * 5)?;
            let Some(last) = chunk.last.clone() else {
                break;
            };
            chunk.digest(&mut h);
            n += chunk.len() as u64;
            after = last;
        }
        rows.push((part, n));
    }
    for file in RegistryFile::ALL {
        h.update(file.as_str().as_bytes());
        match store.registry_file(file)? {
            Some(c) => {
                h.update([1]);
                h.update(c.as_bytes());
            }
            None => h.update([0]),
        }
    }
    Ok((rows, hex_of(&h.finalize())))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn verify(
    from: &dyn Store,
    to: &dyn Store,
    report: &mut CopyReport,
    log: &mut dyn FnMut(&str),
) -> Result<(), CopyError> {
    log("verifying: counts and a digest of both stores");
    let (a, b) = (from.stats()?, to.stats()?);
    for (what, x, y) in [
        ("pings", a.pings, b.pings),
        ("duplicates", a.duplicates, b.duplicates),
        ("summaries", a.summaries, b.summaries),
        ("dirty days", a.pending, b.pending),
    ] {
        if x != y {
            return Err(CopyError::Mismatch(format!(
                "{what}: {x} in the source, {y} in the destination"
            )));
        }
    }
    let (rows_a, digest_a) = digest(from)?;
    let (rows_b, digest_b) = digest(to)?;
    if rows_a != rows_b || digest_a != digest_b {
        return Err(CopyError::Mismatch(format!(
            "rows {rows_a:?} / {rows_b:?}, digest {digest_a} / {digest_b}"
        )));
    }
    report.rows = rows_b;
    report.digest = digest_b;
    Ok(())
}
