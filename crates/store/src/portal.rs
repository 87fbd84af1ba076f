//! Storage for the portal (crates/web): users, sessions, API tokens, and the read
//! queries of the employer pages (submissions, referral deadlines, checkups of an
//! establishment's members, population for suppression).
//!
//! Every query here filters by the society and, for employer pages, by the employer
//! code, so a page can never read another establishment's rows by changing an id.
//! Nothing here decides who may call what: that is `collabo_domain::authz` in the web
//! crate. Nothing reads the clock: callers pass `now`.

use crate::rows;
use crate::{Result, Store, StoreError, on_pool};
use collabo_domain::Date;
use collabo_domain::checkup::{Checkup, CheckupSource, Observation, Questionnaire};
use collabo_domain::ids::EmployerCode;
use collabo_domain::member::Member;

/// A portal user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Login name.
    pub username: String,
    /// Name shown in the header.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role code (`admin`, `staff`, `employer`, `auditor`).
    pub role: String,
    /// Employer codes of an employer contact.
    pub employers: Vec<String>,
    /// Base32 TOTP secret, once issued.
    pub totp_secret: Option<String>,
    /// The user has confirmed a TOTP code with this secret.
    pub totp_enrolled: bool,
    /// Failed logins since the last success.
    pub failed_logins: i64,
    /// Locked until (RFC 3339), after too many failures.
    pub locked_until: Option<String>,
}

/// A login session as stored (the id itself is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 of the cookie value.
    pub id_hash: String,
    /// User.
    pub username: String,
    /// Synchronizer token for forms.
    pub csrf: String,
    /// `password` (second factor pending) or `full`.
    pub stage: String,
    /// A TOTP secret offered during enrolment, not yet confirmed.
    pub pending_secret: Option<String>,
    /// Expiry (RFC 3339).
    pub expires_at: String,
}

/// One upload of an employer (or about an employer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Import id.
    pub id: i64,
    /// Import kind code.
    pub kind: String,
    /// File name as uploaded.
    pub file_name: String,
    /// When (RFC 3339).
    pub imported_at: String,
    /// Who uploaded.
    pub actor: String,
    /// Import summary (JSON of `ImportSummary`).
    pub summary: String,
}

/// A referral row of an employer's 要精密検査 list, for the deadline view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralRow {
    /// Import id it came with.
    pub import_id: i64,
    /// Member key text.
    pub member_key: String,
    /// 氏名.
    pub name: String,
    /// Cancer type code.
    pub cancer: String,
    /// 検診実施年月日.
    pub screening_date: String,
    /// Received on.
    pub received_on: String,
    /// Received after 翌々月末.
    pub late: bool,
}

type UserTuple = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    Option<String>,
);

fn user_row(t: UserTuple) -> UserRow {
    let (
        username,
        display_name,
        password_hash,
        role,
        employers,
        totp_secret,
        enrolled,
        failed_logins,
        locked_until,
    ) = t;
    UserRow {
        username,
        display_name,
        password_hash,
        role,
        employers: employers
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        totp_secret,
        totp_enrolled: enrolled != 0,
        failed_logins,
        locked_until,
    }
}

const USER_COLUMNS: &str = "username, display_name, password_hash, role, employers, totp_secret, totp_enrolled, failed_logins, locked_until";

