//! The programme engine: a pure function of one member's facts and `today`.
//!
//! [`run_member`] opens cases for new triggers and advances open cases: schedules
//! notices, decides follow-ups from visit facts, and waits — visibly — when the claims
//! for a window are not loaded yet (the claims-lag rule: a 未受診 decision is taken only
//! when every service month of its window is covered). It is idempotent: run twice on
//! the same day over the same facts, the second run returns nothing.
//!
//! Letters move cases from "due" to "prepared" to "mailed"; that is the letters
//! adapter's job, recorded as events the engine then reads. When evidence of the visit
//! arrives (or the person opts out or loses 資格) while a letter is still due or in an
//! unmailed batch, the engine withdraws it ([`CaseEvent::LetterWithdrawn`]); the
//! letters adapter takes it out of its batch.

use crate::calendar::{FiscalYear, add_months};
use crate::case::{
    Case, CaseEvent, CaseKey, CaseState, ClaimsCheck, DatedEvent, ExclusionReason, Outcome,
    Trigger, TriggerValue, WithdrawalReason,
};
use crate::checkup::{Checkup, Item, SmokingAnswer, UrineGrade};
use crate::consent::{ConsentDecision, ConsentRecord, decide};
use crate::employer::Agreement;
use crate::member::Member;
use crate::programme::{
    LetterKind, ProgrammeBook, ProgrammeCode, ProgrammeRules, ProgrammeSettings, VisitCriteria,
};
use crate::referral::Referral;
use crate::risk::{RiskFlag, RiskLevel, flag_checkup, risk_holder_flags};
use crate::visit::{ClaimsCoverage, VisitFact};
use jiff::civil::Date;
use std::collections::BTreeMap;

/// Everything the engine needs to know about one member.
#[derive(Debug, Clone, Copy)]
pub struct MemberFile<'a> {
    /// The member.
    pub member: &'a Member,
    /// Consent records.
    pub consents: &'a [ConsentRecord],
    /// Checkups.
    pub checkups: &'a [Checkup],
    /// Matched cancer referrals.
    pub referrals: &'a [Referral],
    /// Visit facts from claims.
    pub visits: &'a [VisitFact],
    /// Existing cases.
    pub cases: &'a [Case],
}

/// What holds for everyone on a run.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The day of the run.
    pub today: Date,
    /// Programme settings.
    pub book: &'a ProgrammeBook,
    /// Memoranda (覚書) of every employer.
    pub agreements: &'a [Agreement],
    /// Which claims months are loaded.
    pub coverage: &'a ClaimsCoverage,
}

/// A change the store must write.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseChange {
    /// A new case with its first events.
    Open(Case),
    /// Events appended to an existing case.
    Append {
        /// Which case.
        key: CaseKey,
        /// New events.
        events: Vec<DatedEvent>,
    },
}

/// Why a trigger did not become a case (counted, not stored: "no case").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// The person refused data sharing.
    OptedOut,
    /// Opt-in programme and no consent.
    NoConsent,
    /// Not insured on the trigger date.
    NotInsured,
    /// C: no memorandum in force, or the screening predates its signing.
    NotCoveredByAgreement,
    /// The programme is switched off.
    ProgrammeDisabled,
    /// Outside the programme's age range on the trigger date.
    OutsideAgeRange,
}

impl SkipReason {
    /// Japanese label (what `run` prints beside each count).
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::OptedOut => "オプトアウト",
            SkipReason::NoConsent => "同意なし",
            SkipReason::NotInsured => "資格なし",
            SkipReason::NotCoveredByAgreement => "覚書の対象外",
            SkipReason::ProgrammeDisabled => "事業停止中",
            SkipReason::OutsideAgeRange => "対象年齢外",
        }
    }
}

/// The engine's answer for one member.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberOutcome {
    /// Changes to write.
    pub changes: Vec<CaseChange>,
    /// Triggers that opened no case, and why.
    pub skipped: Vec<(ProgrammeCode, SkipReason)>,
}

