//! The traps of the CDA format, one test each, on hand-made documents.

use super::fixtures::{Doc, cd, pq, raw, read_one};
use collabo_checkup::RangeFlag;
use collabo_domain::checkup::{Item, ObservedValue, SmokingAnswer, UrineGrade};
use collabo_domain::member::Sex;
use jiff::civil::date;

const YES_NO: &str = "1.2.392.200119.6.2003";
const SMOKING_2024: &str = "1.2.392.200119.6.24060";
const TIMING: &str = "1.2.392.200119.6.2202";

#[test]
fn a_byte_order_mark_is_accepted() {
    let doc = Doc {
        bom: true,
        ..Doc::default()
    }
    .with(pq("9N001000000000001", "160.5", "cm"));
    let record = read_one(&doc.xml()).unwrap();
    assert_eq!(
        record.value(Item::Height),
        Some(ObservedValue::Number(160.5))
    );
}

#[test]
fn person_ids_are_taken_by_oid_not_by_position() {
    let doc = Doc {
        ids: vec![
            ("1.2.392.200119.6.211", "03"),
            ("1.2.392.200119.6.205", "777"),
            ("1.2.392.200119.6.999", "99999"),
            ("1.2.392.200119.6.204", "2002"),
            ("1.2.392.200119.6.101", "06130001"),
        ],
        ..Doc::default()
    };
    let record = read_one(&doc.xml()).unwrap();
    assert_eq!(record.insurer.as_str(), "06130001");
    assert_eq!(record.symbol.as_str(), "2002");
    assert_eq!(record.number.as_str(), "777");
    assert_eq!(record.branch.as_ref().map(|b| b.as_str()), Some("03"));
    assert_eq!(record.sex, Sex::Female);
    assert_eq!(record.birth_date, date(1970, 1, 15));
    assert_eq!(record.kana_name, "テスト　ハナコ");
}

#[test]
fn full_width_symbol_and_number_are_normalised() {
    let doc = Doc {
        ids: vec![
            ("1.2.392.200119.6.101", "０６１３９９９９"),
            ("1.2.392.200119.6.204", "１２３"),
            ("1.2.392.200119.6.205", "４５６７"),
        ],
        ..Doc::default()
    };
    let record = read_one(&doc.xml()).unwrap();
    assert_eq!(record.insurer.as_str(), "06139999");
    assert_eq!(record.symbol.as_str(), "123");
    assert_eq!(record.number.as_str(), "4567");
    assert_eq!(record.branch, None);
    assert_eq!(record.submitted_person().number.as_str(), "4567");
}

#[test]
fn the_exam_date_is_the_service_event_not_the_document_date() {
    let doc = Doc {
        document_date: "20240901",
        exam_date: Some("20240515"),
        ..Doc::default()
    };
    let record = read_one(&doc.xml()).unwrap();
    assert_eq!(record.exam_date, date(2024, 5, 15));
}

#[test]
fn a_document_without_service_event_is_rejected_not_dated_by_the_document_date() {
    let doc = Doc {
        exam_date: None,
        ..Doc::default()
    };
    let err = read_one(&doc.xml()).unwrap_err();
    assert!(!err.is_fatal());
    let text = err.to_string();
    assert!(text.contains("serviceEvent/effectiveTime"), "{text}");
}

#[test]
fn grouped_results_under_entry_relationship_are_read() {
    let inner = r#"<code nullFlavor="NA"/>
      <entryRelationship typeCode="RSON"><observation classCode="OBS" moodCode="EVN"><code code="3C015161602399911"/><value xsi:type="CD" code="1" codeSystem="1.2.392.200119.6.18110"/></observation></entryRelationship>
      <entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code code="3C015000002327101"/><value xsi:type="PQ" value="1.10" unit="mg/dL"/></observation></entryRelationship>
      <entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code code="8A065000002391901"/><value xsi:type="PQ" value="52.3" unit="ml/min/1.73m2"/></observation></entryRelationship>"#;
    let doc = Doc::default().with(raw("", inner));
    let record = read_one(&doc.xml()).unwrap();
    assert_eq!(
        record.value(Item::Creatinine),
        Some(ObservedValue::Number(1.10))
    );
    assert_eq!(record.value(Item::Egfr), Some(ObservedValue::Number(52.3)));
    // The RSON reason is an MHLW item Collabo does not use: kept, not dropped.
    assert!(
        record
            .unknown_items
            .iter()
            .any(|u| u.code == "3C015161602399911" && u.table_name.is_some())
    );
}

