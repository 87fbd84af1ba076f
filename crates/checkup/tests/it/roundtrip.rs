//! Writer → reader round trips and XSD validity of what the writer produces.

use collabo_checkup::{
    ArchiveHeader, CheckupReader, CheckupRecord, Origin, RangeFlag, write_archive,
};
use collabo_domain::checkup::{DrawTiming, Item, ObservedValue, SmokingAnswer, UrineGrade};
use collabo_domain::ids::{Branch, CardNumber, InsurerNumber, Symbol};
use collabo_domain::member::Sex;
use jiff::civil::{Date, date};
use std::path::Path;
use std::process::Command;

fn person(number: &str, sex: Sex, exam: Date) -> CheckupRecord {
    CheckupRecord::new(
        Origin::default(),
        InsurerNumber::parse("06139999").unwrap(),
        Symbol::parse("1001").unwrap(),
        CardNumber::parse(number).unwrap(),
        Some(Branch::parse("00").unwrap()),
        "テスト　タロウ".to_owned(),
        sex,
        date(1968, 2, 29),
        exam,
    )
}

/// Synthetic records covering every value kind, both periods and the questionnaire.
pub fn sample_records() -> Vec<CheckupRecord> {
    use ObservedValue::*;
    let mut a = person("1", Sex::Male, date(2024, 6, 10));
    a.push(Item::Height, Number(171.2), None, None);
    a.push(Item::Weight, Number(80.4), None, None);
    a.push(Item::Bmi, Number(27.4), None, None);
    a.push(
        Item::Waist,
        Number(92.0),
        Some("9N016160300000001".to_owned()),
        None,
    );
    a.push(Item::SystolicBp, Number(148.0), None, None);
    a.push(Item::DiastolicBp, Number(94.0), None, None);
    a.push(
        Item::TriglyceridesRandom,
        Number(410.0),
        None,
        Some(RangeFlag::High),
    );
    a.push(Item::Hdl, Number(38.0), None, None);
    a.push(Item::Ldl, NotDone, None, None);
    a.push(Item::NonHdl, Number(190.0), None, None);
    a.push(Item::GlucoseRandom, Number(132.0), None, None);
    a.push(
        Item::HbA1c,
        Number(6.9),
        Some("3D046000001920402".to_owned()),
        None,
    );
    a.push(Item::Ast, Number(35.0), None, None);
    a.push(Item::Alt, Number(52.0), None, None);
    a.push(Item::GammaGt, Number(120.0), None, None);
    a.push(Item::Creatinine, Number(1.12), None, None);
    a.push(Item::Egfr, Number(55.3), None, None);
    a.push(Item::UrineProtein, Grade(UrineGrade::ONE_PLUS), None, None);
    a.push(Item::UrineGlucose, NotMeasurable, None, None);
    a.push(Item::Haemoglobin, Number(12.9), None, None);
    a.questionnaire.smoking = Some(SmokingAnswer::FormerSmoker);
    a.questionnaire.medication_blood_pressure = Some(true);
    a.questionnaire.medication_glucose = Some(false);
    a.questionnaire.medication_lipids = Some(false);
    a.questionnaire.draw_timing = Some(DrawTiming::Random);

    let mut b = person("２", Sex::Female, date(2023, 11, 2));
    b.branch = None;
    b.push(Item::TriglyceridesFasting, Number(160.0), None, None);
    b.push(Item::GlucoseFasting, Number(101.0), None, None);
    b.push(Item::HbA1c, Number(5.7), None, None);
    b.push(Item::Haemoglobin, Number(11.5), None, Some(RangeFlag::Low));
    b.push(Item::UrineProtein, Grade(UrineGrade::NEGATIVE), None, None);
    b.questionnaire.smoking = Some(SmokingAnswer::Smokes);
    b.questionnaire.draw_timing = Some(DrawTiming::Fasting);

    let mut c = person("3", Sex::Female, date(2023, 5, 20));
    c.push(Item::TriglyceridesRandom, Number(220.0), None, None);
    c.questionnaire.smoking = Some(SmokingAnswer::DoesNotSmoke);
    c.questionnaire.draw_timing = Some(DrawTiming::SoonAfterMeal);
    vec![a, b, c]
}

fn sorted(record: &CheckupRecord) -> Vec<(Item, ObservedValue, Option<RangeFlag>)> {
    let mut v: Vec<_> = record
        .observations
        .iter()
        .map(|o| (o.item, o.value, record.source(o.item).and_then(|s| s.flag)))
        .collect();
    v.sort_by_key(|(item, _, _)| *item);
    v
}

