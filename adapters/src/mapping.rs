//! [`Mapping`]: one province's `mapping.toml`, parsed and checked once at load time so
//! that translating a document never meets a malformed rule.
//!
//! The file format is specified in `mappings/README.md`; this module is its parser.
//! Every check a mapping author could get wrong (an unknown canonical field, a prefix
//! not declared, a code table mapping to a value the canonical set does not have, a
//! `{kind}` used before the kind is known) fails here with a [`MappingError`] that
//! names the field, so a province's onboarding error is found by `cargo test` or at
//! hub start, never by a province's message.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::format::StrftimeItems;
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use yipanqi_schemas::{
    body_field_type, code_values, person_field_type, FieldType, Kind, PERSON_FIELDS,
};

use crate::convert::{CodeTable, CodeValue, DateFormat, DateTimeFormat};
use crate::path::{Path, PathSyntax};
use crate::province::ProvinceInfo;

/// A mapping file that cannot be used, or a mapping directory that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// Not TOML, or a section or key the mapping language does not have (the TOML
    /// error names the key and its line).
    #[error("not a valid mapping file: {0}")]
    Toml(#[from] toml::de::Error),
    /// A value the mapping language does not allow.
    #[error("`{field}`: {reason}")]
    Invalid {
        /// The offending key, as a dotted TOML path (`codes.contraception."9"`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A mapping file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An error in a particular file (wraps the other variants).
    #[error("{path}: {source}")]
    InFile {
        /// The mapping file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<MappingError>,
    },
    /// Two mapping files declare the same province name or code.
    #[error("province {what} is declared by two mapping files: {first} and {second}")]
    Duplicate {
        /// `name "anhui"` or `code "34"`.
        what: String,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
    },
    /// A mapping directory without any `*/mapping.toml`: an empty region.
    #[error("no mapping files (*/mapping.toml) in {0}")]
    Empty(PathBuf),
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> MappingError {
    MappingError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------------
// The file as written (serde model). Unknown keys are errors everywhere: a typo in a
// mapping must not silently leave a field unmapped.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    province: ProvinceInfo,
    format: RawFormat,
    #[serde(default)]
    namespaces: BTreeMap<String, String>,
    envelope: Option<RawEnvelope>,
    batch: Option<RawBatch>,
    header: RawHeader,
    record: RawRecord,
    #[serde(default)]
    person: BTreeMap<String, String>,
    #[serde(default)]
    body: toml::Table,
    codes: BTreeMap<String, BTreeMap<String, RawCode>>,
    #[serde(default)]
    division_aliases: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFormat {
    syntax: Syntax,
    #[serde(default = "default_encoding")]
    encoding: String,
    #[serde(default = "default_date")]
    date: String,
    #[serde(default = "default_datetime")]
    datetime: String,
    list_separator: Option<String>,
    json_scalars: Option<JsonScalars>,
    #[serde(default)]
    id_check: IdCheck,
    root: Option<String>,
    message_id_pattern: Option<String>,
}

fn default_encoding() -> String {
    "utf-8".to_owned()
}
fn default_date() -> String {
    "%Y-%m-%d".to_owned()
}
fn default_datetime() -> String {
    "rfc3339".to_owned()
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Syntax {
    Json,
    Xml,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
enum JsonScalars {
    Strings,
    #[default]
    Typed,
}

/// `[format] id_check`: what a wrong ID check character means for this province.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub(crate) enum IdCheck {
    #[default]
    Reject,
    Warn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvelope {
    root: String,
    path: String,
    #[serde(default)]
    style: Vec<EnvelopeStyle>,
}

/// How a renderer wraps the inner document of an envelope.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EnvelopeStyle {
    Cdata,
    Escaped,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBatch {
    records: String,
    count: Option<String>,
    seq: Option<String>,
    max_records: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    message_id: String,
    division: String,
    sent_at: String,
    #[serde(default)]
    constants: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    kind: String,
    in_reply_to: Option<String>,
    subject: Option<String>,
    spouse: Option<String>,
    body: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCode {
    Text(String),
    Bool(bool),
}

// ---------------------------------------------------------------------------------
// The compiled mapping.

/// How to read the document's bytes as text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TextEncoding {
    /// Always this encoding (UTF-8, GBK or GB18030).
    Fixed(&'static encoding_rs::Encoding),
    /// The encoding named by the XML declaration (UTF-8 without one).
    Declared,
}

/// How the document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocSyntax {
    Json,
    Xml,
}

/// A SOAP-style wrapper around the real document.
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    pub root: Path,
    pub path: Path,
    /// How the province wraps the inner document; the reader accepts every style, a
    /// renderer picks one.
    pub style: Vec<EnvelopeStyle>,
}

/// The batch rules: where the records are and how they are numbered.
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    pub records: Path,
    pub count: Option<Path>,
    pub seq: Option<Path>,
    /// The most records the interface allows in one batch.
    pub max_records: Option<usize>,
}

/// One piece of a message id pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdPart {
    Literal(String),
    Code,
    Division,
    Serial { width: usize },
    Sent(String),
}

/// `[format] message_id_pattern`: how a province builds its legacy message ids, e.g.
/// `AH{division}{sent:%Y%m%d}{serial:06}`. Rendering builds ids with it; when a mapping
/// states one, the reader refuses ids that do not follow it — an id is then made of
/// codes, dates and digits only, never of a name someone typed into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdPattern(pub Vec<IdPart>);

impl IdPattern {
    /// For a mapping that does not say: sender, send time to the second, serial.
    pub const DEFAULT: &'static str = "{division}{sent:%Y%m%d%H%M%S}{serial:06}";

    /// Whether `id` follows the pattern, for a province with code `code`: literals as
    /// written, `{code}` the code, `{division}` 6 or 9 digits, `{serial:N}`
    /// N digits (`{serial}` one or more), `{sent:FORMAT}` a real time in that format.
    pub(crate) fn matches(&self, id: &str, code: &str) -> bool {
        fn digits(s: &str, n: usize) -> bool {
            s.len() >= n && s.as_bytes()[..n].iter().all(u8::is_ascii_digit)
        }
        fn go(parts: &[IdPart], s: &str, code: &str) -> bool {
            let Some((part, rest)) = parts.split_first() else {
                return s.is_empty();
            };
            match part {
                IdPart::Literal(l) => s.strip_prefix(l.as_str()).is_some_and(|t| go(rest, t, code)),
                IdPart::Code => s.strip_prefix(code).is_some_and(|t| go(rest, t, code)),
                // Its shape only: whether the division is the sender's, in its province,
                // is the later check of codes and divisions (sender_mismatch).
                IdPart::Division => [6, 9].iter().any(|&n| digits(s, n) && go(rest, &s[n..], code)),
                IdPart::Serial { width: 0 } => {
                    (1..=s.len().min(20)).any(|n| digits(s, n) && go(rest, &s[n..], code))
                }
                IdPart::Serial { width } => digits(s, *width) && go(rest, &s[*width..], code),
                IdPart::Sent(format) => {
                    let n = sample_length(format);
                    s.is_char_boundary(n.min(s.len()))
                        && s.len() >= n
                        && is_time(&s[..n], format)
                        && go(rest, &s[n..], code)
                }
            }
        }
        go(&self.0, id, code)
    }

    fn parse(text: &str) -> Result<IdPattern, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let close = rest
                        .find('}')
                        .ok_or_else(|| format!("\"{text}\": unclosed `{{`"))?;
                    let placeholder = &rest[1..close];
                    let part = match placeholder.split_once(':') {
                        None if placeholder == "code" => IdPart::Code,
                        None if placeholder == "division" => IdPart::Division,
                        None if placeholder == "serial" => IdPart::Serial { width: 0 },
                        Some(("serial", width)) => IdPart::Serial {
                            width: width.parse().ok().filter(|w: &usize| *w <= 20).ok_or_else(
                                || format!("\"{text}\": `{{serial:N}}` needs a width 0–20"),
                            )?,
                        },
                        Some(("sent", pattern)) => {
                            check_datetime_items(pattern)?;
                            IdPart::Sent(pattern.to_owned())
                        }
                        _ => {
                            return Err(format!(
                                "\"{text}\": unknown placeholder `{{{placeholder}}}` \
                                 (code, division, serial, serial:N, sent:FORMAT)"
                            ))
                        }
                    };
                    parts.push(part);
                    rest = &rest[close + 1..];
                }
                Some(at) => {
                    parts.push(IdPart::Literal(rest[..at].to_owned()));
                    rest = &rest[at..];
                }
                None => {
                    parts.push(IdPart::Literal(rest.to_owned()));
                    rest = "";
                }
            }
        }
        if parts
            .iter()
            .any(|p| matches!(p, IdPart::Literal(l) if l.contains('}')))
        {
            return Err(format!("\"{text}\": unmatched `}}`"));
        }
        Ok(IdPattern(parts))
    }
}

