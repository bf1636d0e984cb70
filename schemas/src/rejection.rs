//! Rejection reasons (DOMAIN.md §4) and [`Rejection`], the machine-readable "no" that
//! goes back to the sending province, to the dead-letter queue and to the store.
//!
//! A rejection's `detail` is read by provinces and written to logs, so whoever builds
//! one must never put an ID number or a name in it in clear (use
//! [`crate::mask_id_number`] / [`crate::mask_name`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codes::{code_enum, UnknownCode};

code_enum! {
    /// Why an inbound message was rejected: a bounded set, used as a metric label.
    pub enum RejectReason (UnknownCode, v => UnknownCode { set: "reason", value: v.chars().take(40).collect() }) {
        /// The bytes could not be parsed (bad XML/JSON, DTD or entity declaration,
        /// inconsistent batch).
        Malformed = "malformed",
        /// The body is over the size limit.
        TooLarge = "too_large",
        /// The kind is missing, unknown, or one only the hub generates.
        UnknownKind = "unknown_kind",
        /// A field is missing, malformed or of an unknown code.
        SchemaViolation = "schema_violation",
        /// An ID number's check character, birth date or sex digit is wrong.
        InvalidIdNumber = "invalid_id_number",
        /// A division code is in neither the county nor the township table.
        UnknownDivision = "unknown_division",
        /// The sender division is not in the province whose queue the message came on.
        SenderMismatch = "sender_mismatch",
        /// `in_reply_to` names no message the hub knows.
        UnknownReference = "unknown_reference",
        /// A reply from a province that does not own the expectation.
        UnauthorizedReply = "unauthorized_reply",
        /// An answer about another person than the message it answers.
        SubjectMismatch = "subject_mismatch",
        /// A known legacy id and record arrived again with different content.
        ConflictingDuplicate = "conflicting_duplicate",
    }
}

/// A machine-readable rejection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// The reason code.
    pub reason: RejectReason,
    /// A short human sentence: what was wrong, where. Never personal data in clear.
    pub detail: String,
    /// JSON Pointers into the canonical form (`/body/checked_on`); empty when the
    /// failure has no place (e.g. `malformed`).
    pub paths: Vec<String>,
    /// The index of the rejected record in a batch; `None` for a whole message.
    pub record: Option<u32>,
}

impl Rejection {
    /// A rejection with no paths and no record index.
    pub fn new(reason: RejectReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            paths: Vec::new(),
            record: None,
        }
    }

    /// Sets the JSON Pointers of the offending fields.
    #[must_use]
    pub fn with_paths(mut self, paths: Vec<String>) -> Self {
        self.paths = paths;
        self
    }

    /// Sets the index of the rejected record in its batch.
    #[must_use]
    pub fn at_record(mut self, record: u32) -> Self {
        self.record = Some(record);
        self
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)?;
        if let Some(record) = self.record {
            write!(f, " (record {record})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_the_eleven_of_the_domain() {
        assert_eq!(RejectReason::ALL.len(), 11);
        assert_eq!(RejectReason::SchemaViolation.as_str(), "schema_violation");
        assert_eq!(
            "conflicting_duplicate".parse::<RejectReason>(),
            Ok(RejectReason::ConflictingDuplicate)
        );
        assert!("late".parse::<RejectReason>().is_err());
    }

    #[test]
    fn builder_and_serialisation() {
        let rejection = Rejection::new(RejectReason::SchemaViolation, "bad date")
            .with_paths(vec!["/body/checked_on".to_owned()])
            .at_record(2);
        assert_eq!(
            serde_json::to_value(&rejection).expect("serialises"),
            serde_json::json!({
                "reason": "schema_violation", "detail": "bad date",
                "paths": ["/body/checked_on"], "record": 2
            })
        );
        assert_eq!(
            rejection.to_string(),
            "schema_violation: bad date (record 2)"
        );
    }
}
