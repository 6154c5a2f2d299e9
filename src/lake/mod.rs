//! The history lake (DESIGN.md §6): Hive-partitioned Parquet that any engine reads, and the
//! pure per-partition summary that a distributed engine runs on each piece.
//!
//! ```text
//! LAKE/_gridbeat.json                                  {"layout": 1, "buckets": B, "timezone": …}
//! LAKE/registry/grids.geojson, workers.csv, checkpoints.geojson[, devices.csv]
//! LAKE/gridbeat.toml                                   parameters (optional)
//! LAKE/pings/month=YYYY-MM/bucket=NNN/part-00000.parquet
//! LAKE/worker_days/month=YYYY-MM/bucket=NNN/part-00000.parquet
//! ```
//!
//! - **Buckets**: a worker's bucket is the FNV-1a 64-bit hash of its id (UTF-8 bytes) modulo
//!   B, so its pings of every month sit in the same bucket number. B is fixed per lake.
//! - **Month** is the local month (the lake's time zone) of a ping's timestamp.
//! - **Written whole**: a partition is written into a temporary directory beside it and
//!   renamed into place, replacing the old one only once the new one is complete; its bytes
//!   are a function of its rows (rows sorted, fixed writer settings, no timestamps).
//! - **One (month, bucket) is the unit of work**: [`summarize_partition`] reads its pings and
//!   one local day of context from the adjacent months' same bucket, and writes its
//!   worker_days with the digests of the parameters and registry it was computed on.

pub mod arrow;
pub mod ops;
pub mod parts;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::Month;

/// The layout version this build writes and reads.
pub const LAYOUT: u32 = 1;

/// The lake's description file.
pub const META_FILE: &str = "_gridbeat.json";

