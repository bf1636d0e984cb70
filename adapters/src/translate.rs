//! The translation of one legacy document into candidate canonical messages, step by
//! step as `mappings/README.md` tells it: size → bytes to text → text to tree
//! (envelope unwrapped) → records → fields → [`yipanqi_schemas::validate`].
//!
//! Everything before `validate` is here; everything province-specific comes from the
//! [`Mapping`]. The input is hostile: nothing here may panic, and rejection details
//! name legacy fields and canonical paths but never quote a person's data (only code
//! values, which are not personal, are quoted).

use std::collections::BTreeSet;

use chrono::SecondsFormat;
use serde_json::{Map, Value};
use yipanqi_schemas::{
    canonical_message_id, validate, FieldType, IdCheckPolicy, Kind, RejectReason, Rejection,
    ValidateOptions, Validated, SCHEMA_ID,
};

use crate::convert::{self, Rules, Scalar, ValueError, BEIJING};
use crate::decode::{decode, strip_bom};
use crate::mapping::{DocSyntax, FieldRule, IdCheck, Mapping};
use crate::path::{Found, Node, Path};
use crate::xml::{self, Element, DTD_DETAIL};
use crate::{RecordOutcome, TranslateContext, Translation};

/// How many field problems a `schema_violation` detail spells out; `paths` has all.
const DETAIL_PROBLEMS: usize = 3;

/// A parsed document: the tree every path is resolved against.
enum Document {
    Json(Value),
    Xml(Element),
}

impl Document {
    fn root(&self) -> Node<'_> {
        match self {
            Document::Json(value) => Node::Json(value),
            Document::Xml(element) => Node::Xml(element),
        }
    }
}

fn malformed(detail: impl Into<String>) -> Rejection {
    Rejection::new(RejectReason::Malformed, detail)
}

fn unknown_kind(detail: impl Into<String>) -> Rejection {
    Rejection::new(RejectReason::UnknownKind, detail).with_paths(vec!["/kind".to_owned()])
}

/// Field problems of one record, gathered so that one rejection lists them all.
#[derive(Default)]
struct Problems {
    paths: Vec<String>,
    details: Vec<String>,
}

impl Problems {
    fn push(&mut self, pointer: String, detail: String) {
        self.paths.push(pointer);
        self.details.push(detail);
    }

    fn into_rejection(self) -> Option<Rejection> {
        if self.paths.is_empty() {
            return None;
        }
        let mut detail = self
            .details
            .iter()
            .take(DETAIL_PROBLEMS)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if self.details.len() > DETAIL_PROBLEMS {
            detail.push_str(&format!(
                " (and {} more)",
                self.details.len() - DETAIL_PROBLEMS
            ));
        }
        Some(Rejection::new(RejectReason::SchemaViolation, detail).with_paths(self.paths))
    }
}

impl Mapping {
    /// Translates one legacy document (see the module documentation).
    pub(crate) fn run(&self, bytes: &[u8], ctx: &TranslateContext) -> Translation {
        if bytes.len() > ctx.max_bytes {
            return Translation {
                source_message_id: None,
                source_division: None,
                result: Err(Rejection::new(
                    RejectReason::TooLarge,
                    format!(
                        "the message is {} bytes, over the limit of {} bytes",
                        bytes.len(),
                        ctx.max_bytes
                    ),
                )),
            };
        }
        let document = match decode(strip_bom(bytes), self.encoding)
            .map_err(malformed)
            .and_then(|text| self.parse(&text))
        {
            Ok(document) => document,
            Err(rejection) => {
                return Translation {
                    source_message_id: None,
                    source_division: None,
                    result: Err(rejection),
                }
            }
        };
        let root = document.root();
        // Read before anything else can fail, so every rejection can name the legacy id.
        let source_message_id = match convert::scalar(&self.message_id.resolve(root, None)) {
            Ok(Some(id)) => Some(id.text().into_owned()),
            _ => None,
        };
        let source_division = match convert::scalar(&self.division.resolve(root, None)) {
            Ok(Some(d)) => Some(d.text().into_owned())
                .filter(|d| matches!(d.len(), 6 | 9) && d.bytes().all(|b| b.is_ascii_digit())),
            _ => None,
        };
        let result = self
            .check_constants(root)
            .and_then(|()| self.records(root, source_message_id.as_deref(), ctx));
        Translation {
            // An id that breaks the interface's format names nothing (the record is
            // rejected for it): it could hold anything, a name included.
            source_message_id: source_message_id.filter(|id| self.id_follows_format(id)),
            source_division,
            result,
        }
    }

