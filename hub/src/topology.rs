//! The broker topology (DOMAIN.md §4): names, and an idempotent declaration.
//!
//! Per region province a fanout exchange and durable queue `yipanqi.in.<province>`
//! (the province writes only to its exchange) and a durable queue
//! `yipanqi.out.<province>` bound to `yipanqi.deliver` with `<code>.#`; beside them the
//! queues for PADIS, the coordination group and dead letters; and for queries, the
//! fanout exchange and queue `yipanqi.query` and a reply queue `yipanqi.reply.<province>`
//! per province. Re-declaring with the same
//! arguments is a no-op; an object that exists with other arguments stops the hub with a
//! sentence naming it.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, Connection, ExchangeKind};
use serde::{Deserialize, Serialize};
use yipanqi_adapters::ProvinceInfo;

/// The topic exchange every outbound copy goes through.
pub const DELIVER_EXCHANGE: &str = "yipanqi.deliver";
/// Deliveries outside the region.
pub const PADIS_QUEUE: &str = "yipanqi.out.padis";
/// Escalations for the regional coordination group.
pub const COORDINATION_QUEUE: &str = "yipanqi.out.coordination";
/// Rejected input: the original bytes with the reason in headers.
pub const DEAD_QUEUE: &str = "yipanqi.dead";
/// Queries from the provinces (a fanout exchange and the queue of the same name).
pub const QUERY_QUEUE: &str = "yipanqi.query";

/// The inbound exchange and queue of a province.
pub fn inbound_queue(province: &str) -> String {
    format!("yipanqi.in.{province}")
}

/// The outbound queue of a province.
pub fn outbound_queue(province: &str) -> String {
    format!("yipanqi.out.{province}")
}

/// The queue where a province may receive the answers to its queries (the other way is
/// RabbitMQ's direct reply-to).
pub fn reply_queue(province: &str) -> String {
    format!("yipanqi.reply.{province}")
}

/// Routing key of a dead letter.
pub fn dead_letter_key(province_code: &str, reason: &str) -> String {
    format!("dead.{province_code}.{reason}")
}

/// RabbitMQ queue type: classic for a single broker, quorum for a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueType {
    /// Classic durable queues (the default).
    #[default]
    Classic,
    /// Quorum queues, replicated across a cluster.
    Quorum,
}

/// A declaration the broker refused.
#[derive(Debug, thiserror::Error)]
#[error("cannot declare {object}: {cause}")]
pub struct TopologyError {
    /// The object in the way, e.g. "queue yipanqi.in.anhui".
    pub object: String,
    /// What the broker said, with a hint.
    pub cause: String,
    /// The object exists with other arguments: an operator must act, retrying won't help.
    pub conflict: bool,
}

/// Declares the whole topology for the region's provinces. Each declaration runs on a
/// fresh channel, since the broker closes a channel on a refused declaration.
pub async fn declare(
    connection: &Connection,
    provinces: &[ProvinceInfo],
    queue_type: QueueType,
) -> Result<(), TopologyError> {
    let d = Declarer {
        connection,
        queue_type,
    };
    d.exchange(DELIVER_EXCHANGE, ExchangeKind::Topic).await?;
    for p in provinces {
        let inbound = inbound_queue(&p.name);
        d.exchange(&inbound, ExchangeKind::Fanout).await?;
        d.queue(&inbound).await?;
        d.bind(&inbound, &inbound, "").await?;
        let outbound = outbound_queue(&p.name);
        d.queue(&outbound).await?;
        d.bind(&outbound, DELIVER_EXCHANGE, &format!("{}.#", p.code))
            .await?;
        d.queue(&reply_queue(&p.name)).await?;
    }
    d.exchange(QUERY_QUEUE, ExchangeKind::Fanout).await?;
    d.queue(QUERY_QUEUE).await?;
    d.bind(QUERY_QUEUE, QUERY_QUEUE, "").await?;
    for (queue, key) in [
        (PADIS_QUEUE, "padis.#"),
        (COORDINATION_QUEUE, "coord.#"),
        (DEAD_QUEUE, "dead.#"),
    ] {
        d.queue(queue).await?;
        d.bind(queue, DELIVER_EXCHANGE, key).await?;
    }
    Ok(())
}

struct Declarer<'a> {
    connection: &'a Connection,
    queue_type: QueueType,
}

impl Declarer<'_> {
    async fn channel(&self, object: &str) -> Result<Channel, TopologyError> {
        self.connection
            .create_channel()
            .await
            .map_err(|e| TopologyError {
                object: object.to_string(),
                cause: format!("no channel: {e}"),
                conflict: false,
            })
    }

    async fn exchange(&self, name: &str, kind: ExchangeKind) -> Result<(), TopologyError> {
        let object = format!("exchange {name}");
        let channel = self.channel(&object).await?;
        let options = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        let result = channel
            .exchange_declare(name.into(), kind.clone(), options, FieldTable::default())
            .await;
        finish(
            channel,
            object,
            result,
            &format!("a durable {kind:?} exchange"),
        )
        .await
    }

    async fn queue(&self, name: &str) -> Result<(), TopologyError> {
        let object = format!("queue {name}");
        let channel = self.channel(&object).await?;
        let mut args = FieldTable::default();
        let type_name = match self.queue_type {
            QueueType::Classic => "classic",
            QueueType::Quorum => "quorum",
        };
        args.insert(
            ShortString::from("x-queue-type"),
            AMQPValue::LongString(type_name.into()),
        );
        let options = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        let result = channel
            .queue_declare(name.into(), options, args)
            .await
            .map(|_| ());
        finish(
            channel,
            object,
            result,
            &format!("a durable {type_name} queue"),
        )
        .await
    }

    async fn bind(&self, queue: &str, exchange: &str, key: &str) -> Result<(), TopologyError> {
        let object = format!("binding of queue {queue} to exchange {exchange} with key '{key}'");
        let channel = self.channel(&object).await?;
        let result = channel
            .queue_bind(
                queue.into(),
                exchange.into(),
                key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await;
        finish(channel, object, result, "a binding").await
    }
}

async fn finish(
    channel: Channel,
    object: String,
    result: lapin::Result<()>,
    wanted: &str,
) -> Result<(), TopologyError> {
    match result {
        Ok(()) => {
            let _ = channel.close(200, "declared".into()).await;
            Ok(())
        }
        Err(e) => {
            let text = e.to_string();
            let conflict = text.contains("PRECONDITION_FAILED") || text.contains("inequivalent");
            let cause = if conflict {
                format!(
                    "it already exists with other arguments ({text}); the hub needs {wanted} — \
                     delete it or change the hub's configuration (queue_type) to match"
                )
            } else {
                text
            };
            Err(TopologyError {
                object,
                cause,
                conflict,
            })
        }
    }
}
