//! Issue 10 through HTTP: the admin's letterhead and expected claims streams, a claims
//! month closed by hand from the staff page and shown on the dashboard, and a cancelled
//! batch whose files are no longer served.

use crate::helpers::{TestApp, exam};
use axum::http::StatusCode;

#[tokio::test]
async fn the_admin_sets_the_letterhead_and_the_streams_and_letters_print_them() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin1").await;
    let page = app.get("/admin/society", &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("平日 9:00～17:00") && page.body.contains("医科・DPC・歯科・調剤"));
    let r = app
        .post_form(
            "/admin/society",
            &admin,
            &[
                ("name", "テスト健康保険組合"),
                ("section", "保健事業課"),
                ("address", "〒100-0001 東京都千代田区千代田1-1"),
                ("phone", "03-9999-0000"),
                ("hours", "平日 8:30～17:00"),
                ("streams", "医科・調剤"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let bad = app
        .post_form(
            "/admin/society",
            &admin,
            &[
                ("name", "テスト健康保険組合"),
                ("section", ""),
                ("address", ""),
                ("phone", "03-9999-0000"),
                ("hours", "平日"),
                ("streams", "医科・眼科"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let page = app.get("/admin/society", &admin).await;
    assert!(page.body.contains("03-9999-0000") && page.body.contains("value=\"医科・調剤\""));
    // A letter prepared now prints the new phone and hours.
    app.add_checkups("E1", Some("E1"), &[exam(1, 5.0, true)])
        .await;
    app.run_engine().await;
    let staff = app.login("staff1").await;
    let r = app.post_form("/staff/letters/prepare", &staff, &[]).await;
    assert!(r.body.contains("を作成しました（1通"), "{}", r.body);
    let pdf = app
        .get("/staff/letters/B20261124-01/pdf?part=0", &staff)
        .await;
    assert_eq!(pdf.status, StatusCode::OK);
    let path = app.dir.path().join("batches/B20261124-01/part-0001.pdf");
    let out = std::process::Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace([' ', '\u{3000}'], "");
    assert!(
        text.contains("03-9999-0000") && text.contains("平日8:30～17:00"),
        "{text}"
    );
}

#[tokio::test]
async fn staff_close_a_month_by_hand_and_the_dashboard_says_how_far_claims_are_complete() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin1").await;
    app.post_form(
        "/admin/society",
        &admin,
        &[
            ("name", "テスト健康保険組合"),
            ("section", "保健事業課"),
            ("address", "東京都"),
            ("phone", "03-0000-0000"),
            ("hours", "平日 9:00～17:00"),
            ("streams", "歯科"),
        ],
    )
    .await;
    let staff = app.login("staff1").await;
    let r = app
        .post_form(
            "/staff/claims/close",
            &staff,
            &[("month", "2026-09"), ("stream", "dental"), ("reason", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a reason is required");
    let r = app
        .post_form(
            "/staff/claims/close",
            &staff,
            &[
                ("month", "2026-09"),
                ("stream", "dental"),
                ("reason", "9月診療分の歯科は請求なし"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let claims = app.get("/staff/claims", &staff).await;
    assert!(
        claims.body.contains("手動確定（請求なし）"),
        "{}",
        claims.body
    );
    let dash = app.get("/staff", &staff).await;
    assert!(
        dash.body
            .contains("レセプト取込済: 令和8年9月診療分まで（歯科）"),
        "{}",
        dash.body
    );
    let r = app
        .post_form(
            "/staff/claims/reopen",
            &staff,
            &[
                ("month", "2026-09"),
                ("stream", "dental"),
                ("reason", "月遅れ分が届く"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let dash = app.get("/staff", &staff).await;
    assert!(
        dash.body.contains("完了した診療月はまだありません"),
        "{}",
        dash.body
    );
}

#[tokio::test]
async fn a_cancelled_batchs_files_are_no_longer_served() {
    let app = TestApp::spawn().await;
    app.add_checkups("E1", Some("E1"), &[exam(1, 5.0, true), exam(2, 5.0, true)])
        .await;
    app.run_engine().await;
    let staff = app.login("staff1").await;
    app.post_form("/staff/letters/prepare", &staff, &[]).await;
    let batch = app.get("/staff/letters/B20261124-01", &staff).await;
    assert!(
        batch.body.contains("B20261124-01_通知_1of1.pdf") && batch.body.contains("封筒2通"),
        "{}",
        batch.body
    );
    let pdf = app
        .get("/staff/letters/B20261124-01/pdf?part=0", &staff)
        .await;
    assert_eq!(pdf.status, StatusCode::OK);
    let r = app
        .post_form("/staff/letters/B20261124-01/cancel", &staff, &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    for path in [
        "/staff/letters/B20261124-01/pdf?part=0",
        "/staff/letters/B20261124-01/csv",
    ] {
        let r = app.get(path, &staff).await;
        assert_ne!(r.status, StatusCode::OK, "{path}");
        assert!(r.body.contains("取り消されたため"), "{path}: {}", r.body);
    }
    let list = app.get("/staff/letters", &staff).await;
    assert!(
        !list.body.contains("/staff/letters/B20261124-01/pdf"),
        "no link to its PDF"
    );
}

#[tokio::test]
async fn a_template_is_previewed_before_it_is_saved_a_wrong_name_is_refused_and_an_upload_is_deleted()
 {
    let app = TestApp::spawn().await;
    let admin = app.login("admin1").await;
    let dir = app.dir.path().join("templates");
    let builtin = app.get("/admin/templates/R.typ/builtin", &admin).await;
    assert_eq!(builtin.status, StatusCode::OK);
    let edited = builtin.body.replacen("#", "// 組合で編集\n#", 1);
    // A name that is not a template's is refused, naming the names that are; nothing
    // is written.
    let wrong = app
        .post_file("/admin/templates", &admin, "R_new.typ", edited.as_bytes())
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    assert!(wrong.body.contains("R.typ") && wrong.body.contains("layout.typ"));
    assert!(!dir.join("R_new.typ").exists());
    // A preview renders the sample letter with the upload and saves nothing.
    let preview = app
        .post_file(
            "/admin/templates/preview",
            &admin,
            "R.typ",
            edited.as_bytes(),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert_eq!(
        preview.headers[axum::http::header::CONTENT_TYPE],
        "application/pdf"
    );
    assert!(preview.body.starts_with("%PDF"));
    assert!(!dir.join("R.typ").exists(), "a preview saves nothing");
    let broken = app
        .post_file("/admin/templates/preview", &admin, "R.typ", b"#let x = (")
        .await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        broken.body.contains("プレビューを作れませんでした"),
        "{}",
        broken.body
    );
    // Saved, it is in use; deleted (after its confirmation), the built-in one is again.
    let saved = app
        .post_file("/admin/templates", &admin, "R.typ", edited.as_bytes())
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(std::fs::read_to_string(dir.join("R.typ")).unwrap(), edited);
    let list = app.get("/admin/templates", &admin).await;
    assert!(
        list.body
            .contains("data-confirm=\"アップロードした R.typ を削除し"),
        "{}",
        list.body
    );
    let deleted = app
        .post_form("/admin/templates/R.typ/delete", &admin, &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert!(!dir.join("R.typ").exists());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'admin.template.delete' AND detail = 'R.typ'")
            .await,
        1
    );
    let again = app
        .post_form("/admin/templates/R.typ/delete", &admin, &[])
        .await;
    assert_eq!(
        again.status,
        StatusCode::NOT_FOUND,
        "nothing left to delete"
    );
    // Staff can do none of it.
    let staff = app.login("staff1").await;
    let denied = app
        .post_file(
            "/admin/templates/preview",
            &staff,
            "R.typ",
            edited.as_bytes(),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}
