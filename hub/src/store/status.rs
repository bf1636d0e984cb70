//! Aggregates for the ops views (the status page and the gauges): recent activity per
//! province, per-minute throughput, the latest rejections, answers owed. Every query is
//! bounded by time on the `received_ms` indexes or reads the small set of open
//! expectations, so it stays cheap however large the history grows.
//!
//! Nothing here reads a person: no subject or spouse column, no canonical JSON, no
//! rejection detail.

use super::{Store, StoreError};
use sqlx::Row;
use std::collections::BTreeMap;

/// A province's recent activity: documents accepted (canonical messages stored) and
/// rejected, in three windows, and when it last sent anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// Accepted since `since_ms`.
    pub accepted: i64,
    /// Rejected since `since_ms`.
    pub rejected: i64,
    /// Accepted since `hour_ms`.
    pub accepted_hour: i64,
    /// Rejected since `hour_ms`.
    pub rejected_hour: i64,
    /// Accepted since `recent_ms`.
    pub accepted_recent: i64,
    /// Rejected since `recent_ms`.
    pub rejected_recent: i64,
    /// The latest receipt (accepted or rejected) since `since_ms`.
    pub last_ms: Option<i64>,
}

/// One minute of throughput.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Minute {
    /// Canonical messages accepted.
    pub accepted: i64,
    /// Documents or records rejected.
    pub rejected: i64,
}

/// A rejection as the status page shows it: no detail, no legacy id, nothing personal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecentRejection {
    /// When the hub received the document (RFC 3339, +08:00).
    pub received_at: String,
    /// Pinyin name of the inbound queue's province.
    pub province: String,
    /// The rejected record's kind, when it could be read.
    pub kind: Option<String>,
    /// The reason code.
    pub reason: String,
    /// The rejected record's canonical id, when it was read that far.
    pub message_id: Option<String>,
    /// The id of the rejection notice the province received.
    pub rejection_id: String,
}

/// Answers owed, from the expectations still waiting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owed {
    /// (owner province code, open, overdue).
    pub per_owner: Vec<(String, i64, i64)>,
    /// Open or overdue ones whose deadline was computed on weekdays only.
    pub uncovered: i64,
}

impl Store {
    /// Per province (pinyin name of its queue), what arrived since `since_ms`, with
    /// the counts since `hour_ms` and `recent_ms` (both later than `since_ms`).
    pub async fn activity(
        &self,
        since_ms: i64,
        hour_ms: i64,
        recent_ms: i64,
    ) -> Result<BTreeMap<String, Activity>, StoreError> {
        let mut out = BTreeMap::<String, Activity>::new();
        let accepted = sqlx::query(
            "SELECT d.province, CAST(COUNT(*) AS BIGINT), \
                    CAST(SUM(CASE WHEN m.received_ms >= $2 THEN 1 ELSE 0 END) AS BIGINT), \
                    CAST(SUM(CASE WHEN m.received_ms >= $3 THEN 1 ELSE 0 END) AS BIGINT), \
                    CAST(MAX(m.received_ms) AS BIGINT) \
             FROM messages m JOIN documents d ON d.id = m.document_id \
             WHERE m.received_ms >= $1 GROUP BY d.province",
        )
        .bind(since_ms)
        .bind(hour_ms)
        .bind(recent_ms)
        .fetch_all(&self.pool)
        .await?;
        for row in accepted {
            let a = out.entry(row.try_get(0)?).or_default();
            a.accepted = row.try_get(1)?;
            a.accepted_hour = row.try_get::<Option<i64>, _>(2)?.unwrap_or(0);
            a.accepted_recent = row.try_get::<Option<i64>, _>(3)?.unwrap_or(0);
            a.last_ms = row.try_get(4)?;
        }
        let rejected = sqlx::query(
            "SELECT province, CAST(COUNT(*) AS BIGINT), \
                    CAST(SUM(CASE WHEN received_ms >= $2 THEN 1 ELSE 0 END) AS BIGINT), \
                    CAST(SUM(CASE WHEN received_ms >= $3 THEN 1 ELSE 0 END) AS BIGINT), \
                    CAST(MAX(received_ms) AS BIGINT) \
             FROM rejections WHERE received_ms >= $1 GROUP BY province",
        )
        .bind(since_ms)
        .bind(hour_ms)
        .bind(recent_ms)
        .fetch_all(&self.pool)
        .await?;
        for row in rejected {
            let a = out.entry(row.try_get(0)?).or_default();
            a.rejected = row.try_get(1)?;
            a.rejected_hour = row.try_get::<Option<i64>, _>(2)?.unwrap_or(0);
            a.rejected_recent = row.try_get::<Option<i64>, _>(3)?.unwrap_or(0);
            let last: Option<i64> = row.try_get(4)?;
            a.last_ms = a.last_ms.max(last);
        }
        Ok(out)
    }

    /// Accepted and rejected per minute, for `minutes` minutes from `from_ms`.
    pub async fn throughput(&self, from_ms: i64, minutes: usize) -> Result<Vec<Minute>, StoreError> {
        let mut out = vec![Minute::default(); minutes];
        let until_ms = from_ms + 60_000 * minutes as i64;
        for (table, accepted) in [("messages", true), ("rejections", false)] {
            let rows = sqlx::query(&format!(
                "SELECT CAST((received_ms - $1) / 60000 AS BIGINT), CAST(COUNT(*) AS BIGINT) \
                 FROM {table} WHERE received_ms >= $1 AND received_ms < $2 GROUP BY 1"
            ))
            .bind(from_ms)
            .bind(until_ms)
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                let minute: i64 = row.try_get(0)?;
                let n: i64 = row.try_get(1)?;
                if let Some(m) = usize::try_from(minute).ok().and_then(|i| out.get_mut(i)) {
                    if accepted {
                        m.accepted += n;
                    } else {
                        m.rejected += n;
                    }
                }
            }
        }
        Ok(out)
    }

    /// The latest `limit` rejections, newest first.
    pub async fn recent_rejections(&self, limit: u32) -> Result<Vec<RecentRejection>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT r.received_at, r.province, COALESCE(r.kind, m.kind), r.reason, r.message_id, r.rejection_id \
             FROM rejections r LEFT JOIN messages m ON m.message_id = r.message_id \
             ORDER BY r.received_ms DESC, r.id DESC LIMIT {limit}"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RecentRejection {
                    received_at: row.try_get(0)?,
                    province: row.try_get(1)?,
                    kind: row.try_get(2)?,
                    reason: row.try_get(3)?,
                    message_id: row.try_get(4)?,
                    rejection_id: row.try_get(5)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The answers still owed: open and overdue expectations per owner province.
    pub async fn owed_expectations(&self) -> Result<Owed, StoreError> {
        let rows = sqlx::query(
            "SELECT owner_province, \
                    CAST(SUM(CASE WHEN state = 'open' THEN 1 ELSE 0 END) AS BIGINT), \
                    CAST(SUM(CASE WHEN state = 'overdue' THEN 1 ELSE 0 END) AS BIGINT), \
                    CAST(SUM(CASE WHEN calendar_uncovered = 1 THEN 1 ELSE 0 END) AS BIGINT) \
             FROM expectations WHERE state IN ('open', 'overdue') GROUP BY owner_province",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut owed = Owed::default();
        for row in rows {
            owed.per_owner.push((
                row.try_get(0)?,
                row.try_get::<Option<i64>, _>(1)?.unwrap_or(0),
                row.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
            ));
            owed.uncovered += row.try_get::<Option<i64>, _>(3)?.unwrap_or(0);
        }
        Ok(owed)
    }
}
