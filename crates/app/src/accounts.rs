//! Portal accounts: users and their roles, password logins (argon2id), the second
//! factor (TOTP, RFC 6238), sessions and API tokens. The portal keeps only the HTTP
//! side (cookies, forms); every decision and every audit record is here.
//!
//! Only hashes of session ids and API tokens are stored.

use crate::{App, AppError, Result, write};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use collabo_domain::actor::Actor;
use collabo_domain::audit::{AuditAction, AuditEntry};
use collabo_domain::authz::{Action, Role, Scope};
use collabo_domain::ids::EmployerCode;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use collabo_store::portal::{PortalUser, Session, SessionStage};

/// How logins are limited (portal settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failures before the account is locked.
    pub lockout_failures: i64,
    /// Minutes an account stays locked.
    pub lockout_minutes: i64,
    /// Session lifetime in minutes.
    pub session_minutes: i64,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            lockout_failures: 5,
            lockout_minutes: 15,
            session_minutes: 480,
        }
    }
}

/// What a password login led to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in, or waiting for the second factor; carries the new session id.
    Session {
        /// Cookie value.
        id: String,
        /// Where the session stands.
        stage: SessionStage,
    },
    /// Wrong name or password (the same answer for both).
    Refused,
    /// Too many failures; locked.
    Locked,
}

/// What a second-factor attempt led to.
#[derive(Debug, PartialEq, Eq)]
pub enum SecondFactorOutcome {
    /// Logged in.
    Accepted,
    /// Wrong code; try again.
    Refused,
    /// Too many failures: the account is locked and the session ended.
    Locked,
}

/// A new or changed user, as an admin enters it.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Name shown.
    pub display_name: String,
    /// Initial password (12 characters or more).
    pub password: String,
    /// Role and employers.
    pub role: Role,
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
pub fn secret_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Hashes a password with argon2id (default parameters) off the async runtime.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Invalid(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| AppError::Invalid(format!("join: {e}")))?
}

async fn verify_password(password: String, hash: String) -> bool {
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

fn totp(secret_base32: &str, account: &str) -> Result<totp_rs::Totp> {
    let secret = totp_rs::Secret::try_from_base32(secret_base32)
        .map_err(|e| AppError::Invalid(format!("totp secret: {e:?}")))?;
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some("Collabo"))
        .build()
        .map_err(|e| AppError::Invalid(format!("totp: {e:?}")))
}

/// The `otpauth://` URI to enter into an authenticator app.
pub fn totp_uri(secret_base32: &str, account: &str) -> Result<String> {
    totp(secret_base32, account)?
        .to_url()
        .map_err(|e| AppError::Invalid(format!("totp url: {e:?}")))
}

/// The code valid at `now` (tests and the demo's instructions).
pub fn totp_code(secret_base32: &str, now: jiff::Timestamp) -> Result<String> {
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

fn login_entry(
    username: &str,
    role: &str,
    origin: &str,
    at: jiff::Timestamp,
    action: AuditAction,
    detail: impl Into<String>,
) -> AuditEntry {
    AuditEntry {
        actor: username.to_owned(),
        role: role.to_owned(),
        origin: origin.to_owned(),
        at,
        action,
        subjects: Vec::new(),
        employer: None,
        detail: detail.into(),
    }
}

fn role_code(role: &Role) -> &'static str {
    role.code()
}

impl App {
    /// Checks a password, counts failures, locks after too many, audits both outcomes
    /// and opens a session on success.
    pub async fn password_login(
        &self,
        username: &str,
        password: &str,
        origin: &str,
        now: jiff::Timestamp,
        policy: LoginPolicy,
    ) -> Result<LoginOutcome> {
        let user = self.store().read().await?.user(username).await?;
        let Some(user) = user else {
            // Spend the same time as a real check so names cannot be probed by timing.
            let _ = hash_password(password.to_owned()).await;
            self.audit_alone(&login_entry(
                username,
                "",
                origin,
                now,
                AuditAction::LoginFailure,
                "unknown user",
            ))
            .await?;
            return Ok(LoginOutcome::Refused);
        };
        let role = role_code(&user.role);
        if let Some(until) = user.locked_until
            && until > now
        {
            self.audit_alone(&login_entry(
                username,
                role,
                origin,
                now,
                AuditAction::LoginLocked,
                format!("locked until {until}"),
            ))
            .await?;
            return Ok(LoginOutcome::Locked);
        }
        if !verify_password(password.to_owned(), user.password_hash.clone()).await {
            let lock_until = now
                .checked_add(jiff::SignedDuration::from_mins(policy.lockout_minutes))
                .unwrap_or(now);
            let mut tx = write(self).await?;
            let failures = tx
                .record_login_failure(username, policy.lockout_failures, lock_until)
                .await?;
            tx.audit(&login_entry(
                username,
                role,
                origin,
                now,
                AuditAction::LoginFailure,
                format!("wrong password ({failures} in a row)"),
            ))
            .await?;
            tx.commit().await?;
            return Ok(if failures >= policy.lockout_failures {
                LoginOutcome::Locked
            } else {
                LoginOutcome::Refused
            });
        }
        let (stage, pending) = if user.totp_enrolled {
            (SessionStage::SecondFactor, None)
        } else if totp_required(&user.role) {
            (
                SessionStage::Enrol,
                Some(user.totp_secret.clone().unwrap_or_else(new_totp_secret)),
            )
        } else {
            (SessionStage::Full, None)
        };
        let id = random_hex(32);
        let expires = now
            .checked_add(jiff::SignedDuration::from_mins(policy.session_minutes))
            .unwrap_or(now);
        let mut tx = write(self).await?;
        tx.reset_login_failures(username).await?;
        tx.create_session(
            &Session {
                id_hash: secret_hash(&id),
                username: username.to_owned(),
                csrf: random_hex(32),
                stage,
                pending_secret: pending,
                expires_at: expires,
            },
            origin,
            now,
        )
        .await?;
        // Without a second factor the password completes the login.
        let action = if stage == SessionStage::Full {
            AuditAction::LoginSuccess
        } else {
            AuditAction::LoginPassword
        };
        tx.audit(&login_entry(
            username,
            role,
            origin,
            now,
            action,
            format!("password ok, next: {}", stage.code()),
        ))
        .await?;
        tx.commit().await?;
        Ok(LoginOutcome::Session { id, stage })
    }

