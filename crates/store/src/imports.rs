//! Imports: every file is recorded by its content hash (importing the same file twice
//! changes nothing), and its rows are written only as the domain admitted them:
//! [`Admitted`] rows are inserted, review rows are queued, nothing else is stored.
//! Matching, the opt-out exclusion and the 翌々月末 flag are domain rules applied by the
//! caller; this module only persists their outcome.

use crate::rows::{self, to_json};
use crate::{Conn, Reader, Result, Tx, on_conn};
use collabo_domain::Date;
use collabo_domain::admission::{
    Admitted, ImportKind, ImportSummary, IncomingVisit, OptOutRegister, ReviewPayload,
    SubmittedCheckup, SubmittedReferral,
};
use collabo_domain::consent::ConsentScope;
use collabo_domain::ids::{EmployerCode, MemberKey};
use collabo_domain::matching::ReviewReason;
use collabo_domain::visit::ServiceTime;

/// Rows per multi-row INSERT (well under SQLite's 32766 bound parameters).
const CHUNK: usize = 400;

/// Rows per multi-row INSERT of a bulk import on SQLite (7 to 9 columns: under 32766
/// bound parameters).
pub const BULK_ROWS: usize = 2000;

/// Rows in PostgreSQL's `COPY … FROM STDIN` text format, sent in pieces of about a
/// megabyte.
pub(crate) struct CopyText {
    buf: String,
}

impl CopyText {
    pub(crate) fn new() -> CopyText {
        CopyText {
            buf: String::with_capacity(1 << 20),
        }
    }
    fn escaped(&mut self, value: Option<&str>) {
        let Some(v) = value else {
            self.buf.push_str("\\N");
            return;
        };
        for ch in v.chars() {
            match ch {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
        }
    }
    /// A field followed by a tab.
    pub(crate) fn field(&mut self, value: Option<&str>) {
        self.escaped(value);
        self.buf.push('\t');
    }
    /// The last field of a row.
    pub(crate) fn last(&mut self, value: Option<&str>) {
        self.escaped(value);
        self.buf.push('\n');
    }
    /// Runs `statement` (a `COPY … FROM STDIN`) with the rows; returns the rows copied.
    pub(crate) async fn send(
        self,
        c: &mut sqlx::PgConnection,
        statement: &'static str,
    ) -> Result<u64> {
        if self.buf.is_empty() {
            return Ok(0);
        }
        let mut copy = c.copy_in_raw(statement).await?;
        let bytes = self.buf.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            // Pieces end at a row's end, so no character is split.
            let end = if bytes.len() - at <= 1 << 20 {
                bytes.len()
            } else {
                bytes[at + (1 << 20)..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(bytes.len(), |p| at + (1 << 20) + p + 1)
            };
            copy.send(&bytes[at..end]).await?;
            at = end;
        }
        Ok(copy.finish().await?)
    }
}

/// The start of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// A new import with this id.
    New(i64),
    /// The same file was imported before: its summary (nothing is to change).
    Repeat(ImportSummary),
}

/// A row for the review queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReviewItem {
    /// Line or record in the file (0 for an address item).
    pub line: u64,
    /// Whom it names (see `collabo_domain::admission::submitted_subject`).
    pub subject: String,
    /// The 生年月日 it gives, if any (the purge matches rows without 枝番 by it).
    pub birth_date: Option<Date>,
    /// Why.
    pub reason: ReviewReason,
    /// What was submitted.
    pub payload: ReviewPayload,
}

/// An import as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// Id.
    pub id: i64,
    /// Kind.
    pub kind: ImportKind,
    /// File name as given.
    pub file_name: String,
    /// When.
    pub imported_at: jiff::Timestamp,
    /// Who.
    pub actor: String,
    /// Submitting employer.
    pub employer: Option<EmployerCode>,
    /// What it did.
    pub summary: ImportSummary,
}

