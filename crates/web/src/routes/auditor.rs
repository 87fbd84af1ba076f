//! The auditor's pages: the audit log, filterable, and the verification of its hash
//! chain. Reading the log is itself audited.

use crate::AppState;
use crate::auth::Identity;
use crate::error::WebResult;
use crate::view::{
    Block, Cell, Field, Form, PER_PAGE, Page, Table, page_number, pager, query_value, wareki_at,
};
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use collabo_app::audit::AuditFilter;
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
    page: Option<i64>,
}

/// GET /audit.
pub async fn log(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<LogQuery>,
) -> WebResult<Response> {
    let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let current = page_number(q.page);
    let paging = collabo_app::Paging::page(current, PER_PAGE);
    let (records, total) = state
        .app
        .audit_log(
            &who.actor(),
            &AuditFilter {
                actor: some(&q.actor),
                action_prefix: some(&q.action),
                member_key: some(&q.member),
                limit: paging.limit,
                offset: paging.offset,
                ..AuditFilter::default()
            },
        )
        .await?;
    let mut page = Page::new("監査ログ", &who);
    page.push(Block::Form(Form {
        action: "/audit".into(),
        multipart: false,
        csrf: String::new(),
        fields: vec![
            Field::new("操作者", "actor", "text").value(q.actor.clone()),
            Field::new("操作（前方一致）", "action", "text")
                .value(q.action.clone())
                .hint("例: login, member.view, import, consent"),
            Field::new("加入者キー", "member", "text").value(q.member.clone()),
        ],
        submit: "絞り込む".into(),
        get: true,
    }));
    page.push(Block::Links(vec![(
        "/audit/verify".into(),
        "改ざん検証を実行".into(),
    )]));
    page.push(Block::Para(format!("該当 {total}件（新しい順）")));
    pager(
        &mut page,
        &format!(
            "/audit?actor={}&action={}&member={}&",
            query_value(&q.actor),
            query_value(&q.action),
            query_value(&q.member)
        ),
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
                    Cell::Text(wareki_at(r.at)),
                    Cell::Text(r.actor.clone()),
                    Cell::Text(r.role.clone()),
                    Cell::Text(
                        r.action
                            .map_or_else(|| r.action_code.clone(), |a| a.label().to_owned()),
                    ),
                    Cell::Text(match r.subjects.len() {
                        0 => String::new(),
                        1 => r.subjects[0].clone(),
                        n => format!("{} ほか{}名", r.subjects[0], n - 1),
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
