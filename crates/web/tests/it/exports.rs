//! Exports cannot run formulas and download names cannot break their header (issue
//! 11): register values such as `=HYPERLINK(…)`, `@SUM(…)`, `+81-…` reach every CSV
//! (the vendor's mailing list, the cases export, the employers' aggregates) as text
//! with a quote in front; a hostile employer code is encoded in the download name.

use crate::helpers::{Client, INSURER, TestApp, code};
use axum::http::{StatusCode, header};
use collabo_domain::employer::Employer;

const EMPLOYER: &str = "=HYPERLINK(\"x\")";
const NAME: &str = "=HYPERLINK(\"http://evil.example\",\"x\")";
const ADDRESS: &str = "@SUM(A1)";
const ADDRESS2: &str = "+81-3-0000-0000";
const NAME2: &str = "-1+1";

fn csv_bytes(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

/// The cells of a downloaded CSV (UTF-8 with BOM).
fn cells(body: &str) -> Vec<Vec<String>> {
    let text = body.trim_start_matches('\u{feff}');
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn assert_no_formula(what: &str, body: &str, must_hold: &[&str]) {
    let all = cells(body);
    for row in &all {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{what}: live formula cell {cell:?} in {body}"
            );
        }
    }
    for value in must_hold {
        let quoted = format!("'{value}");
        assert!(
            all.iter().flatten().any(|c| *c == quoted),
            "{what}: {value:?} is not written as {quoted:?}: {body}"
        );
    }
}

fn assert_download(what: &str, resp: &crate::helpers::Response) {
    assert_eq!(resp.status, StatusCode::OK, "{what}: {}", resp.body);
    assert_eq!(resp.headers[header::CACHE_CONTROL], "no-store", "{what}");
    let disposition = resp.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"")
            && disposition.contains("; filename*=UTF-8''"),
        "{what}: {disposition}"
    );
}

