//! The records the retention job looks at, and their deletion. Which ones are past their
//! date is the domain's decision (`collabo_domain::retention`); this module lists every
//! record with its date and its person's last insured day, and deletes the ones it is
//! given by id.

use crate::rows;
use crate::{Reader, Result, Tx, on_conn};
use collabo_domain::retention::{HeldRecord, RecordKind};
use jiff::civil::Date;
use std::collections::HashMap;

/// Every record the job looks at, and each person's last insured day.
#[derive(Debug, Clone, Default)]
pub struct Holdings {
    /// Checkups, referrals, visit facts and closed cases with their dates.
    pub records: Vec<HeldRecord>,
    /// Last insured day (資格喪失日の前日) of people who left, by member key string.
    pub left: HashMap<String, Date>,
}

impl Reader {
    /// Lists every checkup, referral, visit fact and closed case of the society.
    pub async fn holdings(&mut self) -> Result<Holdings> {
        let insurer = self.insurer.clone();
        let mut out = Holdings::default();
        let queries: [(RecordKind, &'static str, &'static str); 4] = [
            (
                RecordKind::Checkup,
                "SELECT CAST(id AS TEXT), member_key, exam_date FROM checkups WHERE insurer = $1",
                "checkups",
            ),
            (
                RecordKind::Referral,
                "SELECT CAST(id AS TEXT), member_key, screening_date FROM referrals WHERE insurer = $1",
                "referrals",
            ),
            (
                // A visit counts from its day, or the first of its service month.
                RecordKind::Visit,
                "SELECT CAST(id AS TEXT), member_key, COALESCE(service_day, service_month || '-01') FROM visits WHERE insurer = $1",
                "visits",
            ),
            (
                // A case counts from the day it was last changed (its closing).
                RecordKind::ClosedCase,
                "SELECT case_key, member_key, updated_on FROM cases WHERE insurer = $1 AND (state LIKE 'closed%' OR state = 'excluded')",
                "cases",
            ),
        ];
        for (kind, sql, table) in queries {
            let found: Vec<(String, String, String)> = on_conn!(self.conn(), c => {
                sqlx::query_as(sql).bind(&insurer).fetch_all(&mut *c).await?
            });
            for (id, member, made) in found {
                out.records.push(HeldRecord {
                    member: rows::member_key(table, &member)?,
                    kind,
                    made: rows::date(table, "date", &made)?,
                    id,
                });
            }
        }
        let left: Vec<(String, String)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT member_key, qualified_until FROM members WHERE insurer = $1 AND qualified_until IS NOT NULL",
            )
            .bind(&insurer).fetch_all(&mut *c).await?
        });
        for (member, until) in left {
            out.left
                .insert(member, rows::date("members", "qualified_until", &until)?);
        }
        Ok(out)
    }
}

impl Tx {
    /// Deletes records by kind and id (closed cases with their timelines and letter
    /// rows). Returns how many rows went.
    pub async fn dispose(&mut self, records: &[&HeldRecord]) -> Result<u64> {
        let insurer = self.insurer.clone();
        let mut n = 0;
        for r in records {
            let statements: &[&'static str] = match r.kind {
                RecordKind::Checkup => {
                    &["DELETE FROM checkups WHERE insurer = $1 AND CAST(id AS TEXT) = $2"]
                }
                RecordKind::Referral => {
                    &["DELETE FROM referrals WHERE insurer = $1 AND CAST(id AS TEXT) = $2"]
                }
                RecordKind::Visit => {
                    &["DELETE FROM visits WHERE insurer = $1 AND CAST(id AS TEXT) = $2"]
                }
                RecordKind::ClosedCase => &[
                    "DELETE FROM case_events WHERE case_key = $2 AND EXISTS (SELECT 1 FROM cases WHERE cases.case_key = $2 AND cases.insurer = $1)",
                    "DELETE FROM letters WHERE case_key = $2 AND EXISTS (SELECT 1 FROM cases WHERE cases.case_key = $2 AND cases.insurer = $1)",
                    "DELETE FROM cases WHERE insurer = $1 AND case_key = $2",
                ],
            };
            for sql in statements {
                let done = on_conn!(self.conn(), c => {
                    sqlx::query(*sql).bind(&insurer).bind(&r.id)
                        .execute(&mut *c).await?.rows_affected()
                });
                n += done;
            }
        }
        Ok(n)
    }
}
