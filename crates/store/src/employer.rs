//! The reads behind an employer's pages, and published aggregates. Every query is
//! narrowed to the employer; what of it the employer may see is decided afterwards by
//! `collabo_domain::visibility` (the store only narrows, the domain decides).

use crate::cases::checkup_of;
use crate::rows::{self, MEMBER_COLUMNS, MemberRow, to_json};
use crate::{Reader, Result, Tx, on_conn};
use collabo_domain::Date;
use collabo_domain::aggregates::AggregateTable;
use collabo_domain::checkup::Checkup;
use collabo_domain::consent::ConsentRecord;
use collabo_domain::ids::EmployerCode;
use collabo_domain::member::{EmployerPeriod, Member};
use collabo_domain::referral::CancerType;
use std::collections::HashMap;

/// A checkup of a person registered with the employer now, with what visibility needs.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateCheckup {
    /// The person.
    pub member: Member,
    /// Their employer periods.
    pub periods: Vec<EmployerPeriod>,
    /// Their consent records.
    pub consents: Vec<ConsentRecord>,
    /// The checkup.
    pub checkup: Checkup,
}

/// A row of an employer's 要精密検査 list, for its deadline view.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedReferralRow {
    /// Import it came with.
    pub import_id: i64,
    /// The person.
    pub member: Member,
    /// Cancer type.
    pub cancer: CancerType,
    /// 検診実施年月日.
    pub screening_date: Date,
    /// Received on.
    pub received_on: Date,
    /// Received after 翌々月末.
    pub late: bool,
}

/// A publication of an employer's aggregates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// The employer.
    pub employer: EmployerCode,
    /// Fiscal year.
    pub fiscal_year: i64,
    /// When.
    pub published_at: jiff::Timestamp,
    /// By whom.
    pub published_by: String,
    /// The table with its suppression.
    pub table: AggregateTable,
}

#[derive(sqlx::FromRow)]
struct PublicationRow {
    employer_code: String,
    fiscal_year: i64,
    published_at: String,
    published_by: String,
    cells: String,
}

impl PublicationRow {
    fn into_publication(self) -> Result<Publication> {
        Ok(Publication {
            employer: rows::employer(
                "aggregate_publications",
                "employer_code",
                &self.employer_code,
            )?,
            fiscal_year: self.fiscal_year,
            published_at: rows::timestamp(
                "aggregate_publications",
                "published_at",
                &self.published_at,
            )?,
            published_by: self.published_by,
            table: rows::json("aggregate_publications", "cells", &self.cells)?,
        })
    }
}