#[derive(sqlx::FromRow)]
struct ImportRow {
    id: i64,
    kind: String,
    file_name: String,
    imported_at: String,
    actor: String,
    employer_code: Option<String>,
    summary: String,
}

impl ImportRow {
    fn into_record(self) -> Result<ImportRecord> {
        let mut summary: ImportSummary = rows::json("imports", "summary", &self.summary)?;
        summary.import_id = self.id;
        Ok(ImportRecord {
            id: self.id,
            kind: rows::code("imports", "kind", &self.kind, ImportKind::from_code)?,
            file_name: self.file_name,
            imported_at: rows::timestamp("imports", "imported_at", &self.imported_at)?,
            actor: self.actor,
            employer: self
                .employer_code
                .as_deref()
                .map(|e| rows::employer("imports", "employer_code", e))
                .transpose()?,
            summary,
        })
    }
}

pub(crate) fn payload_json(payload: &ReviewPayload) -> String {
    match payload {
        ReviewPayload::Checkup(c) => to_json(c),
        ReviewPayload::Referral(r) => to_json(r),
        ReviewPayload::Address { case_key, member } => to_json(&serde_json::json!({
            "case_key": case_key,
            "member_key": member.to_key_string(),
        })),
    }
}

impl Tx {
    /// Records the start of an import of a file with content hash `sha256`, or finds
    /// the earlier import of the same file. Inside the write transaction, so two
    /// uploads of one file can never both start.
    #[allow(clippy::too_many_arguments)]
    pub async fn begin_import(
        &mut self,
        kind: ImportKind,
        file_name: &str,
        sha256: &str,
        employer: Option<&EmployerCode>,
        actor: &str,
        at: jiff::Timestamp,
    ) -> Result<Begun> {
        let insurer = self.insurer.clone();
        let inserted: Option<(i64,)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "INSERT INTO imports (insurer, kind, file_name, sha256, employer_code, imported_at, actor, summary)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, '{}')
                 ON CONFLICT (insurer, kind, sha256) DO NOTHING RETURNING id",
            )
            .bind(&insurer).bind(kind.code()).bind(file_name).bind(sha256)
            .bind(employer.map(|e| e.as_str().to_owned()))
            .bind(at.to_string()).bind(actor)
            .fetch_optional(&mut *c).await?
        });
        if let Some((id,)) = inserted {
            return Ok(Begun::New(id));
        }
        let (id, summary): (i64, String) = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT id, summary FROM imports WHERE insurer = $1 AND kind = $2 AND sha256 = $3")
                .bind(&insurer).bind(kind.code()).bind(sha256)
                .fetch_one(&mut *c).await?
        });
        let mut summary: ImportSummary = rows::json("imports", "summary", &summary)?;
        summary.import_id = id;
        summary.already_imported = true;
        Ok(Begun::Repeat(summary))
    }

    /// Stores what an import did.
    pub async fn finish_import(&mut self, id: i64, summary: &ImportSummary) -> Result<()> {
        let json = to_json(summary);
        on_conn!(self.conn(), c => {
            sqlx::query("UPDATE imports SET summary = $1 WHERE id = $2")
                .bind(&json).bind(id).execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Inserts admitted checkups; returns how many were new (the rest were already
    /// stored for the same person, date and source).
    pub async fn insert_checkups(
        &mut self,
        import_id: i64,
        submitter: Option<&EmployerCode>,
        admitted: &[Admitted<SubmittedCheckup>],
    ) -> Result<u64> {
        let insurer = self.insurer.clone();
        let submitter = submitter.map(|e| e.as_str().to_owned());
        if let Conn::Postgres(c) = self.conn() {
            // COPY into a scratch table, then one INSERT … SELECT that skips what is
            // stored already (COPY itself has no ON CONFLICT).
            sqlx::query(
                "CREATE TEMP TABLE IF NOT EXISTS checkups_incoming (insurer TEXT, member_key TEXT, exam_date TEXT,
                 source TEXT, submitted_by TEXT, import_id BIGINT, observations TEXT, questionnaire TEXT,
                 unknown_items TEXT) ON COMMIT DROP",
            )
            .execute(&mut *c)
            .await?;
            sqlx::query("TRUNCATE checkups_incoming")
                .execute(&mut *c)
                .await?;
            let mut copy = CopyText::new();
            for a in admitted {
                let row = a.row();
                copy.field(Some(&insurer));
                copy.field(Some(&a.member().to_key_string()));
                copy.field(Some(&row.exam_date.to_string()));
                copy.field(Some(row.source.code()));
                copy.field(submitter.as_deref());
                copy.field(Some(&import_id.to_string()));
                copy.field(Some(&to_json(&row.observations)));
                copy.field(Some(&to_json(&row.questionnaire)));
                copy.last(Some(&to_json(&row.unknown_items)));
            }
            copy.send(c, "COPY checkups_incoming FROM STDIN").await?;
            let done = sqlx::query(
                "INSERT INTO checkups (insurer, member_key, exam_date, source, submitted_by, import_id, observations, questionnaire, unknown_items)
                 SELECT insurer, member_key, exam_date, source, submitted_by, import_id, observations, questionnaire, unknown_items
                 FROM checkups_incoming ON CONFLICT (member_key, exam_date, source) DO NOTHING",
            )
            .execute(&mut *c)
            .await?;
            return Ok(done.rows_affected());
        }
        let mut stored = 0;
        for chunk in admitted.chunks(CHUNK) {
            stored += on_conn!(self.conn(), c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO checkups (insurer, member_key, exam_date, source, submitted_by, import_id, observations, questionnaire, unknown_items) ",
                );
                qb.push_values(chunk, |mut b, a| {
                    let row = a.row();
                    b.push_bind(insurer.clone())
                        .push_bind(a.member().to_key_string())
                        .push_bind(row.exam_date.to_string())
                        .push_bind(row.source.code())
                        .push_bind(submitter.clone())
                        .push_bind(import_id)
                        .push_bind(to_json(&row.observations))
                        .push_bind(to_json(&row.questionnaire))
                        .push_bind(to_json(&row.unknown_items));
                });
                qb.push(" ON CONFLICT (member_key, exam_date, source) DO NOTHING");
                qb.build().execute(&mut *c).await?.rows_affected()
            });
        }
        Ok(stored)
    }

    /// Inserts admitted 要精密検査 rows received on `received_on`; returns (new rows,
    /// rows received after 翌々月末).
    pub async fn insert_referrals(
        &mut self,
        import_id: i64,
        employer: &EmployerCode,
        received_on: Date,
        admitted: &[Admitted<SubmittedReferral>],
    ) -> Result<(u64, u64)> {
        let insurer = self.insurer.clone();
        let mut stored = 0;
        let mut late = 0;
        for chunk in admitted.chunks(CHUNK) {
            let flags: Vec<bool> = chunk.iter().map(|a| a.row().is_late(received_on)).collect();
            late += flags.iter().filter(|l| **l).count() as u64;
            stored += on_conn!(self.conn(), c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO referrals (insurer, member_key, employer_code, cancer, screening_date, received_on, consent_attested, late, import_id) ",
                );
                qb.push_values(chunk.iter().zip(&flags), |mut b, (a, is_late)| {
                    let row = a.row();
                    b.push_bind(insurer.clone())
                        .push_bind(a.member().to_key_string())
                        .push_bind(employer.as_str().to_owned())
                        .push_bind(row.cancer.code())
                        .push_bind(row.screening_date.to_string())
                        .push_bind(received_on.to_string())
                        .push_bind(i64::from(row.consent_attested))
                        .push_bind(i64::from(*is_late))
                        .push_bind(import_id);
                });
                qb.push(" ON CONFLICT (member_key, cancer, screening_date) DO NOTHING");
                qb.build().execute(&mut *c).await?.rows_affected()
            });
        }
        Ok((stored, late))
    }

    /// Inserts admitted visit facts: by `COPY` on PostgreSQL, by multi-row `VALUES`
    /// of [`BULK_ROWS`] rows on SQLite (every statement is a round trip).
    pub async fn insert_visits(
        &mut self,
        import_id: i64,
        admitted: &[Admitted<IncomingVisit>],
    ) -> Result<u64> {
        let insurer = self.insurer.clone();
        let day_of = |v: &IncomingVisit| match v.time {
            ServiceTime::Day(d) => Some(d.to_string()),
            ServiceTime::Month(_) => None,
        };
        match self.conn() {
            Conn::Postgres(c) => {
                let mut copy = CopyText::new();
                for a in admitted {
                    let v = a.row();
                    copy.field(Some(&insurer));
                    copy.field(Some(&a.member().to_key_string()));
                    copy.field(day_of(v).as_deref());
                    copy.field(Some(&v.time.month().to_string()));
                    copy.field(Some(&v.institution));
                    copy.field(Some(&to_json(&v.evidence)));
                    copy.last(Some(&import_id.to_string()));
                }
                copy.send(
                    c,
                    "COPY visits (insurer, member_key, service_day, service_month, institution, evidence, import_id) FROM STDIN",
                )
                .await?;
            }
            Conn::Sqlite(c) => {
                for chunk in admitted.chunks(BULK_ROWS) {
                    let mut qb = sqlx::QueryBuilder::new(
                        "INSERT INTO visits (insurer, member_key, service_day, service_month, institution, evidence, import_id) ",
                    );
                    qb.push_values(chunk, |mut b, a| {
                        let v = a.row();
                        b.push_bind(insurer.clone())
                            .push_bind(a.member().to_key_string())
                            .push_bind(day_of(v))
                            .push_bind(v.time.month().to_string())
                            .push_bind(v.institution.clone())
                            .push_bind(to_json(&v.evidence))
                            .push_bind(import_id);
                    });
                    qb.build().execute(&mut *c).await?;
                }
            }
        }
        Ok(admitted.len() as u64)
    }

    /// Queues rows for staff.
    pub async fn queue_review(
        &mut self,
        import_id: i64,
        employer: Option<&EmployerCode>,
        items: &[NewReviewItem],
        at: jiff::Timestamp,
    ) -> Result<()> {
        let insurer = self.insurer.clone();
        let employer = employer.map(|e| e.as_str().to_owned());
        let at = at.to_string();
        for chunk in items.chunks(CHUNK / 2) {
            on_conn!(self.conn(), c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO review_items (insurer, import_id, kind, employer_code, line, payload, reason, status, subject, birth_date, queued_at) ",
                );
                qb.push_values(chunk, |mut b, item| {
                    b.push_bind(insurer.clone())
                        .push_bind(import_id)
                        .push_bind(item.payload.kind().code())
                        .push_bind(employer.clone())
                        .push_bind(i64::try_from(item.line).unwrap_or(i64::MAX))
                        .push_bind(payload_json(&item.payload))
                        .push_bind(item.reason.code())
                        .push_bind("open")
                        .push_bind(item.subject.clone())
                        .push_bind(item.birth_date.map(|d| d.to_string()).unwrap_or_default())
                        .push_bind(at.clone());
                });
                qb.build().execute(&mut *c).await?;
            });
        }
        Ok(())
    }
}

