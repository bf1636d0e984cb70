//! The canonical `yipanqi/1` contract: the one form every provincial dialect is
//! translated into, and the only form the hub routes, stores and delivers.
//!
//! This crate owns the JSON Schemas (`schemas/json/`, draft 2020-12, embedded in the
//! binary), the typed Rust form of a canonical message, the closed code sets, the
//! GB/T 2260 division table, citizen ID numbers, masking of personal data, message ids,
//! rejection reasons and [`validate`], which turns an adapter's candidate JSON into a
//! typed [`CanonicalMessage`] or a machine-readable [`Rejection`].
//!
//! It does no I/O and reads no clock: everything it needs is embedded at compile time,
//! so the binary runs from any folder and adapters stay testable from fixtures alone.

mod codes;
mod division;
mod fields;
mod id_number;
mod kind;
mod masking;
mod message;
mod message_id;
mod query;
mod rejection;
mod schema;
mod validate;

pub use codes::{
    code_values, Change, CheckItem, Contraception, Iud, MaritalHome, MaritalStatus, Offense,
    Pregnancy, ReceiptStatus, Sex, UnknownCode,
};
pub use division::{
    division_exists, division_name, divisions_in_province, province_name, DivisionCode,
    DivisionError,
};
pub use fields::{body_field_type, person_field_type, FieldType, PERSON_FIELDS};
pub use id_number::{IdNumber, IdNumberError};
pub use kind::{Kind, UnknownKind};
pub use masking::{mask_id_number, mask_name};
pub use message::{Body, CanonicalMessage, Person, Source};
pub use message_id::{canonical_message_id, hub_message_id};
pub use query::{answer_schema_json, query_schema_json, validate_answer, validate_query};
pub use rejection::{RejectReason, Rejection};
pub use schema::{envelope_schema_json, schema_json};
pub use validate::{validate, IdCheckPolicy, ValidateOptions, Validated};

/// The value of the `schema` field of every canonical message.
pub const SCHEMA_ID: &str = "yipanqi/1";
