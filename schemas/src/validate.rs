//! [`validate`]: from an adapter's candidate JSON to a typed [`CanonicalMessage`], or
//! to the one [`Rejection`] that says what is wrong.
//!
//! Checks run in DOMAIN.md §4's order — kind → fields and formats → codes and
//! divisions → ID numbers — and the first failing stage names the reason, so an
//! impossible date is a `schema_violation` even when it would also disagree with the
//! ID number. References (`unknown_reference`, `unauthorized_reply`, …) need the
//! store and are the hub's to check.
//!
//! Rejection details go back to provinces and into logs: values under `/subject` and
//! `/spouse` are never echoed; an ID number appears masked at most.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::division::division_exists;
use crate::id_number::{IdNumber, IdNumberError};
use crate::kind::Kind;
use crate::message::CanonicalMessage;
use crate::message_id::canonical_message_id;
use crate::rejection::{RejectReason, Rejection};
use crate::schema::schema_errors;

/// The persons of a message, by their top-level field.
const PERSONS: [&str; 2] = ["subject", "spouse"];

/// How many schema errors the human detail spells out; `paths` lists them all.
const DETAIL_ERRORS: usize = 3;

/// What a province's mapping decides about a wrong ID check character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdCheckPolicy {
    /// Reject the message (`invalid_id_number`): the default.
    #[default]
    Reject,
    /// Accept the message and return a warning, to be flagged and counted.
    Warn,
}

/// Per-sender settings of [`validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// The two-digit code of the province whose queue the message came on: the
    /// sender's identity. When set, `source.division` and `source.province` must be in
    /// it (`sender_mismatch`); when not, `source.division` must be in `source.province`.
    pub expected_province: Option<String>,
    /// What to do with a wrong ID check character.
    pub id_check: IdCheckPolicy,
}

/// A message that passed [`validate`], with what was accepted but worth flagging.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    /// The typed message.
    pub message: CanonicalMessage,
    /// Human sentences (no personal data in clear), e.g. a wrong ID check character
    /// accepted under [`IdCheckPolicy::Warn`].
    pub warnings: Vec<String>,
}

/// Validates a candidate canonical message (as produced by an adapter) and parses it
/// into the typed form.
///
/// Before checking, the candidate is normalised: 15-digit ID numbers are upgraded, a
/// trailing `x` is upper-cased, and body fields the kind does not use are dropped
/// (legacy formats carry more than the canonical kind needs; that is not an error).
pub fn validate(mut candidate: Value, opts: &ValidateOptions) -> Result<Validated, Rejection> {
    let Some(object) = candidate.as_object_mut() else {
        return Err(Rejection::new(
            RejectReason::Malformed,
            "the canonical candidate is not a JSON object",
        ));
    };
    let kind = read_kind(object)?;
    normalise(object, kind);

    check_text(&candidate)?;
    check_schema(kind, &candidate)?;
    check_cross_field_rules(kind, &candidate)?;
    check_divisions(&candidate, opts)?;
    let warnings = check_id_numbers(&candidate, opts.id_check)?;

    let message = serde_json::from_value(candidate).map_err(|_| {
        // The schema admits only what the types can hold, so this is a bug in this
        // crate. The serde error is not echoed: it may quote a personal value.
        Rejection::new(
            RejectReason::SchemaViolation,
            "the message passed its schema but does not fit the yipanqi/1 types",
        )
    })?;
    Ok(Validated { message, warnings })
}

/// Stage "fields": no text holds a control character other than tab and line breaks —
/// a NUL cannot be stored (PostgreSQL refuses it in text) and no legacy field needs one.
/// The value is not echoed.
fn check_text(candidate: &Value) -> Result<(), Rejection> {
    fn walk(v: &Value, path: &mut String) -> Option<String> {
        match v {
            Value::String(s) if s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) => {
                Some(if path.is_empty() { "/".to_owned() } else { path.clone() })
            }
            Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("/{i}"));
                let found = walk(item, path);
                path.truncate(len);
                found
            }),
            Value::Object(map) => map.iter().find_map(|(k, item)| {
                let len = path.len();
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                let found = walk(item, path);
                path.truncate(len);
                found
            }),
            _ => None,
        }
    }
    match walk(candidate, &mut String::new()) {
        Some(path) => Err(Rejection::new(
            RejectReason::SchemaViolation,
            format!("{path} contains a control character (such as NUL), which no field may hold"),
        )
        .with_paths(vec![path])),
        None => Ok(()),
    }
}

