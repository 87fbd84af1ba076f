//! Consent records and the opt-out purge. An opt-out of all joint use deletes the data
//! employers sent about the person (checkups they submitted, referral rows, open review
//! rows naming them), keeps a tombstone (member, date, scope) so later submissions are
//! excluded, and stops every open case at once. An opt-out of programme C deletes the
//! referral rows only. Everything happens in one transaction with its audit record.

use crate::audit::{AuditEntry, append_pg, append_sqlite};
use crate::imports::Actor;
use crate::{Pool, Result, Store, StoreError};
use collabo_domain::Date;
use collabo_domain::case::{CaseEvent, Outcome};
use collabo_domain::consent::{ConsentKind, ConsentRecord, ConsentScope};
use collabo_domain::programme::ProgrammeCode;

/// What an opt-out removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Employer-submitted checkups deleted.
    pub checkups: u64,
    /// Referral rows deleted.
    pub referrals: u64,
    /// Open cases stopped.
    pub cases_stopped: u64,
    /// A tombstone was written.
    pub tombstone: bool,
}

macro_rules! purge_body {
    ($tx:expr, $store:expr, $record:expr, $now:expr, $report:expr) => {{
        let key = $record.member.to_key_string();
        sqlx::query(
            "INSERT INTO consents (insurer, member_key, kind, scope, effective, channel, recorded_by, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&$store.insurer).bind(&key).bind($record.kind.code()).bind($record.scope.code())
        .bind($record.effective.to_string()).bind($record.channel.code()).bind(&$record.recorded_by)
        .bind($now.to_string())
        .execute(&mut *$tx).await?;
        if $record.kind == ConsentKind::OptOut {
            let all = $record.scope == ConsentScope::All;
            if all {
                $report.checkups = sqlx::query("DELETE FROM checkups WHERE insurer = $1 AND member_key = $2 AND source = 'employer'")
                    .bind(&$store.insurer).bind(&key).execute(&mut *$tx).await?.rows_affected();
            }
            if all || $record.scope == ConsentScope::Programme(ProgrammeCode::C) {
                $report.referrals = sqlx::query("DELETE FROM referrals WHERE insurer = $1 AND member_key = $2")
                    .bind(&$store.insurer).bind(&key).execute(&mut *$tx).await?.rows_affected();
                sqlx::query(
                    "INSERT INTO tombstones (member_key, insurer, since, scope, purged_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (member_key) DO UPDATE SET since = excluded.since, scope = excluded.scope, purged_at = excluded.purged_at",
                )
                .bind(&key).bind(&$store.insurer).bind($record.effective.to_string()).bind($record.scope.code()).bind($now.to_string())
                .execute(&mut *$tx).await?;
                $report.tombstone = true;
            }
        }
    }};
}

impl Store {
    /// Records a consent decision; an opt-out purges and stops cases (see module docs).
    pub async fn record_consent(
        &self,
        record: &ConsentRecord,
        actor: &Actor,
        today: Date,
        now: jiff::Timestamp,
    ) -> Result<PurgeReport> {
        let key = record.member.to_key_string();
        if self.member(&key).await?.is_none() {
            return Err(StoreError::NotFound(format!("member {}", record.member)));
        }
        let mut report = PurgeReport::default();
        let entry = AuditEntry {
            actor: actor.name.clone(),
            role: actor.role.clone(),
            action: "consent.record".into(),
            member_key: Some(key.clone()),
            employer_code: None,
            detail: format!(
                "{} {} from {} via {}",
                record.kind.code(),
                record.scope.code(),
                record.effective,
                record.channel.code()
            ),
            origin: actor.origin.clone(),
        };
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                purge_body!(tx, self, record, now, report);
                append_sqlite(&mut tx, &self.insurer, &entry, now).await?;
                tx.commit().await?;
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                purge_body!(tx, self, record, now, report);
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind(format!("audit:{}", self.insurer))
                    .execute(&mut *tx)
                    .await?;
                append_pg(&mut tx, &self.insurer, &entry, now).await?;
                tx.commit().await?;
            }
        }
        if record.kind == ConsentKind::OptOut && record.effective <= today {
            let open = self.cases(None, None, Some(&key), 10_000).await?;
            let stop: Vec<(String, CaseEvent)> = open
                .into_iter()
                .filter(|c| crate::cases::state_is_open(&c.state))
                .filter(|c| match record.scope {
                    ConsentScope::All => true,
                    ConsentScope::Programme(p) => c.programme == p,
                })
                .map(|c| (c.case_key, CaseEvent::Closed(Outcome::StoppedOptOut)))
                .collect();
            report.cases_stopped = self.append_events(today, &stop).await?;
        }
        Ok(report)
    }

    /// A member's consent records, oldest first.
    pub async fn consents_of(
        &self,
        member_key: &str,
    ) -> Result<Vec<(String, String, String, String, String)>> {
        let rows: Vec<(String, String, String, String, String)> = on_pool!(self, p => {
            sqlx::query_as("SELECT kind, scope, effective, channel, recorded_by FROM consents WHERE insurer = $1 AND member_key = $2 ORDER BY id")
                .bind(&self.insurer).bind(member_key).fetch_all(p).await?
        });
        Ok(rows)
    }
}
use crate::on_pool;
