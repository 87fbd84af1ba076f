//! Consent records, tombstones and the execution of an opt-out purge. What a purge
//! removes is decided by `collabo_domain::consent::PurgePlan`; this module deletes
//! exactly that, inside the caller's transaction (with the consent record, the stopped
//! cases and the audit record).

use crate::rows::{self, to_json};
use crate::{Reader, Result, Tx, on_conn};
use collabo_domain::Date;
use collabo_domain::case::CaseEvent;
use collabo_domain::consent::{
    ConsentChannel, ConsentKind, ConsentRecord, ConsentScope, PurgePlan, ReviewRowsToPurge,
};
use collabo_domain::ids::MemberKey;
use collabo_domain::member::Member;

/// What a purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Employer-submitted checkups deleted.
    pub checkups: u64,
    /// Referral rows deleted.
    pub referrals: u64,
    /// Review rows naming the person deleted.
    pub review_rows: u64,
    /// Case events whose values were dropped.
    pub case_values: u64,
    /// A tombstone was written.
    pub tombstone: bool,
    /// Open cases stopped (filled in by the caller).
    pub cases_stopped: u64,
    /// Letters taken out of unmailed batches (filled in by the caller).
    pub letters_withdrawn: u64,
}

/// A consent record as stored, with when it was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConsent {
    /// The record.
    pub record: ConsentRecord,
    /// When it was recorded.
    pub recorded_at: jiff::Timestamp,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConsentRow {
    member_key: String,
    kind: String,
    scope: String,
    effective: String,
    channel: String,
    recorded_by: String,
    recorded_at: String,
}

impl ConsentRow {
    pub(crate) fn into_stored(self) -> Result<StoredConsent> {
        Ok(StoredConsent {
            record: ConsentRecord {
                member: rows::member_key("consents", &self.member_key)?,
                kind: rows::code("consents", "kind", &self.kind, ConsentKind::from_code)?,
                scope: rows::code("consents", "scope", &self.scope, ConsentScope::from_code)?,
                effective: rows::date("consents", "effective", &self.effective)?,
                channel: rows::code(
                    "consents",
                    "channel",
                    &self.channel,
                    ConsentChannel::from_code,
                )?,
                recorded_by: self.recorded_by,
            },
            recorded_at: rows::timestamp("consents", "recorded_at", &self.recorded_at)?,
        })
    }
}

pub(crate) const CONSENT_COLUMNS: &str =
    "member_key, kind, scope, effective, channel, recorded_by, recorded_at";

