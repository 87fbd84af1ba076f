//! Issue 10, "No wrong letter", on both databases through the one door: a claims month
//! counts only when every expected stream arrived whole (a DPC-only month, volume 1 of
//! 2 then 2 of 2, a 月遅れ-only file, a month closed by hand and reopened), and a
//! re-notice is withdrawn wherever it stands (due, in an unprinted batch whose files
//! are re-made without it, in a printed batch as 差止), never batched again; one
//! person's notices share one envelope; bad claims files store nothing.

use crate::both;
use crate::harness::*;
use collabo_app::{AppError, ImportError};
use collabo_claims::writer::{ClaimSpec, Filler, GroupSpec, UkeWriter, WriterOptions};
use collabo_claims::{ClaimFileKind, ClaimIdentity, GroupMap};
use collabo_domain::audit::AuditAction;
use collabo_domain::batch::{LetterStatus, MailingConfirmation};
use collabo_domain::calendar::YearMonth;
use collabo_domain::case::{
    Case, CaseEvent, CaseKey, CaseState, Outcome, Trigger, WithdrawalReason,
};
use collabo_domain::consent::{ConsentChannel, ConsentKind, ConsentRecord, ConsentScope};
use collabo_domain::coverage::ClaimStream;
use collabo_domain::programme::{LetterKind, ProgrammeCode};
use collabo_domain::referral::CancerType;
use collabo_letters::Renderer;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

fn renderer() -> Arc<Renderer> {
    static RENDERER: OnceLock<Arc<Renderer>> = OnceLock::new();
    RENDERER
        .get_or_init(|| {
            Arc::new(
                Renderer::with_default_fonts(None, None)
                    .expect("Japanese fonts (scripts/setup.sh)"),
            )
        })
        .clone()
}

fn map() -> &'static GroupMap {
    static MAP: OnceLock<GroupMap> = OnceLock::new();
    MAP.get_or_init(|| GroupMap::builtin().unwrap())
}

fn ym(text: &str) -> YearMonth {
    YearMonth::parse(text).unwrap()
}

fn identity(p: &Person) -> ClaimIdentity {
    ClaimIdentity {
        insurer: collabo_domain::ids::InsurerNumber::parse(INSURER).unwrap(),
        symbol: collabo_domain::ids::Symbol::parse(p.symbol).unwrap(),
        number: collabo_domain::ids::CardNumber::parse(&p.number.to_string()).unwrap(),
        branch: Some(collabo_domain::ids::Branch::parse(p.branch).unwrap()),
        birth_date: p.birth.parse().unwrap(),
        sex: if p.sex == "2" {
            collabo_domain::member::Sex::Female
        } else {
            collabo_domain::member::Sex::Male
        },
    }
}

/// A claim of `p` in `month` on day 10 evidencing `groups` (none: an unrelated visit).
fn claim(p: &Person, kind: ClaimFileKind, month: &str, groups: Vec<GroupSpec>) -> ClaimSpec {
    ClaimSpec {
        identity: identity(p),
        name_kana: p.kana.clone(),
        institution: match kind {
            ClaimFileKind::Dental => "1330000001",
            ClaimFileKind::Pharmacy => "1340000001",
            _ => "1310000001",
        }
        .into(),
        month: ym(month),
        days: vec![10],
        groups,
        filler: Filler::NONE,
    }
}

/// Writes a claims file of `kind` billed in `billing` (volume: 0 single, or (n, final)).
fn uke(
    t: &TestApp,
    name: &str,
    kind: ClaimFileKind,
    billing: &str,
    volume: (u16, bool),
    claims: &[ClaimSpec],
) -> PathBuf {
    let dir = t.data.path().join("claims");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let options = WriterOptions::medical(ym(billing))
        .of_kind(kind)
        .volume(volume.0, volume.1);
    let mut w = UkeWriter::new(std::fs::File::create(&path).unwrap(), map(), options);
    for c in claims {
        w.write_claim(c).unwrap();
    }
    w.finish().unwrap();
    path
}

const KINDS: [(ClaimFileKind, &str); 4] = [
    (ClaimFileKind::Medical, "RECEIPTC"),
    (ClaimFileKind::Dpc, "RECEIPTD"),
    (ClaimFileKind::Dental, "RECEIPTS"),
    (ClaimFileKind::Pharmacy, "RECEIPTY"),
];

