//! The JSON API under `/api/v1` for employers' systems (tokens narrowed to one
//! employer) and the society's other systems. Same gate, same permission table as
//! the pages; errors are JSON. Wire types are declared here and only here.

use super::employer::{compute_aggregates, compute_risk_holders, find_employer};
use crate::AppState;
use crate::auth::Identity;
use crate::error::WebError;
use crate::gate::Granted;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use collabo_domain::authz::Access;
use serde::{Deserialize, Serialize};

type ApiResult = Result<Response, Response>;

fn api(e: WebError) -> Response {
    e.into_json_response()
}

/// GET /api/v1/openapi.json.
pub async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

/// One upload on the wire.
#[derive(Serialize)]
pub struct SubmissionOut {
    id: i64,
    kind: String,
    file_name: String,
    imported_at: String,
    summary: serde_json::Value,
}

/// GET /api/v1/employers/{employer}/submissions.
pub async fn submissions(State(state): State<AppState>, Path(raw): Path<String>) -> ApiResult {
    let employer = find_employer(&state, &raw).await.map_err(api)?;
    let list = state
        .store
        .submissions(&employer.code, 500)
        .await
        .map_err(|e| api(e.into()))?;
    Ok(Json(
        list.into_iter()
            .map(|s| SubmissionOut {
                id: s.id,
                kind: s.kind,
                file_name: s.file_name,
                imported_at: s.imported_at,
                summary: serde_json::from_str(&s.summary).unwrap_or_default(),
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
    let employer = find_employer(&state, &raw).await.map_err(api)?;
    let result = collabo_app::imports::import_referrals_bytes(
        &state.store,
        &q.file_name,
        &body,
        &employer.code,
        &who.actor(),
        state.today(),
        state.now(),
    )
    .await;
    match result {
        Ok(report) => Ok(Json(serde_json::json!({ "import_id": report.summary.import_id, "already_imported": report.summary.already_imported, "rows": report.summary.rows, "stored": report.summary.stored, "to_review": report.summary.to_review, "late": report.summary.late, "sha256": report.sha256 })).into_response()),
        Err(collabo_app::ImportError::Rows { problems }) => Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Json(serde_json::json!({ "error": "IMPORT-ROWS", "problems": problems }))).into_response()),
        Err(collabo_app::ImportError::Store(e)) => Err(api(e.into())),
        Err(other) => Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Json(serde_json::json!({ "error": "IMPORT-FILE", "message": other.to_string() }))).into_response()),
    }
}

/// GET /api/v1/employers/{employer}/risk-holders.
pub async fn risk_holders(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(raw): Path<String>,
) -> ApiResult {
    let employer = find_employer(&state, &raw).await.map_err(api)?;
    let (fy, holders) = compute_risk_holders(&state, &employer.code)
        .await
        .map_err(api)?;
    for h in &holders {
        super::audit(
            &state,
            &who,
            "api.risk_holders.view",
            Some(&h.member_key),
            Some(employer.code.as_str()),
            format!("FY{}", fy.year()),
        )
        .await
        .map_err(api)?;
    }
    Ok(
        Json(serde_json::json!({ "fiscal_year": fy.year(), "risk_holders": holders }))
            .into_response(),
    )
}

/// GET /api/v1/employers/{employer}/aggregates.
pub async fn aggregates(
    State(state): State<AppState>,
    Extension(granted): Extension<Granted>,
    Path(raw): Path<String>,
) -> ApiResult {
    let employer = find_employer(&state, &raw).await.map_err(api)?;
    let (fy, _, figures) =
        compute_aggregates(&state, &employer.code, granted.0 == Access::AllowSuppressed)
            .await
            .map_err(api)?;
    let cells: Vec<_> = figures.into_iter().map(|(label, n)| serde_json::json!({ "label": label, "count": n, "suppressed": n.is_none() })).collect();
    Ok(Json(serde_json::json!({ "fiscal_year": fy.year(), "cells": cells })).into_response())
}

/// GET /api/v1/cases/counts.
pub async fn case_counts(State(state): State<AppState>) -> ApiResult {
    let counts = state.store.case_counts().await.map_err(|e| api(e.into()))?;
    let out: Vec<_> = counts
        .into_iter()
        .map(|((p, s), n)| serde_json::json!({ "programme": p.letter(), "state": s, "count": n }))
        .collect();
    Ok(Json(out).into_response())
}

/// GET /api/v1/members/{member}.
pub async fn member(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(key): Path<String>,
) -> ApiResult {
    let m = state
        .store
        .member(&key)
        .await
        .map_err(|e| api(e.into()))?
        .ok_or_else(|| api(WebError::NotFound))?;
    let cases = state
        .store
        .cases(None, None, Some(&key), 100)
        .await
        .map_err(|e| api(e.into()))?;
    let consents = state
        .store
        .consents_of(&key)
        .await
        .map_err(|e| api(e.into()))?;
    super::audit(
        &state,
        &who,
        "api.member.view",
        Some(&key),
        Some(m.employer.as_str()),
        "member".into(),
    )
    .await
    .map_err(api)?;
    Ok(Json(serde_json::json!({
        "member": m,
        "cases": cases.iter().map(|c| serde_json::json!({ "case_key": c.case_key, "programme": c.programme.letter(), "state": c.state, "trigger_date": c.trigger_date })).collect::<Vec<_>>(),
        "consents": consents.iter().map(|(kind, scope, effective, channel, _)| serde_json::json!({ "kind": kind, "scope": scope, "effective": effective, "channel": channel })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// GET /api/v1/audit/verify.
pub async fn audit_verify(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> ApiResult {
    let check = state
        .store
        .verify_audit()
        .await
        .map_err(|e| api(e.into()))?;
    super::audit(
        &state,
        &who,
        "api.audit.verify",
        None,
        None,
        format!("{} records", check.records),
    )
    .await
    .map_err(api)?;
    Ok(Json(serde_json::json!({ "records": check.records, "first_broken": check.first_broken, "head": check.head })).into_response())
}
