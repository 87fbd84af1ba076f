//! The member register (資格): who is insured, where they live, which establishment
//! they work for, and from when to when (資格取得日/喪失日).

use crate::ids::{EmployerCode, MemberKey};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

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
    /// 資格取得日.
    pub qualified_from: Date,
    /// 資格喪失日: the first day without cover, if lost.
    pub qualified_until: Option<Date>,
}

impl Member {
    /// Insured on `date` (取得日 ≤ date < 喪失日).
    pub fn is_insured_on(&self, date: Date) -> bool {
        self.qualified_from <= date && self.qualified_until.is_none_or(|end| date < end)
    }
}
