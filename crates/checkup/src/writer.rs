//! Writes checkups as MHLW 特定健診 archives: `<sender>_<receiver>_<YYYYMMDD><n>_<kind>.zip`
//! holding one folder with `ix08_V08.xml`, `su08_V08.xml`, `DATA/h*.xml` (one CDA document
//! per checkup) and `XSD/`, valid against the 2024 XSDs.
//!
//! Streaming: each record is serialised into one reused buffer and deflated into the
//! zip at once, so 100,000 checkups never sit in memory together; the index and summary
//! (which carry the counts) are written last, which the format allows because members
//! are found by name. Deliberately not written: `CLAIMS/` (employer-submitted 事業者健診
//! has no settlement), unknown items (their XML type is unknown), 1回目/2回目 blood
//! pressure (the judged value is written as その他).

use crate::cda::{FOURTH_PERIOD_START, OID_BRANCH, OID_INSURER, OID_NUMBER, OID_SYMBOL};
use crate::error::WriteError;
use crate::items::{self, CodeKind};
use crate::layout::format_number;
use crate::reader::NS_MHLW_2024;
use crate::record::CheckupRecord;
use collabo_domain::checkup::{DrawTiming, Item, ObservedValue, SmokingAnswer};
use collabo_domain::ids::InsurerNumber;
use jiff::civil::Date;
use quick_xml::escape::escape;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;

/// The XSD set written into every archive (the 2024 MHLW schemas).
const XSD_FILES: &[(&str, &[u8])] = &[
    ("cc08_V08.xsd", include_bytes!("../data/xsd/cc08_V08.xsd")),
    ("co08_V08.xsd", include_bytes!("../data/xsd/co08_V08.xsd")),
    ("gc08_V08.xsd", include_bytes!("../data/xsd/gc08_V08.xsd")),
    ("hc08_V08.xsd", include_bytes!("../data/xsd/hc08_V08.xsd")),
    ("hg08_V08.xsd", include_bytes!("../data/xsd/hg08_V08.xsd")),
    ("ix08_V08.xsd", include_bytes!("../data/xsd/ix08_V08.xsd")),
    ("su08_V08.xsd", include_bytes!("../data/xsd/su08_V08.xsd")),
    (
        "coreschemas/datatypes-base_hcgv08.xsd",
        include_bytes!("../data/xsd/coreschemas/datatypes-base_hcgv08.xsd"),
    ),
    (
        "coreschemas/datatypes_hcgv08.xsd",
        include_bytes!("../data/xsd/coreschemas/datatypes_hcgv08.xsd"),
    ),
    (
        "coreschemas/narrativeBlock_hcgv08.xsd",
        include_bytes!("../data/xsd/coreschemas/narrativeBlock_hcgv08.xsd"),
    ),
    (
        "coreschemas/voc_hcgv08.xsd",
        include_bytes!("../data/xsd/coreschemas/voc_hcgv08.xsd"),
    ),
];

/// 健診機関 OID (the sender and the documents' author organisation).
const OID_PROVIDER: &str = "1.2.392.200119.6.102";

/// Who sends what to whom: the parts of the archive name and of `ix08_V08.xml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveHeader {
    /// 送付元機関番号: the 10-digit 健診機関番号, or `6631111116`, the common number an
    /// employer (事業主) submits under.
    pub sender: String,
    /// 送付先: the society's 8-digit 保険者番号.
    pub receiver: InsurerNumber,
    /// 作成日.
    pub created: Date,
    /// 同日回数 (0–9): the how-many-th archive of the day.
    pub same_day_seq: u8,
    /// 実施区分 (ServiceEventType): 1 特定健診情報, 4 他の健診結果の受領分 (事業者健診).
    pub kind: u8,
    /// 種別 (InteractionType): 6 健診機関→保険者 by default.
    pub interaction_type: u8,
}

impl ArchiveHeader {
    /// A header with 同日回数 0, 実施区分 1 and 種別 6.
    pub fn new(sender: &str, receiver: InsurerNumber, created: Date) -> Self {
        ArchiveHeader {
            sender: sender.to_owned(),
            receiver,
            created,
            same_day_seq: 0,
            kind: 1,
            interaction_type: 6,
        }
    }

