//! Storage of portal accounts: users, login sessions, API tokens. Secrets are stored
//! hashed (argon2id for passwords, SHA-256 for session ids and API tokens); only the
//! TOTP secret is stored as is, because verifying a code needs it. Who may log in and
//! how is decided in `collabo-app` (accounts); nothing here reads the clock.

use crate::rows;
use crate::{Reader, Result, StoreError, Tx, on_conn};
use collabo_domain::authz::Role;
use collabo_domain::ids::EmployerCode;

/// A portal user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalUser {
    /// Login name.
    pub username: String,
    /// Name shown in the header.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role (with the employers of an employer contact).
    pub role: Role,
    /// Base32 TOTP secret, once issued.
    pub totp_secret: Option<String>,
    /// The user has confirmed a TOTP code with this secret.
    pub totp_enrolled: bool,
    /// Wrong passwords since the last correct one (shown to admins; never locks).
    pub failed_logins: i64,
    /// Wrong second-factor codes since the last accepted one (a correct password does
    /// not reset it).
    pub second_factor_failures: i64,
    /// The last TOTP time step accepted (RFC 6238 `T`); that step and earlier ones are
    /// refused.
    pub totp_last_step: Option<i64>,
    /// Locked until, after too many wrong second-factor codes.
    pub locked_until: Option<jiff::Timestamp>,
}

/// Where a login session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// The password was right; the TOTP code is next.
    SecondFactor,
    /// The password was right; the user must enrol a TOTP secret first.
    Enrol,
    /// Logged in.
    Full,
}

impl SessionStage {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            SessionStage::SecondFactor => "totp",
            SessionStage::Enrol => "enrol",
            SessionStage::Full => "full",
        }
    }
    /// From the code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "totp" => Some(SessionStage::SecondFactor),
            "enrol" => Some(SessionStage::Enrol),
            "full" => Some(SessionStage::Full),
            _ => None,
        }
    }
}

/// A login session as stored (the id itself is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the cookie value.
    pub id_hash: String,
    /// User.
    pub username: String,
    /// Synchronizer token for forms.
    pub csrf: String,
    /// Stage.
    pub stage: SessionStage,
    /// A TOTP secret offered during enrolment, not yet confirmed.
    pub pending_secret: Option<String>,
    /// Expiry.
    pub expires_at: jiff::Timestamp,
}

/// An API token as stored (its hash, never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// SHA-256 of the token.
    pub token_hash: String,
    /// The user it acts for.
    pub username: String,
    /// Narrowed to one employer.
    pub employer: Option<EmployerCode>,
    /// The user's role (with its employers) when the token was issued; `None` for a
    /// token issued before tokens were bound to a role.
    pub role: Option<Role>,
    /// Label.
    pub label: String,
    /// Issued at.
    pub created_at: jiff::Timestamp,
    /// Expires at (`None`: issued before tokens expired).
    pub expires_at: Option<jiff::Timestamp>,
    /// Last request made with it.
    pub last_used_at: Option<jiff::Timestamp>,
    /// Revoked at.
    pub revoked_at: Option<jiff::Timestamp>,
}

/// A new API token, as the accounts service decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken<'a> {
    /// SHA-256 of the token.
    pub token_hash: &'a str,
    /// The user it acts for.
    pub username: &'a str,
    /// The user's role and employers now (the token is bound to them).
    pub role: &'a Role,
    /// Narrowed to one employer.
    pub employer: Option<&'a EmployerCode>,
    /// Label.
    pub label: &'a str,
    /// Issued at.
    pub at: jiff::Timestamp,
    /// Expires at.
    pub expires_at: jiff::Timestamp,
}

/// The throttle state of one key (account + address, account, or address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Failures counted.
    pub failures: i64,
    /// The last one.
    pub last_failure_at: jiff::Timestamp,
    /// No attempt is considered before this instant.
    pub blocked_until: jiff::Timestamp,
}

#[derive(sqlx::FromRow)]
struct UserDbRow {
    username: String,
    display_name: String,
    password_hash: String,
    role: String,
    employers: String,
    totp_secret: Option<String>,
    totp_enrolled: i64,
    failed_logins: i64,
    second_factor_failures: i64,
    totp_last_step: Option<i64>,
    locked_until: Option<String>,
}

/// The stored form of a role: its code and, for an employer contact, its employers.
fn role_columns(role: &Role) -> (&'static str, String) {
    match role {
        Role::Employer(codes) => (
            "employer",
            codes
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => (other.code(), String::new()),
    }
}

/// A role from its stored columns.
fn role_of(table: &'static str, code: &str, employers: &str) -> Result<Role> {
    Ok(match code {
        "admin" => Role::Admin,
        "staff" => Role::Staff,
        "auditor" => Role::Auditor,
        "employer" => Role::Employer(
            employers
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|c| rows::employer(table, "employers", c))
                .collect::<Result<Vec<_>>>()?,
        ),
        other => return Err(rows::corrupt(table, "role", other)),
    })
}

