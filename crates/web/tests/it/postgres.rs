//! PostgreSQL smoke test on a fresh database created on the local server
//! (`COLLABO_TEST_PG`, default postgres://postgres@127.0.0.1:5432/test). An unreachable
//! server fails the test (it is not skipped).

use crate::helpers::{FY, TestApp, exam, referral_csv};
use axum::http::StatusCode;

#[tokio::test]
async fn the_portal_runs_on_postgresql() {
    let app = TestApp::postgres().await;
    assert_eq!(app.app().backend(), collabo_app::Backend::Postgres);
    let emp1 = app.login("emp1").await;
    let up = app
        .post_file(
            "/employer/E1/referrals",
            &emp1,
            "pg.csv",
            &referral_csv("E1", &[(1, "肺", "2026-10-05")]),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM referrals").await, 1);
    app.add_checkups(
        "E1",
        Some("E1"),
        &(1..=20).map(|n| exam(n, 7.0, false)).collect::<Vec<_>>(),
    )
    .await;
    let holders = app.get("/employer/E1/risk-holders", &emp1).await;
    assert_eq!(holders.body.matches("<tr>").count(), 1 + 20);
    let staff = app.login("staff1").await;
    assert_eq!(app.get("/staff", &staff).await.status, StatusCode::OK);
    app.publish(&staff).await;
    let csv = app
        .get(&format!("/employer/E1/aggregates.csv?fy={FY}"), &emp1)
        .await;
    assert!(csv.body.contains(",健診受診者数,20,"), "{}", csv.body);
    assert!(
        csv.body.contains(",リスク保有者数（いずれかの項目）,秘匿,"),
        "20 of 20: {}",
        csv.body
    );
    assert!(
        app.app()
            .verify_audit(&app.auditor())
            .await
            .unwrap()
            .is_intact()
    );
    app.finish().await;
}