/// Stage "kind": a known kind that provinces may send.
fn read_kind(object: &Map<String, Value>) -> Result<Kind, Rejection> {
    let unknown = |detail: String| {
        Rejection::new(RejectReason::UnknownKind, detail).with_paths(vec!["/kind".to_owned()])
    };
    let kind = match object.get("kind") {
        None | Some(Value::Null) => return Err(unknown("the message has no kind".to_owned())),
        Some(Value::String(text)) => text.parse::<Kind>().map_err(|e| unknown(e.to_string()))?,
        Some(_) => return Err(unknown("kind is not a string".to_owned())),
    };
    if !kind.is_inbound() {
        return Err(unknown(format!(
            "kind {kind} is generated by the hub and never accepted inbound"
        )));
    }
    Ok(kind)
}

/// Upgrades 15-digit ID numbers, upper-cases a trailing `x`, drops unused body fields.
fn normalise(object: &mut Map<String, Value>, kind: Kind) {
    for role in PERSONS {
        let Some(Value::Object(person)) = object.get_mut(role) else {
            continue;
        };
        let Some(Value::String(id)) = person.get_mut("id_number") else {
            continue;
        };
        if let Some(upgraded) = IdNumber::upgrade_15(id) {
            *id = upgraded;
        } else if id.len() == 18 && id.ends_with('x') {
            id.pop();
            id.push('X');
        }
    }
    if let Some(Value::Object(body)) = object.get_mut("body") {
        body.retain(|field, _| kind.body_fields().contains(&field.as_str()));
    }
}

/// Stage "fields and formats": the kind's JSON Schema, formats asserted.
fn check_schema(kind: Kind, candidate: &Value) -> Result<(), Rejection> {
    let errors = schema_errors(kind, candidate);
    if errors.is_empty() {
        return Ok(());
    }
    let mut paths: Vec<String> = Vec::new();
    let mut sentences = Vec::new();
    for error in &errors {
        if paths.contains(&error.path) {
            continue;
        }
        if sentences.len() < DETAIL_ERRORS {
            let message = if is_personal(&error.path) {
                &error.masked_message
            } else {
                &error.message
            };
            sentences.push(format!(
                "{}: {}",
                display_path(&error.path),
                truncate(message, 160)
            ));
        }
        paths.push(error.path.clone());
    }
    let more = paths.len() - sentences.len();
    let mut detail = format!("does not match the {kind} schema: {}", sentences.join("; "));
    if more > 0 {
        detail.push_str(&format!(" (and {more} more)"));
    }
    Err(Rejection::new(RejectReason::SchemaViolation, detail).with_paths(paths))
}

