//! Conversions between stored rows and domain types. Text columns hold ISO dates, codes
//! and small JSON documents; a value that does not read back is reported as corrupt
//! with its table and column, never guessed.

use crate::{Result, StoreError};
use collabo_domain::Date;
use collabo_domain::ids::{EmployerCode, MemberKey};
use collabo_domain::member::{Address, Member, Relationship, Sex};

pub(crate) fn corrupt(
    table: &'static str,
    column: &'static str,
    detail: impl ToString,
) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        detail: detail.to_string(),
    }
}

pub(crate) fn date(table: &'static str, column: &'static str, text: &str) -> Result<Date> {
    text.parse::<Date>().map_err(|e| corrupt(table, column, e))
}

pub(crate) fn opt_date(
    table: &'static str,
    column: &'static str,
    text: Option<&str>,
) -> Result<Option<Date>> {
    text.map(|t| date(table, column, t)).transpose()
}

pub(crate) fn timestamp(
    table: &'static str,
    column: &'static str,
    text: &str,
) -> Result<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>()
        .map_err(|e| corrupt(table, column, e))
}

pub(crate) fn member_key(table: &'static str, text: &str) -> Result<MemberKey> {
    MemberKey::parse_key_string(text).map_err(|e| corrupt(table, "member_key", e))
}

pub(crate) fn employer(
    table: &'static str,
    column: &'static str,
    text: &str,
) -> Result<EmployerCode> {
    EmployerCode::parse(text).map_err(|e| corrupt(table, column, e))
}

pub(crate) fn code<T>(
    table: &'static str,
    column: &'static str,
    text: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T> {
    parse(text).ok_or_else(|| corrupt(table, column, text))
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(
    table: &'static str,
    column: &'static str,
    text: &str,
) -> Result<T> {
    serde_json::from_str(text).map_err(|e| corrupt(table, column, e))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serialising our own plain data types cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// The member columns, for SELECTs into [`MemberRow`].
pub(crate) const MEMBER_COLUMNS: &str = "member_key, name_kanji, name_kana, sex, birth_date, postal_code, address1, address2, employer_code, relationship, qualified_from, qualified_until";

/// A stored member.
#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    pub member_key: String,
    pub name_kanji: String,
    pub name_kana: String,
    pub sex: String,
    pub birth_date: String,
    pub postal_code: String,
    pub address1: String,
    pub address2: String,
    pub employer_code: String,
    pub relationship: String,
    pub qualified_from: String,
    pub qualified_until: Option<String>,
}

impl MemberRow {
    pub(crate) fn into_member(self) -> Result<Member> {
        Ok(Member {
            key: member_key("members", &self.member_key)?,
            name_kanji: self.name_kanji,
            name_kana: self.name_kana,
            sex: code("members", "sex", &self.sex, Sex::from_code)?,
            birth_date: date("members", "birth_date", &self.birth_date)?,
            address: Address {
                postal_code: self.postal_code,
                line1: self.address1,
                line2: self.address2,
            },
            employer: employer("members", "employer_code", &self.employer_code)?,
            relationship: code(
                "members",
                "relationship",
                &self.relationship,
                Relationship::from_code,
            )?,
            qualified_from: date("members", "qualified_from", &self.qualified_from)?,
            qualified_until: opt_date(
                "members",
                "qualified_until",
                self.qualified_until.as_deref(),
            )?,
        })
    }
}

/// `$first, $first+1, …` placeholders for an `IN (…)` list of `n` values.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
