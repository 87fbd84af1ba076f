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

use collabo_store::portal::NewApiToken;
pub use collabo_store::portal::{ApiToken, PortalUser, Session, SessionStage, Throttle};

/// How logins are limited (portal settings). See [`throttle_delay`] for the delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Wrong second-factor codes before the account is locked. Wrong passwords never
    /// lock an account (anyone could lock a colleague out with them); they are
    /// throttled instead.
    pub lockout_failures: i64,
    /// Minutes an account stays locked.
    pub lockout_minutes: i64,
    /// Session lifetime in minutes.
    pub session_minutes: i64,
    /// Failures per throttle key answered without delay.
    pub throttle_free_failures: i64,
    /// The longest delay between two attempts of one key, in seconds.
    pub throttle_max_seconds: i64,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            lockout_failures: 5,
            lockout_minutes: 15,
            session_minutes: 480,
            throttle_free_failures: 3,
            throttle_max_seconds: 15 * 60,
        }
    }
}

/// A throttle key's failures are forgotten after this long without a new one.
pub const THROTTLE_MEMORY_HOURS: i64 = 24;

/// The longest user name considered (longer ones cannot exist: the key is clipped).
const MAX_USERNAME_CHARS: usize = 128;

/// TOTP time step in seconds (RFC 6238 `X`).
const TOTP_STEP_SECONDS: i64 = 30;

/// The delay after the `failures`-th failure of one throttle key: none for the first
/// `throttle_free_failures`, then 1 s, 2 s, 4 s … doubling up to
/// `throttle_max_seconds`. A typing mistake or three costs nothing; an attacker on one
/// account from one address gets about one guess per 15 minutes after 13 failures,
/// while the same account from another address (the colleague at their own desk) is
/// not slowed at all.
pub fn throttle_delay(failures: i64, policy: &LoginPolicy) -> i64 {
    let beyond = failures - policy.throttle_free_failures;
    if beyond <= 0 {
        return 0;
    }
    let doubled = 1i64 << (beyond - 1).clamp(0, 30);
    doubled.min(policy.throttle_max_seconds.max(1))
}

/// The throttle state after one more failure at `now`.
pub fn next_throttle(
    previous: Option<Throttle>,
    now: jiff::Timestamp,
    policy: &LoginPolicy,
) -> Throttle {
    let failures = match previous {
        Some(t) if !forgotten(&t, now) => t.failures + 1,
        _ => 1,
    };
    let delay = throttle_delay(failures, policy);
    Throttle {
        failures,
        last_failure_at: now,
        blocked_until: now
            .checked_add(jiff::SignedDuration::from_secs(delay))
            .unwrap_or(now),
    }
}

fn forgotten(t: &Throttle, now: jiff::Timestamp) -> bool {
    t.last_failure_at
        .checked_add(jiff::SignedDuration::from_hours(THROTTLE_MEMORY_HOURS))
        .is_ok_and(|until| until < now)
}

/// Seconds until a key may be tried again (0: now).
fn wait_seconds(t: &Throttle, now: jiff::Timestamp) -> i64 {
    if forgotten(t, now) || t.blocked_until <= now {
        return 0;
    }
    let left = t.blocked_until.duration_since(now);
    // Round up: "wait 0 s" would be a lie.
    left.as_secs() + i64::from(left.subsec_nanos() > 0)
}

fn clip(text: &str) -> String {
    text.chars().take(MAX_USERNAME_CHARS).collect()
}

/// The throttle key of password attempts on one account from one client address.
fn password_key(username: &str, address: &str) -> String {
    format!("password:{}@{address}", clip(username))
}

/// The throttle keys of second-factor attempts: the account, and the client address.
fn second_factor_keys(username: &str, address: &str) -> [String; 2] {
    [
        format!("totp:{}", clip(username)),
        format!("totp@{address}"),
    ]
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
    /// Unknown user or wrong password (the same answer for both, and for a locked
    /// account with a wrong password).
    Refused,
    /// Too many failures for this name from this address: not checked at all. The same
    /// for known and unknown names.
    Throttled {
        /// Seconds before the next attempt is considered.
        retry_after: i64,
    },
    /// The password was right but the account is locked (after wrong second-factor
    /// codes); told only to someone who knows the password.
    Locked,
}

