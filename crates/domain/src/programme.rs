//! The four programmes of the seed (R, S, D, C) as data: thresholds, windows, consent
//! mode, letters and the claims evidence that counts as a visit — versioned by fiscal
//! year so a change of threshold does not rewrite last year's cases.
//!
//! Group codes used by the defaults (the claims adapter maps codes to them):
//! conditions `diabetes`, `hypertension`, `dyslipidemia`, `ckd`, `diabetic_nephropathy`,
//! `cancer_<site>`, `finding_<site>`; procedures `<site>_exam` (detailed examination of a
//! cancer site), `diabetes_care` (HbA1c test, 生活習慣病管理料 …); drugs `diabetes_drug`.
//! Sites are `lung`, `stomach`, `colorectal`, `breast`, `cervix`.

use crate::calendar::FiscalYear;
use crate::referral::CancerType;
use crate::risk::{RiskLevel, ThresholdEdition, ThresholdRule};
use crate::visit::{GroupKind, VisitFact};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A programme of the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProgrammeCode {
    /// R: risk holders shared with the employer for 事後指導.
    R,
    /// S: smoking-cessation treatment promotion (禁煙治療の利用促進).
    S,
    /// D: severe-diabetes prevention (糖尿病性腎症等重症化予防).
    D,
    /// C: cancer-screening follow-up (がん検診結果に基づく受診勧奨).
    C,
}

impl ProgrammeCode {
    /// Every programme.
    pub const ALL: [ProgrammeCode; 4] = [
        ProgrammeCode::R,
        ProgrammeCode::S,
        ProgrammeCode::D,
        ProgrammeCode::C,
    ];
    /// The letter, `R` `S` `D` `C`.
    pub fn letter(self) -> &'static str {
        match self {
            ProgrammeCode::R => "R",
            ProgrammeCode::S => "S",
            ProgrammeCode::D => "D",
            ProgrammeCode::C => "C",
        }
    }
    /// From the letter (either case).
    pub fn from_letter(text: &str) -> Option<Self> {
        ProgrammeCode::ALL
            .into_iter()
            .find(|p| p.letter().eq_ignore_ascii_case(text.trim()))
    }
    /// Short Japanese name, for tables (the demo's closing table, `report`).
    pub fn short_label(self) -> &'static str {
        match self {
            ProgrammeCode::R => "リスク保有者の共有",
            ProgrammeCode::S => "禁煙治療の勧奨",
            ProgrammeCode::D => "糖尿病重症化予防",
            ProgrammeCode::C => "がん検診の精密検査勧奨",
        }
    }
    /// Japanese name.
    pub fn label(self) -> &'static str {
        match self {
            ProgrammeCode::R => "リスク保有者の事後指導",
            ProgrammeCode::S => "禁煙治療の利用促進",
            ProgrammeCode::D => "糖尿病性腎症等重症化予防",
            ProgrammeCode::C => "がん検診精密検査の受診勧奨",
        }
    }
}

impl fmt::Display for ProgrammeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.letter())
    }
}

/// Whether a programme uses data unless the person refuses, or only with consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsentMode {
    /// Used unless the person opted out.
    OptOut,
    /// Used only with recorded or attested consent (要配慮個人情報).
    OptIn,
}

/// A kind of letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LetterKind {
    /// R: 受診勧奨 for risk holders.
    RiskReferral,
    /// S: 禁煙治療のご案内.
    SmokingCessation,
    /// D: 受診勧奨 (HbA1c).
    DiabetesReferral,
    /// C: 精密検査受診のお願い.
    CancerReferral,
    /// C-2: 再勧奨.
    CancerRenotice,
}

impl LetterKind {
    /// Every kind.
    pub const ALL: [LetterKind; 5] = [
        LetterKind::RiskReferral,
        LetterKind::SmokingCessation,
        LetterKind::DiabetesReferral,
        LetterKind::CancerReferral,
        LetterKind::CancerRenotice,
    ];
    /// Stable code (also the template file stem).
    pub fn code(self) -> &'static str {
        match self {
            LetterKind::RiskReferral => "R",
            LetterKind::SmokingCessation => "S",
            LetterKind::DiabetesReferral => "D",
            LetterKind::CancerReferral => "C",
            LetterKind::CancerRenotice => "C2",
        }
    }
    /// From the code.
    pub fn from_code(code: &str) -> Option<Self> {
        LetterKind::ALL.into_iter().find(|k| k.code() == code)
    }
    /// Japanese title.
    pub fn title(self) -> &'static str {
        match self {
            LetterKind::RiskReferral => "健診結果に基づく受診のおすすめ",
            LetterKind::SmokingCessation => "禁煙治療のご案内",
            LetterKind::DiabetesReferral => "医療機関受診のおすすめ（血糖）",
            LetterKind::CancerReferral => "精密検査受診のお願い",
            LetterKind::CancerRenotice => "精密検査受診のお願い（再通知）",
        }
    }
}

