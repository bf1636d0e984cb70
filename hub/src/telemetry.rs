//! One event, one place: every message outcome is logged and counted here, so logs and
//! metrics never drift apart. Labels are bounded (province, kind, reason); a person's
//! ID number or name never reaches a log line or a metric — only message ids, which
//! identify nobody.

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

/// Installs the global log subscriber (`RUST_LOG` filters; default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

/// A message was accepted and routed (or held).
pub fn accepted(province: &str, msg: &CanonicalMessage, routes: usize, warnings: &[String]) {
    let kind = msg.kind.as_str();
    metrics::counter!("yipanqi_messages_received_total", "province" => province.to_string(), "kind" => kind).increment(1);
    if !warnings.is_empty() {
        metrics::counter!("yipanqi_messages_flagged_total", "province" => province.to_string(), "kind" => kind).increment(1);
        tracing::warn!(message_id = %msg.message_id, province, kind, warnings = warnings.len(), "message accepted with warnings");
    }
    tracing::debug!(message_id = %msg.message_id, province, kind, routes, "message accepted");
}

/// A message was received again with the same content.
pub fn duplicate(province: &str, msg: &CanonicalMessage, republished: usize) {
    let kind = msg.kind.as_str();
    metrics::counter!("yipanqi_messages_duplicate_total", "province" => province.to_string(), "kind" => kind).increment(1);
    tracing::info!(message_id = %msg.message_id, province, kind, republished, "duplicate message");
}

/// A document or record was rejected.
pub fn rejected(province: &str, message_id: Option<Uuid>, rejection: &Rejection) {
    let reason = rejection.reason.as_str();
    metrics::counter!("yipanqi_messages_rejected_total", "province" => province.to_string(), "reason" => reason).increment(1);
    tracing::info!(
        message_id = message_id.map(|u| u.to_string()),
        province,
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
