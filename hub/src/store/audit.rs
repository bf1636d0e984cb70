//! The audit trail's storage: one row per lookup, written and never changed (the
//! database refuses UPDATE and DELETE on the table: see migration 0004), read back by
//! period, province or the keyed hash of an ID number; and the audit key kept in the
//! database when the operator gives none.

use super::{Store, StoreError};
use crate::access::{AuditEntry, AuditKey};
use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::Serialize;
use sqlx::Row;

/// A stored audit row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditRow {
    /// Row id (in the order written).
    pub id: i64,
    /// When (RFC 3339, +08:00).
    pub at: String,
    /// Who: client name or broker user.
    pub client: String,
    /// The caller's role.
    pub role: Option<String>,
    /// The caller's province.
    pub province: Option<String>,
    /// `http` or `amqp`.
    pub channel: String,
    /// What was asked.
    pub action: String,
    /// Keyed hash of the ID number asked about.
    pub subject_hash: Option<String>,
    /// What else was asked.
    pub target: Option<String>,
    /// Answered or refused.
    pub allowed: bool,
    /// `allowed` or the refusal's reason code.
    pub reason: String,
    /// Why.
    pub detail: String,
}

/// Which audit rows to read.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// From this time (milliseconds, inclusive).
    pub from_ms: Option<i64>,
    /// Until this time (milliseconds, exclusive).
    pub to_ms: Option<i64>,
    /// Only lookups by this province (pinyin name).
    pub province: Option<String>,
    /// Only lookups of this person (keyed hash).
    pub subject_hash: Option<String>,
    /// At most this many (oldest first).
    pub limit: Option<i64>,
}

/// Lookups counted by who asked and how it ended.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditCount {
    /// The caller's province (pinyin), or its role when it has none, or `-`.
    pub who: String,
    /// What was asked.
    pub action: String,
    /// `allowed` or the refusal's reason.
    pub reason: String,
    /// How many.
    pub count: i64,
}

impl Store {
    /// Appends one row to the audit.
    pub async fn record_audit(
        &self,
        entry: &AuditEntry,
        at: DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO audit (at, at_ms, client, role, province, channel, action, subject_hash, \
             target, allowed, reason, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(at.to_rfc3339_opts(SecondsFormat::Millis, false))
        .bind(at.timestamp_millis())
        .bind(entry.client.clone())
        .bind(entry.role.map(|r| r.as_str().to_string()))
        .bind(entry.province.clone())
        .bind(entry.channel.as_str().to_string())
        .bind(entry.action.to_string())
        .bind(entry.subject_hash.clone())
        .bind(entry.target.clone())
        .bind(i64::from(entry.allowed))
        .bind(entry.reason.clone())
        .bind(entry.detail.clone())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    /// Audit rows, oldest first.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
        let (sql_filter, binds) = audit_where(filter);
        let mut sql = format!(
            "SELECT id, at, client, role, province, channel, action, subject_hash, target, allowed, \
             reason, detail FROM audit WHERE 1 = 1{sql_filter} ORDER BY id"
        );
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {}", limit.max(0)));
        }
        let rows = bound(&sql, &binds).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRow {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    client: r.try_get(2)?,
                    role: r.try_get(3)?,
                    province: r.try_get(4)?,
                    channel: r.try_get(5)?,
                    action: r.try_get(6)?,
                    subject_hash: r.try_get(7)?,
                    target: r.try_get(8)?,
                    allowed: r.try_get::<i64, _>(9)? != 0,
                    reason: r.try_get(10)?,
                    detail: r.try_get(11)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Lookups per asking province (or role) × action × outcome, counted in SQL.
    pub async fn audit_counts(&self, filter: &AuditFilter) -> Result<Vec<AuditCount>, StoreError> {
        let (sql_filter, binds) = audit_where(filter);
        let sql = format!(
            "SELECT COALESCE(province, role, '-'), action, reason, CAST(COUNT(*) AS BIGINT) \
             FROM audit WHERE 1 = 1{sql_filter} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        );
        let rows = bound(&sql, &binds).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(AuditCount {
                    who: r.try_get(0)?,
                    action: r.try_get(1)?,
                    reason: r.try_get(2)?,
                    count: r.try_get(3)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The audit key kept in the database: made by the first hub that needs it, then the
    /// same for every instance on this database.
    pub async fn stored_audit_key(&self) -> Result<AuditKey, StoreError> {
        {
            let mut tx = self.begin().await?;
            sqlx::query("INSERT INTO audit_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
                .bind(String::from_utf8_lossy(&AuditKey::generate()).to_string())
                .execute(&mut *tx.tx)
                .await?;
            tx.commit().await?;
        }
        let key: String = sqlx::query("SELECT key FROM audit_key WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(AuditKey::from_bytes(key.into_bytes()))
    }
}

enum Bind {
    Int(i64),
    Text(String),
}

/// The query with its parameters bound, in order.
fn bound<'q>(sql: &'q str, binds: &'q [Bind]) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    binds.iter().fold(sqlx::query(sql), |query, b| match b {
        Bind::Int(n) => query.bind(*n),
        Bind::Text(s) => query.bind(s.as_str()),
    })
}

fn audit_where(filter: &AuditFilter) -> (String, Vec<Bind>) {
    let mut sql = String::new();
    let mut binds = Vec::new();
    if let Some(from) = filter.from_ms {
        binds.push(Bind::Int(from));
        sql.push_str(&format!(" AND at_ms >= ${}", binds.len()));
    }
    if let Some(to) = filter.to_ms {
        binds.push(Bind::Int(to));
        sql.push_str(&format!(" AND at_ms < ${}", binds.len()));
    }
    if let Some(p) = &filter.province {
        binds.push(Bind::Text(p.clone()));
        sql.push_str(&format!(" AND province = ${}", binds.len()));
    }
    if let Some(h) = &filter.subject_hash {
        binds.push(Bind::Text(h.clone()));
        sql.push_str(&format!(" AND subject_hash = ${}", binds.len()));
    }
    (sql, binds)
}
