//! The one door: every business operation of Collabo, as one method of [`App`] each,
//! called alike by the command line and the portal.
//!
//! Each operation takes the acting [`Actor`] (who, role, from where, when), asks the
//! permission table (`collabo_domain::authz`) itself, applies the domain's rules
//! (admission, visibility, the purge plan, the R selection …), and writes its audit
//! record in the same transaction as its effect. A read of personal data commits its
//! audit record before the data is returned. The CLI and the web never reach the store;
//! they get typed read models from here.
//!
//! Where to find an operation:
//! - [`registers`]: employers, memoranda (覚書), programme and society settings;
//! - [`accounts`]: portal users, logins, second factor, sessions, API tokens;
//! - [`imports`], [`checkups`], [`claims`]: files in (register, lists, checkups, claims, consents);
//! - [`consent`]: opt-out and opt-in, with the purge;
//! - [`review`]: the review queue;
//! - [`engine`]: the programme run;
//! - [`letters`]: letter batches and their downloads;
//! - [`employer`]: the employer's pages (submissions, risk holders, published aggregates);
//! - [`members`]: member pages, search, cases, the staff dashboard, exports;
//! - [`reports`]: programme figures;
//! - [`audit`]: the audit log and its verification.

use collabo_domain::Date;
use collabo_store::{AuditSeal, Store, StoreError, Tx};
use std::fmt;
use std::path::{Path, PathBuf};

pub mod accounts;
pub mod audit;
pub mod checkups;
pub mod claims;
pub mod consent;
pub mod employer;
pub mod engine;
pub mod imports;
pub mod letters;
pub mod members;
pub mod registers;
pub mod reports;
pub mod review;
pub mod scoring;
pub mod tabular;

pub use collabo_domain::actor::{Actor, Denied};
pub use collabo_domain::admission::ImportSummary;
pub use collabo_store::{Backend, Society};

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
    /// An employer's file whose rows mostly match no one in the register (see
    /// [`imports::too_many_unmatched`]): refused whole, so one upload cannot fill the
    /// society's review queue. Worded for the employer who sent it.
    #[error(
        "{file}: 提出された{rows}行のうち{unmatched}行が加入者台帳と一致しなかったため、受け付けませんでした（1行も登録していません）。記号・番号・氏名・生年月日が被保険者証のとおりか確認し、別の健康保険組合の方の行が含まれていないかご確認のうえ、再提出してください。"
    )]
    TooManyUnmatched {
        /// File.
        file: String,
        /// Rows read.
        rows: u64,
        /// Rows that matched no one cleanly.
        unmatched: u64,
    },
}

fn render_problems(problems: &[RowProblem]) -> String {
    let mut text: Vec<String> = problems.iter().take(50).map(|p| format!("  {p}")).collect();
    if problems.len() > 50 {
        text.push(format!("  … and {} more", problems.len() - 50));
    }
    text.join("\n")
}

/// Why an operation did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The permission table refused it.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// What it is about does not exist (or is not the caller's).
    #[error("{0} not found")]
    NotFound(String),
    /// The request is not valid (the message says why, for the user).
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with the stored state.
    #[error("{0}")]
    Conflict(String),
    /// A limit was reached (an employer's uploads of the day); try again later. The
    /// message says which, for the user.
    #[error("{0}")]
    Limit(String),
    /// An input file is bad; nothing was stored.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// A letter could not be rendered (template and line in the message).
    #[error(transparent)]
    Letters(#[from] collabo_letters::LetterError),
    /// The audit key or anchor is missing or unreadable.
    #[error("audit key: {0}")]
    AuditKey(String),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::NotFound(what),
            StoreError::Conflict(what) => AppError::Conflict(what),
            other => AppError::Store(other),
        }
    }
}

/// Result of operations.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// A page of a list: skip `offset`, show at most `limit`. Lists that name people are
/// read a page at a time, and each page's audit record names the people on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Items skipped.
    pub offset: i64,
    /// Items shown at most.
    pub limit: i64,
}

impl Paging {
    /// Page `page` (1-based; 0 is taken as 1) of `per_page` items.
    pub fn page(page: i64, per_page: i64) -> Paging {
        let per_page = per_page.max(1);
        Paging {
            offset: (page.max(1) - 1).saturating_mul(per_page),
            limit: per_page,
        }
    }
    /// Everything (the command line, tests).
    pub fn all() -> Paging {
        Paging {
            offset: 0,
            limit: i64::MAX / 2,
        }
    }
}

/// The outcome of an import, for the CLI and the portal.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// What the import did.
    pub summary: ImportSummary,
    /// The file's content hash.
    pub sha256: String,
}

/// Where the audit key and anchors live: `COLLABO_AUDIT_KEY` (hex) or
/// `<data>/audit.key`, and `COLLABO_AUDIT_ANCHOR` or `<data>/audit-anchor.log`.
#[derive(Debug, Clone)]
pub struct DataDir(pub PathBuf);

