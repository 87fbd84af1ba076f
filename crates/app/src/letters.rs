//! Letter batches: every notice due is rendered into one batch (PDF parts, one PDF per
//! envelope for reprints, and the mailing list CSV for the print and mail vendor), and
//! the cases move to "prepared" in the transaction that records the batch and its
//! audit record (naming every recipient). One person's notices of a batch share one
//! envelope (`collabo_domain::batch::envelopes`). Notices count as sent only when staff
//! confirm the batch mailed on a 発送日, for exactly the parts, envelopes and 差止 list
//! they were shown; a batch can be cancelled (its files are deleted and no longer
//! served) and its notices rebuilt. People without a usable address go to the review
//! queue instead. Templates are checked before anything is rendered, so a broken
//! template never leaves a half-built batch.
//!
//! A letter withdrawn while in a batch (the engine found the visit, the person opted
//! out or lost 資格) leaves it: before the PDF was handed out the batch's files are
//! re-made without it; afterwards it is marked 差止 on the mailing list and shown to
//! staff before they confirm 発送. Files are brought up to date whenever they are
//! handed out or shown, so a withdrawn letter is never served.

use crate::{App, AppError, Result, write};
use collabo_domain::Date;
use collabo_domain::actor::Actor;
use collabo_domain::admission::ReviewPayload;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::batch::{
    BatchWithdrawal, LetterStatus, MailingConfirmation, envelopes, withdrawal_status,
};
use collabo_domain::calendar::FiscalYear;
use collabo_domain::case::{CaseEvent, Trigger, TriggerValue};
use collabo_domain::checkup::CheckupSource;
use collabo_domain::matching::ReviewReason;
use collabo_domain::programme::{BatchStatus, LetterKind, ProgrammeBook, ProgrammeCode};
use collabo_letters::{
    BatchOptions, CsvEncoding, DataSource, EnvelopePlace, LetterData, LetterDate, MailingRow,
    Recipient, Renderer, Sender, ValueRow,
};
use collabo_store::Tx;
use collabo_store::imports::NewReviewItem;
use collabo_store::letters::{DueLetter, LetterLayout, NewLetter};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use collabo_store::letters::{Batch, BatchLetter};

/// The society setting holding the contact hours printed on letters.
pub const CONTACT_HOURS: &str = "letters.contact_hours";
/// Contact hours when the society has not set them.
pub const DEFAULT_CONTACT_HOURS: &str = "平日 9:00～17:00";

/// A prepared batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedBatch {
    /// Batch id (`B20251016-01`).
    pub id: String,
    /// Letters in it.
    pub letters: usize,
    /// Envelopes (one per person).
    pub envelopes: usize,
    /// Pages over all parts.
    pub pages: usize,
    /// Due notices sent to the review queue for want of an address.
    pub unmailable: usize,
    /// Folder with the PDF parts, per-envelope PDFs and the mailing list.
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
    /// The name to download it as (`B20250716-01_通知_1of2.pdf`).
    pub name: String,
}

/// A letter that left its batch, as staff must see it before 発送.
#[derive(Debug, Clone, PartialEq)]
pub struct WithdrawnLetter {
    /// The letter.
    pub letter: BatchLetter,
    /// 整理番号 printed on it.
    pub reference: String,
    /// The part file it was (or is) printed in, as downloaded.
    pub part_name: String,
}

/// One batch as staff see it: its files, counts and withdrawn letters.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchView {
    /// The batch.
    pub batch: Batch,
    /// The PDF parts to print, in order (none once cancelled).
    pub parts: Vec<BatchFile>,
    /// The mailing list.
    pub csv: Option<BatchFile>,
    /// Letters withdrawn: removed from the files, or 差止 (take out before mailing).
    pub withdrawn: Vec<WithdrawnLetter>,
}

impl BatchView {
    /// What staff confirm when they mark this batch mailed.
    pub fn confirmation(&self) -> MailingConfirmation {
        MailingConfirmation {
            envelopes: u64::try_from(self.batch.envelopes).unwrap_or(0),
            parts: self.parts.len() as u64,
            stopped: u64::try_from(self.batch.stopped).unwrap_or(0),
        }
    }
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
        level: v.judgement().to_owned(),
    }
}

