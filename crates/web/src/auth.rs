//! Authentication: argon2id password hashes, TOTP (RFC 6238, SHA-1, 6 digits, 30 s),
//! server-side sessions behind an HTTP-only SameSite=Strict cookie, per-session CSRF
//! tokens, lockout after repeated failures, and API bearer tokens.
//!
//! Only hashes of session ids and API tokens are stored. What a user may do is not
//! decided here but in [`crate::gate`] from the permission table.

use crate::AppState;
use crate::error::WebError;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use collabo_domain::authz::Role;
use collabo_domain::ids::EmployerCode;
use collabo_store::portal::{SessionRow, UserRow};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "collabo_session";

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
    pub session: Option<SessionRow>,
    /// Client address, for the audit log.
    pub origin: String,
}

impl Identity {
    /// The actor for store calls and the audit log.
    pub fn actor(&self) -> collabo_store::imports::Actor {
        collabo_store::imports::Actor {
            name: self.username.clone(),
            role: self.role.code().to_owned(),
            origin: self.origin.clone(),
        }
    }
    /// The form token of this session (empty for API callers).
    pub fn csrf(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.csrf.as_str())
    }
}

/// The role of a stored user; an unknown code or a bad employer code is an error.
pub fn role_of(user: &UserRow) -> Result<Role, WebError> {
    match user.role.as_str() {
        "admin" => Ok(Role::Admin),
        "staff" => Ok(Role::Staff),
        "auditor" => Ok(Role::Auditor),
        "employer" => user
            .employers
            .iter()
            .map(|c| EmployerCode::parse(c))
            .collect::<Result<Vec<_>, _>>()
            .map(Role::Employer)
            .map_err(|e| WebError::Internal(format!("user {}: {e}", user.username))),
        other => Err(WebError::Internal(format!(
            "user {}: unknown role {other}",
            user.username
        ))),
    }
}

/// Admin and staff must use a second factor; employers may.
pub fn totp_required(role: &Role) -> bool {
    matches!(role, Role::Admin | Role::Staff)
}

/// Random bytes as hex (session ids, CSRF and API tokens).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// SHA-256 hex of a secret, for storage.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Hashes a password with argon2id (default parameters) off the async runtime.
pub async fn hash_password(password: String) -> Result<String, WebError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| WebError::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| WebError::Internal(format!("join: {e}")))?
}

/// Verifies a password against a stored hash off the async runtime.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// A fresh 160-bit TOTP secret in base32.
pub fn new_totp_secret() -> String {
    let mut buf = [0u8; 20];
    rand::rng().fill_bytes(&mut buf);
    totp_rs::Secret::from(buf).to_base32()
}

fn totp(secret_base32: &str, account: &str) -> Result<totp_rs::Totp, WebError> {
    let secret = totp_rs::Secret::try_from_base32(secret_base32)
        .map_err(|e| WebError::Internal(format!("totp secret: {e:?}")))?;
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some("Collabo"))
        .build()
        .map_err(|e| WebError::Internal(format!("totp: {e:?}")))
}

/// The `otpauth://` URI to enter into an authenticator app.
pub fn totp_uri(secret_base32: &str, account: &str) -> Result<String, WebError> {
    totp(secret_base32, account)?
        .to_url()
        .map_err(|e| WebError::Internal(format!("totp url: {e:?}")))
}

/// The code valid at `now` (tests and the demo's instructions).
pub fn totp_code(secret_base32: &str, now: jiff::Timestamp) -> Result<String, WebError> {
    Ok(totp(secret_base32, "x")?
        .generate(now.as_second().max(0) as u64)
        .to_string())
}

/// True when `code` is valid at `now` (one step of clock skew allowed either way).
pub fn check_totp(secret_base32: &str, code: &str, now: jiff::Timestamp) -> bool {
    let code: String = code.chars().filter(|c| c.is_ascii_digit()).collect();
    if code.len() != 6 {
        return false;
    }
    totp(secret_base32, "x")
        .ok()
        .and_then(|t| t.check(&code, now.as_second().max(0) as u64))
        .is_some()
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

/// What a password login led to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in, or waiting for the second factor; carries the new session id.
    Session {
        /// Cookie value.
        id: String,
        /// `full`, `totp` (enter a code) or `enrol` (set up TOTP first).
        stage: String,
    },
    /// Wrong name or password (the same answer for both).
    Refused,
    /// Too many failures; locked.
    Locked,
}

