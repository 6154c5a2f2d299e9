//! The errors of reading pings: [`RecordError`] for one bad record (the rest of the file is
//! kept), [`IngestError`] for a file that cannot be read at all. Both have a stable snake_case
//! `code()`, so the HTTP service can answer `{"code", "message"}` with them; no message names
//! a command-line flag.

use std::fmt;
use std::sync::Arc;

use super::row::RecordFault;

/// One input record that could not be read, with where it is and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    /// The file or stream it came from.
    pub source: Arc<str>,
    /// Where it is, 1-based: the line of a CSV file (the header is line 1), the row of a
    /// Parquet file, the point of a GPX file — counted before any filtering.
    pub line: u64,
    /// What is wrong.
    pub fault: RecordFault,
    /// The worker the record names, when that much could be read.
    pub worker: Option<String>,
}

impl RecordError {
    /// The stable code of the fault, e.g. `bad_timestamp`.
    pub fn code(&self) -> &'static str {
        self.fault.code()
    }

    /// What is wrong and what is expected, without the place.
    pub fn reason(&self) -> String {
        self.fault.to_string()
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.source, self.line, self.fault)
    }
}

impl std::error::Error for RecordError {}

/// Why a file could not be read at all (as opposed to a bad record, which is skipped and
/// reported as a [`RecordError`]). Every message starts with the file's name.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file cannot be opened.
    #[error("{source_name}: cannot open: {error}")]
    Open {
        /// The file.
        source_name: String,
        /// The operating system's reason.
        #[source]
        error: std::io::Error,
    },
    /// The file's extension names no format pings can be read from.
    #[error("{source_name}: unknown file type; expected .csv, .parquet or .gpx")]
    UnknownFormat {
        /// The file.
        source_name: String,
    },
    /// The file is empty: not even a header.
    #[error("{source_name}: the file is empty; expected a header such as worker,ts,lat,lon")]
    Empty {
        /// The file.
        source_name: String,
    },
    /// The file is not Parquet, or its footer or schema is damaged.
    #[error("{source_name}: not a readable Parquet file: {reason}")]
    NotParquet {
        /// The file.
        source_name: String,
        /// The reader's message.
        reason: String,
    },
    /// The file is not GPX.
    #[error("{source_name}: not a readable GPX file: {reason}")]
    NotGpx {
        /// The file.
        source_name: String,
        /// The parser's message.
        reason: String,
    },
    /// A required column is missing.
    #[error("{source_name}: no {column:?} column (found: {found}); required: worker (or worker_id), ts (or ts_ms, timestamp, time), lat (or latitude), lon (or lng, longitude)")]
    MissingColumn {
        /// The file.
        source_name: String,
        /// The missing column.
        column: &'static str,
        /// The columns the file has, comma-separated.
        found: String,
    },
    /// A column has a type its values cannot be read from.
    #[error("{source_name}: column {column:?} is {found}; expected {expected}")]
    ColumnType {
        /// The file.
        source_name: String,
        /// The column.
        column: String,
        /// Its type in the file.
        found: String,
        /// The types accepted.
        expected: &'static str,
    },
    /// Reading failed part-way (an I/O error).
    #[error("{source_name}: read failed: {reason}")]
    Read {
        /// The file.
        source_name: String,
        /// The reason.
        reason: String,
    },
    /// More rows than one table can index (2^32 − 1).
    #[error("{source_name}: more than 4294967295 rows in one read; read fewer files at once")]
    TooManyRows {
        /// The file.
        source_name: String,
    },
}

impl IngestError {
    /// The stable snake_case code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Open { .. } => "cannot_open",
            IngestError::UnknownFormat { .. } => "unknown_format",
            IngestError::Empty { .. } => "empty_file",
            IngestError::NotParquet { .. } => "not_parquet",
            IngestError::NotGpx { .. } => "not_gpx",
            IngestError::MissingColumn { .. } => "missing_column",
            IngestError::ColumnType { .. } => "bad_column_type",
            IngestError::Read { .. } => "read_failed",
            IngestError::TooManyRows { .. } => "too_many_rows",
        }
    }
}
