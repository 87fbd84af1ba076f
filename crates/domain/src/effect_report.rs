//! What each programme achieved for one cohort: the cases of one fiscal year of
//! triggers (年度), followed to their next checkup and through claims.
//!
//! A [`Tally`] is fed one member at a time (the app walks the register in chunks, as
//! the engine does) and is finished into an [`EffectReport`] of counts, rates with
//! their Wilson interval, mean changes, the regression discontinuity of D at its
//! threshold, and per-employer cells under the aggregates' small-cell rule. Pure: no
//! I/O, no clock; what "covered by claims" means is the caller's [`ClaimsCoverage`].
//!
//! It does not decide anything about a case; it reads timelines the engine wrote.

use crate::aggregates::SuppressionRule;
use crate::calendar::{FiscalYear, add_months};
use crate::case::{Case, CaseEvent, CaseState, Outcome, Trigger};
use crate::checkup::{Checkup, Item, SmokingAnswer};
use crate::effects::{self, Discontinuity, Estimate, Rate, discontinuity, rule_of_thumb_bandwidth};
use crate::ids::EmployerCode;
use crate::member::Member;
use crate::programme::{
    LetterVariant, ProgrammeBook, ProgrammeCode, ProgrammeRules, VisitCriteria,
};
use crate::referral::CancerType;
use crate::risk::risk_holder_flags;
use crate::visit::{ClaimsCoverage, ServiceTime, VisitFact};
use jiff::civil::Date;
use serde::Serialize;
use std::collections::BTreeMap;

/// Months after a D checkup within which a diabetes visit counts for the regression
/// discontinuity: the notice reaches people about two months after the checkup, and
/// its follow-up window is six months.
pub const RD_WINDOW_MONTHS: i32 = 8;
/// Half-width of the HbA1c band (points) read for the discontinuity.
pub const RD_BAND: f64 = 1.5;
/// The narrowest bandwidth allowed (HbA1c is measured in steps of 0.1).
pub const RD_MIN_BANDWIDTH: f64 = 0.4;

/// A checkup counts as the "next" one when it is 6 to 18 months after the trigger.
fn next_checkup(checkups: &[Checkup], after: Date) -> Option<&Checkup> {
    let from = add_months(after, 6).ok()?;
    let to = add_months(after, 18).ok()?;
    checkups
        .iter()
        .filter(|c| c.exam_date >= from && c.exam_date <= to)
        .min_by_key(|c| c.exam_date)
}

/// One member's facts, as the engine reads them.
#[derive(Debug, Clone, Copy)]
pub struct MemberFacts<'a> {
    /// The member.
    pub member: &'a Member,
    /// Checkups.
    pub checkups: &'a [Checkup],
    /// Visit facts.
    pub visits: &'a [VisitFact],
    /// Cases with their timelines.
    pub cases: &'a [Case],
}

/// What holds for the whole report.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The cohort: cases whose settings year (年度 of the trigger) is this.
    pub cohort: FiscalYear,
    /// Programme settings (the D threshold and criteria of that year).
    pub book: &'a ProgrammeBook,
    /// Complete claims months.
    pub coverage: &'a ClaimsCoverage,
    /// What counts as smoking-cessation treatment in claims (ニコチン依存症管理料 or a
    /// cessation drug: `engine::cessation_criteria`), when the society's claims groups
    /// define it; `None`: not measured.
    pub cessation: Option<&'a crate::programme::VisitCriteria>,
}

/// Counts of one population (the society, or one employer).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    /// 本人 insured on the cohort's last day (an employer's population).
    pub insured_persons: u64,
    /// S notified.
    pub s_notified: u64,
    /// S notified with a next checkup answering the smoking question.
    pub s_with_next: u64,
    /// … who no longer smoke.
    pub s_quit: u64,
    /// S notified whose year after the notice is covered by claims.
    pub s_cessation_covered: u64,
    /// … with cessation treatment started after the notice.
    pub s_cessation: u64,
    /// D notified.
    pub d_notified: u64,
    /// D decided 受診.
    pub d_visited: u64,
    /// D decided 未受診.
    pub d_not_visited: u64,
    /// D notified, not decided yet (waiting for the window or for claims).
    pub d_pending: u64,
    /// D notified with a next checkup with HbA1c.
    pub d_with_next: u64,
    /// … below 7.0.
    pub d_below_7: u64,
    /// … below 6.5.
    pub d_below_6_5: u64,
    /// D notified whose 12 months after the notice are covered by claims.
    pub d_year_covered: u64,
    /// … with no diabetes visit in them.
    pub d_untreated_after_year: u64,
    /// C by cancer type.
    pub c: BTreeMap<CancerType, CancerCounts>,
    /// R: per item, flagged people with a next checkup, and those no longer flagged.
    pub r: BTreeMap<Item, (u64, u64)>,
    /// S by letter wording: (quit, with a next checkup).
    pub s_variants: BTreeMap<LetterVariant, (u64, u64)>,
    /// C by letter wording: (精密検査 after the first notice, decided).
    pub c_variants: BTreeMap<LetterVariant, (u64, u64)>,
}

