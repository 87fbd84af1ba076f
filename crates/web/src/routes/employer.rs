//! Employer pages: uploads with their validation reports, deadlines (翌々月末) and late
//! rows, the programme R risk-holder list (computed from checkups, never from cases),
//! and aggregates with small cells suppressed.
//!
//! Deliberately absent: anything derived from claims (visits), letters, cases or
//! outcomes. The gate has already checked that the employer in the path is the
//! caller's own; every store query is filtered by that employer again.

use super::{audit, csv_response, employer_code, encode_segment};
use crate::AppState;
use crate::auth::Identity;
use crate::error::{WebError, WebResult};
use crate::gate::Granted;
use crate::view::{Block, Cell, Field, Form, Page, Table, wareki, wareki_text, wareki_time};
use axum::Extension;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use collabo_app::ImportError;
use collabo_domain::authz::{self, Access};
use collabo_domain::calendar::{FiscalYear, yokuyokugetsumatsu};
use collabo_domain::checkup::{Checkup, SmokingAnswer};
use collabo_domain::employer::Employer;
use collabo_domain::ids::EmployerCode;
use collabo_domain::member::Member;
use collabo_domain::programme::{ProgrammeCode, ProgrammeRules};
use collabo_domain::risk::{RiskFlag, flag_checkup};
use collabo_store::ImportSummary;
use std::collections::{BTreeMap, BTreeSet};

/// The employer of the path, or 404.
pub async fn find_employer(state: &AppState, raw: &str) -> WebResult<Employer> {
    let code = employer_code(raw)?;
    state
        .store
        .employers()
        .await?
        .into_iter()
        .find(|e| e.code == code)
        .ok_or(WebError::NotFound)
}

fn upload_forms(page: &mut Page, code: &EmployerCode, csrf: &str) {
    let base = format!("/employer/{}", encode_segment(code.as_str()));
    page.push(Block::Heading(
        "要精密検査者リストの提出（がん検診）".into(),
    ));
    page.push(Block::Form(Form {
        action: format!("{base}/referrals"),
        multipart: true,
        csrf: csrf.into(),
        fields: vec![Field::new("ファイル（CSV / XLSX）", "file", "file").hint(
            "列: 記号, 番号, 氏名, 生年月日, がん検診の種類, 検診実施年月日（本人同意の列があれば同意）。提出期限は検診月の翌々月末です。",
        )],
        submit: "提出する".into(),
        get: false,
    }));
    page.push(Block::Heading("特定健診結果の提出".into()));
    page.push(Block::Form(Form {
        action: format!("{base}/checkups"),
        multipart: true,
        csrf: csrf.into(),
        fields: vec![
            Field::new("ファイル（XML zip / CSV / XLSX）", "file", "file")
                .hint("厚生労働省の特定健診標準様式（zip）または所定のCSV/XLSX様式。"),
        ],
        submit: "提出する".into(),
        get: false,
    }));
}

fn kind_label(kind: &str) -> &str {
    match kind {
        "referrals" => "要精密検査者リスト",
        "checkups" => "特定健診結果",
        "members" => "資格",
        "claims" => "レセプト",
        other => other,
    }
}