impl Tx {
    /// Stores a consent record.
    pub async fn insert_consent(
        &mut self,
        record: &ConsentRecord,
        at: jiff::Timestamp,
    ) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO consents (insurer, member_key, kind, scope, effective, channel, recorded_by, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&insurer).bind(record.member.to_key_string()).bind(record.kind.code()).bind(record.scope.code())
            .bind(record.effective.to_string()).bind(record.channel.code()).bind(&record.recorded_by)
            .bind(at.to_string())
            .execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Deletes what `plan` says for `member` and writes its tombstone (from `since`).
    pub async fn purge(
        &mut self,
        member: &Member,
        plan: &PurgePlan,
        since: Date,
        at: jiff::Timestamp,
    ) -> Result<PurgeReport> {
        let insurer = self.insurer.clone();
        let key = member.key.to_key_string();
        let mut report = PurgeReport::default();
        if plan.employer_checkups {
            report.checkups = on_conn!(self.conn(), c => {
                sqlx::query("DELETE FROM checkups WHERE insurer = $1 AND member_key = $2 AND source = 'employer'")
                    .bind(&insurer).bind(&key).execute(&mut *c).await?.rows_affected()
            });
        }
        if plan.referrals {
            report.referrals = on_conn!(self.conn(), c => {
                sqlx::query("DELETE FROM referrals WHERE insurer = $1 AND member_key = $2")
                    .bind(&insurer).bind(&key).execute(&mut *c).await?.rows_affected()
            });
        }
        if let Some(which) = plan.review_rows {
            // A row names the person by its 枝番, or without one by 記号番号 + 生年月日
            // (collabo_domain::admission::names_member); resolved rows by their member.
            let card = format!(
                "{}:{}:{}:",
                member.key.insurer, member.key.symbol, member.key.number
            );
            let kinds = match which {
                ReviewRowsToPurge::All => "",
                ReviewRowsToPurge::Referrals => " AND kind = 'referrals'",
            };
            let sql = format!(
                "DELETE FROM review_items WHERE insurer = $1 AND (subject = $2 OR (subject = $3 AND birth_date = $4) OR resolved_member_key = $2){kinds}"
            );
            report.review_rows = on_conn!(self.conn(), c => {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&insurer).bind(&key).bind(&card).bind(member.birth_date.to_string())
                    .execute(&mut *c).await?.rows_affected()
            });
        }
        if plan.case_values {
            let events: Vec<(String, i64, String)> = on_conn!(self.conn(), c => {
                sqlx::query_as(
                    "SELECT e.case_key, e.seq, e.payload FROM case_events e JOIN cases c ON c.case_key = e.case_key
                     WHERE c.insurer = $1 AND c.member_key = $2 AND e.kind = 'identified'",
                )
                .bind(&insurer).bind(&key).fetch_all(&mut *c).await?
            });
            for (case_key, seq, payload) in events {
                let event: CaseEvent = rows::json("case_events", "payload", &payload)?;
                let stripped = event.without_values();
                if stripped == event {
                    continue;
                }
                on_conn!(self.conn(), c => {
                    sqlx::query("UPDATE case_events SET payload = $1 WHERE case_key = $2 AND seq = $3")
                        .bind(to_json(&stripped)).bind(&case_key).bind(seq)
                        .execute(&mut *c).await?;
                });
                report.case_values += 1;
            }
        }
        if let Some(scope) = plan.tombstone {
            on_conn!(self.conn(), c => {
                // A wider tombstone is never narrowed: an opt-out of C after one of all
                // joint use keeps `all`.
                sqlx::query(
                    "INSERT INTO tombstones (member_key, insurer, since, scope, purged_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (member_key) DO UPDATE SET since = excluded.since, purged_at = excluded.purged_at,
                       scope = CASE WHEN tombstones.scope = 'all' THEN 'all' ELSE excluded.scope END",
                )
                .bind(&key).bind(&insurer).bind(since.to_string()).bind(scope.code()).bind(at.to_string())
                .execute(&mut *c).await?;
            });
            report.tombstone = true;
        }
        Ok(report)
    }
}

impl Reader {
    /// A member's consent records, oldest first.
    pub async fn consents_of(&mut self, member: &MemberKey) -> Result<Vec<StoredConsent>> {
        let insurer = self.insurer.clone();
        let found: Vec<ConsentRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {CONSENT_COLUMNS} FROM consents WHERE insurer = $1 AND member_key = $2 ORDER BY id"
            )))
            .bind(&insurer).bind(member.to_key_string()).fetch_all(&mut *c).await?
        });
        found.into_iter().map(ConsentRow::into_stored).collect()
    }

    /// Every consent record of the society, newest first (the opt-out register; a
    /// society records thousands, not millions).
    pub async fn all_consents(&mut self) -> Result<Vec<StoredConsent>> {
        let insurer = self.insurer.clone();
        let found: Vec<ConsentRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {CONSENT_COLUMNS} FROM consents WHERE insurer = $1 ORDER BY id DESC"
            )))
            .bind(&insurer).fetch_all(&mut *c).await?
        });
        found.into_iter().map(ConsentRow::into_stored).collect()
    }

    /// Consent records of several members, by member key text, oldest first.
    pub async fn consents_of_members(
        &mut self,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<ConsentRecord>>> {
        let mut out: std::collections::HashMap<String, Vec<ConsentRecord>> =
            std::collections::HashMap::new();
        let insurer = self.insurer.clone();
        for chunk in keys.chunks(400) {
            let sql = format!(
                "SELECT {CONSENT_COLUMNS} FROM consents WHERE insurer = $1 AND member_key IN ({}) ORDER BY id",
                rows::placeholders(2, chunk.len())
            );
            let found: Vec<ConsentRow> = on_conn!(self.conn(), c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(insurer.clone());
                for k in chunk {
                    q = q.bind(k.clone());
                }
                q.fetch_all(&mut *c).await?
            });
            for row in found {
                let stored = row.into_stored()?;
                out.entry(stored.record.member.to_key_string())
                    .or_default()
                    .push(stored.record);
            }
        }
        Ok(out)
    }
}