pub(crate) fn header() -> ArchiveHeader {
    ArchiveHeader::new(
        "6631111116",
        InsurerNumber::parse("06139999").unwrap(),
        date(2024, 7, 1),
    )
}

#[test]
fn records_written_to_an_archive_read_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let records = sample_records();
    let path = write_archive(dir.path(), header(), records.clone()).unwrap();
    assert_eq!(
        path.file_name().unwrap(),
        "6631111116_06139999_202407010_1.zip"
    );
    let mut reader = CheckupReader::open(&path).unwrap();
    let back: Vec<CheckupRecord> = reader.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(back.len(), records.len());
    for (written, read) in records.iter().zip(&back) {
        assert_eq!(read.insurer, written.insurer);
        assert_eq!(read.symbol, written.symbol);
        assert_eq!(read.number, written.number);
        assert_eq!(read.branch, written.branch);
        assert_eq!(read.kana_name, written.kana_name);
        assert_eq!(read.sex, written.sex);
        assert_eq!(read.birth_date, written.birth_date);
        assert_eq!(read.exam_date, written.exam_date);
        assert_eq!(sorted(read), sorted(written));
        assert_eq!(read.questionnaire, written.questionnaire);
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        assert!(read.unknown_items.is_empty(), "{:?}", read.unknown_items);
    }
    // Method variants survive.
    assert_eq!(
        back[0].source(Item::HbA1c).unwrap().code,
        "3D046000001920402"
    );
    assert_eq!(
        back[0].source(Item::Waist).unwrap().code,
        "9N016160300000001"
    );
    let report = reader.into_report();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.records, 3);
}

#[test]
fn quit_recently_has_no_third_period_answer_and_is_written_as_no() {
    let dir = tempfile::tempdir().unwrap();
    let mut record = person("9", Sex::Male, date(2023, 6, 1));
    record.questionnaire.smoking = Some(SmokingAnswer::FormerSmoker);
    let path = write_archive(dir.path(), header(), [record]).unwrap();
    let back = CheckupReader::open(&path).unwrap().next().unwrap().unwrap();
    assert_eq!(
        back.questionnaire.smoking,
        Some(SmokingAnswer::DoesNotSmoke)
    );
}

#[test]
fn a_sender_that_is_not_ten_digits_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = header();
    bad.sender = "12345".to_owned();
    let err = write_archive(dir.path(), bad, Vec::new()).unwrap_err();
    assert!(err.to_string().contains("送付元機関番号"), "{err}");
}

fn xmllint() -> &'static str {
    let found = Command::new("xmllint").arg("--version").output().is_ok();
    assert!(
        found,
        "xmllint is not installed: run scripts/setup.sh (it installs libxml2-utils)"
    );
    "xmllint"
}

fn validate(schema: &Path, files: &[std::path::PathBuf]) {
    let output = Command::new(xmllint())
        .arg("--noout")
        .arg("--schema")
        .arg(schema)
        .args(files)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "xmllint failed against {}:\n{stderr}",
        schema.display()
    );
    assert_eq!(
        stderr.matches(" validates").count(),
        files.len(),
        "{stderr}"
    );
}

#[test]
fn written_archives_validate_against_the_2024_xsds() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_archive(dir.path(), header(), sample_records()).unwrap();
    let out = dir.path().join("unpacked");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    archive.extract(&out).unwrap();
    let top = out.join(header().base_name());
    let mut documents: Vec<_> = std::fs::read_dir(top.join("DATA"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    documents.sort();
    assert_eq!(documents.len(), 3);
    assert!(
        top.join("XSD/coreschemas/voc_hcgv08.xsd").is_file(),
        "the archive carries its XSDs"
    );
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/xsd");
    validate(&xsd.join("hc08_V08.xsd"), &documents);
    validate(&xsd.join("ix08_V08.xsd"), &[top.join("ix08_V08.xml")]);
    validate(&xsd.join("su08_V08.xsd"), &[top.join("su08_V08.xml")]);
}

#[test]
fn the_validator_does_reject_a_broken_document() {
    // Guards the XSD test above against a validator that accepts anything.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("h1.xml");
    let mut text = String::new();
    collabo_checkup::writer::write_document(&mut text, &sample_records()[1], &header());
    std::fs::write(
        &bad,
        text.replace("<confidentialityCode", "<confidentiality"),
    )
    .unwrap();
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/xsd/hc08_V08.xsd");
    let output = Command::new(xmllint())
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!output.status.success());
}