/// How long a time written in `format` is (the formats of ids are fixed-width).
fn sample_length(format: &str) -> usize {
    NaiveDate::from_ymd_opt(2026, 11, 3)
        .and_then(|day| day.and_hms_opt(9, 12, 0))
        .map(|t| t.format(format).to_string().len())
        .unwrap_or(0)
}

/// Whether `text` is a real date or time in `format`.
fn is_time(text: &str, format: &str) -> bool {
    let mut parsed = chrono::format::Parsed::new();
    chrono::format::parse(&mut parsed, text, StrftimeItems::new(format)).is_ok()
        && parsed.to_naive_date().is_ok()
}

/// A chrono pattern that can be written for a timestamp.
fn check_datetime_items(pattern: &str) -> Result<(), String> {
    StrftimeItems::new(pattern)
        .parse()
        .map_err(|_| format!("\"{pattern}\" is not a valid chrono format"))?;
    let sample = NaiveDate::from_ymd_opt(2026, 11, 3)
        .and_then(|day| day.and_hms_opt(9, 12, 0))
        .ok_or_else(|| "no sample time".to_owned())?
        .and_utc()
        .fixed_offset();
    let mut written = String::new();
    write!(written, "{}", sample.format(pattern))
        .map_err(|_| format!("\"{pattern}\" cannot be written for a timestamp"))
}

