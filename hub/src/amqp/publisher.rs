//! Publishing with publisher confirms: every outbound copy of a batch is sent, then all
//! confirms are awaited together (pipelined, not one round-trip per message). The
//! inbound deliveries are acknowledged only after this returns `Ok`.

use futures_util::future::join_all;
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation};

/// One message to publish.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The exchange (always `yipanqi.deliver` for the hub's own output).
    pub exchange: String,
    /// Routing key.
    pub routing_key: String,
    /// Body.
    pub payload: Vec<u8>,
    /// AMQP properties.
    pub properties: BasicProperties,
}

/// A publish the broker did not confirm.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The channel or connection failed.
    #[error("broker error while publishing: {0}")]
    Broker(#[from] lapin::Error),
    /// The broker refused a message (nack).
    #[error("the broker refused a message with routing key {0}")]
    Nacked(String),
    /// No queue was bound for the routing key (mandatory publish returned).
    #[error("no queue is bound for routing key {0}")]
    Unroutable(String),
}

/// Builds AMQP properties for a JSON message.
pub fn json_properties(
    message_id: &str,
    correlation_id: Option<&str>,
    kind: &str,
    headers: &[(&str, String)],
) -> BasicProperties {
    let mut table = FieldTable::default();
    for (name, value) in headers {
        table.insert(
            ShortString::from(*name),
            AMQPValue::LongString(value.as_str().into()),
        );
    }
    let mut props = BasicProperties::default()
        .with_message_id(message_id.into())
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_type(kind.into())
        .with_headers(table);
    if let Some(c) = correlation_id {
        props = props.with_correlation_id(c.into());
    }
    props
}

/// Publishes every message on a channel in confirm mode and waits for all confirms.
pub async fn publish_all(channel: &Channel, items: &[Outbound]) -> Result<(), PublishError> {
    let mut pending = Vec::with_capacity(items.len());
    for item in items {
        let confirm = channel
            .basic_publish(
                item.exchange.as_str().into(),
                item.routing_key.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &item.payload,
                item.properties.clone(),
            )
            .await?;
        pending.push(confirm);
    }
    for (result, item) in join_all(pending).await.into_iter().zip(items) {
        match result? {
            Confirmation::Ack(None) | Confirmation::NotRequested => {}
            Confirmation::Ack(Some(_returned)) => {
                return Err(PublishError::Unroutable(item.routing_key.clone()))
            }
            Confirmation::Nack(_) => return Err(PublishError::Nacked(item.routing_key.clone())),
        }
    }
    Ok(())
}
