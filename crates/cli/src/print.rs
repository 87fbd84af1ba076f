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
        .map(|(p, n)| format!("{}（{p}） {n}", p.short_label()))
        .collect();
    println!(
        "{today}: {} 人を確認、新規ケース [{}]、経過の追加 {} 件",
        summary.members,
        opened.join("、"),
        summary.events_appended
    );
    for ((p, reason), n) in &summary.skipped {
        if *n > 0 {
            println!(
                "  対象外（{}・{}）: {n} 人",
                p.short_label(),
                reason.label()
            );
        }
    }
}

/// A case timeline: one line per event, dated, in Japanese.
pub fn timeline(case: &Case) {
    println!(
        "ケース {}  {}  状態: {}",
        case.key,
        case.key.programme.short_label(),
        case.state().label()
    );
    for e in &case.events {
        println!("  {}  {}", e.on, e.event.label_ja());
    }
}

/// A case timeline for scripts.
pub fn timeline_json(case: &Case) -> serde_json::Value {
    serde_json::json!({
        "key": case.key.to_string(),
        "programme": case.key.programme.letter(),
        "state": case.state().code(),
        "state_label": case.state().label(),
        "events": case.events.iter().map(|e| serde_json::json!({
            "on": e.on.to_string(),
            "kind": e.event.kind_code(),
            "label": e.event.label_ja(),
            "event": e.event,
        })).collect::<Vec<_>>(),
    })
}