/// A canonical field and the legacy path it is read from.
#[derive(Debug, Clone)]
pub(crate) struct FieldRule {
    pub name: &'static str,
    pub field_type: FieldType,
    pub path: Path,
}

/// A province's mapping file, parsed and checked: everything the engine needs to
/// translate that province's documents (see `mappings/README.md`).
#[derive(Debug, Clone)]
pub struct Mapping {
    pub(crate) province: ProvinceInfo,
    pub(crate) syntax: DocSyntax,
    pub(crate) encoding: TextEncoding,
    pub(crate) date: DateFormat,
    pub(crate) datetime: DateTimeFormat,
    pub(crate) list_separator: Option<String>,
    pub(crate) strings_only: bool,
    pub(crate) id_check: IdCheck,
    pub(crate) root: Option<Path>,
    pub(crate) envelope: Option<Envelope>,
    pub(crate) batch: Option<Batch>,
    pub(crate) message_id: Path,
    pub(crate) division: Path,
    pub(crate) sent_at: Path,
    /// `[header] constants`: fields every document carries with a fixed value.
    pub(crate) constants: Vec<(Path, String)>,
    pub(crate) kind: Path,
    pub(crate) in_reply_to: Option<Path>,
    pub(crate) subject: Option<Path>,
    pub(crate) spouse: Option<Path>,
    pub(crate) body: Option<Path>,
    pub(crate) person: Vec<FieldRule>,
    /// Per inbound kind: the body fields it uses that the mapping reads, with the
    /// kind's own paths (`[body.kinds.<kind>]`) already applied over `[body]`.
    pub(crate) body_fields: BTreeMap<Kind, Vec<FieldRule>>,
    pub(crate) kinds: BTreeMap<String, Kind>,
    /// Code tables by canonical field name (`kind` excluded).
    pub(crate) codes: BTreeMap<String, CodeTable>,
    pub(crate) division_aliases: BTreeMap<String, String>,
    /// How this province writes its message ids (for rendering).
    pub(crate) message_id_pattern: IdPattern,
    /// The id format the mapping states (`message_id_pattern`), which read ids must follow.
    pub(crate) message_id_format: Option<String>,
    /// `[namespaces]` (prefix → URI), for rendering with the province's prefixes.
    pub(crate) namespaces: BTreeMap<String, String>,
}

impl Mapping {
    /// Parses and checks a mapping file's text.
    pub fn from_toml(text: &str) -> Result<Mapping, MappingError> {
        let raw: RawMapping = toml::from_str(text)?;
        compile(raw)
    }

    /// The province this mapping speaks for.
    pub fn province(&self) -> &ProvinceInfo {
        &self.province
    }
}

