//! Letter batches: every notice due is rendered into one batch (PDF parts, one PDF per
//! letter for reprints, and the mailing list CSV for the print and mail vendor), and
//! the cases move to "prepared" in the transaction that records the batch and its
//! audit record (naming every recipient). Notices count as sent only when staff confirm
//! the batch was mailed; a batch can be cancelled and rebuilt. People without a usable
//! address go to the review queue instead. Templates are checked before anything is
//! rendered, so a broken template never leaves a half-built batch.

use crate::{App, AppError, Result, write};
use collabo_domain::Date;
use collabo_domain::actor::Actor;
use collabo_domain::admission::ReviewPayload;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::calendar::FiscalYear;
use collabo_domain::case::{CaseEvent, Trigger, TriggerValue};
use collabo_domain::matching::ReviewReason;
use collabo_domain::programme::{BatchStatus, LetterKind, ProgrammeBook, ProgrammeCode};
use collabo_letters::{
    BatchOptions, CsvEncoding, LetterData, LetterDate, MailingRow, Recipient, Renderer, Sender,
    ValueRow,
};
use collabo_store::imports::NewReviewItem;
use collabo_store::letters::{DueLetter, NewLetter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use collabo_store::letters::{Batch, BatchLetter};

/// A prepared batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedBatch {
    /// Batch id (`B20251016-01`).
    pub id: String,
    /// Letters in it.
    pub letters: usize,
    /// Due notices sent to the review queue for want of an address.
    pub unmailable: usize,
    /// Folder with the PDF parts, per-letter PDFs and the mailing list.
    pub dir: PathBuf,
    /// The PDF parts, in print order.
    pub parts: Vec<PathBuf>,
    /// The mailing list CSV.
    pub csv: PathBuf,
}

/// A file of a batch to hand out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFile {
    /// Where it is.
    pub path: PathBuf,
    /// The name to download it as.
    pub name: String,
}

fn programme_of(kind: LetterKind) -> ProgrammeCode {
    match kind {
        LetterKind::RiskReferral => ProgrammeCode::R,
        LetterKind::SmokingCessation => ProgrammeCode::S,
        LetterKind::DiabetesReferral => ProgrammeCode::D,
        LetterKind::CancerReferral | LetterKind::CancerRenotice => ProgrammeCode::C,
    }
}

/// `≥6.5` → `6.5以上`, `<60` → `60未満`, `≤12` → `12以下`.
fn threshold_text(threshold: &str) -> String {
    if let Some(v) = threshold.strip_prefix('≥') {
        format!("{v}以上")
    } else if let Some(v) = threshold.strip_prefix('≤') {
        format!("{v}以下")
    } else if let Some(v) = threshold.strip_prefix('<') {
        format!("{v}未満")
    } else {
        threshold.to_owned()
    }
}

fn value_row(v: &TriggerValue) -> ValueRow {
    ValueRow {
        label: v.item.label().to_owned(),
        value: v.value.clone(),
        unit: v.item.unit().to_owned(),
        threshold: threshold_text(&v.threshold),
        level: v.level.map(|l| l.label().to_owned()).unwrap_or_default(),
    }
}

fn letter_data(
    book: &ProgrammeBook,
    sender: &Sender,
    due: &DueLetter,
    batch: &str,
    sequence: u32,
    today: Date,
) -> Result<LetterData> {
    let fy = FiscalYear::new(i16::try_from(due.fiscal_year).unwrap_or(2000));
    let pamphlets = book
        .for_year(programme_of(due.kind), fy)
        .map(|s| s.pamphlets.clone())
        .unwrap_or_default();
    let cancer_type = match due.case_key.trigger {
        Trigger::Referral(cancer, _) => Some(collabo_letters::cancer_screening_label(cancer)),
        Trigger::Checkup(_) => None,
    };
    let previous_notice_date = if due.kind == LetterKind::CancerRenotice {
        due.first_mailed_on.map(LetterDate::new).transpose()?
    } else {
        None
    };
    let address = &due.member.address;
    let address_lines = [address.line1.clone(), address.line2.clone()]
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    Ok(LetterData {
        kind: due.kind,
        recipient: Recipient {
            postal_code: address.postal_code.clone(),
            address_lines,
            name: due.member.name_kanji.clone(),
        },
        sender: sender.clone(),
        date: LetterDate::new(today)?,
        exam_date: Some(LetterDate::new(due.trigger_date)?),
        previous_notice_date,
        cancer_type,
        values: due.values.iter().map(value_row).collect(),
        pamphlets,
        batch_id: batch.to_owned(),
        sequence,
        reference: format!("{batch}-{sequence:05}"),
    })
}

