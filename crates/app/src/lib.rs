//! Application services: what a staff member or an employer asks Collabo to do, as one
//! call each, shared by the CLI and the web portal. Each service parses its input once
//! at the boundary (format crates or [`tabular`]), hands domain values to the store, and
//! reports bad input with file, line and field. An import with any malformed row stores
//! nothing; rows that are well-formed but do not match the register go to review.

use collabo_domain::Date;
use collabo_store::{ImportSummary, StoreError};
use std::fmt;

pub mod checkups;
pub mod claims;
pub mod imports;
pub mod letters;
pub mod tabular;

/// One problem on one row of an input file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowProblem {
    /// File name.
    pub file: String,
    /// 1-based line (or record) number.
    pub line: u64,
    /// Column or field name.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file, self.line, self.field, self.message
        )
    }
}

/// Why an import stored nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// File.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not UTF-8 nor Shift_JIS.
    #[error("{file}: encoding: {message}")]
    Encoding {
        /// File.
        file: String,
        /// What.
        message: String,
    },
    /// Structurally broken (CSV quoting, XLSX container, XML, UKE).
    #[error("{file}:{line}: {message}")]
    Malformed {
        /// File (and archive member).
        file: String,
        /// Line, 0 when unknown.
        line: u64,
        /// What was expected.
        message: String,
    },
    /// No header row.
    #[error("{file}: the file is empty")]
    Empty {
        /// File.
        file: String,
    },
    /// A required column is missing.
    #[error("{file}: line 1: required column {column:?} is missing")]
    MissingColumn {
        /// File.
        file: String,
        /// Column.
        column: String,
    },
    /// Rows with bad fields; nothing was imported.
    #[error("{} problem(s), nothing was imported:\n{}", problems.len(), render_problems(problems))]
    Rows {
        /// Every problem found.
        problems: Vec<RowProblem>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn render_problems(problems: &[RowProblem]) -> String {
    let mut text: Vec<String> = problems.iter().take(50).map(|p| format!("  {p}")).collect();
    if problems.len() > 50 {
        text.push(format!("  … and {} more", problems.len() - 50));
    }
    text.join("\n")
}

/// The outcome of an import, for the CLI and the portal.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// What the store did.
    pub summary: ImportSummary,
    /// The file's content hash.
    pub sha256: String,
}

/// Parses a date as employers write it: `2026-06-05`, `2026/6/5`, `20260605` or 和暦
/// `令和8年6月5日`.
pub fn parse_date(text: &str) -> Result<Date, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty date".to_owned());
    }
    collabo_domain::calendar::parse_iso(t)
        .or_else(|_| collabo_domain::calendar::parse_wareki(t))
        .map_err(|_| format!("{t:?} is not a date (YYYY-MM-DD, YYYYMMDD or 令和8年6月5日)"))
}

/// The SHA-256 of a file's bytes (hex), its identity for idempotent imports.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
