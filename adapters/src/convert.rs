//! Conversion of legacy values into canonical JSON values, driven by the canonical
//! field's type ([`FieldType`]) and the mapping's formats and code tables.
//!
//! This is where "every quirk lives in the mapping file" meets the canonical types:
//! nothing here knows a province. A failure is a [`ValueError`]; the caller turns it
//! into a `schema_violation` naming the canonical path and the legacy field. Details
//! built here echo a legacy value only for code lookups in bodies (a code is not
//! personal data); dates, names, numbers and free text are never quoted.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc,
};
use serde_json::{Number, Value};
use yipanqi_schemas::FieldType;

use crate::path::{Found, Node};

/// Beijing time, the offset every canonical timestamp is written in.
pub(crate) const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    // Evaluated at compile time: 8 h is within ±24 h, so this arm is never built.
    None => panic!("+08:00 is a valid offset"),
};

/// How a mapping writes calendar dates (`[format] date`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DateFormat {
    /// A chrono format string (`%Y/%m/%d`, `%Y年%m月%d日`; numbers may be unpadded).
    Chrono(String),
    /// Milliseconds since the epoch, read as a date in Asia/Shanghai.
    EpochMs,
}

/// How a mapping writes timestamps (`[format] datetime`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DateTimeFormat {
    /// A chrono format string; without an offset in it the time is Beijing time.
    Chrono(String),
    /// RFC 3339 with its own offset.
    Rfc3339,
    /// Milliseconds since the epoch.
    EpochMs,
}

/// A canonical value a code table maps a legacy code to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CodeValue {
    Text(String),
    Bool(bool),
}

impl CodeValue {
    fn to_json(&self) -> Value {
        match self {
            CodeValue::Text(text) => Value::String(text.clone()),
            CodeValue::Bool(flag) => Value::Bool(*flag),
        }
    }
}

/// One code table: legacy code → canonical value.
pub(crate) type CodeTable = BTreeMap<String, CodeValue>;

/// Everything a conversion may need besides the value itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules<'m> {
    pub date: &'m DateFormat,
    pub list_separator: Option<&'m str>,
    /// `json_scalars = "strings"`: a JSON number or boolean is a sender error.
    pub strings_only: bool,
    pub division_aliases: &'m BTreeMap<String, String>,
}

/// A single legacy value: trimmed non-empty text, or a JSON number or boolean.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scalar<'a> {
    Text(&'a str),
    Number(&'a Number),
    Bool(bool),
}

impl<'a> Scalar<'a> {
    /// The value as text: how numbers and booleans are looked up in code tables.
    pub fn text(&self) -> Cow<'a, str> {
        match self {
            Scalar::Text(text) => Cow::Borrowed(text),
            Scalar::Number(number) => Cow::Owned(number.to_string()),
            Scalar::Bool(flag) => Cow::Borrowed(if *flag { "true" } else { "false" }),
        }
    }
}

/// Why a legacy value could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValueError {
    /// A structure (object, array, several elements) where one value belongs.
    NotScalar,
    /// A single value or a list of structures where a list of values belongs.
    NotList,
    /// A value where a person or body structure belongs.
    NotObject,
    /// A JSON number or boolean from a province whose values are all strings.
    NotString,
    /// Not a date in the mapping's date format (or not a possible date).
    Date(String),
    /// Not a timestamp in the mapping's datetime format.
    DateTime(String),
    /// Not a whole non-negative number.
    Integer,
    /// Not a boolean (no table and not `true`/`false`).
    Bool,
    /// A code the field's table does not have.
    UnknownCode(String),
}