/// A regular single-volume file of one stream for a service month, with one unrelated
/// claim of `other`.
async fn arrive(t: &TestApp, kind: ClaimFileKind, month: &str, other: &Person) {
    let name = KINDS.iter().find(|(k, _)| *k == kind).unwrap().1;
    let billing = ym(month).next().to_string();
    let path = uke(
        t,
        &format!("{name}_{month}.UKE"),
        kind,
        &billing,
        (0, true),
        &[claim(other, kind, month, Vec::new())],
    );
    t.app
        .import_claims(&staff(d(2026, 1, 5)), &path, map())
        .await
        .unwrap();
}

/// Every stream of every month from June to October 2025.
async fn june_to_october(t: &TestApp, other: &Person) {
    for month in ym("2025-06").through(ym("2025-10")) {
        for (kind, _) in KINDS {
            arrive(t, kind, &month.to_string(), other).await;
        }
    }
}

/// The society of these tests: 1001 (C memorandum signed 2025-04-01) with four 本人.
/// Person 1 and 2 are listed 要精密検査 (胃, screened 2025-06-05); their first notice
/// is mailed 2025-07-20, so the follow-up checks claims for June–November 2025.
async fn cancer_society(t: &TestApp) -> Vec<Person> {
    let people: Vec<Person> = (1..=4).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    t.app
        .import_referrals(
            &employer("1001", d(2025, 7, 10)),
            &code("1001"),
            "r.csv",
            &referral_csv(&[
                (&people[0], "試験 太郎1", "胃", "2025-06-05"),
                (&people[1], "試験 太郎2", "胃", "2025-06-05"),
            ]),
        )
        .await
        .unwrap();
    t.app
        .run_engine(&staff(d(2025, 7, 15)), |_| {})
        .await
        .unwrap();
    let out = t.data.path().join("letters");
    let b = t
        .app
        .prepare_letters(&staff(d(2025, 7, 16)), &renderer(), &out)
        .await
        .unwrap()
        .unwrap();
    let shown = t
        .app
        .batch_view(&staff(d(2025, 7, 20)), &renderer(), &b.id)
        .await
        .unwrap()
        .confirmation();
    t.app
        .mark_mailed(&staff(d(2025, 7, 20)), &b.id, d(2025, 7, 20), shown)
        .await
        .unwrap();
    people
}

fn c_key(p: &Person, cancer: CancerType) -> CaseKey {
    CaseKey {
        programme: ProgrammeCode::C,
        member: p.key(),
        trigger: Trigger::Referral(cancer, d(2025, 6, 5)),
    }
}

async fn case(t: &TestApp, p: &Person) -> Case {
    t.app
        .case(&staff(d(2026, 1, 20)), &c_key(p, CancerType::Stomach))
        .await
        .unwrap()
}

async fn run(t: &TestApp, day: collabo_domain::Date) {
    t.app.run_engine(&staff(day), |_| {}).await.unwrap();
}

/// No 未受診 decision and no re-notice: the case waits for claims.
async fn waits(t: &TestApp, p: &Person) {
    let c = case(t, p).await;
    assert_eq!(c.state(), CaseState::WaitingForClaims, "{:?}", c.events);
    assert!(
        !c.events
            .iter()
            .any(|e| matches!(e.event, CaseEvent::NoVisitFound { .. })),
        "no 未受診 decision before the month is complete"
    );
    assert!(!c.renotice_scheduled());
}

async fn renotice_due(t: &TestApp, p: &Person) {
    let c = case(t, p).await;
    assert_eq!(
        c.letter_due(),
        Some(LetterKind::CancerRenotice),
        "{:?}",
        c.events
    );
}

both!(a_dpc_only_month_takes_no_decision_until_every_stream_is_in);
async fn a_dpc_only_month_takes_no_decision_until_every_stream_is_in(t: TestApp) {
    let people = cancer_society(&t).await;
    june_to_october(&t, &people[3]).await;
    // November: one inpatient claim of an unrelated person, in the DPC file only.
    arrive(&t, ClaimFileKind::Dpc, "2025-11", &people[3]).await;
    let ledger = t.app.claims_ledger(&staff(d(2026, 1, 15))).await.unwrap();
    assert!(!ledger.is_complete(ym("2025-11")));
    assert_eq!(
        ledger.headline(),
        "レセプト取込済: 令和7年10月診療分まで（医科・DPC・歯科・調剤）"
    );
    run(&t, d(2026, 1, 15)).await;
    waits(&t, &people[0]).await;
    for kind in [
        ClaimFileKind::Medical,
        ClaimFileKind::Dental,
        ClaimFileKind::Pharmacy,
    ] {
        arrive(&t, kind, "2025-11", &people[3]).await;
    }
    run(&t, d(2026, 1, 16)).await;
    renotice_due(&t, &people[0]).await;
}

