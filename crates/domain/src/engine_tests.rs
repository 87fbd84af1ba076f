//! Scenario tests of the engine: a member's year replayed on a simulated clock, with
//! letters "mailed" by appending the events the letters adapter would append.

use crate::calendar::{FiscalYear, YearMonth};
use crate::case::{
    Case, CaseEvent, CaseState, ClaimsCheck, DatedEvent, Outcome, Trigger, WithdrawalReason,
};
use crate::checkup::{
    Checkup, CheckupSource, Item, Observation, ObservedValue, Questionnaire, SmokingAnswer,
};
use crate::consent::{ConsentChannel, ConsentKind, ConsentRecord, ConsentScope};
use crate::employer::{Agreement, AgreementStatus};
use crate::engine::{CaseChange, Context, MemberFile, SkipReason, run_member};
use crate::ids::*;
use crate::member::{Address, Member, Relationship, Sex};
use crate::programme::{LetterKind, ProgrammeBook, ProgrammeCode};
use crate::referral::{CancerType, Referral};
use crate::visit::{ClaimsCoverage, Evidence, GroupKind, ServiceTime, VisitFact};
use jiff::civil::Date;
use std::collections::BTreeSet;

fn d(y: i16, m: i8, day: i8) -> Date {
    Date::constant(y, m, day)
}

fn member() -> Member {
    Member {
        key: MemberKey {
            insurer: InsurerNumber::parse("06139999").unwrap(),
            symbol: Symbol::parse("1001").unwrap(),
            number: CardNumber::parse("7").unwrap(),
            branch: Branch::parse("00").unwrap(),
        },
        name_kanji: "山田　太郎".into(),
        name_kana: "ヤマダ　タロウ".into(),
        sex: Sex::Male,
        birth_date: d(1970, 5, 1),
        address: Address {
            postal_code: "1000001".into(),
            line1: "東京都千代田区架空町1-1".into(),
            line2: String::new(),
        },
        employer: EmployerCode::parse("1001").unwrap(),
        relationship: Relationship::Insured,
        qualified_from: d(2000, 4, 1),
        qualified_until: None,
    }
}

fn checkup(exam: Date, hba1c: f64, smokes: bool) -> Checkup {
    Checkup {
        member: member().key,
        exam_date: exam,
        source: CheckupSource::Employer,
        submitted_by: Some(EmployerCode::parse("1001").unwrap()),
        observations: vec![
            Observation {
                item: Item::HbA1c,
                value: ObservedValue::Number(hba1c),
            },
            Observation {
                item: Item::SystolicBp,
                value: ObservedValue::Number(150.0),
            },
        ],
        questionnaire: Questionnaire {
            smoking: Some(if smokes {
                SmokingAnswer::Smokes
            } else {
                SmokingAnswer::DoesNotSmoke
            }),
            ..Questionnaire::default()
        },
    }
}

fn visit(time: ServiceTime, groups: &[(GroupKind, &str)]) -> VisitFact {
    VisitFact {
        member: member().key,
        time,
        institution: "1310000001".into(),
        evidence: groups
            .iter()
            .map(|(kind, group)| Evidence {
                kind: *kind,
                group: (*group).into(),
                suspected: false,
                started_on: None,
            })
            .collect::<BTreeSet<_>>(),
    }
}

fn coverage(from: &str, to: &str) -> ClaimsCoverage {
    ClaimsCoverage::new(
        YearMonth::parse(from)
            .unwrap()
            .through(YearMonth::parse(to).unwrap()),
    )
}

/// A tiny in-memory world: the member's facts and the cases the engine wrote.
struct World {
    member: Member,
    consents: Vec<ConsentRecord>,
    checkups: Vec<Checkup>,
    referrals: Vec<Referral>,
    visits: Vec<VisitFact>,
    cases: Vec<Case>,
    book: ProgrammeBook,
    agreements: Vec<Agreement>,
    coverage: ClaimsCoverage,
    skipped: Vec<(ProgrammeCode, SkipReason)>,
}

impl World {
    fn new() -> Self {
        World {
            member: member(),
            consents: Vec::new(),
            checkups: Vec::new(),
            referrals: Vec::new(),
            visits: Vec::new(),
            cases: Vec::new(),
            book: ProgrammeBook::default(),
            agreements: Vec::new(),
            coverage: ClaimsCoverage::default(),
            skipped: Vec::new(),
        }
    }

    /// Runs the engine and applies its changes; returns how many changes it made.
    fn run(&mut self, today: Date) -> usize {
        let outcome = {
            let file = MemberFile {
                member: &self.member,
                consents: &self.consents,
                checkups: &self.checkups,
                referrals: &self.referrals,
                visits: &self.visits,
                cases: &self.cases,
            };
            let ctx = Context {
                today,
                book: &self.book,
                agreements: &self.agreements,
                coverage: &self.coverage,
            };
            run_member(&file, &ctx)
        };
        self.skipped.extend(outcome.skipped.iter().copied());
        let n = outcome.changes.len();
        for change in outcome.changes {
            match change {
                CaseChange::Open(case) => self.cases.push(case),
                CaseChange::Append { key, events } => {
                    if let Some(case) = self.cases.iter_mut().find(|c| c.key == key) {
                        case.events.extend(events);
                    }
                }
            }
        }
        n
    }