impl ValueError {
    /// A phrase for a rejection detail. `echo` allows quoting an unknown code: the
    /// caller passes `false` for values read from a person.
    pub fn describe(&self, echo: bool) -> String {
        match self {
            ValueError::NotScalar => "a single value was expected, not a structure".to_owned(),
            ValueError::NotList => "a list of values was expected".to_owned(),
            ValueError::NotObject => "a structure (object or element) was expected".to_owned(),
            ValueError::NotString => {
                "a string was expected (this interface sends every value as a string)".to_owned()
            }
            ValueError::Date(format) => format!("not a valid date in the format {format}"),
            ValueError::DateTime(format) => format!("not a valid timestamp in the format {format}"),
            ValueError::Integer => "not a whole non-negative number".to_owned(),
            ValueError::Bool => "not a boolean".to_owned(),
            ValueError::UnknownCode(code) if echo => match quotable(code) {
                Some(code) => format!("unknown code \"{code}\""),
                None => "unknown code".to_owned(),
            },
            ValueError::UnknownCode(_) => "unknown code".to_owned(),
        }
    }
}

/// A code value fit to quote back in a rejection: short letters, digits, `_`, `-` or `.`
/// and not a long run of digits, since a misplaced ID number must not be echoed into
/// logs, headers and notices. `None`: describe it without quoting.
pub(crate) fn quotable(code: &str) -> Option<&str> {
    let short = !code.is_empty() && code.chars().count() <= 16;
    let plain = code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    let mut run = 0;
    let mut longest = 0;
    for c in code.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    (short && plain && longest < 6).then_some(code)
}


/// Reads a found value as one scalar; absent, `null` and blank text are `None`.
pub(crate) fn scalar<'a>(found: &Found<'a>) -> Result<Option<Scalar<'a>>, ValueError> {
    match found {
        Found::Absent => Ok(None),
        Found::Attr(text) => Ok(text_scalar(text)),
        Found::Node(node) => node_scalar(*node),
        Found::List(nodes) => match nodes.as_slice() {
            [] => Ok(None),
            [node] => node_scalar(*node),
            _ => Err(ValueError::NotScalar),
        },
    }
}

fn text_scalar(text: &str) -> Option<Scalar<'_>> {
    let text = text.trim();
    (!text.is_empty()).then_some(Scalar::Text(text))
}

fn node_scalar(node: Node<'_>) -> Result<Option<Scalar<'_>>, ValueError> {
    match node {
        Node::Json(Value::Null) => Ok(None),
        Node::Json(Value::String(text)) => Ok(text_scalar(text)),
        Node::Json(Value::Number(number)) => Ok(Some(Scalar::Number(number))),
        Node::Json(Value::Bool(flag)) => Ok(Some(Scalar::Bool(*flag))),
        Node::Json(Value::Array(_) | Value::Object(_)) => Err(ValueError::NotScalar),
        Node::Xml(element) => {
            let value = text_scalar(&element.text);
            if value.is_none() && !element.children.is_empty() {
                return Err(ValueError::NotScalar);
            }
            Ok(value)
        }
    }
}

/// Reads a found value as a list: a JSON array, repeated elements, or one string
/// split at the list separator. Blank items are skipped; an empty list is `None`.
pub(crate) fn list<'a>(
    found: &Found<'a>,
    separator: Option<&str>,
) -> Result<Option<Vec<Scalar<'a>>>, ValueError> {
    let mut items = Vec::new();
    let mut push = |value: Option<Scalar<'a>>| {
        if let Some(value) = value {
            match (value, separator) {
                (Scalar::Text(text), Some(separator)) => {
                    items.extend(text.split(separator).filter_map(text_scalar));
                }
                (value, _) => items.push(value),
            }
        }
    };
    match found {
        Found::Absent => {}
        Found::Attr(text) => push(text_scalar(text)),
        Found::List(nodes) => {
            for node in nodes {
                push(node_scalar(*node).map_err(|_| ValueError::NotList)?);
            }
        }
        Found::Node(Node::Json(Value::Array(values))) => {
            for value in values {
                push(node_scalar(Node::Json(value)).map_err(|_| ValueError::NotList)?);
            }
        }
        Found::Node(node) => push(node_scalar(*node).map_err(|_| ValueError::NotList)?),
    }
    Ok((!items.is_empty()).then_some(items))
}

