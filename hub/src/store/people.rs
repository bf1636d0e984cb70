//! Reads for information sharing: every stored message about a person (as subject or
//! as spouse), and 《婚育证明》 records by number or by issuing division and date. What
//! a caller may see of them is decided in `access/`; this file only reads.

use super::{Store, StoreError};
use crate::access::rules::Scope;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A stored canonical message, as information sharing reads it.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    /// Canonical id.
    pub message_id: String,
    /// Its kind.
    pub kind: String,
    /// Sender province code.
    pub province: String,
    /// Sending division.
    pub source_division: String,
    /// When the hub received it (RFC 3339).
    pub received_at: String,
    /// The canonical JSON.
    pub canonical: String,
}

const COLUMNS: &str = "m.message_id, m.kind, m.province, m.source_division, m.received_at, m.canonical";

fn stored(row: &AnyRow) -> Result<StoredMessage, sqlx::Error> {
    Ok(StoredMessage {
        message_id: row.try_get(0)?,
        kind: row.try_get(1)?,
        province: row.try_get(2)?,
        source_division: row.try_get(3)?,
        received_at: row.try_get(4)?,
        canonical: row.try_get(5)?,
    })
}

/// Which 《婚育证明》 records to list.
#[derive(Debug, Clone, Default)]
pub struct CertificateQuery {
    /// One certificate, by number: its issuance, reissues and verifications.
    pub cert_no: Option<String>,
    /// Certificates issued by this division or below (2, 4, 6 or 9 digits).
    pub division: Option<String>,
    /// Issued on or after this date (`YYYY-MM-DD`).
    pub issued_from: Option<String>,
    /// Issued on or before this date.
    pub issued_to: Option<String>,
    /// At most this many issuance records.
    pub limit: i64,
}

/// The kinds that make up a certificate's record.
const CERT_KINDS: &str = "('marriage_cert_issued', 'marriage_cert_reissued', 'marriage_cert_verified')";
const ISSUE_KINDS: &str = "('marriage_cert_issued', 'marriage_cert_reissued')";

impl Store {
    /// Every message about a person (18-digit ID number), as subject or as spouse, oldest first.
    pub async fn messages_about(&self, id_number: &str) -> Result<Vec<StoredMessage>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM messages m WHERE m.subject_id = $1 OR m.spouse_id = $1 \
             ORDER BY m.received_ms, m.message_id"
        ))
        .bind(id_number)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(stored).collect::<Result<_, _>>()?)
    }

    /// 《婚育证明》 records in `scope`: by number, every record of that certificate; by
    /// division and dates, the issuances (up to `limit`) with the verifications of the
    /// same numbers. A province's scope is the records it sent or received, and those
    /// whose holder is registered or lives in it. Oldest first.
    pub async fn certificates(
        &self,
        q: &CertificateQuery,
        scope: &Scope,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut binds: Vec<String> = Vec::new();
        let mut bind = |v: String| {
            binds.push(v);
            format!("${}", binds.len())
        };
        let scope_sql = match scope {
            Scope::All => String::new(),
            Scope::Province(code) => {
                let c = bind(code.clone());
                let like = bind(format!("{code}%"));
                format!(
                    " AND (m.province = {c} OR m.subject_registration LIKE {like} \
                     OR m.subject_residence LIKE {like} OR EXISTS (SELECT 1 FROM routes r \
                     WHERE r.message_id = m.message_id AND r.target_division LIKE {like}))"
                )
            }
        };
        let sql = if let Some(cert_no) = &q.cert_no {
            let n = bind(cert_no.clone());
            format!(
                "SELECT {COLUMNS} FROM messages m WHERE m.cert_no = {n} AND m.kind IN {CERT_KINDS}{scope_sql} \
                 ORDER BY m.received_ms, m.message_id LIMIT {}",
                q.limit.max(1)
            )
        } else {
            let mut filter = String::new();
            if let Some(d) = &q.division {
                filter.push_str(&format!(" AND m.source_division LIKE {}", bind(format!("{d}%"))));
            }
            if let Some(from) = &q.issued_from {
                filter.push_str(&format!(" AND m.cert_date >= {}", bind(from.clone())));
            }
            if let Some(to) = &q.issued_to {
                filter.push_str(&format!(" AND m.cert_date <= {}", bind(to.clone())));
            }
            // The issuances first, then the verifications of the same numbers.
            format!(
                "SELECT {COLUMNS} FROM messages m WHERE m.message_id IN (\
                   SELECT m.message_id FROM messages m WHERE m.kind IN {ISSUE_KINDS}{filter}{scope_sql} \
                   ORDER BY m.cert_date, m.received_ms, m.message_id LIMIT {limit}) \
                 OR (m.kind = 'marriage_cert_verified' AND m.cert_no IN (\
                   SELECT m.cert_no FROM messages m WHERE m.kind IN {ISSUE_KINDS}{filter}{scope_sql}){scope_sql}) \
                 ORDER BY m.received_ms, m.message_id",
                limit = q.limit.max(1)
            )
        };
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(stored).collect::<Result<_, _>>()?)
    }

    /// The provinces (codes) each message was delivered to, for scoping lists.
    pub async fn delivered_to(&self, message_id: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT substr(target_division, 1, 2) FROM routes WHERE message_id = $1",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, sqlx::Error>>()?)
    }
}