#[tokio::test]
async fn formula_cells_from_the_register_are_text_in_every_csv() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    app.app()
        .upsert_employer(
            &admin,
            &Employer {
                code: code(EMPLOYER),
                name: "数式商事".into(),
                contact: "担当".into(),
            },
        )
        .await
        .unwrap();
    let header_row = vec![
        "保険者番号",
        "記号",
        "番号",
        "枝番",
        "氏名",
        "氏名カナ",
        "性別",
        "生年月日",
        "郵便番号",
        "住所",
        "住所2",
        "事業所記号",
        "本人家族",
        "資格取得日",
        "資格喪失日",
    ];
    let register = csv_bytes(&[
        header_row,
        vec![
            INSURER,
            "F1",
            "1",
            "00",
            NAME,
            "スウシキ イチ",
            "1",
            "1980-04-01",
            "1000001",
            ADDRESS,
            ADDRESS2,
            EMPLOYER,
            "本人",
            "2015-04-01",
            "",
        ],
        vec![
            INSURER,
            "F1",
            "2",
            "00",
            NAME2,
            "スウシキ ニ",
            "2",
            "1980-04-01",
            "1000001",
            "東京都千代田区千代田1-1",
            "",
            EMPLOYER,
            "本人",
            "2015-04-01",
            "",
        ],
    ]);
    app.app()
        .import_members(&app.staff(), "formula-members.csv", &register)
        .await
        .unwrap();
    app.sign_c(EMPLOYER).await;
    let staff = app.login("staff1").await;
    let list = csv_bytes(&[
        vec![
            "記号",
            "番号",
            "氏名",
            "生年月日",
            "がん検診の種類",
            "検診実施年月日",
            "同意",
        ],
        vec!["F1", "1", NAME, "1980-04-01", "肺", "2026-10-05", "1"],
        vec!["F1", "2", NAME2, "1980-04-01", "胃", "2026-10-05", "1"],
        vec!["F1", "99", NAME, "1980-04-01", "胃", "2026-10-05", "1"],
    ]);
    let base = format!(
        "/employer/{}",
        collabo_web::routes::encode_segment(EMPLOYER)
    );
    let up = app
        .post_file(&format!("{base}/referrals"), &staff, "list.csv", &list)
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    assert!(up.body.contains("を受け付けました"), "{}", up.body);
    app.run_engine().await;
    // The vendor's mailing list.
    let prepared = app.post_form("/staff/letters/prepare", &staff, &[]).await;
    assert_eq!(prepared.status, StatusCode::OK, "{}", prepared.body);
    let batch = app.app().batches(&app.staff()).await.unwrap()[0].id.clone();
    let mailing = app
        .get(
            &format!(
                "/staff/letters/{}/csv",
                collabo_web::routes::encode_segment(&batch)
            ),
            &staff,
        )
        .await;
    assert_download("mailing list", &mailing);
    assert_no_formula(
        "mailing list",
        &mailing.body,
        &[NAME, NAME2, ADDRESS, ADDRESS2],
    );
    // The cases export.
    let cases = app.get("/staff/exports/cases.csv", &staff).await;
    assert_download("cases", &cases);
    assert_no_formula("cases", &cases.body, &[EMPLOYER]);
    // The member search and the review queue (the row of an unknown number).
    let search = format!(
        "/staff/members/export.csv?q={}",
        crate::helpers::urlencode("スウシキ")
    );
    let found = app.get(&search, &staff).await;
    assert_download("member search", &found);
    assert_no_formula("member search", &found.body, &[NAME, NAME2]);
    assert_eq!(cells(&found.body).len(), 3, "header and the two found");
    let queue = app.get("/staff/review/export.csv", &staff).await;
    assert_download("review queue", &queue);
    assert_no_formula("review queue", &queue.body, &[]);
    let queue = cells(&queue.body);
    assert_eq!(queue[0][0], "No.", "{queue:?}");
    assert!(
        queue
            .iter()
            .any(|r| r.iter().any(|c| c.starts_with("F1-99（枝番なし） "))),
        "the unknown row as submitted: {queue:?}"
    );
    // Each list with a CSV has its Excel sheet too, of the same rows.
    let auditor = app.login("auditor1").await;
    let search_xlsx = search.replace(".csv", ".xlsx");
    for (path, who) in [
        (search_xlsx.as_str(), &staff),
        ("/staff/review/export.xlsx", &staff),
        ("/staff/exports/cases.xlsx", &staff),
        ("/staff/consents/register.xlsx", &staff),
        ("/audit/export.xlsx", &auditor),
    ] {
        let x = app.get(path, who).await;
        assert_eq!(x.status, StatusCode::OK, "{path}");
        assert_eq!(
            x.headers[axum::http::header::CONTENT_TYPE],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "{path}"
        );
        assert!(x.body.starts_with("PK"), "{path}: a zip container");
        let disposition = x.headers[axum::http::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(disposition.contains(".xlsx"), "{path}: {disposition}");
    }
    // The employer's aggregates.
    app.publish(&staff).await;
    let aggregates = app
        .get(
            &format!("{base}/aggregates.csv?fy={}", crate::helpers::FY),
            &staff,
        )
        .await;
    assert_download("aggregates", &aggregates);
    assert_no_formula("aggregates", &aggregates.body, &[EMPLOYER]);
}

#[tokio::test]
async fn a_hostile_employer_code_cannot_break_the_download_name() {
    let app = TestApp::spawn().await;
    let hostile = "Q\"Z;filename=evil.html";
    app.app()
        .upsert_employer(
            &app.admin(),
            &Employer {
                code: code(hostile),
                name: "引用符商事".into(),
                contact: "担当".into(),
            },
        )
        .await
        .unwrap();
    let staff: Client = app.login("staff1").await;
    let r = app
        .get(
            &format!(
                "/employer/{}/aggregates.csv?fy=2026",
                collabo_web::routes::encode_segment(hostile)
            ),
            &staff,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.headers[header::CONTENT_DISPOSITION].to_str().unwrap(),
        "attachment; filename=\"aggregates-Q_Z_filename_evil.html-2026.csv\"; filename*=UTF-8''aggregates-Q%22Z%3Bfilename%3Devil.html-2026.csv"
    );
}
