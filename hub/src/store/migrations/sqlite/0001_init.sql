-- The hub's store: every inbound document, every canonical message with its routes,
-- every rejection. SQLite flavour; postgres/0001_init.sql must stay equivalent.

CREATE TABLE documents (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    province          TEXT    NOT NULL,  -- pinyin name of the inbound queue's province
    sha256            TEXT    NOT NULL,  -- of the raw bytes: a redelivered document is the same row
    raw               BLOB    NOT NULL,
    source_message_id TEXT,
    received_at       TEXT    NOT NULL,  -- RFC 3339, +08:00
    received_ms       INTEGER NOT NULL,
    UNIQUE (province, sha256)
);

CREATE TABLE messages (
    message_id        TEXT    PRIMARY KEY,
    document_id       INTEGER NOT NULL REFERENCES documents (id),
    province          TEXT    NOT NULL,  -- sender province code, "34"
    source_message_id TEXT    NOT NULL,
    record            INTEGER NOT NULL,
    kind              TEXT    NOT NULL,
    source_division   TEXT    NOT NULL,
    in_reply_to       TEXT,
    subject_id        TEXT,
    content_hash      TEXT    NOT NULL,  -- canonical JSON without received_at
    canonical         TEXT    NOT NULL,
    outcome           TEXT    NOT NULL,  -- routed | held
    warnings          TEXT    NOT NULL,  -- JSON array
    received_at       TEXT    NOT NULL,
    received_ms       INTEGER NOT NULL
);
CREATE INDEX messages_by_source ON messages (province, source_message_id, record);
CREATE INDEX messages_by_reply ON messages (in_reply_to);
CREATE INDEX messages_by_received ON messages (received_ms);

CREATE TABLE routes (
    message_id      TEXT    NOT NULL REFERENCES messages (message_id),
    target_division TEXT    NOT NULL,
    role            TEXT    NOT NULL,  -- owner | lead | assist
    destination     TEXT    NOT NULL,  -- province pinyin name, or padis
    routing_key     TEXT    NOT NULL,
    why             TEXT    NOT NULL,
    confirmed_at    TEXT,
    PRIMARY KEY (message_id, target_division, role)
);
CREATE INDEX routes_unconfirmed ON routes (message_id) WHERE confirmed_at IS NULL;

CREATE TABLE rejections (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id       INTEGER NOT NULL REFERENCES documents (id),
    record_key        INTEGER NOT NULL,  -- record index, or -1 for the whole document
    province          TEXT    NOT NULL,  -- pinyin name of the inbound queue's province
    source_message_id TEXT,
    message_id        TEXT,              -- canonical id of the rejected record, when known
    rejection_id      TEXT    NOT NULL,  -- message_id of the rejection notice
    reason            TEXT    NOT NULL,
    detail            TEXT    NOT NULL,
    notice            TEXT    NOT NULL,  -- the rejection notice (canonical JSON)
    notice_key        TEXT    NOT NULL,  -- its routing key
    dead_confirmed_at   TEXT,
    notice_confirmed_at TEXT,
    received_at       TEXT    NOT NULL,
    received_ms       INTEGER NOT NULL,
    UNIQUE (document_id, record_key)
);
CREATE INDEX rejections_by_received ON rejections (received_ms);
