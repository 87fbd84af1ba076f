//! Risk flags: each checkup item judged against 保健指導判定値 and 受診勧奨判定値.
//!
//! Defaults are from the 標準的な健診・保健指導プログラム 令和6年度版 (第4期). They are
//! data in programme R's settings, versioned per fiscal year, so the society can change
//! them without code and without rewriting last year's cases.

use crate::checkup::{Checkup, DrawTiming, Item, ObservedValue, UrineGrade};
use crate::member::Sex;
use serde::{Deserialize, Serialize};

/// How a value is compared with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Risk when value ≥ threshold (blood pressure, lipids, glucose …).
    AtOrAbove,
    /// Risk when value < threshold (eGFR).
    Below,
    /// Risk when value ≤ threshold (haemoglobin).
    AtOrBelow,
}

impl Direction {
    fn beyond(self, value: f64, threshold: f64) -> bool {
        match self {
            Direction::AtOrAbove => value >= threshold,
            Direction::Below => value < threshold,
            Direction::AtOrBelow => value <= threshold,
        }
    }
    /// Symbol for letters: ≥, <, ≤.
    pub fn symbol(self) -> &'static str {
        match self {
            Direction::AtOrAbove => "≥",
            Direction::Below => "<",
            Direction::AtOrBelow => "≤",
        }
    }
}

/// The two levels of the MHLW programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RiskLevel {
    /// 保健指導判定値 reached.
    Guidance,
    /// 受診勧奨判定値 reached.
    Referral,
}

impl RiskLevel {
    /// Storage code.
    pub fn code(self) -> &'static str {
        match self {
            RiskLevel::Guidance => "guidance",
            RiskLevel::Referral => "referral",
        }
    }
    /// From the storage code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "guidance" => Some(RiskLevel::Guidance),
            "referral" => Some(RiskLevel::Referral),
            _ => None,
        }
    }
    /// 保健指導判定値 / 受診勧奨判定値.
    pub fn label(self) -> &'static str {
        match self {
            RiskLevel::Guidance => "保健指導判定値",
            RiskLevel::Referral => "受診勧奨判定値",
        }
    }
}

/// One item's thresholds. Urine grades use the grade rank (± = 1, + = 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdRule {
    /// The item.
    pub item: Item,
    /// Only for this sex (haemoglobin), or both.
    pub sex: Option<Sex>,
    /// Comparison.
    pub direction: Direction,
    /// 保健指導判定値.
    pub guidance: Option<f64>,
    /// 受診勧奨判定値.
    pub referral: Option<f64>,
    /// The value from which a letter says 「すぐに受診を」 rather than 「要受診」 (the
    /// feedback grades of the MHLW programme; absent for items without one).
    #[serde(default)]
    pub urgent: Option<f64>,
}

fn rule(item: Item, direction: Direction, guidance: f64, referral: f64) -> ThresholdRule {
    ThresholdRule {
        item,
        sex: None,
        direction,
        guidance: Some(guidance),
        referral: Some(referral),
        urgent: None,
    }
}

fn with_urgent(mut rule: ThresholdRule, urgent: f64) -> ThresholdRule {
    rule.urgent = Some(urgent);
    rule
}

/// An edition of the 標準的な健診・保健指導プログラム whose 判定値 programme R uses by
/// default, chosen by the checkup's fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ThresholdEdition {
    /// 平成30年度版 (第3期, FY2018–FY2023).
    Heisei30,
    /// 令和6年度版 (第4期, FY2024–).
    Reiwa6,
}

impl ThresholdEdition {
    /// Every edition, oldest first.
    pub const ALL: [ThresholdEdition; 2] = [ThresholdEdition::Heisei30, ThresholdEdition::Reiwa6];
    /// The first fiscal year of the edition's 特定健診 period.
    pub fn from_year(self) -> i16 {
        match self {
            ThresholdEdition::Heisei30 => 2018,
            ThresholdEdition::Reiwa6 => 2024,
        }
    }
    /// 平成30年度版 / 令和6年度版.
    pub fn label(self) -> &'static str {
        match self {
            ThresholdEdition::Heisei30 => "平成30年度版",
            ThresholdEdition::Reiwa6 => "令和6年度版",
        }
    }
    /// The edition's 保健指導判定値 and 受診勧奨判定値, with the 「すぐに受診」 values.
    pub fn thresholds(self) -> Vec<ThresholdRule> {
        match self {
            ThresholdEdition::Heisei30 => heisei30_thresholds(),
            ThresholdEdition::Reiwa6 => default_thresholds(),
        }
    }
}

