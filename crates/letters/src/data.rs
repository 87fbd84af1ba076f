//! What a letter template receives: [`LetterData`], serialized to JSON and read by the
//! template as `d` (the templates read `d.recipient.name`, `d.date.wareki`, …), plus a
//! check that a recipient block fits the envelope window.
//!
//! This module does not decide who gets a letter or when (the engine and the batch flow
//! do), and it does not read the member register: the caller fills these structs.

use crate::error::LetterError;
use collabo_domain::Date;
use collabo_domain::calendar::format_wareki;
use collabo_domain::checkup::{Item, ObservedValue, UrineGrade};
use collabo_domain::member::Member;
use collabo_domain::programme::LetterKind;
use collabo_domain::referral::CancerType;
use collabo_domain::risk::{Direction, RiskFlag};
use serde::{Serialize, Serializer};

/// One letter, as handed to a template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LetterData {
    /// Which letter; serialized as its code (`R`, `S`, `D`, `C`, `C2`), which is also the
    /// template file stem.
    #[serde(serialize_with = "kind_code")]
    pub kind: LetterKind,
    /// Where it goes (home address; letters never go through the employer).
    pub recipient: Recipient,
    /// The society, printed beside the window and in the contact box.
    pub sender: Sender,
    /// 発行日.
    pub date: LetterDate,
    /// 健診受診日 (R, S, D) or 検診受診日 (C, C2).
    pub exam_date: Option<LetterDate>,
    /// Date of the first notice (C2 only).
    pub previous_notice_date: Option<LetterDate>,
    /// 「大腸がん検診」 (C, C2 only); see [`cancer_screening_label`].
    pub cancer_type: Option<String>,
    /// The values that triggered the letter (R, D).
    pub values: Vec<ValueRow>,
    /// Pamphlets enclosed (from the programme settings).
    pub pamphlets: Vec<String>,
    /// Where the values came from: `employer` (the employer's checkup, shared under the
    /// joint-use notice), `dock` (the society's own 人間ドック) or `screening` (the
    /// employer's cancer screening, shared with the person's consent). Every letter
    /// says so, and says how to refuse data sharing.
    pub data_source: DataSource,
    /// The letter batch this letter belongs to.
    pub batch_id: String,
    /// The envelope's position in the batch, from 1 (shared by the letters of one
    /// envelope); printed in the footer for the mail vendor.
    pub sequence: u32,
    /// 整理番号 the person can quote on the phone (one per envelope).
    pub reference: String,
    /// Where the letter lies in its envelope: the first carries the address block.
    pub envelope: EnvelopePlace,
    /// `B` for the alternative wording of an A/B test (S, C), `A` for the standard one
    /// in a test, none without a test.
    pub variant: Option<String>,
}

/// Where a letter lies in its envelope (one envelope per person per batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EnvelopePlace {
    /// 1-based position; the letter at 1 carries the address block.
    pub position: u32,
    /// Letters in the envelope.
    pub count: u32,
}

impl EnvelopePlace {
    /// A letter alone in its envelope.
    pub const ALONE: EnvelopePlace = EnvelopePlace {
        position: 1,
        count: 1,
    };
}

/// Where a letter's data came from; the template says it in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// 事業主健診 results the employer shared with the society (joint use).
    Employer,
    /// The society's own 人間ドック.
    Dock,
    /// The employer's cancer screening (要精密検査), shared with consent.
    Screening,
}

fn kind_code<S: Serializer>(kind: &LetterKind, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(kind.code())
}

/// 宛先.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// 郵便番号, seven digits without the hyphen.
    pub postal_code: String,
    /// 住所, one to three lines (都道府県 to 番地, then building and room).
    pub address_lines: Vec<String>,
    /// 氏名 (漢字), printed with 様.
    pub name: String,
}

/// 差出人: the society's name, section and contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sender {
    /// 健康保険組合名.
    pub society_name: String,
    /// 担当部署.
    pub section: String,
    /// 〒 and address, one line.
    pub address: String,
    /// 電話番号.
    pub phone: String,
    /// 受付時間.
    pub hours: String,
    /// Where the 共同利用 declaration in force is published (個人情報保護法 第27条第5項
    /// 第3号), printed in the letter's notes; empty when none is in force.
    #[serde(default)]
    pub joint_use: String,
}

/// A date as letters print it (和暦) and as machines read it (ISO).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LetterDate {
    /// 令和8年11月24日.
    pub wareki: String,
    /// 2026-11-24.
    pub iso: String,
}

