-- Information sharing (issue: profiles, certificates, access control, audit).
-- PostgreSQL flavour; sqlite/0004_access.sql must stay equivalent.

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
    cert_no   = (canonical::jsonb #>> '{body,cert_no}'),
    cert_date = COALESCE(canonical::jsonb #>> '{body,issued_on}', canonical::jsonb #>> '{body,verified_on}')
WHERE kind IN ('marriage_cert_issued', 'marriage_cert_verified', 'marriage_cert_reissued');
CREATE INDEX messages_by_cert ON messages (cert_no);
CREATE INDEX messages_certs ON messages (kind, source_division, cert_date);

-- Every lookup, allowed or refused. Append-only: the hub offers no way to change a row,
-- and the database refuses UPDATE, DELETE and TRUNCATE.
CREATE TABLE audit (
    id           BIGSERIAL PRIMARY KEY,
    at           TEXT    NOT NULL,   -- RFC 3339, +08:00
    at_ms        BIGINT  NOT NULL,
    client       TEXT    NOT NULL,   -- the API client's name or the broker user; '-' if unknown
    role         TEXT,               -- province | coordination | ops; NULL if unidentified
    province     TEXT,               -- pinyin name, for the province role
    channel      TEXT    NOT NULL,   -- http | amqp
    action       TEXT    NOT NULL,   -- profile | certificates | report | trace | expectations | messages | audit
    subject_hash TEXT,               -- HMAC-SHA256 (the audit key) of the 18-digit ID number asked about
    target       TEXT,               -- what else was asked, without personal data
    allowed      BIGINT  NOT NULL,   -- 1 answered, 0 refused
    reason       TEXT    NOT NULL,   -- 'allowed' or the refusal's reason code
    detail       TEXT    NOT NULL
);
CREATE INDEX audit_by_time ON audit (at_ms);
CREATE INDEX audit_by_subject ON audit (subject_hash);

-- The key of the audit's keyed hashes, when the operator gives none: made once, shared by
-- every hub instance on this database, never changed.
CREATE TABLE audit_key (
    id  BIGINT PRIMARY KEY CHECK (id = 1),
    key TEXT   NOT NULL
);

CREATE FUNCTION yipanqi_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION yipanqi_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION yipanqi_append_only();
CREATE TRIGGER audit_key_append_only BEFORE UPDATE OR DELETE ON audit_key
    FOR EACH ROW EXECUTE FUNCTION yipanqi_append_only();
CREATE TRIGGER audit_key_no_truncate BEFORE TRUNCATE ON audit_key
    FOR EACH STATEMENT EXECUTE FUNCTION yipanqi_append_only();
