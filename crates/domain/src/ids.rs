//! Identifiers: who a person is to the society (保険者番号 + 記号 + 番号 + 枝番) and
//! which establishment (事業所) they work for. Each is a newtype that can only be
//! built by parsing, which normalises full-width digits and strips spaces once at the
//! boundary.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Nothing was given.
    #[error("{what} is empty")]
    Empty {
        /// Which identifier.
        what: &'static str,
    },
    /// Characters or length not allowed for this identifier.
    #[error("{what} {value:?} is not valid: {expected}")]
    Invalid {
        /// Which identifier.
        what: &'static str,
        /// What was given (after normalisation).
        value: String,
        /// What is expected.
        expected: &'static str,
    },
}

/// Full-width ASCII (０-９, Ａ-Ｚ, －) to half-width; ideographic and ASCII spaces removed.
/// Claims and employer files write 記号番号 in either width.
pub fn normalise_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}')
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{2212}' | '\u{30FC}' | '\u{2010}' | '\u{2015}' => '-',
            _ => c,
        })
        .collect()
}

macro_rules! code_newtype {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr, $expected:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses and normalises (full-width to half-width, spaces removed).
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                let value = normalise_code(raw);
                if value.is_empty() {
                    return Err(IdError::Empty { what: $what });
                }
                let check: fn(&str) -> bool = $check;
                if !check(&value) {
                    return Err(IdError::Invalid { what: $what, value, expected: $expected });
                }
                Ok($name(value))
            }
            /// The normalised text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                $name::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

code_newtype!(
    /// 保険者番号: 8 digits for a 健康保険組合 (06 + prefecture + society + check digit);
    /// 6-digit 政管 numbers are accepted as given.
    InsurerNumber,
    "保険者番号",
    |v| (v.len() == 6 || v.len() == 8) && v.bytes().all(|b| b.is_ascii_digit()),
    "6 or 8 digits"
);

code_newtype!(
    /// 記号: the symbol on the insurance card; in a 健康保険組合 it usually names the
    /// establishment (事業所).
    Symbol,
    "記号",
    |v| v.chars().count() <= 38 && v.chars().all(|c| !c.is_control()),
    "at most 38 characters"
);

code_newtype!(
    /// 番号: the number on the insurance card.
    CardNumber,
    "番号",
    |v| v.chars().count() <= 38 && v.chars().all(|c| !c.is_control()),
    "at most 38 characters"
);

code_newtype!(
    /// 枝番: the two-digit branch number that tells family members apart (since 2021).
    Branch,
    "枝番",
    |v| v.len() == 2 && v.bytes().all(|b| b.is_ascii_digit()),
    "2 digits"
);

code_newtype!(
    /// 事業所記号: the code of an employer establishment.
    EmployerCode,
    "事業所記号",
    |v| v.chars().count() <= 38 && v.chars().all(|c| !c.is_control()),
    "at most 38 characters"
);

/// A person as the society knows them: 保険者番号 + 記号 + 番号 + 枝番.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MemberKey {
    /// 保険者番号.
    pub insurer: InsurerNumber,
    /// 記号.
    pub symbol: Symbol,
    /// 番号.
    pub number: CardNumber,
    /// 枝番.
    pub branch: Branch,
}

impl MemberKey {
    /// A stable text form, `insurer:symbol:number:branch`, used as a storage key.
    pub fn to_key_string(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.insurer, self.symbol, self.number, self.branch
        )
    }
    /// The card as staff write it: 記号-番号-枝番 (`1001-305-00`). Every page and
    /// list writes a person with this (and [`crate::member::Member::label`]).
    pub fn card(&self) -> String {
        format!("{}-{}-{}", self.symbol, self.number, self.branch)
    }
    /// Reads a person typed by staff under `insurer`: the card (`1001-305-00`, with
    /// `-`, `－`, space or `・` between the parts; 枝番 `00` when left out) or the
    /// storage key `insurer:symbol:number:branch`. Full-width digits are read too.
    pub fn parse_card(insurer: &InsurerNumber, text: &str) -> Result<Self, IdError> {
        let text: String = text
            .trim()
            .chars()
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                '－' | 'ー' | '‐' | '−' | '・' | '　' | ' ' => '-',
                c => c,
            })
            .collect();
        if text.contains(':') {
            return MemberKey::parse_key_string(&text);
        }
        let parts: Vec<&str> = text.split('-').filter(|p| !p.is_empty()).collect();
        let (symbol, number, branch) = match parts.as_slice() {
            [s, n] => (*s, *n, "00"),
            [s, n, b] => (*s, *n, *b),
            _ => ("", "", ""),
        };
        Ok(MemberKey {
            insurer: insurer.clone(),
            symbol: Symbol::parse(symbol)?,
            number: CardNumber::parse(number)?,
            branch: Branch::parse(branch)?,
        })
    }
    /// Parses the text form of [`MemberKey::to_key_string`].
    pub fn parse_key_string(text: &str) -> Result<Self, IdError> {
        let mut parts = text.split(':');
        let mut next = || parts.next().unwrap_or("");
        Ok(MemberKey {
            insurer: InsurerNumber::parse(next())?,
            symbol: Symbol::parse(next())?,
            number: CardNumber::parse(next())?,
            branch: Branch::parse(next())?,
        })
    }
}

impl fmt::Display for MemberKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}・{} ({})",
            self.insurer, self.symbol, self.number, self.branch
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_is_written_one_way_and_read_in_the_ways_staff_type_it() {
        let insurer = InsurerNumber::parse("06139999").unwrap();
        let key = MemberKey::parse_card(&insurer, "1001-305-00").unwrap();
        assert_eq!(key.card(), "1001-305-00");
        assert_eq!(key.to_key_string(), "06139999:1001:305:00");
        for typed in [
            "1001-305",
            "１００１－３０５－００",
            "1001 305 00",
            "06139999:1001:305:00",
        ] {
            assert_eq!(
                MemberKey::parse_card(&insurer, typed).unwrap(),
                key,
                "{typed}"
            );
        }
        assert_eq!(
            MemberKey::parse_card(&insurer, "1001-305-01")
                .unwrap()
                .branch
                .as_str(),
            "01"
        );
        assert!(MemberKey::parse_card(&insurer, "1001").is_err());
        assert!(MemberKey::parse_card(&insurer, "1001-305-0x").is_err());
    }

    #[test]
    fn full_width_digits_are_normalised_once() {
        let n = CardNumber::parse("１２３　４５").unwrap();
        assert_eq!(n.as_str(), "12345");
        assert_eq!(
            InsurerNumber::parse("０６１３０１２３").unwrap().as_str(),
            "06130123"
        );
    }

    #[test]
    fn insurer_number_with_letters_is_rejected() {
        assert!(matches!(
            InsurerNumber::parse("0613A123"),
            Err(IdError::Invalid { .. })
        ));
        assert!(matches!(
            InsurerNumber::parse("  "),
            Err(IdError::Empty { .. })
        ));
    }

    #[test]
    fn branch_needs_two_digits() {
        assert!(Branch::parse("1").is_err());
        assert_eq!(Branch::parse("０１").unwrap().as_str(), "01");
    }

    #[test]
    fn member_key_round_trips_through_text() {
        let key = MemberKey {
            insurer: InsurerNumber::parse("06130123").unwrap(),
            symbol: Symbol::parse("1001").unwrap(),
            number: CardNumber::parse("42").unwrap(),
            branch: Branch::parse("00").unwrap(),
        };
        assert_eq!(MemberKey::parse_key_string(&key.to_key_string()), Ok(key));
    }
}
