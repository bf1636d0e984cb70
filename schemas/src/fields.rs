//! The canonical type of each person and body field, so that the adapter engine knows
//! how to convert a legacy value (a `20261103` date, a `Y`/`N` flag, a local code) into
//! the canonical JSON value for that field.
//!
//! Only fields a province can send are listed: the bodies of the hub-generated kinds
//! are built by the hub, never converted from legacy values.

/// How a canonical field's value is written in `yipanqi/1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A `YYYY-MM-DD` calendar date in Beijing time.
    Date,
    /// A non-negative integer.
    Integer,
    /// `true` / `false`.
    Bool,
    /// Free text.
    Text,
    /// One code of a closed set (see [`crate::code_values`]).
    Code,
    /// A GB/T 2260 division code (6 or 9 digits).
    Division,
    /// An array of codes of a closed set.
    CodeList,
    /// An array of division codes.
    DivisionList,
}

/// The person fields (`subject` and `spouse`), in canonical order.
pub const PERSON_FIELDS: [&str; 7] = [
    "id_number",
    "name",
    "sex",
    "birth_date",
    "registration_division",
    "residence_division",
    "marital_status",
];

/// The canonical type of a body field that provinces send (DOMAIN.md "Body fields");
/// `None` for any other name, including the fields of hub-generated bodies.
pub fn body_field_type(field: &str) -> Option<FieldType> {
    use FieldType::*;
    Some(match field {
        "marriage_date" | "registered_on" | "child_birth_date" | "issued_on" | "valid_until"
        | "verified_on" | "arrived_on" | "effective_on" | "checked_on" => Date,
        "children_count" => Integer,
        "verified" | "approved" => Bool,
        "remarks" | "service_cert_no" | "cert_no" | "authorization_no" | "address"
        | "institution" | "case_no" => Text,
        "change" | "pregnancy" | "iud" | "contraception" | "marital_home" | "offense"
        | "status" => Code,
        "new_division" | "occurred_division" => Division,
        "items" => CodeList,
        "related_divisions" => DivisionList,
        _ => return None,
    })
}

/// The canonical type of a person field ([`PERSON_FIELDS`]); `None` for any other name.
pub fn person_field_type(field: &str) -> Option<FieldType> {
    use FieldType::*;
    Some(match field {
        "id_number" | "name" => Text,
        "sex" | "marital_status" => Code,
        "birth_date" => Date,
        "registration_division" | "residence_division" => Division,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{code_values, Kind};

    #[test]
    fn every_inbound_body_field_has_a_type() {
        for kind in Kind::INBOUND {
            for field in kind.body_fields() {
                assert!(body_field_type(field).is_some(), "{kind}: {field}");
            }
        }
        assert_eq!(body_field_type("checked_on"), Some(FieldType::Date));
        assert_eq!(body_field_type("items"), Some(FieldType::CodeList));
        assert_eq!(body_field_type("reason"), None);
    }

    #[test]
    fn code_fields_have_code_lists() {
        for kind in Kind::INBOUND {
            for field in kind.body_fields() {
                let enumerated = matches!(
                    body_field_type(field),
                    Some(FieldType::Code | FieldType::CodeList)
                );
                assert_eq!(enumerated, code_values(field).is_some(), "{field}");
            }
        }
        for field in PERSON_FIELDS {
            let enumerated = person_field_type(field) == Some(FieldType::Code);
            assert_eq!(enumerated, code_values(field).is_some(), "{field}");
        }
    }
}
