-- Scale (issue 15). The engine's watermark: the day of a society's last complete run
-- and the audit sequence number reached when it began. A run on the same day with no
-- audited change since (only reads, logins, refusals) changes nothing, so it is
-- skipped; a new day, or any change, runs everyone again.
-- Identical on SQLite and PostgreSQL.
CREATE TABLE engine_marks (
    insurer TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    audit_seq BIGINT NOT NULL
);