    fn check(&self) -> Result<(), WriteError> {
        let invalid = |field, value: String, expected| {
            Err(WriteError::InvalidHeader {
                field,
                value,
                expected,
            })
        };
        if self.sender.len() != 10 || !self.sender.bytes().all(|b| b.is_ascii_digit()) {
            return invalid("送付元機関番号", self.sender.clone(), "10 digits");
        }
        if self.receiver.as_str().len() != 8 {
            return invalid("送付先保険者番号", self.receiver.to_string(), "8 digits");
        }
        if self.same_day_seq > 9 {
            return invalid("同日回数", self.same_day_seq.to_string(), "0–9");
        }
        if !(1..=9).contains(&self.kind) {
            return invalid("実施区分", self.kind.to_string(), "1–9");
        }
        if !(1..=20).contains(&self.interaction_type) {
            return invalid("種別", self.interaction_type.to_string(), "1–20");
        }
        Ok(())
    }

    /// `<sender>_<receiver>_<YYYYMMDD><n>_<kind>`: the archive's base name and top folder.
    pub fn base_name(&self) -> String {
        format!(
            "{}_{}_{}{}_{}",
            self.sender,
            self.receiver,
            yyyymmdd(self.created),
            self.same_day_seq,
            self.kind
        )
    }

    /// The archive's file name.
    pub fn file_name(&self) -> String {
        format!("{}.zip", self.base_name())
    }
}

fn yyyymmdd(date: Date) -> String {
    format!("{:04}{:02}{:02}", date.year(), date.month(), date.day())
}

/// Streams records into one archive.
pub struct ArchiveWriter<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    header: ArchiveHeader,
    base: String,
    path: PathBuf,
    n_documents: u64,
    document: String,
}

impl ArchiveWriter<BufWriter<File>> {
    /// Creates the archive file at `path` (name it with [`ArchiveHeader::file_name`]).
    pub fn create(path: &Path, header: ArchiveHeader) -> Result<Self, WriteError> {
        header.check()?;
        let file = File::create(path).map_err(|source| WriteError::Io {
            path: path.to_owned(),
            source,
        })?;
        ArchiveWriter::new(BufWriter::with_capacity(256 * 1024, file), header, path)
    }
}

impl<W: Write + Seek> ArchiveWriter<W> {
    /// Writes into any seekable output; `path` only names it in errors.
    pub fn new(out: W, header: ArchiveHeader, path: &Path) -> Result<Self, WriteError> {
        header.check()?;
        let base = header.base_name();
        Ok(ArchiveWriter {
            zip: zip::ZipWriter::new(out),
            header,
            base,
            path: path.to_owned(),
            n_documents: 0,
            document: String::with_capacity(16 * 1024),
        })
    }

    fn start(&mut self, name: &str) -> Result<(), WriteError> {
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        self.zip
            .start_file(format!("{}/{name}", self.base), options)
            .map_err(|source| WriteError::Zip {
                path: self.path.clone(),
                source,
            })
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.zip.write_all(bytes).map_err(|source| WriteError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Writes one checkup as `DATA/h<sender><date><n><kind><serial>.xml`.
    pub fn write(&mut self, record: &CheckupRecord) -> Result<(), WriteError> {
        self.n_documents += 1;
        let name = format!(
            "DATA/h{}{}{}{}{:06}.xml",
            self.header.sender,
            yyyymmdd(self.header.created),
            self.header.same_day_seq,
            self.header.kind,
            self.n_documents
        );
        let mut document = std::mem::take(&mut self.document);
        document.clear();
        write_document(&mut document, record, &self.header);
        self.start(&name)?;
        let result = self.put(document.as_bytes());
        self.document = document;
        result
    }

    /// How many checkups were written.
    pub fn len(&self) -> u64 {
        self.n_documents
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.n_documents == 0
    }

    /// Writes the index, summary and XSDs and closes the archive.
    pub fn finish(mut self) -> Result<W, WriteError> {
        let index = index_xml(&self.header, self.n_documents);
        self.start("ix08_V08.xml")?;
        self.put(index.as_bytes())?;
        let summary = summary_xml(&self.header, self.n_documents);
        self.start("su08_V08.xml")?;
        self.put(summary.as_bytes())?;
        for (name, bytes) in XSD_FILES {
            self.start(&format!("XSD/{name}"))?;
            self.put(bytes)?;
        }
        self.zip.finish().map_err(|source| WriteError::Zip {
            path: self.path.clone(),
            source,
        })
    }
}

/// Writes all `records` into `dir/<header.file_name()>` and returns that path.
pub fn write_archive(
    dir: &Path,
    header: ArchiveHeader,
    records: impl IntoIterator<Item = CheckupRecord>,
) -> Result<PathBuf, WriteError> {
    let path = dir.join(header.file_name());
    let mut writer = ArchiveWriter::create(&path, header)?;
    for record in records {
        writer.write(&record)?;
    }
    let mut out = writer.finish()?;
    out.flush().map_err(|source| WriteError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// `ix08_V08.xml` for an archive of `n_documents` checkups (no CLAIMS).
pub fn index_xml(header: &ArchiveHeader, n_documents: u64) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<index xmlns="{NS_MHLW_2024}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{NS_MHLW_2024} XSD/ix08_V08.xsd">
  <interactionType code="{}"/>
  <creationTime value="{}"/>
  <sender><id root="{OID_PROVIDER}" extension="{}"/></sender>
  <receiver><id root="{OID_INSURER}" extension="{}"/></receiver>
  <serviceEventType code="{}"/>
  <totalRecordCount value="{n_documents}"/>
</index>
"#,
        header.interaction_type,
        yyyymmdd(header.created),
        header.sender,
        header.receiver,
        header.kind
    )
}

/// `su08_V08.xml`: subject count; amounts are zero (no settlement is claimed).
pub fn summary_xml(header: &ArchiveHeader, n_documents: u64) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<summary xmlns="{NS_MHLW_2024}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{NS_MHLW_2024} XSD/su08_V08.xsd">
  <serviceEventType code="{}"/>
  <totalSubjectCount value="{n_documents}"/>
  <totalCostAmount value="0" currency="JPY"/>
  <totalPaymentAmount value="0" currency="JPY"/>
  <totalClaimAmount value="0" currency="JPY"/>
</summary>
"#,
        header.kind
    )
}

