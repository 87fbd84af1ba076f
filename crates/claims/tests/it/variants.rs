//! Insurer-side variants, other claim kinds and tolerance: line prefixes, review
//! records, DPC, 調剤, unknown records, short and long lines, 月遅れ, 0x1A, GO volumes.

use crate::common::*;
use collabo_claims::{ClaimFileKind, FileVariant};
use collabo_domain::calendar::YearMonth;
use collabo_domain::visit::{GroupKind, ServiceTime};
use jiff::civil::Date;

fn ym(y: i16, m: i8) -> YearMonth {
    YearMonth::new(y, m).unwrap()
}

#[test]
fn prefixed_lines_and_review_records_are_detected_not_refused() {
    let plain = one_claim(&["SY,1519006,20260610,1,,,01,".into(), si("160093810", &[12])]);
    let mut prefixed: Vec<String> = Vec::new();
    for (i, line) in plain.iter().enumerate() {
        if line.starts_with("RE") {
            prefixed.push(format!("11,{:05},000,MN,123456789012,,", i));
            prefixed.push(format!("11,{:05},001,{line}", i));
            prefixed.push(format!("11,{:05},002,JY,1,,,,", i));
        } else {
            prefixed.push(format!("11,{:05},000,{line}", i));
        }
    }
    let (claims, summary) = read(&uke(&prefixed)).unwrap();
    let (expected, _) = read(&uke(&plain)).unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].evidence, expected[0].evidence);
    assert_eq!(claims[0].identity, expected[0].identity);
    assert!(summary.variants.contains(&FileVariant::LinePrefix));
    assert!(summary.variants.contains(&FileVariant::InsurerRecords));
    assert_eq!(summary.records["MN"], 1);
    assert!(summary.unknown_records.is_empty());
}

#[test]
fn unknown_records_short_and_long_lines_are_tolerated() {
    let claim_lines = one_claim(&[
        "ZZ,something new".into(),
        // A short SI without day columns, and an SY with extra trailing fields.
        "SI,60,1,160010010,,49,1".into(),
        "SY,2500015,20260101,1,,,01,,extra,fields,9".into(),
    ]);
    let (claims, summary) = read(&uke(&claim_lines)).unwrap();
    assert_eq!(summary.unknown_records["ZZ"], 1);
    assert_eq!(claims[0].groups(GroupKind::Condition), ["diabetes"].into());
    assert!(
        claims[0]
            .groups(GroupKind::Procedure)
            .contains("diabetes_care")
    );
}

#[test]
fn eof_mark_is_accepted() {
    let mut bytes = uke(&one_claim(&[]));
    bytes.push(0x1A);
    let (claims, _) = read(&bytes).unwrap();
    assert_eq!(claims.len(), 1);
}

#[test]
fn late_claims_are_noted_and_not_covered() {
    let lines: Vec<String> = vec![
        "IR,1,13,1,1234567,,テスト医院,202607,00,0300000000".into(),
        "RE,1,1112,202606,テスト　タロウ,1,19800101,,,,,,,1,,,,,,,,,,,,,,,,,,,,,,,テストタロウ,"
            .into(),
        "HO,06130123,101,42,1,500,,,,,,,,,".into(),
        si("112007410", &[3]),
        "RE,2,1112,202603,テスト　ジロウ,1,19820101,,,,,,,2,,,,,,,,,,,,,,,,,,,,,,,テストジロウ,"
            .into(),
        "HO,06130123,101,43,1,500,,,,,,,,,".into(),
        si("112007410", &[30]),
        "GO,2,1000,99".into(),
    ];
    let (claims, summary) = read(&uke(&lines)).unwrap();
    assert_eq!(claims.len(), 2);
    assert_eq!(
        claims[1].time,
        ServiceTime::Day(Date::constant(2026, 3, 30))
    );
    assert_eq!(summary.late_months, [ym(2026, 3)].into());
    assert_eq!(summary.late_claims, 1);
    assert_eq!(summary.covered_months(), [ym(2026, 6)].into());
    assert!(summary.notes.is_empty());
    // A file of only late claims completes no month.
    let only_late: Vec<String> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| !(1..=3).contains(i))
        .map(|(_, l)| l.clone())
        .collect();
    let (_, summary) = read(&uke(&only_late)).unwrap();
    assert_eq!(summary.regular_month(), Some(ym(2026, 6)));
    assert_eq!(summary.late_months, [ym(2026, 3)].into());
    assert!(summary.covered_months().is_empty());
}

