-- Delivery reports (DOMAIN.md §6) aggregate in SQL: who each message is about, a
-- receipt's status, and each answer's time in working days become columns, so that no
-- report has to read every message's JSON. PostgreSQL flavour; sqlite/0003_reports.sql
-- must stay equivalent.

-- Who a message is about (from its canonical JSON; the store fills them on insert).
ALTER TABLE messages ADD COLUMN subject_name TEXT;
ALTER TABLE messages ADD COLUMN subject_sex TEXT;            -- GB/T 2261.1: 1 male, 2 female
ALTER TABLE messages ADD COLUMN subject_registration TEXT;   -- 户籍地 division
ALTER TABLE messages ADD COLUMN subject_residence TEXT;      -- 现居住地 division
ALTER TABLE messages ADD COLUMN spouse_name TEXT;
ALTER TABLE messages ADD COLUMN spouse_sex TEXT;
ALTER TABLE messages ADD COLUMN spouse_registration TEXT;
ALTER TABLE messages ADD COLUMN spouse_residence TEXT;
ALTER TABLE messages ADD COLUMN receipt_status TEXT;         -- a receipt's body.status: accepted | rejected

UPDATE messages SET
    subject_name         = (canonical::jsonb #>> '{subject,name}'),
    subject_sex          = (canonical::jsonb #>> '{subject,sex}'),
    subject_registration = (canonical::jsonb #>> '{subject,registration_division}'),
    subject_residence    = (canonical::jsonb #>> '{subject,residence_division}'),
    spouse_name          = (canonical::jsonb #>> '{spouse,name}'),
    spouse_sex           = (canonical::jsonb #>> '{spouse,sex}'),
    spouse_registration  = (canonical::jsonb #>> '{spouse,registration_division}'),
    spouse_residence     = (canonical::jsonb #>> '{spouse,residence_division}'),
    receipt_status       = CASE WHEN kind = 'receipt' THEN (canonical::jsonb #>> '{body,status}') END;

-- Working days after the received date up to and including the answer date (same day = 0),
-- stored when the answer closes the expectation. Rows answered before this migration are
-- filled in by the first report that needs them (the calendar is not SQL).
ALTER TABLE expectations ADD COLUMN answer_working_days BIGINT;

-- The report queries: everything is selected by received time first.
CREATE INDEX messages_report ON messages (received_ms, province, kind, message_id);
CREATE INDEX messages_women ON messages (received_ms, subject_sex, subject_residence, subject_id);
CREATE INDEX messages_women_spouses ON messages (spouse_sex, received_ms, spouse_residence, spouse_id);
CREATE INDEX messages_checks ON messages (kind, received_ms, subject_id);
CREATE INDEX expectations_report ON expectations
    (received_ms, sender_province, owner_province, kind, state, due_ms, answer_working_days);
CREATE INDEX expectations_owed ON expectations (owner_province, received_ms);
