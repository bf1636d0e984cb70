//! The mapping engine: a province's legacy XML or JSON document in, candidate
//! canonical `yipanqi/1` messages out, validated by [`yipanqi_schemas::validate`].
//!
//! Rust here is only the mechanism — encodings, XML and JSON trees, namespaces,
//! envelopes, batches, paths, date formats, code tables. Every province's field names,
//! codes and quirks live in its declarative mapping file
//! (`mappings/<province>/mapping.toml`, specified in `mappings/README.md`), so a
//! province joins the region by adding a folder, not by changing this crate.
//!
//! Adapters are pure: no I/O during translation and no clock (the receipt time comes
//! in the [`TranslateContext`]), so every mapping is tested from fixtures alone. The
//! input is hostile: [`Adapter::translate`] never panics and never expands a DTD.

mod convert;
mod decode;
mod json;
mod mapping;
mod path;
mod province;
mod registry;
mod render;
mod translate;
mod xml;

use chrono::{DateTime, FixedOffset};
use yipanqi_schemas::{Rejection, Validated};

pub use mapping::{Mapping, MappingError};
pub use province::ProvinceInfo;
pub use registry::Registry;
pub use render::{RenderError, RenderOptions};

/// What a translation needs to know besides the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TranslateContext {
    /// When the hub received the message: the canonical `received_at`.
    pub received_at: DateTime<FixedOffset>,
    /// Bodies larger than this are `too_large` (DOMAIN.md §4: 1 MiB by default).
    pub max_bytes: usize,
}

impl TranslateContext {
    /// The default size limit, 1 MiB.
    pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;

    /// A context with the default size limit.
    pub fn new(received_at: DateTime<FixedOffset>) -> Self {
        Self {
            received_at,
            max_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }
}

/// The outcome of translating one legacy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// The legacy message id (`source.message_id`) if the document could be read that
    /// far, also when it is rejected: the rejection names it.
    pub source_message_id: Option<String>,
    /// The sender division as the document states it (a code of 6 or 9 digits), if it
    /// could be read: a rejection goes back to it. Not validated.
    pub source_division: Option<String>,
    /// `Err`: the whole document is rejected (too large, not decodable, not parseable,
    /// an inconsistent batch). `Ok`: one outcome per record, in document order.
    pub result: Result<Vec<RecordOutcome>, Rejection>,
}

/// The outcome of one record of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOutcome {
    /// The record's index (`source.record`): 0 for single-record formats, `seq` − 1 in
    /// a batch.
    pub record: u32,
    /// The record's kind, when its business type could be read (also when the record is
    /// rejected later: metrics and traces name it).
    pub kind: Option<yipanqi_schemas::Kind>,
    /// The validated canonical message, or why this record alone is rejected (for a
    /// batch the rejection carries `record: Some(index)`; for a single-record format
    /// `None`).
    pub result: Result<Validated, Rejection>,
}

/// Something that turns a province's legacy documents into canonical messages.
pub trait Adapter: Send + Sync {
    /// The province whose documents this adapter reads.
    fn province(&self) -> &ProvinceInfo;

    /// Translates one document (one AMQP message body). Never panics, whatever the
    /// bytes.
    fn translate(&self, bytes: &[u8], ctx: &TranslateContext) -> Translation;
}

impl Adapter for Mapping {
    fn province(&self) -> &ProvinceInfo {
        Mapping::province(self)
    }

    fn translate(&self, bytes: &[u8], ctx: &TranslateContext) -> Translation {
        self.run(bytes, ctx)
    }
}
