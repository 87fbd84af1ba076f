//! PostgreSQL smoke test on a fresh database created on the local server. An
//! unreachable server fails the test (it is not skipped).

use crate::helpers::{TestApp, referral_csv};
use axum::http::StatusCode;
use sqlx::Connection;

#[tokio::test]
async fn the_portal_runs_on_postgresql() {
    let admin_url = "postgres://postgres@127.0.0.1:5432/test";
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin_url} is unreachable ({e}); start it with scripts/setup.sh")
        });
    let name = format!("collabo_web_{}", collabo_web::auth::random_hex(6));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    let app = TestApp::on(&url, tempfile::tempdir().unwrap()).await;
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
    let staff = app.login("staff1").await;
    assert_eq!(app.get("/staff", &staff).await.status, StatusCode::OK);
    let csv = app.get("/employer/E1/aggregates.csv", &emp1).await;
    assert!(csv.body.contains("秘匿"));
    assert_eq!(app.store().verify_audit().await.unwrap().first_broken, None);
    app.store().close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
}
