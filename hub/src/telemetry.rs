//! One event, one place: every message outcome is logged and counted here, so logs and
//! metrics never drift apart. Labels are bounded (province, kind, reason, stage); a
//! person's ID number or name never reaches a log line or a metric — only message ids,
//! which identify nobody.
//!
//! Metrics go to one Prometheus recorder per process ([`metrics_handle`]), rendered by
//! `GET /metrics`; [`METRICS`] lists every name the hub exports, with its help text.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;
use tracing_subscriber::EnvFilter;
use uuid::Uuid;
use yipanqi_schemas::{CanonicalMessage, Rejection};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable lines.
    Pretty,
}

/// Installs the global log subscriber (`RUST_LOG` filters; without it, `default`).
pub fn init_logging(format: LogFormat, default: &str) {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Whatever RUST_LOG says: the AMQP client logs a message the broker returns in full,
    // and frames at trace level, and messages hold personal data.
    for directive in ["lapin=info", "lapin::returned_messages=off"] {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    // Colours only for a person at a terminal, never into a file or a collector.
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

/// An API request came without a known token.
pub fn unauthenticated() {
    metrics::counter!("yipanqi_unauthenticated_requests_total").increment(1);
}

/// A message was accepted and routed (or held).
pub fn accepted(province: &str, msg: &CanonicalMessage, routes: usize, warnings: &[String]) {
    let kind = msg.kind.as_str();
    metrics::counter!("yipanqi_messages_received_total", "province" => province.to_string(), "kind" => kind).increment(1);
    if !warnings.is_empty() {
        metrics::counter!("yipanqi_messages_flagged_total", "province" => province.to_string(), "kind" => kind).increment(1);
        tracing::warn!(message_id = %msg.message_id, province, kind, warnings = warnings.len(), "message accepted with warnings");
    }
    tracing::info!(message_id = %msg.message_id, province, kind, routes, "message accepted");
}

/// A message was received again with the same content.
pub fn duplicate(province: &str, msg: &CanonicalMessage, republished: usize) {
    let kind = msg.kind.as_str();
    metrics::counter!("yipanqi_messages_duplicate_total", "province" => province.to_string(), "kind" => kind).increment(1);
    tracing::info!(message_id = %msg.message_id, province, kind, republished, "duplicate message");
}

/// A document or record was rejected; `kind` when the record got as far as being read
/// as a canonical message (`unknown` otherwise). `rejection_id` is the id of the notice
/// the province receives: the one id every rejection has.
pub fn rejected(
    province: &str,
    message_id: Option<Uuid>,
    rejection_id: Uuid,
    kind: Option<&'static str>,
    rejection: &Rejection,
) {
    let reason = rejection.reason.as_str();
    let kind = kind.unwrap_or(UNKNOWN_KIND);
    metrics::counter!("yipanqi_messages_rejected_total", "province" => province.to_string(), "kind" => kind, "reason" => reason).increment(1);
    // The detail is written by the adapters and the pipeline with every ID number masked
    // (DOMAIN.md §6); it is logged for the integrator, never shown on the status page.
    tracing::info!(
        message_id = message_id.map(|u| u.to_string()),
        rejection_id = %rejection_id,
        province,
        kind,
        reason,
        record = rejection.record,
        detail = %rejection.detail,
        "message rejected"
    );
}

/// Outbound copies were confirmed by the broker.
pub fn delivered(province: &str, copies: usize) {
    metrics::counter!("yipanqi_messages_delivered_total", "province" => province.to_string())
        .increment(copies as u64);
}

/// The `kind` label of a rejection whose record was never read as a canonical message.
pub const UNKNOWN_KIND: &str = "unknown";

/// What a metric is, for its `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// Only ever goes up (`_total`).
    Counter,
    /// A sampled value.
    Gauge,
    /// A distribution with explicit buckets.
    Histogram,
}

/// Every metric the hub exports: name, type, labels and help text. The dashboard and the
/// alert rules in `hub/ops/` may only use these (the ops test checks it).
pub const METRICS: &[(&str, MetricType, &str, &str)] = &[
    ("yipanqi_messages_received_total", MetricType::Counter, "province, kind", "Canonical messages accepted (routed or held), by sending province and kind."),
    ("yipanqi_messages_flagged_total", MetricType::Counter, "province, kind", "Accepted messages that carried validation warnings."),
    ("yipanqi_messages_duplicate_total", MetricType::Counter, "province, kind", "Messages received again with the same content (delivered once)."),
    ("yipanqi_messages_rejected_total", MetricType::Counter, "province, kind, reason", "Documents or records rejected, by reason; kind is 'unknown' when the record could not be read."),
    ("yipanqi_messages_delivered_total", MetricType::Counter, "province", "Outbound copies confirmed by the broker (deliveries, dead letters and rejection notices), by the inbound province that caused them."),
    ("yipanqi_documents_acknowledged_total", MetricType::Counter, "province", "Inbound documents acknowledged to the broker after storing and confirming everything they caused."),
    ("yipanqi_batch_size_documents", MetricType::Histogram, "province", "Inbound documents per batch (one transaction, one round of confirms)."),
    ("yipanqi_stage_duration_seconds", MetricType::Histogram, "province, stage", "Time one batch spent in a stage: translate, store (the transaction), publish_confirm (publish and await every confirm)."),
    ("yipanqi_end_to_end_duration_seconds", MetricType::Histogram, "province", "Per inbound document, from its AMQP timestamp (or, without one, from when the hub took it) to its acknowledgement."),
    ("yipanqi_reconnects_total", MetricType::Counter, "target", "Connections re-established after being lost (target: broker or database)."),
    ("yipanqi_connect_failures_total", MetricType::Counter, "target", "Failed connection attempts (target: broker or database)."),
    ("yipanqi_ready", MetricType::Gauge, "", "1 when /health/ready answers 200: broker connected, every consumer running, database answering."),
    ("yipanqi_broker_connected", MetricType::Gauge, "", "1 while the hub holds a broker connection."),
    ("yipanqi_database_answering", MetricType::Gauge, "", "1 while the database answers."),
    ("yipanqi_inbound_queue_messages", MetricType::Gauge, "province", "Messages waiting in yipanqi.in.<province> (read from the broker every few seconds)."),
    ("yipanqi_outbound_queue_messages", MetricType::Gauge, "province", "Messages waiting in yipanqi.out.<province> for the province (also padis and coordination)."),
    ("yipanqi_dead_letter_queue_messages", MetricType::Gauge, "", "Rejected documents waiting in yipanqi.dead."),
    ("yipanqi_open_expectations", MetricType::Gauge, "province", "Answers owed and not yet due (state open), by owner province."),
    ("yipanqi_overdue_expectations", MetricType::Gauge, "province", "Answers owed past their deadline (state overdue), by owner province."),
    ("yipanqi_uncovered_expectations", MetricType::Gauge, "", "Open or overdue expectations whose deadline fell in a year the calendar does not cover."),
    ("yipanqi_last_message_timestamp_seconds", MetricType::Gauge, "province", "Unix time of the last document received from the province (accepted or rejected); 0 when none in the last 24 hours."),
    ("yipanqi_expectations_opened_total", MetricType::Counter, "province, kind", "Expectations opened, by owner province and the kind that expects an answer."),
    ("yipanqi_expectations_closed_total", MetricType::Counter, "province, state", "Expectations closed by an answer, by answering province and state (answered_on_time, answered_late)."),
    ("yipanqi_reminders_total", MetricType::Counter, "province, kind", "Overdue reminder steps taken (a reminder and an escalation each), by owner province."),
    ("yipanqi_calendar_uncovered_total", MetricType::Counter, "", "Deadlines computed on weekdays only because their year is not in the calendar."),
    ("yipanqi_unauthenticated_requests_total", MetricType::Counter, "", "API requests and broker queries refused for want of a known caller (the audit writes 60 a minute per channel one by one, and counts the rest)."),
];

/// Bucket bounds of the stage histograms (seconds): a batch's translate, store and confirm
/// take milliseconds normally, seconds when the database or broker struggles.
const STAGE_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Bucket bounds of the end-to-end histogram (seconds): includes the wait in the inbound
/// queue, which is minutes or hours during a backlog.
const END_TO_END_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];
/// Bucket bounds of the batch-size histogram (documents).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];

