//! Text output of the CLI (Japanese labels, aligned columns).

use collabo_app::ImportReport;
use collabo_domain::case::Case;
use collabo_domain::programme::ProgrammeCode;
use collabo_store::cases::RunSummary;
use collabo_store::reports::ProgrammeFigures;
use std::collections::BTreeMap;

/// One import's outcome.
pub fn import(report: &ImportReport) {
    let s = &report.summary;
    if s.already_imported {
        println!(
            "このファイルは取込済みです (取込番号 {}): 変更はありません。",
            s.import_id
        );
        return;
    }
    println!(
        "取込番号 {}: 行 {}, 登録 {}, 重複 {}, 照合保留 {}, オプトアウト除外 {}, 期限後 {}, 照合不能レセプト {}",
        s.import_id,
        s.rows,
        s.stored,
        s.duplicates,
        s.to_review,
        s.excluded_opted_out,
        s.late,
        s.unmatched
    );
    if !s.months_covered.is_empty() {
        println!("  レセプト収載月: {}", s.months_covered.join(", "));
    }
    for (code, n) in &s.unknown_items {
        println!("  未知の項目コード {code}: {n} 件 (保存し、集計に計上)");
    }
}

/// An engine run's outcome.
pub fn run(summary: &RunSummary, today: collabo_domain::Date) {
    if summary.is_empty() {
        println!("{today}: 変更はありません ({} 人を確認)。", summary.members);
        return;
    }
    let opened: Vec<String> = summary
        .opened
        .iter()
        .map(|(p, n)| format!("{p} {n}"))
        .collect();
    println!(
        "{today}: {} 人を確認、新規ケース [{}]、経過の追加 {} 件",
        summary.members,
        opened.join(", "),
        summary.events_appended
    );
    for ((p, reason), n) in &summary.skipped {
        if *n > 0 {
            println!("  対象外 ({p}, {reason:?}): {n}");
        }
    }
}

/// A case timeline.
pub fn timeline(case: &Case) {
    println!("ケース {}  状態: {}", case.key, case.state().label());
    for e in &case.events {
        println!(
            "  {}  {:<20} {}",
            e.on,
            e.event.kind_code(),
            serde_json::to_string(&e.event).unwrap_or_default()
        );
    }
}

/// The programme table.
pub fn figures(figures: &BTreeMap<ProgrammeCode, ProgrammeFigures>) {
    println!(
        "{:<4} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>8} {:>8}",
        "事業",
        "抽出",
        "対象外",
        "通知",
        "受診",
        "未受診",
        "再勧奨",
        "レセプト待",
        "通知待ち",
        "受診率"
    );
    for (p, f) in figures {
        println!(
            "{:<6} {:>8} {:>10} {:>8} {:>8} {:>9} {:>9} {:>12} {:>10} {:>9}",
            p.letter(),
            f.identified,
            f.excluded,
            f.notified,
            f.visited,
            f.not_visited,
            f.renotified,
            f.waiting_for_claims,
            f.letters_pending,
            // R and S have no claims follow-up: a visit rate would be meaningless.
            matches!(p, ProgrammeCode::D | ProgrammeCode::C)
                .then(|| f.visit_rate())
                .flatten()
                .map_or_else(|| "—".to_owned(), |r| format!("{r:.1}%"))
        );
    }
    if let Some(c) = figures.get(&ProgrammeCode::C) {
        println!(
            "C: 期限 (翌々月末) 後に届いた要精密検査者 {} 件 (受理し、記録済み)",
            c.late_referrals
        );
    }
}
