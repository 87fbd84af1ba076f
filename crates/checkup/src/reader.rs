//! The reader entry point: opens a path (zip archive, unpacked folder, single CDA XML,
//! CSV or XLSX, by extension, else by content) and yields [`CheckupRecord`]s one at a
//! time, keeping an [`ImportReport`].
//!
//! Archives are read by `archive` (streaming, flat memory). The index and summary
//! (`ix08_V08.xml`/`su08_V08.xml`) are read for their counts and namespace, both
//! namespaces accepted (2024 MHLW and the older `http://tokuteikenshin.jp/checkup/2007`);
//! disagreements become report warnings, not errors. `CLAIMS/` and `XSD/` are ignored.
//! Not here: XSD validation, matching, storage.

use crate::archive::ArchiveSource;
use crate::cda;
use crate::error::ReadError;
use crate::layout::{CsvSource, XlsxSource};
use crate::record::{CheckupRecord, ImportReport, Origin};
use quick_xml::events::Event;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// Namespace of ix08/su08/cc08 in the 2024 XSDs.
pub const NS_MHLW_2024: &str = "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html";
/// Namespace of ix08/su08/cc08 in the 2018 (第3期) XSDs, still seen in 2024 files.
pub const NS_TOKUTEI_2007: &str = "http://tokuteikenshin.jp/checkup/2007";

/// The largest document read, from an archive (a guard against zip bombs), a folder or
/// as a single file: real documents are a few KiB, and a document is parsed in memory.
pub const MAX_DOCUMENT_BYTES: u64 = 8 * 1024 * 1024;

/// What kind of input was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A zip archive of the MHLW format.
    Archive,
    /// An unpacked archive folder (or its `DATA/` folder).
    Folder,
    /// One CDA document.
    Xml,
    /// CSV in the documented layout.
    Csv,
    /// XLSX in the documented layout.
    Xlsx,
}

enum Source {
    Archive(Box<ArchiveSource>),
    Folder {
        files: std::vec::IntoIter<PathBuf>,
        root: PathBuf,
    },
    Xml(Option<PathBuf>),
    Csv(Box<CsvSource>),
    Xlsx(Box<XlsxSource>),
}

/// Reads checkups from a path, one record at a time.
///
/// ```no_run
/// # fn main() -> Result<(), collabo_checkup::ReadError> {
/// let mut reader = collabo_checkup::CheckupReader::open("06130123_06130123_202406011_1.zip")?;
/// for item in &mut reader {
///     match item {
///         Ok(record) => { /* match record.submitted_person(), store … */ }
///         Err(e) if !e.is_fatal() => { /* one rejected document: review queue */ }
///         Err(e) => return Err(e),
///     }
/// }
/// let report = reader.into_report();
/// # Ok(()) }
/// ```
pub struct CheckupReader {
    format: Format,
    source: Source,
    report: ImportReport,
    done: bool,
}

impl CheckupReader {
    /// Opens a zip archive, folder, `.xml`, `.csv` or `.xlsx`; an unknown extension is
    /// decided by content (zip magic, then `<`, else CSV).
    pub fn open(path: impl AsRef<Path>) -> Result<CheckupReader, ReadError> {
        let path = path.as_ref();
        let io = |source| ReadError::Io {
            path: path.to_owned(),
            source,
        };
        let mut report = ImportReport {
            file: path.to_owned(),
            ..ImportReport::default()
        };
        let metadata = std::fs::metadata(path).map_err(io)?;
        let format = if metadata.is_dir() {
            Format::Folder
        } else {
            detect(path)?
        };
        let source = match format {
            Format::Archive => Source::Archive(Box::new(ArchiveSource::open(path)?)),
            Format::Folder => open_folder(path, &mut report)?,
            Format::Xml => Source::Xml(Some(path.to_owned())),
            Format::Csv => Source::Csv(Box::new(CsvSource::open(path, &mut report.warnings)?)),
            Format::Xlsx => Source::Xlsx(Box::new(XlsxSource::open(path, &mut report.warnings)?)),
        };
        Ok(CheckupReader {
            format,
            source,
            report,
            done: false,
        })
    }

    /// What was opened.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The report so far (complete once the iterator returned `None`).
    pub fn report(&self) -> &ImportReport {
        &self.report
    }

    /// The final report.
    pub fn into_report(self) -> ImportReport {
        self.report
    }

