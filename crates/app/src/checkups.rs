//! Checkup imports: MHLW 特定健診 archives (zip / folder / single XML) and the documented
//! CSV/XLSX layout, read one record at a time by `collabo-checkup` and handed to the
//! store in chunks inside one transaction. A document the reader rejects fails the whole
//! import with its archive member and line; a person who matches no member goes to
//! review; unknown item codes are counted in the summary.

use crate::{ImportError, ImportReport, RowProblem, sha256_hex};
use collabo_checkup::CheckupReader;
use collabo_domain::Date;
use collabo_domain::checkup::CheckupSource;
use collabo_domain::ids::EmployerCode;
use collabo_store::imports::{Actor, IncomingCheckup};
use collabo_store::{ImportKind, Store};
use std::io::Read;
use std::path::Path;

/// Records handed to the store per chunk.
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

/// Imports a checkup file. `employer` is the submitting establishment (`None` for the
/// society's own 人間ドック data, stored with source `dock`).
pub async fn import_checkups(
    store: &Store,
    path: &Path,
    employer: Option<&EmployerCode>,
    actor: &Actor,
    received_on: Date,
    now: jiff::Timestamp,
) -> Result<ImportReport, ImportError> {
    let sha256 = sha256_file(path)?;
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let malformed = |e: collabo_checkup::ReadError| ImportError::Malformed {
        file: file.clone(),
        line: 0,
        message: e.to_string(),
    };
    let mut reader = CheckupReader::open(path).map_err(malformed)?;
    let mut session = match store
        .begin_import(
            ImportKind::Checkups,
            &file,
            &sha256,
            employer,
            actor,
            received_on,
            now,
        )
        .await?
    {
        Ok(s) => s,
        Err(summary) => return Ok(ImportReport { summary, sha256 }),
    };
    let source = if employer.is_some() {
        CheckupSource::Employer
    } else {
        CheckupSource::SocietyDock
    };
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut problems: Vec<RowProblem> = Vec::new();
    let mut line = 0u64;
    for item in &mut reader {
        line += 1;
        match item {
            Ok(record) => {
                let person = record.submitted_person();
                chunk.push(IncomingCheckup {
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
                if chunk.len() >= CHUNK {
                    session.add_checkups(&chunk).await?;
                    chunk.clear();
                }
            }
            Err(e) if !e.is_fatal() => problems.push(RowProblem {
                file: file.clone(),
                line,
                field: "document".into(),
                message: e.to_string(),
            }),
            Err(e) => return Err(malformed(e)),
        }
    }
    if !problems.is_empty() {
        // Dropping the session rolls the whole import back.
        return Err(ImportError::Rows { problems });
    }
    session.add_checkups(&chunk).await?;
    let mut summary = session.finish().await?;
    let report = reader.into_report();
    for (code, n) in report.unknown_codes {
        summary.unknown_items.entry(code).or_insert(n);
    }
    Ok(ImportReport { summary, sha256 })
}

/// Like [`import_checkups`] for an upload in memory (written to a temporary file first,
/// because archives are read with random access).
pub async fn import_checkups_bytes(
    store: &Store,
    file_name: &str,
    bytes: &[u8],
    employer: Option<&EmployerCode>,
    actor: &Actor,
    received_on: Date,
    now: jiff::Timestamp,
) -> Result<ImportReport, ImportError> {
    let safe: String = file_name
        .chars()
        .filter(|c| c.is_alphanumeric() || "._-".contains(*c))
        .collect();
    let dir = std::env::temp_dir().join(format!("collabo-upload-{}", &sha256_hex(bytes)[..16]));
    let io = |source| ImportError::Io {
        file: file_name.to_owned(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let path = dir.join(if safe.is_empty() {
        "upload.bin".to_owned()
    } else {
        safe
    });
    std::fs::write(&path, bytes).map_err(io)?;
    let result = import_checkups(store, &path, employer, actor, received_on, now).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}