    /// The live session of a cookie value, with its user.
    pub async fn session(
        &self,
        cookie: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<(Session, PortalUser)>> {
        let mut r = self.store().read().await?;
        let Some(session) = r.session(&secret_hash(cookie), now).await? else {
            return Ok(None);
        };
        let user = r.user(&session.username).await?;
        Ok(user.map(|u| (session, u)))
    }

    /// The user of a live API token, with its role narrowed to the token's employer.
    pub async fn token_user(&self, token: &str) -> Result<Option<PortalUser>> {
        let mut r = self.store().read().await?;
        let Some(t) = r.api_token(&secret_hash(token.trim())).await? else {
            return Ok(None);
        };
        let Some(mut user) = r.user(&t.username).await? else {
            return Ok(None);
        };
        if let (Role::Employer(codes), Some(one)) = (&user.role, &t.employer) {
            // A token narrowed to one employer acts for that employer only.
            user.role = Role::Employer(codes.iter().filter(|c| *c == one).cloned().collect());
        }
        Ok(Some(user))
    }

    /// Checks a TOTP code for a session waiting for its second factor.
    pub async fn second_factor(
        &self,
        actor: &Actor,
        session: &Session,
        code: &str,
        policy: LoginPolicy,
    ) -> Result<SecondFactorOutcome> {
        let now = actor.now;
        let user = self
            .store()
            .read()
            .await?
            .user(&actor.user)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("user {}", actor.user)))?;
        let ok = user.totp_enrolled
            && user
                .totp_secret
                .as_deref()
                .is_some_and(|s| check_totp(s, code, now));
        let mut tx = write(self).await?;
        if ok {
            tx.update_session(&session.id_hash, SessionStage::Full, None)
                .await?;
            tx.audit(&AuditEntry::new(actor, AuditAction::LoginSuccess).detail("password + TOTP"))
                .await?;
            tx.commit().await?;
            return Ok(SecondFactorOutcome::Accepted);
        }
        let lock_until = now
            .checked_add(jiff::SignedDuration::from_mins(policy.lockout_minutes))
            .unwrap_or(now);
        let failures = tx
            .record_login_failure(&actor.user, policy.lockout_failures, lock_until)
            .await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::LoginFailure)
                .detail(format!("wrong TOTP code ({failures} in a row)")),
        )
        .await?;
        let locked = failures >= policy.lockout_failures;
        if locked {
            tx.delete_session(&session.id_hash).await?;
        }
        tx.commit().await?;
        Ok(if locked {
            SecondFactorOutcome::Locked
        } else {
            SecondFactorOutcome::Refused
        })
    }

    /// The TOTP secret offered to a session during enrolment (made and kept on the
    /// session the first time).
    pub async fn offered_totp_secret(&self, session: &Session) -> Result<String> {
        if let Some(s) = &session.pending_secret {
            return Ok(s.clone());
        }
        let secret = new_totp_secret();
        let mut tx = write(self).await?;
        tx.update_session(&session.id_hash, session.stage, Some(&secret))
            .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// Enrols the offered secret when `code` proves the user's app has it; completes the
    /// login. `false` when the code is wrong.
    pub async fn enrol_totp(&self, actor: &Actor, session: &Session, code: &str) -> Result<bool> {
        let Some(secret) = &session.pending_secret else {
            return Ok(false);
        };
        if !check_totp(secret, code, actor.now) {
            return Ok(false);
        }
        let mut tx = write(self).await?;
        tx.set_user_totp(&actor.user, Some(secret), true).await?;
        tx.update_session(&session.id_hash, SessionStage::Full, None)
            .await?;
        tx.audit(&AuditEntry::new(actor, AuditAction::TotpEnrolled).detail("TOTP enrolled"))
            .await?;
        tx.audit(&AuditEntry::new(actor, AuditAction::LoginSuccess).detail("password + new TOTP"))
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ends a session.
    pub async fn logout(&self, actor: &Actor, session: Option<&Session>) -> Result<()> {
        let mut tx = write(self).await?;
        if let Some(s) = session {
            tx.delete_session(&s.id_hash).await?;
        }
        tx.audit(&AuditEntry::new(actor, AuditAction::Logout))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user by name (the actor's own, or any for an admin).
    pub async fn user(&self, actor: &Actor, username: &str) -> Result<Option<PortalUser>> {
        if actor.user != username {
            actor.may(Action::ManageUsers, Scope::Society)?;
        }
        Ok(self.store().read().await?.user(username).await?)
    }

    /// Every user.
    pub async fn users(&self, actor: &Actor) -> Result<Vec<PortalUser>> {
        actor.may(Action::ManageUsers, Scope::Society)?;
        Ok(self.store().read().await?.users().await?)
    }

    /// Creates or replaces a user; ends their sessions (a role change takes effect at
    /// once).
    pub async fn put_user(&self, actor: &Actor, user: NewUser) -> Result<()> {
        self.put_user_with_totp(actor, user, None).await
    }

    /// [`App::put_user`] with a TOTP secret already enrolled (the operator hands it to
    /// the user, e.g. the demo accounts), in the same transaction and audit record.
    pub async fn put_user_with_totp(
        &self,
        actor: &Actor,
        user: NewUser,
        totp_secret: Option<&str>,
    ) -> Result<()> {
        actor.may(Action::ManageUsers, Scope::Society)?;
        let username = user.username.trim().to_owned();
        if username.is_empty() || username.contains([':', '/', ' ']) {
            return Err(AppError::Invalid(
                "ユーザー名は空白・コロン・スラッシュを含まない文字列にしてください。".into(),
            ));
        }
        if user.password.chars().count() < 12 {
            return Err(AppError::Invalid(
                "パスワードは12文字以上にしてください。".into(),
            ));
        }
        if matches!(&user.role, Role::Employer(codes) if codes.is_empty()) {
            return Err(AppError::Invalid(
                "事業所担当者には事業所記号を指定してください。".into(),
            ));
        }
        let stored = PortalUser {
            display_name: if user.display_name.trim().is_empty() {
                username.clone()
            } else {
                user.display_name.trim().to_owned()
            },
            username: username.clone(),
            password_hash: hash_password(user.password).await?,
            role: user.role,
            totp_secret: totp_secret.map(str::to_owned),
            totp_enrolled: totp_secret.is_some(),
            failed_logins: 0,
            locked_until: None,
        };
        let mut tx = write(self).await?;
        tx.put_user(&stored, actor.now).await?;
        tx.delete_sessions_of(&username, actor.now).await?;
        let employers = match &stored.role {
            Role::Employer(codes) => codes
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(","),
            _ => String::new(),
        };
        tx.audit(
            &AuditEntry::new(actor, AuditAction::UserPut).detail(format!(
                "{username} role {} employers {employers}{}",
                stored.role.code(),
                if totp_secret.is_some() {
                    ", TOTP set by the operator"
                } else {
                    ""
                }
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Clears a user's second factor and ends their sessions.
    pub async fn reset_totp(&self, actor: &Actor, username: &str) -> Result<()> {
        actor.may(Action::ManageUsers, Scope::Society)?;
        let mut tx = write(self).await?;
        tx.set_user_totp(username, None, false).await?;
        tx.delete_sessions_of(username, actor.now).await?;
        tx.audit(&AuditEntry::new(actor, AuditAction::UserTotpReset).detail(username.to_owned()))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Issues an API token for a user (shown once); an employer user's token is narrowed
    /// to its first employer.
    pub async fn issue_token(&self, actor: &Actor, username: &str) -> Result<String> {
        actor.may(Action::ManageUsers, Scope::Society)?;
        let mut tx = write(self).await?;
        let user = tx
            .user(username)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("user {username}")))?;
        let employer: Option<EmployerCode> = match &user.role {
            Role::Employer(codes) => codes.first().cloned(),
            _ => None,
        };
        let token = format!("clb_{}", random_hex(24));
        tx.create_api_token(
            &secret_hash(&token),
            username,
            employer.as_ref(),
            "portal",
            actor.now,
        )
        .await?;
        let mut entry = AuditEntry::new(actor, AuditAction::TokenCreate)
            .detail(format!("token for {username}"));
        if let Some(e) = &employer {
            entry = entry.employer(e);
        }
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(token)
    }
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
}
