-- Core schema of Collabo. Identical to migrations/sqlite/0001_core.sql except where a
-- comment says why. Every table with personal data carries `insurer` (保険者番号) so
-- one PostgreSQL can serve several societies (partition by insurer).
-- Dates are ISO 8601 TEXT on both backends; the domain converts at the boundary.
-- Claims are stored only as visit facts: there is deliberately no column for a
-- diagnosis, procedure or drug code, a name, an amount or points.

CREATE TABLE society_settings (
    insurer TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (insurer, key)
);

CREATE TABLE employers (
    insurer TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    contact TEXT NOT NULL,
    PRIMARY KEY (insurer, code)
);

CREATE TABLE agreements (
    id BIGSERIAL PRIMARY KEY, -- SQLite: INTEGER PRIMARY KEY (rowid alias)
    insurer TEXT NOT NULL,
    employer_code TEXT NOT NULL,
    programme TEXT NOT NULL,
    status TEXT NOT NULL,
    signed_on TEXT,
    ended_on TEXT
);
CREATE INDEX agreements_employer ON agreements (insurer, employer_code);

CREATE TABLE members (
    member_key TEXT PRIMARY KEY,
    insurer TEXT NOT NULL,
    symbol TEXT NOT NULL,
    number TEXT NOT NULL,
    branch TEXT NOT NULL,
    name_kanji TEXT NOT NULL,
    name_kana TEXT NOT NULL,
    sex TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    address1 TEXT NOT NULL,
    address2 TEXT NOT NULL,
    employer_code TEXT NOT NULL,
    qualified_from TEXT NOT NULL,
    qualified_until TEXT
);
CREATE INDEX members_card ON members (insurer, symbol, number);
CREATE INDEX members_employer ON members (insurer, employer_code);

-- Every file imported, by content hash: importing the same file twice changes nothing.
CREATE TABLE imports (
    id BIGSERIAL PRIMARY KEY, -- SQLite: INTEGER PRIMARY KEY (rowid alias)
    insurer TEXT NOT NULL,
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    employer_code TEXT,
    imported_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    summary TEXT NOT NULL,
    UNIQUE (insurer, kind, sha256)
);

CREATE TABLE consents (
    id BIGSERIAL PRIMARY KEY, -- SQLite: INTEGER PRIMARY KEY (rowid alias)
    insurer TEXT NOT NULL,
    member_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    effective TEXT NOT NULL,
    channel TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX consents_member ON consents (member_key);

-- What remains of a person's employer-sourced data after an opt-out purge.
CREATE TABLE tombstones (
    member_key TEXT PRIMARY KEY,
    insurer TEXT NOT NULL,
    since TEXT NOT NULL,
    scope TEXT NOT NULL,
    purged_at TEXT NOT NULL
);

CREATE TABLE checkups (
    id BIGSERIAL PRIMARY KEY, -- SQLite: INTEGER PRIMARY KEY (rowid alias)
    insurer TEXT NOT NULL,
    member_key TEXT NOT NULL,
    exam_date TEXT NOT NULL,
    source TEXT NOT NULL,
    submitted_by TEXT,
    import_id BIGINT NOT NULL,
    observations TEXT NOT NULL,
    questionnaire TEXT NOT NULL,
    unknown_items TEXT NOT NULL,
    UNIQUE (member_key, exam_date, source)
);

CREATE TABLE referrals (
    id BIGSERIAL PRIMARY KEY, -- SQLite: INTEGER PRIMARY KEY (rowid alias)
    insurer TEXT NOT NULL,
    member_key TEXT NOT NULL,
    employer_code TEXT NOT NULL,
    cancer TEXT NOT NULL,
    screening_date TEXT NOT NULL,
    received_on TEXT NOT NULL,
    consent_attested BIGINT NOT NULL,
    late BIGINT NOT NULL,
    import_id BIGINT NOT NULL,
    UNIQUE (member_key, cancer, screening_date)
);
CREATE INDEX referrals_employer ON referrals (insurer, employer_code);

-- Rows that did not match the register cleanly, waiting for staff.
CREATE TABLE review_items (
    id BIGSERIAL PRIMARY KEY, -- SQLite: INTEGER PRIMARY KEY (rowid alias)
    insurer TEXT NOT NULL,
    import_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    employer_code TEXT,
    line BIGINT NOT NULL,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    resolved_member_key TEXT,
    resolved_by TEXT,
    resolved_at TEXT
);
CREATE INDEX review_items_status ON review_items (insurer, status);

-- Visit facts: who, when, where, which groups. Nothing else from claims.
CREATE TABLE visits (
    id BIGSERIAL PRIMARY KEY, -- SQLite: INTEGER PRIMARY KEY (rowid alias)
    insurer TEXT NOT NULL,
    member_key TEXT NOT NULL,
    service_day TEXT,
    service_month TEXT NOT NULL,
    institution TEXT NOT NULL,
    evidence TEXT NOT NULL,
    import_id BIGINT NOT NULL
);
CREATE INDEX visits_member ON visits (member_key);

CREATE TABLE claims_coverage (
    insurer TEXT NOT NULL,
    month TEXT NOT NULL,
    import_id BIGINT NOT NULL,
    PRIMARY KEY (insurer, month)
);

CREATE TABLE programme_settings (
    insurer TEXT NOT NULL,
    programme TEXT NOT NULL,
    from_year BIGINT NOT NULL,
    settings TEXT NOT NULL,
    PRIMARY KEY (insurer, programme, from_year)
);

CREATE TABLE cases (
    case_key TEXT PRIMARY KEY,
    insurer TEXT NOT NULL,
    programme TEXT NOT NULL,
    member_key TEXT NOT NULL,
    employer_code TEXT NOT NULL,
    trigger_date TEXT NOT NULL,
    fiscal_year BIGINT NOT NULL,
    state TEXT NOT NULL,
    opened_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX cases_member ON cases (member_key);
CREATE INDEX cases_state ON cases (insurer, programme, state);

CREATE TABLE case_events (
    case_key TEXT NOT NULL,
    seq BIGINT NOT NULL,
    on_date TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (case_key, seq)
);

CREATE TABLE letter_batches (
    id TEXT PRIMARY KEY,
    insurer TEXT NOT NULL,
    prepared_on TEXT NOT NULL,
    status TEXT NOT NULL,
    letters BIGINT NOT NULL,
    pdf_path TEXT,
    csv_path TEXT,
    mailed_on TEXT,
    cancelled_on TEXT
);

CREATE TABLE letters (
    batch_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    case_key TEXT NOT NULL,
    member_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (batch_id, seq)
);
CREATE INDEX letters_case ON letters (case_key);

-- Append-only, hash-chained: each row's hash covers the previous row's hash.
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY, -- SQLite: INTEGER PRIMARY KEY (rowid alias)
    insurer TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    member_key TEXT,
    employer_code TEXT,
    detail TEXT NOT NULL,
    origin TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- The societies this database serves (one row for an embedded SQLite).
CREATE TABLE societies (
    insurer TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    section TEXT NOT NULL,
    address TEXT NOT NULL,
    phone TEXT NOT NULL
);
