-- Information sharing (issue: profiles, certificates, access control, audit).
-- SQLite flavour; postgres/0004_access.sql must stay equivalent.

-- A person's messages are found by her ID number, as subject or as spouse.
CREATE INDEX messages_by_subject ON messages (subject_id, received_ms);
CREATE INDEX messages_by_spouse ON messages (spouse_id, received_ms);

-- A rejected record's kind, when its business type could be read (metrics, status page).
ALTER TABLE rejections ADD COLUMN kind TEXT;

-- Traces find rejections by the notice's id or the rejected record's id.
CREATE INDEX rejections_by_id ON rejections (rejection_id);
CREATE INDEX rejections_by_message ON rejections (message_id);

-- 《婚育证明》 records are listed by number, or by the issuing division and date.
ALTER TABLE messages ADD COLUMN cert_no TEXT;     -- body.cert_no of marriage_cert_* kinds
ALTER TABLE messages ADD COLUMN cert_date TEXT;   -- issued_on, or verified_on for a verification
UPDATE messages SET
    cert_no   = json_extract(canonical, '$.body.cert_no'),
    cert_date = COALESCE(json_extract(canonical, '$.body.issued_on'), json_extract(canonical, '$.body.verified_on'))
WHERE kind IN ('marriage_cert_issued', 'marriage_cert_verified', 'marriage_cert_reissued');
CREATE INDEX messages_by_cert ON messages (cert_no);
CREATE INDEX messages_certs ON messages (kind, source_division, cert_date);

-- Every lookup, allowed or refused. Append-only: the hub offers no way to change a row,
-- and the database refuses UPDATE and DELETE.
CREATE TABLE audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT    NOT NULL,   -- RFC 3339, +08:00
    at_ms        INTEGER NOT NULL,
    client       TEXT    NOT NULL,   -- the API client's name or the broker user; '-' if unknown
    role         TEXT,               -- province | coordination | ops; NULL if unidentified
    province     TEXT,               -- pinyin name, for the province role
    channel      TEXT    NOT NULL,   -- http | amqp
    action       TEXT    NOT NULL,   -- profile | certificates | report | trace | expectations | messages | audit
    subject_hash TEXT,               -- HMAC-SHA256 (the audit key) of the 18-digit ID number asked about
    target       TEXT,               -- what else was asked, without personal data
    allowed      INTEGER NOT NULL,   -- 1 answered, 0 refused
    reason       TEXT    NOT NULL,   -- 'allowed' or the refusal's reason code
    detail       TEXT    NOT NULL
);
CREATE INDEX audit_by_time ON audit (at_ms);
CREATE INDEX audit_by_subject ON audit (subject_hash);

-- The key of the audit's keyed hashes, when the operator gives none: made once, shared by
-- every hub process on this database, never changed.
CREATE TABLE audit_key (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    key TEXT    NOT NULL
);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'table audit is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'table audit is append-only: DELETE refused'); END;
CREATE TRIGGER audit_key_no_update BEFORE UPDATE ON audit_key
BEGIN SELECT RAISE(ABORT, 'table audit_key is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_key_no_delete BEFORE DELETE ON audit_key
BEGIN SELECT RAISE(ABORT, 'table audit_key is append-only: DELETE refused'); END;
