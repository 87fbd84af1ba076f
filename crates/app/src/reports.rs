//! Programme figures: identified → notified → visited, re-notices, waiting for claims
//! (counts, no personal data); the effect report of a cohort (`effect_report`).

use crate::{App, Result, write};
use collabo_domain::Date;
use collabo_domain::actor::Actor;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::calendar::FiscalYear;
use collabo_domain::effect_report::{self, ASSUMPTIONS, Cell, EffectReport, VariantComparison};
use collabo_domain::effects::{Estimate, Rate};
use collabo_domain::programme::ProgrammeCode;
use collabo_letters::report::{Bar, ReportDocument, ReportRow, ReportSection};
use std::collections::BTreeMap;

pub use collabo_store::reports::ProgrammeFigures;

/// Case counts of one employer by programme.
pub type EmployerCaseCounts = BTreeMap<ProgrammeCode, i64>;

impl App {
    /// Figures per programme, optionally for one fiscal year of triggers.
    pub async fn programme_figures(
        &self,
        actor: &Actor,
        fiscal_year: Option<i64>,
    ) -> Result<BTreeMap<ProgrammeCode, ProgrammeFigures>> {
        actor.may(Action::ViewReports, Scope::Society)?;
        Ok(self
            .store()
            .read()
            .await?
            .programme_figures(fiscal_year)
            .await?)
    }

    /// Cases per employer and programme (staff reports).
    pub async fn cases_by_employer(
        &self,
        actor: &Actor,
    ) -> Result<BTreeMap<String, EmployerCaseCounts>> {
        actor.may(Action::ViewReports, Scope::Society)?;
        Ok(self.store().read().await?.cases_by_employer().await?)
    }
}

impl App {
    /// What each programme achieved for the cases of one fiscal year (the cohort),
    /// followed to the next checkup and through claims, with employer cells under the
    /// aggregates' small-cell rule (`collabo_domain::effect_report`). Reads every
    /// member's facts a chunk at a time; the result holds counts only. The read is
    /// audited before the report is returned.
    pub async fn effect_report(&self, actor: &Actor, cohort: FiscalYear) -> Result<EffectReport> {
        actor.may(Action::ViewReports, Scope::Society)?;
        let rule = self.suppression_rule().await?;
        let mut r = self.store().read().await?;
        let book = r.programme_book().await?;
        let coverage = r.claims_ledger().await?.coverage();
        let cessation = collabo_domain::engine::cessation_criteria();
        let scope = effect_report::Scope {
            cohort,
            book: &book,
            coverage: &coverage,
            cessation: Some(&cessation),
        };
        let mut tally = effect_report::Tally::default();
        let mut after: Option<String> = None;
        loop {
            let members = r.members_page(after.as_deref(), REPORT_CHUNK).await?;
            let (Some(first), Some(last)) = (members.first(), members.last()) else {
                break;
            };
            let (first, last) = (first.key.to_key_string(), last.key.to_key_string());
            let facts = r.chunk_facts(&first, &last).await?;
            for member in &members {
                let key = member.key.to_key_string();
                tally.add(
                    &effect_report::MemberFacts {
                        member,
                        checkups: facts.checkups.get(&key).map_or(&[][..], |v| v),
                        visits: facts.visits.get(&key).map_or(&[][..], |v| v),
                        cases: facts.cases.get(&key).map_or(&[][..], |v| v),
                    },
                    &scope,
                );
            }
            after = Some(last);
        }
        drop(r);
        let report = tally.finish(&scope, rule);
        let mut tx = write(self).await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::EffectReport)
                .detail(format!("{}年度の効果測定（件数のみ）", cohort.year())),
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }
}

/// Members per chunk of an effect report.
const REPORT_CHUNK: i64 = 2000;

impl App {
    /// The effect report of a cohort as a printable A4 PDF for the 組合会 (audited as
    /// the report is).
    pub async fn effect_report_pdf(
        &self,
        actor: &Actor,
        renderer: &collabo_letters::Renderer,
        cohort: FiscalYear,
    ) -> Result<(EffectReport, Vec<u8>)> {
        let report = self.effect_report(actor, cohort).await?;
        let society = self.store().read().await?.society().await?;
        let document = effect_document(&report, &society.name, actor.today());
        let pdf = renderer.render_report(&document)?;
        Ok((report, pdf))
    }
}

fn rate_text(r: &Option<Rate>) -> (String, String, Option<Bar>) {
    match r {
        Some(r) => (
            format!(
                "{:.1}%（{:.1}–{:.1}）",
                100.0 * r.estimate.value,
                100.0 * r.estimate.low,
                100.0 * r.estimate.high
            ),
            format!("{} / {}", r.k, r.n),
            Some(Bar::new(r.estimate.value, r.estimate.low, r.estimate.high)),
        ),
        None => ("—".to_owned(), "0".to_owned(), None),
    }
}

