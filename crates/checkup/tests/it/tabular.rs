//! The CSV/XLSX layout: UTF-8 (with and without BOM), Shift_JIS, XLSX, the CSV writer,
//! and per-row problems.

use super::roundtrip::sample_records;
use collabo_checkup::{CheckupReader, Format, ReadError, write_csv};
use collabo_domain::checkup::{DrawTiming, Item, ObservedValue, SmokingAnswer, UrineGrade};
use collabo_domain::member::Sex;
use jiff::civil::date;

pub(crate) const CSV: &str = "保険者番号,記号,番号,枝番,氏名カナ,性別,生年月日,健診実施日,身長,中性脂肪,採血時間,HbA1c,尿蛋白,喫煙,服薬_血圧,備考\n\
06139999,１００１,42,00,テスト　ジロウ,男,1970-01-15,令和6年6月10日,170.1,220,随時,6.8,+,はい,いいえ,要再検\n\
06139999,1001,43,,テスト　サチコ,2,19800229,2024/06/11,未実施,140,,5.4,±,やめた,はい,\n\
06139999,1001,,,テスト　ナシ,2,19800229,2024/06/11,,,,,,,,\n\
06139999,1001,44,,テスト　ミツコ,女,1975-03-03,2024-06-12,abc,,,,,,,\n";

fn check_rows(path: &std::path::Path) {
    let mut reader = CheckupReader::open(path).unwrap();
    assert_eq!(reader.format(), Format::Csv);
    let results: Vec<_> = reader.by_ref().collect();
    assert_eq!(results.len(), 4);
    let first = results[0].as_ref().unwrap();
    assert_eq!(first.symbol.as_str(), "1001");
    assert_eq!(first.sex, Sex::Male);
    assert_eq!(first.exam_date, date(2024, 6, 10));
    assert_eq!(first.kana_name, "テスト　ジロウ");
    assert_eq!(
        first.value(Item::TriglyceridesRandom),
        Some(ObservedValue::Number(220.0))
    );
    assert_eq!(first.value(Item::TriglyceridesFasting), None);
    assert_eq!(first.value(Item::HbA1c), Some(ObservedValue::Number(6.8)));
    assert_eq!(
        first.value(Item::UrineProtein),
        Some(ObservedValue::Grade(UrineGrade::ONE_PLUS))
    );
    assert_eq!(first.questionnaire.smoking, Some(SmokingAnswer::Smokes));
    assert_eq!(first.questionnaire.medication_blood_pressure, Some(false));
    assert_eq!(first.unknown_items.len(), 1);
    assert_eq!(first.unknown_items[0].raw_value, "要再検");
    assert_eq!(first.origin.line, Some(2));

    let second = results[1].as_ref().unwrap();
    assert_eq!(second.birth_date, date(1980, 2, 29));
    assert_eq!(second.value(Item::Height), Some(ObservedValue::NotDone));
    assert_eq!(
        second.value(Item::TriglyceridesFasting),
        Some(ObservedValue::Number(140.0))
    );
    assert_eq!(
        second.questionnaire.smoking,
        Some(SmokingAnswer::FormerSmoker)
    );

    let ReadError::Rejected { origin, problems } = results[2].as_ref().unwrap_err() else {
        panic!()
    };
    assert_eq!(origin.line, Some(4));
    assert_eq!(problems[0].field, "番号");

    let fourth = results[3].as_ref().unwrap();
    assert_eq!(fourth.problems.len(), 1);
    assert_eq!(fourth.problems[0].field, "身長");
    assert_eq!(fourth.problems[0].line, Some(5));

    let report = reader.into_report();
    assert_eq!(
        (report.documents, report.records, report.rejected),
        (4, 3, 1)
    );
    assert_eq!(report.unknown_codes.get("備考"), Some(&1));
    assert!(report.warnings.iter().any(|w| w.contains("備考")));
}

#[test]
fn utf8_csv_with_and_without_bom_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.csv");
    std::fs::write(&plain, CSV).unwrap();
    check_rows(&plain);
    let bom = dir.path().join("bom.csv");
    std::fs::write(&bom, format!("\u{feff}{CSV}")).unwrap();
    check_rows(&bom);
}

