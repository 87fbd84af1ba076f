//! Letter batches: prepare → mailed (or cancelled). A notice counts as sent only when
//! staff confirm the batch was mailed; a cancelled batch puts its notices back to due.

use crate::rows::{self, MEMBER_COLUMNS, MemberRow};
use crate::{Result, Store, StoreError, on_pool};
use collabo_domain::Date;
use collabo_domain::case::{CaseEvent, TriggerValue};
use collabo_domain::member::Member;
use collabo_domain::programme::LetterKind;
use std::collections::BTreeMap;

/// A notice that is due, with what the letter needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DueLetter {
    /// Case key text.
    pub case_key: String,
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
}

/// A stored batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Id (`B20261124-01`).
    pub id: String,
    /// Prepared on.
    pub prepared_on: String,
    /// prepared / mailed / cancelled.
    pub status: String,
    /// Number of letters.
    pub letters: i64,
    /// Batch PDF path.
    pub pdf_path: Option<String>,
    /// Mailing list CSV path.
    pub csv_path: Option<String>,
}

impl Store {
    /// Every notice due now (cases in state `letter_due`), in member-key order.
    pub async fn letters_due(&self) -> Result<Vec<DueLetter>> {
        let rows: Vec<(String, String, i64, String, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT c.case_key, c.trigger_date, c.fiscal_year, e.kind, e.payload FROM cases c
                 JOIN case_events e ON e.case_key = c.case_key
                 WHERE c.insurer = $1 AND c.state = 'letter_due' AND e.kind IN ('identified', 'notice_due', 'renotice_due')
                 ORDER BY c.member_key, c.case_key, e.seq",
            )
            .bind(&self.insurer).fetch_all(p).await?
        });
        let mut by_case: BTreeMap<String, (String, i64, Option<LetterKind>, Vec<TriggerValue>)> =
            BTreeMap::new();
        for (case_key, trigger_date, fy, kind, payload) in rows {
            let entry = by_case
                .entry(case_key)
                .or_insert((trigger_date, fy, None, Vec::new()));
            match rows::json::<CaseEvent>("case_events", "payload", &payload)? {
                CaseEvent::Identified { values, .. } if kind == "identified" => entry.3 = values,
                CaseEvent::NoticeDue(k) | CaseEvent::RenoticeDue(k) => entry.2 = Some(k),
                _ => {}
            }
        }
        let mut due = Vec::new();
        for (case_key, (trigger_date, fiscal_year, kind, values)) in by_case {
            let Some(kind) = kind else { continue };
            let key = crate::cases::parse_case_key(&case_key)?;
            let member = self
                .member(&key.member.to_key_string())
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("member of case {case_key}")))?;
            due.push(DueLetter {
                case_key,
                kind,
                member,
                values,
                trigger_date: rows::date("cases", "trigger_date", &trigger_date)?,
                fiscal_year,
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

    /// Puts a case whose recipient has no usable address on the review queue (once).
    pub async fn queue_unmailable(&self, due: &DueLetter, now: jiff::Timestamp) -> Result<bool> {
        let payload = rows::to_json(
            &serde_json::json!({"case_key": due.case_key, "member_key": due.member.key.to_key_string()}),
        );
        let exists: Option<(i64,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT id FROM review_items WHERE insurer = $1 AND kind = 'address' AND payload = $2 AND status = 'open'")
                .bind(&self.insurer).bind(&payload).fetch_optional(p).await?
        });
        if exists.is_some() {
            return Ok(false);
        }
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO review_items (insurer, import_id, kind, employer_code, line, payload, reason, status, resolved_at)
                 VALUES ($1, 0, 'address', NULL, 0, $2, 'unmailable_address', 'open', $3)",
            )
            .bind(&self.insurer).bind(payload).bind(now.to_string()).execute(p).await?;
        });
        Ok(true)
    }

    /// Records a prepared batch and moves its cases to `letter_prepared`.
    pub async fn create_batch(
        &self,
        id: &str,
        today: Date,
        letters: &[(String, String, LetterKind)],
        pdf_path: Option<&str>,
        csv_path: Option<&str>,
    ) -> Result<()> {
        let exists: Option<(String,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT id FROM letter_batches WHERE id = $1").bind(id).fetch_optional(p).await?
        });
        if exists.is_some() {
            return Err(StoreError::Conflict(format!("batch {id} exists")));
        }
        crate::in_tx!(self, tx => {
            sqlx::query("INSERT INTO letter_batches (id, insurer, prepared_on, status, letters, pdf_path, csv_path) VALUES ($1, $2, $3, 'prepared', $4, $5, $6)")
                .bind(id).bind(&self.insurer).bind(today.to_string()).bind(letters.len() as i64).bind(pdf_path).bind(csv_path)
                .execute(&mut *tx).await?;
            for chunk in letters.chunks(400).enumerate() {
                let (n, chunk) = chunk;
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO letters (batch_id, seq, case_key, member_key, kind) ");
                qb.push_values(chunk.iter().enumerate(), |mut b, (i, (case_key, member_key, kind))| {
                    b.push_bind(id).push_bind((n * 400 + i + 1) as i64).push_bind(case_key.clone()).push_bind(member_key.clone()).push_bind(kind.code());
                });
                qb.build().execute(&mut *tx).await?;
            }
        });
        let events: Vec<(String, CaseEvent)> = letters
            .iter()
            .map(|(case_key, _, _)| {
                (
                    case_key.clone(),
                    CaseEvent::NoticePrepared {
                        batch: id.to_owned(),
                    },
                )
            })
            .collect();
        self.append_events(today, &events).await?;
        Ok(())
    }

    async fn batch_cases(&self, id: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT l.case_key FROM letters l JOIN cases c ON c.case_key = l.case_key
                 WHERE l.batch_id = $1 AND c.state = 'letter_prepared' ORDER BY l.seq",
            ).bind(id).fetch_all(p).await?
        });
        Ok(rows.into_iter().map(|(k,)| k).collect())
    }

    async fn set_batch_status(
        &self,
        id: &str,
        from: &str,
        to: &str,
        column: &'static str,
        on: Date,
    ) -> Result<()> {
        let sql = format!(
            "UPDATE letter_batches SET status = $1, {column} = $2 WHERE id = $3 AND insurer = $4 AND status = $5"
        );
        let n = on_pool!(self, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to).bind(on.to_string()).bind(id).bind(&self.insurer).bind(from)
                .execute(p).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::Conflict(format!("batch {id} is not {from}")));
        }
        Ok(())
    }

    /// Staff confirm the batch was mailed: its notices count as sent from `on`.
    /// Returns how many notices were marked mailed (cases stopped since preparing, e.g.
    /// by an opt-out, are not).
    pub async fn mark_batch_mailed(&self, id: &str, on: Date) -> Result<u64> {
        let cases = self.batch_cases(id).await?;
        self.set_batch_status(id, "prepared", "mailed", "mailed_on", on)
            .await?;
        let events: Vec<(String, CaseEvent)> = cases
            .into_iter()
            .map(|k| (k, CaseEvent::NoticeMailed))
            .collect();
        self.append_events(on, &events).await
    }

    /// Cancels a prepared batch; its notices are due again.
    pub async fn cancel_batch(&self, id: &str, on: Date) -> Result<u64> {
        let cases = self.batch_cases(id).await?;
        self.set_batch_status(id, "prepared", "cancelled", "cancelled_on", on)
            .await?;
        let events: Vec<(String, CaseEvent)> = cases
            .into_iter()
            .map(|k| {
                (
                    k,
                    CaseEvent::BatchCancelled {
                        batch: id.to_owned(),
                    },
                )
            })
            .collect();
        self.append_events(on, &events).await
    }

    /// Batches, newest first.
    pub async fn batches(&self) -> Result<Vec<Batch>> {
        let rows: Vec<(String, String, String, i64, Option<String>, Option<String>)> = on_pool!(self, p => {
            sqlx::query_as("SELECT id, prepared_on, status, letters, pdf_path, csv_path FROM letter_batches WHERE insurer = $1 ORDER BY prepared_on DESC, id DESC")
                .bind(&self.insurer).fetch_all(p).await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(id, prepared_on, status, letters, pdf_path, csv_path)| Batch {
                    id,
                    prepared_on,
                    status,
                    letters,
                    pdf_path,
                    csv_path,
                },
            )
            .collect())
    }

    /// The letters of a batch: (seq, case key, member, kind).
    pub async fn batch_letters(&self, id: &str) -> Result<Vec<(i64, String, Member, String)>> {
        let rows: Vec<(i64, String, String)> = on_pool!(self, p => {
            sqlx::query_as("SELECT seq, case_key, kind FROM letters WHERE batch_id = $1 ORDER BY seq").bind(id).fetch_all(p).await?
        });
        let mut out = Vec::new();
        for (seq, case_key, kind) in rows {
            let key = crate::cases::parse_case_key(&case_key)?;
            let row: Option<MemberRow> = on_pool!(self, p => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {MEMBER_COLUMNS} FROM members WHERE member_key = $1")))
                    .bind(key.member.to_key_string()).fetch_optional(p).await?
            });
            if let Some(row) = row {
                out.push((seq, case_key, rows::member(row)?, kind));
            }
        }
        Ok(out)
    }
}