/// Checks a password, counts failures, locks after too many, audits both outcomes and
/// opens a session on success.
pub async fn password_login(
    state: &AppState,
    username: &str,
    password: &str,
    origin: &str,
) -> Result<LoginOutcome, WebError> {
    let now = state.now();
    let store = &state.store;
    let user = store.user(username).await?;
    let audit = |action: &str, detail: String, role: String| collabo_store::AuditEntry {
        actor: username.to_owned(),
        role,
        action: action.to_owned(),
        member_key: None,
        employer_code: None,
        detail,
        origin: origin.to_owned(),
    };
    let Some(user) = user else {
        // Spend the same time as a real check so names cannot be probed by timing.
        let _ = hash_password(password.to_owned()).await;
        state
            .audit(&audit(
                "login.failure",
                "unknown user".into(),
                String::new(),
            ))
            .await?;
        return Ok(LoginOutcome::Refused);
    };
    if let Some(until) = user
        .locked_until
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    {
        if until > now {
            state
                .audit(&audit(
                    "login.locked",
                    format!("locked until {until}"),
                    user.role.clone(),
                ))
                .await?;
            return Ok(LoginOutcome::Locked);
        }
        store.reset_login_failures(username).await?;
    }
    if !verify_password(password.to_owned(), user.password_hash.clone()).await {
        let lock_until = now
            .checked_add(jiff::SignedDuration::from_mins(
                state.config.lockout_minutes,
            ))
            .unwrap_or(now);
        let failures = store
            .record_login_failure(username, state.config.lockout_failures, lock_until)
            .await?;
        state
            .audit(&audit(
                "login.failure",
                format!("wrong password ({failures} in a row)"),
                user.role.clone(),
            ))
            .await?;
        return Ok(if failures >= state.config.lockout_failures {
            LoginOutcome::Locked
        } else {
            LoginOutcome::Refused
        });
    }
    store.reset_login_failures(username).await?;
    let role = role_of(&user)?;
    let (stage, pending) = if user.totp_enrolled {
        ("totp", None)
    } else if totp_required(&role) {
        (
            "enrol",
            Some(user.totp_secret.clone().unwrap_or_else(new_totp_secret)),
        )
    } else {
        ("full", None)
    };
    let id = random_hex(32);
    let expires = now
        .checked_add(jiff::SignedDuration::from_mins(
            state.config.session_minutes,
        ))
        .unwrap_or(now);
    store
        .create_session(
            &SessionRow {
                id_hash: sha256_hex(&id),
                username: username.to_owned(),
                csrf: random_hex(32),
                stage: stage.to_owned(),
                pending_secret: pending,
                expires_at: expires.to_string(),
            },
            origin,
            now,
        )
        .await?;
    // Without a second factor the password completes the login.
    let action = if stage == "full" {
        "login.success"
    } else {
        "login.password"
    };
    state
        .audit(&audit(
            action,
            format!("password ok, next: {stage}"),
            user.role.clone(),
        ))
        .await?;
    Ok(LoginOutcome::Session {
        id,
        stage: stage.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc6238_sha1_test_vector() {
        // RFC 6238 Appendix B: secret "12345678901234567890", T = 59 s → 94287082 (8
        // digits); the 6-digit code is the last six digits.
        let secret = totp_rs::Secret::from(b"12345678901234567890".to_vec()).to_base32();
        let at = jiff::Timestamp::from_second(59).unwrap();
        assert_eq!(totp_code(&secret, at).unwrap(), "287082");
        assert!(check_totp(&secret, "287082", at));
        assert!(!check_totp(&secret, "287083", at));
        let much_later = jiff::Timestamp::from_second(59 + 300).unwrap();
        assert!(!check_totp(&secret, "287082", much_later));
    }

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
