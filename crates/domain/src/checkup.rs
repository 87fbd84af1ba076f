//! Checkups (特定健診 and 人間ドック): observations keyed by domain item and the
//! questionnaire (問診) answers programmes use.
//!
//! Format adapters map MHLW 17-digit item codes (and CSV columns) to [`Item`]; method
//! variants (HbA1c NGSP by different methods, fasting vs random triglycerides) are kept
//! apart where the thresholds differ.

use crate::ids::{EmployerCode, MemberKey};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A checkup item the programmes judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Item {
    /// 身長 (cm).
    Height,
    /// 体重 (kg).
    Weight,
    /// BMI.
    Bmi,
    /// 腹囲 (cm).
    Waist,
    /// 収縮期血圧 (mmHg).
    SystolicBp,
    /// 拡張期血圧 (mmHg).
    DiastolicBp,
    /// 中性脂肪, 空腹時 (mg/dL).
    TriglyceridesFasting,
    /// 中性脂肪, 随時 (mg/dL).
    TriglyceridesRandom,
    /// HDLコレステロール (mg/dL).
    Hdl,
    /// LDLコレステロール (mg/dL).
    Ldl,
    /// Non-HDLコレステロール (mg/dL).
    NonHdl,
    /// 空腹時血糖 (mg/dL).
    GlucoseFasting,
    /// 随時血糖 (mg/dL).
    GlucoseRandom,
    /// HbA1c (NGSP, %).
    HbA1c,
    /// AST(GOT) (U/L).
    Ast,
    /// ALT(GPT) (U/L).
    Alt,
    /// γ-GT(γ-GTP) (U/L).
    GammaGt,
    /// 血清クレアチニン (mg/dL).
    Creatinine,
    /// eGFR (mL/min/1.73m²).
    Egfr,
    /// 尿蛋白 (grade).
    UrineProtein,
    /// 尿糖 (grade).
    UrineGlucose,
    /// 血色素量 (g/dL).
    Haemoglobin,
}

impl Item {
    /// Every item, in display order.
    pub const ALL: [Item; 22] = [
        Item::Height,
        Item::Weight,
        Item::Bmi,
        Item::Waist,
        Item::SystolicBp,
        Item::DiastolicBp,
        Item::TriglyceridesFasting,
        Item::TriglyceridesRandom,
        Item::Hdl,
        Item::Ldl,
        Item::NonHdl,
        Item::GlucoseFasting,
        Item::GlucoseRandom,
        Item::HbA1c,
        Item::Ast,
        Item::Alt,
        Item::GammaGt,
        Item::Creatinine,
        Item::Egfr,
        Item::UrineProtein,
        Item::UrineGlucose,
        Item::Haemoglobin,
    ];

