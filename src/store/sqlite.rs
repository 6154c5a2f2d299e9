//! The embedded default store: one SQLite database (`gridbeat.db`) in the data directory.
//!
//! - **WAL, `synchronous = FULL`**: a commit is on disk before the answer; killing the
//!   process (or the machine) loses nothing acknowledged.
//! - **Group commit**: one writer thread owns the write connection. Ingest requests queue
//!   their batches; the writer takes every batch waiting, writes them in one transaction,
//!   commits once, and then answers each. Under load many requests share one fsync.
//! - **Readers** use a small pool of read-only connections; WAL lets them read while the
//!   writer writes.
//! - Pings are a `WITHOUT ROWID` table keyed by (worker, ts): a resent ping finds its key.
//! - **Migrations** are numbered (`PRAGMA user_version`); opening an older directory applies
//!   the missing ones in one transaction; a newer one is refused with what to do.
//! - **Summaries version**: a row of the `counters` table, bumped in the transaction of each
//!   summary write or removal and read by primary key ([`Store::summaries_version`]).
//! - **Errors**: SQLite's are turned into [`StoreError`] by `classify` (full, unwritable,
//!   damaged files named; the rest as [`StoreError::Database`] text, also what `?` gives).
//! - **One process per directory**: an OS advisory lock on [`LOCK_FILE`] (released when the
//!   process dies, `kill -9` included), which names the holder for the refusal.
//! - **Refusals at open**: an empty (0-byte) file unless `init`, an unreadable, damaged or
//!   truncated one, a directory that cannot be written; only a missing file is created.
//! - **Checksums**: each summary row carries the first 8 bytes of a SHA-256 over its key,
//!   window and bytes; a row that fails is logged once, withheld and its day marked dirty.
//! - **Conditions**: a full or unwritable disk is [`StoreError::Full`] /
//!   [`StoreError::Unwritable`], logged once when it starts and once when it clears.
//! - **Clean stop and backup**: [`Store::checkpoint`] empties the WAL into the main file;
//!   [`backup`] copies a live database with SQLite's online backup API.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::{
    Affected, DirtyDay, Insert, NewPing, Position, Readiness, RegistryFile, Store, StoreError,
    StoreStats, SummaryRow,
};
use crate::model::{Ping, UnixMs, WorkerId};

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "gridbeat.db";

/// The schema, one entry per version; entry `i` upgrades version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: pings, duplicates, registry, summaries, the dirty queue, latest positions, meta.
    "CREATE TABLE pings (
        worker TEXT NOT NULL, ts INTEGER NOT NULL,
        lon REAL NOT NULL, lat REAL NOT NULL,
        acc REAL, speed REAL, bearing REAL, alt REAL, batt REAL,
        mock INTEGER NOT NULL DEFAULT 0, checkin TEXT,
        received INTEGER NOT NULL, source TEXT NOT NULL, device TEXT,
        PRIMARY KEY (worker, ts)) WITHOUT ROWID;
     CREATE TABLE duplicates (
        seq INTEGER PRIMARY KEY, worker TEXT NOT NULL, ts INTEGER NOT NULL,
        lon REAL NOT NULL, lat REAL NOT NULL,
        acc REAL, speed REAL, bearing REAL, alt REAL, batt REAL,
        mock INTEGER NOT NULL DEFAULT 0, checkin TEXT,
        received INTEGER NOT NULL, source TEXT NOT NULL, device TEXT,
        conflict INTEGER NOT NULL);
     CREATE INDEX duplicates_by_key ON duplicates (worker, ts);
     CREATE TABLE registry (file TEXT PRIMARY KEY, content TEXT NOT NULL, updated INTEGER NOT NULL);
     CREATE TABLE summaries (
        worker TEXT NOT NULL, day TEXT NOT NULL, data BLOB NOT NULL,
        window_start INTEGER NOT NULL, window_end INTEGER, computed INTEGER NOT NULL,
        PRIMARY KEY (worker, day)) WITHOUT ROWID;
     CREATE INDEX summaries_by_day ON summaries (day);
     CREATE TABLE dirty (
        worker TEXT NOT NULL, day TEXT NOT NULL, generation INTEGER NOT NULL,
        since INTEGER NOT NULL, updated INTEGER NOT NULL,
        PRIMARY KEY (worker, day)) WITHOUT ROWID;
     CREATE TABLE latest (
        worker TEXT PRIMARY KEY, ts INTEGER NOT NULL, lon REAL NOT NULL, lat REAL NOT NULL,
        acc REAL, received INTEGER NOT NULL) WITHOUT ROWID;
     CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
    // 2: running counts, so metrics and reports need not walk millions of pings.
    "CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
     INSERT INTO counters (name, n) SELECT 'pings', COUNT(*) FROM pings;
     INSERT INTO counters (name, n) SELECT 'duplicates', COUNT(*) FROM duplicates;",
    // 3: the log looked up by every stored value, so telling a repeat from a conflict is one
    // index probe however many conflicts a key has (DESIGN.md §4.2 step 1).
    "CREATE INDEX duplicates_by_values ON duplicates
        (worker, ts, lon, lat, acc, speed, bearing, alt, batt, mock, checkin);
     DROP INDEX duplicates_by_key;",
    // 4: a checksum per stored summary (issue 15); the summaries stored before it have none
    // and are queued for recomputation.
    "ALTER TABLE summaries ADD COLUMN checksum BLOB;
     INSERT INTO dirty (worker, day, generation, since, updated)
        SELECT worker, day, 0, CAST(strftime('%s', 'now') AS INTEGER) * 1000,
               CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM summaries WHERE true
        ON CONFLICT (worker, day) DO NOTHING;",
    // 5: the summaries version (the cache key of reports and layers) kept in the database,
    // bumped in the transaction of every summary write or removal, so every process on the
    // database sees the others' writes (issue 16). Real versions start at 1.
    "INSERT INTO counters (name, n) VALUES ('summaries_version', 1)
        ON CONFLICT (name) DO NOTHING;",
    // 6: what vehicle terminals report besides the position (issue 20): work state, water
    // pressure, ignition; NULL for a phone's pings.
    "ALTER TABLE pings ADD COLUMN work INTEGER;
     ALTER TABLE pings ADD COLUMN pressure REAL;
     ALTER TABLE pings ADD COLUMN ignition INTEGER;
     ALTER TABLE duplicates ADD COLUMN work INTEGER;
     ALTER TABLE duplicates ADD COLUMN pressure REAL;
     ALTER TABLE duplicates ADD COLUMN ignition INTEGER;",
];

/// Reads the summaries version: one lookup of the counters table's primary key.
const READ_VERSION: &str = "SELECT n FROM counters WHERE name = 'summaries_version'";

/// Bumps the summaries version, inside the transaction that writes or removes a summary.
const BUMP_VERSION: &str = "UPDATE counters SET n = n + 1 WHERE name = 'summaries_version'";

/// The lock file in the data directory: held (OS advisory lock) while a process has the store
/// open; it names the holder (pid, command, listen address). The OS releases the lock when
/// the process ends, however it ends.
pub const LOCK_FILE: &str = "gridbeat.lock";

/// How a store is opened.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Make a new store in an existing empty (0-byte) database file (`serve --init`); without
    /// it only a missing file is created.
    pub init: bool,
    /// What the lock file says besides the pid and command (e.g. `listen 127.0.0.1:8080`).
    pub note: Option<String>,
}

/// How many read connections are kept open.
const READERS: usize = 4;

/// A batch waiting for the writer, with where to send its outcome.
struct Job {
    pings: Vec<NewPing>,
    margin_ms: i64,
    reply: mpsc::SyncSender<Result<Vec<Insert>, StoreError>>,
}

/// The embedded SQLite store. See the module documentation.
pub struct SqliteStore {
    path: PathBuf,
    /// The data directory's lock, held while the store is open.
    _lock: std::fs::File,
    /// The write condition (full, read-only), logged once when it starts and when it clears.
    condition: Arc<Condition>,
    /// Summaries that failed their checksum and are waiting for their recomputation.
    failed: Mutex<std::collections::HashSet<(String, NaiveDate)>>,
    /// How many summaries failed their checksum since the start.
    failures: AtomicU64,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Connection for non-ping writes (registry, summaries, marks); busy-waits on the writer.
    side: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    generation: Arc<AtomicI64>,
}

impl From<rusqlite::Error> for StoreError {
    /// SQLite's error as text, so `?` works on rusqlite calls; `classify` names the disk and
    /// file conditions first where the file's path is known.
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Database {
            reason: e.to_string(),
        }
    }
}

fn now_ms() -> UnixMs {
    chrono::Utc::now().timestamp_millis()
}

/// A day as stored: `YYYY-MM-DD`, which sorts as the days do (years 0–9999; days beyond are
/// clamped, so `NaiveDate::MIN..NaiveDate::MAX` means every day).
fn day_text(day: NaiveDate) -> String {
    let lo = NaiveDate::from_ymd_opt(0, 1, 1).unwrap_or(NaiveDate::MIN);
    let hi = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    day.clamp(lo, hi).format("%Y-%m-%d").to_string()
}

