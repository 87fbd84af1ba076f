//! One error type for every handler and its mapping to HTTP, in one place.
//!
//! The message shown is separate from the message logged: internal errors show a
//! generic Japanese sentence with a code and log the cause; a user-facing message never
//! contains another person's or another employer's data. A foreign id and a missing id
//! give the same 404, so an employer cannot probe for others' data.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// Not there, or not yours (deliberately the same).
    #[error("not found")]
    NotFound,
    /// Logged in but not allowed.
    #[error("forbidden")]
    Forbidden,
    /// Not logged in (pages redirect to the login page).
    #[error("login required")]
    LoginRequired,
    /// The form's CSRF token is missing or wrong.
    #[error("bad CSRF token")]
    Csrf,
    /// Bad input, with a message for the user (Japanese, no one else's data).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A limit was reached (an employer's uploads of the day); the message says which.
    #[error("too many: {0}")]
    TooMany(String),
    /// The feature depends on a service that is not installed yet.
    #[error("not available: {0}")]
    NotAvailable(String),
    /// Something broke; the cause is logged, not shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl WebError {
    /// HTTP status and stable code of each variant.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            WebError::NotFound => (StatusCode::NOT_FOUND, "WEB-404"),
            WebError::Forbidden => (StatusCode::FORBIDDEN, "WEB-403"),
            WebError::LoginRequired => (StatusCode::UNAUTHORIZED, "WEB-401"),
            WebError::Csrf => (StatusCode::FORBIDDEN, "WEB-CSRF"),
            WebError::BadRequest(_) => (StatusCode::BAD_REQUEST, "WEB-400"),
            WebError::TooMany(_) => (StatusCode::TOO_MANY_REQUESTS, "WEB-429"),
            WebError::NotAvailable(_) => (StatusCode::NOT_IMPLEMENTED, "WEB-501"),
            WebError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "WEB-500"),
        }
    }

    /// The Japanese message shown to the user.
    pub fn user_message(&self) -> String {
        match self {
            WebError::NotFound => "ページまたはデータが見つかりません。".into(),
            WebError::Forbidden => "この操作を行う権限がありません。".into(),
            WebError::LoginRequired => "ログインしてください。".into(),
            WebError::Csrf => "フォームの有効期限が切れました。ページを開き直してから、もう一度送信してください。".into(),
            WebError::BadRequest(m) | WebError::TooMany(m) => m.clone(),
            WebError::NotAvailable(m) => m.clone(),
            WebError::Internal(_) => "システムエラーが発生しました。時間をおいて再度お試しください。解決しない場合は管理者に連絡してください。".into(),
        }
    }

    /// As a JSON body (API).
    pub fn into_json_response(self) -> Response {
        let (status, code) = self.status_and_code();
        self.log();
        let body = serde_json::json!({ "error": code, "message": self.user_message() });
        (status, axum::Json(body)).into_response()
    }

    fn log(&self) {
        if let WebError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        self.log();
        let page = crate::view::error_page(status.as_u16(), code, &self.user_message());
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
            .into_response()
    }
}

impl From<collabo_app::AppError> for WebError {
    fn from(e: collabo_app::AppError) -> Self {
        use collabo_app::AppError;
        match e {
            AppError::Denied(_) => WebError::Forbidden,
            AppError::NotFound(_) => WebError::NotFound,
            AppError::Invalid(m) | AppError::Conflict(m) => WebError::BadRequest(m),
            AppError::Limit(m) => WebError::TooMany(m),
            AppError::Import(e) => WebError::BadRequest(e.to_string()),
            AppError::Letters(e) => WebError::BadRequest(format!(
                "通知テンプレートにエラーがあるため、処理しませんでした: {e}"
            )),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(format!("template: {e}"))
    }
}

/// Result of handlers.
pub type WebResult<T> = Result<T, WebError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_one_status() {
        let cases = [
            (WebError::NotFound, 404),
            (WebError::Forbidden, 403),
            (WebError::LoginRequired, 401),
            (WebError::Csrf, 403),
            (WebError::BadRequest("x".into()), 400),
            (WebError::TooMany("x".into()), 429),
            (WebError::NotAvailable("x".into()), 501),
            (WebError::Internal("secret cause".into()), 500),
        ];
        for (e, status) in cases {
            assert_eq!(e.status_and_code().0.as_u16(), status, "{e:?}");
        }
    }

    #[test]
    fn internal_causes_are_not_shown() {
        let e = WebError::Internal("SELECT * FROM members".into());
        assert!(!e.user_message().contains("SELECT"));
    }
}