/// Programme C counts of one cancer type.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CancerCounts {
    /// Notified.
    pub notified: u64,
    /// Decided (visited, or 未受診 at the first check).
    pub decided: u64,
    /// 精密検査 within the follow-up window of the first notice.
    pub visited_after_notice: u64,
    /// Re-notified.
    pub renotified: u64,
    /// Re-notified and decided after it.
    pub renotice_decided: u64,
    /// 精密検査 after the re-notice.
    pub visited_after_renotice: u64,
    /// Not decided yet.
    pub pending: u64,
    /// Days from screening to the visit (visits with a known day).
    pub days_to_visit: Vec<i64>,
}

/// Accumulates members' facts into counts.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    total: Counts,
    employers: BTreeMap<EmployerCode, Counts>,
    hba1c_change_visited: Vec<f64>,
    hba1c_change_not_visited: Vec<f64>,
    rd_points: Vec<(f64, f64)>,
    rd_threshold: Option<f64>,
}

fn mailed_on(case: &Case) -> Vec<Date> {
    case.events
        .iter()
        .filter(|e| matches!(e.event, CaseEvent::NoticeMailed))
        .map(|e| e.on)
        .collect()
}

fn case_year(case: &Case) -> Option<FiscalYear> {
    case.events.iter().find_map(|e| match e.event {
        CaseEvent::Identified { fiscal_year, .. } => Some(fiscal_year),
        _ => None,
    })
}

fn first_visit(case: &Case) -> Option<(Date, ServiceTime)> {
    case.events.iter().find_map(|e| match e.event {
        CaseEvent::VisitFound { time, .. } => Some((e.on, time)),
        _ => None,
    })
}

fn matching_visit(
    visits: &[VisitFact],
    criteria: &VisitCriteria,
    from: Date,
    to: Date,
    trigger: Date,
) -> bool {
    visits.iter().any(|v| {
        v.time.may_be_on_or_after(from)
            && v.time.may_be_on_or_before(to)
            && criteria.matches(v, trigger)
    })
}

impl Tally {
    /// Adds one member.
    pub fn add(&mut self, facts: &MemberFacts<'_>, scope: &Scope<'_>) {
        let mut counts = Counts::default();
        if facts.member.is_insured_person() && facts.member.is_insured_on(scope.cohort.last_day()) {
            counts.insured_persons = 1;
        }
        let d_settings = scope.book.for_year(ProgrammeCode::D, scope.cohort);
        for case in facts.cases {
            if case_year(case) != Some(scope.cohort) {
                continue;
            }
            let mailed = mailed_on(case);
            let trigger = case.key.trigger;
            match case.key.programme {
                ProgrammeCode::S => {
                    self.add_smoking(&mut counts, facts, scope, trigger, &mailed, case.variant());
                }
                ProgrammeCode::D => {
                    self.add_diabetes(&mut counts, facts, scope, case, &mailed);
                }
                ProgrammeCode::C => add_cancer(&mut counts, case, &mailed),
                ProgrammeCode::R => add_risk(&mut counts, facts, scope, case),
            }
        }
        // The discontinuity reads every checkup of the cohort near the threshold.
        if let Some(ProgrammeRules::Diabetes {
            hba1c_threshold,
            lookback_months,
            lookback,
            follow_up,
            ..
        }) = d_settings.map(|s| &s.rules)
        {
            self.rd_threshold = Some(*hba1c_threshold);
            for c in facts.checkups {
                if FiscalYear::of(c.exam_date) != scope.cohort
                    || !facts.member.is_insured_on(c.exam_date)
                {
                    continue;
                }
                let Some(h) = c.number(Item::HbA1c) else {
                    continue;
                };
                if (h - hba1c_threshold).abs() > RD_BAND {
                    continue;
                }
                let (Ok(back), Ok(end)) = (
                    add_months(c.exam_date, -lookback_months),
                    add_months(c.exam_date, RD_WINDOW_MONTHS),
                ) else {
                    continue;
                };
                // The engine's population: no lifestyle-disease visit in the look-back;
                // the window must be complete in claims.
                if !scope.coverage.covers(back, end)
                    || matching_visit(facts.visits, lookback, back, c.exam_date, c.exam_date)
                {
                    continue;
                }
                let Some(after) = c.exam_date.tomorrow().ok() else {
                    continue;
                };
                let visited = matching_visit(facts.visits, follow_up, after, end, c.exam_date);
                self.rd_points.push((h, if visited { 1.0 } else { 0.0 }));
            }
        }
        add_counts(&mut self.total, &counts);
        add_counts(
            self.employers
                .entry(facts.member.employer.clone())
                .or_default(),
            &counts,
        );
    }

