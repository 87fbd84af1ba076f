//! Registers: employers, memoranda (覚書), members, and the review queue.

use crate::imports::{IncomingCheckup, IncomingReferral};
use crate::rows::{self, MEMBER_COLUMNS, MemberRow};
use crate::{Result, Store, StoreError, on_pool};
use collabo_domain::Date;
use collabo_domain::employer::{Agreement, AgreementStatus, Employer};
use collabo_domain::ids::{EmployerCode, MemberKey};
use collabo_domain::member::Member;
use collabo_domain::programme::ProgrammeCode;

pub(crate) async fn load_agreements(store: &Store) -> Result<Vec<Agreement>> {
    let rows: Vec<(i64, String, String, String, Option<String>, Option<String>)> = on_pool!(store, p => {
        sqlx::query_as("SELECT id, employer_code, programme, status, signed_on, ended_on FROM agreements WHERE insurer = $1 ORDER BY id")
            .bind(&store.insurer).fetch_all(p).await?
    });
    rows.into_iter()
        .map(|(_, employer, programme, status, signed, ended)| {
            Ok(Agreement {
                employer: EmployerCode::parse(&employer)
                    .map_err(|e| rows::corrupt("agreements", "employer_code", e))?,
                programme: ProgrammeCode::from_letter(&programme)
                    .ok_or_else(|| rows::corrupt("agreements", "programme", &programme))?,
                status: AgreementStatus::from_code(&status)
                    .ok_or_else(|| rows::corrupt("agreements", "status", &status))?,
                signed_on: rows::opt_date("agreements", "signed_on", signed.as_deref())?,
                ended_on: rows::opt_date("agreements", "ended_on", ended.as_deref())?,
            })
        })
        .collect()
}

/// A review-queue item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewItem {
    /// Id.
    pub id: i64,
    /// `checkups` or `referrals`.
    pub kind: String,
    /// Submitting employer.
    pub employer_code: Option<String>,
    /// Import it came from.
    pub import_id: i64,
    /// Line in the file.
    pub line: i64,
    /// The submitted row (JSON).
    pub payload: String,
    /// Reason code.
    pub reason: String,
    /// open / resolved / rejected.
    pub status: String,
}

