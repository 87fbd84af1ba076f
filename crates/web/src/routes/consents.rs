//! 同意・停止 (consent and opt-out) made safe: staff find the person by search, fill in
//! the decision, and see a confirmation page naming the person (氏名, 生年月日, 事業所)
//! and exactly what will be deleted and stopped before anything is recorded; then the
//! opt-out register (list, search, CSV through the shared `collabo_export` writer).

use super::encode_segment;
use crate::AppState;
use crate::auth::Identity;
use crate::error::{WebError, WebResult};
use crate::view::{
    Block, Button, Cell, Field, Form, PER_PAGE, Page, Table, page_number, pager, query_value,
    wareki, wareki_at,
};
use axum::Extension;
use axum::extract::{Form as FormData, Query, State};
use axum::response::{IntoResponse, Response};
use collabo_domain::consent::{ConsentChannel, ConsentKind, ConsentRecord, ConsentScope};
use collabo_domain::member::Member;
use serde::Deserialize;

fn decision_fields(form: &ConsentForm) -> Vec<Field> {
    vec![
        Field::hidden("member", form.member.clone()),
        Field::select(
            "申出の内容",
            "kind",
            &[("opt_out", "停止（データ共有を拒否）"), ("opt_in", "同意")],
        )
        .value(form.kind.clone()),
        Field::select(
            "範囲",
            "scope",
            &[
                ("all", "すべての事業"),
                ("C", "C がん検診の精密検査受診勧奨のみ"),
                ("R", "R リスク保有者情報の共有のみ"),
                ("S", "S 禁煙のみ"),
                ("D", "D 重症化予防のみ"),
            ],
        )
        .value(form.scope.clone()),
        Field::new("効力発生日", "effective", "date").value(form.effective.clone()),
        Field::select(
            "受付方法",
            "channel",
            &[
                ("phone", "電話"),
                ("letter", "書面"),
                ("employer", "事業所経由"),
                ("portal", "窓口"),
            ],
        )
        .value(form.channel.clone()),
    ]
}

/// The person's facts as the confirmation shows them.
async fn person_facts(
    state: &AppState,
    who: &Identity,
    m: &Member,
) -> WebResult<Vec<(String, String)>> {
    let employer = employer_name(state, who, m).await?;
    Ok(vec![
        ("加入者".into(), m.label()),
        ("カナ".into(), m.name_kana.clone()),
        ("生年月日".into(), wareki(m.birth_date)),
        ("事業所".into(), employer),
        ("本人・家族".into(), m.relationship.label().into()),
    ])
}

async fn employer_name(state: &AppState, who: &Identity, m: &Member) -> WebResult<String> {
    Ok(state
        .app
        .employers(&who.actor())
        .await?
        .into_iter()
        .find(|e| e.code == m.employer)
        .map_or_else(|| m.employer.to_string(), |e| e.name))
}

/// Query of the consent page.
#[derive(Deserialize, Default)]
pub struct ConsentQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    member: String,
}