    fn add_smoking(
        &mut self,
        counts: &mut Counts,
        facts: &MemberFacts<'_>,
        scope: &Scope<'_>,
        trigger: Trigger,
        mailed: &[Date],
        variant: Option<LetterVariant>,
    ) {
        let Some(first) = mailed.first().copied() else {
            return;
        };
        counts.s_notified += 1;
        if let Some(answer) =
            next_checkup(facts.checkups, trigger.date()).and_then(|c| c.questionnaire.smoking)
        {
            let quit = answer != SmokingAnswer::Smokes;
            counts.s_with_next += 1;
            counts.s_quit += u64::from(quit);
            if let Some(v) = variant {
                let e = counts.s_variants.entry(v).or_default();
                e.0 += u64::from(quit);
                e.1 += 1;
            }
        }
        if let (Some(criteria), Ok(end)) = (scope.cessation, add_months(first, 12))
            && scope.coverage.covers(first, end)
        {
            counts.s_cessation_covered += 1;
            if facts.visits.iter().any(|v| {
                v.time.may_be_on_or_after(first)
                    && v.time.may_be_on_or_before(end)
                    && criteria.matches(v, first)
            }) {
                counts.s_cessation += 1;
            }
        }
    }

    fn add_diabetes(
        &mut self,
        counts: &mut Counts,
        facts: &MemberFacts<'_>,
        scope: &Scope<'_>,
        case: &Case,
        mailed: &[Date],
    ) {
        let Some(first) = mailed.first().copied() else {
            return;
        };
        counts.d_notified += 1;
        let state = case.state();
        let visited = match state {
            CaseState::Closed(Outcome::Visited) => {
                counts.d_visited += 1;
                Some(true)
            }
            CaseState::Closed(Outcome::NotVisited) => {
                counts.d_not_visited += 1;
                Some(false)
            }
            s if s.is_open() => {
                counts.d_pending += 1;
                None
            }
            _ => None,
        };
        let trigger = case.key.trigger.date();
        let before = facts
            .checkups
            .iter()
            .find(|c| c.exam_date == trigger)
            .and_then(|c| c.number(Item::HbA1c));
        let after = next_checkup(facts.checkups, trigger).and_then(|c| c.number(Item::HbA1c));
        if let (Some(b), Some(a)) = (before, after) {
            counts.d_with_next += 1;
            counts.d_below_7 += u64::from(a < 7.0);
            counts.d_below_6_5 += u64::from(a < 6.5);
            match visited {
                Some(true) => self.hba1c_change_visited.push(a - b),
                Some(false) => self.hba1c_change_not_visited.push(a - b),
                None => {}
            }
        }
        if let Some(ProgrammeRules::Diabetes { follow_up, .. }) = scope
            .book
            .for_year(ProgrammeCode::D, scope.cohort)
            .map(|s| &s.rules)
            && let Ok(end) = add_months(first, 12)
            && scope.coverage.covers(first, end)
        {
            counts.d_year_covered += 1;
            if !matching_visit(facts.visits, follow_up, first, end, trigger) {
                counts.d_untreated_after_year += 1;
            }
        }
    }

    /// The report.
    pub fn finish(self, scope: &Scope<'_>, rule: SuppressionRule) -> EffectReport {
        let total = &self.total;
        let rd_threshold = self.rd_threshold.unwrap_or(6.5);
        let running: Vec<f64> = self.rd_points.iter().map(|p| p.0).collect();
        let bandwidth = rule_of_thumb_bandwidth(&running, RD_MIN_BANDWIDTH);
        let rd = discontinuity(&self.rd_points, rd_threshold, bandwidth);
        let all_changes: Vec<f64> = self
            .hba1c_change_visited
            .iter()
            .chain(&self.hba1c_change_not_visited)
            .copied()
            .collect();
        let cancer = total
            .c
            .iter()
            .map(|(cancer, c)| CancerEffect {
                cancer: *cancer,
                label: cancer.label().to_owned(),
                notified: c.notified,
                pending: c.pending,
                after_notice: effects::rate(c.visited_after_notice, c.decided),
                after_renotice: effects::rate(c.visited_after_renotice, c.renotice_decided),
                median_days_to_visit: median(&c.days_to_visit),
            })
            .collect();
        let risk = total
            .r
            .iter()
            .map(|(item, (n, improved))| RiskEffect {
                item: *item,
                label: item.label().to_owned(),
                improved: effects::rate(*improved, *n),
            })
            .collect();
        let employers = self
            .employers
            .iter()
            .map(|(code, c)| employer_cells(code, c, rule))
            .collect();
        EffectReport {
            cohort: scope.cohort.year(),
            smoking: SmokingEffect {
                notified: total.s_notified,
                quit: effects::rate(total.s_quit, total.s_with_next),
                cessation: scope
                    .cessation
                    .and_then(|_| effects::rate(total.s_cessation, total.s_cessation_covered)),
                cessation_measured: scope.cessation.is_some(),
                variants: compare(&total.s_variants),
            },
            diabetes: DiabetesEffect {
                notified: total.d_notified,
                pending: total.d_pending,
                visit: effects::rate(total.d_visited, total.d_visited + total.d_not_visited),
                with_next: total.d_with_next,
                hba1c_change: effects::mean(&all_changes).map(|(e, _)| e),
                hba1c_change_visited: effects::mean(&self.hba1c_change_visited).map(|(e, _)| e),
                hba1c_change_not_visited: effects::mean(&self.hba1c_change_not_visited)
                    .map(|(e, _)| e),
                hba1c_change_difference: effects::mean_difference(
                    &self.hba1c_change_visited,
                    &self.hba1c_change_not_visited,
                ),
                hba1c_people: (
                    self.hba1c_change_visited.len(),
                    self.hba1c_change_not_visited.len(),
                ),
                below_7: effects::rate(total.d_below_7, total.d_with_next),
                below_6_5: effects::rate(total.d_below_6_5, total.d_with_next),
                untreated_after_year: effects::rate(
                    total.d_untreated_after_year,
                    total.d_year_covered,
                ),
                discontinuity: rd,
                rd_threshold,
                rd_people: self.rd_points.len(),
            },
            cancer,
            cancer_variants: compare(&total.c_variants),
            risk,
            employers,
            rule,
        }
    }
}