/// GET /employer/{employer}: submissions, upload forms, deadlines and late rows.
pub async fn overview(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let employer = find_employer(&state, &raw).await?;
    let code = employer.code.clone();
    let mut page = Page::new(&format!("{}（{}）提出状況", employer.name, code), &who);
    if matches!(who.role, collabo_domain::authz::Role::Employer(_))
        && state
            .store
            .user(&who.username)
            .await?
            .is_some_and(|u| !u.totp_enrolled)
    {
        page.push(Block::Links(vec![(
            "/totp/setup".into(),
            "二要素認証（確認コード）を設定して、ログインをより安全にする".into(),
        )]));
    }
    upload_forms(&mut page, &code, who.csrf());
    page.push(Block::Heading("提出履歴".into()));
    let submissions = state.store.submissions(&code, 100).await?;
    let rows = submissions
        .iter()
        .map(|s| {
            let summary: ImportSummary = serde_json::from_str(&s.summary).unwrap_or_default();
            vec![
                Cell::Text(wareki_time(&s.imported_at)),
                Cell::Text(kind_label(&s.kind).to_owned()),
                Cell::Link(
                    format!(
                        "/employer/{}/uploads/{}",
                        encode_segment(code.as_str()),
                        s.id
                    ),
                    s.file_name.clone(),
                ),
                Cell::Num(summary.rows.to_string()),
                Cell::Num(summary.stored.to_string()),
                Cell::Num(summary.to_review.to_string()),
                if summary.late > 0 {
                    Cell::Badge(format!("期限後 {}件", summary.late), "warn")
                } else {
                    Cell::Badge("期限内".into(), "ok")
                },
            ]
        })
        .collect();
    page.push(Block::Table(Table {
        headers: [
            "提出日時",
            "種類",
            "ファイル",
            "行数",
            "登録",
            "確認待ち",
            "期限",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        empty: "まだ提出はありません。".into(),
    }));
    page.push(Block::Heading("要精密検査者の提出期限（翌々月末）".into()));
    let referrals = state.store.referrals_of(&code, 200).await?;
    let mut people = BTreeSet::new();
    let rows = referrals
        .iter()
        .map(|r| {
            people.insert(r.member_key.clone());
            let due = r
                .screening_date
                .parse::<collabo_domain::Date>()
                .ok()
                .and_then(|d| yokuyokugetsumatsu(d).ok())
                .map_or_else(String::new, wareki);
            vec![
                Cell::Text(r.name.clone()),
                Cell::Text(
                    collabo_domain::referral::CancerType::from_code(&r.cancer)
                        .map_or(r.cancer.clone(), |c| c.label().to_owned()),
                ),
                Cell::Text(wareki_text(&r.screening_date)),
                Cell::Text(due),
                Cell::Text(wareki_text(&r.received_on)),
                if r.late {
                    Cell::Badge("期限後".into(), "warn")
                } else {
                    Cell::Badge("期限内".into(), "ok")
                },
            ]
        })
        .collect();
    page.push(Block::Table(Table {
        headers: [
            "氏名",
            "検診の種類",
            "検診実施日",
            "提出期限",
            "受付日",
            "期限",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        empty: "要精密検査者の提出はまだありません。".into(),
    }));
    for key in &people {
        audit(
            &state,
            &who,
            "employer.referrals.view",
            Some(key),
            Some(code.as_str()),
            "submission overview".into(),
        )
        .await?;
    }
    Ok(page.html()?.into_response())
}

fn summary_facts(summary: &ImportSummary) -> Vec<(String, String)> {
    let mut facts = vec![
        ("読み込んだ行".into(), summary.rows.to_string()),
        ("登録した行".into(), summary.stored.to_string()),
        ("登録済みと重複".into(), summary.duplicates.to_string()),
        (
            "照合確認待ち（組合で確認します）".into(),
            summary.to_review.to_string(),
        ),
        (
            "本人の申出により除外".into(),
            summary.excluded_opted_out.to_string(),
        ),
        (
            "提出期限（翌々月末）を過ぎた行".into(),
            summary.late.to_string(),
        ),
    ];
    if !summary.unknown_items.is_empty() {
        let items: Vec<String> = summary
            .unknown_items
            .iter()
            .map(|(k, n)| format!("{k}（{n}件）"))
            .collect();
        facts.push(("未対応の検査項目コード".into(), items.join("、")));
    }
    facts
}

/// GET /employer/{employer}/uploads/{id}.
pub async fn upload_report(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path((raw, id)): Path<(String, i64)>,
) -> WebResult<Response> {
    let employer = find_employer(&state, &raw).await?;
    let submission = state
        .store
        .submission(&employer.code, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let summary: ImportSummary = serde_json::from_str(&submission.summary).unwrap_or_default();
    let mut page = Page::new("取込結果", &who);
    page.push(Block::Facts(vec![
        ("ファイル".into(), submission.file_name.clone()),
        ("種類".into(), kind_label(&submission.kind).to_owned()),
        ("提出日時".into(), wareki_time(&submission.imported_at)),
        ("提出者".into(), submission.actor.clone()),
    ]));
    page.push(Block::Facts(summary_facts(&summary)));
    page.push(Block::Links(vec![(
        format!("/employer/{}", encode_segment(employer.code.as_str())),
        "提出状況へ戻る".into(),
    )]));
    Ok(page.html()?.into_response())
}

async fn read_upload(mut multipart: Multipart) -> WebResult<(String, Vec<u8>)> {
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(format!("アップロードを読み取れませんでした: {e}")))?
    {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("upload").to_owned();
            let bytes = field.bytes().await.map_err(|e| {
                WebError::BadRequest(format!("アップロードを読み取れませんでした: {e}"))
            })?;
            if bytes.is_empty() {
                return Err(WebError::BadRequest(
                    "ファイルが選択されていないか、空のファイルです。".into(),
                ));
            }
            // Only the base name, never a client path.
            let name = name
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or("upload")
                .to_owned();
            return Ok((name, bytes.to_vec()));
        }
    }
    Err(WebError::BadRequest(
        "ファイルが選択されていません。".into(),
    ))
}

/// Renders the result of an upload: its report, or every problem with line and field.
async fn upload_result(
    state: &AppState,
    who: &Identity,
    employer: &Employer,
    kind: &str,
    file: &str,
    result: Result<collabo_app::ImportReport, ImportError>,
) -> WebResult<Response> {
    let back = format!("/employer/{}", encode_segment(employer.code.as_str()));
    match result {
        Ok(report) => {
            let mut page = Page::new("取込結果", who);
            if report.summary.already_imported {
                page.notice(
                    "warn",
                    vec![format!(
                        "{file} は以前に提出済みのため、内容は変わっていません。"
                    )],
                );
            } else {
                page.notice("ok", vec![format!("{file} を受け付けました。")]);
            }
            if report.summary.late > 0 {
                page.notice("warn", vec![format!("提出期限（検診月の翌々月末）を過ぎた行が {} 件あります。受け付けましたが、期限後として記録しています。", report.summary.late)]);
            }
            page.push(Block::Facts(summary_facts(&report.summary)));
            page.push(Block::Links(vec![
                (
                    format!("{back}/uploads/{}", report.summary.import_id),
                    "この取込結果のページ".into(),
                ),
                (back, "提出状況へ戻る".into()),
            ]));
            Ok(page.html()?.into_response())
        }
        Err(e) => {
            audit(
                state,
                who,
                &format!("import.{kind}.rejected"),
                None,
                Some(employer.code.as_str()),
                format!("{file}: {}", first_line(&e)),
            )
            .await?;
            let mut page = Page::new("取込できませんでした", who);
            page.notice("error", vec![format!("{file} にエラーがあるため、取り込みませんでした（1行も登録していません）。修正して再提出してください。")]);
            match &e {
                ImportError::Rows { problems } => {
                    page.push(Block::Table(Table {
                        headers: ["行", "項目", "内容"].map(String::from).to_vec(),
                        rows: problems
                            .iter()
                            .map(|p| {
                                vec![
                                    Cell::Num(p.line.to_string()),
                                    Cell::Text(p.field.clone()),
                                    Cell::Text(problem_in_japanese(&p.message)),
                                ]
                            })
                            .collect(),
                        empty: String::new(),
                    }));
                }
                ImportError::Store(inner) => return Err(WebError::Internal(inner.to_string())),
                other => {
                    page.push(Block::Pre(other.to_string()));
                }
            }
            upload_forms(&mut page, &employer.code, who.csrf());
            page.push(Block::Links(vec![(back, "提出状況へ戻る".into())]));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page.html()?).into_response())
        }
    }
}

