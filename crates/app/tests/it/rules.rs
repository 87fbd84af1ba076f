//! The law's rules of issue 12 that need the store: the 共同利用 declaration that every
//! provision to an employer requires (個人情報保護法 第27条第5項第3号), and retention
//! and disposal (特定健康診査及び特定保健指導の実施に関する基準 第10条), on both
//! databases, through the door.

use crate::both;
use crate::harness::*;
use collabo_app::employer::RiskOrder;
use collabo_app::{AppError, Paging};
use collabo_domain::calendar::FiscalYear;
use collabo_domain::joint_use::JointUseDeclaration;
use collabo_domain::retention::RecordKind;

const FY: FiscalYear = FiscalYear::new(2025);

/// Every way an employer receives something of the society's data, on `on`: the
/// risk-holder page, its export's list, the published aggregates and the score
/// report. Each either succeeds or is refused for want of a declaration.
async fn employer_reads(t: &TestApp, on: collabo_domain::Date) -> Vec<Result<(), String>> {
    let e = employer("1001", on);
    let c = code("1001");
    let refused = |r: Result<(), AppError>| match r {
        Ok(()) => Ok(()),
        Err(AppError::Conflict(m)) if m.contains("共同利用") => Err(m),
        Err(other) => panic!("refused for another reason: {other}"),
    };
    vec![
        refused(
            t.app
                .risk_holders(&e, &c, Some(FY), Paging::all())
                .await
                .map(|_| ()),
        ),
        refused(
            t.app
                .risk_holder_list(&e, &c, None, RiskOrder::Card, Paging::all())
                .await
                .map(|_| ()),
        ),
        refused(t.app.aggregates(&e, &c, Some(FY)).await.map(|_| ())),
        refused(t.app.score_report(&e, &c, FY).await.map(|_| ())),
    ]
}

fn all_allowed(reads: &[Result<(), String>]) -> bool {
    reads.iter().all(Result::is_ok)
}

fn all_refused(reads: &[Result<(), String>]) -> bool {
    reads.iter().all(Result::is_err)
}

// 個人情報保護法 第27条第5項第3号: joint use without consent only after the five items
// were made known; none in force → nothing reaches the employer, while the society's
// own staff keep reading their data.
both!(employer_sharing_stops_without_a_joint_use_declaration);
async fn employer_sharing_stops_without_a_joint_use_declaration(t: TestApp) {
    // The seed declares version 1 from 2025-04-01.
    crate::privacy::dock_society(&t).await;
    let day = d(2025, 8, 1);
    t.app.publish_aggregates(&staff(day), FY).await.unwrap();
    assert!(all_allowed(&employer_reads(&t, day).await));
    // Before the first version began, nothing was shared.
    assert!(all_refused(&employer_reads(&t, d(2025, 3, 31)).await));

    // Version 1 ends on 2025-08-31: from 9/1 every employer read is refused …
    t.app
        .end_joint_use_declaration(&admin(day), 1, d(2025, 8, 31))
        .await
        .unwrap();
    let gap = d(2025, 9, 15);
    assert!(all_allowed(&employer_reads(&t, d(2025, 8, 31)).await));
    assert!(all_refused(&employer_reads(&t, gap).await));
    // … and no employer read of that day left an audit record of data shown.
    let shown_in_gap = t
        .count("SELECT COUNT(*) FROM audit_log WHERE role = 'employer' AND action IN ('employer.risk_holders.view', 'employer.aggregates.view') AND at >= '2025-09-15' AND at < '2025-09-16'")
        .await;
    assert_eq!(shown_in_gap, 0);
    // The society's staff still read their own data.
    let staff_list = t
        .app
        .risk_holders(&staff(gap), &code("1001"), Some(FY), Paging::all())
        .await
        .unwrap();
    assert_eq!(staff_list.holders.len(), 15);

    // A version missing one of the law's items is refused, and only an administrator
    // records one.
    let mut v2 = JointUseDeclaration::example(d(2025, 10, 1), "テスト健康保険組合", "東京都");
    let mut lacking = v2.clone();
    lacking.joint_users = "  ".into();
    assert!(matches!(
        t.app.record_joint_use_declaration(&admin(gap), &lacking).await,
        Err(AppError::Invalid(m)) if m.contains("共同して利用する者の範囲")
    ));
    assert!(matches!(
        t.app.record_joint_use_declaration(&staff(gap), &v2).await,
        Err(AppError::Denied(_))
    ));
    // Version 2 from 2025-10-01: sharing resumes that day, not before.
    v2.published_at = "組合ウェブサイト及び組合ポータル".into();
    let version = t
        .app
        .record_joint_use_declaration(&admin(gap), &v2)
        .await
        .unwrap();
    assert_eq!(version, 2);
    assert!(all_refused(&employer_reads(&t, d(2025, 9, 30)).await));
    assert!(all_allowed(&employer_reads(&t, d(2025, 10, 1)).await));
    let notice = t.app.joint_use_notice(d(2025, 10, 1)).await.unwrap();
    assert_eq!(notice.current.map(|c| c.version), Some(2));
    assert_eq!(notice.versions.len(), 2);
    // The employer's audit record names the version it read under.
    let under_v2 = t
        .count("SELECT COUNT(*) FROM audit_log WHERE role = 'employer' AND detail LIKE '%共同利用 第2版%'")
        .await;
    assert!(under_v2 >= 2, "{under_v2}");
}

