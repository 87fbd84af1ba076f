//! Errors of the claims crate. Every parser error names the file and, where there is
//! one, the line, the record and the field, so a staff member can find the byte that
//! broke the import.
//!
//! Deliberately not here: per-claim problems that do not make the file unreadable
//! (unknown record types, a `GO` count that disagrees, a claim without identity) —
//! those are counted in [`crate::FileSummary`], not raised.

use std::path::PathBuf;

/// A claims error. Any error is fatal for the file being read: the caller must not
/// keep anything it read from that file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The file could not be opened or read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Bytes that are not Shift_JIS / CP932 (for example a UTF-8 file).
    #[error("{file}:{line}: not Shift_JIS (CP932) text{}: {detail}", field.map(|f| format!(" in field {f}")).unwrap_or_default())]
    Encoding {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// 0-based field index after the record identifier's position, when known.
        field: Option<usize>,
        /// What is wrong.
        detail: String,
    },
    /// The file ends in the middle of a record or before its `GO` record.
    #[error("{file}:{line}: truncated file: {detail}")]
    Truncated {
        /// The file.
        file: PathBuf,
        /// 1-based line where the file ends.
        line: u64,
        /// What is missing.
        detail: String,
    },
    /// A field of a record that cannot be read (malformed date, count, sex …).
    #[error("{file}:{line}: record {record} field {index} ({field}) {value:?}: {reason}")]
    Field {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// Record identifier (`RE`, `SI` …).
        record: String,
        /// Field index (0 = the record identifier, as in NOTES.md).
        index: usize,
        /// Field name.
        field: &'static str,
        /// The raw value (lossily decoded).
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// Records in an order that cannot be a claim file (a diagnosis before any `RE`).
    #[error("{file}:{line}: record {record}: {detail}")]
    Structure {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// Record identifier.
        record: String,
        /// What is wrong.
        detail: String,
    },
    /// The file's kind (医科, DPC, 歯科, 調剤) cannot be told from its records and name,
    /// or one file mixes kinds.
    #[error("{file}:{line}: the kind of claims file cannot be told: {detail}")]
    Kind {
        /// The file.
        file: PathBuf,
        /// 1-based line of the header that decided (1 when there is none).
        line: u64,
        /// What was seen.
        detail: String,
    },
    /// The multi-volume information of the header and the `GO` record disagree.
    #[error("{file}:{line}: multi-volume: {detail}")]
    Volume {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// What disagrees.
        detail: String,
    },
    /// A master or group-table file that cannot be read.
    #[error("{file}:{line}: master: {detail}")]
    Master {
        /// The file.
        file: PathBuf,
        /// 1-based line (0 when the whole file is concerned).
        line: u64,
        /// What is wrong.
        detail: String,
    },
    /// The writer was asked for something it cannot write.
    #[error("writer: {0}")]
    Writer(String),
}

impl ClaimsError {
    /// The 1-based line the error is on, when it is about one line.
    pub fn line(&self) -> Option<u64> {
        match self {
            ClaimsError::Encoding { line, .. }
            | ClaimsError::Truncated { line, .. }
            | ClaimsError::Field { line, .. }
            | ClaimsError::Structure { line, .. }
            | ClaimsError::Kind { line, .. }
            | ClaimsError::Volume { line, .. }
            | ClaimsError::Master { line, .. } => Some(*line),
            ClaimsError::Io { .. } | ClaimsError::Writer(_) => None,
        }
    }

    pub(crate) fn io(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ClaimsError::Io {
            file: file.into(),
            source,
        }
    }
    pub(crate) fn master(file: impl Into<PathBuf>, line: u64, detail: impl Into<String>) -> Self {
        ClaimsError::Master {
            file: file.into(),
            line,
            detail: detail.into(),
        }
    }
}
