//! Text output of the CLI (Japanese labels, aligned columns).

use collabo_app::ImportReport;
use collabo_app::audit::AuditRecord;
use collabo_app::engine::RunSummary;
use collabo_app::reports::ProgrammeFigures;
use collabo_app::review::ReviewEntry;
use collabo_domain::admission::ReviewPayload;
use collabo_domain::case::Case;
use collabo_domain::effect_report::{Cell, EffectReport, VariantComparison};
use collabo_domain::effects::{Estimate, Rate};
use collabo_domain::engine::SkipReason;
use collabo_domain::matching::SubmittedPerson;
use collabo_domain::programme::ProgrammeCode;
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
    if let Some(a) = &s.claims {
        println!(
            "  レセプト: {} {}診療分 {}、当月分 {} 件{}",
            a.stream.label(),
            collabo_domain::calendar::format_wareki_month(a.month),
            match (a.volume.number, a.volume.final_volume) {
                (0, _) => "(単一ファイル)".to_owned(),
                (n, true) => format!("(第{n}巻・最終巻)"),
                (n, false) => format!("(第{n}巻・続きあり)"),
            },
            a.regular_claims,
            if a.regular_claims == 0 {
                " — 月遅れ分のみのため、この月は揃いません"
            } else {
                ""
            }
        );
    }
    if !s.months_covered.is_empty() {
        println!(
            "  この取込で揃った診療月 (受診判定に使用): {}",
            s.months_covered.join(", ")
        );
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
            println!("  対象外 ({p}, {}): {n}", skip_label(*reason));
        }
    }
}

/// Why a trigger opened no case, in Japanese.
fn skip_label(reason: SkipReason) -> &'static str {
    match reason {
        SkipReason::OptedOut => "オプトアウト",
        SkipReason::NoConsent => "同意なし",
        SkipReason::NotInsured => "資格なし",
        SkipReason::NotCoveredByAgreement => "覚書の対象外",
        SkipReason::ProgrammeDisabled => "事業停止中",
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

fn person(p: &SubmittedPerson) -> String {
    format!(
        "{}-{}{} {} {}",
        p.symbol,
        p.number,
        p.branch
            .as_ref()
            .map(|b| format!("-{b}"))
            .unwrap_or_default(),
        p.name,
        p.birth_date
    )
}

/// One line of the review queue.
pub fn review_entry(entry: &ReviewEntry) {
    let item = &entry.item;
    let what = match &item.payload {
        Some(ReviewPayload::Checkup(c)) => format!("{}  健診日 {}", person(&c.person), c.exam_date),
        Some(ReviewPayload::Referral(r)) => format!(
            "{}  {} 検診日 {}",
            person(&r.person),
            r.cancer.label(),
            r.screening_date
        ),
        Some(ReviewPayload::Address { case_key, member }) => format!(
            "{}  {}  ケース {case_key}",
            member,
            entry
                .member
                .as_ref()
                .map(|m| m.name_kanji.as_str())
                .unwrap_or_default()
        ),
        None => item.subject.clone(),
    };
    println!(
        "{:>5}  {}  事業所 {}  取込 {} 行 {}  理由 {}  {}",
        item.id,
        item.kind.label(),
        item.employer
            .as_ref()
            .map(|e| e.to_string())
            .unwrap_or_default(),
        item.import_id,
        item.line,
        item.reason.label(),
        what
    );
}

/// One audit record (at most three of the people it names, then a count).
pub fn audit_record(r: &AuditRecord) {
    let mut subjects = r
        .subjects
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    if r.subjects.len() > 3 {
        subjects.push_str(&format!(" 他{}人", r.subjects.len() - 3));
    }
    println!(
        "{:>6} {} {:<16} {:<8} {:<18} {} {}",
        r.seq,
        jiff::tz::offset(9)
            .to_datetime(r.at)
            .strftime("%Y-%m-%d %H:%M:%S"),
        r.actor,
        r.role,
        r.action.map_or(r.action_code.as_str(), |a| a.label()),
        subjects,
        r.detail
    );
}

/// The claims completeness table: one line per service month, then the headline.
pub fn coverage(ledger: &collabo_domain::coverage::ClaimsLedger) {
    use collabo_domain::coverage::ClaimStream;
    println!(
        "受け取る請求の種類: {}",
        ClaimStream::join_labels(&ledger.expected)
    );
    for m in ledger.table() {
        let cells: Vec<String> = m
            .streams
            .iter()
            .map(|(s, status)| match status.since() {
                Some(on) => format!("{} {} ({on})", s.label(), status.label()),
                None => format!("{} {}", s.label(), status.label()),
            })
            .collect();
        println!(
            "{}  {:<6} {}",
            m.month,
            if m.complete { "完了" } else { "未完了" },
            cells.join(" / ")
        );
    }
    println!("{}", ledger.headline());
}

/// A batch: files, counts, withdrawn and 差止 letters.
pub fn batch(view: &collabo_app::letters::BatchView) {
    use collabo_domain::batch::LetterStatus;
    let b = &view.batch;
    println!(
        "バッチ {}  {}  作成 {}{}",
        b.id,
        b.status.label(),
        b.prepared_on,
        b.mailed_on
            .map(|d| format!("  発送日 {d}"))
            .unwrap_or_default()
    );
    println!(
        "  封筒 {} 通 (通知 {} 件)、{} 頁、PDF {} ファイル",
        b.envelopes,
        b.active_letters,
        b.pages,
        view.parts.len()
    );
    for part in &view.parts {
        println!("  {}  ({})", part.name, part.path.display());
    }
    if let Some(csv) = &view.csv {
        println!("  {}  ({})", csv.name, csv.path.display());
    }
    for w in &view.withdrawn {
        let l = &w.letter;
        println!(
            "  {} {}  {}  {}  {}{}",
            if l.status == LetterStatus::Stopped {
                "差止"
            } else {
                "取下げ"
            },
            w.reference,
            l.member.name_kanji,
            l.kind.title(),
            l.withdrawn_reason.map(|r| r.label()).unwrap_or_default(),
            if l.status == LetterStatus::Stopped {
                format!(
                    "  — {} の {} 頁目から: 封入しないでください",
                    w.part_name, l.first_page
                )
            } else {
                "  — PDF から除外済 (印刷済みなら封入しないでください)".to_owned()
            }
        );
    }
}

fn pct(r: &Option<Rate>) -> String {
    match r {
        Some(r) => format!(
            "{:>5.1}% [{:.1}–{:.1}] ({}/{})",
            100.0 * r.estimate.value,
            100.0 * r.estimate.low,
            100.0 * r.estimate.high,
            r.k,
            r.n
        ),
        None => "— (対象なし)".to_owned(),
    }
}

fn change(e: &Option<Estimate>) -> String {
    match e {
        Some(e) => format!("{:+.2} [{:+.2}, {:+.2}]", e.value, e.low, e.high),
        None => "—".to_owned(),
    }
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Shown(r) => format!(
            "{:.1}% [{:.1}–{:.1}] n={}",
            100.0 * r.estimate.value,
            100.0 * r.estimate.low,
            100.0 * r.estimate.high,
            r.n
        ),
        Cell::Suppressed => "秘匿".to_owned(),
        Cell::Empty => "—".to_owned(),
    }
}

