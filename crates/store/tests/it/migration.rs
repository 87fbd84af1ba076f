//! Migration 0004 (issue 10) over a database written by the earlier schema, on both
//! backends: months that counted as covered become single-volume arrivals of the stream
//! their file name says, so with four streams expected they wait for the other three;
//! letters get their envelope and batches their number of parts.

use crate::harness::{INSURER, empty_database, test_seal};
use collabo_domain::calendar::YearMonth;
use collabo_domain::coverage::{ClaimStream, Volume};
use collabo_store::Store;

/// Applies the migrations before 0004 (copies of the same files, so their checksums match).
async fn run_first_three(dialect: &str, url: &str) {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    let old = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < "0004" {
            std::fs::copy(&path, old.path().join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(old.path()).await.unwrap();
    assert_eq!(migrator.iter().count(), 3);
    if dialect == "sqlite" {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        migrator.run(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        migrator.run(&pool).await.unwrap();
        pool.close().await;
    }
}

const OLD_ROWS: &[&str] = &[
    "INSERT INTO societies (insurer, name, section, address, phone) VALUES ('06139999', 'テスト健保', '保健事業課', '', '')",
    "INSERT INTO imports (id, insurer, kind, file_name, sha256, employer_code, imported_at, actor, summary)
     VALUES (1, '06139999', 'claims', 'RECEIPTC_202510.UKE', 'a', NULL, '2025-12-05T03:00:00Z', 'staff', '{}')",
    "INSERT INTO imports (id, insurer, kind, file_name, sha256, employer_code, imported_at, actor, summary)
     VALUES (2, '06139999', 'claims', 'receiptd_202511.uke', 'b', NULL, '2026-01-05T03:00:00Z', 'staff', '{}')",
    "INSERT INTO claims_coverage (insurer, month, import_id) VALUES ('06139999', '2025-10', 1)",
    "INSERT INTO claims_coverage (insurer, month, import_id) VALUES ('06139999', '2025-11', 2)",
    "INSERT INTO letter_batches (id, insurer, prepared_on, status, letters, pdf_path, csv_path)
     VALUES ('B20251016-01', '06139999', '2025-10-16', 'mailed', 3, NULL, NULL)",
    "INSERT INTO letters (batch_id, seq, case_key, member_key, kind, part) VALUES ('B20251016-01', 1, 'k1', 'm1', 'S', 0)",
    "INSERT INTO letters (batch_id, seq, case_key, member_key, kind, part) VALUES ('B20251016-01', 2, 'k2', 'm2', 'S', 0)",
    "INSERT INTO letters (batch_id, seq, case_key, member_key, kind, part) VALUES ('B20251016-01', 3, 'k3', 'm3', 'S', 1)",
];

async fn exec(url: &str, sql: &str) {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

async fn check(postgres: bool) {
    let (url, dir) = empty_database(postgres).await;
    run_first_three(if postgres { "postgres" } else { "sqlite" }, &url).await;
    for sql in OLD_ROWS {
        exec(&url, sql).await;
    }
    // Opening the database runs 0004.
    let store = Store::open(&url, Some(INSURER), test_seal(&dir))
        .await
        .unwrap();
    let mut r = store.read().await.unwrap();
    let ledger = r.claims_ledger().await.unwrap();
    let arrivals: Vec<(ClaimStream, YearMonth, Volume, u64, String)> = ledger
        .arrivals
        .iter()
        .map(|a| {
            (
                a.stream,
                a.month,
                a.volume,
                a.regular_claims,
                a.arrived_on.to_string(),
            )
        })
        .collect();
    let ym = |m| YearMonth::parse(m).unwrap();
    assert_eq!(
        arrivals,
        [
            (
                ClaimStream::Medical,
                ym("2025-10"),
                Volume::SINGLE,
                1,
                "2025-12-05".into()
            ),
            (
                ClaimStream::Dpc,
                ym("2025-11"),
                Volume::SINGLE,
                1,
                "2026-01-05".into()
            ),
        ]
    );
    assert_eq!(ledger.expected, ClaimStream::ALL.into_iter().collect());
    assert!(
        ledger.coverage().months().next().is_none(),
        "a month covered by one file now waits for the other streams"
    );
    let batch = r.batch("B20251016-01").await.unwrap().unwrap();
    assert_eq!(
        (batch.parts, batch.envelopes, batch.active_letters),
        (2, 3, 3)
    );
    drop(r);
    store.close().await;
}

#[tokio::test]
async fn migration_0004_carries_over_coverage_and_letters_on_sqlite() {
    check(false).await;
}

#[tokio::test]
async fn migration_0004_carries_over_coverage_and_letters_on_postgres() {
    check(true).await;
}
