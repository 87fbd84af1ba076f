//! Letter batches: the notices due, the batches prepared from them, and their state
//! (prepared → mailed, or cancelled); each letter's envelope, place in the PDF parts and
//! whether it was withdrawn (removed, or 差止). Which cases move where, and how a
//! withdrawn letter leaves its batch, is the caller's decision (`collabo_domain::batch`),
//! recorded here in the same transaction as the case events.

use crate::rows::{self, MEMBER_COLUMNS, MemberRow};
use crate::{Reader, Result, StoreError, Tx, on_conn};
use collabo_domain::Date;
use collabo_domain::batch::LetterStatus;
use collabo_domain::case::{CaseEvent, CaseKey, TriggerValue, WithdrawalReason};
use collabo_domain::checkup::CheckupSource;
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
    /// Whose checkup triggered it (none for a 要精密検査 list, or a case from before
    /// the source was recorded).
    pub source: Option<CheckupSource>,
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
    /// PDF parts.
    pub parts: i64,
    /// When the PDF was first handed out (downloaded): from then on a withdrawn letter
    /// is 差止, not removed.
    pub handed_out_on: Option<Date>,
    /// A letter was withdrawn since the files were last written.
    pub files_stale: bool,
    /// Envelopes still to mail.
    pub envelopes: i64,
    /// Letters still to mail.
    pub active_letters: i64,
    /// Letters removed from the files.
    pub removed: i64,
    /// Letters marked 差止.
    pub stopped: i64,
    /// Pages of the envelopes still to mail.
    pub pages: i64,
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
    /// Its envelope (the batch's envelope number, shared by one person's letters).
    pub envelope: i64,
    /// The envelope's first page in its part (1-based; 0 when unknown).
    pub first_page: i64,
    /// The envelope's pages (on the envelope's first letter; 0 on the others).
    pub pages: i64,
    /// Active, removed or 差止.
    pub status: LetterStatus,
    /// When it was withdrawn.
    pub withdrawn_on: Option<Date>,
    /// Why.
    pub withdrawn_reason: Option<WithdrawalReason>,
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
    /// Its envelope number.
    pub envelope: i64,
    /// The envelope's first page in its part.
    pub first_page: i64,
    /// The envelope's pages (on its first letter only).
    pub pages: i64,
}

/// Where a letter lies after its batch's files were written again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterLayout {
    /// The case.
    pub case_key: CaseKey,
    /// The part (0-based).
    pub part: i64,
    /// The envelope's first page in the part.
    pub first_page: i64,
    /// The envelope's pages (first letter only).
    pub pages: i64,
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
    parts: i64,
    handed_out_on: Option<String>,
    files_stale: i64,
    envelopes: i64,
    active_letters: i64,
    removed: i64,
    stopped: i64,
    pages: i64,
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
            parts: self.parts,
            handed_out_on: rows::opt_date(
                "letter_batches",
                "handed_out_on",
                self.handed_out_on.as_deref(),
            )?,
            files_stale: self.files_stale != 0,
            envelopes: self.envelopes,
            active_letters: self.active_letters,
            removed: self.removed,
            stopped: self.stopped,
            pages: self.pages,
            id: self.id,
        })
    }
}

const BATCH_COLUMNS: &str = "b.id, b.prepared_on, b.status, b.letters, b.pdf_path, b.csv_path, b.mailed_on, b.cancelled_on,
    b.parts, b.handed_out_on, b.files_stale,
    (SELECT COUNT(DISTINCT l.envelope) FROM letters l WHERE l.batch_id = b.id AND l.status = 'active') AS envelopes,
    (SELECT COUNT(*) FROM letters l WHERE l.batch_id = b.id AND l.status = 'active') AS active_letters,
    (SELECT COUNT(*) FROM letters l WHERE l.batch_id = b.id AND l.status = 'removed') AS removed,
    (SELECT COUNT(*) FROM letters l WHERE l.batch_id = b.id AND l.status = 'stopped') AS stopped,
    (SELECT CAST(COALESCE(SUM(l.pages), 0) AS BIGINT) FROM letters l WHERE l.batch_id = b.id AND l.status = 'active') AS pages";