/// Runs the engine for one member on `ctx.today`.
pub fn run_member(file: &MemberFile<'_>, ctx: &Context<'_>) -> MemberOutcome {
    let mut outcome = MemberOutcome::default();
    let existing: BTreeMap<&CaseKey, &Case> = file.cases.iter().map(|c| (&c.key, c)).collect();

    for candidate in candidates(file, ctx) {
        if existing.contains_key(&candidate.key) {
            continue;
        }
        if let Some(reason) = skip_reason(file, ctx, &candidate) {
            outcome.skipped.push((candidate.key.programme, reason));
            continue;
        }
        let mut case = Case {
            key: candidate.key,
            events: vec![DatedEvent {
                on: ctx.today,
                event: CaseEvent::Identified {
                    fiscal_year: candidate.fiscal_year,
                    values: candidate.values,
                    late: candidate.late,
                    source: candidate.source,
                    warnings: candidate.warnings,
                    priority: candidate.priority,
                },
            }],
        };
        // An A/B test of the letter wording (S, C): the wording is chosen at random per
        // person and recorded before any letter.
        let programme = case.key.programme;
        if matches!(programme, ProgrammeCode::S | ProgrammeCode::C)
            && ctx
                .book
                .for_year(programme, candidate.fiscal_year)
                .is_some_and(|s| s.ab_variants)
        {
            case.events.push(DatedEvent {
                on: ctx.today,
                event: CaseEvent::VariantAssigned(crate::programme::letter_variant(
                    programme,
                    &case.key.member,
                )),
            });
        }
        let more = advance(&case, file, ctx);
        case.events.extend(more);
        outcome.changes.push(CaseChange::Open(case));
    }

    for case in file.cases {
        let events = advance(case, file, ctx);
        if !events.is_empty() {
            outcome.changes.push(CaseChange::Append {
                key: case.key.clone(),
                events,
            });
        }
    }
    outcome
}

struct Candidate {
    key: CaseKey,
    fiscal_year: FiscalYear,
    values: Vec<TriggerValue>,
    late: bool,
    referral: Option<Referral>,
    source: Option<crate::checkup::CheckupSource>,
    warnings: Vec<crate::referral::PlausibilityWarning>,
    priority: bool,
}

fn settings<'a>(
    ctx: &Context<'a>,
    code: ProgrammeCode,
    date: Date,
) -> Option<&'a ProgrammeSettings> {
    ctx.book.for_year(code, FiscalYear::of(date))
}

fn recent_enough(ctx: &Context<'_>, settings: &ProgrammeSettings, date: Date) -> bool {
    date <= ctx.today
        && add_months(date, settings.max_trigger_age_months).is_ok_and(|limit| limit >= ctx.today)
}

/// A value as a letter shows it: as measured, with the criterion it met.
fn flagged_value(checkup: &Checkup, flag: &RiskFlag) -> Option<TriggerValue> {
    let shown = |n: f64| {
        if matches!(flag.item, Item::UrineProtein | Item::UrineGlucose) {
            // Urine grades are judged by rank (± = 1, + = 2, …).
            UrineGrade::from_mhlw_code(n as u8 + 1)
                .map(|g| g.label().to_owned())
                .unwrap_or_else(|| n.to_string())
        } else {
            format!("{n:.*}", flag.item.decimals())
        }
    };
    checkup.value(flag.item).map(|v| TriggerValue {
        item: flag.item,
        value: v.display_for(flag.item),
        level: Some(flag.level),
        threshold: format!(
            "{}{}",
            flag.direction.symbol(),
            shown(flag.urgent.unwrap_or(flag.threshold))
        ),
        urgent: flag.urgent.is_some(),
    })
}

/// D's other diabetes-related items, shown only when they met a 受診勧奨判定値.
const DIABETES_ITEMS: [Item; 5] = [
    Item::GlucoseFasting,
    Item::GlucoseRandom,
    Item::Egfr,
    Item::UrineProtein,
    Item::UrineGlucose,
];