fn parse_day(text: &str) -> rusqlite::Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn open_connection(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
    }
    // SQLite's own page cache, per connection (KiB when negative). The operating system
    // caches the file too; a large cache per pooled connection only made the resident memory
    // grow with the database (5 connections x 64 MiB; issue 15, defect 8). Readers fetch
    // summaries by index, the writers append: 2 MiB a reader and 8 MiB a writer keep their
    // working pages, 32 MiB for the whole pool (`gridbeat_store_memory_bytes`).
    let cache_kib: i64 = if read_only { 2 * 1024 } else { 8 * 1024 };
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// Bytes SQLite holds in this process (every connection's page cache, statements, schema).
fn sqlite_memory_used() -> u64 {
    // SAFETY: `sqlite3_memory_used` takes no argument and only reads SQLite's memory
    // statistics, under its own mutex; it may be called from any thread at any time.
    let used = unsafe { rusqlite::ffi::sqlite3_memory_used() };
    u64::try_from(used).unwrap_or(0)
}

/// Applies the missing migrations to the database at `path` in `dir`.
fn migrate(conn: &mut Connection, dir: &Path, path: &Path) -> Result<(), StoreError> {
    let db = |e: rusqlite::Error| classify(e, path);
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db)?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            path: dir.display().to_string(),
            found: version,
            known,
        });
    }
    if version == known {
        return Ok(());
    }
    let tx = conn.transaction().map_err(db)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).map_err(db)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(db)?;
    }
    tx.commit().map_err(db)?;
    tracing::info!(from = version, to = known, "data directory schema upgraded");
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the store in a data directory and starts its writer.
    ///
    /// # Errors
    /// As [`SqliteStore::open_with`].
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(dir, &OpenOptions::default())
    }

    /// Opens the store in a data directory: takes the directory's lock, checks the database
    /// file (only a missing one is created, or an empty one with `init`), applies the missing
    /// migrations and starts the writer.
    ///
    /// # Errors
    /// When the directory cannot be created or written, another process holds it, the
    /// database file is empty, unreadable or damaged, or its schema is newer than this build.
    pub fn open_with(dir: &Path, opts: &OpenOptions) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::DataDir {
            path: dir.display().to_string(),
            reason: format!("cannot create it: {e}"),
        })?;
        let path = dir.join(DB_FILE);
        let lock = lock_dir(dir, opts)?;
        check_file(&path, opts.init)?;
        let opened = |e: rusqlite::Error| classify(e, &path);
        let mut write = open_connection(&path, false).map_err(opened)?;
        check_length(&write, &path)?;
        migrate(&mut write, dir, &path)?;
        let side = open_connection(&path, false).map_err(opened)?;
        let generation: i64 = write
            .query_row("SELECT COALESCE(MAX(generation), 0) FROM dirty", [], |r| {
                r.get(0)
            })
            .map_err(|e| classify(e, &path))?;
        let generation = Arc::new(AtomicI64::new(generation + 1));
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(open_connection(&path, true).map_err(opened)?);
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let gen = Arc::clone(&generation);
        let condition = Arc::new(Condition::default());
        let cond = Arc::clone(&condition);
        let db = path.clone();
        let writer = std::thread::Builder::new()
            .name("gridbeat-writer".into())
            .spawn(move || writer_loop(write, &rx, &gen, &cond, &db))
            .map_err(|e| StoreError::DataDir {
                path: dir.display().to_string(),
                reason: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(SqliteStore {
            path,
            _lock: lock,
            condition,
            failed: Mutex::new(std::collections::HashSet::new()),
            failures: AtomicU64::new(0),
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            side: Mutex::new(side),
            readers: Mutex::new(readers),
            generation,
        })
    }

    /// Finishes the writes queued so far and stops the writer (graceful shutdown).
    pub fn close(&self) {
        let jobs = self.jobs.lock().map(|mut j| j.take()).ok().flatten();
        drop(jobs);
        if let Some(handle) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = handle.join();
        }
    }

    fn next_generation(&self) -> i64 {
        self.generation.fetch_add(1, Ordering::Relaxed)
    }

    /// Runs `f` on a pooled read connection.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self.readers.lock().ok().and_then(|mut r| r.pop());
        let conn = match conn {
            Some(c) => c,
            None => open_connection(&self.path, true).map_err(|e| classify(e, &self.path))?,
        };
        let out = f(&conn);
        if let Ok(mut r) = self.readers.lock() {
            if r.len() < READERS {
                r.push(conn);
            }
        }
        out.map_err(|e| classify(e, &self.path))
    }

    /// One worker's pings in `range`: all their columns ([`Store::pings`]), or with `patrol`
    /// those a worker-day reads ([`Store::patrol_pings`]: [`PATROL_PING`]), except the stored
    /// pings that share a timestamp with a logged duplicate, which are read whole.
    fn pings_of(
        &self,
        worker: &str,
        range: Range<UnixMs>,
        patrol: bool,
    ) -> Result<Vec<Ping>, StoreError> {
        let id = WorkerId::new(worker);
        let row = |r: &rusqlite::Row<'_>| ping_of(id.clone(), r);
        self.read(|c| {
            let dups: Vec<Ping> = c
                .prepare_cached(&format!(
                    "SELECT {WHOLE_PING} FROM duplicates
                     WHERE worker = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts, seq"
                ))?
                .query_map(params![worker, range.start, range.end], row)?
                .collect::<rusqlite::Result<_>>()?;
            let columns = if patrol { PATROL_PING } else { WHOLE_PING };
            let mut out: Vec<Ping> = c
                .prepare_cached(&format!(
                    "SELECT {columns} FROM pings WHERE worker = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts"
                ))?
                .query_map(params![worker, range.start, range.end], row)?
                .collect::<rusqlite::Result<_>>()?;
            if !dups.is_empty() {
                // Each duplicate right after the stored ping it repeats (a stable merge); a
                // stored ping read without some columns is read whole when it has one.
                let mut whole = c.prepare_cached(&format!(
                    "SELECT {WHOLE_PING} FROM pings WHERE worker = ?1 AND ts = ?2"
                ))?;
                let mut merged = Vec::with_capacity(out.len() + dups.len());
                let mut d = dups.into_iter().peekable();
                for p in out {
                    let ts = p.ts;
                    let shared = d.peek().is_some_and(|x| x.ts == ts);
                    let p = if patrol && shared {
                        whole.query_row(params![worker, ts], row).optional()?.unwrap_or(p)
                    } else {
                        p
                    };
                    merged.push(p);
                    while d.peek().is_some_and(|x| x.ts == ts) {
                        merged.extend(d.next());
                    }
                }
                merged.extend(d);
                out = merged;
            }
            Ok(out)
        })
    }

    /// Runs `f` in a transaction on the side write connection.
    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.side.lock().map_err(|_| StoreError::Closed)?;
        let out = (|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })()
        .map_err(|e| classify(e, &self.path));
        // Only the ping writer (and the readiness probe's room test) clears a condition: a
        // small write succeeding says little about room for the next batch.
        if let Err(e) = &out {
            self.condition.note(Some(e));
        }
        out
    }

    /// Keeps the rows whose checksum holds; each that fails is logged (once), withheld and
    /// its worker-day queued for recomputation from its pings.
    fn verified(&self, rows: Vec<(SummaryRow, bool)>) -> Vec<SummaryRow> {
        if rows.iter().all(|(_, ok)| *ok) {
            return rows.into_iter().map(|(r, _)| r).collect();
        }
        let mut good = Vec::with_capacity(rows.len());
        let mut bad = Vec::new();
        for (row, ok) in rows {
            if ok {
                good.push(row);
            } else {
                bad.push((row.worker, row.day));
            }
        }
        let new: Vec<(String, NaiveDate)> = match self.failed.lock() {
            Ok(mut f) => bad.into_iter().filter(|k| f.insert(k.clone())).collect(),
            Err(_) => bad,
        };
        if new.is_empty() {
            return good;
        }
        for (worker, day) in &new {
            tracing::error!(%worker, %day, file = %self.path.display(),
                "stored summary failed its checksum: withheld, recomputing it from its pings");
        }
        self.failures.fetch_add(new.len() as u64, Ordering::Relaxed);
        let gen = self.next_generation();
        let now = now_ms();
        let marked = self.write(|tx| {
            let mut mark = tx.prepare_cached(
                "INSERT INTO dirty (worker, day, generation, since, updated) VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (worker, day) DO NOTHING",
            )?;
            for (worker, day) in &new {
                mark.execute(params![worker, day_text(*day), gen, now])?;
            }
            Ok(())
        });
        if let Err(e) = marked {
            // Not marked: let the next read find it again.
            tracing::warn!(error = %e, "could not queue the damaged summaries");
            if let Ok(mut f) = self.failed.lock() {
                for k in &new {
                    f.remove(k);
                }
            }
        }
        good
    }
}

