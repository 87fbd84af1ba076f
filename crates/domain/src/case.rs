//! Cases: one per (programme, member, trigger), each with an append-only timeline of
//! events. The state shown on dashboards is derived from the events, never stored
//! on its own.

use crate::calendar::{FiscalYear, YearMonth};
use crate::checkup::Item;
use crate::ids::MemberKey;
use crate::programme::{LetterKind, ProgrammeCode};
use crate::referral::CancerType;
use crate::risk::RiskLevel;
use crate::visit::ServiceTime;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What started a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Trigger {
    /// A checkup of this date.
    Checkup(Date),
    /// A 要精密検査 referral for a cancer type and screening date.
    Referral(CancerType, Date),
}

impl Trigger {
    /// The date of the checkup or screening.
    pub fn date(self) -> Date {
        match self {
            Trigger::Checkup(d) | Trigger::Referral(_, d) => d,
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Checkup(d) => write!(f, "checkup:{d}"),
            Trigger::Referral(c, d) => write!(f, "referral:{}:{d}", c.code()),
        }
    }
}

/// The identity of a case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CaseKey {
    /// Programme.
    pub programme: ProgrammeCode,
    /// Person.
    pub member: MemberKey,
    /// Trigger.
    pub trigger: Trigger,
}

/// A case key text that does not read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a case key: {0:?}")]
pub struct BadCaseKey(pub String);

impl CaseKey {
    /// Parses the text form (`P|member|checkup:DATE` or `P|member|referral:CANCER:DATE`).
    pub fn parse(text: &str) -> Result<CaseKey, BadCaseKey> {
        let bad = || BadCaseKey(text.to_owned());
        let mut parts = text.splitn(3, '|');
        let programme = parts
            .next()
            .and_then(ProgrammeCode::from_letter)
            .ok_or_else(bad)?;
        let member =
            MemberKey::parse_key_string(parts.next().ok_or_else(bad)?).map_err(|_| bad())?;
        let trigger = parts.next().ok_or_else(bad)?;
        let trigger = if let Some(date) = trigger.strip_prefix("checkup:") {
            Trigger::Checkup(date.parse().map_err(|_| bad())?)
        } else if let Some(rest) = trigger.strip_prefix("referral:") {
            let (cancer, date) = rest.split_once(':').ok_or_else(bad)?;
            Trigger::Referral(
                CancerType::from_code(cancer).ok_or_else(bad)?,
                date.parse().map_err(|_| bad())?,
            )
        } else {
            return Err(bad());
        };
        Ok(CaseKey {
            programme,
            member,
            trigger,
        })
    }
}

impl fmt::Display for CaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}|{}|{}",
            self.programme,
            self.member.to_key_string(),
            self.trigger
        )
    }
}

/// A value that triggered a case, as shown in the letter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerValue {
    /// Item.
    pub item: Item,
    /// Value as displayed.
    pub value: String,
    /// Level reached.
    pub level: Option<RiskLevel>,
    /// Threshold as displayed (`≥6.5`): the criterion the value met.
    pub threshold: String,
    /// The value reached the 「すぐに受診を」 grade.
    #[serde(default)]
    pub urgent: bool,
}

impl TriggerValue {
    /// What a letter prints as 判定: 「すぐに受診を」, 「要受診」 or 「要改善」.
    pub fn judgement(&self) -> &'static str {
        crate::risk::judgement(self.level.unwrap_or(RiskLevel::Referral), self.urgent)
    }
    /// The value's level of the three (保健指導判定値, 受診勧奨判定値, すぐに受診).
    pub fn urgency(&self) -> crate::risk::Urgency {
        crate::risk::Urgency::of(self.level.unwrap_or(RiskLevel::Referral), self.urgent)
    }
}

/// Why a case was excluded before any notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExclusionReason {
    /// The person refused data sharing (オプトアウト).
    OptedOut,
    /// Opt-in programme and no consent.
    NoConsent,
    /// Not insured on the trigger date or today.
    NotInsured,
    /// C: the screening is before the memorandum's signing date, or there is no
    /// memorandum in force.
    NotCoveredByAgreement,
    /// D: a lifestyle-disease visit in the look-back window (already under care).
    AlreadyUnderCare,
    /// D: the checkup's 服薬2 (血糖) answer is 「はい」: taking glucose-lowering medication
    /// or insulin, so already treated (糖尿病性腎症重症化予防プログラム: 未治療者 are those
    /// not under treatment).
    TakesGlucoseMedication,
    /// S: claims already show smoking-cessation treatment (ニコチン依存症管理料 or a
    /// cessation drug) from a year before the checkup to the notice.
    InCessationTreatment,
    /// The programme is switched off for that fiscal year.
    ProgrammeDisabled,
}