fn candidates(file: &MemberFile<'_>, ctx: &Context<'_>) -> Vec<Candidate> {
    let mut found = Vec::new();
    let member = &file.member.key;
    for checkup in file.checkups {
        let fiscal_year = FiscalYear::of(checkup.exam_date);
        for code in [ProgrammeCode::R, ProgrammeCode::S, ProgrammeCode::D] {
            let Some(s) = settings(ctx, code, checkup.exam_date) else {
                continue;
            };
            let mut priority = false;
            if !recent_enough(ctx, s, checkup.exam_date) {
                continue;
            }
            let values = match &s.rules {
                ProgrammeRules::Risk { .. } => {
                    let flags: Vec<TriggerValue> = risk_holder_flags(checkup, file.member.sex, s)
                        .iter()
                        .filter_map(|f| flagged_value(checkup, f))
                        .collect();
                    if flags.is_empty() {
                        continue;
                    }
                    flags
                }
                ProgrammeRules::Smoking => {
                    if checkup.questionnaire.smoking != Some(SmokingAnswer::Smokes) {
                        continue;
                    }
                    Vec::new()
                }
                ProgrammeRules::Diabetes {
                    hba1c_threshold,
                    glucose_threshold,
                    kidney_priority,
                    ..
                } => {
                    priority = *kidney_priority && kidney_criteria(checkup);
                    let hba1c = checkup
                        .number(Item::HbA1c)
                        .filter(|v| *v >= *hba1c_threshold);
                    // The national programme's glucose criterion, when the society turns
                    // it on: 空腹時血糖 or 随時血糖 ≥ 126 on a sample the programme judges.
                    let glucose = glucose_threshold.and_then(|t| {
                        [Item::GlucoseFasting, Item::GlucoseRandom]
                            .into_iter()
                            .filter(|i| crate::risk::judged(checkup, *i))
                            .find_map(|i| checkup.number(i).filter(|v| *v >= t).map(|v| (i, v, t)))
                    });
                    if hba1c.is_none() && glucose.is_none() {
                        continue;
                    }
                    // The thresholds of R (the MHLW 受診勧奨判定値 by default) judge the
                    // other items and the 「すぐに受診を」 grade of HbA1c.
                    let rules = settings(ctx, ProgrammeCode::R, checkup.exam_date)
                        .and_then(|r| match &r.rules {
                            ProgrammeRules::Risk { thresholds, .. } => Some(thresholds.clone()),
                            _ => None,
                        })
                        .unwrap_or_else(crate::risk::default_thresholds);
                    let flags = flag_checkup(checkup, file.member.sex, &rules);
                    let urgent_of =
                        |item: Item| flags.iter().find(|f| f.item == item).and_then(|f| f.urgent);
                    let mut criteria: Vec<RiskFlag> = Vec::new();
                    if let Some(hba1c) = hba1c {
                        criteria.push(RiskFlag {
                            item: Item::HbA1c,
                            level: RiskLevel::Referral,
                            value: hba1c,
                            threshold: *hba1c_threshold,
                            direction: crate::risk::Direction::AtOrAbove,
                            urgent: urgent_of(Item::HbA1c),
                        });
                    }
                    if let Some((item, value, threshold)) = glucose {
                        criteria.push(RiskFlag {
                            item,
                            level: RiskLevel::Referral,
                            value,
                            threshold,
                            direction: crate::risk::Direction::AtOrAbove,
                            urgent: urgent_of(item),
                        });
                    }
                    let shown: Vec<Item> = criteria.iter().map(|f| f.item).collect();
                    criteria
                        .iter()
                        .filter_map(|f| flagged_value(checkup, f))
                        .chain(
                            flags
                                .iter()
                                .filter(|f| {
                                    f.level == RiskLevel::Referral
                                        && DIABETES_ITEMS.contains(&f.item)
                                        && !shown.contains(&f.item)
                                })
                                .filter_map(|f| flagged_value(checkup, f)),
                        )
                        .collect()
                }
                ProgrammeRules::Cancer { .. } => continue,
            };
            found.push(Candidate {
                key: CaseKey {
                    programme: code,
                    member: member.clone(),
                    trigger: Trigger::Checkup(checkup.exam_date),
                },
                fiscal_year,
                values,
                late: false,
                referral: None,
                source: Some(checkup.source),
                warnings: Vec::new(),
                priority,
            });
        }
    }
    for referral in file.referrals {
        let Some(s) = settings(ctx, ProgrammeCode::C, referral.screening_date) else {
            continue;
        };
        if referral.received_on > ctx.today || !recent_enough(ctx, s, referral.received_on) {
            continue;
        }
        found.push(Candidate {
            key: CaseKey {
                programme: ProgrammeCode::C,
                member: member.clone(),
                trigger: Trigger::Referral(referral.cancer, referral.screening_date),
            },
            fiscal_year: FiscalYear::of(referral.screening_date),
            values: Vec::new(),
            late: referral.is_late(),
            referral: Some(referral.clone()),
            source: None,
            priority: false,
            // Accepted and flagged, never dropped (issue 12).
            warnings: crate::referral::plausibility(
                referral.cancer,
                file.member.sex,
                file.member.birth_date,
                referral.screening_date,
            ),
        });
    }
    found
}