/// The write condition of a store: healthy, or the last lasting failure (full, read-only),
/// logged once when it starts and once when it clears.
#[derive(Default)]
struct Condition {
    failing: Mutex<Option<String>>,
}

impl Condition {
    /// Records the outcome of a write.
    fn note(&self, err: Option<&StoreError>) {
        let Ok(mut failing) = self.failing.lock() else {
            return;
        };
        match err {
            Some(e) if e.is_condition() => {
                let text = e.to_string();
                if failing.as_deref() != Some(text.as_str()) {
                    tracing::error!(error = %text, "the store cannot write; ingest is refused until this clears (logged once)");
                    *failing = Some(text);
                }
            }
            Some(_) => {}
            None => {
                if let Some(was) = failing.take() {
                    tracing::info!(was = %was, "the store writes again");
                }
            }
        }
    }

    /// The lasting failure, if any.
    fn current(&self) -> Option<String> {
        self.failing.lock().ok().and_then(|f| f.clone())
    }
}

/// Whether the disk has room for more than a batch: a 256 kB row written and removed.
fn has_room(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('room_probe', zeroblob(262144))
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [],
    )?;
    conn.execute("DELETE FROM meta WHERE key = 'room_probe'", [])?;
    Ok(())
}

/// Turns SQLite's error into the store's: full, unwritable and damaged files are named.
fn classify(e: rusqlite::Error, path: &Path) -> StoreError {
    use rusqlite::ErrorCode as C;
    let file = path.display().to_string();
    match e.sqlite_error_code() {
        Some(C::DiskFull) => StoreError::Full { path: file },
        Some(C::ReadOnly | C::SystemIoFailure | C::CannotOpen | C::PermissionDenied) => {
            StoreError::Unwritable {
                path: file,
                reason: e.to_string(),
            }
        }
        Some(C::DatabaseCorrupt | C::NotADatabase) => StoreError::Corrupt {
            path: file,
            reason: e.to_string(),
        },
        _ => StoreError::from(e),
    }
}

/// Takes the data directory's lock (an OS advisory lock on [`LOCK_FILE`], released by the OS
/// when the process ends) and writes who holds it; refuses when another process holds it.
fn lock_dir(dir: &Path, opts: &OpenOptions) -> Result<std::fs::File, StoreError> {
    use std::io::{Read, Seek, Write};
    let lock_path = dir.join(LOCK_FILE);
    let unusable = |e: std::io::Error| {
        let wal = dir.join(format!("{DB_FILE}-wal"));
        let hint = if wal.exists() {
            format!(
                "; it holds {} whose committed data needs write access to be read: make the directory writable (or copy it elsewhere) and start again",
                wal.display()
            )
        } else {
            "; gridbeat needs to write there (make it writable)".to_string()
        };
        StoreError::DataDir {
            path: dir.display().to_string(),
            reason: format!(
                "cannot write its lock file {}: {e}{hint}",
                lock_path.display()
            ),
        }
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(unusable)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.split_whitespace().collect::<Vec<_>>().join(" ");
            return Err(StoreError::Locked {
                path: dir.display().to_string(),
                holder: if holder.is_empty() {
                    "it has not written its pid yet".to_string()
                } else {
                    holder
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(unusable(e)),
    }
    let command: Vec<String> = std::env::args().take(3).collect();
    let mut text = format!("pid {}; command {}", std::process::id(), command.join(" "));
    if let Some(n) = &opts.note {
        text.push_str("; ");
        text.push_str(n);
    }
    text.push('\n');
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(text.as_bytes()));
    written.map_err(unusable)?;
    Ok(file)
}

/// Refuses a database file that exists but cannot be a store: empty (a failed copy or
/// restore; only with `init` does it become a new store) or unreadable.
fn check_file(path: &Path, init: bool) -> Result<(), StoreError> {
    let refuse = |reason: String| StoreError::DataDir {
        path: path.display().to_string(),
        reason,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(refuse(format!("cannot be read: {e}"))),
    };
    if !meta.is_file() {
        return Err(refuse("is not a file".to_string()));
    }
    if let Err(e) = std::fs::File::open(path) {
        return Err(refuse(format!("cannot be read: {e}")));
    }
    if meta.len() == 0 && !init {
        return Err(refuse(
            "is empty (0 bytes), not a gridbeat database: a failed copy or restore? Restore a backup (`gridbeat backup`) in its place, or start with `--init` to make a new, empty store in it".to_string(),
        ));
    }
    Ok(())
}

/// Copies the database of a data directory to `out` with SQLite's online backup, in one read
/// transaction (a consistent copy of every commit made before it began), while a server may
/// be writing. It takes no lock on the directory. The copy is checked (`quick_check`) and
/// appears under its name only when complete. Returns the pages copied.
///
/// # Errors
/// When the database is missing or unreadable, `out` exists, or the copy cannot be written.
pub fn backup(dir: &Path, out: &Path) -> Result<i32, StoreError> {
    let path = dir.join(DB_FILE);
    let fail = |reason: String| StoreError::DataDir {
        path: out.display().to_string(),
        reason,
    };
    if !path.is_file() {
        return Err(StoreError::DataDir {
            path: path.display().to_string(),
            reason: "no such database file: is --data the data directory?".to_string(),
        });
    }
    check_file(&path, false)?;
    if out.exists() {
        return Err(fail("exists already: give a new file name".to_string()));
    }
    let partial = out.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let src = open_connection(&path, true).map_err(|e| classify(e, &path))?;
    let pages = {
        let mut dst = Connection::open(&partial).map_err(|e| fail(e.to_string()))?;
        let pages = {
            let b =
                rusqlite::backup::Backup::new(&src, &mut dst).map_err(|e| fail(e.to_string()))?;
            // Every page in one step: one read transaction, so a writer cannot restart it.
            let mut tries = 0;
            loop {
                match b.step(-1).map_err(|e| classify(e, &path))? {
                    rusqlite::backup::StepResult::Done => break,
                    rusqlite::backup::StepResult::More => {}
                    _ if tries < 3000 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    _ => return Err(fail("the database stayed busy for 30 s".to_string())),
                }
            }
            b.progress().pagecount
        };
        let check: String = dst
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| fail(e.to_string()))?;
        if check != "ok" {
            return Err(fail(format!("the copy does not check: {check}")));
        }
        pages
    };
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(&partial, out))
        .map_err(|e| fail(e.to_string()))?;
    Ok(pages)
}

/// Refuses a database file shorter than its pages (a cut-off copy) when no WAL holds the rest.
fn check_length(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let wal = std::fs::metadata(format!("{}-wal", path.display())).map_or(0, |m| m.len());
    let len = std::fs::metadata(path).map_or(0, |m| m.len());
    if wal > 0 || len == 0 {
        return Ok(());
    }
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .map_err(|e| classify(e, path))?;
    let size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .map_err(|e| classify(e, path))?;
    let want = pages.saturating_mul(size);
    if (len as i64) < want {
        return Err(StoreError::Corrupt {
            path: path.display().to_string(),
            reason: format!("truncated: {len} bytes of the {want} its header describes"),
        });
    }
    Ok(())
}

/// The checksum of a stored summary: the first 8 bytes of the SHA-256 of its key, window and
/// encoded bytes.
fn summary_checksum(
    worker: &str,
    day: &str,
    window: (UnixMs, Option<UnixMs>),
    data: &[u8],
) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(worker.as_bytes());
    h.update([0]);
    h.update(day.as_bytes());
    h.update([0]);
    h.update(window.0.to_le_bytes());
    h.update(window.1.map_or([0xff; 9], |e| {
        let mut b = [0u8; 9];
        b[1..].copy_from_slice(&e.to_le_bytes());
        b
    }));
    h.update(data);
    h.finalize()[..8].to_vec()
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer thread: takes every waiting batch, writes them in one transaction, commits,
/// answers.
fn writer_loop(
    mut conn: Connection,
    jobs: &mpsc::Receiver<Job>,
    generation: &AtomicI64,
    condition: &Condition,
    path: &Path,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        let mut rows = batch[0].pings.len();
        while rows < 200_000 {
            match jobs.try_recv() {
                Ok(job) => {
                    rows += job.pings.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        let gen = generation.fetch_add(1, Ordering::Relaxed);
        match write_batches(&mut conn, &batch, gen) {
            Ok(outcomes) => {
                // After a full disk, one batch that fits is not the end of it: the condition
                // clears when there is room for more (logged once each way, no flapping).
                if condition.current().is_none() || has_room(&conn).is_ok() {
                    condition.note(None);
                }
                for (job, out) in batch.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(out));
                }
            }
            Err(e) => {
                let e = classify(e, path);
                condition.note(Some(&e));
                if !e.is_condition() {
                    tracing::error!(error = %e, "ping batch not committed");
                }
                for job in batch {
                    let again = match &e {
                        StoreError::Full { path } => StoreError::Full { path: path.clone() },
                        StoreError::Unwritable { path, reason } => StoreError::Unwritable {
                            path: path.clone(),
                            reason: reason.clone(),
                        },
                        StoreError::Corrupt { path, reason } => StoreError::Corrupt {
                            path: path.clone(),
                            reason: reason.clone(),
                        },
                        other => StoreError::DataDir {
                            path: path.display().to_string(),
                            reason: other.to_string(),
                        },
                    };
                    let _ = job.reply.send(Err(again));
                }
            }
        }
    }
}

