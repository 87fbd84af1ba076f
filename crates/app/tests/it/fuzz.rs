//! Sustained fuzzing of the tabular imports (issue 11), outside CI:
//! `FUZZ_SECONDS=600 cargo test --release -p collabo-app --test it -- --ignored fuzz`.
//! Two campaigns: the CSV/XLSX reader with the employers' 要精密検査 list and the bulk
//! consent layout, and the member register. A mutated file is read and parsed as an
//! import parses it (before any transaction): rows or problems, never a panic.

use crate::harness::{INSURER, insured, referral_csv, register_csv};
use collabo_app::imports::{parse_consents, parse_members, parse_referrals};
use collabo_app::tabular::read_table;
use collabo_fuzzkit::{Fuzz, seconds_from_env, tokens};
use std::path::Path;

fn parse_all(name: &str, bytes: &[u8]) {
    if let Ok(table) = read_table(Path::new(name), bytes) {
        let _ = parse_members(name, &table, INSURER);
        let _ = parse_referrals(name, &table);
        let _ = parse_consents(name, &table, INSURER, "fuzz");
    }
}

fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            match cell.parse::<f64>() {
                Ok(n) => sheet.write_number(r as u32, c as u16, n).unwrap(),
                Err(_) => sheet.write_string(r as u32, c as u16, *cell).unwrap(),
            };
        }
    }
    workbook.save_to_buffer().unwrap()
}

fn dictionary() -> Vec<Vec<u8>> {
    tokens(&[
        ",",
        "\"",
        "\"\"",
        "\r\n",
        "\n",
        "\r",
        "\u{feff}",
        "記号",
        "番号",
        "枝番",
        "氏名",
        "生年月日",
        "がん検診の種類",
        "検診実施年月日",
        "同意",
        "区分",
        "適用日",
        "本人家族",
        "令和8年6月5日",
        "昭和64年1月8日",
        "2026/02/30",
        "20260605",
        "99999999",
        "肺",
        "胃",
        "大腸",
        "乳",
        "子宮頸",
        "オプトアウト",
        "本人",
        "家族",
        "１００１",
        "\u{3000}",
        "=1+1",
        "PK\u{3}\u{4}",
        "xl/sharedStrings.xml",
        "<si><t>",
        "</t></si>",
        "\u{1}",
    ])
}

#[test]
#[ignore = "sustained fuzzing: run with --ignored and FUZZ_SECONDS"]
fn fuzz_lists() {
    let people: Vec<_> = (1..=4).map(|n| insured("1001", n)).collect();
    let referrals = referral_csv(&[
        (&people[0], "架空 一郎", "肺", "2026-06-05"),
        (&people[1], "架空 二郎", "子宮頸", "令和8年6月5日"),
    ]);
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(std::str::from_utf8(&referrals).unwrap());
    let consents = "記号,番号,枝番,区分,範囲,適用日,経路\n1001,1,00,オプトアウト,all,2026-06-05,phone\n1001,2,0,同意,C,20260605,\n".to_owned();
    let seeds = vec![
        referrals.clone(),
        sjis.into_owned(),
        consents.into_bytes(),
        xlsx(&[
            &[
                "記号",
                "番号",
                "氏名",
                "生年月日",
                "がん検診の種類",
                "検診実施年月日",
                "同意",
            ],
            &[
                "1001",
                "1",
                "架空 一郎",
                "1980-04-01",
                "胃",
                "2026-06-05",
                "1",
            ],
        ]),
    ];
    let fuzz = Fuzz {
        name: "lists",
        seeds,
        dictionary: dictionary(),
    };
    let report = fuzz.run(seconds_from_env(10), |bytes| {
        parse_all("list.csv", bytes);
        parse_all("list.xlsx", bytes);
    });
    assert_eq!(report.panics, 0, "{report:?}");
}

#[test]
#[ignore = "sustained fuzzing: run with --ignored and FUZZ_SECONDS"]
fn fuzz_register() {
    let people: Vec<_> = (1..=6)
        .map(|n| insured(if n < 4 { "1001" } else { "1002" }, n))
        .collect();
    let register = register_csv(&people);
    let text = std::str::from_utf8(&register).unwrap();
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
    let fuzz = Fuzz {
        name: "register",
        seeds: vec![register.clone(), sjis.into_owned(), xlsx(&rows)],
        dictionary: dictionary(),
    };
    let report = fuzz.run(seconds_from_env(10), |bytes| {
        parse_all("members.csv", bytes);
        parse_all("members.xlsx", bytes);
    });
    assert_eq!(report.panics, 0, "{report:?}");
}