fn skip_reason(file: &MemberFile<'_>, ctx: &Context<'_>, c: &Candidate) -> Option<SkipReason> {
    let code = c.key.programme;
    let trigger_date = c.key.trigger.date();
    let s = ctx.book.for_year(code, c.fiscal_year)?;
    if !s.enabled {
        return Some(SkipReason::ProgrammeDisabled);
    }
    if !file.member.is_insured_on(trigger_date) || !file.member.is_insured_on(ctx.today) {
        return Some(SkipReason::NotInsured);
    }
    if s.ages
        .is_some_and(|ages| !ages.includes(file.member.birth_date, trigger_date))
    {
        return Some(SkipReason::OutsideAgeRange);
    }
    let attested = c.referral.as_ref().is_some_and(|r| r.consent_attested);
    match decide(file.consents, code, s.consent_mode, ctx.today, attested) {
        ConsentDecision::Allowed => {}
        ConsentDecision::Refused(_) => return Some(SkipReason::OptedOut),
        ConsentDecision::NoConsent => return Some(SkipReason::NoConsent),
    }
    if let Some(referral) = &c.referral {
        let covered = ctx.agreements.iter().any(|a| {
            a.employer == referral.employer
                && a.programme == ProgrammeCode::C
                && a.covers_screening(referral.screening_date, referral.received_on)
        });
        if !covered {
            return Some(SkipReason::NotCoveredByAgreement);
        }
    }
    None
}

/// The result of searching claims over a window.
enum ClaimsAnswer {
    Visit(crate::visit::ServiceTime),
    NoVisit,
    Waiting(Vec<crate::calendar::YearMonth>),
}

/// Searches visits in `from..=to`; without one, answers "no visit" only when the claims
/// months of `from..=complete_to` are all complete.
fn search_claims(
    file: &MemberFile<'_>,
    ctx: &Context<'_>,
    criteria: &VisitCriteria,
    from: Date,
    to: Date,
    complete_to: Date,
    trigger: Date,
) -> ClaimsAnswer {
    let visit = file
        .visits
        .iter()
        .filter(|v| v.time.may_be_on_or_after(from) && v.time.may_be_on_or_before(to))
        .filter(|v| criteria.matches(v, trigger))
        .map(|v| v.time)
        .min();
    match visit {
        Some(time) => ClaimsAnswer::Visit(time),
        None => {
            let missing = ctx.coverage.missing(from, complete_to);
            if missing.is_empty() {
                ClaimsAnswer::NoVisit
            } else {
                ClaimsAnswer::Waiting(missing)
            }
        }
    }
}

/// 治療中断者: `Visit(last)` with the last diabetes visit (by the follow-up criteria)
/// in the look-back from `from`, when there is one and no look-back care at all (any of
/// its criteria) in the `months` before `today`; `NoVisit` when the person is under care
/// (or never had diabetes care); `Waiting` while claims months up to the exam in that
/// recent window are missing. Months after the exam are taken as they have arrived, as
/// in the look-back.
#[allow(clippy::too_many_arguments)]
fn interrupted_since(
    file: &MemberFile<'_>,
    ctx: &Context<'_>,
    lookback: &VisitCriteria,
    diabetes: &VisitCriteria,
    from: Date,
    months: i32,
    today: Date,
    trigger_date: Date,
) -> ClaimsAnswer {
    let Ok(recent_from) = add_months(today, -months) else {
        return ClaimsAnswer::NoVisit;
    };
    let last = file
        .visits
        .iter()
        .filter(|v| v.time.may_be_on_or_after(from) && v.time.may_be_on_or_before(today))
        .filter(|v| diabetes.matches(v, trigger_date))
        .map(|v| v.time)
        .max();
    let Some(last) = last else {
        return ClaimsAnswer::NoVisit;
    };
    match search_claims(
        file,
        ctx,
        lookback,
        recent_from,
        today,
        trigger_date,
        trigger_date,
    ) {
        ClaimsAnswer::NoVisit => ClaimsAnswer::Visit(last),
        ClaimsAnswer::Visit(_) => ClaimsAnswer::NoVisit,
        waiting @ ClaimsAnswer::Waiting(_) => waiting,
    }
}

