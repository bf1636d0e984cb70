//! The status page for people who would rather look than read: `GET /` serves one
//! self-contained HTML page (`status.html`: inline CSS, JavaScript and SVG, no external
//! asset, no build step) that fetches `GET /api/status` every few seconds and draws it.
//!
//! Like `/metrics` it needs no credentials, so it must never show a person: the JSON
//! carries counts, times, province names, kinds, reasons and message ids only — no ID
//! number, no name, no rejection detail (whose text describes a document), no legacy id.

use super::{ApiError, AppState};
use crate::gauges::LAST_MESSAGE_WINDOW_MS;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// The page.
const PAGE: &str = include_str!("status.html");

/// A province counts as sending while its last document is at most this old; the alert
/// rule `YipanqiProvinceSilent` uses the same 30 minutes.
const SENDING_WITHIN_MS: i64 = 30 * 60 * 1000;
/// The throughput chart's span.
const CHART_MINUTES: usize = 60;
/// The rate is averaged over this many minutes.
const RATE_MINUTES: i64 = 5;
/// Rejections listed.
const LATEST_REJECTIONS: u32 = 20;

/// The status routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/api/status", get(status))
}

async fn page() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
}

/// `GET /api/status`.
#[derive(Debug, Serialize)]
struct Status {
    /// When this was computed (RFC 3339, Beijing time).
    generated_at: String,
    ready: bool,
    checks: crate::health::Checks,
    provinces: Vec<ProvinceStatus>,
    /// Rejected documents waiting in `yipanqi.dead`, as last read from the broker.
    dead_letters: Option<u32>,
    /// Outbound queues outside the region's provinces (`padis`, `coordination`).
    other_queues: Vec<QueueStatus>,
    /// When the queue depths were read (null: not yet since the hub started).
    queues_read_at: Option<String>,
    throughput: Throughput,
    rejections: Vec<RejectionStatus>,
    links: Vec<Link>,
}

/// One tile.
#[derive(Debug, Serialize)]
struct ProvinceStatus {
    /// Pinyin name.
    province: String,
    /// Two-digit code.
    code: String,
    /// Chinese name.
    label: String,
    /// A document arrived within the last 30 minutes.
    sending: bool,
    /// The last document (accepted or rejected) within the last 24 hours.
    last_message_at: Option<String>,
    /// Canonical messages accepted in the last hour.
    accepted_1h: i64,
    /// Documents or records rejected in the last hour.
    rejected_1h: i64,
    /// Accepted in the last 24 hours.
    accepted_24h: i64,
    /// Rejected in the last 24 hours.
    rejected_24h: i64,
    /// Accepted and rejected per minute over the last 5 minutes, one decimal.
    per_minute: f64,
    /// Documents waiting in its inbound queue (null: not read yet).
    backlog: Option<u32>,
    /// Messages waiting in its outbound queue for it to take.
    outbound: Option<u32>,
    /// Answers it owes, not yet due.
    open: i64,
    /// Answers it owes past their deadline.
    overdue: i64,
}

#[derive(Debug, Serialize)]
struct QueueStatus {
    name: String,
    messages: u32,
}

#[derive(Debug, Serialize)]
struct Throughput {
    /// The first minute's start.
    from: String,
    /// One entry per minute, oldest first.
    minutes: Vec<crate::store::Minute>,
}

#[derive(Debug, Serialize)]
struct RejectionStatus {
    received_at: String,
    province: String,
    label: String,
    kind: Option<String>,
    reason: String,
    message_id: Option<String>,
    rejection_id: String,
}

#[derive(Debug, Serialize)]
struct Link {
    href: &'static str,
    label: &'static str,
}

