-- No wrong letter (issue 10). Identical to the other dialect's 0004_no_wrong_letter.sql
-- except where a comment says why.
-- * claims completeness is data: every claims file's stream (医科, DPC, 歯科, 調剤),
--   regular service month and volume, and the months staff closed or reopened by hand;
-- * a letter can leave its batch (removed before printing, or 差止 after), letters of
--   one person in one batch share an envelope, and a batch knows its parts and whether
--   its PDF was handed out.

-- One row per claims file (and service month, for rows carried over from before).
CREATE TABLE claims_arrivals (
    insurer TEXT NOT NULL,
    import_id BIGINT NOT NULL,
    stream TEXT NOT NULL,
    month TEXT NOT NULL,
    volume BIGINT NOT NULL,
    final_volume BIGINT NOT NULL,
    regular_claims BIGINT NOT NULL,
    arrived_on TEXT NOT NULL,
    file_name TEXT NOT NULL,
    PRIMARY KEY (insurer, import_id, month)
);
CREATE INDEX claims_arrivals_month ON claims_arrivals (insurer, stream, month);
-- Until now a month counted as covered on its first file, whatever its kind. Those rows
-- become single-volume arrivals of the stream the file name says (RECEIPTD = DPC, else
-- 医科): with four streams expected, such a month waits for the other three (or for
-- staff to close them by hand) instead of counting as complete.
INSERT INTO claims_arrivals (insurer, import_id, stream, month, volume, final_volume, regular_claims, arrived_on, file_name)
    SELECT c.insurer, c.import_id,
        CASE WHEN UPPER(i.file_name) LIKE 'RECEIPTD%' THEN 'dpc' ELSE 'medical' END,
        c.month, 0, 1, 1, SUBSTR(i.imported_at, 1, 10), i.file_name
    FROM claims_coverage c JOIN imports i ON i.id = c.import_id;
DROP TABLE claims_coverage;

-- Manual closes (a stream with no claims that month) and reopens, with the reason.
CREATE TABLE claims_month_actions (
    id BIGSERIAL PRIMARY KEY, -- SQLite: INTEGER PRIMARY KEY (its rowid)
    insurer TEXT NOT NULL,
    stream TEXT NOT NULL,
    month TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    on_date TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX claims_month_actions_month ON claims_month_actions (insurer, month);

-- A letter's envelope in its batch (one per person), where it lies in the PDF parts,
-- and whether it was withdrawn: 'active', 'removed' (the files were re-made without
-- it) or 'stopped' (差止: printed already, to be taken out before mailing).
ALTER TABLE letters ADD COLUMN envelope BIGINT NOT NULL DEFAULT 0;
UPDATE letters SET envelope = seq;
ALTER TABLE letters ADD COLUMN first_page BIGINT NOT NULL DEFAULT 0;
ALTER TABLE letters ADD COLUMN pages BIGINT NOT NULL DEFAULT 0;
ALTER TABLE letters ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE letters ADD COLUMN withdrawn_on TEXT;
ALTER TABLE letters ADD COLUMN withdrawn_reason TEXT;

-- The batch's PDF parts, when its PDF was first handed out (downloaded), and whether
-- its files still show a letter that was withdrawn since.
ALTER TABLE letter_batches ADD COLUMN parts BIGINT NOT NULL DEFAULT 0;
UPDATE letter_batches SET parts = (SELECT COALESCE(MAX(part), 0) + 1 FROM letters WHERE letters.batch_id = letter_batches.id);
ALTER TABLE letter_batches ADD COLUMN handed_out_on TEXT;
ALTER TABLE letter_batches ADD COLUMN files_stale BIGINT NOT NULL DEFAULT 0;
