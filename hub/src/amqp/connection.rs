//! Connecting to the broker with bounded exponential backoff. The hub starts even when
//! RabbitMQ is down: it logs one line per failed attempt and keeps trying until it
//! connects or is told to stop.

use backon::{BackoffBuilder, ExponentialBuilder};
use lapin::{Connection, ConnectionProperties};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The delays between attempts: 200 ms doubling up to `max`, with jitter, forever.
pub fn backoff(max: Duration) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(max)
        .with_jitter()
        .without_max_times()
        .build()
}

/// Connects, retrying until it succeeds; `None` if cancelled first.
pub async fn connect_with_retry(
    url: &str,
    name: &str,
    max_delay: Duration,
    cancel: &CancellationToken,
) -> Option<Connection> {
    let mut delays = backoff(max_delay);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let props = ConnectionProperties::default().with_connection_name(name.into());
        match Connection::connect(url, props).await {
            Ok(connection) => {
                tracing::info!(attempt, "connected to the broker");
                return Some(connection);
            }
            Err(e) => {
                let delay = delays.next().unwrap_or(max_delay);
                metrics::counter!("yipanqi_reconnects_total", "target" => "broker").increment(1);
                tracing::warn!(attempt, retry_in_ms = delay.as_millis() as u64, error = %e, "broker unreachable, retrying");
                tokio::select! {
                    _ = cancel.cancelled() => return None,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}
