//! The store: inbound documents, canonical messages, their routes and rejections, in
//! SQLite (the embedded default, one file in WAL mode) or PostgreSQL (by URL).
//!
//! One code path serves both through sqlx's `Any` driver: the SQL here is the common
//! subset (`$n` placeholders, `ON CONFLICT`, `RETURNING`). Each database has its own
//! migrations under `migrations/`, embedded in the binary. This module owns persistence
//! only; what to store and when is the pipeline's decision.

mod audit;
mod expectations;
mod migrations;
mod people;
mod reports;
mod status;
mod trace;

pub use expectations::{
    hub_message_name, Closed, Expectation, ExpectationFilter, NewExpectation, NewHubMessage,
    PendingHubMessage,
};
pub use audit::{AuditCount, AuditFilter, AuditRow};
pub use people::{CertificateQuery, StoredMessage};
pub use status::{Activity, Minute, Owed, RecentRejection};

use chrono::{DateTime, FixedOffset};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use uuid::Uuid;

/// A store failure: the database could not be reached or refused a statement.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database.
    #[error("unsupported database URL (use sqlite://FILE or postgres://…): {0}")]
    UnsupportedUrl(String),
    /// A statement or connection failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend a URL names.
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }
}

/// The file of an SQLite URL (`sqlite://yipanqi.db?mode=rwc` → `yipanqi.db`).
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// The URL with any password replaced, fit for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Rows updated per statement when recording confirms (3 parameters each; well under
/// SQLite's and PostgreSQL's parameter limits).
const CONFIRM_CHUNK: usize = 500;

/// The hub's store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time; serialising write transactions in the process
    /// avoids `SQLITE_BUSY` on lock upgrades. PostgreSQL needs no such lock.
    write_lock: Arc<Mutex<()>>,
}

/// An inbound document as it arrived on a province's queue.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// Pinyin name of the inbound queue's province.
    pub province: String,
    /// The raw bytes.
    pub raw: Vec<u8>,
    /// The legacy message id, when it could be read.
    pub source_message_id: Option<String>,
    /// When the hub received it.
    pub received_at: DateTime<FixedOffset>,
}

/// A canonical message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Canonical `message_id`.
    pub message_id: Uuid,
    /// Sender province code ("34").
    pub province: String,
    /// Legacy message id.
    pub source_message_id: String,
    /// Record index in the legacy document.
    pub record: u32,
    /// Kind name.
    pub kind: String,
    /// Sender division.
    pub source_division: String,
    /// The message this answers.
    pub in_reply_to: Option<Uuid>,
    /// The subject's ID number (the store holds personal data; logs never do).
    pub subject_id: Option<String>,
    /// The spouse's ID number.
    pub spouse_id: Option<String>,
    /// Hash of the content, without the receipt time.
    pub content_hash: String,
    /// The canonical JSON.
    pub canonical: String,
    /// `routed` or `held`.
    pub outcome: &'static str,
    /// Validation warnings (JSON array).
    pub warnings: String,
    /// When the hub received it.
    pub received_at: DateTime<FixedOffset>,
}

/// One planned delivery of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoute {
    /// Target division.
    pub target_division: String,
    /// `owner`, `lead` or `assist`.
    pub role: String,
    /// Province pinyin name, or `padis`.
    pub destination: String,
    /// Routing key on `yipanqi.deliver`.
    pub routing_key: String,
    /// Why this route was chosen.
    pub why: String,
}

/// A stored route that has not been confirmed by the broker yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRoute {
    /// The message.
    pub message_id: Uuid,
    /// The route.
    pub route: NewRoute,
}