impl Tx {
    /// Counts one upload of an employer on `day`; returns the uploads of that day
    /// before this one.
    pub async fn count_upload(&mut self, employer: &EmployerCode, day: Date) -> Result<i64> {
        let insurer = self.insurer.clone();
        let (n,): (i64,) = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "INSERT INTO upload_counts (insurer, employer_code, day, uploads) VALUES ($1, $2, $3, 1)
                 ON CONFLICT (insurer, employer_code, day) DO UPDATE SET uploads = upload_counts.uploads + 1
                 RETURNING uploads",
            )
            .bind(&insurer).bind(employer.as_str()).bind(day.to_string())
            .fetch_one(&mut *c).await?
        });
        Ok(n - 1)
    }
}

impl Reader {
    /// The summary of an earlier import of the same content, if there was one (the
    /// quick answer to a repeat, before the file is parsed; [`Tx::begin_import`]
    /// decides).
    pub async fn earlier_import(
        &mut self,
        kind: ImportKind,
        sha256: &str,
    ) -> Result<Option<ImportSummary>> {
        let insurer = self.insurer.clone();
        let found: Option<(i64, String)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT id, summary FROM imports WHERE insurer = $1 AND kind = $2 AND sha256 = $3")
                .bind(&insurer).bind(kind.code()).bind(sha256)
                .fetch_optional(&mut *c).await?
        });
        found
            .map(|(id, summary)| {
                let mut summary: ImportSummary = rows::json("imports", "summary", &summary)?;
                summary.import_id = id;
                summary.already_imported = true;
                Ok(summary)
            })
            .transpose()
    }

    /// How many register imports this society has had: it changes whenever matching
    /// against the register could give another answer (with the tombstones, what an
    /// admission outside the write transaction depends on).
    pub async fn register_generation(&mut self) -> Result<i64> {
        let insurer = self.insurer.clone();
        let (n,): (i64,) = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT COUNT(*) FROM imports WHERE insurer = $1 AND kind = 'members'")
                .bind(&insurer).fetch_one(&mut *c).await?
        });
        Ok(n)
    }

    /// The tombstones of this society.
    pub async fn opt_out_register(&mut self) -> Result<OptOutRegister> {
        let insurer = self.insurer.clone();
        let found: Vec<(String, String)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT member_key, scope FROM tombstones WHERE insurer = $1")
                .bind(&insurer).fetch_all(&mut *c).await?
        });
        register_of(found)
    }

    /// The opt-out register narrowed to one member (resolving one review item needs
    /// only that person's opt-outs, not the society's).
    pub async fn opt_out_register_of(&mut self, member: &MemberKey) -> Result<OptOutRegister> {
        let insurer = self.insurer.clone();
        let found: Vec<(String, String)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT member_key, scope FROM tombstones WHERE insurer = $1 AND member_key = $2")
                .bind(&insurer).bind(member.to_key_string()).fetch_all(&mut *c).await?
        });
        register_of(found)
    }

    /// Imports submitted by (or about) one employer, newest first.
    pub async fn imports_of_employer(
        &mut self,
        employer: &EmployerCode,
        limit: i64,
    ) -> Result<Vec<ImportRecord>> {
        let insurer = self.insurer.clone();
        let found: Vec<ImportRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT id, kind, file_name, imported_at, actor, employer_code, summary FROM imports
                 WHERE insurer = $1 AND employer_code = $2 ORDER BY id DESC LIMIT $3",
            )
            .bind(&insurer).bind(employer.as_str()).bind(limit).fetch_all(&mut *c).await?
        });
        found.into_iter().map(ImportRow::into_record).collect()
    }

    /// One import, only if it belongs to `employer` (a foreign id is simply not found).
    pub async fn import_of_employer(
        &mut self,
        employer: &EmployerCode,
        id: i64,
    ) -> Result<Option<ImportRecord>> {
        let insurer = self.insurer.clone();
        let found: Option<ImportRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT id, kind, file_name, imported_at, actor, employer_code, summary FROM imports
                 WHERE insurer = $1 AND employer_code = $2 AND id = $3",
            )
            .bind(&insurer).bind(employer.as_str()).bind(id).fetch_optional(&mut *c).await?
        });
        found.map(ImportRow::into_record).transpose()
    }
}

/// An opt-out register from `(member_key, scope)` rows of `tombstones`.
fn register_of(found: Vec<(String, String)>) -> Result<OptOutRegister> {
    let entries = found
        .into_iter()
        .map(|(key, scope)| {
            Ok((
                key,
                rows::code("tombstones", "scope", &scope, ConsentScope::from_code)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(OptOutRegister::new(entries))
}