    /// What the letters adapter does: prepare and confirm mailed every due letter.
    fn mail_due_letters(&mut self, on: Date) -> Vec<LetterKind> {
        let mut mailed = Vec::new();
        for case in &mut self.cases {
            if let Some(kind) = case.letter_due() {
                case.events.push(crate::case::DatedEvent {
                    on,
                    event: CaseEvent::NoticePrepared { batch: "B1".into() },
                });
                case.events.push(crate::case::DatedEvent {
                    on,
                    event: CaseEvent::NoticeMailed,
                });
                mailed.push(kind);
            }
        }
        mailed
    }

    fn case(&self, programme: ProgrammeCode) -> &Case {
        self.cases
            .iter()
            .find(|c| c.key.programme == programme)
            .unwrap()
    }

    /// The monthly cycle of the demo: run on the 15th, mail on the 20th.
    fn replay_months(
        &mut self,
        from: &str,
        to: &str,
        mut each_month: impl FnMut(&mut World, YearMonth),
    ) {
        for month in YearMonth::parse(from)
            .unwrap()
            .through(YearMonth::parse(to).unwrap())
        {
            each_month(self, month);
            self.run(Date::constant(month.year(), month.month(), 15));
            self.mail_due_letters(Date::constant(month.year(), month.month(), 20));
        }
    }
}

#[test]
fn smoker_gets_one_notice_and_the_case_closes_as_notified() {
    let mut w = World::new();
    w.checkups.push(checkup(d(2025, 5, 10), 5.4, true));
    w.replay_months("2025-06", "2026-03", |_, _| {});
    let s = w.case(ProgrammeCode::S);
    assert_eq!(s.state(), CaseState::Closed(Outcome::Notified));
    assert_eq!(
        s.events
            .iter()
            .filter(|e| matches!(e.event, CaseEvent::NoticeMailed))
            .count(),
        1
    );
    assert!(
        w.cases.iter().all(|c| c.key.programme != ProgrammeCode::D),
        "HbA1c 5.4 is no D case"
    );
}

#[test]
fn diabetes_case_waits_for_lookback_claims_then_notifies_and_finds_the_visit() {
    let mut w = World::new();
    w.checkups.push(checkup(d(2025, 5, 10), 7.2, false));
    // June: claims only up to March are loaded, so the look-back (2024-05..2025-05) waits.
    w.coverage = coverage("2024-05", "2025-03");
    w.run(d(2025, 6, 15));
    let case = w.case(ProgrammeCode::D);
    assert_eq!(case.state(), CaseState::WaitingForClaims);
    assert_eq!(case.last_wait().unwrap().0, ClaimsCheck::LookBack);
    // July: April and May arrive; no lifestyle visit → notice due.
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 7, 15));
    assert_eq!(
        w.case(ProgrammeCode::D).letter_due(),
        Some(LetterKind::DiabetesReferral)
    );
    w.mail_due_letters(d(2025, 7, 20));
    // A diabetes visit with an HbA1c test in October.
    w.visits.push(visit(
        ServiceTime::Day(d(2025, 10, 3)),
        &[
            (GroupKind::Condition, "diabetes"),
            (GroupKind::Procedure, "diabetes_care"),
        ],
    ));
    // Before the 6-month check date nothing is decided.
    assert_eq!(w.run(d(2026, 1, 15)), 0);
    w.coverage = coverage("2024-05", "2026-01");
    w.run(d(2026, 1, 20));
    let case = w.case(ProgrammeCode::D);
    assert_eq!(case.state(), CaseState::Closed(Outcome::Visited));
    assert_eq!(case.visit_found(), Some(ServiceTime::Day(d(2025, 10, 3))));
}

#[test]
fn a_follow_up_with_missing_claims_months_waits_instead_of_deciding() {
    let mut w = World::new();
    w.checkups.push(checkup(d(2025, 5, 10), 6.8, false));
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 6, 15));
    w.mail_due_letters(d(2025, 6, 20));
    // Check date 2025-12-20; claims loaded only to October.
    w.coverage = coverage("2024-05", "2025-10");
    w.run(d(2025, 12, 20));
    let case = w.case(ProgrammeCode::D);
    assert_eq!(case.state(), CaseState::WaitingForClaims);
    let (check, missing) = case.last_wait().unwrap();
    assert_eq!(check, ClaimsCheck::FollowUp);
    assert_eq!(
        missing.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
        ["2025-11", "2025-12"]
    );
    // The same day again: nothing new (no repeated waiting event).
    assert_eq!(w.run(d(2025, 12, 20)), 0);
    // Claims arrive: still no visit → 未受診.
    w.coverage = coverage("2024-05", "2025-12");
    w.run(d(2026, 2, 15));
    assert_eq!(
        w.case(ProgrammeCode::D).state(),
        CaseState::Closed(Outcome::NotVisited)
    );
}

