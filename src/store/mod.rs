//! Persistence behind one trait: every accepted ping (with its receipt time and source), the
//! registry files, the stored worker-day summaries and the queue of dirty worker-days.
//!
//! The service's handlers and its background recompute see only [`Store`]; the embedded
//! default is [`sqlite::SqliteStore`] (one file in the data directory, WAL, group commit). The
//! trait is synchronous and object-safe (`Arc<dyn Store>`): async handlers call it on the
//! blocking pool. A PostgreSQL store (several stateless replicas on one database) implements
//! the same trait with the `postgres` client: the keys, the "insert or count a duplicate" rule
//! and the dirty-queue generations below are all expressible as ordinary SQL there.
//!
//! **What a store guarantees**
//! - [`Store::insert_pings`] returns only after the batch is durable (committed); a ping is
//!   keyed by (worker, timestamp), so a resent ping is stored once. A ping whose key is already
//!   stored is a *repeat* when every stored value (position, accuracy, speed, bearing,
//!   altitude, battery, mock flag, check-in; compared as stored) equals the stored ping's or a
//!   logged conflict's: it changes nothing, is not logged and marks no day (DESIGN.md §4.2
//!   step 1). Otherwise it is a *conflict*: recorded in the duplicates log, so the summaries
//!   count it as received and dropped exactly as the batch door counts such a row.
//! - In the same transaction, the worker-days the batch may change are marked dirty: the day
//!   of each ping, and every stored worker-day whose window ([`SummaryRow::window`]) reaches
//!   the ping (a night shift's earlier day, a relocation look-ahead).
//! - A dirty mark carries a generation; [`Store::put_summary`] clears the mark only if no
//!   newer ping re-marked the day meanwhile, so no ping is ever left out of a summary.
//! - The summaries version ([`Store::summaries_version`]), the number the report and layer
//!   caches are keyed by, is a counter in the database, not in the process: replicas on one
//!   database see each other's writes.
//! - Day ranges are half-open [`Range`]s (`start <= day < end`), as are instant ranges.
//!
//! The integration test module `tests/it/store_contract.rs` checks these guarantees and each
//! method's documented behaviour over `&dyn Store`; the SQLite store runs it, and a second
//! store runs the same functions on its own fresh databases.

pub mod copy;
pub mod pg;
pub mod sqlite;

use std::ops::Range;

use chrono::NaiveDate;

/// The latest position of a worker, as [`Store::positions`] answers it (always with `received`).
pub use crate::model::Position;
use crate::model::{Ping, UnixMs};
/// The registry files and what replacing one makes stale, as the registry decides them.
pub use crate::registry::{Affected, RegistryFile};

pub use copy::{Chunk, Key, Part, StoredPing};
pub use pg::PgStore;
pub use sqlite::{OpenOptions, SqliteStore};

/// Where a ping came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// `POST /api/v1/pings` (JSON or NDJSON).
    Json,
    /// The OsmAnd protocol (Traccar Client).
    Osmand,
    /// OwnTracks HTTP mode.
    Owntracks,
    /// `gridbeat import` (CSV, Parquet, GPX).
    Import,
    /// A JT/T 808 vehicle terminal (`--jt808-listen`).
    Jt808,
}

impl Source {
    /// The name stored and shown in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Json => "json",
            Source::Osmand => "osmand",
            Source::Owntracks => "owntracks",
            Source::Import => "import",
            Source::Jt808 => "jt808",
        }
    }

    /// The source of a stored name.
    pub fn parse(name: &str) -> Option<Source> {
        Some(match name {
            "json" => Source::Json,
            "osmand" => Source::Osmand,
            "owntracks" => Source::Owntracks,
            "import" => Source::Import,
            "jt808" => Source::Jt808,
            _ => return None,
        })
    }
}

/// A validated ping on its way into the store.
#[derive(Clone, Debug)]
pub struct NewPing {
    /// The ping (its `received` is the receipt time).
    pub ping: Ping,
    /// The local day of its timestamp (the worker-day it marks dirty).
    pub day: NaiveDate,
    /// Where it came from.
    pub source: Source,
    /// The device that sent it (OsmAnd id, OwnTracks user/device), when not the worker itself.
    pub device: Option<String>,
}