impl ExclusionReason {
    /// Japanese label.
    pub fn label(&self) -> &'static str {
        match self {
            ExclusionReason::OptedOut => "オプトアウト",
            ExclusionReason::NoConsent => "同意なし",
            ExclusionReason::NotInsured => "資格なし",
            ExclusionReason::NotCoveredByAgreement => "覚書の対象外",
            ExclusionReason::AlreadyUnderCare => "受診中（対象外）",
            ExclusionReason::TakesGlucoseMedication => "服薬中（問診・対象外）",
            ExclusionReason::InCessationTreatment => "禁煙治療中（対象外）",
            ExclusionReason::ProgrammeDisabled => "事業停止中",
        }
    }
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// 受診: claims show a relevant visit.
    Visited,
    /// 未受診: claims covering the whole window show none.
    NotVisited,
    /// Notice mailed; the programme has no claims follow-up (S, R).
    Notified,
    /// Shared with the employer only (R without a notice).
    SharedOnly,
    /// Stopped because the person opted out.
    StoppedOptOut,
    /// Stopped because the person lost coverage (資格喪失).
    LostCoverage,
}

impl Outcome {
    /// Japanese label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Visited => "受診",
            Outcome::NotVisited => "未受診",
            Outcome::Notified => "通知済",
            Outcome::SharedOnly => "事業所共有のみ",
            Outcome::StoppedOptOut => "停止（オプトアウト）",
            Outcome::LostCoverage => "停止（資格喪失）",
        }
    }
}

/// Why a letter that was due, or in a batch not yet mailed, was withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WithdrawalReason {
    /// Claims show the visit the letter asks for.
    VisitFound,
    /// The person refused data sharing.
    OptedOut,
    /// The person lost 資格.
    LostCoverage,
}

impl WithdrawalReason {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            WithdrawalReason::VisitFound => "visit_found",
            WithdrawalReason::OptedOut => "opted_out",
            WithdrawalReason::LostCoverage => "lost_coverage",
        }
    }
    /// From the code.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            WithdrawalReason::VisitFound,
            WithdrawalReason::OptedOut,
            WithdrawalReason::LostCoverage,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
    /// Japanese label.
    pub fn label(self) -> &'static str {
        match self {
            WithdrawalReason::VisitFound => "受診を確認",
            WithdrawalReason::OptedOut => "本人の申出（停止）",
            WithdrawalReason::LostCoverage => "資格喪失",
        }
    }
    /// The outcome a case withdrawn for this reason closes with.
    pub fn outcome(self) -> Outcome {
        match self {
            WithdrawalReason::VisitFound => Outcome::Visited,
            WithdrawalReason::OptedOut => Outcome::StoppedOptOut,
            WithdrawalReason::LostCoverage => Outcome::LostCoverage,
        }
    }
}

/// Which claims check is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClaimsCheck {
    /// D: look-back for an existing lifestyle-disease visit.
    LookBack,
    /// The follow-up after the notice.
    FollowUp,
    /// The final check after a re-notice.
    AfterRenotice,
}

impl ClaimsCheck {
    /// Japanese label.
    pub fn label(self) -> &'static str {
        match self {
            ClaimsCheck::LookBack => "過去12か月の受診確認",
            ClaimsCheck::FollowUp => "通知後の受診確認",
            ClaimsCheck::AfterRenotice => "再勧奨後の受診確認",
        }
    }
}

