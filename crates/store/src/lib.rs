//! The storage adapter: one [`Store`] over SQLite (a file, the embedded default) and
//! PostgreSQL (by URL). It is the only crate that knows SQL, and it keeps no rules:
//! what may be stored, shown or purged is decided in `collabo-domain` and applied by
//! `collabo-app`; this crate persists and reads back typed values.
//!
//! Two handles reach the database:
//! - [`Reader`] ([`Store::read`]): a pooled connection for reads;
//! - [`Tx`] ([`Store::write`]): one write transaction (SQLite `BEGIN IMMEDIATE`, one
//!   writer per process at a time), which derefs to a [`Reader`] so an operation reads
//!   what it is about to change inside its own transaction, and whose
//!   [`Tx::audit`] is the only way to append to the audit log.
//!
//! Every query is written once against a [`Conn`] (a connection of either backend) and
//! expanded per backend by [`on_conn!`], so each is type-checked against its driver.
//! Bulk writes use multi-row `VALUES` because every sqlx statement is a round trip
//! (shared/CRATES.md §3). Nothing here reads the clock: callers pass `now`.

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub mod audit;
pub mod cases;
pub mod consent;
pub mod coverage;
pub mod employer;
pub mod imports;
pub mod joint_use;
pub mod letters;
pub mod marks;
pub mod members;
pub mod portal;
pub mod registers;
pub mod reports;
pub mod retention;
pub mod review;
mod rows;

pub use audit::{AuditRecord, AuditSeal, ChainCheck};

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A database URL that is neither `sqlite:` nor `postgres://`.
    #[error("unsupported database URL {0:?}: use sqlite:PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The SQLite file does not exist and creating it was not asked for.
    #[error("database file {0} does not exist (run `collabo init` first)")]
    Missing(String),
    /// The database driver failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back into the domain.
    #[error("corrupt stored value in {table}.{column}: {detail}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// No society is configured in this database.
    #[error("no society configured: run `collabo init --insurer NUMBER --name NAME`")]
    NoSociety,
    /// Something the caller asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the stored state.
    #[error("{0}")]
    Conflict(String),
    /// The audit anchor file could not be written or read.
    #[error("audit anchor {path}: {source}")]
    Anchor {
        /// The anchor file.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The store of one society (保険者番号) in one database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    insurer: String,
    seal: Arc<AuditSeal>,
    /// One writer at a time in this process (SQLite allows one anyway; queuing here
    /// is fair and never spins on SQLITE_BUSY).
    writer: Arc<tokio::sync::Mutex<()>>,
}

/// A connection of either backend, for one query body written once.
pub enum Conn<'c> {
    /// SQLite.
    Sqlite(&'c mut sqlx::SqliteConnection),
    /// PostgreSQL.
    Postgres(&'c mut sqlx::PgConnection),
}

/// Runs `$body` once per backend with `$c` bound to that backend's `&mut` connection
/// (use `&mut *$c` for each query).
#[macro_export]
#[doc(hidden)]
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::Conn::Sqlite($c) => $body,
            $crate::Conn::Postgres($c) => $body,
        }
    };
}