/// Where a letter says its data came from.
fn data_source(due: &DueLetter) -> DataSource {
    match (due.source, due.kind) {
        (Some(CheckupSource::SocietyDock), _) => DataSource::Dock,
        (Some(CheckupSource::Employer), _) => DataSource::Employer,
        (None, LetterKind::CancerReferral | LetterKind::CancerRenotice) => DataSource::Screening,
        (None, _) => DataSource::Employer,
    }
}

/// The 整理番号 of an envelope.
fn reference(batch: &str, envelope: u32) -> String {
    format!("{batch}-{envelope:05}")
}

/// The download name of a part: `B20250716-01_通知_1of2.pdf`.
pub fn part_name(batch: &str, index: usize, total: usize) -> String {
    format!("{batch}_通知_{}of{total}.pdf", index + 1)
}

fn letter_data(
    book: &ProgrammeBook,
    sender: &Sender,
    due: &DueLetter,
    batch: &str,
    envelope: u32,
    place: EnvelopePlace,
    today: Date,
) -> Result<LetterData> {
    let fy = FiscalYear::new(i16::try_from(due.fiscal_year).unwrap_or(2000));
    let settings = book.for_year(programme_of(due.kind), fy);
    let pamphlets = settings.map(|s| s.pamphlets.clone()).unwrap_or_default();
    // The wording of an A/B test: the engine recorded it in the case from the same
    // function of (programme, person), so letter and record cannot disagree.
    let variant = settings
        .filter(|s| s.ab_variants && matches!(s.code, ProgrammeCode::S | ProgrammeCode::C))
        .map(|s| {
            collabo_domain::programme::letter_variant(s.code, &due.member.key)
                .code()
                .to_owned()
        });
    let cancer_type = match due.case_key.trigger {
        Trigger::Referral(cancer, _) => Some(collabo_letters::cancer_screening_label(cancer)),
        Trigger::Checkup(_) => None,
    };
    let previous_notice_date = if due.kind == LetterKind::CancerRenotice {
        due.first_mailed_on.map(LetterDate::new).transpose()?
    } else {
        None
    };
    Ok(LetterData {
        kind: due.kind,
        recipient: Recipient::from_member(&due.member),
        sender: sender.clone(),
        date: LetterDate::new(today)?,
        exam_date: Some(LetterDate::new(due.trigger_date)?),
        previous_notice_date,
        cancer_type,
        values: due.values.iter().map(value_row).collect(),
        pamphlets,
        data_source: data_source(due),
        batch_id: batch.to_owned(),
        sequence: envelope,
        reference: reference(batch, envelope),
        envelope: place,
        variant,
    })
}

