//! Letter batches: the notices due, the batches prepared from them, and their state
//! (prepared → mailed, or cancelled). Which cases move where is the caller's decision,
//! recorded as case events in the same transaction.

use crate::rows::{self, MEMBER_COLUMNS, MemberRow};
use crate::{Reader, Result, StoreError, Tx, on_conn};
use collabo_domain::Date;
use collabo_domain::case::{CaseEvent, CaseKey, TriggerValue};
use collabo_domain::ids::MemberKey;
use collabo_domain::member::Member;
use collabo_domain::programme::{BatchStatus, LetterKind};
use std::collections::{BTreeMap, HashMap};

/// A notice that is due, with what the letter needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DueLetter {
    /// The case.
    pub case_key: CaseKey,
    /// Which letter.
    pub kind: LetterKind,
    /// Recipient.
    pub member: Member,
    /// Triggering values.
    pub values: Vec<TriggerValue>,
    /// The trigger (checkup or screening) date.
    pub trigger_date: Date,
    /// Fiscal year of the case's settings.
    pub fiscal_year: i64,
    /// The first notice's mailing date (for a re-notice).
    pub first_mailed_on: Option<Date>,
}

/// A stored batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Id (`B20261124-01`).
    pub id: String,
    /// Prepared on.
    pub prepared_on: Date,
    /// State.
    pub status: BatchStatus,
    /// Number of letters.
    pub letters: i64,
    /// Folder of the batch's files (PDF parts, per-letter PDFs, mailing list).
    pub pdf_path: Option<String>,
    /// Mailing list CSV path.
    pub csv_path: Option<String>,
    /// Mailed on.
    pub mailed_on: Option<Date>,
    /// Cancelled on.
    pub cancelled_on: Option<Date>,
}

/// One letter of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchLetter {
    /// Position in the batch (1, 2, …).
    pub seq: i64,
    /// The case.
    pub case_key: CaseKey,
    /// Recipient.
    pub member: Member,
    /// Which letter.
    pub kind: LetterKind,
    /// The PDF part it is printed in (0-based).
    pub part: i64,
}

/// A letter to record in a new batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLetter {
    /// The case.
    pub case_key: CaseKey,
    /// Recipient.
    pub member: MemberKey,
    /// Which letter.
    pub kind: LetterKind,
    /// The PDF part it is printed in (0-based).
    pub part: i64,
}

#[derive(sqlx::FromRow)]
struct BatchRow {
    id: String,
    prepared_on: String,
    status: String,
    letters: i64,
    pdf_path: Option<String>,
    csv_path: Option<String>,
    mailed_on: Option<String>,
    cancelled_on: Option<String>,
}

impl BatchRow {
    fn into_batch(self) -> Result<Batch> {
        Ok(Batch {
            prepared_on: rows::date("letter_batches", "prepared_on", &self.prepared_on)?,
            status: rows::code(
                "letter_batches",
                "status",
                &self.status,
                BatchStatus::from_code,
            )?,
            letters: self.letters,
            pdf_path: self.pdf_path,
            csv_path: self.csv_path,
            mailed_on: rows::opt_date("letter_batches", "mailed_on", self.mailed_on.as_deref())?,
            cancelled_on: rows::opt_date(
                "letter_batches",
                "cancelled_on",
                self.cancelled_on.as_deref(),
            )?,
            id: self.id,
        })
    }
}

const BATCH_COLUMNS: &str =
    "id, prepared_on, status, letters, pdf_path, csv_path, mailed_on, cancelled_on";