fn median(values: &[i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    Some(v[v.len() / 2])
}

fn add_cancer(counts: &mut Counts, case: &Case, mailed: &[Date]) {
    let (Trigger::Referral(cancer, screening), Some(_)) = (case.key.trigger, mailed.first()) else {
        return;
    };
    let variant = case.variant();
    let c = counts.c.entry(cancer).or_default();
    c.notified += 1;
    let state = case.state();
    let (decided_before, visited_before) = (c.decided, c.visited_after_notice);
    let visit = first_visit(case);
    // A re-notice counts only when the visit (if any) came after it went out.
    let renotice = mailed.get(1).copied().filter(|r| {
        visit.is_none_or(|(found_on, time)| found_on >= *r && time.month().last_day() >= *r)
    });
    match (visit, renotice) {
        // Found before any re-notice went out: visited after the first notice.
        (Some((_, time)), None) => {
            c.decided += 1;
            c.visited_after_notice += 1;
            if let ServiceTime::Day(d) = time {
                c.days_to_visit.push((d - screening).get_days().into());
            }
        }
        (visit, Some(_)) => {
            c.decided += 1;
            c.renotified += 1;
            match (visit, state) {
                (Some((_, time)), _) => {
                    c.renotice_decided += 1;
                    c.visited_after_renotice += 1;
                    if let ServiceTime::Day(d) = time {
                        c.days_to_visit.push((d - screening).get_days().into());
                    }
                }
                (None, CaseState::Closed(Outcome::NotVisited)) => c.renotice_decided += 1,
                _ => {}
            }
        }
        (None, None) => match state {
            CaseState::Closed(Outcome::NotVisited) => c.decided += 1,
            s if s.is_open() => c.pending += 1,
            _ => {}
        },
    }
    if let Some(v) = variant {
        let (decided, visited) = (
            c.decided - decided_before,
            c.visited_after_notice - visited_before,
        );
        let e = counts.c_variants.entry(v).or_default();
        e.0 += visited;
        e.1 += decided;
    }
}

fn add_risk(counts: &mut Counts, facts: &MemberFacts<'_>, scope: &Scope<'_>, case: &Case) {
    let trigger = case.key.trigger.date();
    let Some(before) = facts.checkups.iter().find(|c| c.exam_date == trigger) else {
        return;
    };
    let Some(next) = next_checkup(facts.checkups, trigger) else {
        return;
    };
    let (Some(then), Some(later)) = (
        scope.book.for_year(ProgrammeCode::R, scope.cohort),
        scope
            .book
            .for_year(ProgrammeCode::R, FiscalYear::of(next.exam_date)),
    ) else {
        return;
    };
    let flagged_next: Vec<Item> = risk_holder_flags(next, facts.member.sex, later)
        .into_iter()
        .map(|f| f.item)
        .collect();
    for flag in risk_holder_flags(before, facts.member.sex, then) {
        // Only items measured again count.
        if next.value(flag.item).and_then(|v| v.number()).is_none() {
            continue;
        }
        let e = counts.r.entry(flag.item).or_default();
        e.0 += 1;
        e.1 += u64::from(!flagged_next.contains(&flag.item));
    }
}

fn add_counts(into: &mut Counts, c: &Counts) {
    into.insured_persons += c.insured_persons;
    into.s_notified += c.s_notified;
    into.s_with_next += c.s_with_next;
    into.s_quit += c.s_quit;
    into.s_cessation_covered += c.s_cessation_covered;
    into.s_cessation += c.s_cessation;
    into.d_notified += c.d_notified;
    into.d_visited += c.d_visited;
    into.d_not_visited += c.d_not_visited;
    into.d_pending += c.d_pending;
    into.d_with_next += c.d_with_next;
    into.d_below_7 += c.d_below_7;
    into.d_below_6_5 += c.d_below_6_5;
    into.d_year_covered += c.d_year_covered;
    into.d_untreated_after_year += c.d_untreated_after_year;
    for (cancer, cc) in &c.c {
        let e = into.c.entry(*cancer).or_default();
        e.notified += cc.notified;
        e.decided += cc.decided;
        e.visited_after_notice += cc.visited_after_notice;
        e.renotified += cc.renotified;
        e.renotice_decided += cc.renotice_decided;
        e.visited_after_renotice += cc.visited_after_renotice;
        e.pending += cc.pending;
        e.days_to_visit.extend(&cc.days_to_visit);
    }
    for (item, (n, k)) in &c.r {
        let e = into.r.entry(*item).or_default();
        e.0 += n;
        e.1 += k;
    }
    for (from, to) in [
        (&c.s_variants, &mut into.s_variants),
        (&c.c_variants, &mut into.c_variants),
    ] {
        for (v, (k, n)) in from {
            let e = to.entry(*v).or_default();
            e.0 += k;
            e.1 += n;
        }
    }
}

/// Two letter wordings compared (A/B test): each rate and the difference B − A
/// (Newcombe). Assumes the wording was assigned at random (it is: a hash of the
/// person, see `programme::letter_variant`), so the difference is the wording's effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantComparison {
    /// Wording A.
    pub a: Option<Rate>,
    /// Wording B.
    pub b: Option<Rate>,
    /// B − A.
    pub difference: Option<Estimate>,
}

