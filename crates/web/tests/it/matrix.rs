//! The route × role matrix: every route of `collabo_web::routes::specs()` must have a
//! row in EXPECTED, and every role (and no login) gets exactly the access written
//! there. Responses to employer users must not contain claims-derived words.

use crate::helpers::{Client, TestApp, referral_csv};
use axum::http::{StatusCode, header};

/// Who may pass each route: N = no login, A = admin, S = staff, U = auditor,
/// E = employer contact on its own employer. Written out by hand on purpose.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("GET", "/login", "NASUE"),
    ("POST", "/login", "NASUE"),
    ("GET", "/healthz", "NASUE"),
    ("GET", "/joint-use", "NASUE"),
    ("GET", "/static/collabo.css", "NASUE"),
    ("GET", "/static/collabo.js", "NASUE"),
    // Only with the metrics token (none is configured here) or on metrics_listen.
    ("GET", "/metrics", ""),
    ("GET", "/api/v1/openapi.json", "NASUE"),
    ("GET", "/totp", "ASUE"),
    ("POST", "/totp", "ASUE"),
    ("GET", "/totp/setup", "ASUE"),
    ("POST", "/totp/setup", "ASUE"),
    ("POST", "/logout", "ASUE"),
    ("GET", "/", "ASUE"),
    ("GET", "/forms", "ASUE"),
    ("GET", "/forms/{file}", "ASUE"),
    ("GET", "/employer/{employer}", "SE"),
    ("GET", "/employer/{employer}/uploads/{id}", "SE"),
    ("POST", "/employer/{employer}/referrals", "SE"),
    ("POST", "/employer/{employer}/checkups", "SE"),
    ("GET", "/employer/{employer}/risk-holders", "SE"),
    ("GET", "/employer/{employer}/risk-holders/export", "SE"),
    ("GET", "/employer/{employer}/aggregates", "ASE"),
    ("GET", "/employer/{employer}/aggregates.csv", "ASE"),
    ("GET", "/employer/{employer}/report", "ASE"),
    ("GET", "/employer/{employer}/report.pdf", "ASE"),
    ("GET", "/staff", "S"),
    ("GET", "/staff/imports", "S"),
    ("POST", "/staff/imports/members", "S"),
    ("POST", "/staff/imports/claims", "S"),
    ("POST", "/staff/imports/consents", "S"),
    ("GET", "/staff/jobs/{id}", "S"),
    ("POST", "/staff/run", "S"),
    ("GET", "/staff/cases", "S"),
    ("GET", "/staff/claims", "S"),
    ("POST", "/staff/claims/close", "S"),
    ("POST", "/staff/claims/reopen", "S"),
    ("GET", "/staff/review", "S"),
    ("GET", "/staff/review/export.csv", "S"),
    ("GET", "/staff/review/export.xlsx", "S"),
    ("POST", "/staff/review/{id}/resolve", "S"),
    ("POST", "/staff/review/{id}/reject", "S"),
    ("POST", "/staff/review/reject-import", "S"),
    ("GET", "/staff/consents", "S"),
    ("POST", "/staff/consents", "S"),
    ("POST", "/staff/consents/confirm", "S"),
    ("GET", "/staff/consents/register", "S"),
    ("GET", "/staff/consents/register.csv", "S"),
    ("GET", "/staff/consents/register.xlsx", "S"),
    ("GET", "/staff/letters", "S"),
    ("POST", "/staff/letters/prepare", "S"),
    ("GET", "/staff/letters/{id}", "S"),
    ("POST", "/staff/letters/{id}/mailed", "S"),
    ("POST", "/staff/letters/{id}/cancel", "S"),
    ("GET", "/staff/letters/{id}/pdf", "S"),
    ("GET", "/staff/letters/{id}/csv", "S"),
    ("GET", "/staff/members", "S"),
    ("GET", "/staff/members/export.csv", "S"),
    ("GET", "/staff/members/export.xlsx", "S"),
    ("GET", "/staff/members/{member}", "S"),
    ("GET", "/staff/reports", "AS"),
    ("GET", "/staff/reports/effects.csv", "AS"),
    ("GET", "/staff/reports/effects.xlsx", "AS"),
    ("GET", "/staff/reports/effects.pdf", "AS"),
    ("POST", "/staff/aggregates/publish", "S"),
    ("GET", "/staff/exports/cases.csv", "S"),
    ("GET", "/staff/exports/cases.xlsx", "S"),
    ("GET", "/admin/users", "A"),
    ("POST", "/admin/users", "A"),
    ("GET", "/admin/users/{user}", "A"),
    ("POST", "/admin/users/{user}/unlock", "A"),
    ("POST", "/admin/users/{user}/disable", "A"),
    ("POST", "/admin/users/{user}/password", "A"),
    ("POST", "/admin/users/{user}/reset-totp", "A"),
    ("POST", "/admin/users/{user}/token", "A"),
    ("POST", "/admin/tokens/{token}/revoke", "A"),
    ("GET", "/admin/employers", "A"),
    ("POST", "/admin/employers", "A"),
    ("POST", "/admin/agreements", "A"),
    ("POST", "/admin/agreements/{id}/status", "A"),
    ("GET", "/admin/settings", "A"),
    ("POST", "/admin/settings", "A"),
    ("GET", "/admin/settings/export", "A"),
    ("POST", "/admin/settings/import", "A"),
    ("GET", "/admin/joint-use", "A"),
    ("POST", "/admin/joint-use", "A"),
    ("GET", "/staff/retention", "S"),
    ("GET", "/staff/retention.csv", "S"),
    ("POST", "/staff/retention", "S"),
    ("GET", "/admin/society", "A"),
    ("POST", "/admin/society", "A"),
    ("GET", "/admin/templates", "A"),
    ("POST", "/admin/templates", "A"),
    ("GET", "/admin/templates/{name}/builtin", "A"),
    ("POST", "/admin/templates/preview", "A"),
    ("POST", "/admin/templates/{name}/delete", "A"),
    ("GET", "/audit", "U"),
    ("GET", "/audit/export.csv", "U"),
    ("GET", "/audit/export.xlsx", "U"),
    ("GET", "/audit/verify", "U"),
    ("GET", "/api/v1/employers/{employer}/submissions", "SE"),
    ("POST", "/api/v1/employers/{employer}/referrals", "SE"),
    ("GET", "/api/v1/employers/{employer}/risk-holders", "SE"),
    ("GET", "/api/v1/employers/{employer}/aggregates", "ASE"),
    ("GET", "/api/v1/cases/counts", "S"),
    ("GET", "/api/v1/members/{member}", "S"),
    ("GET", "/api/v1/audit/verify", "U"),
];

