//! The auditor's pages: the audit log, filterable, and the verification of its hash
//! chain. Reading the log is itself audited.

use crate::AppState;
use crate::auth::Identity;
use crate::error::{WebError, WebResult};
use crate::view::{
    Block, Cell, Field, Form, PER_PAGE, Page, Table, page_number, pager, query_value, wareki_at,
};
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use collabo_app::audit::AuditFilter;
use collabo_domain::audit::AuditAction;
use serde::Deserialize;

/// Filter of the log page.
#[derive(Deserialize, Default)]
pub struct LogQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: Option<i64>,
}

impl LogQuery {
    /// The filter, with the dates as Japan days (`to` included) and the member typed
    /// as a card (`1001-305-00`) or a key.
    fn filter(&self, state: &AppState, paging: collabo_app::Paging) -> WebResult<AuditFilter> {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let day = |s: &str, what: &str| -> WebResult<Option<jiff::Timestamp>> {
            if s.trim().is_empty() {
                return Ok(None);
            }
            let date = collabo_app::parse_date(s.trim())
                .map_err(|m| WebError::BadRequest(format!("{what}: {m}")))?;
            crate::clock::start_of_japan_day(date)
                .map(Some)
                .ok_or_else(|| WebError::BadRequest(format!("{what}: 日付が範囲外です。")))
        };
        let until = match day(&self.to, "期間（まで）")? {
            Some(t) => Some(
                t.checked_add(jiff::SignedDuration::from_hours(24))
                    .map_err(|_| WebError::BadRequest("期間（まで）: 日付が範囲外です。".into()))?,
            ),
            None => None,
        };
        let member_key = match some(&self.member) {
            Some(text) => Some(super::review::member_of(state, &text)?.to_key_string()),
            None => None,
        };
        Ok(AuditFilter {
            actor: some(&self.actor),
            action_prefix: some(&self.action),
            member_key,
            since: day(&self.from, "期間（から）")?,
            until,
            limit: paging.limit,
            offset: paging.offset,
        })
    }
    fn query_string(&self) -> String {
        format!(
            "actor={}&action={}&member={}&from={}&to={}",
            query_value(&self.actor),
            query_value(&self.action),
            query_value(&self.member),
            query_value(&self.from),
            query_value(&self.to)
        )
    }
}

/// The role code of a record, in Japanese.
fn role_text(code: &str) -> String {
    match code {
        "admin" => "システム管理者".into(),
        "staff" => "保健事業担当".into(),
        "auditor" => "監査担当".into(),
        c if c.starts_with("employer") => "事業所担当者".into(),
        "system" => "システム".into(),
        other => other.to_owned(),
    }
}

fn action_text(r: &collabo_app::audit::AuditRecord) -> String {
    r.action
        .map_or_else(|| r.action_code.clone(), |a| a.label().to_owned())
}

/// GET /audit?actor=&action=&member=&from=&to=&page=.
pub async fn log(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<LogQuery>,
) -> WebResult<Response> {
    let current = page_number(q.page);
    let paging = collabo_app::Paging::page(current, PER_PAGE);
    let (records, total) = state
        .app
        .audit_log(&who.actor(), &q.filter(&state, paging)?)
        .await?;
    let mut page = Page::new("監査ログ", &who);
    let mut action_field = Field::new("操作", "action", "select").value(q.action.clone());
    action_field.options = std::iter::once((String::new(), "すべて".to_owned()))
        .chain(
            AuditAction::ALL
                .iter()
                .map(|a| (a.code().to_owned(), a.label().to_owned())),
        )
        .collect();
    page.push(Block::Form(Form {
        action: "/audit".into(),
        multipart: false,
        csrf: String::new(),
        fields: vec![
            Field::new("操作者（ユーザー名）", "actor", "text").value(q.actor.clone()),
            action_field,
            Field::new("加入者（記号-番号-枝番）", "member", "text").value(q.member.clone()),
            Field::new("期間（から）", "from", "date").value(q.from.clone()),
            Field::new("期間（まで）", "to", "date").value(q.to.clone()),
        ],
        submit: "絞り込む".into(),
        get: true,
    }));
    page.push(Block::Links(vec![
        ("/audit/verify".into(), "改ざん検証を実行".into()),
        (
            format!("/audit/export.csv?{}", q.query_string()),
            "この条件でCSVをダウンロード".into(),
        ),
        (
            format!("/audit/export.xlsx?{}", q.query_string()),
            "Excel（xlsx）".into(),
        ),
    ]));
    page.push(Block::Para(format!("該当 {total}件（新しい順）")));
    pager(
        &mut page,
        &format!("/audit?{}&", q.query_string()),
        current,
        total,
    );
    page.push(Block::Table(Table {
        headers: [
            "No.",
            "日時",
            "操作者",
            "役割",
            "操作",
            "加入者",
            "事業所",
            "内容",
            "接続元",
        ]
        .map(String::from)
        .to_vec(),
        rows: records
            .iter()
            .map(|r| {
                vec![
                    Cell::Num(r.seq.to_string()),
                    Cell::Key(wareki_at(r.at)),
                    Cell::Text(r.actor.clone()),
                    Cell::Text(role_text(&r.role)),
                    Cell::Text(action_text(r)),
                    Cell::Text(match r.subjects.len() {
                        0 => String::new(),
                        1 => card_text(&r.subjects[0]),
                        n => format!("{} ほか{}名", card_text(&r.subjects[0]), n - 1),
                    }),
                    Cell::Text(r.employer.clone().unwrap_or_default()),
                    Cell::Text(r.detail.clone()),
                    Cell::Text(r.origin.clone()),
                ]
            })
            .collect(),
        empty: "該当する記録はありません。".into(),
    }));
    Ok(page.html()?.into_response())
}

