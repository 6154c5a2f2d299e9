//! The batch door's reader: the pings of a period from CSV, Parquet and GPX files.
//!
//! A thin wrapper over [`crate::ingest::read_table`], the one reader every door uses, so that
//! `gridbeat report` reads exactly the rows `gridbeat tracks` reads, with the same faults and
//! line numbers. With a typed timestamp column (Parquet `TIMESTAMP`, or `ts_ms` as
//! `gridbeat simulate` writes) row groups outside the period are not even decoded.

use std::path::PathBuf;

use anyhow::Context;

pub use crate::ingest::PingTable;
use crate::ingest::{read_table, ReadOptions};
use crate::model::{Crs, UnixMs};

/// A half-open period [from, to) in UTC milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// First instant included.
    pub from: UnixMs,
    /// First instant after the period.
    pub to: UnixMs,
}

impl Period {
    /// Whether `ts` lies in the period.
    pub fn contains(&self, ts: UnixMs) -> bool {
        self.from <= ts && ts < self.to
    }
}

/// Reads the pings of `period` (all of them when `None`) from every file, in `crs`.
///
/// # Errors
/// When a file cannot be opened or read, or lacks a required column; bad rows are not errors,
/// they are in [`PingTable::errors`].
pub fn read_pings(
    paths: &[PathBuf],
    period: Option<Period>,
    crs: Crs,
) -> anyhow::Result<PingTable> {
    let opts = ReadOptions {
        crs,
        range: period.map(|p| p.from..p.to),
        worker: None,
    };
    read_table(paths, &opts).context("cannot read the pings")
}