/// Words and fields that come from claims, letters or cases; never shown to employers.
pub const CLAIMS_WORDS: &[&str] = &[
    "未受診",
    "受診済",
    "受診を確認",
    "再勧奨",
    "レセプト",
    "案件",
    "通知バッチ",
    "visit",
    "case_key",
    "letter",
    "claims",
];

fn concrete(path: &str, upload_id: i64, member: &str) -> String {
    path.replace("{employer}", "E1")
        .replace(
            "{id}",
            if path.contains("/uploads/") {
                "UPLOAD"
            } else {
                "999999"
            },
        )
        .replace("UPLOAD", &upload_id.to_string())
        .replace("{member}", member)
        .replace("{user}", "nobody")
        .replace("{token}", "0000")
        .replace("{name}", "R.typ")
        .replace("{file}", "referrals.csv")
}

fn denied(
    get: bool,
    status: StatusCode,
    headers: &axum::http::HeaderMap,
    employer_scoped: bool,
) -> bool {
    let to_login = get
        && status == StatusCode::SEE_OTHER
        && headers.get(header::LOCATION).is_some_and(|l| l == "/login");
    status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN
        || to_login
        || (employer_scoped && status == StatusCode::NOT_FOUND)
}

#[tokio::test]
async fn every_route_allows_exactly_the_roles_of_the_table() {
    let app = TestApp::spawn().await;
    let specs = collabo_web::routes::specs();
    // The table and the router list the same routes.
    for spec in &specs {
        assert!(
            EXPECTED
                .iter()
                .any(|(m, p, _)| *m == spec.method && *p == spec.path),
            "route {} {} has no row in EXPECTED",
            spec.method,
            spec.path
        );
    }
    for (m, p, _) in EXPECTED {
        assert!(
            specs.iter().any(|s| s.method == *m && s.path == *p),
            "EXPECTED lists {m} {p}, which is not routed"
        );
    }
    // A real upload of E1 so /uploads/{id} exists.
    let staff = app.login("staff1").await;
    let up = app
        .post_file(
            "/employer/E1/referrals",
            &staff,
            "list.csv",
            &referral_csv("E1", &[(1, "肺", "2026-10-05")]),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    let upload_id = app
        .app()
        .submissions(&app.staff(), &crate::helpers::code("E1"), 1)
        .await
        .unwrap()[0]
        .id;
    let member = crate::helpers::key_text("E1", 1);

    let mut failures = Vec::new();
    for role in ['N', 'A', 'S', 'U', 'E'] {
        let user = match role {
            'A' => Some("admin1"),
            'S' => Some("staff1"),
            'U' => Some("auditor1"),
            'E' => Some("emp1"),
            _ => None,
        };
        let page_client = match user {
            Some(u) => app.login(u).await,
            None => Client::default(),
        };
        let api_client = match user {
            Some(u) => app.api_client(u).await,
            None => Client::default(),
        };
        // Logout last so the session lives through the walk.
        let mut ordered: Vec<_> = specs.clone();
        ordered.sort_by_key(|s| s.path == "/logout");
        for spec in &ordered {
            let (_, _, allowed) = EXPECTED
                .iter()
                .find(|(m, p, _)| *m == spec.method && *p == spec.path)
                .unwrap();
            let path = concrete(spec.path, upload_id, &member);
            let client = if spec.api { &api_client } else { &page_client };
            let resp = if spec.method == "GET" {
                app.get(&path, client).await
            } else {
                app.post_form(&path, client, &[]).await
            };
            // A foreign employer, and /metrics without its token, answer 404.
            let employer_scoped = spec.path.contains("{employer}") || spec.path == "/metrics";
            let was_denied = denied(
                spec.method == "GET",
                resp.status,
                &resp.headers,
                employer_scoped,
            );
            let want_allowed = allowed.contains(role);
            if was_denied == want_allowed {
                failures.push(format!(
                    "{role} {} {} → {} (expected {})",
                    spec.method,
                    spec.path,
                    resp.status,
                    if want_allowed { "allowed" } else { "denied" }
                ));
            }
            // Public routes (metrics, OpenAPI) describe the system, not anyone's data.
            if role == 'E' && spec.gate != collabo_web::gate::Gate::Public {
                for word in CLAIMS_WORDS {
                    if resp.body.contains(word) {
                        failures.push(format!(
                            "E {} {} shows claims-derived word {word:?}",
                            spec.method, spec.path
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Checks the security headers of one response; returns what is missing.
fn header_problems(path: &str, resp: &crate::helpers::Response) -> Vec<String> {
    let h = |name: &str| {
        resp.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut problems = Vec::new();
    let csp = h("content-security-policy");
    if !csp.contains("frame-ancestors 'none'")
        || !csp.contains("script-src 'self'")
        || !csp.contains("default-src 'none'")
        || csp.contains("unsafe-inline")
    {
        problems.push(format!("{path}: CSP {csp:?}"));
    }
    if h("x-content-type-options") != "nosniff" {
        problems.push(format!("{path}: no nosniff"));
    }
    if h("referrer-policy") != "no-referrer" {
        problems.push(format!(
            "{path}: Referrer-Policy {:?}",
            h("referrer-policy")
        ));
    }
    let static_file = path.starts_with("/static/");
    if !static_file && h("cache-control") != "no-store" {
        problems.push(format!("{path}: Cache-Control {:?}", h("cache-control")));
    }
    if h("content-type").starts_with("text/html") {
        let body = &resp.body;
        let inline_script = body
            .match_indices("<script")
            .any(|(i, _)| !body[i..].split('>').next().unwrap_or("").contains("src="));
        let handler = [
            "onsubmit=",
            "onclick=",
            "onload=",
            "onerror=",
            " style=",
            "<style",
        ]
        .iter()
        .find(|a| body.contains(*a));
        if inline_script || handler.is_some() {
            problems.push(format!("{path}: inline script or style ({handler:?})"));
        }
    }
    problems
}

#[tokio::test]
async fn every_route_answers_with_the_security_headers() {
    let app = TestApp::spawn().await;
    let specs = collabo_web::routes::specs();
    let mut clients = std::collections::HashMap::new();
    for (role, user) in [
        ('A', "admin1"),
        ('S', "staff1"),
        ('U', "auditor1"),
        ('E', "emp1"),
    ] {
        clients.insert(role, (app.login(user).await, app.api_client(user).await));
    }
    let member = crate::helpers::key_text("E1", 1);
    let mut problems = Vec::new();
    let mut walked = 0;
    for spec in specs.iter().filter(|s| s.method == "GET") {
        let (_, _, allowed) = EXPECTED
            .iter()
            .find(|(m, p, _)| *m == spec.method && *p == spec.path)
            .unwrap();
        // As a role the route lets in (its personal pages), or without a login.
        let who = allowed.chars().find(|r| *r != 'N');
        let none = (Client::default(), Client::default());
        let (page, api) = who.and_then(|r| clients.get(&r)).unwrap_or(&none);
        let path = concrete(spec.path, 1, &member);
        let resp = app.get(&path, if spec.api { api } else { page }).await;
        problems.extend(header_problems(&path, &resp));
        walked += 1;
    }
    // Refusals and unknown paths carry them too.
    for path in ["/staff", "/no/such/page", "/api/v1/cases/counts"] {
        problems.extend(header_problems(
            path,
            &app.get(path, &Client::default()).await,
        ));
    }
    assert!(walked > 30, "{walked}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