/// The effect report of a cohort: rates with their 95 % interval and denominator.
pub fn effects(r: &EffectReport) {
    println!(
        "{}年度 (令和{}年度) に抽出した人の効果 [ ] は95%信頼区間、( ) は人数/分母",
        r.cohort,
        r.cohort - 2018
    );
    let s = &r.smoking;
    println!("S 禁煙: 通知 {} 人", s.notified);
    println!("  次回健診で禁煙          {}", pct(&s.quit));
    if s.cessation_measured {
        println!("  通知後1年の禁煙治療    {}", pct(&s.cessation));
    } else {
        println!("  禁煙治療 (レセプト)     未集計: 禁煙治療のレセプト区分がまだありません");
    }
    variants("  文案 A/B 禁煙", &s.variants);
    let d = &r.diabetes;
    println!(
        "D 糖尿病重症化予防: 通知 {} 人 (判定待ち {} 人)",
        d.notified, d.pending
    );
    println!("  6か月以内の受診率      {}", pct(&d.visit));
    println!(
        "  次回健診の HbA1c 変化  {} (受診 {}, 未受診 {})",
        change(&d.hba1c_change),
        change(&d.hba1c_change_visited),
        change(&d.hba1c_change_not_visited)
    );
    println!("  次回 HbA1c 7.0 未満     {}", pct(&d.below_7));
    println!("  次回 HbA1c 6.5 未満     {}", pct(&d.below_6_5));
    println!("  1年後も未治療          {}", pct(&d.untreated_after_year));
    match &d.discontinuity {
        Some(rd) => println!(
            "  通知の効果 (回帰不連続, HbA1c {:.1}): 受診割合 {:+.1} 点 [{:+.1}, {:+.1}], 帯域幅 {:.2}, 閾値未満 {} 人 / 以上 {} 人",
            d.rd_threshold,
            100.0 * rd.effect.value,
            100.0 * rd.effect.low,
            100.0 * rd.effect.high,
            rd.bandwidth,
            rd.n_below,
            rd.n_above
        ),
        None => println!(
            "  通知の効果 (回帰不連続): 推定できません (閾値付近 {} 人)",
            d.rd_people
        ),
    }
    println!("C がん検診の精密検査受診:");
    for c in &r.cancer {
        println!(
            "  {:<6} 通知 {:>4}  初回通知後 {}  再勧奨後 {}  受診まで中央値 {}",
            c.label,
            c.notified,
            pct(&c.after_notice),
            pct(&c.after_renotice),
            c.median_days_to_visit
                .map_or_else(|| "—".to_owned(), |d| format!("{d} 日"))
        );
    }
    variants("  文案 A/B 精密検査", &r.cancer_variants);
    println!("R 次回健診でリスク保有でなくなった人:");
    for i in &r.risk {
        println!("  {:<12} {}", i.label, pct(&i.improved));
    }
    println!(
        "事業所別 (本人{}人未満は表示せず、{}人未満の区分は秘匿):",
        r.rule.min_population, r.rule.min_cell
    );
    for e in &r.employers {
        if e.too_small {
            println!("  {}  (本人{}人未満)", e.employer, r.rule.min_population);
            continue;
        }
        println!(
            "  {}  禁煙 {}  D受診 {}  C精密検査 {}",
            e.employer,
            cell(&e.quit),
            cell(&e.d_visit),
            cell(&e.c_after_notice)
        );
    }
}

fn variants(label: &str, v: &Option<VariantComparison>) {
    if let Some(v) = v {
        println!(
            "{label}: A {}  B {}  差 B−A {}",
            pct(&v.a),
            pct(&v.b),
            v.difference.map_or_else(
                || "—".to_owned(),
                |d| format!(
                    "{:+.1} 点 [{:+.1}, {:+.1}]",
                    100.0 * d.value,
                    100.0 * d.low,
                    100.0 * d.high
                )
            )
        );
    }
}