both!(volume_one_of_two_waits_and_volume_two_of_two_completes_the_month);
async fn volume_one_of_two_waits_and_volume_two_of_two_completes_the_month(t: TestApp) {
    let people = cancer_society(&t).await;
    june_to_october(&t, &people[3]).await;
    for kind in [
        ClaimFileKind::Dpc,
        ClaimFileKind::Dental,
        ClaimFileKind::Pharmacy,
    ] {
        arrive(&t, kind, "2025-11", &people[3]).await;
    }
    let medical = |t: &TestApp, name: &str, volume| {
        uke(
            t,
            name,
            ClaimFileKind::Medical,
            "2025-12",
            volume,
            &[claim(
                &people[3],
                ClaimFileKind::Medical,
                "2025-11",
                Vec::new(),
            )],
        )
    };
    let before = t.count("SELECT COUNT(*) FROM visits").await;
    // Volume 2 before volume 1 is refused, naming the file; nothing is stored.
    let second = medical(&t, "RECEIPTC_2of2.UKE", (2, true));
    let err = t
        .app
        .import_claims(&staff(d(2026, 1, 6)), &second, map())
        .await
        .unwrap_err();
    let AppError::Import(ImportError::Malformed {
        file,
        line,
        message,
    }) = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!((file.as_str(), *line), ("RECEIPTC_2of2.UKE", 1));
    assert!(message.contains("without volume 1"), "{message}");
    assert_eq!(t.count("SELECT COUNT(*) FROM visits").await, before);
    let first = medical(&t, "RECEIPTC_1of2.UKE", (1, false));
    t.app
        .import_claims(&staff(d(2026, 1, 6)), &first, map())
        .await
        .unwrap();
    run(&t, d(2026, 1, 15)).await;
    waits(&t, &people[0]).await;
    let report = t
        .app
        .import_claims(&staff(d(2026, 1, 16)), &second, map())
        .await
        .unwrap();
    assert_eq!(report.summary.months_covered, vec!["2025-11".to_owned()]);
    // A third volume after the set ended with volume 2 is refused, nothing stored.
    let visits = t.count("SELECT COUNT(*) FROM visits").await;
    let third = medical(&t, "RECEIPTC_3.UKE", (3, true));
    let err = t
        .app
        .import_claims(&staff(d(2026, 1, 16)), &third, map())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("beyond the stated total of 2"),
        "{err}"
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM visits").await, visits);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM claims_arrivals WHERE file_name = 'RECEIPTC_3.UKE'")
            .await,
        0
    );
    run(&t, d(2026, 1, 16)).await;
    renotice_due(&t, &people[0]).await;
}

both!(a_late_only_file_completes_no_month);
async fn a_late_only_file_completes_no_month(t: TestApp) {
    let people = cancer_society(&t).await;
    june_to_october(&t, &people[3]).await;
    for kind in [
        ClaimFileKind::Dpc,
        ClaimFileKind::Dental,
        ClaimFileKind::Pharmacy,
    ] {
        arrive(&t, kind, "2025-11", &people[3]).await;
    }
    // The 医科 file billed in December holds only a 月遅れ claim of September.
    let late = uke(
        &t,
        "RECEIPTC_late.UKE",
        ClaimFileKind::Medical,
        "2025-12",
        (0, true),
        &[claim(
            &people[3],
            ClaimFileKind::Medical,
            "2025-09",
            Vec::new(),
        )],
    );
    let report = t
        .app
        .import_claims(&staff(d(2026, 1, 6)), &late, map())
        .await
        .unwrap();
    let arrival = report.summary.claims.unwrap();
    assert_eq!((arrival.month, arrival.regular_claims), (ym("2025-11"), 0));
    assert!(report.summary.months_covered.is_empty());
    run(&t, d(2026, 1, 15)).await;
    waits(&t, &people[0]).await;
    arrive(&t, ClaimFileKind::Medical, "2025-11", &people[3]).await;
    run(&t, d(2026, 1, 16)).await;
    renotice_due(&t, &people[0]).await;
}