fn rate_row(label: &str, r: &Option<Rate>) -> ReportRow {
    let (value, count, bar) = rate_text(r);
    ReportRow {
        cells: vec![label.to_owned(), value, count],
        bar,
    }
}

fn change_text(e: &Option<Estimate>) -> String {
    e.map_or_else(
        || "—".to_owned(),
        |e| format!("{:+.2}（{:+.2} 〜 {:+.2}）", e.value, e.low, e.high),
    )
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Shown(r) => format!(
            "{:.1}%（{:.1}–{:.1}） n={}",
            100.0 * r.estimate.value,
            100.0 * r.estimate.low,
            100.0 * r.estimate.high,
            r.n
        ),
        Cell::Suppressed => "秘匿".to_owned(),
        Cell::Empty => "—".to_owned(),
    }
}

/// The printable form of an effect report (Japanese).
pub fn effect_document(report: &EffectReport, society: &str, today: Date) -> ReportDocument {
    let rate_columns = || {
        vec![
            "指標".to_owned(),
            "率（95%信頼区間）".to_owned(),
            "人数 / 分母".to_owned(),
        ]
    };
    let s = &report.smoking;
    let mut smoking = vec![rate_row("次回健診で「吸わない」", &s.quit)];
    if s.cessation_measured {
        smoking.push(rate_row(
            "通知後1年以内の禁煙治療（レセプト）",
            &s.cessation,
        ));
    } else {
        smoking.push(ReportRow {
            cells: vec![
                "禁煙治療（レセプト）".to_owned(),
                "未集計".to_owned(),
                "禁煙治療の区分なし".to_owned(),
            ],
            bar: None,
        });
    }
    let variant_rows = |v: &Option<VariantComparison>, what: &str| -> Vec<ReportRow> {
        let Some(v) = v else { return Vec::new() };
        vec![
            rate_row(&format!("{what}（文案A）"), &v.a),
            rate_row(&format!("{what}（文案B）"), &v.b),
            ReportRow {
                cells: vec![
                    "差 B − A（無作為割付による比較）".to_owned(),
                    v.difference.map_or_else(
                        || "—".to_owned(),
                        |d| {
                            format!(
                                "{:+.1} ポイント（{:+.1} 〜 {:+.1}）",
                                100.0 * d.value,
                                100.0 * d.low,
                                100.0 * d.high
                            )
                        },
                    ),
                    String::new(),
                ],
                bar: None,
            },
        ]
    };
    smoking.extend(variant_rows(&s.variants, "禁煙"));
    let d = &report.diabetes;
    let diabetes = vec![
        rate_row("通知後6か月以内の受診（判定済み）", &d.visit),
        rate_row("次回健診の HbA1c 7.0 未満", &d.below_7),
        rate_row("次回健診の HbA1c 6.5 未満", &d.below_6_5),
        rate_row("通知後1年たっても未治療", &d.untreated_after_year),
    ];
    let hba1c = vec![
        ReportRow {
            cells: vec![
                "判定済みの通知者".to_owned(),
                change_text(&d.hba1c_change),
                (d.hba1c_people.0 + d.hba1c_people.1).to_string(),
            ],
            bar: None,
        },
        ReportRow {
            cells: vec![
                "うち受診した人".to_owned(),
                change_text(&d.hba1c_change_visited),
                d.hba1c_people.0.to_string(),
            ],
            bar: None,
        },
        ReportRow {
            cells: vec![
                "うち受診しなかった人".to_owned(),
                change_text(&d.hba1c_change_not_visited),
                d.hba1c_people.1.to_string(),
            ],
            bar: None,
        },
        ReportRow {
            cells: vec![
                "差（受診 − 未受診、観察による比較）".to_owned(),
                change_text(&d.hba1c_change_difference),
                String::new(),
            ],
            bar: None,
        },
    ];
    let rd = match &d.discontinuity {
        Some(rd) => vec![ReportRow {
            cells: vec![
                format!("HbA1c {:.1} での受診割合の跳び", d.rd_threshold),
                format!(
                    "{:+.1} ポイント（{:+.1} 〜 {:+.1}）",
                    100.0 * rd.effect.value,
                    100.0 * rd.effect.low,
                    100.0 * rd.effect.high
                ),
                format!("{:.2}", rd.bandwidth),
                format!("{} / {}", rd.n_below, rd.n_above),
            ],
            bar: None,
        }],
        None => vec![ReportRow {
            cells: vec![
                "推定できません（閾値付近の人数不足）".to_owned(),
                "—".to_owned(),
                "—".to_owned(),
                d.rd_people.to_string(),
            ],
            bar: None,
        }],
    };
    let mut cancer = Vec::new();
    for c in &report.cancer {
        cancer.push(rate_row(
            &format!(
                "{} 初回通知後（通知 {} 人、判定待ち {} 人）",
                c.label, c.notified, c.pending
            ),
            &c.after_notice,
        ));
        cancer.push(rate_row(
            &format!("{} 再勧奨後", c.label),
            &c.after_renotice,
        ));
    }
    cancer.extend(variant_rows(
        &report.cancer_variants,
        "初回通知後の精密検査（全がん種）",
    ));
    let days: Vec<ReportRow> = report
        .cancer
        .iter()
        .map(|c| ReportRow {
            cells: vec![
                c.label.clone(),
                c.median_days_to_visit
                    .map_or_else(|| "—".to_owned(), |d| format!("{d} 日")),
            ],
            bar: None,
        })
        .collect();
    let risk = report
        .risk
        .iter()
        .map(|r| rate_row(&r.label, &r.improved))
        .collect();
    let employers = report
        .employers
        .iter()
        .map(|e| ReportRow {
            cells: if e.too_small {
                vec![
                    e.employer.to_string(),
                    format!("本人{}人未満のため表示しません", report.rule.min_population),
                    String::new(),
                    String::new(),
                ]
            } else {
                vec![
                    e.employer.to_string(),
                    cell_text(&e.quit),
                    cell_text(&e.d_visit),
                    cell_text(&e.c_after_notice),
                ]
            },
            bar: None,
        })
        .collect();
    let section =
        |heading: &str, columns: Vec<String>, rows: Vec<ReportRow>, bars: bool| ReportSection {
            heading: heading.to_owned(),
            columns,
            rows,
            bars,
        };
    ReportDocument {
        title: format!(
            "コラボヘルス効果測定報告 {}年度（令和{}年度）",
            report.cohort,
            report.cohort - 2018
        ),
        subtitle: format!(
            "{society}　{}年度に抽出・通知した人を次回健診とレセプトで追跡　作成日 {today}",
            report.cohort
        ),
        sections: vec![
            section(
                &format!("S 禁煙治療の利用促進（通知 {} 人）", s.notified),
                rate_columns(),
                smoking,
                true,
            ),
            section(
                &format!(
                    "D 糖尿病性腎症等の重症化予防（通知 {} 人、判定待ち {} 人）",
                    d.notified, d.pending
                ),
                rate_columns(),
                diabetes,
                true,
            ),
            section(
                "D 次回健診までの HbA1c の変化（%ポイント）",
                vec![
                    "対象".to_owned(),
                    "平均変化（95%信頼区間）".to_owned(),
                    "人数".to_owned(),
                ],
                hba1c,
                false,
            ),
            section(
                "D 通知の因果効果（回帰不連続）",
                vec![
                    "推定".to_owned(),
                    "効果（95%信頼区間）".to_owned(),
                    "帯域幅".to_owned(),
                    "人数 未満 / 以上".to_owned(),
                ],
                rd,
                false,
            ),
            section(
                "C がん検診の精密検査受診（がん種別）",
                rate_columns(),
                cancer,
                true,
            ),
            section(
                "C 検診から精密検査までの日数（中央値）",
                vec!["がん種".to_owned(), "日数".to_owned()],
                days,
                false,
            ),
            section(
                "R 次回健診でリスク保有（受診勧奨判定値以上）でなくなった人（項目別）",
                rate_columns(),
                risk,
                true,
            ),
            section(
                "事業所別",
                vec![
                    "事業所".to_owned(),
                    "禁煙率".to_owned(),
                    "D 受診率".to_owned(),
                    "C 精密検査".to_owned(),
                ],
                employers,
                false,
            ),
        ],
        notes: ASSUMPTIONS.iter().map(|a| (*a).to_owned()).collect(),
    }
}