fn compile(raw: RawMapping) -> Result<Mapping, MappingError> {
    raw.province
        .check()
        .map_err(|(field, reason)| invalid(field, reason))?;
    let format = &raw.format;
    let syntax = match format.syntax {
        Syntax::Json => DocSyntax::Json,
        Syntax::Xml => DocSyntax::Xml,
    };
    let path_syntax = match syntax {
        DocSyntax::Json => PathSyntax::Json,
        DocSyntax::Xml => PathSyntax::Xml,
    };

    // Syntax-specific sections.
    if syntax == DocSyntax::Json {
        if !raw.namespaces.is_empty() {
            return Err(invalid("namespaces", "only XML documents have namespaces"));
        }
        if raw.envelope.is_some() {
            return Err(invalid("envelope", "only XML documents have an envelope"));
        }
        if format.root.is_some() {
            return Err(invalid(
                "format.root",
                "only XML documents have a root element name",
            ));
        }
    } else if format.json_scalars.is_some() {
        return Err(invalid(
            "format.json_scalars",
            "applies to JSON documents only",
        ));
    }
    for (prefix, uri) in &raw.namespaces {
        if uri.trim().is_empty() {
            return Err(invalid(
                format!("namespaces.{prefix}"),
                "a namespace URI must not be empty",
            ));
        }
        if prefix.is_empty() || prefix.contains([':', '/', '@']) {
            return Err(invalid(
                format!("namespaces.{prefix}"),
                "not a usable prefix",
            ));
        }
    }

    let encoding = match format.encoding.to_ascii_lowercase().as_str() {
        "declared" if syntax == DocSyntax::Xml => TextEncoding::Declared,
        "declared" => {
            return Err(invalid(
                "format.encoding",
                "\"declared\" needs an XML declaration; JSON is UTF-8 or a fixed encoding",
            ))
        }
        label => match supported_encoding(label) {
            Some(encoding) => TextEncoding::Fixed(encoding),
            None => {
                return Err(invalid(
                    "format.encoding",
                    format!(
                        "\"{}\" is not supported (utf-8, gbk, gb18030 or declared)",
                        format.encoding
                    ),
                ))
            }
        },
    };

    let date = match format.date.as_str() {
        "epoch_ms" => DateFormat::EpochMs,
        pattern => {
            check_date_pattern(pattern).map_err(|reason| invalid("format.date", reason))?;
            DateFormat::Chrono(pattern.to_owned())
        }
    };
    let datetime = match format.datetime.as_str() {
        "epoch_ms" => DateTimeFormat::EpochMs,
        "rfc3339" => DateTimeFormat::Rfc3339,
        pattern => {
            check_datetime_pattern(pattern).map_err(|reason| invalid("format.datetime", reason))?;
            DateTimeFormat::Chrono(pattern.to_owned())
        }
    };
    if format.list_separator.as_deref() == Some("") {
        return Err(invalid("format.list_separator", "must not be empty"));
    }

    let ns = &raw.namespaces;
    // Paths read before the record's kind is known cannot use `{kind}`.
    let early = |field: &str, text: &str| -> Result<Path, MappingError> {
        let path = Path::parse(text, path_syntax, ns).map_err(|reason| invalid(field, reason))?;
        if path.uses_kind() {
            return Err(invalid(
                field,
                "`{kind}` can only be used once the kind is known (person and body paths)",
            ));
        }
        Ok(path)
    };
    let late = |field: &str, text: &str| -> Result<Path, MappingError> {
        Path::parse(text, path_syntax, ns).map_err(|reason| invalid(field, reason))
    };

    let root = match &format.root {
        Some(text) => {
            let path = early("format.root", text)?;
            if !path.single_element() {
                return Err(invalid(
                    "format.root",
                    "must be one element name (`name` or `p:name`)",
                ));
            }
            Some(path)
        }
        None => None,
    };
    let envelope = match &raw.envelope {
        Some(envelope) => {
            let root = early("envelope.root", &envelope.root)?;
            if !root.single_element() {
                return Err(invalid(
                    "envelope.root",
                    "must be one element name (`p:name`)",
                ));
            }
            let path = early("envelope.path", &envelope.path)?;
            if path.is_attribute() || path.is_list() {
                return Err(invalid(
                    "envelope.path",
                    "must lead to the element whose text is the document",
                ));
            }
            Some(Envelope {
                root,
                path,
                style: envelope.style.clone(),
            })
        }
        None => None,
    };
    let batch = match &raw.batch {
        Some(batch) => Some(Batch {
            records: early("batch.records", &batch.records)?,
            count: batch
                .count
                .as_deref()
                .map(|p| early("batch.count", p))
                .transpose()?,
            seq: batch
                .seq
                .as_deref()
                .map(|p| early("batch.seq", p))
                .transpose()?,
            max_records: batch.max_records,
        }),
        None => None,
    };
    let constants = raw
        .header
        .constants
        .iter()
        .map(|(path, value)| Ok((early("header.constants", path)?, value.clone())))
        .collect::<Result<Vec<(Path, String)>, MappingError>>()?;

    let message_id = early("header.message_id", &raw.header.message_id)?;
    let division = early("header.division", &raw.header.division)?;
    let sent_at = early("header.sent_at", &raw.header.sent_at)?;
    let record = &raw.record;
    let kind = early("record.kind", &record.kind)?;
    let in_reply_to = record
        .in_reply_to
        .as_deref()
        .map(|p| early("record.in_reply_to", p))
        .transpose()?;
    let subject = record
        .subject
        .as_deref()
        .map(|p| late("record.subject", p))
        .transpose()?;
    let spouse = record
        .spouse
        .as_deref()
        .map(|p| late("record.spouse", p))
        .transpose()?;
    let body = record
        .body
        .as_deref()
        .map(|p| late("record.body", p))
        .transpose()?;

    let mut person = Vec::new();
    for (field, text) in &raw.person {
        let Some(name) = PERSON_FIELDS.iter().copied().find(|known| known == field) else {
            return Err(invalid(
                format!("person.{field}"),
                format!(
                    "not a canonical person field (one of {})",
                    PERSON_FIELDS.join(", ")
                ),
            ));
        };
        let field_type = person_field_type(name)
            .ok_or_else(|| invalid(format!("person.{field}"), "has no canonical type"))?;
        person.push(FieldRule {
            name,
            field_type,
            path: late(&format!("person.{field}"), text)?,
        });
    }
    // Canonical order, so a rendered person reads like the ICDs (id, name, sex, …).
    person.sort_by_key(|rule| PERSON_FIELDS.iter().position(|f| *f == rule.name));
    if subject.is_none() && spouse.is_none() && !person.is_empty() {
        return Err(invalid(
            "person",
            "[person] paths need record.subject or record.spouse",
        ));
    }

    let body_fields = compile_body(&raw.body, &late)?;
    let (kinds, codes) = compile_codes(&raw.codes, &raw.person, &raw.body)?;

    for (old, new) in &raw.division_aliases {
        if !is_division_code(old) {
            return Err(invalid(
                format!("division_aliases.\"{old}\""),
                "not a 6- or 9-digit division code",
            ));
        }
        if !is_division_code(new) || !yipanqi_schemas::division_exists(new) {
            return Err(invalid(
                format!("division_aliases.\"{old}\""),
                format!("\"{new}\" is not a division in the current table"),
            ));
        }
    }

    let message_id_pattern = IdPattern::parse(
        format
            .message_id_pattern
            .as_deref()
            .unwrap_or(IdPattern::DEFAULT),
    )
    .map_err(|reason| invalid("format.message_id_pattern", reason))?;

    Ok(Mapping {
        province: raw.province,
        syntax,
        encoding,
        date,
        datetime,
        list_separator: format.list_separator.clone(),
        strings_only: format.json_scalars == Some(JsonScalars::Strings),
        id_check: format.id_check,
        root,
        envelope,
        batch,
        message_id,
        division,
        sent_at,
        constants,
        kind,
        in_reply_to,
        subject,
        spouse,
        body,
        person,
        body_fields,
        kinds,
        codes,
        division_aliases: raw.division_aliases,
        message_id_pattern,
        message_id_format: format.message_id_pattern.clone(),
        namespaces: raw.namespaces,
    })
}

