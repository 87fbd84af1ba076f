//! Hand-made CDA documents and archives for the tests: a document builder with every
//! knob a trap needs, and a zip builder that writes arbitrary members.

use std::io::Write;
use std::path::{Path, PathBuf};

pub const NS_2024: &str = "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html";
pub const NS_2007: &str = "http://tokuteikenshin.jp/checkup/2007";

/// A synthetic CDA document.
pub struct Doc {
    pub bom: bool,
    pub ids: Vec<(&'static str, &'static str)>,
    pub name: &'static str,
    pub sex: &'static str,
    pub birth: &'static str,
    pub document_date: &'static str,
    pub exam_date: Option<&'static str>,
    pub entries: Vec<String>,
}

impl Default for Doc {
    fn default() -> Self {
        Doc {
            bom: false,
            ids: vec![
                ("1.2.392.200119.6.101", "06139999"),
                ("1.2.392.200119.6.204", "1001"),
                ("1.2.392.200119.6.205", "42"),
                ("1.2.392.200119.6.211", "00"),
            ],
            name: "テスト　ハナコ",
            sex: "2",
            birth: "19700115",
            document_date: "20240701",
            exam_date: Some("20240610"),
            entries: Vec::new(),
        }
    }
}

impl Doc {
    pub fn with(mut self, entry: String) -> Self {
        self.entries.push(entry);
        self
    }

    pub fn xml(&self) -> String {
        let mut s = String::new();
        if self.bom {
            s.push('\u{feff}');
        }
        s.push_str(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id nullFlavor="NI"/>
  <code code="10" codeSystem="1.2.392.200119.6.1001"/>
"#,
        );
        s.push_str(&format!(
            "  <effectiveTime value=\"{}\"/>\n",
            self.document_date
        ));
        s.push_str("  <confidentialityCode code=\"N\" codeSystem=\"2.16.840.1.113883.5.25\"/>\n");
        s.push_str("  <recordTarget><patientRole>\n");
        for (root, extension) in &self.ids {
            s.push_str(&format!(
                "    <id extension=\"{extension}\" root=\"{root}\"/>\n"
            ));
        }
        s.push_str(&format!(
            "    <addr><postalCode>100-0001</postalCode>東京都千代田区テスト１－１</addr>\n    <patient><name>{}</name>\n      <administrativeGenderCode code=\"{}\" codeSystem=\"1.2.392.200119.6.1104\"/>\n      <birthTime value=\"{}\"/></patient>\n",
            self.name, self.sex, self.birth
        ));
        s.push_str("  </patientRole></recordTarget>\n");
        s.push_str("  <author><time value=\"20240701\"/><assignedAuthor><id nullFlavor=\"NI\"/></assignedAuthor></author>\n");
        if let Some(exam) = self.exam_date {
            s.push_str(&format!(
                "  <documentationOf><serviceEvent><code code=\"010\" codeSystem=\"1.2.392.200119.6.1002\"/>\n    <effectiveTime value=\"{exam}\"/>\n  </serviceEvent></documentationOf>\n"
            ));
        }
        s.push_str("  <component><structuredBody><component><section>\n    <code code=\"01010\" codeSystem=\"1.2.392.200119.6.1010\"/>\n    <text/>\n");
        for entry in &self.entries {
            s.push_str("    ");
            s.push_str(entry);
            s.push('\n');
        }
        s.push_str("  </section></component></structuredBody></component>\n</ClinicalDocument>\n");
        s
    }
}

/// `<entry>` with a PQ value.
pub fn pq(code: &str, value: &str, unit: &str) -> String {
    format!(
        r#"<entry><observation classCode="OBS" moodCode="EVN"><code code="{code}"/><value xsi:type="PQ" value="{value}" unit="{unit}"/></observation></entry>"#
    )
}

/// `<entry>` with a CD value.
pub fn cd(code: &str, value: &str, system: &str) -> String {
    format!(
        r#"<entry><observation classCode="OBS" moodCode="EVN"><code code="{code}"/><value xsi:type="CD" code="{value}" codeSystem="{system}"/></observation></entry>"#
    )
}

/// `<entry>` with the raw inside of an observation.
pub fn raw(attrs: &str, inner: &str) -> String {
    format!(
        r#"<entry><observation classCode="OBS" moodCode="EVN"{attrs}>{inner}</observation></entry>"#
    )
}

pub fn index_xml(namespace: &str, total: usize) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<index xmlns="{namespace}">
  <interactionType code="6"/>
  <creationTime value="20240701"/>
  <sender><id root="1.2.392.200119.6.102" extension="6631111116"/></sender>
  <receiver><id root="1.2.392.200119.6.101" extension="06139999"/></receiver>
  <serviceEventType code="1"/>
  <totalRecordCount value="{total}"/>
</index>
"#
    )
}

pub fn summary_xml(namespace: &str, total: usize) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<summary xmlns="{namespace}"><serviceEventType code="1"/><totalSubjectCount value="{total}"/><totalCostAmount value="0"/><totalPaymentAmount value="0"/><totalClaimAmount value="0"/></summary>
"#
    )
}

/// A zip with the given members (names relative to the archive root).
pub fn zip_with(dir: &Path, name: &str, members: &[(String, Vec<u8>)]) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (member, bytes) in members {
        zip.start_file(member.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// A standard archive of `docs`, index/summary in `namespace`.
pub fn archive_of(dir: &Path, namespace: &str, docs: &[String]) -> PathBuf {
    let base = "6631111116_06139999_202407010_1";
    let mut members = vec![
        (
            format!("{base}/ix08_V08.xml"),
            index_xml(namespace, docs.len()).into_bytes(),
        ),
        (
            format!("{base}/su08_V08.xml"),
            summary_xml(namespace, docs.len()).into_bytes(),
        ),
    ];
    for (i, doc) in docs.iter().enumerate() {
        members.push((
            format!("{base}/DATA/h66311111162024070101{:06}.xml", i + 1),
            doc.clone().into_bytes(),
        ));
    }
    zip_with(dir, &format!("{base}.zip"), &members)
}

/// Parses one document through the public reader (as a single `.xml` file).
pub fn read_one(xml: &str) -> Result<collabo_checkup::CheckupRecord, collabo_checkup::ReadError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h0001.xml");
    std::fs::write(&path, xml).unwrap();
    let mut reader = collabo_checkup::CheckupReader::open(&path).unwrap();
    reader.next().unwrap()
}
