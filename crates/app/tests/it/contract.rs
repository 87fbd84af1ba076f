//! What every import, run and batch keeps, on both databases: idempotent and
//! all-or-nothing imports, review of rows that do not match cleanly, the opt-out purge,
//! idempotent runs, letters that count only when mailed, claims kept as visit facts.

use crate::both;
use crate::harness::*;
use collabo_app::members::CaseFilter;
use collabo_app::review::ReviewFilter;
use collabo_app::{AppError, ImportError};
use collabo_claims::ClaimIdentity;
use collabo_claims::writer::{ClaimSpec, Filler, GroupSpec, UkeWriter, WriterOptions};
use collabo_domain::audit::AuditAction;
use collabo_domain::calendar::YearMonth;
use collabo_domain::case::CaseState;
use collabo_domain::consent::{ConsentChannel, ConsentKind, ConsentRecord, ConsentScope};
use collabo_domain::matching::ReviewReason;
use collabo_domain::programme::ProgrammeCode;

both!(importing_the_same_file_twice_changes_nothing);
async fn importing_the_same_file_twice_changes_nothing(t: TestApp) {
    let people: Vec<Person> = (1..=3).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    let list = referral_csv(&[(&people[0], "試験　太郎1", "胃", "2025-06-05")]);
    let e = employer("1001", d(2025, 7, 10));
    let first = t
        .app
        .import_referrals(&e, &code("1001"), "list.csv", &list)
        .await
        .unwrap();
    assert_eq!(first.summary.stored, 1);
    let again = t
        .app
        .import_referrals(&e, &code("1001"), "list (1).csv", &list)
        .await
        .unwrap();
    assert!(again.summary.already_imported);
    assert_eq!(again.summary.stored, 1, "the earlier summary is returned");
    assert_eq!(t.count("SELECT COUNT(*) FROM referrals").await, 1);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM imports").await,
        2,
        "register + one list"
    );
}

both!(a_file_with_a_bad_row_stores_nothing_and_names_file_line_and_field);
async fn a_file_with_a_bad_row_stores_nothing_and_names_file_line_and_field(t: TestApp) {
    let people: Vec<Person> = (1..=3).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    let before = (
        t.count("SELECT COUNT(*) FROM referrals").await,
        t.count("SELECT COUNT(*) FROM imports").await,
        t.count("SELECT COUNT(*) FROM review_items").await,
    );
    let mut list = referral_csv(&[(&people[0], "試験　太郎1", "胃", "2025-06-05")]);
    list.extend_from_slice("1001,2,試験 太郎2,1975-05-05,膵臓,2025-06-05,1\n".as_bytes());
    let err = t
        .app
        .import_referrals(
            &employer("1001", d(2025, 7, 10)),
            &code("1001"),
            "bad.csv",
            &list,
        )
        .await
        .unwrap_err();
    let AppError::Import(ImportError::Rows { problems }) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(
        (
            problems[0].file.as_str(),
            problems[0].line,
            problems[0].field.as_str()
        ),
        ("bad.csv", 3, "がん検診の種類")
    );
    let after = (
        t.count("SELECT COUNT(*) FROM referrals").await,
        t.count("SELECT COUNT(*) FROM imports").await,
        t.count("SELECT COUNT(*) FROM review_items").await,
    );
    assert_eq!(before, after);
    // The refusal itself is audited.
    assert_eq!(
        t.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{}'",
            AuditAction::ImportRejected.code()
        ))
        .await,
        1
    );
}

both!(a_register_without_honnin_kazoku_is_refused_naming_the_column);
async fn a_register_without_honnin_kazoku_is_refused_naming_the_column(t: TestApp) {
    let text = String::from_utf8(register_csv(&[insured("1001", 1)])).unwrap();
    let without = text.replace(",本人家族", "").replace(",本人,", ",");
    let err = t
        .app
        .import_members(&staff(d(2025, 4, 1)), "old.csv", without.as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Import(ImportError::MissingColumn { column, .. }) if column == "本人家族"),
        "{err:?}"
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM members").await, 0);
}