impl Reader {
    /// Every notice due now (cases in state `letter_due`), in member-key order.
    pub async fn letters_due(&mut self) -> Result<Vec<DueLetter>> {
        let insurer = self.insurer.clone();
        let found: Vec<(String, String, String, i64, String, String, String)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT c.case_key, c.member_key, c.trigger_date, c.fiscal_year, e.kind, e.on_date, e.payload FROM cases c
                 JOIN case_events e ON e.case_key = c.case_key
                 WHERE c.insurer = $1 AND c.state = 'letter_due'
                   AND e.kind IN ('identified', 'notice_due', 'renotice_due', 'notice_mailed')
                 ORDER BY c.member_key, c.case_key, e.seq",
            )
            .bind(&insurer).fetch_all(&mut *c).await?
        });
        struct Acc {
            member: String,
            trigger: String,
            fy: i64,
            kind: Option<LetterKind>,
            values: Vec<TriggerValue>,
            mailed: Option<Date>,
        }
        let mut by_case: BTreeMap<String, Acc> = BTreeMap::new();
        for (case_key, member, trigger, fy, kind, on, payload) in found {
            let acc = by_case.entry(case_key).or_insert(Acc {
                member,
                trigger,
                fy,
                kind: None,
                values: Vec::new(),
                mailed: None,
            });
            match rows::json::<CaseEvent>("case_events", "payload", &payload)? {
                CaseEvent::Identified { values, .. } => acc.values = values,
                CaseEvent::NoticeDue(k) | CaseEvent::RenoticeDue(k) => acc.kind = Some(k),
                CaseEvent::NoticeMailed if acc.mailed.is_none() && kind == "notice_mailed" => {
                    acc.mailed = Some(rows::date("case_events", "on_date", &on)?);
                }
                _ => {}
            }
        }
        let keys: Vec<String> = by_case.values().map(|a| a.member.clone()).collect();
        let members: HashMap<String, Member> = self
            .members_by_keys(&keys)
            .await?
            .into_iter()
            .map(|m| (m.key.to_key_string(), m))
            .collect();
        let mut due = Vec::new();
        for (case_key, acc) in by_case {
            let Some(kind) = acc.kind else { continue };
            let member = members
                .get(&acc.member)
                .cloned()
                .ok_or_else(|| StoreError::NotFound(format!("member of case {case_key}")))?;
            due.push(DueLetter {
                case_key: CaseKey::parse(&case_key)
                    .map_err(|e| rows::corrupt("cases", "case_key", e))?,
                kind,
                member,
                values: acc.values,
                trigger_date: rows::date("cases", "trigger_date", &acc.trigger)?,
                fiscal_year: acc.fy,
                first_mailed_on: acc.mailed,
            });
        }
        due.sort_by(|a, b| {
            a.member
                .key
                .cmp(&b.member.key)
                .then(a.case_key.cmp(&b.case_key))
        });
        Ok(due)
    }

    /// Batches, newest first.
    pub async fn batches(&mut self) -> Result<Vec<Batch>> {
        let insurer = self.insurer.clone();
        let found: Vec<BatchRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {BATCH_COLUMNS} FROM letter_batches WHERE insurer = $1 ORDER BY prepared_on DESC, id DESC"
            )))
            .bind(&insurer).fetch_all(&mut *c).await?
        });
        found.into_iter().map(BatchRow::into_batch).collect()
    }

    /// One batch.
    pub async fn batch(&mut self, id: &str) -> Result<Option<Batch>> {
        let insurer = self.insurer.clone();
        let found: Option<BatchRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {BATCH_COLUMNS} FROM letter_batches WHERE insurer = $1 AND id = $2"
            )))
            .bind(&insurer).bind(id).fetch_optional(&mut *c).await?
        });
        found.map(BatchRow::into_batch).transpose()
    }

    /// The letters of a batch, in order.
    pub async fn batch_letters(&mut self, id: &str) -> Result<Vec<BatchLetter>> {
        let insurer = self.insurer.clone();
        #[derive(sqlx::FromRow)]
        struct LetterRow {
            seq: i64,
            case_key: String,
            kind: String,
            part: i64,
            #[sqlx(flatten)]
            member: MemberRow,
        }
        let cols = MEMBER_COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let found: Vec<LetterRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT l.seq, l.case_key, l.kind, l.part, {cols} FROM letters l
                 JOIN letter_batches b ON b.id = l.batch_id
                 JOIN members m ON m.member_key = l.member_key
                 WHERE b.insurer = $1 AND l.batch_id = $2 ORDER BY l.seq"
            )))
            .bind(&insurer).bind(id).fetch_all(&mut *c).await?
        });
        found
            .into_iter()
            .map(|r| {
                Ok(BatchLetter {
                    seq: r.seq,
                    case_key: CaseKey::parse(&r.case_key)
                        .map_err(|e| rows::corrupt("letters", "case_key", e))?,
                    member: r.member.into_member()?,
                    kind: rows::code("letters", "kind", &r.kind, LetterKind::from_code)?,
                    part: r.part,
                })
            })
            .collect()
    }

    /// The cases of a batch still waiting in it (state `letter_prepared`).
    pub async fn batch_waiting_cases(&mut self, id: &str) -> Result<Vec<CaseKey>> {
        let insurer = self.insurer.clone();
        let found: Vec<(String,)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT l.case_key FROM letters l JOIN cases c ON c.case_key = l.case_key
                 WHERE c.insurer = $1 AND l.batch_id = $2 AND c.state = 'letter_prepared' ORDER BY l.seq",
            ).bind(&insurer).bind(id).fetch_all(&mut *c).await?
        });
        found
            .into_iter()
            .map(|(k,)| CaseKey::parse(&k).map_err(|e| rows::corrupt("letters", "case_key", e)))
            .collect()
    }
}