#[test]
fn shift_jis_csv_is_detected_and_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sjis.csv");
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(CSV);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the fixture really is not UTF-8"
    );
    std::fs::write(&path, &bytes).unwrap();
    check_rows(&path);
    let reader = CheckupReader::open(&path).unwrap();
    assert!(
        reader
            .report()
            .warnings
            .iter()
            .any(|w| w.contains("Shift_JIS"))
    );
}

#[test]
fn the_csv_writer_round_trips_through_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let records = sample_records();
    write_csv(&path, records.clone()).unwrap();
    let back: Vec<_> = CheckupReader::open(&path)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back.len(), records.len());
    for (written, read) in records.iter().zip(&back) {
        assert_eq!(read.number, written.number);
        assert_eq!(read.exam_date, written.exam_date);
        assert_eq!(read.questionnaire, written.questionnaire);
        for observation in &written.observations {
            assert_eq!(
                read.value(observation.item),
                Some(observation.value),
                "{:?}",
                observation.item
            );
        }
        assert_eq!(read.observations.len(), written.observations.len());
        assert!(read.problems.is_empty(), "{:?}", read.problems);
    }
}

#[test]
fn xlsx_in_the_layout_is_read_with_date_cells() {
    use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("employer.xlsx");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let headers = [
        "保険者番号",
        "記号",
        "番号",
        "氏名カナ",
        "性別",
        "生年月日",
        "健診実施日",
        "収縮期血圧",
        "空腹時血糖",
        "尿糖",
        "喫煙",
    ];
    for (col, h) in headers.iter().enumerate() {
        sheet.write_string(0, col as u16, *h).unwrap();
    }
    let date_format = XFormat::new().set_num_format("yyyy-mm-dd");
    sheet.write_string(1, 0, "06139999").unwrap();
    sheet.write_number(1, 1, 1001.0).unwrap();
    sheet.write_number(1, 2, 42.0).unwrap();
    sheet.write_string(1, 3, "テスト　エクセル").unwrap();
    sheet.write_string(1, 4, "女").unwrap();
    sheet
        .write_datetime_with_format(
            1,
            5,
            ExcelDateTime::from_ymd(1972, 12, 31).unwrap(),
            &date_format,
        )
        .unwrap();
    sheet
        .write_datetime_with_format(
            1,
            6,
            ExcelDateTime::from_ymd(2024, 9, 3).unwrap(),
            &date_format,
        )
        .unwrap();
    sheet.write_number(1, 7, 162.0).unwrap();
    sheet.write_number(1, 8, 131.5).unwrap();
    sheet.write_string(1, 9, "2+").unwrap();
    sheet.write_string(1, 10, "いいえ").unwrap();
    workbook.save(&path).unwrap();

    let mut reader = CheckupReader::open(&path).unwrap();
    assert_eq!(reader.format(), Format::Xlsx);
    let record = reader.next().unwrap().unwrap();
    assert!(reader.next().is_none());
    assert_eq!(record.symbol.as_str(), "1001");
    assert_eq!(record.birth_date, date(1972, 12, 31));
    assert_eq!(record.exam_date, date(2024, 9, 3));
    assert_eq!(
        record.value(Item::SystolicBp),
        Some(ObservedValue::Number(162.0))
    );
    assert_eq!(
        record.value(Item::GlucoseFasting),
        Some(ObservedValue::Number(131.5))
    );
    assert_eq!(
        record.value(Item::UrineGlucose),
        Some(ObservedValue::Grade(UrineGrade::parse("2+").unwrap()))
    );
    assert_eq!(
        record.questionnaire.smoking,
        Some(SmokingAnswer::DoesNotSmoke)
    );
    assert_eq!(record.origin.line, Some(2));
    assert_eq!(record.origin.member.as_deref(), Some("Sheet1"));
}

#[test]
fn a_csv_without_the_required_columns_is_one_fatal_error_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong.csv");
    std::fs::write(&path, "氏名,身長\nテスト,170\n").unwrap();
    let err = CheckupReader::open(&path).err().unwrap();
    let text = err.to_string();
    assert!(err.is_fatal());
    assert!(
        text.contains("wrong.csv") && text.contains("line 1") && text.contains("保険者番号"),
        "{text}"
    );
}