/// One event of a case's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CaseEvent {
    /// The case was found.
    Identified {
        /// Fiscal year whose settings apply.
        fiscal_year: FiscalYear,
        /// Triggering values.
        values: Vec<TriggerValue>,
        /// C: the list arrived after 翌々月末.
        late: bool,
        /// Whose checkup (the employer's, shared under the joint-use notice, or the
        /// society's own 人間ドック); none for a 要精密検査 list. Letters say so.
        #[serde(default)]
        source: Option<crate::checkup::CheckupSource>,
        /// C: why the referral does not fit the person (sex, usual age); the case is
        /// opened all the same and staff see the warning.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<crate::referral::PlausibilityWarning>,
        /// D: the kidney criteria were met (a priority case, when the setting asks).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        priority: bool,
    },
    /// Excluded before any notice.
    Excluded(ExclusionReason),
    /// A notice is due (the letters step picks it up).
    NoticeDue(LetterKind),
    /// The notice is in a letter batch.
    NoticePrepared {
        /// Batch id.
        batch: String,
    },
    /// Staff confirmed the batch was mailed; follow-up clocks start here.
    NoticeMailed,
    /// The batch was cancelled; the notice is due again.
    BatchCancelled {
        /// Batch id.
        batch: String,
    },
    /// A claims check is due but claims for these service months are not loaded.
    WaitingForClaims {
        /// Which check.
        check: ClaimsCheck,
        /// The missing months.
        missing: Vec<YearMonth>,
    },
    /// Claims show a relevant visit.
    VisitFound {
        /// When.
        time: ServiceTime,
        /// Found after a 未受診 decision (月遅れ claims).
        late_claim: bool,
    },
    /// Claims covering the whole window show no relevant visit.
    NoVisitFound {
        /// Which check.
        check: ClaimsCheck,
    },
    /// A re-notice is due.
    RenoticeDue(LetterKind),
    /// A letter that was due, or in a batch not yet confirmed mailed, will not go out:
    /// it leaves its batch and is never batched again.
    LetterWithdrawn {
        /// Which letter.
        letter: LetterKind,
        /// The batch it was in, if any.
        batch: Option<String>,
        /// Why.
        reason: WithdrawalReason,
    },
    /// Evidence of the visit arrived after the letter asking for it had been mailed:
    /// it could not be withdrawn; the outcome is corrected.
    MailedBeforeEvidence {
        /// Which letter.
        letter: LetterKind,
        /// The day it was mailed.
        mailed_on: Date,
    },
    /// The letter wording the person gets (A/B test of S and C; random per person).
    VariantAssigned(crate::programme::LetterVariant),
    /// D: a 治療中断者 (diabetes care in the look-back, none in the recent months the
    /// setting names), targeted although the look-back shows care.
    TreatmentInterrupted {
        /// The last diabetes visit found.
        last_visit: crate::visit::ServiceTime,
    },
    /// The case is closed.
    Closed(Outcome),
}

