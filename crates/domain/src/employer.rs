//! Employers (事業所) and their memoranda (覚書) with the society.

use crate::ids::EmployerCode;
use crate::programme::ProgrammeCode;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// An establishment insured by the society.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employer {
    /// 事業所記号.
    pub code: EmployerCode,
    /// 事業所名.
    pub name: String,
    /// The health/HR contact's name and e-mail (事業所担当者).
    pub contact: String,
}

/// The state of a memorandum (覚書).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgreementStatus {
    /// 申込中: applied, not yet signed.
    Applied,
    /// 締結: signed and in force.
    Signed,
    /// 解約: ended.
    Ended,
}

impl AgreementStatus {
    /// Stable storage code.
    pub fn code(self) -> &'static str {
        match self {
            AgreementStatus::Applied => "applied",
            AgreementStatus::Signed => "signed",
            AgreementStatus::Ended => "ended",
        }
    }
    /// From the storage code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "applied" => Some(AgreementStatus::Applied),
            "signed" => Some(AgreementStatus::Signed),
            "ended" => Some(AgreementStatus::Ended),
            _ => None,
        }
    }
    /// 申込中 / 締結 / 解約.
    pub fn label(self) -> &'static str {
        match self {
            AgreementStatus::Applied => "申込中",
            AgreementStatus::Signed => "締結",
            AgreementStatus::Ended => "解約",
        }
    }
}

/// A memorandum (覚書) between the society and an employer for one programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// The employer.
    pub employer: EmployerCode,
    /// The programme it covers (C for cancer-screening follow-up).
    pub programme: ProgrammeCode,
    /// Its state.
    pub status: AgreementStatus,
    /// 締結日.
    pub signed_on: Option<Date>,
    /// 解約日: the first day it no longer applies.
    pub ended_on: Option<Date>,
}

impl Agreement {
    /// In force on `date`: signed on or before it and not ended by then.
    pub fn in_force_on(&self, date: Date) -> bool {
        match (self.status, self.signed_on) {
            (AgreementStatus::Applied, _) | (_, None) => false,
            (_, Some(signed)) => signed <= date && self.ended_on.is_none_or(|end| date < end),
        }
    }

    /// A screening done on `screening` and received on `received` is covered: the
    /// screening was on or after the signing date, and the memorandum was in force
    /// when the list arrived.
    pub fn covers_screening(&self, screening: Date, received: Date) -> bool {
        self.signed_on.is_some_and(|signed| screening >= signed) && self.in_force_on(received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreement(status: AgreementStatus, signed: Option<Date>, ended: Option<Date>) -> Agreement {
        Agreement {
            employer: EmployerCode::parse("1001").unwrap(),
            programme: ProgrammeCode::C,
            status,
            signed_on: signed,
            ended_on: ended,
        }
    }

    #[test]
    fn screening_before_signing_is_not_covered() {
        let a = agreement(
            AgreementStatus::Signed,
            Some(Date::constant(2026, 6, 1)),
            None,
        );
        assert!(!a.covers_screening(Date::constant(2026, 5, 31), Date::constant(2026, 7, 1)));
        assert!(a.covers_screening(Date::constant(2026, 6, 1), Date::constant(2026, 7, 1)));
    }

    #[test]
    fn an_application_or_an_ended_memorandum_covers_nothing() {
        let applied = agreement(
            AgreementStatus::Applied,
            Some(Date::constant(2026, 4, 1)),
            None,
        );
        assert!(!applied.in_force_on(Date::constant(2026, 5, 1)));
        let ended = agreement(
            AgreementStatus::Ended,
            Some(Date::constant(2026, 4, 1)),
            Some(Date::constant(2026, 9, 1)),
        );
        assert!(ended.in_force_on(Date::constant(2026, 8, 31)));
        assert!(!ended.in_force_on(Date::constant(2026, 9, 1)));
    }
}
