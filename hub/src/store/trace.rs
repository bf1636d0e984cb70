//! Read access for integrators: a message's trace (route decisions, deliveries,
//! expectations, answers, reminders, rejections), found by the hub's id or by the
//! sender's own legacy id — the number a province quotes when it says "we never got it".
//! Traces carry ids, kinds, divisions and times, never a person's data.

use super::{Store, StoreError};
use serde_json::{json, Value};
use sqlx::Row;

impl Store {
    /// The trace of a message, or `None` if the hub has no message with this id.
    pub async fn trace(&self, message_id: &str) -> Result<Option<Value>, StoreError> {
        let Some(m) = sqlx::query(
            "SELECT m.message_id, m.kind, m.province, m.source_message_id, m.record, m.source_division, \
             m.in_reply_to, m.outcome, m.warnings, m.received_at, d.province \
             FROM messages m JOIN documents d ON d.id = m.document_id WHERE m.message_id = $1",
        )
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let routes = sqlx::query(
            "SELECT target_division, role, destination, routing_key, why, confirmed_at FROM routes \
             WHERE message_id = $1 ORDER BY target_division, role",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(json!({
                "target_division": r.try_get::<String, _>(0)?,
                "role": r.try_get::<String, _>(1)?,
                "destination": r.try_get::<String, _>(2)?,
                "routing_key": r.try_get::<String, _>(3)?,
                "why": r.try_get::<String, _>(4)?,
                "confirmed_at": r.try_get::<Option<String>, _>(5)?,
            }))
        })
        .collect::<Result<Vec<Value>, sqlx::Error>>()?;
        let answers = sqlx::query(
            "SELECT message_id, kind, province, source_message_id, source_division, received_at FROM messages \
             WHERE in_reply_to = $1 ORDER BY received_ms",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(json!({
                "message_id": r.try_get::<String, _>(0)?,
                "kind": r.try_get::<String, _>(1)?,
                "province": r.try_get::<String, _>(2)?,
                "source_message_id": r.try_get::<String, _>(3)?,
                "source_division": r.try_get::<String, _>(4)?,
                "received_at": r.try_get::<String, _>(5)?,
            }))
        })
        .collect::<Result<Vec<Value>, sqlx::Error>>()?;
        let expectations = self
            .expectations(&super::ExpectationFilter {
                message_id: Some(message_id.to_string()),
                ..Default::default()
            })
            .await?;
        let reminders = self.hub_messages_concerning(message_id).await?;
        let warnings: Value =
            serde_json::from_str(&m.try_get::<String, _>(8)?).unwrap_or(json!([]));
        Ok(Some(json!({
            "message_id": m.try_get::<String, _>(0)?,
            "kind": m.try_get::<String, _>(1)?,
            "source": {
                "province": m.try_get::<String, _>(2)?,
                "message_id": m.try_get::<String, _>(3)?,
                "record": m.try_get::<i64, _>(4)?,
                "division": m.try_get::<String, _>(5)?,
            },
            "queue": format!("yipanqi.in.{}", m.try_get::<String, _>(10)?),
            "in_reply_to": m.try_get::<Option<String>, _>(6)?,
            "outcome": m.try_get::<String, _>(7)?,
            "warnings": warnings,
            "received_at": m.try_get::<String, _>(9)?,
            "routes": routes,
            "expectations": expectations,
            "answers": answers,
            "reminders": reminders,
        })))
    }

    /// The rejections an id stands for — a rejection notice's id (several documents
    /// without a readable legacy id share one: it is made of province, legacy id and
    /// record), or the canonical id of a rejected record — or `None`.
    pub async fn rejection_trace(&self, rejection_id: &str) -> Result<Option<Value>, StoreError> {
        let rows = sqlx::query(
            "SELECT province, source_message_id, record_key, message_id, reason, detail, received_at, \
             notice_key, dead_confirmed_at, notice_confirmed_at FROM rejections \
             WHERE rejection_id = $1 OR message_id = $1 ORDER BY id",
        )
        .bind(rejection_id)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let rejections = rows
            .iter()
            .map(|r| {
                let record: i64 = r.try_get(2)?;
                Ok(json!({
                    "queue": format!("yipanqi.in.{}", r.try_get::<String, _>(0)?),
                    "province": r.try_get::<String, _>(0)?,
                    "source_message_id": r.try_get::<Option<String>, _>(1)?,
                    "record": if record < 0 { Value::Null } else { json!(record) },
                    "message_id": r.try_get::<Option<String>, _>(3)?,
                    "reason": r.try_get::<String, _>(4)?,
                    "detail": r.try_get::<String, _>(5)?,
                    "received_at": r.try_get::<String, _>(6)?,
                    "notice_routing_key": r.try_get::<String, _>(7)?,
                    "dead_letter_confirmed_at": r.try_get::<Option<String>, _>(8)?,
                    "notice_confirmed_at": r.try_get::<Option<String>, _>(9)?,
                }))
            })
            .collect::<Result<Vec<Value>, sqlx::Error>>()?;
        Ok(Some(json!({ "id": rejection_id, "kind": "rejection", "rejections": rejections })))
    }

    /// What the hub did with a province's legacy message: the canonical messages made of
    /// it and the rejections, by the sender's own id.
    pub async fn find_by_source(
        &self,
        province_code: &str,
        source_message_id: &str,
    ) -> Result<Value, StoreError> {
        let messages = sqlx::query(
            "SELECT message_id, record, kind FROM messages WHERE province = $1 AND source_message_id = $2 ORDER BY record",
        )
        .bind(province_code)
        .bind(source_message_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(json!({
                "message_id": r.try_get::<String, _>(0)?,
                "record": r.try_get::<i64, _>(1)?,
                "kind": r.try_get::<String, _>(2)?,
            }))
        })
        .collect::<Result<Vec<Value>, sqlx::Error>>()?;
        let rejections = sqlx::query(
            "SELECT r.rejection_id, r.record_key, r.reason, r.detail, r.received_at FROM rejections r \
             WHERE r.source_message_id = $1 AND r.notice_key LIKE $2 ORDER BY r.id",
        )
        .bind(source_message_id)
        .bind(format!("{province_code}.%"))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let record: i64 = r.try_get(1)?;
            Ok(json!({
                "rejection_id": r.try_get::<String, _>(0)?,
                "record": if record < 0 { Value::Null } else { json!(record) },
                "reason": r.try_get::<String, _>(2)?,
                "detail": r.try_get::<String, _>(3)?,
                "received_at": r.try_get::<String, _>(4)?,
            }))
        })
        .collect::<Result<Vec<Value>, sqlx::Error>>()?;
        Ok(json!({
            "province": province_code,
            "source_message_id": source_message_id,
            "messages": messages,
            "rejections": rejections,
        }))
    }
}