impl CaseEvent {
    /// The event without the checkup values it carries (an opt-out of all joint use
    /// purges employer-sent values from timelines; the event itself stays).
    pub fn without_values(&self) -> CaseEvent {
        match self {
            CaseEvent::Identified {
                fiscal_year,
                late,
                source,
                warnings,
                priority,
                ..
            } => CaseEvent::Identified {
                fiscal_year: *fiscal_year,
                values: Vec::new(),
                late: *late,
                source: *source,
                warnings: warnings.clone(),
                priority: *priority,
            },
            other => other.clone(),
        }
    }
    /// The event as staff read it on a timeline, in Japanese, with what it carries
    /// (batch, months, reason); checkup values are shown by `Identified`'s items only.
    pub fn label_ja(&self) -> String {
        match self {
            CaseEvent::Identified {
                fiscal_year,
                values,
                late,
                ..
            } => {
                let items: Vec<String> = values
                    .iter()
                    .map(|v| format!("{} {}（基準 {}）", v.item.label(), v.value, v.threshold))
                    .collect();
                format!(
                    "抽出（{}年度）{}{}",
                    fiscal_year.year(),
                    if items.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", items.join("、"))
                    },
                    if *late {
                        "（期限後の提出）"
                    } else {
                        ""
                    }
                )
            }
            CaseEvent::Excluded(reason) => format!("対象外: {}", reason.label()),
            CaseEvent::NoticeDue(letter) => format!("通知予定: {}", letter.title()),
            CaseEvent::NoticePrepared { batch } => format!("バッチ {batch} に作成"),
            CaseEvent::NoticeMailed => "郵送済".to_owned(),
            CaseEvent::BatchCancelled { batch } => {
                format!("バッチ {batch} 取消（通知は再び予定に）")
            }
            CaseEvent::WaitingForClaims { check, missing } => format!(
                "レセプト待ち（{}）: {}",
                check.label(),
                missing
                    .iter()
                    .map(|m| crate::calendar::format_wareki_month(*m))
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            CaseEvent::VisitFound { time, late_claim } => format!(
                "受診を確認: {}{}",
                match time {
                    ServiceTime::Day(d) => d.to_string(),
                    ServiceTime::Month(m) => crate::calendar::format_wareki_month(*m),
                },
                if *late_claim {
                    "（月遅れ請求）"
                } else {
                    ""
                }
            ),
            CaseEvent::NoVisitFound { check } => format!("受診なし（{}）", check.label()),
            CaseEvent::RenoticeDue(letter) => format!("再勧奨予定: {}", letter.title()),
            CaseEvent::LetterWithdrawn {
                letter,
                batch,
                reason,
            } => format!(
                "通知取下げ: {}{}（{}）",
                letter.title(),
                batch
                    .as_ref()
                    .map(|b| format!("・バッチ {b}"))
                    .unwrap_or_default(),
                reason.label()
            ),
            CaseEvent::MailedBeforeEvidence { letter, mailed_on } => format!(
                "受診確認より前に郵送済: {}（{mailed_on} 発送）",
                letter.title()
            ),
            CaseEvent::Closed(outcome) => format!("終了: {}", outcome.label()),
            CaseEvent::VariantAssigned(v) => format!("通知文の割付: {}案", v.code()),
            CaseEvent::TreatmentInterrupted { last_visit } => format!(
                "治療中断者（最後の糖尿病の受診: {}）",
                match last_visit {
                    crate::visit::ServiceTime::Day(d) => d.to_string(),
                    crate::visit::ServiceTime::Month(m) => crate::calendar::format_wareki_month(*m),
                }
            ),
        }
    }
    /// Stable kind code for storage and filtering.
    pub fn kind_code(&self) -> &'static str {
        match self {
            CaseEvent::Identified { .. } => "identified",
            CaseEvent::Excluded(_) => "excluded",
            CaseEvent::NoticeDue(_) => "notice_due",
            CaseEvent::NoticePrepared { .. } => "notice_prepared",
            CaseEvent::NoticeMailed => "notice_mailed",
            CaseEvent::BatchCancelled { .. } => "batch_cancelled",
            CaseEvent::WaitingForClaims { .. } => "waiting_for_claims",
            CaseEvent::VisitFound { .. } => "visit_found",
            CaseEvent::NoVisitFound { .. } => "no_visit_found",
            CaseEvent::RenoticeDue(_) => "renotice_due",
            CaseEvent::LetterWithdrawn { .. } => "letter_withdrawn",
            CaseEvent::MailedBeforeEvidence { .. } => "mailed_before_evidence",
            CaseEvent::VariantAssigned(_) => "variant_assigned",
            CaseEvent::TreatmentInterrupted { .. } => "treatment_interrupted",
            CaseEvent::Closed(_) => "closed",
        }
    }
}

/// An event with the day it happened (the engine's `today`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatedEvent {
    /// Day.
    pub on: Date,
    /// Event.
    pub event: CaseEvent,
}

/// A case with its timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Identity.
    pub key: CaseKey,
    /// Timeline, oldest first.
    pub events: Vec<DatedEvent>,
}

/// The derived state of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CaseState {
    /// Found; nothing decided yet (D waiting for its look-back).
    Identified,
    /// Excluded before any notice.
    Excluded,
    /// A notice (or re-notice) is due and not yet in a batch.
    LetterDue,
    /// In a letter batch that is not confirmed mailed.
    LetterPrepared,
    /// Notice mailed; follow-up not yet due.
    Notified,
    /// A claims check is due but waits for claims.
    WaitingForClaims,
    /// Closed.
    Closed(Outcome),
}