fn letter_for(code: ProgrammeCode) -> LetterKind {
    match code {
        ProgrammeCode::R => LetterKind::RiskReferral,
        ProgrammeCode::S => LetterKind::SmokingCessation,
        ProgrammeCode::D => LetterKind::DiabetesReferral,
        ProgrammeCode::C => LetterKind::CancerReferral,
    }
}

/// Appends what follows from the case's state on `ctx.today`.
fn advance(case: &Case, file: &MemberFile<'_>, ctx: &Context<'_>) -> Vec<DatedEvent> {
    let today = ctx.today;
    let state = case.state();
    let mut events = Vec::new();
    let mut push = |event: CaseEvent| events.push(DatedEvent { on: today, event });
    let code = case.key.programme;
    let trigger_date = case.key.trigger.date();
    let fiscal_year = case
        .events
        .iter()
        .find_map(|e| match e.event {
            CaseEvent::Identified { fiscal_year, .. } => Some(fiscal_year),
            _ => None,
        })
        .unwrap_or_else(|| FiscalYear::of(trigger_date));
    let Some(s) = ctx.book.for_year(code, fiscal_year) else {
        return events;
    };

    // Evidence of a visit (often a 月遅れ claim) for a case whose letter asks for that
    // visit: a D notice or C re-notice still due or in an unmailed batch is withdrawn;
    // one already mailed is recorded as such; a 未受診 outcome is corrected.
    let decided_no_visit = case
        .events
        .iter()
        .any(|e| matches!(e.event, CaseEvent::NoVisitFound { .. }));
    let pending = case
        .pending_letter()
        .filter(|(kind, _)| withdrawn_by_a_visit(*kind));
    let still_followed = state.is_open() || state == CaseState::Closed(Outcome::NotVisited);
    if (decided_no_visit || pending.is_some())
        && still_followed
        && case.visit_found().is_none()
        && let Some(criteria) = follow_up_criteria(s, &case.key)
        && let ClaimsAnswer::Visit(time) = search_claims(
            file,
            ctx,
            criteria,
            follow_up_window_start(case, code),
            today,
            today,
            trigger_date,
        )
    {
        push(CaseEvent::VisitFound {
            time,
            late_claim: decided_no_visit,
        });
        if let Some((letter, batch)) = pending {
            push(CaseEvent::LetterWithdrawn {
                letter,
                batch,
                reason: WithdrawalReason::VisitFound,
            });
            push(CaseEvent::Closed(Outcome::Visited));
        } else if let Some(mailed_on) = case.renotice_mailed_on() {
            push(CaseEvent::MailedBeforeEvidence {
                letter: LetterKind::CancerRenotice,
                mailed_on,
            });
            if state.is_open() {
                push(CaseEvent::Closed(Outcome::Visited));
            }
        }
        return events;
    }

    if !state.is_open() {
        return events;
    }
    if matches!(
        decide(file.consents, code, s.consent_mode, today, true),
        ConsentDecision::Refused(_)
    ) {
        for event in case.stop(WithdrawalReason::OptedOut) {
            push(event);
        }
        return events;
    }
    if !file.member.is_insured_on(today) {
        for event in case.stop(WithdrawalReason::LostCoverage) {
            push(event);
        }
        return events;
    }

    let wait = |events: &mut Vec<DatedEvent>, check: ClaimsCheck, missing: Vec<_>| {
        let unchanged = state == CaseState::WaitingForClaims
            && case
                .last_wait()
                .is_some_and(|(c, m)| c == check && m == missing.as_slice());
        if !unchanged {
            events.push(DatedEvent {
                on: today,
                event: CaseEvent::WaitingForClaims { check, missing },
            });
        }
    };

    let pending_check = match state {
        CaseState::Identified => Some(ClaimsCheck::LookBack),
        CaseState::WaitingForClaims => case.last_wait().map(|(c, _)| c),
        CaseState::Notified => Some(if case.renotice_mailed_on().is_some() {
            ClaimsCheck::AfterRenotice
        } else {
            ClaimsCheck::FollowUp
        }),
        _ => None,
    };
    let Some(check) = pending_check else {
        return events;
    };

    match (&s.rules, check) {
        (
            ProgrammeRules::Diabetes {
                lookback_months,
                lookback,
                follow_up,
                interrupted_months,
                ..
            },
            ClaimsCheck::LookBack,
        ) => {
            // 服薬2 (血糖) 「はい」 on the checkup: already treated (the national
            // programme's 未治療者 are those not on glucose-lowering treatment).
            let medicated = file.checkups.iter().any(|c| {
                c.exam_date == trigger_date && c.questionnaire.medication_glucose == Some(true)
            });
            if medicated {
                push(CaseEvent::Excluded(ExclusionReason::TakesGlucoseMedication));
                return events;
            }
            let Ok(from) = add_months(trigger_date, -lookback_months) else {
                return events;
            };
            // The look-back runs up to the day the notice is prepared (today), so a
            // treatment started between the checkup and the notice excludes the case; it
            // waits for complete claims months up to the exam date, as before (months after
            // it are never complete on the day of a notice; what has arrived counts).
            match search_claims(file, ctx, lookback, from, today, trigger_date, trigger_date) {
                ClaimsAnswer::Visit(_) => {
                    let interruption = interrupted_months.map(|months| {
                        interrupted_since(
                            file,
                            ctx,
                            lookback,
                            follow_up,
                            from,
                            months,
                            today,
                            trigger_date,
                        )
                    });
                    match interruption {
                        Some(ClaimsAnswer::Visit(last_visit)) => {
                            push(CaseEvent::TreatmentInterrupted { last_visit });
                            push(CaseEvent::NoticeDue(letter_for(code)));
                        }
                        Some(ClaimsAnswer::Waiting(missing)) => wait(&mut events, check, missing),
                        Some(ClaimsAnswer::NoVisit) | None => {
                            push(CaseEvent::Excluded(ExclusionReason::AlreadyUnderCare))
                        }
                    }
                }
                ClaimsAnswer::NoVisit => push(CaseEvent::NoticeDue(letter_for(code))),
                ClaimsAnswer::Waiting(missing) => wait(&mut events, check, missing),
            }
        }
        (
            ProgrammeRules::Risk {
                notify_person,
                notify_at,
                notify_items,
                ..
            },
            ClaimsCheck::LookBack,
        ) => {
            // A notice that depends on the level (and items): only values that reach it.
            let reaches = case.trigger_values().iter().any(|v| {
                (notify_items.is_empty() || notify_items.contains(&v.item))
                    && notify_at.is_none_or(|at| v.urgency() >= at)
            });
            if *notify_person && reaches {
                push(CaseEvent::NoticeDue(letter_for(code)));
            } else {
                push(CaseEvent::Closed(Outcome::SharedOnly));
            }
        }
        (ProgrammeRules::Smoking, ClaimsCheck::LookBack) => {
            // S leaves out people already in 禁煙治療: claims from a year before the
            // checkup up to the notice with ニコチン依存症管理料 or a cessation drug. Claims
            // are not awaited (a letter to someone already treated does no harm).
            if in_cessation_treatment(file, trigger_date, today) {
                push(CaseEvent::Excluded(ExclusionReason::InCessationTreatment));
            } else {
                push(CaseEvent::NoticeDue(letter_for(code)));
            }
        }
        (_, ClaimsCheck::LookBack) => push(CaseEvent::NoticeDue(letter_for(code))),
        (ProgrammeRules::Risk { .. } | ProgrammeRules::Smoking, _) => {
            push(CaseEvent::Closed(Outcome::Notified))
        }
        (
            ProgrammeRules::Diabetes {
                follow_up_months, ..
            }
            | ProgrammeRules::Cancer {
                follow_up_months, ..
            },
            ClaimsCheck::FollowUp | ClaimsCheck::AfterRenotice,
        ) => {
            let mailed = if check == ClaimsCheck::AfterRenotice {
                case.renotice_mailed_on()
            } else {
                case.notice_mailed_on()
            };
            let Some(check_date) = mailed.and_then(|m| add_months(m, *follow_up_months).ok())
            else {
                return events;
            };
            if today < check_date {
                return events;
            }
            let Some(criteria) = follow_up_criteria(s, &case.key) else {
                return events;
            };
            let from = follow_up_window_start(case, code);
            match search_claims(
                file,
                ctx,
                criteria,
                from,
                check_date,
                check_date,
                trigger_date,
            ) {
                ClaimsAnswer::Visit(time) => {
                    push(CaseEvent::VisitFound {
                        time,
                        late_claim: false,
                    });
                    push(CaseEvent::Closed(Outcome::Visited));
                }
                ClaimsAnswer::NoVisit => {
                    push(CaseEvent::NoVisitFound { check });
                    if code == ProgrammeCode::C && check == ClaimsCheck::FollowUp {
                        push(CaseEvent::RenoticeDue(LetterKind::CancerRenotice));
                    } else {
                        push(CaseEvent::Closed(Outcome::NotVisited));
                    }
                }
                ClaimsAnswer::Waiting(missing) => wait(&mut events, check, missing),
            }
        }
    }
    events
}