both!(rows_that_do_not_match_cleanly_go_to_review);
async fn rows_that_do_not_match_cleanly_go_to_review(t: TestApp) {
    let people = vec![insured("1001", 1), insured("1001", 2), insured("1002", 1)];
    t.seed(&people).await;
    let mut wrong_birth = people[1].clone();
    wrong_birth.birth = "1968-08-21";
    let report = t
        .app
        .import_referrals(
            &employer("1001", d(2025, 7, 10)),
            &code("1001"),
            "list.csv",
            &referral_csv(&[
                (&people[0], "ｼｹﾝ ﾀﾛｳ1", "胃", "2025-06-05"),
                (&wrong_birth, "試験 太郎2", "胃", "2025-06-05"),
                (&people[2], "試験 太郎1", "胃", "2025-06-05"),
            ]),
        )
        .await
        .unwrap();
    assert_eq!((report.summary.stored, report.summary.to_review), (1, 2));
    let day = d(2025, 7, 11);
    let queue = t
        .app
        .review_queue(&staff(day), &ReviewFilter::default())
        .await
        .unwrap();
    let reasons: Vec<(i64, ReviewReason)> = queue
        .entries
        .iter()
        .map(|e| (e.item.line, e.item.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (3, ReviewReason::BirthDateMismatch),
            (4, ReviewReason::OtherEmployer)
        ],
        "another employer's member is never matched to this employer's list"
    );
    t.app
        .resolve_review(&staff(day), queue.entries[0].item.id, &people[1].key())
        .await
        .unwrap();
    assert_eq!(t.count("SELECT COUNT(*) FROM referrals").await, 2);
    // A member of another employer cannot be attached to this employer's row.
    let err = t
        .app
        .resolve_review(&staff(day), queue.entries[1].item.id, &people[2].key())
        .await;
    assert!(matches!(err, Err(AppError::Conflict(_))), "{err:?}");
    t.app
        .reject_review(&staff(day), queue.entries[1].item.id)
        .await
        .unwrap();
    assert_eq!(
        t.app
            .review_queue(&staff(day), &ReviewFilter::default())
            .await
            .unwrap()
            .total,
        0
    );
    // A closed item no longer holds the submitted row.
    assert_eq!(
        t.count("SELECT COUNT(*) FROM review_items WHERE status <> 'open' AND payload <> ''")
            .await,
        0
    );
}