fn write_batches(
    conn: &mut Connection,
    batch: &[Job],
    generation: i64,
) -> rusqlite::Result<Vec<Vec<Insert>>> {
    let now = now_ms();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut all = Vec::with_capacity(batch.len());
    let (mut stored, mut logged) = (0i64, 0i64);
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO pings (worker, ts, lon, lat, acc, speed, bearing, alt, batt, mock, checkin, work, pressure, ignition, received, source, device)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
             ON CONFLICT (worker, ts) DO NOTHING",
        )?;
        // A repeat (DESIGN.md §4.2 step 1): a ping stored or logged under this key with every
        // stored value the same, compared as stored (`IS`: NULL equals NULL).
        let mut identical = tx.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM pings WHERE worker = ?1 AND ts = ?2 AND lon IS ?3 AND lat IS ?4
                   AND acc IS ?5 AND speed IS ?6 AND bearing IS ?7 AND alt IS ?8 AND batt IS ?9
                   AND mock IS ?10 AND checkin IS ?11 AND work IS ?12 AND pressure IS ?13 AND ignition IS ?14)
               OR EXISTS (SELECT 1 FROM duplicates WHERE worker = ?1 AND ts = ?2 AND lon IS ?3 AND lat IS ?4
                   AND acc IS ?5 AND speed IS ?6 AND bearing IS ?7 AND alt IS ?8 AND batt IS ?9
                   AND mock IS ?10 AND checkin IS ?11 AND work IS ?12 AND pressure IS ?13 AND ignition IS ?14)",
        )?;
        let mut duplicate = tx.prepare_cached(
            "INSERT INTO duplicates (worker, ts, lon, lat, acc, speed, bearing, alt, batt, mock, checkin, work, pressure, ignition, received, source, device, conflict)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?;
        let mut mark = tx.prepare_cached(
            "INSERT INTO dirty (worker, day, generation, since, updated) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (worker, day) DO UPDATE SET generation = excluded.generation, updated = excluded.updated",
        )?;
        let mut reach = tx.prepare_cached(
            "INSERT INTO dirty (worker, day, generation, since, updated)
             SELECT worker, day, ?4, ?5, ?5 FROM summaries
             WHERE worker = ?1 AND window_start - ?6 <= ?3 AND (window_end IS NULL OR ?2 <= window_end + ?6)
             ON CONFLICT (worker, day) DO UPDATE SET generation = excluded.generation, updated = excluded.updated",
        )?;
        let mut latest = tx.prepare_cached(
            "INSERT INTO latest (worker, ts, lon, lat, acc, received) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (worker) DO UPDATE SET ts = excluded.ts, lon = excluded.lon, lat = excluded.lat,
                 acc = excluded.acc, received = excluded.received
             WHERE excluded.ts > latest.ts",
        )?;
        for job in batch {
            let mut out = Vec::with_capacity(job.pings.len());
            // Per worker: the days touched, the earliest and latest ping, the newest position.
            let mut touched: std::collections::BTreeMap<&str, (Vec<NaiveDate>, UnixMs, UnixMs)> =
                std::collections::BTreeMap::new();
            let mut newest: std::collections::HashMap<&str, &NewPing> =
                std::collections::HashMap::new();
            for n in &job.pings {
                let p = &n.ping;
                let worker = p.worker.as_str();
                let received = p.received.unwrap_or(now);
                let values = params![
                    worker,
                    p.ts,
                    p.lon,
                    p.lat,
                    p.acc_m,
                    p.speed_mps,
                    p.bearing_deg,
                    p.alt_m,
                    p.batt_pct,
                    p.mock,
                    p.checkin.as_deref(),
                    p.work,
                    p.pressure_mpa,
                    p.ignition,
                    received,
                    n.source.as_str(),
                    n.device.as_deref(),
                ];
                let outcome = if insert.execute(values)? == 1 {
                    Insert::Accepted
                } else if identical.query_row(&values[..14], |r| r.get::<_, bool>(0))? {
                    // The same fix received again: nothing to log, no day to recompute.
                    Insert::Repeat
                } else {
                    // A conflict's own values, logged: the summaries count it as received.
                    duplicate.execute(rusqlite::params_from_iter(
                        values
                            .iter()
                            .copied()
                            .chain([&true as &dyn rusqlite::ToSql]),
                    ))?;
                    Insert::Conflict
                };
                match outcome {
                    Insert::Accepted => stored += 1,
                    Insert::Conflict => logged += 1,
                    Insert::Repeat => {}
                }
                out.push(outcome);
                if outcome == Insert::Repeat {
                    continue;
                }
                let e = touched.entry(worker).or_insert((Vec::new(), p.ts, p.ts));
                if !e.0.contains(&n.day) {
                    e.0.push(n.day);
                }
                e.1 = e.1.min(p.ts);
                e.2 = e.2.max(p.ts);
                if outcome == Insert::Accepted {
                    let slot = newest.entry(worker).or_insert(n);
                    if p.ts > slot.ping.ts {
                        *slot = n;
                    }
                }
            }
            for (worker, (days, lo, hi)) in &touched {
                for day in days {
                    mark.execute(params![worker, day_text(*day), generation, now])?;
                }
                // Stored windows the batch's span reaches into (a superset of those its
                // pings reach: marking one too many costs a recompute, never a figure).
                reach.execute(params![worker, lo, hi, generation, now, job.margin_ms])?;
            }
            for (worker, n) in newest {
                let p = &n.ping;
                latest.execute(params![
                    worker,
                    p.ts,
                    p.lon,
                    p.lat,
                    p.acc_m,
                    p.received.unwrap_or(now)
                ])?;
            }
            all.push(out);
        }
        let mut count = tx.prepare_cached("UPDATE counters SET n = n + ?2 WHERE name = ?1")?;
        count.execute(params!["pings", stored])?;
        count.execute(params!["duplicates", logged])?;
    }
    tx.commit()?;
    Ok(all)
}

fn ping_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Ping> {
    let worker: String = r.get(0)?;
    ping_of(WorkerId::new(&worker), r)
}

/// The columns of a ping that a worker-day reads ([`Store::patrol_pings`]), after a column 0
/// that is not read.
const PATROL_PING: &str = "NULL, ts, lon, lat, acc, speed, mock, checkin, received";

/// Every column of a ping: [`PATROL_PING`]'s, then the six a worker-day does not read.
const WHOLE_PING: &str =
    "NULL, ts, lon, lat, acc, speed, mock, checkin, received, bearing, alt, batt, work, pressure, ignition";

/// A ping of `worker` from a row of [`WHOLE_PING`]'s columns, or of [`PATROL_PING`]'s (the
/// rest then `None`). Column 0 is not read: a query for one worker's pings shares one id
/// rather than allocating one per row.
fn ping_of(worker: WorkerId, r: &rusqlite::Row<'_>) -> rusqlite::Result<Ping> {
    let whole = r.as_ref().column_count() > 9;
    let rest = |i: usize| if whole { real32(r, i) } else { Ok(None) };
    let state = |i: usize| if whole { flag(r, i) } else { Ok(None) };
    Ok(Ping {
        worker,
        ts: r.get(1)?,
        lon: real(r, 2)?,
        lat: real(r, 3)?,
        acc_m: real32(r, 4)?,
        speed_mps: real32(r, 5)?,
        mock: mock(r, 6)?,
        checkin: checkin(r, 7)?,
        received: r.get(8)?,
        bearing_deg: rest(9)?,
        alt_m: rest(10)?,
        batt_pct: rest(11)?,
        work: state(12)?,
        pressure_mpa: rest(13)?,
        ignition: state(14)?,
    })
}

// The readers of one column of a ping row: the reading of every stored ping, so they take the
// value as it is stored (one type check) and leave any other type to `Row::get`, for the same
// conversion or error that rusqlite gives.

/// A REAL column.
fn real(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<f64> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Real(v) => Ok(v),
        _ => r.get(i),
    }
}

/// A nullable REAL column of a field kept as `f32`.
fn real32(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<f32>> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        rusqlite::types::ValueRef::Real(v) => Ok(Some(v as f32)),
        _ => r.get(i),
    }
}

/// The mock flag: an INTEGER 0/1 column.
fn mock(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<bool> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Integer(v) => Ok(v != 0),
        _ => r.get(i),
    }
}

