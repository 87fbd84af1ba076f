//! Checkup imports: MHLW 特定健診 archives (zip / folder / single XML) and the documented
//! CSV/XLSX layout, read one record at a time by `collabo-checkup` off the async
//! runtime, admitted by the domain in chunks outside the write transaction, and stored
//! inside one short transaction with the import's audit record (the write lock is held
//! only to insert). A document the reader rejects fails the whole import with its
//! archive member and line; a person who matches no member goes to review, and an
//! employer's file that mostly matches no one is refused; unknown item codes are
//! counted.
//!
//! The parsed rows are held in memory until they are inserted (portal uploads are
//! capped by `max_upload_bytes`; a single document by the reader's own cap).

use crate::imports::{Basis, Matched, blocking, file_name, import_entry, match_rows, refuse_flood};
use crate::{
    App, AppError, ImportError, ImportReport, OtherForm, Progress, Result, RowProblem, write,
};
use collabo_checkup::{CheckupReader, ReadError};
use collabo_domain::actor::Actor;
use collabo_domain::admission::{
    ImportKind, ImportSummary, Intake, ReviewPayload, SubmittedCheckup,
};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::checkup::CheckupSource;
use collabo_domain::ids::{EmployerCode, InsurerNumber};
use collabo_domain::problem::ProblemKind;
use collabo_store::Reader;
use collabo_store::imports::Begun;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Records handed to admission per chunk.
const CHUNK: usize = 2000;

/// SHA-256 of a file, streamed (archives can be large).
pub(crate) fn sha256_file(path: &Path, file: &str) -> Result<String, ImportError> {
    use sha2::{Digest, Sha256};
    let io = |source| ImportError::Io {
        file: file.to_owned(),
        source,
    };
    let mut hasher = Sha256::new();
    if path.is_dir() {
        // A folder: hash the sorted member names and contents.
        let mut files: Vec<_> = walk(path).map_err(io)?;
        files.sort();
        for f in files {
            hasher.update(f.to_string_lossy().as_bytes());
            hash_into(&mut hasher, &f).map_err(io)?;
        }
    } else {
        hash_into(&mut hasher, path).map_err(io)?;
    }
    Ok(hex::encode(hasher.finalize()))
}

