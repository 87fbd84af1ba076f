//! A claim after reduction: who (as the file says it), where, when, and which groups
//! it evidences — and the domain visit facts built from it once the store has matched
//! the identity to a member.
//!
//! Deliberately absent: diagnosis, procedure and drug codes, names (of the patient or
//! of anything else), amounts and points. Nothing here can hold them.

use collabo_domain::calendar::YearMonth;
use collabo_domain::ids::{Branch, CardNumber, InsurerNumber, MemberKey, Symbol};
use collabo_domain::member::Sex;
use collabo_domain::visit::{Evidence, GroupKind, ServiceTime, VisitFact};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A claim's identity as the file gives it (HO 保険者番号・記号・番号, SN 枝番, RE
/// 生年月日・男女区分). Matching to the register is the store's job.
///
/// Claims from before 枝番 existed (2021) have no SN: `branch` is `None`, and the
/// store falls back to 記号・番号 + 生年月日 + 性別 (NOTES.md §10.1); a claim that
/// does not then match exactly one member is counted as unmatched, never guessed.
/// The patient's name is not carried (data minimisation); the fallback does not need it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClaimIdentity {
    /// 保険者番号 (HO).
    pub insurer: InsurerNumber,
    /// 記号 (HO), full-width digits normalised.
    pub symbol: Symbol,
    /// 番号 (HO), full-width digits normalised.
    pub number: CardNumber,
    /// 枝番 (SN), absent on claims from before 2021.
    pub branch: Option<Branch>,
    /// 生年月日 (RE).
    pub birth_date: Date,
    /// 男女区分 (RE).
    pub sex: Sex,
}

impl ClaimIdentity {
    /// The member key when the claim names the branch.
    pub fn member_key(&self) -> Option<MemberKey> {
        Some(MemberKey {
            insurer: self.insurer.clone(),
            symbol: self.symbol.clone(),
            number: self.number.clone(),
            branch: self.branch.clone()?,
        })
    }
}

/// One claim (one RE … block) reduced to visit facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReducedClaim {
    /// Who.
    pub identity: ClaimIdentity,
    /// Where: 都道府県 (2) + 点数表 (1) + 医療機関コード (7) from IR (or YK for a pharmacy).
    pub institution: String,
    /// 診療年月 (調剤年月).
    pub month: YearMonth,
    /// The earliest service day, or the month when the claim gives no days.
    pub time: ServiceTime,
    /// Every service day seen (SI/IY/TO/SS day columns, JD, DPC CD, 調剤 CZ), sorted.
    pub days: Vec<Date>,
    /// Every group the claim evidences.
    pub evidence: BTreeSet<Evidence>,
    /// Procedure and drug evidence by the days its lines were done (a subset of
    /// `evidence`; lines without day columns are not here).
    pub dated: BTreeMap<Date, BTreeSet<Evidence>>,
    /// 1-based line of the RE record.
    pub line: u64,
}

impl ReducedClaim {
    /// One visit fact for the whole claim: time = earliest day (or the month), all
    /// evidence. Simple, but a procedure done later in the month is then dated to the
    /// month's first visit; prefer [`ReducedClaim::daily_visit_facts`] when the rule
    /// compares with a date inside the month.
    pub fn to_visit_fact(&self, member: MemberKey) -> VisitFact {
        VisitFact {
            member,
            time: self.time,
            institution: self.institution.clone(),
            evidence: self.evidence.clone(),
        }
    }

    /// One visit fact per service day: each carries the claim's condition evidence (a
    /// diagnosis has no day) plus the procedure and drug evidence of that day. Procedure
    /// or drug evidence without a day goes into one extra month-level fact (with the
    /// conditions). A claim without days gives one month-level fact.
    ///
    /// This keeps "a detailed examination on the 20th" from being dated to a routine
    /// visit on the 3rd, which would make a follow-up look earlier than a notice.
    pub fn daily_visit_facts(&self, member: &MemberKey) -> Vec<VisitFact> {
        self.daily_evidence()
            .into_iter()
            .map(|(time, evidence)| VisitFact {
                member: member.clone(),
                time,
                institution: self.institution.clone(),
                evidence,
            })
            .collect()
    }

    /// The (time, evidence) pairs of [`ReducedClaim::daily_visit_facts`], for callers
    /// that match the member later.
    pub fn daily_evidence(&self) -> Vec<(ServiceTime, BTreeSet<Evidence>)> {
        if self.days.is_empty() {
            return vec![(self.time, self.evidence.clone())];
        }
        let conditions: BTreeSet<Evidence> = self
            .evidence
            .iter()
            .filter(|e| e.kind == GroupKind::Condition)
            .cloned()
            .collect();
        let dated_all: BTreeSet<&Evidence> = self.dated.values().flatten().collect();
        let undated: BTreeSet<Evidence> = self
            .evidence
            .iter()
            .filter(|e| e.kind != GroupKind::Condition && !dated_all.contains(e))
            .cloned()
            .collect();
        let mut out: Vec<(ServiceTime, BTreeSet<Evidence>)> = self
            .days
            .iter()
            .map(|day| {
                let mut evidence = conditions.clone();
                if let Some(on_day) = self.dated.get(day) {
                    evidence.extend(on_day.iter().cloned());
                }
                (ServiceTime::Day(*day), evidence)
            })
            .collect();
        if !undated.is_empty() {
            let mut evidence = conditions;
            evidence.extend(undated);
            out.push((ServiceTime::Month(self.month), evidence));
        }
        out
    }

    /// The group codes of one kind (for tests and reports).
    pub fn groups(&self, kind: GroupKind) -> BTreeSet<&str> {
        self.evidence
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.group.as_str())
            .collect()
    }
}
