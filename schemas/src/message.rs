//! The typed canonical message: [`CanonicalMessage`], its [`Source`], the [`Person`]s
//! it is about and its kind-specific [`Body`].
//!
//! Serialising one gives exactly the `yipanqi/1` JSON: `in_reply_to` and `spouse` are
//! always present (`null` when absent), every other optional field is omitted when
//! absent. These types do not check cross-field rules (which body fields a kind needs,
//! ID number against birth date); [`crate::validate`] does, before it builds one.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::codes::{
    Change, CheckItem, Contraception, Iud, MaritalHome, MaritalStatus, Offense, Pregnancy,
    ReceiptStatus, Sex,
};
use crate::division::DivisionCode;
use crate::id_number::IdNumber;
use crate::kind::Kind;
use crate::rejection::{RejectReason, Rejection};

/// A canonical `yipanqi/1` message: one business record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanonicalMessage {
    /// Always [`crate::SCHEMA_ID`].
    pub schema: String,
    /// Stable id: [`crate::canonical_message_id`] of the source, or
    /// [`crate::hub_message_id`] for hub-generated kinds.
    pub message_id: Uuid,
    /// What the message is.
    pub kind: Kind,
    /// Where it came from in legacy terms.
    pub source: Source,
    /// The legacy send time, written with whole seconds (`2026-11-03T09:12:00+08:00`).
    #[serde(with = "rfc3339_seconds")]
    pub sent_at: DateTime<FixedOffset>,
    /// The hub's receipt time, written with milliseconds
    /// (`2026-11-03T09:12:01.532+08:00`).
    #[serde(with = "rfc3339_millis")]
    pub received_at: DateTime<FixedOffset>,
    /// The `message_id` of the message this one answers; serialised as `null` when absent.
    pub in_reply_to: Option<Uuid>,
    /// The migrant the message is about; `null` only for hub-generated kinds.
    pub subject: Option<Person>,
    /// The subject's spouse, for kinds that involve a couple; serialised as `null`
    /// when absent.
    pub spouse: Option<Person>,
    /// The kind-specific fields.
    pub body: Body,
}

/// The legacy origin of a canonical message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Two-digit code of the sending province (the province of the queue it came on).
    pub province: String,
    /// The sending office's division.
    pub division: DivisionCode,
    /// The legacy message id.
    pub message_id: String,
    /// Index of the record in a legacy batch; 0 for single-record formats.
    pub record: u32,
}

/// A person: the subject or the spouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Citizen ID number, 18 characters.
    pub id_number: IdNumber,
    /// Name as registered.
    pub name: String,
    /// Sex (GB/T 2261.1).
    pub sex: Sex,
    /// Date of birth; equal to the date inside `id_number`.
    pub birth_date: NaiveDate,
    /// Household-registration place (户籍地).
    pub registration_division: DivisionCode,
    /// Current-residence place (现居住地), when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub residence_division: Option<DivisionCode>,
    /// Marital status (GB/T 2261.2).
    pub marital_status: MaritalStatus,
}

