//! The member register (資格): who is insured, where they live, which establishment
//! they work for, and from when to when (資格取得日/喪失日).

use crate::ids::{EmployerCode, MemberKey};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// How a list of members is ordered (加入者検索).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberOrder {
    /// カナ順 (then card).
    #[default]
    Kana,
    /// 記号番号, numerically where the parts are digits (番号 2 before 10).
    Card,
    /// 生年月日, oldest first.
    BirthDate,
}

impl MemberOrder {
    /// Every order, as offered.
    pub const ALL: [MemberOrder; 3] =
        [MemberOrder::Kana, MemberOrder::Card, MemberOrder::BirthDate];
    /// Query code.
    pub fn code(self) -> &'static str {
        match self {
            MemberOrder::Kana => "kana",
            MemberOrder::Card => "card",
            MemberOrder::BirthDate => "birth",
        }
    }
    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            MemberOrder::Kana => "カナ順",
            MemberOrder::Card => "記号番号順",
            MemberOrder::BirthDate => "生年月日順",
        }
    }
    /// From the query code (カナ順 when unknown).
    pub fn from_code(code: &str) -> MemberOrder {
        MemberOrder::ALL
            .into_iter()
            .find(|o| o.code() == code)
            .unwrap_or_default()
    }
}

/// Sex as recorded in the register (性別: 1 男, 2 女).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    /// 男.
    Male,
    /// 女.
    Female,
}

impl Sex {
    /// From the register/claims code (1 男, 2 女).
    pub fn from_code(code: &str) -> Option<Sex> {
        match crate::ids::normalise_code(code).as_str() {
            "1" | "男" | "M" | "m" => Some(Sex::Male),
            "2" | "女" | "F" | "f" => Some(Sex::Female),
            _ => None,
        }
    }
    /// The register code.
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "1",
            Sex::Female => "2",
        }
    }
    /// 男 / 女.
    pub fn label(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// A postal address (郵便番号 + address lines), where letters go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Address {
    /// 郵便番号, seven digits without the hyphen.
    pub postal_code: String,
    /// 住所 (都道府県 to 番地).
    pub line1: String,
    /// Building and room, may be empty.
    pub line2: String,
}

impl Address {
    /// A letter can be mailed: seven-digit 郵便番号 and a non-empty first line.
    pub fn is_mailable(&self) -> bool {
        self.postal_code.len() == 7
            && self.postal_code.bytes().all(|b| b.is_ascii_digit())
            && !self.line1.trim().is_empty()
    }
    /// 〒123-4567.
    pub fn postal_code_display(&self) -> String {
        if self.postal_code.len() == 7 {
            format!("〒{}-{}", &self.postal_code[..3], &self.postal_code[3..])
        } else {
            format!("〒{}", self.postal_code)
        }
    }
}

/// 本人 or 家族: whether the person is the insured employee (被保険者本人) or a dependant
/// (被扶養者). Employer views cover 本人 only: an employer has no business with its
/// employees' families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Relationship {
    /// 本人 (被保険者).
    Insured,
    /// 家族 (被扶養者).
    Dependant,
    /// Imported before the register carried 「本人家族」; treated as not 本人 until the
    /// next register import says otherwise.
    Unrecorded,
}

impl Relationship {
    /// Storage code.
    pub fn code(self) -> &'static str {
        match self {
            Relationship::Insured => "insured",
            Relationship::Dependant => "dependant",
            Relationship::Unrecorded => "unrecorded",
        }
    }
    /// From the storage code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "insured" => Some(Relationship::Insured),
            "dependant" => Some(Relationship::Dependant),
            "unrecorded" => Some(Relationship::Unrecorded),
            _ => None,
        }
    }
    /// What a register cell says: 「本人」 or 「家族」, 1 = 本人, 2 = 家族 (also
    /// 被保険者 / 被扶養者).
    pub fn parse(text: &str) -> Option<Self> {
        match crate::ids::normalise_code(text).as_str() {
            "本人" | "1" | "被保険者" => Some(Relationship::Insured),
            "家族" | "2" | "被扶養者" => Some(Relationship::Dependant),
            _ => None,
        }
    }
    /// 本人 / 家族 / 未登録.
    pub fn label(self) -> &'static str {
        match self {
            Relationship::Insured => "本人",
            Relationship::Dependant => "家族",
            Relationship::Unrecorded => "未登録",
        }
    }
}