fn is_division_code(code: &str) -> bool {
    matches!(code.len(), 6 | 9) && code.bytes().all(|b| b.is_ascii_digit())
}

/// The encodings a province may use: UTF-8 and the GB family (encoding_rs decodes
/// GB2312 and GBK as GBK, a subset of GB18030).
pub(crate) fn supported_encoding(label: &str) -> Option<&'static encoding_rs::Encoding> {
    let encoding = encoding_rs::Encoding::for_label(label.trim().as_bytes())?;
    [encoding_rs::UTF_8, encoding_rs::GBK, encoding_rs::GB18030]
        .contains(&encoding)
        .then_some(encoding)
}

/// A date pattern must be valid chrono and must read back the date it writes.
fn check_date_pattern(pattern: &str) -> Result<(), String> {
    StrftimeItems::new(pattern)
        .parse()
        .map_err(|_| format!("\"{pattern}\" is not a valid chrono format (or \"epoch_ms\")"))?;
    let sample = NaiveDate::from_ymd_opt(2026, 11, 3).ok_or_else(|| "no sample date".to_owned())?;
    // `write!`, not `to_string()`: formatting a date with a time item is an error,
    // which `to_string()` would turn into a panic.
    let mut written = String::new();
    write!(written, "{}", sample.format(pattern))
        .map_err(|_| format!("\"{pattern}\" asks for more than a date"))?;
    match NaiveDate::parse_from_str(&written, pattern) {
        Ok(read) if read == sample => Ok(()),
        _ => Err(format!(
            "\"{pattern}\" does not describe a whole calendar date"
        )),
    }
}