/// Where a letter batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BatchStatus {
    /// Prepared, not yet confirmed mailed (印刷待ち).
    Prepared,
    /// Staff confirmed it was mailed (発送済).
    Mailed,
    /// Cancelled before mailing (取消).
    Cancelled,
}

impl BatchStatus {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            BatchStatus::Prepared => "prepared",
            BatchStatus::Mailed => "mailed",
            BatchStatus::Cancelled => "cancelled",
        }
    }
    /// From the code.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            BatchStatus::Prepared,
            BatchStatus::Mailed,
            BatchStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
    /// 印刷待ち / 発送済 / 取消.
    pub fn label(self) -> &'static str {
        match self {
            BatchStatus::Prepared => "印刷待ち",
            BatchStatus::Mailed => "発送済",
            BatchStatus::Cancelled => "取消",
        }
    }
}

/// One piece of evidence a rule asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceTerm {
    /// Condition, procedure or drug.
    pub kind: GroupKind,
    /// Group code.
    pub group: String,
    /// 「の疑い」 diagnoses count too.
    pub allow_suspected: bool,
    /// Only a diagnosis that started on or after the trigger (screening) date counts.
    pub started_on_or_after_trigger: bool,
}

impl EvidenceTerm {
    fn term(kind: GroupKind, group: &str) -> Self {
        EvidenceTerm {
            kind,
            group: group.to_owned(),
            allow_suspected: false,
            started_on_or_after_trigger: false,
        }
    }
    /// A confirmed diagnosis of a condition group.
    pub fn condition(group: &str) -> Self {
        Self::term(GroupKind::Condition, group)
    }
    /// A procedure group.
    pub fn procedure(group: &str) -> Self {
        Self::term(GroupKind::Procedure, group)
    }
    /// A drug group.
    pub fn drug(group: &str) -> Self {
        Self::term(GroupKind::Drug, group)
    }

    fn matches(&self, visit: &VisitFact, trigger: Date) -> bool {
        visit.evidence.iter().any(|e| {
            e.kind == self.kind
                && e.group == self.group
                && (self.allow_suspected || !e.suspected)
                && (!self.started_on_or_after_trigger || e.started_on.is_none_or(|s| s >= trigger))
        })
    }
}

/// Evidence a visit must show: any one rule, each rule needing all its terms in the
/// same claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct VisitCriteria {
    /// Alternatives.
    pub any_of: Vec<Vec<EvidenceTerm>>,
}

impl VisitCriteria {
    /// A visit satisfies the criteria (`trigger` is the date started-after terms compare to).
    pub fn matches(&self, visit: &VisitFact, trigger: Date) -> bool {
        self.any_of
            .iter()
            .any(|all| !all.is_empty() && all.iter().all(|t| t.matches(visit, trigger)))
    }
}

