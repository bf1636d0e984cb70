//! Persistence of expectations (answers owed against deadlines) and of the hub's own
//! messages (reminders, escalations). The state lives here, not in memory, so that a
//! restart or a second hub instance on the same PostgreSQL database takes each reminder
//! step exactly once: a step is taken by the one update that moves `step` from n to n+1.

use super::{Store, StoreError, StoreTx};
use chrono::{DateTime, FixedOffset};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

/// An expectation to open.
#[derive(Debug, Clone)]
pub struct NewExpectation {
    /// The message that expects an answer.
    pub message_id: Uuid,
    /// Its kind.
    pub kind: String,
    /// Code of the province that sent it.
    pub sender_province: String,
    /// The division that sent it.
    pub sender_division: String,
    /// Code of the province that must answer.
    pub owner_province: String,
    /// The division that must answer.
    pub owner_division: String,
    /// Kinds that close it.
    pub answer_kinds: Vec<String>,
    /// The deadline in working days.
    pub working_days: u32,
    /// When the message was received.
    pub received_at: DateTime<FixedOffset>,
    /// End of the last working day.
    pub due_at: DateTime<FixedOffset>,
    /// Computed on weekends only: the year is not in the calendar.
    pub calendar_uncovered: bool,
}

/// A stored expectation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Expectation {
    /// Row id.
    pub id: i64,
    /// The message that expects an answer.
    pub message_id: String,
    /// Its kind.
    pub kind: String,
    /// Code of the sending province.
    pub sender_province: String,
    /// The sending division.
    pub sender_division: String,
    /// Code of the owing province.
    pub owner_province: String,
    /// The owing division.
    pub owner_division: String,
    /// Kinds that close it.
    pub answer_kinds: Vec<String>,
    /// Deadline in working days.
    pub working_days: i64,
    /// When the message was received (RFC 3339).
    pub received_at: String,
    /// The deadline (RFC 3339, end of day +08:00).
    pub due_at: String,
    /// Milliseconds of the deadline.
    #[serde(skip)]
    pub due_ms: i64,
    /// The due date was computed on weekends only (year not in the calendar).
    pub calendar_uncovered: bool,
    /// open | overdue | answered_on_time | answered_late.
    pub state: String,
    /// Reminder steps taken.
    pub step: i64,
    /// When the next reminder step is due (milliseconds).
    #[serde(skip)]
    pub next_step_ms: i64,
    /// The answer that closed it.
    pub answer_id: Option<String>,
    /// When that answer was received.
    pub answered_at: Option<String>,
    /// The sender's own id of the message (the number a province will quote).
    pub source_message_id: String,
}

/// A reminder or escalation to store and publish.
#[derive(Debug, Clone)]
pub struct NewHubMessage {
    /// Its id.
    pub message_id: Uuid,
    /// `reminder` or `escalation`.
    pub kind: String,
    /// The expectation it is about.
    pub expectation_id: i64,
    /// The step.
    pub step: i64,
    /// Canonical JSON.
    pub canonical: String,
    /// Province pinyin name or `coordination`.
    pub destination: String,
    /// Routing key.
    pub routing_key: String,
    /// Target division (`x-yipanqi-target`).
    pub target_division: String,
}

/// A stored hub message whose publication is not confirmed.
#[derive(Debug, Clone)]
pub struct PendingHubMessage {
    /// Its id.
    pub message_id: Uuid,
    /// `reminder` or `escalation`.
    pub kind: String,
    /// Canonical JSON.
    pub canonical: String,
    /// Routing key.
    pub routing_key: String,
    /// Target division.
    pub target_division: String,
    /// The message the reminder is about (`correlation_id`).
    pub concerning: String,
}

/// Filters for listing expectations.
#[derive(Debug, Clone, Default)]
pub struct ExpectationFilter {
    /// Only this state.
    pub state: Option<String>,
    /// Only those owed by, or owed to, this province code.
    pub province: Option<String>,
    /// Only those of this message.
    pub message_id: Option<String>,
    /// Only those of messages about this person (18-digit ID number, subject or spouse).
    pub person: Option<String>,
    /// At most this many (newest first).
    pub limit: Option<i64>,
}

