//! The engine's watermark (issue 15): a second run on the same day with nothing changed
//! is skipped, and it must never skip what a run would do — a changed fact is
//! evaluated, a new day evaluates what depends on the date.

use crate::both;
use crate::harness::*;

/// The register with one person's 資格喪失日 set.
fn register_losing(people: &[Person], who: &Person, until: &str) -> Vec<u8> {
    let text = String::from_utf8(register_csv(people)).unwrap();
    text.lines()
        .map(|line| {
            if line.contains(&format!(",{},", who.kana)) {
                format!("{line}{until}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect::<String>()
        .into_bytes()
}

both!(a_second_run_on_the_same_day_is_skipped_only_when_nothing_changed);
async fn a_second_run_on_the_same_day_is_skipped_only_when_nothing_changed(t: TestApp) {
    let people: Vec<Person> = (1..=3).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    // people[0] loses 資格 on 2025-07-16: insured on the 15th, not on the 16th.
    t.app
        .import_members(
            &staff(d(2025, 7, 1)),
            "members2.csv",
            &register_losing(&people, &people[0], "2025-07-16"),
        )
        .await
        .unwrap();
    t.checkups(
        Some("1001"),
        &[exam(&people[0], "2025-06-01", 5.0, 120.0, true)],
        d(2025, 7, 10),
        "c1.csv",
    )
    .await;
    let day = d(2025, 7, 15);
    let first = t.app.run_engine(&staff(day), |_| {}).await.unwrap();
    assert_eq!(first.unchanged_since, None);
    assert!(first.opened.values().sum::<u64>() >= 1, "{first:?}");
    let cases = t.count("SELECT COUNT(*) FROM cases").await;

    // Nothing changed but reads: skipped, and it changes nothing.
    t.app.cases(&staff(day), &Default::default()).await.unwrap();
    t.app
        .member_page(&staff(day), &people[1].key())
        .await
        .unwrap();
    let mut seen = 0;
    let second = t.app.run_engine(&staff(day), |n| seen = n).await.unwrap();
    assert_eq!(second.unchanged_since, Some(day), "{second:?}");
    assert!(second.is_empty());
    assert_eq!((second.members, seen), (3, 3));
    assert_eq!(t.count("SELECT COUNT(*) FROM cases").await, cases);

    // A changed fact on the same day: a new smoker's checkup IS evaluated.
    t.checkups(
        Some("1001"),
        &[exam(&people[2], "2025-06-03", 5.0, 120.0, true)],
        day,
        "c2.csv",
    )
    .await;
    let third = t.app.run_engine(&staff(day), |_| {}).await.unwrap();
    assert_eq!(third.unchanged_since, None, "an import since the last run");
    assert_eq!(third.opened.values().sum::<u64>(), 1, "{third:?}");
    let fourth = t.app.run_engine(&staff(day), |_| {}).await.unwrap();
    assert_eq!(fourth.unchanged_since, Some(day));

    // A new day re-evaluates what depends on the date: people[0] is no longer insured
    // on the 16th, so the open case is stopped, with no other change recorded.
    let next = d(2025, 7, 16);
    let fifth = t.app.run_engine(&staff(next), |_| {}).await.unwrap();
    assert_eq!(fifth.unchanged_since, None);
    assert!(
        fifth.events_appended >= 1,
        "the loss of 資格 stops the case on the new day: {fifth:?}"
    );
    let sixth = t.app.run_engine(&staff(next), |_| {}).await.unwrap();
    assert_eq!(sixth.unchanged_since, Some(next));

    // A settings change (audited) also runs everyone again.
    t.app
        .close_claims_month(
            &staff(next),
            collabo_domain::coverage::ClaimStream::Dental,
            collabo_domain::calendar::YearMonth::parse("2025-05").unwrap(),
            "歯科の請求なし",
        )
        .await
        .unwrap();
    let seventh = t.app.run_engine(&staff(next), |_| {}).await.unwrap();
    assert_eq!(seventh.unchanged_since, None, "claims coverage changed");
}