/// The rules of both editions, in display order, with the two that differ as arguments. Sources, for each value: 標準的な健診・保健指導プログラム
/// 令和6年度版 「保健指導判定値及び受診勧奨判定値」 as summarised in
/// shared/reference/tokutei/NOTES.md §5.1 (第4期検討会 参考資料1-1 p.35; R6案 BP p.164,
/// lipids p.130/132, liver p.144, kidney p.150), and for 平成30年度版 NOTES.md §5.2 (the
/// same values except triglycerides and HDL).
///
/// The 「すぐに受診」 (すぐに医療機関を受診) values are those of the programme's feedback
/// grades (フィードバック文例: 血圧 ≥160/100 R6案 p.164, eGFR <45 p.150, 尿蛋白 1+以上 p.148
/// and the kidney table, LDL ≥180 and 中性脂肪 ≥500 p.130/132, 空腹時血糖 ≥126) as listed in
/// issue 12; the society may change them.
fn edition_rules(tg_random_guidance: f64, hdl: ThresholdRule) -> Vec<ThresholdRule> {
    use Direction::*;
    vec![
        with_urgent(rule(Item::SystolicBp, AtOrAbove, 130.0, 140.0), 160.0),
        with_urgent(rule(Item::DiastolicBp, AtOrAbove, 85.0, 90.0), 100.0),
        with_urgent(
            rule(Item::TriglyceridesFasting, AtOrAbove, 150.0, 300.0),
            500.0,
        ),
        with_urgent(
            rule(
                Item::TriglyceridesRandom,
                AtOrAbove,
                tg_random_guidance,
                300.0,
            ),
            500.0,
        ),
        hdl,
        with_urgent(rule(Item::Ldl, AtOrAbove, 120.0, 140.0), 180.0),
        // Non-HDL is judged only in place of LDL (see `judged`); no すぐに value is given.
        rule(Item::NonHdl, AtOrAbove, 150.0, 170.0),
        with_urgent(rule(Item::GlucoseFasting, AtOrAbove, 100.0, 126.0), 126.0),
        rule(Item::GlucoseRandom, AtOrAbove, 100.0, 126.0),
        // HbA1c 8.0: our reading of the feedback grades [inference, not verified].
        with_urgent(rule(Item::HbA1c, AtOrAbove, 5.6, 6.5), 8.0),
        rule(Item::Ast, AtOrAbove, 31.0, 51.0),
        rule(Item::Alt, AtOrAbove, 31.0, 51.0),
        rule(Item::GammaGt, AtOrAbove, 51.0, 101.0),
        with_urgent(rule(Item::Egfr, Below, 60.0, 45.0), 45.0),
        with_urgent(
            rule(
                Item::UrineProtein,
                AtOrAbove,
                f64::from(UrineGrade::TRACE.rank()),
                f64::from(UrineGrade::ONE_PLUS.rank()),
            ),
            f64::from(UrineGrade::ONE_PLUS.rank()),
        ),
        // 血色素量: 男 13.0以下 / 12.0以下, 女 12.0以下 / 11.0以下 (NOTES.md §5.1).
        ThresholdRule {
            item: Item::Haemoglobin,
            sex: Some(Sex::Male),
            direction: AtOrBelow,
            guidance: Some(13.0),
            referral: Some(12.0),
            urgent: None,
        },
        ThresholdRule {
            item: Item::Haemoglobin,
            sex: Some(Sex::Female),
            direction: AtOrBelow,
            guidance: Some(12.0),
            referral: Some(11.0),
            urgent: None,
        },
    ]
}

/// The defaults of 標準的な健診・保健指導プログラム 令和6年度版 (FY2024–).
/// Differences from 平成30年度版: 随時中性脂肪 175/300 (new, 食後3.5時間以上10時間未満),
/// and no 受診勧奨判定値 for HDL (NOTES.md §5.1: 「ー」 in the R6 table).
pub fn default_thresholds() -> Vec<ThresholdRule> {
    edition_rules(
        175.0,
        ThresholdRule {
            item: Item::Hdl,
            sex: None,
            direction: Direction::Below,
            guidance: Some(40.0),
            referral: None,
            urgent: None,
        },
    )
}

