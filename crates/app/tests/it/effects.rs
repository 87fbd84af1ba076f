//! Issue 14: several fiscal years in one database, and the effect report over them.

use crate::both;
use crate::harness::*;
use collabo_app::members::CaseFilter;
use collabo_domain::calendar::FiscalYear;
use collabo_domain::case::{CaseEvent, Trigger};
use collabo_domain::programme::{ProgrammeCode, ProgrammeRules, ProgrammeSettings};

/// Every D case with its timeline, in key order.
async fn d_cases(t: &TestApp, on: collabo_domain::Date) -> Vec<collabo_domain::case::Case> {
    let filter = CaseFilter {
        programme: Some(ProgrammeCode::D),
        limit: 100,
        ..CaseFilter::default()
    };
    let (rows, _) = t.app.cases(&staff(on), &filter).await.unwrap();
    let mut cases = Vec::new();
    for row in rows {
        cases.push(t.app.case(&staff(on), &row.key).await.unwrap());
    }
    cases.sort_by(|a, b| a.key.cmp(&b.key));
    cases
}

both!(a_threshold_changed_for_the_next_year_leaves_last_years_cases_unchanged);
async fn a_threshold_changed_for_the_next_year_leaves_last_years_cases_unchanged(t: TestApp) {
    let people: Vec<Person> = (1..=2).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    t.checkups(
        Some("1001"),
        &[
            exam(&people[0], "2025-06-10", 6.8, 120.0, false),
            exam(&people[1], "2025-06-10", 7.2, 120.0, false),
        ],
        d(2025, 7, 10),
        "fy2025.csv",
    )
    .await;
    let day = d(2025, 7, 15);
    t.app.run_engine(&staff(day), |_| {}).await.unwrap();
    let year_one = d_cases(&t, day).await;
    assert_eq!(
        year_one.len(),
        2,
        "both HbA1c 6.8 and 7.2 reach 6.5 in 2025"
    );

    // From FY2026 on, D starts at 7.0.
    let mut settings = ProgrammeSettings::default_for(ProgrammeCode::D);
    settings.from_year = FiscalYear::new(2026);
    if let ProgrammeRules::Diabetes {
        hba1c_threshold, ..
    } = &mut settings.rules
    {
        *hba1c_threshold = 7.0;
    }
    t.app
        .save_programme_settings(&admin(day), &settings)
        .await
        .unwrap();
    // Run again the same day: last year's cases stay exactly as they were.
    t.app.run_engine(&staff(day), |_| {}).await.unwrap();
    assert_eq!(d_cases(&t, day).await, year_one);

    t.checkups(
        Some("1001"),
        &[
            exam(&people[0], "2026-06-10", 6.8, 120.0, false),
            exam(&people[1], "2026-06-10", 7.2, 120.0, false),
        ],
        d(2026, 7, 10),
        "fy2026.csv",
    )
    .await;
    let later = d(2026, 7, 15);
    t.app.run_engine(&staff(later), |_| {}).await.unwrap();
    let both_years = d_cases(&t, later).await;
    let fy2025: Vec<_> = both_years
        .iter()
        .filter(|c| c.key.trigger == Trigger::Checkup(d(2025, 6, 10)))
        .collect();
    assert_eq!(fy2025.len(), 2, "{both_years:?}");
    for (before, now) in year_one.iter().zip(&fy2025) {
        // Their opening (year, values) is last year's, whatever happened since.
        assert_eq!(before.events[0], now.events[0]);
        assert!(matches!(
            now.events[0].event,
            CaseEvent::Identified { fiscal_year, .. } if fiscal_year == FiscalYear::new(2025)
        ));
    }
    let fy2026: Vec<_> = both_years
        .iter()
        .filter(|c| c.key.trigger == Trigger::Checkup(d(2026, 6, 10)))
        .map(|c| c.key.member.clone())
        .collect();
    assert_eq!(
        fy2026,
        vec![people[1].key()],
        "only 7.2 reaches 7.0 in 2026"
    );
}

both!(the_effect_report_follows_last_years_smokers_to_their_next_checkup);
async fn the_effect_report_follows_last_years_smokers_to_their_next_checkup(t: TestApp) {
    let people: Vec<Person> = (1..=4).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    let year_one: Vec<Exam> = people
        .iter()
        .map(|p| exam(p, "2025-06-10", 5.4, 120.0, true))
        .collect();
    t.checkups(Some("1001"), &year_one, d(2025, 7, 10), "fy2025.csv")
        .await;
    let day = d(2025, 7, 15);
    t.app.run_engine(&staff(day), |_| {}).await.unwrap();
    // The S notices go out.
    let dir = t.data.path().join("letters");
    let renderer =
        std::sync::Arc::new(collabo_letters::Renderer::with_default_fonts(None, None).unwrap());
    let batch = t
        .app
        .prepare_letters(&staff(d(2025, 7, 16)), &renderer, &dir)
        .await
        .unwrap()
        .unwrap();
    let shown = t
        .app
        .batch_view(&staff(d(2025, 7, 20)), &renderer, &batch.id)
        .await
        .unwrap()
        .confirmation();
    t.app
        .mark_mailed(&staff(d(2025, 7, 20)), &batch.id, d(2025, 7, 20), shown)
        .await
        .unwrap();
    // A year later one of the four has quit.
    let year_two: Vec<Exam> = people
        .iter()
        .enumerate()
        .map(|(i, p)| exam(p, "2026-06-10", 5.4, 120.0, i != 0))
        .collect();
    t.checkups(Some("1001"), &year_two, d(2026, 7, 10), "fy2026.csv")
        .await;
    let report = t
        .app
        .effect_report(&staff(d(2026, 8, 1)), FiscalYear::new(2025))
        .await
        .unwrap();
    let quit = report.smoking.quit.unwrap();
    assert_eq!((report.smoking.notified, quit.k, quit.n), (4, 1, 4));
    assert!(quit.estimate.low < 0.25 && quit.estimate.high > 0.25);
    // The employer's cell of four is suppressed.
    assert!(matches!(
        report.employers[0].quit,
        collabo_domain::effect_report::Cell::Suppressed
    ));
    // The report was audited.
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_log WHERE action = 'reports.effects'")
            .await,
        1
    );
}