/// The columns [`expectation`] reads, from `expectations e` joined with the message `m`.
const COLUMNS: &str = "e.id, e.message_id, e.kind, e.sender_province, e.sender_division, \
    e.owner_province, e.owner_division, e.answer_kinds, e.working_days, e.received_at, e.due_at, \
    e.due_ms, e.calendar_uncovered, e.state, e.step, e.next_step_ms, e.answer_id, e.answered_at, \
    m.source_message_id";
const FROM: &str = "FROM expectations e JOIN messages m ON m.message_id = e.message_id";

fn expectation(row: &AnyRow) -> Result<Expectation, sqlx::Error> {
    let kinds: String = row.try_get(7)?;
    Ok(Expectation {
        id: row.try_get(0)?,
        message_id: row.try_get(1)?,
        kind: row.try_get(2)?,
        sender_province: row.try_get(3)?,
        sender_division: row.try_get(4)?,
        owner_province: row.try_get(5)?,
        owner_division: row.try_get(6)?,
        answer_kinds: kinds.split(',').map(str::to_string).collect(),
        working_days: row.try_get(8)?,
        received_at: row.try_get(9)?,
        due_at: row.try_get(10)?,
        due_ms: row.try_get(11)?,
        calendar_uncovered: row.try_get::<i64, _>(12)? == 1,
        state: row.try_get(13)?,
        step: row.try_get(14)?,
        next_step_ms: row.try_get(15)?,
        answer_id: row.try_get(16)?,
        answered_at: row.try_get(17)?,
        source_message_id: row.try_get(18)?,
    })
}

/// How an answer changed its expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// It closed this expectation, on time or late.
    Closed {
        /// The expectation.
        id: i64,
        /// `answered_on_time` or `answered_late`.
        state: String,
    },
    /// The expectation was closed already: the answer changes nothing.
    AlreadyClosed,
    /// No expectation waits for this answer.
    NoneOpen,
}