/// Why a lake operation failed; each message names the file or partition and what to do.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// The directory is not a lake (no `_gridbeat.json`).
    #[error("{0} is not a gridbeat lake (no {META_FILE}): make one with `gridbeat lake add --lake {0} …`")]
    NotALake(String),
    /// Another layout version or an unreadable description.
    #[error("{path}: {reason}")]
    BadMeta {
        /// The file.
        path: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The lake was made with another bucket count than asked.
    #[error("{path} has {found} buckets, not {asked}: a lake's bucket count is fixed; add to it without --buckets, or make a new lake")]
    Buckets {
        /// The lake.
        path: String,
        /// Its bucket count.
        found: u32,
        /// The count asked for.
        asked: u32,
    },
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file or directory.
        path: String,
        /// The cause.
        reason: String,
    },
    /// A part file is damaged or has other columns than the layout's.
    #[error("{path}: {reason}")]
    BadPart {
        /// The part file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

fn io(path: &Path, e: impl std::fmt::Display) -> LakeError {
    LakeError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// `_gridbeat.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LakeMeta {
    /// The layout version ([`LAYOUT`]).
    pub layout: u32,
    /// The bucket count B.
    pub buckets: u32,
    /// The IANA time zone months and days are local to.
    pub timezone: String,
}

/// An open lake.
#[derive(Clone, Debug)]
pub struct Lake {
    /// Its directory.
    pub dir: PathBuf,
    /// Its description.
    pub meta: LakeMeta,
}

/// The default bucket count of a new lake.
pub const DEFAULT_BUCKETS: u32 = 64;

impl Lake {
    /// Opens a lake, refusing another layout version.
    ///
    /// # Errors
    /// [`LakeError::NotALake`], [`LakeError::BadMeta`].
    pub fn open(dir: &Path) -> Result<Lake, LakeError> {
        let path = dir.join(META_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LakeError::NotALake(dir.display().to_string()))
            }
            Err(e) => return Err(io(&path, e)),
        };
        let meta: LakeMeta = serde_json::from_str(&text).map_err(|e| LakeError::BadMeta {
            path: path.display().to_string(),
            reason: format!("not a lake description: {e}"),
        })?;
        if meta.layout != LAYOUT {
            return Err(LakeError::BadMeta {
                path: path.display().to_string(),
                reason: format!(
                    "layout version {} (this gridbeat reads {LAYOUT}): use the gridbeat that wrote it, or export the lake again",
                    meta.layout
                ),
            });
        }
        if meta.buckets == 0 || meta.buckets > 9999 {
            return Err(LakeError::BadMeta {
                path: path.display().to_string(),
                reason: format!("{} buckets: expected 1 to 9999", meta.buckets),
            });
        }
        Ok(Lake {
            dir: dir.to_path_buf(),
            meta,
        })
    }

    /// Opens a lake, or makes a new one with `buckets` (default [`DEFAULT_BUCKETS`]) and the
    /// time zone `timezone`.
    ///
    /// # Errors
    /// As [`Lake::open`]; [`LakeError::Buckets`] when an existing lake has another count.
    pub fn open_or_create(
        dir: &Path,
        buckets: Option<u32>,
        timezone: &str,
    ) -> Result<Lake, LakeError> {
        match Lake::open(dir) {
            Ok(lake) => {
                if let Some(b) = buckets.filter(|&b| b != lake.meta.buckets) {
                    return Err(LakeError::Buckets {
                        path: dir.display().to_string(),
                        found: lake.meta.buckets,
                        asked: b,
                    });
                }
                Ok(lake)
            }
            Err(LakeError::NotALake(_)) => {
                let meta = LakeMeta {
                    layout: LAYOUT,
                    buckets: buckets.unwrap_or(DEFAULT_BUCKETS).clamp(1, 9999),
                    timezone: timezone.to_string(),
                };
                std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
                let path = dir.join(META_FILE);
                let text = serde_json::to_string_pretty(&meta).map_err(|e| io(&path, e))?;
                write_whole(&path, text.as_bytes())?;
                Ok(Lake {
                    dir: dir.to_path_buf(),
                    meta,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The bucket of a worker.
    pub fn bucket(&self, worker: &str) -> u32 {
        bucket_of(worker, self.meta.buckets)
    }

    /// The directory of a partition of `table` (`pings` or `worker_days`).
    pub fn partition(&self, table: &str, month: Month, bucket: u32) -> PathBuf {
        self.dir
            .join(table)
            .join(format!("month={month}"))
            .join(format!("bucket={bucket:03}"))
    }

    /// The part files of a partition, in name order (none when it does not exist).
    ///
    /// # Errors
    /// When the directory cannot be listed.
    pub fn parts(&self, table: &str, month: Month, bucket: u32) -> Result<Vec<PathBuf>, LakeError> {
        let dir = self.partition(table, month, bucket);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir, e)),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("part-") && n.ends_with(".parquet"))
            })
            .collect();
        files.sort();
        Ok(files)
    }

    /// The months with a partition of `table`, in order.
    ///
    /// # Errors
    /// When the directory cannot be listed.
    pub fn months(&self, table: &str) -> Result<Vec<Month>, LakeError> {
        let dir = self.dir.join(table);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir, e)),
        };
        let mut months: Vec<Month> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                name.strip_prefix("month=")?.parse().ok()
            })
            .collect();
        months.sort();
        Ok(months)
    }
}

/// FNV-1a, 64 bits, of a worker id's UTF-8 bytes, modulo `buckets`: stable across versions,
/// machines and languages (the Spark job never computes it; the directories carry it).
pub fn bucket_of(worker: &str, buckets: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in worker.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % u64::from(buckets.max(1))) as u32
}

/// Writes a file whole: into a temporary name beside it, then renamed over it.
///
/// # Errors
/// When it cannot be written.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), LakeError> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

/// Replaces a partition directory whole by one holding `part-00000.parquet` with `bytes`: the
/// new directory is written beside it under a temporary name and renamed into place; the old
/// one is removed only after.
///
/// # Errors
/// When it cannot be written or renamed.
pub fn replace_partition(dir: &Path, bytes: &[u8]) -> Result<(), LakeError> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("partition");
    let pid = std::process::id();
    let tmp = parent.join(format!(".{name}.tmp-{pid}"));
    let old = parent.join(format!(".{name}.old-{pid}"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    let file = tmp.join("part-00000.parquet");
    std::fs::write(&file, bytes).map_err(|e| io(&file, e))?;
    let had = dir.exists();
    if had {
        std::fs::rename(dir, &old).map_err(|e| io(dir, e))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| io(dir, e))?;
    if had {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}