fn compare(by: &BTreeMap<LetterVariant, (u64, u64)>) -> Option<VariantComparison> {
    if by.is_empty() {
        return None;
    }
    let of = |v| by.get(&v).and_then(|(k, n)| effects::rate(*k, *n));
    let (a, b) = (of(LetterVariant::A), of(LetterVariant::B));
    let difference = match (&a, &b) {
        (Some(a), Some(b)) => Some(effects::rate_difference(b, a)),
        _ => None,
    };
    Some(VariantComparison { a, b, difference })
}

/// A rate cell of an employer: shown, or suppressed (秘匿) under the small-cell rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Cell {
    /// The rate.
    Shown(Rate),
    /// Fewer than the rule's minimum in the denominator or the count, or its remainder.
    Suppressed,
    /// Nobody to count.
    Empty,
}

impl Cell {
    fn of(k: u64, n: u64, rule: SuppressionRule) -> Cell {
        if n == 0 {
            return Cell::Empty;
        }
        // The count and its remainder must both be at least the minimum cell, so the
        // few people on either side cannot be told.
        if n < rule.min_cell || k < rule.min_cell || n - k < rule.min_cell {
            return Cell::Suppressed;
        }
        effects::rate(k, n).map_or(Cell::Empty, Cell::Shown)
    }
}

/// One employer's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmployerEffect {
    /// 事業所.
    pub employer: EmployerCode,
    /// Below the minimum population: no figures at all.
    pub too_small: bool,
    /// S quit rate.
    pub quit: Cell,
    /// D visit rate (decided cases).
    pub d_visit: Cell,
    /// C 精密検査 after the first notice, all types.
    pub c_after_notice: Cell,
}

fn employer_cells(code: &EmployerCode, c: &Counts, rule: SuppressionRule) -> EmployerEffect {
    let too_small = c.insured_persons < rule.min_population;
    let cell = |k, n| {
        if too_small {
            Cell::Suppressed
        } else {
            Cell::of(k, n, rule)
        }
    };
    let (c_k, c_n) = c.c.values().fold((0, 0), |(k, n), x| {
        (k + x.visited_after_notice, n + x.decided)
    });
    EmployerEffect {
        employer: code.clone(),
        too_small,
        quit: cell(c.s_quit, c.s_with_next),
        d_visit: cell(c.d_visited, c.d_visited + c.d_not_visited),
        c_after_notice: cell(c_k, c_n),
    }
}

/// S's effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SmokingEffect {
    /// Notified.
    pub notified: u64,
    /// Quit at the next checkup (denominator: notified with a next checkup).
    pub quit: Option<Rate>,
    /// Cessation treatment (claims) within a year of the notice.
    pub cessation: Option<Rate>,
    /// A cessation claims group exists, so the line above means something.
    pub cessation_measured: bool,
    /// Quit rate by letter wording, when S ran an A/B test.
    pub variants: Option<VariantComparison>,
}

/// D's effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiabetesEffect {
    /// Notified.
    pub notified: u64,
    /// Notified, not decided yet.
    pub pending: u64,
    /// 受診 within the follow-up window, over decided cases.
    pub visit: Option<Rate>,
    /// Notified with a next checkup.
    pub with_next: u64,
    /// Mean HbA1c change at the next checkup (decided cases).
    pub hba1c_change: Option<Estimate>,
    /// … of those who visited.
    pub hba1c_change_visited: Option<Estimate>,
    /// … of those who did not.
    pub hba1c_change_not_visited: Option<Estimate>,
    /// Visited − not visited (observational).
    pub hba1c_change_difference: Option<Estimate>,
    /// People behind the two changes above (visited, not visited).
    pub hba1c_people: (usize, usize),
    /// Next HbA1c below 7.0.
    pub below_7: Option<Rate>,
    /// Next HbA1c below 6.5.
    pub below_6_5: Option<Rate>,
    /// No diabetes visit within 12 months of the notice (covered cases).
    pub untreated_after_year: Option<Rate>,
    /// The notice's effect on the visit share at the threshold.
    pub discontinuity: Option<Discontinuity>,
    /// The threshold.
    pub rd_threshold: f64,
    /// People read for it (within the band).
    pub rd_people: usize,
}