    /// Whether a legacy id follows the format the mapping states (any id does when it
    /// states none).
    fn id_follows_format(&self, id: &str) -> bool {
        self.message_id_format.is_none() || self.message_id_pattern.matches(id, &self.province.code)
    }

    /// `[header] constants`: the fields every document of this interface carries with one
    /// value (Henan's `header.province` is always "41").
    fn check_constants(&self, root: Node<'_>) -> Result<(), Rejection> {
        for (path, expected) in &self.constants {
            match convert::scalar(&path.resolve(root, None)) {
                Ok(Some(value)) if value.text() == expected.as_str() => {}
                Ok(Some(value)) => {
                    let shown = match convert::quotable(&value.text()) {
                        Some(v) => format!(" is \"{v}\""),
                        None => " has another value".to_owned(),
                    };
                    return Err(malformed(format!(
                        "`{path}`{shown}; this interface always sends \"{expected}\""
                    )));
                }
                _ => {
                    return Err(malformed(format!(
                        "`{path}` is missing; this interface always sends \"{expected}\""
                    )))
                }
            }
        }
        Ok(())
    }

    /// Text → tree: JSON as is; XML without DTDs, the envelope unwrapped, the root checked.
    fn parse(&self, text: &str) -> Result<Document, Rejection> {
        match self.syntax {
            DocSyntax::Json => match crate::json::parse(text) {
                Ok(value @ Value::Object(_)) => Ok(Document::Json(value)),
                Ok(_) => Err(malformed("the document is not a JSON object")),
                Err(err) => Err(malformed(format!("JSON not well-formed: {err}"))),
            },
            DocSyntax::Xml => {
                let mut root = xml::parse(text).map_err(malformed)?;
                if let Some(envelope) = &self.envelope {
                    if !envelope.root.names_element(&root) {
                        return Err(malformed(format!(
                            "the root element is not the envelope `{}`",
                            envelope.root
                        )));
                    }
                    let inner = match envelope.path.resolve(Node::Xml(&root), None) {
                        Found::Node(Node::Xml(element)) => element.text.trim().to_owned(),
                        Found::Attr(value) => value.trim().to_owned(),
                        _ => String::new(),
                    };
                    if inner.is_empty() {
                        return Err(malformed(format!(
                            "the envelope carries no document at `{}`",
                            envelope.path
                        )));
                    }
                    root = xml::parse(&inner).map_err(|detail| {
                        if detail == DTD_DETAIL {
                            malformed(detail)
                        } else {
                            malformed(format!("inner document: {detail}"))
                        }
                    })?;
                }
                if let Some(expected) = &self.root {
                    if !expected.names_element(&root) {
                        return Err(malformed(format!("the root element is not `{expected}`")));
                    }
                }
                Ok(Document::Xml(root))
            }
        }
    }

