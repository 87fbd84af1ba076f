//! The writer: claims described in groups are written as UKE and read back to the same
//! groups, in both date styles, one at a time.

use crate::common::*;
use collabo_claims::{
    ClaimIdentity, ClaimSpec, DateStyle, Filler, GroupSpec, MapKind, UkeWriter, WriterOptions,
};
use collabo_domain::calendar::YearMonth;
use collabo_domain::ids::{Branch, CardNumber, InsurerNumber, Symbol};
use collabo_domain::member::Sex;
use collabo_domain::visit::{GroupKind, ServiceTime};
use jiff::civil::Date;
use std::collections::BTreeSet;

fn identity(n: u32, branch: Option<&str>) -> ClaimIdentity {
    ClaimIdentity {
        insurer: InsurerNumber::parse("06130123").unwrap(),
        symbol: Symbol::parse("1001").unwrap(),
        number: CardNumber::parse(&n.to_string()).unwrap(),
        branch: branch.map(|b| Branch::parse(b).unwrap()),
        birth_date: Date::constant(1975, 3, 31),
        sex: Sex::Female,
    }
}

fn spec(n: u32, groups: Vec<GroupSpec>) -> ClaimSpec {
    ClaimSpec {
        identity: identity(n, Some("01")),
        name_kana: "ゴウセイ　ハナコ".to_owned(),
        institution: "1311234567".to_owned(),
        month: YearMonth::new(2026, 6).unwrap(),
        days: vec![4, 18],
        groups,
        filler: Filler::default(),
    }
}

fn options(style: DateStyle) -> WriterOptions {
    WriterOptions {
        style,
        billing_month: YearMonth::new(2026, 7).unwrap(),
        examiner: 1,
        eof_mark: true,
        ..WriterOptions::medical(YearMonth::new(2026, 7).unwrap())
    }
}

fn write(specs: &[ClaimSpec], style: DateStyle) -> Vec<u8> {
    let mut writer = UkeWriter::new(Vec::new(), map(), options(style));
    for s in specs {
        writer.write_claim(s).unwrap();
    }
    writer.finish().unwrap()
}

#[test]
fn every_group_round_trips() {
    for (map_kind, kind) in [
        (MapKind::Diagnosis, GroupKind::Condition),
        (MapKind::Procedure, GroupKind::Procedure),
        (MapKind::Drug, GroupKind::Drug),
    ] {
        for group in map().group_names(map_kind) {
            let groups = vec![GroupSpec {
                kind,
                group: group.to_owned(),
                suspected: false,
                started_on: None,
                day: None,
            }];
            let bytes = write(&[spec(1, groups)], DateStyle::Seireki);
            let (claims, _) = read(&bytes).unwrap();
            let got = claims[0].groups(kind);
            assert!(got.contains(group), "{group}: read back {got:?}");
            let expected: BTreeSet<&str> = match (kind, group) {
                // No code is only diabetic nephropathy: E112 is also diabetes and CKD.
                (GroupKind::Condition, "diabetic_nephropathy") => {
                    ["ckd", "diabetes", "diabetic_nephropathy"].into()
                }
                (GroupKind::Condition, g) => [g].into(),
                (GroupKind::Procedure, g) => [g, "visit"].into(),
                (GroupKind::Drug, g) => [g].into(),
            };
            assert_eq!(got, expected, "{group}");
        }
    }
}

#[test]
fn lung_exam_is_written_as_chest_ct() {
    let bytes = write(
        &[spec(1, vec![GroupSpec::procedure("lung_exam").on_day(18)])],
        DateStyle::Seireki,
    );
    let text = encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned();
    assert!(text.contains("CO,70,1,820182210,"));
    let (claims, _) = read(&bytes).unwrap();
    assert!(
        claims[0].dated[&Date::constant(2026, 6, 18)]
            .iter()
            .any(|e| e.group == "lung_exam")
    );
}