#[test]
fn a_lifestyle_visit_in_the_lookback_excludes_the_diabetes_case() {
    let mut w = World::new();
    w.checkups.push(checkup(d(2025, 5, 10), 7.5, false));
    w.visits.push(visit(
        ServiceTime::Month(YearMonth::parse("2025-01").unwrap()),
        &[(GroupKind::Condition, "hypertension")],
    ));
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 6, 15));
    assert_eq!(w.case(ProgrammeCode::D).state(), CaseState::Excluded);
}

fn cancer_world(signed: Date) -> World {
    let mut w = World::new();
    w.agreements.push(Agreement {
        employer: EmployerCode::parse("1001").unwrap(),
        programme: ProgrammeCode::C,
        status: AgreementStatus::Signed,
        signed_on: Some(signed),
        ended_on: None,
    });
    w
}

fn referral(screening: Date, received: Date) -> Referral {
    Referral {
        member: member().key,
        employer: EmployerCode::parse("1001").unwrap(),
        cancer: CancerType::Stomach,
        screening_date: screening,
        received_on: received,
        consent_attested: true,
    }
}

#[test]
fn cancer_referral_renotice_waits_for_claims_and_a_late_claim_corrects_the_outcome() {
    let mut w = cancer_world(d(2025, 4, 1));
    w.referrals.push(referral(d(2025, 6, 5), d(2025, 7, 10)));
    w.run(d(2025, 7, 15));
    let case = w.case(ProgrammeCode::C);
    assert!(matches!(
        case.events[0].event,
        CaseEvent::Identified { late: false, .. }
    ));
    assert_eq!(case.letter_due(), Some(LetterKind::CancerReferral));
    w.mail_due_letters(d(2025, 7, 20));
    // Check date 2025-11-20. Claims loaded to September only: wait, no re-notice.
    w.coverage = coverage("2025-01", "2025-09");
    w.run(d(2025, 11, 20));
    assert_eq!(
        w.case(ProgrammeCode::C).state(),
        CaseState::WaitingForClaims
    );
    assert!(
        !w.case(ProgrammeCode::C).renotice_scheduled(),
        "a re-notice because claims were missing is the worst bug"
    );
    // November's claims arrive in January: no exam → 再勧奨.
    w.coverage = coverage("2025-01", "2025-11");
    w.run(d(2026, 1, 15));
    assert_eq!(
        w.case(ProgrammeCode::C).letter_due(),
        Some(LetterKind::CancerRenotice)
    );
    // A 月遅れ claim for an endoscopy in October turns up before the re-notice is printed.
    w.visits.push(visit(
        ServiceTime::Day(d(2025, 10, 8)),
        &[(GroupKind::Procedure, "stomach_exam")],
    ));
    w.run(d(2026, 2, 5));
    let case = w.case(ProgrammeCode::C);
    assert_eq!(case.state(), CaseState::Closed(Outcome::Visited));
    assert!(case.events.iter().any(|e| matches!(
        e.event,
        CaseEvent::VisitFound {
            late_claim: true,
            ..
        }
    )));
    assert!(
        w.mail_due_letters(d(2026, 2, 20)).is_empty(),
        "the withdrawn re-notice is not mailed"
    );
}

#[test]
fn a_late_referral_is_accepted_and_flagged() {
    let mut w = cancer_world(d(2025, 4, 1));
    // Screening 5 June → due 31 August; received 10 September.
    w.referrals.push(referral(d(2025, 6, 5), d(2025, 9, 10)));
    w.run(d(2025, 9, 15));
    assert!(matches!(
        w.case(ProgrammeCode::C).events[0].event,
        CaseEvent::Identified { late: true, .. }
    ));
    assert_eq!(
        w.case(ProgrammeCode::C).letter_due(),
        Some(LetterKind::CancerReferral)
    );
}

#[test]
fn a_screening_before_the_memorandum_is_not_a_case() {
    let mut w = cancer_world(d(2025, 7, 1));
    w.referrals.push(referral(d(2025, 6, 30), d(2025, 7, 10)));
    w.run(d(2025, 7, 15));
    assert!(w.cases.is_empty());
    assert_eq!(
        w.skipped,
        [(ProgrammeCode::C, SkipReason::NotCoveredByAgreement)]
    );
    // No memorandum at all: not a case either.
    let mut w = World::new();
    w.referrals.push(referral(d(2025, 7, 2), d(2025, 7, 10)));
    w.run(d(2025, 7, 15));
    assert!(w.cases.is_empty());
}