/// The import services word their problems in English; the office user reads
/// Japanese. Known phrasings are translated, anything else is shown as it is.
pub fn problem_in_japanese(message: &str) -> String {
    if message == "required value is empty" {
        return "必須の項目が空欄です。".into();
    }
    if let Some(rest) = message.strip_prefix("expected ") {
        let choices = rest.replace(" or ", ", ");
        return format!("次のいずれかを記入してください: {choices}");
    }
    if message.contains("is not a date") {
        return "日付として読めません。2026-06-05、20260605、令和8年6月5日 のように記入してください。".into();
    }
    if message.contains("is not valid") || message.contains(" is empty") {
        return format!("形式が正しくありません（{message}）");
    }
    message.to_owned()
}

fn first_line(e: &ImportError) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

/// POST /employer/{employer}/referrals.
pub async fn upload_referrals(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
    multipart: Multipart,
) -> WebResult<Response> {
    let employer = find_employer(&state, &raw).await?;
    let (file, bytes) = read_upload(multipart).await?;
    let result = collabo_app::imports::import_referrals_bytes(
        &state.store,
        &file,
        &bytes,
        &employer.code,
        &who.actor(),
        state.today(),
        state.now(),
    )
    .await;
    upload_result(&state, &who, &employer, "referrals", &file, result).await
}

/// POST /employer/{employer}/checkups.
pub async fn upload_checkups(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
    multipart: Multipart,
) -> WebResult<Response> {
    let employer = find_employer(&state, &raw).await?;
    let (file, bytes) = read_upload(multipart).await?;
    let result = collabo_app::checkups::import_checkups_bytes(
        &state.store,
        &file,
        &bytes,
        Some(&employer.code),
        &who.actor(),
        state.today(),
        state.now(),
    )
    .await;
    upload_result(&state, &who, &employer, "checkups", &file, result).await
}