/// The values of 標準的な健診・保健指導プログラム 平成30年度版 (FY2018–FY2023): one
/// triglyceride value 150/300 whatever the fasting state (the 随時 row is new in R6), and
/// HDL 39以下 / 34以下 (NOTES.md §5.2, the 滋賀県 健診判定値 table of the H30 values).
pub fn heisei30_thresholds() -> Vec<ThresholdRule> {
    edition_rules(150.0, rule(Item::Hdl, Direction::AtOrBelow, 39.0, 34.0))
}

/// Whether an item of this checkup is judged at all, by the kind of sample
/// (標準的な健診・保健指導プログラム 令和6年度版, 第2編 第2章 健診の検査項目; the same
/// conditions in 平成30年度版; NOTES.md §5.1/§5.4):
/// - 随時血糖 and 随時中性脂肪 are not judged on a sample drawn less than 3.5 hours after a
///   meal (食直後, 採血時間 code 4); nor is any glucose or triglyceride value of such a sample;
/// - 随時血糖 is judged only when HbA1c was not measured (「HbA1cを測定しない場合は、食直後を
///   除き随時血糖により…」);
/// - Non-HDL is judged in place of LDL: when triglycerides are ≥ 400 mg/dL or the sample
///   was not fasting, and Non-HDL was measured; it is also judged when LDL is missing.
///   Otherwise LDL is judged and Non-HDL is not.
pub fn judged(checkup: &Checkup, item: Item) -> bool {
    let timing = checkup.questionnaire.draw_timing;
    let soon_after_meal = timing == Some(DrawTiming::SoonAfterMeal);
    match item {
        Item::GlucoseFasting | Item::TriglyceridesFasting | Item::TriglyceridesRandom => {
            !soon_after_meal
        }
        Item::GlucoseRandom => !soon_after_meal && checkup.number(Item::HbA1c).is_none(),
        Item::Ldl | Item::NonHdl => {
            let non_hdl = non_hdl_in_place_of_ldl(checkup);
            (item == Item::NonHdl) == non_hdl
        }
        _ => true,
    }
}

/// Non-HDL replaces LDL: TG ≥ 400 mg/dL or a non-fasting sample, with Non-HDL measured;
/// or no LDL value at all.
fn non_hdl_in_place_of_ldl(checkup: &Checkup) -> bool {
    let has_non_hdl = checkup.number(Item::NonHdl).is_some();
    let tg_high = [Item::TriglyceridesFasting, Item::TriglyceridesRandom]
        .into_iter()
        .filter_map(|i| checkup.number(i))
        .any(|tg| tg >= 400.0);
    let not_fasting = checkup
        .questionnaire
        .draw_timing
        .is_some_and(|t| !t.is_fasting())
        || checkup.number(Item::TriglyceridesRandom).is_some()
        || checkup.number(Item::GlucoseRandom).is_some();
    has_non_hdl && (tg_high || not_fasting || checkup.number(Item::Ldl).is_none())
}

/// One item of one checkup at or beyond a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskFlag {
    /// The item.
    pub item: Item,
    /// The highest level reached.
    pub level: RiskLevel,
    /// The value judged (grade rank for urine).
    pub value: f64,
    /// The threshold of that level.
    pub threshold: f64,
    /// How it was compared.
    pub direction: Direction,
    /// The 「すぐに受診を」 value, when the value reached it.
    #[serde(default)]
    pub urgent: Option<f64>,
}

impl RiskFlag {
    /// What a letter says of it: 「すぐに受診を」, 「要受診」 or 「要改善」.
    pub fn judgement(&self) -> &'static str {
        judgement(self.level, self.urgent.is_some())
    }
}

/// The three levels a flag is told in (issue 12): 保健指導判定値, 受診勧奨判定値, and
/// すぐに受診 (the programme's 「すぐに医療機関を受診」 grade of its feedback examples).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Urgency {
    /// 保健指導判定値 reached.
    Guidance,
    /// 受診勧奨判定値 reached.
    Referral,
    /// The すぐに受診 value reached.
    Immediate,
}

impl Urgency {
    /// Every level, lowest first.
    pub const ALL: [Urgency; 3] = [Urgency::Guidance, Urgency::Referral, Urgency::Immediate];
    /// From a level and whether the すぐに value was reached.
    pub fn of(level: RiskLevel, urgent: bool) -> Self {
        match (level, urgent) {
            (_, true) => Urgency::Immediate,
            (RiskLevel::Referral, false) => Urgency::Referral,
            (RiskLevel::Guidance, false) => Urgency::Guidance,
        }
    }
    /// The level in words, for letters and the employer's list.
    pub fn label(self) -> &'static str {
        match self {
            Urgency::Guidance => "保健指導判定値",
            Urgency::Referral => "受診勧奨判定値",
            Urgency::Immediate => "すぐに受診",
        }
    }
}

