//! One consumer per province queue. Deliveries are gathered into batches (up to
//! `batch_size`, or whatever arrived within `batch_linger` of the first), each batch goes
//! through the pipeline in one transaction, its outbound copies are published with
//! confirms pipelined, and only then are the inbound deliveries acknowledged — with one
//! `basic.ack(multiple)`, since a channel's deliveries are handled in order.
//!
//! A batch that cannot be stored or published is returned to the queue (`nack` with
//! requeue) and tried again; a batch that was stored and published is never lost, and
//! its redelivery is recognised by message id. When the database answers but refuses a
//! batch, its documents are stored one by one, and one it refuses on its own goes to
//! `yipanqi.dead` unstored rather than blocking the queue forever.

use crate::amqp::publisher::{publish_all, PublishError};
use crate::health::Health;
use crate::pipeline::Pipeline;
use crate::telemetry::{self, Stage};
use crate::topology::inbound_queue;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// How a province's consumer batches its work.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// Unacknowledged deliveries the broker may push ahead.
    pub prefetch: u16,
    /// Documents per batch.
    pub batch_size: usize,
    /// How long a started batch waits for more documents.
    pub batch_linger: Duration,
}

/// Why a consumer stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    /// The broker connection or channel failed; the supervisor reconnects.
    #[error("broker error: {0}")]
    Broker(#[from] lapin::Error),
    /// The broker ended the consumer (queue deleted, connection closed).
    #[error("the broker ended the consumer of {0}")]
    Ended(String),
}

