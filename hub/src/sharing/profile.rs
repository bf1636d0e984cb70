//! A person's family-planning basics, assembled from the canonical messages the hub has
//! stored about her (as subject or as spouse), oldest first so that the latest fact wins:
//! registration and residence divisions, marital status, spouse, 《婚育证明》, first-child
//! registration, second-birth consultations and opinions, honor certificates, the last
//! checkups, migration history and the answers still owed about her. Every fact names
//! the message it came from (kind, sender province, division, date).
//!
//! Pure: the store's rows and the hub's clock go in, JSON comes out. Whether the caller
//! may see it is `access::rules::profile`'s decision, on the [`Relations`] this returns.

use crate::access::rules::{Claim, Place, Relations};
use crate::store::{Expectation, StoredMessage};
use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use yipanqi_adapters::Registry;
use yipanqi_schemas::division_name;

/// How many checkups a profile lists (the latest).
pub const CHECKUPS_SHOWN: usize = 10;

/// A profile and the relations that decide who may see it.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The profile as JSON (`schemas/json/answer.schema.json`, `$defs/profile`).
    pub json: Value,
    /// Every stored statement of her places and her spouse's, and who made it.
    pub relations: Relations,
    /// How many stored messages it was assembled from (0: the hub knows nothing of her).
    pub sources: usize,
}

/// Where a fact came from.
fn source(m: &StoredMessage, registry: &Registry) -> Value {
    json!({
        "message_id": m.message_id,
        "kind": m.kind,
        "province": m.province,
        "province_name": registry.by_code(&m.province).map(|p| p.province().name.clone()),
        "division": m.source_division,
        "received_at": m.received_at,
    })
}

/// A division with its name from the GB/T 2260 table.
fn place(division: &str, m: &StoredMessage, registry: &Registry) -> Value {
    json!({
        "division": division,
        "division_name": division_name(division),
        "source": source(m, registry),
    })
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Copies the named body fields that are present.
fn body_fields(body: &Value, fields: &[&str]) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|f| body.get(*f).map(|v| (f.to_string(), v.clone())))
        .collect()
}

