//! An employer's aggregate figures (集計) for one fiscal year, and the small-cell rule
//! that protects them.
//!
//! The table is computed from the checkups the employer may see
//! ([`crate::visibility`]) with programme R's selection ([`crate::risk::risk_holder_flags`]),
//! the same people as its risk-holder list. It is published (stored and served
//! unchanged) rather than computed per request, so reading it twice around an import
//! cannot isolate a person.
//!
//! Suppression (健康スコアリングレポート convention, both numbers are settings):
//! - nothing is shown for an employer with fewer than `min_population` 本人;
//! - primary: a cell under `min_cell` people is suppressed;
//! - complementary: every cell is part of its parent total (受診者 of 加入者, each
//!   risk and smoking count of 受診者), and the unpublished remainder
//!   (parent − cell) is a cell too; a cell whose remainder is under `min_cell` is
//!   suppressed, so no suppressed or unpublished cell can be computed by subtracting
//!   shown ones.

use crate::checkup::{Checkup, Item, SmokingAnswer};
use crate::member::Sex;
use crate::programme::ProgrammeSettings;
use crate::risk::risk_holder_flags;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A cell of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AggregateCell {
    /// 加入者数 (本人, insured today).
    Population,
    /// 健診受診者数 (本人 with a visible checkup in the year).
    Examined,
    /// リスク保有者数: people with any item at programme R's sharing level.
    RiskHolders,
    /// 喫煙者数.
    Smokers,
    /// リスク保有者数 for one item.
    RiskItem(Item),
}

impl AggregateCell {
    /// The total this cell is part of.
    pub fn parent(self) -> Option<AggregateCell> {
        match self {
            AggregateCell::Population => None,
            AggregateCell::Examined => Some(AggregateCell::Population),
            _ => Some(AggregateCell::Examined),
        }
    }
    /// Japanese label.
    pub fn label(self) -> String {
        match self {
            AggregateCell::Population => "加入者数（本人）".into(),
            AggregateCell::Examined => "健診受診者数".into(),
            AggregateCell::RiskHolders => "リスク保有者数（いずれかの項目）".into(),
            AggregateCell::Smokers => "喫煙者数".into(),
            AggregateCell::RiskItem(item) => format!("リスク保有者数：{}", item.label()),
        }
    }
}

/// The small-cell rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionRule {
    /// Employers with fewer 本人 than this get no figures (50).
    pub min_population: u64,
    /// Cells (and remainders) under this are suppressed (10).
    pub min_cell: u64,
}

impl Default for SuppressionRule {
    fn default() -> Self {
        SuppressionRule {
            min_population: 50,
            min_cell: 10,
        }
    }
}

impl SuppressionRule {
    /// The rule in words, for the page.
    pub fn describe(&self) -> String {
        format!(
            "加入者（本人）が{}人未満の事業所は集計を表示しません。{}人未満の区分、および上位の区分との差が{}人未満になる区分は「秘匿」と表示します（差し引きで少人数が分からないようにするため）。",
            self.min_population, self.min_cell, self.min_cell
        )
    }
}

/// One cell with its count and whether it may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountedCell {
    /// Which cell.
    pub cell: AggregateCell,
    /// The true count.
    pub count: u64,
    /// May be shown to the employer.
    pub shown: bool,
}

/// A computed table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregateTable {
    /// Cells in display order.
    pub cells: Vec<CountedCell>,
    /// The rule applied.
    pub rule: SuppressionRule,
}

impl AggregateTable {
    /// The count of a cell.
    pub fn count(&self, cell: AggregateCell) -> Option<u64> {
        self.cells.iter().find(|c| c.cell == cell).map(|c| c.count)
    }
    /// What an employer sees of a cell: the count, or `None` when suppressed.
    pub fn shown(&self, cell: AggregateCell) -> Option<u64> {
        self.cells
            .iter()
            .find(|c| c.cell == cell)
            .and_then(|c| c.shown.then_some(c.count))
    }
}

/// One examined person: their latest visible checkup of the year and their sex.
#[derive(Debug, Clone, Copy)]
pub struct Examined<'a> {
    /// The checkup.
    pub checkup: &'a Checkup,
    /// Sex (haemoglobin thresholds).
    pub sex: Sex,
}