/// Reads a found value as a structure (a person, a body, a record). Absent, `null`,
/// `""` and a blank element (`<POXX/>`) are `None`.
pub(crate) fn object<'a>(found: &Found<'a>) -> Result<Option<Node<'a>>, ValueError> {
    match found {
        Found::Absent => Ok(None),
        Found::Attr(text) if text.trim().is_empty() => Ok(None),
        Found::Attr(_) => Err(ValueError::NotObject),
        Found::Node(node) => node_object(*node),
        Found::List(nodes) => match nodes.as_slice() {
            [] => Ok(None),
            [node] => node_object(*node),
            _ => Err(ValueError::NotObject),
        },
    }
}

fn node_object(node: Node<'_>) -> Result<Option<Node<'_>>, ValueError> {
    match node {
        Node::Json(Value::Null) => Ok(None),
        Node::Json(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Node::Json(Value::Object(_)) => Ok(Some(node)),
        Node::Json(_) => Err(ValueError::NotObject),
        Node::Xml(element) if element.is_blank() => Ok(None),
        Node::Xml(_) => Ok(Some(node)),
    }
}

/// Converts the value found for a field of canonical type `field_type`.
pub(crate) fn field(
    field_type: FieldType,
    found: &Found<'_>,
    table: Option<&CodeTable>,
    rules: &Rules<'_>,
) -> Result<Option<Value>, ValueError> {
    match field_type {
        FieldType::CodeList | FieldType::DivisionList => {
            let Some(items) = list(found, rules.list_separator)? else {
                return Ok(None);
            };
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                let item_type = if field_type == FieldType::CodeList {
                    FieldType::Code
                } else {
                    FieldType::Division
                };
                values.push(one(item_type, item, table, rules)?);
            }
            Ok(Some(Value::Array(values)))
        }
        _ => match scalar(found)? {
            Some(value) => one(field_type, value, table, rules).map(Some),
            None => Ok(None),
        },
    }
}

/// Converts one scalar value.
fn one(
    field_type: FieldType,
    value: Scalar<'_>,
    table: Option<&CodeTable>,
    rules: &Rules<'_>,
) -> Result<Value, ValueError> {
    if rules.strings_only && !matches!(value, Scalar::Text(_)) {
        return Err(ValueError::NotString);
    }
    match field_type {
        FieldType::Date => date(value, rules.date).map(Value::String),
        FieldType::Integer => integer(value),
        FieldType::Bool | FieldType::Code | FieldType::CodeList => match table {
            Some(table) => match table.get(value.text().as_ref()) {
                Some(canonical) => Ok(canonical.to_json()),
                None => Err(ValueError::UnknownCode(value.text().into_owned())),
            },
            None if field_type == FieldType::Bool => match value {
                Scalar::Bool(flag) => Ok(Value::Bool(flag)),
                Scalar::Text("true") => Ok(Value::Bool(true)),
                Scalar::Text("false") => Ok(Value::Bool(false)),
                _ => Err(ValueError::Bool),
            },
            // No table: the legacy code is the canonical code ("as canonical");
            // validation checks it belongs to the canonical set.
            None => Ok(Value::String(value.text().into_owned())),
        },
        FieldType::Text => Ok(Value::String(value.text().into_owned())),
        FieldType::Division | FieldType::DivisionList => {
            let code = value.text();
            let code = rules
                .division_aliases
                .get(code.as_ref())
                .map_or(code.as_ref(), String::as_str);
            Ok(Value::String(code.to_owned()))
        }
    }
}

fn integer(value: Scalar<'_>) -> Result<Value, ValueError> {
    match value {
        Scalar::Number(number) => match (number.as_u64(), number.as_i64()) {
            (Some(n), _) => Ok(Value::from(n)),
            // A negative whole number is passed on: the schema says why it is wrong.
            (None, Some(n)) => Ok(Value::from(n)),
            _ => Err(ValueError::Integer),
        },
        Scalar::Text(text) if text.bytes().all(|b| b.is_ascii_digit()) => text
            .parse::<u64>()
            .map(Value::from)
            .map_err(|_| ValueError::Integer),
        _ => Err(ValueError::Integer),
    }
}

/// Canonical dates and times are four-digit years; anything else is a sender error,
/// not something to pass on as `+33658-01-01`.
fn plausible_year(year: i32) -> bool {
    (1000..=9999).contains(&year)
}

fn epoch_ms(value: Scalar<'_>) -> Option<DateTime<Utc>> {
    let millis = match value {
        Scalar::Number(number) => number.as_i64()?,
        Scalar::Text(text) => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            text.parse().ok()?
        }
        Scalar::Bool(_) => return None,
    };
    Utc.timestamp_millis_opt(millis).single()
}

