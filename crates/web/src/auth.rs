//! The HTTP side of authentication: who is calling (established by [`crate::gate`]),
//! the session cookie, and form tokens. Passwords, the second factor, sessions and
//! tokens are checked and audited by `collabo_app::accounts`.

use crate::AppState;
use collabo_app::Actor;
use collabo_app::accounts::Session;
use collabo_domain::authz::Role;

pub use collabo_app::accounts::{check_totp, totp_code, totp_uri};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "collabo_session";

/// The login form's pre-session cookie: a random token, also in the form's hidden
/// `_csrf` field. A cross-site page can neither read it nor (`SameSite=Strict`) have
/// it sent, so it cannot post the login form into someone's browser.
pub const LOGIN_COOKIE: &str = "collabo_login";

/// Who is calling, as the gate established it.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Login name.
    pub username: String,
    /// Name shown.
    pub display_name: String,
    /// Role (with the employer scope of an employer contact).
    pub role: Role,
    /// The session (pages), or `None` for an API token.
    pub session: Option<Session>,
    /// Client address, for the audit log.
    pub origin: String,
    /// When the request arrived (the portal's clock).
    pub now: jiff::Timestamp,
}

impl Identity {
    /// The actor for operations of `collabo-app`.
    pub fn actor(&self) -> Actor {
        Actor::new(
            self.username.clone(),
            self.role.clone(),
            self.origin.clone(),
            self.now,
        )
    }
    /// The form token of this session (empty for API callers).
    pub fn csrf(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.csrf.as_str())
    }
}

/// The `Set-Cookie` value for a session id.
pub fn session_cookie(state: &AppState, id: &str, max_age_seconds: i64) -> String {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}"
    )
}

/// The `Set-Cookie` value of the login form's token (sent only to `/login`, for an
/// hour).
pub fn login_cookie(state: &AppState, token: &str) -> String {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}")
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The session id from a `Cookie` header, if any.
pub fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_header_is_parsed() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "a=1; collabo_session=abc".parse().unwrap(),
        );
        assert_eq!(cookie_value(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie_value(&h, "b"), None);
    }
}