/// What became of one ping of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insert {
    /// Stored.
    Accepted,
    /// Identical to a ping already received (same worker, ts and stored values): changes
    /// nothing (DESIGN.md §4.2 step 1).
    Repeat,
    /// The same (worker, ts) was already stored with other values (the first is kept; this
    /// one is logged, counted as received and dropped).
    Conflict,
}

/// A stored worker-day summary and the window of pings it was computed from.
#[derive(Clone, Debug)]
pub struct SummaryRow {
    /// The worker.
    pub worker: String,
    /// The local day.
    pub day: NaiveDate,
    /// [`crate::assess::Assessor::encode`]d summary.
    pub data: Vec<u8>,
    /// The instants of the first and last ping of the window; the end is `None` while the
    /// window is open (it ran to the worker's newest ping, so a later ping may extend it).
    pub window: (UnixMs, Option<UnixMs>),
}

/// A worker-day waiting to be recomputed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirtyDay {
    /// The worker.
    pub worker: String,
    /// The local day.
    pub day: NaiveDate,
    /// The generation of the mark: [`Store::put_summary`] clears the mark only at this
    /// generation.
    pub generation: i64,
    /// When the day was first marked (UTC ms).
    pub since: UnixMs,
}

/// Counts for `/metrics` and the report's metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreStats {
    /// Stored pings.
    pub pings: u64,
    /// Pings in the duplicates log: conflicts (stores written before repeats were told
    /// apart also hold repeats there, which the engine leaves out).
    pub duplicates: u64,
    /// Stored summaries.
    pub summaries: u64,
    /// Dirty worker-days.
    pub pending: u64,
    /// When the oldest dirty mark was set (UTC ms).
    pub oldest_pending: Option<UnixMs>,
    /// The newest ping timestamp stored.
    pub newest_ping: Option<UnixMs>,
    /// Bytes on disk.
    pub bytes: u64,
    /// Bytes the store holds in the process's memory (page caches, statements): bounded by
    /// its caches' sizes, whatever the size of the data.
    pub memory: u64,
}

/// Why the store failed. The message is for the log; clients see a 507/503 for the disk and
/// file conditions ([`StoreError::is_condition`]) and "internal error" for the rest.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed. The backend's own error is kept as text, so the trait names no
    /// backend type and every store (SQLite, PostgreSQL) reports its failures the same way;
    /// each store converts its client's error into this (`From<rusqlite::Error>` is in
    /// [`sqlite`]).
    #[error("database: {reason}")]
    Database {
        /// What the database reported.
        reason: String,
    },
    /// The data directory cannot be used.
    #[error("data directory {path}: {reason}")]
    DataDir {
        /// The directory.
        path: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The data directory was written by a newer gridbeat.
    #[error("data directory {path} has schema version {found}; this gridbeat knows up to {known}: upgrade gridbeat, or point --data at another directory")]
    TooNew {
        /// The directory.
        path: String,
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// The writer thread is gone (the store is shutting down).
    #[error("the store is shutting down")]
    Closed,
    /// The disk holding the database is full (SQLITE_FULL): nothing of the write was
    /// committed; it succeeds again once space is freed.
    #[error(
        "the disk holding {path} is full: free space there (nothing of this write was stored)"
    )]
    Full {
        /// The database file.
        path: String,
    },
    /// The database cannot be written: a read-only file system or directory, or an I/O error.
    #[error("{path} cannot be written: {reason}")]
    Unwritable {
        /// The database file.
        path: String,
        /// What SQLite reported.
        reason: String,
    },
    /// The database file is damaged or is not a gridbeat database.
    #[error("{path} is damaged or not a gridbeat database: {reason}; restore a backup (`gridbeat backup`) into a new data directory")]
    Corrupt {
        /// The database file.
        path: String,
        /// What SQLite reported.
        reason: String,
    },
    /// The database server cannot be reached, refused the login or lost the connection
    /// (PostgreSQL): nothing of the write was committed; it succeeds again once the server is
    /// back (the HTTP door answers 503 `store_unavailable` with `Retry-After`).
    #[error("the database at {target} is unavailable: {reason}")]
    Unavailable {
        /// `host:port/database` (never the password).
        target: String,
        /// What the client or server reported.
        reason: String,
    },
    /// Another process holds the data directory.
    #[error("data directory {path} is in use by another gridbeat ({holder}): stop it first, or point --data at another directory")]
    Locked {
        /// The data directory.
        path: String,
        /// Who holds it, as its lock file says (pid, command, listen address).
        holder: String,
    },
}