/// The check-in code: a nullable TEXT column.
fn checkin(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Arc<str>>> {
    match r.get_ref(i)?.as_str_or_null() {
        Ok(text) => Ok(text.map(Into::into)),
        Err(_) => Ok(r.get::<_, Option<String>>(i)?.map(Into::into)),
    }
}

/// A nullable 0/1 INTEGER column.
fn flag(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<bool>> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        rusqlite::types::ValueRef::Integer(v) => Ok(Some(v != 0)),
        _ => r.get(i),
    }
}

/// A stored summary and whether its checksum holds.
fn summary_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(SummaryRow, bool)> {
    let day: String = r.get(1)?;
    let worker: String = r.get(0)?;
    let data: Vec<u8> = r.get(2)?;
    let window = (r.get(3)?, r.get(4)?);
    let sum: Option<Vec<u8>> = r.get(5)?;
    let ok = sum.is_some_and(|s| s == summary_checksum(&worker, &day, window, &data));
    // A damaged day text is a damaged row too: it cannot be recomputed under its key, so it
    // is withheld under the key it parses to, if any.
    let day = parse_day(&day)?;
    Ok((
        SummaryRow {
            worker,
            day,
            data,
            window,
        },
        ok,
    ))
}

const SUMMARY_COLUMNS: &str = "worker, day, data, window_start, window_end, checksum";

/// A stored ping of a copy from a row `worker, ts, …, received, work, pressure, ignition,
/// source, device[, conflict]`.
fn stored_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(super::StoredPing, bool)> {
    let source: String = r.get(15)?;
    let conflict = match r.get::<_, Option<bool>>(17) {
        Ok(c) => c.unwrap_or(false),
        Err(rusqlite::Error::InvalidColumnIndex(_)) => false,
        Err(e) => return Err(e),
    };
    Ok((
        super::StoredPing {
            ping: ping_from_row(r)?,
            source: super::Source::parse(&source).unwrap_or(super::Source::Import),
            device: r.get(16)?,
        },
        conflict,
    ))
}

impl SqliteStore {
    /// [`Store::copy_out`].
    fn copy_rows(
        &self,
        part: super::Part,
        after: &super::Key,
        limit: usize,
    ) -> Result<super::Chunk, StoreError> {
        use super::{Chunk, Key, Part};
        // WHOLE_PING's columns with the worker's id first, then the source and device.
        const PING: &str = "worker, ts, lon, lat, acc, speed, mock, checkin, received, bearing, alt, batt, work, pressure, ignition, source, device";
        let limit = limit as i64;
        let mut chunk = Chunk::empty(part);
        match part {
            Part::Pings => {
                chunk.pings = self.read(|c| {
                    c.prepare_cached(&format!(
                        "SELECT {PING} FROM pings WHERE (worker, ts) > (?1, ?2) ORDER BY worker, ts LIMIT ?3"
                    ))?
                    .query_map(params![after.worker, after.n, limit], stored_from_row)?
                    .collect()
                })?;
                chunk.last = chunk.pings.last().map(|(p, _)| Key {
                    worker: p.ping.worker.as_str().to_string(),
                    n: p.ping.ts,
                });
            }
            Part::Duplicates => {
                let rows: Vec<((super::StoredPing, bool), i64)> = self.read(|c| {
                    c.prepare_cached(&format!(
                        "SELECT {PING}, conflict, seq FROM duplicates WHERE seq > ?1 ORDER BY seq LIMIT ?2"
                    ))?
                    .query_map(params![after.n, limit], |r| Ok((stored_from_row(r)?, r.get(18)?)))?
                    .collect()
                })?;
                chunk.last = rows.last().map(|(_, seq)| Key {
                    worker: String::new(),
                    n: *seq,
                });
                chunk.pings = rows.into_iter().map(|(p, _)| p).collect();
            }
            Part::Summaries => {
                let rows = self.read(|c| {
                    c.prepare_cached(&format!(
                        "SELECT {SUMMARY_COLUMNS} FROM summaries WHERE (worker, day) > (?1, ?2) ORDER BY worker, day LIMIT ?3"
                    ))?
                    .query_map(
                        params![after.worker, day_text(after.day()), limit],
                        summary_from_row,
                    )?
                    .collect()
                })?;
                chunk.summaries = self.verified(rows);
                chunk.last = chunk
                    .summaries
                    .last()
                    .map(|s| Key::of_day(&s.worker, s.day));
            }
            Part::Dirty => {
                chunk.dirty = self.read(|c| {
                    c.prepare_cached(
                        "SELECT worker, day, generation, since FROM dirty WHERE (worker, day) > (?1, ?2) ORDER BY worker, day LIMIT ?3",
                    )?
                    .query_map(params![after.worker, day_text(after.day()), limit], |r| {
                        let day: String = r.get(1)?;
                        Ok(DirtyDay {
                            worker: r.get(0)?,
                            day: parse_day(&day)?,
                            generation: r.get(2)?,
                            since: r.get(3)?,
                        })
                    })?
                    .collect()
                })?;
                chunk.last = chunk.dirty.last().map(|d| Key::of_day(&d.worker, d.day));
            }
            Part::Positions => {
                chunk.positions = self.read(|c| {
                    c.prepare_cached(
                        "SELECT worker, ts, lon, lat, acc, received FROM latest WHERE worker > ?1 ORDER BY worker LIMIT ?2",
                    )?
                    .query_map(params![after.worker, limit], |r| {
                        Ok(Position {
                            worker: r.get(0)?,
                            ts: r.get(1)?,
                            lon: r.get(2)?,
                            lat: r.get(3)?,
                            acc_m: r.get(4)?,
                            received: Some(r.get(5)?),
                        })
                    })?
                    .collect()
                })?;
                chunk.last = chunk.positions.last().map(|p| Key {
                    worker: p.worker.clone(),
                    n: 0,
                });
            }
        }
        Ok(chunk)
    }

    /// [`Store::copy_in`].
    fn load_rows(&self, chunk: &super::Chunk, progress: (&str, &str)) -> Result<u64, StoreError> {
        use super::Part;
        let now = now_ms();
        let gen = self.next_generation();
        self.write(|tx| {
            let mut written = 0u64;
            match chunk.part {
                Part::Pings | Part::Duplicates => {
                    let pings = chunk.part == Part::Pings;
                    let sql = if pings {
                        "INSERT INTO pings (worker, ts, lon, lat, acc, speed, bearing, alt, batt, mock, checkin, received, work, pressure, ignition, source, device)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
                         ON CONFLICT (worker, ts) DO NOTHING"
                    } else {
                        "INSERT INTO duplicates (worker, ts, lon, lat, acc, speed, bearing, alt, batt, mock, checkin, received, work, pressure, ignition, source, device, conflict)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
                    };
                    let mut stmt = tx.prepare_cached(sql)?;
                    for (s, conflict) in &chunk.pings {
                        let p = &s.ping;
                        let worker = p.worker.as_str();
                        let received = p.received.unwrap_or(now);
                        let checkin = p.checkin.as_deref();
                        let source = s.source.as_str();
                        let mut values: Vec<&dyn rusqlite::ToSql> = vec![
                            &worker,
                            &p.ts,
                            &p.lon,
                            &p.lat,
                            &p.acc_m,
                            &p.speed_mps,
                            &p.bearing_deg,
                            &p.alt_m,
                            &p.batt_pct,
                            &p.mock,
                            &checkin,
                            &received,
                            &p.work,
                            &p.pressure_mpa,
                            &p.ignition,
                            &source,
                            &s.device,
                        ];
                        if !pings {
                            values.push(conflict);
                        }
                        written += stmt.execute(rusqlite::params_from_iter(values))? as u64;
                    }
                    let name = if pings { "pings" } else { "duplicates" };
                    tx.prepare_cached("UPDATE counters SET n = n + ?2 WHERE name = ?1")?
                        .execute(params![name, written as i64])?;
                }
                Part::Summaries => {
                    let mut stmt = tx.prepare_cached(
                        "INSERT INTO summaries (worker, day, data, window_start, window_end, computed, checksum)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (worker, day) DO NOTHING",
                    )?;
                    for r in &chunk.summaries {
                        let day = day_text(r.day);
                        written += stmt.execute(params![
                            r.worker,
                            day,
                            r.data,
                            r.window.0,
                            r.window.1,
                            now,
                            summary_checksum(&r.worker, &day, r.window, &r.data),
                        ])? as u64;
                    }
                    tx.prepare_cached(BUMP_VERSION)?.execute([])?;
                }
                Part::Dirty => {
                    let mut stmt = tx.prepare_cached(
                        "INSERT INTO dirty (worker, day, generation, since, updated) VALUES (?1, ?2, ?3, ?4, ?4)
                         ON CONFLICT (worker, day) DO NOTHING",
                    )?;
                    for d in &chunk.dirty {
                        written += stmt.execute(params![d.worker, day_text(d.day), gen, d.since])? as u64;
                    }
                }
                Part::Positions => {
                    let mut stmt = tx.prepare_cached(
                        "INSERT INTO latest (worker, ts, lon, lat, acc, received) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (worker) DO UPDATE SET ts = excluded.ts, lon = excluded.lon, lat = excluded.lat,
                             acc = excluded.acc, received = excluded.received
                         WHERE excluded.ts > latest.ts",
                    )?;
                    for p in &chunk.positions {
                        written += stmt.execute(params![
                            p.worker,
                            p.ts,
                            p.lon,
                            p.lat,
                            p.acc_m,
                            p.received.unwrap_or(now)
                        ])? as u64;
                    }
                }
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![progress.0, progress.1],
            )?;
            Ok(written)
        })
    }
}