/// GET /staff/consents?q=&member=: find the person, then fill in the decision.
pub async fn consents_page(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<ConsentQuery>,
) -> WebResult<Response> {
    let actor = who.actor();
    let mut page = Page::new("同意・停止の登録", &who);
    page.push(Block::Para("本人からの申出（停止）は、効力発生日から対象の事業で使わなくなり、事業所から提供されたデータを削除し、進行中の案件を停止します。登録の前に、削除する内容を確認する画面が出ます。".into()));
    page.push(Block::Links(vec![(
        "/staff/consents/register".into(),
        "登録済みの申出の一覧（停止者台帳）".into(),
    )]));
    if q.member.trim().is_empty() {
        page.push(Block::Heading("① 加入者を探す".into()));
        page.push(Block::Form(Form {
            action: "/staff/consents".into(),
            multipart: false,
            csrf: String::new(),
            fields: vec![Field::new("氏名・カナ・記号-番号", "q", "text").value(q.q.clone())],
            submit: "検索".into(),
            get: true,
        }));
        if q.q.trim().chars().count() >= 2 {
            let (found, total) = state
                .app
                .search_members(&actor, &q.q, collabo_app::Paging::page(1, 20))
                .await?;
            let employers = state.app.employers(&actor).await?;
            if total > 20 {
                page.notice(
                    "warn",
                    vec![format!(
                        "{total}人が該当します。上位20人を表示しています。氏名と記号番号で絞り込んでください。"
                    )],
                );
            }
            page.push(Block::Table(Table {
                headers: ["加入者", "カナ", "生年月日", "事業所", ""]
                    .map(String::from)
                    .to_vec(),
                rows: found
                    .iter()
                    .map(|m| {
                        vec![
                            Cell::Text(m.label()),
                            Cell::Text(m.name_kana.clone()),
                            Cell::Text(wareki(m.birth_date)),
                            Cell::Text(super::employer_name(&employers, &m.employer)),
                            Cell::Link(
                                format!(
                                    "/staff/consents?member={}",
                                    query_value(&m.key.to_key_string())
                                ),
                                "この加入者の申出を登録".into(),
                            ),
                        ]
                    })
                    .collect(),
                empty: "該当する加入者はいません。".into(),
            }));
        } else if !q.q.is_empty() {
            page.notice("warn", vec!["2文字以上で検索してください。".into()]);
        }
        return Ok(page.html()?.into_response());
    }
    let key = super::review::member_of(&state, &q.member)?;
    let view = state.app.member_page(&actor, &key).await?;
    page.push(Block::Heading("② 申出の内容".into()));
    page.push(Block::Facts(
        person_facts(&state, &who, &view.member).await?,
    ));
    let form = ConsentForm {
        member: key.to_key_string(),
        kind: "opt_out".into(),
        scope: "all".into(),
        effective: state.today().to_string(),
        channel: "phone".into(),
    };
    page.push(Block::Form(Form {
        action: "/staff/consents/confirm".into(),
        multipart: false,
        csrf: who.csrf().into(),
        fields: decision_fields(&form),
        submit: "確認画面へ".into(),
        get: false,
    }));
    page.push(Block::Links(vec![(
        "/staff/consents".into(),
        "別の加入者を探す".into(),
    )]));
    Ok(page.html()?.into_response())
}

/// The decision as posted.
#[derive(Deserialize, Default)]
pub struct ConsentForm {
    member: String,
    kind: String,
    scope: String,
    effective: String,
    channel: String,
}

fn record_of(state: &AppState, who: &Identity, form: &ConsentForm) -> WebResult<ConsentRecord> {
    let bad = |m: &str| WebError::BadRequest(m.to_owned());
    Ok(ConsentRecord {
        member: super::review::member_of(state, &form.member)?,
        kind: ConsentKind::from_code(&form.kind)
            .ok_or_else(|| bad("申出の内容が正しくありません。"))?,
        scope: ConsentScope::from_code(&form.scope)
            .ok_or_else(|| bad("範囲が正しくありません。"))?,
        effective: collabo_app::parse_date(&form.effective)
            .map_err(|m| WebError::BadRequest(format!("効力発生日: {m}")))?,
        channel: ConsentChannel::from_code(&form.channel)
            .ok_or_else(|| bad("受付方法が正しくありません。"))?,
        recorded_by: who.username.clone(),
    })
}

fn report_facts(report: &collabo_app::consent::PurgeReport, done: bool) -> Vec<(String, String)> {
    let verb = if done { "削除した" } else { "削除する" };
    vec![
        (
            format!("{verb}健診結果（事業所提供分）"),
            format!("{}件", report.checkups),
        ),
        (
            format!("{verb}要精密検査者リストの行"),
            format!("{}件", report.referrals),
        ),
        (
            format!("{verb}照合待ちの行"),
            format!("{}件", report.review_rows),
        ),
        (
            format!("案件の経過から{verb}健診値"),
            format!("{}件", report.case_values),
        ),
        (
            if done {
                "停止した案件"
            } else {
                "停止する案件"
            }
            .into(),
            format!("{}件", report.cases_stopped),
        ),
        (
            if done {
                "印刷バッチから取り下げた通知"
            } else {
                "印刷バッチから取り下げる通知"
            }
            .into(),
            format!("{}通", report.letters_withdrawn),
        ),
        (
            "今後の提出を除外する記録".into(),
            if report.tombstone {
                if done {
                    "作成しました"
                } else {
                    "作成します"
                }
                .into()
            } else {
                "なし".into()
            },
        ),
    ]
}

