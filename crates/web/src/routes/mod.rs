//! The route table: every page and API endpoint, once, with the [`Gate`] it needs. The
//! router is built from this list and the route-matrix test walks the same list, so a
//! route cannot exist without an entry in the permission test.
//!
//! Handlers live in one module per area (`public`, `employer`, `staff`, `admin`,
//! `auditor`, `api`) and never check roles themselves.

use crate::AppState;
use crate::error::WebError;
use crate::gate::{self, Gate, GateContext};
use axum::Router;
use axum::routing::{MethodRouter, get, post};
use collabo_domain::authz::Action;
use collabo_domain::ids::EmployerCode;

pub mod admin;
pub mod api;
pub mod auditor;
pub mod consents;
pub mod employer;
pub mod forms;
pub mod month;
pub mod public;
pub mod review;
pub mod rules;
pub mod settings;
pub mod staff;

/// One route as declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Pattern with `{param}` segments.
    pub path: &'static str,
    /// What it requires.
    pub gate: Gate,
    /// Part of the JSON API (bearer tokens, JSON errors).
    pub api: bool,
    /// One line for the OpenAPI document and the docs.
    pub summary: &'static str,
}

type Entry = (RouteSpec, MethodRouter<AppState>);

fn r(
    method: &'static str,
    path: &'static str,
    gate: Gate,
    summary: &'static str,
    handler: MethodRouter<AppState>,
) -> Entry {
    let api = path.starts_with("/api/");
    (
        RouteSpec {
            method,
            path,
            gate,
            api,
            summary,
        },
        handler,
    )
}

