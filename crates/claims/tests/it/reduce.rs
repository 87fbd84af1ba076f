//! Hand-made claims (one synthetic person) reduced to the groups the domain's programme
//! defaults ask for: per cancer type, diabetes, 「の疑い」, dates and daily facts.

use crate::common::*;
use collabo_claims::ReducedClaim;
use collabo_domain::ids::MemberKey;
use collabo_domain::programme::{ProgrammeCode, ProgrammeRules, ProgrammeSettings};
use collabo_domain::referral::CancerType;
use collabo_domain::visit::{Evidence, GroupKind, ServiceTime};
use jiff::civil::Date;

fn d(y: i16, m: i8, day: i8) -> Date {
    Date::constant(y, m, day)
}

fn member() -> MemberKey {
    MemberKey::parse_key_string("06130123:101:42:00").unwrap()
}

fn condition(claim: &ReducedClaim, group: &str) -> Evidence {
    claim
        .evidence
        .iter()
        .find(|e| e.kind == GroupKind::Condition && e.group == group)
        .cloned()
        .unwrap_or_else(|| panic!("no condition {group} in {:?}", claim.evidence))
}

/// Does the domain's default cancer rule count this claim (any of its daily facts) as a
/// detailed examination after `trigger`?
fn cancer_rule_matches(claim: &ReducedClaim, cancer: CancerType, trigger: Date) -> bool {
    let ProgrammeSettings {
        rules: ProgrammeRules::Cancer { by_cancer, .. },
        ..
    } = ProgrammeSettings::default_for(ProgrammeCode::C)
    else {
        panic!("C is a cancer programme");
    };
    let criteria = &by_cancer[&cancer];
    claim
        .daily_visit_facts(&member())
        .iter()
        .any(|f| f.time.may_be_on_or_after(trigger) && criteria.matches(f, trigger))
}

#[test]
fn stomach_endoscopy_and_gastric_cancer() {
    // 胃癌 started 10 June, 胃・十二指腸ファイバースコピー on 12 June.
    let claim = reduce(&[
        "SY,1519006,20260610,1,,,01,".to_owned(),
        si("160093810", &[12]),
    ]);
    assert_eq!(
        claim.groups(GroupKind::Procedure),
        ["stomach_exam", "visit"].into()
    );
    let cancer = condition(&claim, "cancer_stomach");
    assert!(!cancer.suspected);
    assert_eq!(cancer.started_on, Some(d(2026, 6, 10)));
    assert_eq!(claim.days, [d(2026, 6, 3), d(2026, 6, 12)]);
    assert_eq!(claim.time, ServiceTime::Day(d(2026, 6, 3)));
    // The exam is dated to the 12th, not to the routine visit on the 3rd.
    assert!(
        claim.dated[&d(2026, 6, 12)]
            .iter()
            .any(|e| e.group == "stomach_exam")
    );
    assert!(
        !claim.dated[&d(2026, 6, 3)]
            .iter()
            .any(|e| e.group == "stomach_exam")
    );
    assert!(cancer_rule_matches(
        &claim,
        CancerType::Stomach,
        d(2026, 6, 8)
    ));
    assert!(!cancer_rule_matches(
        &claim,
        CancerType::Colorectal,
        d(2026, 6, 8)
    ));
}

#[test]
fn daily_facts_keep_a_late_exam_after_a_mid_month_notice() {
    let claim = reduce(&[si("160093810", &[20])]);
    // Notice on the 10th: the single claim-level fact is dated the 3rd (too early) …
    let single = claim.to_visit_fact(member());
    assert_eq!(single.time, ServiceTime::Day(d(2026, 6, 3)));
    // … the daily facts show the endoscopy on the 20th.
    assert!(cancer_rule_matches(
        &claim,
        CancerType::Stomach,
        d(2026, 6, 10)
    ));
    assert!(!cancer_rule_matches(
        &claim,
        CancerType::Stomach,
        d(2026, 6, 21)
    ));
}