/// POST /staff/consents/confirm: what recording would do, and the button that does it.
pub async fn confirm(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<ConsentForm>,
) -> WebResult<Response> {
    let record = record_of(&state, &who, &form)?;
    let (member, report) = state.app.preview_consent(&who.actor(), &record).await?;
    let mut page = Page::new("申出の登録内容の確認", &who);
    page.notice(
        "warn",
        vec![
            "まだ登録していません。内容を確かめてから「登録する」を押してください。".into(),
            if record.kind == ConsentKind::OptOut {
                "停止を登録すると、下の件数のデータを直ちに削除します。削除したデータは元に戻せません。".into()
            } else {
                "同意を登録します。データは削除しません。".into()
            },
        ],
    );
    page.push(Block::Facts(person_facts(&state, &who, &member).await?));
    page.push(Block::Facts(vec![
        ("申出の内容".into(), record.kind.label().into()),
        ("範囲".into(), record.scope.label()),
        ("効力発生日".into(), wareki(record.effective)),
        ("受付方法".into(), record.channel.label().into()),
    ]));
    page.push(Block::Heading(if record.kind == ConsentKind::OptOut {
        "削除・停止する内容".into()
    } else {
        "登録による変更".into()
    }));
    page.push(Block::Facts(report_facts(&report, false)));
    let mut fields: Vec<Field> = decision_fields(&form)
        .into_iter()
        .map(|f| Field::hidden(&f.name, f.value))
        .collect();
    fields[0] = Field::hidden("member", record.member.to_key_string());
    page.push(Block::Action(Button {
        action: "/staff/consents".into(),
        label: "登録する".into(),
        csrf: who.csrf().into(),
        fields,
        confirm: if record.kind == ConsentKind::OptOut {
            format!(
                "{} の停止を登録し、データを削除します。元に戻せません。よろしいですか？",
                member.label()
            )
        } else {
            String::new()
        },
    }));
    page.push(Block::Links(vec![(
        format!(
            "/staff/consents?member={}",
            query_value(&record.member.to_key_string())
        ),
        "内容を直す".into(),
    )]));
    Ok(page.html()?.into_response())
}

/// POST /staff/consents: records the decision confirmed on the confirmation page.
pub async fn record(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<ConsentForm>,
) -> WebResult<Response> {
    let record = record_of(&state, &who, &form)?;
    let report = state.app.record_consent(&who.actor(), &record).await?;
    let mut page = Page::new("同意・停止を登録しました", &who);
    page.notice(
        "ok",
        vec![format!(
            "{} の申出（{}・{}）を{}から登録しました。",
            record.member.card(),
            record.kind.label(),
            record.scope.label(),
            wareki(record.effective)
        )],
    );
    page.push(Block::Heading("削除・停止した内容".into()));
    page.push(Block::Facts(report_facts(&report, true)));
    page.push(Block::Links(vec![
        (
            format!(
                "/staff/members/{}",
                encode_segment(&record.member.to_key_string())
            ),
            "加入者ページへ".into(),
        ),
        ("/staff/consents/register".into(), "停止者台帳へ".into()),
        ("/staff/consents".into(), "続けて登録する".into()),
    ]));
    Ok(page.html()?.into_response())
}

/// Query of the register.
#[derive(Deserialize, Default)]
pub struct RegisterQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<i64>,
}