impl Reader {
    /// Checkups dated `from..=to` of the people registered with `employer` now.
    pub async fn employer_candidate_checkups(
        &mut self,
        employer: &EmployerCode,
        from: Date,
        to: Date,
    ) -> Result<Vec<CandidateCheckup>> {
        let insurer = self.insurer.clone();
        let found: Vec<(String, String, String, Option<String>, String, String)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT c.member_key, c.exam_date, c.source, c.submitted_by, c.observations, c.questionnaire
                 FROM checkups c JOIN members m ON m.member_key = c.member_key
                 WHERE m.insurer = $1 AND m.employer_code = $2 AND c.exam_date >= $3 AND c.exam_date <= $4
                 ORDER BY c.member_key, c.exam_date",
            )
            .bind(&insurer).bind(employer.as_str()).bind(from.to_string()).bind(to.to_string())
            .fetch_all(&mut *c).await?
        });
        let mut keys: Vec<String> = found.iter().map(|r| r.0.clone()).collect();
        keys.dedup();
        let members: HashMap<String, Member> = self
            .members_by_keys(&keys)
            .await?
            .into_iter()
            .map(|m| (m.key.to_key_string(), m))
            .collect();
        let periods = self.employer_periods(&keys).await?;
        let consents = self.consents_of_members(&keys).await?;
        let mut out = Vec::with_capacity(found.len());
        for (key, exam, source, by, obs, q) in found {
            let Some(member) = members.get(&key) else {
                continue;
            };
            out.push(CandidateCheckup {
                member: member.clone(),
                periods: periods.get(&key).cloned().unwrap_or_default(),
                consents: consents.get(&key).cloned().unwrap_or_default(),
                checkup: checkup_of(&key, &exam, &source, by.as_deref(), &obs, &q)?,
            });
        }
        Ok(out)
    }

    /// The 要精密検査 rows an employer submitted, newest screening first.
    pub async fn referrals_of_employer(
        &mut self,
        employer: &EmployerCode,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<SubmittedReferralRow>, i64)> {
        let insurer = self.insurer.clone();
        #[derive(sqlx::FromRow)]
        struct Row {
            import_id: i64,
            cancer: String,
            screening_date: String,
            received_on: String,
            late: i64,
            #[sqlx(flatten)]
            member: MemberRow,
        }
        let cols = MEMBER_COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let found: Vec<Row> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT r.import_id, r.cancer, r.screening_date, r.received_on, r.late, {cols}
                 FROM referrals r JOIN members m ON m.member_key = r.member_key
                 WHERE r.insurer = $1 AND r.employer_code = $2 ORDER BY r.screening_date DESC, r.id DESC LIMIT $3 OFFSET $4"
            )))
            .bind(&insurer).bind(employer.as_str()).bind(limit).bind(offset).fetch_all(&mut *c).await?
        });
        let (total,): (i64,) = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT COUNT(*) FROM referrals r JOIN members m ON m.member_key = r.member_key
                 WHERE r.insurer = $1 AND r.employer_code = $2",
            )
            .bind(&insurer).bind(employer.as_str()).fetch_one(&mut *c).await?
        });
        let rows = found
            .into_iter()
            .map(|r| {
                Ok(SubmittedReferralRow {
                    import_id: r.import_id,
                    member: r.member.into_member()?,
                    cancer: rows::code("referrals", "cancer", &r.cancer, CancerType::from_code)?,
                    screening_date: rows::date("referrals", "screening_date", &r.screening_date)?,
                    received_on: rows::date("referrals", "received_on", &r.received_on)?,
                    late: r.late != 0,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((rows, total))
    }

    /// The newest publication of an employer's aggregates for a fiscal year.
    pub async fn publication(
        &mut self,
        employer: &EmployerCode,
        fiscal_year: i64,
    ) -> Result<Option<Publication>> {
        let insurer = self.insurer.clone();
        let found: Option<PublicationRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT employer_code, fiscal_year, published_at, published_by, cells FROM aggregate_publications
                 WHERE insurer = $1 AND employer_code = $2 AND fiscal_year = $3 ORDER BY id DESC LIMIT 1",
            )
            .bind(&insurer).bind(employer.as_str()).bind(fiscal_year).fetch_optional(&mut *c).await?
        });
        found.map(PublicationRow::into_publication).transpose()
    }

    /// The fiscal years with a publication for an employer, newest first.
    pub async fn published_years(&mut self, employer: &EmployerCode) -> Result<Vec<i64>> {
        let insurer = self.insurer.clone();
        let found: Vec<(i64,)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT DISTINCT fiscal_year FROM aggregate_publications WHERE insurer = $1 AND employer_code = $2 ORDER BY fiscal_year DESC",
            )
            .bind(&insurer).bind(employer.as_str()).fetch_all(&mut *c).await?
        });
        Ok(found.into_iter().map(|(y,)| y).collect())
    }
}

impl Tx {
    /// Stores a publication (it replaces the earlier one for employers' pages).
    pub async fn publish_aggregates(
        &mut self,
        employer: &EmployerCode,
        fiscal_year: i64,
        at: jiff::Timestamp,
        by: &str,
        table: &AggregateTable,
    ) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO aggregate_publications (insurer, employer_code, fiscal_year, published_at, published_by, cells)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&insurer).bind(employer.as_str()).bind(fiscal_year).bind(at.to_string()).bind(by).bind(to_json(table))
            .execute(&mut *c).await?;
        });
        Ok(())
    }
}
