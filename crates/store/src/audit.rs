//! The audit log: who did what, to whose data, when, from where. Append-only, keyed and
//! anchored:
//!
//! - each record carries its position in the society's chain (`seq`) and an
//!   HMAC-SHA-256 over the previous record's hash and its own fields (the people it
//!   names included), under a key kept outside the database ([`AuditSeal`]); without
//!   the key a record cannot be edited and the chain recomputed;
//! - after every transaction that appended, the newest (seq, hash) is appended to an
//!   anchor file outside the database; [`Store::verify_audit`] checks every anchor
//!   against the chain, so deleting the newest records is reported too.
//!
//! Records written before the key existed (scheme `sha256`) are verified with plain
//! SHA-256; the first keyed record covers the last of them, and no plain record may
//! follow a keyed one.

use crate::rows::{self, placeholders};
use crate::{Reader, Result, Store, StoreError, Tx, on_conn};
use collabo_domain::audit::{AuditAction, AuditEntry};
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

/// The key of the chain and where its anchors go.
#[derive(Clone)]
pub struct AuditSeal {
    key: Vec<u8>,
    anchor: Option<PathBuf>,
}

impl std::fmt::Debug for AuditSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSeal")
            .field("key", &"<secret>")
            .field("anchor", &self.anchor)
            .finish()
    }
}

impl AuditSeal {
    /// A seal with a key (at least 16 bytes) and an anchor file (`None`: no anchors,
    /// only for tests of the chain itself).
    pub fn new(key: Vec<u8>, anchor: Option<PathBuf>) -> AuditSeal {
        AuditSeal { key, anchor }
    }
    /// The anchor file.
    pub fn anchor_path(&self) -> Option<&std::path::Path> {
        self.anchor.as_deref()
    }
}

/// A chain head written to the anchor file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Anchor {
    seq: i64,
    hash: String,
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Row id.
    pub id: i64,
    /// Position in the society's chain (1, 2, …).
    pub seq: i64,
    /// When.
    pub at: jiff::Timestamp,
    /// Who.
    pub actor: String,
    /// Role code.
    pub role: String,
    /// What (`None` for an action code this version no longer knows).
    pub action: Option<AuditAction>,
    /// The stored action code.
    pub action_code: String,
    /// The people it names.
    pub subjects: Vec<String>,
    /// Which employer.
    pub employer: Option<String>,
    /// Free text.
    pub detail: String,
    /// From where.
    pub origin: String,
}

/// Result of verifying the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    /// Records checked.
    pub records: u64,
    /// The first record (seq) whose hash or link does not verify.
    pub first_broken: Option<i64>,
    /// The newest hash.
    pub head: String,
    /// Anchors compared.
    pub anchors: u64,
    /// The first anchor the chain does not match: (anchored seq, what is wrong).
    pub anchor_mismatch: Option<(i64, String)>,
}

impl ChainCheck {
    /// Nothing was found wrong.
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none() && self.anchor_mismatch.is_none()
    }
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const KEYED: &str = "hmac1";
const PLAIN: &str = "sha256";

struct Fields<'a> {
    seq: i64,
    at: &'a str,
    actor: &'a str,
    role: &'a str,
    action: &'a str,
    subjects: &'a [String],
    employer: &'a str,
    detail: &'a str,
    origin: &'a str,
}

fn keyed_hash(key: &[u8], prev: &str, f: &Fields<'_>) -> String {
    // HMAC accepts keys of any length; a key is always given here.
    let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    let mut subjects: Vec<&str> = f.subjects.iter().map(String::as_str).collect();
    subjects.sort_unstable();
    let subjects = subjects.join("\n");
    let seq = f.seq.to_string();
    for part in [
        prev, &seq, f.at, f.actor, f.role, f.action, &subjects, f.employer, f.detail, f.origin,
    ] {
        mac.update(&(part.len() as u64).to_le_bytes());
        mac.update(part.as_bytes());
    }
    hex::encode(mac.finalize().into_bytes())
}

