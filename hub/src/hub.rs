//! The running hub: connects to the database and the broker (retrying both), declares
//! the topology, runs one consumer per region province and the HTTP endpoints, and
//! reconnects when the broker goes away. On cancellation (SIGINT/SIGTERM) it stops
//! consuming, lets every in-flight batch finish and be acknowledged, and returns.

use crate::access::Access;
use crate::amqp::connection::{backoff, connect_with_retry, retry_until_connected};
use crate::amqp::consumer::{self, ConsumerSettings};
use crate::clock::Clock;
use crate::config::Config;
use crate::deadlines::{self, scanner::Scanner, Deadlines};
use crate::health::Health;
use crate::pipeline::{Pipeline, PipelineSettings};
use crate::sharing::{self, Sharing};
use crate::store::{redact_url, Store};
use crate::{api, gauges, telemetry, topology};
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use yipanqi_adapters::{ProvinceInfo, Registry};

/// Runs the hub until `cancel` fires. Errors are configuration problems the operator
/// must fix (a port in use, a queue declared with other arguments); outages of the
/// broker or database are waited out instead.
pub async fn run(
    config: Config,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let provinces: Vec<ProvinceInfo> = registry.provinces().cloned().collect();
    // The recorder first: what happens before it is installed is not counted.
    telemetry::metrics_handle();
    telemetry::set_region(provinces.iter().map(|p| (p.code.as_str(), p.name.as_str())));
    let access = Arc::new(Access::load(&config.access, &registry)?);
    if access.is_empty() {
        tracing::warn!(
            "no API clients are configured ([access] clients or YIPANQI_CLIENTS_FILE): \
             every /api endpoint but /api/status refuses; `yipanqi token new` makes one"
        );
    }
    let health = Health::new(provinces.len());
    let listener = tokio::net::TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("cannot listen on {} (YIPANQI_HTTP_ADDR)", config.http_addr))?;
    let api = api::AppState::new(health.clone(), registry.clone(), access.clone())
        .with_clock(clock.clone());
    let mut tasks = JoinSet::new();
    tasks.spawn(api::serve(listener, api.clone(), cancel.clone()));
    tracing::info!(
        provinces = provinces.len(),
        http = %config.http_addr,
        "yipanqi hub starting: {}",
        config.describe()
    );

    let max_delay = Duration::from_secs(config.reconnect_max_secs.max(1));
    let Some(store) = connect_store(&config.database_url, max_delay, &cancel).await else {
        return Ok(());
    };
    health.set_database(true);
    api.set_store(store.clone());
    let sharing = Sharing::new(store.clone(), registry.clone(), clock.clone(), &config.access)
        .await
        .context("cannot prepare the audit of lookups")?;
    api.set_sharing(sharing.clone());
    tasks.spawn({
        // The counts of unauthenticated requests reach the audit within seconds of their
        // minute (and the rest when the hub stops, below).
        let (sharing, cancel) = (sharing.clone(), cancel.clone());
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            while tokio::select! {
                _ = cancel.cancelled() => false,
                _ = tick.tick() => true,
            } {
                if let Err(e) = sharing.flush_unauthenticated(false).await {
                    tracing::warn!(error = %e, "cannot write the count of unauthenticated requests to the audit");
                }
            }
        }
    });
    tasks.spawn(gauges::sample_database(
        store.clone(),
        provinces.clone(),
        health.clone(),
        cancel.clone(),
    ));
    let calendar = deadlines::load_calendar(config.calendar_dir.as_deref(), &store).await?;
    let deadlines = Arc::new(Deadlines::new(config.deadlines.clone(), calendar));
    let scanner = Scanner::new(
        store.clone(),
        clock.clone(),
        deadlines.clone(),
        registry.clone(),
    );
    let pipeline = Pipeline::new(
        store,
        registry,
        clock,
        deadlines,
        PipelineSettings {
            max_message_bytes: config.max_message_bytes,
        },
    );
    let settings = ConsumerSettings {
        prefetch: config.prefetch,
        batch_size: config.batch_size.max(1),
        batch_linger: Duration::from_millis(config.batch_linger_ms),
    };

    let mut connected_before = false;
    while !cancel.is_cancelled() {
        let Some(connection) =
            connect_with_retry(&config.amqp_url, "yipanqi-hub", max_delay, &cancel).await
        else {
            break;
        };
        let connection = Arc::new(connection);
        match topology::declare(&connection, &provinces, config.queue_type).await {
            Ok(()) => {}
            Err(e) if e.conflict => return Err(e.into()),
            Err(e) => {
                // The connection failed under us: try again like any outage.
                tracing::warn!(error = %e, "topology not declared; reconnecting");
                let _ = connection.close(200, "retrying".into()).await;
                pause(max_delay, &cancel).await;
                continue;
            }
        }
        health.set_broker(true);
        if connected_before {
            telemetry::reconnected("broker");
        }
        connected_before = true;

        let round = cancel.child_token();
        let mut consumers = JoinSet::new();
        for p in &provinces {
            consumers.spawn(consumer::run(
                connection.clone(),
                p.name.clone(),
                pipeline.clone(),
                settings.clone(),
                health.clone(),
                round.clone(),
            ));
        }
        {
            // Never ends before the round does, so it is not taken for a lost connection.
            let sampler = gauges::poll_queues(
                connection.clone(),
                provinces.clone(),
                api.observed(),
                round.clone(),
            );
            consumers.spawn(async move {
                sampler.await;
                Ok(())
            });
        }
        consumers.spawn(sharing::query::run(
            connection.clone(),
            config.amqp_url.clone(),
            sharing.clone(),
            access.clone(),
            round.clone(),
        ));
        let scan_channel = connection.create_channel().await;
        match scan_channel {
            Ok(channel) => {
                if let Err(e) = channel
                    .confirm_select(lapin::options::ConfirmSelectOptions::default())
                    .await
                {
                    tracing::warn!(error = %e, "no confirm channel for the overdue scanner");
                } else {
                    let scanner = scanner.clone();
                    let stop = round.clone();
                    consumers.spawn(async move {
                        scanner
                            .run(channel, stop)
                            .await
                            .map_err(consumer::ConsumerError::Broker)
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "no channel for the overdue scanner"),
        }
        // The first consumer (or the scanner) to stop on its own means the connection is
        // gone: stop the others (they finish their batch) and reconnect.
        let mut failed = false;
        tokio::select! {
            biased;
            _ = cancel.cancelled() => {}
            Some(result) = consumers.join_next() => {
                // At shutdown a consumer may end before the cancellation is seen here:
                // that is no outage.
                failed = !cancel.is_cancelled();
                match result {
                    _ if !failed => tracing::debug!("a consumer ended as the hub stops"),
                    Ok(Err(e)) => tracing::warn!(error = %e, "consumer stopped; reconnecting"),
                    Ok(Ok(())) => tracing::warn!("consumer stopped; reconnecting"),
                    Err(e) => tracing::error!(error = %e, "consumer task failed; reconnecting"),
                }
            }
        }
        round.cancel();
        let grace = Duration::from_secs(config.shutdown_grace_secs);
        if tokio::time::timeout(grace, async {
            while consumers.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            tracing::warn!("in-flight batches did not finish within the grace period; they return to the queues");
            consumers.abort_all();
        }
        health.set_broker(false);
        let _ = connection.close(200, "yipanqi hub stopping".into()).await;
        if failed {
            pause(max_delay, &cancel).await;
        }
    }
    if let Err(e) = sharing.flush_unauthenticated(true).await {
        tracing::warn!(error = %e, "cannot write the count of unauthenticated requests to the audit");
    }
    tasks.shutdown().await;
    tracing::info!("yipanqi hub stopped");
    Ok(())
}

/// Waits a first backoff step before reconnecting (or until cancelled).
async fn pause(max_delay: Duration, cancel: &CancellationToken) {
    let delay = backoff(max_delay).next().unwrap_or(Duration::from_secs(1));
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = tokio::time::sleep(delay) => {}
    }
}

/// Connects to the database, retrying with backoff; `None` if cancelled first.
async fn connect_store(
    url: &str,
    max_delay: Duration,
    cancel: &CancellationToken,
) -> Option<Store> {
    let store = retry_until_connected("database", max_delay, cancel, || Store::connect(url)).await;
    if store.is_some() {
        tracing::info!(database = %redact_url(url), "database ready");
    }
    store
}

/// A token cancelled on SIGINT or SIGTERM.
pub fn shutdown_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = ctrl_c => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = ctrl_c.await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
        tracing::info!("shutdown requested: finishing in-flight batches");
        t.cancel();
    });
    token
}