both!(a_month_closed_by_hand_and_reopened_waits_until_it_is_complete);
async fn a_month_closed_by_hand_and_reopened_waits_until_it_is_complete(t: TestApp) {
    let people = cancer_society(&t).await;
    june_to_october(&t, &people[3]).await;
    for kind in [
        ClaimFileKind::Medical,
        ClaimFileKind::Dpc,
        ClaimFileKind::Pharmacy,
    ] {
        arrive(&t, kind, "2025-11", &people[3]).await;
    }
    let day = d(2026, 1, 12);
    // A reason is required; a month not over cannot be closed.
    assert!(matches!(
        t.app
            .close_claims_month(&staff(day), ClaimStream::Dental, ym("2025-11"), "  ")
            .await,
        Err(AppError::Invalid(_))
    ));
    assert!(matches!(
        t.app
            .close_claims_month(&staff(day), ClaimStream::Dental, ym("2026-01"), "未来")
            .await,
        Err(AppError::Conflict(_))
    ));
    let ledger = t
        .app
        .close_claims_month(
            &staff(day),
            ClaimStream::Dental,
            ym("2025-11"),
            "11月診療分の歯科は請求なしと支払基金に確認",
        )
        .await
        .unwrap();
    assert!(ledger.is_complete(ym("2025-11")));
    let ledger = t
        .app
        .reopen_claims_month(
            &staff(day),
            ClaimStream::Dental,
            ym("2025-11"),
            "歯科の月遅れ分が届く予定との連絡",
        )
        .await
        .unwrap();
    assert!(!ledger.is_complete(ym("2025-11")));
    for action in [
        AuditAction::ClaimsMonthClose,
        AuditAction::ClaimsMonthReopen,
    ] {
        assert_eq!(
            t.count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = '{}'",
                action.code()
            ))
            .await,
            1,
            "{action:?} audited"
        );
    }
    run(&t, d(2026, 1, 15)).await;
    waits(&t, &people[0]).await;
    // Closed again by hand: now complete, and the decision is taken.
    t.app
        .close_claims_month(
            &staff(day),
            ClaimStream::Dental,
            ym("2025-11"),
            "請求なしを再確認",
        )
        .await
        .unwrap();
    run(&t, d(2026, 1, 16)).await;
    renotice_due(&t, &people[0]).await;
}

both!(a_file_whose_kind_cannot_be_told_is_refused_with_file_and_line);
async fn a_file_whose_kind_cannot_be_told_is_refused_with_file_and_line(t: TestApp) {
    let people = cancer_society(&t).await;
    let path = uke(
        &t,
        "november.csv",
        ClaimFileKind::Medical,
        "2025-12",
        (0, true),
        &[claim(
            &people[3],
            ClaimFileKind::Medical,
            "2025-11",
            Vec::new(),
        )],
    );
    // Without its IR header the records cannot tell the kind, nor can the name.
    let text = std::fs::read(&path).unwrap();
    let body: Vec<u8> = text
        .split(|b| *b == b'\n')
        .skip(1)
        .flat_map(|l| l.iter().copied().chain(std::iter::once(b'\n')))
        .collect();
    std::fs::write(&path, &body[..body.len() - 1]).unwrap();
    let imports = t.count("SELECT COUNT(*) FROM imports").await;
    let err = t
        .app
        .import_claims(&staff(d(2026, 1, 6)), &path, map())
        .await
        .unwrap_err();
    let AppError::Import(ImportError::Malformed { file, line, .. }) = &err else {
        panic!("{err:?}");
    };
    assert_eq!((file.as_str(), *line), ("november.csv", 1), "{err}");
    assert_eq!(t.count("SELECT COUNT(*) FROM imports").await, imports);
    assert_eq!(t.count("SELECT COUNT(*) FROM claims_arrivals").await, 0);
    assert_eq!(
        t.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{}'",
            AuditAction::ImportRejected.code()
        ))
        .await,
        1
    );
}

/// Both listed people's re-notices due on 2026-01-15 (every month complete, no exam).
async fn renotices_due(t: &TestApp) -> Vec<Person> {
    let people = cancer_society(t).await;
    june_to_october(t, &people[3]).await;
    for (kind, _) in KINDS {
        arrive(t, kind, "2025-11", &people[3]).await;
    }
    run(t, d(2026, 1, 15)).await;
    renotice_due(t, &people[0]).await;
    renotice_due(t, &people[1]).await;
    people
}