/// The unkeyed hash of the first version (records before the key existed).
fn plain_hash(prev: &str, f: &Fields<'_>) -> String {
    let mut h = Sha256::new();
    let member = f.subjects.first().map_or("", String::as_str);
    for part in [
        prev, f.at, f.actor, f.role, f.action, member, f.employer, f.detail, f.origin,
    ] {
        h.update(part.len().to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

impl Tx {
    /// Appends one record in this transaction: it commits or rolls back with the
    /// effect it records. The only way to write to the audit log.
    pub async fn audit(&mut self, entry: &AuditEntry) -> Result<()> {
        let insurer = self.reader.insurer.clone();
        if !self.audit_locked {
            if let crate::Conn::Postgres(c) = self.reader.conn() {
                // One chain per society: concurrent writers queue here.
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind(format!("audit:{insurer}"))
                    .execute(&mut *c)
                    .await?;
            }
            self.audit_locked = true;
        }
        let prev: Option<(i64, String)> = on_conn!(self.reader.conn(), c => {
            sqlx::query_as("SELECT seq, hash FROM audit_log WHERE insurer = $1 ORDER BY seq DESC LIMIT 1")
                .bind(&insurer)
                .fetch_optional(&mut *c)
                .await?
        });
        let (prev_seq, prev_hash) = prev.unwrap_or((0, GENESIS.to_owned()));
        let seq = prev_seq + 1;
        let at = entry.at.to_string();
        let employer = entry.employer.clone().unwrap_or_default();
        let fields = Fields {
            seq,
            at: &at,
            actor: &entry.actor,
            role: &entry.role,
            action: entry.action.code(),
            subjects: &entry.subjects,
            employer: &employer,
            detail: &entry.detail,
            origin: &entry.origin,
        };
        let hash = keyed_hash(&self.seal.key, &prev_hash, &fields);
        let (id,): (i64,) = on_conn!(self.reader.conn(), c => {
            sqlx::query_as(
                "INSERT INTO audit_log (insurer, at, actor, role, action, member_key, employer_code, detail, origin, prev_hash, hash, scheme, seq)
                 VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            )
            .bind(&insurer).bind(&at).bind(&entry.actor).bind(&entry.role).bind(entry.action.code())
            .bind(&entry.employer).bind(&entry.detail).bind(&entry.origin).bind(&prev_hash).bind(&hash)
            .bind(KEYED).bind(seq)
            .fetch_one(&mut *c)
            .await?
        });
        for chunk in entry.subjects.chunks(500) {
            on_conn!(self.reader.conn(), c => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO audit_subjects (audit_id, insurer, member_key) ");
                qb.push_values(chunk, |mut b, key| {
                    b.push_bind(id).push_bind(insurer.clone()).push_bind(key.clone());
                });
                qb.build().execute(&mut *c).await?;
            });
        }
        self.anchors.push(Anchor { seq, hash });
        Ok(())
    }
}

/// Appends the newest head of a committed transaction to the anchor file.
pub(crate) fn write_anchors(seal: &AuditSeal, insurer: &str, anchors: &[Anchor]) -> Result<()> {
    let (Some(path), Some(last)) = (&seal.anchor, anchors.last()) else {
        return Ok(());
    };
    let fail = |source| StoreError::Anchor {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    // One line per write: appends of concurrent processes do not interleave.
    file.write_all(format!("{insurer}\t{}\t{}\n", last.seq, last.hash).as_bytes())
        .map_err(fail)
}

fn read_anchors(seal: &AuditSeal, insurer: &str) -> Result<Vec<Anchor>> {
    let Some(path) = &seal.anchor else {
        return Ok(Vec::new());
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(StoreError::Anchor {
                path: path.display().to_string(),
                source,
            });
        }
    };
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let (i, seq, hash) = (parts.next()?, parts.next()?, parts.next()?);
            (i == insurer).then(|| Anchor {
                seq: seq.parse().unwrap_or(-1),
                hash: hash.to_owned(),
            })
        })
        .collect())
}

