-- Portal (crates/web): users, sessions, API tokens. Identical to
-- migrations/postgres/0002_portal.sql except where a comment says why.
-- Every table carries `insurer` so one PostgreSQL can serve several societies.
-- Secrets are stored hashed (argon2id for passwords, SHA-256 for session ids and API
-- tokens); only the TOTP secret is stored as is, because verifying a code needs it.

CREATE TABLE web_users (
    insurer TEXT NOT NULL,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    employers TEXT NOT NULL,
    totp_secret TEXT,
    totp_enrolled BIGINT NOT NULL,
    failed_logins BIGINT NOT NULL,
    locked_until TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (insurer, username)
);

CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    insurer TEXT NOT NULL,
    username TEXT NOT NULL,
    csrf TEXT NOT NULL,
    stage TEXT NOT NULL,
    pending_secret TEXT,
    origin TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (insurer, username);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    insurer TEXT NOT NULL,
    username TEXT NOT NULL,
    employer_code TEXT,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- The staff dashboard and the employer pages read these often.
CREATE INDEX imports_employer ON imports (insurer, employer_code);
CREATE INDEX checkups_member_date ON checkups (member_key, exam_date);
CREATE INDEX audit_log_insurer ON audit_log (insurer, id);