#[test]
fn cancer_programme_is_opt_in_so_rows_without_consent_open_no_case() {
    let mut w = cancer_world(d(2025, 4, 1));
    let mut r = referral(d(2025, 6, 5), d(2025, 7, 10));
    r.consent_attested = false;
    w.referrals.push(r);
    w.run(d(2025, 7, 15));
    assert!(w.cases.is_empty());
    assert_eq!(w.skipped, [(ProgrammeCode::C, SkipReason::NoConsent)]);
    // Staff record the person's consent: the next run opens the case.
    w.consents.push(ConsentRecord {
        member: member().key,
        kind: ConsentKind::OptIn,
        scope: ConsentScope::Programme(ProgrammeCode::C),
        effective: d(2025, 7, 20),
        channel: ConsentChannel::Letter,
        recorded_by: "staff".into(),
    });
    w.run(d(2025, 8, 15));
    assert_eq!(w.cases.len(), 1);
}

#[test]
fn an_opt_out_stops_every_open_case_and_opens_no_new_one() {
    let mut w = cancer_world(d(2025, 4, 1));
    w.checkups.push(checkup(d(2025, 5, 10), 7.0, true));
    w.referrals.push(referral(d(2025, 5, 10), d(2025, 6, 10)));
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 6, 15));
    assert!(w.cases.len() >= 3);
    w.consents.push(ConsentRecord {
        member: member().key,
        kind: ConsentKind::OptOut,
        scope: ConsentScope::All,
        effective: d(2025, 6, 18),
        channel: ConsentChannel::Phone,
        recorded_by: "staff".into(),
    });
    w.run(d(2025, 6, 18));
    for case in &w.cases {
        assert!(!case.state().is_open(), "{} still open", case.key);
        assert!(case.letter_due().is_none());
    }
    assert!(
        w.cases
            .iter()
            .filter(|c| c.key.programme != ProgrammeCode::R)
            .all(|c| c.state() == CaseState::Closed(Outcome::StoppedOptOut))
    );
    // Next year's checkup opens nothing.
    w.checkups.push(checkup(d(2026, 5, 10), 7.0, true));
    let before = w.cases.len();
    w.run(d(2026, 6, 15));
    assert_eq!(w.cases.len(), before);
    assert!(w.skipped.iter().any(|(_, r)| *r == SkipReason::OptedOut));
}

#[test]
fn a_second_run_on_the_same_day_changes_nothing_all_year() {
    let mut w = cancer_world(d(2025, 4, 1));
    w.checkups.push(checkup(d(2025, 5, 10), 7.0, true));
    w.referrals.push(referral(d(2025, 5, 10), d(2025, 6, 10)));
    for month in YearMonth::parse("2025-06")
        .unwrap()
        .through(YearMonth::parse("2026-03").unwrap())
    {
        w.coverage = coverage(
            "2024-04",
            &YearMonth::of(crate::calendar::add_months(month.first_day(), -2).unwrap()).to_string(),
        );
        let day = Date::constant(month.year(), month.month(), 15);
        w.run(day);
        assert_eq!(w.run(day), 0, "second run on {day} changed something");
        w.mail_due_letters(Date::constant(month.year(), month.month(), 20));
    }
}

#[test]
fn a_member_who_lost_coverage_has_open_cases_closed_and_no_new_ones() {
    let mut w = World::new();
    w.checkups.push(checkup(d(2025, 5, 10), 7.0, true));
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 6, 15));
    w.member.qualified_until = Some(d(2025, 7, 1));
    w.run(d(2025, 7, 15));
    assert!(
        w.cases
            .iter()
            .filter(|c| c.key.programme != ProgrammeCode::R)
            .all(|c| c.state() == CaseState::Closed(Outcome::LostCoverage))
    );
}

#[test]
fn settings_are_versioned_by_fiscal_year() {
    let mut w = World::new();
    let mut stricter = crate::programme::ProgrammeSettings::default_for(ProgrammeCode::D);
    stricter.from_year = FiscalYear::new(2026);
    if let crate::programme::ProgrammeRules::Diabetes {
        hba1c_threshold, ..
    } = &mut stricter.rules
    {
        *hba1c_threshold = 7.0;
    }
    w.book.set(stricter);
    w.checkups.push(checkup(d(2025, 5, 10), 6.7, false));
    w.checkups.push(checkup(d(2026, 5, 10), 6.7, false));
    w.coverage = coverage("2024-05", "2026-05");
    // Both checkups are within the 12-month trigger window on this day.
    w.run(d(2026, 5, 10));
    let d_cases: Vec<_> = w
        .cases
        .iter()
        .filter(|c| c.key.programme == ProgrammeCode::D)
        .collect();
    assert_eq!(
        d_cases.len(),
        1,
        "6.7 is a target under FY2025 settings, not under FY2026's 7.0"
    );
    assert_eq!(d_cases[0].key.trigger, Trigger::Checkup(d(2025, 5, 10)));
}

