//! The broker query contract (`schemas/json/query.schema.json`) and the hub's answer
//! (`schemas/json/answer.schema.json`, whose `$defs/profile` is also what
//! `GET /api/people/{id_number}` returns): embedded, compiled once, formats asserted.

use std::sync::LazyLock;

use jsonschema::{Draft, Validator};
use serde_json::Value;

const QUERY: &str = include_str!("../json/query.schema.json");
const ANSWER: &str = include_str!("../json/answer.schema.json");

/// The query schema's text.
pub fn query_schema_json() -> &'static str {
    QUERY
}

/// The answer schema's text.
pub fn answer_schema_json() -> &'static str {
    ANSWER
}

fn compile(text: &str) -> Validator {
    let schema: Value = serde_json::from_str(text).expect("embedded schema files are valid JSON (tested)");
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .offline()
        .build(&schema)
        .expect("the embedded query and answer schemas compile (tested)")
}

static QUERY_VALIDATOR: LazyLock<Validator> = LazyLock::new(|| compile(QUERY));
static ANSWER_VALIDATOR: LazyLock<Validator> = LazyLock::new(|| compile(ANSWER));

fn errors(validator: &Validator, instance: &Value) -> Result<(), Vec<String>> {
    let found: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| {
            let path = e.instance_path().as_str().to_string();
            let path = if path.is_empty() { "/".to_string() } else { path };
            // The validator quotes the offending value, which may be an ID number: the
            // path and the kind of error are enough to fix a query.
            format!("{path}: {}", describe(&e))
        })
        .collect();
    if found.is_empty() {
        Ok(())
    } else {
        Err(found)
    }
}

fn describe(e: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::ValidationErrorKind as K;
    match e.kind() {
        K::Required { property } => format!(
            "{} is required",
            property.as_str().map(String::from).unwrap_or_else(|| property.to_string())
        ),
        K::AdditionalProperties { unexpected } => {
            format!("unexpected field(s) {}", unexpected.join(", "))
        }
        K::Enum { .. } | K::Constant { .. } => "not one of the allowed values".to_string(),
        K::Pattern { .. } => "does not have the required form".to_string(),
        K::Format { format } => format!("not a valid {format}"),
        K::Type { .. } => "has the wrong type".to_string(),
        K::OneOfNotValid { .. } | K::OneOfMultipleValid { .. } => {
            "give exactly one of cert_no and division".to_string()
        }
        _ => "does not follow the schema".to_string(),
    }
}

/// Checks a query against `query.schema.json`; the errors name paths, never values.
pub fn validate_query(query: &Value) -> Result<(), Vec<String>> {
    errors(&QUERY_VALIDATOR, query)
}

/// Checks an answer against `answer.schema.json`.
pub fn validate_answer(answer: &Value) -> Result<(), Vec<String>> {
    errors(&ANSWER_VALIDATOR, answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queries_follow_the_schema() {
        for ok in [
            json!({"schema": "yipanqi/1", "query": "profile", "id_number": "11010519491231002X"}),
            json!({"schema": "yipanqi/1", "query": "profile", "id_number": "110105491231002"}),
            json!({"schema": "yipanqi/1", "query": "certificates", "cert_no": "HY-1"}),
            json!({"schema": "yipanqi/1", "query": "certificates", "division": "341302",
                   "issued_from": "2026-01-01", "issued_to": "2026-12-31"}),
        ] {
            assert_eq!(validate_query(&ok), Ok(()), "{ok}");
        }
        let bad = [
            (json!({"schema": "yipanqi/1", "query": "profile"}), "id_number is required"),
            (json!({"schema": "yipanqi/1", "query": "profile", "id_number": "11010519491231002X", "x": 1}), "unexpected"),
            (json!({"schema": "yipanqi/1", "query": "everything"}), "/query"),
            (json!({"schema": "yipanqi/2", "query": "profile", "id_number": "11010519491231002X"}), "/schema"),
            (json!({"schema": "yipanqi/1", "query": "certificates"}), "exactly one"),
            (json!({"schema": "yipanqi/1", "query": "certificates", "division": "341302", "issued_from": "2026-13-01"}), "valid date"),
        ];
        for (query, expected) in bad {
            let errors = validate_query(&query).expect_err("invalid");
            assert!(errors.iter().any(|e| e.contains(expected)), "{query}: {errors:?}");
        }
        let errors = validate_query(&json!({"schema": "yipanqi/1", "query": "profile", "id_number": "3413021992051700"}))
            .expect_err("16 digits");
        assert!(errors.iter().all(|e| !e.contains("3413021992")), "{errors:?}");
    }

    #[test]
    fn a_refusal_is_an_answer() {
        let refused = json!({"schema": "yipanqi/1", "answer": "refused",
                             "refused": {"reason": "not_entitled", "detail": "…"}});
        assert_eq!(validate_answer(&refused), Ok(()));
        let wrong = json!({"schema": "yipanqi/1", "answer": "refused", "refused": {"reason": "nope", "detail": ""}});
        assert!(validate_answer(&wrong).is_err());
    }
}
