//! What ops staff see, end to end against a hub process (metrics are process-global, so
//! this hub runs alone in its own process): traffic from all seven provinces comes out in
//! `/metrics` exactly as sent — counters by province, kind and reason, histograms with
//! their buckets, queue depths as the broker holds them, answers owed as the API lists
//! them; `/health/ready` turns 503 when the broker drops the hub and 200 once it is
//! back; and the hub's logs never hold an ID number or a name that was sent.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use yipanqi::telemetry::{MetricType, METRICS};
use yipanqi_tests::ops::{scrape, synthetic_traffic, HubProcess, Outcome, Scrape};
use yipanqi_tests::{http_get, http_get_as, rabbitmqctl, wait_ready, Db, TestEnv, PROVINCES};

/// Polls `/metrics` until `done` holds, or fails after `limit` with the last scrape's view.
async fn scrape_until(
    addr: std::net::SocketAddr,
    limit: Duration,
    what: &str,
    done: impl Fn(&Scrape) -> bool,
) -> anyhow::Result<Scrape> {
    let start = Instant::now();
    loop {
        let s = scrape(addr).await?;
        if done(&s) {
            return Ok(s);
        }
        anyhow::ensure!(start.elapsed() < limit, "{what} not reached within {limit:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Checks a histogram series: cumulative buckets that never decrease, the explicit
/// bounds configured (not a summary), `+Inf` equal to the count.
fn check_histogram(s: &Scrape, name: &str, labels: &[(&str, &str)], count: f64) {
    let mut buckets: Vec<(f64, f64)> = s
        .series(&format!("{name}_bucket"))
        .into_iter()
        .filter(|(l, _)| {
            labels
                .iter()
                .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(l, v)| {
            let le = match l.get("le").map(String::as_str) {
                Some("+Inf") => f64::INFINITY,
                Some(x) => x.parse().unwrap_or(f64::NAN),
                None => f64::NAN,
            };
            (le, v)
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(buckets.len() >= 8, "{name}{labels:?} has explicit buckets: {buckets:?}");
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{name}{labels:?} cumulative: {buckets:?}");
    assert_eq!(buckets.last().map(|b| b.0), Some(f64::INFINITY), "{name}{labels:?}");
    assert_eq!(buckets.last().map(|b| b.1), Some(count), "{name}{labels:?} +Inf = count");
    assert_eq!(s.sum(&format!("{name}_count"), labels), count, "{name}{labels:?} count");
    assert_eq!(s.types.get(name).map(String::as_str), Some("histogram"), "{name} is a histogram");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_health_and_logs_tell_what_happened() -> anyhow::Result<()> {
    let env = TestEnv::new("ops", Db::Postgres).await?;
    let hub = HubProcess::start(&env, "hub.log", &[("RUST_LOG", "info,yipanqi=debug")])?;
    wait_ready(hub.http, Duration::from_secs(60)).await?;
    let started = chrono::Utc::now().timestamp();

    // Traffic from every province: some documents defective, one per province sent twice.
    let traffic = synthetic_traffic(4242, 12, 4)?;
    let broker = env.connect().await?;
    let mut sent: BTreeMap<&str, usize> = BTreeMap::new();
    let mut accepted: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut rejected: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    let mut duplicates: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut twice: BTreeSet<String> = BTreeSet::new();
    for doc in &traffic {
        broker.publish(&doc.province, &doc.bytes).await?;
        *sent.entry(&doc.province).or_default() += 1;
        for o in &doc.outcomes {
            match o {
                Outcome::Accepted(kind) => {
                    *accepted.entry((doc.province.clone(), kind.clone())).or_default() += 1.0
                }
                Outcome::Rejected(kind, reason) => {
                    *rejected
                        .entry((doc.province.clone(), kind.clone(), reason.clone()))
                        .or_default() += 1.0
                }
            }
        }
        let valid = doc.outcomes.iter().all(|o| matches!(o, Outcome::Accepted(_)));
        if valid && twice.insert(doc.province.clone()) {
            // A legacy system retrying: the same bytes again, after the first is through.
            tokio::time::sleep(Duration::from_millis(300)).await;
            broker.publish(&doc.province, &doc.bytes).await?;
            *sent.entry(&doc.province).or_default() += 1;
            for o in &doc.outcomes {
                if let Outcome::Accepted(kind) = o {
                    *duplicates.entry((doc.province.clone(), kind.clone())).or_default() += 1.0;
                }
            }
        }
    }
    assert_eq!(sent.len(), 7, "traffic from all seven provinces");
    assert!(!rejected.is_empty(), "the traffic holds defective documents");
    assert_eq!(twice.len(), 7, "one document per province sent twice");

    // Every document acknowledged…
    let s = scrape_until(hub.http, Duration::from_secs(90), "every document acknowledged", |s| {
        sent.iter().all(|(p, n)| {
            s.sum("yipanqi_documents_acknowledged_total", &[("province", p)]) == *n as f64
        })
    })
    .await?;

    // …counted by province and kind, or province, kind and reason.
    for ((p, kind), n) in &accepted {
        let got = s.sum("yipanqi_messages_received_total", &[("province", p), ("kind", kind)]);
        assert_eq!(got, *n, "received {p} {kind}");
    }
    let total_accepted: f64 = accepted.values().sum();
    assert_eq!(s.sum("yipanqi_messages_received_total", &[]), total_accepted);
    for ((p, kind, reason), n) in &rejected {
        let got = s.sum(
            "yipanqi_messages_rejected_total",
            &[("province", p), ("kind", kind), ("reason", reason)],
        );
        assert_eq!(got, *n, "rejected {p} {kind} {reason}");
    }
    assert!(
        rejected.keys().any(|(_, kind, _)| kind != "unknown"),
        "rejected records are counted under their kind"
    );
    let total_rejected: f64 = rejected.values().sum();
    assert_eq!(s.sum("yipanqi_messages_rejected_total", &[]), total_rejected);
    for ((p, kind), n) in &duplicates {
        let got = s.sum("yipanqi_messages_duplicate_total", &[("province", p), ("kind", kind)]);
        assert_eq!(got, *n, "duplicates {p} {kind}");
    }

    // Histograms: one batch-size sample and one sample per stage per batch, one
    // end-to-end sample per document.
    for (p, n) in &sent {
        let batches = s.sum("yipanqi_batch_size_documents_count", &[("province", p)]);
        assert!(batches >= 1.0, "{p} batches");
        assert_eq!(
            s.sum("yipanqi_batch_size_documents_sum", &[("province", p)]),
            *n as f64,
            "{p}: documents in batches"
        );
        check_histogram(&s, "yipanqi_batch_size_documents", &[("province", p)], batches);
        for stage in ["translate", "store", "publish_confirm"] {
            check_histogram(
                &s,
                "yipanqi_stage_duration_seconds",
                &[("province", p), ("stage", stage)],
                batches,
            );
        }
        check_histogram(&s, "yipanqi_end_to_end_duration_seconds", &[("province", p)], *n as f64);
    }

    // Queue depths as the broker holds them (nobody has taken anything yet), and every
    // confirmed copy is in one of those queues.
    let mut out_queues: Vec<(String, String)> = PROVINCES
        .iter()
        .map(|p| (p.to_string(), format!("yipanqi.out.{p}")))
        .collect();
    out_queues.push(("padis".into(), "yipanqi.out.padis".into()));
    out_queues.push(("coordination".into(), "yipanqi.out.coordination".into()));
    let mut depths = BTreeMap::new();
    for (p, q) in &out_queues {
        depths.insert(p.clone(), f64::from(broker.depth(q).await?));
    }
    let dead = f64::from(broker.depth("yipanqi.dead").await?);
    assert_eq!(dead, total_rejected, "one dead letter per rejection");
    let s = scrape_until(hub.http, Duration::from_secs(30), "queue gauges equal to the broker's depths", |s| {
        depths.iter().all(|(p, n)| s.sum("yipanqi_outbound_queue_messages", &[("province", p)]) == *n)
            && s.sum("yipanqi_dead_letter_queue_messages", &[]) == dead
            && PROVINCES.iter().all(|p| {
                s.series("yipanqi_inbound_queue_messages")
                    .iter()
                    .any(|(l, v)| l.get("province").map(String::as_str) == Some(*p) && *v == 0.0)
            })
    })
    .await?;
    let in_queues: f64 = depths.values().sum::<f64>() + dead;
    assert_eq!(
        s.sum("yipanqi_messages_delivered_total", &[]),
        in_queues,
        "confirmed copies = what the queues hold"
    );

    // Answers owed, as the API lists them; last message time per province.
    let (status, body) = http_get_as(hub.http, "/api/expectations?limit=10000", "ops").await?;
    assert_eq!(status, 200, "{body}");
    let list: Value = serde_json::from_str(&body)?;
    let mut owed: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for e in list["expectations"].as_array().into_iter().flatten() {
        let code = e["owner_province"].as_str().unwrap_or_default();
        let name = yipanqi_adapters::Registry::builtin()
            .by_code(code)
            .map(|m| m.province().name.clone())
            .unwrap_or_default();
        let entry = owed.entry(name).or_default();
        match e["state"].as_str() {
            Some("open") => entry.0 += 1.0,
            Some("overdue") => entry.1 += 1.0,
            _ => {}
        }
    }
    assert!(owed.values().any(|(open, _)| *open > 0.0), "the traffic opened expectations");
    let now = chrono::Utc::now().timestamp();
    let s = scrape_until(hub.http, Duration::from_secs(40), "expectation gauges equal to the API", |s| {
        PROVINCES.iter().all(|p| {
            let (open, overdue) = owed.get(*p).copied().unwrap_or_default();
            s.sum("yipanqi_open_expectations", &[("province", p)]) == open
                && s.sum("yipanqi_overdue_expectations", &[("province", p)]) == overdue
                && s.series("yipanqi_open_expectations")
                    .iter()
                    .any(|(l, _)| l.get("province").map(String::as_str) == Some(*p))
        })
    })
    .await?;
    for p in PROVINCES {
        let last = s.sum("yipanqi_last_message_timestamp_seconds", &[("province", p)]);
        assert!(
            last >= started as f64 - 1.0 && last <= now as f64 + 1.0,
            "{p} last message at {last}, traffic between {started} and {now}"
        );
    }
    assert_eq!(s.sum("yipanqi_ready", &[]), 1.0);

    // Every family is one the hub declares, typed as declared; no label holds a message
    // id or an ID number.
    for (family, kind) in &s.types {
        let declared = METRICS.iter().find(|(n, ..)| n == family);
        let Some((_, declared, ..)) = declared else {
            panic!("{family} is not in telemetry::METRICS");
        };
        let expected = match declared {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        };
        assert_eq!(kind, expected, "{family}");
    }
    for (name, labels, _) in &s.samples {
        for (k, v) in labels {
            assert!(
                ["province", "kind", "reason", "stage", "state", "target", "le"].contains(&k.as_str()),
                "{name}: label {k}"
            );
            assert!(
                uuid::Uuid::parse_str(v).is_err() && v.len() < 32,
                "{name}: label {k}={v} looks like an id"
            );
        }
    }

    // The broker drops the hub: not ready until it has reconnected.
    drop(broker);
    rabbitmqctl(&["close_all_connections", "-p", &env.vhost, "ops test: broker restart"])?;
    let start = Instant::now();
    let (status, body) = loop {
        let (status, body) = http_get(hub.http, "/health/ready").await?;
        if status == 503 || start.elapsed() > Duration::from_secs(10) {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status, 503, "not ready while the broker connection is gone: {body}");
    let readiness: Value = serde_json::from_str(&body)?;
    assert_eq!(readiness["ready"], false, "{body}");
    assert!(
        readiness["checks"]["broker"] == "disconnected"
            || readiness["checks"]["consumers"] != "7/7",
        "the body names what is not ready: {body}"
    );
    wait_ready(hub.http, Duration::from_secs(60)).await?;
    let (status, body) = http_get(hub.http, "/health/ready").await?;
    assert_eq!(status, 200, "{body}");
    let s = scrape(hub.http).await?;
    assert!(s.sum("yipanqi_reconnects_total", &[("target", "broker")]) >= 1.0);
    assert_eq!(s.sum("yipanqi_ready", &[]), 1.0);

    let status = hub.terminate()?;
    assert_eq!(status.code(), Some(0), "SIGTERM is a graceful exit");

    // The whole run's logs: one line per rejection with its fields, and not one ID number
    // (not even the first 17 characters of one) or name that was sent.
    let log = std::fs::read_to_string(env.dir.join("hub.log"))?;
    let mut rejection_lines = 0.0;
    for line in log.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if entry["message"] == "message rejected" {
            rejection_lines += 1.0;
            for field in ["rejection_id", "province", "kind", "reason"] {
                assert!(entry[field].is_string(), "{field} in {line}");
            }
        }
    }
    assert_eq!(rejection_lines, total_rejected, "one log line per rejected record");
    let mut checked = 0;
    for doc in &traffic {
        for id in &doc.id_numbers {
            assert!(!log.contains(&id[..17]), "the log holds ID number {}", &id[..4]);
            checked += 1;
        }
        for name in &doc.names {
            assert!(!log.contains(name.as_str()), "the log holds a name");
        }
    }
    assert!(checked > 80, "{checked} ID numbers checked");
    Ok(())
}
