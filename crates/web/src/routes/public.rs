//! Login, second factor, logout, the role home redirect, health, metrics and the
//! portal's static files (style sheet, script).
//!
//! The login form carries a token from its pre-session cookie ([`auth::LOGIN_COOKIE`]);
//! an unknown name, a wrong password and a locked account with a wrong password get
//! one answer ([`REFUSED`]); too many failures of one name from one address are
//! answered with a wait (429) without checking the password. Only a correct password
//! is told that the account is locked.

use crate::AppState;
use crate::auth::{self, Identity};
pub use crate::client::ClientAddr;
use crate::error::{WebError, WebResult};
use crate::view::{Block, Field, Form, Page};
use axum::Extension;
use axum::extract::{Form as FormData, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use collabo_app::accounts::{LoginOutcome, SecondFactorOutcome, SessionStage};
use collabo_domain::authz::Role;
use serde::Deserialize;

fn login_form(page: &mut Page, username: &str, token: &str) {
    page.push(Block::Form(Form {
        action: "/login".into(),
        multipart: false,
        csrf: token.into(),
        fields: vec![
            Field::new("ユーザー名", "username", "text").value(username),
            Field::new("パスワード", "password", "password"),
        ],
        submit: "ログイン".into(),
        get: false,
    }));
    page.push(Block::Para(
        "パスワードを続けて誤ると、次に試せるまでの待ち時間が長くなります。確認コード（二要素認証）を5回続けて誤るとアカウントが15分間ロックされます。パスワードを忘れた場合はシステム管理者に連絡してください。".into(),
    ));
}

/// The login form's token: the one of the browser's pre-session cookie, or a new one.
fn login_token(headers: &HeaderMap) -> (String, bool) {
    match auth::cookie_value(headers, auth::LOGIN_COOKIE) {
        Some(t) if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) => (t, false),
        _ => (collabo_app::accounts::random_hex(32), true),
    }
}

/// The login page with a message, keeping the form's token.
fn login_answer(
    state: &AppState,
    status: StatusCode,
    message: &str,
    username: &str,
    token: &str,
) -> WebResult<Response> {
    let mut page = Page::bare("ログイン");
    page.notice("error", vec![message.into()]);
    login_form(&mut page, username, token);
    Ok((
        status,
        [(header::SET_COOKIE, auth::login_cookie(state, token))],
        page.html()?,
    )
        .into_response())
}

/// GET /login: the form, with a fresh pre-session token (cookie and hidden field).
pub async fn login_page(State(state): State<AppState>) -> WebResult<Response> {
    let token = collabo_app::accounts::random_hex(32);
    let mut page = Page::bare("ログイン");
    login_form(&mut page, "", &token);
    Ok((
        [(header::SET_COOKIE, auth::login_cookie(&state, &token))],
        page.html()?,
    )
        .into_response())
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    username: String,
    password: String,
}

/// The same answer for an unknown name, a wrong password, and a locked account with a
/// wrong password.
const REFUSED: &str = "ユーザー名またはパスワードが正しくありません。";

/// POST /login: the form's token must be the pre-session cookie's (the gate has
/// already refused cross-site posts by their headers).
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(origin): ClientAddr,
    headers: HeaderMap,
    FormData(form): FormData<LoginForm>,
) -> WebResult<Response> {
    let (token, fresh) = login_token(&headers);
    if fresh || !auth::same_secret(&token, &form.csrf) {
        return Err(WebError::Csrf);
    }
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
        LoginOutcome::Refused => {
            login_answer(&state, StatusCode::UNAUTHORIZED, REFUSED, username, &token)
        }
        LoginOutcome::Throttled { retry_after } => {
            let mut resp = login_answer(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                &wait_message(retry_after),
                username,
                &token,
            )?;
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            Ok(resp)
        }
        LoginOutcome::Locked => login_answer(
            &state,
            StatusCode::UNAUTHORIZED,
            "確認コードの誤りが続いたため、このアカウントは一時的にロックされています。15分ほど待ってから再度お試しください。心当たりがない場合はシステム管理者に連絡してください。",
            username,
            &token,
        ),
    }
}