/// Programme-specific settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProgrammeRules {
    /// R.
    Risk {
        /// Item thresholds.
        thresholds: Vec<ThresholdRule>,
        /// The level at which a person is a risk holder shared with the employer.
        share_level: RiskLevel,
        /// The society also sends the person a notice.
        notify_person: bool,
        /// The notice goes only to people with a value at or above this level (e.g.
        /// `Immediate` for a 重症化予防 notice at すぐに受診 only); `None`: every risk holder.
        #[serde(default)]
        notify_at: Option<crate::risk::Urgency>,
        /// Only values of these items count for the notice (e.g. blood pressure for a
        /// blood-pressure notice); empty: every item.
        #[serde(default)]
        notify_items: Vec<crate::checkup::Item>,
    },
    /// S.
    Smoking,
    /// D.
    Diabetes {
        /// HbA1c (NGSP %) at or above which a person is a target.
        hba1c_threshold: f64,
        /// Also a target: 空腹時血糖 or 随時血糖 at or above this (mg/dL), for samples the
        /// programme judges (`risk::judged`). The national 糖尿病性腎症重症化予防プログラム
        /// (令和6年度版 p.33 ①) uses 126; off (`None`) by default, so the seed's trigger,
        /// HbA1c alone, stays the default.
        #[serde(default)]
        glucose_threshold: Option<f64>,
        /// Mark a case as priority when the kidney criteria of the national programme
        /// are met (eGFR < 45 or 尿蛋白 1+ or more: 糖尿病性腎症重症化予防プログラム's 腎障害,
        /// with the 受診勧奨判定値 of eGFR); off by default.
        #[serde(default)]
        kidney_priority: bool,
        /// 治療中断者 as a second target group (the national 糖尿病性腎症重症化予防
        /// プログラム: diabetes treatment in the past, none in the last 6 months): when set,
        /// a person whose look-back shows diabetes care, but no care at all in the last
        /// this many months before the notice, is a target too, marked 治療中断. Off
        /// (`None`) by default: the seed's 未治療 alone.
        #[serde(default)]
        interrupted_months: Option<i32>,
        /// Months before the exam searched for a lifestyle-disease visit.
        lookback_months: i32,
        /// What counts as a lifestyle-disease visit in the look-back.
        lookback: VisitCriteria,
        /// Months after the notice when claims are checked.
        follow_up_months: i32,
        /// What counts as a diabetes visit after the notice.
        follow_up: VisitCriteria,
    },
    /// C.
    Cancer {
        /// Months after the notice when claims are checked (and a re-notice sent).
        follow_up_months: i32,
        /// What counts as a detailed examination, per cancer type.
        by_cancer: BTreeMap<CancerType, VisitCriteria>,
    },
}

/// Settings of one programme from one fiscal year on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgrammeSettings {
    /// Which programme.
    pub code: ProgrammeCode,
    /// First fiscal year these settings apply to (they hold until a later version).
    pub from_year: FiscalYear,
    /// Running.
    pub enabled: bool,
    /// Opt-out or opt-in.
    pub consent_mode: ConsentMode,
    /// Checkups or referrals older than this (months before today) start no case.
    pub max_trigger_age_months: i32,
    /// Pamphlets enclosed with the notice.
    pub pamphlets: Vec<String>,
    /// Programme-specific rules.
    pub rules: ProgrammeRules,
    /// S and C: each person gets letter wording A or B at random (recorded in the case
    /// as [`crate::case::CaseEvent::VariantAssigned`]), so the report can compare them.
    #[serde(default)]
    pub ab_variants: bool,
    /// Ages (on the checkup's or screening's date) the programme is for; a person
    /// outside it opens no case (counted as 対象年齢外). `None`: every age, the seed's
    /// default (its programmes name no ages).
    #[serde(default)]
    pub ages: Option<AgeRange>,
}

/// An age range, both ends included (e.g. 40–74, the 特定健診 ages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeRange {
    /// Youngest age included.
    pub min: i16,
    /// Oldest age included (`None`: no upper limit).
    #[serde(default)]
    pub max: Option<i16>,
}

impl AgeRange {
    /// Whether someone born on `birth` is in range on `on`.
    pub fn includes(&self, birth: crate::Date, on: crate::Date) -> bool {
        let age = crate::calendar::age_on(birth, on);
        age >= self.min && self.max.is_none_or(|max| age <= max)
    }
}

/// Which of two letter wordings a person got (A/B test of S and C notices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LetterVariant {
    /// The standard wording.
    A,
    /// The alternative wording (templates print their `variant == "B"` paragraph).
    B,
}

impl LetterVariant {
    /// `A` or `B`.
    pub fn code(self) -> &'static str {
        match self {
            LetterVariant::A => "A",
            LetterVariant::B => "B",
        }
    }
}

/// The wording a person gets in a programme: random per person (FNV-1a of the
/// programme and the member key, so the same person always gets the same wording and
/// the assignment cannot depend on anything about their health), half and half.
pub fn letter_variant(programme: ProgrammeCode, member: &crate::ids::MemberKey) -> LetterVariant {
    let text = format!("{}|{}", programme.letter(), member.to_key_string());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // Finalise (splitmix64) so that neighbouring card numbers do not alternate.
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^= hash >> 31;
    if hash & 1 == 0 {
        LetterVariant::A
    } else {
        LetterVariant::B
    }
}