    fn next_item(&mut self) -> Option<Result<CheckupRecord, ReadError>> {
        match &mut self.source {
            Source::Archive(archive) => archive.next_item(&mut self.report),
            Source::Folder { files, root } => {
                let file = files.next()?;
                let member = file
                    .strip_prefix(&*root)
                    .unwrap_or(&file)
                    .to_string_lossy()
                    .replace('\\', "/");
                let origin = Origin {
                    file: root.clone(),
                    member: Some(member),
                    line: None,
                };
                Some(read_file(&file, &origin).and_then(|bytes| parse_bytes(&bytes, origin)))
            }
            Source::Xml(path) => {
                let path = path.take()?;
                let origin = Origin {
                    file: path.clone(),
                    member: None,
                    line: None,
                };
                Some(read_file(&path, &origin).and_then(|bytes| parse_bytes(&bytes, origin)))
            }
            Source::Csv(csv) => csv.next_item(),
            Source::Xlsx(xlsx) => xlsx.next_item(),
        }
    }
}

impl Iterator for CheckupReader {
    type Item = Result<CheckupRecord, ReadError>;

    /// The next record; a fatal error ends the iteration after it is returned.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let Some(item) = self.next_item() else {
            self.done = true;
            return None;
        };
        match &item {
            Ok(record) => self.report.count_record(record),
            Err(ReadError::Rejected { problems, .. }) => {
                self.report.documents += 1;
                self.report.rejected += 1;
                self.report.problems += problems.len() as u64;
            }
            Err(_) => self.done = true,
        }
        Some(item)
    }
}

fn detect(path: &Path) -> Result<Format, ReadError> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("zip") => return Ok(Format::Archive),
        Some("xml") => return Ok(Format::Xml),
        Some("csv" | "txt") => return Ok(Format::Csv),
        Some("xlsx" | "xlsm") => return Ok(Format::Xlsx),
        _ => {}
    }
    let mut head = [0u8; 512];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| ReadError::Io {
            path: path.to_owned(),
            source,
        })?;
    let head = &head[..n];
    if head.starts_with(b"PK\x03\x04") {
        let file = File::open(path).map_err(|source| ReadError::Io {
            path: path.to_owned(),
            source,
        })?;
        let archive =
            zip::ZipArchive::new(BufReader::new(file)).map_err(|source| ReadError::Zip {
                path: path.to_owned(),
                source,
            })?;
        return Ok(if archive.index_for_name("xl/workbook.xml").is_some() {
            Format::Xlsx
        } else {
            Format::Archive
        });
    }
    let text = cda::strip_bom(head);
    if text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') {
        return Ok(Format::Xml);
    }
    if n == 0 || head.contains(&0) {
        return Err(ReadError::UnknownFormat {
            path: path.to_owned(),
        });
    }
    Ok(Format::Csv)
}

/// Reads a document (or index) file, at most [`MAX_DOCUMENT_BYTES`] of it: a larger
/// one is refused like an oversized archive member, before it is read whole.
fn read_file(path: &Path, origin: &Origin) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let too_large = || ReadError::Malformed {
        origin: origin.clone(),
        expected: format!("a document of at most {MAX_DOCUMENT_BYTES} bytes"),
    };
    let file = File::open(path).map_err(io)?;
    if file.metadata().map_err(io)?.len() > MAX_DOCUMENT_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        // It grew while being read.
        return Err(too_large());
    }
    Ok(bytes)
}

/// BOM, UTF-8 check, then the CDA parser.
pub(crate) fn parse_bytes(bytes: &[u8], origin: Origin) -> Result<CheckupRecord, ReadError> {
    let bytes = cda::strip_bom(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => cda::parse_document(text, origin),
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            Err(ReadError::Malformed {
                origin: origin.at_line(cda::line_at(valid, valid.len() as u64)),
                expected: "UTF-8 text (the MHLW format is UTF-8)".to_owned(),
            })
        }
    }
}

/// A `DATA/h*.xml` member: file name starting with `h`, in a folder named `DATA`.
pub(crate) fn is_checkup_document(name: &str) -> bool {
    let mut parts = name.rsplit('/');
    let file = parts.next().unwrap_or("");
    let folder = parts.next().unwrap_or("");
    folder.eq_ignore_ascii_case("DATA")
        && (file.starts_with('h') || file.starts_with('H'))
        && file.to_ascii_lowercase().ends_with(".xml")
}

pub(crate) fn is_guidance_document(name: &str) -> bool {
    let mut parts = name.rsplit('/');
    let file = parts.next().unwrap_or("");
    let folder = parts.next().unwrap_or("");
    folder.eq_ignore_ascii_case("DATA") && (file.starts_with('g') || file.starts_with('G'))
}

