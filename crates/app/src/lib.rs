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
//! - [`retention`]: records past their retention (実施基準 第10条), listed and disposed of;
//! - [`joint_use`]: the 共同利用 declaration employers read under;
//! - [`audit`]: the audit log and its verification.

use collabo_domain::Date;
use collabo_domain::problem::ProblemKind;
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
pub mod joint_use;
pub mod letters;
pub mod members;
pub mod registers;
pub mod reports;
pub mod retention;
pub mod review;
pub mod scoring;
pub mod tabular;

pub use collabo_domain::actor::{Actor, Denied};
pub use collabo_domain::admission::ImportSummary;
pub use collabo_store::{Backend, Society};

/// One problem on one row of an input file: where (file, physical line or Excel row,
/// column), who when the row names someone, and what, as a typed code with its
/// Japanese text (`message` is that text, for pages that show it as it is).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowProblem {
    /// File name (as uploaded or given, never a server path).
    pub file: String,
    /// 1-based physical line of a CSV file (title rows and the header counted, LF or
    /// CRLF) or the row number in Excel.
    pub line: u64,
    /// Column or field name.
    pub field: String,
    /// What is wrong.
    pub kind: ProblemKind,
    /// The Japanese sentence of `kind`.
    pub message: String,
    /// The person the row names (記号-番号-枝番 氏名), when the row says.
    pub person: Option<String>,
}

impl RowProblem {
    /// A problem at `line` of `file` in column `field`.
    pub fn new(file: &str, line: u64, field: &str, kind: ProblemKind) -> RowProblem {
        RowProblem {
            file: file.to_owned(),
            line,
            field: field.to_owned(),
            message: kind.to_string(),
            kind,
            person: None,
        }
    }
    /// The same problem naming the row's person.
    pub fn about(mut self, person: Option<String>) -> RowProblem {
        self.person = person;
        self
    }
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}行目 「{}」: {}", self.line, self.field, self.message)?;
        if let Some(person) = &self.person {
            write!(f, "（{person}）")?;
        }
        Ok(())
    }
}

/// What a file given as a list turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum OtherForm {
    /// A 特定健診 archive or XML document.
    CheckupArchive,
    /// A claims (UKE) file.
    Claims,
    /// A list or register (CSV/XLSX) where a checkup file was expected.
    List,
}

impl OtherForm {
    /// Where such a file goes, for the person who sent it.
    pub fn advice(self) -> &'static str {
        match self {
            OtherForm::CheckupArchive => {
                "特定健診結果のファイル（XMLアーカイブ）です。「特定健診結果の提出」から提出してください。"
            }
            OtherForm::Claims => {
                "レセプト（UKE）ファイルです。レセプトの取込から読み込んでください。"
            }
            OtherForm::List => {
                "一覧表（CSV/Excel）です。要精密検査者リストや加入者台帳はそれぞれの提出・取込から提出してください。"
            }
        }
    }
}

/// Why an import stored nothing. Every message is Japanese, names the file once and
/// the line or row where one is known.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be read.
    #[error("{file} を読めません（{}）。", io_reason(source))]
    Io {
        /// File.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not UTF-8 nor Shift_JIS.
    #[error("{file} の文字コードが読めません。UTF-8 または Shift_JIS の CSV で保存してください。")]
    Encoding {
        /// File.
        file: String,
    },
    /// Structurally broken (CSV quoting, XLSX container, XML, UKE).
    #[error("{file}{}: {message}。", at_line(*line))]
    Malformed {
        /// File (and archive member).
        file: String,
        /// Line, 0 when unknown.
        line: u64,
        /// What is wrong, in Japanese.
        message: String,
    },
    /// No header row.
    #[error("{file} は空です（見出しの行がありません）。")]
    Empty {
        /// File.
        file: String,
    },
    /// A required column is missing.
    #[error(
        "{file}: 必須の列「{column}」がありません。見出しの行に「{column}」の列を入れてください。"
    )]
    MissingColumn {
        /// File.
        file: String,
        /// Column.
        column: String,
    },
    /// Another kind of file than the one asked for.
    #[error("{file} はこの提出の様式ではありません。{}", form.advice())]
    WrongForm {
        /// File.
        file: String,
        /// What it is.
        form: OtherForm,
    },
    /// A claims (UKE) file the reader refused; its message names file, line and
    /// record.
    #[error("{message}")]
    Claims {
        /// The reader's message.
        message: String,
    },
    /// Rows with bad fields; nothing was imported.
    #[error("{} に {} 件の誤りがあるため、取り込みませんでした（1行も登録していません）:\n{}", problems.first().map_or("", |p| p.file.as_str()), problems.len(), render_problems(problems))]
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
        text.push(format!("  ほか {} 件", problems.len() - 50));
    }
    text.join("\n")
}

fn at_line(line: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" {line}行目")
    }
}

/// Why a file could not be read, in Japanese (no path: the file is named beside it).
fn io_reason(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => "ファイルが見つかりません",
        std::io::ErrorKind::PermissionDenied => "読む権限がありません",
        std::io::ErrorKind::IsADirectory => "フォルダです",
        _ => "読み込み中にエラーが起きました",
    }
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

/// A counter an import advances as it reads (bytes of a claims file, records of a
/// checkup file), for a progress bar; clones share the count.
#[derive(Debug, Clone, Default)]
pub struct Progress(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Progress {
    /// What was read so far.
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Advances the count.
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
    /// A reader that counts the bytes read through it.
    pub(crate) fn reader<R: std::io::Read>(&self, inner: R) -> CountingReader<R> {
        CountingReader {
            inner,
            progress: self.clone(),
        }
    }
}

/// A reader advancing a [`Progress`] by the bytes it reads.
pub(crate) struct CountingReader<R> {
    inner: R,
    progress: Progress,
}

impl<R: std::io::Read> std::io::Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.add(n as u64);
        Ok(n)
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
    /// The register's card index for claims matching, with the register generation it
    /// was read at (valid until the next register import; see `claims`).
    card_index: claims::CardIndexCache,
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
            card_index: Default::default(),
        })
    }

    /// Opens an existing database; `insurer` may be omitted when it serves one society.
    pub async fn open(url: &str, insurer: Option<&str>, data: &Path) -> Result<App> {
        let seal = DataDir(data.to_owned()).seal(false)?;
        Ok(App {
            store: Store::open(url, insurer, seal).await?,
            employer_upload_quota: None,
            card_index: Default::default(),
        })
    }

    /// The same database for another society (several societies in one PostgreSQL).
    pub fn for_society(&self, insurer: &str) -> App {
        App {
            store: self.store.for_society(insurer),
            employer_upload_quota: self.employer_upload_quota,
            card_index: Default::default(),
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

/// Parses a date as employers write it: `2026-06-05`, `2026/6/5`, `20260605`, 和暦
/// `令和8年6月5日` or `R8.6.5`, an Excel serial; the error is the Japanese sentence.
pub fn parse_date(text: &str) -> Result<Date, String> {
    parse_cell_date(text).map_err(|kind| kind.to_string())
}

/// A date cell of a list or register ([`collabo_domain::calendar::parse_cell_date`]),
/// its problem typed.
pub fn parse_cell_date(text: &str) -> Result<Date, ProblemKind> {
    if text.trim().is_empty() {
        return Err(ProblemKind::Required);
    }
    collabo_domain::calendar::parse_cell_date(text).map_err(|e| ProblemKind::of_date(text, &e))
}

/// The SHA-256 of a file's bytes (hex), its identity for idempotent imports.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
