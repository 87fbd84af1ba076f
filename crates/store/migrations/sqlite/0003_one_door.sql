-- One door (issue 9). Identical to the other dialect's 0003_one_door.sql except where a
-- comment says why.
-- * members know whether they are 本人 or 家族, and where they worked when;
-- * the audit chain is keyed (HMAC-SHA-256), numbered per society, and names every
--   person a record is about in audit_subjects;
-- * review rows name the person they are about, so an opt-out can purge them;
-- * employer aggregates are published (stored), not computed per request.

-- Rows imported before the register carried 本人家族 are 'unrecorded' (not shown to
-- employers) until the next register import says otherwise.
ALTER TABLE members ADD COLUMN relationship TEXT NOT NULL DEFAULT 'unrecorded';

CREATE TABLE employer_periods (
    insurer TEXT NOT NULL,
    member_key TEXT NOT NULL,
    employer_code TEXT NOT NULL,
    since TEXT NOT NULL,
    until TEXT
);
CREATE INDEX employer_periods_member ON employer_periods (member_key);
-- Until now only the current employer was known: it covers the whole 資格 period.
INSERT INTO employer_periods (insurer, member_key, employer_code, since, until)
    SELECT insurer, member_key, employer_code, qualified_from, NULL FROM members;

-- Records written before this migration were chained with plain SHA-256 ('sha256');
-- later ones with HMAC-SHA-256 under a key kept outside the database ('hmac1').
ALTER TABLE audit_log ADD COLUMN scheme TEXT NOT NULL DEFAULT 'sha256';
ALTER TABLE audit_log ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE audit_log SET seq = (
    SELECT COUNT(*) FROM audit_log a WHERE a.insurer = audit_log.insurer AND a.id <= audit_log.id
);
CREATE UNIQUE INDEX audit_log_seq ON audit_log (insurer, seq);
CREATE TABLE audit_subjects (
    audit_id BIGINT NOT NULL,
    insurer TEXT NOT NULL,
    member_key TEXT NOT NULL
);
CREATE INDEX audit_subjects_audit ON audit_subjects (audit_id);
CREATE INDEX audit_subjects_member ON audit_subjects (insurer, member_key);

ALTER TABLE review_items ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE review_items ADD COLUMN birth_date TEXT NOT NULL DEFAULT '';
ALTER TABLE review_items ADD COLUMN queued_at TEXT;
-- SQLite reads JSON with json_extract (PostgreSQL: the ->> operator on jsonb).
UPDATE review_items SET
    subject = CASE WHEN kind = 'address' THEN COALESCE(json_extract(payload, '$.member_key'), '')
        ELSE insurer || ':' || COALESCE(json_extract(payload, '$.symbol'), '') || ':'
            || COALESCE(json_extract(payload, '$.number'), '') || ':'
            || COALESCE(json_extract(payload, '$.branch'), '') END,
    birth_date = COALESCE(json_extract(payload, '$.birth_date'), '');
CREATE INDEX review_items_subject ON review_items (insurer, subject);

-- Which PDF part of its batch a letter is printed in (0-based), so a download of one
-- part names exactly the people in it.
ALTER TABLE letters ADD COLUMN part BIGINT NOT NULL DEFAULT 0;

-- A publication of one employer's aggregates for one fiscal year: the cells with their
-- counts and whether each may be shown, as the domain's suppression decided.
CREATE TABLE aggregate_publications (
    id INTEGER PRIMARY KEY, -- PG: BIGSERIAL
    insurer TEXT NOT NULL,
    employer_code TEXT NOT NULL,
    fiscal_year BIGINT NOT NULL,
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL,
    cells TEXT NOT NULL
);
CREATE INDEX aggregate_publications_employer ON aggregate_publications (insurer, employer_code, fiscal_year);