impl DataDir {
    /// The key file.
    pub fn key_file(&self) -> PathBuf {
        self.0.join("audit.key")
    }
    /// The anchor file.
    pub fn anchor_file(&self) -> PathBuf {
        std::env::var_os("COLLABO_AUDIT_ANCHOR")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.0.join("audit-anchor.log"))
    }

    fn seal(&self, create: bool) -> Result<AuditSeal> {
        let key = match std::env::var("COLLABO_AUDIT_KEY") {
            Ok(hex_key) => decode_key(&hex_key).ok_or_else(|| {
                AppError::AuditKey("COLLABO_AUDIT_KEY is not 32+ hex bytes".into())
            })?,
            Err(_) => self.key_from_file(create)?,
        };
        Ok(AuditSeal::new(key, Some(self.anchor_file())))
    }

    fn key_from_file(&self, create: bool) -> Result<Vec<u8>> {
        let path = self.key_file();
        match std::fs::read_to_string(&path) {
            Ok(text) => decode_key(text.trim()).ok_or_else(|| {
                AppError::AuditKey(format!("{} does not hold a hex key", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                use rand::RngCore;
                let mut key = vec![0u8; 32];
                rand::rng().fill_bytes(&mut key);
                std::fs::create_dir_all(&self.0).map_err(|source| AppError::Io {
                    path: self.0.clone(),
                    source,
                })?;
                write_secret(&path, &hex::encode(&key))?;
                Ok(key)
            }
            Err(e) => Err(AppError::AuditKey(format!(
                "{}: {e} (run `collabo init`, or set COLLABO_AUDIT_KEY)",
                path.display()
            ))),
        }
    }
}

fn decode_key(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok().filter(|k| k.len() >= 16)
}

fn write_secret(path: &Path, text: &str) -> Result<()> {
    let io = |source| AppError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(io)
}

/// The application: the society's store and its audit seal.
#[derive(Debug, Clone)]
pub struct App {
    store: Store,
    /// Uploads per day for one employer's contacts (`None`: unlimited).
    employer_upload_quota: Option<i64>,
}

impl App {
    /// Creates (or opens) a database for a society; creates the audit key under `data`
    /// when there is none.
    pub async fn init(url: &str, society: &Society, data: &Path) -> Result<App> {
        collabo_domain::ids::InsurerNumber::parse(&society.insurer)
            .map_err(|e| AppError::Invalid(format!("保険者番号: {e}")))?;
        let seal = DataDir(data.to_owned()).seal(true)?;
        Ok(App {
            store: Store::init(url, society, seal).await?,
            employer_upload_quota: None,
        })
    }

    /// Opens an existing database; `insurer` may be omitted when it serves one society.
    pub async fn open(url: &str, insurer: Option<&str>, data: &Path) -> Result<App> {
        let seal = DataDir(data.to_owned()).seal(false)?;
        Ok(App {
            store: Store::open(url, insurer, seal).await?,
            employer_upload_quota: None,
        })
    }

    /// The same database for another society (several societies in one PostgreSQL).
    pub fn for_society(&self, insurer: &str) -> App {
        App {
            store: self.store.for_society(insurer),
            employer_upload_quota: self.employer_upload_quota,
        }
    }

    /// The same application with a daily upload quota for each employer's contacts
    /// (`None`: unlimited, the command line's default). Uploads by the society's staff
    /// are never counted.
    pub fn with_employer_upload_quota(mut self, per_day: Option<i64>) -> App {
        self.employer_upload_quota = per_day;
        self
    }

    pub(crate) fn employer_upload_quota(&self) -> Option<i64> {
        self.employer_upload_quota
    }

    /// The society's 保険者番号.
    pub fn insurer(&self) -> &str {
        self.store.insurer()
    }

    /// Which database.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Closes the database (flushes SQLite's WAL).
    pub async fn close(&self) {
        self.store.close().await;
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Writes one audit record in a transaction of its own (a read's record, committed
    /// before the data is returned).
    pub(crate) async fn audit_alone(
        &self,
        entry: &collabo_domain::audit::AuditEntry,
    ) -> Result<()> {
        let mut tx = self.store.write().await?;
        tx.audit(entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The society's letterhead (no personal data; anyone logged in).
    pub async fn society(&self) -> Result<Society> {
        Ok(self.store.read().await?.society().await?)
    }

    /// The database answers (health check).
    pub async fn healthy(&self) -> bool {
        match self.store.read().await {
            Ok(mut r) => r.society().await.is_ok(),
            Err(_) => false,
        }
    }
}

/// Begins a write transaction (crate-internal shorthand).
pub(crate) async fn write(app: &App) -> Result<Tx> {
    Ok(app.store.write().await?)
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