impl Tx {
    /// Records a prepared batch and its letters.
    pub async fn create_batch(
        &mut self,
        id: &str,
        today: Date,
        letters: &[NewLetter],
        pdf_path: Option<&str>,
        csv_path: Option<&str>,
    ) -> Result<()> {
        let insurer = self.insurer.clone();
        let exists: Option<(String,)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT id FROM letter_batches WHERE id = $1").bind(id).fetch_optional(&mut *c).await?
        });
        if exists.is_some() {
            return Err(StoreError::Conflict(format!("batch {id} exists")));
        }
        on_conn!(self.conn(), c => {
            sqlx::query("INSERT INTO letter_batches (id, insurer, prepared_on, status, letters, pdf_path, csv_path) VALUES ($1, $2, $3, 'prepared', $4, $5, $6)")
                .bind(id).bind(&insurer).bind(today.to_string()).bind(letters.len() as i64).bind(pdf_path).bind(csv_path)
                .execute(&mut *c).await?;
        });
        for (n, chunk) in letters.chunks(400).enumerate() {
            on_conn!(self.conn(), c => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO letters (batch_id, seq, case_key, member_key, kind, part) ");
                qb.push_values(chunk.iter().enumerate(), |mut b, (i, l)| {
                    b.push_bind(id).push_bind((n * 400 + i + 1) as i64).push_bind(l.case_key.to_string())
                        .push_bind(l.member.to_key_string()).push_bind(l.kind.code()).push_bind(l.part);
                });
                qb.build().execute(&mut *c).await?;
            });
        }
        Ok(())
    }

    /// Moves a batch from one state to another on a date.
    pub async fn set_batch_status(
        &mut self,
        id: &str,
        from: BatchStatus,
        to: BatchStatus,
        on: Date,
    ) -> Result<()> {
        let column = match to {
            BatchStatus::Mailed => "mailed_on",
            BatchStatus::Cancelled => "cancelled_on",
            BatchStatus::Prepared => "prepared_on",
        };
        let sql = format!(
            "UPDATE letter_batches SET status = $1, {column} = $2 WHERE id = $3 AND insurer = $4 AND status = $5"
        );
        let insurer = self.insurer.clone();
        let n = on_conn!(self.conn(), c => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to.code()).bind(on.to_string()).bind(id).bind(&insurer).bind(from.code())
                .execute(&mut *c).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "batch {id} is not {}",
                from.label()
            )));
        }
        Ok(())
    }
}
