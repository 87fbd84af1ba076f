//! Letter batches: every notice due is rendered into one batch (PDF parts, one PDF per
//! letter for reprints, and the mailing list CSV for the print and mail vendor), and the
//! cases move to "prepared". Notices count as sent only when staff confirm the batch was
//! mailed; a batch can be cancelled and rebuilt. People without a usable address go to
//! the review queue instead of into a batch. Templates are checked before anything is
//! rendered, so a broken template never leaves a half-built batch.

use collabo_domain::Date;
use collabo_domain::calendar::FiscalYear;
use collabo_domain::case::{CaseEvent, Trigger, TriggerValue};
use collabo_domain::programme::{LetterKind, ProgrammeCode};
use collabo_letters::{
    BatchOptions, CsvEncoding, LetterData, LetterDate, MailingRow, Recipient, Renderer, Sender,
    ValueRow,
};
use collabo_store::imports::Actor;
use collabo_store::letters::DueLetter;
use collabo_store::{AuditEntry, Store, StoreError};
use std::path::{Path, PathBuf};

/// Why a batch could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LetterServiceError {
    /// Rendering or a template failed (the message names the template and line).
    #[error(transparent)]
    Letters(#[from] collabo_letters::LetterError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the mailing list failed.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

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
    /// The first PDF part (for download).
    pub pdf: PathBuf,
    /// The mailing list CSV.
    pub csv: PathBuf,
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

async fn letter_data(
    store: &Store,
    sender: &Sender,
    due: &DueLetter,
    batch: &str,
    sequence: u32,
    today: Date,
) -> Result<LetterData, LetterServiceError> {
    let book = store.programme_book().await?;
    let fy = FiscalYear::new(i16::try_from(due.fiscal_year).unwrap_or(2000));
    let pamphlets = book
        .for_year(programme_of(due.kind), fy)
        .map(|s| s.pamphlets.clone())
        .unwrap_or_default();
    let key = collabo_store::cases::parse_case_key(&due.case_key)?;
    let cancer_type = match key.trigger {
        Trigger::Referral(cancer, _) => Some(collabo_letters::cancer_screening_label(cancer)),
        Trigger::Checkup(_) => None,
    };
    let previous_notice_date = if due.kind == LetterKind::CancerRenotice {
        store
            .case(&due.case_key)
            .await?
            .and_then(|c| {
                c.events
                    .iter()
                    .find(|e| matches!(e.event, CaseEvent::NoticeMailed))
                    .map(|e| e.on)
            })
            .map(LetterDate::new)
            .transpose()?
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

/// The letterhead of the society, from the store.
pub async fn sender(store: &Store) -> Result<Sender, LetterServiceError> {
    let s = store.society().await?;
    Ok(Sender {
        society_name: s.name,
        section: s.section,
        address: s.address,
        phone: s.phone,
        hours: "平日 9:00～17:00".into(),
    })
}

/// Prepares one batch of every notice due on `today`, writing its files under
/// `out_root/<batch id>/`. Returns `None` when nothing is due.
pub async fn prepare(
    store: &Store,
    renderer: &Renderer,
    out_root: &Path,
    actor: &Actor,
    today: Date,
    now: jiff::Timestamp,
) -> Result<Option<PreparedBatch>, LetterServiceError> {
    // A broken template stops here, before any case moves.
    renderer.validate_templates()?;
    let due = store.letters_due().await?;
    let mut unmailable = 0;
    let mut mailable = Vec::new();
    for d in due {
        if d.member.address.is_mailable() {
            mailable.push(d);
        } else {
            store.queue_unmailable(&d, now).await?;
            unmailable += 1;
        }
    }
    if mailable.is_empty() {
        return Ok(None);
    }
    let existing = store.batches().await?;
    let prefix = format!("B{}", today.strftime("%Y%m%d"));
    let n = existing
        .iter()
        .filter(|b| b.id.starts_with(&prefix))
        .count()
        + 1;
    let id = format!("{prefix}-{n:02}");
    let sender = sender(store).await?;
    let mut data = Vec::with_capacity(mailable.len());
    for (i, d) in mailable.iter().enumerate() {
        data.push(
            letter_data(
                store,
                &sender,
                d,
                &id,
                u32::try_from(i + 1).unwrap_or(u32::MAX),
                today,
            )
            .await?,
        );
    }
    let dir = out_root.join(&id);
    let manifest = renderer.write_batch(
        data.iter().cloned(),
        &dir,
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
    let file = std::fs::File::create(&csv).map_err(|source| LetterServiceError::Io {
        path: csv.clone(),
        source,
    })?;
    collabo_letters::write_mailing_csv(std::io::BufWriter::new(file), &rows, CsvEncoding::Utf8Bom)?;
    let pdf = manifest
        .parts
        .first()
        .cloned()
        .unwrap_or_else(|| dir.clone());
    let letters: Vec<(String, String, LetterKind)> = mailable
        .iter()
        .map(|d| (d.case_key.clone(), d.member.key.to_key_string(), d.kind))
        .collect();
    store
        .create_batch(
            &id,
            today,
            &letters,
            Some(&dir.display().to_string()),
            Some(&csv.display().to_string()),
        )
        .await?;
    store
        .audit(
            &entry(
                actor,
                "letters.prepare",
                format!(
                    "{id}: {} letters, {unmailable} to review (no address)",
                    letters.len()
                ),
            ),
            now,
        )
        .await?;
    Ok(Some(PreparedBatch {
        id,
        letters: letters.len(),
        unmailable,
        dir,
        pdf,
        csv,
    }))
}

fn entry(actor: &Actor, action: &str, detail: String) -> AuditEntry {
    AuditEntry {
        actor: actor.name.clone(),
        role: actor.role.clone(),
        action: action.into(),
        member_key: None,
        employer_code: None,
        detail,
        origin: actor.origin.clone(),
    }
}

/// Staff confirm a batch was mailed on `on`. Returns the notices marked sent.
pub async fn mailed(
    store: &Store,
    batch: &str,
    actor: &Actor,
    on: Date,
    now: jiff::Timestamp,
) -> Result<u64, LetterServiceError> {
    let n = store.mark_batch_mailed(batch, on).await?;
    store
        .audit(
            &entry(
                actor,
                "letters.mailed",
                format!("{batch}: {n} notices mailed on {on}"),
            ),
            now,
        )
        .await?;
    Ok(n)
}

/// Cancels a prepared batch; its notices are due again.
pub async fn cancel(
    store: &Store,
    batch: &str,
    actor: &Actor,
    on: Date,
    now: jiff::Timestamp,
) -> Result<u64, LetterServiceError> {
    let n = store.cancel_batch(batch, on).await?;
    store
        .audit(
            &entry(
                actor,
                "letters.cancel",
                format!("{batch}: {n} notices back to due"),
            ),
            now,
        )
        .await?;
    Ok(n)
}