pub(crate) fn is_claims_document(name: &str) -> bool {
    let mut parts = name.rsplit('/');
    let _file = parts.next();
    parts
        .next()
        .is_some_and(|folder| folder.eq_ignore_ascii_case("CLAIMS"))
}

/// The counts of an index or summary file.
#[derive(Debug, Default)]
pub(crate) struct Control {
    pub(crate) namespace: Option<String>,
    pub(crate) total_record_count: Option<u64>,
    pub(crate) total_subject_count: Option<u64>,
}

pub(crate) fn parse_control(
    bytes: &[u8],
    origin: &Origin,
    root: &str,
) -> Result<Control, ReadError> {
    let bytes = cda::strip_bom(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| ReadError::Malformed {
        origin: origin.clone(),
        expected: "UTF-8 text".to_owned(),
    })?;
    let malformed = |offset: u64, expected: String| ReadError::Malformed {
        origin: origin.at_line(cda::line_at(text, offset)),
        expected,
    };
    let mut reader = quick_xml::Reader::from_str(text);
    let mut control = Control::default();
    let mut depth = 0usize;
    loop {
        let offset = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| malformed(reader.error_position(), format!("well-formed XML ({e})")))?;
        let (start, empty) = match &event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let local = start.local_name();
        let local = local.as_ref();
        if depth == 0 {
            if local != root {
                return Err(malformed(
                    offset,
                    format!("root element <{root}> (found <{local}>)"),
                ));
            }
            control.namespace = start
                .attributes()
                .flatten()
                .find(|a| a.key.as_ref() == "xmlns")
                .map(|a| a.value.into_owned());
        }
        let value = || {
            start
                .attributes()
                .flatten()
                .find(|a| a.key.local_name().as_ref() == "value")
                .and_then(|a| a.value.parse::<u64>().ok())
        };
        match local {
            "totalRecordCount" => control.total_record_count = value(),
            "totalSubjectCount" => control.total_subject_count = value(),
            _ => {}
        }
        if !empty {
            depth += 1;
        }
    }
    if depth != 0 {
        return Err(malformed(
            text.len() as u64,
            format!("</{root}> before the end"),
        ));
    }
    Ok(control)
}

pub(crate) fn check_namespace(control: &Control, member: &str, report: &mut ImportReport) {
    match control.namespace.as_deref() {
        Some(NS_MHLW_2024 | NS_TOKUTEI_2007) => {}
        other => report.warnings.push(format!(
            "{member}: namespace {:?} is neither the 2024 MHLW nor the 2007 one; read anyway",
            other.unwrap_or("")
        )),
    }
}

fn open_folder(path: &Path, report: &mut ImportReport) -> Result<Source, ReadError> {
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source| ReadError::Io { path: p, source }
    };
    let is_dir = |p: &Path| p.is_dir();
    // The folder itself, the archive's top folder inside it, or DATA.
    let base = if is_dir(&path.join("DATA")) {
        path.to_owned()
    } else if path
        .file_name()
        .is_some_and(|n| n.eq_ignore_ascii_case("DATA"))
    {
        path.parent().unwrap_or(path).to_owned()
    } else {
        let mut candidates = Vec::new();
        for entry in std::fs::read_dir(path).map_err(io(path))? {
            let entry = entry.map_err(io(path))?;
            if is_dir(&entry.path().join("DATA")) {
                candidates.push(entry.path());
            }
        }
        match candidates.as_slice() {
            [one] => one.clone(),
            _ => {
                return Err(ReadError::UnknownFormat {
                    path: path.to_owned(),
                });
            }
        }
    };
    let data = base.join("DATA");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&data).map_err(io(&data))? {
        let entry = entry.map_err(io(&data))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_checkup_document(&format!("DATA/{name}")) {
            files.push(entry.path());
        }
    }
    files.sort();
    let index = base.join("ix08_V08.xml");
    if index.is_file() {
        let origin = Origin {
            file: base.clone(),
            member: Some("ix08_V08.xml".to_owned()),
            line: None,
        };
        let bytes = read_file(&index, &origin)?;
        let control = parse_control(&bytes, &origin, "index")?;
        check_namespace(&control, "ix08_V08.xml", report);
    } else {
        report
            .warnings
            .push("no ix08_V08.xml (index) in the folder".to_owned());
    }
    Ok(Source::Folder {
        files: files.into_iter(),
        root: base,
    })
}
