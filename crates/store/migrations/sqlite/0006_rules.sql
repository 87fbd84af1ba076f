-- Rules as the MHLW and the law write them (issue 12). Identical to the other dialect's
-- 0006_rules.sql.
-- * the 共同利用 declaration (個人情報保護法 第27条第5項第3号) as a versioned record: the
--   five items, effective dates and where it is published, as one JSON document per
--   version; employer sharing is refused while none is in force.

CREATE TABLE joint_use_declarations (
    insurer TEXT NOT NULL,
    version BIGINT NOT NULL,
    effective_from TEXT NOT NULL,
    declaration TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (insurer, version)
);
