//! The public sample files (reference/receipt/samples, copied to tests/data): 医科 西暦
//! (receiptisan, CP932), 医科 和暦 (uke-parser, stored upstream as UTF-8/LF and
//! re-encoded here to CP932/CR+LF), and 歯科 和暦. Record counts are checked against an
//! independent line count, so a dropped record fails the test.

use crate::common::*;
use collabo_claims::{ClaimFileKind, ClaimReader, ClaimsError, DateStyle, FileVariant};
use collabo_domain::calendar::YearMonth;
use collabo_domain::visit::{GroupKind, ServiceTime};
use jiff::civil::Date;
use std::collections::BTreeMap;

fn ym(y: i16, m: i8) -> YearMonth {
    YearMonth::new(y, m).unwrap()
}

/// Record counts by a plain split of the decoded text.
fn count_records(text: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let id = line.split(',').next().unwrap_or_default().to_owned();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

/// RE blocks whose HO names 保険者番号, 記号 and 番号.
fn identified_claims(text: &str) -> u64 {
    let mut n = 0;
    let mut in_claim = false;
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        match f[0] {
            "RE" => in_claim = true,
            "HO" if in_claim => {
                if !f[1].trim().is_empty() && !f[2].is_empty() && !f[3].is_empty() {
                    n += 1;
                }
                in_claim = false;
            }
            _ => {}
        }
    }
    n
}

/// A UTF-8/LF sample re-encoded as a real claim file (CP932, CR+LF).
fn reencoded(name: &str) -> (String, Vec<u8>) {
    let text = std::fs::read_to_string(data(name)).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    (text, uke(&lines))
}

#[test]
fn receiptisan_seireki_sample() {
    let path = data("receiptisan_RECEIPTC_GAIRAI_SAMPLE.UKE");
    let bytes = std::fs::read(&path).unwrap();
    let text = encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned();
    let reader = ClaimReader::open(&path, map()).unwrap();
    let mut claims = Vec::new();
    let summary = reader.for_each_claim(|c| claims.push(c)).unwrap();
    assert_eq!(summary.records, count_records(&text));
    assert_eq!(summary.records["RE"], 75);
    assert_eq!(summary.records["SI"], 320);
    assert_eq!(summary.claims, 75);
    assert_eq!(claims.len() as u64, identified_claims(&text));
    assert_eq!(summary.claims_yielded + summary.claims_without_identity, 75);
    assert_eq!(summary.kind, ClaimFileKind::Medical);
    assert_eq!(summary.date_styles, [DateStyle::Seireki].into());
    assert_eq!(summary.billing_months, [ym(2021, 11)].into());
    assert_eq!(
        summary.service_months.keys().copied().collect::<Vec<_>>(),
        [ym(2021, 10)]
    );
    assert!(summary.late_months.is_empty());
    assert_eq!(summary.covered_months(), [ym(2021, 10)].into());
    assert!(summary.is_final_volume());
    assert!(summary.unknown_records.is_empty());
    // The sample's GO says 140 claims for 75 RE: noted, not fatal.
    assert_eq!(summary.declared_claims, 140);
    assert_eq!(summary.notes.len(), 1);
    // Claim 1: 糖尿病 (2500013, 主病) since 2021-08-01, 初診 on the 1st; 全角 記号・番号.
    let first = &claims[0];
    assert_eq!(first.line, 2);
    assert_eq!(first.identity.insurer.as_str(), "01010016");
    assert_eq!(first.identity.symbol.as_str(), "1");
    assert_eq!(first.identity.birth_date, Date::constant(1991, 11, 21));
    assert_eq!(first.time, ServiceTime::Day(Date::constant(2021, 10, 1)));
    let diabetes = first
        .evidence
        .iter()
        .find(|e| e.group == "diabetes")
        .unwrap();
    assert_eq!(diabetes.started_on, Some(Date::constant(2021, 8, 1)));
    assert!(first.groups(GroupKind::Procedure).contains("visit"));
    // Claim 2 has SN with 枝番 00.
    let second = claims.iter().find(|c| c.identity.branch.is_some()).unwrap();
    assert_eq!(
        second.identity.branch.as_ref().map(|b| b.as_str()),
        Some("00")
    );
    assert_eq!(second.identity.symbol.as_str(), "64440718");
    assert_eq!(
        claims
            .iter()
            .filter(|c| c.identity.branch.is_some())
            .count(),
        2
    );
    // Every claim has at least one service day (day columns are mandatory since 2012).
    assert!(claims.iter().all(|c| !c.days.is_empty()));
}