/// A rejection to store.
#[derive(Debug, Clone)]
pub struct NewRejection {
    /// Record index, or `None` for the whole document.
    pub record: Option<u32>,
    /// Pinyin name of the inbound queue's province.
    pub province: String,
    /// Legacy message id, when known.
    pub source_message_id: Option<String>,
    /// Canonical id of the rejected record, when known.
    pub message_id: Option<Uuid>,
    /// The rejected record's kind, when its business type could be read.
    pub kind: Option<String>,
    /// Id of the rejection notice.
    pub rejection_id: Uuid,
    /// Reason code.
    pub reason: String,
    /// Human-readable detail (no personal data).
    pub detail: String,
    /// The rejection notice (canonical JSON).
    pub notice: String,
    /// Its routing key.
    pub notice_key: String,
    /// When the hub received the document.
    pub received_at: DateTime<FixedOffset>,
}

/// A stored rejection whose dead letter or notice is not confirmed yet.
#[derive(Debug, Clone)]
pub struct PendingRejection {
    /// Row id.
    pub id: i64,
    /// The rejection as stored.
    pub rejection: NewRejection,
    /// Whether the dead letter still has to go out.
    pub dead_pending: bool,
    /// Whether the notice still has to go out.
    pub notice_pending: bool,
}

/// What is known of a stored message, for answers and routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    /// Canonical id.
    pub message_id: Uuid,
    /// Kind name.
    pub kind: String,
    /// Sender province code.
    pub province: String,
    /// Sender division.
    pub source_division: String,
    /// The subject's ID number.
    pub subject_id: Option<String>,
    /// The spouse's ID number.
    pub spouse_id: Option<String>,
    /// Content hash.
    pub content_hash: String,
}

/// Counts for summaries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvinceCounts {
    /// Messages received from the province and stored.
    pub messages: i64,
    /// Routes confirmed by the broker, counted per message sent by the province.
    pub delivered: i64,
    /// Messages stored and deliberately not delivered (no known destination).
    pub held: i64,
    /// Rejections of the province's input.
    pub rejected: i64,
}

