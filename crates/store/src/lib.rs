//! The storage adapter: one [`Store`] facade over SQLite (a file, the embedded default)
//! and PostgreSQL (by URL). It is the only crate that knows SQL.
//!
//! Both backends share SQL text wherever it is portable (`$N` placeholders work on
//! both); the [`on_pool!`] and [`in_tx!`] macros expand one body per backend so each is
//! type-checked against its own driver. Bulk writes use multi-row `VALUES` because every
//! sqlx statement is a round trip (shared/CRATES.md §3). Nothing here reads the clock:
//! callers pass `today`/`now`.

// Row tuples mirror the SELECT lists they decode; naming each one would only add noise.
#![allow(clippy::type_complexity)]

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

pub mod audit;
pub mod cases;
pub mod consent;
pub mod imports;
pub mod letters;
pub mod portal;
pub mod registers;
pub mod reports;
mod rows;

pub use audit::{AuditEntry, AuditRecord, ChainCheck};
pub use imports::{ImportKind, ImportSession, ImportSummary};

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
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The store of one society (保険者番号) in one database.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    pub(crate) insurer: String,
}

/// Runs `$body` once per backend with `$pool` bound to that backend's pool.
#[macro_export]
#[doc(hidden)]
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` in one transaction per backend with `$tx` bound to it; commits when the
/// body succeeds, rolls back when it returns early with `?`.
#[macro_export]
#[doc(hidden)]
macro_rules! in_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite(pool) => {
                // IMMEDIATE takes the write lock up front: a deferred transaction that
                // reads and then writes fails at once with "busy" when another writer
                // got there first, instead of waiting for busy_timeout.
                #[allow(unused_mut)]
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::Pool::Postgres(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// A society's letterhead.
#[derive(Debug, Clone, PartialEq, Eq)]
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
            .pragma("temp_store", "memory");
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
    pub async fn init(url: &str, society: &Society) -> Result<Store> {
        let pool = open_pool(url, true).await?;
        migrate(&pool).await?;
        let store = Store {
            pool,
            insurer: society.insurer.clone(),
        };
        on_pool!(store, p => {
            sqlx::query(
                "INSERT INTO societies (insurer, name, section, address, phone) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (insurer) DO UPDATE SET name = excluded.name, section = excluded.section,
                 address = excluded.address, phone = excluded.phone",
            )
            .bind(&society.insurer)
            .bind(&society.name)
            .bind(&society.section)
            .bind(&society.address)
            .bind(&society.phone)
            .execute(p)
            .await?;
        });
        Ok(store)
    }

    /// Opens an existing database (migrating it forward) for a society; `insurer` may be
    /// omitted when the database serves exactly one.
    pub async fn open(url: &str, insurer: Option<&str>) -> Result<Store> {
        let pool = open_pool(url, false).await?;
        migrate(&pool).await?;
        let mut store = Store {
            pool,
            insurer: String::new(),
        };
        let societies: Vec<(String,)> = on_pool!(store, p => {
            sqlx::query_as("SELECT insurer FROM societies ORDER BY insurer").fetch_all(p).await?
        });
        store.insurer = match insurer {
            Some(i) if societies.iter().any(|(s,)| s == i) => i.to_owned(),
            Some(i) => return Err(StoreError::NotFound(format!("society {i}"))),
            None if societies.len() == 1 => societies[0].0.clone(),
            None => return Err(StoreError::NoSociety),
        };
        Ok(store)
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

    /// The society's letterhead.
    pub async fn society(&self) -> Result<Society> {
        let row: Option<(String, String, String, String, String)> = on_pool!(self, p => {
            sqlx::query_as("SELECT insurer, name, section, address, phone FROM societies WHERE insurer = $1")
                .bind(&self.insurer)
                .fetch_optional(p)
                .await?
        });
        let (insurer, name, section, address, phone) = row.ok_or(StoreError::NoSociety)?;
        Ok(Society {
            insurer,
            name,
            section,
            address,
            phone,
        })
    }

    /// Closes the pool (flushes SQLite's WAL).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    /// Counts rows of a table of this society (for tests, reports and the demo).
    pub async fn count(&self, table: Table) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE insurer = $1", table.name());
        let (n,): (i64,) = on_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&self.insurer).fetch_one(p).await?
        });
        Ok(n)
    }

    /// Column names of every table (to prove no column can hold claims details).
    pub async fn schema_columns(&self) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query_as(
                    "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'
                     ORDER BY m.name, p.cid",
                )
                .fetch_all(p)
                .await?
            }
            Pool::Postgres(p) => {
                sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%'
                     ORDER BY table_name, ordinal_position",
                )
                .fetch_all(p)
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
