//! Login, second factor, logout, the role home redirect, health and metrics.

use crate::AppState;
use crate::auth::{self, Identity};
use crate::error::{WebError, WebResult};
use crate::view::{Block, Field, Form, Page};
use axum::Extension;
use axum::extract::{Form as FormData, FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use collabo_app::accounts::{LoginOutcome, SecondFactorOutcome, SessionStage};
use collabo_domain::authz::Role;
use serde::Deserialize;

/// The client's address, for the audit log.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string()),
        ))
    }
}

fn login_form(page: &mut Page, username: &str) {
    page.push(Block::Form(Form {
        action: "/login".into(),
        multipart: false,
        csrf: String::new(),
        fields: vec![
            Field::new("ユーザー名", "username", "text").value(username),
            Field::new("パスワード", "password", "password"),
        ],
        submit: "ログイン".into(),
        get: false,
    }));
    page.push(Block::Para(
        "5回続けて失敗すると15分間ログインできなくなります。パスワードを忘れた場合はシステム管理者に連絡してください。".into(),
    ));
}

/// GET /login.
pub async fn login_page() -> WebResult<Response> {
    let mut page = Page::bare("ログイン");
    login_form(&mut page, "");
    Ok(page.html()?.into_response())
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

/// POST /login.
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(origin): ClientAddr,
    FormData(form): FormData<LoginForm>,
) -> WebResult<Response> {
    let username = form.username.trim();
    let outcome = state
        .app
        .password_login(
            username,
            &form.password,
            &origin,
            state.now(),
            state.login_policy(),
        )
        .await?;
    match outcome {
        LoginOutcome::Session { id, stage } => {
            let cookie = auth::session_cookie(&state, &id, state.config.session_minutes * 60);
            let to = match stage {
                SessionStage::SecondFactor => "/totp",
                SessionStage::Enrol => "/totp/setup",
                SessionStage::Full => "/",
            };
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response())
        }
        outcome => {
            let mut page = Page::bare("ログイン");
            let message = if matches!(outcome, LoginOutcome::Locked) {
                "ログインに続けて失敗したため、このアカウントは一時的にロックされています。15分ほど待ってから再度お試しください。"
            } else {
                "ユーザー名またはパスワードが正しくありません。"
            };
            page.notice("error", vec![message.into()]);
            login_form(&mut page, username);
            Ok((axum::http::StatusCode::UNAUTHORIZED, page.html()?).into_response())
        }
    }
}

fn code_form(page: &mut Page, action: &str, csrf: &str) {
    page.push(Block::Form(Form {
        action: action.into(),
        multipart: false,
        csrf: csrf.into(),
        fields: vec![
            Field::new("確認コード（6桁）", "code", "text")
                .hint("認証アプリに表示されている6桁の数字を入力してください。"),
        ],
        submit: "確認".into(),
        get: false,
    }));
}

/// GET /totp.
pub async fn totp_page(Extension(who): Extension<Identity>) -> WebResult<Response> {
    let mut page = Page::bare("二要素認証");
    code_form(&mut page, "/totp", who.csrf());
    Ok(page.html()?.into_response())
}

/// The code form.
#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

/// POST /totp.
pub async fn totp_check(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<CodeForm>,
) -> WebResult<Response> {
    let session = who.session.clone().ok_or(WebError::LoginRequired)?;
    match state
        .app
        .second_factor(&who.actor(), &session, &form.code, state.login_policy())
        .await?
    {
        SecondFactorOutcome::Accepted => Ok(Redirect::to("/").into_response()),
        SecondFactorOutcome::Locked => Err(WebError::LoginRequired),
        SecondFactorOutcome::Refused => {
            let mut page = Page::bare("二要素認証");
            page.notice("error", vec!["確認コードが正しくありません。時刻のずれがないか確認し、新しいコードを入力してください。".into()]);
            code_form(&mut page, "/totp", who.csrf());
            Ok((axum::http::StatusCode::UNAUTHORIZED, page.html()?).into_response())
        }
    }
}

async fn setup_page(state: &AppState, who: &Identity, error: bool) -> WebResult<Page> {
    let session = who.session.clone().ok_or(WebError::LoginRequired)?;
    let secret = state.app.offered_totp_secret(&session).await?;
    let uri = auth::totp_uri(&secret, &who.username)?;
    let mut page = Page::bare("二要素認証の設定");
    if error {
        page.notice(
            "error",
            vec!["確認コードが正しくありません。もう一度入力してください。".into()],
        );
    }
    page.push(Block::Para(
        "認証アプリ（Google Authenticator、Microsoft Authenticator など）に次のキーを登録し、表示された6桁のコードを入力してください。".into(),
    ));
    page.push(Block::Facts(vec![
        ("シークレットキー".into(), secret.clone()),
        ("方式".into(), "TOTP（SHA-1・6桁・30秒）".into()),
    ]));
    page.push(Block::Heading("otpauth URI".into()));
    page.push(Block::Pre(uri));
    code_form(&mut page, "/totp/setup", who.csrf());
    Ok(page)
}

/// GET /totp/setup: first login of staff/admin, or an employer enrolling by choice.
pub async fn totp_setup_page(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    Ok(setup_page(&state, &who, false)
        .await?
        .html()?
        .into_response())
}

/// POST /totp/setup.
pub async fn totp_setup(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<CodeForm>,
) -> WebResult<Response> {
    let session = who.session.clone().ok_or(WebError::LoginRequired)?;
    if session.pending_secret.is_none() {
        return Ok(Redirect::to("/totp/setup").into_response());
    }
    if !state
        .app
        .enrol_totp(&who.actor(), &session, &form.code)
        .await?
    {
        return Ok((
            axum::http::StatusCode::UNAUTHORIZED,
            setup_page(&state, &who, true).await?.html()?,
        )
            .into_response());
    }
    Ok(Redirect::to("/").into_response())
}

/// POST /logout.
pub async fn logout(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> WebResult<Response> {
    state.app.logout(&who.actor(), who.session.as_ref()).await?;
    let cookie = auth::session_cookie(&state, "", 0);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response())
}

/// GET /: each role's first page.
pub async fn home(Extension(who): Extension<Identity>) -> WebResult<Response> {
    let to = match &who.role {
        Role::Staff => "/staff".to_owned(),
        Role::Admin => "/admin/users".to_owned(),
        Role::Auditor => "/audit".to_owned(),
        Role::Employer(codes) => match codes.first() {
            Some(c) => format!("/employer/{}", super::encode_segment(c.as_str())),
            None => {
                let mut page = Page::new("事業所が未設定です", &who);
                page.notice("warn", vec!["このアカウントには事業所が割り当てられていません。健康保険組合の担当者に連絡してください。".into()]);
                return Ok(page.html()?.into_response());
            }
        },
    };
    Ok(Redirect::to(&to).into_response())
}

/// GET /healthz: the database answers.
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.app.healthy().await {
        true => "ok\n".into_response(),
        false => {
            tracing::error!("health check failed");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable\n",
            )
                .into_response()
        }
    }
}

/// GET /metrics.
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