/// One risk holder of programme R.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RiskHolder {
    /// Member key text.
    pub member_key: String,
    /// 氏名.
    pub name: String,
    /// 記号-番号.
    pub card: String,
    /// 健診日.
    pub exam_date: String,
    /// Flagged items: (label, value, threshold, level label).
    pub items: Vec<(String, String, String, String)>,
}

/// Risk holders of programme R for an employer in the fiscal year of `today`,
/// computed from checkups with the R thresholds of that year.
pub async fn compute_risk_holders(
    state: &AppState,
    code: &EmployerCode,
) -> WebResult<(FiscalYear, Vec<RiskHolder>)> {
    let fy = FiscalYear::of(state.today());
    let checkups = state
        .store
        .employer_checkups(code, fy.first_day(), fy.last_day())
        .await?;
    let book = state.store.programme_book().await?;
    let Some(settings) = book.for_year(ProgrammeCode::R, fy) else {
        return Ok((fy, Vec::new()));
    };
    let ProgrammeRules::Risk {
        thresholds,
        share_level,
        ..
    } = &settings.rules
    else {
        return Ok((fy, Vec::new()));
    };
    let mut out = Vec::new();
    for (member, checkup) in latest_per_member(checkups) {
        let flags: Vec<RiskFlag> = flag_checkup(&checkup, member.sex, thresholds)
            .into_iter()
            .filter(|f| f.level >= *share_level)
            .collect();
        if flags.is_empty() {
            continue;
        }
        out.push(RiskHolder {
            member_key: member.key.to_key_string(),
            name: member.name_kanji.clone(),
            card: format!("{}-{}", member.key.symbol, member.key.number),
            exam_date: wareki(checkup.exam_date),
            items: flags
                .iter()
                .map(|f| {
                    (
                        f.item.label().to_owned(),
                        format!("{} {}", trim_number(f.value), f.item.unit()),
                        format!("{}{}", f.direction.symbol(), trim_number(f.threshold)),
                        f.level.label().to_owned(),
                    )
                })
                .collect(),
        });
    }
    Ok((fy, out))
}