/// The code to write for an item: the submitted method variant when it still means the
/// same item, else the canonical code.
fn code_for(record: &CheckupRecord, item: Item) -> &str {
    let submitted = record.source(item).map(|s| s.code.as_str());
    let same = submitted.filter(|code| match items::classify(code) {
        Some(CodeKind::Measure(i)) => i == item,
        Some(CodeKind::BloodPressure { systolic, .. }) => {
            (systolic && item == Item::SystolicBp) || (!systolic && item == Item::DiastolicBp)
        }
        Some(CodeKind::Triglycerides { random_code }) => {
            random_code == (item == Item::TriglyceridesRandom)
        }
        _ => false,
    });
    same.unwrap_or_else(|| items::canonical_code(item))
}

fn entry_open(out: &mut String, code: &str, negated: bool) {
    let negation = if negated {
        r#" negationInd="true""#
    } else {
        ""
    };
    let _ = write!(
        out,
        "\n      <entry><observation classCode=\"OBS\" moodCode=\"EVN\"{negation}><code code=\"{code}\"/>"
    );
}

fn coded_entry(out: &mut String, code: &str, value: &str, system: &str) {
    entry_open(out, code, false);
    let _ = write!(
        out,
        r#"<value xsi:type="CD" code="{value}" codeSystem="{system}"/></observation></entry>"#
    );
}

