//! Sustained fuzzing of the checkup reader (issue 11), outside CI:
//! `FUZZ_SECONDS=600 cargo test --release -p collabo-checkup --test it -- --ignored fuzz`.
//! Three campaigns: single CDA documents (`.xml`), MHLW zip archives (`.zip`, from the
//! crate's writer and hand-made members), and the CSV/XLSX layout. Each mutated input
//! is written to a file and read to its end through `CheckupReader`, as an import
//! reads it: records or errors, never a panic.

use super::fixtures::{Doc, NS_2024, archive_of, cd, pq, raw};
use collabo_checkup::{CheckupReader, write_archive};
use collabo_fuzzkit::{Fuzz, Report, seconds_from_env, tokens};

fn read_as(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    if let Ok(mut reader) = CheckupReader::open(&path) {
        for item in &mut reader {
            if matches!(&item, Err(e) if e.is_fatal()) {
                break;
            }
        }
        let _ = reader.into_report();
    }
}

fn documents() -> Vec<String> {
    vec![
        Doc::default()
            .with(pq("9A751000000000001", "150", "mm[Hg]"))
            .with(pq("3D046000001906202", "6.8", "%"))
            .with(cd("9N736000000000011", "2", "1.2.392.200119.6.24060"))
            .with(raw(r#" negationInd="true""#, r#"<code code="3F077000002327101"/>"#))
            .xml(),
        Doc {
            bom: true,
            ..Doc::default()
        }
        .with(raw(
            "",
            r#"<code nullFlavor="NA"/><entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code code="8A065000002391901"/><value xsi:type="PQ" value="52.3" unit="ml/min/1.73m2"/></observation></entryRelationship>"#,
        ))
        .xml(),
    ]
}

fn xml_tokens() -> Vec<Vec<u8>> {
    tokens(&[
        "<",
        ">",
        "</",
        "/>",
        "\"",
        "'",
        "=",
        "&",
        "&amp;",
        "&lt;",
        "&#x0;",
        "&#1114112;",
        "&e;",
        "<!DOCTYPE x [<!ENTITY e \"ee\">]>",
        "<![CDATA[",
        "]]>",
        "<?xml version=\"1.0\"?>",
        "xmlns=\"urn:hl7-org:v3\"",
        "xsi:type=\"PQ\"",
        "xsi:type=\"CD\"",
        " value=\"",
        "nullFlavor=\"NI\"",
        "<entry>",
        "</entry>",
        "<observation>",
        "<value ",
        "<code code=\"",
        "extension=\"",
        "root=\"1.2.392.200119.6.204\"",
        "\u{feff}",
        "\u{3000}",
        "99999999",
        "-1",
        "1e309",
        "NaN",
        "\r\n",
    ])
}

fn check(report: Report) {
    assert_eq!(report.panics, 0, "{report:?}");
}

#[test]
#[ignore = "sustained fuzzing: run with --ignored and FUZZ_SECONDS"]
fn fuzz_cda_documents() {
    let dir = tempfile::tempdir().unwrap();
    let fuzz = Fuzz {
        name: "cda",
        seeds: documents().into_iter().map(String::into_bytes).collect(),
        dictionary: xml_tokens(),
    };
    check(fuzz.run(seconds_from_env(10), |bytes| {
        read_as(dir.path(), "h0001.xml", bytes)
    }));
}

#[test]
#[ignore = "sustained fuzzing: run with --ignored and FUZZ_SECONDS"]
fn fuzz_checkup_archives() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_archive(
        dir.path(),
        super::roundtrip::header(),
        super::roundtrip::sample_records(),
    )
    .unwrap();
    let hand_made = archive_of(dir.path(), NS_2024, &documents());
    let seeds = vec![
        std::fs::read(written).unwrap(),
        std::fs::read(hand_made).unwrap(),
    ];
    let mut dictionary = xml_tokens();
    dictionary.extend(tokens(&[
        "PK\u{3}\u{4}",
        "PK\u{1}\u{2}",
        "PK\u{5}\u{6}",
        "PK\u{7}\u{8}",
        "DATA/",
        "../",
        "ix08_V08.xml",
        "su08_V08.xml",
        "CLAIMS/",
        "XSD/",
    ]));
    dictionary.push(vec![0xff; 8]);
    let fuzz = Fuzz {
        name: "archive",
        seeds,
        dictionary,
    };
    let cases = tempfile::tempdir().unwrap();
    check(fuzz.run(seconds_from_env(10), |bytes| {
        read_as(cases.path(), "case.zip", bytes)
    }));
}

fn xlsx_seed() -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let headers = [
        "保険者番号",
        "記号",
        "番号",
        "氏名カナ",
        "性別",
        "生年月日",
        "健診実施日",
        "HbA1c",
        "喫煙",
    ];
    for (col, h) in headers.iter().enumerate() {
        sheet.write_string(0, col as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "06139999").unwrap();
    sheet.write_number(1, 1, 1001.0).unwrap();
    sheet.write_number(1, 2, 42.0).unwrap();
    sheet.write_string(1, 3, "テスト　エクセル").unwrap();
    sheet.write_string(1, 4, "女").unwrap();
    sheet.write_number(1, 5, 26_664.0).unwrap();
    sheet.write_string(1, 6, "2024-06-10").unwrap();
    sheet.write_number(1, 7, 6.8).unwrap();
    sheet.write_string(1, 8, "はい").unwrap();
    workbook.save_to_buffer().unwrap()
}

#[test]
#[ignore = "sustained fuzzing: run with --ignored and FUZZ_SECONDS"]
fn fuzz_checkup_tables() {
    let csv = super::tabular::CSV.as_bytes().to_vec();
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(super::tabular::CSV);
    let seeds = vec![csv, sjis.into_owned(), xlsx_seed()];
    let fuzz = Fuzz {
        name: "checkup-tables",
        seeds,
        dictionary: tokens(&[
            ",",
            "\"",
            "\"\"",
            "\r\n",
            "\n",
            "\u{feff}",
            "令和6年6月10日",
            "2024/02/30",
            "19800229",
            "男",
            "女",
            "はい",
            "いいえ",
            "+",
            "±",
            "未実施",
            "-1",
            "1e400",
            "<",
            "&",
            "PK\u{3}\u{4}",
            "xl/workbook.xml",
            "<c r=\"A1\" t=\"s\"><v>99999</v></c>",
            "\u{3000}",
        ]),
    };
    let cases = tempfile::tempdir().unwrap();
    check(fuzz.run(seconds_from_env(10), |bytes| {
        // By content (the upload's own name may say anything) and by extension.
        read_as(cases.path(), "case.csv", bytes);
        read_as(cases.path(), "case.xlsx", bytes);
        read_as(cases.path(), "case.upload", bytes);
    }));
}