/// The kidney criteria of the national 糖尿病性腎症重症化予防プログラム as a priority mark:
/// eGFR < 45 or 尿蛋白 1+ or more.
fn kidney_criteria(checkup: &Checkup) -> bool {
    checkup.number(Item::Egfr).is_some_and(|e| e < 45.0)
        || matches!(
            checkup.value(Item::UrineProtein),
            Some(crate::checkup::ObservedValue::Grade(g)) if g >= UrineGrade::ONE_PLUS
        )
}

/// The claims evidence of smoking-cessation treatment (the claims adapter's groups
/// `smoking_cessation` for ニコチン依存症管理料 and `smoking_cessation_drug` for varenicline
/// and prescription nicotine patches).
pub fn cessation_criteria() -> VisitCriteria {
    use crate::programme::EvidenceTerm;
    VisitCriteria {
        any_of: vec![
            vec![EvidenceTerm::procedure("smoking_cessation")],
            vec![EvidenceTerm::drug("smoking_cessation_drug")],
        ],
    }
}

fn in_cessation_treatment(file: &MemberFile<'_>, exam: Date, today: Date) -> bool {
    let Ok(from) = add_months(exam, -12) else {
        return false;
    };
    let criteria = cessation_criteria();
    file.visits.iter().any(|v| {
        v.time.may_be_on_or_after(from)
            && v.time.may_be_on_or_before(today)
            && criteria.matches(v, exam)
    })
}

