//! Employer pages: uploads with their validation reports, deadlines (翌々月末) and late
//! rows, the programme R risk-holder list, and the published aggregates. Each page is one
//! call of `collabo_app::App`, which checks scope, applies the visibility rule and
//! audits; nothing here reads data another way.
//!
//! Deliberately absent: anything derived from claims (visits), letters, cases or
//! outcomes.

use super::{csv_response, employer_code, encode_segment};
use crate::AppState;
use crate::auth::Identity;
use crate::error::{WebError, WebResult};
use crate::view::{
    Block, Cell, Field, Form, PER_PAGE, Page, Table, page_number, pager, wareki, wareki_at,
};
use axum::Extension;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use collabo_app::employer::{AggregateView, RiskHolder, RiskOrder, YEARS_OFFERED};
use collabo_app::{AppError, ImportError, ImportSummary};
use collabo_domain::admission::ImportKind;
use collabo_domain::calendar::FiscalYear;
use collabo_domain::checkup::{Item, UrineGrade};
use collabo_domain::employer::Employer;
use collabo_domain::ids::EmployerCode;
use collabo_domain::risk::RiskFlag;
use serde::Deserialize;

/// The employer of the path, or 404 (also for an employer that is not the caller's).
pub async fn find_employer(state: &AppState, who: &Identity, raw: &str) -> WebResult<Employer> {
    let code = employer_code(raw)?;
    Ok(state.app.employer(&who.actor(), &code).await?)
}

fn upload_forms(page: &mut Page, code: &EmployerCode, csrf: &str, cancer: bool) {
    let base = format!("/employer/{}", encode_segment(code.as_str()));
    if cancer {
        referral_form(page, &base, csrf);
    }
    checkup_form(page, &base, csrf);
}

fn referral_form(page: &mut Page, base: &str, csrf: &str) {
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
    page.push(super::forms::links(ImportKind::Referrals));
}

fn checkup_form(page: &mut Page, base: &str, csrf: &str) {
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
    page.push(super::forms::links(ImportKind::Checkups));
}

/// A page of a list.
#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    page: Option<i64>,
}