#[test]
fn diabetes_claim_in_both_date_styles() {
    let groups = vec![
        GroupSpec::condition("diabetes").started_on(Date::constant(2019, 4, 30)),
        GroupSpec::procedure("diabetes_care"),
        GroupSpec::drug("diabetes_drug").on_day(18),
        GroupSpec::condition("cancer_stomach").suspected(),
    ];
    for style in [DateStyle::Seireki, DateStyle::Wareki] {
        let bytes = write(&[spec(7, groups.clone())], style);
        let (claims, summary) = read(&bytes).unwrap();
        assert_eq!(summary.date_styles, [style].into());
        let claim = &claims[0];
        assert_eq!(claim.identity, identity(7, Some("01")));
        assert_eq!(claim.institution, "1311234567");
        assert_eq!(claim.time, ServiceTime::Day(Date::constant(2026, 6, 4)));
        assert_eq!(
            claim.days,
            [Date::constant(2026, 6, 4), Date::constant(2026, 6, 18)]
        );
        let diabetes = claim
            .evidence
            .iter()
            .find(|e| e.group == "diabetes")
            .unwrap();
        assert_eq!(diabetes.started_on, Some(Date::constant(2019, 4, 30)));
        assert!(!diabetes.suspected);
        assert!(
            claim
                .evidence
                .iter()
                .any(|e| e.group == "cancer_stomach" && e.suspected)
        );
        assert!(
            claim.dated[&Date::constant(2026, 6, 18)]
                .iter()
                .any(|e| e.group == "diabetes_drug")
        );
        assert!(
            claim.dated[&Date::constant(2026, 6, 4)]
                .iter()
                .any(|e| e.group == "diabetes_care")
        );
        assert_eq!(
            summary.billing_months,
            [YearMonth::new(2026, 7).unwrap()].into()
        );
    }
}

#[test]
fn plain_visit_and_no_branch() {
    let mut plain = spec(3, vec![]);
    plain.identity = identity(3, None);
    plain.filler = Filler {
        diagnoses: 3,
        procedures: 5,
        drugs: 3,
        comments: 3,
    };
    let bytes = write(&[plain], DateStyle::Seireki);
    let (claims, summary) = read(&bytes).unwrap();
    assert_eq!(claims[0].identity.branch, None);
    assert!(claims[0].groups(GroupKind::Condition).is_empty());
    assert!(claims[0].groups(GroupKind::Drug).is_empty());
    assert_eq!(claims[0].groups(GroupKind::Procedure), ["visit"].into());
    assert_eq!(summary.records["SY"], 3);
    assert_eq!(summary.records["CO"], 3);
    assert!(!summary.records.contains_key("SN"));
}

#[test]
fn many_claims_stream_with_institution_changes() {
    let plan = [
        "stomach_exam",
        "colorectal_exam",
        "breast_exam",
        "cervix_exam",
        "lung_exam",
    ];
    let mut writer = UkeWriter::new(Vec::new(), map(), options(DateStyle::Seireki));
    for n in 0..500u32 {
        let mut s = spec(
            n + 1,
            vec![GroupSpec::procedure(plan[n as usize % plan.len()])],
        );
        s.institution = format!("13112345{:02}", n / 100);
        writer.write_claim(&s).unwrap();
    }
    assert_eq!(writer.claims(), 500);
    let bytes = writer.finish().unwrap();
    assert_eq!(bytes.last(), Some(&0x1A));
    let (claims, summary) = read(&bytes).unwrap();
    assert_eq!(claims.len(), 500);
    assert_eq!(summary.records["IR"], 5);
    assert_eq!(summary.declared_claims, 500);
    assert!(summary.notes.is_empty(), "{:?}", summary.notes);
    for (n, claim) in claims.iter().enumerate() {
        assert!(
            claim
                .groups(GroupKind::Procedure)
                .contains(plan[n % plan.len()])
        );
        assert_eq!(claim.institution, format!("13112345{:02}", n / 100));
        assert_eq!(claim.identity.number.as_str(), (n + 1).to_string());
    }
}

#[test]
fn names_outside_cp932_are_normalised() {
    let mut s = spec(1, vec![]);
    s.name_kana = "𠮷田,ﾀﾛｳ".to_owned();
    let bytes = write(&[s], DateStyle::Seireki);
    let text = encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned();
    let re = text.lines().find(|l| l.starts_with("RE")).unwrap();
    assert!(re.contains("〓田，ﾀﾛｳ"), "{re}");
    assert_eq!(re.split(',').count(), 38);
    assert!(read(&bytes).is_ok());
}

#[test]
fn unknown_group_and_bad_day_are_writer_errors() {
    let mut writer = UkeWriter::new(Vec::new(), map(), options(DateStyle::Seireki));
    assert!(
        writer
            .write_claim(&spec(1, vec![GroupSpec::procedure("no_such_group")]))
            .is_err()
    );
    let mut bad = spec(1, vec![]);
    bad.days = vec![31];
    assert!(writer.write_claim(&bad).is_err());
}