impl CaseState {
    /// Every state.
    pub const ALL: [CaseState; 12] = [
        CaseState::Identified,
        CaseState::Excluded,
        CaseState::LetterDue,
        CaseState::LetterPrepared,
        CaseState::Notified,
        CaseState::WaitingForClaims,
        CaseState::Closed(Outcome::Visited),
        CaseState::Closed(Outcome::NotVisited),
        CaseState::Closed(Outcome::Notified),
        CaseState::Closed(Outcome::SharedOnly),
        CaseState::Closed(Outcome::StoppedOptOut),
        CaseState::Closed(Outcome::LostCoverage),
    ];
    /// From the stable code.
    pub fn from_code(code: &str) -> Option<CaseState> {
        CaseState::ALL.into_iter().find(|s| s.code() == code)
    }
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            CaseState::Identified => "identified",
            CaseState::Excluded => "excluded",
            CaseState::LetterDue => "letter_due",
            CaseState::LetterPrepared => "letter_prepared",
            CaseState::Notified => "notified",
            CaseState::WaitingForClaims => "waiting_for_claims",
            CaseState::Closed(Outcome::Visited) => "closed_visited",
            CaseState::Closed(Outcome::NotVisited) => "closed_not_visited",
            CaseState::Closed(Outcome::Notified) => "closed_notified",
            CaseState::Closed(Outcome::SharedOnly) => "closed_shared",
            CaseState::Closed(Outcome::StoppedOptOut) => "closed_opt_out",
            CaseState::Closed(Outcome::LostCoverage) => "closed_lost_coverage",
        }
    }
    /// Japanese label.
    pub fn label(self) -> &'static str {
        match self {
            CaseState::Identified => "抽出済",
            CaseState::Excluded => "対象外",
            CaseState::LetterDue => "通知待ち",
            CaseState::LetterPrepared => "印刷待ち",
            CaseState::Notified => "通知済（経過観察中）",
            CaseState::WaitingForClaims => "レセプト待ち",
            CaseState::Closed(o) => o.label(),
        }
    }
    /// Still open: the engine may append to it.
    pub fn is_open(self) -> bool {
        !matches!(self, CaseState::Excluded | CaseState::Closed(_))
    }
}

