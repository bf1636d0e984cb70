//! Killing the hub with SIGKILL in the middle of a run and starting it again loses
//! nothing: every inbound message ends up delivered — at most once per `message_id` and
//! target, or redelivered with the same id and content — and nothing else appears.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use yipanqi_schemas::canonical_message_id;
use yipanqi_tests::ops::HubProcess;
use yipanqi_tests::{valid_fixtures, wait_ready, Db, TestEnv, PROVINCES};

const CODES: [&str; 7] = ["31", "32", "33", "34", "36", "41", "42"];

fn start(env: &TestEnv, http: std::net::SocketAddr, log: &str) -> anyhow::Result<HubProcess> {
    HubProcess::start_on(env, http, log, &[("YIPANQI_BATCH_SIZE", "50")])
}

/// Copies of the valid, unprompted fixtures under fresh legacy ids: (province, bytes,
/// canonical ids it must yield).
fn workload(copies: usize) -> Vec<(&'static str, Vec<u8>, Vec<String>)> {
    let mut out = Vec::new();
    let mut serial = 10_000;
    for (p, code) in PROVINCES.iter().zip(CODES) {
        for (_, bytes, expected) in valid_fixtures(p) {
            let records: Vec<&Value> = expected.as_array().into_iter().flatten().collect();
            if records.is_empty() || records.iter().any(|m| !m["in_reply_to"].is_null()) {
                continue;
            }
            let legacy = records[0]["source"]["message_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if legacy.len() < 6 {
                continue;
            }
            for _ in 0..copies {
                serial += 1;
                let fresh = format!("{}{serial:05}", &legacy[..legacy.len() - 5]);
                let replaced = replace_all(&bytes, legacy.as_bytes(), fresh.as_bytes());
                let ids = records
                    .iter()
                    .filter(|m| {
                        m["kind"] != "marriage_cert_issued"
                            || m["subject"].get("residence_division").is_some()
                    })
                    .map(|m| {
                        let record = m["source"]["record"].as_u64().unwrap_or(0) as u32;
                        canonical_message_id(code, &fresh, record).to_string()
                    })
                    .collect();
                out.push((*p, replaced, ids));
            }
        }
    }
    out
}

fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

async fn inbound_depth(broker: &yipanqi_tests::Broker) -> anyhow::Result<u32> {
    let mut depth = 0;
    for p in PROVINCES {
        depth += broker.depth(&format!("yipanqi.in.{p}")).await?;
    }
    Ok(depth)
}

async fn sigkill_mid_run_loses_nothing(db: Db) -> anyhow::Result<()> {
    let env = TestEnv::new("crash", db).await?;
    let http = yipanqi_tests::free_addr();

    // A first run declares the topology; SIGTERM ends it cleanly.
    let hub = start(&env, http, "hub-1.log")?;
    wait_ready(http, Duration::from_secs(60)).await?;
    let status = hub.terminate()?;
    assert_eq!(status.code(), Some(0), "SIGTERM is a graceful exit");

    // The provinces' backlog waits in the durable inbound queues.
    let broker = env.connect().await?;
    let work = workload(80);
    let expected: BTreeSet<String> = work.iter().flat_map(|(_, _, ids)| ids.clone()).collect();
    for (p, bytes, _) in &work {
        broker.publish(p, bytes).await?;
    }
    let backlog = inbound_depth(&broker).await?;
    assert_eq!(backlog as usize, work.len());

    // Kill the second run once it has delivered some of the backlog but not all.
    let mut hub = start(&env, http, "hub-2.log")?;
    let started = Instant::now();
    loop {
        let mut delivered = 0;
        for p in PROVINCES {
            delivered += broker.depth(&format!("yipanqi.out.{p}")).await?;
        }
        if delivered >= 1500 || started.elapsed() > Duration::from_secs(60) {
            hub.kill()?;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let inbound_at_kill = inbound_depth(&broker).await?;
    assert!(
        inbound_at_kill > 0,
        "the hub finished before it could be killed; the workload is too small"
    );
    assert!(
        (inbound_at_kill as usize) < work.len(),
        "the hub acknowledged nothing before the kill"
    );

    let hub = start(&env, http, "hub-3.log")?;
    wait_ready(http, Duration::from_secs(60)).await?;
    for _ in 0..1200 {
        if inbound_depth(&broker).await? == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut copies: BTreeMap<String, Vec<(String, String, Value)>> = BTreeMap::new();
    let mut queues: Vec<String> = PROVINCES
        .iter()
        .map(|p| format!("yipanqi.out.{p}"))
        .collect();
    queues.push("yipanqi.out.padis".into());
    for q in &queues {
        for r in broker
            .drain(q, Duration::from_millis(500), Duration::from_secs(60))
            .await?
        {
            let body = r.json();
            assert_ne!(
                body["kind"], "rejection",
                "nothing in the workload is invalid: {body}"
            );
            let target = r
                .headers
                .get("x-yipanqi-target")
                .cloned()
                .unwrap_or_default();
            copies
                .entry(r.message_id.clone().unwrap_or_default())
                .or_default()
                .push((r.routing_key.clone(), target, body));
        }
    }
    assert_eq!(
        broker.depth("yipanqi.dead").await?,
        0,
        "nothing was rejected"
    );

    let delivered: BTreeSet<String> = copies.keys().cloned().collect();
    let missing: Vec<&String> = expected.difference(&delivered).collect();
    let unexpected: Vec<&String> = delivered.difference(&expected).collect();
    assert!(
        missing.is_empty(),
        "{} messages lost after the crash, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(3)]
    );
    assert!(unexpected.is_empty(), "unexpected messages {unexpected:?}");
    let mut redelivered = 0;
    for (id, list) in &copies {
        let mut per_target: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
        for (key, target, body) in list {
            per_target
                .entry((key.clone(), target.clone()))
                .or_default()
                .push(body);
        }
        for ((key, _), bodies) in per_target {
            redelivered += bodies.len() - 1;
            for b in &bodies {
                assert_eq!(
                    *b, bodies[0],
                    "a redelivery of {id} to {key} differs from the first copy"
                );
                assert_eq!(b["message_id"], Value::String(id.clone()));
            }
        }
    }
    eprintln!(
        "{} messages delivered, {} of {} inbound documents not yet acknowledged at the kill, {} same-id redeliveries",
        expected.len(),
        inbound_at_kill,
        work.len(),
        redelivered
    );

    let status = hub.terminate()?;
    assert_eq!(status.code(), Some(0), "SIGTERM is a graceful exit");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_loses_nothing_sqlite() -> anyhow::Result<()> {
    sigkill_mid_run_loses_nothing(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_loses_nothing_postgres() -> anyhow::Result<()> {
    sigkill_mid_run_loses_nothing(Db::Postgres).await
}