fn sender_of(s: &collabo_store::Society) -> Sender {
    Sender {
        society_name: s.name.clone(),
        section: s.section.clone(),
        address: s.address.clone(),
        phone: s.phone.clone(),
        hours: "平日 9:00～17:00".into(),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AppError + '_ {
    move |source| AppError::Io {
        path: path.to_owned(),
        source,
    }
}

impl App {
    /// Notices due now (for the letters page: counts only).
    pub async fn letters_due_count(&self, actor: &Actor) -> Result<usize> {
        actor.may(Action::ManageLetters, Scope::Society)?;
        Ok(self.store().read().await?.letters_due().await?.len())
    }

    /// Prepares one batch of every notice due on the actor's today, writing its files
    /// under `out_root/<batch id>/`. `None` when nothing is due. The letters are
    /// rendered before the write transaction begins, so rendering never holds the
    /// database's write lock.
    pub async fn prepare_letters(
        &self,
        actor: &Actor,
        renderer: &Arc<Renderer>,
        out_root: &Path,
    ) -> Result<Option<PreparedBatch>> {
        actor.may(Action::ManageLetters, Scope::Society)?;
        // A broken template stops here, before any case moves.
        renderer.validate_templates()?;
        let today = actor.today();
        let mut r = self.store().read().await?;
        let due = r.letters_due().await?;
        let book = r.programme_book().await?;
        let sender = sender_of(&r.society().await?);
        let existing = r.batches().await?;
        drop(r);
        let (mailable, unmailable): (Vec<DueLetter>, Vec<DueLetter>) = due
            .into_iter()
            .partition(|d| d.member.address.is_mailable());
        let prefix = format!("B{}", today.strftime("%Y%m%d"));
        let n = existing
            .iter()
            .filter(|b| b.id.starts_with(&prefix))
            .count()
            + 1;
        let id = format!("{prefix}-{n:02}");
        let dir = out_root.join(&id);
        let rendered = if mailable.is_empty() {
            None
        } else {
            let data = mailable
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    letter_data(
                        &book,
                        &sender,
                        d,
                        &id,
                        u32::try_from(i + 1).unwrap_or(u32::MAX),
                        today,
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            let (renderer, dir_owned, id_owned) = (renderer.clone(), dir.clone(), id.clone());
            let written = tokio::task::spawn_blocking(move || {
                write_files(&renderer, &data, &dir_owned, &id_owned)
            })
            .await
            .map_err(|e| AppError::Invalid(format!("join: {e}")))?;
            match written {
                Ok(w) => Some(w),
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(e);
                }
            }
        };
        let recorded = self
            .record_batch(actor, &id, &dir, &mailable, &unmailable, rendered.as_ref())
            .await;
        match (recorded, rendered) {
            (Err(e), _) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
            (Ok(_), None) => Ok(None),
            (Ok(letters), Some((manifest, csv))) => Ok(Some(PreparedBatch {
                id,
                letters,
                unmailable: unmailable.len(),
                dir,
                parts: manifest.parts,
                csv,
            })),
        }
    }

    /// The write half of [`App::prepare_letters`]: queues the unmailable, records the
    /// batch and moves its cases, with the audit record naming every recipient.
    async fn record_batch(
        &self,
        actor: &Actor,
        id: &str,
        dir: &Path,
        mailable: &[DueLetter],
        unmailable: &[DueLetter],
        rendered: Option<&(collabo_letters::BatchManifest, PathBuf)>,
    ) -> Result<usize> {
        let today = actor.today();
        let mut tx = write(self).await?;
        // Another batch may have taken some of these notices since they were read.
        let still_due: std::collections::HashSet<String> = tx
            .letters_due()
            .await?
            .into_iter()
            .map(|d| d.case_key.to_string())
            .collect();
        if mailable
            .iter()
            .any(|d| !still_due.contains(&d.case_key.to_string()))
        {
            return Err(AppError::Conflict(
                "同時に別の通知バッチが作成されました。もう一度作成してください。".into(),
            ));
        }
        let mut queued = Vec::new();
        for d in unmailable {
            let key = d.case_key.to_string();
            if !tx.open_address_item(&d.member.key, &key).await? {
                queued.push(NewReviewItem {
                    line: 0,
                    subject: d.member.key.to_key_string(),
                    birth_date: Some(d.member.birth_date),
                    reason: ReviewReason::NoAddress,
                    payload: ReviewPayload::Address {
                        case_key: key,
                        member: d.member.key.clone(),
                    },
                });
            }
        }
        tx.queue_review(0, None, &queued, actor.now).await?;
        let Some((manifest, csv)) = rendered else {
            if !queued.is_empty() {
                tx.audit(
                    &AuditEntry::new(actor, AuditAction::LettersPrepare)
                        .subjects(queued.iter().map(|q| q.subject.clone()))
                        .detail(format!("no batch: {} to review (no address)", queued.len())),
                )
                .await?;
            }
            tx.commit().await?;
            return Ok(0);
        };
        let letters: Vec<NewLetter> = mailable
            .iter()
            .zip(&manifest.letters)
            .map(|(d, placement)| NewLetter {
                case_key: d.case_key.clone(),
                member: d.member.key.clone(),
                kind: d.kind,
                part: placement.part as i64,
            })
            .collect();
        tx.create_batch(
            id,
            today,
            &letters,
            Some(&dir.display().to_string()),
            Some(&csv.display().to_string()),
        )
        .await?;
        let events: Vec<_> = letters
            .iter()
            .map(|l| {
                (
                    l.case_key.clone(),
                    CaseEvent::NoticePrepared {
                        batch: id.to_owned(),
                    },
                )
            })
            .collect();
        tx.append_case_events(today, &events).await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::LettersPrepare)
                .subjects(
                    letters
                        .iter()
                        .map(|l| l.member.to_key_string())
                        .chain(queued.iter().map(|q| q.subject.clone())),
                )
                .detail(format!(
                    "{id}: {} letters, {} to review (no address)",
                    letters.len(),
                    unmailable.len()
                )),
        )
        .await?;
        tx.commit().await?;
        Ok(letters.len())
    }

    /// Staff confirm a batch was mailed on `on`: its notices count as sent from that
    /// day. Returns the notices marked sent (cases stopped since, e.g. by an opt-out,
    /// are not).
    pub async fn mark_mailed(&self, actor: &Actor, batch: &str, on: Date) -> Result<u64> {
        actor.may(Action::ManageLetters, Scope::Society)?;
        self.close_batch(actor, batch, on, BatchStatus::Mailed)
            .await
    }

    /// Cancels a prepared batch; its notices are due again.
    pub async fn cancel_batch(&self, actor: &Actor, batch: &str) -> Result<u64> {
        actor.may(Action::ManageLetters, Scope::Society)?;
        self.close_batch(actor, batch, actor.today(), BatchStatus::Cancelled)
            .await
    }

    async fn close_batch(
        &self,
        actor: &Actor,
        batch: &str,
        on: Date,
        to: BatchStatus,
    ) -> Result<u64> {
        let mut tx = write(self).await?;
        let cases = tx.batch_waiting_cases(batch).await?;
        tx.set_batch_status(batch, BatchStatus::Prepared, to, on)
            .await?;
        let event = |_: &collabo_domain::case::CaseKey| match to {
            BatchStatus::Mailed => CaseEvent::NoticeMailed,
            _ => CaseEvent::BatchCancelled {
                batch: batch.to_owned(),
            },
        };
        let events: Vec<_> = cases.iter().map(|k| (k.clone(), event(k))).collect();
        let n = tx.append_case_events(on, &events).await?;
        let (action, detail) = match to {
            BatchStatus::Mailed => (
                AuditAction::LettersMailed,
                format!("{batch}: {n} notices mailed on {on}"),
            ),
            _ => (
                AuditAction::LettersCancel,
                format!("{batch}: {n} notices back to due"),
            ),
        };
        tx.audit(
            &AuditEntry::new(actor, action)
                .subjects(cases.iter().map(|k| k.member.to_key_string()))
                .detail(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Every batch, newest first (ids, dates, counts: no personal data).
    pub async fn batches(&self, actor: &Actor) -> Result<Vec<Batch>> {
        actor.may(Action::ManageLetters, Scope::Society)?;
        Ok(self.store().read().await?.batches().await?)
    }

    /// One batch.
    pub async fn batch(&self, actor: &Actor, id: &str) -> Result<Batch> {
        actor.may(Action::ManageLetters, Scope::Society)?;
        self.store()
            .read()
            .await?
            .batch(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("batch {id}")))
    }

    /// The PDF parts of a batch, in print order.
    pub async fn batch_parts(&self, actor: &Actor, id: &str) -> Result<Vec<BatchFile>> {
        let batch = self.batch(actor, id).await?;
        let Some(path) = batch.pdf_path else {
            return Ok(Vec::new());
        };
        let dir = PathBuf::from(path);
        if !dir.is_dir() {
            return Ok(vec![BatchFile {
                name: format!("{id}.pdf"),
                path: dir,
            }]);
        }
        let mut parts: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(io(&dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "pdf"))
            .collect();
        parts.sort();
        let total = parts.len();
        Ok(parts
            .into_iter()
            .enumerate()
            .map(|(i, path)| BatchFile {
                name: format!("{id}_{}of{total}.pdf", i + 1),
                path,
            })
            .collect())
    }

    /// One PDF part of a batch to download; audited, naming the people printed in it.
    pub async fn download_batch_part(
        &self,
        actor: &Actor,
        id: &str,
        part: usize,
    ) -> Result<BatchFile> {
        let parts = self.batch_parts(actor, id).await?;
        let file = parts
            .get(part)
            .cloned()
            .ok_or_else(|| AppError::NotFound(format!("batch {id} part {}", part + 1)))?;
        let letters = self.store().read().await?.batch_letters(id).await?;
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::LettersDownload)
                .subjects(
                    letters
                        .iter()
                        .filter(|l| l.part == part as i64)
                        .map(|l| l.member.key.to_key_string()),
                )
                .detail(format!(
                    "batch {id} PDF part {} of {}",
                    part + 1,
                    parts.len()
                )),
        )
        .await?;
        Ok(file)
    }

    /// The mailing list of a batch to download; audited, naming everyone on it.
    pub async fn download_mailing_list(&self, actor: &Actor, id: &str) -> Result<BatchFile> {
        let batch = self.batch(actor, id).await?;
        let path = PathBuf::from(
            batch
                .csv_path
                .ok_or_else(|| AppError::NotFound(format!("mailing list of {id}")))?,
        );
        let letters = self.store().read().await?.batch_letters(id).await?;
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::MailingListExport)
                .subjects(letters.iter().map(|l| l.member.key.to_key_string()))
                .detail(format!("batch {id} mailing list")),
        )
        .await?;
        Ok(BatchFile {
            name: format!("{id}_発送リスト.csv"),
            path,
        })
    }

    /// Stores an uploaded letter template in `dir` after checking it compiles with
    /// every letter kind's sample data; a broken template leaves the previous file in
    /// place. Both outcomes are audited. `Ok(Err(message))` tells the user why it was
    /// refused.
    pub async fn save_template(
        &self,
        actor: &Actor,
        dir: &Path,
        name: &str,
        bytes: &[u8],
    ) -> Result<std::result::Result<(), String>> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        let valid_name = name.ends_with(".typ")
            && name.len() > 4
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !name.starts_with('.');
        if !valid_name {
            return Err(AppError::Invalid(
                "ファイル名は英数字・ハイフン・下線のみの .typ にしてください。".into(),
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| {
            AppError::Invalid("テンプレートは UTF-8 のテキストにしてください。".into())
        })?;
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(name);
        let previous = std::fs::read(&path).ok();
        std::fs::write(&path, text).map_err(io(&path))?;
        let dir_owned = dir.to_owned();
        let checked = tokio::task::spawn_blocking(move || {
            Renderer::with_default_fonts(None, Some(&dir_owned))
                .and_then(|r| r.validate_templates())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| AppError::Invalid(format!("join: {e}")))?;
        if let Err(message) = &checked {
            match previous {
                Some(old) => std::fs::write(&path, old),
                None => std::fs::remove_file(&path),
            }
            .map_err(io(&path))?;
            self.audit_alone(
                &AuditEntry::new(actor, AuditAction::TemplateRejected).detail(format!(
                    "{name}: {}",
                    message.lines().next().unwrap_or_default()
                )),
            )
            .await?;
        } else {
            self.audit_alone(
                &AuditEntry::new(actor, AuditAction::TemplateUpload)
                    .detail(format!("{name} ({} bytes)", bytes.len())),
            )
            .await?;
        }
        Ok(checked)
    }
}

/// Renders the batch's PDFs and writes its mailing list.
fn write_files(
    renderer: &Renderer,
    data: &[LetterData],
    dir: &Path,
    id: &str,
) -> Result<(collabo_letters::BatchManifest, PathBuf)> {
    let manifest = renderer.write_batch(
        data.iter().cloned(),
        dir,
        &BatchOptions {
            per_letter_pdfs: true,
            ..BatchOptions::default()
        },
    )?;
    let rows: Vec<MailingRow> = data
        .iter()
        .zip(&manifest.letters)
        .map(|(letter, placement)| {
            let part = manifest
                .parts
                .get(placement.part)
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            MailingRow::placed(letter, placement, &part)
        })
        .collect();
    let csv = dir.join(format!("{id}_発送リスト.csv"));
    let file = std::fs::File::create(&csv).map_err(io(&csv))?;
    collabo_letters::write_mailing_csv(std::io::BufWriter::new(file), &rows, CsvEncoding::Utf8Bom)?;
    Ok((manifest, csv))
}
