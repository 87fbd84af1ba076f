//! Issue 12 through the one door: retention and disposal (実施基準 第10条).

use crate::both;
use crate::harness::*;

both!(retention_lists_records_past_their_date_and_deletes_only_when_confirmed);
/// 特定健康診査及び特定保健指導の実施に関する基準 第10条: kept 5 years from the fiscal year
/// after the record. On 2026-04-01 the checkups of FY2012 and FY2019 (kept to 2025-03-31)
/// are past; FY2021's (kept to 2027-03-31) are not. A dry run changes nothing; the
/// confirmed run deletes exactly those, with an audit record per person.
async fn retention_lists_records_past_their_date_and_deletes_only_when_confirmed(t: TestApp) {
    let people: Vec<Person> = (1..=3).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    let exams: Vec<Exam> = people[..2]
        .iter()
        .flat_map(|p| {
            ["2012-06-10", "2019-06-10", "2021-06-10"]
                .into_iter()
                .map(|date| exam(p, date, 5.4, 120.0, false))
        })
        .collect();
    t.checkups(None, &exams, d(2025, 4, 2), "dock.csv").await;
    assert_eq!(t.count("SELECT COUNT(*) FROM checkups").await, 6);

    let today = d(2026, 4, 1);
    let dry = t.app.retention(&staff(today), false).await.unwrap();
    assert!(!dry.confirmed);
    assert_eq!(dry.records(), 4);
    assert_eq!(
        dry.people
            .iter()
            .map(|p| p.member.clone())
            .collect::<Vec<_>>(),
        [people[0].key(), people[1].key()]
    );
    assert_eq!(dry.people[0].oldest, d(2012, 6, 10));
    assert_eq!(t.count("SELECT COUNT(*) FROM checkups").await, 6, "dry run");

    // The day before, FY2019's checkups are still kept.
    let before = t
        .app
        .retention(&staff(d(2025, 3, 31)), false)
        .await
        .unwrap();
    assert_eq!(before.records(), 2);

    let done = t.app.retention(&staff(today), true).await.unwrap();
    assert!(done.confirmed);
    assert_eq!(done.records(), 4);
    assert_eq!(t.count("SELECT COUNT(*) FROM checkups").await, 2);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM checkups WHERE exam_date = '2021-06-10'")
            .await,
        2
    );
    // One audit record per person disposed of, naming them.
    assert_eq!(
        t.count(
            "SELECT COUNT(*) FROM audit_subjects s JOIN audit_log a ON a.id = s.audit_id WHERE a.action = 'retention.dispose' AND a.detail NOT LIKE 'dry run%'"
        )
        .await,
        2
    );
    // Nothing left to dispose of.
    assert_eq!(
        t.app
            .retention(&staff(today), false)
            .await
            .unwrap()
            .records(),
        0
    );
    // Employers may not run it.
    assert!(
        t.app
            .retention(&employer("1001", today), false)
            .await
            .is_err()
    );
}