enum Handle {
    SqlitePool(PoolConnection<Sqlite>),
    PgPool(PoolConnection<Postgres>),
    SqliteTx(Transaction<'static, Sqlite>),
    PgTx(Transaction<'static, Postgres>),
    Closed,
}

/// A handle for reads: a pooled connection, or the transaction of a [`Tx`].
pub struct Reader {
    handle: Handle,
    insurer: String,
}

impl Reader {
    /// The connection for a query.
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match &mut self.handle {
            Handle::SqlitePool(c) => Conn::Sqlite(c),
            Handle::PgPool(c) => Conn::Postgres(c),
            Handle::SqliteTx(t) => Conn::Sqlite(t),
            Handle::PgTx(t) => Conn::Postgres(t),
            // A committed Tx cannot be used again: `commit` takes it by value.
            Handle::Closed => unreachable!("transaction used after commit"),
        }
    }
    /// The society's 保険者番号.
    pub fn insurer(&self) -> &str {
        &self.insurer
    }
    /// Which backend.
    pub fn backend(&self) -> Backend {
        match self.handle {
            Handle::SqlitePool(_) | Handle::SqliteTx(_) => Backend::Sqlite,
            _ => Backend::Postgres,
        }
    }
}

/// One write transaction. Commits in [`Tx::commit`]; dropped without commit it rolls
/// back, so an operation that fails half-way leaves nothing behind.
pub struct Tx {
    reader: Reader,
    seal: Arc<AuditSeal>,
    /// Chain heads appended in this transaction, written to the anchor file after commit.
    anchors: Vec<audit::Anchor>,
    /// PostgreSQL: the society's audit advisory lock is held.
    audit_locked: bool,
    _writer: tokio::sync::OwnedMutexGuard<()>,
}

impl std::ops::Deref for Tx {
    type Target = Reader;
    fn deref(&self) -> &Reader {
        &self.reader
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Reader {
        &mut self.reader
    }
}

impl Tx {
    /// Commits, then anchors the audit chain heads this transaction appended.
    pub async fn commit(mut self) -> Result<()> {
        match std::mem::replace(&mut self.reader.handle, Handle::Closed) {
            Handle::SqliteTx(t) => t.commit().await?,
            Handle::PgTx(t) => t.commit().await?,
            _ => {}
        }
        audit::write_anchors(&self.seal, &self.reader.insurer, &self.anchors)
    }
}

/// A society's letterhead.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Society {
    /// 保険者番号.
    pub insurer: String,
    /// 健康保険組合名.
    pub name: String,
    /// 担当部署.
    pub section: String,
    /// 所在地.
    pub address: String,
    /// 電話.
    pub phone: String,
}

/// Opens a pool for a URL; creates a missing SQLite file only when `create` is set,
/// so a typo in a path never silently makes an empty database.
async fn open_pool(url: &str, create: bool) -> Result<Pool> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.trim_start_matches("//");
        if !create && path != ":memory:" && !std::path::Path::new(path).exists() {
            return Err(StoreError::Missing(path.to_owned()));
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite:{path}"))?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            // A purge overwrites what it deletes, so the file keeps no trace of it.
            .pragma("secure_delete", "on");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Ok(Pool::Sqlite(pool))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
        Ok(Pool::Postgres(pool))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

async fn migrate(pool: &Pool) -> Result<()> {
    match pool {
        Pool::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(p).await?,
        Pool::Postgres(p) => sqlx::migrate!("migrations/postgres").run(p).await?,
    }
    Ok(())
}

impl Store {
    /// Creates (or opens) a database, runs migrations and registers the society.
    pub async fn init(url: &str, society: &Society, seal: AuditSeal) -> Result<Store> {
        let pool = open_pool(url, true).await?;
        migrate(&pool).await?;
        let store = Store {
            pool,
            insurer: society.insurer.clone(),
            seal: Arc::new(seal),
            writer: Arc::new(tokio::sync::Mutex::new(())),
        };
        let mut tx = store.write().await?;
        let s = society;
        on_conn!(tx.conn(), c => {
            sqlx::query(
                "INSERT INTO societies (insurer, name, section, address, phone) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (insurer) DO UPDATE SET name = excluded.name, section = excluded.section,
                 address = excluded.address, phone = excluded.phone",
            )
            .bind(&s.insurer).bind(&s.name).bind(&s.section).bind(&s.address).bind(&s.phone)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await?;
        Ok(store)
    }

    /// Opens an existing database (migrating it forward) for a society; `insurer` may be
    /// omitted when the database serves exactly one.
    pub async fn open(url: &str, insurer: Option<&str>, seal: AuditSeal) -> Result<Store> {
        let pool = open_pool(url, false).await?;
        migrate(&pool).await?;
        let mut store = Store {
            pool,
            insurer: String::new(),
            seal: Arc::new(seal),
            writer: Arc::new(tokio::sync::Mutex::new(())),
        };
        let societies: Vec<(String,)> = {
            let mut r = store.read().await?;
            on_conn!(r.conn(), c => {
                sqlx::query_as("SELECT insurer FROM societies ORDER BY insurer").fetch_all(&mut *c).await?
            })
        };
        store.insurer = match insurer {
            Some(i) if societies.iter().any(|(s,)| s == i) => i.to_owned(),
            Some(i) => return Err(StoreError::NotFound(format!("society {i}"))),
            None if societies.len() == 1 => societies[0].0.clone(),
            None => return Err(StoreError::NoSociety),
        };
        Ok(store)
    }

    /// The same database for another society (several societies in one PostgreSQL).
    pub fn for_society(&self, insurer: &str) -> Store {
        Store {
            insurer: insurer.to_owned(),
            ..self.clone()
        }
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The society's 保険者番号.
    pub fn insurer(&self) -> &str {
        &self.insurer
    }

    /// A pooled connection for reads.
    pub async fn read(&self) -> Result<Reader> {
        let handle = match &self.pool {
            Pool::Sqlite(p) => Handle::SqlitePool(p.acquire().await?),
            Pool::Postgres(p) => Handle::PgPool(p.acquire().await?),
        };
        Ok(Reader {
            handle,
            insurer: self.insurer.clone(),
        })
    }

    /// Begins a write transaction (waits for this process's other writers first).
    pub async fn write(&self) -> Result<Tx> {
        let guard = self.writer.clone().lock_owned().await;
        let handle = match &self.pool {
            // IMMEDIATE takes SQLite's write lock up front: a deferred transaction that
            // reads and then writes fails at once with "busy" when another process's
            // writer got there first, instead of waiting for busy_timeout.
            Pool::Sqlite(p) => Handle::SqliteTx(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Handle::PgTx(p.begin().await?),
        };
        Ok(Tx {
            reader: Reader {
                handle,
                insurer: self.insurer.clone(),
            },
            seal: self.seal.clone(),
            anchors: Vec::new(),
            audit_locked: false,
            _writer: guard,
        })
    }

    /// The key and anchor file of the audit chain.
    pub fn seal(&self) -> &AuditSeal {
        &self.seal
    }

    /// Closes the pool (flushes SQLite's WAL).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    /// Changes the society's letterhead (name, section, address, phone).
    pub async fn update_society(&mut self, s: &Society) -> Result<()> {
        let insurer = self.insurer.clone();
        let n = on_conn!(self.conn(), c => {
            sqlx::query("UPDATE societies SET name = $1, section = $2, address = $3, phone = $4 WHERE insurer = $5")
                .bind(&s.name).bind(&s.section).bind(&s.address).bind(&s.phone).bind(&insurer)
                .execute(&mut *c).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NoSociety);
        }
        Ok(())
    }
}

impl Reader {
    /// The society's letterhead.
    pub async fn society(&mut self) -> Result<Society> {
        let insurer = self.insurer.clone();
        let row: Option<Society> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT insurer, name, section, address, phone FROM societies WHERE insurer = $1")
                .bind(&insurer)
                .fetch_optional(&mut *c)
                .await?
        });
        row.ok_or(StoreError::NoSociety)
    }

    /// Counts rows of a table of this society (tests, reports and the demo).
    pub async fn count(&mut self, table: Table) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE insurer = $1", table.name());
        let insurer = self.insurer.clone();
        let (n,): (i64,) = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&insurer).fetch_one(&mut *c).await?
        });
        Ok(n)
    }

    /// Column names of every table (to prove no column can hold claims details).
    pub async fn schema_columns(&mut self) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = match self.conn() {
            Conn::Sqlite(c) => {
                sqlx::query_as(
                    "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'
                     ORDER BY m.name, p.cid",
                )
                .fetch_all(&mut *c)
                .await?
            }
            Conn::Postgres(c) => {
                sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%'
                     ORDER BY table_name, ordinal_position",
                )
                .fetch_all(&mut *c)
                .await?
            }
        };
        Ok(rows)
    }
}

/// Tables with a per-society row count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Table {
    Members,
    Employers,
    Checkups,
    Referrals,
    ReviewItems,
    Visits,
    Consents,
    Tombstones,
    Cases,
    Imports,
    AuditLog,
    LetterBatches,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Members => "members",
            Table::Employers => "employers",
            Table::Checkups => "checkups",
            Table::Referrals => "referrals",
            Table::ReviewItems => "review_items",
            Table::Visits => "visits",
            Table::Consents => "consents",
            Table::Tombstones => "tombstones",
            Table::Cases => "cases",
            Table::Imports => "imports",
            Table::AuditLog => "audit_log",
            Table::LetterBatches => "letter_batches",
        }
    }
}
