//! The employer's own report (健康スコアリングレポート for コラボヘルス): per employer and
//! fiscal year, its examined rate, risk-holder shares per item and smoking rate next to
//! the society's, from the **published** aggregates only (never live figures), with the
//! employer's suppressed cells left out. Nothing here is derived from claims, letters or
//! cases: the publication holds checkup counts only.
//!
//! The society's figures are the sums of every employer's publication of the year
//! (true counts, so the society's own shares are exact; they are a whole society's, not
//! a small group's).

use crate::{App, Result};
use collabo_domain::actor::Actor;
use collabo_domain::aggregates::{AggregateCell, SuppressionRule};
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Scope};
use collabo_domain::calendar::FiscalYear;
use collabo_domain::ids::EmployerCode;
use collabo_letters::report::{Bar, ReportDocument, ReportRow, ReportSection};
use std::collections::BTreeMap;

/// One line of the report: a share of the employer and of the society.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreLine {
    /// 受診率, リスク保有者の割合：HbA1c …
    pub label: String,
    /// The employer's share (0–1); `None` when suppressed or not published.
    pub employer: Option<f64>,
    /// The society's share.
    pub society: Option<f64>,
}

/// An employer's report.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreReport {
    /// Employer.
    pub employer: EmployerCode,
    /// Its name.
    pub employer_name: String,
    /// Fiscal year.
    pub fiscal_year: FiscalYear,
    /// When the employer's figures were published; `None`: nothing published.
    pub published_at: Option<jiff::Timestamp>,
    /// The lines.
    pub lines: Vec<ScoreLine>,
    /// The small-cell rule.
    pub rule: SuppressionRule,
}

fn share(counts: &BTreeMap<AggregateCell, Option<u64>>, cell: AggregateCell) -> Option<f64> {
    let parent = cell.parent()?;
    let k = (*counts.get(&cell)?)?;
    let n = (*counts.get(&parent)?)?;
    (n > 0).then(|| k as f64 / n as f64)
}

fn line_label(cell: AggregateCell) -> String {
    match cell {
        AggregateCell::Examined => "健診受診率（健診受診者 ÷ 加入者（本人））".into(),
        AggregateCell::RiskHolders => "リスク保有者の割合（いずれかの項目、受診者のうち）".into(),
        AggregateCell::Smokers => "喫煙率（受診者のうち）".into(),
        AggregateCell::RiskItem(item) => format!("リスク保有者の割合：{}", item.label()),
        AggregateCell::Population => "加入者数（本人）".into(),
    }
}

impl App {
    /// The report of one employer and fiscal year, from the published aggregates;
    /// audited like the aggregates page.
    pub async fn score_report(
        &self,
        actor: &Actor,
        code: &EmployerCode,
        fy: FiscalYear,
    ) -> Result<ScoreReport> {
        let view = self.aggregates(actor, code, Some(fy)).await?;
        // The society's sums: every employer's publication of the year.
        actor.may(Action::ViewAggregates, Scope::Employer(code))?;
        let mut r = self.store().read().await?;
        let employer_name = r.employer(code).await?.map(|e| e.name).unwrap_or_default();
        let mut society: BTreeMap<AggregateCell, Option<u64>> = BTreeMap::new();
        for e in r.employers().await? {
            if let Some(p) = r.publication(&e.code, i64::from(fy.year())).await? {
                for c in &p.table.cells {
                    let entry = society.entry(c.cell).or_insert(Some(0));
                    *entry = entry.map(|n| n + c.count);
                }
            }
        }
        drop(r);
        let own: BTreeMap<AggregateCell, Option<u64>> = view
            .published
            .as_ref()
            .map(|(_, cells)| {
                cells
                    .iter()
                    .map(|c| (c.cell, c.count.filter(|_| !c.suppressed)))
                    .collect()
            })
            .unwrap_or_default();
        let mut cells: Vec<AggregateCell> = society
            .keys()
            .chain(own.keys())
            .copied()
            .filter(|c| *c != AggregateCell::Population)
            .collect();
        cells.sort();
        cells.dedup();
        let lines = cells
            .into_iter()
            .map(|cell| ScoreLine {
                label: line_label(cell),
                employer: share(&own, cell),
                society: share(&society, cell),
            })
            .collect();
        self.audit_alone(
            &AuditEntry::new(actor, AuditAction::AggregatesView)
                .employer(code)
                .detail(format!("{}年度の健康スコアリングレポート", fy.year())),
        )
        .await?;
        Ok(ScoreReport {
            employer: code.clone(),
            employer_name,
            fiscal_year: fy,
            published_at: view.published.map(|(at, _)| at),
            lines,
            rule: view.rule,
        })
    }

    /// The employer's report as a PDF.
    pub async fn score_report_pdf(
        &self,
        actor: &Actor,
        renderer: &collabo_letters::Renderer,
        code: &EmployerCode,
        fy: FiscalYear,
    ) -> Result<(ScoreReport, Vec<u8>)> {
        let report = self.score_report(actor, code, fy).await?;
        let society = self.store().read().await?.society().await?;
        let pdf = renderer.render_report(&score_document(&report, &society.name))?;
        Ok((report, pdf))
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(
        || "秘匿・未公表".to_owned(),
        |x| format!("{:.1}%", 100.0 * x),
    )
}

/// The printable form of an employer's report.
pub fn score_document(report: &ScoreReport, society: &str) -> ReportDocument {
    let y = report.fiscal_year.year();
    let rows = report
        .lines
        .iter()
        .map(|l| ReportRow {
            cells: vec![l.label.clone(), pct(l.employer), pct(l.society)],
            bar: l.employer.map(|v| Bar::new(v, v, v)),
        })
        .collect();
    ReportDocument {
        title: format!("健康スコアリングレポート {}年度（令和{}年度）", y, y - 2018),
        subtitle: format!(
            "{}（{}）　{society}　公表 {}",
            report.employer_name,
            report.employer,
            report
                .published_at
                .map_or_else(|| "未公表".to_owned(), |t| t.strftime("%Y-%m-%d").to_string())
        ),
        sections: vec![ReportSection {
            heading: "事業所と組合全体の比較（公表済みの健診集計から）".into(),
            columns: vec!["指標".into(), "貴事業所".into(), "組合全体".into()],
            rows,
            bars: true,
        }],
        notes: vec![
            "健診結果の集計だけで作成しています。医療機関の受診状況・通知・個人の情報は含みません。".into(),
            format!(
                "本人{}人未満の事業所は表示せず、{}人未満の区分（差し引きで分かる区分を含む）は「秘匿」としています。",
                report.rule.min_population, report.rule.min_cell
            ),
            "リスク保有者は事業 R の共有基準（既定: 受診勧奨判定値以上）で、事後指導のリスク保有者一覧と同じ定義です。".into(),
            "棒は貴事業所の割合（0〜100%）。".into(),
        ],
    }
}