impl StoreTx {
    /// Opens an expectation (once per message and owner).
    pub async fn insert_expectation(&mut self, e: &NewExpectation) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO expectations (message_id, kind, sender_province, sender_division, owner_province, \
             owner_division, answer_kinds, working_days, received_at, received_ms, due_at, due_ms, \
             calendar_uncovered, state, step, next_step_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'open', 0, $12) \
             ON CONFLICT (message_id, owner_division) DO NOTHING",
        )
        .bind(e.message_id.to_string())
        .bind(&e.kind)
        .bind(&e.sender_province)
        .bind(&e.sender_division)
        .bind(&e.owner_province)
        .bind(&e.owner_division)
        .bind(e.answer_kinds.join(","))
        .bind(i64::from(e.working_days))
        .bind(e.received_at.to_rfc3339())
        .bind(e.received_at.timestamp_millis())
        .bind(e.due_at.to_rfc3339())
        .bind(e.due_at.timestamp_millis())
        .bind(i64::from(e.calendar_uncovered))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The provinces (codes) a stored message was delivered to inside the region: those
    /// entitled to answer it.
    pub async fn delivered_provinces(
        &mut self,
        message_id: Uuid,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT substr(target_division, 1, 2) FROM routes \
             WHERE message_id = $1 AND destination <> 'padis'",
        )
        .bind(message_id.to_string())
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    /// Closes the expectation an answer fulfils: of the message it answers, owed by the
    /// answering province, waiting for this kind — the answering division's own first.
    /// `answer_working_days` turns the original's receipt time into the answer time in
    /// working days (DOMAIN.md §6), stored so that reports aggregate it in SQL.
    #[allow(clippy::too_many_arguments)]
    pub async fn close_expectation(
        &mut self,
        original: Uuid,
        province: &str,
        division: &str,
        kind: &str,
        answer_id: Uuid,
        received_at: DateTime<FixedOffset>,
        answer_working_days: &(dyn Fn(DateTime<FixedOffset>) -> i64 + Send + Sync),
    ) -> Result<Closed, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} {FROM} WHERE e.message_id = $1 AND e.owner_province = $2 \
             ORDER BY CASE WHEN e.owner_division = $3 THEN 0 ELSE 1 END, e.id"
        ))
        .bind(original.to_string())
        .bind(province)
        .bind(division)
        .fetch_all(&mut *self.tx)
        .await?;
        let candidates: Vec<Expectation> = rows
            .iter()
            .map(expectation)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|e| e.answer_kinds.iter().any(|k| k == kind))
            .collect();
        let Some(open) = candidates
            .iter()
            .find(|e| e.state == "open" || e.state == "overdue")
        else {
            return Ok(if candidates.is_empty() {
                Closed::NoneOpen
            } else {
                Closed::AlreadyClosed
            });
        };
        let state = if received_at.timestamp_millis() <= open.due_ms {
            "answered_on_time"
        } else {
            "answered_late"
        };
        let days = DateTime::parse_from_rfc3339(&open.received_at)
            .ok()
            .map(answer_working_days);
        sqlx::query(
            "UPDATE expectations SET state = $1, answer_id = $2, answered_at = $3, answered_ms = $4, \
             answer_working_days = $6 WHERE id = $5 AND state IN ('open', 'overdue')",
        )
        .bind(state)
        .bind(answer_id.to_string())
        .bind(received_at.to_rfc3339())
        .bind(received_at.timestamp_millis())
        .bind(open.id)
        .bind(days)
        .execute(&mut *self.tx)
        .await?;
        Ok(Closed::Closed {
            id: open.id,
            state: state.to_string(),
        })
    }

    /// Takes reminder step `step` of an expectation: marks it overdue and sets when the
    /// next step is due. `false` if another instance took the step first.
    pub async fn take_step(
        &mut self,
        id: i64,
        step: i64,
        next_step_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE expectations SET step = $1, state = 'overdue', next_step_ms = $2 \
             WHERE id = $3 AND step = $4 AND state IN ('open', 'overdue')",
        )
        .bind(step)
        .bind(next_step_ms)
        .bind(id)
        .bind(step - 1)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a reminder or escalation; `lease_ms` is when another instance may publish
    /// it if this one has not confirmed it by then.
    pub async fn insert_hub_message(
        &mut self,
        m: &NewHubMessage,
        now: DateTime<FixedOffset>,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO hub_messages (message_id, kind, expectation_id, step, canonical, destination, \
             routing_key, target_division, created_at, created_ms, lease_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(m.message_id.to_string())
        .bind(&m.kind)
        .bind(m.expectation_id)
        .bind(m.step)
        .bind(&m.canonical)
        .bind(&m.destination)
        .bind(&m.routing_key)
        .bind(&m.target_division)
        .bind(now.to_rfc3339())
        .bind(now.timestamp_millis())
        .bind(lease_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// Open or overdue expectations whose next reminder step is due at `now_ms`.
    pub async fn due_expectations(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<Expectation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} {FROM} WHERE e.state IN ('open', 'overdue') \
             AND e.next_step_ms < $1 ORDER BY e.next_step_ms, e.id LIMIT $2"
        ))
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(expectation).collect::<Result<_, _>>()?)
    }

    /// Claims unconfirmed hub messages whose lease has run out (their creator crashed
    /// before the broker confirmed them), extending the lease to `lease_ms`.
    pub async fn claim_unconfirmed_hub_messages(
        &self,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<PendingHubMessage>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT h.message_id, h.kind, h.canonical, h.routing_key, h.target_division, e.message_id \
             FROM hub_messages h JOIN expectations e ON e.id = h.expectation_id \
             WHERE h.confirmed_at IS NULL AND h.lease_ms < $1 ORDER BY h.created_ms LIMIT 500",
        )
        .bind(now_ms)
        .fetch_all(&mut *tx.tx)
        .await?;
        let mut claimed = Vec::new();
        for row in rows {
            let id: String = row.try_get(0)?;
            let done = sqlx::query(
                "UPDATE hub_messages SET lease_ms = $1 WHERE message_id = $2 AND confirmed_at IS NULL AND lease_ms < $3",
            )
            .bind(lease_ms)
            .bind(&id)
            .bind(now_ms)
            .execute(&mut *tx.tx)
            .await?;
            if done.rows_affected() == 1 {
                claimed.push(PendingHubMessage {
                    message_id: Uuid::parse_str(&id)
                        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                    kind: row.try_get(1)?,
                    canonical: row.try_get(2)?,
                    routing_key: row.try_get(3)?,
                    target_division: row.try_get(4)?,
                    concerning: row.try_get(5)?,
                });
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records the broker's confirms of hub messages.
    pub async fn confirm_hub_messages(
        &self,
        ids: &[Uuid],
        at: DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for chunk in ids.chunks(super::CONFIRM_CHUNK) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "UPDATE hub_messages SET confirmed_at = $1 WHERE confirmed_at IS NULL AND message_id IN ({})",
                list.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(at.to_rfc3339());
            for id in chunk {
                query = query.bind(id.to_string());
            }
            query.execute(&mut *tx.tx).await?;
        }
        tx.commit().await
    }

    /// Lists expectations, newest first.
    pub async fn expectations(
        &self,
        filter: &ExpectationFilter,
    ) -> Result<Vec<Expectation>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} {FROM} WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        if let Some(state) = &filter.state {
            binds.push(state.clone());
            sql.push_str(&format!(" AND e.state = ${}", binds.len()));
        }
        if let Some(p) = &filter.province {
            binds.push(p.clone());
            let n = binds.len();
            sql.push_str(&format!(
                " AND (e.owner_province = ${n} OR e.sender_province = ${n})"
            ));
        }
        if let Some(m) = &filter.message_id {
            binds.push(m.clone());
            sql.push_str(&format!(" AND e.message_id = ${}", binds.len()));
        }
        if let Some(id) = &filter.person {
            binds.push(id.clone());
            let n = binds.len();
            sql.push_str(&format!(" AND (m.subject_id = ${n} OR m.spouse_id = ${n})"));
        }
        sql.push_str(" ORDER BY e.id DESC");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {}", limit.max(0)));
        }
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(expectation).collect::<Result<_, _>>()?)
    }

    /// Expectations per state, and reminder steps taken: for summaries.
    pub async fn expectation_summary(&self) -> Result<(Vec<(String, i64)>, i64), StoreError> {
        let rows = sqlx::query(
            "SELECT state, CAST(COUNT(*) AS BIGINT) FROM expectations GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        let states = rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let steps: i64 =
            sqlx::query("SELECT CAST(COALESCE(SUM(step), 0) AS BIGINT) FROM expectations")
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
        Ok((states, steps))
    }

    /// Hub messages about an expectation's message, for traces.
    pub async fn hub_messages_concerning(
        &self,
        message_id: &str,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows = sqlx::query(
            "SELECT h.message_id, h.kind, h.step, h.routing_key, h.created_at, h.confirmed_at \
             FROM hub_messages h JOIN expectations e ON e.id = h.expectation_id \
             WHERE e.message_id = $1 ORDER BY h.created_ms, h.kind",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(serde_json::json!({
                    "message_id": r.try_get::<String, _>(0)?,
                    "kind": r.try_get::<String, _>(1)?,
                    "step": r.try_get::<i64, _>(2)?,
                    "routing_key": r.try_get::<String, _>(3)?,
                    "created_at": r.try_get::<String, _>(4)?,
                    "confirmed_at": r.try_get::<Option<String>, _>(5)?,
                }))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Open expectations whose due date was computed on weekends only: recomputed after a
    /// calendar import.
    pub async fn uncovered_open_expectations(&self) -> Result<Vec<Expectation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} {FROM} WHERE e.calendar_uncovered = 1 AND e.state IN ('open', 'overdue')"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(expectation).collect::<Result<_, _>>()?)
    }

    /// Sets a recomputed due date (and the first reminder step, if none was taken yet).
    pub async fn reschedule(
        &self,
        id: i64,
        due_at: DateTime<FixedOffset>,
        uncovered: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE expectations SET due_at = $1, due_ms = $2, calendar_uncovered = $3, \
             next_step_ms = CASE WHEN step = 0 THEN $2 ELSE next_step_ms END WHERE id = $4",
        )
        .bind(due_at.to_rfc3339())
        .bind(due_at.timestamp_millis())
        .bind(i64::from(uncovered))
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    /// Calendar years imported into the database (`yipanqi calendar import`).
    pub async fn calendar_years(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query("SELECT year, schedule FROM calendar_years ORDER BY year")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Stores (or replaces) a year's schedule.
    pub async fn import_calendar_year(
        &self,
        year: i64,
        schedule: &str,
        at: DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM calendar_years WHERE year = $1")
            .bind(year)
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query("INSERT INTO calendar_years (year, schedule, imported_at) VALUES ($1, $2, $3)")
            .bind(year)
            .bind(schedule)
            .bind(at.to_rfc3339())
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }
}

/// The id of a reminder or escalation (DOMAIN.md §3).
pub fn hub_message_name(kind: &str, concerning: &str, owner_division: &str, step: i64) -> String {
    format!("yipanqi:hub:{kind}:{concerning}:{owner_division}:{step}")
}