both!(an_opt_out_purges_employer_data_stops_cases_and_excludes_later_submissions);
async fn an_opt_out_purges_employer_data_stops_cases_and_excludes_later_submissions(t: TestApp) {
    let people: Vec<Person> = (1..=2).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    let hanako = &people[0];
    t.checkups(
        Some("1001"),
        &[exam(hanako, "2025-06-01", 7.0, 120.0, true)],
        d(2025, 7, 10),
        "c.csv",
    )
    .await;
    t.app
        .import_referrals(
            &employer("1001", d(2025, 7, 10)),
            &code("1001"),
            "r.csv",
            &referral_csv(&[(hanako, "試験 太郎1", "胃", "2025-06-01")]),
        )
        .await
        .unwrap();
    t.app
        .run_engine(&staff(d(2025, 7, 15)), |_| {})
        .await
        .unwrap();
    let filter = CaseFilter {
        member: Some(hanako.key()),
        ..CaseFilter::default()
    };
    let (open, _) = t.app.cases(&staff(d(2025, 7, 15)), &filter).await.unwrap();
    assert!(
        open.iter().any(|c| c.key.programme == ProgrammeCode::S)
            && open.iter().any(|c| c.key.programme == ProgrammeCode::C),
        "{open:?}"
    );
    let day = d(2025, 7, 16);
    let purge = t
        .app
        .record_consent(
            &staff(day),
            &ConsentRecord {
                member: hanako.key(),
                kind: ConsentKind::OptOut,
                scope: ConsentScope::All,
                effective: day,
                channel: ConsentChannel::Phone,
                recorded_by: "staff1".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (purge.checkups, purge.referrals, purge.tombstone),
        (1, 1, true)
    );
    assert!(purge.cases_stopped >= 2);
    assert_eq!(t.count("SELECT COUNT(*) FROM checkups").await, 0);
    assert_eq!(t.count("SELECT COUNT(*) FROM referrals").await, 0);
    let (after, _) = t.app.cases(&staff(day), &filter).await.unwrap();
    assert!(after.iter().all(|c| !c.state.is_open()), "{after:?}");
    // A later list naming her is excluded, not stored.
    let later = t
        .app
        .import_referrals(
            &employer("1001", d(2025, 9, 10)),
            &code("1001"),
            "r2.csv",
            &referral_csv(&[(hanako, "試験 太郎1", "胃", "2025-08-01")]),
        )
        .await
        .unwrap();
    assert_eq!(
        (later.summary.stored, later.summary.excluded_opted_out),
        (0, 1)
    );
    // The consent change is one audit record naming her.
    let (records, _) = t
        .app
        .audit_log(
            &auditor(day),
            &collabo_app::audit::AuditFilter {
                action_prefix: Some(AuditAction::ConsentRecord.code().into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].subjects, vec![hanako.key().to_key_string()]);
}

both!(a_second_run_on_the_same_day_changes_nothing);
async fn a_second_run_on_the_same_day_changes_nothing(t: TestApp) {
    let people: Vec<Person> = (1..=2).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    t.checkups(
        Some("1001"),
        &[
            exam(&people[0], "2025-06-01", 7.1, 120.0, true),
            exam(&people[1], "2025-06-02", 5.0, 120.0, true),
        ],
        d(2025, 7, 10),
        "c.csv",
    )
    .await;
    let first = t
        .app
        .run_engine(&staff(d(2025, 7, 15)), |_| {})
        .await
        .unwrap();
    assert!(!first.is_empty());
    let cases = t.count("SELECT COUNT(*) FROM cases").await;
    let second = t
        .app
        .run_engine(&staff(d(2025, 7, 15)), |_| {})
        .await
        .unwrap();
    assert!(second.is_empty(), "{second:?}");
    assert_eq!(t.count("SELECT COUNT(*) FROM cases").await, cases);
    // D waits for its look-back claims: no coverage is loaded.
    let (waiting, _) = t
        .app
        .cases(
            &staff(d(2025, 7, 15)),
            &CaseFilter {
                programme: Some(ProgrammeCode::D),
                state: Some(CaseState::WaitingForClaims),
                ..CaseFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
}

both!(letter_batches_count_as_sent_only_when_confirmed_mailed);
async fn letter_batches_count_as_sent_only_when_confirmed_mailed(t: TestApp) {
    let people: Vec<Person> = (1..=2).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    t.checkups(
        Some("1001"),
        &[exam(&people[0], "2025-06-01", 5.0, 120.0, true)],
        d(2025, 7, 10),
        "c.csv",
    )
    .await;
    t.app
        .run_engine(&staff(d(2025, 7, 15)), |_| {})
        .await
        .unwrap();
    let renderer = std::sync::Arc::new(
        collabo_letters::Renderer::with_default_fonts(None, None)
            .expect("Japanese fonts (scripts/setup.sh)"),
    );
    let out = t.data.path().join("letters");
    let b1 = t
        .app
        .prepare_letters(&staff(d(2025, 7, 16)), &renderer, &out)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b1.letters, 1);
    assert!(b1.parts[0].exists() && b1.csv.exists());
    assert!(
        t.app
            .prepare_letters(&staff(d(2025, 7, 16)), &renderer, &out)
            .await
            .unwrap()
            .is_none(),
        "prepare does not duplicate"
    );
    assert_eq!(
        t.app
            .cancel_batch(&staff(d(2025, 7, 17)), &b1.id)
            .await
            .unwrap(),
        1
    );
    let b2 = t
        .app
        .prepare_letters(&staff(d(2025, 7, 18)), &renderer, &out)
        .await
        .unwrap()
        .expect("a cancelled batch's notices are due again");
    let figures = t
        .app
        .programme_figures(&staff(d(2025, 7, 18)), None)
        .await
        .unwrap();
    assert_eq!(
        figures[&ProgrammeCode::S].notified,
        0,
        "prepared is not sent"
    );
    let shown = t
        .app
        .batch_view(&staff(d(2025, 7, 20)), &renderer, &b2.id)
        .await
        .unwrap()
        .confirmation();
    assert_eq!(
        t.app
            .mark_mailed(&staff(d(2025, 7, 20)), &b2.id, d(2025, 7, 20), shown)
            .await
            .unwrap(),
        1
    );
    assert!(
        t.app
            .mark_mailed(&staff(d(2025, 7, 21)), &b2.id, d(2025, 7, 21), shown)
            .await
            .is_err(),
        "mailed twice"
    );
    let figures = t
        .app
        .programme_figures(&staff(d(2025, 7, 21)), None)
        .await
        .unwrap();
    assert_eq!(figures[&ProgrammeCode::S].notified, 1);
}

fn uke(t: &TestApp, name: &str, claims: &[ClaimSpec], billing: YearMonth) -> std::path::PathBuf {
    let map = collabo_claims::GroupMap::builtin().unwrap();
    let path = t.data.path().join(name);
    let file = std::fs::File::create(&path).unwrap();
    let mut w = UkeWriter::new(
        file,
        &map,
        WriterOptions {
            style: collabo_claims::DateStyle::Wareki,
            billing_month: billing,
            examiner: 1,
            eof_mark: true,
            ..WriterOptions::medical(billing)
        },
    );
    for c in claims {
        w.write_claim(c).unwrap();
    }
    w.finish().unwrap();
    path
}

both!(claims_are_stored_as_visit_facts_only);
async fn claims_are_stored_as_visit_facts_only(t: TestApp) {
    let people: Vec<Person> = (1..=2).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    let m = &people[0];
    let identity = |birth: &str| ClaimIdentity {
        insurer: collabo_domain::ids::InsurerNumber::parse(INSURER).unwrap(),
        symbol: collabo_domain::ids::Symbol::parse(m.symbol).unwrap(),
        number: collabo_domain::ids::CardNumber::parse(&m.number.to_string()).unwrap(),
        branch: None,
        birth_date: birth.parse().unwrap(),
        sex: collabo_domain::member::Sex::Male,
    };
    let claim = |birth: &str| ClaimSpec {
        identity: identity(birth),
        name_kana: "シケン タロウ1".into(),
        institution: "1310000001".into(),
        month: YearMonth::parse("2025-07").unwrap(),
        days: vec![3],
        groups: vec![GroupSpec::procedure("stomach_exam")],
        filler: Filler::default(),
    };
    let path = uke(
        &t,
        "RECEIPTC.UKE",
        &[claim("1975-05-05"), claim("1999-01-01")],
        YearMonth::parse("2025-08").unwrap(),
    );
    let map = collabo_claims::GroupMap::builtin().unwrap();
    // The import reports the bytes it read as it goes (the portal's job bar and the
    // CLI's follow it): the whole file, once, by the end.
    let read = collabo_app::Progress::default();
    let report = t
        .app
        .import_claims_with_progress(&staff(d(2025, 9, 5)), &path, &map, &read)
        .await
        .unwrap();
    assert_eq!(read.get(), std::fs::metadata(&path).unwrap().len());
    assert_eq!(
        report.summary.unmatched, 1,
        "a wrong birth date matches nobody"
    );
    assert!(report.summary.stored >= 1);
    let arrival = report.summary.claims.clone().unwrap();
    assert_eq!(
        (
            arrival.stream,
            arrival.month.to_string(),
            arrival.regular_claims
        ),
        (
            collabo_domain::coverage::ClaimStream::Medical,
            "2025-07".to_owned(),
            2
        )
    );
    assert!(
        report.summary.months_covered.is_empty(),
        "医科 alone does not complete July: DPC, 歯科 and 調剤 are expected too"
    );
    // Nothing of the claim but the visit fact is stored.
    let dump = t.dump().await;
    for code in ["160", "620", "4659007", "シケン タロウ1"] {
        assert!(
            !dump
                .lines()
                .any(|l| l.starts_with("visits.") && l.contains(code)),
            "{code} in visits"
        );
    }
    assert_eq!(
        t.count("SELECT COUNT(*) FROM visits").await,
        report.summary.stored as i64
    );
}

both!(a_move_between_employers_is_remembered);
async fn a_move_between_employers_is_remembered(t: TestApp) {
    let p = insured("1002", 5);
    t.seed(std::slice::from_ref(&p)).await;
    let moved = Person {
        employer: "1001",
        ..p.clone()
    };
    t.app
        .import_members(&staff(d(2025, 10, 1)), "m2.csv", &register_csv(&[moved]))
        .await
        .unwrap();
    assert_eq!(
        t.count("SELECT COUNT(*) FROM employer_periods WHERE employer_code = '1002' AND until = '2025-10-01'").await,
        1
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM employer_periods WHERE employer_code = '1001' AND since = '2025-10-01' AND until IS NULL").await,
        1
    );
}