    /// Stable storage code (snake case).
    pub fn code(self) -> &'static str {
        match self {
            Item::Height => "height",
            Item::Weight => "weight",
            Item::Bmi => "bmi",
            Item::Waist => "waist",
            Item::SystolicBp => "sbp",
            Item::DiastolicBp => "dbp",
            Item::TriglyceridesFasting => "tg_fasting",
            Item::TriglyceridesRandom => "tg_random",
            Item::Hdl => "hdl",
            Item::Ldl => "ldl",
            Item::NonHdl => "non_hdl",
            Item::GlucoseFasting => "glucose_fasting",
            Item::GlucoseRandom => "glucose_random",
            Item::HbA1c => "hba1c",
            Item::Ast => "ast",
            Item::Alt => "alt",
            Item::GammaGt => "ggt",
            Item::Creatinine => "creatinine",
            Item::Egfr => "egfr",
            Item::UrineProtein => "urine_protein",
            Item::UrineGlucose => "urine_glucose",
            Item::Haemoglobin => "hb",
        }
    }

    /// From the storage code.
    pub fn from_code(code: &str) -> Option<Item> {
        Item::ALL.into_iter().find(|i| i.code() == code)
    }

    /// Decimal places the item is measured and reported with (the MHLW 特定健診
    /// format's value formats: HbA1c N(2).N(1), クレアチニン N(2).N(2), 血圧 N(3) …), so
    /// a letter prints 7.0, not 7.
    pub fn decimals(self) -> usize {
        match self {
            Item::Height
            | Item::Weight
            | Item::Bmi
            | Item::Waist
            | Item::HbA1c
            | Item::Egfr
            | Item::Haemoglobin => 1,
            Item::Creatinine => 2,
            Item::SystolicBp
            | Item::DiastolicBp
            | Item::TriglyceridesFasting
            | Item::TriglyceridesRandom
            | Item::Hdl
            | Item::Ldl
            | Item::NonHdl
            | Item::GlucoseFasting
            | Item::GlucoseRandom
            | Item::Ast
            | Item::Alt
            | Item::GammaGt
            | Item::UrineProtein
            | Item::UrineGlucose => 0,
        }
    }

    /// Japanese label for letters and pages.
    pub fn label(self) -> &'static str {
        match self {
            Item::Height => "身長",
            Item::Weight => "体重",
            Item::Bmi => "BMI",
            Item::Waist => "腹囲",
            Item::SystolicBp => "収縮期血圧",
            Item::DiastolicBp => "拡張期血圧",
            Item::TriglyceridesFasting => "中性脂肪（空腹時）",
            Item::TriglyceridesRandom => "中性脂肪（随時）",
            Item::Hdl => "HDLコレステロール",
            Item::Ldl => "LDLコレステロール",
            Item::NonHdl => "Non-HDLコレステロール",
            Item::GlucoseFasting => "空腹時血糖",
            Item::GlucoseRandom => "随時血糖",
            Item::HbA1c => "HbA1c",
            Item::Ast => "AST(GOT)",
            Item::Alt => "ALT(GPT)",
            Item::GammaGt => "γ-GT(γ-GTP)",
            Item::Creatinine => "血清クレアチニン",
            Item::Egfr => "eGFR",
            Item::UrineProtein => "尿蛋白",
            Item::UrineGlucose => "尿糖",
            Item::Haemoglobin => "血色素量",
        }
    }

    /// Unit for display.
    pub fn unit(self) -> &'static str {
        match self {
            Item::Height | Item::Waist => "cm",
            Item::Weight => "kg",
            Item::Bmi => "kg/m²",
            Item::SystolicBp | Item::DiastolicBp => "mmHg",
            Item::TriglyceridesFasting
            | Item::TriglyceridesRandom
            | Item::Hdl
            | Item::Ldl
            | Item::NonHdl
            | Item::GlucoseFasting
            | Item::GlucoseRandom
            | Item::Creatinine => "mg/dL",
            Item::HbA1c => "%",
            Item::Ast | Item::Alt | Item::GammaGt => "U/L",
            Item::Egfr => "mL/分/1.73m²",
            Item::UrineProtein | Item::UrineGlucose => "",
            Item::Haemoglobin => "g/dL",
        }
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A urine dipstick grade (−, ±, +, 2+, 3+, 4+), stored as 0..=5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UrineGrade(u8);

impl UrineGrade {
    /// −.
    pub const NEGATIVE: UrineGrade = UrineGrade(0);
    /// ±.
    pub const TRACE: UrineGrade = UrineGrade(1);
    /// +.
    pub const ONE_PLUS: UrineGrade = UrineGrade(2);

    /// From the MHLW code list (1 −, 2 ±, 3 +, 4 ++, 5 +++) — the order is the same.
    pub fn from_mhlw_code(code: u8) -> Option<Self> {
        (1..=6).contains(&code).then(|| UrineGrade(code - 1))
    }
    /// The MHLW code.
    pub fn mhlw_code(self) -> u8 {
        self.0 + 1
    }
    /// Parses −, ±, +, 2+, 3+, 4+ (full or half width).
    pub fn parse(text: &str) -> Option<Self> {
        let t = crate::ids::normalise_code(text);
        Some(UrineGrade(match t.as_str() {
            "-" | "(-)" | "−" => 0,
            "±" | "+-" | "(±)" => 1,
            "+" | "1+" | "(+)" => 2,
            "2+" | "++" => 3,
            "3+" | "+++" => 4,
            "4+" | "++++" => 5,
            _ => return None,
        }))
    }
    /// The grade as shown.
    pub fn label(self) -> &'static str {
        ["−", "±", "+", "2+", "3+", "4+"][usize::from(self.0.min(5))]
    }
    /// Numeric rank for comparison and storage.
    pub fn rank(self) -> u8 {
        self.0
    }
    /// From the rank of [`UrineGrade::rank`].
    pub fn from_rank(rank: u8) -> Option<Self> {
        (rank <= 5).then_some(UrineGrade(rank))
    }
    /// The grade as a result sheet prints it: （−）（±）（＋）（２＋）（３＋）（４＋）.
    pub fn shown(self) -> &'static str {
        [
            "（−）",
            "（±）",
            "（＋）",
            "（２＋）",
            "（３＋）",
            "（４＋）",
        ][usize::from(self.0.min(5))]
    }
}

