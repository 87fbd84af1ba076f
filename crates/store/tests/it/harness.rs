//! Test databases: a fresh SQLite file or PostgreSQL database per test, with the
//! society registered and a test audit key and anchor file.

use collabo_store::{AuditSeal, Society, Store};
use std::sync::atomic::{AtomicU32, Ordering};

pub const INSURER: &str = "06139999";

/// A fresh database and its store.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    pub dir: tempfile::TempDir,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn society() -> Society {
    Society {
        insurer: INSURER.into(),
        name: "テスト健保".into(),
        section: "保健事業課".into(),
        address: String::new(),
        phone: String::new(),
    }
}

fn seal(dir: &tempfile::TempDir) -> AuditSeal {
    AuditSeal::new(
        b"a test key of 32 bytes, no more.".to_vec(),
        Some(dir.path().join("anchor.log")),
    )
}

/// An empty database (no migrations run): its URL and a folder for the anchor file.
pub async fn empty_database(postgres: bool) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    if !postgres {
        let url = format!("sqlite:{}", dir.path().join("old.sqlite").display());
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("old.sqlite"))
            .create_if_missing(true);
        sqlx::SqlitePool::connect_with(options)
            .await
            .unwrap()
            .close()
            .await;
        return (url, dir);
    }
    let admin_url = std::env::var("COLLABO_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!(
        "collabo_old_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(b, _)| b)
        .to_owned();
    (format!("{base}/{name}"), dir)
}

/// A test audit seal with its anchor file in `dir`.
pub fn test_seal(dir: &tempfile::TempDir) -> AuditSeal {
    seal(dir)
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("t.sqlite").display());
        let store = Store::init(&url, &society(), seal(&dir)).await.unwrap();
        TestDb { store, url, dir }
    }

    pub async fn postgres() -> TestDb {
        let admin_url = std::env::var("COLLABO_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!(
            "collabo_it_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let admin = sqlx::PgPool::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is required for the store tests (run scripts/setup.sh): {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&admin)
        .await
        .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b)
            .to_owned();
        let url = format!("{base}/{name}");
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(&url, &society(), seal(&dir)).await.unwrap();
        TestDb { store, url, dir }
    }

    /// The same database opened again with another key (someone without the key).
    pub async fn reopen_with_key(&self, key: &[u8]) -> Store {
        Store::open(
            &self.url,
            None,
            AuditSeal::new(key.to_vec(), Some(self.dir.path().join("anchor.log"))),
        )
        .await
        .unwrap()
    }
}
