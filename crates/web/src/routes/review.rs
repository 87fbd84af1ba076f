//! The review queue: each row waiting for staff shows what was submitted beside the
//! likely members of the register (same 記号番号, same name and 生年月日), each with
//! a one-click 確定; a person can still be typed as 記号-番号-枝番. 却下 asks first
//! (the `data-confirm` of the static script). Filters by employer, import and reason,
//! and a bulk rejection of one import's rows with a reason. Address items name the
//! person with a link to their page.

use super::encode_segment;
use crate::AppState;
use crate::auth::Identity;
use crate::error::{WebError, WebResult};
use crate::view::{
    Block, Button, Cell, Field, Form, PER_PAGE, Page, Table, page_number, pager, query_value,
    wareki,
};
use axum::Extension;
use axum::extract::{Form as FormData, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use collabo_app::review::ReviewFilter;
use collabo_domain::admission::ReviewPayload;
use collabo_domain::ids::{EmployerCode, InsurerNumber, MemberKey};
use collabo_domain::matching::ReviewReason;
use serde::Deserialize;

/// Filters and page of the queue.
#[derive(Deserialize, Default)]
pub struct ReviewQuery {
    #[serde(default)]
    employer: String,
    #[serde(default)]
    import: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    page: Option<i64>,
}

const REASONS: [ReviewReason; 6] = [
    ReviewReason::NotFound,
    ReviewReason::BirthDateMismatch,
    ReviewReason::NameMismatch,
    ReviewReason::Ambiguous,
    ReviewReason::OtherEmployer,
    ReviewReason::NoAddress,
];

fn parse_import(q: &ReviewQuery) -> WebResult<Option<i64>> {
    match q.import.trim() {
        "" => Ok(None),
        n => n
            .parse::<i64>()
            .map(Some)
            .map_err(|_| WebError::BadRequest("取込番号は数字で入力してください。".into())),
    }
}

/// The queue's filter from the page's query (the page and its export use the same).
fn filter_of(q: &ReviewQuery, paging: collabo_app::Paging) -> WebResult<ReviewFilter> {
    let employer = match q.employer.trim() {
        "" => None,
        code => Some(
            EmployerCode::parse(code)
                .map_err(|_| WebError::BadRequest("事業所記号が正しくありません。".into()))?,
        ),
    };
    Ok(ReviewFilter {
        employer,
        import_id: parse_import(q)?,
        reason: REASONS.into_iter().find(|r| r.code() == q.reason),
        limit: paging.limit,
        offset: paging.offset,
        ..ReviewFilter::default()
    })
}

/// GET /staff/review/export.csv?employer=&import=&reason=: the filtered queue as CSV.
pub async fn export_csv(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<ReviewQuery>,
) -> WebResult<Response> {
    export(&state, &who, &q, false).await
}

/// GET /staff/review/export.xlsx?…: the same as an Excel sheet.
pub async fn export_xlsx(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<ReviewQuery>,
) -> WebResult<Response> {
    export(&state, &who, &q, true).await
}

async fn export(
    state: &AppState,
    who: &Identity,
    q: &ReviewQuery,
    xlsx: bool,
) -> WebResult<Response> {
    let actor = who.actor();
    let queue = state
        .app
        .review_queue(&actor, &filter_of(q, collabo_app::Paging::all())?)
        .await?;
    let employers = state.app.employers(&actor).await?;
    let rows: Vec<Vec<String>> = queue
        .entries
        .iter()
        .map(|e| {
            let i = &e.item;
            let (person, born) = match (&i.payload, &e.member) {
                (Some(ReviewPayload::Address { .. }), Some(m)) => {
                    (m.label(), m.birth_date.to_string())
                }
                (Some(p), _) => p.person().map_or_else(
                    || (i.subject.clone(), String::new()),
                    |p| (p.label(), p.birth_date.to_string()),
                ),
                (None, _) => (i.subject.clone(), String::new()),
            };
            vec![
                i.id.to_string(),
                i.kind.label().to_owned(),
                i.reason.label().to_owned(),
                i.employer.as_ref().map_or_else(
                    || "組合（通知）".to_owned(),
                    |c| super::employer_name(&employers, c),
                ),
                i.import_id.to_string(),
                i.line.to_string(),
                person,
                born,
                e.candidates
                    .iter()
                    .map(|(m, _)| m.label())
                    .collect::<Vec<_>>()
                    .join(" ／ "),
            ]
        })
        .collect();
    super::table_download(
        xlsx,
        "照合待ち",
        &[
            "No.",
            "種類",
            "理由",
            "提出元",
            "取込No.",
            "行",
            "提出内容",
            "生年月日",
            "台帳の候補",
        ],
        &rows,
    )
}

/// GET /staff/review?employer=&import=&reason=&page=.
pub async fn review(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<ReviewQuery>,
) -> WebResult<Response> {
    let actor = who.actor();
    let current = page_number(q.page);
    let paging = collabo_app::Paging::page(current, PER_PAGE);
    let import_id = parse_import(&q)?;
    let queue = state
        .app
        .review_queue(&actor, &filter_of(&q, paging)?)
        .await?;
    let employers = state.app.employers(&actor).await?;
    let name_of = |code: &EmployerCode| super::employer_name(&employers, code);
    let mut page = Page::new("照合待ち", &who);
    page.push(Block::Para("資格と一致しなかった提出行です。右の候補から該当する加入者を「この加入者で確定」するか、記号-番号-枝番（例 1001-305-00）を入力して確定してください。該当者がいなければ却下します。".into()));
    let mut employer_field =
        Field::new("提出事業所", "employer", "select").value(q.employer.clone());
    employer_field.options = std::iter::once((String::new(), "すべて".to_owned()))
        .chain(
            employers
                .iter()
                .map(|e| (e.code.to_string(), e.name.clone())),
        )
        .collect();
    let mut reason_field = Field::new("理由", "reason", "select").value(q.reason.clone());
    reason_field.options = std::iter::once((String::new(), "すべて".to_owned()))
        .chain(
            REASONS
                .into_iter()
                .map(|r| (r.code().to_owned(), r.label().to_owned())),
        )
        .collect();
    page.push(Block::Form(Form {
        action: "/staff/review".into(),
        multipart: false,
        csrf: String::new(),
        fields: vec![
            employer_field,
            Field::new("取込番号", "import", "text").value(q.import.clone()),
            reason_field,
        ],
        submit: "絞り込む".into(),
        get: true,
    }));
    let base = format!(
        "/staff/review?employer={}&import={}&reason={}&",
        query_value(&q.employer),
        query_value(&q.import),
        query_value(&q.reason)
    );
    pager(&mut page, &base, current, queue.total);
    let filters = format!(
        "employer={}&import={}&reason={}",
        query_value(&q.employer),
        query_value(&q.import),
        query_value(&q.reason)
    );
    page.push(Block::Links(vec![
        (
            format!("/staff/review/export.csv?{filters}"),
            "この条件の一覧をCSVで保存".into(),
        ),
        (
            format!("/staff/review/export.xlsx?{filters}"),
            "Excelで保存".into(),
        ),
    ]));
    if queue.entries.is_empty() {
        page.push(Block::Para("照合待ちはありません。".into()));
    }
    for e in &queue.entries {
        let i = &e.item;
        let from = i.employer.as_ref().map_or_else(
            || "組合（通知）".to_owned(),
            |c| format!("{}（取込No.{} の{}行目）", name_of(c), i.import_id, i.line),
        );
        page.push(Block::Heading(format!(
            "No.{} {} ／ {} ／ {}",
            i.id,
            i.kind.label(),
            i.reason.label(),
            from
        )));
        let mut rows = Vec::new();
        match (&i.payload, &e.member) {
            (Some(ReviewPayload::Address { .. }), Some(m)) => {
                rows.push(vec![
                    Cell::Text("通知の宛先".into()),
                    Cell::Link(
                        format!("/staff/members/{}", encode_segment(&m.key.to_key_string())),
                        m.label(),
                    ),
                    Cell::Text(wareki(m.birth_date)),
                    Cell::Text(name_of(&m.employer)),
                    Cell::Text("住所を台帳で直してから確定してください".into()),
                    confirm_resolve(&who, i.id, &m.key),
                ]);
            }
            (Some(p), _) => {
                if let Some(person) = p.person() {
                    rows.push(vec![
                        Cell::Badge("提出内容".into(), "warn"),
                        Cell::Key(person.label()),
                        Cell::Text(wareki(person.birth_date)),
                        Cell::Text(i.employer.as_ref().map(&name_of).unwrap_or_default()),
                        Cell::Text(String::new()),
                        Cell::Text(String::new()),
                    ]);
                }
                for (m, fit) in &e.candidates {
                    rows.push(vec![
                        Cell::Text("台帳の候補".into()),
                        Cell::Link(
                            format!("/staff/members/{}", encode_segment(&m.key.to_key_string())),
                            m.label(),
                        ),
                        Cell::Text(wareki(m.birth_date)),
                        Cell::Text(name_of(&m.employer)),
                        Cell::Text(fit.label()),
                        confirm_resolve(&who, i.id, &m.key),
                    ]);
                }
            }
            (None, _) => rows.push(vec![
                Cell::Text("提出内容".into()),
                Cell::Text(i.subject.clone()),
                Cell::Text(String::new()),
                Cell::Text(String::new()),
                Cell::Text(String::new()),
                Cell::Text(String::new()),
            ]),
        }
        page.push(Block::Table(Table {
            headers: ["", "加入者", "生年月日", "事業所", "一致", "確定"]
                .map(String::from)
                .to_vec(),
            rows,
            empty: String::new(),
        }));
        if i.payload.as_ref().is_some_and(|p| p.person().is_some()) && e.candidates.is_empty() {
            page.push(Block::Para(
                "台帳に候補が見つかりません（同じ記号番号、同じ氏名・生年月日の加入者なし）。"
                    .into(),
            ));
        }
        page.push(Block::Table(Table {
            headers: vec!["記号番号を入力して確定".into(), "該当者なし".into()],
            rows: vec![vec![
                Cell::Button(Button {
                    action: format!("/staff/review/{}/resolve", i.id),
                    label: "確定".into(),
                    csrf: who.csrf().to_owned(),
                    fields: vec![Field::new("記号-番号-枝番（例 1001-305-00）", "member", "text")],
                    confirm: String::new(),
                }),
                Cell::Button(Button {
                    action: format!("/staff/review/{}/reject", i.id),
                    label: "却下".into(),
                    csrf: who.csrf().to_owned(),
                    fields: Vec::new(),
                    confirm: format!(
                        "No.{} を却下します。提出された行は登録されずに削除されます。よろしいですか？",
                        i.id
                    ),
                }),
            ]],
            empty: String::new(),
        }));
    }
    if let Some(import) = import_id
        && queue.total > 0
    {
        page.push(Block::Heading(format!(
            "取込No.{import} の照合待ちを一括で却下"
        )));
        page.push(Block::Action(Button {
            action: "/staff/review/reject-import".into(),
            label: format!("{}件をすべて却下", queue.total),
            csrf: who.csrf().into(),
            fields: vec![
                Field::hidden("import", import.to_string()),
                Field::new("理由", "reason", "text"),
            ],
            confirm: format!(
                "取込No.{import} の照合待ち {}件をすべて却下します。提出された行は登録されずに削除されます。よろしいですか？",
                queue.total
            ),
        }));
    } else if queue.total > 0 {
        page.push(Block::Para(
            "取込番号で絞り込むと、その取込の照合待ちを理由を付けて一括で却下できます。".into(),
        ));
    }
    Ok(page.html()?.into_response())
}

fn confirm_resolve(who: &Identity, id: i64, key: &MemberKey) -> Cell {
    Cell::Button(Button {
        action: format!("/staff/review/{id}/resolve"),
        label: "この加入者で確定".into(),
        csrf: who.csrf().to_owned(),
        fields: vec![Field::hidden("member", key.to_key_string())],
        confirm: String::new(),
    })
}

/// The resolve form.
#[derive(Deserialize)]
pub struct ResolveForm {
    member: String,
}

/// Reads a person typed or chosen by staff (`1001-305-00`, `1001-305`, or the key).
pub fn member_of(state: &AppState, text: &str) -> WebResult<MemberKey> {
    let insurer = InsurerNumber::parse(state.app.insurer())
        .map_err(|_| WebError::Internal("insurer".into()))?;
    MemberKey::parse_card(&insurer, text).map_err(|_| {
        WebError::BadRequest(format!(
            "加入者「{}」を読めません。記号-番号-枝番（例 1001-305-00）で入力してください。",
            text.trim()
        ))
    })
}

/// POST /staff/review/{id}/resolve.
pub async fn resolve(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<i64>,
    FormData(form): FormData<ResolveForm>,
) -> WebResult<Response> {
    let key = member_of(&state, &form.member)?;
    state
        .app
        .resolve_review(&who.actor(), id, &key)
        .await
        .map_err(|e| match e {
            collabo_app::AppError::NotFound(_) => WebError::BadRequest(format!(
                "{} は台帳にいないか、No.{id} はすでに処理済みです。",
                key.card()
            )),
            other => other.into(),
        })?;
    Ok(Redirect::to("/staff/review").into_response())
}

/// POST /staff/review/{id}/reject.
pub async fn reject(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    state.app.reject_review(&who.actor(), id).await?;
    Ok(Redirect::to("/staff/review").into_response())
}

/// The bulk reject form.
#[derive(Deserialize)]
pub struct RejectImportForm {
    import: i64,
    #[serde(default)]
    reason: String,
}

/// POST /staff/review/reject-import: every open row of one import, with a reason.
pub async fn reject_import(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<RejectImportForm>,
) -> WebResult<Response> {
    let n = state
        .app
        .reject_import_reviews(&who.actor(), form.import, &form.reason)
        .await?;
    let mut page = Page::new("照合待ちを一括で却下しました", &who);
    page.notice(
        "ok",
        vec![format!(
            "取込No.{} の照合待ち {n}件を却下しました（理由: {}）。",
            form.import,
            form.reason.trim()
        )],
    );
    page.push(Block::Links(vec![(
        "/staff/review".into(),
        "照合待ちへ戻る".into(),
    )]));
    Ok(page.html()?.into_response())
}
