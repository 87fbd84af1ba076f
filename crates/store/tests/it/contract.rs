//! One contract, two databases: each `both!` test runs on SQLite and PostgreSQL.

use crate::harness::*;
use collabo_domain::calendar::YearMonth;
use collabo_domain::consent::{ConsentChannel, ConsentKind, ConsentRecord, ConsentScope};
use collabo_domain::programme::ProgrammeCode;
use collabo_store::{ImportKind, Table};

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

both!(importing_the_same_file_twice_changes_nothing);
async fn importing_the_same_file_twice_changes_nothing(db: TestDb) {
    let members = seed(&db.store).await;
    let today = d(2025, 7, 10);
    for attempt in 0..2 {
        match db
            .store
            .begin_import(
                ImportKind::Referrals,
                "list.csv",
                "sha-list-1",
                Some(&employer("1001")),
                &actor(),
                today,
                ts(today),
            )
            .await
            .unwrap()
        {
            Ok(mut s) => {
                assert_eq!(attempt, 0, "the second import must be recognised");
                s.add_referrals(&[referral_row(2, &members[0], "高橋花子", d(2025, 6, 5))])
                    .await
                    .unwrap();
                let summary = s.finish().await.unwrap();
                assert_eq!(summary.stored, 1);
            }
            Err(summary) => {
                assert_eq!(attempt, 1);
                assert!(summary.already_imported);
                assert_eq!(summary.stored, 1, "the earlier summary is returned");
            }
        }
    }
    assert_eq!(db.store.count(Table::Referrals).await.unwrap(), 1);
    assert_eq!(
        db.store.count(Table::Imports).await.unwrap(),
        2,
        "members + one referral import"
    );
}

both!(a_failed_import_leaves_the_database_unchanged);
async fn a_failed_import_leaves_the_database_unchanged(db: TestDb) {
    let members = seed(&db.store).await;
    let before = (
        db.store.count(Table::Checkups).await.unwrap(),
        db.store.count(Table::Imports).await.unwrap(),
        db.store.count(Table::AuditLog).await.unwrap(),
    );
    {
        let today = d(2025, 7, 10);
        let mut s = db
            .store
            .begin_import(
                ImportKind::Checkups,
                "a.zip",
                "sha-a",
                Some(&employer("1001")),
                &actor(),
                today,
                ts(today),
            )
            .await
            .unwrap()
            .unwrap();
        s.add_checkups(&[checkup_row(1, &members[0], d(2025, 6, 1), 7.0, false)])
            .await
            .unwrap();
        assert_eq!(s.summary().stored, 1);
        // The caller hits a bad record and drops the session without finishing.
    }
    let after = (
        db.store.count(Table::Checkups).await.unwrap(),
        db.store.count(Table::Imports).await.unwrap(),
        db.store.count(Table::AuditLog).await.unwrap(),
    );
    assert_eq!(before, after);
}

both!(rows_that_do_not_match_cleanly_go_to_review);
async fn rows_that_do_not_match_cleanly_go_to_review(db: TestDb) {
    let members = seed(&db.store).await;
    let today = d(2025, 7, 10);
    let mut s = db
        .store
        .begin_import(
            ImportKind::Referrals,
            "list.csv",
            "sha-r",
            Some(&employer("1001")),
            &actor(),
            today,
            ts(today),
        )
        .await
        .unwrap()
        .unwrap();
    let mut wrong_birth = referral_row(3, &members[1], "佐藤恵子", d(2025, 6, 5));
    wrong_birth.person.birth_date = d(1968, 8, 21);
    s.add_referrals(&[
        referral_row(2, &members[0], "ﾀｶﾊｼ ﾊﾅｺ", d(2025, 6, 5)),
        wrong_birth,
        referral_row(4, &members[2], "鈴木陽子", d(2025, 6, 5)),
    ])
    .await
    .unwrap();
    let summary = s.finish().await.unwrap();
    assert_eq!((summary.stored, summary.to_review), (1, 2));
    let review = db.store.review_items(true).await.unwrap();
    let reasons: Vec<(i64, &str)> = review.iter().map(|r| (r.line, r.reason.as_str())).collect();
    assert_eq!(
        reasons,
        [(3, "birth_date_mismatch"), (4, "other_employer")],
        "another employer's member is never matched to this employer's list"
    );
    // Staff resolve the first one by naming the member.
    db.store
        .resolve_review(review[0].id, &members[1].key, &actor(), ts(today), today)
        .await
        .unwrap();
    assert_eq!(db.store.count(Table::Referrals).await.unwrap(), 2);
    assert_eq!(db.store.review_items(true).await.unwrap().len(), 1);
    // A member of another employer cannot be attached to this employer's row.
    let err = db
        .store
        .resolve_review(review[1].id, &members[2].key, &actor(), ts(today), today)
        .await;
    assert!(err.is_err());
}