impl Store {
    /// Connects (creating an SQLite file if needed), prepares the connection and runs the
    /// migrations of the URL's database.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let mut options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers work beside the writer; FULL sync keeps a committed
                    // batch on disk before its inbound deliveries are acknowledged.
                    for pragma in [
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA synchronous = FULL",
                        "PRAGMA busy_timeout = 10000",
                        "PRAGMA foreign_keys = ON",
                    ] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            });
        }
        let pool = options.connect(&url).await?;
        let store = Store {
            pool,
            backend,
            write_lock: Arc::new(Mutex::new(())),
        };
        migrations::run(&store.pool, backend).await?;
        Ok(store)
    }

    /// The database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for read-only queries elsewhere in the hub.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Starts a write transaction (serialised within the process on SQLite).
    pub async fn begin(&self) -> Result<StoreTx, StoreError> {
        let guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        let tx = self.pool.begin().await?;
        Ok(StoreTx { tx, _guard: guard })
    }

    /// Looks up stored messages by id.
    pub async fn message_refs(&self, ids: &[Uuid]) -> Result<Vec<MessageRef>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query(
                "SELECT message_id, kind, province, source_division, subject_id, content_hash, spouse_id \
                 FROM messages WHERE message_id = $1",
            )
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                found.push(message_ref(&row)?);
            }
        }
        Ok(found)
    }

    /// Marks routes as confirmed by the broker: a few statements per batch, not one per
    /// route, since the window between the broker's confirm and this record is the one
    /// in which a crash makes a copy go out twice.
    pub async fn confirm_routes(
        &self,
        routes: &[(Uuid, String, String)],
        at: DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        if routes.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for chunk in routes.chunks(CONFIRM_CHUNK) {
            let tuples: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${}, ${})", 3 * i + 2, 3 * i + 3, 3 * i + 4))
                .collect();
            let sql = format!(
                "UPDATE routes SET confirmed_at = $1 WHERE confirmed_at IS NULL \
                 AND (message_id, target_division, role) IN (VALUES {})",
                tuples.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(at.to_rfc3339());
            for (message_id, target, role) in chunk {
                query = query.bind(message_id.to_string()).bind(target).bind(role);
            }
            query.execute(&mut *tx.tx).await?;
        }
        tx.commit().await
    }

    /// Marks rejections' dead letters and notices as confirmed by the broker.
    pub async fn confirm_rejections(
        &self,
        dead: &[i64],
        notices: &[i64],
        at: DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        if dead.is_empty() && notices.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for (ids, column) in [
            (dead, "dead_confirmed_at"),
            (notices, "notice_confirmed_at"),
        ] {
            for chunk in ids.chunks(CONFIRM_CHUNK) {
                let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                let sql = format!(
                    "UPDATE rejections SET {column} = $1 WHERE {column} IS NULL AND id IN ({})",
                    list.join(", ")
                );
                let mut query = sqlx::query(&sql).bind(at.to_rfc3339());
                for id in chunk {
                    query = query.bind(*id);
                }
                query.execute(&mut *tx.tx).await?;
            }
        }
        tx.commit().await
    }

    /// Per-province counts over everything stored, keyed by pinyin name of the queue
    /// the input arrived on.
    pub async fn province_counts(
        &self,
    ) -> Result<std::collections::BTreeMap<String, ProvinceCounts>, StoreError> {
        let mut counts = std::collections::BTreeMap::<String, ProvinceCounts>::new();
        let rows = sqlx::query(
            "SELECT d.province, CAST(COUNT(*) AS BIGINT), \
                    CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM routes r WHERE r.message_id = m.message_id \
                                               AND r.confirmed_at IS NOT NULL) THEN 1 ELSE 0 END) AS BIGINT), \
                    CAST(SUM(CASE WHEN m.outcome = 'held' THEN 1 ELSE 0 END) AS BIGINT) \
             FROM messages m JOIN documents d ON d.id = m.document_id GROUP BY d.province",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let province: String = row.try_get(0)?;
            let entry = counts.entry(province).or_default();
            entry.messages = row.try_get(1)?;
            entry.delivered = row.try_get::<Option<i64>, _>(2)?.unwrap_or(0);
            entry.held = row.try_get::<Option<i64>, _>(3)?.unwrap_or(0);
        }
        let rows = sqlx::query(
            "SELECT province, CAST(COUNT(*) AS BIGINT) FROM rejections GROUP BY province",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let province: String = row.try_get(0)?;
            counts.entry(province).or_default().rejected = row.try_get(1)?;
        }
        Ok(counts)
    }

    /// Rejections stored for a province's input, as (reason, count).
    pub async fn rejection_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT province, reason, CAST(COUNT(*) AS BIGINT) FROM rejections GROUP BY province, reason \
             ORDER BY province, reason",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .collect()
    }
}

fn message_ref(row: &AnyRow) -> Result<MessageRef, StoreError> {
    let id: String = row.try_get(0)?;
    Ok(MessageRef {
        message_id: Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        kind: row.try_get(1)?,
        province: row.try_get(2)?,
        source_division: row.try_get(3)?,
        subject_id: row.try_get(4)?,
        content_hash: row.try_get(5)?,
        spouse_id: row.try_get(6)?,
    })
}

/// A write transaction. Dropping it without [`StoreTx::commit`] rolls back.
pub struct StoreTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// What inserting a message found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageInsert {
    /// A new message.
    Inserted,
    /// The id was already stored, with this content hash.
    Existing {
        /// Content hash of the stored message.
        content_hash: String,
    },
}