/// GET /employer/{employer}?page=N: submissions, upload forms, deadlines and late rows
/// (a page of them).
pub async fn overview(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult<Response> {
    let code = employer_code(&raw)?;
    let actor = who.actor();
    let current = page_number(q.page);
    let overview = state
        .app
        .employer_overview(&actor, &code, collabo_app::Paging::page(current, PER_PAGE))
        .await?;
    let employer = &overview.employer;
    let mut page = Page::new(&format!("{}（{}）提出状況", employer.name, code), &who);
    if matches!(who.role, collabo_domain::authz::Role::Employer(_))
        && state
            .app
            .user(&actor, &who.username)
            .await?
            .is_some_and(|u| !u.totp_enrolled)
    {
        page.push(Block::Links(vec![(
            "/totp/setup".into(),
            "二要素認証（確認コード）を設定して、ログインをより安全にする".into(),
        )]));
    }
    if overview.cancer_agreement {
        let today = state.today();
        page.push(Block::Heading("次の提出期限（要精密検査者リスト）".into()));
        page.push(Block::Table(Table {
            headers: ["検診の実施月", "提出期限（翌々月末）"]
                .map(String::from)
                .to_vec(),
            rows: collabo_domain::calendar::referral_deadlines_from(today, 3)
                .into_iter()
                .map(|(month, due)| {
                    vec![
                        Cell::Key(format!(
                            "{}実施分",
                            collabo_domain::calendar::format_wareki_month(month)
                        )),
                        Cell::Key(format!("{}締切", wareki(due))),
                    ]
                })
                .collect(),
            empty: String::new(),
        }));
    } else {
        page.push(Block::Para("がん検診の要精密検査者リストは、健康保険組合と覚書を締結すると提出できるようになります。".into()));
    }
    upload_forms(&mut page, &code, who.csrf(), overview.cancer_agreement);
    page.push(Block::Heading("提出履歴".into()));
    let rows = overview
        .submissions
        .iter()
        .map(|s| {
            let summary = &s.summary;
            vec![
                Cell::Text(wareki_at(s.imported_at)),
                Cell::Text(s.kind.label().to_owned()),
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
    pager(
        &mut page,
        &format!("/employer/{}?", encode_segment(code.as_str())),
        current,
        overview.referrals_total,
    );
    let rows = overview
        .referrals
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.person.name.clone()),
                Cell::Text(r.cancer.label().to_owned()),
                Cell::Text(wareki(r.screening_date)),
                Cell::Text(r.due.map(wareki).unwrap_or_default()),
                Cell::Text(wareki(r.received_on)),
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
    let code = employer_code(&raw)?;
    let submission = state.app.upload_report(&who.actor(), &code, id).await?;
    let mut page = Page::new("取込結果", &who);
    page.push(Block::Facts(vec![
        ("ファイル".into(), submission.file_name.clone()),
        ("種類".into(), submission.kind.label().to_owned()),
        ("提出日時".into(), wareki_at(submission.imported_at)),
        ("提出者".into(), submission.actor.clone()),
    ]));
    page.push(Block::Facts(summary_facts(&submission.summary)));
    page.push(Block::Links(vec![(
        format!("/employer/{}", encode_segment(code.as_str())),
        "提出状況へ戻る".into(),
    )]));
    Ok(page.html()?.into_response())
}

/// An upload the multipart reader refused, in words for the office user (the body
/// limit, or a broken transfer).
fn unreadable(e: axum::extract::multipart::MultipartError) -> WebError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        WebError::BadRequest("ファイルが大きすぎます。分割して提出してください。".into())
    } else {
        WebError::BadRequest(
            "アップロードを読み取れませんでした。通信が途中で切れた可能性があります。もう一度送ってください。".into(),
        )
    }
}

async fn read_upload(mut multipart: Multipart) -> WebResult<(String, Vec<u8>)> {
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("upload").to_owned();
            let bytes = field.bytes().await.map_err(unreadable)?;
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
    who: &Identity,
    employer: &Employer,
    file: &str,
    result: Result<collabo_app::ImportReport, AppError>,
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
        Err(AppError::Import(e)) => {
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
                other => {
                    page.push(Block::Pre(other.to_string()));
                }
            }
            upload_forms(&mut page, &employer.code, who.csrf(), true);
            page.push(Block::Links(vec![(back, "提出状況へ戻る".into())]));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page.html()?).into_response())
        }
        Err(other) => Err(other.into()),
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

/// POST /employer/{employer}/referrals.
pub async fn upload_referrals(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
    multipart: Multipart,
) -> WebResult<Response> {
    let employer = find_employer(&state, &who, &raw).await?;
    let (file, bytes) = read_upload(multipart).await?;
    let result = state
        .app
        .import_referrals(&who.actor(), &employer.code, &file, &bytes)
        .await;
    upload_result(&who, &employer, &file, result).await
}

/// POST /employer/{employer}/checkups.
pub async fn upload_checkups(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
    multipart: Multipart,
) -> WebResult<Response> {
    let employer = find_employer(&state, &who, &raw).await?;
    let (file, bytes) = read_upload(multipart).await?;
    let result = state
        .app
        .import_checkups_upload(&who.actor(), Some(&employer.code), &file, &bytes)
        .await;
    upload_result(&who, &employer, &file, result).await
}

/// Which fiscal year a page shows (and which page of a list).
#[derive(Deserialize, Default)]
pub struct YearQuery {
    #[serde(default)]
    fy: Option<i16>,
    #[serde(default)]
    page: Option<i64>,
    #[serde(default)]
    order: String,
    #[serde(default)]
    format: String,
}