#[test]
fn dpc_claim_reads_sb_and_dated_cd() {
    let lines: Vec<String> = vec![
        "IR,1,13,1,1234567,,テスト病院,202607,00,0300000000".into(),
        "RE,1,1111,202606,テスト　タロウ,1,19800101,,,20260610,,,,1,,,,,,,,,,,,,,,,,,,,,,,テストタロウ,".into(),
        "HO,06130123,101,42,5,9000,,,,,,,,,".into(),
        "SN,1,01,,,,00,,".into(),
        "BU,060020xx04xxxx,20260610,,,".into(),
        "SB,1519006,,,C169,01,,".into(),
        "KK,,,1,,,,,,,,,,".into(),
        "CD,20260612,60,1,1,160093810,,,,1,".into(),
        "CD,20260613,21,2,1,610406390,1,,,1,".into(),
        "GO,1,9000,99".into(),
    ];
    let (claims, summary) = read(&uke(&lines)).unwrap();
    assert_eq!(summary.kind, ClaimFileKind::Dpc);
    let claim = &claims[0];
    assert_eq!(
        claim.groups(GroupKind::Condition),
        ["cancer_stomach"].into()
    );
    assert!(
        claim.dated[&Date::constant(2026, 6, 12)]
            .iter()
            .any(|e| e.group == "stomach_exam")
    );
    assert!(
        claim.dated[&Date::constant(2026, 6, 13)]
            .iter()
            .any(|e| e.group == "diabetes_drug")
    );
    assert_eq!(claim.time, ServiceTime::Day(Date::constant(2026, 6, 12)));
}

#[test]
fn pharmacy_claim_dates_drugs_by_dispensing_day() {
    let lines: Vec<String> = vec![
        "YK,1,13,4,7654321,テスト薬局,202607,00,0300000000".into(),
        "RE,1,4112,202606,テスト　タロウ,1,19800101,,,13,1,1234567,テスト医院,,,,,,,,,,,,,,,,,,,,,,,,,,,,テストタロウ".into(),
        "HO,06130123,101,42,1,300,,,,,,,,".into(),
        "SN,1,01,,,,00,,".into(),
        "SH,1,1,,,,,,,".into(),
        "CZ,1,0614,0615,1,30,1,,,,,,,,,".into(),
        "IY,1,610406390,3,,,,,,".into(),
        "IY,1,620098801,3,,,,,,".into(),
        "GO,1,300,99".into(),
    ];
    let (claims, summary) = read(&uke(&lines)).unwrap();
    assert_eq!(summary.kind, ClaimFileKind::Pharmacy);
    let claim = &claims[0];
    assert_eq!(claim.institution, "1347654321");
    assert_eq!(claim.groups(GroupKind::Drug), ["diabetes_drug"].into());
    assert_eq!(claim.days, [Date::constant(2026, 6, 15)]);
    assert!(
        claim.dated[&Date::constant(2026, 6, 15)]
            .iter()
            .any(|e| e.group == "diabetes_drug")
    );
    assert_eq!(summary.billing_months, [ym(2026, 7)].into());
}

#[test]
fn go_count_is_compared_per_final_volume() {
    let mut lines = one_claim(&[]);
    let last = lines.len() - 1;
    lines[last] = "GO,1,500,01".into();
    let (_, summary) = read(&uke(&lines)).unwrap();
    assert_eq!(summary.volumes, ["01"]);
    assert!(!summary.is_final_volume());
    assert!(summary.notes.is_empty());
}

#[test]
fn file_name_and_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("RECEIPTC.UKE");
    assert!(matches!(
        collabo_claims::ClaimReader::open(&missing, map()),
        Err(collabo_claims::ClaimsError::Io { .. })
    ));
    let dpc = dir.path().join("RECEIPTD.UKE");
    std::fs::write(&dpc, uke(&one_claim(&[]))).unwrap();
    let summary = collabo_claims::ClaimReader::open(&dpc, map())
        .unwrap()
        .for_each_claim(|_| {})
        .unwrap();
    assert_eq!(summary.kind, ClaimFileKind::Dpc);
    assert_eq!(summary.file, dpc);
}
