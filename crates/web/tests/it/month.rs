//! The society's month in the browser, route by route (issue 13): staff upload the
//! register, a claims file and bulk consents as jobs, run 抽出 as a job, read the
//! dashboard's status line and the case list; the review queue with its candidates,
//! one-click 確定 and bulk rejection; the opt-out through its confirmation and the
//! opt-out register; the employer's risk list by 年度, ordered and exported.

use crate::helpers::{TestApp, finished_job, key_text, referral_csv, register_csv, uke_bytes};
use axum::http::StatusCode;

#[tokio::test]
async fn staff_upload_the_register_and_claims_and_run_extraction_as_jobs() {
    let app = TestApp::spawn().await;
    let staff = app.login("staff1").await;
    let page = app.get("/staff/imports", &staff).await;
    assert_eq!(page.status, StatusCode::OK);
    for action in [
        "/staff/imports/members",
        "/staff/imports/claims",
        "/staff/imports/consents",
        "/staff/run",
    ] {
        assert!(
            page.body.contains(&format!("action=\"{action}\"")),
            "{action}"
        );
    }

    // The register again (the fixture's): already imported, said so, nothing changes.
    let started = app
        .post_file(
            "/staff/imports/members",
            &staff,
            "台帳.csv",
            &register_csv(),
        )
        .await;
    let done = finished_job(&app, &staff, &started).await;
    assert!(done.contains("完了しました"), "{done}");
    assert!(done.contains("取込済みです"), "{done}");

    // A register with a bad row: refused whole, the page names the line.
    let mut bad = String::from_utf8(register_csv()).unwrap();
    bad.push_str("06130012,E1,99,00,誤り 花子,ゴアヤマリ ハナコ,9,1980-04-01,1000001,東京都,,E1,本人,2015-04-01,\n");
    let started = app
        .post_file(
            "/staff/imports/members",
            &staff,
            "台帳2.csv",
            bad.as_bytes(),
        )
        .await;
    let refused = finished_job(&app, &staff, &started).await;
    assert!(refused.contains("取り込みませんでした"), "{refused}");
    let last_line = bad.lines().count();
    assert!(
        refused.contains(&format!("{last_line}行目")),
        "names line {last_line}: {refused}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM members WHERE number = '99'")
            .await,
        0
    );

    // A claims file, streamed to disk and imported: the month is in.
    let started = app
        .post_file(
            "/staff/imports/claims",
            &staff,
            "RECEIPTC_202610.UKE",
            &uke_bytes("2026-10", &[1, 2, 3]),
        )
        .await;
    let done = finished_job(&app, &staff, &started).await;
    assert!(done.contains("完了しました"), "{done}");
    assert!(done.contains("登録した行: 3"), "{done}");
    assert_eq!(app.count("SELECT COUNT(*) FROM visits").await, 3);
    let claims = app.get("/staff/claims", &staff).await;
    assert!(claims.body.contains("令和8年10月"), "{}", claims.body);

    // 抽出 as a job, with its summary in Japanese; the dashboard says when it ran.
    let dashboard = app.get("/staff", &staff).await;
    assert!(dashboard.body.contains("抽出はまだ実行していません"));
    app.add_checkups("E1", Some("E1"), &[crate::helpers::exam(5, 5.0, true)])
        .await;
    let started = app.post_form("/staff/run", &staff, &[]).await;
    let done = finished_job(&app, &staff, &started).await;
    assert!(done.contains("判定した加入者: 74人"), "{done}");
    assert!(done.contains("S 禁煙"), "{done}");
    let dashboard = app.get("/staff", &staff).await;
    assert!(
        dashboard.body.contains("前回の抽出: 令和8年11月24日"),
        "{}",
        dashboard.body
    );
    assert!(dashboard.body.contains("href=\"/staff/review\""));
    assert!(dashboard.body.contains("href=\"/staff/letters\""));
    assert!(
        dashboard
            .body
            .contains("/staff/cases?programme=S&#38;state="),
        "each count links to its list: {}",
        dashboard.body
    );
    assert!(!dashboard.body.contains("CLI"));

    // The case list, filtered.
    let cases = app.get("/staff/cases?programme=S", &staff).await;
    assert!(cases.body.contains("E1-5-00"), "{}", cases.body);
    let none = app.get("/staff/cases?programme=C", &staff).await;
    assert!(none.body.contains("条件に合う対象者はいません"));
    app.finish().await;
}