impl LetterDate {
    /// Formats a date; fails only for dates before 明治.
    pub fn new(date: Date) -> Result<Self, LetterError> {
        let wareki = format_wareki(date).map_err(|e| LetterError::Data {
            message: format!("date {date}: {e}"),
        })?;
        Ok(LetterDate {
            wareki,
            iso: date.to_string(),
        })
    }
}

/// One row of the values table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueRow {
    /// 検査項目, e.g. 「HbA1c（NGSP値）」.
    pub label: String,
    /// 今回の値, as measured, e.g. 「7.2」.
    pub value: String,
    /// 単位, e.g. 「%」.
    pub unit: String,
    /// 判定基準: the criterion the value met, e.g. 「6.5以上」.
    pub threshold: String,
    /// 判定, e.g. 「要受診」 or 「すぐに受診を」.
    pub level: String,
}

impl ValueRow {
    /// The row for a flagged checkup item: label and unit from the item, the value as
    /// measured (7.0; urine grades as −, ±, +), the criterion it met with 以上 / 未満 /
    /// 以下, and the 判定 (要受診, すぐに受診を …).
    pub fn from_flag(flag: &RiskFlag) -> Self {
        let urine = matches!(flag.item, Item::UrineProtein | Item::UrineGlucose);
        let shown = |n: f64| {
            if urine {
                // Urine grades are judged by rank (± = 1, + = 2, …).
                UrineGrade::from_mhlw_code(n as u8 + 1)
                    .map(|g| g.label().to_owned())
                    .unwrap_or_else(|| n.to_string())
            } else {
                ObservedValue::Number(n).display_for(flag.item)
            }
        };
        let relation = match flag.direction {
            Direction::AtOrAbove => "以上",
            Direction::Below => "未満",
            Direction::AtOrBelow => "以下",
        };
        ValueRow {
            label: flag.item.label().to_owned(),
            value: shown(flag.value),
            unit: if urine {
                String::new()
            } else {
                flag.item.unit().to_owned()
            },
            threshold: format!("{}{relation}", shown(flag.urgent.unwrap_or(flag.threshold))),
            level: flag.judgement().to_owned(),
        }
    }
}

/// 「大腸がん検診」 from the domain's cancer type.
pub fn cancer_screening_label(cancer: CancerType) -> String {
    format!("{}がん検診", cancer.label())
}

/// Why a recipient block cannot be printed for the window (the batch flow sends such
/// letters to the review queue instead of printing them).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressProblem {
    /// 郵便番号 is not seven ASCII digits.
    PostalCode(String),
    /// No address line.
    NoAddress,
    /// More lines than the window holds.
    TooManyLines(usize),
    /// The name is empty.
    NoName,
    /// A line is longer than the window holds even at the smallest type size.
    LineTooLong {
        /// 0-based index into `address_lines`.
        line: usize,
        /// Width in full-width characters.
        width: usize,
    },
}

impl std::fmt::Display for AddressProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddressProblem::PostalCode(code) => {
                write!(f, "郵便番号 {code:?} is not seven digits")
            }
            AddressProblem::NoAddress => f.write_str("住所 is empty"),
            AddressProblem::TooManyLines(n) => {
                write!(
                    f,
                    "住所 has {n} lines; the window holds {MAX_ADDRESS_LINES}"
                )
            }
            AddressProblem::NoName => f.write_str("氏名 is empty"),
            AddressProblem::LineTooLong { line, width } => write!(
                f,
                "住所 line {} is {width} characters wide; the window holds {MAX_LINE_WIDTH}",
                line + 1
            ),
        }
    }
}

/// Address lines the window holds.
pub const MAX_ADDRESS_LINES: usize = 3;
/// Full-width characters per address line. At 11 pt a line of the 80 mm block holds 20
/// characters; the template shrinks the type down to 7 pt (32 characters) and wraps
/// after that, so 40 keeps every line to at most two printed lines.
pub const MAX_LINE_WIDTH: usize = 40;

impl Recipient {
    /// The recipient block for a member of the register: home address (line 2 only when
    /// present) and 氏名 in kanji.
    pub fn from_member(member: &Member) -> Self {
        let address = &member.address;
        let address_lines = [&address.line1, &address.line2]
            .into_iter()
            .map(|line| line.trim())
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        Recipient {
            postal_code: address.postal_code.trim().to_owned(),
            address_lines,
            name: member.name_kanji.trim().to_owned(),
        }
    }

