//! Rendering: canonical messages → a province's legacy document, the inverse of
//! translation, driven by the same mapping file.
//!
//! The hub's simulator uses it to act as the provinces' legacy systems (so a newly
//! onboarded province is simulated with no code), and tests use it to check that every
//! mapping reads back what it writes. Every code table is read backwards (the first
//! legacy code, in key order, that maps to the canonical value); formats are applied in
//! reverse. Rendering trusts its input: it is for messages the hub built, not for
//! hostile data.

use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, TimeZone};
use serde_json::{Map, Number, Value};
use yipanqi_schemas::{CanonicalMessage, FieldType};

use crate::convert::{CodeTable, CodeValue, DateFormat, DateTimeFormat, BEIJING};
use crate::mapping::{DocSyntax, EnvelopeStyle, FieldRule, IdPart, Mapping, TextEncoding};
use crate::path::Path;
use crate::xml::{self, Bindings, Element};

/// Choices a legacy system may make either way; `variant` picks among them so that a
/// simulator exercises all of them (envelope CDATA or escaped text, a default namespace
/// or a prefix, pretty or compact JSON).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Any number; successive values cycle through the alternatives.
    pub variant: u64,
}

/// Why canonical messages could not be written in a province's format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// No message to render.
    #[error("no message to render")]
    Empty,
    /// Several messages for a province whose documents carry one record.
    #[error("{province} documents carry one record; {count} messages given")]
    NotABatch {
        /// The province.
        province: String,
        /// How many messages were given.
        count: usize,
    },
    /// The messages of one batch differ in legacy id, sender or send time.
    #[error("the messages of one document must share source message id, division and sent_at")]
    Mixed,
    /// The mapping has no legacy code for a canonical value.
    #[error("the {province} mapping has no legacy code for {field} \"{value}\"")]
    NoCode {
        /// The province.
        province: String,
        /// The canonical field (`kind`, `contraception`, …).
        field: String,
        /// The canonical value.
        value: String,
    },
    /// A value cannot be written in the province's format.
    #[error("cannot write {field} in the {province} format: {reason}")]
    Unrepresentable {
        /// The province.
        province: String,
        /// The canonical field.
        field: String,
        /// Why.
        reason: String,
    },
}

/// A value ready to be written: what JSON would call a string, number or boolean, or
/// a list of those.
#[derive(Debug, Clone)]
enum Leaf {
    /// Text; `code` marks a code, which a typed JSON interface writes as a number when
    /// it is one (`1500`, `20`).
    Text {
        text: String,
        code: bool,
    },
    Number(Number),
    Bool(bool),
    List(Vec<Leaf>),
}

impl Leaf {
    fn text(text: impl Into<String>) -> Leaf {
        Leaf::Text {
            text: text.into(),
            code: false,
        }
    }

    fn code(text: impl Into<String>) -> Leaf {
        Leaf::Text {
            text: text.into(),
            code: true,
        }
    }

