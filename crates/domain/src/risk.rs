//! Risk flags: each checkup item judged against 保健指導判定値 and 受診勧奨判定値.
//!
//! Defaults are from the 標準的な健診・保健指導プログラム 令和6年度版 (第4期). They are
//! data in programme R's settings, versioned per fiscal year, so the society can change
//! them without code and without rewriting last year's cases.

use crate::checkup::{Checkup, Item, ObservedValue, UrineGrade};
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

/// The defaults of 標準的な健診・保健指導プログラム 令和6年度版. The 「すぐに受診を」 values
/// (blood pressure 160/100, LDL 180, HbA1c 8.0) follow the grades of its feedback
/// examples as we read them [inference]; they are settings the society may change.
pub fn default_thresholds() -> Vec<ThresholdRule> {
    use Direction::*;
    let mut rules = vec![
        with_urgent(rule(Item::SystolicBp, AtOrAbove, 130.0, 140.0), 160.0),
        with_urgent(rule(Item::DiastolicBp, AtOrAbove, 85.0, 90.0), 100.0),
        rule(Item::TriglyceridesFasting, AtOrAbove, 150.0, 300.0),
        rule(Item::TriglyceridesRandom, AtOrAbove, 175.0, 300.0),
        with_urgent(rule(Item::Ldl, AtOrAbove, 120.0, 140.0), 180.0),
        rule(Item::NonHdl, AtOrAbove, 150.0, 170.0),
        rule(Item::GlucoseFasting, AtOrAbove, 100.0, 126.0),
        rule(Item::GlucoseRandom, AtOrAbove, 100.0, 126.0),
        with_urgent(rule(Item::HbA1c, AtOrAbove, 5.6, 6.5), 8.0),
        rule(Item::Ast, AtOrAbove, 31.0, 51.0),
        rule(Item::Alt, AtOrAbove, 31.0, 51.0),
        rule(Item::GammaGt, AtOrAbove, 51.0, 101.0),
        rule(Item::Egfr, Below, 60.0, 45.0),
        rule(
            Item::UrineProtein,
            AtOrAbove,
            f64::from(UrineGrade::TRACE.rank()),
            f64::from(UrineGrade::ONE_PLUS.rank()),
        ),
    ];
    rules.push(ThresholdRule {
        item: Item::Hdl,
        sex: None,
        direction: Below,
        guidance: Some(40.0),
        referral: None,
        urgent: None,
    });
    rules.push(ThresholdRule {
        item: Item::Haemoglobin,
        sex: Some(Sex::Male),
        direction: AtOrBelow,
        guidance: Some(13.0),
        referral: Some(12.0),
        urgent: None,
    });
    rules.push(ThresholdRule {
        item: Item::Haemoglobin,
        sex: Some(Sex::Female),
        direction: AtOrBelow,
        guidance: Some(12.0),
        referral: Some(11.0),
        urgent: None,
    });
    rules
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
/// Items not done or not measurable are never flagged.
pub fn flag_checkup(checkup: &Checkup, sex: Sex, rules: &[ThresholdRule]) -> Vec<RiskFlag> {
    let mut flags = Vec::new();
    for rule in rules.iter().filter(|r| r.sex.is_none_or(|s| s == sex)) {
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
}
