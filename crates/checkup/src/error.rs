//! Errors of the readers and writers. Every variant names its location (file, archive
//! member, line or row); [`ReadError::Rejected`] is the only one that does not stop a
//! reader.

use crate::record::{Origin, Problem};
use std::path::PathBuf;

/// Why reading stopped, or why one document could not become a record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file or folder could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The zip container is broken.
    #[error("{}: not a readable zip archive: {source}", path.display())]
    Zip {
        /// The archive.
        path: PathBuf,
        /// The cause.
        #[source]
        source: zip::result::ZipError,
    },
    /// A document is not well-formed or not the expected structure.
    #[error("{origin}: malformed: expected {expected}")]
    Malformed {
        /// File, member and line.
        origin: Origin,
        /// What was expected there (and what was found).
        expected: String,
    },
    /// The file is none of the formats this crate reads.
    #[error("{}: not a checkup archive, folder, XML, CSV or XLSX file", path.display())]
    UnknownFormat {
        /// The path.
        path: PathBuf,
    },
    /// One document or row lacks what a record needs (保険者番号, 記号, 番号, 性別,
    /// 生年月日 or 健診実施日). Not fatal: the reader goes on with the next one.
    #[error("{origin}: checkup rejected: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Rejected {
        /// File, member and line.
        origin: Origin,
        /// Everything wrong with it.
        problems: Vec<Problem>,
    },
}

impl ReadError {
    /// Whether the reader stops after this error. Only [`ReadError::Rejected`] is not fatal.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, ReadError::Rejected { .. })
    }
}

/// Why writing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The zip writer failed.
    #[error("{}: {source}", path.display())]
    Zip {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: zip::result::ZipError,
    },
    /// The CSV writer failed.
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    /// A header field is not valid for the format.
    #[error("{field} {value:?} is not valid: {expected}")]
    InvalidHeader {
        /// Which field.
        field: &'static str,
        /// What was given.
        value: String,
        /// What the format requires.
        expected: &'static str,
    },
}