const LINKS: &[Link] = &[
    Link {
        href: "/api/reports",
        label: "报告 Delivery reports",
    },
    Link {
        href: "/api/expectations?state=overdue",
        label: "逾期待答 Overdue expectations (API)",
    },
    Link {
        href: "/api/expectations?state=open",
        label: "待答 Open expectations (API)",
    },
    Link {
        href: "/api/status",
        label: "本页数据 This page's data (JSON)",
    },
    Link {
        href: "/metrics",
        label: "指标 Prometheus metrics",
    },
    Link {
        href: "/health/ready",
        label: "就绪检查 Readiness",
    },
];

fn beijing(ms: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| {
        t.with_timezone(&crate::clock::beijing_offset())
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    })
}

async fn status(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let store = state.store()?;
    let now_ms = Utc::now().timestamp_millis();
    let readiness = state.health.readiness();
    let activity = store
        .activity(
            now_ms - LAST_MESSAGE_WINDOW_MS,
            now_ms - 3_600_000,
            now_ms - RATE_MINUTES * 60_000,
        )
        .await?;
    let owed = store.owed_expectations().await?;
    // Whole minutes, so that a minute's bar does not change as the page refreshes.
    let chart_from = (now_ms / 60_000 - CHART_MINUTES as i64 + 1) * 60_000;
    let minutes = store.throughput(chart_from, CHART_MINUTES).await?;
    let rejections = store.recent_rejections(LATEST_REJECTIONS).await?;
    let queues = state.observed.queues();
    let label_of = |name: &str| {
        state
            .registry
            .get(name)
            .map(|m| m.province().label.clone())
            .unwrap_or_default()
    };

    let provinces = state
        .registry
        .provinces()
        .map(|p| {
            let a = activity.get(&p.name).cloned().unwrap_or_default();
            let (open, overdue) = owed
                .per_owner
                .iter()
                .find(|(code, _, _)| *code == p.code)
                .map(|(_, open, overdue)| (*open, *overdue))
                .unwrap_or((0, 0));
            let per_minute = (a.accepted_recent + a.rejected_recent) as f64 / RATE_MINUTES as f64;
            ProvinceStatus {
                province: p.name.clone(),
                code: p.code.clone(),
                label: p.label.clone(),
                sending: a.last_ms.is_some_and(|t| now_ms - t <= SENDING_WITHIN_MS),
                last_message_at: a.last_ms.and_then(beijing),
                accepted_1h: a.accepted_hour,
                rejected_1h: a.rejected_hour,
                accepted_24h: a.accepted,
                rejected_24h: a.rejected,
                per_minute: (per_minute * 10.0).round() / 10.0,
                backlog: queues.as_ref().and_then(|q| q.inbound.get(&p.name).copied()),
                outbound: queues.as_ref().and_then(|q| q.outbound.get(&p.name).copied()),
                open,
                overdue,
            }
        })
        .collect();
    let other_queues = queues
        .as_ref()
        .map(|q| {
            q.outbound
                .iter()
                .filter(|(name, _)| state.registry.get(name).is_none())
                .map(|(name, n)| QueueStatus {
                    name: name.clone(),
                    messages: *n,
                })
                .collect()
        })
        .unwrap_or_default();
    let body = Status {
        generated_at: beijing(now_ms).unwrap_or_default(),
        ready: readiness.ready,
        checks: readiness.checks,
        provinces,
        dead_letters: queues.as_ref().and_then(|q| q.dead),
        other_queues,
        queues_read_at: queues.as_ref().and_then(|q| beijing(q.at.timestamp_millis())),
        throughput: Throughput {
            from: beijing(chart_from).unwrap_or_default(),
            minutes,
        },
        rejections: rejections
            .into_iter()
            .map(|r| RejectionStatus {
                label: label_of(&r.province),
                received_at: r.received_at,
                province: r.province,
                kind: r.kind,
                reason: r.reason,
                message_id: r.message_id,
                rejection_id: r.rejection_id,
            })
            .collect(),
        links: LINKS
            .iter()
            .map(|l| Link {
                href: l.href,
                label: l.label,
            })
            .collect(),
    };
    Ok(([(CACHE_CONTROL, "no-store")], Json(body)))
}