impl World {
    /// What preparing a batch does: every due letter moves into `batch` (not mailed).
    fn prepare_due_letters(&mut self, batch: &str, on: Date) -> usize {
        let mut n = 0;
        for case in &mut self.cases {
            if case.letter_due().is_some() {
                case.events.push(DatedEvent {
                    on,
                    event: CaseEvent::NoticePrepared {
                        batch: batch.into(),
                    },
                });
                n += 1;
            }
        }
        n
    }

    /// A C case whose re-notice is due on 2026-01-15 (screening 2025-06-05, notice
    /// mailed 2025-07-20, no exam in claims through November).
    fn renotice_due() -> World {
        let mut w = cancer_world(d(2025, 4, 1));
        w.referrals.push(referral(d(2025, 6, 5), d(2025, 7, 10)));
        w.run(d(2025, 7, 15));
        w.mail_due_letters(d(2025, 7, 20));
        w.coverage = coverage("2025-01", "2025-11");
        w.run(d(2026, 1, 15));
        assert_eq!(
            w.case(ProgrammeCode::C).letter_due(),
            Some(LetterKind::CancerRenotice)
        );
        w
    }

    fn endoscopy_in_october(&mut self) {
        self.visits.push(visit(
            ServiceTime::Day(d(2025, 10, 8)),
            &[(GroupKind::Procedure, "stomach_exam")],
        ));
    }