fn cancer_criteria(site: &str) -> VisitCriteria {
    let started_after = |group: String| EvidenceTerm {
        kind: GroupKind::Condition,
        group,
        allow_suspected: true,
        started_on_or_after_trigger: true,
    };
    VisitCriteria {
        any_of: vec![
            vec![EvidenceTerm::procedure(&format!("{site}_exam"))],
            vec![started_after(format!("cancer_{site}"))],
            vec![started_after(format!("finding_{site}"))],
        ],
    }
}

impl ProgrammeSettings {
    /// The seed's defaults for a programme, as they apply today: R with the 判定値 of the
    /// 標準的な健診・保健指導プログラム 令和6年度版 from FY2024 (see [`ProgrammeBook::default`]
    /// for the 平成30年度版 version of FY2018–FY2023).
    pub fn default_for(code: ProgrammeCode) -> Self {
        match code {
            ProgrammeCode::R => Self::risk_edition(ThresholdEdition::Reiwa6),
            _ => Self::seed_default(code),
        }
    }

    /// Programme R's defaults with the 判定値 of one edition of the programme, from the
    /// first fiscal year of that edition.
    pub fn risk_edition(edition: ThresholdEdition) -> Self {
        let mut settings = Self::seed_default(ProgrammeCode::R);
        settings.from_year = FiscalYear::new(edition.from_year());
        if let ProgrammeRules::Risk { thresholds, .. } = &mut settings.rules {
            *thresholds = edition.thresholds();
        }
        settings
    }

    fn seed_default(code: ProgrammeCode) -> Self {
        let base = |consent_mode, pamphlets: &[&str], rules| ProgrammeSettings {
            code,
            from_year: FiscalYear::new(2000),
            enabled: true,
            consent_mode,
            max_trigger_age_months: 12,
            pamphlets: pamphlets.iter().map(|p| (*p).to_owned()).collect(),
            rules,
            ab_variants: false,
            ages: None,
        };
        match code {
            ProgrammeCode::R => base(
                ConsentMode::OptOut,
                &["健診結果の見方"],
                ProgrammeRules::Risk {
                    thresholds: ThresholdEdition::Reiwa6.thresholds(),
                    share_level: RiskLevel::Referral,
                    notify_person: false,
                    notify_at: None,
                    notify_items: Vec::new(),
                },
            ),
            ProgrammeCode::S => base(
                ConsentMode::OptOut,
                &["禁煙治療のすすめ", "禁煙外来のある医療機関一覧"],
                ProgrammeRules::Smoking,
            ),
            ProgrammeCode::D => {
                let lifestyle = [
                    "diabetes",
                    "diabetic_nephropathy",
                    "hypertension",
                    "dyslipidemia",
                    "ckd",
                ];
                let mut lookback: Vec<Vec<EvidenceTerm>> = lifestyle
                    .iter()
                    .map(|g| vec![EvidenceTerm::condition(g)])
                    .collect();
                lookback.push(vec![EvidenceTerm::drug("diabetes_drug")]);
                base(
                    ConsentMode::OptOut,
                    &["糖尿病性腎症を知っていますか", "受診の手引き"],
                    ProgrammeRules::Diabetes {
                        hba1c_threshold: 6.5,
                        glucose_threshold: None,
                        kidney_priority: false,
                        interrupted_months: None,
                        lookback_months: 12,
                        lookback: VisitCriteria { any_of: lookback },
                        follow_up_months: 6,
                        follow_up: VisitCriteria {
                            any_of: vec![
                                vec![
                                    EvidenceTerm::condition("diabetes"),
                                    EvidenceTerm::procedure("diabetes_care"),
                                ],
                                vec![EvidenceTerm::drug("diabetes_drug")],
                            ],
                        },
                    },
                )
            }
            ProgrammeCode::C => base(
                ConsentMode::OptIn,
                &["精密検査を受けましょう"],
                ProgrammeRules::Cancer {
                    follow_up_months: 4,
                    by_cancer: CancerType::ALL
                        .into_iter()
                        .map(|c| (c, cancer_criteria(c.code())))
                        .collect(),
                },
            ),
        }
    }
}

/// Every version of every programme's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgrammeBook {
    versions: Vec<ProgrammeSettings>,
}