/// Assembles the profile of `id_number` (18 digits) from her messages, oldest first, and
/// the expectations about her; states are read as of `now` (an open expectation past
/// its deadline is overdue).
pub fn assemble(
    id_number: &str,
    messages: &[StoredMessage],
    expectations: &[Expectation],
    registry: &Registry,
    now: DateTime<FixedOffset>,
) -> Profile {
    let mut person = Map::new();
    let mut registration = Value::Null;
    let mut residence = Value::Null;
    let mut marital_status = Value::Null;
    let mut spouse = Value::Null;
    let mut relations = Relations::default();
    let mut certificate = Value::Null;
    let mut last_verified = Value::Null;
    let mut first_child: Option<Map<String, Value>> = None;
    let mut second_birth: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut second_birth_order: Vec<String> = Vec::new();
    let mut honor: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut honor_order: Vec<String> = Vec::new();
    let mut checkups: Vec<Value> = Vec::new();
    let mut migrations: Vec<Value> = Vec::new();

    for m in messages {
        let Ok(c) = serde_json::from_str::<Value>(&m.canonical) else {
            continue;
        };
        let body = c.get("body").cloned().unwrap_or(Value::Null);
        let (me, other) = if text(&c, "/subject/id_number") == Some(id_number) {
            (c.get("subject"), c.get("spouse"))
        } else {
            (c.get("spouse"), c.get("subject"))
        };
        let Some(me) = me.filter(|p| p.is_object()) else {
            continue;
        };
        let received_ms = DateTime::parse_from_rfc3339(&m.received_at)
            .map(|t| t.timestamp_millis())
            .unwrap_or(0);
        // An answer (it names the message it answers) repeats the person of that message:
        // the answering province vouches for nothing by it, so it entitles nobody.
        let is_answer = text(&c, "/in_reply_to").is_some();
        let mut claim = |place: Place, division: &str| {
            if !is_answer {
                relations.claims.push(Claim {
                    place,
                    division: division.to_string(),
                    stated_by: m.province.clone(),
                    received_ms,
                })
            }
        };
        for field in ["name", "sex", "birth_date"] {
            if let Some(v) = me.get(field) {
                person.insert(field.to_string(), v.clone());
            }
        }
        if let Some(d) = text(me, "/registration_division") {
            registration = place(d, m, registry);
            claim(Place::Registration, d);
        }
        if let Some(d) = text(me, "/residence_division") {
            residence = place(d, m, registry);
            claim(Place::Residence, d);
        }
        if let Some(code) = text(me, "/marital_status") {
            marital_status = json!({ "code": code, "source": source(m, registry) });
        }
        if let Some(o) = other.filter(|p| p.is_object()) {
            spouse = json!({
                "id_number": o.get("id_number"),
                "name": o.get("name"),
                "registration_division": o.get("registration_division"),
                "residence_division": o.get("residence_division"),
                "source": source(m, registry),
            });
            if let Some(d) = text(o, "/registration_division") {
                claim(Place::SpouseRegistration, d);
            }
            if let Some(d) = text(o, "/residence_division") {
                claim(Place::SpouseResidence, d);
            }
        }
        let in_reply_to = text(&c, "/in_reply_to").map(String::from);
        match m.kind.as_str() {
            "marriage_cert_issued" | "marriage_cert_reissued" => {
                let mut cert = body_fields(&body, &["cert_no", "issued_on", "valid_until"]);
                cert.insert("issued_by".into(), json!(m.source_division));
                cert.insert("reissued".into(), json!(m.kind == "marriage_cert_reissued"));
                cert.insert("source".into(), source(m, registry));
                certificate = Value::Object(cert);
            }
            "marriage_cert_verified" => {
                last_verified = json!({
                    "cert_no": body.get("cert_no"),
                    "division": m.source_division,
                    "verified_on": body.get("verified_on"),
                    "source": source(m, registry),
                });
            }
            "birth_verify_request" => {
                let mut f = Map::new();
                f.insert("status".into(), json!("requested"));
                f.insert("request".into(), source(m, registry));
                first_child = Some(f);
            }
            "birth_verify_reply" => {
                let f = first_child.get_or_insert_with(Map::new);
                let verified = body.get("verified").and_then(Value::as_bool).unwrap_or(false);
                f.insert(
                    "status".into(),
                    json!(if verified { "verified" } else { "not_verified" }),
                );
                f.insert(
                    "verification".into(),
                    json!({ "verified": verified, "source": source(m, registry) }),
                );
            }
            "birth_registration_result" => {
                let f = first_child.get_or_insert_with(Map::new);
                f.insert("status".into(), json!("registered"));
                let mut r = body_fields(&body, &["service_cert_no", "registered_on"]);
                r.insert("source".into(), source(m, registry));
                f.insert("registration".into(), Value::Object(r));
            }
            "second_birth_consult" => {
                let mut e = Map::new();
                let mut consult = body_fields(&body, &["children_count"]);
                consult.insert("source".into(), source(m, registry));
                e.insert("consult".into(), Value::Object(consult));
                e.insert("opinion".into(), Value::Null);
                second_birth_order.push(m.message_id.clone());
                second_birth.insert(m.message_id.clone(), e);
            }
            "second_birth_opinion" => {
                let opinion = json!({
                    "approved": body.get("approved"),
                    "remarks": body.get("remarks"),
                    "source": source(m, registry),
                });
                match in_reply_to.as_ref().and_then(|id| second_birth.get_mut(id)) {
                    Some(e) => {
                        e.insert("opinion".into(), opinion);
                    }
                    None => {
                        let mut e = Map::new();
                        e.insert("consult".into(), Value::Null);
                        e.insert("opinion".into(), opinion);
                        second_birth_order.push(m.message_id.clone());
                        second_birth.insert(m.message_id.clone(), e);
                    }
                }
            }
            "honor_cert_request" => {
                let mut e = body_fields(&body, &["child_birth_date"]);
                e.insert("source".into(), source(m, registry));
                e.insert("receipts".into(), json!([]));
                honor_order.push(m.message_id.clone());
                honor.insert(m.message_id.clone(), e);
            }
            "receipt" => {
                if let Some(e) = in_reply_to.as_ref().and_then(|id| honor.get_mut(id)) {
                    if let Some(Value::Array(list)) = e.get_mut("receipts") {
                        list.push(json!({
                            "status": body.get("status"),
                            "source": source(m, registry),
                        }));
                    }
                }
            }
            "checkup_result" => {
                let mut e = body_fields(
                    &body,
                    &["checked_on", "items", "pregnancy", "iud", "contraception", "institution"],
                );
                e.insert("source".into(), source(m, registry));
                checkups.push(Value::Object(e));
            }
            "migration_notice" => {
                let mut e = body_fields(&body, &["change", "effective_on", "new_division"]);
                e.insert("source".into(), source(m, registry));
                migrations.push(Value::Object(e));
                // A move names the new residence.
                if text(&body, "/change") == Some("move") {
                    if let Some(d) = text(&body, "/new_division") {
                        residence = place(d, m, registry);
                        claim(Place::Residence, d);
                    }
                }
            }
            _ => {}
        }
    }

    if let Value::Object(cert) = &mut certificate {
        cert.insert("last_verified".into(), last_verified);
    } else if !last_verified.is_null() {
        // Verified here, issued before the hub existed.
        certificate = json!({
            "cert_no": last_verified.get("cert_no"),
            "last_verified": last_verified,
        });
    }
    // The latest checkups first.
    checkups.sort_by(|a, b| {
        text(b, "/checked_on")
            .cmp(&text(a, "/checked_on"))
            .then_with(|| text(b, "/source/received_at").cmp(&text(a, "/source/received_at")))
    });
    checkups.truncate(CHECKUPS_SHOWN);
    let now_ms = now.timestamp_millis();
    let owed: Vec<Value> = expectations
        .iter()
        .filter_map(|e| {
            let state = match e.state.as_str() {
                "open" if e.due_ms < now_ms => "overdue",
                "open" => "open",
                "overdue" => "overdue",
                _ => return None,
            };
            Some(json!({
                "message_id": e.message_id,
                "kind": e.kind,
                "sender_division": e.sender_division,
                "owner_division": e.owner_division,
                "due_at": e.due_at,
                "state": state,
            }))
        })
        .collect();

    let take = |order: &[String], map: &mut BTreeMap<String, Map<String, Value>>| -> Vec<Value> {
        order
            .iter()
            .filter_map(|id| map.remove(id).map(Value::Object))
            .collect()
    };
    let json = json!({
        "schema": yipanqi_schemas::SCHEMA_ID,
        "id_number": id_number,
        "name": person.get("name"),
        "sex": person.get("sex"),
        "birth_date": person.get("birth_date"),
        "as_of": now.to_rfc3339_opts(SecondsFormat::Secs, false),
        "registration": registration,
        "residence": residence,
        "marital_status": marital_status,
        "spouse": spouse,
        "marriage_certificate": certificate,
        "first_child": first_child.map(Value::Object),
        "second_birth": take(&second_birth_order, &mut second_birth),
        "honor_certificates": take(&honor_order, &mut honor),
        "checkups": checkups,
        "migrations": migrations,
        "expectations": owed,
        "sources": messages.len(),
    });
    Profile {
        json,
        relations,
        sources: messages.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HER: &str = "34130219920517002X";
    const HIM: &str = "320102199001011234";

    fn msg(id: &str, kind: &str, province: &str, division: &str, at: &str, c: Value) -> StoredMessage {
        StoredMessage {
            message_id: id.into(),
            kind: kind.into(),
            province: province.into(),
            source_division: division.into(),
            received_at: at.into(),
            canonical: c.to_string(),
        }
    }

    fn her(residence: &str) -> Value {
        json!({"id_number": HER, "name": "王秀英", "sex": "2", "birth_date": "1992-05-17",
               "registration_division": "341302", "residence_division": residence, "marital_status": "20"})
    }

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-12-01T10:00:00+08:00").expect("time")
    }

    #[test]
    fn the_latest_fact_wins_and_each_names_its_source() {
        let registry = Registry::builtin();
        let messages = vec![
            msg("m1", "checkup_result", "31", "310104", "2026-03-02T10:00:00+08:00", json!({
                "kind": "checkup_result", "subject": her("310104011"), "spouse": null,
                "body": {"checked_on": "2026-03-01", "items": ["iud"], "iud": "in_place"}})),
            msg("m2", "marriage_cert_issued", "34", "341302", "2026-04-01T10:00:00+08:00", json!({
                "kind": "marriage_cert_issued", "subject": her("310104011"), "spouse": null,
                "body": {"cert_no": "HY-1", "issued_on": "2026-04-01", "valid_until": "2029-04-01"}})),
            msg("m3", "marriage_cert_verified", "31", "310104", "2026-05-01T10:00:00+08:00", json!({
                "kind": "marriage_cert_verified", "subject": her("310104011"), "spouse": null,
                "body": {"cert_no": "HY-1", "verified_on": "2026-04-30"}})),
            msg("m4", "honor_cert_request", "32", "320102", "2026-06-01T10:00:00+08:00", json!({
                "kind": "honor_cert_request",
                "subject": {"id_number": HIM, "name": "李伟", "sex": "1", "registration_division": "320102"},
                "spouse": her("310104011"), "body": {"child_birth_date": "2020-01-01"}})),
            msg("m5", "migration_notice", "31", "310104", "2026-09-01T10:00:00+08:00", json!({
                "kind": "migration_notice", "subject": her("310104011"), "spouse": null,
                "body": {"change": "move", "effective_on": "2026-08-30", "new_division": "330106"}})),
            msg("m6", "checkup_result", "33", "330106", "2026-10-02T10:00:00+08:00", json!({
                "kind": "checkup_result", "subject": her("330106"), "spouse": null,
                "body": {"checked_on": "2026-10-01", "items": ["pregnancy"], "pregnancy": "not_pregnant"}})),
        ];
        let p = assemble(HER, &messages, &[], &registry, now());
        assert_eq!(p.sources, 6);
        let j = &p.json;
        assert_eq!(j["name"], "王秀英");
        assert_eq!(j["registration"]["division"], "341302");
        assert_eq!(j["residence"]["division"], "330106");
        assert_eq!(j["residence"]["source"]["message_id"], "m6");
        assert_eq!(j["residence"]["source"]["province_name"], "zhejiang");
        assert_eq!(j["marriage_certificate"]["cert_no"], "HY-1");
        assert_eq!(j["marriage_certificate"]["valid_until"], "2029-04-01");
        assert_eq!(j["marriage_certificate"]["last_verified"]["division"], "310104");
        assert_eq!(j["marriage_certificate"]["last_verified"]["verified_on"], "2026-04-30");
        assert_eq!(j["spouse"]["id_number"], HIM);
        assert_eq!(j["honor_certificates"][0]["child_birth_date"], "2020-01-01");
        assert_eq!(j["checkups"][0]["checked_on"], "2026-10-01", "latest first");
        assert_eq!(j["checkups"][1]["source"]["kind"], "checkup_result");
        assert_eq!(j["migrations"][0]["change"], "move");
        let stated = |place: Place, division: &str, by: &str| {
            p.relations
                .claims
                .iter()
                .any(|c| c.place == place && c.division == division && c.stated_by == by)
        };
        assert!(stated(Place::Registration, "341302", "31"));
        assert!(stated(Place::Residence, "330106", "31"), "the move, as Shanghai told it");
        assert!(stated(Place::Residence, "330106", "33"));
        assert!(stated(Place::SpouseRegistration, "320102", "32"));
    }

    #[test]
    fn first_child_and_second_birth_follow_their_answers() {
        let registry = Registry::builtin();
        let messages = vec![
            msg("r1", "birth_verify_request", "31", "310104", "2026-02-02T10:00:00+08:00", json!({
                "kind": "birth_verify_request", "subject": her("310104"), "spouse": null, "body": {}})),
            msg("r2", "birth_verify_reply", "34", "341302", "2026-02-05T10:00:00+08:00", json!({
                "kind": "birth_verify_reply", "in_reply_to": "r1", "subject": her("310104"), "spouse": null,
                "body": {"verified": true}})),
            msg("c1", "second_birth_consult", "34", "341302", "2026-03-02T10:00:00+08:00", json!({
                "kind": "second_birth_consult", "subject": her("310104"),
                "spouse": {"id_number": HIM, "registration_division": "320102"},
                "body": {"children_count": 1}})),
            msg("o1", "second_birth_opinion", "32", "320102", "2026-03-09T10:00:00+08:00", json!({
                "kind": "second_birth_opinion", "in_reply_to": "c1", "subject": her("310104"),
                "spouse": null, "body": {"approved": true}})),
        ];
        let p = assemble(HER, &messages, &[], &registry, now());
        assert_eq!(p.json["first_child"]["status"], "verified");
        assert_eq!(p.json["first_child"]["request"]["message_id"], "r1");
        assert_eq!(p.json["second_birth"][0]["consult"]["children_count"], 1);
        assert_eq!(p.json["second_birth"][0]["opinion"]["approved"], true);
        assert_eq!(p.json["second_birth"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn an_answer_repeating_a_claim_is_no_statement() {
        let registry = Registry::builtin();
        // Anhui claims she lives in Anhui; Shanghai's receipt repeats the subject.
        let messages = vec![
            msg("c", "checkup_result", "34", "340104", "2026-11-02T10:00:00+08:00", json!({
                "kind": "checkup_result", "subject": her("340104001"), "spouse": null,
                "body": {"checked_on": "2026-11-01", "items": ["iud"], "iud": "in_place"}})),
            msg("r", "receipt", "31", "310104", "2026-11-03T10:00:00+08:00", json!({
                "kind": "receipt", "in_reply_to": "c", "subject": her("340104001"), "spouse": null,
                "body": {"status": "accepted"}})),
        ];
        let p = assemble(HER, &messages, &[], &registry, now());
        assert!(p.relations.claims.iter().all(|c| c.stated_by == "34"), "{:?}", p.relations.claims);
        assert_eq!(p.json["residence"]["division"], "340104001", "the profile still shows the latest word");
    }

    #[test]
    fn nothing_known_is_an_empty_profile() {
        let p = assemble(HER, &[], &[], &Registry::builtin(), now());
        assert_eq!(p.sources, 0);
        assert_eq!(p.relations, Relations::default());
        assert!(p.json["registration"].is_null());
    }
}