/// Which cases' letters to read for rendering.
enum DueWhere<'a> {
    /// Every case in state `letter_due`.
    Due,
    /// The active letters of a batch.
    Batch(&'a str),
}

impl Reader {
    /// Every notice due now (cases in state `letter_due`), in member-key order.
    pub async fn letters_due(&mut self) -> Result<Vec<DueLetter>> {
        self.due_letters(DueWhere::Due).await
    }

    /// What the active letters of a batch need to be rendered again, in member-key order.
    pub async fn batch_due_letters(&mut self, batch: &str) -> Result<Vec<DueLetter>> {
        self.due_letters(DueWhere::Batch(batch)).await
    }

    async fn due_letters(&mut self, which: DueWhere<'_>) -> Result<Vec<DueLetter>> {
        let insurer = self.insurer.clone();
        let (join, filter, batch) = match which {
            DueWhere::Due => ("", "c.state = 'letter_due'", String::new()),
            DueWhere::Batch(b) => (
                "JOIN letters l ON l.case_key = c.case_key",
                "l.batch_id = $2 AND l.status = 'active'",
                b.to_owned(),
            ),
        };
        let sql = format!(
            "SELECT c.case_key, c.member_key, c.trigger_date, c.fiscal_year, e.kind, e.on_date, e.payload FROM cases c
             JOIN case_events e ON e.case_key = c.case_key {join}
             WHERE c.insurer = $1 AND {filter}
               AND e.kind IN ('identified', 'notice_due', 'renotice_due', 'notice_mailed')
             ORDER BY c.member_key, c.case_key, e.seq"
        );
        let found: Vec<(String, String, String, i64, String, String, String)> = on_conn!(self.conn(), c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(&insurer);
            if !batch.is_empty() {
                q = q.bind(batch.clone());
            }
            q.fetch_all(&mut *c).await?
        });
        struct Acc {
            member: String,
            trigger: String,
            fy: i64,
            kind: Option<LetterKind>,
            values: Vec<TriggerValue>,
            mailed: Option<Date>,
            source: Option<CheckupSource>,
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
                source: None,
            });
            match rows::json::<CaseEvent>("case_events", "payload", &payload)? {
                CaseEvent::Identified { values, source, .. } => {
                    acc.values = values;
                    acc.source = source;
                }
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
                source: acc.source,
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
                "SELECT {BATCH_COLUMNS} FROM letter_batches b WHERE b.insurer = $1 ORDER BY b.prepared_on DESC, b.id DESC"
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
                "SELECT {BATCH_COLUMNS} FROM letter_batches b WHERE b.insurer = $1 AND b.id = $2"
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
            envelope: i64,
            first_page: i64,
            pages: i64,
            status: String,
            withdrawn_on: Option<String>,
            withdrawn_reason: Option<String>,
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
                "SELECT l.seq, l.case_key, l.kind, l.part, l.envelope, l.first_page, l.pages, l.status,
                        l.withdrawn_on, l.withdrawn_reason, {cols} FROM letters l
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
                    envelope: r.envelope,
                    first_page: r.first_page,
                    pages: r.pages,
                    status: rows::code("letters", "status", &r.status, LetterStatus::from_code)?,
                    withdrawn_on: rows::opt_date(
                        "letters",
                        "withdrawn_on",
                        r.withdrawn_on.as_deref(),
                    )?,
                    withdrawn_reason: r
                        .withdrawn_reason
                        .as_deref()
                        .map(|c| {
                            rows::code(
                                "letters",
                                "withdrawn_reason",
                                c,
                                WithdrawalReason::from_code,
                            )
                        })
                        .transpose()?,
                })
            })
            .collect()
    }

    /// The cases of a batch still waiting in it (state `letter_prepared`, letter active).
    pub async fn batch_waiting_cases(&mut self, id: &str) -> Result<Vec<CaseKey>> {
        let insurer = self.insurer.clone();
        let found: Vec<(String,)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT l.case_key FROM letters l JOIN cases c ON c.case_key = l.case_key
                 WHERE c.insurer = $1 AND l.batch_id = $2 AND c.state = 'letter_prepared' AND l.status = 'active'
                 ORDER BY l.seq",
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
            sqlx::query("INSERT INTO letter_batches (id, insurer, prepared_on, status, letters, pdf_path, csv_path, parts) VALUES ($1, $2, $3, 'prepared', $4, $5, $6, $7)")
                .bind(id).bind(&insurer).bind(today.to_string()).bind(letters.len() as i64).bind(pdf_path).bind(csv_path)
                .bind(letters.iter().map(|l| l.part + 1).max().unwrap_or(0))
                .execute(&mut *c).await?;
        });
        for (n, chunk) in letters.chunks(400).enumerate() {
            on_conn!(self.conn(), c => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO letters (batch_id, seq, case_key, member_key, kind, part, envelope, first_page, pages) ");
                qb.push_values(chunk.iter().enumerate(), |mut b, (i, l)| {
                    b.push_bind(id).push_bind((n * 400 + i + 1) as i64).push_bind(l.case_key.to_string())
                        .push_bind(l.member.to_key_string()).push_bind(l.kind.code()).push_bind(l.part)
                        .push_bind(l.envelope).push_bind(l.first_page).push_bind(l.pages);
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

    /// Takes one letter out of a prepared batch (`status` removed or 差止) and marks the
    /// batch's files stale. Returns false when the letter was not active in a prepared
    /// batch (nothing changed).
    pub async fn withdraw_letter(
        &mut self,
        batch: &str,
        case: &CaseKey,
        status: LetterStatus,
        reason: WithdrawalReason,
        on: Date,
    ) -> Result<bool> {
        let insurer = self.insurer.clone();
        let n = on_conn!(self.conn(), c => {
            sqlx::query(
                "UPDATE letters SET status = $1, withdrawn_on = $2, withdrawn_reason = $3
                 WHERE batch_id = $4 AND case_key = $5 AND status = 'active'
                   AND batch_id IN (SELECT id FROM letter_batches WHERE insurer = $6 AND status = 'prepared')",
            )
            .bind(status.code()).bind(on.to_string()).bind(reason.code()).bind(batch)
            .bind(case.to_string()).bind(&insurer)
            .execute(&mut *c).await?.rows_affected()
        });
        if n > 0 {
            on_conn!(self.conn(), c => {
                sqlx::query("UPDATE letter_batches SET files_stale = 1 WHERE id = $1 AND insurer = $2")
                    .bind(batch).bind(&insurer).execute(&mut *c).await?;
            });
        }
        Ok(n > 0)
    }

    /// Records that a batch's PDF was handed out (the first download), if not yet.
    pub async fn mark_handed_out(&mut self, batch: &str, on: Date) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query("UPDATE letter_batches SET handed_out_on = $1 WHERE id = $2 AND insurer = $3 AND handed_out_on IS NULL")
                .bind(on.to_string()).bind(batch).bind(&insurer).execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Records where the active letters lie after the batch's files were written again
    /// (or only its mailing list), and that the files are current.
    pub async fn set_batch_layout(
        &mut self,
        batch: &str,
        parts: Option<i64>,
        layout: &[LetterLayout],
    ) -> Result<()> {
        let insurer = self.insurer.clone();
        for l in layout {
            on_conn!(self.conn(), c => {
                sqlx::query("UPDATE letters SET part = $1, first_page = $2, pages = $3 WHERE batch_id = $4 AND case_key = $5")
                    .bind(l.part).bind(l.first_page).bind(l.pages).bind(batch).bind(l.case_key.to_string())
                    .execute(&mut *c).await?;
            });
        }
        on_conn!(self.conn(), c => {
            match parts {
                Some(p) => sqlx::query("UPDATE letter_batches SET files_stale = 0, parts = $1 WHERE id = $2 AND insurer = $3")
                    .bind(p).bind(batch).bind(&insurer).execute(&mut *c).await?,
                None => sqlx::query("UPDATE letter_batches SET files_stale = 0 WHERE id = $1 AND insurer = $2")
                    .bind(batch).bind(&insurer).execute(&mut *c).await?,
            };
        });
        Ok(())
    }
}