/// GET /staff/consents/register?q=&page=: every recorded decision, newest first.
pub async fn register(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<RegisterQuery>,
) -> WebResult<Response> {
    let actor = who.actor();
    let current = page_number(q.page);
    let (rows, total) = state
        .app
        .consent_register(&actor, &q.q, collabo_app::Paging::page(current, PER_PAGE))
        .await?;
    let employers = state.app.employers(&actor).await?;
    let mut page = Page::new("停止者台帳（同意・停止の記録）", &who);
    page.push(Block::Form(Form {
        action: "/staff/consents/register".into(),
        multipart: false,
        csrf: String::new(),
        fields: vec![Field::new("氏名・カナ・記号-番号", "q", "text").value(q.q.clone())],
        submit: "検索".into(),
        get: true,
    }));
    page.push(Block::Links(vec![
        (
            format!("/staff/consents/register.csv?q={}", query_value(&q.q)),
            "CSVでダウンロード".into(),
        ),
        (
            format!("/staff/consents/register.xlsx?q={}", query_value(&q.q)),
            "Excel（xlsx）".into(),
        ),
        ("/staff/consents".into(), "申出を登録する".into()),
    ]));
    pager(
        &mut page,
        &format!("/staff/consents/register?q={}&", query_value(&q.q)),
        current,
        total,
    );
    page.push(Block::Table(Table {
        headers: [
            "加入者",
            "生年月日",
            "事業所",
            "内容",
            "範囲",
            "効力発生日",
            "受付方法",
            "登録者",
            "登録日時",
        ]
        .map(String::from)
        .to_vec(),
        rows: rows
            .iter()
            .map(|(c, m)| {
                let r = &c.record;
                vec![
                    Cell::Link(
                        format!("/staff/members/{}", encode_segment(&m.key.to_key_string())),
                        m.label(),
                    ),
                    Cell::Text(wareki(m.birth_date)),
                    Cell::Text(super::employer_name(&employers, &m.employer)),
                    match r.kind {
                        ConsentKind::OptOut => Cell::Badge("停止".into(), "error"),
                        ConsentKind::OptIn => Cell::Badge("同意".into(), "ok"),
                    },
                    Cell::Text(r.scope.label()),
                    Cell::Text(wareki(r.effective)),
                    Cell::Text(r.channel.label().into()),
                    Cell::Text(r.recorded_by.clone()),
                    Cell::Text(wareki_at(c.recorded_at)),
                ]
            })
            .collect(),
        empty: "記録はありません。".into(),
    }));
    Ok(page.html()?.into_response())
}

/// GET /staff/consents/register.csv?q=: the register as CSV (UTF-8 with BOM, CRLF).
pub async fn register_csv(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<RegisterQuery>,
) -> WebResult<Response> {
    register_export(&state, &who, &q, false).await
}

/// GET /staff/consents/register.xlsx?q=: the register as an Excel sheet.
pub async fn register_xlsx(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<RegisterQuery>,
) -> WebResult<Response> {
    register_export(&state, &who, &q, true).await
}

async fn register_export(
    state: &AppState,
    who: &Identity,
    q: &RegisterQuery,
    xlsx: bool,
) -> WebResult<Response> {
    let actor = who.actor();
    let (rows, _) = state
        .app
        .consent_register(&actor, &q.q, collabo_app::Paging::all())
        .await?;
    let employers = state.app.employers(&actor).await?;
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(c, m)| {
            let r = &c.record;
            vec![
                m.key.card(),
                m.name_kanji.clone(),
                m.name_kana.clone(),
                m.birth_date.to_string(),
                super::employer_name(&employers, &m.employer),
                match r.kind {
                    ConsentKind::OptOut => "停止".to_owned(),
                    ConsentKind::OptIn => "同意".to_owned(),
                },
                r.scope.label(),
                r.effective.to_string(),
                r.channel.label().to_owned(),
                r.recorded_by.clone(),
                wareki_at(c.recorded_at),
            ]
        })
        .collect();
    super::table_download(
        xlsx,
        "停止者台帳",
        &[
            "記号-番号-枝番",
            "氏名",
            "カナ",
            "生年月日",
            "事業所",
            "内容",
            "範囲",
            "効力発生日",
            "受付方法",
            "登録者",
            "登録日時",
        ],
        &rows,
    )
}
