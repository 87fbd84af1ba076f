//! Retention and disposal of records (特定健康診査及び特定保健指導の実施に関する基準
//! 第10条).
//!
//! 特定健診 records are kept for 5 years from the fiscal year after the one in which they
//! were made (記録の作成の日の属する年度の翌年度から5年間), or — when the person left the
//! society — until the end of the fiscal year after the one in which they left (加入者
//! でなくなった日の属する年度の翌年度の末日まで), whichever is shorter. A society may keep
//! records longer (a setting: years instead of 5). Collabo applies the same rule to the
//! records it derives from or keeps beside the checkups: 要精密検査 referrals, claims
//! visit facts and closed cases (each from its own date).
//!
//! This module only decides which records are past their date on `today`; the app
//! lists them (a dry run) and, when confirmed, deletes them with an audit record per
//! person.

use crate::calendar::FiscalYear;
use crate::ids::MemberKey;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The society's retention setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRule {
    /// Years kept from the fiscal year after the record's (実施基準 第10条: 5; a society
    /// may set more, never less).
    pub years: i16,
}

impl Default for RetentionRule {
    fn default() -> Self {
        RetentionRule { years: 5 }
    }
}

impl RetentionRule {
    /// The legal minimum is 5 years.
    pub fn new(years: i16) -> Option<Self> {
        (years >= 5).then_some(RetentionRule { years })
    }

    /// The last day a record made on `made` is kept, for a person who left on `left`
    /// (資格喪失日, the day they ceased to be insured: 加入者でなくなった日), if they left.
    pub fn keep_until(&self, made: Date, left: Option<Date>) -> Date {
        let by_age = FiscalYear::new(FiscalYear::of(made).year() + self.years).last_day();
        match left {
            // Leaving shortens the period, never lengthens it: the end of the fiscal year
            // after the one the person left in.
            Some(left) => {
                let by_leaving = FiscalYear::new(FiscalYear::of(left).year() + 1).last_day();
                by_age.min(by_leaving)
            }
            None => by_age,
        }
    }

    /// Past its retention on `today`.
    pub fn is_past(&self, made: Date, left: Option<Date>, today: Date) -> bool {
        today > self.keep_until(made, left)
    }

    /// The same rule as two dates a database can compare against: a record is past
    /// on `today` exactly when it was made before `made_before`, or its person's
    /// 資格喪失日 is before `left_before` (tested against [`RetentionRule::is_past`]).
    /// The store uses them to read only the candidates; the app still decides each
    /// record with [`past_retention`].
    pub fn cutoffs(&self, today: Date) -> Cutoffs {
        let this_year = FiscalYear::of(today).year();
        Cutoffs {
            // Kept through FY(made) + years: past when FY(made) + years < FY(today).
            made_before: FiscalYear::new(this_year - self.years).first_day(),
            // Kept through FY(left) + 1: past when FY(left) + 1 < FY(today).
            left_before: FiscalYear::new(this_year - 1).first_day(),
        }
    }
}

/// See [`RetentionRule::cutoffs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    /// Records made before this day are past by age.
    pub made_before: Date,
    /// Records of a person whose 資格喪失日 is before this are past.
    pub left_before: Date,
}

/// What kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecordKind {
    /// A checkup (特定健診・事業主健診・人間ドック).
    Checkup,
    /// A 要精密検査 referral.
    Referral,
    /// A visit fact from claims.
    Visit,
    /// A closed case with its timeline.
    ClosedCase,
}

impl RecordKind {
    /// Every kind.
    pub const ALL: [RecordKind; 4] = [
        RecordKind::Checkup,
        RecordKind::Referral,
        RecordKind::Visit,
        RecordKind::ClosedCase,
    ];
    /// 健診 / 要精密検査 / 受診記録 / 終了ケース.
    pub fn label(self) -> &'static str {
        match self {
            RecordKind::Checkup => "健診結果",
            RecordKind::Referral => "要精密検査",
            RecordKind::Visit => "受診記録（レセプト）",
            RecordKind::ClosedCase => "終了ケース",
        }
    }
}

/// One stored record as the retention job sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRecord {
    /// Whose.
    pub member: MemberKey,
    /// What.
    pub kind: RecordKind,
    /// The date it was made (exam, screening, service, closing).
    pub made: Date,
    /// The store's id of the record (opaque here).
    pub id: String,
}

