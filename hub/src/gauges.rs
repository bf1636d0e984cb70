//! What the hub cannot count as it happens, sampled: queue depths read from the broker
//! (every few seconds, on each broker connection), and from the database the answers
//! owed per owner province and when each province last sent something. Each sample sets
//! the gauges (through `telemetry`) and is kept in [`Observed`] for the status page.
//!
//! Sampling only reads: a passive `queue.declare` never creates or changes a queue, and
//! the queries are aggregates over indexed columns. A failed sample is skipped, never
//! fatal — the samplers stop only when told to.

use crate::health::Health;
use crate::store::Store;
use crate::telemetry;
use crate::topology::{
    inbound_queue, outbound_queue, COORDINATION_QUEUE, DEAD_QUEUE, PADIS_QUEUE,
};
use chrono::{DateTime, Utc};
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use yipanqi_adapters::ProvinceInfo;

/// How often queue depths are read from the broker.
pub const QUEUE_INTERVAL: Duration = Duration::from_secs(5);
/// How often the database is sampled.
pub const DATABASE_INTERVAL: Duration = Duration::from_secs(15);
/// "Last message" looks this far back: the windowed query stays on the `received_ms`
/// indexes however large the tables grow.
pub const LAST_MESSAGE_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// Queue depths as the broker reported them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueDepths {
    /// When they were read.
    pub at: DateTime<Utc>,
    /// `yipanqi.in.<province>` by pinyin name.
    pub inbound: BTreeMap<String, u32>,
    /// `yipanqi.out.<province>` by pinyin name, with `padis` and `coordination`.
    pub outbound: BTreeMap<String, u32>,
    /// `yipanqi.dead`.
    pub dead: Option<u32>,
}

/// One province in a database sample.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvinceSample {
    /// Expectations it owes that are not yet due.
    pub open: i64,
    /// Expectations it owes past their deadline.
    pub overdue: i64,
    /// When it last sent a document (accepted or rejected), within the window.
    pub last_message_ms: Option<i64>,
}

/// The database's view, by pinyin name of every region province.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseSample {
    /// Per province.
    pub provinces: BTreeMap<String, ProvinceSample>,
    /// Open or overdue expectations computed on weekdays only.
    pub uncovered: i64,
}

/// The latest samples, shared with the HTTP handlers.
#[derive(Debug, Default)]
pub struct Observed {
    queues: Mutex<Option<QueueDepths>>,
}

impl Observed {
    /// The latest queue depths, if the broker has been read since the hub started.
    pub fn queues(&self) -> Option<QueueDepths> {
        self.queues.lock().map(|q| q.clone()).unwrap_or_default()
    }

    fn set_queues(&self, depths: QueueDepths) {
        if let Ok(mut q) = self.queues.lock() {
            *q = Some(depths);
        }
    }
}

/// Reads the depth of every hub queue every [`QUEUE_INTERVAL`] until cancelled. Returns
/// only when cancelled, so that it can run beside the consumers without its end being
/// taken for a lost connection.
pub async fn poll_queues(
    connection: Arc<Connection>,
    provinces: Vec<ProvinceInfo>,
    observed: Arc<Observed>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(QUEUE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut channel: Option<Channel> = None;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        if !channel.as_ref().is_some_and(|c| c.status().connected()) {
            channel = connection.create_channel().await.ok();
        }
        let Some(ch) = &channel else {
            continue; // the connection is gone; the supervisor reconnects
        };
        let mut depths = QueueDepths {
            at: Utc::now(),
            ..QueueDepths::default()
        };
        let mut broken = false;
        for p in &provinces {
            match depth(ch, &inbound_queue(&p.name)).await {
                Some(n) => {
                    depths.inbound.insert(p.name.clone(), n);
                }
                None => broken = true,
            }
            match depth(ch, &outbound_queue(&p.name)).await {
                Some(n) => {
                    depths.outbound.insert(p.name.clone(), n);
                }
                None => broken = true,
            }
        }
        for (name, queue) in [("padis", PADIS_QUEUE), ("coordination", COORDINATION_QUEUE)] {
            match depth(ch, queue).await {
                Some(n) => {
                    depths.outbound.insert(name.to_string(), n);
                }
                None => broken = true,
            }
        }
        depths.dead = depth(ch, DEAD_QUEUE).await;
        broken |= depths.dead.is_none();
        telemetry::queue_depths(&depths);
        observed.set_queues(depths);
        if broken {
            // A failed passive declare closes the channel: open a new one next time.
            channel = None;
        }
    }
    if let Some(ch) = channel {
        let _ = ch.close(200, "sampling stopped".into()).await;
    }
}

/// A queue's depth, or `None` if it cannot be read (missing queue, channel closed).
pub(crate) async fn depth(channel: &Channel, queue: &str) -> Option<u32> {
    if !channel.status().connected() {
        return None;
    }
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map(|q| q.message_count())
        .map_err(|e| tracing::debug!(queue, error = %e, "queue depth not read"))
        .ok()
}

/// Samples the database every [`DATABASE_INTERVAL`] until cancelled; also tells the
/// readiness whether the database answers, and keeps the metrics recorder tidy.
pub async fn sample_database(
    store: Store,
    provinces: Vec<ProvinceInfo>,
    health: Arc<Health>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(DATABASE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        telemetry::metrics_handle().run_upkeep();
        match database_sample(&store, &provinces, Utc::now().timestamp_millis()).await {
            Ok(sample) => {
                if !health.set_database(true) {
                    telemetry::reconnected("database");
                }
                telemetry::database_sample(&sample);
            }
            Err(e) => {
                health.set_database(false);
                tracing::warn!(error = %e, "database sample failed");
            }
        }
    }
}

/// One database sample at `now_ms`: every region province appears, with zeros when it
/// owes nothing and has sent nothing within the window.
pub async fn database_sample(
    store: &Store,
    provinces: &[ProvinceInfo],
    now_ms: i64,
) -> Result<DatabaseSample, crate::store::StoreError> {
    let mut sample = DatabaseSample::default();
    for p in provinces {
        sample.provinces.insert(p.name.clone(), ProvinceSample::default());
    }
    let activity = store
        .activity(now_ms - LAST_MESSAGE_WINDOW_MS, now_ms, now_ms)
        .await?;
    for (name, a) in activity {
        if let Some(s) = sample.provinces.get_mut(&name) {
            s.last_message_ms = a.last_ms;
        }
    }
    let owed = store.owed_expectations().await?;
    for (code, open, overdue) in owed.per_owner {
        let Some(p) = provinces.iter().find(|p| p.code == code) else {
            continue;
        };
        if let Some(s) = sample.provinces.get_mut(&p.name) {
            s.open = open;
            s.overdue = overdue;
        }
    }
    sample.uncovered = owed.uncovered;
    Ok(sample)
}