/// The programme table.
pub fn figures(figures: &BTreeMap<ProgrammeCode, ProgrammeFigures>) {
    println!(
        "{:<20} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>8} {:>8}",
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
            "{} {:>8} {:>10} {:>8} {:>8} {:>9} {:>9} {:>12} {:>10} {:>9}",
            pad(&format!("{}（{p}）", p.short_label()), 22),
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

/// Text padded with spaces to `width` display columns (a kanji counts two).
pub fn pad(text: &str, width: usize) -> String {
    let used: usize = text
        .chars()
        .map(|c| {
            if c.is_ascii() || ('ｦ'..='ﾟ').contains(&c) {
                1
            } else {
                2
            }
        })
        .sum();
    format!("{text}{}", " ".repeat(width.saturating_sub(used)))
}

/// What a review item is about: the person, and the checkup or list row.
fn review_what(entry: &ReviewEntry) -> (String, String, String) {
    let item = &entry.item;
    match &item.payload {
        Some(ReviewPayload::Checkup(c)) => (
            c.person.label(),
            c.person.birth_date.to_string(),
            format!("健診 {}", c.exam_date),
        ),
        Some(ReviewPayload::Referral(r)) => (
            r.person.label(),
            r.person.birth_date.to_string(),
            format!("{} 検診 {}", r.cancer.label(), r.screening_date),
        ),
        Some(ReviewPayload::Address { case_key, member }) => (
            format!(
                "{}-{}-{} {}",
                member.symbol,
                member.number,
                member.branch,
                entry
                    .member
                    .as_ref()
                    .map(|m| m.name_kanji.as_str())
                    .unwrap_or_default()
            ),
            entry
                .member
                .as_ref()
                .map(|m| m.birth_date.to_string())
                .unwrap_or_default(),
            format!("ケース {case_key}"),
        ),
        None => (item.subject.clone(), String::new(), String::new()),
    }
}

/// The review queue as a table.
pub fn review_table(entries: &[ReviewEntry]) {
    println!(
        "{:>6}  {}  {}  {}  {}  {}  {}",
        "番号",
        pad("種類", 8),
        pad("理由", 22),
        pad("事業所", 10),
        pad("取込・行", 12),
        pad("提出された方", 30),
        "内容"
    );
    for entry in entries {
        let item = &entry.item;
        let (who, birth, what) = review_what(entry);
        println!(
            "{:>6}  {}  {}  {}  {}  {}  {}",
            item.id,
            pad(item.kind.label(), 8),
            pad(item.reason.label(), 22),
            pad(
                &item
                    .employer
                    .as_ref()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "—".into()),
                10
            ),
            pad(&format!("{} の {}行目", item.import_id, item.line), 12),
            pad(&format!("{who} {birth}"), 30),
            what
        );
    }
}

/// One review item for scripts.
pub fn review_json(entry: &ReviewEntry) -> serde_json::Value {
    let item = &entry.item;
    let (who, birth, what) = review_what(entry);
    serde_json::json!({
        "id": item.id,
        "kind": item.kind.code(),
        "kind_label": item.kind.label(),
        "reason": item.reason.code(),
        "reason_label": item.reason.label(),
        "employer": item.employer.as_ref().map(|e| e.to_string()),
        "import_id": item.import_id,
        "line": item.line,
        "subject": item.subject,
        "person": who,
        "birth_date": birth,
        "about": what,
        "queued_at": item.queued_at.map(|t| t.to_string()),
    })
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
        "  次回健診の HbA1c 変化  {} n={} (受診 {} n={}, 未受診 {} n={})",
        change(&d.hba1c_change),
        d.hba1c_people.0 + d.hba1c_people.1,
        change(&d.hba1c_change_visited),
        d.hba1c_people.0,
        change(&d.hba1c_change_not_visited),
        d.hba1c_people.1
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

/// The 共同利用 declaration in force, item by item as the law lists them.
pub fn joint_use(d: &collabo_domain::joint_use::JointUseDeclaration) {
    println!(
        "共同利用の公表事項 第{}版 ({} から有効)",
        d.version, d.effective_from
    );
    for (label, value) in joint_use_items(d) {
        println!("  {label}: {value}");
    }
}

fn joint_use_items(
    d: &collabo_domain::joint_use::JointUseDeclaration,
) -> [(&'static str, &str); 8] {
    [
        ("共同利用をする旨", &d.statement),
        ("共同して利用される個人データの項目", &d.items),
        ("共同して利用する者の範囲", &d.joint_users),
        ("利用する者の利用目的", &d.purposes),
        ("管理について責任を有する者の名称", &d.responsible_name),
        ("その住所", &d.responsible_address),
        ("代表者の氏名", &d.responsible_representative),
        ("公表の方法", &d.published_at),
    ]
}

/// A declaration as the TOML file `joint-use record` reads, each item under its
/// Japanese name as a comment.
pub fn joint_use_toml(d: &collabo_domain::joint_use::JointUseDeclaration) -> String {
    let q = |v: &str| toml::Value::String(v.to_owned()).to_string();
    let keys = [
        "statement",
        "items",
        "joint_users",
        "purposes",
        "responsible_name",
        "responsible_address",
        "responsible_representative",
        "published_at",
    ];
    let mut out = String::from(
        "# 共同利用の公表事項 (個人情報保護法第27条第5項第3号)。各項目を自組合の内容に書き換えて\n# `collabo joint-use record このファイル` で登録します。\n\n",
    );
    out.push_str(&format!(
        "# 有効となる日\neffective_from = {}\n\n",
        q(&d.effective_from.to_string())
    ));
    for (key, (label, value)) in keys.iter().zip(joint_use_items(d)) {
        out.push_str(&format!("# {label}\n{key} = {}\n\n", q(value)));
    }
    out
}

/// Reads the TOML file of `joint-use record`.
pub fn joint_use_from_toml(
    text: &str,
) -> anyhow::Result<collabo_domain::joint_use::JointUseDeclaration> {
    toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("共同利用の公表事項のファイルが読めません: {e}"))
}

/// The retention dry run: counts per kind, then the records.
pub fn retention(plan: &collabo_app::retention::RetentionPlan) {
    if plan.lines.is_empty() {
        println!(
            "{} 時点で保存期間 ({} 年) を過ぎた記録はありません。",
            plan.today, plan.years
        );
        return;
    }
    let counts: Vec<String> = plan
        .counts()
        .iter()
        .map(|(k, n)| format!("{} {n} 件", k.label()))
        .collect();
    println!(
        "{} 時点で保存期間 ({} 年) を過ぎた記録: {} ({} 人)",
        plan.today,
        plan.years,
        counts.join("、"),
        plan.people
    );
    println!(
        "{}{}{}{}資格喪失日",
        pad("対象者", 28),
        pad("種別", 22),
        pad("作成日", 12),
        pad("保存期限", 12)
    );
    for l in &plan.lines {
        println!(
            "{}{}{}{}{}",
            pad(&l.person, 28),
            pad(l.kind_label, 22),
            pad(&l.made.to_string(), 12),
            pad(&l.keep_until.to_string(), 12),
            l.left.map(|d| d.to_string()).unwrap_or_default()
        );
    }
}