impl Default for ProgrammeBook {
    /// The seed's programmes; R in two versions, one per edition of the 標準的な健診・保健
    /// 指導プログラム: 平成30年度版 for checkups of FY2018–FY2023, 令和6年度版 from FY2024.
    fn default() -> Self {
        let mut versions: Vec<ProgrammeSettings> = ThresholdEdition::ALL
            .into_iter()
            .map(ProgrammeSettings::risk_edition)
            .collect();
        versions.extend(
            [ProgrammeCode::S, ProgrammeCode::D, ProgrammeCode::C]
                .into_iter()
                .map(ProgrammeSettings::default_for),
        );
        ProgrammeBook { versions }
    }
}

impl ProgrammeBook {
    /// A book from stored versions. The built-in versions fill only the years before a
    /// programme's first stored version: a stored version holds until a later stored one,
    /// so a society's own settings are never shadowed by a later built-in edition.
    pub fn new(versions: Vec<ProgrammeSettings>) -> Self {
        let mut book = ProgrammeBook::default();
        for code in ProgrammeCode::ALL {
            if let Some(first) = versions
                .iter()
                .filter(|v| v.code == code)
                .map(|v| v.from_year)
                .min()
            {
                book.versions
                    .retain(|v| v.code != code || v.from_year < first);
            }
        }
        for v in versions {
            book.set(v);
        }
        book
    }
    /// Adds or replaces the version of a programme for a fiscal year.
    pub fn set(&mut self, settings: ProgrammeSettings) {
        self.versions
            .retain(|v| !(v.code == settings.code && v.from_year == settings.from_year));
        self.versions.push(settings);
    }
    /// The settings in force for a programme in a fiscal year.
    /// `None` when the programme has no version that early.
    pub fn for_year(&self, code: ProgrammeCode, year: FiscalYear) -> Option<&ProgrammeSettings> {
        self.versions
            .iter()
            .filter(|v| v.code == code && v.from_year <= year)
            .max_by_key(|v| v.from_year)
    }
    /// Every stored version.
    pub fn versions(&self) -> &[ProgrammeSettings] {
        &self.versions
    }
}

/// Something wrong with a programme's settings: the field (its name in the settings'
/// JSON, which the form uses too) and why, in Japanese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// The field, e.g. `rules.hba1c_threshold` or `rules.thresholds.HbA1c`.
    pub field: String,
    /// Why, for the person editing.
    pub message: String,
}