impl RiskFlag {
    /// The flag's level of the three.
    pub fn urgency(&self) -> Urgency {
        Urgency::of(self.level, self.urgent.is_some())
    }
}

/// The 判定 a letter prints for a level reached (and whether the 「すぐに」 value was).
pub fn judgement(level: RiskLevel, urgent: bool) -> &'static str {
    match (level, urgent) {
        (_, true) => "すぐに受診を",
        (RiskLevel::Referral, false) => "要受診",
        (RiskLevel::Guidance, false) => "要改善",
    }
}

fn judged_number(value: ObservedValue) -> Option<f64> {
    match value {
        ObservedValue::Number(n) => Some(n),
        ObservedValue::Grade(g) => Some(f64::from(g.rank())),
        ObservedValue::NotDone | ObservedValue::NotMeasurable => None,
    }
}

/// Flags every item of a checkup at or beyond its 保健指導判定値 or 受診勧奨判定値.
/// Items not done or not measurable are never flagged, nor items the sample does not
/// allow to judge ([`judged`]).
pub fn flag_checkup(checkup: &Checkup, sex: Sex, rules: &[ThresholdRule]) -> Vec<RiskFlag> {
    let mut flags = Vec::new();
    for rule in rules
        .iter()
        .filter(|r| r.sex.is_none_or(|s| s == sex) && judged(checkup, r.item))
    {
        let Some(value) = checkup.value(rule.item).and_then(judged_number) else {
            continue;
        };
        let level = [
            (RiskLevel::Referral, rule.referral),
            (RiskLevel::Guidance, rule.guidance),
        ]
        .into_iter()
        .find_map(|(level, threshold)| {
            threshold
                .filter(|t| rule.direction.beyond(value, *t))
                .map(|t| (level, t))
        });
        if let Some((level, threshold)) = level {
            let urgent = rule
                .urgent
                .filter(|u| level == RiskLevel::Referral && rule.direction.beyond(value, *u));
            flags.push(RiskFlag {
                item: rule.item,
                level,
                value,
                threshold,
                direction: rule.direction,
                urgent,
            });
        }
    }
    flags
}