fn sender_of(s: &collabo_store::Society, hours: &str, joint_use: String) -> Sender {
    Sender {
        society_name: s.name.clone(),
        section: s.section.clone(),
        address: s.address.clone(),
        phone: s.phone.clone(),
        hours: hours.to_owned(),
        joint_use,
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AppError + '_ {
    move |source| AppError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The letters of a batch in envelope order: each due letter with its envelope number
/// and place. `due` is in member-key order; one envelope per person.
fn in_envelopes(due: Vec<DueLetter>, first_envelope: u32) -> Vec<(DueLetter, u32, EnvelopePlace)> {
    let keys: Vec<String> = due.iter().map(|d| d.member.key.to_key_string()).collect();
    let groups = envelopes(&keys);
    let mut slots: Vec<Option<DueLetter>> = due.into_iter().map(Some).collect();
    let mut out = Vec::new();
    for (n, group) in groups.iter().enumerate() {
        let count = group.len() as u32;
        for (position, index) in group.iter().enumerate() {
            if let Some(letter) = slots.get_mut(*index).and_then(Option::take) {
                out.push((
                    letter,
                    first_envelope + n as u32,
                    EnvelopePlace {
                        position: position as u32 + 1,
                        count,
                    },
                ));
            }
        }
    }
    out
}

/// Takes withdrawn letters out of their batches inside `tx`: removed from a batch whose
/// PDF was not handed out yet, 差止 in one that was. Returns how many left a batch.
pub(crate) async fn withdraw_from_batches(
    tx: &mut Tx,
    today: Date,
    withdrawals: &[BatchWithdrawal],
) -> Result<u64> {
    let mut n = 0;
    let mut handed_out: BTreeMap<String, bool> = BTreeMap::new();
    for w in withdrawals {
        let printed = match handed_out.get(&w.batch) {
            Some(p) => *p,
            None => {
                let p = tx
                    .batch(&w.batch)
                    .await?
                    .is_some_and(|b| b.handed_out_on.is_some());
                handed_out.insert(w.batch.clone(), p);
                p
            }
        };
        if tx
            .withdraw_letter(
                &w.batch,
                &w.case,
                withdrawal_status(printed),
                w.reason,
                today,
            )
            .await?
        {
            n += 1;
        }
    }
    Ok(n)
}

impl App {
    /// Notices due now (for the letters page: counts only).
    pub async fn letters_due_count(&self, actor: &Actor) -> Result<usize> {
        actor.may(Action::ManageLetters, Scope::Society)?;
        Ok(self.store().read().await?.letters_due().await?.len())
    }

    /// The sender block of letters made on `day`, with where the 共同利用 declaration
    /// in force that day is published (empty when none is).
    async fn sender(&self, day: Date) -> Result<Sender> {
        let mut r = self.store().read().await?;
        let society = r.society().await?;
        let hours = r
            .society_setting(CONTACT_HOURS)
            .await?
            .unwrap_or_else(|| DEFAULT_CONTACT_HOURS.to_owned());
        let declarations = r.joint_use_declarations().await?;
        let joint_use = collabo_domain::joint_use::in_force(&declarations, day)
            .map(|d| d.published_at.clone())
            .unwrap_or_default();
        Ok(sender_of(&society, &hours, joint_use))
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
        let sender = self.sender(today).await?;
        let mut r = self.store().read().await?;
        let due = r.letters_due().await?;
        let book = r.programme_book().await?;
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
        let placed = in_envelopes(mailable, 1);
        let rendered = if placed.is_empty() {
            None
        } else {
            let data = placed
                .iter()
                .map(|(d, envelope, place)| {
                    letter_data(&book, &sender, d, &id, *envelope, *place, today)
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
            .record_batch(actor, &id, &dir, &placed, &unmailable, rendered.as_ref())
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
                envelopes: manifest.letters.len(),
                pages: manifest.pages,
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
        placed: &[(DueLetter, u32, EnvelopePlace)],
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
        if placed
            .iter()
            .any(|(d, _, _)| !still_due.contains(&d.case_key.to_string()))
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
                        .detail(format!(
                            "バッチ作成なし: 住所がないため{}件を照合待ちへ",
                            queued.len()
                        )),
                )
                .await?;
            }
            tx.commit().await?;
            return Ok(0);
        };
        let by_envelope: BTreeMap<u32, &collabo_letters::LetterPlacement> =
            manifest.letters.iter().map(|p| (p.sequence, p)).collect();
        let letters: Vec<NewLetter> = placed
            .iter()
            .map(|(d, envelope, place)| {
                let placement = by_envelope.get(envelope);
                NewLetter {
                    case_key: d.case_key.clone(),
                    member: d.member.key.clone(),
                    kind: d.kind,
                    part: placement.map_or(0, |p| p.part as i64),
                    envelope: i64::from(*envelope),
                    first_page: placement.map_or(0, |p| p.placement.first_page as i64),
                    // Pages are counted once per envelope, on its first letter.
                    pages: if place.position == 1 {
                        placement.map_or(0, |p| p.placement.pages as i64)
                    } else {
                        0
                    },
                }
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
                    "{id}: レター{}件（封筒{}通、{}ページ、PDF{}分割）、住所がないため照合待ち{}件",
                    letters.len(),
                    manifest.letters.len(),
                    manifest.pages,
                    manifest.parts.len(),
                    unmailable.len()
                )),
        )
        .await?;
        tx.commit().await?;
        Ok(letters.len())
    }

    /// Staff confirm a batch was mailed on `on` (the 発送日, not after today), for the
    /// envelopes, parts and 差止 list they were shown (`confirmed`): its notices count
    /// as sent from that day. A batch that changed since (a letter withdrawn) is
    /// refused, so staff see the change first. Returns the notices marked sent.
    pub async fn mark_mailed(
        &self,
        actor: &Actor,
        batch: &str,
        on: Date,
        confirmed: MailingConfirmation,
    ) -> Result<u64> {
        actor.may(Action::ManageLetters, Scope::Society)?;
        if on > actor.today() {
            return Err(AppError::Invalid(
                "発送日に今日より後の日付は指定できません。".into(),
            ));
        }
        let current = self.store().read().await?.batch(batch).await?;
        let current = current.ok_or_else(|| AppError::NotFound(format!("batch {batch}")))?;
        if on < current.prepared_on {
            return Err(AppError::Invalid(
                "発送日がバッチの作成日より前です。".into(),
            ));
        }
        let shown = MailingConfirmation {
            envelopes: u64::try_from(current.envelopes).unwrap_or(0),
            parts: u64::try_from(current.parts).unwrap_or(0),
            stopped: u64::try_from(current.stopped).unwrap_or(0),
        };
        if current.status == BatchStatus::Prepared && (shown != confirmed || current.files_stale) {
            return Err(AppError::Conflict(format!(
                "バッチ {batch} の内容が変わりました（発送対象 {}通・PDF {}ファイル・差止 {}通）。バッチの画面で内容を確かめてから発送済にしてください。",
                shown.envelopes, shown.parts, shown.stopped
            )));
        }
        self.close_batch(actor, batch, on, BatchStatus::Mailed)
            .await
    }

    /// Cancels a prepared batch; its notices are due again and its files are deleted
    /// (a cancelled batch's files are no longer served).
    pub async fn cancel_batch(&self, actor: &Actor, batch: &str) -> Result<u64> {
        actor.may(Action::ManageLetters, Scope::Society)?;
        let n = self
            .close_batch(actor, batch, actor.today(), BatchStatus::Cancelled)
            .await?;
        if let Some(dir) = self
            .store()
            .read()
            .await?
            .batch(batch)
            .await?
            .and_then(|b| b.pdf_path)
        {
            let dir = PathBuf::from(dir);
            if dir.is_dir() {
                std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
            }
        }
        Ok(n)
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
                format!("{batch}: 通知{n}件を{on}に発送"),
            ),
            _ => (
                AuditAction::LettersCancel,
                format!("{batch}: 通知{n}件を発送待ちに戻し、ファイルを削除"),
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

    /// Brings every batch whose files still show a withdrawn letter up to date (see the
    /// module docs); returns the ids of the batches written again.
    pub async fn refresh_batches(
        &self,
        actor: &Actor,
        renderer: &Arc<Renderer>,
    ) -> Result<Vec<String>> {
        actor.may(Action::ManageLetters, Scope::Society)?;
        let stale: Vec<Batch> = self
            .store()
            .read()
            .await?
            .batches()
            .await?
            .into_iter()
            .filter(|b| b.status == BatchStatus::Prepared && b.files_stale)
            .collect();
        let mut done = Vec::new();
        for b in stale {
            self.refresh_batch(actor, renderer, &b).await?;
            done.push(b.id);
        }
        Ok(done)
    }

    /// Writes a prepared batch's files again without its withdrawn letters: the PDF
    /// parts, envelope PDFs and mailing list when the PDF was not handed out yet; only
    /// the mailing list (with 差止) when it was.
    async fn refresh_batch(
        &self,
        actor: &Actor,
        renderer: &Arc<Renderer>,
        batch: &Batch,
    ) -> Result<()> {
        if batch.status != BatchStatus::Prepared || !batch.files_stale {
            return Ok(());
        }
        let Some(dir) = batch.pdf_path.clone().map(PathBuf::from) else {
            return Ok(());
        };
        let mut r = self.store().read().await?;
        let letters = r.batch_letters(&batch.id).await?;
        drop(r);
        let csv = batch
            .csv_path
            .clone()
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.join(format!("{}_発送リスト.csv", batch.id)));
        let withdrawn: Vec<&BatchLetter> = letters
            .iter()
            .filter(|l| l.status != LetterStatus::Active)
            .collect();
        let (parts, layout) = if batch.handed_out_on.is_some() {
            // Printed (or may be): keep the PDF, mark 差止 on the list.
            (None, Vec::new())
        } else {
            let sender = self.sender(actor.today()).await?;
            let mut r = self.store().read().await?;
            let due = r.batch_due_letters(&batch.id).await?;
            let book = r.programme_book().await?;
            drop(r);
            let envelope_of: BTreeMap<String, (i64, u32, u32)> = {
                let active: Vec<&BatchLetter> = letters
                    .iter()
                    .filter(|l| l.status == LetterStatus::Active)
                    .collect();
                let mut counts: BTreeMap<i64, u32> = BTreeMap::new();
                for l in &active {
                    *counts.entry(l.envelope).or_default() += 1;
                }
                let mut seen: BTreeMap<i64, u32> = BTreeMap::new();
                active
                    .iter()
                    .map(|l| {
                        let position = seen.entry(l.envelope).or_default();
                        *position += 1;
                        (
                            l.case_key.to_string(),
                            (
                                l.envelope,
                                *position,
                                counts.get(&l.envelope).copied().unwrap_or(1),
                            ),
                        )
                    })
                    .collect()
            };
            let mut placed: Vec<(DueLetter, i64, EnvelopePlace)> = due
                .into_iter()
                .filter_map(|d| {
                    let (envelope, position, count) = *envelope_of.get(&d.case_key.to_string())?;
                    Some((d, envelope, EnvelopePlace { position, count }))
                })
                .collect();
            placed.sort_by_key(|(_, envelope, place)| (*envelope, place.position));
            let data = placed
                .iter()
                .map(|(d, envelope, place)| {
                    letter_data(
                        &book,
                        &sender,
                        d,
                        &batch.id,
                        u32::try_from(*envelope).unwrap_or(0),
                        *place,
                        // The letters keep the date they were issued with.
                        batch.prepared_on,
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            let (renderer, dir_owned) = (renderer.clone(), dir.clone());
            let manifest =
                tokio::task::spawn_blocking(move || rewrite_pdfs(&renderer, &data, &dir_owned))
                    .await
                    .map_err(|e| AppError::Invalid(format!("join: {e}")))??;
            let by_envelope: BTreeMap<u32, &collabo_letters::LetterPlacement> =
                manifest.letters.iter().map(|p| (p.sequence, p)).collect();
            let layout: Vec<LetterLayout> = placed
                .iter()
                .map(|(d, envelope, place)| {
                    let p = by_envelope.get(&u32::try_from(*envelope).unwrap_or(0));
                    LetterLayout {
                        case_key: d.case_key.clone(),
                        part: p.map_or(0, |p| p.part as i64),
                        first_page: p.map_or(0, |p| p.placement.first_page as i64),
                        pages: if place.position == 1 {
                            p.map_or(0, |p| p.placement.pages as i64)
                        } else {
                            0
                        },
                    }
                })
                .collect();
            (Some(manifest.parts.len() as i64), layout)
        };
        let mut tx = write(self).await?;
        tx.set_batch_layout(&batch.id, parts, &layout).await?;
        let letters = tx.batch_letters(&batch.id).await?;
        let total_parts = parts.unwrap_or(batch.parts);
        write_mailing_list(&csv, &batch.id, &letters, total_parts)?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::LettersRemake)
                .subjects(withdrawn.iter().map(|l| l.member.key.to_key_string()))
                .detail(format!(
                    "{}: {}件を取下げ、{}",
                    batch.id,
                    withdrawn.len(),
                    if parts.is_some() {
                        "それを除いてPDFと発送リストを作り直し"
                    } else {
                        "PDFは交付済みのため発送リストに差止と記載"
                    }
                )),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A batch with its files (brought up to date first) and withdrawn letters; audited
    /// when it names withdrawn letters' recipients.
    pub async fn batch_view(
        &self,
        actor: &Actor,
        renderer: &Arc<Renderer>,
        id: &str,
    ) -> Result<BatchView> {
        let batch = self.batch(actor, id).await?;
        self.refresh_batch(actor, renderer, &batch).await?;
        let batch = self.batch(actor, id).await?;
        let letters = self.store().read().await?.batch_letters(id).await?;
        let total = usize::try_from(batch.parts).unwrap_or(0);
        let served = batch.status != BatchStatus::Cancelled;
        let dir = batch.pdf_path.clone().map(PathBuf::from);
        let parts = match (&dir, served) {
            (Some(dir), true) => (0..total)
                .map(|i| BatchFile {
                    path: dir.join(format!("part-{:04}.pdf", i + 1)),
                    name: part_name(id, i, total),
                })
                .collect(),
            _ => Vec::new(),
        };
        let csv = batch
            .csv_path
            .clone()
            .filter(|_| served)
            .map(|p| BatchFile {
                path: PathBuf::from(p),
                name: format!("{id}_発送リスト.csv"),
            });
        let withdrawn: Vec<WithdrawnLetter> = letters
            .into_iter()
            .filter(|l| l.status != LetterStatus::Active)
            .map(|l| WithdrawnLetter {
                reference: reference(id, u32::try_from(l.envelope).unwrap_or(0)),
                part_name: part_name(id, usize::try_from(l.part).unwrap_or(0), total.max(1)),
                letter: l,
            })
            .collect();
        if !withdrawn.is_empty() {
            self.audit_alone(
                &AuditEntry::new(actor, AuditAction::LettersView)
                    .subjects(
                        withdrawn
                            .iter()
                            .map(|w| w.letter.member.key.to_key_string()),
                    )
                    .detail(format!(
                        "バッチ {id}: 取下げたレター{}件を表示",
                        withdrawn.len()
                    )),
            )
            .await?;
        }
        Ok(BatchView {
            batch,
            parts,
            csv,
            withdrawn,
        })
    }

    /// The PDF parts of a batch, in print order (brought up to date first).
    pub async fn batch_parts(
        &self,
        actor: &Actor,
        renderer: &Arc<Renderer>,
        id: &str,
    ) -> Result<Vec<BatchFile>> {
        Ok(self.batch_view(actor, renderer, id).await?.parts)
    }

    fn refuse_cancelled(batch: &Batch) -> Result<()> {
        if batch.status == BatchStatus::Cancelled {
            return Err(AppError::Conflict(format!(
                "バッチ {} は取り消されたため、ファイルは提供しません。",
                batch.id
            )));
        }
        Ok(())
    }

    /// One PDF part of a batch to download (brought up to date first); from now on a
    /// withdrawn letter is 差止. Audited, naming the people printed in it.
    pub async fn download_batch_part(
        &self,
        actor: &Actor,
        renderer: &Arc<Renderer>,
        id: &str,
        part: usize,
    ) -> Result<BatchFile> {
        let batch = self.batch(actor, id).await?;
        Self::refuse_cancelled(&batch)?;
        self.refresh_batch(actor, renderer, &batch).await?;
        let batch = self.batch(actor, id).await?;
        let total = usize::try_from(batch.parts).unwrap_or(0);
        let dir = batch
            .pdf_path
            .clone()
            .map(PathBuf::from)
            .ok_or_else(|| AppError::NotFound(format!("batch {id} PDF")))?;
        if part >= total {
            return Err(AppError::NotFound(format!("batch {id} part {}", part + 1)));
        }
        let file = BatchFile {
            path: dir.join(format!("part-{:04}.pdf", part + 1)),
            name: part_name(id, part, total),
        };
        let letters = self.store().read().await?.batch_letters(id).await?;
        let mut tx = write(self).await?;
        if batch.status == BatchStatus::Prepared {
            tx.mark_handed_out(id, actor.today()).await?;
        }
        tx.audit(
            &AuditEntry::new(actor, AuditAction::LettersDownload)
                .subjects(
                    letters
                        .iter()
                        .filter(|l| l.part == part as i64 && l.status != LetterStatus::Removed)
                        .map(|l| l.member.key.to_key_string()),
                )
                .detail(format!(
                    "バッチ {id} のPDF（{total}分割中の{}番目）",
                    part + 1
                )),
        )
        .await?;
        tx.commit().await?;
        Ok(file)
    }

    /// The mailing list of a batch to download (brought up to date first); audited,
    /// naming everyone on it.
    pub async fn download_mailing_list(
        &self,
        actor: &Actor,
        renderer: &Arc<Renderer>,
        id: &str,
    ) -> Result<BatchFile> {
        let batch = self.batch(actor, id).await?;
        Self::refuse_cancelled(&batch)?;
        self.refresh_batch(actor, renderer, &batch).await?;
        let path = PathBuf::from(
            batch
                .csv_path
                .ok_or_else(|| AppError::NotFound(format!("mailing list of {id}")))?,
        );
        let letters = self.store().read().await?.batch_letters(id).await?;
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::MailingListExport)
                .subjects(
                    letters
                        .iter()
                        .filter(|l| l.status != LetterStatus::Removed)
                        .map(|l| l.member.key.to_key_string()),
                )
                .detail(format!("バッチ {id} の発送リスト")),
        )
        .await?;
        Ok(BatchFile {
            name: format!("{id}_発送リスト.csv"),
            path,
        })
    }

    /// Stores an uploaded letter template in `dir` after checking it compiles with
    /// every letter kind's sample data, beside the other templates in use; a broken
    /// template, or one whose name is not a template's, is never written (the file in
    /// use stays as it was, so no batch ever sees it). Both outcomes are audited.
    /// `Ok(Err(message))` tells the user why it was refused.
    pub async fn save_template(
        &self,
        actor: &Actor,
        dir: &Path,
        name: &str,
        bytes: &[u8],
    ) -> Result<std::result::Result<(), String>> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        let checked = trial_templates(dir, name, bytes).await?;
        match &checked {
            Err(message) => {
                self.audit_alone(
                    &AuditEntry::new(actor, AuditAction::TemplateRejected).detail(format!(
                        "{name}: 見本のレターを作成できないため不採用（{}）",
                        message.lines().next().unwrap_or_default()
                    )),
                )
                .await?;
            }
            Ok(_) => {
                std::fs::create_dir_all(dir).map_err(io(dir))?;
                // Written beside, then renamed over: a batch reads the old or the new
                // file, never half of one.
                let path = dir.join(name);
                let part = dir.join(format!(".{name}.part"));
                std::fs::write(&part, bytes).map_err(io(&part))?;
                std::fs::rename(&part, &path).map_err(io(&path))?;
                self.audit_alone(
                    &AuditEntry::new(actor, AuditAction::TemplateUpload)
                        .detail(format!("{name}（{}バイト）", bytes.len())),
                )
                .await?;
            }
        }
        Ok(checked.map(|_| ()))
    }

    /// A preview of an uploaded template before it is saved: the sample letters (a
    /// fictitious person and society) of the kinds it is used for — every kind for
    /// `layout.typ` — rendered with it beside the templates in use, as one PDF. Nothing
    /// is stored. `Ok(Err(message))` says why it does not compile.
    pub async fn preview_template(
        &self,
        actor: &Actor,
        dir: &Path,
        name: &str,
        bytes: &[u8],
    ) -> Result<std::result::Result<Vec<u8>, String>> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        let trial = match trial_templates(dir, name, bytes).await? {
            Ok(trial) => trial,
            Err(message) => return Ok(Err(message)),
        };
        let kinds: Vec<LetterKind> = LetterKind::ALL
            .into_iter()
            .filter(|k| name == "layout.typ" || name == format!("{}.typ", k.code()))
            .collect();
        let rendered = tokio::task::spawn_blocking(move || {
            let samples: Vec<LetterData> = kinds.into_iter().map(LetterData::sample).collect();
            Renderer::with_default_fonts(None, Some(trial.path()))
                .and_then(|r| r.render_batch(&samples.iter().collect::<Vec<_>>()))
                .map(|batch| batch.pdf)
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| AppError::Invalid(format!("join: {e}")))?;
        Ok(rendered)
    }

    /// Deletes an uploaded template: the built-in one is used again from the next
    /// batch. Audited.
    pub async fn delete_template(&self, actor: &Actor, dir: &Path, name: &str) -> Result<()> {
        actor.may(Action::ManageSettings, Scope::Society)?;
        if !collabo_letters::template_names().any(|t| t == name) {
            return Err(AppError::NotFound(format!("template {name}")));
        }
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AppError::NotFound(format!("uploaded template {name}")));
            }
            Err(source) => return Err(AppError::Io { path, source }),
        }
        self.audit_alone(&AuditEntry::new(actor, AuditAction::TemplateDelete).detail(name))
            .await
    }
}