/// Every route with its handler.
pub fn table() -> Vec<Entry> {
    use Action::*;
    use Gate::*;
    vec![
        // Public.
        r(
            "GET",
            "/login",
            Public,
            "ログイン画面",
            get(public::login_page),
        ),
        r(
            "POST",
            "/login",
            Public,
            "パスワードでログイン",
            post(public::login),
        ),
        r("GET", "/healthz", Public, "死活監視", get(public::healthz)),
        r(
            "GET",
            "/joint-use",
            Public,
            "個人データの共同利用について（公表事項）",
            get(rules::notice),
        ),
        r(
            "GET",
            "/static/collabo.css",
            Public,
            "スタイルシート",
            get(public::style_sheet),
        ),
        r(
            "GET",
            "/static/collabo.js",
            Public,
            "確認ダイアログのスクリプト",
            get(public::script),
        ),
        r(
            "GET",
            "/metrics",
            Public,
            "Prometheus metrics",
            get(public::metrics),
        ),
        r(
            "GET",
            "/api/v1/openapi.json",
            Public,
            "OpenAPI document",
            get(api::openapi),
        ),
        // Second factor and session.
        r(
            "GET",
            "/totp",
            Session,
            "確認コード入力",
            get(public::totp_page),
        ),
        r(
            "POST",
            "/totp",
            Session,
            "確認コードを確認",
            post(public::totp_check),
        ),
        r(
            "GET",
            "/totp/setup",
            Session,
            "二要素認証の設定",
            get(public::totp_setup_page),
        ),
        r(
            "POST",
            "/totp/setup",
            Session,
            "二要素認証を有効化",
            post(public::totp_setup),
        ),
        r(
            "POST",
            "/logout",
            Session,
            "ログアウト",
            post(public::logout),
        ),
        r(
            "GET",
            "/",
            LoggedIn,
            "役割ごとのトップへ",
            get(public::home),
        ),
        r(
            "GET",
            "/forms",
            LoggedIn,
            "提出ファイルの様式",
            get(forms::forms_page),
        ),
        r(
            "GET",
            "/forms/{file}",
            LoggedIn,
            "様式のダウンロード（CSV・Excel）",
            get(forms::form_file),
        ),
        // Employer contacts (and staff on their behalf).
        r(
            "GET",
            "/employer/{employer}",
            Can(ViewSubmissions),
            "提出状況・期限",
            get(employer::overview),
        ),
        r(
            "GET",
            "/employer/{employer}/uploads/{id}",
            Can(ViewSubmissions),
            "取込結果",
            get(employer::upload_report),
        ),
        r(
            "POST",
            "/employer/{employer}/referrals",
            Can(UploadEmployerData),
            "要精密検査者リストの提出",
            post(employer::upload_referrals),
        ),
        r(
            "POST",
            "/employer/{employer}/checkups",
            Can(UploadEmployerData),
            "健診結果の提出",
            post(employer::upload_checkups),
        ),
        r(
            "GET",
            "/employer/{employer}/risk-holders",
            Can(ViewRiskHolders),
            "リスク保有者一覧（事後指導）",
            get(employer::risk_holders),
        ),
        r(
            "GET",
            "/employer/{employer}/risk-holders/export",
            Can(ViewRiskHolders),
            "リスク保有者一覧のダウンロード（CSV・XLSX）",
            get(employer::risk_holders_export),
        ),
        r(
            "GET",
            "/employer/{employer}/aggregates",
            Can(ViewAggregates),
            "集計（少数秘匿）",
            get(employer::aggregates),
        ),
        r(
            "GET",
            "/employer/{employer}/aggregates.csv",
            Can(ViewAggregates),
            "集計CSV（少数秘匿）",
            get(employer::aggregates_csv),
        ),
        r(
            "GET",
            "/employer/{employer}/report",
            Can(ViewAggregates),
            "健康スコアリングレポート（公表済み集計、少数秘匿）",
            get(employer::score_report),
        ),
        r(
            "GET",
            "/employer/{employer}/report.pdf",
            Can(ViewAggregates),
            "健康スコアリングレポートPDF",
            get(employer::score_report_pdf),
        ),
        // Society staff.
        r(
            "GET",
            "/staff",
            Can(ViewCases),
            "ダッシュボード",
            get(staff::dashboard),
        ),
        r(
            "GET",
            "/staff/imports",
            Can(ImportSocietyData),
            "取込・抽出（資格・レセプト・同意停止の取込、抽出の実行）",
            get(month::imports_page),
        ),
        // Society files may be gigabytes (claims): staff only, streamed to disk by the
        // handler, so no body limit here.
        r(
            "POST",
            "/staff/imports/members",
            Can(ImportSocietyData),
            "資格（加入者台帳）の取込",
            post(month::upload_members).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        r(
            "POST",
            "/staff/imports/claims",
            Can(ImportSocietyData),
            "レセプトの取込（受信しながらディスクへ）",
            post(month::upload_claims).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        r(
            "POST",
            "/staff/imports/consents",
            Can(ImportSocietyData),
            "同意・停止の一括登録",
            post(month::upload_consents).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        r(
            "GET",
            "/staff/jobs/{id}",
            Can(ImportSocietyData),
            "取込・抽出の進捗と結果",
            get(month::job_page),
        ),
        r(
            "POST",
            "/staff/run",
            Can(RunEngine),
            "抽出の実行",
            post(month::run),
        ),
        r(
            "GET",
            "/staff/cases",
            Can(ViewCases),
            "対象者一覧（事業・状態・事業所で絞込）",
            get(month::cases),
        ),
        r(
            "GET",
            "/staff/claims",
            Can(ImportSocietyData),
            "レセプト取込状況（診療月・請求の種類ごと）",
            get(staff::claims),
        ),
        r(
            "POST",
            "/staff/claims/close",
            Can(ImportSocietyData),
            "請求なしの診療月を手動で確定",
            post(staff::claims_close),
        ),
        r(
            "POST",
            "/staff/claims/reopen",
            Can(ImportSocietyData),
            "手動確定の取消",
            post(staff::claims_reopen),
        ),
        r(
            "GET",
            "/staff/review",
            Can(ResolveReview),
            "照合待ち一覧",
            get(review::review),
        ),
        r(
            "GET",
            "/staff/review/export.csv",
            Can(ResolveReview),
            "照合待ち（CSV）",
            get(review::export_csv),
        ),
        r(
            "GET",
            "/staff/review/export.xlsx",
            Can(ResolveReview),
            "照合待ち（Excel）",
            get(review::export_xlsx),
        ),
        r(
            "POST",
            "/staff/review/{id}/resolve",
            Can(ResolveReview),
            "照合待ちを確定",
            post(review::resolve),
        ),
        r(
            "POST",
            "/staff/review/{id}/reject",
            Can(ResolveReview),
            "照合待ちを却下",
            post(review::reject),
        ),
        r(
            "POST",
            "/staff/review/reject-import",
            Can(ResolveReview),
            "取込ごとの照合待ちを理由を付けて一括却下",
            post(review::reject_import),
        ),
        r(
            "GET",
            "/staff/consents",
            Can(RecordConsent),
            "同意・停止の登録画面",
            get(consents::consents_page),
        ),
        r(
            "POST",
            "/staff/consents",
            Can(RecordConsent),
            "同意・停止を登録",
            post(consents::record),
        ),
        r(
            "POST",
            "/staff/consents/confirm",
            Can(RecordConsent),
            "同意・停止の登録内容（削除する内容）の確認",
            post(consents::confirm),
        ),
        r(
            "GET",
            "/staff/consents/register",
            Can(RecordConsent),
            "停止者台帳（同意・停止の記録の一覧・検索）",
            get(consents::register),
        ),
        r(
            "GET",
            "/staff/consents/register.csv",
            Can(RecordConsent),
            "停止者台帳CSV",
            get(consents::register_csv),
        ),
        r(
            "GET",
            "/staff/consents/register.xlsx",
            Can(RecordConsent),
            "停止者台帳（Excel）",
            get(consents::register_xlsx),
        ),
        r(
            "GET",
            "/staff/letters",
            Can(ManageLetters),
            "通知バッチ一覧",
            get(staff::letters),
        ),
        r(
            "POST",
            "/staff/letters/prepare",
            Can(ManageLetters),
            "通知バッチを作成",
            post(staff::prepare_batch),
        ),
        r(
            "GET",
            "/staff/letters/{id}",
            Can(ManageLetters),
            "バッチの内容（PDF・取下げ・差止）と発送確認",
            get(staff::batch_page),
        ),
        r(
            "POST",
            "/staff/letters/{id}/mailed",
            Can(ManageLetters),
            "発送日を指定して発送済みにする",
            post(staff::batch_mailed),
        ),
        r(
            "POST",
            "/staff/letters/{id}/cancel",
            Can(ManageLetters),
            "バッチを取り消す",
            post(staff::batch_cancel),
        ),
        r(
            "GET",
            "/staff/letters/{id}/pdf",
            Can(ManageLetters),
            "バッチPDF（?part=0,1,…の各ファイル）",
            get(staff::batch_pdf),
        ),
        r(
            "GET",
            "/staff/letters/{id}/csv",
            Can(ManageLetters),
            "発送リストCSV",
            get(staff::batch_csv),
        ),
        r(
            "GET",
            "/staff/members",
            Can(ViewMember),
            "加入者検索",
            get(staff::member_search),
        ),
        r(
            "GET",
            "/staff/members/export.csv",
            Can(Export),
            "加入者検索の結果（CSV）",
            get(staff::member_search_csv),
        ),
        r(
            "GET",
            "/staff/members/export.xlsx",
            Can(Export),
            "加入者検索の結果（Excel）",
            get(staff::member_search_xlsx),
        ),
        r(
            "GET",
            "/staff/members/{member}",
            Can(ViewMember),
            "加入者ページ",
            get(staff::member_page),
        ),
        r(
            "GET",
            "/staff/reports",
            Can(ViewReports),
            "実績レポート",
            get(staff::reports),
        ),
        r(
            "GET",
            "/staff/reports/effects.csv",
            Can(ViewReports),
            "効果測定（CSV）",
            get(staff::effects_csv),
        ),
        r(
            "GET",
            "/staff/reports/effects.xlsx",
            Can(ViewReports),
            "効果測定（XLSX）",
            get(staff::effects_xlsx),
        ),
        r(
            "GET",
            "/staff/reports/effects.pdf",
            Can(ViewReports),
            "効果測定報告（PDF、組合会用）",
            get(staff::effects_pdf),
        ),
        r(
            "POST",
            "/staff/aggregates/publish",
            Can(PublishAggregates),
            "事業所集計の公表",
            post(staff::publish_aggregates),
        ),
        r(
            "GET",
            "/staff/exports/cases.csv",
            Can(Export),
            "対象者CSV",
            get(staff::cases_csv),
        ),
        r(
            "GET",
            "/staff/exports/cases.xlsx",
            Can(Export),
            "対象者（Excel）",
            get(staff::cases_xlsx),
        ),
        // Administration.
        r(
            "GET",
            "/admin/users",
            Can(ManageUsers),
            "ユーザー一覧",
            get(admin::users),
        ),
        r(
            "POST",
            "/admin/users",
            Can(ManageUsers),
            "ユーザー作成",
            post(admin::create_user),
        ),
        r(
            "GET",
            "/admin/users/{user}",
            Can(ManageUsers),
            "ユーザーの詳細",
            get(admin::user),
        ),
        r(
            "POST",
            "/admin/users/{user}/unlock",
            Can(ManageUsers),
            "ロックの解除",
            post(admin::unlock_user),
        ),
        r(
            "POST",
            "/admin/users/{user}/disable",
            Can(ManageUsers),
            "ユーザーの無効化",
            post(admin::disable_user),
        ),
        r(
            "POST",
            "/admin/users/{user}/password",
            Can(ManageUsers),
            "パスワードの再設定",
            post(admin::set_password),
        ),
        r(
            "POST",
            "/admin/users/{user}/reset-totp",
            Can(ManageUsers),
            "二要素認証のリセット",
            post(admin::reset_totp),
        ),
        r(
            "POST",
            "/admin/users/{user}/token",
            Can(ManageUsers),
            "APIトークン発行",
            post(admin::create_token),
        ),
        r(
            "POST",
            "/admin/tokens/{token}/revoke",
            Can(ManageUsers),
            "APIトークンの失効",
            post(admin::revoke_token),
        ),
        r(
            "GET",
            "/admin/employers",
            Can(ManageEmployers),
            "事業所・覚書",
            get(admin::employers),
        ),
        r(
            "POST",
            "/admin/employers",
            Can(ManageEmployers),
            "事業所の登録",
            post(admin::upsert_employer),
        ),
        r(
            "POST",
            "/admin/agreements",
            Can(ManageEmployers),
            "覚書の申込",
            post(admin::add_agreement),
        ),
        r(
            "POST",
            "/admin/agreements/{id}/status",
            Can(ManageEmployers),
            "覚書の締結・解約",
            post(admin::agreement_status),
        ),
        r(
            "GET",
            "/admin/settings",
            Can(ManageSettings),
            "事業設定",
            get(settings::settings),
        ),
        r(
            "POST",
            "/admin/settings",
            Can(ManageSettings),
            "事業設定の保存",
            post(settings::save_settings),
        ),
        r(
            "GET",
            "/admin/settings/export",
            Can(ManageSettings),
            "事業設定の書出し（JSON）",
            get(settings::export_settings),
        ),
        r(
            "POST",
            "/admin/settings/import",
            Can(ManageSettings),
            "事業設定の読込み（JSON）",
            post(settings::import_settings),
        ),
        r(
            "GET",
            "/admin/joint-use",
            Can(ManageSettings),
            "共同利用の公表事項",
            get(rules::admin_page),
        ),
        r(
            "POST",
            "/admin/joint-use",
            Can(ManageSettings),
            "共同利用の公表事項の新しい版の登録",
            post(rules::record),
        ),
        r(
            "GET",
            "/staff/retention",
            Can(ManageRetention),
            "保存期間を過ぎた記録（確認のみ）",
            get(rules::retention),
        ),
        r(
            "GET",
            "/staff/retention.csv",
            Can(ManageRetention),
            "保存期間を過ぎた記録の一覧（CSV）",
            get(rules::retention_csv),
        ),
        r(
            "POST",
            "/staff/retention",
            Can(ManageRetention),
            "保存期間を過ぎた記録の廃棄",
            post(rules::dispose),
        ),
        r(
            "GET",
            "/admin/society",
            Can(ManageSettings),
            "差出人・問い合わせ先・受け取る請求の種類",
            get(admin::society),
        ),
        r(
            "POST",
            "/admin/society",
            Can(ManageSettings),
            "差出人・問い合わせ先・請求の種類の保存",
            post(admin::save_society),
        ),
        r(
            "GET",
            "/admin/templates",
            Can(ManageSettings),
            "通知テンプレート",
            get(admin::templates),
        ),
        r(
            "POST",
            "/admin/templates",
            Can(ManageSettings),
            "通知テンプレートの登録",
            post(admin::upload_template),
        ),
        r(
            "GET",
            "/admin/templates/{name}/builtin",
            Can(ManageSettings),
            "標準テンプレートのダウンロード",
            get(admin::builtin_template),
        ),
        r(
            "POST",
            "/admin/templates/preview",
            Can(ManageSettings),
            "通知テンプレートのプレビュー",
            post(admin::preview_template),
        ),
        r(
            "POST",
            "/admin/templates/{name}/delete",
            Can(ManageSettings),
            "通知テンプレートの削除",
            post(admin::delete_template),
        ),
        // Audit.
        r(
            "GET",
            "/audit",
            Can(ViewAudit),
            "監査ログ",
            get(auditor::log),
        ),
        r(
            "GET",
            "/audit/export.csv",
            Can(ViewAudit),
            "監査ログCSV（絞込条件どおり）",
            get(auditor::export),
        ),
        r(
            "GET",
            "/audit/export.xlsx",
            Can(ViewAudit),
            "監査ログ（Excel、絞込条件どおり）",
            get(auditor::export_xlsx),
        ),
        r(
            "GET",
            "/audit/verify",
            Can(ViewAudit),
            "監査ログの改ざん検証",
            get(auditor::verify),
        ),
        // JSON API.
        r(
            "GET",
            "/api/v1/employers/{employer}/submissions",
            Can(ViewSubmissions),
            "List an employer's uploads",
            get(api::submissions),
        ),
        r(
            "POST",
            "/api/v1/employers/{employer}/referrals",
            Can(UploadEmployerData),
            "Upload a 要精密検査 list (CSV/XLSX body; ?file_name=)",
            post(api::upload_referrals),
        ),
        r(
            "GET",
            "/api/v1/employers/{employer}/risk-holders",
            Can(ViewRiskHolders),
            "Risk holders of programme R",
            get(api::risk_holders),
        ),
        r(
            "GET",
            "/api/v1/employers/{employer}/aggregates",
            Can(ViewAggregates),
            "Aggregates with small cells suppressed",
            get(api::aggregates),
        ),
        r(
            "GET",
            "/api/v1/cases/counts",
            Can(ViewCases),
            "Case counts by programme and state",
            get(api::case_counts),
        ),
        r(
            "GET",
            "/api/v1/members/{member}",
            Can(ViewMember),
            "A member with cases and consents",
            get(api::member),
        ),
        r(
            "GET",
            "/api/v1/audit/verify",
            Can(ViewAudit),
            "Verify the audit chain",
            get(api::audit_verify),
        ),
    ]
}

/// The declared routes without handlers (tests, OpenAPI).
pub fn specs() -> Vec<RouteSpec> {
    table().into_iter().map(|(spec, _)| spec).collect()
}

/// The security headers of every response: a content security policy that allows no
/// inline script or style and no framing, `nosniff`, no referrer, and — unless the
/// handler chose its own caching (the static files) — `Cache-Control: no-store`, so
/// no page or download with personal data stays in a browser or proxy cache.
pub async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// The content security policy: the portal's own style sheet and script, inline SVG
/// charts, forms posting to the portal only, never in a frame.
pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Builds the router: each route behind its gate, then the client address, security
/// headers and metrics around everything.
pub fn build(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    for (spec, handler) in table() {
        let ctx = GateContext {
            state: state.clone(),
            gate: spec.gate,
            path: spec.path,
            api: spec.api,
        };
        router = router.route(
            spec.path,
            handler.route_layer(axum::middleware::from_fn_with_state(ctx, gate::check)),
        );
    }
    router
        .fallback(|| async { WebError::NotFound })
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_upload_bytes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.proxies.clone(),
            crate::client::remember,
        ))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::track,
        ))
        .with_state(state)
}