/// Also stage "fields and formats": rules a JSON Schema cannot state because they
/// compare two values. Runs on a candidate that passed its schema.
fn check_cross_field_rules(kind: Kind, candidate: &Value) -> Result<(), Rejection> {
    let violation = |path: &str, detail: String| {
        Err(Rejection::new(RejectReason::SchemaViolation, detail).with_paths(vec![path.to_owned()]))
    };

    // The id is the basis of duplicate detection: an adapter that computes it any
    // other way would make re-deliveries look new.
    let source = &candidate["source"];
    let province = source["province"].as_str().unwrap_or_default();
    let legacy_id = source["message_id"].as_str().unwrap_or_default();
    let record = source["record"]
        .as_u64()
        .and_then(|r| u32::try_from(r).ok())
        .unwrap_or(0);
    let expected = canonical_message_id(province, legacy_id, record);
    let given = candidate["message_id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok());
    if given != Some(expected) {
        return violation(
            "/message_id",
            format!(
                "message_id must be the UUIDv5 of yipanqi:{province}:{legacy_id}:{record}, \
                 i.e. {expected}"
            ),
        );
    }

    if kind == Kind::FeeCollection {
        let province_of = |role: &str| {
            candidate[role]["registration_division"]
                .as_str()
                .and_then(|code| code.get(..2))
        };
        let home_missing = candidate["body"].get("marital_home").is_none();
        if province_of("subject") != province_of("spouse") && home_missing {
            return violation(
                "/body/marital_home",
                "/body/marital_home: is required when the spouses are registered in \
                 different provinces"
                    .to_owned(),
            );
        }
    }
    Ok(())
}

/// Stage "codes and divisions": every division known, then the sender in its province.
fn check_divisions<'a>(candidate: &'a Value, opts: &ValidateOptions) -> Result<(), Rejection> {
    // The sender division comes first: an unknown sender is `unknown_division`, not
    // `sender_mismatch`, and its path leads the list.
    let mut fields: Vec<(String, &str)> = Vec::new();
    let mut add = |path: String, value: &'a Value| {
        if let Some(code) = value.as_str() {
            fields.push((path, code));
        }
    };
    add(
        "/source/division".to_owned(),
        &candidate["source"]["division"],
    );
    for role in PERSONS {
        for field in ["registration_division", "residence_division"] {
            add(format!("/{role}/{field}"), &candidate[role][field]);
        }
    }
    let body = &candidate["body"];
    add("/body/new_division".to_owned(), &body["new_division"]);
    add(
        "/body/occurred_division".to_owned(),
        &body["occurred_division"],
    );
    if let Some(related) = body["related_divisions"].as_array() {
        for (i, code) in related.iter().enumerate() {
            add(format!("/body/related_divisions/{i}"), code);
        }
    }

    let unknown: Vec<&(String, &str)> = fields
        .iter()
        .filter(|(_, code)| !division_exists(code))
        .collect();
    if !unknown.is_empty() {
        let named: Vec<String> = unknown
            .iter()
            .map(|(path, code)| {
                if is_personal(path) {
                    path.clone()
                } else {
                    format!("{path} ({code})")
                }
            })
            .collect();
        return Err(Rejection::new(
            RejectReason::UnknownDivision,
            format!(
                "not in the 2023 GB/T 2260 division table: {}",
                named.join(", ")
            ),
        )
        .with_paths(unknown.iter().map(|(path, _)| path.clone()).collect()));
    }

    let division = candidate["source"]["division"].as_str().unwrap_or_default();
    let declared = candidate["source"]["province"].as_str().unwrap_or_default();
    let in_province = division.get(..2).unwrap_or_default();
    let mismatch = |path: &str, detail: String| {
        Err(Rejection::new(RejectReason::SenderMismatch, detail).with_paths(vec![path.to_owned()]))
    };
    match opts.expected_province.as_deref() {
        Some(expected) if in_province != expected => mismatch(
            "/source/division",
            format!("sender division {division} is not in province {expected}, whose queue the message came on"),
        ),
        Some(expected) if declared != expected => mismatch(
            "/source/province",
            format!("source province {declared} is not province {expected}, whose queue the message came on"),
        ),
        None if in_province != declared => mismatch(
            "/source/division",
            format!("sender division {division} is not in the declared source province {declared}"),
        ),
        _ => Ok(()),
    }
}

/// Stage "ID numbers": check character (per policy), embedded birth date, sex digit.
/// Returns the warnings of numbers accepted under [`IdCheckPolicy::Warn`].
fn check_id_numbers(candidate: &Value, policy: IdCheckPolicy) -> Result<Vec<String>, Rejection> {
    let mut warnings = Vec::new();
    for role in PERSONS {
        let person = &candidate[role];
        let Some(id) = person["id_number"].as_str() else {
            continue;
        };
        let path = format!("/{role}/id_number");
        let invalid = |detail: String| {
            Err(Rejection::new(RejectReason::InvalidIdNumber, detail)
                .with_paths(vec![path.clone()]))
        };
        let (number, wrong_check) = match IdNumber::parse_lenient(id) {
            Ok(parsed) => parsed,
            Err(IdNumberError::BirthDate(masked)) => {
                return invalid(format!(
                    "{path} ({masked}) does not contain a valid birth date"
                ))
            }
            Err(error) => return invalid(format!("{path}: {error}")),
        };
        let masked = number.masked();
        if wrong_check {
            let expected = IdNumber::check_char(&number.as_str()[..17])
                .expect("an IdNumber starts with 17 digits");
            let problem =
                format!("{path} ({masked}) has a wrong check character (expected {expected})");
            match policy {
                IdCheckPolicy::Reject => return invalid(problem),
                IdCheckPolicy::Warn => {
                    warnings.push(format!("{problem}; accepted under the warn policy"))
                }
            }
        }
        let birth_date = person["birth_date"]
            .as_str()
            .and_then(|d| d.parse::<NaiveDate>().ok());
        if birth_date != Some(number.birth_date()) {
            return invalid(format!(
                "the birth date inside {path} ({masked}) differs from /{role}/birth_date"
            ));
        }
        let female = match person["sex"].as_str() {
            Some("1") => false,
            Some("2") => true,
            // The schema admits only "1" and "2"; nothing to compare otherwise.
            _ => continue,
        };
        if female != number.is_female() {
            let (digit_says, sex_says) = if number.is_female() {
                ("female", "1 (male)")
            } else {
                ("male", "2 (female)")
            };
            return invalid(format!(
                "the sequence digit of {path} ({masked}) says {digit_says}, /{role}/sex says {sex_says}"
            ));
        }
    }
    Ok(warnings)
}

