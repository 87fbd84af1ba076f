//! 様式: every list form downloads with the headers its reader looks for, filled in
//! with its own example values it imports, without any required column it is refused
//! naming that column, and without any optional column it is still read. An employer
//! contact gets only the forms it submits.

use crate::helpers::{INSURER, TestApp, code};
use axum::http::StatusCode;
use collabo_app::tabular::list_form;
use collabo_domain::admission::ImportKind;

const KINDS: [ImportKind; 4] = [
    ImportKind::Referrals,
    ImportKind::Checkups,
    ImportKind::Consents,
    ImportKind::Members,
];

/// Values that make the example row name a person of the test register (or, for the
/// register itself, a new person of employer E1).
fn person(kind: ImportKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        ImportKind::Members => &[
            ("保険者番号", INSURER),
            ("記号", "E1"),
            ("番号", "70"),
            ("事業所記号", "E1"),
        ],
        ImportKind::Referrals => &[
            ("記号", "E1"),
            ("番号", "5"),
            ("氏名", "試験 太郎5"),
            ("検診実施年月日", "2026-10-05"),
        ],
        ImportKind::Checkups => &[
            ("保険者番号", INSURER),
            ("記号", "E1"),
            ("番号", "5"),
            ("氏名カナ", "シケン タロウ5"),
            ("性別", "1"),
        ],
        ImportKind::Consents => &[("記号", "E1"), ("番号", "6"), ("適用日", "2026-11-20")],
        ImportKind::Claims => &[],
    }
}

/// The form filled in with one row (CRLF, as Excel saves it), leaving out `without`.
fn filled(kind: ImportKind, without: Option<&str>) -> Vec<u8> {
    let columns: Vec<_> = list_form(kind)
        .unwrap()
        .into_iter()
        .filter(|c| Some(c.header) != without)
        .collect();
    let header: Vec<&str> = columns.iter().map(|c| c.header).collect();
    let row: Vec<&str> = columns
        .iter()
        .map(|c| {
            person(kind)
                .iter()
                .find(|(h, _)| *h == c.header)
                .map_or(c.example, |(_, v)| v)
        })
        .collect();
    format!("{}\r\n{}\r\n", header.join(","), row.join(",")).into_bytes()
}

/// Imports through the door the upload pages use; the rows read, or the error text.
async fn import(app: &TestApp, kind: ImportKind, bytes: &[u8]) -> Result<u64, String> {
    let e1 = code("E1");
    let file = "様式.csv";
    let result = match kind {
        ImportKind::Members => app
            .app()
            .import_members(&app.staff(), file, bytes)
            .await
            .map(|r| r.summary.rows),
        ImportKind::Referrals => app
            .app()
            .import_referrals(&app.employer("E1"), &e1, file, bytes)
            .await
            .map(|r| r.summary.rows),
        ImportKind::Checkups => app
            .app()
            .import_checkups_upload(&app.employer("E1"), Some(&e1), file, bytes)
            .await
            .map(|r| r.summary.rows),
        ImportKind::Consents => app.app().import_consents(&app.staff(), file, bytes).await,
        ImportKind::Claims => unreachable!(),
    };
    result.map_err(|e| e.to_string())
}

#[tokio::test]
async fn every_form_downloads_with_its_readers_headers_and_imports_when_filled_in() {
    let app = TestApp::spawn().await;
    app.sign_c("E1").await;
    let staff = app.login("staff1").await;
    let emp = app.login("emp1").await;
    for kind in KINDS {
        let columns = list_form(kind).unwrap();
        let headers: Vec<&str> = columns.iter().map(|c| c.header).collect();
        let by_employer = matches!(kind, ImportKind::Referrals | ImportKind::Checkups);
        let client = if by_employer { &emp } else { &staff };
        let csv = app
            .get(&format!("/forms/{}.csv", kind.code()), client)
            .await;
        assert_eq!(csv.status, StatusCode::OK, "{kind:?}: {}", csv.body);
        let first = csv.body.trim_start_matches('\u{feff}').lines().next();
        assert_eq!(first, Some(headers.join(",").as_str()), "{kind:?}");
        assert_eq!(csv.body.trim_end().lines().count(), 1, "header row only");
        let xlsx = app
            .get(&format!("/forms/{}.xlsx", kind.code()), client)
            .await;
        assert_eq!(xlsx.status, StatusCode::OK);
        assert!(
            xlsx.body.starts_with("PK\u{3}\u{4}"),
            "{kind:?}: a workbook"
        );
        if !by_employer {
            assert_eq!(
                app.get(&format!("/forms/{}.csv", kind.code()), &emp)
                    .await
                    .status,
                StatusCode::NOT_FOUND,
                "an employer is not handed the society's forms"
            );
        }
        // Filled in with its example row, the form imports.
        assert_eq!(
            import(&app, kind, &filled(kind, None)).await,
            Ok(1),
            "{kind:?}"
        );
        for column in &columns {
            let result = import(&app, kind, &filled(kind, Some(column.header))).await;
            if column.required {
                let message = result.expect_err(column.header);
                assert!(
                    message.contains(column.header),
                    "{kind:?} without {}: {message}",
                    column.header
                );
            } else {
                assert_eq!(result, Ok(1), "{kind:?} without {}", column.header);
            }
        }
    }
    // The page says how to fill in each column, and the upload pages link to it.
    let page = app.get("/forms", &emp).await;
    assert!(page.body.contains("がん検診の種類"), "{}", page.body);
    assert!(
        !page.body.contains("資格取得日"),
        "only the employer's forms"
    );
    let overview = app.get("/employer/E1", &emp).await;
    assert!(overview.body.contains("/forms/referrals.xlsx"));
    assert!(overview.body.contains("/forms/checkups.csv"));
    let imports = app.get("/staff/imports", &staff).await;
    assert!(imports.body.contains("/forms/members.csv"));
    assert!(imports.body.contains("/forms/consents.xlsx"));
    app.finish().await;
}