/// The letters a visit makes pointless: the D 受診勧奨 (the person is seeing a doctor)
/// and the C re-notice (the detailed exam was done). The C first notice goes to
/// everyone listed, whether or not they went (SPEC, programme C); R and S have no
/// claims follow-up.
fn withdrawn_by_a_visit(kind: LetterKind) -> bool {
    matches!(
        kind,
        LetterKind::DiabetesReferral | LetterKind::CancerRenotice
    )
}

/// The criteria a follow-up visit must meet.
fn follow_up_criteria<'a>(s: &'a ProgrammeSettings, key: &CaseKey) -> Option<&'a VisitCriteria> {
    match (&s.rules, key.trigger) {
        (ProgrammeRules::Diabetes { follow_up, .. }, _) => Some(follow_up),
        (ProgrammeRules::Cancer { by_cancer, .. }, Trigger::Referral(cancer, _)) => {
            by_cancer.get(&cancer)
        }
        _ => None,
    }
}

/// D counts visits from the notice on; C counts any detailed exam since the screening.
fn follow_up_window_start(case: &Case, code: ProgrammeCode) -> Date {
    match code {
        ProgrammeCode::D => case.notice_mailed_on().unwrap_or(case.key.trigger.date()),
        _ => case.key.trigger.date(),
    }
}
