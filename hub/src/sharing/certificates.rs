//! 《婚育证明》 lists: stored issuance, reissue and verification records grouped by
//! certificate number, with the holder in full or masked. Pure, like `profile.rs`.

use crate::store::StoredMessage;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use yipanqi_schemas::{mask_id_number, mask_name};

/// Groups certificate records (oldest first) by number.
pub fn list(records: &[StoredMessage], masked: bool) -> Vec<Value> {
    let mut by_number: BTreeMap<String, Value> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for m in records {
        let Ok(c) = serde_json::from_str::<Value>(&m.canonical) else {
            continue;
        };
        let body = c.get("body").cloned().unwrap_or(Value::Null);
        let Some(cert_no) = body.get("cert_no").and_then(Value::as_str) else {
            continue;
        };
        let holder = |field: &str| c.pointer(&format!("/subject/{field}")).and_then(Value::as_str);
        let id = holder("id_number").unwrap_or_default();
        let name = holder("name").unwrap_or_default();
        let entry = by_number.entry(cert_no.to_string()).or_insert_with(|| {
            order.push(cert_no.to_string());
            json!({
                "cert_no": cert_no,
                "holder": {
                    "id_number": if masked { mask_id_number(id) } else { id.to_string() },
                    "name": if masked { mask_name(name) } else { name.to_string() },
                    "registration_division": holder("registration_division"),
                    "residence_division": holder("residence_division"),
                },
                "issued": [],
                "verifications": [],
            })
        });
        let source = json!({
            "message_id": m.message_id,
            "kind": m.kind,
            "province": m.province,
            "division": m.source_division,
            "received_at": m.received_at,
        });
        let (list, record) = if m.kind == "marriage_cert_verified" {
            (
                "verifications",
                json!({
                    "division": m.source_division,
                    "verified_on": body.get("verified_on"),
                    "source": source,
                }),
            )
        } else {
            (
                "issued",
                json!({
                    "division": m.source_division,
                    "issued_on": body.get("issued_on"),
                    "valid_until": body.get("valid_until"),
                    "reissued": m.kind == "marriage_cert_reissued",
                    "source": source,
                }),
            )
        };
        if let Some(Value::Array(items)) = entry.get_mut(list) {
            items.push(record);
        }
    }
    order
        .into_iter()
        .filter_map(|n| by_number.remove(&n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, kind: &str, body: Value) -> StoredMessage {
        StoredMessage {
            message_id: id.into(),
            kind: kind.into(),
            province: "34".into(),
            source_division: "341302".into(),
            received_at: "2026-04-01T10:00:00+08:00".into(),
            canonical: json!({
                "kind": kind,
                "subject": {"id_number": "34130219920517002X", "name": "王秀英"},
                "body": body,
            })
            .to_string(),
        }
    }

    #[test]
    fn records_are_grouped_by_number_and_masked_on_request() {
        let records = vec![
            record("a", "marriage_cert_issued", json!({"cert_no": "HY-1", "issued_on": "2026-04-01"})),
            record("b", "marriage_cert_verified", json!({"cert_no": "HY-1", "verified_on": "2026-05-01"})),
            record("c", "marriage_cert_issued", json!({"cert_no": "HY-2", "issued_on": "2026-04-02"})),
        ];
        let full = list(&records, false);
        assert_eq!(full.len(), 2);
        assert_eq!(full[0]["cert_no"], "HY-1");
        assert_eq!(full[0]["holder"]["id_number"], "34130219920517002X");
        assert_eq!(full[0]["issued"][0]["issued_on"], "2026-04-01");
        assert_eq!(full[0]["verifications"][0]["verified_on"], "2026-05-01");
        let masked = list(&records, true);
        assert_eq!(masked[0]["holder"]["id_number"], "3413**********002X");
        assert_eq!(masked[0]["holder"]["name"], "王**");
    }
}
