//! Records past their retention (issue 12, 実施基準 第10条): the candidates a
//! retention run reads, and their deletion. The rule is the domain's
//! (`retention::RetentionRule`); the SQL only pre-selects with its cutoffs so that a
//! run reads the records that may be past, never the whole history.

use crate::{Reader, Result, Tx, on_conn, rows};
use collabo_domain::Date;
use collabo_domain::case::CaseState;
use collabo_domain::retention::{Cutoffs, HeldRecord, RecordKind};

/// A candidate with its person's 資格喪失日, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionCandidate {
    /// The record.
    pub record: HeldRecord,
    /// The person's 資格喪失日 in the register, if lost.
    pub left: Option<Date>,
}

/// How many rows a disposal deleted, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Disposed {
    /// Checkups.
    pub checkups: u64,
    /// Referrals.
    pub referrals: u64,
    /// Visit facts.
    pub visits: u64,
    /// Closed cases (with their events and letter rows).
    pub cases: u64,
}

impl Reader {
    /// Every checkup, referral, visit fact and closed case made before
    /// `cutoffs.made_before` or of a person whose 資格喪失日 is before
    /// `cutoffs.left_before`.
    pub async fn retention_candidates(
        &mut self,
        cutoffs: Cutoffs,
    ) -> Result<Vec<RetentionCandidate>> {
        let insurer = self.insurer.clone();
        let made = cutoffs.made_before.to_string();
        let left = cutoffs.left_before.to_string();
        let queries: [(RecordKind, &str); 4] = [
            (
                RecordKind::Checkup,
                "SELECT CAST(x.id AS TEXT), x.member_key, x.exam_date, m.qualified_until, '' FROM checkups x
                 LEFT JOIN members m ON m.member_key = x.member_key
                 WHERE x.insurer = $1 AND (x.exam_date < $2 OR m.qualified_until < $3)",
            ),
            (
                RecordKind::Referral,
                "SELECT CAST(x.id AS TEXT), x.member_key, x.screening_date, m.qualified_until, '' FROM referrals x
                 LEFT JOIN members m ON m.member_key = x.member_key
                 WHERE x.insurer = $1 AND (x.screening_date < $2 OR m.qualified_until < $3)",
            ),
            (
                RecordKind::Visit,
                "SELECT CAST(x.id AS TEXT), x.member_key, COALESCE(x.service_day, x.service_month || '-01'), m.qualified_until, '' FROM visits x
                 LEFT JOIN members m ON m.member_key = x.member_key
                 WHERE x.insurer = $1 AND (COALESCE(x.service_day, x.service_month || '-01') < $2 OR m.qualified_until < $3)",
            ),
            (
                RecordKind::ClosedCase,
                "SELECT x.case_key, x.member_key, x.updated_on, m.qualified_until, x.state FROM cases x
                 LEFT JOIN members m ON m.member_key = x.member_key
                 WHERE x.insurer = $1 AND (x.updated_on < $2 OR m.qualified_until < $3)",
            ),
        ];
        let mut out = Vec::new();
        for (kind, sql) in queries {
            let found: Vec<(String, String, String, Option<String>, String)> = on_conn!(self.conn(), c => {
                sqlx::query_as(sql).bind(&insurer).bind(&made).bind(&left).fetch_all(&mut *c).await?
            });
            for (id, key, made_on, left_on, state) in found {
                if kind == RecordKind::ClosedCase {
                    let state = rows::code("cases", "state", &state, CaseState::from_code)?;
                    if state.is_open() {
                        continue;
                    }
                }
                let table = match kind {
                    RecordKind::Checkup => "checkups",
                    RecordKind::Referral => "referrals",
                    RecordKind::Visit => "visits",
                    RecordKind::ClosedCase => "cases",
                };
                out.push(RetentionCandidate {
                    record: HeldRecord {
                        member: rows::member_key(table, &key)?,
                        kind,
                        made: rows::date(table, "made", &made_on)?,
                        id,
                    },
                    left: rows::opt_date("members", "qualified_until", left_on.as_deref())?,
                });
            }
        }
        Ok(out)
    }
}

impl Tx {
    /// Deletes the records given (a closed case with its events and letter rows).
    pub async fn dispose(&mut self, records: &[&HeldRecord]) -> Result<Disposed> {
        let insurer = self.insurer.clone();
        let mut done = Disposed::default();
        for r in records {
            match r.kind {
                RecordKind::Checkup | RecordKind::Referral | RecordKind::Visit => {
                    let id: i64 =
                        r.id.parse()
                            .map_err(|e| rows::corrupt("retention", "id", e))?;
                    let sql = match r.kind {
                        RecordKind::Checkup => {
                            "DELETE FROM checkups WHERE insurer = $1 AND id = $2"
                        }
                        RecordKind::Referral => {
                            "DELETE FROM referrals WHERE insurer = $1 AND id = $2"
                        }
                        _ => "DELETE FROM visits WHERE insurer = $1 AND id = $2",
                    };
                    let n = on_conn!(self.conn(), c => {
                        sqlx::query(sql).bind(&insurer).bind(id).execute(&mut *c).await?.rows_affected()
                    });
                    match r.kind {
                        RecordKind::Checkup => done.checkups += n,
                        RecordKind::Referral => done.referrals += n,
                        _ => done.visits += n,
                    }
                }
                RecordKind::ClosedCase => {
                    let n = on_conn!(self.conn(), c => {
                        sqlx::query("DELETE FROM letters WHERE case_key = $1")
                            .bind(&r.id).execute(&mut *c).await?;
                        sqlx::query("DELETE FROM case_events WHERE case_key = $1")
                            .bind(&r.id).execute(&mut *c).await?;
                        sqlx::query("DELETE FROM cases WHERE insurer = $1 AND case_key = $2")
                            .bind(&insurer).bind(&r.id).execute(&mut *c).await?.rows_affected()
                    });
                    done.cases += n;
                }
            }
        }
        Ok(done)
    }
}