/// Whether a path may hold personal data, so its value must not be echoed: the
/// persons, and the root, whose value contains them.
fn is_personal(path: &str) -> bool {
    path.is_empty()
        || PERSONS.iter().any(|role| {
            path.strip_prefix('/')
                .and_then(|rest| rest.strip_prefix(role))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "the message"
    } else {
        path
    }
}

/// At most `max` characters, with an ellipsis when cut: a detail is a sentence, not
/// a dump of whatever the province sent.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, FixedOffset};
    use serde_json::json;

    use super::*;
    use crate::codes::{CheckItem, Iud, Pregnancy};
    use crate::division::DivisionCode;
    use crate::message::Body;
    use crate::message_id::hub_message_id;

    const SUBJECT_ID: &str = "34130219920517002X";
    const SUBJECT_NAME: &str = "王小芳";

    /// DOMAIN.md §3's example, with a name and a body.
    fn checkup() -> Value {
        json!({
            "schema": "yipanqi/1",
            "message_id": "fdecf3b3-57e9-5746-ba8f-54ace962a8ad",
            "kind": "checkup_result",
            "source": {
                "province": "31", "division": "310104",
                "message_id": "SH31010420261103000017", "record": 0
            },
            "sent_at": "2026-11-03T09:12:00+08:00",
            "received_at": "2026-11-03T09:12:01.532+08:00",
            "in_reply_to": null,
            "subject": {
                "id_number": SUBJECT_ID, "name": SUBJECT_NAME, "sex": "2",
                "birth_date": "1992-05-17", "registration_division": "341302",
                "residence_division": "310104011", "marital_status": "20"
            },
            "spouse": null,
            "body": {
                "checked_on": "2026-11-02", "items": ["pregnancy", "iud"],
                "pregnancy": "not_pregnant", "iud": "in_place",
                "contraception": "iud", "institution": "徐汇区妇幼保健所"
            }
        })
    }

    /// A Jiangsu husband for the couple kinds.
    fn husband() -> Value {
        json!({
            "id_number": "320102198702030052", "name": "李大明", "sex": "1",
            "birth_date": "1987-02-03", "registration_division": "320102",
            "marital_status": "20"
        })
    }

    /// `checkup()` turned into another kind with another body.
    fn as_kind(kind: Kind, body: Value) -> Value {
        let mut message = checkup();
        message["kind"] = json!(kind.as_str());
        message["body"] = body;
        message
    }

    fn ok(candidate: Value) -> Validated {
        match validate(candidate, &ValidateOptions::default()) {
            Ok(validated) => validated,
            Err(rejection) => panic!("expected a valid message, got {rejection:?}"),
        }
    }

    fn rejected(candidate: Value, opts: &ValidateOptions) -> Rejection {
        validate(candidate, opts).expect_err("expected a rejection")
    }

    fn rejected_default(candidate: Value) -> Rejection {
        rejected(candidate, &ValidateOptions::default())
    }

    fn assert_rejection(rejection: &Rejection, reason: RejectReason, paths: &[&str]) {
        assert_eq!(rejection.reason, reason, "{rejection:?}");
        assert_eq!(rejection.paths, paths, "{rejection:?}");
        assert!(!rejection.detail.contains(SUBJECT_ID), "{rejection:?}");
        assert!(!rejection.detail.contains(SUBJECT_NAME), "{rejection:?}");
    }

    #[test]
    fn values_in_the_wrong_field_are_not_quoted() {
        let hostile = "李秀英31010119840914786X";
        let mut m = checkup();
        m["kind"] = json!("receipt");
        m["in_reply_to"] = json!(hostile);
        m["body"] = json!({"status": "accepted"});
        let r = rejected_default(m);
        assert_eq!(r.reason, RejectReason::SchemaViolation);
        assert!(!r.detail.contains("李秀英") && !r.detail.contains("3101011984"), "{}", r.detail);
        let mut m = checkup();
        m["source"]["division"] = json!("31010119840914786X");
        let r = rejected_default(m);
        assert!(!r.detail.contains("3101011984"), "{}", r.detail);
        // A short code is still quoted, to say what was wrong.
        let mut m = checkup();
        m["body"]["contraception"] = json!("pill");
        let r = rejected_default(m);
        assert!(r.detail.contains("\"pill\""), "{}", r.detail);
    }

    #[test]
    fn a_control_character_in_any_field_is_a_schema_violation() {
        let mut m = checkup();
        m["source"]["message_id"] = json!("SH3101042026110\u{0}3000017");
        assert_rejection(&rejected_default(m), RejectReason::SchemaViolation, &["/source/message_id"]);
        let mut m = checkup();
        m["subject"]["name"] = json!("王\u{0}小芳");
        let r = rejected_default(m);
        assert_rejection(&r, RejectReason::SchemaViolation, &["/subject/name"]);
        assert!(r.detail.contains("control character"), "{r:?}");
        let mut m = checkup();
        m["body"]["institution"] = json!("徐汇区\n妇幼保健所\t");
        ok(m);
    }

    #[test]
    fn the_domain_example_passes_and_round_trips() {
        let validated = ok(checkup());
        assert!(validated.warnings.is_empty());
        let message = &validated.message;
        assert_eq!(message.kind, Kind::CheckupResult);
        assert_eq!(
            message.body.items,
            Some(vec![CheckItem::Pregnancy, CheckItem::Iud])
        );
        assert_eq!(message.body.pregnancy, Some(Pregnancy::NotPregnant));
        assert_eq!(message.body.iud, Some(Iud::InPlace));
        let subject = message.subject.as_ref().expect("subject");
        assert_eq!(subject.id_number.as_str(), SUBJECT_ID);
        assert_eq!(
            serde_json::to_value(message).expect("serialises"),
            checkup()
        );
    }

    #[test]
    fn serialisation_keeps_null_references_and_omits_absent_fields() {
        let mut candidate = checkup();
        candidate["subject"]
            .as_object_mut()
            .expect("object")
            .remove("residence_division");
        candidate["body"]
            .as_object_mut()
            .expect("object")
            .remove("institution");
        let out = serde_json::to_value(ok(candidate).message).expect("serialises");
        assert_eq!(out["in_reply_to"], Value::Null);
        assert_eq!(out["spouse"], Value::Null);
        assert!(out.as_object().expect("object").contains_key("in_reply_to"));
        assert!(out.as_object().expect("object").contains_key("spouse"));
        assert!(!out["subject"]
            .as_object()
            .expect("object")
            .contains_key("residence_division"));
        assert!(!out["body"]
            .as_object()
            .expect("object")
            .contains_key("institution"));
        assert_eq!(out["received_at"], "2026-11-03T09:12:01.532+08:00");
        assert_eq!(out["sent_at"], "2026-11-03T09:12:00+08:00");
    }

    #[test]
    fn body_fields_the_kind_does_not_use_are_dropped() {
        let mut candidate = checkup();
        candidate["body"]["paper_form_no"] = json!("ZJ-0042");
        candidate["body"]["verified"] = json!(true);
        let out = serde_json::to_value(ok(candidate).message).expect("serialises");
        assert_eq!(out, checkup());
    }

    #[test]
    fn fifteen_digit_and_lower_case_x_numbers_are_normalised() {
        let mut candidate = checkup();
        candidate["subject"]["id_number"] = json!("341302920517002");
        let validated = ok(candidate);
        let subject = validated.message.subject.expect("subject");
        assert_eq!(subject.id_number.as_str(), SUBJECT_ID);

        let mut candidate = checkup();
        candidate["subject"]["id_number"] = json!("34130219920517002x");
        assert_eq!(
            ok(candidate)
                .message
                .subject
                .expect("subject")
                .id_number
                .as_str(),
            SUBJECT_ID
        );
    }

    #[test]
    fn not_an_object_is_malformed() {
        let rejection = rejected_default(json!([1, 2]));
        assert_rejection(&rejection, RejectReason::Malformed, &[]);
    }

    #[test]
    fn unknown_missing_and_hub_kinds_are_unknown_kind() {
        let mut candidate = checkup();
        candidate["kind"] = json!("checkup");
        assert_rejection(
            &rejected_default(candidate),
            RejectReason::UnknownKind,
            &["/kind"],
        );

        let mut candidate = checkup();
        candidate.as_object_mut().expect("object").remove("kind");
        assert_rejection(
            &rejected_default(candidate),
            RejectReason::UnknownKind,
            &["/kind"],
        );

        for hub_kind in [Kind::Rejection, Kind::Reminder, Kind::Escalation] {
            let rejection = rejected_default(as_kind(hub_kind, json!({})));
            assert_rejection(&rejection, RejectReason::UnknownKind, &["/kind"]);
        }
    }

    #[test]
    fn an_impossible_date_is_a_schema_violation() {
        let mut candidate = checkup();
        candidate["body"]["checked_on"] = json!("2026-13-32");
        let rejection = rejected_default(candidate);
        assert_rejection(
            &rejection,
            RejectReason::SchemaViolation,
            &["/body/checked_on"],
        );
        assert!(
            rejection.detail.contains("/body/checked_on"),
            "{}",
            rejection.detail
        );
        assert!(
            rejection.detail.contains("2026-13-32"),
            "{}",
            rejection.detail
        );
    }

    #[test]
    fn an_impossible_birth_date_is_a_schema_violation_not_an_id_mismatch() {
        let mut candidate = checkup();
        candidate["subject"]["birth_date"] = json!("1992-02-30");
        let rejection = rejected_default(candidate);
        assert_rejection(
            &rejection,
            RejectReason::SchemaViolation,
            &["/subject/birth_date"],
        );
        assert!(
            !rejection.detail.contains("1992-02-30"),
            "{}",
            rejection.detail
        );
    }

    #[test]
    fn personal_values_are_not_echoed_in_schema_details() {
        let mut candidate = checkup();
        candidate["subject"]["id_number"] = json!("34130219920517002Y");
        candidate["subject"]["name"] = json!("");
        let rejection = rejected_default(candidate);
        assert_rejection(
            &rejection,
            RejectReason::SchemaViolation,
            &["/subject/id_number", "/subject/name"],
        );
        assert!(
            !rejection.detail.contains("34130219920517002Y"),
            "{}",
            rejection.detail
        );
    }

    #[test]
    fn schema_violations_list_every_path() {
        let mut candidate = checkup();
        candidate["body"]["checked_on"] = json!("20261102");
        candidate["body"]["pregnancy"] = json!("maybe");
        candidate["source"]["record"] = json!(-1);
        let rejection = rejected_default(candidate);
        let mut paths = rejection.paths.clone();
        paths.sort();
        assert_eq!(
            paths,
            ["/body/checked_on", "/body/pregnancy", "/source/record"]
        );
    }

    #[test]
    fn checkup_results_need_the_result_of_each_item() {
        let mut candidate = checkup();
        candidate["body"] = json!({"checked_on": "2026-11-02", "items": ["pregnancy"]});
        assert_rejection(
            &rejected_default(candidate),
            RejectReason::SchemaViolation,
            &["/body/pregnancy"],
        );

        let mut candidate = checkup();
        candidate["body"] = json!({"checked_on": "2026-11-02", "items": ["iud"]});
        assert_rejection(
            &rejected_default(candidate),
            RejectReason::SchemaViolation,
            &["/body/iud"],
        );

        let mut candidate = checkup();
        candidate["body"] =
            json!({"checked_on": "2026-11-02", "items": ["iud"], "iud": "displaced"});
        ok(candidate);

        let mut candidate = checkup();
        candidate["body"] = json!({"checked_on": "2026-11-02", "items": []});
        assert_rejection(
            &rejected_default(candidate),
            RejectReason::SchemaViolation,
            &["/body/items"],
        );

        let mut candidate = checkup();
        candidate["body"]
            .as_object_mut()
            .expect("object")
            .remove("checked_on");
        assert_rejection(
            &rejected_default(candidate),
            RejectReason::SchemaViolation,
            &["/body/checked_on"],
        );
    }

    #[test]
    fn a_move_needs_the_new_division() {
        let body = json!({"change": "move", "effective_on": "2026-10-01"});
        assert_rejection(
            &rejected_default(as_kind(Kind::MigrationNotice, body)),
            RejectReason::SchemaViolation,
            &["/body/new_division"],
        );
        ok(as_kind(
            Kind::MigrationNotice,
            json!({"change": "move", "effective_on": "2026-10-01", "new_division": "330106"}),
        ));
        ok(as_kind(
            Kind::MigrationNotice,
            json!({"change": "inflow", "effective_on": "2026-10-01"}),
        ));
    }

    #[test]
    fn pure_answers_must_name_what_they_answer() {
        let receipt = as_kind(Kind::Receipt, json!({"status": "accepted"}));
        assert_rejection(
            &rejected_default(receipt.clone()),
            RejectReason::SchemaViolation,
            &["/in_reply_to"],
        );

        let mut with_reference = receipt.clone();
        with_reference["in_reply_to"] = json!("fdecf3b3-57e9-5746-ba8f-54ace962a8ad");
        let message = ok(with_reference).message;
        assert_eq!(
            message.in_reply_to.map(|id| id.to_string()).as_deref(),
            Some("fdecf3b3-57e9-5746-ba8f-54ace962a8ad")
        );

        let mut not_a_uuid = receipt;
        not_a_uuid["in_reply_to"] = json!("SH31010420261103000017");
        assert_rejection(
            &rejected_default(not_a_uuid),
            RejectReason::SchemaViolation,
            &["/in_reply_to"],
        );

        // Kinds that are not pure answers need no reference.
        ok(as_kind(
            Kind::BirthRegistrationResult,
            json!({"service_cert_no": "SC-1", "registered_on": "2026-10-30"}),
        ));
    }

    #[test]
    fn the_subject_is_required_and_couples_need_a_spouse() {
        let mut candidate = checkup();
        candidate["subject"] = Value::Null;
        assert_rejection(
            &rejected_default(candidate),
            RejectReason::SchemaViolation,
            &["/subject"],
        );

        let honor = as_kind(
            Kind::HonorCertRequest,
            json!({"child_birth_date": "2015-06-01"}),
        );
        assert_rejection(
            &rejected_default(honor.clone()),
            RejectReason::SchemaViolation,
            &["/spouse"],
        );
        let mut couple = honor;
        couple["spouse"] = husband();
        let message = ok(couple).message;
        assert_eq!(message.spouse.expect("spouse").name, "李大明");
    }

    #[test]
    fn fee_collection_across_provinces_needs_the_marital_home() {
        let mut candidate = as_kind(Kind::FeeCollection, json!({"case_no": "FC-2026-1"}));
        candidate["spouse"] = husband();
        assert_rejection(
            &rejected_default(candidate.clone()),
            RejectReason::SchemaViolation,
            &["/body/marital_home"],
        );

        candidate["body"]["marital_home"] = json!("wife");
        ok(candidate.clone());

        // Same province, different places: the wife's place leads by default.
        candidate["body"] = json!({"case_no": "FC-2026-1"});
        candidate["spouse"]["registration_division"] = json!("340102");
        ok(candidate);
    }

    #[test]
    fn message_id_must_be_derived_from_the_source() {
        let mut candidate = checkup();
        candidate["source"]["record"] = json!(1);
        let rejection = rejected_default(candidate);
        assert_rejection(&rejection, RejectReason::SchemaViolation, &["/message_id"]);
        let expected = canonical_message_id("31", "SH31010420261103000017", 1).to_string();
        assert!(rejection.detail.contains(&expected), "{}", rejection.detail);
    }

    #[test]
    fn unknown_divisions_are_named_by_path() {
        let mut candidate = checkup();
        candidate["subject"]["registration_division"] = json!("349999");
        let rejection = rejected_default(candidate);
        assert_rejection(
            &rejection,
            RejectReason::UnknownDivision,
            &["/subject/registration_division"],
        );
        assert!(!rejection.detail.contains("349999"), "{}", rejection.detail);

        let mut candidate = as_kind(
            Kind::CaseReferral,
            json!({
                "case_no": "CR-1", "offense": "sex_determination", "occurred_division": "310104",
                "related_divisions": ["341302", "999999"]
            }),
        );
        candidate["subject"]["residence_division"] = json!("310104999");
        let rejection = rejected_default(candidate);
        assert_rejection(
            &rejection,
            RejectReason::UnknownDivision,
            &["/subject/residence_division", "/body/related_divisions/1"],
        );
        assert!(
            rejection
                .detail
                .contains("/body/related_divisions/1 (999999)"),
            "{}",
            rejection.detail
        );
    }

    #[test]
    fn an_unknown_sender_division_is_unknown_division_before_sender_mismatch() {
        let mut candidate = checkup();
        candidate["source"]["division"] = json!("319999");
        let opts = ValidateOptions {
            expected_province: Some("34".to_owned()),
            ..Default::default()
        };
        assert_rejection(
            &rejected(candidate, &opts),
            RejectReason::UnknownDivision,
            &["/source/division"],
        );
    }

    #[test]
    fn a_sender_outside_the_queue_province_is_a_sender_mismatch() {
        let opts = ValidateOptions {
            expected_province: Some("34".to_owned()),
            ..Default::default()
        };
        assert_rejection(
            &rejected(checkup(), &opts),
            RejectReason::SenderMismatch,
            &["/source/division"],
        );

        let opts = ValidateOptions {
            expected_province: Some("31".to_owned()),
            ..Default::default()
        };
        assert!(validate(checkup(), &opts).is_ok());

        // Without a queue province, the division must still be in the declared one.
        let mut candidate = checkup();
        candidate["source"]["division"] = json!("320102");
        assert_rejection(
            &rejected_default(candidate),
            RejectReason::SenderMismatch,
            &["/source/division"],
        );
    }

    #[test]
    fn a_wrong_check_char_is_rejected_or_warned_by_policy() {
        let mut candidate = checkup();
        candidate["subject"]["id_number"] = json!("341302199205170021");
        let rejection = rejected_default(candidate.clone());
        assert_rejection(
            &rejection,
            RejectReason::InvalidIdNumber,
            &["/subject/id_number"],
        );
        assert!(
            !rejection.detail.contains("341302199205170021"),
            "{}",
            rejection.detail
        );
        assert!(
            rejection.detail.contains("3413**********0021"),
            "{}",
            rejection.detail
        );

        let opts = ValidateOptions {
            id_check: IdCheckPolicy::Warn,
            ..Default::default()
        };
        let validated = validate(candidate, &opts).expect("accepted under warn");
        assert_eq!(validated.warnings.len(), 1);
        assert!(validated.warnings[0].contains("/subject/id_number"));
        assert!(!validated.warnings[0].contains("341302199205170021"));
        let subject = validated.message.subject.expect("subject");
        assert!(!subject.id_number.has_valid_check_char());
    }

    #[test]
    fn the_id_number_must_agree_with_birth_date_and_sex() {
        let mut candidate = checkup();
        candidate["subject"]["birth_date"] = json!("1992-05-18");
        assert_rejection(
            &rejected_default(candidate),
            RejectReason::InvalidIdNumber,
            &["/subject/id_number"],
        );

        let mut candidate = checkup();
        candidate["subject"]["sex"] = json!("1");
        assert_rejection(
            &rejected_default(candidate),
            RejectReason::InvalidIdNumber,
            &["/subject/id_number"],
        );

        let mut candidate = as_kind(
            Kind::HonorCertRequest,
            json!({"child_birth_date": "2015-06-01"}),
        );
        candidate["spouse"] = husband();
        candidate["spouse"]["sex"] = json!("2");
        assert_rejection(
            &rejected_default(candidate),
            RejectReason::InvalidIdNumber,
            &["/spouse/id_number"],
        );
    }

    #[test]
    fn an_impossible_date_inside_the_id_number_is_invalid_id_number() {
        let first17 = "34130219921317002";
        let check = IdNumber::check_char(first17).expect("17 digits");
        let mut candidate = checkup();
        candidate["subject"]["id_number"] = json!(format!("{first17}{check}"));
        assert_rejection(
            &rejected_default(candidate),
            RejectReason::InvalidIdNumber,
            &["/subject/id_number"],
        );
    }

    fn hub_message(kind: Kind, body: Body) -> Value {
        let at: DateTime<FixedOffset> =
            DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("date-time");
        let message = CanonicalMessage {
            schema: crate::SCHEMA_ID.to_owned(),
            message_id: hub_message_id("yipanqi:hub:test"),
            kind,
            source: crate::Source {
                province: "31".to_owned(),
                division: DivisionCode::parse("310104").expect("known"),
                message_id: "SH31010420261103000017".to_owned(),
                record: 0,
            },
            sent_at: at,
            received_at: at,
            in_reply_to: None,
            subject: None,
            spouse: None,
            body,
        };
        serde_json::to_value(message).expect("serialises")
    }

    #[test]
    fn hub_bodies_match_their_schemas() {
        let rejection = Rejection::new(RejectReason::SchemaViolation, "bad date")
            .with_paths(vec!["/body/checked_on".to_owned()]);
        let json = hub_message(Kind::Rejection, Body::rejection(&rejection, None));
        assert_eq!(json["body"]["record"], Value::Null);
        assert_eq!(json["body"]["source_message_id"], Value::Null);
        assert_eq!(schema_errors(Kind::Rejection, &json), vec![]);
        let back: CanonicalMessage = serde_json::from_value(json).expect("reads back");
        assert_eq!(back.body.record, Some(None));

        let due = DateTime::parse_from_rfc3339("2026-11-24T23:59:59+08:00").expect("date-time");
        let owner = DivisionCode::parse("341302").expect("known");
        let concerning = canonical_message_id("31", "SH31010420261103000017", 0);
        let json = hub_message(
            Kind::Reminder,
            Body::reminder(concerning, Kind::CheckupResult, owner.clone(), due, 1),
        );
        assert_eq!(json["body"]["due_at"], "2026-11-24T23:59:59+08:00");
        assert_eq!(schema_errors(Kind::Reminder, &json), vec![]);
        let json = hub_message(
            Kind::Escalation,
            Body::escalation(concerning, Kind::CheckupResult, owner, due, 2, 5),
        );
        assert_eq!(schema_errors(Kind::Escalation, &json), vec![]);
        assert!(
            !schema_errors(Kind::Reminder, &json).is_empty(),
            "days_overdue is not a reminder field"
        );
    }

    #[test]
    fn personal_paths() {
        assert!(is_personal(""));
        assert!(is_personal("/subject"));
        assert!(is_personal("/spouse/name"));
        assert!(!is_personal("/subjects"));
        assert!(!is_personal("/body/remarks"));
    }
}