impl Store for SqliteStore {
    fn insert_pings(&self, pings: Vec<NewPing>, margin_ms: i64) -> Result<Vec<Insert>, StoreError> {
        if pings.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = mpsc::sync_channel(1);
        {
            let jobs = self.jobs.lock().map_err(|_| StoreError::Closed)?;
            let jobs = jobs.as_ref().ok_or(StoreError::Closed)?;
            jobs.send(Job {
                pings,
                margin_ms,
                reply,
            })
            .map_err(|_| StoreError::Closed)?;
        }
        answer.recv().map_err(|_| StoreError::Closed)?
    }

    fn pings(&self, worker: &str, range: Range<UnixMs>) -> Result<Vec<Ping>, StoreError> {
        self.pings_of(worker, range, false)
    }

    fn patrol_pings(&self, worker: &str, range: Range<UnixMs>) -> Result<Vec<Ping>, StoreError> {
        self.pings_of(worker, range, true)
    }

    fn neighbours(
        &self,
        worker: &str,
        ts: UnixMs,
    ) -> Result<(Option<UnixMs>, Option<UnixMs>), StoreError> {
        self.read(|c| {
            let before: Option<UnixMs> = c
                .prepare_cached("SELECT MAX(ts) FROM pings WHERE worker = ?1 AND ts < ?2")?
                .query_row(params![worker, ts], |r| r.get(0))?;
            let after: Option<UnixMs> = c
                .prepare_cached("SELECT MIN(ts) FROM pings WHERE worker = ?1 AND ts >= ?2")?
                .query_row(params![worker, ts], |r| r.get(0))?;
            Ok((before, after))
        })
    }

    fn registry_file(&self, file: RegistryFile) -> Result<Option<String>, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT content FROM registry WHERE file = ?1",
                [file.as_str()],
                |r| r.get(0),
            )
            .optional()
        })
    }

    fn put_registry_file(
        &self,
        file: RegistryFile,
        content: &str,
        affected: &Affected,
    ) -> Result<(), StoreError> {
        let gen = self.next_generation();
        let now = now_ms();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO registry (file, content, updated) VALUES (?1, ?2, ?3)
                 ON CONFLICT (file) DO UPDATE SET content = excluded.content, updated = excluded.updated",
                params![file.as_str(), content, now],
            )?;
            mark_affected(tx, affected, gen, now)
        })
    }

    fn mark_dirty(&self, days: &[(String, NaiveDate)]) -> Result<(), StoreError> {
        if days.is_empty() {
            return Ok(());
        }
        let gen = self.next_generation();
        let now = now_ms();
        self.write(|tx| {
            let mut mark = tx.prepare_cached(
                "INSERT INTO dirty (worker, day, generation, since, updated) VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (worker, day) DO UPDATE SET generation = excluded.generation",
            )?;
            for (w, d) in days {
                mark.execute(params![w, day_text(*d), gen, now])?;
            }
            Ok(())
        })
    }

    fn mark_all_dirty(&self) -> Result<(), StoreError> {
        let gen = self.next_generation();
        let now = now_ms();
        self.write(|tx| mark_affected(tx, &Affected::Everything, gen, now))
    }

    fn due(
        &self,
        quiet_before: UnixMs,
        due_before: UnixMs,
        limit: usize,
    ) -> Result<Vec<DirtyDay>, StoreError> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT worker, day, generation, since FROM dirty
                 WHERE updated <= ?1 OR since <= ?2 ORDER BY worker, day LIMIT ?3",
            )?
            .query_map(params![quiet_before, due_before, limit as i64], |r| {
                let day: String = r.get(1)?;
                Ok(DirtyDay {
                    worker: r.get(0)?,
                    day: parse_day(&day)?,
                    generation: r.get(2)?,
                    since: r.get(3)?,
                })
            })?
            .collect()
        })
    }

    fn put_summary(&self, row: &SummaryRow, generation: i64) -> Result<(), StoreError> {
        let now = now_ms();
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO summaries (worker, day, data, window_start, window_end, computed, checksum)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (worker, day) DO UPDATE SET data = excluded.data,
                     window_start = excluded.window_start, window_end = excluded.window_end,
                     computed = excluded.computed, checksum = excluded.checksum",
            )?
            .execute(params![
                row.worker,
                day_text(row.day),
                row.data,
                row.window.0,
                row.window.1,
                now,
                summary_checksum(&row.worker, &day_text(row.day), row.window, &row.data),
            ])?;
            tx.prepare_cached(
                "DELETE FROM dirty WHERE worker = ?1 AND day = ?2 AND generation = ?3",
            )?
            .execute(params![row.worker, day_text(row.day), generation])?;
            tx.prepare_cached(BUMP_VERSION)?.execute([])?;
            Ok(())
        })?;
        if let Ok(mut f) = self.failed.lock() {
            f.remove(&(row.worker.clone(), row.day));
        }
        Ok(())
    }

    fn drop_summary(
        &self,
        worker: &str,
        day: NaiveDate,
        generation: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let removed = tx.execute(
                "DELETE FROM summaries WHERE worker = ?1 AND day = ?2",
                params![worker, day_text(day)],
            )?;
            tx.execute(
                "DELETE FROM dirty WHERE worker = ?1 AND day = ?2 AND generation = ?3",
                params![worker, day_text(day), generation],
            )?;
            if removed > 0 {
                tx.prepare_cached(BUMP_VERSION)?.execute([])?;
            }
            Ok(())
        })
    }

    fn summary(&self, worker: &str, day: NaiveDate) -> Result<Option<SummaryRow>, StoreError> {
        let row = self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM summaries WHERE worker = ?1 AND day = ?2"
            ))?
            .query_row(params![worker, day_text(day)], summary_from_row)
            .optional()
        })?;
        Ok(self.verified(row.into_iter().collect()).pop())
    }

    fn worker_summaries(
        &self,
        worker: &str,
        days: Range<NaiveDate>,
    ) -> Result<Vec<SummaryRow>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM summaries WHERE worker = ?1 AND day >= ?2 AND day < ?3 ORDER BY day"
            ))?
            .query_map(
                params![worker, day_text(days.start), day_text(days.end)],
                summary_from_row,
            )?
            .collect()
        })?;
        Ok(self.verified(rows))
    }

    fn summary_before(
        &self,
        worker: &str,
        day: NaiveDate,
    ) -> Result<Option<SummaryRow>, StoreError> {
        let row = self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM summaries WHERE worker = ?1 AND day < ?2 ORDER BY day DESC LIMIT 1"
            ))?
            .query_row(params![worker, day_text(day)], summary_from_row)
            .optional()
        })?;
        // A damaged latest day is withheld (and queued), not replaced by an older one: the
        // carry must come from the day right before.
        Ok(self.verified(row.into_iter().collect()).pop())
    }

    fn summaries(&self, days: Range<NaiveDate>) -> Result<Vec<SummaryRow>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM summaries WHERE day >= ?1 AND day < ?2 ORDER BY worker, day"
            ))?
            .query_map(
                params![day_text(days.start), day_text(days.end)],
                summary_from_row,
            )?
            .collect()
        })?;
        Ok(self.verified(rows))
    }

    fn summary_workers(&self, days: Range<NaiveDate>) -> Result<Vec<String>, StoreError> {
        // The day index holds the key (worker, day): a covering scan of the range.
        self.read(|c| {
            c.prepare_cached(
                "SELECT DISTINCT worker FROM summaries WHERE day >= ?1 AND day < ?2 ORDER BY worker",
            )?
            .query_map(params![day_text(days.start), day_text(days.end)], |r| {
                r.get(0)
            })?
            .collect()
        })
    }

    fn summary_months(&self) -> Result<Vec<crate::model::Month>, StoreError> {
        // Walks the day index from month to month rather than every row.
        self.read(|c| {
            let mut months = Vec::new();
            let mut after = String::new();
            loop {
                let next: Option<String> = c
                    .prepare_cached("SELECT min(day) FROM summaries WHERE day > ?1")?
                    .query_row(params![after], |r| r.get(0))?;
                let Some(day) = next else { break };
                let day = parse_day(&day)?;
                let month = crate::model::Month::of(day);
                months.push(month);
                let last = month.last_day();
                after = day_text(last) + "~";
            }
            Ok(months)
        })
    }

    fn days_after(
        &self,
        worker: &str,
        day: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT day FROM summaries WHERE worker = ?1 AND day > ?2 AND day <= ?3 ORDER BY day",
            )?
            .query_map(params![worker, day_text(day), day_text(until)], |r| {
                let d: String = r.get(0)?;
                parse_day(&d)
            })?
            .collect()
        })
    }

    fn positions(&self) -> Result<Vec<Position>, StoreError> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT worker, ts, lon, lat, acc, received FROM latest ORDER BY worker",
            )?
            .query_map([], |r| {
                Ok(Position {
                    worker: r.get(0)?,
                    ts: r.get(1)?,
                    lon: r.get(2)?,
                    lat: r.get(3)?,
                    acc_m: r.get(4)?,
                    received: Some(r.get(5)?),
                })
            })?
            .collect()
        })
    }

    fn pending(&self) -> Result<Vec<(String, UnixMs)>, StoreError> {
        self.read(|c| {
            c.prepare_cached("SELECT worker, since FROM dirty")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
    }

    fn summaries_version(&self) -> u64 {
        let read = self.read(|c| {
            c.prepare_cached(READ_VERSION)?
                .query_row([], |r| r.get::<_, i64>(0))
        });
        match read {
            Ok(n) if n >= 1 => n as u64,
            Ok(n) => {
                tracing::warn!(
                    version = n,
                    "the stored summaries version is not positive: nothing cached is served"
                );
                0
            }
            Err(e) => {
                tracing::warn!(error = %e, "the summaries version cannot be read: nothing cached is served");
                0
            }
        }
    }

    fn copy_out(
        &self,
        part: super::Part,
        after: &super::Key,
        limit: usize,
    ) -> Result<super::Chunk, StoreError> {
        self.copy_rows(part, after, limit)
    }

    fn copy_in(&self, chunk: &super::Chunk, progress: (&str, &str)) -> Result<u64, StoreError> {
        self.load_rows(chunk, progress)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let mut s = self.read(|c| {
            let count = |sql: &str| -> rusqlite::Result<u64> {
                c.query_row(sql, [], |r| r.get::<_, i64>(0))
                    .map(|n| n as u64)
            };
            let (pending, oldest): (i64, Option<i64>) =
                c.query_row("SELECT COUNT(*), MIN(since) FROM dirty", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            Ok(StoreStats {
                // Counting a large table walks it: the writer keeps running counts, and the
                // latest table gives the newest ping.
                pings: count("SELECT n FROM counters WHERE name = 'pings'")?,
                duplicates: count("SELECT n FROM counters WHERE name = 'duplicates'")?,
                summaries: count("SELECT COUNT(*) FROM summaries")?,
                pending: pending as u64,
                oldest_pending: oldest,
                newest_ping: c.query_row("SELECT MAX(ts) FROM latest", [], |r| r.get(0))?,
                bytes: 0,
                memory: sqlite_memory_used(),
            })
        })?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        s.bytes = ["gridbeat.db", "gridbeat.db-wal", "gridbeat.db-shm"]
            .iter()
            .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
            .map(|m| m.len())
            .sum();
        Ok(s)
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|c| {
            c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
        })
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(|_| ())
        })
    }

    fn readiness(&self) -> Readiness {
        // A read of the schema and counters, then a tiny write transaction on a meta row (a
        // success also clears a full-disk condition the writer last saw).
        let read = self.read(|c| {
            c.query_row("SELECT n FROM counters WHERE name = 'pings'", [], |r| {
                r.get::<_, i64>(0)
            })
        });
        let mut result = read.and_then(|_| self.set_meta("ready_probe", &now_ms().to_string()));
        if result.is_ok() && self.condition.current().is_some() {
            // The writer last failed (a full disk): ready again only when there is room for a
            // batch, tested with a 256 kB row written and removed.
            result = match self.side.lock() {
                Ok(conn) => has_room(&conn).map_err(|e| classify(e, &self.path)),
                Err(_) => Err(StoreError::Closed),
            };
            if result.is_ok() {
                self.condition.note(None);
            }
        }
        match result {
            Ok(()) => Readiness::Ready,
            Err(e) => {
                let reason = match &e {
                    StoreError::Full { .. } => "disk_full",
                    StoreError::Unwritable { reason, .. }
                        if reason.contains("readonly") || reason.contains("read-only") =>
                    {
                        "read_only"
                    }
                    StoreError::Unwritable { .. } => "io_error",
                    StoreError::Corrupt { .. } => "corrupt",
                    _ => "unavailable",
                };
                Readiness::NotReady(reason, e.to_string())
            }
        }
    }

    fn checksum_failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    fn checkpoint(&self) -> Result<(), StoreError> {
        // The writer finishes what is queued first; then every commit is moved into the main
        // file and the WAL is emptied.
        self.close();
        let conn = self.side.lock().map_err(|_| StoreError::Closed)?;
        let (busy, _, _): (i64, i64, i64) = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| classify(e, &self.path))?;
        if busy != 0 {
            return Err(StoreError::DataDir {
                path: self.path.display().to_string(),
                reason: "the WAL checkpoint was blocked by a reader; the -wal file still holds data: keep it with the database file".to_string(),
            });
        }
        Ok(())
    }
}