/// What a second-factor attempt led to.
#[derive(Debug, PartialEq, Eq)]
pub enum SecondFactorOutcome {
    /// Logged in, in a new session (the old id is gone): the new cookie value.
    Accepted {
        /// Cookie value of the new session.
        id: String,
    },
    /// Wrong or already used code; try again.
    Refused,
    /// Too many failures for this account or from this address: not checked.
    Throttled {
        /// Seconds before the next attempt is considered.
        retry_after: i64,
    },
    /// The account is locked: every session of it was ended.
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

/// The password hash of a disabled user: not a PHC string, so no password verifies
/// against it (`verify_password` refuses it like a wrong password).
pub const DISABLED_PASSWORD_HASH: &str = "!disabled";

/// Whether a user was disabled ([`App::disable_user`]).
pub fn is_disabled(user: &PortalUser) -> bool {
    user.password_hash == DISABLED_PASSWORD_HASH
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

/// The RFC 6238 time step of an instant.
pub fn totp_step(at: jiff::Timestamp) -> i64 {
    at.as_second().max(0) / TOTP_STEP_SECONDS
}

/// The time step `code` belongs to at wall-clock time `wall`: the current step or one
/// step of clock skew either way (the latest one when several match). `None` when the
/// code is wrong. Whether the step may still be used is the caller's question.
pub fn totp_code_step(secret_base32: &str, code: &str, wall: jiff::Timestamp) -> Option<i64> {
    let code: String = code.chars().filter(|c| c.is_ascii_digit()).collect();
    if code.len() != 6 {
        return None;
    }
    let totp = totp(secret_base32, "x").ok()?;
    let now = totp_step(wall);
    [now + 1, now, now - 1].into_iter().find(|step| {
        let expected = totp.generate((step.max(&0) * TOTP_STEP_SECONDS) as u64);
        constant_time_eq(expected.to_string().as_bytes(), code.as_bytes())
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// True when `code` is valid at `now` (one step of clock skew allowed either way),
/// whether or not it was used before.
pub fn check_totp(secret_base32: &str, code: &str, now: jiff::Timestamp) -> bool {
    totp_code_step(secret_base32, code, now).is_some()
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
        actor: clip(username),
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

/// A role as an audit detail writes it: `事業所担当者（E1,E2）`, `保健事業担当` …
fn role_text(role: &Role) -> String {
    match role {
        Role::Employer(codes) => format!(
            "{}（{}）",
            role.label(),
            codes
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.label().to_owned(),
    }
}

/// What a correct password leads to, as the audit detail says it.
fn stage_text(stage: SessionStage) -> &'static str {
    match stage {
        SessionStage::SecondFactor => "パスワード照合済み、次は二要素認証",
        SessionStage::Enrol => "パスワード照合済み、次は二要素認証の設定",
        SessionStage::Full => "パスワード照合済み、ログイン完了（二要素認証の対象外）",
    }
}

/// The same role with the same employers (in any order).
fn same_role(a: &Role, b: &Role) -> bool {
    match (a, b) {
        (Role::Employer(x), Role::Employer(y)) => {
            let mut x: Vec<&str> = x.iter().map(|c| c.as_str()).collect();
            let mut y: Vec<&str> = y.iter().map(|c| c.as_str()).collect();
            x.sort_unstable();
            y.sort_unstable();
            x.dedup();
            y.dedup();
            x == y
        }
        (a, b) => a.code() == b.code(),
    }
}

/// Stores a new session and returns its id (the cookie value).
async fn open_session(
    tx: &mut collabo_store::Tx,
    username: &str,
    stage: SessionStage,
    pending_secret: Option<String>,
    origin: &str,
    now: jiff::Timestamp,
    policy: &LoginPolicy,
) -> Result<String> {
    let id = random_hex(32);
    let expires = now
        .checked_add(jiff::SignedDuration::from_mins(policy.session_minutes))
        .unwrap_or(now);
    tx.create_session(
        &Session {
            id_hash: secret_hash(&id),
            username: username.to_owned(),
            csrf: random_hex(32),
            stage,
            pending_secret,
            expires_at: expires,
        },
        origin,
        now,
    )
    .await?;
    Ok(id)
}

/// Replaces a session by a new one (new id, new form token) at `stage`: an id seen
/// before the second factor is worth nothing after it.
async fn rotate_session(
    tx: &mut collabo_store::Tx,
    old: &Session,
    stage: SessionStage,
    origin: &str,
    now: jiff::Timestamp,
    policy: &LoginPolicy,
) -> Result<String> {
    tx.delete_session(&old.id_hash).await?;
    open_session(tx, &old.username, stage, None, origin, now, policy).await
}

impl App {
    /// Seconds to wait before any of `keys` may be tried (0: none is blocked).
    async fn throttled(&self, keys: &[String], now: jiff::Timestamp) -> Result<i64> {
        let mut r = self.store().read().await?;
        let mut wait = 0;
        for key in keys {
            if let Some(t) = r.throttle(key).await? {
                wait = wait.max(wait_seconds(&t, now));
            }
        }
        Ok(wait)
    }

    /// Checks a password. A wrong one (or an unknown name) slows further attempts on
    /// that name from that address ([`throttle_delay`]) and never locks the account;
    /// unknown names, wrong passwords and locked accounts with a wrong password get
    /// the same answer, after the same argon2 work. Only a correct password learns
    /// that the account is locked. Audits every outcome and opens a session on
    /// success.
    pub async fn password_login(
        &self,
        username: &str,
        password: &str,
        origin: &str,
        now: jiff::Timestamp,
        policy: LoginPolicy,
    ) -> Result<LoginOutcome> {
        let key = password_key(username, origin);
        let wait = self.throttled(std::slice::from_ref(&key), now).await?;
        if wait > 0 {
            self.audit_alone(&login_entry(
                username,
                "",
                origin,
                now,
                AuditAction::LoginThrottled,
                format!("試行間隔の制限中のためパスワードは照合せず（あと{wait}秒）"),
            ))
            .await?;
            return Ok(LoginOutcome::Throttled { retry_after: wait });
        }
        let user = if username.chars().count() > MAX_USERNAME_CHARS {
            None
        } else {
            self.store().read().await?.user(username).await?
        };
        let password_ok = match &user {
            Some(u) => verify_password(password.to_owned(), u.password_hash.clone()).await,
            None => {
                // Spend the same time as a real check so names cannot be probed by timing.
                let _ = hash_password(password.to_owned()).await;
                false
            }
        };
        let (Some(user), true) = (user.as_ref(), password_ok) else {
            let mut tx = write(self).await?;
            let next = next_throttle(tx.throttle(&key).await?, now, &policy);
            tx.put_throttle(&key, &next).await?;
            // Guessed names would otherwise pile up: forget what a quiet day forgives.
            if let Ok(quiet) =
                now.checked_sub(jiff::SignedDuration::from_hours(THROTTLE_MEMORY_HOURS))
            {
                tx.forget_throttles(quiet).await?;
            }
            if let Some(u) = &user {
                tx.count_password_failure(&u.username).await?;
            }
            tx.audit(&login_entry(
                username,
                user.as_ref().map_or("", |u| role_code(&u.role)),
                origin,
                now,
                AuditAction::LoginFailure,
                format!(
                    "{}（この接続元から{}回目、{}）",
                    if user.is_some() {
                        "パスワードの誤り"
                    } else {
                        "登録のないユーザー名"
                    },
                    next.failures,
                    match throttle_delay(next.failures, &policy) {
                        0 => "次の試行に待ち時間なし".to_owned(),
                        delay => format!("次の試行は{delay}秒後から"),
                    }
                ),
            ))
            .await?;
            tx.commit().await?;
            return Ok(LoginOutcome::Refused);
        };
        let role = role_code(&user.role);
        let mut tx = write(self).await?;
        tx.clear_throttle(&key).await?;
        tx.reset_password_failures(username).await?;
        if let Some(until) = user.locked_until
            && until > now
        {
            tx.audit(&login_entry(
                username,
                role,
                origin,
                now,
                AuditAction::LoginLocked,
                format!(
                    "パスワード照合済み、{}までロック中",
                    crate::audit::japan_time(until)
                ),
            ))
            .await?;
            tx.commit().await?;
            return Ok(LoginOutcome::Locked);
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
        let id = open_session(&mut tx, username, stage, pending, origin, now, &policy).await?;
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
            stage_text(stage),
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

    /// The user of a live API token at `now`, with its role narrowed to the token's
    /// employer. A token is refused when it expired, when its user's role or employers
    /// are no longer those it was issued for (it is then revoked, audited), and when it
    /// is a staff or admin token of a user without an enrolled second factor. Each use
    /// is recorded (at most once a minute per token) for the admin page.
    pub async fn token_user(
        &self,
        token: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<PortalUser>> {
        let hash = secret_hash(token.trim());
        let mut r = self.store().read().await?;
        let Some(t) = r.api_token(&hash).await? else {
            return Ok(None);
        };
        if t.expires_at.is_none_or(|e| e <= now) {
            return Ok(None);
        }
        let Some(mut user) = r.user(&t.username).await? else {
            return Ok(None);
        };
        drop(r);
        if !t
            .role
            .as_ref()
            .is_some_and(|bound| same_role(bound, &user.role))
        {
            let mut tx = write(self).await?;
            if tx.revoke_api_token(&hash, now).await? {
                tx.audit(&login_entry(
                    &t.username,
                    role_code(&user.role),
                    "token",
                    now,
                    AuditAction::TokenRevoke,
                    format!(
                        "{} のAPIトークンを拒否して失効（発行時の役割: {}、現在の役割: {}）",
                        t.username,
                        t.role
                            .as_ref()
                            .map_or_else(|| "記録なし".to_owned(), role_text),
                        role_text(&user.role)
                    ),
                ))
                .await?;
            }
            tx.commit().await?;
            return Ok(None);
        }
        if totp_required(&user.role) && !user.totp_enrolled {
            return Ok(None);
        }
        let stale = t.last_used_at.is_none_or(|at| {
            at.checked_add(jiff::SignedDuration::from_secs(60))
                .is_ok_and(|next| next <= now)
        });
        if stale {
            let mut tx = write(self).await?;
            tx.touch_api_token(&hash, now).await?;
            tx.commit().await?;
        }
        if let (Role::Employer(codes), Some(one)) = (&user.role, &t.employer) {
            // A token narrowed to one employer acts for that employer only.
            user.role = Role::Employer(codes.iter().filter(|c| *c == one).cloned().collect());
        }
        Ok(Some(user))
    }

    /// Checks a TOTP code for a session waiting for its second factor, against the
    /// wall-clock time `wall` (the portal's `now` may be shifted to another day). A code
    /// is accepted once, and never after a later step's code was; wrong codes count
    /// towards the lock whatever the password logins in between; a locked account ends
    /// every session it has, so one opened before the lock cannot finish. On success
    /// the session gets a new id (and form token).
    pub async fn second_factor(
        &self,
        actor: &Actor,
        session: &Session,
        code: &str,
        wall: jiff::Timestamp,
        policy: LoginPolicy,
    ) -> Result<SecondFactorOutcome> {
        let now = actor.now;
        let keys = second_factor_keys(&actor.user, &actor.origin);
        let wait = self.throttled(&keys, now).await?;
        if wait > 0 {
            self.audit_alone(
                &AuditEntry::new(actor, AuditAction::LoginThrottled).detail(format!(
                    "試行間隔の制限中のため確認コードは照合せず（あと{wait}秒）"
                )),
            )
            .await?;
            return Ok(SecondFactorOutcome::Throttled { retry_after: wait });
        }
        let user = self
            .store()
            .read()
            .await?
            .user(&actor.user)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("user {}", actor.user)))?;
        if let Some(until) = user.locked_until
            && until > now
        {
            let mut tx = write(self).await?;
            tx.delete_sessions_of(&actor.user, now).await?;
            tx.audit(
                &AuditEntry::new(actor, AuditAction::LoginLocked).detail(format!(
                    "{}までロック中のため確認コードは照合せず",
                    crate::audit::japan_time(until)
                )),
            )
            .await?;
            tx.commit().await?;
            return Ok(SecondFactorOutcome::Locked);
        }
        let step = if user.totp_enrolled {
            user.totp_secret
                .as_deref()
                .and_then(|s| totp_code_step(s, code, wall))
        } else {
            None
        };
        let mut tx = write(self).await?;
        if let Some(step) = step
            && tx.accept_totp_step(&actor.user, step).await?
        {
            for key in &keys {
                tx.clear_throttle(key).await?;
            }
            let id = rotate_session(
                &mut tx,
                session,
                SessionStage::Full,
                &actor.origin,
                now,
                &policy,
            )
            .await?;
            tx.audit(
                &AuditEntry::new(actor, AuditAction::LoginSuccess).detail("パスワード＋二要素認証"),
            )
            .await?;
            tx.commit().await?;
            return Ok(SecondFactorOutcome::Accepted { id });
        }
        for key in &keys {
            let next = next_throttle(tx.throttle(key).await?, now, &policy);
            tx.put_throttle(key, &next).await?;
        }
        let lock_until = now
            .checked_add(jiff::SignedDuration::from_mins(policy.lockout_minutes))
            .unwrap_or(now);
        let locked = tx
            .record_second_factor_failure(&actor.user, policy.lockout_failures, lock_until)
            .await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::LoginFailure).detail(format!(
                "{}（最後に受け付けたコードから連続{}回目）",
                if step.is_some() {
                    "使用済みの確認コード（同じコードの再使用、または受付済みより前のコード）"
                } else {
                    "確認コードの誤り"
                },
                if locked {
                    policy.lockout_failures
                } else {
                    user.second_factor_failures + 1
                }
            )),
        )
        .await?;
        if locked {
            tx.delete_sessions_of(&actor.user, now).await?;
            tx.audit(
                &AuditEntry::new(actor, AuditAction::AccountLocked).detail(format!(
                    "確認コードの誤りが{}回: {}までロック、すべてのセッションを終了",
                    policy.lockout_failures,
                    crate::audit::japan_time(lock_until)
                )),
            )
            .await?;
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

    /// Enrols the offered secret when `code` proves the user's app has it (checked
    /// against the wall-clock time `wall`); completes the login in a new session.
    /// Returns the new session id, `None` when the code is wrong.
    pub async fn enrol_totp(
        &self,
        actor: &Actor,
        session: &Session,
        code: &str,
        wall: jiff::Timestamp,
        policy: LoginPolicy,
    ) -> Result<Option<String>> {
        let Some(secret) = &session.pending_secret else {
            return Ok(None);
        };
        let Some(step) = totp_code_step(secret, code, wall) else {
            return Ok(None);
        };
        let mut tx = write(self).await?;
        tx.set_user_totp(&actor.user, Some(secret), true).await?;
        tx.accept_totp_step(&actor.user, step).await?;
        let id = rotate_session(
            &mut tx,
            session,
            SessionStage::Full,
            &actor.origin,
            actor.now,
            &policy,
        )
        .await?;
        tx.audit(&AuditEntry::new(actor, AuditAction::TotpEnrolled).detail("二要素認証を設定"))
            .await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::LoginSuccess)
                .detail("パスワード＋新たに設定した二要素認証"),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(id))
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
        let mut stored = PortalUser {
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
            second_factor_failures: 0,
            totp_last_step: None,
            locked_until: None,
        };
        let mut tx = write(self).await?;
        // Saving a user again (a new role, a new password) keeps the second factor they
        // enrolled: only `reset_totp` clears it.
        if totp_secret.is_none()
            && let Some(existing) = tx.user(&username).await?
            && existing.totp_enrolled
        {
            stored.totp_secret = existing.totp_secret;
            stored.totp_enrolled = true;
            stored.totp_last_step = existing.totp_last_step;
        }
        tx.put_user(&stored, actor.now).await?;
        tx.delete_sessions_of(&username, actor.now).await?;
        // A token acts with the role it was issued for, or not at all.
        let mut revoked = 0;
        for t in tx.api_tokens().await? {
            let live = t.revoked_at.is_none() && t.username == username;
            if live && !t.role.as_ref().is_some_and(|r| same_role(r, &stored.role)) {
                tx.revoke_api_token(&t.token_hash, actor.now).await?;
                revoked += 1;
            }
        }
        tx.audit(
            &AuditEntry::new(actor, AuditAction::UserPut).detail(format!(
                "{username}: 役割 {}{}",
                role_text(&stored.role),
                if totp_secret.is_some() {
                    "、二要素認証は管理者が設定"
                } else {
                    ""
                }
            )),
        )
        .await?;
        if revoked > 0 {
            tx.audit(
                &AuditEntry::new(actor, AuditAction::TokenRevoke).detail(format!(
                    "{username} のAPIトークン{revoked}件を失効（役割または事業所の変更）"
                )),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets a user's password (12 characters or more), keeping role and second factor;
    /// clears the failure counts and the lock, ends their sessions. A disabled user is
    /// enabled again by it.
    pub async fn set_password(&self, actor: &Actor, username: &str, password: &str) -> Result<()> {
        actor.may(Action::ManageUsers, Scope::Society)?;
        if password.chars().count() < 12 {
            return Err(AppError::Invalid(
                "パスワードは12文字以上にしてください。".into(),
            ));
        }
        let hash = hash_password(password.to_owned()).await?;
        let mut tx = write(self).await?;
        let user = tx
            .user(username)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("ユーザー {username}")))?;
        let was_disabled = is_disabled(&user);
        tx.put_user(
            &PortalUser {
                password_hash: hash,
                ..user
            },
            actor.now,
        )
        .await?;
        tx.delete_sessions_of(username, actor.now).await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::UserPasswordSet).detail(format!(
                "{username}{}",
                if was_disabled {
                    "（無効化を解除）"
                } else {
                    ""
                }
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lifts a user's lock and clears the failure counts (the second factor stays).
    pub async fn unlock_user(&self, actor: &Actor, username: &str) -> Result<()> {
        actor.may(Action::ManageUsers, Scope::Society)?;
        let mut tx = write(self).await?;
        let user = tx
            .user(username)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("ユーザー {username}")))?;
        let was = user.locked_until;
        // Writing the user back as it is clears the counts and the lock.
        tx.put_user(&user, actor.now).await?;
        tx.audit(
            &AuditEntry::new(actor, AuditAction::UserUnlock).detail(format!(
                "{username}{}",
                was.map(|t| format!("（{}までのロックを解除）", crate::audit::japan_time(t)))
                    .unwrap_or_default()
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disables a user: no password works any more, their sessions end and their API
    /// tokens are revoked. [`App::set_password`] enables the account again.
    pub async fn disable_user(&self, actor: &Actor, username: &str) -> Result<()> {
        actor.may(Action::ManageUsers, Scope::Society)?;
        if actor.user == username {
            return Err(AppError::Invalid(
                "自分自身のアカウントは無効にできません。".into(),
            ));
        }
        let mut tx = write(self).await?;
        let user = tx
            .user(username)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("ユーザー {username}")))?;
        tx.put_user(
            &PortalUser {
                password_hash: DISABLED_PASSWORD_HASH.to_owned(),
                ..user
            },
            actor.now,
        )
        .await?;
        tx.delete_sessions_of(username, actor.now).await?;
        let mut revoked = 0;
        for t in tx.api_tokens().await? {
            if t.username == username && t.revoked_at.is_none() {
                tx.revoke_api_token(&t.token_hash, actor.now).await?;
                revoked += 1;
            }
        }
        tx.audit(
            &AuditEntry::new(actor, AuditAction::UserDisable)
                .detail(format!("{username}: APIトークン{revoked}件を失効")),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Clears a user's second factor and ends their sessions; a staff or admin user's
    /// API tokens are revoked too (they need the second factor).
    pub async fn reset_totp(&self, actor: &Actor, username: &str) -> Result<()> {
        actor.may(Action::ManageUsers, Scope::Society)?;
        let mut tx = write(self).await?;
        let user = tx
            .user(username)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("user {username}")))?;
        tx.set_user_totp(username, None, false).await?;
        tx.delete_sessions_of(username, actor.now).await?;
        tx.audit(&AuditEntry::new(actor, AuditAction::UserTotpReset).detail(username.to_owned()))
            .await?;
        if totp_required(&user.role) {
            for t in tx.api_tokens().await? {
                if t.username == username && t.revoked_at.is_none() {
                    tx.revoke_api_token(&t.token_hash, actor.now).await?;
                    tx.audit(
                        &AuditEntry::new(actor, AuditAction::TokenRevoke).detail(format!(
                            "{username} のAPIトークンを失効（二要素認証のリセット）"
                        )),
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Issues an API token for a user (shown once), valid for `valid_days`, bound to
    /// the user's role and employers as they are now; an employer user's token is
    /// narrowed to its first employer. Staff and admin tokens read personal data
    /// without a second factor at each call, so they are issued only to users who have
    /// one enrolled.
    pub async fn issue_token(
        &self,
        actor: &Actor,
        username: &str,
        valid_days: i64,
    ) -> Result<String> {
        actor.may(Action::ManageUsers, Scope::Society)?;
        let mut tx = write(self).await?;
        let user = tx
            .user(username)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("user {username}")))?;
        if totp_required(&user.role) && !user.totp_enrolled {
            return Err(AppError::Invalid(format!(
                "{username} は二要素認証（確認コード）を設定していないため、APIトークンを発行できません。本人が確認コードを設定してから発行してください。"
            )));
        }
        if valid_days < 1 {
            return Err(AppError::Invalid(
                "APIトークンの有効期間は1日以上にしてください。".into(),
            ));
        }
        let employer: Option<EmployerCode> = match &user.role {
            Role::Employer(codes) => codes.first().cloned(),
            _ => None,
        };
        let token = format!("clb_{}", random_hex(24));
        let expires_at = actor
            .now
            .checked_add(jiff::SignedDuration::from_hours(
                valid_days.saturating_mul(24),
            ))
            .map_err(|e| AppError::Invalid(format!("有効期限: {e}")))?;
        tx.create_api_token(&NewApiToken {
            token_hash: &secret_hash(&token),
            username,
            role: &user.role,
            employer: employer.as_ref(),
            label: "portal",
            at: actor.now,
            expires_at,
        })
        .await?;
        let mut entry = AuditEntry::new(actor, AuditAction::TokenCreate).detail(format!(
            "{username} のAPIトークンを発行（役割: {}、有効期限 {}）",
            role_text(&user.role),
            crate::audit::japan_time(expires_at)
        ));
        if let Some(e) = &employer {
            entry = entry.employer(e);
        }
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Every API token (hashes, never tokens), newest first, for the admin page.
    pub async fn api_tokens(&self, actor: &Actor) -> Result<Vec<ApiToken>> {
        actor.may(Action::ManageUsers, Scope::Society)?;
        Ok(self.store().read().await?.api_tokens().await?)
    }

    /// Revokes a token given by its hash.
    pub async fn revoke_token(&self, actor: &Actor, token_hash: &str) -> Result<()> {
        actor.may(Action::ManageUsers, Scope::Society)?;
        let mut tx = write(self).await?;
        let token = tx
            .api_tokens()
            .await?
            .into_iter()
            .find(|t| t.token_hash == token_hash)
            .ok_or_else(|| AppError::NotFound("token".into()))?;
        if tx.revoke_api_token(token_hash, actor.now).await? {
            tx.audit(
                &AuditEntry::new(actor, AuditAction::TokenRevoke).detail(format!(
                    "{1} のAPIトークン {0} を管理者が失効",
                    &token_hash[..token_hash.len().min(8)],
                    token.username
                )),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
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

    #[test]
    fn a_code_names_its_own_step_within_one_step_of_skew() {
        let secret = totp_rs::Secret::from(b"12345678901234567890".to_vec()).to_base32();
        let at = jiff::Timestamp::from_second(59).unwrap();
        assert_eq!(totp_code_step(&secret, "287082", at), Some(1));
        let next = jiff::Timestamp::from_second(89).unwrap();
        assert_eq!(
            totp_code_step(&secret, "287082", next),
            Some(1),
            "previous step"
        );
        let later = jiff::Timestamp::from_second(119).unwrap();
        assert_eq!(
            totp_code_step(&secret, "287082", later),
            None,
            "two steps on"
        );
        assert_eq!(totp_code_step(&secret, "28708", at), None);
    }

    #[test]
    fn the_first_failures_are_free_then_the_delay_doubles_up_to_the_cap() {
        let p = LoginPolicy::default();
        let delays: Vec<i64> = (1..=16).map(|n| throttle_delay(n, &p)).collect();
        assert_eq!(
            delays,
            [
                0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900
            ]
        );
        assert_eq!(throttle_delay(i64::MAX, &p), 900);
    }

    #[test]
    fn throttle_failures_are_forgotten_after_a_quiet_day() {
        let p = LoginPolicy::default();
        let t0: jiff::Timestamp = "2026-11-24T01:00:00Z".parse().unwrap();
        let mut t = next_throttle(None, t0, &p);
        for _ in 0..5 {
            t = next_throttle(Some(t), t0, &p);
        }
        assert_eq!(t.failures, 6);
        assert_eq!(wait_seconds(&t, t0), 4);
        let next_day = t0
            .checked_add(jiff::SignedDuration::from_hours(25))
            .unwrap();
        assert_eq!(next_throttle(Some(t), next_day, &p).failures, 1);
    }

    #[test]
    fn roles_compare_with_their_employers_in_any_order() {
        let e = |c: &str| EmployerCode::parse(c).unwrap();
        assert!(same_role(
            &Role::Employer(vec![e("E1"), e("E2")]),
            &Role::Employer(vec![e("E2"), e("E1")])
        ));
        assert!(!same_role(
            &Role::Employer(vec![e("E1")]),
            &Role::Employer(vec![e("E2")])
        ));
        assert!(!same_role(&Role::Employer(vec![e("E1")]), &Role::Staff));
        assert!(same_role(&Role::Staff, &Role::Staff));
    }
}
