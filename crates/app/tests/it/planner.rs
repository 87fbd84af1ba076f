//! A register import leaves the query planner statistics of the members (issue 15):
//! without them SQLite answered `insurer = ? AND member_key IN (…)` through the
//! `members_birth (insurer)` index, reading every member of the society for each chunk
//! of a checkup archive (454 checkups/s at 100,000 members instead of thousands).

use crate::both;
use crate::harness::*;

both!(a_register_import_leaves_statistics_so_member_lookups_use_the_primary_key);
async fn a_register_import_leaves_statistics_so_member_lookups_use_the_primary_key(t: TestApp) {
    let people: Vec<Person> = (1..=50).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    if t.url.starts_with("sqlite:") {
        assert!(
            t.count("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'members'")
                .await
                > 0,
            "ANALYZE ran on members"
        );
        let pool = sqlx::SqlitePool::connect(&t.url).await.unwrap();
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "EXPLAIN QUERY PLAN SELECT * FROM members WHERE insurer = ?1 AND member_key IN (?2, ?3)",
        )
        .bind(INSURER)
        .bind(format!("{INSURER}:1001:1:00"))
        .bind(format!("{INSURER}:1001:2:00"))
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        let details: Vec<&str> = plan.iter().map(|r| r.3.as_str()).collect();
        assert!(
            details
                .iter()
                .any(|d| d.contains("sqlite_autoindex_members_1") && d.contains("member_key=?")),
            "looked up by the primary key: {details:?}"
        );
    } else {
        assert!(
            t.count("SELECT COUNT(*) FROM pg_stats WHERE tablename = 'members'")
                .await
                > 0,
            "ANALYZE ran on members"
        );
    }
}
