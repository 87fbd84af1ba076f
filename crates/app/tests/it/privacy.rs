//! The privacy promises, one test each, on both databases: SPEC.md "Rules that hold
//! everywhere" and the walls of issue 9. Every test goes through `collabo_app::App`, the
//! one door the CLI and the portal use.

use crate::both;
use crate::harness::*;
use collabo_app::AppError;
use collabo_app::audit::AuditFilter;
use collabo_app::members::CaseFilter;
use collabo_app::review::{Resolution, ReviewFilter};
use collabo_domain::aggregates::AggregateCell;
use collabo_domain::audit::AuditAction;
use collabo_domain::calendar::FiscalYear;
use collabo_domain::consent::{ConsentChannel, ConsentKind, ConsentRecord, ConsentScope};
use collabo_domain::programme::{ConsentMode, ProgrammeCode, ProgrammeSettings};

const FY: FiscalYear = FiscalYear::new(2025);

fn opt(
    person: &Person,
    kind: ConsentKind,
    scope: ConsentScope,
    on: collabo_domain::Date,
) -> ConsentRecord {
    ConsentRecord {
        member: person.key(),
        kind,
        scope,
        effective: on,
        channel: ConsentChannel::Phone,
        recorded_by: "staff1".into(),
    }
}

/// 60 本人 of 1001; the first 30 had the society's 人間ドック: odd numbers with blood
/// pressure at 受診勧奨 level (150), even ones normal (110).
pub(crate) async fn dock_society(t: &TestApp) -> Vec<Person> {
    let people: Vec<Person> = (1..=60).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    let exams: Vec<Exam> = people[..30]
        .iter()
        .map(|p| {
            let sbp = if p.number % 2 == 1 { 150.0 } else { 110.0 };
            exam(p, "2025-06-10", 5.4, sbp, false)
        })
        .collect();
    t.checkups(None, &exams, d(2025, 7, 1), "dock.csv").await;
    people
}

async fn listed(t: &TestApp, employer_code: &str, on: collabo_domain::Date) -> Vec<String> {
    t.app
        .risk_holders(
            &employer(employer_code, on),
            &code(employer_code),
            Some(FY),
            collabo_app::Paging::all(),
        )
        .await
        .unwrap()
        .holders
        .into_iter()
        .map(|h| h.person.member_key)
        .collect()
}

async fn published(t: &TestApp, on: collabo_domain::Date) -> collabo_app::employer::AggregateView {
    t.app
        .aggregates(&employer("1001", on), &code("1001"), Some(FY))
        .await
        .unwrap()
}

fn cell(view: &collabo_app::employer::AggregateView, cell: AggregateCell) -> Option<u64> {
    view.published
        .as_ref()
        .and_then(|(_, cells)| cells.iter().find(|c| c.cell == cell))
        .and_then(|c| c.count)
}

async fn opt_out_of_a_dock_checkup(t: TestApp, scope: ConsentScope) {
    let people = dock_society(&t).await;
    let day = d(2025, 8, 1);
    let first = people[0].key().to_key_string();
    assert!(listed(&t, "1001", day).await.contains(&first));
    t.app.publish_aggregates(&staff(day), FY).await.unwrap();
    let before = published(&t, day).await;
    assert_eq!(cell(&before, AggregateCell::Examined), Some(30));
    assert_eq!(cell(&before, AggregateCell::RiskHolders), Some(15));

    t.app
        .record_consent(
            &staff(day),
            &opt(&people[0], ConsentKind::OptOut, scope, day),
        )
        .await
        .unwrap();
    let list = listed(&t, "1001", day).await;
    assert!(!list.contains(&first), "{scope:?}: still listed");
    assert_eq!(list.len(), 14);
    t.app.publish_aggregates(&staff(day), FY).await.unwrap();
    let after = published(&t, day).await;
    assert_eq!(cell(&after, AggregateCell::Examined), Some(29), "{scope:?}");
    assert_eq!(
        cell(&after, AggregateCell::RiskHolders),
        Some(14),
        "{scope:?}"
    );
}

