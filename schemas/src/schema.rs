//! The embedded JSON Schemas (`schemas/json/`, draft 2020-12) and their compiled
//! validators.
//!
//! The files are the normative form of DOMAIN.md §3; they are embedded with
//! `include_str!` so that the binary runs from any folder, and the envelope is
//! registered under its `$id` so that the kinds' `$ref`s resolve without touching the
//! network or the file system. Each kind's validator is compiled once, on first use.
//!
//! This file reports what the schema says is wrong; turning that into a rejection
//! (and keeping personal data out of it) is [`crate::validate`]'s job.

use std::sync::{LazyLock, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

use crate::kind::Kind;

/// `$id` of the envelope schema, which every kind's schema `$ref`s.
const ENVELOPE_ID: &str = "https://yipanqi.example/schemas/envelope.schema.json";
const ENVELOPE: &str = include_str!("../json/envelope.schema.json");

/// The envelope schema: what every canonical message shares.
pub fn envelope_schema_json() -> &'static str {
    ENVELOPE
}

/// The schema of one kind (`<kind>.schema.json`): the envelope plus that kind's body
/// and its required-if rules.
pub fn schema_json(kind: Kind) -> &'static str {
    match kind {
        Kind::BirthVerifyRequest => include_str!("../json/birth_verify_request.schema.json"),
        Kind::BirthVerifyReply => include_str!("../json/birth_verify_reply.schema.json"),
        Kind::BirthRegistrationResult => {
            include_str!("../json/birth_registration_result.schema.json")
        }
        Kind::SecondBirthConsult => include_str!("../json/second_birth_consult.schema.json"),
        Kind::SecondBirthOpinion => include_str!("../json/second_birth_opinion.schema.json"),
        Kind::HonorCertRequest => include_str!("../json/honor_cert_request.schema.json"),
        Kind::MarriageCertIssued => include_str!("../json/marriage_cert_issued.schema.json"),
        Kind::MarriageCertVerified => include_str!("../json/marriage_cert_verified.schema.json"),
        Kind::MarriageCertMissing => include_str!("../json/marriage_cert_missing.schema.json"),
        Kind::MarriageCertReissued => include_str!("../json/marriage_cert_reissued.schema.json"),
        Kind::MarriageCertDelegated => {
            include_str!("../json/marriage_cert_delegated.schema.json")
        }
        Kind::MigrationNotice => include_str!("../json/migration_notice.schema.json"),
        Kind::CheckupResult => include_str!("../json/checkup_result.schema.json"),
        Kind::FeeCollection => include_str!("../json/fee_collection.schema.json"),
        Kind::CaseReferral => include_str!("../json/case_referral.schema.json"),
        Kind::Receipt => include_str!("../json/receipt.schema.json"),
        Kind::Rejection => include_str!("../json/rejection.schema.json"),
        Kind::Reminder => include_str!("../json/reminder.schema.json"),
        Kind::Escalation => include_str!("../json/escalation.schema.json"),
    }
}

fn parse_embedded(text: &str) -> Value {
    serde_json::from_str(text).expect("embedded schema files are valid JSON (tested)")
}

/// The envelope, registered under its `$id`.
static REGISTRY: LazyLock<Registry<'static>> = LazyLock::new(|| {
    Registry::new()
        .add(ENVELOPE_ID, parse_embedded(ENVELOPE))
        .expect("the envelope's $id is a valid URI")
        .prepare()
        .expect("the embedded envelope schema is a valid resource (tested)")
});

/// One compiled validator per kind, indexed by `Kind as usize`, built on first use.
static VALIDATORS: [OnceLock<Validator>; Kind::ALL.len()] =
    [const { OnceLock::new() }; Kind::ALL.len()];

fn validator(kind: Kind) -> &'static Validator {
    VALIDATORS[kind as usize].get_or_init(|| {
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            // Formats are assertions here: an impossible date must be a
            // schema_violation, not an annotation.
            .should_validate_formats(true)
            .with_registry(&REGISTRY)
            // Everything is registered; a reference to anything else is a bug, never
            // a fetch.
            .offline()
            .build(&parse_embedded(schema_json(kind)))
            .expect("the embedded kind schemas compile (tested)")
    })
}

/// One thing the schema found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaError {
    /// JSON Pointer of the offending field; for a missing property, the pointer the
    /// property would have, so that the path names what to add.
    pub(crate) path: String,
    /// What is wrong, in the validator's words (the value quoted only when harmless).
    pub(crate) message: String,
    /// The same with the offending value replaced by "the value", for paths that hold
    /// personal data.
    pub(crate) masked_message: String,
}

/// Whether a value may be quoted back in a rejection: a boolean, a number, or a string of
/// at most 32 plain characters (letters, digits, `-_.:`) without a run of six digits —
/// never a structure, never something that could be a name or an ID number.
fn quotable(value: &Value) -> bool {
    match value {
        Value::Bool(_) | Value::Number(_) | Value::Null => true,
        Value::String(s) => {
            let mut run = 0;
            let mut longest = 0;
            for c in s.chars() {
                run = if c.is_ascii_digit() { run + 1 } else { 0 };
                longest = longest.max(run);
            }
            s.chars().count() <= 32
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
                && longest < 6
        }
        Value::Array(_) | Value::Object(_) => false,
    }
}