/// The process's Prometheus recorder, installed on first use. Metrics are process-global
/// (the `metrics` facade has one recorder), so hubs started in one test process share it.
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("yipanqi_stage_duration_seconds".into()),
                STAGE_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("yipanqi_end_to_end_duration_seconds".into()),
                    END_TO_END_BUCKETS,
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("yipanqi_batch_size_documents".into()),
                    BATCH_BUCKETS,
                )
            })
            .expect("the bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            // Another recorder was installed by the embedding program: its metrics go
            // there, and /metrics shows only what this handle sees (nothing).
            tracing::warn!("a metrics recorder was installed already; /metrics stays empty");
        }
        for (name, kind, _, help) in METRICS {
            match kind {
                MetricType::Counter => metrics::describe_counter!(*name, *help),
                MetricType::Gauge => metrics::describe_gauge!(*name, *help),
                MetricType::Histogram => metrics::describe_histogram!(*name, *help),
            }
        }
        handle
    })
}

/// The pinyin names of the region's province codes, for metric labels: the database
/// stores codes ("34"), the labels are names ("anhui"). Set once from the mappings.
static REGION: OnceLock<BTreeMap<String, String>> = OnceLock::new();

/// Records the region's provinces (code → pinyin name), once per process.
pub fn set_region<'a>(provinces: impl IntoIterator<Item = (&'a str, &'a str)>) {
    let _ = REGION.set(
        provinces
            .into_iter()
            .map(|(code, name)| (code.to_string(), name.to_string()))
            .collect(),
    );
}

/// The `province` label of a province code: its pinyin name in the region, else the code.
pub fn province_label(code: &str) -> String {
    REGION
        .get()
        .and_then(|m| m.get(code))
        .cloned()
        .unwrap_or_else(|| code.to_string())
}

