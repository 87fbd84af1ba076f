//! Checkup imports: MHLW 特定健診 archives (zip / folder / single XML) and the documented
//! CSV/XLSX layout, read one record at a time by `collabo-checkup`, admitted by the
//! domain in chunks and stored inside one transaction with the import's audit record.
//! A document the reader rejects fails the whole import with its archive member and
//! line; a person who matches no member goes to review; unknown item codes are counted.

use crate::imports::{admit_chunk, file_name, import_entry};
use crate::{App, AppError, ImportError, ImportReport, Result, RowProblem, write};
use collabo_checkup::CheckupReader;
use collabo_domain::actor::Actor;
use collabo_domain::admission::{
    ImportKind, ImportSummary, Intake, ReviewPayload, SubmittedCheckup,
};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::checkup::CheckupSource;
use collabo_domain::ids::{EmployerCode, InsurerNumber};
use collabo_store::imports::Begun;
use std::io::Read;
use std::path::Path;

/// Records handed to admission per chunk.
const CHUNK: usize = 2000;

/// SHA-256 of a file, streamed (archives can be large).
fn sha256_file(path: &Path) -> Result<String, ImportError> {
    use sha2::{Digest, Sha256};
    let io = |source| ImportError::Io {
        file: path.display().to_string(),
        source,
    };
    if path.is_dir() {
        // A folder: hash the sorted member names and contents.
        let mut hasher = Sha256::new();
        let mut files: Vec<_> = walk(path).map_err(io)?;
        files.sort();
        for f in files {
            hasher.update(f.to_string_lossy().as_bytes());
            hasher.update(std::fs::read(&f).map_err(io)?);
        }
        return Ok(hex::encode(hasher.finalize()));
    }
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn walk(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(walk(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

impl App {
    /// Imports a checkup file. `employer` is the submitting establishment (`None` for
    /// the society's own 人間ドック data, stored with source `dock`).
    pub async fn import_checkups(
        &self,
        actor: &Actor,
        employer: Option<&EmployerCode>,
        path: &Path,
    ) -> Result<ImportReport> {
        match employer {
            Some(e) => actor.may(Action::UploadEmployerData, Scope::Employer(e))?,
            None => actor.may(Action::ImportSocietyData, Scope::Society)?,
        };
        let file = file_name(path);
        match self
            .import_checkups_inner(actor, employer, path, &file)
            .await
        {
            Ok(r) => Ok(r),
            Err(e) => Err(self
                .refused(actor, ImportKind::Checkups, &file, employer, e)
                .await),
        }
    }

    /// Like [`App::import_checkups`] for an upload in memory: written to a temporary
    /// folder of its own first (archives are read with random access), removed after.
    pub async fn import_checkups_upload(
        &self,
        actor: &Actor,
        employer: Option<&EmployerCode>,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<ImportReport> {
        let safe: String = file_name
            .chars()
            .filter(|c| c.is_alphanumeric() || "._-".contains(*c))
            .collect();
        let io = |source| {
            AppError::Import(ImportError::Io {
                file: file_name.to_owned(),
                source,
            })
        };
        let dir = tempfile::Builder::new()
            .prefix("collabo-upload-")
            .tempdir()
            .map_err(io)?;
        let path = dir.path().join(if safe.is_empty() {
            "upload.bin".to_owned()
        } else {
            safe
        });
        std::fs::write(&path, bytes).map_err(io)?;
        self.import_checkups(actor, employer, &path).await
    }

    async fn import_checkups_inner(
        &self,
        actor: &Actor,
        employer: Option<&EmployerCode>,
        path: &Path,
        file: &str,
    ) -> Result<ImportReport> {
        let sha256 = sha256_file(path)?;
        let malformed = |e: collabo_checkup::ReadError| {
            AppError::Import(ImportError::Malformed {
                file: file.to_owned(),
                line: 0,
                message: e.to_string(),
            })
        };
        let mut reader = CheckupReader::open(path).map_err(malformed)?;
        let mut tx = write(self).await?;
        if let Some(e) = employer
            && tx.employer(e).await?.is_none()
        {
            return Err(AppError::NotFound(format!("employer {e}")));
        }
        let import_id = match tx
            .begin_import(
                ImportKind::Checkups,
                file,
                &sha256,
                employer,
                &actor.user,
                actor.now,
            )
            .await?
        {
            Begun::New(id) => id,
            Begun::Repeat(summary) => return Ok(ImportReport { summary, sha256 }),
        };
        let insurer =
            InsurerNumber::parse(self.insurer()).map_err(|e| AppError::Invalid(e.to_string()))?;
        let opt_outs = tx.opt_out_register().await?;
        let intake = Intake {
            insurer: &insurer,
            submitter: employer,
            opt_outs: &opt_outs,
        };
        let source = if employer.is_some() {
            CheckupSource::Employer
        } else {
            CheckupSource::SocietyDock
        };
        let mut summary = ImportSummary {
            import_id,
            ..ImportSummary::default()
        };
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut problems: Vec<RowProblem> = Vec::new();
        let mut line = 0u64;
        let mut finished = false;
        while !finished {
            match reader.next() {
                Some(Ok(record)) => {
                    line += 1;
                    let person = record.submitted_person();
                    for u in &record.unknown_items {
                        *summary.unknown_items.entry(u.code.clone()).or_default() += 1;
                    }
                    chunk.push(SubmittedCheckup {
                        line: record.origin.line.unwrap_or(line),
                        insurer: Some(record.insurer.clone()),
                        person,
                        exam_date: record.exam_date,
                        source,
                        unknown_items: record
                            .unknown_items
                            .iter()
                            .map(|u| u.code.clone())
                            .collect(),
                        observations: record.observations,
                        questionnaire: record.questionnaire,
                    });
                }
                Some(Err(e)) if !e.is_fatal() => {
                    line += 1;
                    problems.push(RowProblem {
                        file: file.to_owned(),
                        line,
                        field: "document".into(),
                        message: e.to_string(),
                    });
                }
                Some(Err(e)) => return Err(malformed(e)),
                None => finished = true,
            }
            if (chunk.len() >= CHUNK || finished) && !chunk.is_empty() && problems.is_empty() {
                let rows = std::mem::take(&mut chunk);
                let admitted = admit_chunk(
                    &mut tx,
                    &intake,
                    import_id,
                    rows,
                    |r| r.line,
                    ReviewPayload::Checkup,
                    &mut summary,
                    actor.now,
                )
                .await?;
                let stored = tx.insert_checkups(import_id, employer, &admitted).await?;
                summary.stored += stored;
                summary.duplicates += admitted.len() as u64 - stored;
            }
        }
        if !problems.is_empty() {
            // Dropping the transaction rolls the whole import back.
            return Err(ImportError::Rows { problems }.into());
        }
        for (code, n) in reader.into_report().unknown_codes {
            summary.unknown_items.entry(code).or_insert(n);
        }
        tx.finish_import(import_id, &summary).await?;
        tx.audit(&import_entry(
            actor,
            ImportKind::Checkups,
            file,
            employer,
            &summary,
        ))
        .await?;
        tx.commit().await?;
        Ok(ImportReport { summary, sha256 })
    }
}
