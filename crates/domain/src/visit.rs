//! Visit facts: the only thing ever kept from claims (レセプト).
//!
//! A claim is reduced at import to who, when, where and which *groups* it evidences
//! (condition, procedure, drug groups). Diagnosis, procedure and drug codes, names,
//! amounts and points are never stored. Groups are data (editable), so they are
//! identified by text codes such as `diabetes` or `stomach_endoscopy`.

use crate::calendar::YearMonth;
use crate::ids::MemberKey;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// When the service happened: a day where the claim says it, else the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ServiceTime {
    /// A known day.
    Day(Date),
    /// Only the service month (診療年月) is known.
    Month(YearMonth),
}

impl ServiceTime {
    /// The service month.
    pub fn month(self) -> YearMonth {
        match self {
            ServiceTime::Day(d) => YearMonth::of(d),
            ServiceTime::Month(m) => m,
        }
    }
    /// Could have happened on or after `date` (a month counts when it ends on or after it).
    pub fn may_be_on_or_after(self, date: Date) -> bool {
        match self {
            ServiceTime::Day(d) => d >= date,
            ServiceTime::Month(m) => m.last_day() >= date,
        }
    }
    /// Could have happened on or before `date`.
    pub fn may_be_on_or_before(self, date: Date) -> bool {
        match self {
            ServiceTime::Day(d) => d <= date,
            ServiceTime::Month(m) => m.first_day() <= date,
        }
    }
}

/// What kind of evidence a group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GroupKind {
    /// A condition group from a diagnosis (SY).
    Condition,
    /// A procedure group (SI): a test, an examination, a management fee.
    Procedure,
    /// A drug group (IY).
    Drug,
}

/// One piece of evidence: a group, and for conditions whether it was only suspected
/// (修飾語 8002 「の疑い」) and when the diagnosis started (診療開始日).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Evidence {
    /// Condition, procedure or drug.
    pub kind: GroupKind,
    /// The group code (`diabetes`, `stomach`, `hba1c_test` …).
    pub group: String,
    /// 「の疑い」.
    pub suspected: bool,
    /// 診療開始日 of the diagnosis, when the claim gives it.
    pub started_on: Option<Date>,
}

/// A visit fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitFact {
    /// Whose visit.
    pub member: MemberKey,
    /// When.
    pub time: ServiceTime,
    /// 医療機関コード (where), kept to tell visits apart.
    pub institution: String,
    /// The groups it evidences.
    pub evidence: BTreeSet<Evidence>,
}

impl VisitFact {
    /// Has evidence of this kind and group that is not only suspected.
    pub fn has(&self, kind: GroupKind, group: &str) -> bool {
        self.evidence
            .iter()
            .any(|e| e.kind == kind && e.group == group)
    }
}

/// Which service months of claims are complete (loaded) — the claims-lag rule reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimsCoverage {
    months: BTreeSet<YearMonth>,
}

impl ClaimsCoverage {
    /// Coverage of these months.
    pub fn new(months: impl IntoIterator<Item = YearMonth>) -> Self {
        ClaimsCoverage {
            months: months.into_iter().collect(),
        }
    }
    /// Marks a month complete.
    pub fn insert(&mut self, month: YearMonth) {
        self.months.insert(month);
    }
    /// The months of `from..=to` (by day) that are not loaded yet.
    pub fn missing(&self, from: Date, to: Date) -> Vec<YearMonth> {
        YearMonth::of(from)
            .through(YearMonth::of(to))
            .filter(|m| !self.months.contains(m))
            .collect()
    }
    /// Every month of `from..=to` is loaded.
    pub fn covers(&self, from: Date, to: Date) -> bool {
        self.missing(from, to).is_empty()
    }
    /// The loaded months.
    pub fn months(&self) -> impl Iterator<Item = YearMonth> + '_ {
        self.months.iter().copied()
    }
}
