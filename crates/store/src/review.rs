//! The review queue: rows that did not match the register cleanly, and notices that
//! cannot be mailed, waiting for staff. A closed item keeps who decided what and whom
//! it named; the submitted row itself is cleared (it is stored as admitted, or was
//! about no member of ours).

use crate::imports::payload_json;
use crate::rows::{self, placeholders};
use crate::{Reader, Result, StoreError, Tx, on_conn};
use collabo_domain::Date;
use collabo_domain::admission::{
    ReviewKind, ReviewPayload, ReviewStatus, SubmittedCheckup, SubmittedReferral,
};
use collabo_domain::checkup::{CheckupSource, Observation, Questionnaire};
use collabo_domain::ids::{Branch, CardNumber, EmployerCode, MemberKey, Symbol};
use collabo_domain::matching::{ReviewReason, SubmittedPerson};
use collabo_domain::referral::CancerType;
use serde::Deserialize;

/// A review-queue item.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewItem {
    /// Id.
    pub id: i64,
    /// Which kind.
    pub kind: ReviewKind,
    /// Submitting employer.
    pub employer: Option<EmployerCode>,
    /// Import it came from (0 for an address item).
    pub import_id: i64,
    /// Line in the file.
    pub line: i64,
    /// Why it is here.
    pub reason: ReviewReason,
    /// Open, resolved or rejected.
    pub status: ReviewStatus,
    /// Whom it names (member key, or the card as submitted).
    pub subject: String,
    /// What was submitted; `None` once the item is closed.
    pub payload: Option<ReviewPayload>,
    /// When it was queued.
    pub queued_at: Option<jiff::Timestamp>,
}

/// Which items to list.
#[derive(Debug, Clone, Default)]
pub struct ReviewFilter {
    /// Only this status (open when `None`).
    pub status: Option<ReviewStatus>,
    /// Only rows of this employer.
    pub employer: Option<EmployerCode>,
    /// Only rows of this import.
    pub import_id: Option<i64>,
    /// Only this reason.
    pub reason: Option<ReviewReason>,
    /// At most this many (all when 0).
    pub limit: i64,
    /// Skip this many.
    pub offset: i64,
}

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: i64,
    kind: String,
    employer_code: Option<String>,
    import_id: i64,
    line: i64,
    payload: String,
    reason: String,
    status: String,
    subject: String,
    queued_at: Option<String>,
}

/// The first version stored the submitted person flattened into the payload.
#[derive(Deserialize)]
struct LegacyPerson {
    symbol: String,
    number: String,
    branch: Option<String>,
    name: String,
    birth_date: String,
}

#[derive(Deserialize)]
struct LegacyCheckup {
    #[serde(flatten)]
    person: LegacyPerson,
    exam_date: String,
    source: String,
    observations: Vec<Observation>,
    #[serde(default)]
    questionnaire: Questionnaire,
    #[serde(default)]
    unknown_items: Vec<String>,
}

#[derive(Deserialize)]
struct LegacyReferral {
    #[serde(flatten)]
    person: LegacyPerson,
    cancer: String,
    screening_date: String,
    #[serde(default)]
    consent_attested: bool,
}

#[derive(Deserialize)]
struct AddressPayload {
    case_key: String,
    member_key: String,
}

fn legacy_person(p: LegacyPerson) -> Option<SubmittedPerson> {
    Some(SubmittedPerson {
        symbol: Symbol::parse(&p.symbol).ok()?,
        number: CardNumber::parse(&p.number).ok()?,
        branch: p.branch.and_then(|b| Branch::parse(&b).ok()),
        name: p.name,
        birth_date: p.birth_date.parse::<Date>().ok()?,
    })
}