impl UserDbRow {
    fn into_user(self) -> Result<PortalUser> {
        let role = role_of("web_users", &self.role, &self.employers)?;
        Ok(PortalUser {
            username: self.username,
            display_name: self.display_name,
            password_hash: self.password_hash,
            role,
            totp_secret: self.totp_secret,
            totp_enrolled: self.totp_enrolled != 0,
            failed_logins: self.failed_logins,
            second_factor_failures: self.second_factor_failures,
            totp_last_step: self.totp_last_step,
            locked_until: self
                .locked_until
                .as_deref()
                .map(|t| rows::timestamp("web_users", "locked_until", t))
                .transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SessionDbRow {
    id_hash: String,
    username: String,
    csrf: String,
    stage: String,
    pending_secret: Option<String>,
    expires_at: String,
}

#[derive(sqlx::FromRow)]
struct TokenDbRow {
    token_hash: String,
    username: String,
    employer_code: Option<String>,
    role: Option<String>,
    employers: Option<String>,
    label: String,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

impl TokenDbRow {
    fn into_token(self) -> Result<ApiToken> {
        const T: &str = "api_tokens";
        let ts = |column: &'static str, text: Option<&str>| {
            text.map(|t| rows::timestamp(T, column, t)).transpose()
        };
        Ok(ApiToken {
            role: self
                .role
                .as_deref()
                .map(|r| role_of(T, r, self.employers.as_deref().unwrap_or("")))
                .transpose()?,
            employer: self
                .employer_code
                .as_deref()
                .map(|e| rows::employer(T, "employer_code", e))
                .transpose()?,
            created_at: rows::timestamp(T, "created_at", &self.created_at)?,
            expires_at: ts("expires_at", self.expires_at.as_deref())?,
            last_used_at: ts("last_used_at", self.last_used_at.as_deref())?,
            revoked_at: ts("revoked_at", self.revoked_at.as_deref())?,
            token_hash: self.token_hash,
            username: self.username,
            label: self.label,
        })
    }
}

const USER_COLUMNS: &str = "username, display_name, password_hash, role, employers, totp_secret, totp_enrolled, failed_logins, second_factor_failures, totp_last_step, locked_until";
const TOKEN_COLUMNS: &str = "token_hash, username, employer_code, role, employers, label, created_at, expires_at, last_used_at, revoked_at";

impl Tx {
    /// Creates or replaces a user: password, role, employers and TOTP as given; the
    /// failure counts, the last TOTP step and the lock are cleared.
    pub async fn put_user(&mut self, user: &PortalUser, at: jiff::Timestamp) -> Result<()> {
        let insurer = self.insurer.clone();
        let (role, employers) = role_columns(&user.role);
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO web_users (insurer, username, display_name, password_hash, role, employers, totp_secret, totp_enrolled, failed_logins, locked_until, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, NULL, $9)
                 ON CONFLICT (insurer, username) DO UPDATE SET display_name = excluded.display_name,
                   password_hash = excluded.password_hash, role = excluded.role, employers = excluded.employers,
                   totp_secret = excluded.totp_secret, totp_enrolled = excluded.totp_enrolled, failed_logins = 0,
                   second_factor_failures = 0, totp_last_step = NULL, locked_until = NULL",
            )
            .bind(&insurer).bind(&user.username).bind(&user.display_name).bind(&user.password_hash)
            .bind(role).bind(employers).bind(&user.totp_secret).bind(i64::from(user.totp_enrolled))
            .bind(at.to_string())
            .execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Sets (or clears, with `None`) a user's TOTP secret and enrolment; the last
    /// accepted step and the second-factor failures start afresh.
    pub async fn set_user_totp(
        &mut self,
        username: &str,
        secret: Option<&str>,
        enrolled: bool,
    ) -> Result<()> {
        let insurer = self.insurer.clone();
        let n = on_conn!(self.conn(), c => {
            sqlx::query("UPDATE web_users SET totp_secret = $1, totp_enrolled = $2, totp_last_step = NULL, second_factor_failures = 0 WHERE insurer = $3 AND username = $4")
                .bind(secret).bind(i64::from(enrolled)).bind(&insurer).bind(username)
                .execute(&mut *c).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {username}")));
        }
        Ok(())
    }

    /// Counts a wrong password (shown to admins; a wrong password never locks).
    pub async fn count_password_failure(&mut self, username: &str) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query("UPDATE web_users SET failed_logins = failed_logins + 1 WHERE insurer = $1 AND username = $2")
                .bind(&insurer).bind(username).execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Clears the wrong-password count (a correct password). The second-factor
    /// failures and the lock are deliberately left as they are.
    pub async fn reset_password_failures(&mut self, username: &str) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query("UPDATE web_users SET failed_logins = 0 WHERE insurer = $1 AND username = $2")
                .bind(&insurer).bind(username).execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Counts a wrong second-factor code; at `max_failures` the account is locked
    /// until `lock_until` and the count starts again. Returns whether this failure
    /// locked the account.
    pub async fn record_second_factor_failure(
        &mut self,
        username: &str,
        max_failures: i64,
        lock_until: jiff::Timestamp,
    ) -> Result<bool> {
        let insurer = self.insurer.clone();
        // Both SET expressions read the row as it was before the update.
        let row: Option<(i64,)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "UPDATE web_users SET
                   second_factor_failures = CASE WHEN second_factor_failures + 1 >= $1 THEN 0 ELSE second_factor_failures + 1 END,
                   locked_until = CASE WHEN second_factor_failures + 1 >= $1 THEN $2 ELSE locked_until END
                 WHERE insurer = $3 AND username = $4 RETURNING second_factor_failures",
            )
            .bind(max_failures).bind(lock_until.to_string()).bind(&insurer).bind(username)
            .fetch_optional(&mut *c).await?
        });
        Ok(row.is_some_and(|r| r.0 == 0))
    }

    /// Accepts TOTP time step `step` for a user when it is later than the last one
    /// accepted (a code is good once, and never after a later one); clears the
    /// second-factor failures. `false` when the step was not later.
    pub async fn accept_totp_step(&mut self, username: &str, step: i64) -> Result<bool> {
        let insurer = self.insurer.clone();
        let n = on_conn!(self.conn(), c => {
            sqlx::query(
                "UPDATE web_users SET totp_last_step = $1, second_factor_failures = 0
                 WHERE insurer = $2 AND username = $3 AND (totp_last_step IS NULL OR totp_last_step < $1)",
            )
            .bind(step).bind(&insurer).bind(username)
            .execute(&mut *c).await?.rows_affected()
        });
        Ok(n == 1)
    }

    /// Stores the throttle state of a key.
    pub async fn put_throttle(&mut self, key: &str, state: &Throttle) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO login_throttle (insurer, throttle_key, failures, last_failure_at, blocked_until)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (insurer, throttle_key) DO UPDATE SET failures = excluded.failures,
                   last_failure_at = excluded.last_failure_at, blocked_until = excluded.blocked_until",
            )
            .bind(&insurer).bind(key).bind(state.failures)
            .bind(state.last_failure_at.to_string()).bind(state.blocked_until.to_string())
            .execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Forgets every throttle key whose last failure is older than `before` (the rows of
    /// names that were only ever guessed).
    pub async fn forget_throttles(&mut self, before: jiff::Timestamp) -> Result<u64> {
        let insurer = self.insurer.clone();
        let n = on_conn!(self.conn(), c => {
            sqlx::query("DELETE FROM login_throttle WHERE insurer = $1 AND last_failure_at < $2")
                .bind(&insurer).bind(before.to_string()).execute(&mut *c).await?.rows_affected()
        });
        Ok(n)
    }

    /// Forgets the throttle state of a key (a success).
    pub async fn clear_throttle(&mut self, key: &str) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query("DELETE FROM login_throttle WHERE insurer = $1 AND throttle_key = $2")
                .bind(&insurer).bind(key).execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Stores a new session.
    pub async fn create_session(
        &mut self,
        s: &Session,
        origin: &str,
        at: jiff::Timestamp,
    ) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO web_sessions (id_hash, insurer, username, csrf, stage, pending_secret, origin, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&s.id_hash).bind(&insurer).bind(&s.username).bind(&s.csrf).bind(s.stage.code())
            .bind(&s.pending_secret).bind(origin).bind(at.to_string()).bind(s.expires_at.to_string())
            .execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Moves a session to another stage or offers a TOTP secret.
    pub async fn update_session(
        &mut self,
        id_hash: &str,
        stage: SessionStage,
        pending_secret: Option<&str>,
    ) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query("UPDATE web_sessions SET stage = $1, pending_secret = $2 WHERE id_hash = $3 AND insurer = $4")
                .bind(stage.code()).bind(pending_secret).bind(id_hash).bind(&insurer).execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Ends a session.
    pub async fn delete_session(&mut self, id_hash: &str) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1 AND insurer = $2")
                .bind(id_hash).bind(&insurer).execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Ends every session of a user, and every expired session.
    pub async fn delete_sessions_of(&mut self, username: &str, now: jiff::Timestamp) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query("DELETE FROM web_sessions WHERE insurer = $1 AND (username = $2 OR expires_at < $3)")
                .bind(&insurer).bind(username).bind(now.to_string()).execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Stores an API token (its hash) for a user, bound to the user's role and
    /// employers, optionally narrowed to one employer, with its expiry.
    pub async fn create_api_token(&mut self, t: &NewApiToken<'_>) -> Result<()> {
        let insurer = self.insurer.clone();
        let (role, employers) = role_columns(t.role);
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO api_tokens (token_hash, insurer, username, employer_code, label, created_at, revoked_at, role, employers, expires_at, last_used_at)
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, NULL)",
            )
            .bind(t.token_hash).bind(&insurer).bind(t.username).bind(t.employer.map(|e| e.as_str().to_owned()))
            .bind(t.label).bind(t.at.to_string()).bind(role).bind(&employers).bind(t.expires_at.to_string())
            .execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Revokes one token (no effect on a revoked one). Returns whether it was live.
    pub async fn revoke_api_token(
        &mut self,
        token_hash: &str,
        at: jiff::Timestamp,
    ) -> Result<bool> {
        let insurer = self.insurer.clone();
        let n = on_conn!(self.conn(), c => {
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE token_hash = $2 AND insurer = $3 AND revoked_at IS NULL")
                .bind(at.to_string()).bind(token_hash).bind(&insurer).execute(&mut *c).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Records that a token was used at `at`.
    pub async fn touch_api_token(&mut self, token_hash: &str, at: jiff::Timestamp) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 AND insurer = $3")
                .bind(at.to_string()).bind(token_hash).bind(&insurer).execute(&mut *c).await?;
        });
        Ok(())
    }
}

impl Reader {
    /// One user.
    pub async fn user(&mut self, username: &str) -> Result<Option<PortalUser>> {
        let insurer = self.insurer.clone();
        let row: Option<UserDbRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM web_users WHERE insurer = $1 AND username = $2")))
                .bind(&insurer).bind(username).fetch_optional(&mut *c).await?
        });
        row.map(UserDbRow::into_user).transpose()
    }

    /// Every user, by name.
    pub async fn users(&mut self) -> Result<Vec<PortalUser>> {
        let insurer = self.insurer.clone();
        let found: Vec<UserDbRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM web_users WHERE insurer = $1 ORDER BY username")))
                .bind(&insurer).fetch_all(&mut *c).await?
        });
        found.into_iter().map(UserDbRow::into_user).collect()
    }

    /// A session that has not expired at `now`.
    pub async fn session(
        &mut self,
        id_hash: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<Session>> {
        let insurer = self.insurer.clone();
        let row: Option<SessionDbRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "SELECT id_hash, username, csrf, stage, pending_secret, expires_at FROM web_sessions
                 WHERE id_hash = $1 AND insurer = $2",
            )
            .bind(id_hash).bind(&insurer).fetch_optional(&mut *c).await?
        });
        let Some(row) = row else { return Ok(None) };
        let session = Session {
            expires_at: rows::timestamp("web_sessions", "expires_at", &row.expires_at)?,
            stage: rows::code("web_sessions", "stage", &row.stage, SessionStage::from_code)?,
            id_hash: row.id_hash,
            username: row.username,
            csrf: row.csrf,
            pending_secret: row.pending_secret,
        };
        Ok((session.expires_at > now).then_some(session))
    }

    /// A token that is not revoked (expiry and binding are checked by the caller).
    pub async fn api_token(&mut self, token_hash: &str) -> Result<Option<ApiToken>> {
        let insurer = self.insurer.clone();
        let row: Option<TokenDbRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND insurer = $2 AND revoked_at IS NULL")))
                .bind(token_hash).bind(&insurer).fetch_optional(&mut *c).await?
        });
        row.map(TokenDbRow::into_token).transpose()
    }

    /// Every token of the society (revoked ones too), newest first.
    pub async fn api_tokens(&mut self) -> Result<Vec<ApiToken>> {
        let insurer = self.insurer.clone();
        let found: Vec<TokenDbRow> = on_conn!(self.conn(), c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE insurer = $1 ORDER BY created_at DESC, token_hash")))
                .bind(&insurer).fetch_all(&mut *c).await?
        });
        found.into_iter().map(TokenDbRow::into_token).collect()
    }

    /// The throttle state of a key, if any failure was counted.
    pub async fn throttle(&mut self, key: &str) -> Result<Option<Throttle>> {
        let insurer = self.insurer.clone();
        let row: Option<(i64, String, String)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT failures, last_failure_at, blocked_until FROM login_throttle WHERE insurer = $1 AND throttle_key = $2")
                .bind(&insurer).bind(key).fetch_optional(&mut *c).await?
        });
        row.map(|(failures, last, until)| {
            Ok(Throttle {
                failures,
                last_failure_at: rows::timestamp("login_throttle", "last_failure_at", &last)?,
                blocked_until: rows::timestamp("login_throttle", "blocked_until", &until)?,
            })
        })
        .transpose()
    }
}