/// Every error of `instance` against `kind`'s schema, in the validator's order.
pub(crate) fn schema_errors(kind: Kind, instance: &Value) -> Vec<SchemaError> {
    let mut errors = Vec::new();
    for error in validator(kind).iter_errors(instance) {
        let base = error.instance_path().as_str();
        // A missing or unexpected property is reported at its own path, where the
        // validator's sentence ("\"x\" is a required property") would repeat the name.
        let named = |names: Vec<&str>, message: &str| -> Vec<SchemaError> {
            names
                .into_iter()
                .map(|name| SchemaError {
                    path: child_path(base, name),
                    message: message.to_owned(),
                    masked_message: message.to_owned(),
                })
                .collect()
        };
        match error.kind() {
            ValidationErrorKind::Required { property } => errors.extend(named(
                vec![property.as_str().unwrap_or_default()],
                "is required but missing",
            )),
            ValidationErrorKind::AdditionalProperties { unexpected } => errors.extend(named(
                unexpected.iter().map(String::as_str).collect(),
                "is not a field of this kind of message",
            )),
            _ => {
                let masked = error.masked_with("the value").to_string();
                // The value is quoted only when it is a short, plain code or number:
                // anything else may be a name or an ID number in the wrong field.
                let message = if quotable(error.instance()) {
                    error.to_string()
                } else {
                    masked.clone()
                };
                errors.push(SchemaError {
                    path: base.to_owned(),
                    message,
                    masked_message: masked,
                })
            }
        }
    }
    errors
}

/// `base` + `/` + `name`, escaped as RFC 6901 requires.
fn child_path(base: &str, name: &str) -> String {
    format!("{base}/{}", name.replace('~', "~0").replace('/', "~1"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn body_schema(kind: Kind) -> Value {
        parse_embedded(schema_json(kind))["properties"]["body"].clone()
    }

    #[test]
    fn every_schema_compiles_and_names_its_kind() {
        for kind in Kind::ALL {
            let schema = parse_embedded(schema_json(kind));
            assert_eq!(
                schema["$id"],
                format!("https://yipanqi.example/schemas/{kind}.schema.json")
            );
            assert_eq!(schema["properties"]["kind"]["const"], kind.as_str());
            let _ = validator(kind);
        }
    }

    #[test]
    fn schema_bodies_match_kind_body_fields() {
        for kind in Kind::ALL {
            let body = body_schema(kind);
            let declared: BTreeSet<&str> = body["properties"]
                .as_object()
                .expect("body properties")
                .keys()
                .map(String::as_str)
                .collect();
            let used: BTreeSet<&str> = kind.body_fields().iter().copied().collect();
            assert_eq!(declared, used, "{kind}");
            let required: BTreeSet<&str> = body["required"]
                .as_array()
                .map(|names| names.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let expected: BTreeSet<&str> = kind.required_body_fields().iter().copied().collect();
            assert_eq!(required, expected, "{kind}");
            assert_eq!(body["additionalProperties"], false, "{kind}");
        }
    }

    #[test]
    fn schema_code_lists_match_the_rust_enums() {
        let envelope = parse_embedded(ENVELOPE);
        let fields = &envelope["$defs"]["body_fields"];
        for field in [
            "change",
            "pregnancy",
            "iud",
            "contraception",
            "marital_home",
            "offense",
            "status",
        ] {
            let codes = crate::code_values(field).expect("an enumerated field");
            assert_eq!(fields[field]["enum"], serde_json::json!(codes), "{field}");
        }
        assert_eq!(
            fields["items"]["items"]["enum"],
            serde_json::json!(crate::CheckItem::CODES)
        );
        let reasons: Vec<&str> = crate::RejectReason::ALL
            .iter()
            .map(|r| r.as_str())
            .collect();
        assert_eq!(fields["reason"]["enum"], serde_json::json!(reasons));
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            envelope["properties"]["kind"]["enum"],
            serde_json::json!(kinds)
        );
        let person = &envelope["$defs"]["person"]["properties"];
        assert_eq!(person["sex"]["enum"], serde_json::json!(crate::Sex::CODES));
        assert_eq!(
            person["marital_status"]["enum"],
            serde_json::json!(crate::MaritalStatus::CODES)
        );
    }

    #[test]
    fn missing_properties_are_reported_at_their_own_path() {
        let errors = schema_errors(Kind::Receipt, &serde_json::json!({"schema": "yipanqi/1"}));
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"/body"), "{paths:?}");
        assert!(paths.contains(&"/subject"), "{paths:?}");
        assert_eq!(child_path("/a", "b/c~d"), "/a/b~1c~0d");
    }
}
