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

/// Runs `attempt` until it succeeds, waiting the backoff between tries and logging one
/// line per failure (`target` names what is unreachable: "broker", "database");
/// `None` if cancelled first.
pub async fn retry_until_connected<T, E, F, Fut>(
    target: &'static str,
    max_delay: Duration,
    cancel: &CancellationToken,
    mut attempt: F,
) -> Option<T>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut delays = backoff(max_delay);
    let mut tries = 0u32;
    loop {
        tries += 1;
        let result = tokio::select! {
            _ = cancel.cancelled() => return None,
            result = attempt() => result,
        };
        match result {
            Ok(value) => {
                tracing::info!(attempt = tries, connection = target, "connected");
                return Some(value);
            }
            Err(e) => {
                let delay = delays.next().unwrap_or(max_delay);
                crate::telemetry::connect_failed(target);
                tracing::warn!(attempt = tries, connection = target, retry_in_ms = delay.as_millis() as u64, error = %e, "{target} unreachable, retrying");
                tokio::select! {
                    _ = cancel.cancelled() => return None,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// Connects to the broker, retrying until it succeeds; `None` if cancelled first.
pub async fn connect_with_retry(
    url: &str,
    name: &str,
    max_delay: Duration,
    cancel: &CancellationToken,
) -> Option<Connection> {
    retry_until_connected("broker", max_delay, cancel, || {
        let props = ConnectionProperties::default().with_connection_name(name.into());
        Connection::connect(url, props)
    })
    .await
}