/// C's effect per cancer type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CancerEffect {
    /// Type.
    pub cancer: CancerType,
    /// 肺がん …
    pub label: String,
    /// Notified.
    pub notified: u64,
    /// Not decided yet.
    pub pending: u64,
    /// 精密検査 within the window of the first notice.
    pub after_notice: Option<Rate>,
    /// 精密検査 after the re-notice (re-notified, decided).
    pub after_renotice: Option<Rate>,
    /// Median days from screening to the visit.
    pub median_days_to_visit: Option<i64>,
}

/// R's effect per item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskEffect {
    /// Item.
    pub item: Item,
    /// Its label.
    pub label: String,
    /// No longer a risk holder for it at the next checkup.
    pub improved: Option<Rate>,
}

/// The effect report of one cohort.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectReport {
    /// Fiscal year of the triggers.
    pub cohort: i16,
    /// S.
    pub smoking: SmokingEffect,
    /// D.
    pub diabetes: DiabetesEffect,
    /// C.
    pub cancer: Vec<CancerEffect>,
    /// 精密検査 after the first notice by letter wording (all types), when C ran an A/B test.
    pub cancer_variants: Option<VariantComparison>,
    /// R.
    pub risk: Vec<RiskEffect>,
    /// Per employer, suppressed.
    pub employers: Vec<EmployerEffect>,
    /// The rule used for them.
    pub rule: SuppressionRule,
}