/// A timestamp pattern must be valid chrono and must read back (at least to the
/// minute) the time it writes.
fn check_datetime_pattern(pattern: &str) -> Result<(), String> {
    StrftimeItems::new(pattern).parse().map_err(|_| {
        format!("\"{pattern}\" is not a valid chrono format (or \"rfc3339\", \"epoch_ms\")")
    })?;
    let sample = NaiveDate::from_ymd_opt(2026, 11, 3)
        .and_then(|day| day.and_hms_opt(9, 12, 0))
        .ok_or_else(|| "no sample time".to_owned())?;
    let with_offset = sample.and_utc().fixed_offset();
    let mut written = String::new();
    write!(written, "{}", with_offset.format(pattern))
        .map_err(|_| format!("\"{pattern}\" cannot be written for a timestamp"))?;
    match NaiveDateTime::parse_from_str(&written, pattern) {
        Ok(read) if read == sample => Ok(()),
        _ => Err(format!(
            "\"{pattern}\" does not describe a date and a time of day"
        )),
    }
}

/// `[body]` field paths and `[body.kinds.<kind>]` overrides, resolved per kind to the
/// fields that kind uses (DOMAIN.md: a body carries only its kind's fields).
fn compile_body(
    table: &toml::Table,
    late: &dyn Fn(&str, &str) -> Result<Path, MappingError>,
) -> Result<BTreeMap<Kind, Vec<FieldRule>>, MappingError> {
    let mut common: BTreeMap<&'static str, (FieldType, Path)> = BTreeMap::new();
    let mut per_kind: BTreeMap<Kind, BTreeMap<&'static str, (FieldType, Path)>> = BTreeMap::new();
    for (key, value) in table {
        if key == "kinds" {
            let Some(kinds) = value.as_table() else {
                return Err(invalid(
                    "body.kinds",
                    "must be a table of [body.kinds.<kind>] sections",
                ));
            };
            for (kind_name, fields) in kinds {
                let at = format!("body.kinds.{kind_name}");
                let kind: Kind = kind_name
                    .parse()
                    .ok()
                    .filter(|kind: &Kind| kind.is_inbound())
                    .ok_or_else(|| invalid(&at, "not a kind provinces send"))?;
                let Some(fields) = fields.as_table() else {
                    return Err(invalid(&at, "must be a table of field = \"path\""));
                };
                let entry = per_kind.entry(kind).or_default();
                for (field, path) in fields {
                    let at = format!("{at}.{field}");
                    let (name, field_type) = body_field(field, &at)?;
                    if !kind.body_fields().contains(&name) {
                        return Err(invalid(
                            &at,
                            format!("{} does not use {name}", kind.as_str()),
                        ));
                    }
                    let path = path
                        .as_str()
                        .ok_or_else(|| invalid(&at, "a path must be a string"))?;
                    entry.insert(name, (field_type, late(&at, path)?));
                }
            }
            continue;
        }
        let at = format!("body.{key}");
        let (name, field_type) = body_field(key, &at)?;
        let path = value
            .as_str()
            .ok_or_else(|| invalid(&at, "a path must be a string"))?;
        common.insert(name, (field_type, late(&at, path)?));
    }
    let mut compiled = BTreeMap::new();
    for kind in Kind::INBOUND {
        let own = per_kind.get(&kind);
        let rules = kind
            .body_fields()
            .iter()
            .filter_map(|field| {
                own.and_then(|own| own.get(field))
                    .or_else(|| common.get(field))
                    .map(|(field_type, path)| FieldRule {
                        name: field,
                        field_type: *field_type,
                        path: path.clone(),
                    })
            })
            .collect();
        compiled.insert(kind, rules);
    }
    Ok(compiled)
}

