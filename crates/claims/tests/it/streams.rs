//! The four streams and multi-volume files (issue 10): a file's kind is told from its
//! records and name or it is refused with the line; the header and `GO` say which volume
//! a file is; the writer writes DPC, 歯科 and 調剤 files that read back as such.

use crate::common::*;
use collabo_claims::{
    ClaimFileKind, ClaimIdentity, ClaimSpec, ClaimsError, Filler, GroupSpec, UkeWriter,
    WriterOptions, read_all,
};
use collabo_domain::calendar::YearMonth;
use collabo_domain::coverage::{ClaimStream, Volume};
use collabo_domain::ids::{Branch, CardNumber, InsurerNumber, Symbol};
use collabo_domain::member::Sex;
use collabo_domain::visit::GroupKind;
use jiff::civil::Date;
use std::path::Path;

fn ym(y: i16, m: i8) -> YearMonth {
    YearMonth::new(y, m).unwrap()
}

fn read_named(name: &str, lines: &[String]) -> Result<collabo_claims::FileSummary, ClaimsError> {
    read_all(&uke(lines)[..], Path::new(name), map()).map(|(_, s)| s)
}

/// The one-claim 医科 file with its IR replaced (or removed) and its GO changed.
fn with_header(ir: Option<&str>, go: &str) -> Vec<String> {
    let mut lines = one_claim(&[]);
    match ir {
        Some(header) => lines[0] = header.to_owned(),
        None => {
            lines.remove(0);
        }
    }
    let last = lines.len() - 1;
    lines[last] = go.to_owned();
    lines
}

const IR_MEDICAL: &str = "IR,1,13,1,1234567,,テスト医院,202607,00,0300000000";

#[test]
fn a_file_without_header_is_read_by_its_name_or_refused_with_the_line() {
    let no_header = with_header(None, "GO,1,500,99");
    let err = read_named("claims-november.csv", &no_header).unwrap_err();
    assert!(matches!(err, ClaimsError::Kind { line: 1, .. }), "{err}");
    assert!(
        err.to_string().starts_with("claims-november.csv:1:"),
        "names file and line: {err}"
    );
    let summary = read_named("RECEIPTD.UKE", &no_header).unwrap();
    assert_eq!(summary.kind, ClaimFileKind::Dpc);
    let summary = read_named("RECEIPTC_202606.UKE", &no_header).unwrap();
    assert_eq!(summary.stream(), Some(ClaimStream::Medical));
    // Without a header the month is the latest service month.
    assert_eq!(summary.month(), Some(ym(2026, 6)));
}

#[test]
fn another_tensuhyo_or_two_kinds_in_one_file_is_refused_at_the_header() {
    let care = with_header(
        Some("IR,1,13,6,1234567,,訪問看護ステーション,202607,00,0300000000"),
        "GO,1,500,99",
    );
    let err = read_named("RECEIPTC.UKE", &care).unwrap_err();
    assert!(matches!(err, ClaimsError::Kind { line: 1, .. }), "{err}");
    assert!(err.to_string().contains("点数表 \"6\""), "{err}");

    let mut mixed = one_claim(&[]);
    let go = mixed.pop().unwrap();
    mixed.push("IR,1,13,3,7654321,,テスト歯科,202607,00,0300000000".to_owned());
    mixed.extend(one_claim(&[]).into_iter().skip(1).take(4));
    mixed.push(go);
    let err = read_named("RECEIPTC.UKE", &mixed).unwrap_err();
    assert!(matches!(err, ClaimsError::Kind { line: 6, .. }), "{err}");
}

#[test]
fn records_decide_the_kind_and_the_name_only_what_they_leave_open() {
    // A 医科 header in a file named RECEIPTD is DPC; a 歯科 header beats the name.
    let medical = with_header(Some(IR_MEDICAL), "GO,1,500,99");
    assert_eq!(
        read_named("RECEIPTD.UKE", &medical).unwrap().kind,
        ClaimFileKind::Dpc
    );
    assert_eq!(
        read_named("RECEIPTY.UKE", &medical).unwrap().kind,
        ClaimFileKind::Medical
    );
}

#[test]
fn header_and_go_say_which_volume_a_file_is() {
    let volume = |ir_volume: &str, go: &str| {
        let ir = IR_MEDICAL.replace(",00,0300000000", &format!(",{ir_volume},0300000000"));
        read_named("RECEIPTC.UKE", &with_header(Some(&ir), go)).map(|s| s.volume)
    };
    assert_eq!(volume("00", "GO,1,500,99").unwrap(), Volume::SINGLE);
    assert_eq!(
        volume("01", "GO,1,500,01").unwrap(),
        Volume {
            number: 1,
            final_volume: false
        }
    );
    assert_eq!(
        volume("00", "GO,1,500,01").unwrap(),
        Volume {
            number: 1,
            final_volume: false
        },
        "GO alone says volume 1 and more to follow"
    );
    assert_eq!(
        volume("02", "GO,1,500,99").unwrap(),
        Volume {
            number: 2,
            final_volume: true
        }
    );
    let err = volume("02", "GO,1,500,01").unwrap_err();
    assert!(matches!(err, ClaimsError::Volume { line: 6, .. }), "{err}");
    let err = volume("00", "GO,1,500,").unwrap_err();
    assert!(
        matches!(&err, ClaimsError::Field { line: 6, field, .. } if *field == "マルチボリューム識別情報"),
        "{err}"
    );
    let err = volume("AB", "GO,1,500,99").unwrap_err();
    assert!(matches!(err, ClaimsError::Volume { line: 1, .. }), "{err}");
}