/// A 月遅れ file billed in January with person `p`'s gastroscopy in October.
async fn gastroscopy_turns_up(t: &TestApp, p: &Person, on: collabo_domain::Date) {
    let path = uke(
        t,
        &format!("RECEIPTC_late_{}.UKE", p.number),
        ClaimFileKind::Medical,
        "2026-01",
        (0, true),
        &[claim(
            p,
            ClaimFileKind::Medical,
            "2025-10",
            vec![GroupSpec::procedure("stomach_exam")],
        )],
    );
    t.app.import_claims(&staff(on), &path, map()).await.unwrap();
    run(t, on).await;
}

fn withdrawal(c: &Case) -> Option<(Option<String>, WithdrawalReason)> {
    c.events.iter().find_map(|e| match &e.event {
        CaseEvent::LetterWithdrawn { batch, reason, .. } => Some((batch.clone(), *reason)),
        _ => None,
    })
}

fn pdf_text(path: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils, scripts/setup.sh)");
    String::from_utf8_lossy(&out.stdout).replace([' ', '\u{3000}'], "")
}

both!(a_due_renotice_is_withdrawn_and_never_batched);
async fn a_due_renotice_is_withdrawn_and_never_batched(t: TestApp) {
    let people = renotices_due(&t).await;
    gastroscopy_turns_up(&t, &people[0], d(2026, 1, 16)).await;
    let c = case(&t, &people[0]).await;
    assert_eq!(withdrawal(&c), Some((None, WithdrawalReason::VisitFound)));
    assert_eq!(c.state(), CaseState::Closed(Outcome::Visited));
    let b = t
        .app
        .prepare_letters(
            &staff(d(2026, 1, 17)),
            &renderer(),
            &t.data.path().join("letters"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (b.letters, b.envelopes),
        (1, 1),
        "only person 2's re-notice"
    );
    let letters = t
        .app
        .batch_view(&staff(d(2026, 1, 17)), &renderer(), &b.id)
        .await
        .unwrap();
    assert!(letters.withdrawn.is_empty());
    let text = pdf_text(&letters.parts[0].path);
    assert!(
        text.contains("試験太郎2") && !text.contains("試験太郎1"),
        "{text}"
    );
}

both!(a_renotice_in_an_unprinted_batch_leaves_it_and_the_files_are_made_again);
async fn a_renotice_in_an_unprinted_batch_leaves_it_and_the_files_are_made_again(t: TestApp) {
    let people = renotices_due(&t).await;
    let out = t.data.path().join("letters");
    let day = d(2026, 1, 16);
    let b = t
        .app
        .prepare_letters(&staff(day), &renderer(), &out)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.envelopes, 2);
    let before = t
        .app
        .batch_view(&staff(day), &renderer(), &b.id)
        .await
        .unwrap();
    let shown_before = before.confirmation();
    assert!(pdf_text(&before.parts[0].path).contains("試験太郎1"));
    gastroscopy_turns_up(&t, &people[0], d(2026, 1, 17)).await;
    let c = case(&t, &people[0]).await;
    assert_eq!(
        withdrawal(&c),
        Some((Some(b.id.clone()), WithdrawalReason::VisitFound))
    );
    // Confirming 発送 for what was shown before the withdrawal is refused.
    let err = t
        .app
        .mark_mailed(&staff(d(2026, 1, 18)), &b.id, d(2026, 1, 18), shown_before)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)), "{err:?}");
    // The batch's PDF and mailing list are made again without person 1.
    let after = t
        .app
        .batch_view(&staff(d(2026, 1, 18)), &renderer(), &b.id)
        .await
        .unwrap();
    assert_eq!(after.batch.envelopes, 1);
    assert_eq!(after.withdrawn.len(), 1);
    assert_eq!(after.withdrawn[0].letter.status, LetterStatus::Removed);
    let text = pdf_text(&after.parts[0].path);
    assert!(
        text.contains("試験太郎2") && !text.contains("試験太郎1"),
        "{text}"
    );
    let csv = std::fs::read_to_string(&after.csv.as_ref().unwrap().path).unwrap();
    assert!(
        csv.contains("試験 太郎2") && !csv.contains("試験 太郎1"),
        "{csv}"
    );
    let envelope_pdfs = std::fs::read_dir(out.join(&b.id).join("letters"))
        .unwrap()
        .count();
    assert_eq!(envelope_pdfs, 1, "person 1's reprint PDF is gone too");
    assert_eq!(
        t.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{}'",
            AuditAction::LettersRemake.code()
        ))
        .await,
        1
    );
    // Cancelled and prepared again: person 1 is never batched again; the cancelled
    // batch's files are no longer served.
    t.app
        .cancel_batch(&staff(d(2026, 1, 18)), &b.id)
        .await
        .unwrap();
    assert!(matches!(
        t.app
            .download_batch_part(&staff(d(2026, 1, 18)), &renderer(), &b.id, 0)
            .await,
        Err(AppError::Conflict(_))
    ));
    assert!(
        !out.join(&b.id).exists(),
        "the cancelled batch's files are deleted"
    );
    let again = t
        .app
        .prepare_letters(&staff(d(2026, 1, 19)), &renderer(), &out)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.letters, 1);
    let view = t
        .app
        .batch_view(&staff(d(2026, 1, 19)), &renderer(), &again.id)
        .await
        .unwrap();
    assert!(!pdf_text(&view.parts[0].path).contains("試験太郎1"));
    assert_eq!(
        case(&t, &people[0]).await.state(),
        CaseState::Closed(Outcome::Visited)
    );
}