fn wait_message(seconds: i64) -> String {
    let wait = if seconds >= 60 {
        format!("約{}分", (seconds + 59) / 60)
    } else {
        format!("{seconds}秒")
    };
    format!(
        "試行が続いたため、この端末からのログインを一時的に受け付けていません。{wait}後に再度お試しください。"
    )
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

/// Where a completed second factor leads: home, in the new session.
fn logged_in(state: &AppState, id: &str) -> Response {
    let cookie = auth::session_cookie(state, id, state.config.session_minutes * 60);
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

/// POST /totp: a new session id on success.
pub async fn totp_check(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    FormData(form): FormData<CodeForm>,
) -> WebResult<Response> {
    let session = who.session.clone().ok_or(WebError::LoginRequired)?;
    let outcome = state
        .app
        .second_factor(
            &who.actor(),
            &session,
            &form.code,
            state.wall(),
            state.login_policy(),
        )
        .await?;
    let refused = |status: StatusCode, message: String| -> WebResult<Response> {
        let mut page = Page::bare("二要素認証");
        page.notice("error", vec![message]);
        code_form(&mut page, "/totp", who.csrf());
        Ok((status, page.html()?).into_response())
    };
    match outcome {
        SecondFactorOutcome::Accepted { id } => Ok(logged_in(&state, &id)),
        SecondFactorOutcome::Locked => {
            let mut page = Page::bare("ログイン");
            page.notice("error", vec!["確認コードの誤りが続いたため、このアカウントは一時的にロックされました。15分ほど待ってから、もう一度ログインしてください。".into()]);
            page.push(Block::Links(vec![("/login".into(), "ログイン画面へ".into())]));
            let cookie = auth::session_cookie(&state, "", 0);
            Ok((
                StatusCode::UNAUTHORIZED,
                [(header::SET_COOKIE, cookie)],
                page.html()?,
            )
                .into_response())
        }
        SecondFactorOutcome::Throttled { retry_after } => {
            let mut resp = refused(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "確認コードの誤りが続いたため、{}秒後に再度入力してください。",
                    retry_after
                ),
            )?;
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            Ok(resp)
        }
        SecondFactorOutcome::Refused => refused(
            StatusCode::UNAUTHORIZED,
            "確認コードが正しくないか、すでに使用されたコードです。時刻のずれがないか確認し、新しいコードを入力してください。".into(),
        ),
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
    match qr_svg(&uri) {
        Some(svg) => page.push(Block::Image(
            format!("data:image/svg+xml,{}", crate::view::query_value(&svg)),
            "認証アプリで読み取るQRコード".into(),
        )),
        None => page.push(Block::Para(
            "QRコードを作れませんでした。下のキーを手で登録してください。".into(),
        )),
    };
    page.push(Block::Facts(vec![
        ("シークレットキー".into(), secret.clone()),
        ("方式".into(), "TOTP（SHA-1・6桁・30秒）".into()),
    ]));
    page.push(Block::Heading("otpauth URI".into()));
    page.push(Block::Pre(uri));
    code_form(&mut page, "/totp/setup", who.csrf());
    Ok(page)
}

/// The otpauth URI as a QR code, an SVG drawn on the server (no script, no CDN; the
/// page shows it as a `data:` image, which the content security policy allows).
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build(),
    )
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
    match state
        .app
        .enrol_totp(
            &who.actor(),
            &session,
            &form.code,
            state.wall(),
            state.login_policy(),
        )
        .await?
    {
        Some(id) => Ok(logged_in(&state, &id)),
        None => Ok((
            StatusCode::UNAUTHORIZED,
            setup_page(&state, &who, true).await?.html()?,
        )
            .into_response()),
    }
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

/// GET /metrics on the main address: only with `Authorization: Bearer
/// <metrics_token>`; without that setting, or with another token, it is not there
/// (404). The separate `metrics_listen` address serves [`metrics_open`].
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match (&state.config.metrics_token, given) {
        (Some(expected), Some(given))
            if !expected.is_empty() && auth::same_secret(expected, given.trim()) =>
        {
            metrics_open(State(state)).await
        }
        _ => WebError::NotFound.into_response(),
    }
}

/// GET /metrics on the metrics address.
pub async fn metrics_open(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// GET /static/collabo.css.
pub async fn style_sheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/collabo.css"),
    )
        .into_response()
}

/// GET /static/collabo.js.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/collabo.js"),
    )
        .into_response()
}
