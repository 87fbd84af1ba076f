//! What can be wrong with a submitted file, as typed problem codes with their Japanese
//! text: the one table every reader (register, lists, consents, checkup tables) words
//! its problems from, and what the CLI and the portal show as they are
//! (`problem.to_string()`). Messages name values and columns, never a server path.
//!
//! Where a problem is found (file, physical line or Excel row, column) is carried beside
//! the code by the reader (`collabo_app::RowProblem`), not written into the text.

use serde::Serialize;
use std::fmt;

/// A problem with one value of one row. `code()` is stable (for scripts and support);
/// `Display` is the Japanese sentence shown to the person who sent the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// 必須の項目が空欄.
    Required,
    /// Not a date in any accepted shape.
    NotADate {
        /// The value given.
        value: String,
    },
    /// A date that does not exist (平成31年5月1日, 2月30日).
    NoSuchDate {
        /// The value given.
        value: String,
    },
    /// A code or number not in its shape (記号, 番号, 枝番, 保険者番号, 事業所記号).
    BadCode {
        /// The value given.
        value: String,
        /// What is accepted, in Japanese.
        expected: &'static str,
    },
    /// A value not among the accepted ones (性別, 本人家族, がん検診の種類, 同意 …).
    NotOneOf {
        /// The value given.
        value: String,
        /// The accepted values, in Japanese.
        allowed: &'static str,
    },
    /// Another insurer's number (保険者番号) in the society's own register.
    OtherInsurer {
        /// The value given.
        value: String,
        /// The society's number.
        ours: String,
    },
    /// A row naming someone the register does not have.
    NoSuchMember {
        /// The person as the row names them (記号-番号-枝番).
        member: String,
    },
    /// A checkup value that cannot be read (a number, a grade).
    BadValue {
        /// The value given.
        value: String,
    },
    /// A checkup document (XML) of an archive that lacks what a record needs; the
    /// detail names the element.
    CheckupDocument {
        /// What the reader found (element, item code).
        detail: String,
    },
}

impl ProblemKind {
    /// The stable code of the problem (`DATE-INVALID` …), for scripts and support.
    pub fn code(&self) -> &'static str {
        match self {
            ProblemKind::Required => "ROW-REQUIRED",
            ProblemKind::NotADate { .. } => "ROW-DATE",
            ProblemKind::NoSuchDate { .. } => "ROW-DATE-NONEXISTENT",
            ProblemKind::BadCode { .. } => "ROW-CODE",
            ProblemKind::NotOneOf { .. } => "ROW-CHOICE",
            ProblemKind::OtherInsurer { .. } => "ROW-INSURER",
            ProblemKind::NoSuchMember { .. } => "ROW-NO-MEMBER",
            ProblemKind::BadValue { .. } => "ROW-VALUE",
            ProblemKind::CheckupDocument { .. } => "DOC-CHECKUP",
        }
    }

    /// The Japanese sentence (the same as `to_string()`).
    pub fn label_ja(&self) -> String {
        self.to_string()
    }

    /// The problem of a date cell that [`crate::calendar::parse_cell_date`] refused.
    pub fn of_date(value: &str, error: &crate::calendar::CalendarError) -> ProblemKind {
        use crate::calendar::CalendarError;
        let value = value.trim().to_owned();
        match error {
            CalendarError::NotInEra { .. } | CalendarError::OutOfRange => {
                ProblemKind::NoSuchDate { value }
            }
            _ => ProblemKind::NotADate { value },
        }
    }

    /// The problem of an identifier that `crate::ids` refused.
    pub fn of_id(value: &str, error: &crate::ids::IdError) -> ProblemKind {
        use crate::ids::IdError;
        match error {
            IdError::Empty { .. } => ProblemKind::Required,
            IdError::Invalid { what, .. } => ProblemKind::BadCode {
                value: value.trim().to_owned(),
                expected: match *what {
                    "保険者番号" => "6桁または8桁の数字",
                    "枝番" => "2桁の数字（例: 00、01）",
                    _ => "38文字以内の英数字",
                },
            },
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::Required => write!(f, "必須の項目が空欄です。"),
            ProblemKind::NotADate { value } => write!(
                f,
                "「{value}」は日付として読めません。2026-06-05、20260605、令和8年6月5日、R8.6.5 のように記入してください。"
            ),
            ProblemKind::NoSuchDate { value } => write!(
                f,
                "「{value}」という日付はありません（月日または元号の年を確かめてください）。"
            ),
            ProblemKind::BadCode { value, expected } => {
                write!(
                    f,
                    "「{value}」は正しくありません。{expected}で記入してください。"
                )
            }
            ProblemKind::NotOneOf { value, allowed } => {
                write!(
                    f,
                    "「{value}」は使えません。{allowed}のいずれかを記入してください。"
                )
            }
            ProblemKind::OtherInsurer { value, ours } => write!(
                f,
                "保険者番号「{value}」はこの健康保険組合（{ours}）の番号ではありません。"
            ),
            ProblemKind::NoSuchMember { member } => {
                write!(f, "{member} は加入者台帳にありません。")
            }
            ProblemKind::BadValue { value } => {
                write!(f, "「{value}」は値として読めません。")
            }
            ProblemKind::CheckupDocument { detail } => {
                write!(f, "健診結果の文書に不備があります（{detail}）。")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_reads_in_japanese_with_its_value() {
        let date = ProblemKind::NotADate {
            value: "H4.13.1".into(),
        };
        assert!(
            date.to_string()
                .contains("「H4.13.1」は日付として読めません")
        );
        assert_eq!(date.code(), "ROW-DATE");
        let kinds = [
            ProblemKind::Required,
            date,
            ProblemKind::NoSuchDate { value: "x".into() },
            ProblemKind::BadCode {
                value: "x".into(),
                expected: "2桁の数字",
            },
            ProblemKind::NotOneOf {
                value: "x".into(),
                allowed: "1（同意あり）、0",
            },
            ProblemKind::OtherInsurer {
                value: "1".into(),
                ours: "2".into(),
            },
            ProblemKind::NoSuchMember { member: "x".into() },
            ProblemKind::BadValue { value: "x".into() },
        ];
        for k in &kinds {
            let text = k.to_string();
            assert!(!text.contains("expected"), "{text}");
            assert!(text.ends_with('。'), "{text}");
        }
    }

    #[test]
    fn a_date_outside_its_era_is_told_apart_from_a_shapeless_one() {
        let e = crate::calendar::parse_cell_date("H31.5.1").unwrap_err();
        assert_eq!(
            ProblemKind::of_date("H31.5.1", &e),
            ProblemKind::NoSuchDate {
                value: "H31.5.1".into()
            }
        );
        let e = crate::calendar::parse_cell_date("昨日").unwrap_err();
        assert_eq!(ProblemKind::of_date("昨日", &e).code(), "ROW-DATE");
    }
}