fn hash_into(hasher: &mut sha2::Sha256, path: &Path) -> std::io::Result<()> {
    use sha2::Digest;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
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
        self.import_checkups_with_progress(actor, employer, path, &Progress::default())
            .await
    }

    /// [`App::import_checkups`], advancing `progress` by one per record read.
    pub async fn import_checkups_with_progress(
        &self,
        actor: &Actor,
        employer: Option<&EmployerCode>,
        path: &Path,
        progress: &Progress,
    ) -> Result<ImportReport> {
        match employer {
            Some(e) => actor.may(Action::UploadEmployerData, Scope::Employer(e))?,
            None => actor.may(Action::ImportSocietyData, Scope::Society)?,
        };
        let file = file_name(path);
        match self
            .import_checkups_inner(actor, employer, path, &file, progress)
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
        tokio::fs::write(&path, bytes).await.map_err(io)?;
        self.import_checkups(actor, employer, &path).await
    }

    async fn import_checkups_inner(
        &self,
        actor: &Actor,
        employer: Option<&EmployerCode>,
        path: &Path,
        file: &str,
        progress: &Progress,
    ) -> Result<ImportReport> {
        if let Some(e) = employer {
            self.count_employer_upload(actor, ImportKind::Checkups, file, e)
                .await?;
        }
        let sha256 = {
            let (path, file) = (path.to_owned(), file.to_owned());
            blocking(move || sha256_file(&path, &file)).await??
        };
        let mut r = self.store().read().await?;
        if let Some(e) = employer
            && r.employer(e).await?.is_none()
        {
            return Err(AppError::NotFound(format!("employer {e}")));
        }
        if let Some(summary) = r.earlier_import(ImportKind::Checkups, &sha256).await? {
            return Ok(ImportReport { summary, sha256 });
        }
        drop(r);
        let source = if employer.is_some() {
            CheckupSource::Employer
        } else {
            CheckupSource::SocietyDock
        };
        // Parse and match outside the write transaction: a large archive keeps one core
        // busy, but no login or audited read waits for it.
        let parsed = parse_checkups(path, file, source, progress).await?;
        let insurer =
            InsurerNumber::parse(self.insurer()).map_err(|e| AppError::Invalid(e.to_string()))?;
        let mut r = self.store().read().await?;
        let basis = Basis::read(&mut r).await?;
        let matched = match_checkups(&mut r, &insurer, employer, &basis, parsed.rows).await?;
        drop(r);
        refuse_flood(file, employer, &matched)?;
        let mut tx = write(self).await?;
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
        let now_basis = Basis::read(&mut tx).await?;
        let matched = if now_basis == basis {
            matched
        } else {
            // The register or a tombstone changed while the file was matched: match it
            // again, inside the transaction (rare; the file is read a second time).
            let again = parse_checkups(path, file, source, &Progress::default()).await?;
            let again = match_checkups(&mut tx, &insurer, employer, &now_basis, again.rows).await?;
            refuse_flood(file, employer, &again)?;
            again
        };
        let mut summary = ImportSummary {
            import_id,
            rows: matched.rows,
            to_review: matched.reviews.len() as u64,
            excluded_opted_out: matched.excluded,
            unknown_items: parsed.unknown_items,
            ..ImportSummary::default()
        };
        tx.queue_review(import_id, employer, &matched.reviews, actor.now)
            .await?;
        let stored = tx
            .insert_checkups(import_id, employer, &matched.admitted)
            .await?;
        summary.stored = stored;
        summary.duplicates = matched.admitted.len() as u64 - stored;
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

/// A checkup file read whole: its rows, and the unknown item codes with their counts.
struct ParsedCheckups {
    rows: Vec<SubmittedCheckup>,
    unknown_items: BTreeMap<String, u64>,
}

/// Reads every record of a checkup file off the async runtime. A document the reader
/// rejects fails the whole file with every problem; a fatal error stops at once.
async fn parse_checkups(
    path: &Path,
    file: &str,
    source: CheckupSource,
    progress: &Progress,
) -> Result<ParsedCheckups> {
    let (path, file, progress) = (path.to_owned(), file.to_owned(), progress.clone());
    blocking(move || read_checkups(&path, &file, source, &progress)).await?
}

/// A checkup reader's fatal error as the import's refusal: the file named once (by
/// the name it was given, not the path it was written to), in Japanese; a list or a
/// claims file given here is named as the wrong form.
fn refusal(path: &Path, file: &str, e: ReadError) -> ImportError {
    let file = file.to_owned();
    match e {
        ReadError::Io { source, .. } => ImportError::Io { file, source },
        ReadError::Zip { .. } => ImportError::Malformed {
            file,
            line: 0,
            message: "zip アーカイブとして読めません（壊れているか、zip ではありません）".into(),
        },
        ReadError::Malformed { origin, expected } => {
            if origin.line == Some(1) && is_a_list(path) {
                return ImportError::WrongForm {
                    file,
                    form: OtherForm::List,
                };
            }
            ImportError::Malformed {
                file: match &origin.member {
                    Some(member) => format!("{file} の {member}"),
                    None => file,
                },
                line: origin.line.unwrap_or(0),
                message: format!("特定健診の様式として読めません（{expected}）"),
            }
        }
        ReadError::UnknownFormat { .. } => {
            let head = std::fs::File::open(path)
                .and_then(|f| {
                    let mut head = Vec::new();
                    f.take(4096).read_to_end(&mut head)?;
                    Ok(head)
                })
                .unwrap_or_default();
            match crate::tabular::other_form(path, &head) {
                Some(OtherForm::Claims) => ImportError::WrongForm {
                    file,
                    form: OtherForm::Claims,
                },
                _ => ImportError::Malformed {
                    file,
                    line: 0,
                    message: "特定健診結果のファイル（XMLアーカイブ・フォルダ・XML・CSV・Excel）として読めません".into(),
                },
            }
        }
        other => ImportError::Malformed {
            file,
            line: 0,
            message: other.to_string(),
        },
    }
}

/// Whether a CSV/XLSX file given as checkups is one of the lists (要精密検査者リスト,
/// 加入者台帳, 本人の申出): its header has their columns.
fn is_a_list(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    crate::tabular::read_table(path, &bytes).is_ok_and(|t| {
        t.column(&["がん検診の種類", "検診種類", "がん種別"])
            .is_some()
            || t.column(&["資格取得日"]).is_some()
            || t.column(&["適用日"]).is_some()
    })
}

fn read_checkups(
    path: &Path,
    file: &str,
    source: CheckupSource,
    progress: &Progress,
) -> Result<ParsedCheckups> {
    let fatal = |e: ReadError| AppError::Import(refusal(path, file, e));
    let mut reader = CheckupReader::open(path).map_err(fatal)?;
    let mut parsed = ParsedCheckups {
        rows: Vec::new(),
        unknown_items: BTreeMap::new(),
    };
    let mut problems: Vec<RowProblem> = Vec::new();
    let mut line = 0u64;
    for item in &mut reader {
        line += 1;
        progress.add(1);
        match item {
            Ok(record) => {
                for u in &record.unknown_items {
                    *parsed.unknown_items.entry(u.code.clone()).or_default() += 1;
                }
                if !problems.is_empty() {
                    // The file is refused anyway: keep only its problems.
                    continue;
                }
                parsed.rows.push(SubmittedCheckup {
                    line: record.origin.line.unwrap_or(line),
                    insurer: Some(record.insurer.clone()),
                    person: record.submitted_person(),
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
            Err(ReadError::Rejected {
                origin,
                problems: found,
            }) => {
                parsed.rows.clear();
                let at = origin.line.unwrap_or(line);
                let file = match &origin.member {
                    Some(member) => format!("{file} の {member}"),
                    None => file.to_owned(),
                };
                for p in found {
                    problems.push(RowProblem::new(
                        &file,
                        p.line.unwrap_or(at),
                        &p.field,
                        ProblemKind::CheckupDocument { detail: p.message },
                    ));
                }
            }
            Err(e) => return Err(fatal(e)),
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Rows { problems }.into());
    }
    for (code, n) in reader.into_report().unknown_codes {
        parsed.unknown_items.entry(code).or_insert(n);
    }
    Ok(parsed)
}

/// Matches checkup rows against `basis` (outside or inside the write transaction).
async fn match_checkups(
    r: &mut Reader,
    insurer: &InsurerNumber,
    employer: Option<&EmployerCode>,
    basis: &Basis,
    rows: Vec<SubmittedCheckup>,
) -> Result<Matched<SubmittedCheckup>> {
    let intake = Intake {
        insurer,
        submitter: employer,
        opt_outs: &basis.opt_outs,
    };
    match_rows(r, &intake, rows, CHUNK, |r| r.line, ReviewPayload::Checkup).await
}