#[test]
fn chest_ct_is_a_lung_exam_only_with_the_chest_comment() {
    // CT (64列以上) with 撮影部位（ＣＴ撮影）：胸部・肩 in the SI comment field.
    let in_line = reduce(&[si_with_comment("170033410", "820182210", &[5])]);
    assert!(in_line.groups(GroupKind::Procedure).contains("lung_exam"));
    assert!(
        in_line.dated[&d(2026, 6, 5)]
            .iter()
            .any(|e| e.group == "lung_exam")
    );
    // The same CT with the comment in a following CO record.
    let in_co = reduce(&[si("170033410", &[5]), "CO,70,1,820182210,".to_owned()]);
    assert!(in_co.groups(GroupKind::Procedure).contains("lung_exam"));
    // A CT without a chest comment (a head CT) is not.
    let head = reduce(&[si("170033410", &[5]), "CO,70,1,820181220,".to_owned()]);
    assert!(!head.groups(GroupKind::Procedure).contains("lung_exam"));
    // 気管支ファイバースコピー needs no comment; 肺腫瘤の疑い is a suspected finding.
    let bronchoscopy = reduce(&[
        "SY,2391025,20260601,1,8002,,01,".to_owned(),
        si("160092810", &[9]),
    ]);
    assert!(
        bronchoscopy
            .groups(GroupKind::Procedure)
            .contains("lung_exam")
    );
    let finding = condition(&bronchoscopy, "finding_lung");
    assert!(finding.suspected);
    assert!(cancer_rule_matches(
        &bronchoscopy,
        CancerType::Lung,
        d(2026, 6, 1)
    ));
}

#[test]
fn colorectal_colonoscopy_but_not_a_repeat_occult_blood_test() {
    let claim = reduce(&[
        "SY,1541005,20260615,1,,,01,".to_owned(),
        "SY,2113008,20260615,1,,,,".to_owned(),
        si("160094910", &[15]),
    ]);
    assert_eq!(
        claim.groups(GroupKind::Procedure),
        ["colorectal_exam", "visit"].into()
    );
    assert_eq!(
        claim.groups(GroupKind::Condition),
        ["cancer_colorectal", "finding_colorectal"].into()
    );
    let fobt = reduce(&[si("160006510", &[15])]);
    assert_eq!(fobt.groups(GroupKind::Procedure), ["visit"].into());
    assert!(!cancer_rule_matches(
        &fobt,
        CancerType::Colorectal,
        d(2026, 6, 1)
    ));
}

#[test]
fn breast_mammography_and_mass() {
    let claim = reduce(&[
        "SY,6108001,20260604,1,,,01,".to_owned(),
        si("170028210", &[4]),
        si("160165010", &[4]),
    ]);
    assert_eq!(
        claim.groups(GroupKind::Procedure),
        ["breast_exam", "breast_supporting", "visit"].into()
    );
    assert_eq!(
        claim.groups(GroupKind::Condition),
        ["finding_breast"].into()
    );
    // A breast cancer diagnosis that started before the screening does not count alone.
    let old = reduce(&["SY,1749008,20240101,1,,,01,".to_owned()]);
    assert_eq!(
        condition(&old, "cancer_breast").started_on,
        Some(d(2024, 1, 1))
    );
    assert!(!cancer_rule_matches(
        &old,
        CancerType::Breast,
        d(2026, 5, 20)
    ));
}

#[test]
fn cervix_colposcopy_and_suspected_dysplasia() {
    let claim = reduce(&[
        "SY,6221003,20260622,1,8002,,01,".to_owned(),
        si("160095610", &[22]),
    ]);
    assert_eq!(
        claim.groups(GroupKind::Procedure),
        ["cervix_exam", "visit"].into()
    );
    assert!(condition(&claim, "finding_cervix").suspected);
    let cancer = reduce(&["SY,1809004,20260622,1,,,01,".to_owned()]);
    assert!(!condition(&cancer, "cancer_cervix").suspected);
    assert!(cancer_rule_matches(
        &cancer,
        CancerType::Cervical,
        d(2026, 6, 1)
    ));
}