    fn withdrawals(&self, programme: ProgrammeCode) -> Vec<(Option<String>, WithdrawalReason)> {
        self.case(programme)
            .events
            .iter()
            .filter_map(|e| match &e.event {
                CaseEvent::LetterWithdrawn { batch, reason, .. } => Some((batch.clone(), *reason)),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn a_due_renotice_is_withdrawn_when_the_exam_turns_up() {
    let mut w = World::renotice_due();
    w.endoscopy_in_october();
    w.run(d(2026, 2, 5));
    assert_eq!(
        w.withdrawals(ProgrammeCode::C),
        [(None, WithdrawalReason::VisitFound)]
    );
    assert_eq!(
        w.case(ProgrammeCode::C).state(),
        CaseState::Closed(Outcome::Visited)
    );
    assert_eq!(w.prepare_due_letters("B9", d(2026, 2, 16)), 0);
}

#[test]
fn a_renotice_in_an_unmailed_batch_is_withdrawn_naming_the_batch_and_never_due_again() {
    let mut w = World::renotice_due();
    assert_eq!(w.prepare_due_letters("B20260116-01", d(2026, 1, 16)), 1);
    w.endoscopy_in_october();
    w.run(d(2026, 1, 18));
    assert_eq!(
        w.withdrawals(ProgrammeCode::C),
        [(Some("B20260116-01".into()), WithdrawalReason::VisitFound)]
    );
    let case = w.case(ProgrammeCode::C);
    assert_eq!(case.state(), CaseState::Closed(Outcome::Visited));
    assert_eq!(case.pending_letter(), None);
    // Cancelling the batch afterwards puts nothing back: the case is closed.
    assert_eq!(w.run(d(2026, 1, 19)), 0);
    assert_eq!(w.prepare_due_letters("B20260120-01", d(2026, 1, 20)), 0);
}

#[test]
fn a_renotice_already_mailed_is_recorded_as_such_and_the_outcome_corrected() {
    let mut w = World::renotice_due();
    w.mail_due_letters(d(2026, 1, 20));
    // Closed as 未受診 after the re-notice's own check (2026-05-20, claims to April).
    w.coverage = coverage("2025-01", "2026-05");
    w.run(d(2026, 6, 15));
    assert_eq!(
        w.case(ProgrammeCode::C).state(),
        CaseState::Closed(Outcome::NotVisited)
    );
    w.endoscopy_in_october();
    w.run(d(2026, 7, 15));
    let case = w.case(ProgrammeCode::C);
    assert_eq!(case.state(), CaseState::Closed(Outcome::Visited));
    assert!(case.events.iter().any(|e| e.event
        == CaseEvent::MailedBeforeEvidence {
            letter: LetterKind::CancerRenotice,
            mailed_on: d(2026, 1, 20)
        }));
    assert!(w.withdrawals(ProgrammeCode::C).is_empty());
}

#[test]
fn an_opt_out_withdraws_a_letter_waiting_in_a_batch() {
    let mut w = World::renotice_due();
    w.prepare_due_letters("B20260116-01", d(2026, 1, 16));
    w.consents.push(ConsentRecord {
        member: member().key,
        kind: ConsentKind::OptOut,
        scope: ConsentScope::All,
        effective: d(2026, 1, 17),
        channel: ConsentChannel::Phone,
        recorded_by: "staff".into(),
    });
    w.run(d(2026, 1, 17));
    assert_eq!(
        w.withdrawals(ProgrammeCode::C),
        [(Some("B20260116-01".into()), WithdrawalReason::OptedOut)]
    );
    assert_eq!(
        w.case(ProgrammeCode::C).state(),
        CaseState::Closed(Outcome::StoppedOptOut)
    );
}

#[test]
fn a_diabetes_notice_not_yet_mailed_is_withdrawn_when_the_person_is_seen_for_diabetes() {
    let mut w = World::new();
    w.checkups.push(checkup(d(2025, 5, 10), 7.2, true));
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 6, 15));
    assert_eq!(w.prepare_due_letters("B20250616-01", d(2025, 6, 16)), 2);
    w.visits.push(visit(
        ServiceTime::Day(d(2025, 6, 2)),
        &[
            (GroupKind::Condition, "diabetes"),
            (GroupKind::Procedure, "diabetes_care"),
        ],
    ));
    w.run(d(2025, 6, 18));
    assert_eq!(
        w.withdrawals(ProgrammeCode::D),
        [(Some("B20250616-01".into()), WithdrawalReason::VisitFound)]
    );
    // The smoking notice of the same checkup is not about a visit: it stays.
    assert_eq!(w.case(ProgrammeCode::S).state(), CaseState::LetterPrepared);
}

#[test]
fn claims_months_count_only_when_every_expected_stream_is_in() {
    use crate::coverage::{ClaimStream, ClaimsLedger, StreamArrival, Volume};
    let mut w = cancer_world(d(2025, 4, 1));
    w.referrals.push(referral(d(2025, 6, 5), d(2025, 7, 10)));
    w.run(d(2025, 7, 15));
    w.mail_due_letters(d(2025, 7, 20));
    let mut ledger = ClaimsLedger::new(ClaimStream::ALL.into_iter().collect());
    let arrive = |ledger: &mut ClaimsLedger, stream, month: &str| {
        ledger.arrivals.push(StreamArrival {
            stream,
            month: YearMonth::parse(month).unwrap(),
            volume: Volume::SINGLE,
            regular_claims: 1,
            arrived_on: d(2026, 1, 5),
            file: String::new(),
        })
    };
    for month in YearMonth::parse("2025-01")
        .unwrap()
        .through(YearMonth::parse("2025-10").unwrap())
    {
        for stream in ClaimStream::ALL {
            arrive(&mut ledger, stream, &month.to_string());
        }
    }
    // November: only the DPC file.
    arrive(&mut ledger, ClaimStream::Dpc, "2025-11");
    w.coverage = ledger.coverage();
    w.run(d(2026, 1, 15));
    let case = w.case(ProgrammeCode::C);
    assert_eq!(case.state(), CaseState::WaitingForClaims);
    assert!(!case.renotice_scheduled());
    for stream in [
        ClaimStream::Medical,
        ClaimStream::Dental,
        ClaimStream::Pharmacy,
    ] {
        arrive(&mut ledger, stream, "2025-11");
    }
    w.coverage = ledger.coverage();
    w.run(d(2026, 1, 16));
    assert_eq!(
        w.case(ProgrammeCode::C).letter_due(),
        Some(LetterKind::CancerRenotice)
    );
}

#[test]
fn a_diabetes_case_keeps_only_the_values_that_met_a_criterion_as_measured() {
    let mut w = World::new();
    let mut c = checkup(d(2025, 5, 10), 7.0, false);
    for (item, value) in [
        (Item::GlucoseFasting, 131.0),
        (Item::Egfr, 72.4),
        (Item::UrineProtein, 1.0),
    ] {
        c.observations.push(Observation {
            item,
            value: if item == Item::UrineProtein {
                ObservedValue::Grade(crate::checkup::UrineGrade::TRACE)
            } else {
                ObservedValue::Number(value)
            },
        });
    }
    w.checkups.push(c);
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 6, 15));
    let rows: Vec<(Item, String, String, &str)> = w
        .case(ProgrammeCode::D)
        .trigger_values()
        .iter()
        .map(|v| (v.item, v.value.clone(), v.threshold.clone(), v.judgement()))
        .collect();
    assert_eq!(
        rows,
        [
            (Item::HbA1c, "7.0".into(), "≥6.5".into(), "要受診"),
            // 空腹時血糖 ≥ 126 is a すぐに受診 value (issue 12's list of the programme's grades).
            (
                Item::GlucoseFasting,
                "131".into(),
                "≥126".into(),
                "すぐに受診を"
            ),
        ],
        "eGFR 72.4 and urine protein ± met no criterion; blood pressure is not D's"
    );
    assert!(matches!(
        w.case(ProgrammeCode::D).events[0].event,
        CaseEvent::Identified {
            source: Some(CheckupSource::Employer),
            ..
        }
    ));
}