#[test]
fn uke_parser_wareki_kokuho_sample_has_no_card_symbols() {
    let (text, bytes) = reencoded("uke-parser_wareki_01.csv");
    let (claims, summary) = read(&bytes).unwrap();
    assert_eq!(summary.records, count_records(&text));
    assert_eq!(summary.claims, 7);
    // 国保 claims without 記号・番号 cannot be matched: counted, not yielded.
    assert_eq!(
        summary.claims_without_identity,
        7 - identified_claims(&text)
    );
    assert_eq!(claims.len() as u64, identified_claims(&text));
    assert_eq!(summary.billing_months, [ym(2019, 1)].into());
    assert_eq!(summary.date_styles, [DateStyle::Wareki].into());
}

#[test]
fn uke_parser_wareki_shaho_sample() {
    let (text, bytes) = reencoded("uke-parser_wareki_shaho_201811.csv");
    let (claims, summary) = read(&bytes).unwrap();
    assert_eq!(summary.records, count_records(&text));
    assert_eq!(summary.records["RE"], 27);
    assert_eq!(summary.records["SY"], 12);
    assert_eq!(claims.len() as u64, identified_claims(&text));
    assert!(
        claims.len() >= 20,
        "most claims carry 記号・番号: {}",
        claims.len()
    );
    assert_eq!(summary.billing_months, [ym(2018, 11)].into());
    let symbols: Vec<&str> = claims.iter().map(|c| c.identity.symbol.as_str()).collect();
    assert!(
        symbols.contains(&"12345678"),
        "全角 記号 normalised: {symbols:?}"
    );
    // Late claims: service months older than 請求年月 − 1 (2018-10).
    for m in &summary.late_months {
        assert!(*m < ym(2018, 10));
    }
    let late: u64 = summary
        .late_months
        .iter()
        .map(|m| summary.service_months[m])
        .sum();
    assert_eq!(late, summary.late_claims);
}

#[test]
fn dental_wareki_sample() {
    let (text, bytes) = reencoded("uke-parser_wareki_shika_shaho.csv");
    let (claims, summary) = read(&bytes).unwrap();
    assert_eq!(summary.records, count_records(&text));
    assert_eq!(summary.kind, ClaimFileKind::Dental);
    assert_eq!(summary.claims, 3);
    assert_eq!(claims.len(), 3);
    assert!(summary.variants.contains(&FileVariant::OldDentalHeader));
    assert_eq!(summary.billing_months, [ym(2019, 2)].into());
    // 初診 dates in RE (4310114, 4310130) match the SS day columns.
    assert_eq!(
        claims[0].time,
        ServiceTime::Day(Date::constant(2019, 1, 14))
    );
    assert_eq!(
        claims[1].time,
        ServiceTime::Day(Date::constant(2019, 1, 30))
    );
    assert_eq!(claims[1].identity.insurer.as_str(), "06130512");
    assert_eq!(claims[1].identity.symbol.as_str(), "21212");
    assert_eq!(claims[0].institution, "13312345");
}

#[test]
fn utf8_sample_as_is_is_refused_as_wrong_encoding() {
    let bytes = std::fs::read(data("uke-parser_wareki_01.csv")).unwrap();
    let err = read(&bytes).unwrap_err();
    match &err {
        ClaimsError::Encoding { line, .. } => assert_eq!(*line, 1),
        other => panic!("expected an encoding error, got {other}"),
    }
    assert!(err.to_string().contains("TEST.UKE:1"));
}