/// A stretch of time during which a person was insured through one employer. The
/// register says only where a person works now; these periods remember where they
/// worked before, so a checkup is judged by the employer of its exam date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployerPeriod {
    /// The employer.
    pub employer: EmployerCode,
    /// First day.
    pub since: Date,
    /// First day no longer with this employer, if it ended.
    pub until: Option<Date>,
}

impl EmployerPeriod {
    /// Covers `date`.
    pub fn covers(&self, date: Date) -> bool {
        self.since <= date && self.until.is_none_or(|u| date < u)
    }
}

/// An insured person (被保険者 or 被扶養者) in the register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// 保険者番号 + 記号 + 番号 + 枝番.
    pub key: MemberKey,
    /// 氏名 (漢字).
    pub name_kanji: String,
    /// 氏名 (カナ).
    pub name_kana: String,
    /// 性別.
    pub sex: Sex,
    /// 生年月日.
    pub birth_date: Date,
    /// Home address.
    pub address: Address,
    /// The establishment that employs them (for a dependant, the insured's).
    pub employer: EmployerCode,
    /// 本人 or 家族.
    pub relationship: Relationship,
    /// 資格取得日.
    pub qualified_from: Date,
    /// 資格喪失日: the first day without cover, if lost.
    pub qualified_until: Option<Date>,
}

impl Member {
    /// The one way a person is written on every page and list: card and name
    /// (`1001-305-00 吉田 真由美`).
    pub fn label(&self) -> String {
        format!("{} {}", self.key.card(), self.name_kanji)
    }
    /// Insured on `date` (取得日 ≤ date < 喪失日).
    pub fn is_insured_on(&self, date: Date) -> bool {
        self.qualified_from <= date && self.qualified_until.is_none_or(|end| date < end)
    }
    /// The insured employee (本人), not a dependant.
    pub fn is_insured_person(&self) -> bool {
        self.relationship == Relationship::Insured
    }
    /// Insured through `employer` on `date`: by the recorded periods, or, when none
    /// were recorded, by the current employer over the whole 資格 period.
    pub fn employed_by_on(
        &self,
        periods: &[EmployerPeriod],
        employer: &EmployerCode,
        date: Date,
    ) -> bool {
        if !self.is_insured_on(date) {
            return false;
        }
        if periods.is_empty() {
            return &self.employer == employer;
        }
        periods
            .iter()
            .any(|p| &p.employer == employer && p.covers(date))
    }
}

/// The periods to record when a register row arrives on `on` for a member whose
/// recorded periods are `known`: the first period starts at 資格取得日 (or `since`
/// when the register gives 所属開始日); a change of employer ends the open period the
/// day the new one starts. Returns the periods to close (with their new end) and the
/// period to open, if any.
pub fn employer_change(
    known: &[EmployerPeriod],
    member: &Member,
    since: Option<Date>,
    on: Date,
) -> (Vec<EmployerPeriod>, Option<EmployerPeriod>) {
    let open: Vec<&EmployerPeriod> = known.iter().filter(|p| p.until.is_none()).collect();
    if open.iter().any(|p| p.employer == member.employer) {
        return (Vec::new(), None);
    }
    let start = since.unwrap_or(if known.is_empty() {
        member.qualified_from
    } else {
        on
    });
    let close = open
        .into_iter()
        .map(|p| EmployerPeriod {
            employer: p.employer.clone(),
            since: p.since,
            until: Some(start.max(p.since)),
        })
        .collect();
    (
        close,
        Some(EmployerPeriod {
            employer: member.employer.clone(),
            since: start,
            until: None,
        }),
    )
}