/// Issue 12, 糖尿病性腎症重症化予防プログラム (未治療者): the look-back runs to the day the
/// notice is prepared, so diabetes treatment begun after the exam but before the notice
/// excludes the case (the look-back still waits for complete months up to the exam).
#[test]
fn a_treatment_started_after_the_exam_but_before_the_notice_excludes_the_case() {
    let mut w = World::new();
    w.checkups.push(checkup(d(2025, 5, 10), 7.5, false));
    w.visits.push(visit(
        ServiceTime::Day(d(2025, 6, 2)),
        &[(GroupKind::Drug, "diabetes_drug")],
    ));
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 7, 15));
    let case = w.case(ProgrammeCode::D);
    assert_eq!(case.state(), CaseState::Excluded);
    assert!(case.events.iter().any(|e| matches!(
        e.event,
        CaseEvent::Excluded(crate::case::ExclusionReason::AlreadyUnderCare)
    )));
    // Without that visit the same checkup is a notice.
    let mut w = World::new();
    w.checkups.push(checkup(d(2025, 5, 10), 7.5, false));
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 7, 15));
    assert_eq!(
        w.case(ProgrammeCode::D).letter_due(),
        Some(LetterKind::DiabetesReferral)
    );
}

/// Issue 12: the 服薬2 (血糖) answer 「はい」 means the person is treated (not 未治療).
#[test]
fn glucose_medication_in_the_questionnaire_excludes_the_diabetes_case() {
    let mut w = World::new();
    let mut c = checkup(d(2025, 5, 10), 7.5, false);
    c.questionnaire.medication_glucose = Some(true);
    w.checkups.push(c);
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 6, 15));
    let case = w.case(ProgrammeCode::D);
    assert_eq!(case.state(), CaseState::Excluded);
    assert!(case.events.iter().any(|e| matches!(
        e.event,
        CaseEvent::Excluded(crate::case::ExclusionReason::TakesGlucoseMedication)
    )));
}

/// 糖尿病性腎症重症化予防プログラム 令和6年度版 p.33 ①: 空腹時血糖 ≥ 126 is a criterion; it
/// is an option here (default off, the seed's trigger is HbA1c ≥ 6.5 alone).
#[test]
fn fasting_glucose_triggers_d_only_when_the_option_is_on() {
    let glucose_checkup = || {
        let mut c = checkup(d(2025, 5, 10), 6.0, false);
        c.observations.push(Observation {
            item: Item::GlucoseFasting,
            value: ObservedValue::Number(131.0),
        });
        c.questionnaire.draw_timing = Some(crate::checkup::DrawTiming::Fasting);
        c
    };
    let mut w = World::new();
    w.checkups.push(glucose_checkup());
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 6, 15));
    assert!(w.cases.iter().all(|c| c.key.programme != ProgrammeCode::D));

    let mut w = World::new();
    let mut with_glucose = crate::programme::ProgrammeSettings::default_for(ProgrammeCode::D);
    if let crate::programme::ProgrammeRules::Diabetes {
        glucose_threshold, ..
    } = &mut with_glucose.rules
    {
        *glucose_threshold = Some(126.0);
    }
    w.book.set(with_glucose);
    w.checkups.push(glucose_checkup());
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 6, 15));
    let case = w.case(ProgrammeCode::D);
    assert_eq!(case.letter_due(), Some(LetterKind::DiabetesReferral));
    let CaseEvent::Identified { values, .. } = &case.events[0].event else {
        panic!()
    };
    assert_eq!(values[0].item, Item::GlucoseFasting);
    assert_eq!(values[0].threshold, "≥126");
}

/// Issue 12: S leaves out a smoker whose claims already show ニコチン依存症管理料.
#[test]
fn a_smoker_already_in_cessation_treatment_gets_no_notice() {
    let mut w = World::new();
    w.checkups.push(checkup(d(2025, 5, 10), 5.2, true));
    w.visits.push(visit(
        ServiceTime::Month(YearMonth::parse("2025-04").unwrap()),
        &[(GroupKind::Procedure, "smoking_cessation")],
    ));
    w.run(d(2025, 6, 15));
    let case = w.case(ProgrammeCode::S);
    assert_eq!(case.state(), CaseState::Excluded);
    assert_eq!(case.letter_due(), None);
}

/// Issue 12 (指針: 子宮頸がん検診 is for women aged 20+): a 子宮頸 referral for a man is
/// accepted — the case opens and the notice is due — and flagged for staff.
#[test]
fn a_cervical_referral_for_a_man_is_accepted_and_flagged() {
    let mut w = cancer_world(d(2025, 4, 1));
    let mut r = referral(d(2025, 6, 5), d(2025, 7, 10));
    r.cancer = CancerType::Cervical;
    w.referrals.push(r);
    w.run(d(2025, 7, 15));
    let case = w.case(ProgrammeCode::C);
    assert_eq!(case.letter_due(), Some(LetterKind::CancerReferral));
    let CaseEvent::Identified { warnings, .. } = &case.events[0].event else {
        panic!("first event is Identified")
    };
    assert_eq!(
        warnings,
        &[crate::referral::PlausibilityWarning::SexMismatch]
    );
}