fn mark_affected(
    tx: &rusqlite::Transaction<'_>,
    affected: &Affected,
    gen: i64,
    now: UnixMs,
) -> rusqlite::Result<()> {
    const ALL: &str = "INSERT INTO dirty (worker, day, generation, since, updated)
         SELECT worker, day, ?1, ?2, ?2 FROM summaries WHERE true
         ON CONFLICT (worker, day) DO UPDATE SET generation = excluded.generation";
    match affected {
        Affected::Nothing => Ok(()),
        Affected::Everything => tx.execute(ALL, params![gen, now]).map(|_| ()),
        Affected::Workers(ws) => {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO dirty (worker, day, generation, since, updated)
                 SELECT worker, day, ?1, ?2, ?2 FROM summaries WHERE worker = ?3
                 ON CONFLICT (worker, day) DO UPDATE SET generation = excluded.generation",
            )?;
            for w in ws {
                stmt.execute(params![gen, now, w])?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Source;

    fn ping(worker: &str, ts: UnixMs, lon: f64) -> NewPing {
        let mut p = Ping::new(WorkerId::new(worker), ts, lon, 30.0);
        p.received = Some(ts + 1000);
        NewPing {
            day: chrono::DateTime::from_timestamp_millis(ts)
                .map(|t| t.date_naive())
                .unwrap_or_default(),
            ping: p,
            source: Source::Json,
            device: None,
        }
    }

    #[test]
    fn patrol_pings_leave_out_unread_fields_but_where_a_duplicate_shares_the_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let vehicle = |ts: UnixMs, work: bool| {
            let mut p = ping("w1", ts, 112.0);
            p.ping.work = Some(work);
            p.ping.pressure_mpa = Some(0.5);
            p.ping.ignition = Some(true);
            p.ping.bearing_deg = Some(45.0);
            p.ping.alt_m = Some(-2.0);
            p.ping.batt_pct = Some(30.0);
            p.ping.acc_m = Some(5.0);
            p
        };
        let sent = vec![
            vehicle(1_000_000, true),
            vehicle(2_000_000, true),
            vehicle(2_000_000, false),
        ];
        store.insert_pings(sent, 0).unwrap();
        let fields = |p: &Ping| {
            let unread = (p.bearing_deg, p.alt_m, p.batt_pct);
            (p.ts, p.acc_m, unread, p.work, p.pressure_mpa, p.ignition)
        };
        // Only the first ping in range, and no duplicate: six of its columns are not read.
        let alone = store.patrol_pings("w1", 0..1_500_000).unwrap();
        assert_eq!(
            alone.iter().map(fields).collect::<Vec<_>>(),
            vec![(1_000_000, Some(5.0), (None, None, None), None, None, None)]
        );
        // A conflict is logged at 2 000 000: the stored ping there is read whole, as is the
        // conflict; the first is not.
        let all = store.patrol_pings("w1", 0..3_000_000).unwrap();
        let kept: Vec<_> = all.iter().map(|p| fields(p).2).collect();
        let read = (Some(45.0), Some(-2.0), Some(30.0));
        assert_eq!(kept, vec![(None, None, None), read, read]);
        let works: Vec<_> = all.iter().map(|p| p.work).collect();
        assert_eq!(works, vec![None, Some(true), Some(false)]);
        assert_eq!(all[1..], store.pings("w1", 2_000_000..3_000_000).unwrap());
    }

    #[test]
    fn a_resent_ping_is_a_repeat_and_only_a_conflict_is_logged() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let first = store
            .insert_pings(
                vec![ping("w1", 1_000_000, 112.0), ping("w1", 2_000_000, 112.0)],
                300_000,
            )
            .unwrap();
        assert_eq!(first, vec![Insert::Accepted, Insert::Accepted]);
        let mut other_battery = ping("w1", 1_000_000, 112.0);
        other_battery.ping.batt_pct = Some(40.0);
        let again = store
            .insert_pings(
                vec![
                    ping("w1", 1_000_000, 112.0),
                    ping("w1", 2_000_000, 112.5),
                    ping("w1", 2_000_000, 112.5),
                    other_battery,
                ],
                300_000,
            )
            .unwrap();
        assert_eq!(
            again,
            vec![
                Insert::Repeat,
                Insert::Conflict,
                Insert::Repeat,
                Insert::Conflict
            ]
        );
        let pings = store.pings("w1", 0..10_000_000).unwrap();
        // Stored once each, each conflict right after its original, in order of receipt.
        let shape: Vec<(UnixMs, f64, Option<f32>)> =
            pings.iter().map(|p| (p.ts, p.lon, p.batt_pct)).collect();
        assert_eq!(
            shape,
            vec![
                (1_000_000, 112.0, None),
                (1_000_000, 112.0, Some(40.0)),
                (2_000_000, 112.0, None),
                (2_000_000, 112.5, None)
            ]
        );
        let stats = store.stats().unwrap();
        assert_eq!((stats.pings, stats.duplicates), (2, 2));
    }

    #[test]
    fn pings_survive_reopening_and_mark_their_days_dirty() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SqliteStore::open(dir.path()).unwrap();
            store
                .insert_pings(
                    vec![ping("w1", 86_400_000 + 5, 112.0), ping("w2", 5, 112.0)],
                    0,
                )
                .unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.pings("w1", 0..UnixMs::MAX).unwrap().len(), 1);
        let due = store.due(UnixMs::MAX, 0, 10).unwrap();
        let keys: Vec<(String, String)> = due
            .iter()
            .map(|d| (d.worker.clone(), day_text(d.day)))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("w1".to_string(), "1970-01-02".to_string()),
                ("w2".to_string(), "1970-01-01".to_string())
            ]
        );
    }

    #[test]
    fn a_summary_clears_its_mark_only_at_its_generation_and_windows_reach_new_pings() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        store
            .insert_pings(vec![ping("w1", 10_000, 112.0)], 300_000)
            .unwrap();
        let d = store.due(UnixMs::MAX, 0, 10).unwrap().remove(0);
        // A newer ping re-marks the day before the summary is written: the mark stays.
        store
            .insert_pings(vec![ping("w1", 20_000, 112.0)], 300_000)
            .unwrap();
        let row = SummaryRow {
            worker: "w1".into(),
            day: d.day,
            data: vec![1, 2, 3],
            window: (10_000, Some(20_000)),
        };
        store.put_summary(&row, d.generation).unwrap();
        let d2 = store.due(UnixMs::MAX, 0, 10).unwrap();
        assert_eq!(d2.len(), 1);
        store.put_summary(&row, d2[0].generation).unwrap();
        assert!(store.due(UnixMs::MAX, 0, 10).unwrap().is_empty());
        // A ping on the next day but within the window's margin dirties the earlier day too.
        store
            .insert_pings(vec![ping("w1", 86_400_000 + 1, 112.0)], 90_000_000)
            .unwrap();
        let due: Vec<String> = store
            .due(UnixMs::MAX, 0, 10)
            .unwrap()
            .iter()
            .map(|d| day_text(d.day))
            .collect();
        assert_eq!(due, vec!["1970-01-01", "1970-01-02"]);
        assert_eq!(
            store.summary("w1", d.day).unwrap().unwrap().data,
            vec![1, 2, 3]
        );
    }

    #[test]
    fn an_older_data_directory_is_upgraded_on_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            // A version-1 directory with two pings and a repeat, as the first release wrote it.
            let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
            c.execute_batch(
                "INSERT INTO pings (worker, ts, lon, lat, received, source) VALUES ('w1', 1, 112.0, 28.0, 5, 'json'), ('w1', 2, 112.0, 28.0, 5, 'json');
                 INSERT INTO duplicates (worker, ts, lon, lat, received, source, conflict) VALUES ('w1', 1, 112.0, 28.0, 6, 'json', 0);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let s = store.stats().unwrap();
        assert_eq!((s.pings, s.duplicates), (2, 1));
        // Migration 5 starts the stored summaries version at 1.
        assert_eq!(store.summaries_version(), 1);
        store
            .insert_pings(vec![ping("w1", 3_000, 112.0)], 0)
            .unwrap();
        assert_eq!(store.stats().unwrap().pings, 3);
        let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
    }

    #[test]
    fn a_second_open_of_a_data_directory_is_refused_until_the_first_closes() {
        let dir = tempfile::tempdir().unwrap();
        let opts = OpenOptions {
            init: false,
            note: Some("listen 127.0.0.1:1".into()),
        };
        let first = SqliteStore::open_with(dir.path(), &opts).unwrap();
        let err = SqliteStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("in use by another gridbeat"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("listen 127.0.0.1:1"), "{err}");
        drop(first);
        assert!(SqliteStore::open(dir.path()).is_ok());
    }

    #[test]
    fn an_empty_database_file_is_refused_unless_init() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(DB_FILE), b"").unwrap();
        let err = SqliteStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("empty (0 bytes)"), "{err}");
        assert_eq!(
            std::fs::metadata(dir.path().join(DB_FILE)).unwrap().len(),
            0
        );
        let opts = OpenOptions {
            init: true,
            note: None,
        };
        assert!(SqliteStore::open_with(dir.path(), &opts).is_ok());
    }

    #[test]
    fn a_summary_that_fails_its_checksum_is_withheld_and_queued_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let row = |w: &str| SummaryRow {
            worker: w.into(),
            day,
            data: vec![1, 2, 3, 4],
            window: (10, Some(20)),
        };
        store.put_summary(&row("w1"), 0).unwrap();
        store.put_summary(&row("w2"), 0).unwrap();
        assert!(store.due(UnixMs::MAX, 0, 10).unwrap().is_empty());
        let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
        c.execute(
            "UPDATE summaries SET data = x'01020305' WHERE worker = 'w2'",
            [],
        )
        .unwrap();
        let days = NaiveDate::MIN..NaiveDate::MAX;
        let served: Vec<String> = store
            .summaries(days.clone())
            .unwrap()
            .into_iter()
            .map(|r| r.worker)
            .collect();
        assert_eq!(served, vec!["w1"]);
        assert!(store.summary("w2", day).unwrap().is_none());
        assert_eq!(store.checksum_failures(), 1);
        let due: Vec<String> = store
            .due(UnixMs::MAX, 0, 10)
            .unwrap()
            .into_iter()
            .map(|d| d.worker)
            .collect();
        assert_eq!(due, vec!["w2"]);
        // Recomputed: served again.
        store.put_summary(&row("w2"), 0).unwrap();
        assert_eq!(store.summaries(days).unwrap().len(), 2);
    }

    #[test]
    fn the_summaries_version_is_read_from_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.summaries_version(), 1);
        let day = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let row = SummaryRow {
            worker: "w1".into(),
            day,
            data: vec![7],
            window: (10, Some(20)),
        };
        store.put_summary(&row, 0).unwrap();
        assert_eq!(store.summaries_version(), 2);
        // Another process on the database (here a second connection) writes a summary and
        // bumps the version in its transaction: this store sees it at once.
        let other = Connection::open(dir.path().join(DB_FILE)).unwrap();
        other
            .busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        other.execute(BUMP_VERSION, []).unwrap();
        assert_eq!(store.summaries_version(), 3);
        let stored: i64 = other.query_row(READ_VERSION, [], |r| r.get(0)).unwrap();
        assert_eq!(stored, 3);
        // Removing nothing changes nothing; removing the summary bumps it.
        store.drop_summary("w2", day, 0).unwrap();
        assert_eq!(store.summaries_version(), 3);
        store.drop_summary("w1", day, 0).unwrap();
        assert_eq!(store.summaries_version(), 4);
        // A restart continues from the stored number.
        drop(store);
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.summaries_version(), 4);
        // A counter that cannot be read gives 0, which no real version equals.
        other
            .execute("DELETE FROM counters WHERE name = 'summaries_version'", [])
            .unwrap();
        assert_eq!(store.summaries_version(), 0);
    }

    #[test]
    fn a_version_4_directory_is_upgraded_to_a_stored_summaries_version() {
        let dir = tempfile::tempdir().unwrap();
        {
            let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
            for sql in &MIGRATIONS[..4] {
                c.execute_batch(sql).unwrap();
            }
            c.pragma_update(None, "user_version", 4).unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.summaries_version(), 1);
        let row = SummaryRow {
            worker: "w1".into(),
            day: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            data: vec![7],
            window: (10, None),
        };
        store.put_summary(&row, 0).unwrap();
        assert_eq!(store.summaries_version(), 2);
    }

    #[test]
    fn a_newer_schema_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        {
            let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = SqliteStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("schema version 99"), "{err}");
        assert!(err.contains("upgrade gridbeat"), "{err}");
    }
}