impl StoreError {
    /// Whether this is a condition of the disk, file or database server (full, read-only,
    /// I/O, damaged, unreachable) that lasts until it is fixed or comes back; the store logs it once when it starts and once when it
    /// clears, so callers need not log it again.
    pub fn is_condition(&self) -> bool {
        matches!(
            self,
            StoreError::Full { .. }
                | StoreError::Unwritable { .. }
                | StoreError::Corrupt { .. }
                | StoreError::Unavailable { .. }
        )
    }
}

/// What a readiness probe found (`/readyz`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// The store was read and a tiny write transaction committed.
    Ready,
    /// It cannot serve: a short reason code (`disk_full`, `read_only`, `corrupt`,
    /// `unavailable`) and the message.
    NotReady(&'static str, String),
}

/// Everything the service persists. See the module documentation for the guarantees.
pub trait Store: Send + Sync {
    /// Stores a batch durably and marks the worker-days it changes dirty; one outcome per
    /// ping, in order. `margin_ms` widens the window test (the longest gap that does not split
    /// a segment): a ping within that of a stored window also dirties it.
    ///
    /// # Errors
    /// When nothing could be committed; then no ping of the batch is stored.
    fn insert_pings(&self, pings: Vec<NewPing>, margin_ms: i64) -> Result<Vec<Insert>, StoreError>;

    /// [`Store::insert_pings`] for a large batch from files (`gridbeat import`): the same
    /// outcomes and marks, by the store's bulk path where it has one (PostgreSQL: binary COPY
    /// into a staging table).
    ///
    /// # Errors
    /// As [`Store::insert_pings`].
    fn import_pings(&self, pings: Vec<NewPing>, margin_ms: i64) -> Result<Vec<Insert>, StoreError> {
        self.insert_pings(pings, margin_ms)
    }

    /// One worker's pings with a timestamp in `range` (half-open: `start <= ts < end`), sorted
    /// by timestamp; each logged duplicate comes right after the stored ping of its key, the
    /// duplicates in the order they were logged (so cleaning keeps the first and counts the
    /// others).
    ///
    /// # Errors
    /// On a database failure.
    fn pings(&self, worker: &str, range: Range<UnixMs>) -> Result<Vec<Ping>, StoreError>;

    /// [`Store::pings`] as a worker-day reads them: the same pings in the same order, except
    /// that the fields no worker-day figure reads (bearing, altitude, battery, and a
    /// vehicle's work state, pressure and ignition) may come back `None` on a ping that no
    /// other ping of the answer shares a timestamp with. Those fields only tell a repeat from
    /// a conflict among pings of one timestamp (DESIGN.md §4.2 step 1), and such pings keep
    /// them. A store may so leave six of fifteen columns of nearly every row unread; by
    /// default it answers [`Store::pings`].
    ///
    /// # Errors
    /// On a database failure.
    fn patrol_pings(&self, worker: &str, range: Range<UnixMs>) -> Result<Vec<Ping>, StoreError> {
        self.pings(worker, range)
    }

    /// The timestamps of a worker's newest stored ping before `ts` (`< ts`) and of its oldest
    /// at or after `ts` (`>= ts`): where the worker's stream continues beyond a loaded range.
    ///
    /// # Errors
    /// On a database failure.
    fn neighbours(
        &self,
        worker: &str,
        ts: UnixMs,
    ) -> Result<(Option<UnixMs>, Option<UnixMs>), StoreError>;