#[test]
fn regular_claims_count_only_the_files_own_month() {
    let summary = read_named("RECEIPTC.UKE", &one_claim(&[])).unwrap();
    assert_eq!(summary.month(), Some(ym(2026, 6)));
    assert_eq!(summary.regular_claims(), 1);
    // Billed a month later, the same claim is 月遅れ: the file's month has none.
    let late = with_header(Some(&IR_MEDICAL.replace("202607", "202608")), "GO,1,500,99");
    let summary = read_named("RECEIPTC.UKE", &late).unwrap();
    assert_eq!(summary.month(), Some(ym(2026, 7)));
    assert_eq!(summary.regular_claims(), 0);
    assert_eq!(summary.late_claims, 1);
}

fn spec(institution: &str, groups: Vec<GroupSpec>) -> ClaimSpec {
    ClaimSpec {
        identity: ClaimIdentity {
            insurer: InsurerNumber::parse("06130123").unwrap(),
            symbol: Symbol::parse("1001").unwrap(),
            number: CardNumber::parse("3").unwrap(),
            branch: Some(Branch::parse("00").unwrap()),
            birth_date: Date::constant(1975, 3, 31),
            sex: Sex::Male,
        },
        name_kana: "ゴウセイ　タロウ".to_owned(),
        institution: institution.to_owned(),
        month: ym(2026, 6),
        days: vec![4, 18],
        groups,
        filler: Filler::default(),
    }
}

fn write(kind: ClaimFileKind, volume: (u16, bool), specs: &[ClaimSpec]) -> Vec<u8> {
    let options = WriterOptions::medical(ym(2026, 7))
        .of_kind(kind)
        .volume(volume.0, volume.1);
    let mut writer = UkeWriter::new(Vec::new(), map(), options);
    for s in specs {
        writer.write_claim(s).unwrap();
    }
    writer.finish().unwrap()
}

#[test]
fn the_writer_writes_each_kind_and_volume_so_that_it_reads_back_as_such() {
    let cases = [
        (ClaimFileKind::Medical, "1311234567", "RECEIPTC.UKE"),
        (ClaimFileKind::Dpc, "1311234567", "RECEIPTD.UKE"),
        (ClaimFileKind::Dental, "1337654321", "RECEIPTS.UKE"),
        (ClaimFileKind::Pharmacy, "1347654321", "RECEIPTY.UKE"),
    ];
    for (kind, institution, name) in cases {
        let groups = match kind {
            ClaimFileKind::Pharmacy => vec![GroupSpec::drug("diabetes_drug")],
            _ => vec![
                GroupSpec::condition("diabetes"),
                GroupSpec::drug("diabetes_drug"),
            ],
        };
        let bytes = write(kind, (0, true), &[spec(institution, groups)]);
        // The records alone tell the kind: read under a neutral name.
        let (claims, summary) = read_all(&bytes[..], Path::new("X.UKE"), map()).unwrap();
        assert_eq!(summary.kind, kind, "{name}");
        assert_eq!(summary.volume, Volume::SINGLE);
        assert_eq!(summary.month(), Some(ym(2026, 6)));
        assert_eq!(summary.regular_claims(), 1);
        assert_eq!(claims.len(), 1, "{name}");
        let claim = &claims[0];
        assert!(
            claim.groups(GroupKind::Drug).contains("diabetes_drug"),
            "{name}: {:?}",
            claim.evidence
        );
        if kind != ClaimFileKind::Pharmacy {
            assert!(
                claim.groups(GroupKind::Condition).contains("diabetes"),
                "{name}"
            );
        }
        assert_eq!(
            claim.days.first(),
            Some(&Date::constant(2026, 6, 4)),
            "{name}"
        );
    }
    let first = write(
        ClaimFileKind::Medical,
        (1, false),
        &[spec("1311234567", Vec::new())],
    );
    let (_, summary) = read_all(&first[..], Path::new("RECEIPTC.UKE"), map()).unwrap();
    assert_eq!(
        summary.volume,
        Volume {
            number: 1,
            final_volume: false
        }
    );
    let second = write(
        ClaimFileKind::Medical,
        (2, true),
        &[spec("1311234567", Vec::new())],
    );
    let (_, summary) = read_all(&second[..], Path::new("RECEIPTC.UKE"), map()).unwrap();
    assert_eq!(
        summary.volume,
        Volume {
            number: 2,
            final_volume: true
        }
    );
}

#[test]
fn the_writer_refuses_a_diagnosis_on_a_pharmacy_claim_and_a_wrong_tensuhyo() {
    let options = WriterOptions::medical(ym(2026, 7)).of_kind(ClaimFileKind::Pharmacy);
    let mut writer = UkeWriter::new(Vec::new(), map(), options);
    assert!(
        writer
            .write_claim(&spec("1347654321", vec![GroupSpec::condition("diabetes")]))
            .is_err()
    );
    assert!(writer.write_claim(&spec("1311234567", Vec::new())).is_err());
}