/// Converts a legacy date to `YYYY-MM-DD`.
pub(crate) fn date(value: Scalar<'_>, format: &DateFormat) -> Result<String, ValueError> {
    let parsed = match format {
        DateFormat::Chrono(pattern) => match value {
            Scalar::Text(text) => NaiveDate::parse_from_str(text, pattern).ok(),
            _ => None,
        },
        // A date is sent as the instant of its Beijing midnight. Asia/Shanghai, not
        // +08:00: in the 1986–1991 summers midnight was 15:00 UTC the day before.
        DateFormat::EpochMs => epoch_ms(value).map(|instant| {
            instant
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .date_naive()
        }),
    };
    match parsed {
        Some(day) if plausible_year(day.year()) => Ok(day.format("%Y-%m-%d").to_string()),
        _ => Err(ValueError::Date(describe_date(format))),
    }
}

/// Converts a legacy timestamp to RFC 3339 with whole seconds in +08:00.
pub(crate) fn datetime(value: Scalar<'_>, format: &DateTimeFormat) -> Result<String, ValueError> {
    let parsed: Option<DateTime<FixedOffset>> = match (format, value) {
        (DateTimeFormat::Rfc3339, Scalar::Text(text)) => DateTime::parse_from_rfc3339(text).ok(),
        (DateTimeFormat::Chrono(pattern), Scalar::Text(text)) => {
            match DateTime::parse_from_str(text, pattern) {
                Ok(instant) => Some(instant),
                // No offset in the format: the legacy time is Beijing time.
                Err(_) => NaiveDateTime::parse_from_str(text, pattern)
                    .ok()
                    .and_then(|naive| BEIJING.from_local_datetime(&naive).single()),
            }
        }
        (DateTimeFormat::EpochMs, value) => epoch_ms(value).map(|instant| instant.fixed_offset()),
        _ => None,
    };
    match parsed {
        Some(instant) => {
            let local = instant.with_timezone(&BEIJING);
            if plausible_year(local.year()) {
                Ok(local.to_rfc3339_opts(SecondsFormat::Secs, false))
            } else {
                Err(ValueError::DateTime(describe_datetime(format)))
            }
        }
        None => Err(ValueError::DateTime(describe_datetime(format))),
    }
}

fn describe_date(format: &DateFormat) -> String {
    match format {
        DateFormat::Chrono(pattern) => format!("`{pattern}`"),
        DateFormat::EpochMs => "epoch milliseconds".to_owned(),
    }
}