/// A filter for reading the log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this actor.
    pub actor: Option<String>,
    /// Only actions whose code starts with this.
    pub action_prefix: Option<String>,
    /// Only records naming this person.
    pub member_key: Option<String>,
    /// Only on or after this instant.
    pub since: Option<jiff::Timestamp>,
    /// Only before this instant.
    pub until: Option<jiff::Timestamp>,
    /// At most this many, newest first (500 when 0).
    pub limit: i64,
    /// Skip this many (paging).
    pub offset: i64,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    seq: i64,
    at: String,
    actor: String,
    role: String,
    action: String,
    member_key: Option<String>,
    employer_code: Option<String>,
    detail: String,
    origin: String,
    prev_hash: String,
    hash: String,
    scheme: String,
}

const AUDIT_COLUMNS: &str = "id, seq, at, actor, role, action, member_key, employer_code, detail, origin, prev_hash, hash, scheme";

impl Reader {
    async fn subjects_of(&mut self, ids: &[i64]) -> Result<BTreeMap<i64, Vec<String>>> {
        let mut out: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT audit_id, member_key FROM audit_subjects WHERE audit_id IN ({}) ORDER BY audit_id, member_key",
                placeholders(1, chunk.len())
            );
            let rows: Vec<(i64, String)> = on_conn!(self.conn(), c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(&mut *c).await?
            });
            for (id, key) in rows {
                out.entry(id).or_default().push(key);
            }
        }
        Ok(out)
    }

    fn record(row: AuditRow, subjects: Vec<String>) -> Result<AuditRecord> {
        let subjects = if row.scheme == PLAIN {
            row.member_key.into_iter().collect()
        } else {
            subjects
        };
        Ok(AuditRecord {
            id: row.id,
            seq: row.seq,
            at: rows::timestamp("audit_log", "at", &row.at)?,
            actor: row.actor,
            role: row.role,
            action: AuditAction::from_code(&row.action),
            action_code: row.action,
            subjects,
            employer: row.employer_code,
            detail: row.detail,
            origin: row.origin,
        })
    }

    /// Reads the log, newest first, with the total matching the filter.
    pub async fn audit_records(&mut self, filter: &AuditFilter) -> Result<(Vec<AuditRecord>, i64)> {
        let limit = if filter.limit <= 0 { 500 } else { filter.limit };
        let mut sql = String::from(" FROM audit_log WHERE insurer = $1");
        let mut binds: Vec<String> = vec![self.insurer.clone()];
        let mut add = |sql: &mut String, clause: &str, value: String| {
            binds.push(value);
            sql.push_str(&clause.replace("$?", &format!("${}", binds.len())));
        };
        if let Some(a) = &filter.actor {
            add(&mut sql, " AND actor = $?", a.clone());
        }
        if let Some(a) = &filter.action_prefix {
            add(&mut sql, " AND action LIKE $? || '%'", a.clone());
        }
        if let Some(m) = &filter.member_key {
            add(
                &mut sql,
                " AND (member_key = $? OR id IN (SELECT audit_id FROM audit_subjects WHERE insurer = $1 AND member_key = $?))",
                m.clone(),
            );
        }
        if let Some(t) = filter.since {
            add(&mut sql, " AND at >= $?", t.to_string());
        }
        if let Some(t) = filter.until {
            add(&mut sql, " AND at < $?", t.to_string());
        }
        let count_sql = format!("SELECT COUNT(*){sql}");
        let select = format!(
            "SELECT {AUDIT_COLUMNS}{sql} ORDER BY seq DESC LIMIT {limit} OFFSET {}",
            filter.offset.max(0)
        );
        let (total,): (i64,) = on_conn!(self.conn(), c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(count_sql));
            for b in &binds {
                q = q.bind(b.clone());
            }
            q.fetch_one(&mut *c).await?
        });
        let found: Vec<AuditRow> = on_conn!(self.conn(), c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(select));
            for b in &binds {
                q = q.bind(b.clone());
            }
            q.fetch_all(&mut *c).await?
        });
        let ids: Vec<i64> = found.iter().map(|r| r.id).collect();
        let mut subjects = self.subjects_of(&ids).await?;
        let records = found
            .into_iter()
            .map(|r| {
                let s = subjects.remove(&r.id).unwrap_or_default();
                Reader::record(r, s)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((records, total))
    }
}

