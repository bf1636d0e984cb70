//! The store's side of the delivery reports (DOMAIN.md §6): the columns that let reports
//! aggregate in SQL — who a message is about and a receipt's status, read from the
//! canonical JSON once when the message is stored — and the answer times of expectations
//! closed before those were recorded. The report queries themselves live in `reports/`,
//! which reads through [`Store::pool`]; this file writes.

use super::{Store, StoreError};
use serde::Deserialize;
use sqlx::Row;

/// What the reports need to know of a stored message's people and body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct MessageFacts {
    pub subject: PersonFacts,
    pub spouse: PersonFacts,
    /// A receipt's `body.status` (`accepted` or `rejected`); `None` for other kinds.
    pub receipt_status: Option<String>,
    /// A 《婚育证明》 record's `body.cert_no`.
    pub cert_no: Option<String>,
    /// A 《婚育证明》 record's date: `issued_on`, or `verified_on` for a verification.
    pub cert_date: Option<String>,
}

/// One person of a message, as far as the reports use them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(super) struct PersonFacts {
    pub name: Option<String>,
    pub sex: Option<String>,
    pub registration_division: Option<String>,
    pub residence_division: Option<String>,
}

#[derive(Deserialize)]
struct Canonical {
    kind: Option<String>,
    subject: Option<PersonFacts>,
    spouse: Option<PersonFacts>,
    body: Option<Body>,
}

#[derive(Deserialize)]
struct Body {
    status: Option<String>,
    cert_no: Option<String>,
    issued_on: Option<String>,
    verified_on: Option<String>,
}

impl MessageFacts {
    /// Reads the facts from a message's canonical JSON. The JSON was produced by the
    /// hub a moment earlier, so a parse failure only leaves the columns empty.
    pub fn of(canonical: &str) -> MessageFacts {
        let Ok(c) = serde_json::from_str::<Canonical>(canonical) else {
            return MessageFacts::default();
        };
        let kind = c.kind.as_deref();
        let body = c.body;
        let certificate = matches!(
            kind,
            Some("marriage_cert_issued" | "marriage_cert_verified" | "marriage_cert_reissued")
        );
        let (cert_no, cert_date) = match (&body, certificate) {
            (Some(b), true) => (
                b.cert_no.clone(),
                b.issued_on.clone().or_else(|| b.verified_on.clone()),
            ),
            _ => (None, None),
        };
        MessageFacts {
            subject: c.subject.unwrap_or_default(),
            spouse: c.spouse.unwrap_or_default(),
            receipt_status: match kind {
                Some("receipt") => body.and_then(|b| b.status),
                _ => None,
            },
            cert_no,
            cert_date,
        }
    }
}

impl Store {
    /// Answered expectations whose answer time in working days is not recorded (answered
    /// before migration 0003): (id, received_at, answered_at), at most `limit`.
    pub async fn answers_without_working_days(
        &self,
        limit: i64,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, received_at, answered_at FROM expectations \
             WHERE answered_at IS NOT NULL AND answer_working_days IS NULL ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Records answer times in working days: (expectation id, days).
    pub async fn record_answer_working_days(&self, days: &[(i64, i64)]) -> Result<(), StoreError> {
        if days.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for (id, n) in days {
            sqlx::query(
                "UPDATE expectations SET answer_working_days = $1 \
                 WHERE id = $2 AND answer_working_days IS NULL",
            )
            .bind(*n)
            .bind(*id)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_come_from_the_canonical_json() {
        let f = MessageFacts::of(
            r#"{"kind":"receipt","subject":{"name":"张三丰","sex":"2","registration_division":"341302",
                "residence_division":"310104011","id_number":"x"},"spouse":null,"body":{"status":"accepted"}}"#,
        );
        assert_eq!(f.subject.name.as_deref(), Some("张三丰"));
        assert_eq!(f.subject.sex.as_deref(), Some("2"));
        assert_eq!(f.subject.registration_division.as_deref(), Some("341302"));
        assert_eq!(f.subject.residence_division.as_deref(), Some("310104011"));
        assert_eq!(f.spouse, PersonFacts::default());
        assert_eq!(f.receipt_status.as_deref(), Some("accepted"));
        let f = MessageFacts::of(r#"{"kind":"checkup_result","subject":null,"body":{"status":"x"}}"#);
        assert_eq!(f.receipt_status, None);
        assert_eq!(MessageFacts::of("not json"), MessageFacts::default());
    }

    #[test]
    fn certificate_records_carry_their_number_and_date() {
        let f = MessageFacts::of(
            r#"{"kind":"marriage_cert_issued","body":{"cert_no":"HY-1","issued_on":"2026-01-05"}}"#,
        );
        assert_eq!((f.cert_no.as_deref(), f.cert_date.as_deref()), (Some("HY-1"), Some("2026-01-05")));
        let f = MessageFacts::of(
            r#"{"kind":"marriage_cert_verified","body":{"cert_no":"HY-1","verified_on":"2026-03-01"}}"#,
        );
        assert_eq!(f.cert_date.as_deref(), Some("2026-03-01"));
        let f = MessageFacts::of(r#"{"kind":"receipt","body":{"cert_no":"HY-1","status":"accepted"}}"#);
        assert_eq!(f.cert_no, None);
    }
}
