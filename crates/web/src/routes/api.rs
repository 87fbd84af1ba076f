//! The JSON API under `/api/v1` for employers' systems (tokens narrowed to one
//! employer) and the society's other systems. Same gate, same operations of
//! `collabo_app::App` as the pages; errors are JSON. Wire types are declared here and
//! only here.

use super::employer::{find_employer, flag_text};
use crate::AppState;
use crate::auth::Identity;
use crate::error::WebError;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use collabo_app::AppError;
use collabo_domain::ids::MemberKey;
use serde::{Deserialize, Serialize};

type ApiResult = Result<Response, Response>;

fn api(e: impl Into<WebError>) -> Response {
    e.into().into_json_response()
}

/// GET /api/v1/openapi.json.
pub async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

/// One upload on the wire.
#[derive(Serialize)]
pub struct SubmissionOut {
    id: i64,
    kind: &'static str,
    file_name: String,
    imported_at: String,
    summary: collabo_app::ImportSummary,
}

/// GET /api/v1/employers/{employer}/submissions.
pub async fn submissions(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
) -> ApiResult {
    let employer = find_employer(&state, &who, &raw).await.map_err(api)?;
    let list = state
        .app
        .submissions(&who.actor(), &employer.code, 500)
        .await
        .map_err(api)?;
    Ok(Json(
        list.into_iter()
            .map(|s| SubmissionOut {
                id: s.id,
                kind: s.kind.code(),
                file_name: s.file_name,
                imported_at: s.imported_at.to_string(),
                summary: s.summary,
            })
            .collect::<Vec<_>>(),
    )
    .into_response())
}

/// Query of an upload.
#[derive(Deserialize)]
pub struct UploadQuery {
    file_name: String,
}

/// POST /api/v1/employers/{employer}/referrals?file_name=list.csv (raw file body).
pub async fn upload_referrals(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> ApiResult {
    let employer = find_employer(&state, &who, &raw).await.map_err(api)?;
    let result = state
        .app
        .import_referrals(&who.actor(), &employer.code, &q.file_name, &body)
        .await;
    match result {
        Ok(report) => Ok(Json(serde_json::json!({ "import_id": report.summary.import_id, "already_imported": report.summary.already_imported, "rows": report.summary.rows, "stored": report.summary.stored, "to_review": report.summary.to_review, "late": report.summary.late, "sha256": report.sha256 })).into_response()),
        Err(AppError::Import(collabo_app::ImportError::Rows { problems })) => Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Json(serde_json::json!({ "error": "IMPORT-ROWS", "problems": problems }))).into_response()),
        Err(AppError::Import(other)) => Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Json(serde_json::json!({ "error": "IMPORT-FILE", "message": other.to_string() }))).into_response()),
        Err(other) => Err(api(other)),
    }
}

/// One risk holder on the wire.
#[derive(Serialize)]
struct HolderOut {
    member_key: String,
    name: String,
    card: String,
    exam_date: String,
    items: Vec<(String, String, String, String)>,
}

/// Risk holders per API page.
const API_PAGE: i64 = 1000;

/// Which page.
#[derive(Deserialize)]
pub struct ApiPage {
    #[serde(default)]
    page: Option<i64>,
}

/// GET /api/v1/employers/{employer}/risk-holders?page=N (1000 a page; `total` says how
/// many in all).
pub async fn risk_holders(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
    Query(q): Query<ApiPage>,
) -> ApiResult {
    let employer = find_employer(&state, &who, &raw).await.map_err(api)?;
    let page = q.page.unwrap_or(1).max(1);
    let list = state
        .app
        .risk_holders(
            &who.actor(),
            &employer.code,
            None,
            collabo_app::Paging::page(page, API_PAGE),
        )
        .await
        .map_err(api)?;
    let holders: Vec<HolderOut> = list
        .holders
        .iter()
        .map(|h| HolderOut {
            member_key: h.person.member_key.clone(),
            name: h.person.name.clone(),
            card: format!(
                "{}-{}-{}",
                h.person.symbol, h.person.number, h.person.branch
            ),
            exam_date: h.exam_date.to_string(),
            items: h.flags.iter().map(flag_text).collect(),
        })
        .collect();
    Ok(
        Json(
            serde_json::json!({ "fiscal_year": list.fiscal_year.year(), "page": page, "per_page": API_PAGE, "total": list.total, "risk_holders": holders }),
        )
        .into_response(),
    )
}

/// GET /api/v1/employers/{employer}/aggregates.
pub async fn aggregates(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
) -> ApiResult {
    let employer = find_employer(&state, &who, &raw).await.map_err(api)?;
    let view = state
        .app
        .aggregates(&who.actor(), &employer.code, None)
        .await
        .map_err(api)?;
    let (published_at, cells) = match &view.published {
        Some((at, cells)) => (Some(at.to_string()), cells.clone()),
        None => (None, Vec::new()),
    };
    let cells: Vec<_> = cells
        .iter()
        .map(|c| serde_json::json!({ "label": c.cell.label(), "count": c.count, "suppressed": c.suppressed }))
        .collect();
    Ok(Json(serde_json::json!({ "fiscal_year": view.fiscal_year.year(), "published_at": published_at, "cells": cells })).into_response())
}

/// GET /api/v1/cases/counts.
pub async fn case_counts(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> ApiResult {
    let dash = state.app.dashboard(&who.actor()).await.map_err(api)?;
    let out: Vec<_> = dash
        .counts
        .into_iter()
        .map(|((p, s), n)| serde_json::json!({ "programme": p.letter(), "state": s.code(), "count": n }))
        .collect();
    Ok(Json(out).into_response())
}

/// GET /api/v1/members/{member}.
pub async fn member(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(key): Path<String>,
) -> ApiResult {
    let key = MemberKey::parse_key_string(&key).map_err(|_| api(WebError::NotFound))?;
    let view = state
        .app
        .member_page(&who.actor(), &key)
        .await
        .map_err(api)?;
    Ok(Json(serde_json::json!({
        "member": view.member,
        "cases": view.cases.iter().map(|(c, _)| serde_json::json!({ "case_key": c.key.to_string(), "programme": c.key.programme.letter(), "state": c.state.code(), "trigger_date": c.key.trigger.date().to_string() })).collect::<Vec<_>>(),
        "consents": view.consents.iter().map(|c| serde_json::json!({ "kind": c.record.kind.code(), "scope": c.record.scope.code(), "effective": c.record.effective.to_string(), "channel": c.record.channel.code() })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// GET /api/v1/audit/verify.
pub async fn audit_verify(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> ApiResult {
    let check = state.app.verify_audit(&who.actor()).await.map_err(api)?;
    Ok(Json(serde_json::json!({ "records": check.records, "first_broken": check.first_broken, "anchors": check.anchors, "anchor_mismatch": check.anchor_mismatch.map(|(seq, why)| serde_json::json!({"seq": seq, "why": why})), "head": check.head })).into_response())
}