    /// Problems that keep this recipient block from printing cleanly in the window.
    pub fn problems(&self) -> Vec<AddressProblem> {
        let mut problems = Vec::new();
        if self.postal_code.len() != 7 || !self.postal_code.bytes().all(|b| b.is_ascii_digit()) {
            problems.push(AddressProblem::PostalCode(self.postal_code.clone()));
        }
        let lines: Vec<&String> = self
            .address_lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .collect();
        if lines.is_empty() {
            problems.push(AddressProblem::NoAddress);
        }
        if lines.len() > MAX_ADDRESS_LINES {
            problems.push(AddressProblem::TooManyLines(lines.len()));
        }
        for (index, line) in self.address_lines.iter().enumerate() {
            let width = display_width(line);
            if width > MAX_LINE_WIDTH {
                problems.push(AddressProblem::LineTooLong { line: index, width });
            }
        }
        if self.name.trim().is_empty() {
            problems.push(AddressProblem::NoName);
        }
        problems
    }
}

/// Width in full-width characters, rounding half-width ones up in pairs.
fn display_width(text: &str) -> usize {
    let halves: usize = text
        .chars()
        .map(|c| {
            if c.is_ascii() || ('\u{ff61}'..='\u{ff9f}').contains(&c) {
                1
            } else {
                2
            }
        })
        .sum();
    halves.div_ceil(2)
}