/// Parses an employer code from a path (unparseable = not found).
pub fn employer_code(raw: &str) -> Result<EmployerCode, WebError> {
    EmployerCode::parse(raw).map_err(|_| WebError::NotFound)
}

/// Percent-encodes a path segment (member keys contain `:`; symbols may hold anything).
pub fn encode_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `Content-Disposition` of a download named `file_name` (RFC 6266): an ASCII
/// fallback `filename="…"` in which every character but letters, digits, `.`, `-`
/// and `_` is `_` (so no quote, semicolon or path can break out of it), then the real
/// name as `filename*=UTF-8''…`, percent-encoded (RFC 8187).
pub fn attachment(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let fallback = fallback.trim_start_matches('.');
    let fallback = if fallback.is_empty() {
        "download"
    } else {
        fallback
    };
    let mut encoded = String::new();
    for b in file_name.bytes() {
        // RFC 8187 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." /
        // "^" / "_" / "`" / "|" / "~"; everything else is percent-encoded.
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// An employer's name as listed, or its code when it is not registered (yet).
pub fn employer_name(
    employers: &[collabo_domain::employer::Employer],
    code: &EmployerCode,
) -> String {
    employers
        .iter()
        .find(|e| &e.code == code)
        .map_or_else(|| code.to_string(), |e| e.name.clone())
}

/// A download response: content type, [`attachment`] disposition, bytes.
pub fn download_response(
    file_name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_owned()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                attachment(file_name),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// A CSV download response (the bytes of `collabo_export`, UTF-8 with BOM so Excel
/// opens it correctly).
pub fn csv_response(file_name: &str, bytes: Vec<u8>) -> axum::response::Response {
    download_response(file_name, "text/csv; charset=utf-8", bytes)
}

/// A list handed out as a file: CSV (the shared `collabo_export` writer, UTF-8 with
/// BOM, CRLF, formula-neutralised) or, with `xlsx`, an Excel sheet whose cells are all
/// text (so nothing in it is a formula and 記号番号 keep their leading zeros).
pub fn table_download(
    xlsx: bool,
    file_stem: &str,
    headers: &[&str],
    rows: &[Vec<String>],
) -> Result<axum::response::Response, WebError> {
    if xlsx {
        let bad = |e: rust_xlsxwriter::XlsxError| WebError::Internal(format!("xlsx: {e}"));
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (col, h) in headers.iter().enumerate() {
            let col = u16::try_from(col).map_err(|_| WebError::Internal("columns".into()))?;
            sheet
                .write_string_with_format(0, col, *h, &bold)
                .map_err(bad)?;
        }
        for (i, row) in rows.iter().enumerate() {
            let line = u32::try_from(i + 1).map_err(|_| WebError::Internal("rows".into()))?;
            for (col, cell) in row.iter().enumerate() {
                let col = u16::try_from(col).map_err(|_| WebError::Internal("columns".into()))?;
                sheet.write_string(line, col, cell).map_err(bad)?;
            }
        }
        let bytes = book.save_to_buffer().map_err(bad)?;
        return Ok(download_response(
            &format!("{file_stem}.xlsx"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            bytes,
        ));
    }
    let io = |e: collabo_export::ExportError| WebError::Internal(e.to_string());
    let mut w = collabo_export::CsvWriter::with_bom(collabo_export::LineEnd::Crlf);
    w.write_row(headers.iter().copied()).map_err(io)?;
    for row in rows {
        w.write_row(row.iter().map(String::as_str)).map_err(io)?;
    }
    Ok(csv_response(
        &format!("{file_stem}.csv"),
        w.finish().map_err(io)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_file_name_cannot_break_out_of_the_disposition() {
        assert_eq!(
            attachment("aggregates-Q\"Z;filename=evil.html-2026.csv"),
            "attachment; filename=\"aggregates-Q_Z_filename_evil.html-2026.csv\"; filename*=UTF-8''aggregates-Q%22Z%3Bfilename%3Devil.html-2026.csv"
        );
        assert_eq!(
            attachment("発送リスト_B1.csv"),
            "attachment; filename=\"______B1.csv\"; filename*=UTF-8''%E7%99%BA%E9%80%81%E3%83%AA%E3%82%B9%E3%83%88_B1.csv"
        );
        assert_eq!(
            attachment("../../etc/passwd\r\nX: y"),
            "attachment; filename=\"_.._etc_passwd__X__y\"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd%0D%0AX%3A%20y"
        );
    }
}