both!(a_renotice_printed_but_not_mailed_is_stopped_on_the_print_list);
async fn a_renotice_printed_but_not_mailed_is_stopped_on_the_print_list(t: TestApp) {
    let people = renotices_due(&t).await;
    let out = t.data.path().join("letters");
    let b = t
        .app
        .prepare_letters(&staff(d(2026, 1, 16)), &renderer(), &out)
        .await
        .unwrap()
        .unwrap();
    // Staff download the PDF to print it: from now on a withdrawal is 差止.
    let part = t
        .app
        .download_batch_part(&staff(d(2026, 1, 16)), &renderer(), &b.id, 0)
        .await
        .unwrap();
    assert_eq!(part.name, format!("{}_通知_1of1.pdf", b.id));
    gastroscopy_turns_up(&t, &people[0], d(2026, 1, 17)).await;
    let view = t
        .app
        .batch_view(&staff(d(2026, 1, 18)), &renderer(), &b.id)
        .await
        .unwrap();
    assert_eq!(view.withdrawn.len(), 1);
    let stopped = &view.withdrawn[0];
    assert_eq!(stopped.letter.status, LetterStatus::Stopped);
    assert_eq!(stopped.letter.member.key, people[0].key());
    assert_eq!(stopped.part_name, part.name);
    // The printed PDF stays as printed; the mailing list says 差止 for person 1.
    assert!(pdf_text(&view.parts[0].path).contains("試験太郎1"));
    let csv = std::fs::read_to_string(&view.csv.as_ref().unwrap().path).unwrap();
    let line = csv.lines().find(|l| l.contains("試験 太郎1")).unwrap();
    assert!(line.contains(",差止,"), "{line}");
    assert_eq!(
        view.confirmation(),
        MailingConfirmation {
            envelopes: 1,
            parts: 1,
            stopped: 1
        }
    );
    let n = t
        .app
        .mark_mailed(
            &staff(d(2026, 1, 19)),
            &b.id,
            d(2026, 1, 19),
            view.confirmation(),
        )
        .await
        .unwrap();
    assert_eq!(n, 1, "only person 2's notice counts as mailed");
    let c = case(&t, &people[0]).await;
    assert_eq!(c.state(), CaseState::Closed(Outcome::Visited));
    assert!(
        !c.events
            .iter()
            .skip_while(|e| !matches!(e.event, CaseEvent::LetterWithdrawn { .. }))
            .any(|e| e.event == CaseEvent::NoticeMailed),
        "the stopped letter is not recorded as mailed"
    );
    assert_eq!(case(&t, &people[1]).await.state(), CaseState::Notified);
    assert!(
        t.app
            .prepare_letters(&staff(d(2026, 1, 20)), &renderer(), &out)
            .await
            .unwrap()
            .is_none(),
        "the stopped re-notice is never batched again"
    );
}