    fn as_text(&self) -> String {
        match self {
            Leaf::Text { text, .. } => text.clone(),
            Leaf::Number(number) => number.to_string(),
            Leaf::Bool(flag) => flag.to_string(),
            Leaf::List(items) => items
                .iter()
                .map(Leaf::as_text)
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

/// A document under construction.
enum Tree {
    Json(Value),
    Xml(Element),
}

impl Mapping {
    /// Whether one document of this province carries a batch of records.
    pub fn is_batch(&self) -> bool {
        self.batch.is_some()
    }

    /// A legacy message id as this province writes them (`[format]
    /// message_id_pattern`), for a document sent by `division` at `sent`.
    pub fn render_message_id(
        &self,
        division: &str,
        sent: DateTime<FixedOffset>,
        serial: u64,
    ) -> String {
        let sent = sent.with_timezone(&BEIJING);
        let mut id = String::new();
        for part in &self.message_id_pattern.0 {
            match part {
                IdPart::Literal(text) => id.push_str(text),
                IdPart::Code => id.push_str(&self.province.code),
                IdPart::Division => id.push_str(division),
                IdPart::Serial { width } => {
                    let _ = write!(id, "{serial:0width$}");
                }
                // Checked at load time to be writable for a timestamp.
                IdPart::Sent(pattern) => {
                    let _ = write!(id, "{}", sent.format(pattern));
                }
            }
        }
        id
    }

    /// Writes canonical messages as one legacy document of this province: one message
    /// for a single-record format, the records of one batch otherwise (they must share
    /// `source.message_id`, `source.division` and `sent_at`; `source.record` gives
    /// each record's `seq`).
    pub fn render(
        &self,
        messages: &[CanonicalMessage],
        options: &RenderOptions,
    ) -> Result<Vec<u8>, RenderError> {
        let first = messages.first().ok_or(RenderError::Empty)?;
        if self.batch.is_none() && messages.len() > 1 {
            return Err(RenderError::NotABatch {
                province: self.province.name.clone(),
                count: messages.len(),
            });
        }
        let same_document = messages.iter().all(|m| {
            m.source.message_id == first.source.message_id
                && m.source.division == first.source.division
                && m.sent_at == first.sent_at
        });
        if !same_document {
            return Err(RenderError::Mixed);
        }

        let mut root = match self.syntax {
            DocSyntax::Json => Tree::Json(Value::Object(Map::new())),
            DocSyntax::Xml => {
                let element = self
                    .root
                    .as_ref()
                    .and_then(|root| root.new_element(None))
                    .ok_or_else(|| {
                        self.unrepresentable(
                            "the document",
                            "the mapping names no [format] root element",
                        )
                    })?;
                Tree::Xml(element)
            }
        };

        // Header, on the document root. A single record's kind code goes right after
        // the message id, where every ICD puts it (written again, identically, below).
        self.put(
            &mut root,
            &self.message_id,
            None,
            Leaf::text(first.source.message_id.clone()),
        );
        if self.batch.is_none() {
            let kind_code = self.kind_code(first)?;
            self.put(&mut root, &self.kind, None, Leaf::code(kind_code));
        }
        self.put(
            &mut root,
            &self.division,
            None,
            Leaf::text(first.source.division.to_string()),
        );
        let sent_at = self.render_datetime(first.sent_at)?;
        self.put(&mut root, &self.sent_at, None, sent_at);
        for (path, value) in &self.constants {
            self.put(&mut root, path, None, Leaf::text(value.clone()));
        }

        match &self.batch {
            None => self.fill_record(&mut root, first)?,
            Some(batch) => {
                if let Some(count) = &batch.count {
                    self.put(
                        &mut root,
                        count,
                        None,
                        Leaf::Number(Number::from(messages.len())),
                    );
                }
                let mut records = Vec::with_capacity(messages.len());
                for message in messages {
                    let mut record = match &root {
                        Tree::Json(_) => Tree::Json(Value::Object(Map::new())),
                        Tree::Xml(_) => {
                            Tree::Xml(batch.records.new_element(None).unwrap_or_default())
                        }
                    };
                    if let Some(seq) = &batch.seq {
                        let seq_value = u64::from(message.source.record) + 1;
                        self.put(
                            &mut record,
                            seq,
                            None,
                            Leaf::Number(Number::from(seq_value)),
                        );
                    }
                    self.fill_record(&mut record, message)?;
                    records.push(record);
                }
                match &mut root {
                    Tree::Json(value) => {
                        let items = records
                            .into_iter()
                            .filter_map(|r| match r {
                                Tree::Json(v) => Some(v),
                                Tree::Xml(_) => None,
                            })
                            .collect();
                        batch.records.json_put(value, None, Value::Array(items));
                    }
                    Tree::Xml(element) => {
                        let items = records
                            .into_iter()
                            .filter_map(|r| match r {
                                Tree::Xml(e) => Some(e),
                                Tree::Json(_) => None,
                            })
                            .collect();
                        batch.records.xml_append(element, None, items);
                    }
                }
            }
        }
        self.serialise(root, options)
    }

    /// Kind, reference, persons and body of one record.
    fn fill_record(
        &self,
        record: &mut Tree,
        message: &CanonicalMessage,
    ) -> Result<(), RenderError> {
        let kind_code = self.kind_code(message)?;
        self.put(record, &self.kind, None, Leaf::code(kind_code.clone()));
        let kind = Some(kind_code.as_str());
        if let (Some(path), Some(reference)) = (&self.in_reply_to, message.in_reply_to) {
            self.put(record, path, None, Leaf::text(reference.to_string()));
        }
        let canonical = serde_json::to_value(message)
            .map_err(|e| self.unrepresentable("the message", &e.to_string()))?;
        for (path, role) in [(&self.subject, "subject"), (&self.spouse, "spouse")] {
            if let (Some(path), Value::Object(person)) = (path, &canonical[role]) {
                let node = self.structure(record, path, kind, person, &self.person)?;
                self.attach(record, path, kind, node);
            }
        }
        if let (Some(path), Value::Object(body)) = (&self.body, &canonical["body"]) {
            let rules = self
                .body_fields
                .get(&message.kind)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let node = self.structure(record, path, kind, body, rules)?;
            self.attach(record, path, kind, node);
        }
        Ok(())
    }

    /// The legacy code of a message's kind: the first in `[codes.kind]` key order.
    fn kind_code(&self, message: &CanonicalMessage) -> Result<String, RenderError> {
        self.kinds
            .iter()
            .find(|(_, kind)| **kind == message.kind)
            .map(|(code, _)| code.clone())
            .ok_or_else(|| self.no_code("kind", message.kind.as_str()))
    }

    /// A person or body as a JSON object or XML element of its own.
    fn structure(
        &self,
        record: &Tree,
        path: &Path,
        kind: Option<&str>,
        values: &Map<String, Value>,
        rules: &[FieldRule],
    ) -> Result<Tree, RenderError> {
        let mut node = match record {
            Tree::Json(_) => Tree::Json(Value::Object(Map::new())),
            Tree::Xml(_) => Tree::Xml(path.new_element(kind).unwrap_or_default()),
        };
        for rule in rules {
            let Some(value) = values.get(rule.name).filter(|v| !v.is_null()) else {
                continue;
            };
            let leaf = self.render_value(rule.name, rule.field_type, value)?;
            self.put(&mut node, &rule.path, kind, leaf);
        }
        Ok(node)
    }

    fn attach(&self, record: &mut Tree, path: &Path, kind: Option<&str>, node: Tree) {
        match (record, node) {
            (Tree::Json(record), Tree::Json(node)) => path.json_put(record, kind, node),
            (Tree::Xml(record), Tree::Xml(node)) => path.xml_append(record, kind, vec![node]),
            _ => {}
        }
    }

    /// Writes a leaf at a path, typed as the province's syntax wants it.
    fn put(&self, tree: &mut Tree, path: &Path, kind: Option<&str>, leaf: Leaf) {
        match tree {
            Tree::Json(value) => path.json_put(value, kind, self.json_leaf(leaf)),
            Tree::Xml(element) => {
                let texts = match leaf {
                    Leaf::List(items) if path.is_list() => {
                        items.iter().map(Leaf::as_text).collect()
                    }
                    Leaf::List(items) => {
                        let separator = self.list_separator.as_deref().unwrap_or(",");
                        vec![items
                            .iter()
                            .map(Leaf::as_text)
                            .collect::<Vec<_>>()
                            .join(separator)]
                    }
                    other => vec![other.as_text()],
                };
                path.xml_put(element, kind, texts);
            }
        }
    }

    fn json_leaf(&self, leaf: Leaf) -> Value {
        match leaf {
            _ if self.strings_only => match leaf {
                Leaf::List(items) => self.json_list(items),
                other => Value::String(other.as_text()),
            },
            Leaf::Text { text, code: true } => match numeric_code(&text) {
                Some(number) => Value::Number(number),
                None => Value::String(text),
            },
            Leaf::Text { text, .. } => Value::String(text),
            Leaf::Number(number) => Value::Number(number),
            Leaf::Bool(flag) => Value::Bool(flag),
            Leaf::List(items) => self.json_list(items),
        }
    }

    fn json_list(&self, items: Vec<Leaf>) -> Value {
        match &self.list_separator {
            Some(separator) => Value::String(
                items
                    .iter()
                    .map(Leaf::as_text)
                    .collect::<Vec<_>>()
                    .join(separator),
            ),
            None => Value::Array(items.into_iter().map(|item| self.json_leaf(item)).collect()),
        }
    }

    /// A canonical field value in legacy form.
    fn render_value(
        &self,
        field: &str,
        field_type: FieldType,
        value: &Value,
    ) -> Result<Leaf, RenderError> {
        let table = self.codes.get(field);
        let text = || {
            value
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string())
        };
        Ok(match field_type {
            FieldType::Date => self.render_date(field, &text())?,
            FieldType::Integer => match value {
                Value::Number(number) => Leaf::Number(number.clone()),
                _ => Leaf::text(text()),
            },
            FieldType::Bool => match (table, value) {
                (Some(table), Value::Bool(flag)) => Leaf::code(
                    reverse(table, &CodeValue::Bool(*flag))
                        .ok_or_else(|| self.no_code(field, &flag.to_string()))?,
                ),
                (None, Value::Bool(flag)) => Leaf::Bool(*flag),
                _ => Leaf::text(text()),
            },
            FieldType::Code => self.render_code(field, table, &text())?,
            FieldType::Text | FieldType::Division => Leaf::text(text()),
            FieldType::CodeList | FieldType::DivisionList => {
                let items = value.as_array().cloned().unwrap_or_default();
                let mut leaves = Vec::with_capacity(items.len());
                for item in items {
                    let item = item
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| item.to_string());
                    leaves.push(if field_type == FieldType::CodeList {
                        self.render_code(field, table, &item)?
                    } else {
                        Leaf::text(item)
                    });
                }
                Leaf::List(leaves)
            }
        })
    }

    fn render_code(
        &self,
        field: &str,
        table: Option<&CodeTable>,
        canonical: &str,
    ) -> Result<Leaf, RenderError> {
        match table {
            Some(table) => reverse(table, &CodeValue::Text(canonical.to_owned()))
                .map(Leaf::code)
                .ok_or_else(|| self.no_code(field, canonical)),
            None => Ok(Leaf::code(canonical)),
        }
    }

    fn render_date(&self, field: &str, canonical: &str) -> Result<Leaf, RenderError> {
        let day = NaiveDate::parse_from_str(canonical, "%Y-%m-%d")
            .map_err(|_| self.unrepresentable(field, "not a YYYY-MM-DD date"))?;
        match &self.date {
            DateFormat::Chrono(pattern) => {
                let mut text = String::new();
                write!(text, "{}", day.format(pattern))
                    .map_err(|_| self.unrepresentable(field, "date format"))?;
                Ok(Leaf::text(text))
            }
            // The instant of the date's midnight in Asia/Shanghai (UTC+9 in the
            // 1986–1991 summers), as the reader expects.
            DateFormat::EpochMs => {
                let midnight = day
                    .and_hms_opt(0, 0, 0)
                    .and_then(|naive| {
                        chrono_tz::Asia::Shanghai
                            .from_local_datetime(&naive)
                            .earliest()
                    })
                    .ok_or_else(|| self.unrepresentable(field, "no Beijing midnight"))?;
                Ok(Leaf::Number(Number::from(midnight.timestamp_millis())))
            }
        }
    }

    fn render_datetime(&self, sent_at: DateTime<FixedOffset>) -> Result<Leaf, RenderError> {
        let local = sent_at.with_timezone(&BEIJING);
        Ok(match &self.datetime {
            DateTimeFormat::Chrono(pattern) => {
                let mut text = String::new();
                write!(text, "{}", local.format(pattern))
                    .map_err(|_| self.unrepresentable("sent_at", "datetime format"))?;
                Leaf::text(text)
            }
            DateTimeFormat::Rfc3339 => {
                Leaf::text(local.to_rfc3339_opts(SecondsFormat::Secs, false))
            }
            DateTimeFormat::EpochMs => Leaf::Number(Number::from(local.timestamp_millis())),
        })
    }

    /// The finished tree as bytes in the province's encoding.
    fn serialise(&self, root: Tree, options: &RenderOptions) -> Result<Vec<u8>, RenderError> {
        let label = match self.encoding {
            TextEncoding::Fixed(encoding) if encoding == encoding_rs::GBK => "GBK",
            TextEncoding::Fixed(encoding) if encoding == encoding_rs::GB18030 => "GB18030",
            _ => "UTF-8",
        };
        let text = match root {
            Tree::Json(value) => {
                let written = if options.variant & 1 == 0 {
                    serde_json::to_string_pretty(&value)
                } else {
                    serde_json::to_string(&value)
                };
                written.map_err(|e| self.unrepresentable("the document", &e.to_string()))?
            }
            Tree::Xml(element) => {
                let inner = xml::write(
                    &element,
                    label,
                    &self.bindings(&element, options.variant / 2),
                    false,
                );
                match &self.envelope {
                    None => inner,
                    Some(envelope) => {
                        let mut outer = envelope.root.new_element(None).unwrap_or_default();
                        envelope.path.xml_put(&mut outer, None, vec![inner]);
                        let styles = if envelope.style.is_empty() {
                            vec![EnvelopeStyle::Cdata, EnvelopeStyle::Escaped]
                        } else {
                            envelope.style.clone()
                        };
                        let index =
                            usize::try_from(options.variant % styles.len() as u64).unwrap_or(0);
                        let cdata = styles.get(index) == Some(&EnvelopeStyle::Cdata);
                        xml::write(&outer, label, &self.bindings(&outer, 0), cdata)
                    }
                }
            }
        };
        match self.encoding {
            TextEncoding::Fixed(encoding) if encoding != encoding_rs::UTF_8 => {
                let (bytes, _, unmappable) = encoding.encode(&text);
                if unmappable {
                    return Err(self.unrepresentable(
                        "the document",
                        &format!("a character has no {label} form"),
                    ));
                }
                Ok(bytes.into_owned())
            }
            _ => Ok(text.into_bytes()),
        }
    }

    /// Namespace declarations for a tree: the mapping's prefixes; the default namespace
    /// as `xmlns="…"` or (odd `variant`) with a prefix, as legacy systems vary.
    fn bindings(&self, root: &Element, variant: u64) -> Bindings {
        let mut uris: Vec<String> = Vec::new();
        collect_namespaces(root, &mut uris);
        let default = self.namespaces.get("default");
        let mut bindings: Bindings = Vec::new();
        let mut generated = 0;
        for uri in uris {
            let own_prefix = self
                .namespaces
                .iter()
                .find(|(prefix, bound)| prefix.as_str() != "default" && **bound == uri)
                .map(|(prefix, _)| prefix.clone());
            let prefix = if Some(&uri) == default && variant & 1 == 0 {
                None
            } else {
                Some(own_prefix.unwrap_or_else(|| {
                    generated += 1;
                    format!("ns{generated}")
                }))
            };
            bindings.push((prefix, uri));
        }
        bindings
    }

    fn no_code(&self, field: &str, value: &str) -> RenderError {
        RenderError::NoCode {
            province: self.province.name.clone(),
            field: field.to_owned(),
            value: value.to_owned(),
        }
    }

    fn unrepresentable(&self, field: &str, reason: &str) -> RenderError {
        RenderError::Unrepresentable {
            province: self.province.name.clone(),
            field: field.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

/// The first legacy code (in key order) that maps to `canonical`.
fn reverse(table: &CodeTable, canonical: &CodeValue) -> Option<String> {
    table
        .iter()
        .find(|(_, value)| *value == canonical)
        .map(|(code, _)| code.clone())
}

/// A code that a typed JSON interface writes as a number: digits, no leading zero.
fn numeric_code(text: &str) -> Option<Number> {
    let digits = !text.is_empty() && text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit());
    if digits && (text == "0" || !text.starts_with('0')) {
        text.parse::<u64>().ok().map(Number::from)
    } else {
        None
    }
}

fn collect_namespaces(element: &Element, uris: &mut Vec<String>) {
    let attr_namespaces = element.attrs.iter().filter_map(|(ns, _, _)| ns.as_ref());
    for uri in element.ns.iter().chain(attr_namespaces) {
        if !uris.contains(uri) {
            uris.push(uri.clone());
        }
    }
    for child in &element.children {
        collect_namespaces(child, uris);
    }
}