impl Case {
    /// The letter wording assigned, when the programme ran an A/B test.
    pub fn variant(&self) -> Option<crate::programme::LetterVariant> {
        self.events.iter().find_map(|e| match e.event {
            CaseEvent::VariantAssigned(v) => Some(v),
            _ => None,
        })
    }
    /// The derived state.
    pub fn state(&self) -> CaseState {
        let mut state = CaseState::Identified;
        for e in &self.events {
            state = match (&e.event, state) {
                (CaseEvent::Identified { .. }, _) => CaseState::Identified,
                (CaseEvent::Excluded(_), _) => CaseState::Excluded,
                (CaseEvent::NoticeDue(_) | CaseEvent::RenoticeDue(_), _) => CaseState::LetterDue,
                (CaseEvent::NoticePrepared { .. }, _) => CaseState::LetterPrepared,
                (CaseEvent::BatchCancelled { .. }, _) => CaseState::LetterDue,
                (CaseEvent::NoticeMailed, _) => CaseState::Notified,
                (CaseEvent::WaitingForClaims { .. }, _) => CaseState::WaitingForClaims,
                (
                    CaseEvent::VisitFound { .. }
                    | CaseEvent::VariantAssigned(_)
                    | CaseEvent::TreatmentInterrupted { .. },
                    s,
                ) => s,
                (CaseEvent::NoVisitFound { .. }, s) => s,
                (CaseEvent::LetterWithdrawn { .. } | CaseEvent::MailedBeforeEvidence { .. }, s) => {
                    s
                }
                (CaseEvent::Closed(o), _) => CaseState::Closed(*o),
            };
        }
        // A visit found after a decision (月遅れ) corrects the outcome.
        if state == CaseState::Closed(Outcome::NotVisited) && self.visit_found().is_some() {
            return CaseState::Closed(Outcome::Visited);
        }
        state
    }
    /// The day the first notice was mailed.
    pub fn notice_mailed_on(&self) -> Option<Date> {
        self.mailings().next()
    }
    /// The day the re-notice was mailed.
    pub fn renotice_mailed_on(&self) -> Option<Date> {
        self.mailings().nth(1)
    }
    fn mailings(&self) -> impl Iterator<Item = Date> + '_ {
        self.events
            .iter()
            .filter(|e| matches!(e.event, CaseEvent::NoticeMailed))
            .map(|e| e.on)
    }
    /// The first visit found.
    pub fn visit_found(&self) -> Option<ServiceTime> {
        self.events.iter().find_map(|e| match e.event {
            CaseEvent::VisitFound { time, .. } => Some(time),
            _ => None,
        })
    }
    /// The letter waiting to go out: due (no batch) or in a batch not yet confirmed
    /// mailed (its batch id).
    pub fn pending_letter(&self) -> Option<(LetterKind, Option<String>)> {
        let state = self.state();
        if !matches!(state, CaseState::LetterDue | CaseState::LetterPrepared) {
            return None;
        }
        let kind = self.events.iter().rev().find_map(|e| match e.event {
            CaseEvent::NoticeDue(k) | CaseEvent::RenoticeDue(k) => Some(k),
            _ => None,
        })?;
        let batch = if state == CaseState::LetterPrepared {
            self.events.iter().rev().find_map(|e| match &e.event {
                CaseEvent::NoticePrepared { batch } => Some(batch.clone()),
                _ => None,
            })
        } else {
            None
        };
        Some((kind, batch))
    }
    /// The events that end an open case for `reason`: a letter waiting to go out is
    /// withdrawn first (and so leaves its batch), then the case closes.
    pub fn stop(&self, reason: WithdrawalReason) -> Vec<CaseEvent> {
        let mut events = Vec::new();
        if let Some((letter, batch)) = self.pending_letter() {
            events.push(CaseEvent::LetterWithdrawn {
                letter,
                batch,
                reason,
            });
        }
        events.push(CaseEvent::Closed(reason.outcome()));
        events
    }
    /// The letter currently due (notice or re-notice), if the state is `LetterDue`.
    pub fn letter_due(&self) -> Option<LetterKind> {
        if self.state() != CaseState::LetterDue {
            return None;
        }
        self.events.iter().rev().find_map(|e| match e.event {
            CaseEvent::NoticeDue(k) | CaseEvent::RenoticeDue(k) => Some(k),
            _ => None,
        })
    }
    /// A re-notice was scheduled.
    pub fn renotice_scheduled(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e.event, CaseEvent::RenoticeDue(_)))
    }
    /// The values that triggered it.
    pub fn trigger_values(&self) -> &[TriggerValue] {
        self.events
            .iter()
            .find_map(|e| match &e.event {
                CaseEvent::Identified { values, .. } => Some(values.as_slice()),
                _ => None,
            })
            .unwrap_or(&[])
    }
    /// The last waiting-for-claims event, if any.
    pub fn last_wait(&self) -> Option<(ClaimsCheck, &[YearMonth])> {
        self.events.iter().rev().find_map(|e| match &e.event {
            CaseEvent::WaitingForClaims { check, missing } => Some((*check, missing.as_slice())),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_reads_in_japanese_on_a_timeline() {
        let month = YearMonth::new(2026, 1).unwrap();
        let events = [
            CaseEvent::Identified {
                fiscal_year: FiscalYear::new(2025),
                values: vec![TriggerValue {
                    item: Item::HbA1c,
                    value: "7.1".into(),
                    level: None,
                    threshold: "≥6.5".into(),
                    urgent: false,
                }],
                late: true,
                source: None,
                warnings: Vec::new(),
                priority: false,
            },
            CaseEvent::Excluded(ExclusionReason::OptedOut),
            CaseEvent::NoticePrepared { batch: "B1".into() },
            CaseEvent::NoticeMailed,
            CaseEvent::WaitingForClaims {
                check: ClaimsCheck::FollowUp,
                missing: vec![month],
            },
            CaseEvent::VisitFound {
                time: ServiceTime::Month(month),
                late_claim: true,
            },
            CaseEvent::NoVisitFound {
                check: ClaimsCheck::LookBack,
            },
            CaseEvent::LetterWithdrawn {
                letter: LetterKind::RiskReferral,
                batch: Some("B1".into()),
                reason: WithdrawalReason::VisitFound,
            },
            CaseEvent::Closed(Outcome::NotVisited),
        ];
        let labels: Vec<String> = events.iter().map(CaseEvent::label_ja).collect();
        assert!(labels[0].starts_with("抽出（2025年度）: "), "{}", labels[0]);
        assert!(labels[0].contains("（基準 ≥6.5）") && labels[0].ends_with("（期限後の提出）"));
        assert_eq!(labels[1], "対象外: オプトアウト");
        assert_eq!(labels[2], "バッチ B1 に作成");
        assert_eq!(labels[3], "郵送済");
        assert_eq!(labels[4], "レセプト待ち（通知後の受診確認）: 令和8年1月");
        assert_eq!(labels[5], "受診を確認: 令和8年1月（月遅れ請求）");
        assert_eq!(labels[6], "受診なし（過去12か月の受診確認）");
        assert!(
            labels[7].starts_with("通知取下げ: ")
                && labels[7].ends_with("・バッチ B1（受診を確認）")
        );
        assert_eq!(labels[8], "終了: 未受診");
        for l in &labels {
            assert!(!l.contains('_'), "no codes: {l}");
        }
    }

    #[test]
    fn skip_reasons_read_in_japanese() {
        use crate::engine::SkipReason;
        assert_eq!(SkipReason::NotCoveredByAgreement.label(), "覚書の対象外");
        assert_eq!(SkipReason::OptedOut.label(), "オプトアウト");
    }
}