/// One line of an effect report as a table (the CSV and XLSX exports).
#[derive(Debug, Clone, PartialEq)]
pub struct EffectRow {
    /// 事業 (S, D, C, R) or 事業所.
    pub section: String,
    /// 指標.
    pub indicator: String,
    /// Rate (0–1), mean change or effect.
    pub value: Option<f64>,
    /// Lower bound of its 95 % interval.
    pub low: Option<f64>,
    /// Upper bound.
    pub high: Option<f64>,
    /// Count (numerator).
    pub k: Option<u64>,
    /// Denominator (people).
    pub n: Option<u64>,
    /// What the cell is (率, 平均変化, 効果, 秘匿 …).
    pub kind: &'static str,
}

/// The column headings of [`effect_rows`].
pub const EFFECT_COLUMNS: [&str; 9] = [
    "年度",
    "区分",
    "指標",
    "種類",
    "値",
    "95%下限",
    "95%上限",
    "人数",
    "分母",
];

/// Every figure of an effect report, one per row.
pub fn effect_rows(report: &EffectReport) -> Vec<EffectRow> {
    let mut out = Vec::new();
    let mut rate = |section: &str, indicator: String, r: &Option<Rate>| {
        out.push(EffectRow {
            section: section.to_owned(),
            indicator,
            value: r.map(|r| r.estimate.value),
            low: r.map(|r| r.estimate.low),
            high: r.map(|r| r.estimate.high),
            k: r.map(|r| r.k),
            n: Some(r.map_or(0, |r| r.n)),
            kind: "率",
        });
    };
    let s = &report.smoking;
    rate("S", "次回健診で禁煙".into(), &s.quit);
    if s.cessation_measured {
        rate("S", "通知後1年以内の禁煙治療".into(), &s.cessation);
    }
    let d = &report.diabetes;
    rate("D", "通知後6か月以内の受診（判定済み）".into(), &d.visit);
    rate("D", "次回 HbA1c 7.0 未満".into(), &d.below_7);
    rate("D", "次回 HbA1c 6.5 未満".into(), &d.below_6_5);
    rate(
        "D",
        "通知後1年たっても未治療".into(),
        &d.untreated_after_year,
    );
    for c in &report.cancer {
        rate(
            "C",
            format!("{} 初回通知後の精密検査", c.label),
            &c.after_notice,
        );
        rate(
            "C",
            format!("{} 再勧奨後の精密検査", c.label),
            &c.after_renotice,
        );
    }
    for r in &report.risk {
        rate("R", format!("{} 次回健診で改善", r.label), &r.improved);
    }
    for (section, what, v) in [
        ("S", "禁煙", &report.smoking.variants),
        ("C", "初回通知後の精密検査", &report.cancer_variants),
    ] {
        if let Some(v) = v {
            rate(section, format!("{what}（文案A）"), &v.a);
            rate(section, format!("{what}（文案B）"), &v.b);
        }
    }
    let mut mean = |indicator: &str, e: &Option<Estimate>, n: usize, kind: &'static str| {
        out.push(EffectRow {
            section: "D".into(),
            indicator: indicator.to_owned(),
            value: e.map(|e| e.value),
            low: e.map(|e| e.low),
            high: e.map(|e| e.high),
            k: None,
            n: Some(n as u64),
            kind,
        });
    };
    let (nv, nn) = d.hba1c_people;
    mean(
        "HbA1c 変化（判定済みの通知者）",
        &d.hba1c_change,
        nv + nn,
        "平均変化",
    );
    mean(
        "HbA1c 変化（受診した人）",
        &d.hba1c_change_visited,
        nv,
        "平均変化",
    );
    mean(
        "HbA1c 変化（受診しなかった人）",
        &d.hba1c_change_not_visited,
        nn,
        "平均変化",
    );
    mean(
        "HbA1c 変化の差（受診 − 未受診、観察）",
        &d.hba1c_change_difference,
        nv + nn,
        "差",
    );
    let rd = d.discontinuity;
    out.push(EffectRow {
        section: "D".into(),
        indicator: format!(
            "通知の効果（回帰不連続 HbA1c {:.1}、帯域幅 {}）",
            d.rd_threshold,
            rd.map_or_else(|| "—".to_owned(), |r| format!("{:.2}", r.bandwidth))
        ),
        value: rd.map(|r| r.effect.value),
        low: rd.map(|r| r.effect.low),
        high: rd.map(|r| r.effect.high),
        k: rd.map(|r| r.n_below as u64),
        n: rd.map(|r| (r.n_below + r.n_above) as u64),
        kind: "効果（人数=閾値未満）",
    });
    for e in &report.employers {
        for (what, cell) in [
            ("禁煙率", &e.quit),
            ("D 受診率", &e.d_visit),
            ("C 精密検査", &e.c_after_notice),
        ] {
            let (r, kind) = match cell {
                Cell::Shown(r) => (Some(*r), "率"),
                Cell::Suppressed => (None, "秘匿"),
                Cell::Empty => (None, "対象なし"),
            };
            out.push(EffectRow {
                section: format!("事業所 {}", e.employer),
                indicator: what.to_owned(),
                value: r.map(|r| r.estimate.value),
                low: r.map(|r| r.estimate.low),
                high: r.map(|r| r.estimate.high),
                k: r.map(|r| r.k),
                n: r.map(|r| r.n),
                kind,
            });
        }
    }
    out
}
