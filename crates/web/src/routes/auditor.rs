//! The auditor's pages: the audit log, filterable, and the verification of its hash
//! chain. Reading the log is itself audited.

use super::audit;
use crate::AppState;
use crate::auth::Identity;
use crate::error::WebResult;
use crate::view::{Block, Cell, Field, Form, Page, Table, wareki_time};
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use collabo_store::audit::AuditFilter;
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
}

/// GET /audit.
pub async fn log(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<LogQuery>,
) -> WebResult<Response> {
    let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let records = state
        .store
        .audit_records(&AuditFilter {
            actor: some(&q.actor),
            action_prefix: some(&q.action),
            member_key: some(&q.member),
            limit: 500,
        })
        .await?;
    audit(
        &state,
        &who,
        "audit.view",
        some(&q.member).as_deref(),
        None,
        format!("filter actor={} action={}", q.actor, q.action),
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
                    Cell::Num(r.id.to_string()),
                    Cell::Text(wareki_time(&r.at)),
                    Cell::Text(r.entry.actor.clone()),
                    Cell::Text(r.entry.role.clone()),
                    Cell::Text(r.entry.action.clone()),
                    Cell::Text(r.entry.member_key.clone().unwrap_or_default()),
                    Cell::Text(r.entry.employer_code.clone().unwrap_or_default()),
                    Cell::Text(r.entry.detail.clone()),
                    Cell::Text(r.entry.origin.clone()),
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
    let check = state.store.verify_audit().await?;
    audit(
        &state,
        &who,
        "audit.verify",
        None,
        None,
        format!(
            "{} records, broken at {:?}",
            check.records, check.first_broken
        ),
    )
    .await?;
    let mut page = Page::new("監査ログの改ざん検証", &who);
    match check.first_broken {
        None => page.notice("ok", vec![format!("{}件の記録すべてでハッシュの連鎖が正しいことを確認しました。", check.records)]),
        Some(id) => page.notice("error", vec![format!("記録 No.{id} でハッシュの連鎖が一致しません。この記録以降が改ざん・削除された可能性があります。")]),
    };
    page.push(Block::Facts(vec![
        ("検証した記録".into(), check.records.to_string()),
        ("最新ハッシュ（別途保管してください）".into(), check.head),
    ]));
    Ok(page.html()?.into_response())
}