/// The templates in use (`dir`) with `name` replaced by `bytes`, in a scratch folder,
/// checked against every kind's sample letter: the folder when they compile, else why
/// not. A name that is not one of the templates', or text that is not UTF-8, is refused
/// as invalid.
async fn trial_templates(
    dir: &Path,
    name: &str,
    bytes: &[u8],
) -> Result<std::result::Result<tempfile::TempDir, String>> {
    if !collabo_letters::template_names().any(|t| t == name) {
        return Err(AppError::Invalid(format!(
            "{name} はテンプレートの名前ではありません。次のいずれかの名前で提出してください: {}",
            collabo_letters::template_names()
                .collect::<Vec<_>>()
                .join("、")
        )));
    }
    if std::str::from_utf8(bytes).is_err() {
        return Err(AppError::Invalid(
            "テンプレートは UTF-8 のテキストにしてください。".into(),
        ));
    }
    let trial = tempfile::tempdir().map_err(|source| AppError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    for other in collabo_letters::template_names().filter(|t| *t != name) {
        let from = dir.join(other);
        if from.is_file() {
            std::fs::copy(&from, trial.path().join(other)).map_err(io(&from))?;
        }
    }
    let to = trial.path().join(name);
    std::fs::write(&to, bytes).map_err(io(&to))?;
    let path = trial.path().to_owned();
    let checked = tokio::task::spawn_blocking(move || {
        Renderer::with_default_fonts(None, Some(&path))
            .and_then(|r| r.validate_templates())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| AppError::Invalid(format!("join: {e}")))?;
    Ok(checked.map(|()| trial))
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
    let mut rows: Vec<MailingRow> = Vec::new();
    let mut rest: &[LetterData] = data;
    for placement in &manifest.letters {
        let (envelope, after) = rest.split_at(placement.notices.min(rest.len()));
        rest = after;
        let part = part_name(id, placement.part, manifest.parts.len());
        let refs: Vec<&LetterData> = envelope.iter().collect();
        rows.extend(MailingRow::envelope(&refs, placement, &part));
    }
    let csv = dir.join(format!("{id}_発送リスト.csv"));
    let file = std::fs::File::create(&csv).map_err(io(&csv))?;
    collabo_letters::write_mailing_csv(std::io::BufWriter::new(file), &rows, CsvEncoding::Utf8Bom)?;
    Ok((manifest, csv))
}

/// Renders a batch's remaining letters into a fresh folder, then replaces the old PDF
/// parts and envelope PDFs with them (the old ones showed a withdrawn letter).
fn rewrite_pdfs(
    renderer: &Renderer,
    data: &[LetterData],
    dir: &Path,
) -> Result<collabo_letters::BatchManifest> {
    let fresh = dir.join(".remake");
    let _ = std::fs::remove_dir_all(&fresh);
    let manifest = if data.is_empty() {
        collabo_letters::BatchManifest::default()
    } else {
        renderer.write_batch(
            data.iter().cloned(),
            &fresh,
            &BatchOptions {
                per_letter_pdfs: true,
                ..BatchOptions::default()
            },
        )?
    };
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "pdf") {
            std::fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    let letters = dir.join("letters");
    if letters.is_dir() {
        std::fs::remove_dir_all(&letters).map_err(io(&letters))?;
    }
    if fresh.is_dir() {
        for entry in std::fs::read_dir(&fresh).map_err(io(&fresh))? {
            let path = entry.map_err(io(&fresh))?.path();
            if let Some(name) = path.file_name() {
                let target = dir.join(name);
                std::fs::rename(&path, &target).map_err(io(&target))?;
            }
        }
        std::fs::remove_dir_all(&fresh).map_err(io(&fresh))?;
    }
    Ok(collabo_letters::BatchManifest {
        parts: manifest
            .parts
            .iter()
            .filter_map(|p| p.file_name().map(|n| dir.join(n)))
            .collect(),
        ..manifest
    })
}

/// Writes a batch's mailing list from its stored letters: one row per envelope still
/// to mail or 差止 (removed letters are not on it).
fn write_mailing_list(csv: &Path, batch: &str, letters: &[BatchLetter], parts: i64) -> Result<()> {
    let total = usize::try_from(parts).unwrap_or(0).max(1);
    let mut by_envelope: BTreeMap<i64, Vec<&BatchLetter>> = BTreeMap::new();
    for l in letters.iter().filter(|l| l.status != LetterStatus::Removed) {
        by_envelope.entry(l.envelope).or_default().push(l);
    }
    let rows: Vec<MailingRow> = by_envelope
        .into_iter()
        .filter_map(|(envelope, list)| {
            let first = list.first()?;
            let recipient = Recipient::from_member(&first.member);
            let code = &recipient.postal_code;
            let postal_code = if code.len() == 7 && code.is_ascii() {
                format!("{}-{}", &code[..3], &code[3..])
            } else {
                code.clone()
            };
            let envelope = u32::try_from(envelope).unwrap_or(0);
            Some(MailingRow {
                postal_code,
                address_lines: recipient.address_lines,
                name: recipient.name,
                kind: list
                    .iter()
                    .map(|l| l.kind.code())
                    .collect::<Vec<_>>()
                    .join("+"),
                notices: list.len(),
                batch_id: batch.to_owned(),
                sequence: envelope,
                reference: reference(batch, envelope),
                part_file: part_name(batch, usize::try_from(first.part).unwrap_or(0), total),
                first_page: usize::try_from(first.first_page).unwrap_or(0),
                pages: list
                    .iter()
                    .map(|l| usize::try_from(l.pages).unwrap_or(0))
                    .sum(),
                stopped: list
                    .iter()
                    .filter(|l| l.status == LetterStatus::Stopped)
                    .count(),
            })
        })
        .collect();
    let file = std::fs::File::create(csv).map_err(io(csv))?;
    collabo_letters::write_mailing_csv(std::io::BufWriter::new(file), &rows, CsvEncoding::Utf8Bom)?;
    Ok(())
}