    /// The content of a registry file, if one was stored.
    ///
    /// # Errors
    /// On a database failure.
    fn registry_file(&self, file: RegistryFile) -> Result<Option<String>, StoreError>;

    /// Replaces a registry file and, in the same transaction, marks what it affects dirty:
    /// the days with a stored summary of the named workers ([`Affected::Workers`]) or of
    /// every worker ([`Affected::Everything`]); days without a summary are not marked.
    ///
    /// # Errors
    /// On a database failure; then nothing changed.
    fn put_registry_file(
        &self,
        file: RegistryFile,
        content: &str,
        affected: &Affected,
    ) -> Result<(), StoreError>;

    /// Marks worker-days dirty (e.g. the next day after a summary's carry changed), whether or
    /// not they have a stored summary. A day already dirty gets a new generation and keeps
    /// its first-marked and last-marked instants.
    ///
    /// # Errors
    /// On a database failure.
    fn mark_dirty(&self, days: &[(String, NaiveDate)]) -> Result<(), StoreError>;

    /// Marks every day with a stored summary dirty (new parameters or engine version).
    ///
    /// # Errors
    /// On a database failure.
    fn mark_all_dirty(&self) -> Result<(), StoreError>;

    /// Up to `limit` dirty worker-days that are due: last marked at or before `quiet_before`
    /// (debounce), or first marked at or before `due_before` (a day that keeps getting pings
    /// is still recomputed regularly). Ordered by worker, then day. "Last marked" is the
    /// latest ping that marked the day (a ping's own day or a window it reaches), or the
    /// first mark when no ping has marked it since.
    ///
    /// # Errors
    /// On a database failure.
    fn due(
        &self,
        quiet_before: UnixMs,
        due_before: UnixMs,
        limit: usize,
    ) -> Result<Vec<DirtyDay>, StoreError>;

    /// Claims up to `limit` due dirty days (as [`Store::due`] selects them) for this process to
    /// recompute: a store that several processes share (PostgreSQL replicas) leases them to
    /// the caller, so no other process gets them until [`Store::put_summary`] or
    /// [`Store::drop_summary`] ends the claim or the lease lapses (a process that died). It may
    /// return fewer than `limit`. A store only one process opens (SQLite) just answers
    /// [`Store::due`].
    ///
    /// # Errors
    /// On a database failure.
    fn claim(
        &self,
        quiet_before: UnixMs,
        due_before: UnixMs,
        limit: usize,
    ) -> Result<Vec<DirtyDay>, StoreError> {
        self.due(quiet_before, due_before, limit)
    }

    /// Stores (or replaces) a summary and clears its dirty mark if it is still at
    /// `generation`; a mark at another generation (a newer ping) stays.
    ///
    /// # Errors
    /// On a database failure.
    fn put_summary(&self, row: &SummaryRow, generation: i64) -> Result<(), StoreError>;

    /// Removes a worker-day's summary (its pings are gone) and clears its mark if it is still
    /// at `generation`.
    ///
    /// # Errors
    /// On a database failure.
    fn drop_summary(&self, worker: &str, day: NaiveDate, generation: i64)
        -> Result<(), StoreError>;

    /// One stored summary, if there is one.
    ///
    /// # Errors
    /// On a database failure.
    fn summary(&self, worker: &str, day: NaiveDate) -> Result<Option<SummaryRow>, StoreError>;

    /// The stored summaries of one worker of days in `days` (half-open: `start <= day <
    /// end`, so a month is `first..first_of_next`), by day.
    ///
    /// # Errors
    /// On a database failure.
    fn worker_summaries(
        &self,
        worker: &str,
        days: Range<NaiveDate>,
    ) -> Result<Vec<SummaryRow>, StoreError>;

    /// The stored summary of a worker's latest day before `day` (`< day`), if any.
    ///
    /// # Errors
    /// On a database failure.
    fn summary_before(
        &self,
        worker: &str,
        day: NaiveDate,
    ) -> Result<Option<SummaryRow>, StoreError>;