#[test]
fn diabetes_visit_with_hba1c_and_drug() {
    let claim = reduce(&[
        "SY,2500015,20200401,1,,,01,".to_owned(),
        si("160010010", &[3]),
        iy("610406390", &[3]),
    ]);
    assert_eq!(claim.groups(GroupKind::Condition), ["diabetes"].into());
    assert_eq!(
        claim.groups(GroupKind::Procedure),
        ["diabetes_care", "visit"].into()
    );
    assert_eq!(claim.groups(GroupKind::Drug), ["diabetes_drug"].into());
    let ProgrammeSettings {
        rules:
            ProgrammeRules::Diabetes {
                follow_up,
                lookback,
                ..
            },
        ..
    } = ProgrammeSettings::default_for(ProgrammeCode::D)
    else {
        panic!("D is the diabetes programme");
    };
    let fact = claim.to_visit_fact(member());
    assert!(follow_up.matches(&fact, d(2026, 6, 1)));
    assert!(lookback.matches(&fact, d(2026, 6, 1)));
    // A cold (急性上気道炎) with a routine visit is not a diabetes visit.
    let cold = reduce(&["SY,4659007,20260603,1,,,01,".to_owned()]);
    assert!(cold.groups(GroupKind::Condition).is_empty());
    assert!(!follow_up.matches(&cold.to_visit_fact(member()), d(2026, 6, 1)));
    // 2型糖尿病性腎症 evidences the nephropathy and CKD groups too.
    let nephropathy = reduce(&["SY,8830042,20250101,1,,,01,".to_owned()]);
    assert_eq!(
        nephropathy.groups(GroupKind::Condition),
        ["ckd", "diabetes", "diabetic_nephropathy"].into()
    );
}

#[test]
fn suspected_diagnosis_is_marked_and_other_modifiers_are_not() {
    // 8002 after another modifier code (修飾語 are concatenated 4-digit codes).
    let claim = reduce(&["SY,1519006,20260601,1,20568002,,01,".to_owned()]);
    assert!(condition(&claim, "cancer_stomach").suspected);
    // 0800 + 2xxx must not read as 8002 across a code boundary.
    let not = reduce(&["SY,1519006,20260601,1,08002000,,01,".to_owned()]);
    assert!(!condition(&not, "cancer_stomach").suspected);
}

#[test]
fn wareki_claim_reduces_like_seireki() {
    let lines: Vec<String> = vec![
        "IR,1,13,1,1234567,,テスト医院,43102,00,0300000000".into(),
        "RE,1,1112,43101,テスト　ハナコ,2,3550505,,,,,,,1,,,,,,,,,,,,,,,,,,,,,,,テストハナコ,"
            .into(),
        "HO,06130123,１０１,４３,1,300,,,,,,,,,".into(),
        "SY,2500013,4301127,1,,,01,".into(),
        si("160010010", &[9]),
        "GO,1,300,99".into(),
    ];
    let (claims, summary) = read(&uke(&lines)).unwrap();
    let claim = &claims[0];
    assert_eq!(claim.identity.birth_date, d(1980, 5, 5));
    assert_eq!(claim.identity.branch, None);
    assert_eq!(claim.identity.member_key(), None);
    assert_eq!(claim.time, ServiceTime::Day(d(2019, 1, 9)));
    assert_eq!(
        condition(claim, "diabetes").started_on,
        Some(d(2018, 11, 27))
    );
    assert_eq!(claim.groups(GroupKind::Procedure), ["diabetes_care"].into());
    assert_eq!(
        summary.date_styles,
        [collabo_claims::DateStyle::Wareki].into()
    );
}