impl StoreTx {
    /// Stores a document (or finds the identical one stored before) and returns its id.
    pub async fn insert_document(&mut self, doc: &NewDocument) -> Result<i64, StoreError> {
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&doc.raw));
        sqlx::query(
            "INSERT INTO documents (province, sha256, raw, source_message_id, received_at, received_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (province, sha256) DO NOTHING",
        )
        .bind(&doc.province)
        .bind(&sha)
        .bind(doc.raw.clone())
        .bind(doc.source_message_id.clone())
        .bind(doc.received_at.to_rfc3339())
        .bind(doc.received_at.timestamp_millis())
        .execute(&mut *self.tx)
        .await?;
        let id: i64 = sqlx::query("SELECT id FROM documents WHERE province = $1 AND sha256 = $2")
            .bind(&doc.province)
            .bind(&sha)
            .fetch_one(&mut *self.tx)
            .await?
            .try_get(0)?;
        Ok(id)
    }

    /// Stores a message unless its id is stored already; says which.
    pub async fn insert_message(
        &mut self,
        document_id: i64,
        m: &NewMessage,
    ) -> Result<MessageInsert, StoreError> {
        // Who the message is about, as columns the delivery reports aggregate on.
        let facts = reports::MessageFacts::of(&m.canonical);
        let done = sqlx::query(
            "INSERT INTO messages (message_id, document_id, province, source_message_id, record, kind, \
             source_division, in_reply_to, subject_id, content_hash, canonical, outcome, warnings, \
             received_at, received_ms, spouse_id, subject_name, subject_sex, subject_registration, \
             subject_residence, spouse_name, spouse_sex, spouse_registration, spouse_residence, \
             receipt_status, cert_no, cert_date) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19, $20, $21, $22, $23, $24, $25, $26, $27) \
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(m.message_id.to_string())
        .bind(document_id)
        .bind(&m.province)
        .bind(&m.source_message_id)
        .bind(i64::from(m.record))
        .bind(&m.kind)
        .bind(&m.source_division)
        .bind(m.in_reply_to.map(|u| u.to_string()))
        .bind(m.subject_id.clone())
        .bind(&m.content_hash)
        .bind(&m.canonical)
        .bind(m.outcome)
        .bind(&m.warnings)
        .bind(m.received_at.to_rfc3339())
        .bind(m.received_at.timestamp_millis())
        .bind(m.spouse_id.clone())
        .bind(facts.subject.name)
        .bind(facts.subject.sex)
        .bind(facts.subject.registration_division)
        .bind(facts.subject.residence_division)
        .bind(facts.spouse.name)
        .bind(facts.spouse.sex)
        .bind(facts.spouse.registration_division)
        .bind(facts.spouse.residence_division)
        .bind(facts.receipt_status)
        .bind(facts.cert_no)
        .bind(facts.cert_date)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(MessageInsert::Inserted);
        }
        let content_hash: String =
            sqlx::query("SELECT content_hash FROM messages WHERE message_id = $1")
                .bind(m.message_id.to_string())
                .fetch_one(&mut *self.tx)
                .await?
                .try_get(0)?;
        Ok(MessageInsert::Existing { content_hash })
    }

    /// Stores a message's routes (those already stored are left as they are).
    pub async fn insert_routes(
        &mut self,
        message_id: Uuid,
        routes: &[NewRoute],
    ) -> Result<(), StoreError> {
        for r in routes {
            sqlx::query(
                "INSERT INTO routes (message_id, target_division, role, destination, routing_key, why) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (message_id, target_division, role) DO NOTHING",
            )
            .bind(message_id.to_string())
            .bind(&r.target_division)
            .bind(&r.role)
            .bind(&r.destination)
            .bind(&r.routing_key)
            .bind(&r.why)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// The routes of a message that the broker has not confirmed yet, with its payload.
    pub async fn pending_routes(
        &mut self,
        message_id: Uuid,
    ) -> Result<(Vec<PendingRoute>, Option<String>), StoreError> {
        let rows = sqlx::query(
            "SELECT target_division, role, destination, routing_key, why FROM routes \
             WHERE message_id = $1 AND confirmed_at IS NULL ORDER BY target_division, role",
        )
        .bind(message_id.to_string())
        .fetch_all(&mut *self.tx)
        .await?;
        let routes = rows
            .iter()
            .map(|row| {
                Ok(PendingRoute {
                    message_id,
                    route: NewRoute {
                        target_division: row.try_get(0)?,
                        role: row.try_get(1)?,
                        destination: row.try_get(2)?,
                        routing_key: row.try_get(3)?,
                        why: row.try_get(4)?,
                    },
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        if routes.is_empty() {
            return Ok((routes, None));
        }
        let canonical: String = sqlx::query("SELECT canonical FROM messages WHERE message_id = $1")
            .bind(message_id.to_string())
            .fetch_one(&mut *self.tx)
            .await?
            .try_get(0)?;
        Ok((routes, Some(canonical)))
    }

    /// Stores a rejection unless this document's record was rejected before; returns
    /// the stored row with what still has to be published.
    pub async fn insert_rejection(
        &mut self,
        document_id: i64,
        r: &NewRejection,
    ) -> Result<PendingRejection, StoreError> {
        let record_key = r.record.map(i64::from).unwrap_or(-1);
        sqlx::query(
            "INSERT INTO rejections (document_id, record_key, province, source_message_id, message_id, \
             rejection_id, reason, detail, notice, notice_key, received_at, received_ms, kind) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (document_id, record_key) DO NOTHING",
        )
        .bind(document_id)
        .bind(record_key)
        .bind(&r.province)
        .bind(r.source_message_id.clone())
        .bind(r.message_id.map(|u| u.to_string()))
        .bind(r.rejection_id.to_string())
        .bind(&r.reason)
        .bind(&r.detail)
        .bind(&r.notice)
        .bind(&r.notice_key)
        .bind(r.received_at.to_rfc3339())
        .bind(r.received_at.timestamp_millis())
        .bind(r.kind.clone())
        .execute(&mut *self.tx)
        .await?;
        let row = sqlx::query(
            "SELECT id, reason, detail, notice, notice_key, \
             CAST(CASE WHEN dead_confirmed_at IS NULL THEN 1 ELSE 0 END AS BIGINT), \
             CAST(CASE WHEN notice_confirmed_at IS NULL THEN 1 ELSE 0 END AS BIGINT) FROM rejections WHERE document_id = $1 AND record_key = $2",
        )
        .bind(document_id)
        .bind(record_key)
        .fetch_one(&mut *self.tx)
        .await?;
        let mut stored = r.clone();
        stored.reason = row.try_get(1)?;
        stored.detail = row.try_get(2)?;
        stored.notice = row.try_get(3)?;
        stored.notice_key = row.try_get(4)?;
        Ok(PendingRejection {
            id: row.try_get(0)?,
            rejection: stored,
            dead_pending: row.try_get::<i64, _>(5)? == 1,
            notice_pending: row.try_get::<i64, _>(6)? == 1,
        })
    }

    /// Looks up a stored message inside this transaction.
    pub async fn message_ref(&mut self, id: Uuid) -> Result<Option<MessageRef>, StoreError> {
        let row = sqlx::query(
            "SELECT message_id, kind, province, source_division, subject_id, content_hash, spouse_id \
             FROM messages WHERE message_id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(message_ref).transpose()
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://hub:secret@db:5432/yipanqi"),
            "postgres://hub:***@db:5432/yipanqi"
        );
        assert_eq!(redact_url("sqlite://yipanqi.db"), "sqlite://yipanqi.db");
        assert_eq!(redact_url("postgres://hub@db/x"), "postgres://hub@db/x");
    }

    #[test]
    fn sqlite_files_by_url() {
        assert_eq!(sqlite_path("sqlite://yipanqi.db"), Some("yipanqi.db".into()));
        assert_eq!(sqlite_path("sqlite:///tmp/x.db?mode=rwc"), Some("/tmp/x.db".into()));
        assert_eq!(sqlite_path("postgres://h/db"), None);
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[test]
    fn backends_by_url() {
        assert_eq!(Backend::of_url("sqlite://x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(
            Backend::of_url("postgres://h/db").ok(),
            Some(Backend::Postgres)
        );
        assert!(Backend::of_url("mysql://h/db").is_err());
    }
}