    /// Every stored summary of days in `days` (half-open: `start <= day < end`), by worker,
    /// then day.
    ///
    /// # Errors
    /// On a database failure.
    fn summaries(&self, days: Range<NaiveDate>) -> Result<Vec<SummaryRow>, StoreError>;

    /// The workers with at least one stored summary of a day in `days` (half-open: `start <=
    /// day < end`), each once, in ascending order: a month's reports and layers read their
    /// summaries one worker at a time
    /// ([`Store::worker_summaries`]), so a city's month is never in memory at once.
    ///
    /// # Errors
    /// On a database failure.
    fn summary_workers(&self, days: Range<NaiveDate>) -> Result<Vec<String>, StoreError>;

    /// The months that have at least one stored summary, oldest first (the map page's
    /// month picker).
    ///
    /// # Errors
    /// On a database failure.
    fn summary_months(&self) -> Result<Vec<crate::model::Month>, StoreError>;

    /// The days of a worker with a stored summary after `day` up to and including `until`
    /// (`day < d <= until`), in order (for the fingerprint and carry cascades).
    ///
    /// # Errors
    /// On a database failure.
    fn days_after(
        &self,
        worker: &str,
        day: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError>;

    /// The latest position of every worker, by worker: the accepted ping with the newest
    /// timestamp (a late older ping, a repeat or a conflict does not move it).
    ///
    /// # Errors
    /// On a database failure.
    fn positions(&self) -> Result<Vec<Position>, StoreError>;

    /// The worker-days waiting to be recomputed: (worker, first marked, UTC ms), one per
    /// dirty day, in no particular order.
    ///
    /// # Errors
    /// On a database failure.
    fn pending(&self) -> Result<Vec<(String, UnixMs)>, StoreError>;

    /// The version of the stored summaries: the cache key of reports and layers, read on
    /// every such request. It only grows (a cache keeps the newest version's values).
    ///
    /// It is kept in the database, not in the process: one indexed read, bumped in the same
    /// transaction as every [`Store::put_summary`] and every [`Store::drop_summary`] that
    /// removed a summary, so every process on one database (PostgreSQL replicas) sees the
    /// others' writes, and a restart continues from the stored number. Reads never change
    /// it. A real version is at least 1; a store that cannot read it logs why and returns 0,
    /// which matches no cached value made at a real version (the request's own reads then
    /// report the failure).
    fn summaries_version(&self) -> u64;

    /// The version of the registry files: it grows with every [`Store::put_registry_file`],
    /// so a process sharing the database with others (PostgreSQL replicas) sees that another
    /// changed the registry and reloads its engine. A store only one process opens may
    /// answer 0 always; so may one that cannot read it (it logs why).
    fn registry_version(&self) -> u64 {
        0
    }

    /// Rows in key order after `after`, at most `limit` (`gridbeat store copy` and its
    /// digest): pings by (worker, ts), logged duplicates in the order they were logged,
    /// summaries and dirty days by (worker, day), positions by worker. [`Chunk::last`] is
    /// `None` when nothing is left.
    ///
    /// # Errors
    /// On a database failure.
    fn copy_out(&self, part: Part, after: &Key, limit: usize) -> Result<Chunk, StoreError>;

    /// Writes rows copied from another store as they were (receipt times, sources, devices,
    /// windows), each key once (a key already there is left as it is), adjusting the counts,
    /// and in the same transaction records `progress` as a meta string (so an interrupted copy
    /// resumes where its last committed chunk ended). Dirty days get this store's own
    /// generations. Returns how many rows were written.
    ///
    /// # Errors
    /// On a database failure; then nothing of the chunk was written.
    fn copy_in(&self, chunk: &Chunk, progress: (&str, &str)) -> Result<u64, StoreError>;

    /// Counts for metrics and reports: stored pings and logged conflicts (repeats are in
    /// neither), summaries, dirty days and the oldest mark, the newest accepted ping.
    ///
    /// # Errors
    /// On a database failure.
    fn stats(&self) -> Result<StoreStats, StoreError>;

    /// A string the store keeps for the service (e.g. the basis summaries were computed on).
    ///
    /// # Errors
    /// On a database failure.
    fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Sets a meta string.
    ///
    /// # Errors
    /// On a database failure.
    fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;

    /// Whether the store can be read and written now: reads, then commits a tiny write.
    fn readiness(&self) -> Readiness {
        match self.meta("basis") {
            Ok(_) => Readiness::Ready,
            Err(e) => Readiness::NotReady("unavailable", e.to_string()),
        }
    }

    /// How many recompute threads per core keep this store busy (`recompute_threads = 0`):
    /// 1 for an embedded store, whose calls use the CPU; more for a networked one, whose calls
    /// mostly wait on round trips to its server.
    fn concurrency(&self) -> usize {
        1
    }

    /// Figures of the store's own for `/metrics`, as (gauge name, value): the PostgreSQL
    /// store's connection pool (open, idle, most; its call latency is the histogram
    /// `gridbeat_store_query_seconds`). None by default.
    fn gauges(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }

    /// How many stored summaries failed their checksum since the start (each was withheld
    /// and its worker-day queued for recomputation).
    fn checksum_failures(&self) -> u64 {
        0
    }

    /// Makes the main database file hold everything committed (a WAL checkpoint), for a
    /// clean stop: after it the file alone is a complete copy. Reads still work after it; a
    /// store may refuse further ping batches ([`StoreError::Closed`]).
    ///
    /// # Errors
    /// On a database failure.
    fn checkpoint(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Where a deployment keeps its data: a data directory (SQLite) or a PostgreSQL database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The embedded store in this data directory.
    Dir(std::path::PathBuf),
    /// A PostgreSQL database (`postgres://…`).
    Url(String),
}

impl Location {
    /// The location a command's flags and config name: `--store URL`, else `[store] url`,
    /// else the data directory (`--data`, else `[server] data`).
    pub fn of(
        store_flag: Option<&str>,
        data_flag: Option<&std::path::Path>,
        config: &crate::config::Config,
    ) -> Location {
        match store_flag.filter(|u| !u.is_empty()) {
            Some(url) => Location::Url(url.to_string()),
            None if !config.store.url.is_empty() => Location::Url(config.store.url.clone()),
            None => Location::Dir(data_flag.map_or_else(
                || std::path::PathBuf::from(&config.server.data),
                std::path::Path::to_path_buf,
            )),
        }
    }

    /// A text naming it in messages and in a copy's progress: the directory, or the URL
    /// without its password.
    pub fn name(&self) -> String {
        match self {
            Location::Dir(d) => d.display().to_string(),
            Location::Url(u) => redact_url(u),
        }
    }

    /// Opens the store. A PostgreSQL database that cannot be reached is tried again with
    /// backoff (0.5 s doubling to 10 s) until `wait` has passed (`serve --wait-for-store`);
    /// with no wait the first failure is returned.
    ///
    /// # Errors
    /// As [`SqliteStore::open_with`] and [`PgStore::open`].
    pub fn open(
        &self,
        config: &crate::config::StoreConfig,
        opts: &OpenOptions,
        wait: std::time::Duration,
    ) -> Result<std::sync::Arc<dyn Store>, StoreError> {
        match self {
            Location::Dir(dir) => Ok(std::sync::Arc::new(SqliteStore::open_with(dir, opts)?)),
            Location::Url(url) => {
                let started = std::time::Instant::now();
                let mut pause = std::time::Duration::from_millis(500);
                loop {
                    match PgStore::open(url, config) {
                        Ok(s) => return Ok(std::sync::Arc::new(s)),
                        Err(e @ StoreError::Unavailable { .. }) if started.elapsed() < wait => {
                            tracing::warn!(error = %e, retry_in_s = pause.as_secs_f64(), "waiting for the database");
                            std::thread::sleep(pause);
                            pause = (pause * 2).min(std::time::Duration::from_secs(10));
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
}

/// A connection URL without its password (`postgres://user:***@host/db`).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    match auth {
        Some(a) => {
            let user = a.split_once(':').map_or(a, |(u, _)| u);
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_string(),
    }
}