impl Store {
    /// Recomputes the chain from the first record and compares it with every anchor.
    pub async fn verify_audit(&self) -> Result<ChainCheck> {
        let mut reader = self.read().await?;
        let insurer = self.insurer().to_owned();
        let mut check = ChainCheck {
            records: 0,
            first_broken: None,
            head: GENESIS.to_owned(),
            anchors: 0,
            anchor_mismatch: None,
        };
        let mut hashes: BTreeMap<i64, String> = BTreeMap::new();
        let mut prev = GENESIS.to_owned();
        let mut expected_seq = 1;
        let mut keyed_seen = false;
        let mut after = 0i64;
        loop {
            let page: Vec<AuditRow> = on_conn!(reader.conn(), c => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE insurer = $1 AND seq > $2 ORDER BY seq LIMIT 5000"
                )))
                .bind(&insurer)
                .bind(after)
                .fetch_all(&mut *c)
                .await?
            });
            let Some(last) = page.last() else { break };
            after = last.seq;
            let ids: Vec<i64> = page.iter().map(|r| r.id).collect();
            let mut subjects = reader.subjects_of(&ids).await?;
            for row in page {
                check.records += 1;
                let subjects = if row.scheme == PLAIN {
                    row.member_key.iter().cloned().collect()
                } else {
                    subjects.remove(&row.id).unwrap_or_default()
                };
                let employer = row.employer_code.clone().unwrap_or_default();
                let fields = Fields {
                    seq: row.seq,
                    at: &row.at,
                    actor: &row.actor,
                    role: &row.role,
                    action: &row.action,
                    subjects: &subjects,
                    employer: &employer,
                    detail: &row.detail,
                    origin: &row.origin,
                };
                let expected = match row.scheme.as_str() {
                    KEYED => {
                        keyed_seen = true;
                        keyed_hash(&self.seal().key, &prev, &fields)
                    }
                    // A plain record after a keyed one is a forgery.
                    PLAIN if !keyed_seen => plain_hash(&prev, &fields),
                    _ => String::new(),
                };
                if check.first_broken.is_none()
                    && (row.prev_hash != prev || row.hash != expected || row.seq != expected_seq)
                {
                    check.first_broken = Some(row.seq);
                }
                expected_seq = row.seq + 1;
                prev = row.hash.clone();
                hashes.insert(row.seq, row.hash);
            }
        }
        check.head = prev;
        let newest = hashes.keys().next_back().copied().unwrap_or(0);
        for anchor in read_anchors(self.seal(), &insurer)? {
            check.anchors += 1;
            if check.anchor_mismatch.is_some() {
                continue;
            }
            match hashes.get(&anchor.seq) {
                Some(h) if *h == anchor.hash => {}
                Some(_) => {
                    check.anchor_mismatch = Some((
                        anchor.seq,
                        "この位置の記録がアンカーに保管した記録と異なる".into(),
                    ));
                }
                None => {
                    check.anchor_mismatch = Some((
                        anchor.seq,
                        format!(
                            "記録が No.{newest} で終わっている（それより後の記録が削除された）"
                        ),
                    ));
                }
            }
        }
        Ok(check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(subjects: &'a [String]) -> Fields<'a> {
        Fields {
            seq: 1,
            at: "2026-01-01T00:00:00Z",
            actor: "a",
            role: "staff",
            action: "member.view",
            subjects,
            employer: "",
            detail: "",
            origin: "cli",
        }
    }

    #[test]
    fn the_keyed_hash_depends_on_the_key_and_on_every_subject() {
        let s1 = ["06130012:1:1:00".to_owned(), "06130012:1:2:00".to_owned()];
        let s2 = ["06130012:1:1:00".to_owned()];
        let a = keyed_hash(b"key-one-key-one-", GENESIS, &fields(&s1));
        assert_ne!(a, keyed_hash(b"key-two-key-two-", GENESIS, &fields(&s1)));
        assert_ne!(a, keyed_hash(b"key-one-key-one-", GENESIS, &fields(&s2)));
        let reversed = [s1[1].clone(), s1[0].clone()];
        assert_eq!(
            a,
            keyed_hash(b"key-one-key-one-", GENESIS, &fields(&reversed))
        );
    }
}