/// The result of one item.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ObservedValue {
    /// A measured number.
    Number(f64),
    /// A urine grade.
    Grade(UrineGrade),
    /// 未実施 (`negationInd="true"`).
    NotDone,
    /// 測定不能 (`nullFlavor`).
    NotMeasurable,
}

impl ObservedValue {
    /// The number, when measured.
    pub fn number(self) -> Option<f64> {
        match self {
            ObservedValue::Number(n) => Some(n),
            _ => None,
        }
    }
    /// Text for letters and pages.
    pub fn display(self) -> String {
        match self {
            ObservedValue::Number(n) if n.fract() == 0.0 => format!("{n:.0}"),
            ObservedValue::Number(n) => format!("{n:.1}"),
            ObservedValue::Grade(g) => g.label().to_owned(),
            ObservedValue::NotDone => "未実施".to_owned(),
            ObservedValue::NotMeasurable => "測定不能".to_owned(),
        }
    }

    /// As measured for this item: `7.0` for an HbA1c of 7, `0.80` for a creatinine.
    pub fn display_for(self, item: Item) -> String {
        match self {
            ObservedValue::Number(n) => format!("{n:.*}", item.decimals()),
            other => other.display(),
        }
    }
}

/// One observation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The item.
    pub item: Item,
    /// The value.
    pub value: ObservedValue,
}

/// The smoking answer of the questionnaire (問診: 現在、たばこを習慣的に吸っている).
///
/// The answer lists differ by period (MHLW XML用特定健診項目情報, item `9N736000000000011`):
/// 第3期 (OID 1.2.392.200119.6.2003) 1 はい / 2 いいえ; 第4期 (OID 1.2.392.200119.6.24060)
/// 1 はい / 2 「以前は吸っていたが、最近1か月間は吸っていない」 / 3 いいえ. The 第4期 code 2
/// is a former smoker who has not smoked for at least the last month: not a smoker.
/// See: shared/reference/tokutei/NOTES.md §0.9 and §4 (喫煙).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SmokingAnswer {
    /// はい: currently smokes (第3期 and 第4期 code 1).
    Smokes,
    /// 第4期 code 2 only: smoked before, has not smoked in the last month
    /// (以前は吸っていたが、最近1か月間は吸っていない).
    #[serde(alias = "QuitRecently")]
    FormerSmoker,
    /// いいえ (第3期 code 2, 第4期 code 3).
    DoesNotSmoke,
}

impl SmokingAnswer {
    /// Storage code.
    pub fn code(self) -> &'static str {
        match self {
            SmokingAnswer::Smokes => "smokes",
            SmokingAnswer::FormerSmoker => "former",
            SmokingAnswer::DoesNotSmoke => "no",
        }
    }
    /// From the storage code (`quit_recently` is the earlier code of `former`).
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "smokes" => SmokingAnswer::Smokes,
            "former" | "quit_recently" => SmokingAnswer::FormerSmoker,
            "no" => SmokingAnswer::DoesNotSmoke,
            _ => return None,
        })
    }
    /// Whether the person currently smokes (the only answer programme S acts on).
    pub fn smokes(self) -> bool {
        self == SmokingAnswer::Smokes
    }
    /// The answer as a questionnaire prints it.
    pub fn label(self) -> &'static str {
        match self {
            SmokingAnswer::Smokes => "はい",
            SmokingAnswer::FormerSmoker => "以前は吸っていたが最近1か月間は吸っていない",
            SmokingAnswer::DoesNotSmoke => "いいえ",
        }
    }
}

/// 採血時間（食後）: how long after a meal the blood was drawn (item `9N141000000000011`,
/// OID 1.2.392.200119.6.2202: 2 食後10時間以上, 3 食後3.5時間以上10時間未満, 4 食後3.5時間未満;
/// code 1 「10時間未満」 is the earlier list's non-fasting answer).
/// See: shared/reference/tokutei/XMLhc24tab.csv (採血時間(食後)) and NOTES.md §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DrawTiming {
    /// 空腹時: 10 hours or more after a meal (code 2).
    Fasting,
    /// 随時: 3.5 hours or more and less than 10 (code 3).
    Random,
    /// 食直後: less than 3.5 hours after a meal (code 4). The 標準的な健診・保健指導プログラム
    /// judges neither 随時血糖 nor 随時中性脂肪 on such a sample.
    SoonAfterMeal,
    /// Code 1 「食後10時間未満」: not fasting, without saying whether 3.5 hours had passed.
    /// Judged as 随時: the institution reporting a 随時 value under the 第3期 rules was
    /// bound by the same 「食直後を除き」 condition.
    NotFasting,
}

