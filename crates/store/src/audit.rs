//! The audit log: who did what, to whose data, when, from where. Append-only and
//! hash-chained: each record's hash covers the previous record's hash, so editing or
//! deleting a record breaks the chain at that point ([`Store::verify_audit`]).
//!
//! Limitation: removing the newest records is only detected against an anchor kept
//! elsewhere (the head hash printed by `collabo audit verify`).

use crate::{Result, Store, on_pool};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// One thing to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// User name (or `cli:<os user>`).
    pub actor: String,
    /// Role code.
    pub role: String,
    /// Dotted action, e.g. `member.view`, `import.checkups`, `consent.record`.
    pub action: String,
    /// Whose personal data, if any.
    pub member_key: Option<String>,
    /// Which employer, if any.
    pub employer_code: Option<String>,
    /// Free text (never health values).
    pub detail: String,
    /// Client address or `cli`.
    pub origin: String,
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Sequence.
    pub id: i64,
    /// When (RFC 3339).
    pub at: String,
    /// The entry.
    pub entry: AuditEntry,
    /// Hash of the previous record.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// Result of verifying the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    /// Records checked.
    pub records: u64,
    /// The first record whose hash or link does not verify.
    pub first_broken: Option<i64>,
    /// The newest hash (keep it elsewhere as an anchor).
    pub head: String,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn hash(prev: &str, at: &str, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        at,
        &e.actor,
        &e.role,
        &e.action,
        e.member_key.as_deref().unwrap_or(""),
        e.employer_code.as_deref().unwrap_or(""),
        &e.detail,
        &e.origin,
    ] {
        h.update(part.len().to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

macro_rules! append_fn {
    ($name:ident, $conn:ty) => {
        /// Appends inside an open transaction (imports and purges audit atomically).
        pub(crate) async fn $name(
            conn: &mut $conn,
            insurer: &str,
            entry: &AuditEntry,
            now: jiff::Timestamp,
        ) -> Result<()> {
            let prev: Option<(String,)> = sqlx::query_as(
                "SELECT hash FROM audit_log WHERE insurer = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(insurer)
            .fetch_optional(&mut *conn)
            .await?;
            let prev = prev.map_or_else(|| GENESIS.to_owned(), |(h,)| h);
            let at = now.to_string();
            let this = hash(&prev, &at, entry);
            sqlx::query(
                "INSERT INTO audit_log (insurer, at, actor, role, action, member_key, employer_code, detail, origin, prev_hash, hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(insurer)
            .bind(at)
            .bind(&entry.actor)
            .bind(&entry.role)
            .bind(&entry.action)
            .bind(&entry.member_key)
            .bind(&entry.employer_code)
            .bind(&entry.detail)
            .bind(&entry.origin)
            .bind(prev)
            .bind(this)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
    };
}
append_fn!(append_sqlite, sqlx::SqliteConnection);
append_fn!(append_pg, sqlx::PgConnection);

/// Appends inside an open transaction of either backend.
macro_rules! append_in_tx {
    ($tx:expr, $insurer:expr, $entry:expr, $now:expr) => {
        match &mut $tx {
            $crate::imports::Tx::Sqlite(t) => {
                $crate::audit::append_sqlite(&mut **t, $insurer, $entry, $now).await?
            }
            $crate::imports::Tx::Postgres(t) => {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind(format!("audit:{}", $insurer))
                    .execute(&mut **t)
                    .await?;
                $crate::audit::append_pg(&mut **t, $insurer, $entry, $now).await?
            }
        }
    };
}
pub(crate) use append_in_tx;

type AuditRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    String,
);

fn record(row: AuditRow) -> AuditRecord {
    let (id, at, actor, role, action, member_key, employer_code, detail, origin, prev_hash, hash) =
        row;
    AuditRecord {
        id,
        at,
        entry: AuditEntry {
            actor,
            role,
            action,
            member_key,
            employer_code,
            detail,
            origin,
        },
        prev_hash,
        hash,
    }
}

/// A filter for reading the log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this actor.
    pub actor: Option<String>,
    /// Only actions starting with this.
    pub action_prefix: Option<String>,
    /// Only about this member.
    pub member_key: Option<String>,
    /// At most this many, newest first.
    pub limit: i64,
}

impl Store {
    /// Appends one record. In PostgreSQL an advisory lock per society keeps the chain
    /// linear under concurrent writers; SQLite serialises writers itself.
    pub async fn audit(&self, entry: &AuditEntry, now: jiff::Timestamp) -> Result<()> {
        let insurer = self.insurer.clone();
        match &self.pool {
            crate::Pool::Sqlite(p) => {
                // IMMEDIATE: concurrent appends queue on the write lock instead of
                // failing with "busy" after reading the previous hash.
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                append_sqlite(&mut tx, &insurer, entry, now).await?;
                tx.commit().await?;
            }
            crate::Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind(format!("audit:{insurer}"))
                    .execute(&mut *tx)
                    .await?;
                append_pg(&mut tx, &insurer, entry, now).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Reads the log, newest first.
    pub async fn audit_records(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let limit = if filter.limit <= 0 { 500 } else { filter.limit };
        let rows: Vec<AuditRow> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, at, actor, role, action, member_key, employer_code, detail, origin, prev_hash, hash
                 FROM audit_log WHERE insurer = $1
                   AND ($2 = '' OR actor = $2)
                   AND ($3 = '' OR action LIKE $3 || '%')
                   AND ($4 = '' OR member_key = $4)
                 ORDER BY id DESC LIMIT $5",
            )
            .bind(&self.insurer)
            .bind(filter.actor.clone().unwrap_or_default())
            .bind(filter.action_prefix.clone().unwrap_or_default())
            .bind(filter.member_key.clone().unwrap_or_default())
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        Ok(rows.into_iter().map(record).collect())
    }

    /// Recomputes the chain from the first record.
    pub async fn verify_audit(&self) -> Result<ChainCheck> {
        let rows: Vec<AuditRow> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, at, actor, role, action, member_key, employer_code, detail, origin, prev_hash, hash
                 FROM audit_log WHERE insurer = $1 ORDER BY id",
            )
            .bind(&self.insurer)
            .fetch_all(p)
            .await?
        });
        let mut prev = GENESIS.to_owned();
        let mut check = ChainCheck {
            records: 0,
            first_broken: None,
            head: GENESIS.to_owned(),
        };
        for row in rows {
            let r = record(row);
            check.records += 1;
            let expected = hash(&prev, &r.at, &r.entry);
            if check.first_broken.is_none() && (r.prev_hash != prev || r.hash != expected) {
                check.first_broken = Some(r.id);
            }
            prev = r.hash.clone();
            check.head = r.hash;
        }
        Ok(check)
    }
}
