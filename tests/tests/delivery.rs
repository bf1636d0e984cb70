//! End to end, on the real broker and both databases: the provinces' golden fixtures go
//! in through their inbound queues and come out, canonical, on the owners' queues with
//! the right routing keys, roles and targets — once; every failing fixture comes out on
//! `yipanqi.dead` with its reason and as a `rejection` on the sender's queue.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use yipanqi_tests::{
    failing_fixtures, valid_fixtures, Db, InProcessHub, Received, TestEnv, PROVINCES,
};

const REGION: [(&str, &str); 7] = [
    ("31", "shanghai"),
    ("32", "jiangsu"),
    ("33", "zhejiang"),
    ("34", "anhui"),
    ("36", "jiangxi"),
    ("41", "henan"),
    ("42", "hubei"),
];

fn queue_of_key(key: &str) -> String {
    if key.starts_with("padis.") {
        return "yipanqi.out.padis".into();
    }
    let code = &key[..2];
    let name = REGION
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| *n)
        .unwrap_or("?");
    format!("yipanqi.out.{name}")
}

fn key(kind: &str, division: &str) -> String {
    let p = &division[..2];
    if REGION.iter().any(|(c, _)| *c == p) {
        format!("{p}.{division}.{kind}")
    } else {
        format!("padis.{p}.{division}.{kind}")
    }
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// (routing key, role) per delivery.
type Routes = Vec<(String, &'static str)>;

/// DOMAIN.md §3's routing table restated for the test.
fn expected_routes(m: &Value) -> Routes {
    let kind = s(m, "/kind");
    let sender_province = s(m, "/source/province");
    let subject_reg = s(m, "/subject/registration_division");
    let spouse_reg = s(m, "/spouse/registration_division");
    let mut routes: Vec<(String, &'static str)> = Vec::new();
    let mut add = |division: &str, role: &'static str| {
        if !division.is_empty()
            && !routes
                .iter()
                .any(|(r, _)| r.split('.').rev().nth(1) == Some(division))
        {
            routes.push((key(kind, division), role));
        }
    };
    match kind {
        "birth_verify_request"
        | "birth_registration_result"
        | "marriage_cert_verified"
        | "marriage_cert_missing"
        | "checkup_result" => add(subject_reg, "owner"),
        "second_birth_consult" => {
            if &subject_reg[..2] != sender_province {
                add(subject_reg, "owner")
            } else {
                add(spouse_reg, "owner")
            }
        }
        "honor_cert_request" => {
            add(subject_reg, "owner");
            add(spouse_reg, "owner");
        }
        "marriage_cert_issued" => add(s(m, "/subject/residence_division"), "owner"),
        "migration_notice" => {
            if &subject_reg[..2] == sender_province
                && !s(m, "/subject/residence_division").is_empty()
            {
                add(s(m, "/subject/residence_division"), "owner")
            } else {
                add(subject_reg, "owner")
            }
        }
        "fee_collection" => {
            let (wife, husband) = if s(m, "/subject/sex") == "2" {
                (subject_reg, spouse_reg)
            } else {
                (spouse_reg, subject_reg)
            };
            if wife == husband {
                add(wife, "lead");
            } else if s(m, "/body/marital_home") == "husband" {
                add(husband, "lead");
                add(wife, "assist");
            } else {
                add(wife, "lead");
                add(husband, "assist");
            }
        }
        "case_referral" => {
            add(s(m, "/body/occurred_division"), "lead");
            for r in m
                .pointer("/body/related_divisions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                add(r.as_str().unwrap_or(""), "assist");
            }
        }
        _ => {}
    }
    routes
}

fn without_received_at(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("received_at");
    }
    v
}

async fn drain_all(broker: &yipanqi_tests::Broker) -> anyhow::Result<Vec<(String, Received)>> {
    let mut all = Vec::new();
    let mut queues: Vec<String> = PROVINCES
        .iter()
        .map(|p| format!("yipanqi.out.{p}"))
        .collect();
    queues.push("yipanqi.out.padis".into());
    queues.push("yipanqi.out.coordination".into());
    queues.push("yipanqi.dead".into());
    for q in queues {
        for r in broker
            .drain(&q, Duration::from_millis(300), Duration::from_secs(30))
            .await?
        {
            all.push((q.clone(), r));
        }
    }
    Ok(all)
}

/// Waits until the hub has taken everything off the inbound queues and settled.
async fn settle(broker: &yipanqi_tests::Broker) -> anyhow::Result<()> {
    for _ in 0..600 {
        let mut depth = 0;
        for p in PROVINCES {
            depth += broker.depth(&format!("yipanqi.in.{p}")).await?;
        }
        if depth == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    Ok(())
}

async fn fixtures_are_delivered_to_their_owners(db: Db) -> anyhow::Result<()> {
    let env = TestEnv::new("delivery", db).await?;
    let hub = InProcessHub::start(env.config()).await?;
    let broker = env.connect().await?;

    let mut expected: BTreeMap<String, (Value, Routes)> = BTreeMap::new();
    let mut expected_unknown_refs = 0usize;
    for p in PROVINCES {
        let fixtures = valid_fixtures(p);
        assert!(!fixtures.is_empty(), "{p} has no fixtures");
        for (_, bytes, messages) in fixtures {
            broker.publish(p, &bytes).await?;
            for m in messages.as_array().into_iter().flatten() {
                if !m["in_reply_to"].is_null() {
                    // The fixtures answer a message this hub never saw.
                    expected_unknown_refs += 1;
                    continue;
                }
                expected.insert(
                    s(m, "/message_id").to_string(),
                    (m.clone(), expected_routes(m)),
                );
            }
        }
    }
    settle(&broker).await?;
    let out = drain_all(&broker).await?;

    let mut seen: BTreeMap<String, Vec<&Received>> = BTreeMap::new();
    let mut unknown_refs = 0;
    for (queue, r) in &out {
        let body = r.json();
        if queue == "yipanqi.dead" {
            assert_eq!(
                r.headers.get("x-yipanqi-reason").map(String::as_str),
                Some("unknown_reference"),
                "unexpected dead letter {:?}",
                r.headers
            );
            continue;
        }
        if body["kind"] == "rejection" {
            assert_eq!(
                body["body"]["reason"], "unknown_reference",
                "unexpected rejection {body}"
            );
            unknown_refs += 1;
            continue;
        }
        assert_eq!(
            &queue_of_key(&r.routing_key),
            queue,
            "key {} on {queue}",
            r.routing_key
        );
        seen.entry(s(&body, "/message_id").to_string())
            .or_default()
            .push(r);
    }
    assert_eq!(
        unknown_refs, expected_unknown_refs,
        "one rejection per answer to an unknown message"
    );

    for (id, (message, routes)) in &expected {
        let copies = seen.get(id).cloned().unwrap_or_default();
        let mut got: Vec<(String, String)> = copies
            .iter()
            .map(|r| {
                (
                    r.routing_key.clone(),
                    r.headers.get("x-yipanqi-role").cloned().unwrap_or_default(),
                )
            })
            .collect();
        let mut want: Vec<(String, String)> = routes
            .iter()
            .map(|(k, r)| (k.clone(), r.to_string()))
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "routes of {} {id}", s(message, "/kind"));
        for r in copies {
            assert_eq!(r.message_id.as_deref(), Some(id.as_str()));
            let target = r.routing_key.split('.').rev().nth(1).unwrap_or_default();
            assert_eq!(
                r.headers.get("x-yipanqi-target").map(String::as_str),
                Some(target)
            );
            assert_eq!(
                without_received_at(r.json()),
                without_received_at(message.clone()),
                "payload of {id}"
            );
        }
    }
    let delivered_ids: BTreeSet<&String> = seen.keys().collect();
    let expected_delivered: BTreeSet<&String> = expected
        .iter()
        .filter(|(_, (_, r))| !r.is_empty())
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        delivered_ids, expected_delivered,
        "exactly the expected messages were delivered"
    );

    // The same legacy documents again: acknowledged, not delivered again.
    for p in PROVINCES {
        for (_, bytes, _) in valid_fixtures(p) {
            broker.publish(p, &bytes).await?;
        }
    }
    settle(&broker).await?;
    let again = drain_all(&broker).await?;
    assert!(
        again.is_empty(),
        "re-sent documents produced {} new messages",
        again.len()
    );

    hub.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_are_delivered_to_their_owners_sqlite() -> anyhow::Result<()> {
    fixtures_are_delivered_to_their_owners(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_are_delivered_to_their_owners_postgres() -> anyhow::Result<()> {
    fixtures_are_delivered_to_their_owners(Db::Postgres).await
}

/// The (reason, record) pairs a failing fixture must produce in the hub: the engine's
/// rejections, plus `unknown_reference` for each good answer to a message the hub never saw.
fn expected_rejections(expected: &Value) -> Vec<(String, Option<u64>)> {
    match expected {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| match i.get("rejected") {
                Some(r) => Some((
                    s(r, "/reason").to_string(),
                    r.get("record").and_then(Value::as_u64),
                )),
                None if !i["in_reply_to"].is_null() => Some((
                    "unknown_reference".to_string(),
                    i.pointer("/source/record").and_then(Value::as_u64),
                )),
                None => None,
            })
            .collect(),
        other => vec![(
            s(other, "/reason").to_string(),
            other.get("record").and_then(Value::as_u64),
        )],
    }
}

async fn failing_fixtures_are_dead_lettered_and_answered(db: Db) -> anyhow::Result<()> {
    let env = TestEnv::new("rejections", db).await?;
    let hub = InProcessHub::start(env.config()).await?;
    let broker = env.connect().await?;
    let mut fixtures = Vec::new();
    for p in PROVINCES {
        for (name, bytes, expected) in failing_fixtures(p) {
            broker.publish(p, &bytes).await?;
            fixtures.push((p, name, bytes, expected));
        }
    }
    settle(&broker).await?;
    let out = drain_all(&broker).await?;
    let dead: Vec<&Received> = out
        .iter()
        .filter(|(q, _)| q == "yipanqi.dead")
        .map(|(_, r)| r)
        .collect();

    let mut reasons_seen = BTreeSet::new();
    let mut dead_reasons_by_province: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (p, name, bytes, expected) in &fixtures {
        let wanted = expected_rejections(expected);
        // The dead letter carries the original bytes: that is how it is matched to its fixture.
        let mine: Vec<&&Received> = dead.iter().filter(|d| &d.body == bytes).collect();
        let mut got: Vec<(String, Option<u64>)> = mine
            .iter()
            .map(|d| {
                assert_eq!(
                    d.headers.get("x-yipanqi-province").map(String::as_str),
                    Some(*p),
                    "{p}/{name}"
                );
                assert!(
                    !d.headers
                        .get("x-yipanqi-detail")
                        .map(String::is_empty)
                        .unwrap_or(true),
                    "{p}/{name}: detail"
                );
                (
                    d.headers
                        .get("x-yipanqi-reason")
                        .cloned()
                        .unwrap_or_default(),
                    d.headers
                        .get("x-yipanqi-record")
                        .and_then(|r| r.parse().ok()),
                )
            })
            .collect();
        // A header failure in a batch rejects every record: then the count is the records'.
        let mut want = wanted.clone();
        if !expected.is_array() {
            want = vec![wanted[0].clone(); got.len().max(1)];
        }
        got.sort();
        want.sort();
        let got_reasons: Vec<&String> = got.iter().map(|(r, _)| r).collect();
        let want_reasons: Vec<&String> = want.iter().map(|(r, _)| r).collect();
        assert_eq!(got_reasons, want_reasons, "{p}/{name}: dead-letter reasons");
        for ((_, g), (_, w)) in got.iter().zip(&want) {
            if w.is_some() {
                assert_eq!(g, w, "{p}/{name}: record index");
            }
        }
        for (reason, _) in got {
            reasons_seen.insert(reason.clone());
            dead_reasons_by_province.entry(*p).or_default().push(reason);
        }
    }
    assert_eq!(
        dead.len(),
        dead_reasons_by_province
            .values()
            .map(Vec::len)
            .sum::<usize>(),
        "no dead letter without a fixture"
    );

    // Each rejection also goes back to the sender, on its own queue, with the same reason.
    for p in PROVINCES {
        let code = REGION
            .iter()
            .find(|(_, n)| *n == p)
            .map(|(c, _)| *c)
            .unwrap_or("");
        let mut notices: Vec<String> = out
            .iter()
            .filter(|(q, r)| q == &format!("yipanqi.out.{p}") && r.json()["kind"] == "rejection")
            .map(|(_, r)| {
                assert!(
                    r.routing_key.starts_with(&format!("{code}."))
                        && r.routing_key.ends_with(".rejection"),
                    "{}",
                    r.routing_key
                );
                r.json()["body"]["reason"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        let mut wanted = dead_reasons_by_province.get(p).cloned().unwrap_or_default();
        notices.sort();
        wanted.sort();
        assert_eq!(notices, wanted, "{p}: one rejection notice per dead letter");
    }
    for reason in [
        "malformed",
        "unknown_kind",
        "schema_violation",
        "invalid_id_number",
        "unknown_division",
        "sender_mismatch",
    ] {
        assert!(
            reasons_seen.contains(reason),
            "no fixture produced {reason}"
        );
    }

    // Oversized input is too_large, whatever it is.
    let big = vec![b'{'; 1024 * 1024 + 1];
    broker.publish("anhui", &big).await?;
    let dead = broker
        .take("yipanqi.dead", 1, Duration::from_secs(30))
        .await?;
    assert_eq!(
        dead[0].headers.get("x-yipanqi-reason").map(String::as_str),
        Some("too_large")
    );
    let notice = broker
        .take("yipanqi.out.anhui", 1, Duration::from_secs(30))
        .await?;
    assert_eq!(notice[0].json()["kind"], "rejection");
    assert_eq!(notice[0].json()["body"]["reason"], "too_large");

    // The same legacy id and record with other content: conflicting_duplicate.
    let (_, original, _) = valid_fixtures("anhui")
        .into_iter()
        .find(|(_, _, exp)| {
            exp.as_array().is_some_and(|a| {
                a.iter()
                    .all(|m| m["in_reply_to"].is_null() && m["kind"] == "checkup_result")
            })
        })
        .expect("an anhui checkup fixture");
    broker.publish("anhui", &original).await?;
    settle(&broker).await?;
    let delivered = drain_all(&broker).await?;
    assert_eq!(
        delivered.len(),
        1,
        "the original was delivered once: {delivered:?}"
    );
    let text = String::from_utf8(original.clone()).expect("anhui is UTF-8");
    let changed = text.replacen(
        "\"fssj\": \"",
        "\"fssj\": \"2026-11-04 10:00:00\", \"x\": \"",
        1,
    );
    assert_ne!(changed, text, "the fixture has an fssj field");
    broker.publish("anhui", changed.as_bytes()).await?;
    let dead = broker
        .take("yipanqi.dead", 1, Duration::from_secs(30))
        .await?;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].headers.get("x-yipanqi-reason").map(String::as_str),
        Some("conflicting_duplicate")
    );
    let notice = broker
        .take("yipanqi.out.anhui", 1, Duration::from_secs(30))
        .await?;
    assert_eq!(notice[0].json()["body"]["reason"], "conflicting_duplicate");

    hub.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_fixtures_are_dead_lettered_and_answered_sqlite() -> anyhow::Result<()> {
    failing_fixtures_are_dead_lettered_and_answered(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_fixtures_are_dead_lettered_and_answered_postgres() -> anyhow::Result<()> {
    failing_fixtures_are_dead_lettered_and_answered(Db::Postgres).await
}
