//! Cancer-screening referrals (要精密検査者): the people an employer's screening said
//! need a detailed examination, as submitted for programme C.

use crate::calendar::{CalendarError, yokuyokugetsumatsu};
use crate::ids::{EmployerCode, MemberKey};
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
