//! The `collabo` binary end to end: what a staff member types, what they see, and what
//! ends up in the database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use collabo_domain::programme::ProgrammeCode;
use collabo_store::{Store, Table};
use std::path::Path;
use std::process::{Command, Output};

fn collabo(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_collabo"))
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("run collabo")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const MEMBERS: &str = "保険者番号,記号,番号,枝番,氏名,氏名カナ,性別,生年月日,郵便番号,住所,住所2,事業所記号,資格取得日,資格喪失日
06139999,1001,1,00,髙橋　花子,タカハシ　ハナコ,2,1975-03-03,1000001,東京都千代田区架空町1-1,,1001,2010-04-01,
06139999,1001,2,00,佐藤　恵子,サトウ　ケイコ,2,1968-08-20,1000002,東京都千代田区架空町1-2,,1001,2010-04-01,
";

fn setup(dir: &Path) {
    let o = collabo(
        dir,
        &["init", "--insurer", "06139999", "--name", "テスト健保"],
    );
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(dir.join("members.csv"), MEMBERS).unwrap();
    let o = collabo(
        dir,
        &[
            "--date",
            "2025-04-01",
            "import",
            "members",
            dir.join("members.csv").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = collabo(dir, &["employer", "1001", "架空精機"]);
    assert!(o.status.success(), "{}", text(&o));
}

async fn store(dir: &Path) -> Store {
    Store::open(
        &format!("sqlite:{}", dir.join("collabo.sqlite").display()),
        None,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_bad_row_names_file_line_and_field_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let list = "記号,番号,氏名,生年月日,がん検診の種類,検診実施年月日,同意\n1001,1,高橋花子,1975/3/3,胃,2025/6/5,1\n1001,2,佐藤恵子,1968/8/20,胃,2025/13/40,1\n1001,2,佐藤恵子,1968/8/20,膵臓,2025/6/5,1\n";
    let path = dir.path().join("要精密検査者.csv");
    std::fs::write(&path, list).unwrap();
    let o = collabo(
        dir.path(),
        &[
            "--date",
            "2025-07-10",
            "import",
            "referrals",
            path.to_str().unwrap(),
            "--employer",
            "1001",
        ],
    );
    assert!(!o.status.success());
    let out = text(&o);
    assert!(out.contains("要精密検査者.csv:3: 検診実施年月日:"), "{out}");
    assert!(out.contains("要精密検査者.csv:4: がん検診の種類:"), "{out}");
    assert!(out.contains("nothing was imported"), "{out}");
    let s = store(dir.path()).await;
    assert_eq!(
        s.count(Table::Referrals).await.unwrap(),
        0,
        "the good row 2 is not stored either"
    );
    assert_eq!(
        s.count(Table::Imports).await.unwrap(),
        1,
        "only the register import is recorded"
    );
}

#[tokio::test]
async fn a_shift_jis_list_imports_once_and_a_repeat_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let o = collabo(dir.path(), &["agreement", "apply", "--employer", "1001"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = collabo(
        dir.path(),
        &["--date", "2025-04-01", "agreement", "sign", "1"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let list = "記号,番号,枝番,氏名,生年月日,がん検診の種類,検診実施年月日,同意\r\n１００１,１,,ﾀｶﾊｼ ﾊﾅｺ,昭和50年3月3日,胃がん,令和7年6月5日,1\r\n1001,2,,佐藤恵子,1968/8/20,大腸,2025/6/5,1\r\n1001,9,,山田花子,1980/1/1,肺,2025/6/5,1\r\n";
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(list);
    assert!(!unmappable);
    let path = dir.path().join("list.csv");
    std::fs::write(&path, &bytes).unwrap();
    let args = [
        "--date",
        "2025-09-10",
        "import",
        "referrals",
        path.to_str().unwrap(),
        "--employer",
        "1001",
    ];
    let first = collabo(dir.path(), &args);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("登録 2"), "{}", text(&first));
    assert!(text(&first).contains("照合保留 1"), "{}", text(&first));
    let second = collabo(dir.path(), &args);
    assert!(second.status.success());
    assert!(text(&second).contains("取込済み"), "{}", text(&second));
    let s = store(dir.path()).await;
    assert_eq!(s.count(Table::Referrals).await.unwrap(), 2);
    assert_eq!(s.count(Table::ReviewItems).await.unwrap(), 1);
    // Screening 5 June, received 10 September: after 翌々月末 (31 August), flagged late.
    let figures = s.programme_figures(None).await.unwrap();
    assert_eq!(figures[&ProgrammeCode::C].late_referrals, 2);
    let o = collabo(dir.path(), &["--date", "2025-09-15", "run"]);
    assert!(o.status.success(), "{}", text(&o));
    let again = collabo(dir.path(), &["--date", "2025-09-15", "run"]);
    assert!(
        text(&again).contains("変更はありません"),
        "{}",
        text(&again)
    );
    let o = collabo(dir.path(), &["audit", "verify"]);
    assert!(
        o.status.success() && text(&o).contains("正常"),
        "{}",
        text(&o)
    );
}

#[tokio::test]
async fn the_demo_replays_a_year_from_real_format_files() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let o = collabo(
        dir.path(),
        &[
            "demo",
            "--members",
            "600",
            "--employers",
            "4",
            "--dir",
            demo.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("年度 (令和7年度) の結果"), "{out}");
    // The inputs are the real formats.
    let inbox = demo.join("inbox");
    let count = |sub: &str, ext: &str| {
        walk(&inbox.join(sub))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .count()
    };
    assert!(
        count("checkups", "zip") > 0 && count("claims", "UKE") > 0 && count("referrals", "csv") > 0
    );
    let s = Store::open(
        &format!("sqlite:{}", demo.join("collabo.sqlite").display()),
        None,
    )
    .await
    .unwrap();
    let f = s.programme_figures(None).await.unwrap();
    assert!(f[&ProgrammeCode::S].notified > 0, "{f:?}");
    assert!(
        f[&ProgrammeCode::D].identified > 0 && f[&ProgrammeCode::D].notified > 0,
        "{f:?}"
    );
    assert!(f[&ProgrammeCode::C].identified > 0, "{f:?}");
    assert!(
        f[&ProgrammeCode::D].visited
            + f[&ProgrammeCode::D].not_visited
            + f[&ProgrammeCode::D].waiting_for_claims
            > 0,
        "{f:?}"
    );
    // Letters were printed as PDFs with a mailing list.
    let pdfs = walk(&demo.join("letters"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .count();
    assert!(pdfs > 0);
    // Every 未受診 decision was taken with the claims of its whole window loaded. In the
    // demo, claims for month M arrive on the 5th of M+2, so a decision on day X may only
    // cover windows ending in month(X) − 2 or earlier.
    use collabo_domain::calendar::{YearMonth, add_months};
    use collabo_domain::case::{CaseEvent, ClaimsCheck};
    let mut decisions = 0;
    for programme in [ProgrammeCode::D, ProgrammeCode::C] {
        for row in s.cases(Some(programme), None, None, 100_000).await.unwrap() {
            let c = s.case(&row.case_key).await.unwrap().unwrap();
            let mailings: Vec<_> = c
                .events
                .iter()
                .filter(|e| matches!(e.event, CaseEvent::NoticeMailed))
                .map(|e| e.on)
                .collect();
            for e in &c.events {
                let CaseEvent::NoVisitFound { check } = e.event else {
                    continue;
                };
                let mailed = if check == ClaimsCheck::AfterRenotice {
                    mailings[1]
                } else {
                    mailings[0]
                };
                let months = if programme == ProgrammeCode::D { 6 } else { 4 };
                let window_end = YearMonth::of(add_months(mailed, months).unwrap());
                let loaded_to = YearMonth::of(add_months(e.on, -2).unwrap());
                assert!(
                    window_end <= loaded_to,
                    "{}: 未受診 decided on {} for a window ending {window_end}",
                    row.case_key,
                    e.on
                );
                decisions += 1;
            }
        }
    }
    assert!(decisions > 0, "the demo year decides some 未受診 cases");
    // Running again on the last day changes nothing.
    let o = collabo(
        dir.path(),
        &[
            "--db",
            &format!("sqlite:{}", demo.join("collabo.sqlite").display()),
            "--date",
            "2026-03-31",
            "run",
        ],
    );
    assert!(text(&o).contains("変更はありません"), "{}", text(&o));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
