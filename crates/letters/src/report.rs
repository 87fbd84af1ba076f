//! Printable reports (the society's annual effect report for the 組合会, an employer's
//! 健康スコアリングレポート): a title, sections of tables whose rate rows may carry a bar
//! on a fixed 0–100 % axis with its 95 % interval, and notes. The caller decides the
//! wording and the figures; this module only lays them out (templates/report.typ).
//!
//! Bars are never scaled to the largest value: a bar's length is its rate.

use serde::Serialize;

/// A report to print.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportDocument {
    /// Title.
    pub title: String,
    /// Line under the title (whose report, which year, made when).
    pub subtitle: String,
    /// Sections in order.
    pub sections: Vec<ReportSection>,
    /// Notes at the end (what each figure assumes).
    pub notes: Vec<String>,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportSection {
    /// Heading.
    pub heading: String,
    /// Column headings (the bar column, if any, comes last and is not named here).
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<ReportRow>,
    /// Draw a bar column (0–100 %).
    pub bars: bool,
}

/// One row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    /// Cells, as many as the section's columns.
    pub cells: Vec<String>,
    /// A rate and its interval, each in 0..=1.
    pub bar: Option<Bar>,
}

/// A rate on the 0–100 % axis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bar {
    /// Rate.
    pub value: f64,
    /// Lower bound of its interval.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Bar {
    /// A bar, clamped into 0..=1.
    pub fn new(value: f64, low: f64, high: f64) -> Bar {
        let c = |x: f64| {
            if x.is_finite() {
                x.clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        Bar {
            value: c(value),
            low: c(low),
            high: c(high),
        }
    }
}