/// Counts and suppresses an employer's table. `population` is the number of 本人
/// insured today; `examined` one entry per person; `r` programme R's settings of the
/// year (its selection decides who is a risk holder).
pub fn employer_table(
    population: u64,
    examined: &[Examined<'_>],
    r: &ProgrammeSettings,
    rule: SuppressionRule,
) -> AggregateTable {
    let mut counts: BTreeMap<AggregateCell, u64> = BTreeMap::new();
    counts.insert(AggregateCell::Population, population);
    counts.insert(AggregateCell::Examined, examined.len() as u64);
    counts.insert(AggregateCell::RiskHolders, 0);
    counts.insert(AggregateCell::Smokers, 0);
    for e in examined {
        let items: BTreeSet<Item> = risk_holder_flags(e.checkup, e.sex, r)
            .into_iter()
            .map(|f| f.item)
            .collect();
        if !items.is_empty() {
            *counts.entry(AggregateCell::RiskHolders).or_default() += 1;
        }
        for item in items {
            *counts.entry(AggregateCell::RiskItem(item)).or_default() += 1;
        }
        if e.checkup.questionnaire.smoking == Some(SmokingAnswer::Smokes) {
            *counts.entry(AggregateCell::Smokers).or_default() += 1;
        }
    }
    suppress(counts, rule)
}

/// Applies the rule (see the module docs) to counts keyed by cell.
pub fn suppress(counts: BTreeMap<AggregateCell, u64>, rule: SuppressionRule) -> AggregateTable {
    let population = counts.get(&AggregateCell::Population).copied().unwrap_or(0);
    let cells = counts
        .iter()
        .map(|(&cell, &count)| {
            let big_enough = population >= rule.min_population;
            let shown = big_enough
                && match cell.parent() {
                    None => true,
                    Some(parent) => {
                        let total = counts.get(&parent).copied().unwrap_or(0);
                        count >= rule.min_cell && total.saturating_sub(count) >= rule.min_cell
                    }
                };
            CountedCell { cell, count, shown }
        })
        .collect();
    AggregateTable { cells, rule }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(
        population: u64,
        examined: u64,
        risk: u64,
        smokers: u64,
        hba1c: u64,
    ) -> AggregateTable {
        let counts = BTreeMap::from([
            (AggregateCell::Population, population),
            (AggregateCell::Examined, examined),
            (AggregateCell::RiskHolders, risk),
            (AggregateCell::Smokers, smokers),
            (AggregateCell::RiskItem(Item::HbA1c), hba1c),
        ]);
        suppress(counts, SuppressionRule::default())
    }

    #[test]
    fn sixty_examined_and_fifty_two_risk_holders_do_not_reveal_eight() {
        // The probe of the issue: 60 − 52 would reveal the 8 people without risk.
        let t = table(100, 60, 52, 20, 15);
        assert_eq!(t.shown(AggregateCell::Examined), Some(60));
        assert_eq!(t.shown(AggregateCell::RiskHolders), None);
        assert_eq!(t.shown(AggregateCell::Smokers), Some(20));
    }

    #[test]
    fn a_small_employer_sees_nothing() {
        let t = table(49, 40, 20, 20, 20);
        assert!(t.cells.iter().all(|c| !c.shown));
    }

    proptest! {
        /// No published table lets a cell under the minimum be computed: every shown
        /// cell is at least `min_cell`, and for every shown cell whose parent is shown,
        /// the remainder (parent − cell) is at least `min_cell` too.
        #[test]
        fn no_small_cell_is_derivable_from_a_published_table(
            population in 0u64..400,
            examined_share in 0.0f64..=1.0,
            shares in proptest::collection::vec(0.0f64..=1.0, 3),
        ) {
            let examined = (population as f64 * examined_share) as u64;
            let part = |s: f64| (examined as f64 * s) as u64;
            let t = table(population, examined, part(shares[0]), part(shares[1]), part(shares[2]));
            let rule = t.rule;
            for c in &t.cells {
                if !c.shown { continue; }
                if let Some(parent) = c.cell.parent() {
                    prop_assert!(c.count >= rule.min_cell);
                    let p = t.count(parent).unwrap();
                    prop_assert!(p - c.count >= rule.min_cell, "{:?}: {} of {}", c.cell, c.count, p);
                }
            }
        }
    }
}