fn trim_number(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

fn latest_per_member(rows: Vec<(Member, Checkup)>) -> Vec<(Member, Checkup)> {
    let mut by_member: BTreeMap<String, (Member, Checkup)> = BTreeMap::new();
    for (m, c) in rows {
        let key = m.key.to_key_string();
        match by_member.get(&key) {
            Some((_, existing)) if existing.exam_date >= c.exam_date => {}
            _ => {
                by_member.insert(key, (m, c));
            }
        }
    }
    by_member.into_values().collect()
}

/// GET /employer/{employer}/risk-holders.
pub async fn risk_holders(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let employer = find_employer(&state, &raw).await?;
    let (fy, holders) = compute_risk_holders(&state, &employer.code).await?;
    let mut page = Page::new(
        &format!(
            "{} リスク保有者一覧（{}）",
            employer.name,
            crate::view::nendo(fy)
        ),
        &who,
    );
    page.push(Block::Para("特定健診の結果が受診勧奨判定値などの基準に該当した方です。産業保健スタッフによる事後指導にご活用ください。人事評価には使用できません。".into()));
    let rows = holders
        .iter()
        .map(|h| {
            let items: Vec<String> = h
                .items
                .iter()
                .map(|(l, v, t, lv)| format!("{l} {v}（基準 {t}・{lv}）"))
                .collect();
            vec![
                Cell::Text(h.name.clone()),
                Cell::Text(h.card.clone()),
                Cell::Text(h.exam_date.clone()),
                Cell::Text(items.join(" / ")),
            ]
        })
        .collect();
    page.push(Block::Table(Table {
        headers: ["氏名", "記号-番号", "健診日", "該当項目"]
            .map(String::from)
            .to_vec(),
        rows,
        empty: "今年度の該当者はいません（健診結果が未提出の場合も表示されません）。".into(),
    }));
    for h in &holders {
        audit(
            &state,
            &who,
            "employer.risk_holders.view",
            Some(&h.member_key),
            Some(employer.code.as_str()),
            format!("FY{}", fy.year()),
        )
        .await?;
    }
    Ok(page.html()?.into_response())
}

/// One aggregate figure: label and count, `None` when suppressed.
pub type Figure = (String, Option<u64>);

/// Aggregates of an employer in the fiscal year of `today`; with `suppressed` every
/// cell under the minimum, and every cell of a small employer, is `None`.
pub async fn compute_aggregates(
    state: &AppState,
    code: &EmployerCode,
    suppressed: bool,
) -> WebResult<(FiscalYear, u64, Vec<Figure>)> {
    let today = state.today();
    let fy = FiscalYear::of(today);
    let population =
        u64::try_from(state.store.employer_population(code, today).await?).unwrap_or(0);
    let checkups = latest_per_member(
        state
            .store
            .employer_checkups(code, fy.first_day(), fy.last_day())
            .await?,
    );
    let book = state.store.programme_book().await?;
    let thresholds = match book.for_year(ProgrammeCode::R, fy).map(|s| &s.rules) {
        Some(ProgrammeRules::Risk { thresholds, .. }) => thresholds.clone(),
        _ => collabo_domain::risk::default_thresholds(),
    };
    let mut by_item: BTreeMap<String, u64> = BTreeMap::new();
    let mut any_risk = 0u64;
    let mut smokers = 0u64;
    for (member, checkup) in &checkups {
        let flags = flag_checkup(checkup, member.sex, &thresholds);
        let items: BTreeSet<&str> = flags.iter().map(|f| f.item.label()).collect();
        if !items.is_empty() {
            any_risk += 1;
        }
        for item in items {
            *by_item.entry(item.to_owned()).or_default() += 1;
        }
        if checkup.questionnaire.smoking == Some(SmokingAnswer::Smokes) {
            smokers += 1;
        }
    }
    let mut figures: Vec<(String, u64)> = vec![
        ("加入者数".into(), population),
        ("健診受診者数".into(), checkups.len() as u64),
        ("リスク保有者数（いずれかの項目）".into(), any_risk),
        ("喫煙者数".into(), smokers),
    ];
    figures.extend(
        by_item
            .into_iter()
            .map(|(item, n)| (format!("リスク保有者数：{item}"), n)),
    );
    let cfg = &state.config;
    let out = figures
        .into_iter()
        .map(|(label, n)| {
            let shown = if suppressed {
                authz::suppress(n, population, cfg.min_population, cfg.min_cell)
            } else {
                Some(n)
            };
            (label, shown)
        })
        .collect();
    Ok((fy, population, out))
}

fn suppressed_for(granted: Granted) -> bool {
    granted.0 == Access::AllowSuppressed
}

/// GET /employer/{employer}/aggregates.
pub async fn aggregates(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Extension(granted): Extension<Granted>,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let employer = find_employer(&state, &raw).await?;
    let suppressed = suppressed_for(granted);
    let (fy, population, figures) = compute_aggregates(&state, &employer.code, suppressed).await?;
    let mut page = Page::new(
        &format!("{} 集計（{}）", employer.name, crate::view::nendo(fy)),
        &who,
    );
    if suppressed && population < state.config.min_population {
        page.notice(
            "warn",
            vec![format!(
                "加入者が{}人未満の事業所では、個人が特定されないよう集計を表示しません。",
                state.config.min_population
            )],
        );
    }
    page.push(Block::Para(format!(
        "{}人未満の区分は「—（秘匿）」と表示します。",
        state.config.min_cell
    )));
    page.push(Block::Table(Table {
        headers: ["区分", "人数"].map(String::from).to_vec(),
        rows: figures
            .iter()
            .map(|(l, n)| {
                vec![
                    Cell::Text(l.clone()),
                    Cell::Num(n.map_or_else(|| "—（秘匿）".to_owned(), |n| n.to_string())),
                ]
            })
            .collect(),
        empty: String::new(),
    }));
    page.push(Block::Links(vec![(
        format!(
            "/employer/{}/aggregates.csv",
            encode_segment(employer.code.as_str())
        ),
        "CSVでダウンロード".into(),
    )]));
    Ok(page.html()?.into_response())
}

/// GET /employer/{employer}/aggregates.csv: the same cells, the same suppression.
pub async fn aggregates_csv(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Extension(granted): Extension<Granted>,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let employer = find_employer(&state, &raw).await?;
    let (fy, _, figures) =
        compute_aggregates(&state, &employer.code, suppressed_for(granted)).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| WebError::Internal(format!("csv: {e}"));
    w.write_record(["年度", "区分", "人数"]).map_err(io)?;
    for (label, n) in &figures {
        w.write_record([
            fy.year().to_string(),
            label.clone(),
            n.map_or_else(|| "秘匿".to_owned(), |n| n.to_string()),
        ])
        .map_err(io)?;
    }
    let body = String::from_utf8(
        w.into_inner()
            .map_err(|e| WebError::Internal(e.to_string()))?,
    )
    .map_err(|e| WebError::Internal(e.to_string()))?;
    audit(
        &state,
        &who,
        "export.aggregates",
        None,
        Some(employer.code.as_str()),
        format!("FY{}", fy.year()),
    )
    .await?;
    Ok(csv_response(
        &format!("aggregates-{}-{}.csv", employer.code, fy.year()),
        body,
    ))
}