/// What each estimate assumes, for the report (Japanese).
pub const ASSUMPTIONS: &[&str] = &[
    "率は95%信頼区間（Wilson法）付き。分母は各行に記載。",
    "禁煙率: 通知した喫煙者のうち、6〜18か月後の次回健診で問診に回答した人の中で「吸わない」と答えた割合。通知しなかった比較群はないため、通知の因果効果ではなく、自然な禁煙も含む。",
    "D受診率: 通知後6か月の判定が済んだ人のみ（判定待ちは別掲）。",
    "HbA1c変化: 次回健診の値 − 通知時の値。受診者と未受診者の差は観察による比較で、受診した人がもともと違う可能性を除けない。",
    "回帰不連続（D）: HbA1c 6.5 の前後で、生活習慣病のレセプトがない人の健診後8か月以内の糖尿病受診の割合の跳びを、閾値の両側の局所線形回帰（三角カーネル）で推定。帯域幅はシルバーマンの目安の2倍（最小0.4）。閾値のすぐ上と下の人は通知以外では同じと仮定（HbA1c の値を操作できないこと）。",
    "通知文案の比較（A/B）: 文案は人ごとに無作為に割り付け（事業と記号番号のハッシュ）、ケースに記録。差（B − A）は Newcombe 法の95%信頼区間。無作為割付なので差は文案の効果と読めるが、通知を受けた人の中での比較であり、通知そのものの効果ではない。",
    "事業所別: 本人50人未満の事業所は表示せず、10人未満の区分と差し引き10人未満になる区分は秘匿。",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::YearMonth;
    use crate::case::{CaseKey, DatedEvent};
    use crate::checkup::{CheckupSource, Observation, ObservedValue, Questionnaire};
    use crate::ids::*;
    use crate::member::{Address, Relationship, Sex};
    use crate::visit::{Evidence, GroupKind};

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 11) as f64) / ((1u64 << 53) as f64)
        }
    }

    fn member(n: u32, employer: &str) -> Member {
        Member {
            key: MemberKey {
                insurer: InsurerNumber::parse("06139999").unwrap(),
                symbol: Symbol::parse(employer).unwrap(),
                number: CardNumber::parse(&n.to_string()).unwrap(),
                branch: Branch::parse("00").unwrap(),
            },
            name_kanji: "架空　太郎".into(),
            name_kana: "カクウ　タロウ".into(),
            sex: Sex::Male,
            birth_date: Date::constant(1970, 1, 1),
            address: Address {
                postal_code: "1000000".into(),
                line1: "架空町".into(),
                line2: String::new(),
            },
            employer: EmployerCode::parse(employer).unwrap(),
            relationship: Relationship::Insured,
            qualified_from: Date::constant(2010, 4, 1),
            qualified_until: None,
        }
    }

    fn checkup(m: &Member, on: Date, hba1c: f64, smokes: bool) -> Checkup {
        Checkup {
            member: m.key.clone(),
            exam_date: on,
            source: CheckupSource::Employer,
            submitted_by: Some(m.employer.clone()),
            observations: vec![Observation {
                item: Item::HbA1c,
                value: ObservedValue::Number(hba1c),
            }],
            questionnaire: Questionnaire {
                smoking: Some(if smokes {
                    SmokingAnswer::Smokes
                } else {
                    SmokingAnswer::DoesNotSmoke
                }),
                ..Questionnaire::default()
            },
        }
    }

    fn case(
        m: &Member,
        programme: ProgrammeCode,
        on: Date,
        events: Vec<(Date, CaseEvent)>,
    ) -> Case {
        let mut all = vec![DatedEvent {
            on,
            event: CaseEvent::Identified {
                fiscal_year: FiscalYear::of(on),
                values: Vec::new(),
                late: false,
                source: None,
                warnings: Vec::new(),
                priority: false,
            },
        }];
        all.extend(
            events
                .into_iter()
                .map(|(on, event)| DatedEvent { on, event }),
        );
        Case {
            key: CaseKey {
                programme,
                member: m.key.clone(),
                trigger: Trigger::Checkup(on),
            },
            events: all,
        }
    }

    fn diabetes_visit(m: &Member, on: Date) -> VisitFact {
        VisitFact {
            member: m.key.clone(),
            time: ServiceTime::Day(on),
            institution: "1310000013".into(),
            evidence: [
                Evidence {
                    kind: GroupKind::Condition,
                    group: "diabetes".into(),
                    suspected: false,
                    started_on: None,
                },
                Evidence {
                    kind: GroupKind::Procedure,
                    group: "diabetes_care".into(),
                    suspected: false,
                    started_on: None,
                },
            ]
            .into_iter()
            .collect(),
        }
    }

    fn coverage() -> ClaimsCoverage {
        ClaimsCoverage::new(
            YearMonth::new(2024, 1)
                .unwrap()
                .through(YearMonth::new(2027, 1).unwrap()),
        )
    }

    /// A society in which notified smokers quit at 20 % and the D notice raises the
    /// visit share by `jump` at 6.5: the report recovers both within its intervals.
    fn society(jump: f64, seed: u64) -> EffectReport {
        let book = ProgrammeBook::default();
        let coverage = coverage();
        let scope = Scope {
            cohort: FiscalYear::new(2025),
            book: &book,
            coverage: &coverage,
            cessation: None,
        };
        let mut rng = Lcg(seed);
        let mut tally = Tally::default();
        let exam = Date::constant(2025, 6, 10);
        let next = Date::constant(2026, 6, 10);
        let mailed = Date::constant(2025, 8, 20);
        for n in 1..=8000u32 {
            let m = member(n, if n % 2 == 0 { "1001" } else { "1002" });
            let smokes = rng.next() < 0.25;
            let h = 5.0 + (rng.next() * 31.0).floor() / 10.0; // 5.0 … 8.0
            let p = 0.2 + 0.1 * (h - 6.5) + if h >= 6.5 { jump } else { 0.0 };
            let visited = h >= 5.8 && rng.next() < p;
            let mut visits = Vec::new();
            if visited {
                visits.push(diabetes_visit(&m, Date::constant(2025, 8, 1)));
            }
            let quit = smokes && rng.next() < 0.2;
            let checkups = vec![
                checkup(&m, exam, h, smokes),
                checkup(&m, next, if visited { h - 0.5 } else { h }, smokes && !quit),
            ];
            let mut cases = Vec::new();
            if smokes {
                cases.push(case(
                    &m,
                    ProgrammeCode::S,
                    exam,
                    vec![(mailed, CaseEvent::NoticeMailed)],
                ));
            }
            if h >= 6.5 {
                let outcome = if visited {
                    vec![
                        (mailed, CaseEvent::NoticeMailed),
                        (
                            Date::constant(2025, 10, 15),
                            CaseEvent::VisitFound {
                                time: ServiceTime::Day(Date::constant(2025, 8, 1)),
                                late_claim: false,
                            },
                        ),
                        (
                            Date::constant(2025, 10, 15),
                            CaseEvent::Closed(Outcome::Visited),
                        ),
                    ]
                } else {
                    vec![
                        (mailed, CaseEvent::NoticeMailed),
                        (
                            Date::constant(2026, 4, 15),
                            CaseEvent::Closed(Outcome::NotVisited),
                        ),
                    ]
                };
                cases.push(case(&m, ProgrammeCode::D, exam, outcome));
            }
            tally.add(
                &MemberFacts {
                    member: &m,
                    checkups: &checkups,
                    visits: &visits,
                    cases: &cases,
                },
                &scope,
            );
        }
        tally.finish(&scope, SuppressionRule::default())
    }

    #[test]
    fn planted_effects_are_recovered_within_their_intervals() {
        let r = society(0.15, 7);
        let quit = r.smoking.quit.unwrap();
        assert!(quit.n > 1500 && quit.estimate.covers(0.20), "{quit:?}");
        let rd = r.diabetes.discontinuity.unwrap();
        assert!(rd.effect.covers(0.15) && !rd.effect.covers(0.0), "{rd:?}");
        assert!(rd.n_below > 100 && rd.n_above > 100, "{rd:?}");
        let diff = r.diabetes.hba1c_change_difference.unwrap();
        assert!((diff.value + 0.5).abs() < 1e-9, "{diff:?}");
        // 12 months after an August notice end in August 2026: covered.
        assert!(r.diabetes.untreated_after_year.is_some());
        assert!(!r.smoking.cessation_measured && r.smoking.cessation.is_none());
        // Two employers of 4000 本人 each: shown.
        assert_eq!(r.employers.len(), 2);
        assert!(matches!(r.employers[0].quit, Cell::Shown(_)));
    }

    /// Issue 12/14: S reports cessation treatment (a cessation drug or ニコチン依存症
    /// 管理料) started within a year after the notice; treatment before it does not count.
    #[test]
    fn cessation_treatment_after_the_notice_is_counted() {
        let book = ProgrammeBook::default();
        let coverage = coverage();
        let criteria = crate::engine::cessation_criteria();
        let scope = Scope {
            cohort: FiscalYear::new(2025),
            book: &book,
            coverage: &coverage,
            cessation: Some(&criteria),
        };
        let mut tally = Tally::default();
        let exam = Date::constant(2025, 6, 10);
        for n in 1..=200u32 {
            let m = member(n, "1001");
            let checkups = vec![checkup(&m, exam, 5.4, true)];
            let cases = vec![case(
                &m,
                ProgrammeCode::S,
                exam,
                vec![(Date::constant(2025, 8, 20), CaseEvent::NoticeMailed)],
            )];
            // 40 start treatment in October; 10 others were treated in July only.
            let on = match n {
                1..=40 => Some((
                    Date::constant(2025, 10, 3),
                    GroupKind::Drug,
                    "smoking_cessation_drug",
                )),
                41..=50 => Some((
                    Date::constant(2025, 7, 3),
                    GroupKind::Procedure,
                    "smoking_cessation",
                )),
                _ => None,
            };
            let visits: Vec<VisitFact> = on
                .map(|(day, kind, group)| VisitFact {
                    member: m.key.clone(),
                    time: ServiceTime::Day(day),
                    institution: "1310000013".into(),
                    evidence: [Evidence {
                        kind,
                        group: group.into(),
                        suspected: false,
                        started_on: None,
                    }]
                    .into_iter()
                    .collect(),
                })
                .into_iter()
                .collect();
            tally.add(
                &MemberFacts {
                    member: &m,
                    checkups: &checkups,
                    visits: &visits,
                    cases: &cases,
                },
                &scope,
            );
        }
        let r = tally.finish(&scope, SuppressionRule::default());
        assert!(r.smoking.cessation_measured);
        let rate = r.smoking.cessation.unwrap();
        assert_eq!((rate.k, rate.n), (40, 200), "{rate:?}");
    }

    #[test]
    fn without_a_planted_jump_the_discontinuity_covers_zero() {
        let r = society(0.0, 11);
        let rd = r.diabetes.discontinuity.unwrap();
        assert!(rd.effect.covers(0.0), "{rd:?}");
    }

    /// Smokers notified with wording A or B (random per person) quit at `a` and `b`.
    fn ab_society(a: f64, b: f64, seed: u64) -> EffectReport {
        let book = ProgrammeBook::default();
        let coverage = coverage();
        let scope = Scope {
            cohort: FiscalYear::new(2025),
            book: &book,
            coverage: &coverage,
            cessation: None,
        };
        let mut rng = Lcg(seed);
        let mut tally = Tally::default();
        let exam = Date::constant(2025, 6, 10);
        for n in 1..=6000u32 {
            let m = member(n, "1001");
            let variant = crate::programme::letter_variant(ProgrammeCode::S, &m.key);
            let p = if variant == LetterVariant::B { b } else { a };
            let quit = rng.next() < p;
            let checkups = vec![
                checkup(&m, exam, 5.4, true),
                checkup(&m, Date::constant(2026, 6, 10), 5.4, !quit),
            ];
            let cases = vec![case(
                &m,
                ProgrammeCode::S,
                exam,
                vec![
                    (exam, CaseEvent::VariantAssigned(variant)),
                    (Date::constant(2025, 8, 20), CaseEvent::NoticeMailed),
                ],
            )];
            tally.add(
                &MemberFacts {
                    member: &m,
                    checkups: &checkups,
                    visits: &[],
                    cases: &cases,
                },
                &scope,
            );
        }
        tally.finish(&scope, SuppressionRule::default())
    }

    #[test]
    fn a_planted_wording_effect_is_recovered_and_none_is_covered_by_zero() {
        let planted = ab_society(0.15, 0.25, 3).smoking.variants.unwrap();
        let (a, b) = (planted.a.unwrap(), planted.b.unwrap());
        assert!(a.n > 2500 && b.n > 2500, "random halves: {a:?} {b:?}");
        let d = planted.difference.unwrap();
        assert!(d.covers(0.10) && !d.covers(0.0), "{d:?}");
        let none = ab_society(0.2, 0.2, 5).smoking.variants.unwrap();
        assert!(none.difference.unwrap().covers(0.0), "{none:?}");
        // Without a test there is no comparison.
        assert!(society(0.15, 7).smoking.variants.is_none());
    }

    #[test]
    fn small_employer_cells_are_suppressed() {
        let rule = SuppressionRule::default();
        assert_eq!(Cell::of(3, 40, rule), Cell::Suppressed);
        assert_eq!(Cell::of(35, 40, rule), Cell::Suppressed, "remainder of 5");
        assert!(matches!(Cell::of(15, 40, rule), Cell::Shown(_)));
        assert_eq!(Cell::of(0, 0, rule), Cell::Empty);
        let small = Counts {
            insured_persons: 30,
            s_with_next: 100,
            s_quit: 20,
            ..Counts::default()
        };
        let row = employer_cells(&EmployerCode::parse("1001").unwrap(), &small, rule);
        assert!(row.too_small && row.quit == Cell::Suppressed);
    }
}
