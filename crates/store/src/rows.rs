//! Conversions between stored rows and domain types. Text columns hold ISO dates and
//! small JSON documents; a value that does not parse back is reported as corrupt with
//! its table and column.

use crate::{Result, StoreError};
use collabo_domain::Date;
use collabo_domain::ids::{EmployerCode, MemberKey};
use collabo_domain::member::{Address, Member, Sex};

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

pub(crate) fn member_key(table: &'static str, text: &str) -> Result<MemberKey> {
    MemberKey::parse_key_string(text).map_err(|e| corrupt(table, "member_key", e))
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

/// The member columns, in this order, for SELECTs.
pub(crate) const MEMBER_COLUMNS: &str = "member_key, name_kanji, name_kana, sex, birth_date, postal_code, address1, address2, employer_code, qualified_from, qualified_until";

pub(crate) type MemberRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

pub(crate) fn member(row: MemberRow) -> Result<Member> {
    let (key, kanji, kana, sex, birth, postal, a1, a2, employer, from, until) = row;
    Ok(Member {
        key: member_key("members", &key)?,
        name_kanji: kanji,
        name_kana: kana,
        sex: Sex::from_code(&sex).ok_or_else(|| corrupt("members", "sex", &sex))?,
        birth_date: date("members", "birth_date", &birth)?,
        address: Address {
            postal_code: postal,
            line1: a1,
            line2: a2,
        },
        employer: EmployerCode::parse(&employer)
            .map_err(|e| corrupt("members", "employer_code", e))?,
        qualified_from: date("members", "qualified_from", &from)?,
        qualified_until: opt_date("members", "qualified_until", until.as_deref())?,
    })
}