/// One CDA document (hc08) for a record, appended to `out`.
pub fn write_document(out: &mut String, record: &CheckupRecord, header: &ArchiveHeader) {
    let created = yyyymmdd(header.created);
    let exam = yyyymmdd(record.exam_date);
    let _ = write!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:hl7-org:v3 ../XSD/hc08_V08.xsd">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id nullFlavor="NI"/>
  <code code="10" codeSystem="1.2.392.200119.6.1001"/>
  <effectiveTime value="{created}"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <recordTarget><patientRole>
    <id root="{OID_INSURER}" extension="{}"/>
    <id root="{OID_SYMBOL}" extension="{}"/>
    <id root="{OID_NUMBER}" extension="{}"/>"#,
        escape(record.insurer.as_str()),
        escape(record.symbol.as_str()),
        escape(record.number.as_str()),
    );
    if let Some(branch) = &record.branch {
        let _ = write!(
            out,
            "\n    <id root=\"{OID_BRANCH}\" extension=\"{}\"/>",
            escape(branch.as_str())
        );
    }
    let _ = write!(
        out,
        r#"
    <patient><name>{}</name>
      <administrativeGenderCode code="{}" codeSystem="1.2.392.200119.6.1104"/>
      <birthTime value="{}"/></patient>
  </patientRole></recordTarget>
  <author><time value="{created}"/><assignedAuthor><id nullFlavor="NI"/>
    <representedOrganization><id root="{OID_PROVIDER}" extension="{}"/></representedOrganization></assignedAuthor></author>
  <custodian><assignedCustodian><representedCustodianOrganization><id nullFlavor="NI"/></representedCustodianOrganization></assignedCustodian></custodian>
  <documentationOf><serviceEvent>
    <code code="010" codeSystem="1.2.392.200119.6.1002"/>
    <effectiveTime value="{exam}"/>
  </serviceEvent></documentationOf>
  <component><structuredBody><component><section>
    <code code="01010" codeSystem="1.2.392.200119.6.1010"/>
    <text/>"#,
        escape(&record.kana_name),
        record.sex.code(),
        yyyymmdd(record.birth_date),
        header.sender,
    );
    for (observation, source) in record.observations.iter().zip(&record.sources) {
        let item = observation.item;
        let code = code_for(record, item);
        match observation.value {
            ObservedValue::NotDone => {
                entry_open(out, code, true);
                out.push_str("</observation></entry>");
            }
            ObservedValue::NotMeasurable => {
                entry_open(out, code, false);
                let kind = if matches!(item, Item::UrineProtein | Item::UrineGlucose) {
                    "CO"
                } else {
                    "PQ"
                };
                let _ = write!(
                    out,
                    r#"<value xsi:type="{kind}" nullFlavor="NI"/></observation></entry>"#
                );
            }
            ObservedValue::Grade(grade) => {
                entry_open(out, code, false);
                let _ = write!(
                    out,
                    r#"<value xsi:type="CO" code="{}" codeSystem="{}"/></observation></entry>"#,
                    grade.mhlw_code(),
                    items::OID_QUALITATIVE
                );
            }
            ObservedValue::Number(n) => {
                entry_open(out, code, false);
                let _ = write!(
                    out,
                    r#"<value xsi:type="PQ" value="{}" unit="{}"/>"#,
                    format_number(n),
                    items::ucum_unit(item)
                );
                if let Some(flag) = source.flag {
                    let _ = write!(
                        out,
                        r#"<value xsi:type="CD" code="{}" codeSystem="{}"/>"#,
                        flag.code(),
                        items::OID_INTERPRETATION
                    );
                }
                out.push_str("</observation></entry>");
            }
        }
    }
    // 採血時間 only when every fasting/random item agrees, so that 第3期 readers
    // (where it decides the triglyceride item) read back what was written.
    let measured = |item| record.value(item).and_then(ObservedValue::number).is_some();
    let fasting = measured(Item::TriglyceridesFasting) || measured(Item::GlucoseFasting);
    let random = measured(Item::TriglyceridesRandom) || measured(Item::GlucoseRandom);
    // The recorded 採血時間 wins; without one it is told from the items when they agree.
    let timing = record
        .questionnaire
        .draw_timing
        .or(match (fasting, random) {
            (true, false) => Some(DrawTiming::Fasting),
            (false, true) => Some(DrawTiming::Random),
            _ => None,
        });
    if let Some(timing) = timing {
        coded_entry(
            out,
            items::CODE_DRAW_TIMING,
            timing.mhlw_code(),
            items::OID_DRAW_TIMING,
        );
    }
    let q = &record.questionnaire;
    for (code, answer) in [
        (items::CODE_MED_BP, q.medication_blood_pressure),
        (items::CODE_MED_GLUCOSE, q.medication_glucose),
        (items::CODE_MED_LIPIDS, q.medication_lipids),
    ] {
        if let Some(yes) = answer {
            coded_entry(out, code, if yes { "1" } else { "2" }, items::OID_YES_NO);
        }
    }
    if let Some(smoking) = q.smoking {
        // 第3期 has no "former smoker" answer: a former smoker is いいえ there.
        let (value, system) = if record.exam_date >= FOURTH_PERIOD_START {
            let value = match smoking {
                SmokingAnswer::Smokes => "1",
                SmokingAnswer::FormerSmoker => "2",
                SmokingAnswer::DoesNotSmoke => "3",
            };
            (value, items::OID_SMOKING_2024)
        } else {
            let value = if smoking == SmokingAnswer::Smokes {
                "1"
            } else {
                "2"
            };
            (value, items::OID_YES_NO)
        };
        coded_entry(out, items::CODE_SMOKING, value, system);
    }
    out.push_str("\n  </section></component></structuredBody></component>\n</ClinicalDocument>\n");
}