fn describe_datetime(format: &DateTimeFormat) -> String {
    match format {
        DateTimeFormat::Chrono(pattern) => format!("`{pattern}`"),
        DateTimeFormat::Rfc3339 => "RFC 3339".to_owned(),
        DateTimeFormat::EpochMs => "epoch milliseconds".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(value: &str) -> Scalar<'_> {
        Scalar::Text(value)
    }

    #[test]
    fn dates_in_chrono_formats_including_unpadded() {
        let cn = DateFormat::Chrono("%Y年%m月%d日".into());
        assert_eq!(date(text("2026年11月3日"), &cn), Ok("2026-11-03".into()));
        assert_eq!(date(text("1983年6月9日"), &cn), Ok("1983-06-09".into()));
        let compact = DateFormat::Chrono("%Y%m%d".into());
        assert_eq!(date(text("20261103"), &compact), Ok("2026-11-03".into()));
        assert!(date(text("20261332"), &compact).is_err());
        assert!(date(text("20260230"), &compact).is_err());
        assert!(date(text("2026-11-03"), &compact).is_err());
    }

    #[test]
    fn epoch_dates_are_read_in_asia_shanghai() {
        let n = |v: i64| Number::from(v);
        let (a, b, c) = (n(583_686_000_000), n(706_032_000_000), n(1_792_771_200_000));
        assert_eq!(
            date(Scalar::Number(&a), &DateFormat::EpochMs),
            Ok("1988-07-01".into())
        );
        assert_eq!(
            date(Scalar::Number(&b), &DateFormat::EpochMs),
            Ok("1992-05-17".into())
        );
        assert_eq!(
            date(Scalar::Number(&c), &DateFormat::EpochMs),
            Ok("2026-10-24".into())
        );
        assert_eq!(
            date(text("583686000000"), &DateFormat::EpochMs),
            Ok("1988-07-01".into())
        );
    }

    #[test]
    fn timestamps_end_up_in_beijing_time() {
        let iso = DateTimeFormat::Chrono("%Y-%m-%d %H:%M:%S".into());
        assert_eq!(
            datetime(text("2026-11-03 09:12:00"), &iso),
            Ok("2026-11-03T09:12:00+08:00".into())
        );
        let cn = DateTimeFormat::Chrono("%Y年%m月%d日 %H时%M分".into());
        assert_eq!(
            datetime(text("2026年11月3日 9时12分"), &cn),
            Ok("2026-11-03T09:12:00+08:00".into())
        );
        assert_eq!(
            datetime(
                text("2026-11-03T02:12:00.250+01:00"),
                &DateTimeFormat::Rfc3339
            ),
            Ok("2026-11-03T09:12:00+08:00".into())
        );
        let ms = Number::from(1_793_668_320_000_i64);
        assert_eq!(
            datetime(Scalar::Number(&ms), &DateTimeFormat::EpochMs),
            Ok("2026-11-03T09:12:00+08:00".into())
        );
        assert!(datetime(text("2026-11-03"), &iso).is_err());
    }

    #[test]
    fn lists_codes_and_booleans() {
        let aliases = BTreeMap::from([("340111".to_owned(), "340104".to_owned())]);
        let rules = Rules {
            date: &DateFormat::EpochMs,
            list_separator: Some(","),
            strings_only: false,
            division_aliases: &aliases,
        };
        let table = CodeTable::from([
            ("1".to_owned(), CodeValue::Text("pregnancy".into())),
            ("2".to_owned(), CodeValue::Text("iud".into())),
        ]);
        let value = json!({"a": "1, 2,", "b": [1, 2], "c": "3", "d": true, "e": "340111"});
        let get = |key: &str| Found::Node(Node::Json(&value[key]));
        assert_eq!(
            field(FieldType::CodeList, &get("a"), Some(&table), &rules),
            Ok(Some(json!(["pregnancy", "iud"])))
        );
        assert_eq!(
            field(FieldType::CodeList, &get("b"), Some(&table), &rules),
            Ok(Some(json!(["pregnancy", "iud"])))
        );
        assert_eq!(
            field(FieldType::Code, &get("c"), Some(&table), &rules),
            Err(ValueError::UnknownCode("3".into()))
        );
        assert_eq!(
            field(FieldType::Bool, &get("d"), None, &rules),
            Ok(Some(json!(true)))
        );
        assert_eq!(
            field(FieldType::Division, &get("e"), None, &rules),
            Ok(Some(json!("340104")))
        );
        assert_eq!(
            field(FieldType::Text, &get("missing"), None, &rules),
            Ok(None)
        );
        let strict = Rules {
            strings_only: true,
            ..rules
        };
        assert_eq!(
            field(FieldType::Bool, &get("d"), None, &strict),
            Err(ValueError::NotString)
        );
    }
}