#[tokio::test]
async fn a_review_item_is_resolved_from_its_candidates_and_an_import_rejected_whole() {
    let app = TestApp::spawn().await;
    app.sign_c("E1").await;
    let staff = app.login("staff1").await;
    // Member 7 with a mistyped number (77) and member 8 with a mistyped name.
    let mut csv = String::from_utf8(referral_csv("E1", &[(1, "肺", "2026-10-05")])).unwrap();
    csv.push_str("E1,77,試験 太郎7,1980-04-01,胃,2026-10-05,1\n");
    csv.push_str("E1,8,別人 次郎,1980-04-01,胃,2026-10-05,1\n");
    let up = app
        .post_file("/employer/E1/referrals", &staff, "10月.csv", csv.as_bytes())
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    let queue = app.get("/staff/review", &staff).await;
    assert_eq!(queue.status, StatusCode::OK);
    let body = &queue.body;
    assert!(body.contains("記号番号に該当する加入者なし"), "{body}");
    assert!(
        body.contains("E1-77（枝番なし） 試験 太郎7"),
        "the row as submitted, its missing 枝番 said: {body}"
    );
    assert!(!body.contains("E1-77---"));
    assert!(
        body.contains("E1-7-00 試験 太郎7"),
        "the candidate by name and birth date: {body}"
    );
    assert!(body.contains("生年月日・氏名が一致"), "{body}");
    assert!(body.contains("この加入者で確定"));
    assert!(
        body.contains("data-confirm=\"No."),
        "却下 asks first: {body}"
    );
    let id = app
        .count("SELECT id FROM review_items WHERE subject LIKE '%:E1:77:%'")
        .await;
    let resolved = app
        .post_form(
            &format!("/staff/review/{id}/resolve"),
            &staff,
            &[("member", &key_text("E1", 7))],
        )
        .await;
    assert_eq!(resolved.status, StatusCode::SEE_OTHER, "{}", resolved.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM referrals WHERE member_key LIKE '%:E1:7:00'")
            .await,
        1
    );
    // A card typed as staff write it is read too; a nonsense one is refused in Japanese.
    let bad = app
        .post_form("/staff/review/999/resolve", &staff, &[("member", "1001")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("記号-番号-枝番"), "{}", bad.body);

    // The rest of the import, rejected whole with a reason.
    let import = app
        .count("SELECT import_id FROM review_items WHERE status = 'open'")
        .await;
    let filtered = app
        .get(&format!("/staff/review?import={import}"), &staff)
        .await;
    assert!(
        filtered.body.contains("1件をすべて却下"),
        "{}",
        filtered.body
    );
    let no_reason = app
        .post_form(
            "/staff/review/reject-import",
            &staff,
            &[("import", &import.to_string()), ("reason", " ")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    let rejected = app
        .post_form(
            "/staff/review/reject-import",
            &staff,
            &[
                ("import", &import.to_string()),
                ("reason", "別事業所の誤送付"),
            ],
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    assert!(rejected.body.contains("1件を却下しました"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM review_items WHERE status = 'open'")
            .await,
        0
    );
    let audited = app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'review.reject' AND detail LIKE '%別事業所の誤送付%'")
        .await;
    assert_eq!(audited, 1);
    app.finish().await;
}

#[tokio::test]
async fn an_opt_out_is_recorded_only_after_its_confirmation_and_is_in_the_register() {
    let app = TestApp::spawn().await;
    app.add_checkups("E1", Some("E1"), &[crate::helpers::exam(5, 7.5, true)])
        .await;
    let staff = app.login("staff1").await;
    // Found by hiragana, without the space.
    let found = app
        .get(
            "/staff/consents?q=%E3%81%97%E3%81%91%E3%82%93%E3%81%9F%E3%82%8D%E3%81%865",
            &staff,
        )
        .await;
    assert!(found.body.contains("E1-5-00 試験 太郎5"), "{}", found.body);
    assert!(found.body.contains("この加入者の申出を登録"));
    let member = key_text("E1", 5);
    let form = app
        .get(&format!("/staff/consents?member={member}"), &staff)
        .await;
    assert!(
        form.body.contains("action=\"/staff/consents/confirm\""),
        "{}",
        form.body
    );
    let fields = [
        ("member", member.as_str()),
        ("kind", "opt_out"),
        ("scope", "all"),
        ("effective", "2026-11-24"),
        ("channel", "phone"),
    ];
    let confirm = app
        .post_form("/staff/consents/confirm", &staff, &fields)
        .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    let body = &confirm.body;
    assert!(body.contains("まだ登録していません"), "{body}");
    assert!(body.contains("E1-5-00 試験 太郎5"));
    assert!(body.contains("昭和55年4月1日"), "生年月日: {body}");
    assert!(body.contains("事業所"));
    assert!(body.contains("削除する健診結果（事業所提供分）"));
    assert!(
        body.contains("<dd>1件</dd>"),
        "one checkup to delete: {body}"
    );
    assert!(body.contains("電話"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM consents").await,
        0,
        "the confirmation records nothing"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM checkups WHERE member_key LIKE '%:E1:5:00'")
            .await,
        1,
        "and deletes nothing"
    );
    let done = app.post_form("/staff/consents", &staff, &fields).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("削除した健診結果"));
    assert_eq!(app.count("SELECT COUNT(*) FROM consents").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM checkups WHERE member_key LIKE '%:E1:5:00'")
            .await,
        0
    );
    // The member page says so at the top; 受付方法 in Japanese.
    let page = app.get(&format!("/staff/members/{member}"), &staff).await;
    let badge = page.body.find("データ共有停止中").expect("badge");
    let facts = page.body.find("記号-番号-枝番").unwrap();
    assert!(badge < facts, "the badge comes first");
    assert!(page.body.contains("<td>電話</td>"), "{}", page.body);
    assert!(!page.body.contains("<td>phone</td>"));
    // The register lists it, searchable, and as CSV.
    let register = app.get("/staff/consents/register?q=太郎5", &staff).await;
    assert!(
        register.body.contains("E1-5-00 試験 太郎5"),
        "{}",
        register.body
    );
    let other = app.get("/staff/consents/register?q=太郎6", &staff).await;
    assert!(other.body.contains("記録はありません"));
    let csv = app.get("/staff/consents/register.csv", &staff).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.contains("E1-5-00,試験 太郎5"), "{}", csv.body);
    assert!(csv.body.contains("停止"));
    app.finish().await;
}

#[tokio::test]
async fn the_risk_list_opens_on_the_latest_year_with_data_and_exports_what_it_shows() {
    let app = TestApp::spawn().await;
    // Checkups of the year before (FY2025) only: December's empty year is not shown.
    // HbA1c 7.0 is 受診勧奨判定値 (≥ 6.5); 8.4 is すぐに受診 (≥ 8.0), so each level shows.
    let exams: Vec<_> = (1..=3)
        .map(|n| crate::helpers::exam(n, if n == 3 { 8.4 } else { 7.0 }, false))
        .collect();
    let path = app.checkup_archive("E1", Some("E1"), &exams, "2025-06-01");
    app.app()
        .import_checkups(
            &app.employer("E1"),
            Some(&crate::helpers::code("E1")),
            &path,
        )
        .await
        .unwrap();
    let emp = app.login("emp1").await;
    let list = app.get("/employer/E1/risk-holders", &emp).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("令和7年度"), "{}", list.body);
    assert!(list.body.contains("試験 太郎3"));
    assert!(
        list.body
            .contains("<option value=\"2026\">令和8年度</option>")
    );
    assert!(list.body.contains("class=\"nowrap\""), "names do not wrap");
    let empty = app.get("/employer/E1/risk-holders?fy=2026", &emp).await;
    assert!(empty.body.contains("この年度の該当者はいません"));
    // Ordered by 記号番号 numerically, then exported as CSV and XLSX.
    let csv = app
        .get("/employer/E1/risk-holders/export?fy=2025&order=card", &emp)
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 4, "{}", csv.body);
    assert!(lines[1].contains("E1-1-00") && lines[3].contains("E1-3-00"));
    // The level in words, per person, on the page and in the export.
    assert!(lines[1].contains("受診勧奨判定値") && !lines[1].contains("すぐに受診"));
    assert!(lines[3].contains("すぐに受診"), "{}", lines[3]);
    assert!(list.body.contains("すぐに受診"), "{}", list.body);
    let xlsx = app
        .get("/employer/E1/risk-holders/export?fy=2025&format=xlsx", &emp)
        .await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(
        xlsx.headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    app.finish().await;
}

#[tokio::test]
async fn the_auditor_filters_by_period_person_and_action_in_japanese_and_exports() {
    let app = TestApp::spawn().await;
    let staff = app.login("staff1").await;
    let member = key_text("E1", 3);
    let seen = app.get(&format!("/staff/members/{member}"), &staff).await;
    assert_eq!(seen.status, StatusCode::OK);
    let auditor = app.login("auditor1").await;
    let log = app
        .get(
            "/audit?member=E1-3-00&action=member.view&from=2026-11-24&to=2026-11-24",
            &auditor,
        )
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    assert!(log.body.contains("加入者情報の閲覧"), "{}", log.body);
    assert!(log.body.contains("保健事業担当"), "the role in Japanese");
    assert!(log.body.contains("<td>E1-3-00</td>"), "{}", log.body);
    assert!(log.body.contains("<option value=\"member.view\" selected>"));
    let before = app
        .get("/audit?member=E1-3-00&to=2026-11-23", &auditor)
        .await;
    assert!(before.body.contains("該当 0件"), "{}", before.body);
    let csv = app
        .get(
            "/audit/export.csv?member=E1-3-00&action=member.view",
            &auditor,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.body.contains("加入者情報の閲覧,member.view,E1-3-00"),
        "{}",
        csv.body
    );
    let bad = app.get("/audit?from=yesterday", &auditor).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    app.finish().await;
}

#[tokio::test]
async fn admin_pages_ask_before_ending_and_keep_what_they_should() {
    let app = TestApp::spawn().await;
    app.sign_c("E1").await;
    let admin = app.login("admin1").await;
    // Re-saving a user (a new password) keeps the second factor they enrolled.
    let saved = app
        .post_form(
            "/admin/users",
            &admin,
            &[
                ("username", "staff1"),
                ("display_name", "職員 一郎"),
                ("password", "another long password"),
                ("role", "staff"),
                ("employers", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM web_users WHERE username = 'staff1' AND totp_enrolled = 1 AND totp_secret IS NOT NULL")
            .await,
        1
    );
    let users = app.get("/admin/users", &admin).await;
    assert!(
        users.body.contains("の二要素認証をリセットします"),
        "TOTP reset asks first: {}",
        users.body
    );
    // A signed 覚書 offers only 解約, and asks first.
    let employers = app.get("/admin/employers", &admin).await;
    assert!(
        employers.body.contains("を解約します"),
        "{}",
        employers.body
    );
    assert!(!employers.body.contains(">締結</button>"));
    // Templates by kind, each built-in downloadable.
    let templates = app.get("/admin/templates", &admin).await;
    assert!(templates.body.contains("S 禁煙治療の勧奨"));
    assert!(templates.body.contains("/admin/templates/R.typ/builtin"));
    let source = app.get("/admin/templates/R.typ/builtin", &admin).await;
    assert_eq!(source.status, StatusCode::OK);
    assert!(!source.body.is_empty());
    assert_eq!(
        app.get("/admin/templates/nope.typ/builtin", &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The 2FA setup shows a QR code drawn on the server.
    let emp = app.login("emp1").await;
    let setup = app.get("/totp/setup", &emp).await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    assert!(
        setup.body.contains("<img src=\"data:image/svg+xml,"),
        "{}",
        setup.body
    );
    app.finish().await;
}

#[tokio::test]
async fn the_member_search_orders_by_kana_by_card_numerically_and_exports_in_that_order() {
    let app = TestApp::spawn().await;
    let staff = app.login("staff1").await;
    let at = |body: &str, card: &str| {
        body.find(&format!(">{card}<"))
            .unwrap_or_else(|| panic!("{card} not on the page: {body}"))
    };
    let q = crate::helpers::urlencode("試験");
    let by_card = app
        .get(&format!("/staff/members?q={q}&order=card"), &staff)
        .await;
    assert_eq!(by_card.status, StatusCode::OK, "{}", by_card.body);
    assert!(
        at(&by_card.body, "E1-2-00") < at(&by_card.body, "E1-10-00"),
        "番号 2 before 10 in 記号番号順"
    );
    assert!(by_card.body.contains("<option value=\"card\" selected>"));
    let by_kana = app.get(&format!("/staff/members?q={q}"), &staff).await;
    assert!(
        at(&by_kana.body, "E1-10-00") < at(&by_kana.body, "E1-2-00"),
        "タロウ10 before タロウ2 in カナ順"
    );
    let csv = app
        .get(
            &format!("/staff/members/export.csv?q={q}&order=card"),
            &staff,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(lines[0].contains("記号-番号-枝番"), "{}", lines[0]);
    assert!(lines[2].starts_with("E1-2-00,"), "{:?}", &lines[..4]);
    assert_eq!(lines.len(), 1 + 74, "every member found, not one page");
    app.finish().await;
}