/// 採血時間 in the layout keeps the MHLW distinction (XMLhc24tab.csv 採血時間(食後): 2 食後10時間
/// 以上, 3 食後3.5時間以上10時間未満, 4 食後3.5時間未満), so that a 食直後 sample is known as
/// such; and the 第4期 smoking answer 2 (以前は吸っていたが最近1か月間は吸っていない) is a former
/// smoker, while 「最近やめた」「禁煙1か月以内」 (which may have smoked this month) are refused.
#[test]
fn draw_timing_and_smoking_answers_are_read_with_their_mhlw_meaning() {
    let csv = "保険者番号,記号,番号,健診実施日,性別,生年月日,中性脂肪,採血時間,喫煙\n\
06139999,1001,1,2024-06-10,男,1970-01-15,180,食直後,以前は吸っていたが、最近1か月間は吸っていない\n\
06139999,1001,2,2024-06-10,男,1970-01-15,180,3,いいえ\n\
06139999,1001,3,2024-06-10,男,1970-01-15,180,空腹,最近やめた\n\
06139999,1001,4,2024-06-10,男,1970-01-15,180,食後2時間,禁煙1か月以内\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timing.csv");
    std::fs::write(&path, csv).unwrap();
    let rows: Vec<_> = CheckupReader::open(&path).unwrap().collect();
    let first = rows[0].as_ref().unwrap();
    assert_eq!(
        first.questionnaire.draw_timing,
        Some(DrawTiming::SoonAfterMeal)
    );
    assert_eq!(
        first.value(Item::TriglyceridesRandom),
        Some(ObservedValue::Number(180.0))
    );
    assert_eq!(
        first.questionnaire.smoking,
        Some(SmokingAnswer::FormerSmoker)
    );
    let second = rows[1].as_ref().unwrap();
    assert_eq!(second.questionnaire.draw_timing, Some(DrawTiming::Random));
    let third = rows[2].as_ref().unwrap();
    assert_eq!(third.questionnaire.draw_timing, Some(DrawTiming::Fasting));
    assert_eq!(third.questionnaire.smoking, None);
    assert!(
        third
            .problems
            .iter()
            .any(|p| p.field == "喫煙" && p.message.contains("最近やめた")),
        "{:?}",
        third.problems
    );
    let fourth = rows[3].as_ref().unwrap();
    assert_eq!(fourth.questionnaire.draw_timing, None);
    let fields: Vec<&str> = fourth.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["採血時間", "喫煙"]);
}

/// The physical line of each row, whatever the line ends: blank lines and a quoted
/// field over two lines counted, CRLF the same as LF (issue 13: CRLF files reported the
/// previous line).
#[test]
fn rows_name_their_physical_line_in_lf_and_crlf_files() {
    let lines = [
        "保険者番号,記号,番号,枝番,氏名カナ,性別,生年月日,健診実施日,備考",
        "06139999,1001,42,00,テスト　ジロウ,男,S45.1.15,R6.6.10,",
        "",
        "06139999,1001,43,00,テスト　サチコ,2,H4.7.17,\"R6.6.11\",\"二行の",
        "備考\"",
        "06139999,1001,44,00,テスト　ミツコ,女,S35.12.27,R6.13.12,",
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, end) in [("lf.csv", "\n"), ("crlf.csv", "\r\n")] {
        let path = dir.path().join(name);
        std::fs::write(&path, lines.join(end) + end).unwrap();
        let results: Vec<_> = CheckupReader::open(&path).unwrap().collect();
        assert_eq!(results.len(), 3, "{name}");
        let first = results[0].as_ref().unwrap();
        assert_eq!(first.origin.line, Some(2), "{name}");
        assert_eq!(first.birth_date, date(1970, 1, 15), "{name}");
        assert_eq!(first.exam_date, date(2024, 6, 10), "{name}");
        let second = results[1].as_ref().unwrap();
        assert_eq!(second.origin.line, Some(4), "{name}");
        assert_eq!(second.birth_date, date(1992, 7, 17), "{name}");
        let ReadError::Rejected { origin, problems } = results[2].as_ref().unwrap_err() else {
            panic!("{name}: {:?}", results[2])
        };
        assert_eq!(origin.line, Some(6), "{name}");
        assert_eq!(problems[0].field, "健診実施日");
        assert!(
            problems[0].message.contains("「R6.13.12」"),
            "{}",
            problems[0].message
        );
    }
}