#[test]
fn identity_is_normalised_and_has_no_name() {
    let claim = reduce(&[]);
    assert_eq!(claim.identity.insurer.as_str(), "06130123");
    assert_eq!(claim.identity.symbol.as_str(), "101");
    assert_eq!(claim.identity.number.as_str(), "42");
    assert_eq!(claim.identity.member_key(), Some(member()));
    assert_eq!(claim.institution, "1311234567");
    // The serialised claim carries no name and no code.
    let json = format!("{claim:?}");
    assert!(!json.contains("タロウ"));
    assert!(!json.contains("112007410"));
}

#[test]
fn claim_without_days_is_month_level() {
    let lines: Vec<String> = vec![
        "IR,1,13,1,1234567,,テスト医院,202607,00,0300000000".into(),
        "RE,1,1112,202606,テスト　タロウ,1,19800101,,,,,,,1,,,,,,,,,,,,,,,,,,,,,,,テストタロウ,"
            .into(),
        "HO,06130123,101,42,1,500,,,,,,,,,".into(),
        "SY,1519006,20260601,1,,,01,".into(),
        "SI,60,1,160093810,,100,1,,,,,,".into(),
        "GO,1,500,99".into(),
    ];
    let (claims, _) = read(&uke(&lines)).unwrap();
    let claim = &claims[0];
    assert_eq!(
        claim.time,
        ServiceTime::Month(collabo_domain::calendar::YearMonth::new(2026, 6).unwrap())
    );
    assert!(claim.days.is_empty());
    let facts = claim.daily_visit_facts(&member());
    assert_eq!(facts.len(), 1);
    assert!(facts[0].has(GroupKind::Procedure, "stomach_exam"));
}

#[test]
fn jd_days_count_as_service_days() {
    let jd: String = (1..=31)
        .map(|day| match day {
            7 => "1",
            8 => "2",
            9 => "9",
            _ => "",
        })
        .collect::<Vec<_>>()
        .join(",");
    let claim = reduce(&[format!("JD,1,{jd}")]);
    assert_eq!(claim.days, [d(2026, 6, 3), d(2026, 6, 7), d(2026, 6, 8)]);
}

/// Issue 12: ウゴービ (semaglutide for 肥満症, 医薬品コード 629927501, YJ 2499418G9029 in
/// y_ALL20240321.csv) is no diabetes drug, so a look-back that finds only it does not
/// count as "already under care" for D; メトグルコ (metformin, 621974701, YJ 3962002F2027)
/// does. The claims carry no diagnosis, so only the drug decides.
#[test]
fn a_wegovy_only_lookback_does_not_exclude_a_d_case_while_metformin_does() {
    let ProgrammeSettings {
        rules: ProgrammeRules::Diabetes { lookback, .. },
        ..
    } = ProgrammeSettings::default_for(ProgrammeCode::D)
    else {
        panic!("D is the diabetes programme");
    };
    let wegovy = reduce(&[iy("629927501", &[5])]);
    assert!(wegovy.groups(GroupKind::Drug).is_empty());
    assert!(!lookback.matches(&wegovy.to_visit_fact(member()), d(2026, 7, 1)));
    let metformin = reduce(&[iy("621974701", &[5])]);
    assert_eq!(metformin.groups(GroupKind::Drug), ["diabetes_drug"].into());
    assert!(lookback.matches(&metformin.to_visit_fact(member()), d(2026, 7, 1)));
}

/// ニコチン依存症管理料１（初回） (113008310, s_ALL20240531.csv) and チャンピックス錠１ｍｇ
/// (620006777, YJ 7990003F2024) are the smoking-cessation groups programme S looks for.
#[test]
fn nicotine_dependence_management_and_varenicline_are_smoking_cessation() {
    let claim = reduce(&[si("113008310", &[5]), iy("620006777", &[5])]);
    assert_eq!(
        claim.groups(GroupKind::Procedure),
        ["smoking_cessation", "visit"].into()
    );
    assert_eq!(
        claim.groups(GroupKind::Drug),
        ["smoking_cessation_drug"].into()
    );
}