/// The kind-specific fields of a message, all optional; a message carries only the
/// fields its kind uses ([`Kind::body_fields`]).
///
/// One flat struct rather than an enum per kind: field names are unique across kinds
/// in DOMAIN.md, the kind already says which apply, and the kind's JSON Schema (run by
/// [`crate::validate`]) enforces presence. The hub-generated kinds' fields live here
/// too, so that every message is fully typed; `record` and `source_message_id` of a
/// rejection are written as `null` when empty, hence the `Option<Option<_>>` (outer
/// `None`: absent; `Some(None)`: `null`). Use [`Body::rejection`], [`Body::reminder`]
/// and [`Body::escalation`] to build those bodies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Body {
    /// Date of marriage (birth_verify_request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marriage_date: Option<NaiveDate>,
    /// Number of living children.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children_count: Option<u32>,
    /// Whether the registration place verified the request (birth_verify_reply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// Whether the consulted place agrees (second_birth_opinion).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved: Option<bool>,
    /// Free text of a reply or receipt, at most 500 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remarks: Option<String>,
    /// 生育服务证 number (birth_registration_result).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_cert_no: Option<String>,
    /// Date the birth registration was done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_on: Option<NaiveDate>,
    /// The child's date of birth (honor_cert_request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_birth_date: Option<NaiveDate>,
    /// 《婚育证明》 number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_no: Option<String>,
    /// Date the certificate was issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_on: Option<NaiveDate>,
    /// Date the certificate expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
    /// Date the certificate was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_on: Option<NaiveDate>,
    /// Date the migrant without a certificate arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrived_on: Option<NaiveDate>,
    /// Number of the delegation (marriage_cert_delegated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_no: Option<String>,
    /// What changed (migration_notice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// Date the change took effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_on: Option<NaiveDate>,
    /// Address, free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The new place, for a `move`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_division: Option<DivisionCode>,
    /// Date of the check (checkup_result).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_on: Option<NaiveDate>,
    /// What was checked, at least one item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<CheckItem>>,
    /// Pregnancy check result, when `items` has `pregnancy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pregnancy: Option<Pregnancy>,
    /// IUD check result, when `items` has `iud`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iud: Option<Iud>,
    /// Contraceptive method in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contraception: Option<Contraception>,
    /// The institution that did the check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institution: Option<String>,
    /// Case number (fee_collection, case_referral).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_no: Option<String>,
    /// Whose registration place collects across provinces (fee_collection).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marital_home: Option<MaritalHome>,
    /// The offence (case_referral).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offense: Option<Offense>,
    /// Where the act occurred: the lead of a case referral.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occurred_division: Option<DivisionCode>,
    /// Places that assist a case referral.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_divisions: Option<Vec<DivisionCode>>,
    /// Accepted or rejected (receipt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ReceiptStatus>,

    /// Rejection: the reason code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectReason>,
    /// Rejection: the human sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Rejection: JSON Pointers into the canonical form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// Rejection: the record index in a batch (`Some(None)` is written as `null`).
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub record: Option<Option<u32>>,
    /// Rejection: the legacy message id (`Some(None)`, written as `null`, when it could
    /// not be read).
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub source_message_id: Option<Option<String>>,
    /// Reminder/escalation: the `message_id` whose answer is overdue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concerning: Option<Uuid>,
    /// Reminder/escalation: the kind of that message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// Reminder/escalation: the division that owes the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_division: Option<DivisionCode>,
    /// Reminder/escalation: the deadline.
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_rfc3339_seconds")]
    pub due_at: Option<DateTime<FixedOffset>>,
    /// Reminder/escalation: 1 at the deadline, then 2, 3 … every 5 working days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// Escalation: working days past the deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_overdue: Option<u32>,
}

impl Body {
    /// The body of a `rejection` message. `source_message_id` is `None` when the
    /// legacy id could not be read (written as `null`).
    pub fn rejection(rejection: &Rejection, source_message_id: Option<String>) -> Self {
        Self {
            reason: Some(rejection.reason),
            detail: Some(rejection.detail.clone()),
            paths: Some(rejection.paths.clone()),
            record: Some(rejection.record),
            source_message_id: Some(source_message_id),
            ..Self::default()
        }
    }

    /// The body of a `reminder` message.
    pub fn reminder(
        concerning: Uuid,
        kind: Kind,
        owner_division: DivisionCode,
        due_at: DateTime<FixedOffset>,
        step: u32,
    ) -> Self {
        Self {
            concerning: Some(concerning),
            kind: Some(kind),
            owner_division: Some(owner_division),
            due_at: Some(due_at),
            step: Some(step),
            ..Self::default()
        }
    }

    /// The body of an `escalation` message: a reminder's fields plus `days_overdue`.
    pub fn escalation(
        concerning: Uuid,
        kind: Kind,
        owner_division: DivisionCode,
        due_at: DateTime<FixedOffset>,
        step: u32,
        days_overdue: u32,
    ) -> Self {
        Self {
            days_overdue: Some(days_overdue),
            ..Self::reminder(concerning, kind, owner_division, due_at, step)
        }
    }
}

/// Reads a field that is present (possibly `null`) as `Some(_)`; an absent field
/// stays `None` through `#[serde(default)]`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// RFC 3339 with whole seconds: legacy send times have no finer precision.
mod rfc3339_seconds {
    use chrono::{DateTime, FixedOffset, SecondsFormat};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        at: &DateTime<FixedOffset>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Secs, false))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<FixedOffset>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

/// RFC 3339 with milliseconds: the hub's receipt time orders messages that arrive
/// within the same second.
mod rfc3339_millis {
    use chrono::{DateTime, FixedOffset, SecondsFormat};
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        at: &DateTime<FixedOffset>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, false))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<FixedOffset>, D::Error> {
        super::rfc3339_seconds::deserialize(deserializer)
    }
}

/// [`rfc3339_seconds`] for an optional field.
mod opt_rfc3339_seconds {
    use chrono::{DateTime, FixedOffset};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        at: &Option<DateTime<FixedOffset>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::rfc3339_seconds::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| DateTime::parse_from_rfc3339(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}