both!(an_opt_out_of_all_removes_a_dock_checkup_from_the_employer_list_and_aggregates);
async fn an_opt_out_of_all_removes_a_dock_checkup_from_the_employer_list_and_aggregates(
    t: TestApp,
) {
    opt_out_of_a_dock_checkup(t, ConsentScope::All).await;
}

both!(an_opt_out_of_r_removes_a_dock_checkup_from_the_employer_list_and_aggregates);
async fn an_opt_out_of_r_removes_a_dock_checkup_from_the_employer_list_and_aggregates(t: TestApp) {
    opt_out_of_a_dock_checkup(t, ConsentScope::Programme(ProgrammeCode::R)).await;
}

both!(r_opt_in_without_consent_and_r_disabled_show_nobody);
async fn r_opt_in_without_consent_and_r_disabled_show_nobody(t: TestApp) {
    let people = dock_society(&t).await;
    let day = d(2025, 8, 1);
    assert_eq!(listed(&t, "1001", day).await.len(), 15);
    let mut optin = ProgrammeSettings::default_for(ProgrammeCode::R);
    optin.from_year = FY;
    optin.consent_mode = ConsentMode::OptIn;
    t.app
        .save_programme_settings(&admin(day), &optin)
        .await
        .unwrap();
    assert!(
        listed(&t, "1001", day).await.is_empty(),
        "opt-in, nobody consented"
    );
    t.app.publish_aggregates(&staff(day), FY).await.unwrap();
    let view = t
        .app
        .aggregates(&staff(day), &code("1001"), Some(FY))
        .await
        .unwrap();
    assert_eq!(cell(&view, AggregateCell::Examined), Some(0));
    // One person consents: only they appear.
    t.app
        .record_consent(
            &staff(day),
            &opt(
                &people[2],
                ConsentKind::OptIn,
                ConsentScope::Programme(ProgrammeCode::R),
                day,
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        listed(&t, "1001", day).await,
        vec![people[2].key().to_key_string()]
    );
    let mut off = ProgrammeSettings::default_for(ProgrammeCode::R);
    off.from_year = FY;
    off.enabled = false;
    t.app
        .save_programme_settings(&admin(day), &off)
        .await
        .unwrap();
    assert!(listed(&t, "1001", day).await.is_empty(), "R disabled");
}

both!(dependants_never_appear_and_are_not_counted);
async fn dependants_never_appear_and_are_not_counted(t: TestApp) {
    let mut people: Vec<Person> = (1..=55).map(|n| insured("1001", n)).collect();
    let family: Vec<Person> = (1..=12)
        .map(|n| Person {
            branch: "01",
            kanji: format!("試験 花子{n}"),
            kana: format!("シケン ハナコ{n}"),
            birth: "1978-08-08",
            relationship: "家族",
            ..insured("1001", n)
        })
        .collect();
    people.extend(family.iter().cloned());
    t.seed(&people).await;
    let mut exams: Vec<Exam> = family
        .iter()
        .map(|p| exam(p, "2025-06-10", 7.2, 165.0, true))
        .collect();
    exams.extend((1..=20).map(|n| exam(&people[n - 1], "2025-06-10", 5.0, 150.0, false)));
    t.checkups(None, &exams, d(2025, 7, 1), "dock.csv").await;
    let day = d(2025, 8, 1);
    let list = listed(&t, "1001", day).await;
    assert_eq!(list.len(), 20);
    assert!(list.iter().all(|k| k.ends_with(":00")), "{list:?}");
    t.app.publish_aggregates(&staff(day), FY).await.unwrap();
    let view = t
        .app
        .aggregates(&staff(day), &code("1001"), Some(FY))
        .await
        .unwrap();
    assert_eq!(
        cell(&view, AggregateCell::Population),
        Some(55),
        "本人 only"
    );
    assert_eq!(cell(&view, AggregateCell::Examined), Some(20));
    assert_eq!(
        cell(&view, AggregateCell::Smokers),
        Some(0),
        "the smokers were 家族"
    );
}

both!(a_member_who_moved_is_not_shown_to_the_new_employer_for_an_earlier_checkup);
async fn a_member_who_moved_is_not_shown_to_the_new_employer_for_an_earlier_checkup(t: TestApp) {
    let mover = insured("1002", 1);
    t.seed(&[insured("1001", 1), mover.clone()]).await;
    t.checkups(
        Some("1002"),
        &[exam(&mover, "2025-06-01", 5.0, 170.0, false)],
        d(2025, 6, 20),
        "by-1002.csv",
    )
    .await;
    t.checkups(
        None,
        &[exam(&mover, "2025-07-01", 5.0, 172.0, false)],
        d(2025, 7, 20),
        "dock.csv",
    )
    .await;
    let key = mover.key().to_key_string();
    assert!(listed(&t, "1002", d(2025, 8, 1)).await.contains(&key));
    // The register of October says the person now works for 1001 (same 記号番号).
    let moved = Person {
        employer: "1001",
        ..mover.clone()
    };
    let register = register_csv(&[insured("1001", 1), moved.clone()]);
    t.app
        .import_members(&staff(d(2025, 10, 1)), "members-10.csv", &register)
        .await
        .unwrap();
    let day = d(2025, 12, 1);
    assert!(
        !listed(&t, "1001", day).await.contains(&key),
        "new employer sees an old checkup"
    );
    assert!(
        !listed(&t, "1002", day).await.contains(&key),
        "old employer sees a former employee"
    );
    // A checkup the new employer itself submits is its own.
    let moved_exam = Exam {
        person: moved,
        ..exam(&mover, "2025-11-10", 5.0, 168.0, false)
    };
    t.checkups(Some("1001"), &[moved_exam], d(2025, 11, 20), "by-1001.csv")
        .await;
    assert!(listed(&t, "1001", day).await.contains(&key));
}

both!(resolving_a_review_row_of_an_opted_out_person_stores_nothing);
async fn resolving_a_review_row_of_an_opted_out_person_stores_nothing(t: TestApp) {
    let people: Vec<Person> = (1..=3).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    let day = d(2025, 7, 1);
    t.app
        .record_consent(
            &staff(day),
            &opt(&people[1], ConsentKind::OptOut, ConsentScope::All, day),
        )
        .await
        .unwrap();
    // The employer's list gives a wrong birth date: the row goes to review.
    let mut wrong = people[1].clone();
    wrong.birth = "1975-05-06";
    let report = t
        .app
        .import_referrals(
            &employer("1001", d(2025, 7, 10)),
            &code("1001"),
            "list.csv",
            &referral_csv(&[(&wrong, "試験 太郎2", "胃", "2025-06-05")]),
        )
        .await
        .unwrap();
    assert_eq!(report.summary.to_review, 1);
    let queue = t
        .app
        .review_queue(&staff(day), &ReviewFilter::default())
        .await
        .unwrap();
    let id = queue.entries[0].item.id;
    let outcome = t
        .app
        .resolve_review(&staff(day), id, &people[1].key())
        .await
        .unwrap();
    assert_eq!(outcome, Resolution::Excluded);
    assert_eq!(t.count("SELECT COUNT(*) FROM referrals").await, 0);
    // The same row for a person who did not opt out is stored.
    let mut other = people[2].clone();
    other.birth = "1975-05-06";
    t.app
        .import_referrals(
            &employer("1001", d(2025, 7, 11)),
            &code("1001"),
            "list2.csv",
            &referral_csv(&[(&other, "試験 太郎3", "胃", "2025-06-05")]),
        )
        .await
        .unwrap();
    let queue = t
        .app
        .review_queue(&staff(day), &ReviewFilter::default())
        .await
        .unwrap();
    let outcome = t
        .app
        .resolve_review(&staff(day), queue.entries[0].item.id, &people[2].key())
        .await
        .unwrap();
    assert_eq!(outcome, Resolution::Admitted);
    assert_eq!(t.count("SELECT COUNT(*) FROM referrals").await, 1);
}

both!(after_the_purge_the_employer_sent_values_are_nowhere_in_the_database);
async fn after_the_purge_the_employer_sent_values_are_nowhere_in_the_database(t: TestApp) {
    let people: Vec<Person> = (1..=4).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    let target = &people[3];
    t.checkups(
        Some("1001"),
        &[exam(target, "2025-06-01", 13.7, 120.0, true)],
        d(2025, 7, 1),
        "c1.csv",
    )
    .await;
    // A second row names the person with a name that does not match: it waits in review.
    let misnamed = Person {
        kana: "ベツジン ナマエ".into(),
        ..target.clone()
    };
    let report = t
        .checkups(
            Some("1001"),
            &[exam(&misnamed, "2025-06-02", 13.6, 121.0, true)],
            d(2025, 7, 2),
            "c2.csv",
        )
        .await;
    assert_eq!(report.summary.to_review, 1);
    t.app
        .run_engine(&staff(d(2025, 7, 15)), |_| {})
        .await
        .unwrap();
    let dump = t.dump().await;
    for needle in ["13.7", "13.6", "ベツジン"] {
        assert!(
            dump.contains(needle),
            "{needle} should be stored before the purge"
        );
    }
    let day = d(2025, 7, 16);
    let purge = t
        .app
        .record_consent(
            &staff(day),
            &opt(target, ConsentKind::OptOut, ConsentScope::All, day),
        )
        .await
        .unwrap();
    assert_eq!((purge.checkups, purge.review_rows), (1, 1));
    assert!(purge.case_values >= 1, "the D case carried the values");
    let dump = t.dump().await;
    for needle in ["13.7", "13.6", "ベツジン"] {
        let hits: Vec<&str> = dump.lines().filter(|l| l.contains(needle)).collect();
        assert!(hits.is_empty(), "{needle} survived the purge: {hits:?}");
    }
    // The cases remain, stopped, with their events.
    let (cases, _) = t
        .app
        .cases(
            &staff(day),
            &CaseFilter {
                member: Some(target.key()),
                ..CaseFilter::default()
            },
        )
        .await
        .unwrap();
    assert!(!cases.is_empty() && cases.iter().all(|c| !c.state.is_open()));
}

async fn last_record(t: &TestApp, action: AuditAction) -> collabo_app::audit::AuditRecord {
    let (records, _) = t
        .app
        .audit_log(
            &auditor(d(2026, 1, 1)),
            &AuditFilter {
                action_prefix: Some(action.code().into()),
                limit: 1,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    records
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {action:?} record"))
}

both!(every_bulk_view_names_its_people);
async fn every_bulk_view_names_its_people(t: TestApp) {
    let people = dock_society(&t).await;
    let day = d(2025, 8, 1);
    let keys = |ps: &[&Person]| -> Vec<String> {
        let mut v: Vec<String> = ps.iter().map(|p| p.key().to_key_string()).collect();
        v.sort();
        v
    };
    // Risk holders.
    let holders = listed(&t, "1001", day).await;
    let mut record = last_record(&t, AuditAction::RiskHoldersView).await.subjects;
    record.sort();
    let mut holders_sorted = holders.clone();
    holders_sorted.sort();
    assert_eq!(record, holders_sorted);
    // Review queue: two rows that do not match.
    let mut ghost1 = insured("1001", 98);
    ghost1.kana = "ダレカ".into();
    let ghost2 = insured("1001", 99);
    t.app
        .import_referrals(
            &employer("1001", day),
            &code("1001"),
            "l.csv",
            &referral_csv(&[
                (&ghost1, "誰か", "肺", "2025-06-01"),
                (&ghost2, "誰か二", "肺", "2025-06-01"),
            ]),
        )
        .await
        .unwrap();
    let queue = t
        .app
        .review_queue(&staff(day), &ReviewFilter::default())
        .await
        .unwrap();
    let record = last_record(&t, AuditAction::ReviewView).await;
    let mut shown: Vec<String> = queue
        .entries
        .iter()
        .map(|e| e.item.subject.clone())
        .collect();
    shown.sort();
    assert_eq!(record.subjects, shown);
    assert_eq!(record.subjects.len(), 2);
    // Member search.
    let (found, _) = t
        .app
        .search_members(&staff(day), "試験 太郎1", collabo_app::Paging::page(1, 100))
        .await
        .unwrap();
    assert!(found.len() > 1);
    let record = last_record(&t, AuditAction::MemberSearch).await;
    assert_eq!(record.subjects.len(), found.len());
    // Cases list and export.
    let smokers: Vec<Exam> = people[30..45]
        .iter()
        .map(|p| exam(p, "2025-07-01", 5.0, 110.0, true))
        .collect();
    t.checkups(Some("1001"), &smokers, d(2025, 7, 10), "smokers.csv")
        .await;
    t.app
        .run_engine(&staff(d(2025, 7, 15)), |_| {})
        .await
        .unwrap();
    let (cases, _) = t
        .app
        .cases(
            &staff(day),
            &CaseFilter {
                programme: Some(ProgrammeCode::S),
                ..CaseFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cases.len(), 15);
    let smoker_refs: Vec<&Person> = people[30..45].iter().collect();
    assert_eq!(
        last_record(&t, AuditAction::CasesView).await.subjects,
        keys(&smoker_refs)
    );
    let all = t.app.export_cases(&staff(day)).await.unwrap();
    let mut exported: Vec<String> = all.iter().map(|c| c.key.member.to_key_string()).collect();
    exported.sort();
    exported.dedup();
    assert_eq!(
        last_record(&t, AuditAction::CasesExport).await.subjects,
        exported
    );
    // Letters: the batch, its PDF part and its mailing list.
    let renderer = std::sync::Arc::new(
        collabo_letters::Renderer::with_default_fonts(None, None)
            .expect("Japanese fonts (scripts/setup.sh)"),
    );
    let batch = t
        .app
        .prepare_letters(
            &staff(d(2025, 7, 16)),
            &renderer,
            &t.data.path().join("letters"),
        )
        .await
        .unwrap()
        .expect("S notices are due");
    assert_eq!(batch.letters, 15);
    assert_eq!(
        last_record(&t, AuditAction::LettersPrepare).await.subjects,
        keys(&smoker_refs)
    );
    t.app
        .download_batch_part(&staff(day), &renderer, &batch.id, 0)
        .await
        .unwrap();
    assert_eq!(
        last_record(&t, AuditAction::LettersDownload).await.subjects,
        keys(&smoker_refs)
    );
    t.app
        .download_mailing_list(&staff(day), &renderer, &batch.id)
        .await
        .unwrap();
    assert_eq!(
        last_record(&t, AuditAction::MailingListExport)
            .await
            .subjects,
        keys(&smoker_refs)
    );
}

/// The chain's plain SHA-256 of the first version, as an attacker without the key would
/// recompute it (the store's `plain_hash`).
#[allow(clippy::too_many_arguments)]
fn plain_hash(
    prev: &str,
    at: &str,
    actor: &str,
    role: &str,
    action: &str,
    member: &str,
    employer: &str,
    detail: &str,
    origin: &str,
) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [
        prev, at, actor, role, action, member, employer, detail, origin,
    ] {
        h.update(part.len().to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The keyed hash with a key the attacker chose (the store's `keyed_hash`, same layout).
#[allow(clippy::too_many_arguments)]
fn keyed_hash(
    key: &[u8],
    prev: &str,
    seq: i64,
    at: &str,
    actor: &str,
    role: &str,
    action: &str,
    employer: &str,
    detail: &str,
    origin: &str,
) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    let seq = seq.to_string();
    for part in [
        prev, &seq, at, actor, role, action, "", employer, detail, origin,
    ] {
        mac.update(&(part.len() as u64).to_le_bytes());
        mac.update(part.as_bytes());
    }
    hex::encode(mac.finalize().into_bytes())
}

type Row = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
);

async fn chain(t: &TestApp) -> Vec<Row> {
    let sql = "SELECT id, seq, at, actor, role, action, employer_code, detail, origin FROM audit_log ORDER BY seq";
    if t.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&t.url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(&t.url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
    }
}

/// Edits record 3 and rewrites every hash from the genesis with `rehash`.
async fn rewrite(t: &TestApp, scheme: &str, rehash: impl Fn(&str, &Row) -> String) {
    let rows = chain(t).await;
    let mut prev = "0".repeat(64);
    for mut row in rows {
        if row.1 == 3 {
            row.7 = "nothing happened here".into();
        }
        let hash = rehash(&prev, &row);
        t.sql(&format!(
            "UPDATE audit_log SET detail = '{}', prev_hash = '{prev}', hash = '{hash}', scheme = '{scheme}' WHERE id = {}",
            row.7.replace('\'', "''"),
            row.0
        ))
        .await;
        prev = hash;
    }
}

async fn thirty_records(t: &TestApp) {
    for i in 0..30 {
        t.app
            .upsert_employer(
                &admin(d(2025, 5, 1)),
                &collabo_domain::employer::Employer {
                    code: code("1003"),
                    name: format!("名前{i}"),
                    contact: String::new(),
                },
            )
            .await
            .unwrap();
    }
    assert!(
        t.app
            .verify_audit(&auditor(d(2025, 5, 2)))
            .await
            .unwrap()
            .is_intact()
    );
}

both!(deleting_the_newest_audit_records_is_detected);
async fn deleting_the_newest_audit_records_is_detected(t: TestApp) {
    t.seed(&[insured("1001", 1)]).await;
    thirty_records(&t).await;
    let newest = t.count("SELECT MAX(seq) FROM audit_log").await;
    t.sql(&format!(
        "DELETE FROM audit_log WHERE seq > {}",
        newest - 25
    ))
    .await;
    let check = t.app.verify_audit(&auditor(d(2025, 5, 3))).await.unwrap();
    assert!(!check.is_intact(), "25 newest records deleted: {check:?}");
    assert_eq!(check.first_broken, None, "what is left is a valid prefix");
    assert!(check.anchor_mismatch.is_some());
}

both!(an_edited_audit_record_with_a_recomputed_chain_is_detected);
async fn an_edited_audit_record_with_a_recomputed_chain_is_detected(t: TestApp) {
    t.seed(&[insured("1001", 1)]).await;
    thirty_records(&t).await;
    // Recomputed with a key of the attacker's choosing: the keyed check fails.
    rewrite(&t, "hmac1", |prev, r| {
        keyed_hash(
            b"attacker-key-attacker-key",
            prev,
            r.1,
            &r.2,
            &r.3,
            &r.4,
            &r.5,
            r.6.as_deref().unwrap_or(""),
            &r.7,
            &r.8,
        )
    })
    .await;
    let check = t.app.verify_audit(&auditor(d(2025, 5, 3))).await.unwrap();
    assert_eq!(check.first_broken, Some(1), "{check:?}");
}

both!(an_audit_chain_downgraded_to_plain_hashes_is_detected);
async fn an_audit_chain_downgraded_to_plain_hashes_is_detected(t: TestApp) {
    t.seed(&[insured("1001", 1)]).await;
    thirty_records(&t).await;
    // Every record rewritten as a first-version (unkeyed) record, consistently: the chain
    // itself verifies, the anchors outside the database do not.
    rewrite(&t, "sha256", |prev, r| {
        plain_hash(
            prev,
            &r.2,
            &r.3,
            &r.4,
            &r.5,
            "",
            r.6.as_deref().unwrap_or(""),
            &r.7,
            &r.8,
        )
    })
    .await;
    let check = t.app.verify_audit(&auditor(d(2025, 5, 3))).await.unwrap();
    assert_eq!(check.first_broken, None);
    assert!(check.anchor_mismatch.is_some(), "{check:?}");
}

both!(published_aggregates_stay_unchanged_until_the_next_publication);
async fn published_aggregates_stay_unchanged_until_the_next_publication(t: TestApp) {
    let people = dock_society(&t).await;
    let day = d(2025, 8, 1);
    let before = published(&t, day).await;
    assert!(
        before.published.is_none(),
        "nothing before the first publication"
    );
    t.app.publish_aggregates(&staff(day), FY).await.unwrap();
    let first = published(&t, day).await;
    // Another import: the employer still sees the same table.
    let more: Vec<Exam> = people[30..45]
        .iter()
        .map(|p| exam(p, "2025-07-01", 5.0, 150.0, true))
        .collect();
    t.checkups(Some("1001"), &more, d(2025, 7, 20), "more.csv")
        .await;
    assert_eq!(published(&t, day).await, first);
    t.app
        .publish_aggregates(&staff(d(2025, 8, 2)), FY)
        .await
        .unwrap();
    let second = published(&t, d(2025, 8, 2)).await;
    assert_ne!(second.published, first.published);
    assert_eq!(cell(&second, AggregateCell::Examined), Some(45));
    // No published cell, and no remainder of one from its total, is under the minimum.
    for view in [&first, &second] {
        let (_, cells) = view.published.as_ref().unwrap();
        let staff_view = t
            .app
            .aggregates(&staff(day), &code("1001"), Some(FY))
            .await
            .unwrap();
        let (_, all) = staff_view.published.as_ref().unwrap();
        for c in cells.iter().filter(|c| c.count.is_some()) {
            let n = c.count.unwrap();
            if let Some(parent) = c.cell.parent() {
                let total = all
                    .iter()
                    .find(|x| x.cell == parent)
                    .and_then(|x| x.count)
                    .unwrap();
                assert!(
                    n >= view.rule.min_cell && total - n >= view.rule.min_cell,
                    "{c:?} of {total}"
                );
            }
        }
    }
    // In the first table nobody smoked: a cell of 0 is not shown.
    let (_, cells) = first.published.as_ref().unwrap();
    let smokers = cells
        .iter()
        .find(|c| c.cell == AggregateCell::Smokers)
        .unwrap();
    assert_eq!((smokers.count, smokers.suppressed), (None, true));
}

both!(an_employer_contact_is_refused_every_staff_operation);
async fn an_employer_contact_is_refused_every_staff_operation(t: TestApp) {
    let people: Vec<Person> = (1..=3).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    let e = employer("1001", d(2025, 8, 1));
    let denied = |r: Result<(), AppError>, what: &str| {
        assert!(matches!(r, Err(AppError::Denied(_))), "{what}: {r:?}");
    };
    denied(
        t.app.member_page(&e, &people[0].key()).await.map(|_| ()),
        "member page",
    );
    denied(
        t.app
            .search_members(&e, "試験", collabo_app::Paging::page(1, 10))
            .await
            .map(|_| ()),
        "member search",
    );
    denied(
        t.app.cases(&e, &CaseFilter::default()).await.map(|_| ()),
        "cases",
    );
    denied(t.app.export_cases(&e).await.map(|_| ()), "export");
    denied(
        t.app
            .review_queue(&e, &ReviewFilter::default())
            .await
            .map(|_| ()),
        "review",
    );
    denied(t.app.batches(&e).await.map(|_| ()), "letters");
    denied(
        t.app.programme_figures(&e, None).await.map(|_| ()),
        "reports",
    );
    denied(
        t.app
            .effect_report(&e, collabo_domain::calendar::FiscalYear::new(2025))
            .await
            .map(|_| ()),
        "effect report (claims-derived: visits, case outcomes)",
    );
    denied(t.app.dashboard(&e).await.map(|_| ()), "dashboard");
    denied(
        t.app
            .audit_log(&e, &AuditFilter::default())
            .await
            .map(|_| ()),
        "audit",
    );
    denied(t.app.run_engine(&e, |_| {}).await.map(|_| ()), "engine");
    denied(
        t.app.publish_aggregates(&e, FY).await.map(|_| ()),
        "publish",
    );
    denied(
        t.app
            .record_consent(
                &e,
                &opt(
                    &people[0],
                    ConsentKind::OptOut,
                    ConsentScope::All,
                    d(2025, 8, 1),
                ),
            )
            .await
            .map(|_| ()),
        "consent",
    );
    denied(
        t.app
            .import_members(&e, "m.csv", &register_csv(&people))
            .await
            .map(|_| ()),
        "register",
    );
    // Another employer's pages.
    denied(
        t.app
            .risk_holders(&e, &code("1002"), None, collabo_app::Paging::all())
            .await
            .map(|_| ()),
        "other risk holders",
    );
    denied(
        t.app
            .employer_overview(&e, &code("1002"), collabo_app::Paging::all())
            .await
            .map(|_| ()),
        "other overview",
    );
    denied(
        t.app.aggregates(&e, &code("1002"), None).await.map(|_| ()),
        "other aggregates",
    );
    denied(
        t.app
            .import_referrals(&e, &code("1002"), "l.csv", &referral_csv(&[]))
            .await
            .map(|_| ()),
        "other upload",
    );
}
