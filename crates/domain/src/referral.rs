//! Cancer-screening referrals (要精密検査者): the people an employer's screening said
//! need a detailed examination, as submitted for programme C.

use crate::calendar::{CalendarError, age_on, yokuyokugetsumatsu};
use crate::ids::{EmployerCode, MemberKey};
use crate::member::Sex;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The five screenings of 別紙2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CancerType {
    /// 肺がん.
    Lung,
    /// 胃がん.
    Stomach,
    /// 大腸がん.
    Colorectal,
    /// 乳がん.
    Breast,
    /// 子宮頸がん.
    Cervical,
}

impl CancerType {
    /// Every type.
    pub const ALL: [CancerType; 5] = [
        CancerType::Lung,
        CancerType::Stomach,
        CancerType::Colorectal,
        CancerType::Breast,
        CancerType::Cervical,
    ];
    /// Storage code (matches the `target` column of the claims follow-up groups).
    pub fn code(self) -> &'static str {
        match self {
            CancerType::Lung => "lung",
            CancerType::Stomach => "stomach",
            CancerType::Colorectal => "colorectal",
            CancerType::Breast => "breast",
            CancerType::Cervical => "cervix",
        }
    }
    /// From the storage code.
    pub fn from_code(code: &str) -> Option<Self> {
        CancerType::ALL.into_iter().find(|c| c.code() == code)
    }
    /// 肺 / 胃 / 大腸 / 乳 / 子宮頸.
    pub fn label(self) -> &'static str {
        match self {
            CancerType::Lung => "肺",
            CancerType::Stomach => "胃",
            CancerType::Colorectal => "大腸",
            CancerType::Breast => "乳",
            CancerType::Cervical => "子宮頸",
        }
    }
    /// Parses what employers write: 肺, 肺がん, 胃癌, 大腸, 乳, 子宮, 子宮頸がん, or the code.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        if let Some(c) = CancerType::from_code(&t.to_ascii_lowercase()) {
            return Some(c);
        }
        let stem = t
            .trim_end_matches("検診")
            .trim_end_matches("がん")
            .trim_end_matches("癌")
            .trim_end_matches("ガン");
        match stem {
            "肺" => Some(CancerType::Lung),
            "胃" => Some(CancerType::Stomach),
            "大腸" => Some(CancerType::Colorectal),
            "乳" | "乳房" => Some(CancerType::Breast),
            "子宮" | "子宮頸" | "子宮頚" => Some(CancerType::Cervical),
            _ => None,
        }
    }
}

/// A 要精密検査 row after it was matched to a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    /// The person.
    pub member: MemberKey,
    /// The employer that submitted it.
    pub employer: EmployerCode,
    /// がん検診の種類.
    pub cancer: CancerType,
    /// 検診実施年月日.
    pub screening_date: Date,
    /// The day the society received the list.
    pub received_on: Date,
    /// The employer attested the person's consent on this row.
    pub consent_attested: bool,
}

impl Referral {
    /// 翌々月末 of the screening.
    pub fn deadline(&self) -> Result<Date, CalendarError> {
        yokuyokugetsumatsu(self.screening_date)
    }
    /// Received after the deadline (accepted, but flagged).
    pub fn is_late(&self) -> bool {
        self.deadline().is_ok_and(|due| self.received_on > due)
    }
}

/// Why a referral does not fit the person: kept, shown to staff, never dropped (the
/// employer's list may be right and the register wrong, or the other way round).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlausibilityWarning {
    /// 乳がん or 子宮頸がん screening of a man.
    SexMismatch,
    /// Younger than the screening's usual age on the screening date.
    BelowUsualAge {
        /// The usual lowest age.
        usual_from: i16,
        /// The person's age on the screening date.
        age: i16,
    },
}

impl PlausibilityWarning {
    /// For the staff page.
    pub fn label(&self) -> String {
        match self {
            PlausibilityWarning::SexMismatch => "性別が検診の対象と一致しません".to_owned(),
            PlausibilityWarning::BelowUsualAge { usual_from, age } => {
                format!("検診時{age}歳（通常{usual_from}歳以上）")
            }
        }
    }
}

impl CancerType {
    /// The usual lowest age of the screening: 胃 50 (X線は40歳以上も可, so 40 here, the
    /// referral does not say which method), 肺・大腸・乳 40, 子宮頸 20 (厚生労働省
    /// 「がん予防重点健康教育及びがん検診実施のための指針」, as issue 12 lists them).
    pub fn usual_from_age(self) -> i16 {
        match self {
            CancerType::Stomach | CancerType::Lung | CancerType::Colorectal => 40,
            CancerType::Breast => 40,
            CancerType::Cervical => 20,
        }
    }
    /// The sex the screening is for, when only one (乳・子宮頸: women).
    pub fn only_for(self) -> Option<Sex> {
        match self {
            CancerType::Breast | CancerType::Cervical => Some(Sex::Female),
            _ => None,
        }
    }
}

/// The warnings of a referral for a person of this sex and birth date.
pub fn plausibility(
    cancer: CancerType,
    sex: Sex,
    birth_date: Date,
    screening_date: Date,
) -> Vec<PlausibilityWarning> {
    let mut warnings = Vec::new();
    if cancer.only_for().is_some_and(|only| only != sex) {
        warnings.push(PlausibilityWarning::SexMismatch);
    }
    let age = age_on(birth_date, screening_date);
    let usual_from = cancer.usual_from_age();
    if age < usual_from {
        warnings.push(PlausibilityWarning::BelowUsualAge { usual_from, age });
    }
    warnings
}

#[cfg(test)]
mod plausibility_tests {
    use super::*;

    /// Issue 12 (指針: 乳・子宮頸 are women's screenings; 子宮頸 20+, the others 40+).
    #[test]
    fn a_cervical_referral_for_a_man_and_a_young_lung_referral_are_flagged() {
        let birth = Date::constant(1980, 4, 1);
        let on = Date::constant(2025, 6, 1);
        assert_eq!(
            plausibility(CancerType::Cervical, Sex::Male, birth, on),
            [PlausibilityWarning::SexMismatch]
        );
        assert!(plausibility(CancerType::Cervical, Sex::Female, birth, on).is_empty());
        assert!(plausibility(CancerType::Colorectal, Sex::Male, birth, on).is_empty());
        let young = Date::constant(1990, 4, 1);
        assert_eq!(
            plausibility(CancerType::Lung, Sex::Male, young, on),
            [PlausibilityWarning::BelowUsualAge {
                usual_from: 40,
                age: 35
            }]
        );
        assert!(plausibility(CancerType::Cervical, Sex::Female, young, on).is_empty());
    }
}