both!(an_opt_out_purges_employer_data_stops_cases_and_excludes_later_submissions);
async fn an_opt_out_purges_employer_data_stops_cases_and_excludes_later_submissions(db: TestDb) {
    let members = seed(&db.store).await;
    let hanako = &members[0];
    let day = d(2025, 7, 10);
    let mut s = db
        .store
        .begin_import(
            ImportKind::Checkups,
            "c.zip",
            "sha-c",
            Some(&employer("1001")),
            &actor(),
            day,
            ts(day),
        )
        .await
        .unwrap()
        .unwrap();
    s.add_checkups(&[checkup_row(1, hanako, d(2025, 6, 1), 7.0, true)])
        .await
        .unwrap();
    s.finish().await.unwrap();
    let mut s = db
        .store
        .begin_import(
            ImportKind::Referrals,
            "r.csv",
            "sha-r1",
            Some(&employer("1001")),
            &actor(),
            day,
            ts(day),
        )
        .await
        .unwrap()
        .unwrap();
    s.add_referrals(&[referral_row(2, hanako, "髙橋花子", d(2025, 6, 1))])
        .await
        .unwrap();
    s.finish().await.unwrap();
    db.store.run_engine(d(2025, 7, 15), |_| {}).await.unwrap();
    let open_before = db
        .store
        .cases(None, None, Some(&hanako.key.to_key_string()), 100)
        .await
        .unwrap();
    assert!(
        open_before.iter().any(|c| c.programme == ProgrammeCode::S)
            && open_before.iter().any(|c| c.programme == ProgrammeCode::C)
    );

    let record = ConsentRecord {
        member: hanako.key.clone(),
        kind: ConsentKind::OptOut,
        scope: ConsentScope::All,
        effective: d(2025, 7, 16),
        channel: ConsentChannel::Phone,
        recorded_by: "staff1".into(),
    };
    let purge = db
        .store
        .record_consent(&record, &actor(), d(2025, 7, 16), ts(d(2025, 7, 16)))
        .await
        .unwrap();
    assert_eq!(
        (purge.checkups, purge.referrals, purge.tombstone),
        (1, 1, true)
    );
    assert!(purge.cases_stopped >= 2);
    assert_eq!(db.store.count(Table::Checkups).await.unwrap(), 0);
    assert_eq!(db.store.count(Table::Referrals).await.unwrap(), 0);
    for c in db
        .store
        .cases(None, None, Some(&hanako.key.to_key_string()), 100)
        .await
        .unwrap()
    {
        assert!(
            c.state.starts_with("closed") || c.state == "excluded",
            "{} is {}",
            c.case_key,
            c.state
        );
    }
    // A later list naming her is excluded, not stored.
    let day = d(2025, 9, 10);
    let mut s = db
        .store
        .begin_import(
            ImportKind::Referrals,
            "r2.csv",
            "sha-r2",
            Some(&employer("1001")),
            &actor(),
            day,
            ts(day),
        )
        .await
        .unwrap()
        .unwrap();
    s.add_referrals(&[referral_row(2, hanako, "髙橋花子", d(2025, 8, 1))])
        .await
        .unwrap();
    let summary = s.finish().await.unwrap();
    assert_eq!((summary.stored, summary.excluded_opted_out), (0, 1));
    // The consent change is audited.
    let audit = db
        .store
        .audit_records(&collabo_store::audit::AuditFilter {
            action_prefix: Some("consent".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        audit[0].entry.member_key.as_deref(),
        Some(hanako.key.to_key_string().as_str())
    );
}

both!(a_second_run_on_the_same_day_changes_nothing);
async fn a_second_run_on_the_same_day_changes_nothing(db: TestDb) {
    let members = seed(&db.store).await;
    let day = d(2025, 7, 10);
    let mut s = db
        .store
        .begin_import(
            ImportKind::Checkups,
            "c.zip",
            "sha-c",
            Some(&employer("1001")),
            &actor(),
            day,
            ts(day),
        )
        .await
        .unwrap()
        .unwrap();
    s.add_checkups(&[
        checkup_row(1, &members[0], d(2025, 6, 1), 7.1, true),
        checkup_row(2, &members[1], d(2025, 6, 2), 5.0, true),
    ])
    .await
    .unwrap();
    s.finish().await.unwrap();
    let first = db.store.run_engine(d(2025, 7, 15), |_| {}).await.unwrap();
    assert!(!first.is_empty());
    let cases = db.store.count(Table::Cases).await.unwrap();
    let second = db.store.run_engine(d(2025, 7, 15), |_| {}).await.unwrap();
    assert!(second.is_empty(), "{second:?}");
    assert_eq!(db.store.count(Table::Cases).await.unwrap(), cases);
    // D waits for its look-back claims: no coverage is loaded.
    let waiting = db
        .store
        .cases(Some(ProgrammeCode::D), Some("waiting_for_claims"), None, 10)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
}

both!(letter_batches_count_as_sent_only_when_confirmed_mailed);
async fn letter_batches_count_as_sent_only_when_confirmed_mailed(db: TestDb) {
    let members = seed(&db.store).await;
    let day = d(2025, 7, 10);
    let mut s = db
        .store
        .begin_import(
            ImportKind::Checkups,
            "c.zip",
            "sha-c",
            Some(&employer("1001")),
            &actor(),
            day,
            ts(day),
        )
        .await
        .unwrap()
        .unwrap();
    s.add_checkups(&[checkup_row(1, &members[0], d(2025, 6, 1), 5.0, true)])
        .await
        .unwrap();
    s.finish().await.unwrap();
    db.store.run_engine(d(2025, 7, 15), |_| {}).await.unwrap();
    let due = db.store.letters_due().await.unwrap();
    assert_eq!(due.len(), 1);
    let letters: Vec<_> = due
        .iter()
        .map(|l| (l.case_key.clone(), l.member.key.to_key_string(), l.kind))
        .collect();
    db.store
        .create_batch("B1", d(2025, 7, 16), &letters, None, None)
        .await
        .unwrap();
    assert!(
        db.store.letters_due().await.unwrap().is_empty(),
        "prepare does not duplicate"
    );
    assert_eq!(
        db.store.cancel_batch("B1", d(2025, 7, 17)).await.unwrap(),
        1
    );
    assert_eq!(
        db.store.letters_due().await.unwrap().len(),
        1,
        "a cancelled batch's notices are due again"
    );
    db.store
        .create_batch("B2", d(2025, 7, 18), &letters, None, None)
        .await
        .unwrap();
    let figures = db.store.programme_figures(None).await.unwrap();
    assert_eq!(
        figures[&ProgrammeCode::S].notified,
        0,
        "prepared is not sent"
    );
    assert_eq!(
        db.store
            .mark_batch_mailed("B2", d(2025, 7, 20))
            .await
            .unwrap(),
        1
    );
    assert!(
        db.store
            .mark_batch_mailed("B2", d(2025, 7, 21))
            .await
            .is_err(),
        "mailed twice"
    );
    let figures = db.store.programme_figures(None).await.unwrap();
    assert_eq!(figures[&ProgrammeCode::S].notified, 1);
}

both!(claims_are_stored_as_visit_facts_only);
async fn claims_are_stored_as_visit_facts_only(db: TestDb) {
    let members = seed(&db.store).await;
    let columns = db.store.schema_columns().await.unwrap();
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
    // Matching: a claim with branch and a wrong birth date matches nobody and is counted.
    use collabo_domain::visit::{Evidence, GroupKind, ServiceTime};
    use collabo_store::imports::{ClaimIdentity, IncomingVisit};
    let m = &members[0];
    let identity = |birth| ClaimIdentity {
        insurer: m.key.insurer.clone(),
        symbol: m.key.symbol.clone(),
        number: m.key.number.clone(),
        branch: None,
        birth_date: birth,
        sex: m.sex,
    };
    let evidence = [Evidence {
        kind: GroupKind::Procedure,
        group: "stomach_exam".into(),
        suspected: false,
        started_on: None,
    }]
    .into_iter()
    .collect();
    let day = d(2025, 9, 5);
    let mut s = db
        .store
        .begin_import(
            ImportKind::Claims,
            "RECEIPTC.UKE",
            "sha-uke",
            None,
            &actor(),
            day,
            ts(day),
        )
        .await
        .unwrap()
        .unwrap();
    s.add_visits(&[
        IncomingVisit {
            identity: identity(m.birth_date),
            time: ServiceTime::Day(d(2025, 7, 3)),
            institution: "1310000001".into(),
            evidence,
        },
        IncomingVisit {
            identity: identity(d(1999, 1, 1)),
            time: ServiceTime::Day(d(2025, 7, 3)),
            institution: "1310000001".into(),
            evidence: Default::default(),
        },
    ])
    .await
    .unwrap();
    s.add_coverage(&[YearMonth::parse("2025-07").unwrap()])
        .await
        .unwrap();
    let summary = s.finish().await.unwrap();
    assert_eq!((summary.stored, summary.unmatched), (1, 1));
    assert!(
        db.store
            .claims_coverage()
            .await
            .unwrap()
            .covers(d(2025, 7, 1), d(2025, 7, 31))
    );
}

both!(the_audit_chain_detects_an_edited_record);
async fn the_audit_chain_detects_an_edited_record(db: TestDb) {
    seed(&db.store).await;
    for i in 0..3 {
        db.store
            .audit(
                &collabo_store::AuditEntry {
                    actor: "staff1".into(),
                    role: "staff".into(),
                    action: "member.view".into(),
                    member_key: Some(format!("m{i}")),
                    employer_code: None,
                    detail: String::new(),
                    origin: "127.0.0.1".into(),
                },
                ts(d(2025, 7, 10)),
            )
            .await
            .unwrap();
    }
    let check = db.store.verify_audit().await.unwrap();
    assert_eq!((check.records, check.first_broken), (4, None));
    let target: i64 = check.records as i64 - 1;
    let sql = "UPDATE audit_log SET member_key = 'someone-else' WHERE id = (SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 2)";
    if db.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    let check = db.store.verify_audit().await.unwrap();
    assert!(check.first_broken.is_some(), "edit not detected");
    let _ = target;
}
