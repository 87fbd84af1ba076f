//! What the store itself guarantees, on both databases: the same migrations, no column
//! that could hold claims details, a transaction that leaves nothing when dropped, and a
//! keyed, anchored audit chain. Behaviour (imports, purge, runs, letters) is tested
//! through the one door in crates/app/tests.

use crate::harness::*;
use collabo_domain::actor::Actor;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::Role;
use collabo_domain::employer::Employer;
use collabo_domain::ids::EmployerCode;

macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(crate::harness::TestDb::sqlite().await).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(crate::harness::TestDb::postgres().await).await;
            }
        }
    };
}

fn actor() -> Actor {
    Actor::new(
        "staff1",
        Role::Staff,
        "test",
        "2025-07-10T03:00:00Z".parse().unwrap(),
    )
}

#[test]
fn both_backends_have_the_same_migrations() {
    let names = |dir: &str| {
        let mut v: Vec<String> =
            std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
        v.sort();
        v
    };
    assert_eq!(names("sqlite"), names("postgres"));
    assert!(!names("sqlite").is_empty());
}

both!(no_column_could_hold_claims_details);
async fn no_column_could_hold_claims_details(db: TestDb) {
    let columns = db
        .store
        .read()
        .await
        .unwrap()
        .schema_columns()
        .await
        .unwrap();
    let visits: Vec<&str> = columns
        .iter()
        .filter(|(t, _)| t == "visits")
        .map(|(_, c)| c.as_str())
        .collect();
    assert_eq!(
        visits,
        [
            "id",
            "insurer",
            "member_key",
            "service_day",
            "service_month",
            "institution",
            "evidence",
            "import_id"
        ]
    );
    for (table, column) in &columns {
        let c = column.to_lowercase();
        for forbidden in [
            "diag",
            "icd",
            "procedure",
            "drug",
            "point",
            "amount",
            "price",
            "shobyo",
            "receipt",
            "medicine",
        ] {
            assert!(
                !c.contains(forbidden),
                "{table}.{column} could hold claims details"
            );
        }
    }
}

both!(a_transaction_dropped_without_commit_leaves_nothing);
async fn a_transaction_dropped_without_commit_leaves_nothing(db: TestDb) {
    {
        let mut tx = db.store.write().await.unwrap();
        tx.upsert_employer(&Employer {
            code: EmployerCode::parse("1001").unwrap(),
            name: "架空精機".into(),
            contact: String::new(),
        })
        .await
        .unwrap();
        tx.audit(&AuditEntry::new(&actor(), AuditAction::EmployerPut))
            .await
            .unwrap();
        // Dropped: the operation failed after its effect.
    }
    let mut r = db.store.read().await.unwrap();
    assert!(r.employers().await.unwrap().is_empty());
    assert_eq!(r.count(collabo_store::Table::AuditLog).await.unwrap(), 0);
    assert!(
        !db.dir.path().join("anchor.log").exists(),
        "nothing committed, nothing anchored"
    );
}

both!(the_audit_chain_is_keyed_and_anchored);
async fn the_audit_chain_is_keyed_and_anchored(db: TestDb) {
    for i in 0..3 {
        let mut tx = db.store.write().await.unwrap();
        tx.audit(
            &AuditEntry::new(&actor(), AuditAction::MemberView).subjects([
                format!("{INSURER}:1001:{i}:00"),
                format!("{INSURER}:1001:9:00"),
            ]),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let check = db.store.verify_audit().await.unwrap();
    assert!(check.is_intact(), "{check:?}");
    assert_eq!((check.records, check.anchors), (3, 3));
    // Someone with another key cannot verify it: the chain is keyed.
    let other = db
        .reopen_with_key(b"another key, also 32 bytes long!")
        .await;
    assert_eq!(other.verify_audit().await.unwrap().first_broken, Some(1));
    // A subject removed from a record is detected.
    let sql = format!("DELETE FROM audit_subjects WHERE member_key = '{INSURER}:1001:1:00'");
    if db.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .unwrap();
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .unwrap();
    }
    assert_eq!(db.store.verify_audit().await.unwrap().first_broken, Some(2));
}