/// 糖尿病性腎症重症化予防プログラム (腎障害: eGFR < 45 or 尿蛋白 1+): a priority mark on D's
/// case when the setting asks for it; none by default.
#[test]
fn the_kidney_criteria_mark_a_d_case_as_priority_only_when_asked() {
    let kidney_checkup = || {
        let mut c = checkup(d(2025, 5, 10), 7.1, false);
        c.observations.push(Observation {
            item: Item::Egfr,
            value: ObservedValue::Number(41.0),
        });
        c
    };
    let priority_of = |w: &World| match &w.case(ProgrammeCode::D).events[0].event {
        CaseEvent::Identified { priority, .. } => *priority,
        _ => panic!("first event is Identified"),
    };
    let mut w = World::new();
    w.checkups.push(kidney_checkup());
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 6, 15));
    assert!(!priority_of(&w));

    let mut w = World::new();
    let mut marked = crate::programme::ProgrammeSettings::default_for(ProgrammeCode::D);
    if let crate::programme::ProgrammeRules::Diabetes {
        kidney_priority, ..
    } = &mut marked.rules
    {
        *kidney_priority = true;
    }
    w.book.set(marked);
    w.checkups.push(kidney_checkup());
    w.coverage = coverage("2024-05", "2025-05");
    w.run(d(2025, 6, 15));
    assert!(priority_of(&w));
}

/// Issue 12, 糖尿病性腎症重症化予防プログラム (治療中断者: diabetes treatment in the past,
/// none for 6 months): with the option on, metformin last seen 9 months before the
/// notice makes the person a target marked 治療中断; seen 2 months before, they are under
/// care; with the option off (the default), any diabetes care in the look-back excludes.
#[test]
fn an_interrupted_treatment_is_a_target_only_with_the_option() {
    let with_window = |months: Option<i32>| {
        let mut s = crate::programme::ProgrammeSettings::default_for(ProgrammeCode::D);
        if let crate::programme::ProgrammeRules::Diabetes {
            interrupted_months, ..
        } = &mut s.rules
        {
            *interrupted_months = months;
        }
        s
    };
    let world = |months: Option<i32>, last: Date| {
        let mut w = World::new();
        w.book.set(with_window(months));
        w.checkups.push(checkup(d(2025, 5, 10), 7.5, false));
        w.visits.push(visit(
            ServiceTime::Day(last),
            &[
                (GroupKind::Drug, "diabetes_drug"),
                (GroupKind::Condition, "diabetes"),
            ],
        ));
        w.coverage = coverage("2024-05", "2025-06");
        w.run(d(2025, 7, 15));
        w
    };
    // Last seen 2024-10-01, 9 months before the notice: interrupted.
    let w = world(Some(6), d(2024, 10, 1));
    let case = w.case(ProgrammeCode::D);
    assert_eq!(case.letter_due(), Some(LetterKind::DiabetesReferral));
    assert!(case.events.iter().any(|e| matches!(
        e.event,
        CaseEvent::TreatmentInterrupted { last_visit: ServiceTime::Day(day) } if day == d(2024, 10, 1)
    )));
    // Seen 2025-05-20: under care.
    let w = world(Some(6), d(2025, 5, 20));
    assert_eq!(w.case(ProgrammeCode::D).state(), CaseState::Excluded);
    // The default (option off): the old visit excludes.
    let w = world(None, d(2024, 10, 1));
    assert_eq!(w.case(ProgrammeCode::D).state(), CaseState::Excluded);
}

/// Issue 12: a programme's age range (e.g. the 特定健診 ages 40–74) opens no case for
/// someone outside it on the checkup's date, and says why.
#[test]
fn a_person_outside_the_programme_ages_opens_no_case() {
    let mut s = crate::programme::ProgrammeSettings::default_for(ProgrammeCode::S);
    s.ages = Some(crate::programme::AgeRange {
        min: 40,
        max: Some(74),
    });
    // Born 1970-05-01: 55 on 2025-05-10; born 1986-05-11: 38.
    let mut w = World::new();
    w.book.set(s.clone());
    w.checkups.push(checkup(d(2025, 5, 10), 5.4, true));
    w.run(d(2025, 6, 15));
    assert_eq!(
        w.case(ProgrammeCode::S).letter_due(),
        Some(LetterKind::SmokingCessation)
    );
    let mut w = World::new();
    w.member.birth_date = d(1986, 5, 11);
    w.book.set(s);
    w.checkups.push(checkup(d(2025, 5, 10), 5.4, true));
    w.run(d(2025, 6, 15));
    assert!(w.cases.iter().all(|c| c.key.programme != ProgrammeCode::S));
    assert!(
        w.skipped
            .contains(&(ProgrammeCode::S, SkipReason::OutsideAgeRange))
    );
}