/// The records past their retention on `today`, given each person's 資格喪失日
/// (`left`, `None` while insured).
pub fn past_retention(
    records: &[HeldRecord],
    left: impl Fn(&MemberKey) -> Option<Date>,
    rule: RetentionRule,
    today: Date,
) -> Vec<&HeldRecord> {
    records
        .iter()
        .filter(|r| rule.is_past(r.made, left(&r.member), today))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::*;

    fn d(y: i16, m: i8, day: i8) -> Date {
        Date::constant(y, m, day)
    }

    /// 実施基準 第10条: made in FY2018 → kept FY2019–FY2023, disposable from 2024-04-01.
    #[test]
    fn five_years_from_the_year_after_the_record() {
        let rule = RetentionRule::default();
        assert_eq!(rule.keep_until(d(2018, 6, 10), None), d(2024, 3, 31));
        assert_eq!(rule.keep_until(d(2019, 3, 31), None), d(2024, 3, 31));
        assert!(!rule.is_past(d(2018, 6, 10), None, d(2024, 3, 31)));
        assert!(rule.is_past(d(2018, 6, 10), None, d(2024, 4, 1)));
        // A longer society setting keeps it longer; less than 5 is refused.
        assert_eq!(
            RetentionRule::new(7)
                .unwrap()
                .keep_until(d(2018, 6, 10), None),
            d(2026, 3, 31)
        );
        assert_eq!(RetentionRule::new(4), None);
    }

    /// The cutoffs say exactly what `is_past` says, for every pair of dates over two
    /// decades (a record made on any 13th, a person who left on any 28th or never).
    #[test]
    fn the_cutoffs_agree_with_the_rule_day_for_day() {
        for years in [5, 7] {
            let rule = RetentionRule::new(years).unwrap();
            for today_year in [2024_i16, 2026] {
                for today in [d(today_year, 3, 31), d(today_year, 4, 1)] {
                    let cut = rule.cutoffs(today);
                    for made_year in 2005..=2026 {
                        for made_month in 1..=12 {
                            let made = d(made_year, made_month, 13);
                            for left in [
                                None,
                                Some(d(made_year, 3, 31)),
                                Some(d(made_year, 4, 1)),
                                Some(d(2022, 3, 31)),
                                Some(d(2023, 4, 1)),
                            ] {
                                let by_cut = made < cut.made_before
                                    || left.is_some_and(|l| l < cut.left_before);
                                assert_eq!(
                                    by_cut,
                                    rule.is_past(made, left, today),
                                    "years {years} today {today} made {made} left {left:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// 実施基準 第10条: someone who left in FY2020 → until the end of FY2021, if shorter.
    #[test]
    fn leaving_shortens_the_period_to_the_end_of_the_next_fiscal_year() {
        let rule = RetentionRule::default();
        assert_eq!(
            rule.keep_until(d(2019, 6, 1), Some(d(2020, 9, 30))),
            d(2022, 3, 31)
        );
        // Left long after: the five years are shorter.
        assert_eq!(
            rule.keep_until(d(2015, 6, 1), Some(d(2024, 9, 30))),
            d(2021, 3, 31)
        );
    }

    /// A synthetic two-decade register: one checkup a year FY2005–FY2025 for a person
    /// still insured and for one who left on 2016-12-31. On 2026-04-01 exactly the
    /// checkups made up to FY2020 (kept to 2026-03-31 at the latest) are past for the
    /// first, and all of the second's (kept to 2018-03-31 at the latest, the end of the
    /// fiscal year after FY2016).
    #[test]
    fn the_dry_run_lists_exactly_the_records_past_their_date_over_two_decades() {
        let person = |n: &str| MemberKey {
            insurer: InsurerNumber::parse("06139999").unwrap(),
            symbol: Symbol::parse("1").unwrap(),
            number: CardNumber::parse(n).unwrap(),
            branch: Branch::parse("00").unwrap(),
        };
        let (stays, leaves) = (person("1"), person("2"));
        let mut records = Vec::new();
        for year in 2005..=2025 {
            for who in [&stays, &leaves] {
                if who == &leaves && year > 2016 {
                    continue;
                }
                records.push(HeldRecord {
                    member: who.clone(),
                    kind: RecordKind::Checkup,
                    made: d(year, 6, 15),
                    id: format!("{}-{year}", who.number.as_str()),
                });
            }
        }
        let left = |m: &MemberKey| (m == &leaves).then(|| d(2016, 12, 31));
        let today = d(2026, 4, 1);
        let past = past_retention(&records, left, RetentionRule::default(), today);
        let ids: Vec<&str> = past.iter().map(|r| r.id.as_str()).collect();
        let mut expected: Vec<String> = Vec::new();
        for year in 2005..=2025 {
            // Insured: kept to the end of FY(year + 5); past on 2026-04-01 when year ≤ 2020.
            if year <= 2020 {
                expected.push(format!("1-{year}"));
            }
            // Left in FY2016: kept at most to 2018-03-31, so every record is past.
            if year <= 2016 {
                expected.push(format!("2-{year}"));
            }
        }
        let mut ids_sorted: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        ids_sorted.sort();
        expected.sort();
        assert_eq!(ids_sorted, expected);
        // The day before, FY2020's record of the insured person is still kept.
        let before = past_retention(&records, left, RetentionRule::default(), d(2026, 3, 31));
        assert!(!before.iter().any(|r| r.id == "1-2020"));
        assert!(before.iter().any(|r| r.id == "1-2019"));
    }
}