impl Store {
    /// Creates or replaces a user (password, role, employers); keeps nothing of an
    /// earlier user of the same name except that the TOTP enrolment is reset.
    pub async fn put_user(&self, user: &UserRow, now: jiff::Timestamp) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO web_users (insurer, username, display_name, password_hash, role, employers, totp_secret, totp_enrolled, failed_logins, locked_until, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, NULL, $9)
                 ON CONFLICT (insurer, username) DO UPDATE SET display_name = excluded.display_name,
                   password_hash = excluded.password_hash, role = excluded.role, employers = excluded.employers,
                   totp_secret = excluded.totp_secret, totp_enrolled = excluded.totp_enrolled, failed_logins = 0, locked_until = NULL",
            )
            .bind(&self.insurer).bind(&user.username).bind(&user.display_name).bind(&user.password_hash)
            .bind(&user.role).bind(user.employers.join(",")).bind(&user.totp_secret).bind(i64::from(user.totp_enrolled))
            .bind(now.to_string())
            .execute(p).await?;
        });
        Ok(())
    }

    /// One user.
    pub async fn user(&self, username: &str) -> Result<Option<UserRow>> {
        let row: Option<UserTuple> = on_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM web_users WHERE insurer = $1 AND username = $2")))
                .bind(&self.insurer).bind(username).fetch_optional(p).await?
        });
        Ok(row.map(user_row))
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRow>> {
        let rows: Vec<UserTuple> = on_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM web_users WHERE insurer = $1 ORDER BY username")))
                .bind(&self.insurer).fetch_all(p).await?
        });
        Ok(rows.into_iter().map(user_row).collect())
    }

    /// Sets (or clears, with `None`) a user's TOTP secret and enrolment.
    pub async fn set_user_totp(
        &self,
        username: &str,
        secret: Option<&str>,
        enrolled: bool,
    ) -> Result<()> {
        let n = on_pool!(self, p => {
            sqlx::query("UPDATE web_users SET totp_secret = $1, totp_enrolled = $2 WHERE insurer = $3 AND username = $4")
                .bind(secret).bind(i64::from(enrolled)).bind(&self.insurer).bind(username)
                .execute(p).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {username}")));
        }
        Ok(())
    }

    /// Counts a failed login; after `max_failures` the account is locked until
    /// `lock_until`. Returns the failures so far.
    pub async fn record_login_failure(
        &self,
        username: &str,
        max_failures: i64,
        lock_until: jiff::Timestamp,
    ) -> Result<i64> {
        let row: Option<(i64,)> = on_pool!(self, p => {
            sqlx::query_as(
                "UPDATE web_users SET failed_logins = failed_logins + 1,
                   locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END
                 WHERE insurer = $3 AND username = $4 RETURNING failed_logins",
            )
            .bind(max_failures).bind(lock_until.to_string()).bind(&self.insurer).bind(username)
            .fetch_optional(p).await?
        });
        Ok(row.map_or(0, |r| r.0))
    }

    /// Clears the failure count after a successful login (or after the lock expired).
    pub async fn reset_login_failures(&self, username: &str) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("UPDATE web_users SET failed_logins = 0, locked_until = NULL WHERE insurer = $1 AND username = $2")
                .bind(&self.insurer).bind(username).execute(p).await?;
        });
        Ok(())
    }

    /// Stores a new session.
    pub async fn create_session(
        &self,
        s: &SessionRow,
        origin: &str,
        now: jiff::Timestamp,
    ) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO web_sessions (id_hash, insurer, username, csrf, stage, pending_secret, origin, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&s.id_hash).bind(&self.insurer).bind(&s.username).bind(&s.csrf).bind(&s.stage)
            .bind(&s.pending_secret).bind(origin).bind(now.to_string()).bind(&s.expires_at)
            .execute(p).await?;
        });
        Ok(())
    }

    /// A session that has not expired at `now`.
    pub async fn session(&self, id_hash: &str, now: jiff::Timestamp) -> Result<Option<SessionRow>> {
        let row: Option<(String, String, String, String, Option<String>, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id_hash, username, csrf, stage, pending_secret, expires_at FROM web_sessions
                 WHERE id_hash = $1 AND insurer = $2",
            )
            .bind(id_hash).bind(&self.insurer).fetch_optional(p).await?
        });
        Ok(row
            .map(
                |(id_hash, username, csrf, stage, pending_secret, expires_at)| SessionRow {
                    id_hash,
                    username,
                    csrf,
                    stage,
                    pending_secret,
                    expires_at,
                },
            )
            .filter(|s| {
                s.expires_at
                    .parse::<jiff::Timestamp>()
                    .is_ok_and(|e| e > now)
            }))
    }

    /// Moves a session to another stage (second factor done) or offers a TOTP secret.
    pub async fn update_session(
        &self,
        id_hash: &str,
        stage: &str,
        pending_secret: Option<&str>,
    ) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("UPDATE web_sessions SET stage = $1, pending_secret = $2 WHERE id_hash = $3 AND insurer = $4")
                .bind(stage).bind(pending_secret).bind(id_hash).bind(&self.insurer).execute(p).await?;
        });
        Ok(())
    }

    /// Ends a session.
    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1 AND insurer = $2")
                .bind(id_hash).bind(&self.insurer).execute(p).await?;
        });
        Ok(())
    }

    /// Ends every session of a user (role change, TOTP reset) and expired sessions.
    pub async fn delete_sessions_of(&self, username: &str, now: jiff::Timestamp) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("DELETE FROM web_sessions WHERE insurer = $1 AND (username = $2 OR expires_at < $3)")
                .bind(&self.insurer).bind(username).bind(now.to_string()).execute(p).await?;
        });
        Ok(())
    }

    /// Stores an API token (its hash) for a user, optionally narrowed to one employer.
    pub async fn create_api_token(
        &self,
        token_hash: &str,
        username: &str,
        employer: Option<&str>,
        label: &str,
        now: jiff::Timestamp,
    ) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO api_tokens (token_hash, insurer, username, employer_code, label, created_at, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, NULL)",
            )
            .bind(token_hash).bind(&self.insurer).bind(username).bind(employer).bind(label).bind(now.to_string())
            .execute(p).await?;
        });
        Ok(())
    }

    /// The user (and employer narrowing) of a live API token.
    pub async fn api_token(&self, token_hash: &str) -> Result<Option<(String, Option<String>)>> {
        let row: Option<(String, Option<String>)> = on_pool!(self, p => {
            sqlx::query_as("SELECT username, employer_code FROM api_tokens WHERE token_hash = $1 AND insurer = $2 AND revoked_at IS NULL")
                .bind(token_hash).bind(&self.insurer).fetch_optional(p).await?
        });
        Ok(row)
    }

    /// Uploads about one employer, newest first.
    pub async fn submissions(
        &self,
        employer: &EmployerCode,
        limit: i64,
    ) -> Result<Vec<Submission>> {
        let rows: Vec<(i64, String, String, String, String, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, kind, file_name, imported_at, actor, summary FROM imports
                 WHERE insurer = $1 AND employer_code = $2 ORDER BY id DESC LIMIT $3",
            )
            .bind(&self.insurer).bind(employer.as_str()).bind(limit).fetch_all(p).await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(id, kind, file_name, imported_at, actor, summary)| Submission {
                    id,
                    kind,
                    file_name,
                    imported_at,
                    actor,
                    summary,
                },
            )
            .collect())
    }

    /// One upload, only if it belongs to `employer` (a foreign id is simply not found).
    pub async fn submission(&self, employer: &EmployerCode, id: i64) -> Result<Option<Submission>> {
        let row: Option<(i64, String, String, String, String, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, kind, file_name, imported_at, actor, summary FROM imports
                 WHERE insurer = $1 AND employer_code = $2 AND id = $3",
            )
            .bind(&self.insurer).bind(employer.as_str()).bind(id).fetch_optional(p).await?
        });
        Ok(row.map(
            |(id, kind, file_name, imported_at, actor, summary)| Submission {
                id,
                kind,
                file_name,
                imported_at,
                actor,
                summary,
            },
        ))
    }

    /// Referral rows an employer submitted, newest screening first.
    pub async fn referrals_of(
        &self,
        employer: &EmployerCode,
        limit: i64,
    ) -> Result<Vec<ReferralRow>> {
        let rows: Vec<(i64, String, String, String, String, String, i64)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT r.import_id, r.member_key, m.name_kanji, r.cancer, r.screening_date, r.received_on, r.late
                 FROM referrals r JOIN members m ON m.member_key = r.member_key
                 WHERE r.insurer = $1 AND r.employer_code = $2 ORDER BY r.screening_date DESC, r.id DESC LIMIT $3",
            )
            .bind(&self.insurer).bind(employer.as_str()).bind(limit).fetch_all(p).await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(import_id, member_key, name, cancer, screening_date, received_on, late)| {
                    ReferralRow {
                        import_id,
                        member_key,
                        name,
                        cancer,
                        screening_date,
                        received_on,
                        late: late != 0,
                    }
                },
            )
            .collect())
    }

    /// Members of an employer insured on `on`.
    pub async fn employer_population(&self, employer: &EmployerCode, on: Date) -> Result<i64> {
        let (n,): (i64,) = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT COUNT(*) FROM members WHERE insurer = $1 AND employer_code = $2
                 AND qualified_from <= $3 AND (qualified_until IS NULL OR qualified_until > $3)",
            )
            .bind(&self.insurer).bind(employer.as_str()).bind(on.to_string()).fetch_one(p).await?
        });
        Ok(n)
    }

    /// Checkups (exam date in `from..=to`) of the members currently registered with an
    /// employer, with the member. Checkups of members of other employers never appear.
    pub async fn employer_checkups(
        &self,
        employer: &EmployerCode,
        from: Date,
        to: Date,
    ) -> Result<Vec<(Member, Checkup)>> {
        let rows: Vec<(String, String, Option<String>, String, String, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT c.exam_date, c.source, c.submitted_by, c.observations, c.questionnaire, c.member_key
                 FROM checkups c JOIN members m ON m.member_key = c.member_key
                 WHERE m.insurer = $1 AND m.employer_code = $2 AND c.exam_date >= $3 AND c.exam_date <= $4
                 ORDER BY c.member_key, c.exam_date",
            )
            .bind(&self.insurer).bind(employer.as_str()).bind(from.to_string()).bind(to.to_string())
            .fetch_all(p).await?
        });
        let mut out = Vec::with_capacity(rows.len());
        let mut last: Option<Member> = None;
        for (exam_date, source, submitted_by, observations, questionnaire, member_key) in rows {
            let member = match last.as_ref() {
                Some(m) if m.key.to_key_string() == member_key => m.clone(),
                _ => {
                    let m = self
                        .member(&member_key)
                        .await?
                        .ok_or_else(|| StoreError::NotFound(format!("member {member_key}")))?;
                    last = Some(m.clone());
                    m
                }
            };
            let observations: Vec<Observation> =
                rows::json("checkups", "observations", &observations)?;
            let questionnaire: Questionnaire =
                rows::json("checkups", "questionnaire", &questionnaire)?;
            let checkup = Checkup {
                member: member.key.clone(),
                exam_date: rows::date("checkups", "exam_date", &exam_date)?,
                source: CheckupSource::from_code(&source)
                    .ok_or_else(|| rows::corrupt("checkups", "source", &source))?,
                submitted_by: submitted_by
                    .as_deref()
                    .map(EmployerCode::parse)
                    .transpose()
                    .map_err(|e| rows::corrupt("checkups", "submitted_by", e))?,
                observations,
                questionnaire,
            };
            out.push((member, checkup));
        }
        Ok(out)
    }

    /// A page of members of an employer (used by the load benchmark's id list too).
    pub async fn member_keys_sample(&self, limit: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT member_key FROM members WHERE insurer = $1 ORDER BY member_key LIMIT $2")
                .bind(&self.insurer).bind(limit).fetch_all(p).await?
        });
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// TEST ONLY: rewrites the detail of one audit record with raw SQL, to prove that
    /// [`Store::verify_audit`] detects an edited record. Never called by the product.
    #[doc(hidden)]
    pub async fn test_only_tamper_audit_detail(&self, id: i64, detail: &str) -> Result<u64> {
        let n = on_pool!(self, p => {
            sqlx::query("UPDATE audit_log SET detail = $1 WHERE id = $2 AND insurer = $3")
                .bind(detail).bind(id).bind(&self.insurer).execute(p).await?.rows_affected()
        });
        Ok(n)
    }
}