#[test]
fn an_out_of_range_value_keeps_the_number_and_the_h_flag() {
    let inner = r#"<code code="3F015000002327101"/><value xsi:type="PQ" value="1200" unit="mg/dL"/><value xsi:type="CD" code="H" codeSystem="2.16.840.1.113883.5.83" displayName="以上"/>"#;
    let low = r#"<code code="3F070000002327101"/><value xsi:type="PQ" value="10" unit="mg/dL"/><value xsi:type="CD" code="L" codeSystem="2.16.840.1.113883.5.83"/>"#;
    let doc = Doc::default().with(raw("", inner)).with(raw("", low));
    let record = read_one(&doc.xml()).unwrap();
    assert_eq!(
        record.value(Item::TriglyceridesFasting),
        Some(ObservedValue::Number(1200.0))
    );
    assert_eq!(
        record.source(Item::TriglyceridesFasting).unwrap().flag,
        Some(RangeFlag::High)
    );
    assert_eq!(record.source(Item::Hdl).unwrap().flag, Some(RangeFlag::Low));
    assert!(record.problems.is_empty(), "{:?}", record.problems);
}

#[test]
fn negation_ind_means_not_done() {
    let doc = Doc::default().with(raw(
        r#" negationInd="true""#,
        r#"<code code="3F077000002327101"/>"#,
    ));
    let record = read_one(&doc.xml()).unwrap();
    assert_eq!(record.value(Item::Ldl), Some(ObservedValue::NotDone));
}

#[test]
fn null_flavor_means_not_measurable() {
    let doc = Doc::default()
        .with(raw(
            "",
            r#"<code code="3D010000001926101"/><value xsi:type="PQ" nullFlavor="NI"/>"#,
        ))
        .with(raw(
            "",
            r#"<code code="1A010000000191111"/><value xsi:type="CO" nullFlavor="NI"/>"#,
        ));
    let record = read_one(&doc.xml()).unwrap();
    assert_eq!(
        record.value(Item::GlucoseFasting),
        Some(ObservedValue::NotMeasurable)
    );
    assert_eq!(
        record.value(Item::UrineProtein),
        Some(ObservedValue::NotMeasurable)
    );
}

#[test]
fn urine_grades_come_from_the_qualitative_code_list() {
    let doc = Doc::default()
        .with(cd("1A010000000191111", "3", "1.2.392.200119.6.2102"))
        .with(cd("1A020000000190111", "1", "1.2.392.200119.6.2102"));
    let record = read_one(&doc.xml()).unwrap();
    assert_eq!(
        record.value(Item::UrineProtein),
        Some(ObservedValue::Grade(UrineGrade::ONE_PLUS))
    );
    assert_eq!(
        record.value(Item::UrineGlucose),
        Some(ObservedValue::Grade(UrineGrade::NEGATIVE))
    );
}

#[test]
fn hba1c_method_variants_map_to_one_item_and_keep_their_code() {
    for code in [
        "3D046000001906202",
        "3D046000001920402",
        "3D046000001927102",
        "3D046000001999902",
    ] {
        let doc = Doc::default().with(pq(code, "6.8", "%"));
        let record = read_one(&doc.xml()).unwrap();
        assert_eq!(
            record.value(Item::HbA1c),
            Some(ObservedValue::Number(6.8)),
            "{code}"
        );
        assert_eq!(record.source(Item::HbA1c).unwrap().code, code);
    }
}

#[test]
fn two_method_codes_for_one_item_keep_the_first_and_say_so() {
    let doc = Doc::default()
        .with(pq("3D046000001906202", "6.8", "%"))
        .with(pq("3D046000001920402", "7.1", "%"));
    let record = read_one(&doc.xml()).unwrap();
    assert_eq!(record.value(Item::HbA1c), Some(ObservedValue::Number(6.8)));
    assert_eq!(record.problems.len(), 1, "{:?}", record.problems);
    assert_eq!(record.problems[0].field, "3D046000001920402");
}

fn tg_item(exam: &'static str, code: &str, timing: Option<&str>) -> (Option<Item>, usize) {
    let mut doc = Doc {
        exam_date: Some(exam),
        ..Doc::default()
    }
    .with(pq(code, "180", "mg/dL"));
    if let Some(timing) = timing {
        doc = doc.with(cd("9N141000000000011", timing, TIMING));
    }
    let record = read_one(&doc.xml()).unwrap();
    let item = [Item::TriglyceridesFasting, Item::TriglyceridesRandom]
        .into_iter()
        .find(|i| record.value(*i) == Some(ObservedValue::Number(180.0)));
    (item, record.problems.len())
}

#[test]
fn fourth_period_random_triglyceride_codes_are_random() {
    assert_eq!(
        tg_item("20240610", "3F015129902327101", None),
        (Some(Item::TriglyceridesRandom), 0)
    );
    assert_eq!(
        tg_item("20240610", "3F015129902399901", Some("3")),
        (Some(Item::TriglyceridesRandom), 0)
    );
    assert_eq!(
        tg_item("20240610", "3F015000002327201", Some("2")),
        (Some(Item::TriglyceridesFasting), 0)
    );
}

#[test]
fn third_period_triglycerides_follow_the_blood_draw_timing() {
    assert_eq!(
        tg_item("20230610", "3F015000002327101", Some("2")),
        (Some(Item::TriglyceridesFasting), 0)
    );
    assert_eq!(
        tg_item("20230610", "3F015000002327101", Some("3")),
        (Some(Item::TriglyceridesRandom), 0)
    );
    assert_eq!(
        tg_item("20230610", "3F015000002327101", Some("4")),
        (Some(Item::TriglyceridesRandom), 0)
    );
    assert_eq!(
        tg_item("20230610", "3F015000002327101", None),
        (Some(Item::TriglyceridesFasting), 0)
    );
}