/// Consumes one province's inbound queue until cancelled (then finishes the batch in
/// hand, acknowledges it and returns `Ok`) or until the broker fails (returns `Err`).
pub async fn run(
    connection: Arc<Connection>,
    province: String,
    pipeline: Pipeline,
    settings: ConsumerSettings,
    health: Arc<Health>,
    cancel: CancellationToken,
) -> Result<(), ConsumerError> {
    let queue = inbound_queue(&province);
    let consume = connection.create_channel().await?;
    consume
        .basic_qos(settings.prefetch, BasicQosOptions::default())
        .await?;
    let publish = connection.create_channel().await?;
    publish
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut consumer = consume
        .basic_consume(
            queue.as_str().into(),
            format!("yipanqi-hub-{province}").as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let _running = health.consumer_started();
    tracing::info!(province, queue, "consuming");

    loop {
        let first = tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            next = consumer.next() => match next {
                Some(delivery) => delivery?,
                None => return Err(ConsumerError::Ended(queue)),
            },
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + settings.batch_linger;
        while batch.len() < settings.batch_size {
            match tokio::time::timeout_at(deadline, consumer.next()).await {
                Ok(Some(delivery)) => batch.push(delivery?),
                Ok(None) => return Err(ConsumerError::Ended(queue)),
                Err(_elapsed) => break,
            }
        }
        handle_batch(&consume, &publish, &province, &pipeline, &health, batch).await?;
    }
    let _ = consume.close(200, "hub shutting down".into()).await;
    let _ = publish.close(200, "hub shutting down".into()).await;
    tracing::info!(province, "consumer stopped");
    Ok(())
}

async fn handle_batch(
    consume: &Channel,
    publish: &Channel,
    province: &str,
    pipeline: &Pipeline,
    health: &Health,
    batch: Vec<Delivery>,
) -> Result<(), ConsumerError> {
    let Some(last) = batch.last().map(|d| d.delivery_tag) else {
        return Ok(());
    };
    telemetry::batch_taken(province, batch.len());
    let taken = Instant::now();
    let stamps: Vec<Option<u64>> = batch.iter().map(|d| *d.properties.timestamp()).collect();
    let tags: Vec<u64> = batch.iter().map(|d| d.delivery_tag).collect();
    let documents: Vec<Vec<u8>> = batch.into_iter().map(|d| d.data).collect();
    match pipeline.process(province, &documents).await {
        Ok(outcome) => {
            if !health.set_database(true) {
                telemetry::reconnected("database");
            }
            if deliver(publish, province, pipeline, &outcome).await? {
                consume
                    .basic_ack(last, BasicAckOptions { multiple: true })
                    .await?;
                telemetry::acknowledged(province, &end_to_end(&stamps, taken));
                return Ok(());
            }
            requeue(consume, last).await
        }
        Err(e) if pipeline.store().ping().await.is_err() => {
            health.set_database(false);
            tracing::error!(province, documents = documents.len(), error = %e, "cannot store batch; returning it to the queue");
            requeue(consume, last).await
        }
        Err(e) => {
            // The database answers but refused the batch: one of its documents is the
            // cause. Each is tried alone, so that the others go through.
            tracing::warn!(province, documents = documents.len(), error = %e, "the database refused a batch; storing its documents one by one");
            for (i, (document, tag)) in documents.iter().zip(&tags).enumerate() {
                let single = std::slice::from_ref(document);
                let outcome = match pipeline.process(province, single).await {
                    Ok(outcome) => outcome,
                    Err(e) if pipeline.store().ping().await.is_err() => {
                        health.set_database(false);
                        tracing::error!(province, error = %e, "cannot store document; returning the rest of the batch to the queue");
                        return requeue(consume, last).await;
                    }
                    Err(e) => {
                        // Never stored, never blocking: the bytes go to the dead letters.
                        tracing::error!(province, error = %e, "the database refuses this document; it goes to yipanqi.dead unstored");
                        pipeline.unstorable(province, document)
                    }
                };
                if !deliver(publish, province, pipeline, &outcome).await? {
                    // This document and those after it go back to the queue.
                    return requeue(consume, last).await;
                }
                consume.basic_ack(*tag, BasicAckOptions { multiple: false }).await?;
                telemetry::acknowledged(province, &end_to_end(&stamps[i..=i], taken));
            }
            Ok(())
        }
    }
}

/// Publishes a batch's copies, awaits the confirms and records them. `Ok(false)`: not
/// confirmed or not recorded, so the batch must return to the queue.
async fn deliver(
    publish: &Channel,
    province: &str,
    pipeline: &Pipeline,
    outcome: &crate::pipeline::BatchOutcome,
) -> Result<bool, ConsumerError> {
    let publishing = Instant::now();
    match publish_all(publish, &outcome.outbound).await {
        Ok(()) => telemetry::stage(province, Stage::PublishConfirm, publishing.elapsed()),
        Err(PublishError::Broker(e)) => return Err(e.into()),
        Err(e) => {
            tracing::error!(province, error = %e, "outbound copies not confirmed; returning the batch to the queue");
            return Ok(false);
        }
    }
    if let Err(e) = pipeline.confirmed(outcome).await {
        // The copies are out; recording that failed. Redelivery republishes them with the
        // same ids, which consumers de-duplicate: better twice than never.
        tracing::error!(province, error = %e, "cannot record confirms; returning the batch to the queue");
        return Ok(false);
    }
    telemetry::delivered(province, outcome.outbound.len());
    Ok(true)
}

/// Each document's end-to-end time: from its AMQP `timestamp` (whole seconds, set by the
/// publisher, so the wait in the queue counts) when it has one, else from when the hub
/// took the batch.
fn end_to_end(stamps: &[Option<u64>], taken: Instant) -> Vec<Duration> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    stamps
        .iter()
        .map(|stamp| match stamp {
            Some(secs) => now.saturating_sub(Duration::from_secs(*secs)),
            None => taken.elapsed(),
        })
        .collect()
}

/// Returns every unacknowledged delivery up to `last` to the queue, after a pause so that
/// a failing database is not hammered.
async fn requeue(consume: &Channel, last: u64) -> Result<(), ConsumerError> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    consume
        .basic_nack(
            last,
            BasicNackOptions {
                multiple: true,
                requeue: true,
            },
        )
        .await?;
    Ok(())
}