/// A register with a person who stays and one who left (資格喪失日 2017-01-01, in
/// FY2016), checkups every June from FY2010 (the stayer to FY2025, the leaver to
/// FY2016), two visit facts and two old cases (one closed, one still open).
async fn two_decades(t: &TestApp) -> (Person, Person) {
    let stays = insured("1001", 1);
    let leaves = insured("1001", 2);
    t.seed(&[stays.clone(), leaves.clone()]).await;
    let years: Vec<String> = (2010..=2025).map(|y| format!("{y}-06-15")).collect();
    let dates: Vec<&'static str> = years
        .into_iter()
        .map(|s| &*Box::leak(s.into_boxed_str()))
        .collect();
    let mut exams = Vec::new();
    for (i, date) in dates.iter().enumerate() {
        exams.push(exam(&stays, date, 5.4, 120.0, false));
        if 2010 + i <= 2016 {
            exams.push(exam(&leaves, date, 5.4, 120.0, false));
        }
    }
    let report = t.checkups(None, &exams, d(2025, 7, 1), "dock.csv").await;
    assert_eq!(report.summary.stored, 16 + 7, "{:?}", report.summary);
    // The leaver's 資格喪失日, by a second register file.
    let register = String::from_utf8(register_csv(&[stays.clone(), leaves.clone()]))
        .unwrap()
        .lines()
        .map(|l| {
            if l.contains("シケン タロウ2,") {
                format!("{l}2017-01-01")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    t.app
        .import_members(&staff(d(2025, 7, 2)), "members2.csv", register.as_bytes())
        .await
        .unwrap();
    let stayer = stays.key().to_key_string();
    t.sql(&format!(
        "INSERT INTO visits (insurer, member_key, service_day, service_month, institution, evidence, import_id) VALUES
         ('{INSURER}', '{stayer}', '2020-05-10', '2020-05', '1310000001', '[]', 0),
         ('{INSURER}', '{stayer}', NULL, '2021-05', '1310000001', '[]', 0)"
    ))
    .await;
    t.sql(&format!(
        "INSERT INTO cases (case_key, insurer, programme, member_key, employer_code, trigger_date, fiscal_year, state, opened_on, updated_on) VALUES
         ('R:{stayer}:2019-06-15', '{INSURER}', 'R', '{stayer}', '1001', '2019-06-15', 2019, 'closed_shared', '2019-07-01', '2020-07-01'),
         ('D:{stayer}:2019-06-15', '{INSURER}', 'D', '{stayer}', '1001', '2019-06-15', 2019, 'waiting_for_claims', '2019-07-01', '2019-08-01')"
    ))
    .await;
    (stays, leaves)
}

// 実施基準 第10条: kept 5 years from the fiscal year after the record's, or to the end
// of the fiscal year after the person left, whichever is shorter.
both!(the_retention_dry_run_lists_exactly_the_records_past_their_date_and_disposal_deletes_them);
async fn the_retention_dry_run_lists_exactly_the_records_past_their_date_and_disposal_deletes_them(
    t: TestApp,
) {
    let (stays, leaves) = two_decades(&t).await;
    let today = d(2026, 4, 1);
    let plan = t.app.retention_plan(&staff(today)).await.unwrap();
    let mut expected: Vec<(String, RecordKind, String)> = Vec::new();
    // The stayer: checkups of FY2010–FY2020 (FY2020's kept to 2026-03-31).
    for y in 2010..=2020 {
        expected.push((
            stays.key().card(),
            RecordKind::Checkup,
            format!("{y}-06-15"),
        ));
    }
    // The leaver (FY2016): everything, kept at most to 2018-03-31.
    for y in 2010..=2016 {
        expected.push((
            leaves.key().card(),
            RecordKind::Checkup,
            format!("{y}-06-15"),
        ));
    }
    expected.push((stays.key().card(), RecordKind::Visit, "2020-05-10".into()));
    expected.push((
        stays.key().card(),
        RecordKind::ClosedCase,
        "2020-07-01".into(),
    ));
    let mut got: Vec<(String, RecordKind, String)> = plan
        .lines
        .iter()
        .map(|l| (l.member.card(), l.kind, l.made.to_string()))
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(plan.people, 2);
    assert!(
        plan.lines
            .iter()
            .filter(|l| l.member == leaves.key())
            .all(|l| l.keep_until <= d(2018, 3, 31) && l.left == Some(d(2017, 1, 1)))
    );
    // The dry run changed nothing; the day before, FY2020's checkup is still kept.
    assert_eq!(t.count("SELECT COUNT(*) FROM checkups").await, 23);
    let before = t.app.retention_plan(&staff(d(2026, 3, 31))).await.unwrap();
    assert!(
        !before
            .lines
            .iter()
            .any(|l| l.member == stays.key() && l.made == d(2020, 6, 15))
    );
    // Employers and administrators may not run it.
    assert!(
        t.app
            .retention_plan(&employer("1001", today))
            .await
            .is_err()
    );
    assert!(t.app.dispose_past_retention(&admin(today)).await.is_err());

    let done = t.app.dispose_past_retention(&staff(today)).await.unwrap();
    assert_eq!(
        (
            done.disposed.checkups,
            done.disposed.visits,
            done.disposed.cases,
            done.disposed.referrals
        ),
        (18, 1, 1, 0)
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM checkups").await, 5);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM checkups WHERE exam_date < '2021-04-01'")
            .await,
        0
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM visits").await, 1);
    // The open case stays, however old.
    assert_eq!(t.count("SELECT COUNT(*) FROM cases").await, 1);
    // One audit record per person, naming them.
    assert_eq!(
        t.count("SELECT COUNT(*) FROM audit_log WHERE action = 'retention.dispose'")
            .await,
        2
    );
    assert_eq!(
        t.count(&format!(
            "SELECT COUNT(*) FROM audit_log a JOIN audit_subjects s ON s.audit_id = a.id WHERE a.action = 'retention.dispose' AND s.member_key = '{}' AND a.detail LIKE '%健診結果 7件%'",
            leaves.key().to_key_string()
        ))
        .await,
        1
    );
    assert!(
        t.app
            .retention_plan(&staff(today))
            .await
            .unwrap()
            .lines
            .is_empty()
    );
    assert!(t.app.verify_audit(&auditor(today)).await.is_ok());
}