/// Programme R's selection: the flags of a checkup at or beyond the level at which the
/// settings share a person with the employer (`share_level`). One function for the
/// engine (R cases and notices) and the employer's risk-holder list and aggregates,
/// so the two can never count different people. Empty when the settings are not R's.
pub fn risk_holder_flags(
    checkup: &Checkup,
    sex: Sex,
    settings: &crate::programme::ProgrammeSettings,
) -> Vec<RiskFlag> {
    let crate::programme::ProgrammeRules::Risk {
        thresholds,
        share_level,
        ..
    } = &settings.rules
    else {
        return Vec::new();
    };
    flag_checkup(checkup, sex, thresholds)
        .into_iter()
        .filter(|f| f.level >= *share_level)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkup::*;
    use crate::ids::*;
    use jiff::civil::Date;

    fn checkup(observations: &[(Item, ObservedValue)]) -> Checkup {
        Checkup {
            member: MemberKey {
                insurer: InsurerNumber::parse("06130123").unwrap(),
                symbol: Symbol::parse("1").unwrap(),
                number: CardNumber::parse("1").unwrap(),
                branch: Branch::parse("00").unwrap(),
            },
            exam_date: Date::constant(2026, 6, 1),
            source: CheckupSource::Employer,
            submitted_by: None,
            observations: observations
                .iter()
                .map(|(item, value)| Observation {
                    item: *item,
                    value: *value,
                })
                .collect(),
            questionnaire: Questionnaire::default(),
        }
    }

    #[test]
    fn hba1c_at_the_threshold_is_a_referral() {
        let c = checkup(&[(Item::HbA1c, ObservedValue::Number(6.5))]);
        let flags = flag_checkup(&c, Sex::Male, &default_thresholds());
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].level, RiskLevel::Referral);
        let c = checkup(&[(Item::HbA1c, ObservedValue::Number(6.4))]);
        assert_eq!(
            flag_checkup(&c, Sex::Male, &default_thresholds())[0].level,
            RiskLevel::Guidance
        );
        let c = checkup(&[(Item::HbA1c, ObservedValue::Number(5.5))]);
        assert!(flag_checkup(&c, Sex::Male, &default_thresholds()).is_empty());
    }

    #[test]
    fn a_value_past_the_urgent_grade_says_see_a_doctor_now() {
        let c = checkup(&[
            (Item::SystolicBp, ObservedValue::Number(172.0)),
            (Item::DiastolicBp, ObservedValue::Number(92.0)),
            (Item::HbA1c, ObservedValue::Number(7.0)),
        ]);
        let flags = flag_checkup(&c, Sex::Male, &default_thresholds());
        let of = |item| flags.iter().find(|f| f.item == item).unwrap();
        assert_eq!(of(Item::SystolicBp).urgent, Some(160.0));
        assert_eq!(of(Item::SystolicBp).judgement(), "すぐに受診を");
        assert_eq!(of(Item::DiastolicBp).judgement(), "要受診");
        assert_eq!(of(Item::HbA1c).judgement(), "要受診");
    }

    #[test]
    fn egfr_is_judged_below_and_haemoglobin_by_sex() {
        let c = checkup(&[
            (Item::Egfr, ObservedValue::Number(44.9)),
            (Item::Haemoglobin, ObservedValue::Number(12.5)),
        ]);
        let male = flag_checkup(&c, Sex::Male, &default_thresholds());
        let female = flag_checkup(&c, Sex::Female, &default_thresholds());
        assert!(
            male.iter()
                .any(|f| f.item == Item::Egfr && f.level == RiskLevel::Referral)
        );
        assert!(
            male.iter()
                .any(|f| f.item == Item::Haemoglobin && f.level == RiskLevel::Guidance)
        );
        assert!(!female.iter().any(|f| f.item == Item::Haemoglobin));
    }

    #[test]
    fn urine_protein_plus_is_a_referral_and_not_done_is_never_flagged() {
        let c = checkup(&[
            (
                Item::UrineProtein,
                ObservedValue::Grade(UrineGrade::ONE_PLUS),
            ),
            (Item::SystolicBp, ObservedValue::NotDone),
            (Item::Ldl, ObservedValue::NotMeasurable),
        ]);
        let flags = flag_checkup(&c, Sex::Female, &default_thresholds());
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].item, Item::UrineProtein);
        assert_eq!(flags[0].level, RiskLevel::Referral);
    }

    fn with_timing(mut c: Checkup, timing: DrawTiming) -> Checkup {
        c.questionnaire.draw_timing = Some(timing);
        c
    }

    fn items_of(flags: &[RiskFlag]) -> Vec<Item> {
        flags.iter().map(|f| f.item).collect()
    }

    /// 標準的な健診・保健指導プログラム: 随時血糖 and 随時中性脂肪 are not used on a sample
    /// drawn less than 3.5 hours after a meal (「食直後を除き」; 採血時間 code 4 「食後3.5時間
    /// 未満」, XMLhc24tab 随時中性脂肪 notes); a sample of 3.5 hours or more is judged.
    #[test]
    fn a_post_meal_sample_is_not_judged_for_random_glucose_or_tg_and_a_later_one_is() {
        let values = [
            (Item::GlucoseRandom, ObservedValue::Number(180.0)),
            (Item::TriglyceridesRandom, ObservedValue::Number(420.0)),
        ];
        let soon = with_timing(checkup(&values), DrawTiming::SoonAfterMeal);
        assert!(flag_checkup(&soon, Sex::Male, &default_thresholds()).is_empty());
        let later = with_timing(checkup(&values), DrawTiming::Random);
        let flags = flag_checkup(&later, Sex::Male, &default_thresholds());
        assert_eq!(
            items_of(&flags),
            [Item::TriglyceridesRandom, Item::GlucoseRandom]
        );
        assert!(flags.iter().all(|f| f.level == RiskLevel::Referral));
    }

    /// 「HbA1cを測定しない場合は…随時血糖により」: with HbA1c present, 随時血糖 is not judged.
    #[test]
    fn random_glucose_is_judged_only_without_hba1c() {
        let c = with_timing(
            checkup(&[
                (Item::GlucoseRandom, ObservedValue::Number(150.0)),
                (Item::HbA1c, ObservedValue::Number(5.4)),
            ]),
            DrawTiming::Random,
        );
        assert!(flag_checkup(&c, Sex::Female, &default_thresholds()).is_empty());
    }

    /// 標準的な健診・保健指導プログラム (lipids, R6案 p.130; NOTES.md §5.1): Non-HDL is used
    /// in place of LDL when TG ≥ 400 mg/dL or the sample is not fasting.
    #[test]
    fn non_hdl_is_judged_only_in_place_of_ldl() {
        let lipids = |tg: f64| {
            checkup(&[
                (Item::TriglyceridesFasting, ObservedValue::Number(tg)),
                (Item::Ldl, ObservedValue::Number(130.0)),
                (Item::NonHdl, ObservedValue::Number(175.0)),
            ])
        };
        let fasting = with_timing(lipids(120.0), DrawTiming::Fasting);
        let flags = flag_checkup(&fasting, Sex::Male, &default_thresholds());
        assert_eq!(items_of(&flags), [Item::Ldl]);
        let high_tg = with_timing(lipids(420.0), DrawTiming::Fasting);
        let flags = flag_checkup(&high_tg, Sex::Male, &default_thresholds());
        assert_eq!(items_of(&flags), [Item::TriglyceridesFasting, Item::NonHdl]);
        let mut random = with_timing(lipids(120.0), DrawTiming::Random);
        random.observations[0].item = Item::TriglyceridesRandom;
        let flags = flag_checkup(&random, Sex::Male, &default_thresholds());
        assert_eq!(items_of(&flags), [Item::NonHdl]);
        assert_eq!(flags[0].level, RiskLevel::Referral);
        // No LDL at all: Non-HDL stands in for it.
        let only_non_hdl = checkup(&[(Item::NonHdl, ObservedValue::Number(160.0))]);
        let flags = flag_checkup(&only_non_hdl, Sex::Male, &default_thresholds());
        assert_eq!(items_of(&flags), [Item::NonHdl]);
    }

    /// 平成30年度版 (FY2018–2023): HDL 39以下/34以下 and one TG value 150/300; 令和6年度版
    /// (FY2024–): no HDL 受診勧奨判定値, 随時中性脂肪 175/300 (NOTES.md §5.1, §5.2).
    #[test]
    fn an_fy2022_checkup_is_judged_by_heisei30_and_an_fy2025_one_by_reiwa6() {
        use crate::calendar::FiscalYear;
        use crate::programme::{ProgrammeBook, ProgrammeCode};
        let book = ProgrammeBook::default();
        let thresholds = |fy: i16| match &book
            .for_year(ProgrammeCode::R, FiscalYear::new(fy))
            .unwrap()
            .rules
        {
            crate::programme::ProgrammeRules::Risk { thresholds, .. } => thresholds.clone(),
            _ => panic!("R has risk rules"),
        };
        let values = [
            (Item::Hdl, ObservedValue::Number(33.0)),
            (Item::TriglyceridesRandom, ObservedValue::Number(160.0)),
        ];
        let mut fy2022 = with_timing(checkup(&values), DrawTiming::Random);
        fy2022.exam_date = Date::constant(2022, 10, 3);
        let flags = flag_checkup(&fy2022, Sex::Male, &thresholds(2022));
        assert_eq!(
            flags.iter().map(|f| (f.item, f.level)).collect::<Vec<_>>(),
            [
                (Item::TriglyceridesRandom, RiskLevel::Guidance),
                (Item::Hdl, RiskLevel::Referral),
            ]
        );
        let mut fy2025 = with_timing(checkup(&values), DrawTiming::Random);
        fy2025.exam_date = Date::constant(2025, 10, 3);
        let flags = flag_checkup(&fy2025, Sex::Male, &thresholds(2025));
        assert_eq!(
            flags.iter().map(|f| (f.item, f.level)).collect::<Vec<_>>(),
            [(Item::Hdl, RiskLevel::Guidance)]
        );
        assert_eq!(thresholds(2018), heisei30_thresholds());
        assert_eq!(thresholds(2023), heisei30_thresholds());
        assert_eq!(thresholds(2024), default_thresholds());
    }

    #[test]
    fn a_stored_version_is_not_shadowed_by_a_later_builtin_edition() {
        use crate::calendar::FiscalYear;
        use crate::programme::{ProgrammeBook, ProgrammeCode, ProgrammeSettings};
        let mut own = ProgrammeSettings::default_for(ProgrammeCode::R);
        own.from_year = FiscalYear::new(2020);
        own.pamphlets = vec!["組合独自".into()];
        let book = ProgrammeBook::new(vec![own.clone()]);
        assert_eq!(
            book.for_year(ProgrammeCode::R, FiscalYear::new(2025)),
            Some(&own)
        );
        assert_eq!(
            book.for_year(ProgrammeCode::R, FiscalYear::new(2019))
                .map(|s| s.from_year.year()),
            Some(2018)
        );
    }
}
