//! Reading a zip archive of the MHLW format member by member with flat memory.
//!
//! The default path streams local file headers in file order
//! (`zip::read::read_zipfile_from_stream`), so nothing grows with the number of members:
//! not even the central directory (which `ZipArchive` would keep in memory, about 250
//! bytes per member). Archives whose members carry no sizes in their local headers
//! (data descriptors, as written by Java's `ZipOutputStream`, e.g. the ORCA
//! 日医特定健診システム) cannot be streamed that way; on the first such member the
//! reader switches to `ZipArchive` and goes on from the same member, so those archives
//! cost the central directory in memory. The index and summary may come anywhere; their
//! counts are checked against what was found once the archive is exhausted.
//! Not here: parsing documents (`cda`), the CSV/XLSX layout.

use crate::error::ReadError;
use crate::reader::{
    Control, MAX_DOCUMENT_BYTES, check_namespace, is_checkup_document, is_claims_document,
    is_guidance_document, parse_bytes, parse_control,
};
use crate::record::{CheckupRecord, ImportReport, Origin};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// Read buffer of the archive file. The streaming path reads it front to back; in the
/// indexed path every member is a seek, which discards the buffer, so it stays small.
const ARCHIVE_BUFFER: usize = 64 * 1024;

enum Mode {
    Stream {
        reader: BufReader<File>,
        consumed: usize,
        last_name: Option<String>,
    },
    Indexed {
        archive: Box<zip::ZipArchive<BufReader<File>>>,
        next: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Checkup,
    Guidance,
    Claims,
    Index,
    Summary,
    Other,
}

fn kind_of(name: &str) -> Kind {
    if is_checkup_document(name) {
        Kind::Checkup
    } else if is_guidance_document(name) {
        Kind::Guidance
    } else if is_claims_document(name) && name.to_ascii_lowercase().ends_with(".xml") {
        Kind::Claims
    } else if name.ends_with("ix08_V08.xml") {
        Kind::Index
    } else if name.ends_with("su08_V08.xml") {
        Kind::Summary
    } else {
        Kind::Other
    }
}

/// A zip archive being read.
pub(crate) struct ArchiveSource {
    path: PathBuf,
    mode: Mode,
    buffer: Vec<u8>,
    n_checkups: u64,
    n_guidance: u64,
    n_claims: u64,
    index: Option<(String, Control)>,
    summary: Option<(String, Control)>,
    finished: bool,
}

enum Step {
    /// A member was read into the buffer (its name and kind).
    Member(String, Kind),
    /// A member that is skipped.
    Skipped,
    /// No more members.
    End,
    /// The stream cannot go on (no sizes in a local header): switch to the central
    /// directory after this many members, the last of which had this name.
    Switch(usize, Option<String>),
}

impl ArchiveSource {
    pub(crate) fn open(path: &Path) -> Result<ArchiveSource, ReadError> {
        let io = |source| ReadError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let mut magic = [0u8; 4];
        let n = file.read(&mut magic).map_err(io)?;
        // A local file header, or the end record of an empty archive.
        if n < 4 || (magic != *b"PK\x03\x04" && magic != *b"PK\x05\x06") {
            return Err(ReadError::Zip {
                path: path.to_owned(),
                source: zip::result::ZipError::InvalidArchive(
                    "no zip signature at the start".into(),
                ),
            });
        }
        let file = File::open(path).map_err(io)?;
        Ok(ArchiveSource {
            path: path.to_owned(),
            mode: Mode::Stream {
                reader: BufReader::with_capacity(ARCHIVE_BUFFER, file),
                consumed: 0,
                last_name: None,
            },
            buffer: Vec::with_capacity(64 * 1024),
            n_checkups: 0,
            n_guidance: 0,
            n_claims: 0,
            index: None,
            summary: None,
            finished: false,
        })
    }

    fn zip_error(&self, source: zip::result::ZipError) -> ReadError {
        ReadError::Zip {
            path: self.path.clone(),
            source,
        }
    }

    fn origin(&self, name: &str) -> Origin {
        Origin {
            file: self.path.clone(),
            member: Some(name.to_owned()),
            line: None,
        }
    }

    /// Reads a member's content (if its kind is needed) into `buffer`.
    fn read_into<R: Read>(
        path: &Path,
        name: &str,
        file: &mut zip::read::ZipFile<'_, R>,
        buffer: &mut Vec<u8>,
    ) -> Result<(), ReadError> {
        let origin = || Origin {
            file: path.to_owned(),
            member: Some(name.to_owned()),
            line: None,
        };
        if file.size() > MAX_DOCUMENT_BYTES {
            return Err(ReadError::Malformed {
                origin: origin(),
                expected: format!("a document of at most {MAX_DOCUMENT_BYTES} bytes"),
            });
        }
        buffer.clear();
        file.take(MAX_DOCUMENT_BYTES + 1)
            .read_to_end(buffer)
            .map_err(|e| ReadError::Malformed {
                origin: origin(),
                expected: format!("a readable deflate stream ({e})"),
            })?;
        if buffer.len() as u64 > MAX_DOCUMENT_BYTES {
            return Err(ReadError::Malformed {
                origin: origin(),
                expected: format!("a document of at most {MAX_DOCUMENT_BYTES} bytes"),
            });
        }
        Ok(())
    }