impl Store {
    /// Adds or updates an employer.
    pub async fn upsert_employer(&self, e: &Employer) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO employers (insurer, code, name, contact) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (insurer, code) DO UPDATE SET name = excluded.name, contact = excluded.contact",
            )
            .bind(&self.insurer).bind(e.code.as_str()).bind(&e.name).bind(&e.contact)
            .execute(p).await?;
        });
        Ok(())
    }

    /// Every employer.
    pub async fn employers(&self) -> Result<Vec<Employer>> {
        let rows: Vec<(String, String, String)> = on_pool!(self, p => {
            sqlx::query_as("SELECT code, name, contact FROM employers WHERE insurer = $1 ORDER BY code")
                .bind(&self.insurer).fetch_all(p).await?
        });
        rows.into_iter()
            .map(|(code, name, contact)| {
                Ok(Employer {
                    code: EmployerCode::parse(&code)
                        .map_err(|e| rows::corrupt("employers", "code", e))?,
                    name,
                    contact,
                })
            })
            .collect()
    }

    /// Records a memorandum application (申込中), or a signed one when `signed_on` is given.
    pub async fn add_agreement(&self, a: &Agreement) -> Result<i64> {
        let (id,): (i64,) = on_pool!(self, p => {
            sqlx::query_as(
                "INSERT INTO agreements (insurer, employer_code, programme, status, signed_on, ended_on)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(&self.insurer).bind(a.employer.as_str()).bind(a.programme.letter()).bind(a.status.code())
            .bind(a.signed_on.map(|d| d.to_string())).bind(a.ended_on.map(|d| d.to_string()))
            .fetch_one(p).await?
        });
        Ok(id)
    }

    /// Signs (締結) or ends (解約) a memorandum.
    pub async fn set_agreement_status(
        &self,
        id: i64,
        status: AgreementStatus,
        on: Date,
    ) -> Result<()> {
        let n = on_pool!(self, p => {
            match status {
                AgreementStatus::Signed => sqlx::query("UPDATE agreements SET status = $1, signed_on = $2 WHERE id = $3 AND insurer = $4"),
                AgreementStatus::Ended => sqlx::query("UPDATE agreements SET status = $1, ended_on = $2 WHERE id = $3 AND insurer = $4"),
                AgreementStatus::Applied => sqlx::query("UPDATE agreements SET status = $1, signed_on = NULL WHERE id = $3 AND insurer = $4 AND $2 = $2"),
            }
            .bind(status.code()).bind(on.to_string()).bind(id).bind(&self.insurer)
            .execute(p).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("agreement {id}")));
        }
        Ok(())
    }

    /// Agreements with their ids.
    pub async fn agreements_with_ids(&self) -> Result<Vec<(i64, Agreement)>> {
        let ids: Vec<(i64,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT id FROM agreements WHERE insurer = $1 ORDER BY id").bind(&self.insurer).fetch_all(p).await?
        });
        let agreements = load_agreements(self).await?;
        Ok(ids.into_iter().map(|(i,)| i).zip(agreements).collect())
    }

    /// Members of an employer (paged by member key).
    pub async fn members_of(
        &self,
        employer: &EmployerCode,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Member>> {
        let rows: Vec<MemberRow> = on_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE insurer = $1 AND employer_code = $2 AND member_key > $3 ORDER BY member_key LIMIT $4"
            )))
            .bind(&self.insurer).bind(employer.as_str()).bind(after).bind(limit)
            .fetch_all(p).await?
        });
        rows.into_iter().map(rows::member).collect()
    }

    /// Members whose name (kanji or kana) contains `text`, or whose 記号番号 is `text`.
    pub async fn search_members(&self, text: &str, limit: i64) -> Result<Vec<Member>> {
        let like = format!("%{}%", text.trim());
        let rows: Vec<MemberRow> = on_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE insurer = $1 AND (name_kanji LIKE $2 OR name_kana LIKE $2 OR symbol || '-' || number = $3)
                 ORDER BY member_key LIMIT $4"
            )))
            .bind(&self.insurer).bind(like).bind(text.trim()).bind(limit)
            .fetch_all(p).await?
        });
        rows.into_iter().map(rows::member).collect()
    }

    /// Open (or all) review items.
    pub async fn review_items(&self, only_open: bool) -> Result<Vec<ReviewItem>> {
        let rows: Vec<(
            i64,
            String,
            Option<String>,
            i64,
            i64,
            String,
            String,
            String,
        )> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, kind, employer_code, import_id, line, payload, reason, status FROM review_items
                 WHERE insurer = $1 AND ($2 = 0 OR status = 'open') ORDER BY id",
            )
            .bind(&self.insurer).bind(i64::from(only_open))
            .fetch_all(p).await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(id, kind, employer_code, import_id, line, payload, reason, status)| ReviewItem {
                    id,
                    kind,
                    employer_code,
                    import_id,
                    line,
                    payload,
                    reason,
                    status,
                },
            )
            .collect())
    }

    /// Resolves a review item by naming the member it is about: the row is stored as if
    /// it had matched, and the decision is audited.
    pub async fn resolve_review(
        &self,
        id: i64,
        member: &MemberKey,
        actor: &crate::imports::Actor,
        now: jiff::Timestamp,
        today: Date,
    ) -> Result<()> {
        let item = self
            .review_items(true)
            .await?
            .into_iter()
            .find(|i| i.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("open review item {id}")))?;
        let m = self
            .member(&member.to_key_string())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("member {member}")))?;
        if let Some(employer) = &item.employer_code
            && m.employer.as_str() != employer
        {
            return Err(StoreError::Conflict(format!(
                "member {member} is not insured through employer {employer}"
            )));
        }
        let payload: serde_json::Value = rows::json("review_items", "payload", &item.payload)?;
        let mut session = match self
            .begin_import(
                crate::ImportKind::Checkups,
                &format!("review item {id}"),
                &format!("review:{id}"),
                item.employer_code
                    .as_deref()
                    .map(EmployerCode::parse)
                    .transpose()
                    .map_err(|e| rows::corrupt("review_items", "employer_code", e))?
                    .as_ref(),
                actor,
                today,
                now,
            )
            .await?
        {
            Ok(s) => s,
            Err(_) => {
                return Err(StoreError::Conflict(format!(
                    "review item {id} was already resolved"
                )));
            }
        };
        let text = |k: &str| {
            payload
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let person = collabo_domain::matching::SubmittedPerson {
            symbol: member.symbol.clone(),
            number: member.number.clone(),
            branch: Some(member.branch.clone()),
            name: m.name_kanji.clone(),
            birth_date: m.birth_date,
        };
        match item.kind.as_str() {
            "referrals" => {
                let row = IncomingReferral {
                    line: item.line as u64,
                    person,
                    cancer: collabo_domain::referral::CancerType::from_code(&text("cancer"))
                        .ok_or_else(|| rows::corrupt("review_items", "payload", "cancer"))?,
                    screening_date: rows::date("review_items", "payload", &text("screening_date"))?,
                    consent_attested: payload
                        .get("consent_attested")
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false),
                };
                let employer = m.employer.clone();
                session
                    .insert_referrals(&employer, &[(member.clone(), &row)])
                    .await?;
            }
            _ => {
                let row = IncomingCheckup {
                    line: item.line as u64,
                    insurer: None,
                    person,
                    exam_date: rows::date("review_items", "payload", &text("exam_date"))?,
                    source: collabo_domain::checkup::CheckupSource::from_code(&text("source"))
                        .unwrap_or(collabo_domain::checkup::CheckupSource::Employer),
                    observations: serde_json::from_value(
                        payload.get("observations").cloned().unwrap_or_default(),
                    )
                    .map_err(|e| rows::corrupt("review_items", "payload", e))?,
                    questionnaire: serde_json::from_value(
                        payload.get("questionnaire").cloned().unwrap_or_default(),
                    )
                    .unwrap_or_default(),
                    unknown_items: Vec::new(),
                };
                session.insert_checkups(&[(member.clone(), &row)]).await?;
            }
        }
        session
            .mark_review_resolved(id, member, &actor.name, now)
            .await?;
        session.finish().await?;
        Ok(())
    }

    /// Rejects a review item (the row is not about any member of ours); audited.
    pub async fn reject_review(
        &self,
        id: i64,
        actor: &crate::imports::Actor,
        now: jiff::Timestamp,
    ) -> Result<()> {
        let n = on_pool!(self, p => {
            sqlx::query("UPDATE review_items SET status = 'rejected', resolved_by = $1, resolved_at = $2 WHERE id = $3 AND insurer = $4 AND status = 'open'")
                .bind(&actor.name).bind(now.to_string()).bind(id).bind(&self.insurer)
                .execute(p).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("open review item {id}")));
        }
        self.audit(
            &crate::AuditEntry {
                actor: actor.name.clone(),
                role: actor.role.clone(),
                action: "review.reject".into(),
                member_key: None,
                employer_code: None,
                detail: format!("review item {id}"),
                origin: actor.origin.clone(),
            },
            now,
        )
        .await
    }
}