    /// Splits the document into records (checking a batch's `count` and `seq`) and
    /// translates each on its own.
    fn records(
        &self,
        root: Node<'_>,
        source_message_id: Option<&str>,
        ctx: &TranslateContext,
    ) -> Result<Vec<RecordOutcome>, Rejection> {
        let Some(batch) = &self.batch else {
            // A single-record document's rejection names no record index.
            let (kind, result) = self.record(root, root, 0, source_message_id, ctx);
            let result = result.map_err(|mut rejection| {
                rejection.record = None;
                rejection
            });
            return Ok(vec![RecordOutcome {
                record: 0,
                kind,
                result,
            }]);
        };
        let nodes: Vec<Node<'_>> = match batch.records.resolve(root, None) {
            Found::List(nodes) => nodes,
            Found::Node(Node::Json(Value::Array(items))) => items.iter().map(Node::Json).collect(),
            Found::Absent => Vec::new(),
            _ => {
                return Err(malformed(format!(
                    "the records (`{}`) are not a list",
                    batch.records
                )))
            }
        };
        if nodes.is_empty() {
            return Err(malformed(format!(
                "the batch has no records (`{}`)",
                batch.records
            )));
        }
        if let Some(max) = batch.max_records.filter(|max| nodes.len() > *max) {
            return Err(malformed(format!(
                "the batch has {} records; this interface allows at most {max}",
                nodes.len()
            )));
        }
        if let Some(count_path) = &batch.count {
            match whole_number(&count_path.resolve(root, None)) {
                Some(count) if usize::try_from(count).is_ok_and(|count| count == nodes.len()) => {}
                Some(count) => {
                    return Err(malformed(format!(
                    "the batch count (`{count_path}`) says {count} but the batch has {} records",
                    nodes.len()
                )))
                }
                None => {
                    return Err(malformed(format!(
                        "the batch count (`{count_path}`) is missing or not a number"
                    )))
                }
            }
        }
        let mut seen = BTreeSet::new();
        let mut indexed = Vec::with_capacity(nodes.len());
        for (position, node) in nodes.into_iter().enumerate() {
            let index = match &batch.seq {
                Some(seq_path) => {
                    let seq = whole_number(&seq_path.resolve(node, None))
                        .and_then(|seq| u32::try_from(seq).ok())
                        .filter(|seq| *seq >= 1);
                    match seq {
                        Some(seq) => seq - 1,
                        None => {
                            return Err(malformed(format!(
                                "record {} of the batch: `{seq_path}` is missing or not a positive number",
                                position + 1
                            )))
                        }
                    }
                }
                None => u32::try_from(position)
                    .map_err(|_| malformed("the batch has too many records"))?,
            };
            if !seen.insert(index) {
                return Err(malformed(format!(
                    "seq {} appears more than once in the batch",
                    u64::from(index) + 1
                )));
            }
            indexed.push((index, node));
        }
        Ok(indexed
            .into_iter()
            .map(|(index, node)| {
                let (kind, result) = self.record(root, node, index, source_message_id, ctx);
                RecordOutcome {
                    record: index,
                    kind,
                    result: result.map_err(|rejection| rejection.at_record(index)),
                }
            })
            .collect())
    }

    /// One record: kind, then fields, then validation. Gives the kind when the business
    /// type names one, also when the record is rejected later. The rejection carries no
    /// record index; a batch adds it.
    fn record(
        &self,
        root: Node<'_>,
        record: Node<'_>,
        index: u32,
        source_message_id: Option<&str>,
        ctx: &TranslateContext,
    ) -> (Option<Kind>, Result<Validated, Rejection>) {
        // Stage "kind" (DOMAIN.md §4): before any field is looked at.
        let kind_code = match convert::scalar(&self.kind.resolve(record, None)) {
            Ok(Some(code)) => code.text().into_owned(),
            Ok(None) => {
                return (
                    None,
                    Err(unknown_kind(format!(
                        "the business type (`{}`) is missing",
                        self.kind
                    ))),
                )
            }
            Err(_) => {
                return (
                    None,
                    Err(unknown_kind(format!(
                        "the business type (`{}`) is not a single value",
                        self.kind
                    ))),
                )
            }
        };
        let Some(&kind) = self.kinds.get(&kind_code) else {
            return (
                None,
                Err(unknown_kind(match convert::quotable(&kind_code) {
                    Some(code) => format!("unknown business type \"{code}\" (`{}`)", self.kind),
                    None => format!(
                        "unknown business type (`{}`): {} characters that are not a code of this interface",
                        self.kind,
                        kind_code.chars().count()
                    ),
                })),
            );
        };
        let result = self.read_record(root, record, kind, &kind_code, index, source_message_id, ctx);
        (Some(kind), result)
    }

    /// The stages after the kind: fields and formats, then validation.
    #[allow(clippy::too_many_arguments)]
    fn read_record(
        &self,
        root: Node<'_>,
        record: Node<'_>,
        kind: Kind,
        kind_code: &str,
        index: u32,
        source_message_id: Option<&str>,
        ctx: &TranslateContext,
    ) -> Result<Validated, Rejection> {
        // Stage "fields and formats": conversion by canonical type.
        let rules = Rules {
            date: &self.date,
            list_separator: self.list_separator.as_deref(),
            strings_only: self.strings_only,
            division_aliases: &self.division_aliases,
        };
        let mut problems = Problems::default();

        let mut source = Map::new();
        source.insert("province".into(), Value::String(self.province.code.clone()));
        match source_message_id {
            Some(id) if !self.id_follows_format(id) => problems.push(
                "/source/message_id".into(),
                format!(
                    "the message id (`{}`) does not follow this interface's format {}",
                    self.message_id,
                    self.message_id_format.as_deref().unwrap_or_default()
                ),
            ),
            Some(id) => {
                source.insert("message_id".into(), Value::String(id.to_owned()));
            }
            None => problems.push(
                "/source/message_id".into(),
                format!("the message id (`{}`) is missing", self.message_id),
            ),
        }
        source.insert("record".into(), Value::from(index));
        let division = convert::field(
            FieldType::Division,
            &self.division.resolve(root, None),
            None,
            &rules,
        );
        if let Some(division) = take(
            division,
            &mut problems,
            "/source/division",
            &self.division,
            true,
        ) {
            source.insert("division".into(), division);
        }

        let sent_at = match convert::scalar(&self.sent_at.resolve(root, None)) {
            Ok(Some(value)) if self.strings_only && !matches!(value, Scalar::Text(_)) => {
                Err(ValueError::NotString)
            }
            Ok(Some(value)) => {
                convert::datetime(value, &self.datetime).map(|t| Some(Value::String(t)))
            }
            Ok(None) => Ok(None),
            Err(err) => Err(err),
        };
        let sent_at = take(sent_at, &mut problems, "/sent_at", &self.sent_at, false);

        let in_reply_to = match &self.in_reply_to {
            Some(path) => {
                let value =
                    convert::field(FieldType::Text, &path.resolve(record, None), None, &rules);
                take(value, &mut problems, "/in_reply_to", path, false).unwrap_or(Value::Null)
            }
            None => Value::Null,
        };

        let kind_ref = Some(kind_code);
        let subject = self.person(
            record,
            self.subject.as_ref(),
            "subject",
            kind_ref,
            &rules,
            &mut problems,
        );
        let spouse = self.person(
            record,
            self.spouse.as_ref(),
            "spouse",
            kind_ref,
            &rules,
            &mut problems,
        );
        let body = self.body(record, kind, kind_ref, &rules, &mut problems);

        if let Some(rejection) = problems.into_rejection() {
            return Err(rejection);
        }

        let mut candidate = Map::new();
        candidate.insert("schema".into(), Value::String(SCHEMA_ID.to_owned()));
        if let Some(id) = source_message_id {
            let message_id = canonical_message_id(&self.province.code, id, index);
            candidate.insert("message_id".into(), Value::String(message_id.to_string()));
        }
        candidate.insert("kind".into(), Value::String(kind.as_str().to_owned()));
        candidate.insert("source".into(), Value::Object(source));
        if let Some(sent_at) = sent_at {
            candidate.insert("sent_at".into(), sent_at);
        }
        let received_at = ctx
            .received_at
            .with_timezone(&BEIJING)
            .to_rfc3339_opts(SecondsFormat::Millis, false);
        candidate.insert("received_at".into(), Value::String(received_at));
        candidate.insert("in_reply_to".into(), in_reply_to);
        candidate.insert("subject".into(), subject);
        candidate.insert("spouse".into(), spouse);
        candidate.insert("body".into(), Value::Object(body));

        let options = ValidateOptions {
            expected_province: Some(self.province.code.clone()),
            id_check: match self.id_check {
                IdCheck::Reject => IdCheckPolicy::Reject,
                IdCheck::Warn => IdCheckPolicy::Warn,
            },
        };
        validate(Value::Object(candidate), &options)
    }

    /// A person (`subject` or `spouse`): `null` when the mapping has no path for it or
    /// the document has nothing there. Values are never quoted in details.
    fn person(
        &self,
        record: Node<'_>,
        path: Option<&Path>,
        role: &str,
        kind_code: Option<&str>,
        rules: &Rules<'_>,
        problems: &mut Problems,
    ) -> Value {
        let Some(path) = path else {
            return Value::Null;
        };
        let node = match convert::object(&path.resolve(record, kind_code)) {
            Ok(Some(node)) => node,
            Ok(None) => return Value::Null,
            Err(err) => {
                problems.push(
                    format!("/{role}"),
                    format!("`{path}`: {}", err.describe(false)),
                );
                return Value::Null;
            }
        };
        Value::Object(self.fields(
            node,
            path,
            role,
            &self.person,
            kind_code,
            rules,
            problems,
            false,
        ))
    }

    /// The body: only the fields `kind` uses (the rest is dropped, not checked).
    fn body(
        &self,
        record: Node<'_>,
        kind: Kind,
        kind_code: Option<&str>,
        rules: &Rules<'_>,
        problems: &mut Problems,
    ) -> Map<String, Value> {
        let Some(path) = &self.body else {
            return Map::new();
        };
        let node = match convert::object(&path.resolve(record, kind_code)) {
            Ok(Some(node)) => node,
            Ok(None) => return Map::new(),
            Err(err) => {
                problems.push("/body".into(), format!("`{path}`: {}", err.describe(false)));
                return Map::new();
            }
        };
        let rules_for_kind = self
            .body_fields
            .get(&kind)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        self.fields(
            node,
            path,
            "body",
            rules_for_kind,
            kind_code,
            rules,
            problems,
            true,
        )
    }

    /// Converts each mapped field under `node` into `/<parent>/<field>`.
    #[allow(clippy::too_many_arguments)]
    fn fields(
        &self,
        node: Node<'_>,
        node_path: &Path,
        parent: &str,
        fields: &[FieldRule],
        kind_code: Option<&str>,
        rules: &Rules<'_>,
        problems: &mut Problems,
        echo_codes: bool,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for rule in fields {
            let found = rule.path.resolve(node, kind_code);
            match convert::field(rule.field_type, &found, self.codes.get(rule.name), rules) {
                Ok(Some(value)) => {
                    out.insert(rule.name.to_owned(), value);
                }
                Ok(None) => {}
                Err(err) => problems.push(
                    format!("/{parent}/{}", rule.name),
                    format!("`{node_path}/{}`: {}", rule.path, err.describe(echo_codes)),
                ),
            }
        }
        out
    }
}

/// Keeps a converted header value, or records why it could not be converted.
fn take(
    converted: Result<Option<Value>, ValueError>,
    problems: &mut Problems,
    pointer: &str,
    path: &Path,
    echo: bool,
) -> Option<Value> {
    match converted {
        Ok(value) => value,
        Err(err) => {
            problems.push(
                pointer.to_owned(),
                format!("`{path}`: {}", err.describe(echo)),
            );
            None
        }
    }
}

/// A batch count or `seq`: a JSON whole number or a string of digits.
fn whole_number(found: &Found<'_>) -> Option<u64> {
    match convert::scalar(found).ok()?? {
        Scalar::Number(number) => number.as_u64(),
        Scalar::Text(text)
            if !text.is_empty() && text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit()) =>
        {
            text.parse().ok()
        }
        _ => None,
    }
}