both!(an_opt_out_withdraws_a_letter_from_its_batch);
async fn an_opt_out_withdraws_a_letter_from_its_batch(t: TestApp) {
    let people = renotices_due(&t).await;
    let b = t
        .app
        .prepare_letters(
            &staff(d(2026, 1, 16)),
            &renderer(),
            &t.data.path().join("letters"),
        )
        .await
        .unwrap()
        .unwrap();
    let report = t
        .app
        .record_consent(
            &staff(d(2026, 1, 17)),
            &ConsentRecord {
                member: people[1].key(),
                kind: ConsentKind::OptOut,
                scope: ConsentScope::All,
                effective: d(2026, 1, 17),
                channel: ConsentChannel::Phone,
                recorded_by: "staff1".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(report.letters_withdrawn, 1);
    let c = t
        .app
        .case(
            &staff(d(2026, 1, 17)),
            &c_key(&people[1], CancerType::Stomach),
        )
        .await
        .unwrap();
    assert_eq!(
        withdrawal(&c),
        Some((Some(b.id.clone()), WithdrawalReason::OptedOut))
    );
    let view = t
        .app
        .batch_view(&staff(d(2026, 1, 17)), &renderer(), &b.id)
        .await
        .unwrap();
    assert_eq!(view.batch.envelopes, 1);
    assert!(!pdf_text(&view.parts[0].path).contains("試験太郎2"));
}

both!(one_persons_notices_of_a_batch_share_one_envelope);
async fn one_persons_notices_of_a_batch_share_one_envelope(t: TestApp) {
    let people: Vec<Person> = (1..=3).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    // Person 2 (a woman) was screened for 胃 and 子宮頸 on one day; person 3 for 大腸.
    t.app
        .import_referrals(
            &employer("1001", d(2025, 7, 10)),
            &code("1001"),
            "r.csv",
            &referral_csv(&[
                (&people[1], "試験 太郎2", "胃", "2025-06-05"),
                (&people[1], "試験 太郎2", "子宮頸", "2025-06-05"),
                (&people[2], "試験 太郎3", "大腸", "2025-06-05"),
            ]),
        )
        .await
        .unwrap();
    run(&t, d(2025, 7, 15)).await;
    let b = t
        .app
        .prepare_letters(
            &staff(d(2025, 7, 16)),
            &renderer(),
            &t.data.path().join("letters"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.letters, b.envelopes), (3, 2));
    let view = t
        .app
        .batch_view(&staff(d(2025, 7, 16)), &renderer(), &b.id)
        .await
        .unwrap();
    assert_eq!((view.batch.envelopes, view.batch.active_letters), (2, 3));
    let csv = std::fs::read_to_string(&view.csv.as_ref().unwrap().path).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "one row per envelope: {csv}");
    let woman: Vec<&str> = rows
        .iter()
        .find(|r| r.contains("試験 太郎2"))
        .unwrap()
        .split(',')
        .collect();
    assert_eq!((woman[5], woman[6]), ("C+C", "2"), "{woman:?}");
    let reference = woman[9];
    let text = pdf_text(&view.parts[0].path);
    assert_eq!(
        text.matches("親展").count(),
        2,
        "one address block per envelope: {text}"
    );
    assert!(text.contains("同封の通知（2/2）"));
    assert!(text.contains(reference), "one 整理番号 for the envelope");
}

both!(every_letter_says_where_its_data_came_from_and_prints_the_societys_contact_settings);
async fn every_letter_says_where_its_data_came_from_and_prints_the_societys_contact_settings(
    t: TestApp,
) {
    let people: Vec<Person> = (1..=2).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    // Person 1 smokes per the employer's checkup, person 2 per the society's 人間ドック.
    t.checkups(
        Some("1001"),
        &[exam(&people[0], "2025-06-01", 5.0, 120.0, true)],
        d(2025, 7, 10),
        "c.csv",
    )
    .await;
    t.checkups(
        None,
        &[exam(&people[1], "2025-06-02", 5.0, 120.0, true)],
        d(2025, 7, 10),
        "dock.csv",
    )
    .await;
    run(&t, d(2025, 7, 15)).await;
    let admin = admin(d(2025, 7, 15));
    let mut head = t.app.letterhead(&admin).await.unwrap();
    assert_eq!(head.hours, "平日 9:00～17:00", "the default");
    head.phone = "03-1111-2222".into();
    head.hours = "平日 8:30～17:15（祝日を除く）".into();
    t.app.save_letterhead(&admin, &head).await.unwrap();
    assert!(matches!(
        t.app.save_letterhead(&staff(d(2025, 7, 15)), &head).await,
        Err(AppError::Denied(_))
    ));
    let b = t
        .app
        .prepare_letters(
            &staff(d(2025, 7, 16)),
            &renderer(),
            &t.data.path().join("letters"),
        )
        .await
        .unwrap()
        .unwrap();
    let view = t
        .app
        .batch_view(&staff(d(2025, 7, 16)), &renderer(), &b.id)
        .await
        .unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", view.parts[0].path.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace([' ', '\u{3000}', '\n'], "");
    let pages: Vec<&str> = text.split('\u{c}').filter(|p| !p.is_empty()).collect();
    assert_eq!(pages.len(), 2, "{text}");
    let of = |name: &str| *pages.iter().find(|p| p.contains(name)).unwrap();
    assert!(
        of("試験太郎1")
            .contains("勤務先の事業所が、健診結果を当組合と共同で利用することをお知らせしたうえで"),
        "{}",
        of("試験太郎1")
    );
    assert!(of("試験太郎2").contains("当組合の人間ドックの結果をもとに"));
    for page in &pages {
        assert!(
            page.contains("医療機関を受診されたかどうかを、勤務先にお知らせすることはありません。")
        );
        assert!(page.contains("希望されない場合は、下記のお問い合わせ先にお申し出ください。"));
        assert!(
            page.contains("03-1111-2222") && page.contains("平日8:30～17:15（祝日を除く）"),
            "{page}"
        );
    }
}

both!(a_withdrawn_notice_leaves_its_envelope_and_the_other_notice_goes_alone);
async fn a_withdrawn_notice_leaves_its_envelope_and_the_other_notice_goes_alone(t: TestApp) {
    let people: Vec<Person> = (1..=4).map(|n| insured("1001", n)).collect();
    t.seed(&people).await;
    // Person 2 (a woman): 胃 and 子宮頸 要精密検査; both notices mailed, no exam in claims.
    t.app
        .import_referrals(
            &employer("1001", d(2025, 7, 10)),
            &code("1001"),
            "r.csv",
            &referral_csv(&[
                (&people[1], "試験 太郎2", "胃", "2025-06-05"),
                (&people[1], "試験 太郎2", "子宮頸", "2025-06-05"),
            ]),
        )
        .await
        .unwrap();
    run(&t, d(2025, 7, 15)).await;
    let out = t.data.path().join("letters");
    let first = t
        .app
        .prepare_letters(&staff(d(2025, 7, 16)), &renderer(), &out)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.letters, first.envelopes), (2, 1));
    let shown = t
        .app
        .batch_view(&staff(d(2025, 7, 20)), &renderer(), &first.id)
        .await
        .unwrap()
        .confirmation();
    t.app
        .mark_mailed(&staff(d(2025, 7, 20)), &first.id, d(2025, 7, 20), shown)
        .await
        .unwrap();
    june_to_october(&t, &people[3]).await;
    for (kind, _) in KINDS {
        arrive(&t, kind, "2025-11", &people[3]).await;
    }
    run(&t, d(2026, 1, 15)).await;
    let b = t
        .app
        .prepare_letters(&staff(d(2026, 1, 16)), &renderer(), &out)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (b.letters, b.envelopes, b.pages),
        (2, 1, 2),
        "two re-notices, one envelope"
    );
    gastroscopy_turns_up(&t, &people[1], d(2026, 1, 17)).await;
    let view = t
        .app
        .batch_view(&staff(d(2026, 1, 17)), &renderer(), &b.id)
        .await
        .unwrap();
    assert_eq!(
        (
            view.batch.envelopes,
            view.batch.active_letters,
            view.batch.pages
        ),
        (1, 1, 1),
        "the envelope stays, with the 子宮頸 re-notice alone"
    );
    let text = pdf_text(&view.parts[0].path);
    assert!(
        text.contains("子宮頸がん検診") && !text.contains("胃がん検診"),
        "{text}"
    );
    assert!(
        !text.contains("同封の通知"),
        "alone in its envelope now: {text}"
    );
    let cervical = t
        .app
        .case(
            &staff(d(2026, 1, 17)),
            &c_key(&people[1], CancerType::Cervical),
        )
        .await
        .unwrap();
    assert_eq!(cervical.state(), CaseState::LetterPrepared);
}
