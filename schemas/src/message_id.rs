//! Stable message ids (DOMAIN.md §3): UUIDv5 in the RFC 4122 URL namespace.
//!
//! Re-delivery of the same legacy record must give the same canonical `message_id`,
//! which is what duplicate detection relies on; a random id would defeat it.

use uuid::Uuid;

/// The `message_id` of the canonical form of record `record` of legacy message
/// `source_message_id` from `province`: UUIDv5 (URL namespace) of
/// `yipanqi:<province>:<source message id>:<record>`.
pub fn canonical_message_id(province: &str, source_message_id: &str, record: u32) -> Uuid {
    hub_message_id(&format!("yipanqi:{province}:{source_message_id}:{record}"))
}

/// UUIDv5 (URL namespace) of an arbitrary name, for hub-generated messages, e.g.
/// `yipanqi:hub:reminder:<message_id>:<owner division>:<step>`.
pub fn hub_message_id(name: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_example() {
        assert_eq!(
            canonical_message_id("31", "SH31010420261103000017", 0).to_string(),
            "fdecf3b3-57e9-5746-ba8f-54ace962a8ad"
        );
    }

    #[test]
    fn record_index_changes_the_id() {
        assert_ne!(
            canonical_message_id("33", "ZJ1", 0),
            canonical_message_id("33", "ZJ1", 1)
        );
        assert_eq!(
            canonical_message_id("33", "ZJ1", 1),
            hub_message_id("yipanqi:33:ZJ1:1")
        );
    }
}