    fn step(&mut self) -> Result<Step, ReadError> {
        let path = self.path.clone();
        match &mut self.mode {
            Mode::Stream {
                reader,
                consumed,
                last_name,
            } => {
                let mut file = match zip::read::read_zipfile_from_stream(reader) {
                    Ok(Some(file)) => file,
                    Ok(None) => return Ok(Step::End),
                    // No sizes in the local header (data descriptor): switch to the
                    // central directory from this member on.
                    Err(zip::result::ZipError::UnsupportedArchive(_)) => {
                        return Ok(Step::Switch(*consumed, last_name.take()));
                    }
                    Err(source) => return Err(ReadError::Zip { path, source }),
                };
                let name = file.name().map(|n| n.into_owned()).unwrap_or_default();
                *consumed += 1;
                *last_name = Some(name.clone());
                let kind = kind_of(&name);
                if kind == Kind::Other {
                    return Ok(Step::Skipped);
                }
                Self::read_into(&path, &name, &mut file, &mut self.buffer)?;
                Ok(Step::Member(name, kind))
            }
            Mode::Indexed { archive, next } => {
                if *next >= archive.len() {
                    return Ok(Step::End);
                }
                let index = *next;
                *next += 1;
                let name = match archive.name_for_index(index) {
                    Some(Ok(name)) => name.into_owned(),
                    _ => return Ok(Step::Skipped),
                };
                let kind = kind_of(&name);
                if kind == Kind::Other {
                    return Ok(Step::Skipped);
                }
                let mut file = archive.by_index(index).map_err(|source| ReadError::Zip {
                    path: path.clone(),
                    source,
                })?;
                Self::read_into(&path, &name, &mut file, &mut self.buffer)?;
                Ok(Step::Member(name, kind))
            }
        }
    }

    fn switch_to_indexed(
        &mut self,
        consumed: usize,
        last_name: Option<String>,
    ) -> Result<(), ReadError> {
        let file = File::open(&self.path).map_err(|source| ReadError::Io {
            path: self.path.clone(),
            source,
        })?;
        let archive = zip::ZipArchive::new(BufReader::with_capacity(16 * 1024, file))
            .map_err(|e| self.zip_error(e))?;
        // The central directory lists members in file order in every writer seen; check
        // that the member before the switch is where the stream left off.
        if let Some(last) = last_name {
            let at = consumed
                .checked_sub(1)
                .and_then(|i| archive.name_for_index(i))
                .and_then(Result::ok);
            if at.as_deref() != Some(last.as_str()) {
                return Err(ReadError::Malformed {
                    origin: self.origin(&last),
                    expected: "the central directory in the same order as the members".to_owned(),
                });
            }
        }
        self.mode = Mode::Indexed {
            archive: Box::new(archive),
            next: consumed,
        };
        Ok(())
    }

    /// Compares the index and summary with what was found.
    fn finish(&mut self, report: &mut ImportReport) {
        let found_data = self.n_checkups + self.n_guidance;
        match &self.index {
            None => report
                .warnings
                .push("no ix08_V08.xml (index) in the archive".to_owned()),
            Some((name, control)) => {
                check_namespace(control, name, report);
                let found = found_data + self.n_claims;
                if let Some(expected) = control.total_record_count.filter(|c| *c != found) {
                    report.warnings.push(format!(
                        "{name}: totalRecordCount {expected} but the archive holds {found} DATA/CLAIMS files"
                    ));
                }
            }
        }
        if let Some((name, control)) = &self.summary {
            check_namespace(control, name, report);
            if let Some(expected) = control.total_subject_count.filter(|c| *c != found_data) {
                report.warnings.push(format!(
                    "{name}: totalSubjectCount {expected} but the archive holds {found_data} DATA files"
                ));
            }
        }
        if self.n_guidance > 0 {
            report.warnings.push(format!(
                "{} 特定保健指導 documents (DATA/g*.xml) ignored",
                self.n_guidance
            ));
        }
    }

    pub(crate) fn next_item(
        &mut self,
        report: &mut ImportReport,
    ) -> Option<Result<CheckupRecord, ReadError>> {
        loop {
            if self.finished {
                return None;
            }
            let (name, kind) = match self.step() {
                Ok(Step::Member(name, kind)) => (name, kind),
                Ok(Step::Skipped) => continue,
                Ok(Step::Switch(consumed, last_name)) => {
                    if let Err(e) = self.switch_to_indexed(consumed, last_name) {
                        self.finished = true;
                        return Some(Err(e));
                    }
                    continue;
                }
                Ok(Step::End) => {
                    self.finished = true;
                    self.finish(report);
                    return None;
                }
                Err(e) => {
                    self.finished = true;
                    return Some(Err(e));
                }
            };
            match kind {
                Kind::Checkup => {
                    self.n_checkups += 1;
                    return Some(parse_bytes(&self.buffer, self.origin(&name)));
                }
                Kind::Guidance => self.n_guidance += 1,
                Kind::Claims => self.n_claims += 1,
                Kind::Index | Kind::Summary => {
                    let root = if kind == Kind::Index {
                        "index"
                    } else {
                        "summary"
                    };
                    match parse_control(&self.buffer, &self.origin(&name), root) {
                        Ok(control) if kind == Kind::Index => self.index = Some((name, control)),
                        Ok(control) => self.summary = Some((name, control)),
                        Err(e) => {
                            self.finished = true;
                            return Some(Err(e));
                        }
                    }
                }
                Kind::Other => {}
            }
        }
    }
}