#[test]
fn a_fourth_period_fasting_code_with_a_random_draw_stays_fasting_with_a_problem() {
    assert_eq!(
        tg_item("20240610", "3F015000002327101", Some("3")),
        (Some(Item::TriglyceridesFasting), 1)
    );
}

fn smoking(exam: &'static str, value: &str, system: &str) -> Option<SmokingAnswer> {
    let doc = Doc {
        exam_date: Some(exam),
        ..Doc::default()
    }
    .with(cd("9N736000000000011", value, system));
    read_one(&doc.xml()).unwrap().questionnaire.smoking
}

#[test]
fn smoking_code_2_means_no_in_the_third_period_list_and_a_former_smoker_in_the_fourth() {
    assert_eq!(
        smoking("20230610", "1", YES_NO),
        Some(SmokingAnswer::Smokes)
    );
    assert_eq!(
        smoking("20230610", "2", YES_NO),
        Some(SmokingAnswer::DoesNotSmoke)
    );
    assert_eq!(
        smoking("20240610", "1", SMOKING_2024),
        Some(SmokingAnswer::Smokes)
    );
    assert_eq!(
        smoking("20240610", "2", SMOKING_2024),
        Some(SmokingAnswer::FormerSmoker)
    );
    assert_eq!(
        smoking("20240610", "3", SMOKING_2024),
        Some(SmokingAnswer::DoesNotSmoke)
    );
}

#[test]
fn the_answer_list_decides_smoking_even_when_the_date_says_otherwise() {
    // A 2024 exam written with the old list: code 2 is いいえ, not "quit recently".
    assert_eq!(
        smoking("20240610", "2", YES_NO),
        Some(SmokingAnswer::DoesNotSmoke)
    );
}

#[test]
fn medication_answers_fill_the_questionnaire() {
    let doc = Doc::default()
        .with(cd("9N701000000000011", "1", YES_NO))
        .with(cd("9N706000000000011", "2", YES_NO))
        .with(cd("9N711000000000011", "1", YES_NO));
    let q = read_one(&doc.xml()).unwrap().questionnaire;
    assert_eq!(q.medication_blood_pressure, Some(true));
    assert_eq!(q.medication_glucose, Some(false));
    assert_eq!(q.medication_lipids, Some(true));
}

#[test]
fn blood_pressure_is_judged_on_sonota_else_the_mean_of_two_readings() {
    let both = Doc::default()
        .with(pq("9A751000000000001", "150", "mm[Hg]"))
        .with(pq("9A752000000000001", "141", "mm[Hg]"))
        .with(pq("9A761000000000001", "90", "mm[Hg]"));
    let record = read_one(&both.xml()).unwrap();
    assert_eq!(
        record.value(Item::SystolicBp),
        Some(ObservedValue::Number(145.5))
    );
    assert_eq!(
        record.source(Item::SystolicBp).unwrap().code,
        "9A751000000000001+9A752000000000001"
    );
    assert_eq!(
        record.value(Item::DiastolicBp),
        Some(ObservedValue::Number(90.0))
    );

    let with_other = Doc::default()
        .with(pq("9A751000000000001", "150", "mm[Hg]"))
        .with(pq("9A752000000000001", "141", "mm[Hg]"))
        .with(pq("9A755000000000001", "138", "mm[Hg]"));
    let record = read_one(&with_other.xml()).unwrap();
    assert_eq!(
        record.value(Item::SystolicBp),
        Some(ObservedValue::Number(138.0))
    );

    let second_not_done = Doc::default()
        .with(pq("9A751000000000001", "150", "mm[Hg]"))
        .with(raw(
            r#" negationInd="true""#,
            r#"<code code="9A752000000000001"/>"#,
        ));
    let record = read_one(&second_not_done.xml()).unwrap();
    assert_eq!(
        record.value(Item::SystolicBp),
        Some(ObservedValue::Number(150.0))
    );
}

#[test]
fn a_bad_number_is_a_problem_on_a_record_that_is_still_yielded() {
    let doc = Doc::default()
        .with(pq("9N006000000000001", "abc", "kg"))
        .with(pq("9N001000000000001", "１７０．２", "cm"));
    let record = read_one(&doc.xml()).unwrap();
    assert_eq!(record.value(Item::Weight), None);
    assert_eq!(
        record.value(Item::Height),
        Some(ObservedValue::Number(170.2))
    );
    assert_eq!(record.problems.len(), 1);
    assert_eq!(record.problems[0].field, "9N006000000000001");
    let expected_line = record.origin.line; // origin of a record has no line; the problem has one
    assert_eq!(expected_line, None);
    let line = doc.xml().lines().position(|l| l.contains("abc")).unwrap() as u64 + 1;
    assert_eq!(record.problems[0].line, Some(line));
}