impl DrawTiming {
    /// From the MHLW code (1–4).
    pub fn from_mhlw_code(code: &str) -> Option<Self> {
        Some(match code.trim() {
            "1" => DrawTiming::NotFasting,
            "2" => DrawTiming::Fasting,
            "3" => DrawTiming::Random,
            "4" => DrawTiming::SoonAfterMeal,
            _ => return None,
        })
    }
    /// The MHLW code.
    pub fn mhlw_code(self) -> &'static str {
        match self {
            DrawTiming::NotFasting => "1",
            DrawTiming::Fasting => "2",
            DrawTiming::Random => "3",
            DrawTiming::SoonAfterMeal => "4",
        }
    }
    /// The answer as the CSV/XLSX layout writes it.
    pub fn label(self) -> &'static str {
        match self {
            DrawTiming::Fasting => "空腹",
            DrawTiming::Random => "随時",
            DrawTiming::SoonAfterMeal => "食直後",
            DrawTiming::NotFasting => "食後10時間未満",
        }
    }
    /// 10 hours or more after a meal.
    pub fn is_fasting(self) -> bool {
        self == DrawTiming::Fasting
    }
}

/// The questionnaire answers programmes use, and the 採血時間 recorded with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Questionnaire {
    /// Smoking.
    pub smoking: Option<SmokingAnswer>,
    /// 服薬1: blood-pressure medication.
    pub medication_blood_pressure: Option<bool>,
    /// 服薬2: glucose-lowering medication or insulin.
    pub medication_glucose: Option<bool>,
    /// 服薬3: lipid medication.
    pub medication_lipids: Option<bool>,
    /// 採血時間（食後）, when the checkup says.
    #[serde(default)]
    pub draw_timing: Option<DrawTiming>,
}

/// Who did the checkup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckupSource {
    /// 事業主健診 handed over by the employer (purged on opt-out).
    Employer,
    /// 人間ドック subsidised by the society (the society's own data).
    SocietyDock,
}

impl CheckupSource {
    /// Storage code.
    pub fn code(self) -> &'static str {
        match self {
            CheckupSource::Employer => "employer",
            CheckupSource::SocietyDock => "dock",
        }
    }
    /// From the storage code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "employer" => Some(CheckupSource::Employer),
            "dock" => Some(CheckupSource::SocietyDock),
            _ => None,
        }
    }
}

/// One checkup of one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkup {
    /// Whose.
    pub member: MemberKey,
    /// 健診実施日.
    pub exam_date: Date,
    /// Source.
    pub source: CheckupSource,
    /// The employer that submitted it, if employer-sourced.
    pub submitted_by: Option<EmployerCode>,
    /// Observations, one per item (the adapter picks which reading when measured twice).
    pub observations: Vec<Observation>,
    /// 問診.
    pub questionnaire: Questionnaire,
}

impl Checkup {
    /// The value of an item, if present.
    pub fn value(&self, item: Item) -> Option<ObservedValue> {
        self.observations
            .iter()
            .find(|o| o.item == item)
            .map(|o| o.value)
    }
    /// The measured number of an item.
    pub fn number(&self, item: Item) -> Option<f64> {
        self.value(item).and_then(ObservedValue::number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urine_grades_are_shown_as_the_result_sheet_prints_them() {
        let shown: Vec<&str> = (0..=5)
            .map(|r| UrineGrade::from_rank(r).unwrap().shown())
            .collect();
        assert_eq!(
            shown,
            [
                "（−）",
                "（±）",
                "（＋）",
                "（２＋）",
                "（３＋）",
                "（４＋）"
            ]
        );
        assert_eq!(UrineGrade::from_rank(6), None);
        assert_eq!(UrineGrade::ONE_PLUS.shown(), "（＋）");
    }

    #[test]
    fn values_print_as_measured_with_the_items_decimals() {
        assert_eq!(ObservedValue::Number(7.0).display_for(Item::HbA1c), "7.0");
        assert_eq!(
            ObservedValue::Number(0.8).display_for(Item::Creatinine),
            "0.80"
        );
        assert_eq!(
            ObservedValue::Number(142.0).display_for(Item::SystolicBp),
            "142"
        );
        assert_eq!(
            ObservedValue::Grade(UrineGrade::ONE_PLUS).display_for(Item::UrineProtein),
            "+"
        );
    }
}