impl LetterData {
    /// A complete synthetic letter of each kind: used to validate templates before a
    /// batch and by the tests and the benchmark. The person and the society are fictitious.
    pub fn sample(kind: LetterKind) -> Self {
        let date = |y: i16, m: i8, d: i8| {
            Date::new(y, m, d)
                .ok()
                .and_then(|date| LetterDate::new(date).ok())
                .unwrap_or_else(|| LetterDate {
                    wareki: String::new(),
                    iso: String::new(),
                })
        };
        let row = |label: &str, value: &str, unit: &str, threshold: &str| ValueRow {
            label: label.to_owned(),
            value: value.to_owned(),
            unit: unit.to_owned(),
            threshold: threshold.to_owned(),
            level: "要受診".to_owned(),
        };
        let (values, pamphlets, cancer, previous): (Vec<ValueRow>, &[&str], _, _) = match kind {
            LetterKind::RiskReferral => (
                vec![
                    row("収縮期血圧", "168", "mmHg", "140以上"),
                    row("拡張期血圧", "96", "mmHg", "90以上"),
                    row("LDLコレステロール", "182", "mg/dL", "140以上"),
                    row("HbA1c（NGSP値）", "6.8", "%", "6.5以上"),
                ],
                &["生活習慣病と受診のすすめ"],
                None,
                None,
            ),
            LetterKind::SmokingCessation => (
                Vec::new(),
                &[
                    "禁煙治療のご案内（パンフレット）",
                    "禁煙外来のある医療機関一覧",
                ],
                None,
                None,
            ),
            LetterKind::DiabetesReferral => (
                vec![
                    row("HbA1c（NGSP値）", "7.0", "%", "6.5以上"),
                    row("空腹時血糖", "142", "mg/dL", "126以上"),
                ],
                &["糖尿病と腎臓の話"],
                None,
                None,
            ),
            LetterKind::CancerReferral => (
                Vec::new(),
                &["精密検査を受けましょう"],
                Some(cancer_screening_label(CancerType::Colorectal)),
                None,
            ),
            LetterKind::CancerRenotice => (
                Vec::new(),
                &["精密検査を受けましょう"],
                Some(cancer_screening_label(CancerType::Colorectal)),
                Some(date(2026, 7, 15)),
            ),
        };
        LetterData {
            kind,
            recipient: Recipient {
                postal_code: "1000001".to_owned(),
                address_lines: vec![
                    "東京都千代田区架空町一丁目2番3号".to_owned(),
                    "架空ハイツ101号室".to_owned(),
                ],
                name: "山田 太郎".to_owned(),
            },
            sender: Sender {
                society_name: "架空産業健康保険組合".to_owned(),
                section: "保健事業グループ".to_owned(),
                address: "〒100-0005 東京都千代田区架空丸の内四丁目5番6号".to_owned(),
                phone: "03-0000-0000".to_owned(),
                hours: "平日 9:00～17:00".to_owned(),
                joint_use: "組合ポータル「共同利用について」（/joint-use）".to_owned(),
            },
            date: date(2026, 11, 24),
            exam_date: Some(date(2026, 6, 5)),
            previous_notice_date: previous,
            cancer_type: cancer,
            values,
            pamphlets: pamphlets.iter().map(|p| (*p).to_owned()).collect(),
            data_source: match kind {
                LetterKind::CancerReferral | LetterKind::CancerRenotice => DataSource::Screening,
                _ => DataSource::Employer,
            },
            batch_id: "B20261124-01".to_owned(),
            sequence: 1,
            reference: format!("{}-2026-000001", kind.code()),
            envelope: EnvelopePlace::ALONE,
            variant: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_letter_serializes_its_kind_as_the_template_code() {
        let json = serde_json::to_value(LetterData::sample(LetterKind::CancerRenotice))
            .unwrap_or_default();
        assert_eq!(json["kind"], "C2");
        assert_eq!(json["date"]["wareki"], "令和8年11月24日");
        assert_eq!(json["previous_notice_date"]["iso"], "2026-07-15");
        assert_eq!(json["cancer_type"], "大腸がん検診");
    }

    #[test]
    fn a_clean_recipient_has_no_problems_and_a_broken_one_lists_each() {
        assert!(
            LetterData::sample(LetterKind::RiskReferral)
                .recipient
                .problems()
                .is_empty()
        );
        let broken = Recipient {
            postal_code: "100-0001".to_owned(),
            address_lines: vec!["あ".repeat(41), "b".into(), "c".into(), "d".into()],
            name: " ".to_owned(),
        };
        let problems = broken.problems();
        assert!(problems.contains(&AddressProblem::PostalCode("100-0001".into())));
        assert!(problems.contains(&AddressProblem::TooManyLines(4)));
        assert!(problems.contains(&AddressProblem::LineTooLong { line: 0, width: 41 }));
        assert!(problems.contains(&AddressProblem::NoName));
    }

    #[test]
    fn a_risk_flag_becomes_a_row_with_japanese_threshold_wording() {
        use collabo_domain::risk::RiskLevel;
        let flag = |item, value, threshold, direction| RiskFlag {
            item,
            level: RiskLevel::Referral,
            value,
            threshold,
            direction,
            urgent: None,
        };
        let hba1c = ValueRow::from_flag(&flag(Item::HbA1c, 7.2, 6.5, Direction::AtOrAbove));
        assert_eq!(
            (
                hba1c.label.as_str(),
                hba1c.value.as_str(),
                hba1c.threshold.as_str()
            ),
            ("HbA1c", "7.2", "6.5以上")
        );
        assert_eq!(hba1c.level, "要受診");
        let egfr = ValueRow::from_flag(&flag(Item::Egfr, 41.0, 45.0, Direction::Below));
        assert_eq!(
            (egfr.value.as_str(), egfr.threshold.as_str()),
            ("41.0", "45.0未満")
        );
        let mut bp = flag(Item::SystolicBp, 172.0, 140.0, Direction::AtOrAbove);
        bp.urgent = Some(160.0);
        let bp = ValueRow::from_flag(&bp);
        assert_eq!(
            (bp.value.as_str(), bp.threshold.as_str(), bp.level.as_str()),
            ("172", "160以上", "すぐに受診を")
        );
        let urine = ValueRow::from_flag(&flag(Item::UrineProtein, 3.0, 2.0, Direction::AtOrAbove));
        assert_eq!(
            (
                urine.value.as_str(),
                urine.threshold.as_str(),
                urine.unit.as_str()
            ),
            ("2+", "+以上", "")
        );
    }

    #[test]
    fn a_member_becomes_a_recipient_without_empty_lines() {
        use collabo_domain::ids::{
            Branch, CardNumber, EmployerCode, InsurerNumber, MemberKey, Symbol,
        };
        use collabo_domain::member::{Address, Sex};
        let member = Member {
            key: MemberKey {
                insurer: InsurerNumber::parse("06139999").unwrap(),
                symbol: Symbol::parse("1001").unwrap(),
                number: CardNumber::parse("7").unwrap(),
                branch: Branch::parse("00").unwrap(),
            },
            name_kanji: " 山田　太郎 ".into(),
            name_kana: "ヤマダ　タロウ".into(),
            sex: Sex::Male,
            birth_date: Date::constant(1970, 5, 1),
            address: Address {
                postal_code: "1000001".into(),
                line1: "東京都千代田区架空町1-1".into(),
                line2: "  ".into(),
            },
            employer: EmployerCode::parse("1001").unwrap(),
            relationship: collabo_domain::member::Relationship::Insured,
            qualified_from: Date::constant(2000, 4, 1),
            qualified_until: None,
        };
        let recipient = Recipient::from_member(&member);
        assert_eq!(
            recipient.address_lines,
            vec!["東京都千代田区架空町1-1".to_owned()]
        );
        assert_eq!(recipient.name, "山田　太郎");
        assert!(recipient.problems().is_empty());
    }

    #[test]
    fn half_width_characters_count_as_half() {
        assert_eq!(display_width("1-2-3"), 3);
        assert_eq!(display_width("架空"), 2);
        assert_eq!(display_width("ｱｲ"), 1);
    }
}
