//! Imports: every file is one transaction (all-or-nothing) recorded by its content hash
//! (importing the same file twice changes nothing). Rows are matched to the register
//! here; rows that do not match cleanly go to the review queue, rows of people who
//! opted out are excluded and counted, claims that match nobody are counted.

use crate::audit::{self, AuditEntry};
use crate::rows::{self, MEMBER_COLUMNS, MemberRow, to_json};
use crate::{Pool, Result, Store, StoreError, on_pool};
use collabo_domain::calendar::YearMonth;
use collabo_domain::checkup::{CheckupSource, Observation, Questionnaire};
use collabo_domain::ids::{Branch, CardNumber, EmployerCode, InsurerNumber, MemberKey, Symbol};
use collabo_domain::matching::{MatchOutcome, ReviewReason, SubmittedPerson, match_person};
use collabo_domain::member::{Member, Sex};
use collabo_domain::referral::CancerType;
use collabo_domain::visit::{Evidence, ServiceTime};
use collabo_domain::{Date, calendar};
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, QueryBuilder, Sqlite, Transaction};
use std::collections::{BTreeMap, HashMap, HashSet};

/// What kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportKind {
    /// 資格 register.
    Members,
    /// 特定健診 results.
    Checkups,
    /// 要精密検査 lists.
    Referrals,
    /// Claims (UKE).
    Claims,
    /// Opt-out/opt-in records in bulk.
    Consents,
}

impl ImportKind {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            ImportKind::Members => "members",
            ImportKind::Checkups => "checkups",
            ImportKind::Referrals => "referrals",
            ImportKind::Claims => "claims",
            ImportKind::Consents => "consents",
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// The import's id (0 when it was a repeat of an earlier import).
    pub import_id: i64,
    /// The same file was imported before: nothing changed.
    pub already_imported: bool,
    /// Rows read.
    pub rows: u64,
    /// Rows stored.
    pub stored: u64,
    /// Rows already present (same person and date).
    pub duplicates: u64,
    /// Rows sent to the review queue.
    pub to_review: u64,
    /// Rows of people who opted out (not stored).
    pub excluded_opted_out: u64,
    /// Referral rows received after 翌々月末.
    pub late: u64,
    /// Claims that matched no member (counted, never guessed).
    pub unmatched: u64,
    /// Service months marked complete.
    pub months_covered: Vec<String>,
    /// Unknown checkup item codes and how often they were seen.
    pub unknown_items: BTreeMap<String, u64>,
}

/// A checkup row before matching.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingCheckup {
    /// Line or record number in the file (for the review queue).
    pub line: u64,
    /// The 保険者番号 the row names, if it names one; must be this society's.
    pub insurer: Option<InsurerNumber>,
    /// Who, as submitted.
    pub person: SubmittedPerson,
    /// 健診実施日.
    pub exam_date: Date,
    /// Employer or society dock.
    pub source: CheckupSource,
    /// Observations.
    pub observations: Vec<Observation>,
    /// 問診.
    pub questionnaire: Questionnaire,
    /// Unknown item codes kept as they were.
    pub unknown_items: Vec<String>,
}

/// A 要精密検査 row before matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingReferral {
    /// Line in the file.
    pub line: u64,
    /// Who, as submitted.
    pub person: SubmittedPerson,
    /// がん検診の種類.
    pub cancer: CancerType,
    /// 検診実施年月日.
    pub screening_date: Date,
    /// The employer attests the person's consent (同意) on this row.
    pub consent_attested: bool,
}

/// A claim's identity as the claims file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimIdentity {
    /// 保険者番号.
    pub insurer: InsurerNumber,
    /// 記号.
    pub symbol: Symbol,
    /// 番号.
    pub number: CardNumber,
    /// 枝番 (absent on claims from before 2021).
    pub branch: Option<Branch>,
    /// 生年月日 from RE.
    pub birth_date: Date,
    /// 性別 from RE.
    pub sex: Sex,
}

/// A reduced claim before matching: visit facts only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingVisit {
    /// Who.
    pub identity: ClaimIdentity,
    /// When.
    pub time: ServiceTime,
    /// 医療機関コード.
    pub institution: String,
    /// Groups evidenced.
    pub evidence: std::collections::BTreeSet<Evidence>,
}

pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$conn` bound to the session transaction's connection.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match &mut $tx {
            Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// One import in progress: a transaction that commits in [`ImportSession::finish`] and
/// rolls back when dropped.
pub struct ImportSession {
    tx: Tx,
    store: Store,
    kind: ImportKind,
    employer: Option<EmployerCode>,
    received_on: Date,
    summary: ImportSummary,
    file_name: String,
    actor: String,
    now: jiff::Timestamp,
    tombstones: HashSet<String>,
}

/// Rows per multi-row INSERT (well under SQLite's 32766 bound parameters).
const CHUNK: usize = 400;

/// Who started an import, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    /// User name.
    pub name: String,
    /// Role code.
    pub role: String,
    /// Address or `cli`.
    pub origin: String,
}

impl Store {
    /// Starts an import of a file with content hash `sha256`. Returns the summary of the
    /// earlier import instead when the same file was imported before.
    #[allow(clippy::too_many_arguments)]
    pub async fn begin_import(
        &self,
        kind: ImportKind,
        file_name: &str,
        sha256: &str,
        employer: Option<&EmployerCode>,
        actor: &Actor,
        received_on: Date,
        now: jiff::Timestamp,
    ) -> Result<std::result::Result<ImportSession, ImportSummary>> {
        let previous: Option<(i64, String)> = on_pool!(self, p => {
            sqlx::query_as("SELECT id, summary FROM imports WHERE insurer = $1 AND kind = $2 AND sha256 = $3")
                .bind(&self.insurer).bind(kind.code()).bind(sha256)
                .fetch_optional(p).await?
        });
        if let Some((id, summary)) = previous {
            let mut summary: ImportSummary = rows::json("imports", "summary", &summary)?;
            summary.import_id = id;
            summary.already_imported = true;
            return Ok(Err(summary));
        }
        let mut tx = match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        };
        let (import_id,): (i64,) = on_tx!(tx, c => {
            sqlx::query_as(
                "INSERT INTO imports (insurer, kind, file_name, sha256, employer_code, imported_at, actor, summary)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, '{}') RETURNING id",
            )
            .bind(&self.insurer).bind(kind.code()).bind(file_name).bind(sha256)
            .bind(employer.map(|e| e.as_str().to_owned()))
            .bind(now.to_string()).bind(&actor.name)
            .fetch_one(c).await?
        });
        let tombstones: Vec<(String,)> = on_tx!(tx, c => {
            sqlx::query_as("SELECT member_key FROM tombstones WHERE insurer = $1 AND (scope = 'all' OR scope = $2)")
                .bind(&self.insurer)
                .bind(if kind == ImportKind::Referrals { "C" } else { "all" })
                .fetch_all(c).await?
        });
        Ok(Ok(ImportSession {
            tx,
            store: self.clone(),
            kind,
            employer: employer.cloned(),
            received_on,
            summary: ImportSummary {
                import_id,
                ..ImportSummary::default()
            },
            file_name: file_name.to_owned(),
            actor: format!("{}\u{1f}{}\u{1f}{}", actor.name, actor.role, actor.origin),
            now,
            tombstones: tombstones.into_iter().map(|(k,)| k).collect(),
        }))
    }
}

impl ImportSession {
    /// The summary so far.
    pub fn summary(&self) -> &ImportSummary {
        &self.summary
    }

    /// Members a row could be: the exact key when the row names a 枝番 (a primary-key
    /// lookup), else every member with the 記号番号.
    async fn candidates(
        &mut self,
        cards: &[(String, String, Option<String>)],
    ) -> Result<Vec<Member>> {
        let mut found = Vec::new();
        let insurer = self.store.insurer.clone();
        let mut keys: Vec<String> = Vec::new();
        let mut bare: Vec<(&String, &String)> = Vec::new();
        for (symbol, number, branch) in cards {
            match branch {
                Some(b) => keys.push(format!("{insurer}:{symbol}:{number}:{b}")),
                None => bare.push((symbol, number)),
            }
        }
        keys.sort();
        keys.dedup();
        bare.sort();
        bare.dedup();
        for chunk in keys.chunks(CHUNK) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 1)).collect();
            let sql = format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE member_key IN ({})",
                placeholders.join(", ")
            );
            let rows: Vec<MemberRow> = on_tx!(self.tx, c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
                for key in chunk {
                    q = q.bind(key.clone());
                }
                q.fetch_all(c).await?
            });
            for row in rows {
                found.push(rows::member(row)?);
            }
        }
        for chunk in bare.chunks(CHUNK) {
            let mut sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE insurer = $1 AND (");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(" OR ");
                }
                sql.push_str(&format!(
                    "(symbol = ${} AND number = ${})",
                    2 * i + 2,
                    2 * i + 3
                ));
            }
            sql.push(')');
            let rows: Vec<MemberRow> = on_tx!(self.tx, c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(insurer.clone());
                for (symbol, number) in chunk {
                    q = q.bind((*symbol).clone()).bind((*number).clone());
                }
                q.fetch_all(c).await?
            });
            for row in rows {
                found.push(rows::member(row)?);
            }
        }
        Ok(found)
    }

    async fn queue_review(
        &mut self,
        line: u64,
        payload: String,
        reason: ReviewReason,
    ) -> Result<()> {
        let insurer = self.store.insurer.clone();
        let import_id = self.summary.import_id;
        let employer = self.employer.as_ref().map(|e| e.as_str().to_owned());
        let kind = self.kind.code();
        on_tx!(self.tx, c => {
            sqlx::query(
                "INSERT INTO review_items (insurer, import_id, kind, employer_code, line, payload, reason, status)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'open')",
            )
            .bind(insurer).bind(import_id).bind(kind).bind(employer)
            .bind(i64::try_from(line).unwrap_or(i64::MAX)).bind(payload).bind(reason.code())
            .execute(c).await?;
        });
        self.summary.to_review += 1;
        Ok(())
    }

    /// Matches submitted people; employer submissions must be the employer's own members.
    async fn match_rows(&mut self, people: &[&SubmittedPerson]) -> Result<Vec<MatchOutcome>> {
        let cards: Vec<(String, String, Option<String>)> = people
            .iter()
            .map(|p| {
                (
                    p.symbol.as_str().to_owned(),
                    p.number.as_str().to_owned(),
                    p.branch.as_ref().map(|b| b.as_str().to_owned()),
                )
            })
            .collect();
        let members = self.candidates(&cards).await?;
        let mut by_card: HashMap<(&str, &str), Vec<&Member>> = HashMap::new();
        for m in &members {
            by_card
                .entry((m.key.symbol.as_str(), m.key.number.as_str()))
                .or_default()
                .push(m);
        }
        Ok(people
            .iter()
            .map(|p| {
                let candidates = by_card
                    .get(&(p.symbol.as_str(), p.number.as_str()))
                    .cloned()
                    .unwrap_or_default();
                match match_person(p, &candidates) {
                    MatchOutcome::Matched(key) => {
                        let member_employer = candidates
                            .iter()
                            .find(|m| m.key == key)
                            .map(|m| &m.employer);
                        match (&self.employer, member_employer) {
                            (Some(submitter), Some(own)) if submitter != own => {
                                MatchOutcome::Review(ReviewReason::OtherEmployer)
                            }
                            _ => MatchOutcome::Matched(key),
                        }
                    }
                    review => review,
                }
            })
            .collect())
    }

    /// Decides what happens to a matched or unmatched employer row: the member's key
    /// when it may be stored; `None` when the person opted out (counted, dropped) or the
    /// row went to the review queue. The one place the opt-out exclusion is applied to
    /// submitted rows.
    async fn admit(
        &mut self,
        outcome: MatchOutcome,
        line: u64,
        payload: impl FnOnce() -> String,
    ) -> Result<Option<MemberKey>> {
        match outcome {
            MatchOutcome::Matched(key) if self.tombstones.contains(&key.to_key_string()) => {
                self.summary.excluded_opted_out += 1;
                Ok(None)
            }
            MatchOutcome::Matched(key) => Ok(Some(key)),
            MatchOutcome::Review(reason) => {
                self.queue_review(line, payload(), reason).await?;
                Ok(None)
            }
        }
    }

    /// Adds (or updates) register rows.
    pub async fn add_members(&mut self, members: &[Member]) -> Result<()> {
        let insurer = self.store.insurer.clone();
        for chunk in members.chunks(CHUNK / 2) {
            self.summary.rows += chunk.len() as u64;
            on_tx!(self.tx, c => {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO members (member_key, insurer, symbol, number, branch, name_kanji, name_kana, sex, birth_date,
                     postal_code, address1, address2, employer_code, qualified_from, qualified_until) ",
                );
                qb.push_values(chunk, |mut b, m| {
                    b.push_bind(m.key.to_key_string())
                        .push_bind(insurer.clone())
                        .push_bind(m.key.symbol.as_str().to_owned())
                        .push_bind(m.key.number.as_str().to_owned())
                        .push_bind(m.key.branch.as_str().to_owned())
                        .push_bind(m.name_kanji.clone())
                        .push_bind(m.name_kana.clone())
                        .push_bind(m.sex.code())
                        .push_bind(m.birth_date.to_string())
                        .push_bind(m.address.postal_code.clone())
                        .push_bind(m.address.line1.clone())
                        .push_bind(m.address.line2.clone())
                        .push_bind(m.employer.as_str().to_owned())
                        .push_bind(m.qualified_from.to_string())
                        .push_bind(m.qualified_until.map(|d| d.to_string()));
                });
                qb.push(
                    " ON CONFLICT (member_key) DO UPDATE SET name_kanji = excluded.name_kanji, name_kana = excluded.name_kana,
                     sex = excluded.sex, birth_date = excluded.birth_date, postal_code = excluded.postal_code,
                     address1 = excluded.address1, address2 = excluded.address2, employer_code = excluded.employer_code,
                     qualified_from = excluded.qualified_from, qualified_until = excluded.qualified_until",
                );
                qb.build().execute(c).await?;
            });
            self.summary.stored += chunk.len() as u64;
        }
        Ok(())
    }

    /// Adds checkup rows: matched ones are stored, others queued for review.
    pub async fn add_checkups(&mut self, rows_in: &[IncomingCheckup]) -> Result<()> {
        for chunk in rows_in.chunks(CHUNK) {
            self.summary.rows += chunk.len() as u64;
            let people: Vec<&SubmittedPerson> = chunk.iter().map(|r| &r.person).collect();
            let outcomes = self.match_rows(&people).await?;
            let mut matched = Vec::new();
            for (row, outcome) in chunk.iter().zip(outcomes) {
                for code in &row.unknown_items {
                    *self.summary.unknown_items.entry(code.clone()).or_default() += 1;
                }
                if row
                    .insurer
                    .as_ref()
                    .is_some_and(|i| i.as_str() != self.store.insurer)
                {
                    self.queue_review(row.line, checkup_payload(row), ReviewReason::NotFound)
                        .await?;
                    continue;
                }
                if let Some(key) = self
                    .admit(outcome, row.line, || checkup_payload(row))
                    .await?
                {
                    matched.push((key, row));
                }
            }
            self.insert_checkups(&matched).await?;
        }
        Ok(())
    }

    pub(crate) async fn insert_checkups(
        &mut self,
        matched: &[(MemberKey, &IncomingCheckup)],
    ) -> Result<()> {
        if matched.is_empty() {
            return Ok(());
        }
        let insurer = self.store.insurer.clone();
        let import_id = self.summary.import_id;
        let employer = self.employer.as_ref().map(|e| e.as_str().to_owned());
        let result = on_tx!(self.tx, c => {
            let mut qb = QueryBuilder::new(
                "INSERT INTO checkups (insurer, member_key, exam_date, source, submitted_by, import_id, observations, questionnaire, unknown_items) ",
            );
            qb.push_values(matched, |mut b, (key, row)| {
                b.push_bind(insurer.clone())
                    .push_bind(key.to_key_string())
                    .push_bind(row.exam_date.to_string())
                    .push_bind(row.source.code())
                    .push_bind(employer.clone())
                    .push_bind(import_id)
                    .push_bind(to_json(&row.observations))
                    .push_bind(to_json(&row.questionnaire))
                    .push_bind(to_json(&row.unknown_items));
            });
            qb.push(" ON CONFLICT (member_key, exam_date, source) DO NOTHING");
            qb.build().execute(c).await?.rows_affected()
        });
        self.summary.stored += result;
        self.summary.duplicates += matched.len() as u64 - result;
        Ok(())
    }

    /// Adds 要精密検査 rows submitted by the session's employer.
    pub async fn add_referrals(&mut self, rows_in: &[IncomingReferral]) -> Result<()> {
        let employer = self.employer.clone().ok_or_else(|| {
            StoreError::Conflict("a referral list needs the submitting employer".into())
        })?;
        for chunk in rows_in.chunks(CHUNK) {
            self.summary.rows += chunk.len() as u64;
            let people: Vec<&SubmittedPerson> = chunk.iter().map(|r| &r.person).collect();
            let outcomes = self.match_rows(&people).await?;
            let mut matched = Vec::new();
            for (row, outcome) in chunk.iter().zip(outcomes) {
                if let Some(key) = self
                    .admit(outcome, row.line, || referral_payload(row))
                    .await?
                {
                    matched.push((key, row));
                }
            }
            self.insert_referrals(&employer, &matched).await?;
        }
        Ok(())
    }

    pub(crate) async fn insert_referrals(
        &mut self,
        employer: &EmployerCode,
        matched: &[(MemberKey, &IncomingReferral)],
    ) -> Result<()> {
        if matched.is_empty() {
            return Ok(());
        }
        let insurer = self.store.insurer.clone();
        let import_id = self.summary.import_id;
        let received = self.received_on;
        let late_flags: Vec<bool> = matched
            .iter()
            .map(|(_, r)| {
                calendar::yokuyokugetsumatsu(r.screening_date).is_ok_and(|due| received > due)
            })
            .collect();
        let result = on_tx!(self.tx, c => {
            let mut qb = QueryBuilder::new(
                "INSERT INTO referrals (insurer, member_key, employer_code, cancer, screening_date, received_on, consent_attested, late, import_id) ",
            );
            qb.push_values(matched.iter().zip(&late_flags), |mut b, ((key, row), late)| {
                b.push_bind(insurer.clone())
                    .push_bind(key.to_key_string())
                    .push_bind(employer.as_str().to_owned())
                    .push_bind(row.cancer.code())
                    .push_bind(row.screening_date.to_string())
                    .push_bind(received.to_string())
                    .push_bind(i64::from(row.consent_attested))
                    .push_bind(i64::from(*late))
                    .push_bind(import_id);
            });
            qb.push(" ON CONFLICT (member_key, cancer, screening_date) DO NOTHING");
            qb.build().execute(c).await?.rows_affected()
        });
        self.summary.stored += result;
        self.summary.duplicates += matched.len() as u64 - result;
        self.summary.late += late_flags.iter().filter(|l| **l).count() as u64;
        Ok(())
    }

    /// Adds reduced claims: matched to members by 記号番号 (+ 枝番 when present), checked
    /// against 生年月日 and sex; claims that match nobody are only counted.
    pub async fn add_visits(&mut self, visits: &[IncomingVisit]) -> Result<()> {
        for chunk in visits.chunks(CHUNK) {
            self.summary.rows += chunk.len() as u64;
            let cards: Vec<(String, String, Option<String>)> = chunk
                .iter()
                .filter(|v| v.identity.insurer.as_str() == self.store.insurer)
                .map(|v| {
                    (
                        v.identity.symbol.as_str().to_owned(),
                        v.identity.number.as_str().to_owned(),
                        v.identity.branch.as_ref().map(|b| b.as_str().to_owned()),
                    )
                })
                .collect();
            let members = self.candidates(&cards).await?;
            let mut by_card: HashMap<(&str, &str), Vec<&Member>> = HashMap::new();
            for m in &members {
                by_card
                    .entry((m.key.symbol.as_str(), m.key.number.as_str()))
                    .or_default()
                    .push(m);
            }
            let mut matched: Vec<(String, &IncomingVisit)> = Vec::new();
            for v in chunk {
                let id = &v.identity;
                let fits: Vec<&&Member> = by_card
                    .get(&(id.symbol.as_str(), id.number.as_str()))
                    .map(|c| c.iter().collect::<Vec<_>>())
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|m| id.branch.as_ref().is_none_or(|b| &m.key.branch == b))
                    .filter(|m| m.birth_date == id.birth_date && m.sex == id.sex)
                    .collect();
                match fits.as_slice() {
                    [one] if id.insurer.as_str() == self.store.insurer => {
                        let key = one.key.to_key_string();
                        if self.tombstones.contains(&key) {
                            // Claims are the society's own data; an opt-out stops cases
                            // but the visit fact is still needed for no one: drop it.
                            self.summary.excluded_opted_out += 1;
                        } else {
                            matched.push((key, v));
                        }
                    }
                    _ => self.summary.unmatched += 1,
                }
            }
            if matched.is_empty() {
                continue;
            }
            let insurer = self.store.insurer.clone();
            let import_id = self.summary.import_id;
            on_tx!(self.tx, c => {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO visits (insurer, member_key, service_day, service_month, institution, evidence, import_id) ",
                );
                qb.push_values(&matched, |mut b, (key, v)| {
                    let day = match v.time {
                        ServiceTime::Day(d) => Some(d.to_string()),
                        ServiceTime::Month(_) => None,
                    };
                    b.push_bind(insurer.clone())
                        .push_bind(key.clone())
                        .push_bind(day)
                        .push_bind(v.time.month().to_string())
                        .push_bind(v.institution.clone())
                        .push_bind(to_json(&v.evidence))
                        .push_bind(import_id);
                });
                qb.build().execute(c).await?;
            });
            self.summary.stored += matched.len() as u64;
        }
        Ok(())
    }

    /// Counts claims the reader could not even identify as unmatched.
    pub fn count_unmatched(&mut self, n: u64) {
        self.summary.unmatched += n;
    }

    /// Marks service months complete (claims coverage for the claims-lag rule).
    pub async fn add_coverage(&mut self, months: &[YearMonth]) -> Result<()> {
        let insurer = self.store.insurer.clone();
        let import_id = self.summary.import_id;
        for m in months {
            on_tx!(self.tx, c => {
                sqlx::query(
                    "INSERT INTO claims_coverage (insurer, month, import_id) VALUES ($1, $2, $3)
                     ON CONFLICT (insurer, month) DO NOTHING",
                )
                .bind(insurer.clone()).bind(m.to_string()).bind(import_id)
                .execute(c).await?;
            });
            self.summary.months_covered.push(m.to_string());
        }
        Ok(())
    }

    pub(crate) async fn mark_review_resolved(
        &mut self,
        id: i64,
        member: &MemberKey,
        by: &str,
        now: jiff::Timestamp,
    ) -> Result<()> {
        on_tx!(self.tx, c => {
            sqlx::query("UPDATE review_items SET status = 'resolved', resolved_member_key = $1, resolved_by = $2, resolved_at = $3 WHERE id = $4")
                .bind(member.to_key_string()).bind(by).bind(now.to_string()).bind(id)
                .execute(c).await?;
        });
        Ok(())
    }

    /// Writes the summary and the audit record, and commits.
    pub async fn finish(mut self) -> Result<ImportSummary> {
        let summary_json = to_json(&self.summary);
        let import_id = self.summary.import_id;
        on_tx!(self.tx, c => {
            sqlx::query("UPDATE imports SET summary = $1 WHERE id = $2")
                .bind(summary_json).bind(import_id).execute(c).await?;
        });
        let mut parts = self.actor.split('\u{1f}');
        let entry = AuditEntry {
            actor: parts.next().unwrap_or_default().to_owned(),
            role: parts.next().unwrap_or_default().to_owned(),
            origin: parts.next().unwrap_or_default().to_owned(),
            action: format!("import.{}", self.kind.code()),
            member_key: None,
            employer_code: self.employer.as_ref().map(|e| e.as_str().to_owned()),
            detail: format!(
                "{}: rows {}, stored {}, review {}, excluded {}, unmatched {}",
                self.file_name,
                self.summary.rows,
                self.summary.stored,
                self.summary.to_review,
                self.summary.excluded_opted_out,
                self.summary.unmatched
            ),
        };
        let insurer = self.store.insurer.clone();
        let now = self.now;
        audit::append_in_tx!(self.tx, &insurer, &entry, now);
        match self.tx {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(self.summary)
    }
}

fn checkup_payload(row: &IncomingCheckup) -> String {
    to_json(&serde_json::json!({
        "symbol": row.person.symbol.as_str(),
        "number": row.person.number.as_str(),
        "branch": row.person.branch.as_ref().map(|b| b.as_str()),
        "name": row.person.name,
        "birth_date": row.person.birth_date.to_string(),
        "exam_date": row.exam_date.to_string(),
        "source": row.source.code(),
        "observations": row.observations,
        "questionnaire": row.questionnaire,
        "unknown_items": row.unknown_items,
    }))
}

fn referral_payload(row: &IncomingReferral) -> String {
    to_json(&serde_json::json!({
        "symbol": row.person.symbol.as_str(),
        "number": row.person.number.as_str(),
        "branch": row.person.branch.as_ref().map(|b| b.as_str()),
        "name": row.person.name,
        "birth_date": row.person.birth_date.to_string(),
        "cancer": row.cancer.code(),
        "screening_date": row.screening_date.to_string(),
        "consent_attested": row.consent_attested,
    }))
}
