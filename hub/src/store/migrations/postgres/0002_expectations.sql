-- Answers against deadlines: one expectation per owner that must answer a delivered
-- message, and the hub's own messages (reminders, escalations) with their delivery
-- state. PostgreSQL flavour; sqlite/0002_expectations.sql must stay equivalent.

ALTER TABLE messages ADD COLUMN spouse_id TEXT;

CREATE TABLE expectations (
    id                 BIGSERIAL PRIMARY KEY,
    message_id         TEXT    NOT NULL REFERENCES messages (message_id),
    kind               TEXT    NOT NULL,  -- the kind of the message that expects an answer
    sender_province    TEXT    NOT NULL,  -- code of the province that sent it
    sender_division    TEXT    NOT NULL,
    owner_province     TEXT    NOT NULL,  -- code of the province that must answer
    owner_division     TEXT    NOT NULL,
    answer_kinds       TEXT    NOT NULL,  -- comma-separated kinds that close it
    working_days       BIGINT  NOT NULL,
    received_at        TEXT    NOT NULL,
    received_ms        BIGINT  NOT NULL,
    due_at             TEXT    NOT NULL,  -- end of the last working day, +08:00
    due_ms             BIGINT  NOT NULL,
    calendar_uncovered BIGINT  NOT NULL,  -- 1: computed on weekends only (year not in the calendar)
    state              TEXT    NOT NULL,  -- open | overdue | answered_on_time | answered_late
    step               BIGINT  NOT NULL DEFAULT 0,  -- reminder steps taken
    next_step_ms       BIGINT  NOT NULL,  -- when the next reminder step is due
    answer_id          TEXT,
    answered_at        TEXT,
    answered_ms        BIGINT, 
    UNIQUE (message_id, owner_division)
);
CREATE INDEX expectations_due ON expectations (state, next_step_ms);
CREATE INDEX expectations_owner ON expectations (owner_province, state);

CREATE TABLE hub_messages (
    message_id      TEXT    PRIMARY KEY,  -- UUIDv5 of yipanqi:hub:<kind>:<concerning>:<owner>:<step>
    kind            TEXT    NOT NULL,     -- reminder | escalation
    expectation_id  BIGINT  NOT NULL REFERENCES expectations (id),
    step            BIGINT  NOT NULL,
    canonical       TEXT    NOT NULL,
    destination     TEXT    NOT NULL,     -- province pinyin name, or coordination
    routing_key     TEXT    NOT NULL,
    target_division TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    created_ms      BIGINT  NOT NULL,
    lease_ms        BIGINT  NOT NULL,     -- who publishes: the creator now, any instance after this time
    confirmed_at    TEXT
);
CREATE INDEX hub_messages_unconfirmed ON hub_messages (lease_ms) WHERE confirmed_at IS NULL;

CREATE TABLE calendar_years (
    year        BIGINT  PRIMARY KEY,   -- a year imported with `yipanqi calendar import`
    schedule    TEXT    NOT NULL,      -- the holiday-cn JSON document
    imported_at TEXT    NOT NULL
);