fn parse_payload(kind: ReviewKind, text: &str, line: i64) -> Result<Option<ReviewPayload>> {
    if text.is_empty() || text == "{}" {
        return Ok(None);
    }
    let bad = |e: &dyn std::fmt::Display| rows::corrupt("review_items", "payload", e);
    let line = u64::try_from(line).unwrap_or(0);
    Ok(Some(match kind {
        ReviewKind::Checkup => match serde_json::from_str::<SubmittedCheckup>(text) {
            Ok(c) => ReviewPayload::Checkup(c),
            Err(_) => {
                let l: LegacyCheckup = serde_json::from_str(text).map_err(|e| bad(&e))?;
                ReviewPayload::Checkup(SubmittedCheckup {
                    line,
                    insurer: None,
                    person: legacy_person(l.person).ok_or_else(|| bad(&"person"))?,
                    exam_date: l.exam_date.parse().map_err(|e| bad(&e))?,
                    source: CheckupSource::from_code(&l.source).unwrap_or(CheckupSource::Employer),
                    observations: l.observations,
                    questionnaire: l.questionnaire,
                    unknown_items: l.unknown_items,
                })
            }
        },
        ReviewKind::Referral => match serde_json::from_str::<SubmittedReferral>(text) {
            Ok(r) => ReviewPayload::Referral(r),
            Err(_) => {
                let l: LegacyReferral = serde_json::from_str(text).map_err(|e| bad(&e))?;
                ReviewPayload::Referral(SubmittedReferral {
                    line,
                    person: legacy_person(l.person).ok_or_else(|| bad(&"person"))?,
                    cancer: CancerType::from_code(&l.cancer).ok_or_else(|| bad(&"cancer"))?,
                    screening_date: l.screening_date.parse().map_err(|e| bad(&e))?,
                    consent_attested: l.consent_attested,
                })
            }
        },
        ReviewKind::Address => {
            let a: AddressPayload = serde_json::from_str(text).map_err(|e| bad(&e))?;
            ReviewPayload::Address {
                case_key: a.case_key,
                member: rows::member_key("review_items", &a.member_key)?,
            }
        }
    }))
}

impl ReviewRow {
    fn into_item(self) -> Result<ReviewItem> {
        let kind = rows::code("review_items", "kind", &self.kind, ReviewKind::from_code)?;
        Ok(ReviewItem {
            id: self.id,
            kind,
            employer: self
                .employer_code
                .as_deref()
                .map(|e| rows::employer("review_items", "employer_code", e))
                .transpose()?,
            import_id: self.import_id,
            line: self.line,
            reason: rows::code(
                "review_items",
                "reason",
                &self.reason,
                ReviewReason::from_code,
            )?,
            status: rows::code(
                "review_items",
                "status",
                &self.status,
                ReviewStatus::from_code,
            )?,
            subject: self.subject,
            payload: parse_payload(kind, &self.payload, self.line)?,
            queued_at: self
                .queued_at
                .as_deref()
                .map(|t| rows::timestamp("review_items", "queued_at", t))
                .transpose()?,
        })
    }
}

const REVIEW_COLUMNS: &str =
    "id, kind, employer_code, import_id, line, payload, reason, status, subject, queued_at";