fn body_field(key: &str, at: &str) -> Result<(&'static str, FieldType), MappingError> {
    let field_type =
        body_field_type(key).ok_or_else(|| invalid(at, "not a canonical body field"))?;
    // Find the `'static` name among the kinds' field lists.
    let name = Kind::INBOUND
        .iter()
        .flat_map(|kind| kind.body_fields().iter().copied())
        .find(|known| *known == key)
        .ok_or_else(|| invalid(at, "not a canonical body field"))?;
    Ok((name, field_type))
}

type Kinds = BTreeMap<String, Kind>;
type Codes = BTreeMap<String, CodeTable>;

/// `[codes.<field>]`: each table is keyed by a canonical field whose type takes codes
/// (or booleans), and maps to values that field accepts; `[codes.kind]` is required.
fn compile_codes(
    raw: &BTreeMap<String, BTreeMap<String, RawCode>>,
    person: &BTreeMap<String, String>,
    body: &toml::Table,
) -> Result<(Kinds, Codes), MappingError> {
    let mut kinds = Kinds::new();
    let mut codes = Codes::new();
    for (field, table) in raw {
        let at = |code: &str| format!("codes.{field}.\"{code}\"");
        if field == "kind" {
            for (code, value) in table {
                let RawCode::Text(name) = value else {
                    return Err(invalid(at(code), "a kind code must map to a kind name"));
                };
                let kind: Kind = name
                    .parse()
                    .ok()
                    .filter(|kind: &Kind| kind.is_inbound())
                    .ok_or_else(|| {
                        invalid(at(code), format!("\"{name}\" is not a kind provinces send"))
                    })?;
                kinds.insert(code.clone(), kind);
            }
            continue;
        }
        let field_type = person_field_type(field)
            .or_else(|| body_field_type(field))
            .ok_or_else(|| invalid(format!("codes.{field}"), "not a canonical field"))?;
        let mapped = person.contains_key(field)
            || body.contains_key(field)
            || body
                .get("kinds")
                .and_then(|kinds| kinds.as_table())
                .is_some_and(|kinds| {
                    kinds
                        .values()
                        .any(|k| k.as_table().is_some_and(|k| k.contains_key(field)))
                });
        if !mapped {
            return Err(invalid(
                format!("codes.{field}"),
                "the field is not mapped in [person] or [body]",
            ));
        }
        let mut compiled = CodeTable::new();
        for (code, value) in table {
            let value = match (field_type, value) {
                (FieldType::Bool, RawCode::Bool(flag)) => CodeValue::Bool(*flag),
                (FieldType::Bool, RawCode::Text(_)) => {
                    return Err(invalid(
                        at(code),
                        "a boolean field's codes map to true or false",
                    ))
                }
                (FieldType::Code | FieldType::CodeList, RawCode::Text(text)) => {
                    let allowed = code_values(field).unwrap_or(&[]);
                    if !allowed.contains(&text.as_str()) {
                        return Err(invalid(
                            at(code),
                            format!(
                                "\"{text}\" is not a canonical {field} code ({})",
                                allowed.join(", ")
                            ),
                        ));
                    }
                    CodeValue::Text(text.clone())
                }
                (FieldType::Code | FieldType::CodeList, RawCode::Bool(_)) => {
                    return Err(invalid(at(code), "codes map to canonical code strings"))
                }
                _ => {
                    return Err(invalid(
                        format!("codes.{field}"),
                        "only code, code-list and boolean fields take a code table",
                    ))
                }
            };
            compiled.insert(code.clone(), value);
        }
        codes.insert(field.clone(), compiled);
    }
    if kinds.is_empty() {
        return Err(invalid(
            "codes.kind",
            "the kind table is required and must not be empty",
        ));
    }
    Ok((kinds, codes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn id_patterns_match_the_ids_they_build() {
        let anhui = IdPattern::parse("AH{division}{sent:%Y%m%d}{serial:06}").expect("valid");
        assert!(anhui.matches("AH34010420261103000001", "34"));
        assert!(anhui.matches("AH34010400120261103000001", "34"), "a 9-digit township");
        assert!(!anhui.matches("AH34010420261303000001", "34"), "month 13");
        assert!(!anhui.matches("AH3401042026110300001", "34"), "a short serial");
        assert!(!anhui.matches("李秀英31010119840914786X", "34"));
        assert!(!anhui.matches("AH34010420261103000001X", "34"));
        let zhejiang = IdPattern::parse("ZJ-{division}-{sent:%Y%m%d}-{serial:06}").expect("valid");
        assert!(zhejiang.matches("ZJ-330106-20261103-000002", "33"));
        let jiangxi = IdPattern::parse("JX{sent:%Y%m%d}{division}{serial}").expect("valid");
        assert!(jiangxi.matches("JX20261103360102123", "36"));
        assert!(!jiangxi.matches("JX20261103360102", "36"), "no serial");
        let henan = IdPattern::parse("HA{division}{sent:%Y%m%d%H%M%S}{serial:06}").expect("valid");
        assert!(henan.matches("HA41010220261103091200000007", "41"));
        assert!(!henan.matches("HA41010220261103251200000007", "41"), "hour 25");
    }

    use super::*;

    const MINIMAL: &str = r#"
[province]
name = "anhui"
code = "34"
label = "安徽"

[format]
syntax = "json"
date = "%Y/%m/%d"
datetime = "%Y-%m-%d %H:%M:%S"

[header]
message_id = "bwbh"
division = "fsdw"
sent_at = "fssj"

[record]
kind = "ywlx"
subject = "ryxx"
body = "ywsj"

[person]
sex = "xb"

[body]
checked_on = "jcrq"
marriage_date = "jhrq"

[body.kinds.checkup_result]
checked_on = "rq"

[codes.kind]
YHQ = "checkup_result"

[codes.sex]
"1" = "1"
"#;

    #[test]
    fn compiles_a_minimal_mapping() {
        let mapping = Mapping::from_toml(MINIMAL).expect("valid");
        assert_eq!(mapping.province().queue(), "yipanqi.in.anhui");
        let checkup = &mapping.body_fields[&Kind::CheckupResult];
        assert_eq!(checkup.len(), 1);
        assert_eq!(checkup[0].path.to_string(), "rq");
        assert_eq!(
            mapping.body_fields[&Kind::BirthVerifyRequest][0].name,
            "marriage_date"
        );
    }

    fn error(text: &str) -> String {
        match Mapping::from_toml(text) {
            Ok(_) => panic!("should fail"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn names_the_offending_field() {
        let cases = [
            (
                "[body]\nchecked_on = \"jcrq\"",
                "[body]\nchecked_on = \"jcrq\"\nfoo = \"x\"",
                "body.foo",
            ),
            ("\"1\" = \"1\"\n", "\"1\" = \"7\"\n", "codes.sex.\"1\""),
            (
                "YHQ = \"checkup_result\"",
                "YHQ = \"rejection\"",
                "codes.kind.\"YHQ\"",
            ),
            (
                "checked_on = \"rq\"",
                "marriage_date = \"rq\"",
                "body.kinds.checkup_result.marriage_date",
            ),
            ("code = \"34\"", "code = \"3\"", "province.code"),
            ("date = \"%Y/%m/%d\"", "date = \"%Y/%m\"", "format.date"),
            ("sex = \"xb\"", "sexx = \"xb\"", "person.sexx"),
            ("kind = \"ywlx\"", "kind = \"ywlx/{kind}\"", "record.kind"),
            (
                "syntax = \"json\"",
                "syntax = \"json\"\nroot = \"x\"",
                "format.root",
            ),
        ];
        for (from, to, field) in cases {
            let text = MINIMAL.replacen(from, to, 1);
            assert_ne!(text, MINIMAL, "{from}");
            let message = error(&text);
            assert!(message.contains(field), "{message} should name {field}");
        }
        let unknown_key = error(&MINIMAL.replacen("[header]", "[header]\nfoo = \"x\"", 1));
        assert!(unknown_key.contains("foo"), "{unknown_key}");
    }
}
