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
    /// Failed logins since the last success.
    pub failed_logins: i64,
    /// Locked until, after too many failures.
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

/// An API token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// The user it acts for.
    pub username: String,
    /// Narrowed to one employer.
    pub employer: Option<EmployerCode>,
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

impl UserDbRow {
    fn into_user(self) -> Result<PortalUser> {
        let role = match self.role.as_str() {
            "admin" => Role::Admin,
            "staff" => Role::Staff,
            "auditor" => Role::Auditor,
            "employer" => Role::Employer(
                self.employers
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|c| rows::employer("web_users", "employers", c))
                    .collect::<Result<Vec<_>>>()?,
            ),
            other => return Err(rows::corrupt("web_users", "role", other)),
        };
        Ok(PortalUser {
            username: self.username,
            display_name: self.display_name,
            password_hash: self.password_hash,
            role,
            totp_secret: self.totp_secret,
            totp_enrolled: self.totp_enrolled != 0,
            failed_logins: self.failed_logins,
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

const USER_COLUMNS: &str = "username, display_name, password_hash, role, employers, totp_secret, totp_enrolled, failed_logins, locked_until";

impl Tx {
    /// Creates or replaces a user: password, role, employers and TOTP as given; the
    /// failure count and lock are cleared.
    pub async fn put_user(&mut self, user: &PortalUser, at: jiff::Timestamp) -> Result<()> {
        let insurer = self.insurer.clone();
        let (role, employers) = role_columns(&user.role);
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO web_users (insurer, username, display_name, password_hash, role, employers, totp_secret, totp_enrolled, failed_logins, locked_until, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, NULL, $9)
                 ON CONFLICT (insurer, username) DO UPDATE SET display_name = excluded.display_name,
                   password_hash = excluded.password_hash, role = excluded.role, employers = excluded.employers,
                   totp_secret = excluded.totp_secret, totp_enrolled = excluded.totp_enrolled, failed_logins = 0, locked_until = NULL",
            )
            .bind(&insurer).bind(&user.username).bind(&user.display_name).bind(&user.password_hash)
            .bind(role).bind(employers).bind(&user.totp_secret).bind(i64::from(user.totp_enrolled))
            .bind(at.to_string())
            .execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Sets (or clears, with `None`) a user's TOTP secret and enrolment.
    pub async fn set_user_totp(
        &mut self,
        username: &str,
        secret: Option<&str>,
        enrolled: bool,
    ) -> Result<()> {
        let insurer = self.insurer.clone();
        let n = on_conn!(self.conn(), c => {
            sqlx::query("UPDATE web_users SET totp_secret = $1, totp_enrolled = $2 WHERE insurer = $3 AND username = $4")
                .bind(secret).bind(i64::from(enrolled)).bind(&insurer).bind(username)
                .execute(&mut *c).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {username}")));
        }
        Ok(())
    }

    /// Counts a failed login; at `max_failures` the account is locked until
    /// `lock_until`. Returns the failures so far.
    pub async fn record_login_failure(
        &mut self,
        username: &str,
        max_failures: i64,
        lock_until: jiff::Timestamp,
    ) -> Result<i64> {
        let insurer = self.insurer.clone();
        let row: Option<(i64,)> = on_conn!(self.conn(), c => {
            sqlx::query_as(
                "UPDATE web_users SET failed_logins = failed_logins + 1,
                   locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END
                 WHERE insurer = $3 AND username = $4 RETURNING failed_logins",
            )
            .bind(max_failures).bind(lock_until.to_string()).bind(&insurer).bind(username)
            .fetch_optional(&mut *c).await?
        });
        Ok(row.map_or(0, |r| r.0))
    }

    /// Clears the failure count (a successful login, or an expired lock).
    pub async fn reset_login_failures(&mut self, username: &str) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query("UPDATE web_users SET failed_logins = 0, locked_until = NULL WHERE insurer = $1 AND username = $2")
                .bind(&insurer).bind(username).execute(&mut *c).await?;
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

    /// Stores an API token (its hash) for a user, optionally narrowed to one employer.
    pub async fn create_api_token(
        &mut self,
        token_hash: &str,
        username: &str,
        employer: Option<&EmployerCode>,
        label: &str,
        at: jiff::Timestamp,
    ) -> Result<()> {
        let insurer = self.insurer.clone();
        on_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO api_tokens (token_hash, insurer, username, employer_code, label, created_at, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, NULL)",
            )
            .bind(token_hash).bind(&insurer).bind(username).bind(employer.map(|e| e.as_str().to_owned()))
            .bind(label).bind(at.to_string())
            .execute(&mut *c).await?;
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

    /// The user (and employer narrowing) of a live API token.
    pub async fn api_token(&mut self, token_hash: &str) -> Result<Option<ApiToken>> {
        let insurer = self.insurer.clone();
        let row: Option<(String, Option<String>)> = on_conn!(self.conn(), c => {
            sqlx::query_as("SELECT username, employer_code FROM api_tokens WHERE token_hash = $1 AND insurer = $2 AND revoked_at IS NULL")
                .bind(token_hash).bind(&insurer).fetch_optional(&mut *c).await?
        });
        row.map(|(username, employer)| {
            Ok(ApiToken {
                username,
                employer: employer
                    .as_deref()
                    .map(|e| rows::employer("api_tokens", "employer_code", e))
                    .transpose()?,
            })
        })
        .transpose()
    }
}