/// A subject key as staff write a person (`1001-305-00`); other text as it is.
fn card_text(subject: &str) -> String {
    collabo_domain::ids::MemberKey::parse_key_string(subject)
        .map_or_else(|_| subject.to_owned(), |k| k.card())
}

/// GET /audit/export.csv?…: the records of the filter (at most 100,000), as CSV.
pub async fn export(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<LogQuery>,
) -> WebResult<Response> {
    export_as(&state, &who, &q, false).await
}

/// GET /audit/export.xlsx?…: the same records as an Excel sheet.
pub async fn export_xlsx(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<LogQuery>,
) -> WebResult<Response> {
    export_as(&state, &who, &q, true).await
}

async fn export_as(
    state: &AppState,
    who: &Identity,
    q: &LogQuery,
    xlsx: bool,
) -> WebResult<Response> {
    let paging = collabo_app::Paging {
        offset: 0,
        limit: 100_000,
    };
    let (records, _) = state
        .app
        .audit_log(&who.actor(), &q.filter(state, paging)?)
        .await?;
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.seq.to_string(),
                wareki_at(r.at),
                r.actor.clone(),
                role_text(&r.role),
                action_text(r),
                r.action_code.clone(),
                r.subjects
                    .iter()
                    .map(|s| card_text(s))
                    .collect::<Vec<_>>()
                    .join(" "),
                r.employer.clone().unwrap_or_default(),
                r.detail.clone(),
                r.origin.clone(),
            ]
        })
        .collect();
    super::table_download(
        xlsx,
        "監査ログ",
        &[
            "No.",
            "日時",
            "操作者",
            "役割",
            "操作",
            "操作コード",
            "加入者",
            "事業所",
            "内容",
            "接続元",
        ],
        &rows,
    )
}

/// GET /audit/verify.
pub async fn verify(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    let check = state.app.verify_audit(&who.actor()).await?;
    let mut page = Page::new("監査ログの改ざん検証", &who);
    match (&check.first_broken, &check.anchor_mismatch) {
        (None, None) => page.notice("ok", vec![format!("{}件の記録すべてで鍵付きハッシュの連鎖が正しく、外部に保管した{}件のアンカーとも一致しました。", check.records, check.anchors)]),
        (Some(seq), _) => page.notice("error", vec![format!("記録 No.{seq} でハッシュの連鎖が一致しません。この記録以降が改ざん・削除された可能性があります。")]),
        (None, Some((seq, why))) => page.notice("error", vec![format!("外部に保管したアンカー（No.{seq}）と一致しません: {why}。記録が削除または書き換えられた可能性があります。")]),
    };
    page.push(Block::Facts(vec![
        ("検証した記録".into(), check.records.to_string()),
        ("照合したアンカー".into(), check.anchors.to_string()),
        ("最新ハッシュ".into(), check.head),
    ]));
    Ok(page.html()?.into_response())
}