/// A flag as a person reads it: label, value with unit, criterion, level.
pub fn flag_text(f: &RiskFlag) -> (String, String, String, String) {
    // Urine items hold a grade's rank: shown as the result sheet prints them, （＋）.
    let grade = |v: f64| {
        matches!(f.item, Item::UrineProtein | Item::UrineGlucose)
            .then(|| UrineGrade::from_rank(v.round().clamp(0.0, 5.0) as u8))
            .flatten()
    };
    let value = match grade(f.value) {
        Some(g) => g.shown().to_owned(),
        None => format!("{} {}", trim_number(f.value), f.item.unit()),
    };
    let threshold = match grade(f.threshold) {
        Some(g) => format!("{}以上", g.shown()),
        None => format!("{}{}", f.direction.symbol(), trim_number(f.threshold)),
    };
    (
        f.item.label().to_owned(),
        value.trim().to_owned(),
        threshold,
        // The level in words, of the three: 保健指導判定値, 受診勧奨判定値, すぐに受診.
        f.urgency().label().to_owned(),
    )
}

fn trim_number(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

fn flags_text(h: &RiskHolder) -> String {
    h.flags
        .iter()
        .map(|f| {
            let (l, v, t, lv) = flag_text(f);
            format!("{l} {v}（基準 {t}・{lv}）")
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

fn card_of(h: &RiskHolder) -> String {
    format!(
        "{}-{}-{}",
        h.person.symbol, h.person.number, h.person.branch
    )
}

fn holder_row(h: &RiskHolder) -> Vec<Cell> {
    vec![
        Cell::Key(h.person.name.clone()),
        Cell::Key(h.person.name_kana.clone()),
        Cell::Key(card_of(h)),
        Cell::Key(wareki(h.exam_date)),
        Cell::Text(flags_text(h)),
    ]
}

/// GET /employer/{employer}/risk-holders?fy=&order=&page=: a page of the list, the 年度
/// (the latest with data unless chosen), the order (カナ順, 記号番号, 健診日) and the
/// downloads of the whole list.
pub async fn risk_holders(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
    Query(q): Query<YearQuery>,
) -> WebResult<Response> {
    let employer = find_employer(&state, &who, &raw).await?;
    let current = page_number(q.page);
    let order = RiskOrder::from_code(&q.order);
    let list = state
        .app
        .risk_holder_list(
            &who.actor(),
            &employer.code,
            q.fy.map(FiscalYear::new),
            order,
            collabo_app::Paging::page(current, PER_PAGE),
        )
        .await?;
    let fy = list.fiscal_year;
    let seg = encode_segment(employer.code.as_str());
    let mut page = Page::new(
        &format!(
            "{} リスク保有者一覧（{}）",
            employer.name,
            crate::view::nendo(fy)
        ),
        &who,
    );
    page.push(Block::Para("特定健診の結果が受診勧奨判定値などの基準に該当した方です。産業保健スタッフによる事後指導にご活用ください。人事評価には使用できません。".into()));
    let this_year = FiscalYear::of(state.today()).year();
    let mut year_field = Field::new("年度", "fy", "select").value(fy.year().to_string());
    year_field.options = (0..YEARS_OFFERED)
        .map(|back| {
            let y = FiscalYear::new(this_year - back);
            (y.year().to_string(), crate::view::nendo(y))
        })
        .collect();
    let mut order_field = Field::new("並び順", "order", "select").value(order.code());
    order_field.options = [
        (RiskOrder::Kana, "カナ順"),
        (RiskOrder::Card, "記号番号順"),
        (RiskOrder::ExamDate, "健診日の新しい順"),
    ]
    .into_iter()
    .map(|(o, l)| (o.code().to_owned(), l.to_owned()))
    .collect();
    page.push(Block::Form(Form {
        action: format!("/employer/{seg}/risk-holders"),
        multipart: false,
        csrf: String::new(),
        fields: vec![year_field, order_field],
        submit: "表示".into(),
        get: true,
    }));
    let query = format!("fy={}&order={}", fy.year(), order.code());
    page.push(Block::Links(vec![
        (
            format!("/employer/{seg}/risk-holders/export?{query}"),
            format!("CSVでダウンロード（全{}人）", list.total),
        ),
        (
            format!("/employer/{seg}/risk-holders/export?{query}&format=xlsx"),
            "Excel（XLSX）でダウンロード".into(),
        ),
    ]));
    pager(
        &mut page,
        &format!("/employer/{seg}/risk-holders?{query}&"),
        current,
        list.total,
    );
    page.push(Block::Table(Table {
        headers: ["氏名", "カナ", "記号-番号-枝番", "健診日", "該当項目"]
            .map(String::from)
            .to_vec(),
        rows: list.holders.iter().map(holder_row).collect(),
        empty: "この年度の該当者はいません（健診結果が未提出の場合も表示されません）。".into(),
    }));
    Ok(page.html()?.into_response())
}

/// GET /employer/{employer}/risk-holders/export?fy=&order=&format=xlsx: the whole list
/// of the year (audited by the application, naming everyone in it).
pub async fn risk_holders_export(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
    Query(q): Query<YearQuery>,
) -> WebResult<Response> {
    let employer = find_employer(&state, &who, &raw).await?;
    let list = state
        .app
        .risk_holder_list(
            &who.actor(),
            &employer.code,
            q.fy.map(FiscalYear::new),
            RiskOrder::from_code(&q.order),
            collabo_app::Paging::all(),
        )
        .await?;
    let rows: Vec<Vec<String>> = list
        .holders
        .iter()
        .map(|h| {
            vec![
                h.person.name.clone(),
                h.person.name_kana.clone(),
                card_of(h),
                h.exam_date.to_string(),
                flags_text(h),
            ]
        })
        .collect();
    super::table_download(
        q.format == "xlsx",
        &format!(
            "リスク保有者_{}_{}年度",
            employer.code,
            list.fiscal_year.year()
        ),
        &["氏名", "カナ", "記号-番号-枝番", "健診日", "該当項目"],
        &rows,
    )
}

fn count_text(n: Option<u64>, suppressed: bool) -> String {
    match (n, suppressed) {
        (Some(n), false) => n.to_string(),
        (Some(n), true) => format!("{n}（事業所には秘匿）"),
        (None, _) => "—（秘匿）".to_owned(),
    }
}

fn aggregates_page(who: &Identity, employer: &Employer, view: &AggregateView) -> Page {
    let mut page = Page::new(
        &format!(
            "{} 集計（{}）",
            employer.name,
            crate::view::nendo(view.fiscal_year)
        ),
        who,
    );
    page.push(Block::Para(view.rule.describe()));
    match &view.published {
        None => {
            page.notice(
                "warn",
                vec!["この年度の集計はまだ公表されていません。健康保険組合が集計を公表すると表示されます。".into()],
            );
        }
        Some((at, cells)) => {
            page.push(Block::Para(format!(
                "公表日時: {}（次の公表まで内容は変わりません）",
                wareki_at(*at)
            )));
            page.push(Block::Table(Table {
                headers: ["区分", "人数"].map(String::from).to_vec(),
                rows: cells
                    .iter()
                    .map(|c| {
                        vec![
                            Cell::Text(c.cell.label()),
                            Cell::Num(count_text(c.count, c.suppressed)),
                        ]
                    })
                    .collect(),
                empty: String::new(),
            }));
            page.push(Block::Links(vec![
                (
                    format!(
                        "/employer/{}/report?fy={}",
                        encode_segment(employer.code.as_str()),
                        view.fiscal_year.year()
                    ),
                    "健康スコアリングレポート（組合全体との比較）".into(),
                ),
                (
                    format!(
                        "/employer/{}/aggregates.csv?fy={}",
                        encode_segment(employer.code.as_str()),
                        view.fiscal_year.year()
                    ),
                    "CSVでダウンロード".into(),
                ),
            ]));
        }
    }
    page
}

/// GET /employer/{employer}/aggregates?fy=.
pub async fn aggregates(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
    Query(q): Query<YearQuery>,
) -> WebResult<Response> {
    let employer = find_employer(&state, &who, &raw).await?;
    let view = state
        .app
        .aggregates(&who.actor(), &employer.code, q.fy.map(FiscalYear::new))
        .await?;
    Ok(aggregates_page(&who, &employer, &view)
        .html()?
        .into_response())
}

/// GET /employer/{employer}/aggregates.csv?fy=: the same cells, the same suppression.
pub async fn aggregates_csv(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
    Query(q): Query<YearQuery>,
) -> WebResult<Response> {
    let employer = find_employer(&state, &who, &raw).await?;
    let view = state
        .app
        .aggregates(&who.actor(), &employer.code, q.fy.map(FiscalYear::new))
        .await?;
    let io = |e: collabo_export::ExportError| WebError::Internal(e.to_string());
    let mut w = collabo_export::CsvWriter::with_bom(collabo_export::LineEnd::Crlf);
    w.write_row(["事業所記号", "年度", "区分", "人数", "公表日時"])
        .map_err(io)?;
    if let Some((at, cells)) = &view.published {
        for c in cells {
            w.write_row([
                employer.code.to_string(),
                view.fiscal_year.year().to_string(),
                c.cell.label(),
                c.count.map_or_else(|| "秘匿".to_owned(), |n| n.to_string()),
                at.to_string(),
            ])
            .map_err(io)?;
        }
    }
    let body = w.finish().map_err(io)?;
    Ok(csv_response(
        &format!(
            "aggregates-{}-{}.csv",
            employer.code,
            view.fiscal_year.year()
        ),
        body,
    ))
}

/// GET /employer/{employer}/report?fy=: the 健康スコアリングレポート — the employer's
/// published shares next to the society's, suppressed cells left out.
pub async fn score_report(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
    Query(q): Query<YearQuery>,
) -> WebResult<Response> {
    let employer = find_employer(&state, &who, &raw).await?;
    let fy =
        q.fy.map(FiscalYear::new)
            .unwrap_or_else(|| FiscalYear::of(state.today()));
    let report = state
        .app
        .score_report(&who.actor(), &employer.code, fy)
        .await?;
    let mut page = Page::new(
        &format!(
            "{} 健康スコアリングレポート（{}）",
            employer.name,
            crate::view::nendo(fy)
        ),
        &who,
    );
    page.push(Block::Para(report.rule.describe()));
    if report.published_at.is_none() {
        page.notice(
            "warn",
            vec!["この年度の集計はまだ公表されていません。".into()],
        );
    }
    let pct = |x: Option<f64>| {
        x.map_or_else(
            || "秘匿・未公表".to_owned(),
            |x| format!("{:.1}%", 100.0 * x),
        )
    };
    page.push(Block::Table(Table {
        headers: ["指標", "貴事業所", "組合全体"].map(String::from).to_vec(),
        rows: report
            .lines
            .iter()
            .map(|l| {
                vec![
                    Cell::Text(l.label.clone()),
                    Cell::Num(pct(l.employer)),
                    Cell::Num(pct(l.society)),
                ]
            })
            .collect(),
        empty: "公表された集計がありません。".into(),
    }));
    page.push(Block::Para("健診結果の公表済み集計だけから作成しています。医療機関の受診状況・通知・個人の情報は含みません。".into()));
    page.push(Block::Links(vec![(
        format!(
            "/employer/{}/report.pdf?fy={}",
            encode_segment(employer.code.as_str()),
            fy.year()
        ),
        "PDFでダウンロード".into(),
    )]));
    Ok(page.html()?.into_response())
}

/// GET /employer/{employer}/report.pdf?fy=: the same report as a PDF.
pub async fn score_report_pdf(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
    Query(q): Query<YearQuery>,
) -> WebResult<Response> {
    let employer = find_employer(&state, &who, &raw).await?;
    let fy =
        q.fy.map(FiscalYear::new)
            .unwrap_or_else(|| FiscalYear::of(state.today()));
    let renderer = state.renderer().await?;
    let (_, pdf) = state
        .app
        .score_report_pdf(&who.actor(), &renderer, &employer.code, fy)
        .await?;
    Ok(super::download_response(
        &format!("score-{}-{}.pdf", employer.code, fy.year()),
        "application/pdf",
        pdf,
    ))
}