impl Reader {
    /// Items matching a filter, oldest first, with the total count.
    pub async fn review_items(&mut self, filter: &ReviewFilter) -> Result<(Vec<ReviewItem>, i64)> {
        let mut sql = String::from(" FROM review_items WHERE insurer = $1 AND status = $2");
        let status = filter.status.unwrap_or(ReviewStatus::Open);
        let mut binds: Vec<String> = vec![self.insurer.clone(), status.code().to_owned()];
        if let Some(e) = &filter.employer {
            binds.push(e.as_str().to_owned());
            sql.push_str(&format!(" AND employer_code = ${}", binds.len()));
        }
        if let Some(r) = filter.reason {
            binds.push(r.code().to_owned());
            sql.push_str(&format!(" AND reason = ${}", binds.len()));
        }
        let import = filter.import_id.map(|i| i.to_string());
        if let Some(i) = &import {
            binds.push(i.clone());
            sql.push_str(&format!(" AND CAST(import_id AS TEXT) = ${}", binds.len()));
        }
        let count_sql = format!("SELECT COUNT(*){sql}");
        let mut select = format!("SELECT {REVIEW_COLUMNS}{sql} ORDER BY id");
        if filter.limit > 0 {
            select.push_str(&format!(
                " LIMIT {} OFFSET {}",
                filter.limit,
                filter.offset.max(0)
            ));
        }
        let (total,): (i64,) = on_conn!(self.conn(), c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(count_sql));
            for b in &binds {
                q = q.bind(b.clone());
            }
            q.fetch_one(&mut *c).await?
        });
        let found: Vec<ReviewRow> = on_conn!(self.conn(), c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(select));
            for b in &binds {
                q = q.bind(b.clone());
            }
            q.fetch_all(&mut *c).await?
        });
        let items = found
            .into_iter()
            .map(ReviewRow::into_item)
            .collect::<Result<Vec<_>>>()?;
        Ok((items, total))
    }

    /// One item.
    pub async fn review_item(&mut self, id: i64) -> Result<Option<ReviewItem>> {
        let insurer = self.insurer.clone();
        let found: Option<ReviewRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {REVIEW_COLUMNS} FROM review_items WHERE insurer = $1 AND id = $2"
            )))
            .bind(&insurer).bind(id).fetch_optional(&mut *c).await?
        });
        found.map(ReviewRow::into_item).transpose()
    }

    /// Open items, counted.
    pub async fn open_review_count(&mut self) -> Result<i64> {
        let insurer = self.insurer.clone();
        let (n,): (i64,) = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT COUNT(*) FROM review_items WHERE insurer = $1 AND status = 'open'")
                .bind(&insurer).fetch_one(&mut *c).await?
        });
        Ok(n)
    }

    /// An open address item for this case exists.
    pub async fn open_address_item(&mut self, member: &MemberKey, case_key: &str) -> Result<bool> {
        let insurer = self.insurer.clone();
        let payload = payload_json(&ReviewPayload::Address {
            case_key: case_key.to_owned(),
            member: member.clone(),
        });
        let found: Option<(i64,)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT id FROM review_items WHERE insurer = $1 AND kind = 'address' AND payload = $2 AND status = 'open'")
                .bind(&insurer).bind(&payload).fetch_optional(&mut *c).await?
        });
        Ok(found.is_some())
    }
}

impl Tx {
    /// Closes an open item (resolved to `member`, or rejected) and clears the row it held.
    pub async fn close_review_item(
        &mut self,
        id: i64,
        status: ReviewStatus,
        member: Option<&MemberKey>,
        by: &str,
        at: jiff::Timestamp,
    ) -> Result<()> {
        let insurer = self.insurer.clone();
        let n = on_conn!(self.conn(), c => {
            sqlx::query(
                "UPDATE review_items SET status = $1, resolved_member_key = $2, resolved_by = $3, resolved_at = $4, payload = ''
                 WHERE id = $5 AND insurer = $6 AND status = 'open'",
            )
            .bind(status.code()).bind(member.map(MemberKey::to_key_string)).bind(by).bind(at.to_string())
            .bind(id).bind(&insurer)
            .execute(&mut *c).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "review item {id} is not open"
            )));
        }
        Ok(())
    }

    /// Closes every open item of an import at once; returns how many.
    pub async fn reject_review_items(
        &mut self,
        ids: &[i64],
        by: &str,
        at: jiff::Timestamp,
    ) -> Result<u64> {
        let insurer = self.insurer.clone();
        let mut n = 0;
        for chunk in ids.chunks(400) {
            let sql = format!(
                "UPDATE review_items SET status = 'rejected', resolved_by = $1, resolved_at = $2, payload = ''
                 WHERE insurer = $3 AND status = 'open' AND id IN ({})",
                placeholders(4, chunk.len())
            );
            n += on_conn!(self.conn(), c => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(by).bind(at.to_string()).bind(&insurer);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *c).await?.rows_affected()
            });
        }
        Ok(n)
    }
}
