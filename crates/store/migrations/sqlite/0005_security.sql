-- Security hardening of the portal (issue 11). Identical to the other dialect's
-- 0004_security.sql except where a comment says why.
-- * the second factor remembers the last accepted TOTP time step (no replay) and counts
--   its own failures, which a correct password does not reset;
-- * wrong passwords and codes are throttled per account and client address instead of
--   locking the account;
-- * API tokens are bound to the role and employers of their user at issue, expire, and
--   record when they were last used;
-- * employers' uploads are counted per day (the upload quota).

ALTER TABLE web_users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE web_users ADD COLUMN second_factor_failures BIGINT NOT NULL DEFAULT 0;

-- One row per throttled key: 'password:<user>@<address>', 'totp:<user>',
-- 'totp@<address>'. The user part is what was typed, known account or not, so the
-- throttle answers alike for both.
CREATE TABLE login_throttle (
    insurer TEXT NOT NULL,
    throttle_key TEXT NOT NULL,
    failures BIGINT NOT NULL,
    last_failure_at TEXT NOT NULL,
    blocked_until TEXT NOT NULL,
    PRIMARY KEY (insurer, throttle_key)
);

ALTER TABLE api_tokens ADD COLUMN role TEXT;
ALTER TABLE api_tokens ADD COLUMN employers TEXT;
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;
-- Tokens issued before this migration are bound to no role and never expire: they are
-- revoked (at their own issue time, the only instant this migration knows); admins
-- issue new ones.
UPDATE api_tokens SET revoked_at = created_at WHERE revoked_at IS NULL;
CREATE INDEX api_tokens_user ON api_tokens (insurer, username);

CREATE TABLE upload_counts (
    insurer TEXT NOT NULL,
    employer_code TEXT NOT NULL,
    day TEXT NOT NULL,
    uploads BIGINT NOT NULL,
    PRIMARY KEY (insurer, employer_code, day)
);