/// A stage of a batch's journey, for the `stage` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Every document of the batch through its province's mapping.
    Translate,
    /// The batch's one transaction: references, routes, expectations, rejections.
    Store,
    /// Publishing every outbound copy and awaiting all the broker's confirms.
    PublishConfirm,
}

impl Stage {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Translate => "translate",
            Stage::Store => "store",
            Stage::PublishConfirm => "publish_confirm",
        }
    }
}

/// A batch of inbound documents was taken from a province's queue.
pub fn batch_taken(province: &str, documents: usize) {
    metrics::histogram!("yipanqi_batch_size_documents", "province" => province.to_string())
        .record(documents as f64);
}

/// A batch spent `took` in `stage`.
pub fn stage(province: &str, stage: Stage, took: Duration) {
    metrics::histogram!("yipanqi_stage_duration_seconds", "province" => province.to_string(), "stage" => stage.as_str())
        .record(took.as_secs_f64());
}

/// A batch's inbound documents were acknowledged; `ages` is each one's end-to-end time.
pub fn acknowledged(province: &str, ages: &[Duration]) {
    metrics::counter!("yipanqi_documents_acknowledged_total", "province" => province.to_string())
        .increment(ages.len() as u64);
    let histogram =
        metrics::histogram!("yipanqi_end_to_end_duration_seconds", "province" => province.to_string());
    for age in ages {
        histogram.record(age.as_secs_f64());
    }
}

/// A lost connection (`target`: "broker" or "database") is back.
pub fn reconnected(target: &'static str) {
    metrics::counter!("yipanqi_reconnects_total", "target" => target).increment(1);
    tracing::info!(connection = target, "{target} connection re-established");
}

/// A connection attempt failed (the caller logs it with the retry delay).
pub fn connect_failed(target: &'static str) {
    metrics::counter!("yipanqi_connect_failures_total", "target" => target).increment(1);
}

/// The readiness, as gauges (set when `/metrics` is scraped).
pub fn readiness(r: &crate::health::Readiness) {
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    metrics::gauge!("yipanqi_ready").set(flag(r.ready));
    metrics::gauge!("yipanqi_broker_connected").set(flag(r.checks.broker == "connected"));
    metrics::gauge!("yipanqi_database_answering").set(flag(r.checks.database == "answering"));
}

/// Queue depths read from the broker: inbound and outbound per province (outbound also
/// `padis` and `coordination`), and the dead-letter queue.
pub fn queue_depths(depths: &crate::gauges::QueueDepths) {
    for (province, n) in &depths.inbound {
        metrics::gauge!("yipanqi_inbound_queue_messages", "province" => province.clone())
            .set(f64::from(*n));
    }
    for (province, n) in &depths.outbound {
        metrics::gauge!("yipanqi_outbound_queue_messages", "province" => province.clone())
            .set(f64::from(*n));
    }
    if let Some(n) = depths.dead {
        metrics::gauge!("yipanqi_dead_letter_queue_messages").set(f64::from(n));
    }
}

/// Expectations and last-message times read from the database.
pub fn database_sample(sample: &crate::gauges::DatabaseSample) {
    for (province, s) in &sample.provinces {
        let p = province.clone();
        metrics::gauge!("yipanqi_open_expectations", "province" => p.clone()).set(s.open as f64);
        metrics::gauge!("yipanqi_overdue_expectations", "province" => p.clone())
            .set(s.overdue as f64);
        metrics::gauge!("yipanqi_last_message_timestamp_seconds", "province" => p)
            .set(s.last_message_ms.map_or(0.0, |ms| ms as f64 / 1000.0));
    }
    metrics::gauge!("yipanqi_uncovered_expectations").set(sample.uncovered as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_follow_the_convention() {
        for (name, kind, labels, help) in METRICS {
            assert!(name.starts_with("yipanqi_"), "{name}");
            assert!(!help.is_empty(), "{name}");
            match kind {
                MetricType::Counter => assert!(name.ends_with("_total"), "{name}"),
                MetricType::Histogram => assert!(
                    name.ends_with("_seconds") || name.ends_with("_documents"),
                    "{name}"
                ),
                MetricType::Gauge => assert!(!name.ends_with("_total"), "{name}"),
            }
            for label in labels.split(", ").filter(|l| !l.is_empty()) {
                assert!(
                    ["province", "kind", "reason", "stage", "state", "target"].contains(&label),
                    "{name}: unbounded label {label}"
                );
            }
        }
    }

    #[test]
    fn histograms_render_with_buckets() {
        let handle = metrics_handle();
        stage("testland", Stage::Store, Duration::from_millis(3));
        batch_taken("testland", 7);
        acknowledged("testland", &[Duration::from_millis(40)]);
        let text = handle.render();
        assert!(
            text.contains(
                "yipanqi_stage_duration_seconds_bucket{province=\"testland\",stage=\"store\",le=\"0.005\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("yipanqi_batch_size_documents_bucket{province=\"testland\",le=\"10\"} 1"), "{text}");
        assert!(text.contains("yipanqi_end_to_end_duration_seconds_count{province=\"testland\"} 1"), "{text}");
        assert!(!text.contains("quantile="), "histograms, not summaries: {text}");
    }
}