impl fmt::Display for SettingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl ProgrammeSettings {
    /// What is wrong with these settings (empty: they can be saved). The one check every
    /// way of saving goes through (the form, the JSON import, the CLI): a value outside
    /// what the programme can mean, or 判定値 out of order, is refused before it is
    /// stored, never judged with.
    pub fn problems(&self) -> Vec<SettingProblem> {
        let mut out = Vec::new();
        let mut months = |field: &str, label: &str, v: i32, max: i32| {
            if !(1..=max).contains(&v) {
                out.push(SettingProblem {
                    field: field.to_owned(),
                    message: format!("{label}は1〜{max}か月で指定してください（{v}）。"),
                });
            }
        };
        months(
            "max_trigger_age_months",
            "対象とする健診・検診の古さ",
            self.max_trigger_age_months,
            60,
        );
        match &self.rules {
            ProgrammeRules::Diabetes {
                interrupted_months,
                lookback_months,
                follow_up_months,
                ..
            } => {
                months(
                    "rules.lookback_months",
                    "受診歴を確認する期間",
                    *lookback_months,
                    60,
                );
                months(
                    "rules.follow_up_months",
                    "受診を確認するまでの期間",
                    *follow_up_months,
                    24,
                );
                if let Some(m) = interrupted_months {
                    months("rules.interrupted_months", "治療中断とみなす期間", *m, 36);
                }
            }
            ProgrammeRules::Cancer {
                follow_up_months, ..
            } => months(
                "rules.follow_up_months",
                "精密検査の受診を確認するまでの期間",
                *follow_up_months,
                24,
            ),
            ProgrammeRules::Risk { .. } | ProgrammeRules::Smoking => {}
        }
        let mut value = |field: &str, label: &str, v: f64, range: std::ops::RangeInclusive<f64>| {
            if !(v.is_finite() && range.contains(&v)) {
                out.push(SettingProblem {
                    field: field.to_owned(),
                    message: format!(
                        "{label}は{}〜{}で指定してください（{v}）。",
                        range.start(),
                        range.end()
                    ),
                });
            }
        };
        if let ProgrammeRules::Diabetes {
            hba1c_threshold,
            glucose_threshold,
            ..
        } = &self.rules
        {
            value(
                "rules.hba1c_threshold",
                "HbA1c の基準",
                *hba1c_threshold,
                4.0..=15.0,
            );
            if let Some(g) = glucose_threshold {
                value("rules.glucose_threshold", "血糖の基準", *g, 70.0..=400.0);
            }
        }
        if let ProgrammeRules::Risk { thresholds, .. } = &self.rules {
            for t in thresholds {
                let field = match t.sex {
                    Some(sex) => format!("rules.thresholds.{:?}_{sex:?}", t.item),
                    None => format!("rules.thresholds.{:?}", t.item),
                };
                let levels: Vec<f64> = [t.guidance, t.referral, t.urgent]
                    .into_iter()
                    .flatten()
                    .collect();
                if levels.iter().any(|v| !v.is_finite() || *v < 0.0) {
                    out.push(SettingProblem {
                        field,
                        message: format!(
                            "{} の判定値は0以上の数で指定してください。",
                            t.item.label()
                        ),
                    });
                    continue;
                }
                // Each level is further from normal than the one before it.
                let ordered = levels.windows(2).all(|w| match t.direction {
                    crate::risk::Direction::AtOrAbove => w[0] <= w[1],
                    crate::risk::Direction::Below | crate::risk::Direction::AtOrBelow => {
                        w[0] >= w[1]
                    }
                });
                if !ordered {
                    out.push(SettingProblem {
                        field,
                        message: format!(
                            "{} の判定値の順序が正しくありません（保健指導判定値 → 受診勧奨判定値 → すぐに受診 の順に{}なるように）。",
                            t.item.label(),
                            if t.direction == crate::risk::Direction::AtOrAbove { "大きく" } else { "小さく" }
                        ),
                    });
                }
            }
        }
        if let Some(ages) = self.ages {
            let ok = (0..=120).contains(&ages.min)
                && ages.max.is_none_or(|max| (ages.min..=120).contains(&max));
            if !ok {
                out.push(SettingProblem {
                    field: "ages".to_owned(),
                    message: "対象年齢は0〜120歳で、下限が上限以下になるように指定してください。"
                        .to_owned(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;

    #[test]
    fn the_defaults_of_every_programme_and_edition_have_no_problem() {
        for code in ProgrammeCode::ALL {
            assert_eq!(
                ProgrammeSettings::default_for(code).problems(),
                vec![],
                "{code:?}"
            );
        }
        for edition in [ThresholdEdition::Heisei30, ThresholdEdition::Reiwa6] {
            assert!(
                ProgrammeSettings::risk_edition(edition)
                    .problems()
                    .is_empty()
            );
        }
    }

    #[test]
    fn values_a_programme_cannot_mean_are_named_by_field() {
        let fields = |s: &ProgrammeSettings| -> Vec<String> {
            s.problems().into_iter().map(|p| p.field).collect()
        };
        let mut d = ProgrammeSettings::default_for(ProgrammeCode::D);
        if let ProgrammeRules::Diabetes {
            hba1c_threshold,
            follow_up_months,
            interrupted_months,
            ..
        } = &mut d.rules
        {
            *hba1c_threshold = 65.0; // a typo for 6.5
            *follow_up_months = 0;
            *interrupted_months = Some(6);
        }
        d.ages = Some(AgeRange {
            min: 75,
            max: Some(40),
        });
        assert_eq!(
            fields(&d),
            ["rules.follow_up_months", "rules.hba1c_threshold", "ages"]
        );
        let mut r = ProgrammeSettings::default_for(ProgrammeCode::R);
        if let ProgrammeRules::Risk { thresholds, .. } = &mut r.rules {
            let hba1c = thresholds
                .iter_mut()
                .find(|t| t.item == crate::checkup::Item::HbA1c)
                .unwrap();
            hba1c.referral = Some(5.0); // below its 保健指導判定値 5.6
            let egfr = thresholds
                .iter_mut()
                .find(|t| t.item == crate::checkup::Item::Egfr)
                .unwrap();
            egfr.urgent = Some(50.0); // eGFR: すぐに must be below 受診勧奨 45
        }
        assert_eq!(
            fields(&r),
            ["rules.thresholds.HbA1c", "rules.thresholds.Egfr"]
        );
        let mut c = ProgrammeSettings::default_for(ProgrammeCode::C);
        c.max_trigger_age_months = 999;
        assert_eq!(fields(&c), ["max_trigger_age_months"]);
    }
}
