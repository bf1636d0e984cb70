//! `yipanqi demo`: the first thing a new user runs. The hub with an embedded SQLite file,
//! plus simulated provinces on the local broker: every province publishes traffic in its
//! own legacy format and answers what is delivered to it, until a few thousand messages
//! have been exchanged. Then a per-province summary; then the hub keeps running until
//! Ctrl-C (or exits, with `--exit`). The demo makes an API client per province and one for
//! the coordination group and ops, and leaves their tokens in a file beside its store, so
//! that the access rules can be tried at once.

use super::simulate::{self, SimulateArgs};
use crate::clock::{AcceleratedClock, Clock, SystemClock};
use crate::config::Config;
use crate::store::Store;
use crate::topology::inbound_queue;
use anyhow::{bail, Context};
use lapin::Connection;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use yipanqi_adapters::Registry;

/// Arguments of `yipanqi demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Stop after printing the summary instead of running until Ctrl-C.
    #[arg(long)]
    pub exit: bool,
    /// Legacy documents each province publishes.
    #[arg(long, default_value_t = 300)]
    pub count: usize,
    /// AMQP URL of the broker.
    #[arg(
        long,
        env = "YIPANQI_AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub amqp_url: String,
    /// SQLite file of the demo's store (default: a new file in the system's temp folder).
    #[arg(long)]
    pub database: Option<PathBuf>,
    /// Address of the hub's HTTP endpoints.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http_addr: std::net::SocketAddr,
    /// How much faster than real time the demo's clock runs, so that deadlines of weeks
    /// pass while you watch (86400: one day per second; 1: real time).
    #[arg(long, default_value_t = 86_400.0)]
    pub speed: f64,
}

/// Runs the demo.
pub async fn run(registry: Arc<Registry>, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let cancel = crate::hub::shutdown_signal();
    let db_path = args.database.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("yipanqi-demo-{}.db", std::process::id()))
    });
    let database_url = format!("sqlite://{}", db_path.display());
    let connection = Connection::connect(
        &args.amqp_url,
        lapin::ConnectionProperties::default().with_connection_name("yipanqi-demo".into()),
    )
    .await
    .with_context(|| {
        format!(
            "cannot reach RabbitMQ at {} — start it (rabbitmq-server -detached) or set YIPANQI_AMQP_URL",
            crate::store::redact_url(&args.amqp_url)
        )
    })?;
    let connection = Arc::new(connection);

    let (clients, tokens_file) = demo_clients(&registry, &db_path)?;
    let mut config = Config {
        amqp_url: args.amqp_url.clone(),
        database_url: database_url.clone(),
        http_addr: args.http_addr,
        ..Config::default()
    };
    config.access.clients = clients;
    config.deadlines.scan_interval_secs = 1;
    // The demo's time runs fast (never the hub's under `yipanqi run`): the hub and the
    // simulated provinces share this clock.
    let clock: Arc<dyn Clock> = Arc::new(AcceleratedClock::new(SystemClock.now(), args.speed));
    println!(
        "yipanqi demo: hub on {} with store {}; demo time runs {}× faster than real time",
        args.http_addr,
        db_path.display(),
        args.speed
    );
    let hub = tokio::spawn(crate::hub::run(
        config,
        registry.clone(),
        clock.clone(),
        cancel.clone(),
    ));
    wait_for_topology(&connection, &registry, &hub).await?;

    let sim = SimulateArgs {
        province: "all".into(),
        count: args.count,
        rate: 0.0,
        invalid_share: 0.03,
        duplicate_share: 0.02,
        answer: true,
        missing_share: 0.05,
        late_share: 0.1,
        // Held back up to 30 s: at the default speed, a month — past any deadline.
        late_secs: 30,
        idle_exit_secs: 0,
        seed: 2026,
        amqp_url: args.amqp_url.clone(),
    };
    let provinces = simulate::select(&registry, "all")?;
    let answer_stop = cancel.child_token();
    let answerers = {
        let (connection, registry, provinces, sim, stop) = (
            connection.clone(),
            registry.clone(),
            provinces.clone(),
            sim.clone(),
            answer_stop.clone(),
        );
        let clock = clock.clone();
        tokio::spawn(async move {
            simulate::answer_all(connection, registry, provinces, &sim, clock, stop).await
        })
    };
    let started = Instant::now();
    let published =
        simulate::publish_all(&connection, &registry, &provinces, &sim, clock.clone()).await?;
    println!(
        "published {} legacy documents from {} provinces; waiting for the hub…",
        published.values().map(|p| p.documents).sum::<usize>(),
        published.len()
    );

    let store = Store::connect(&database_url).await?;
    wait_until_quiet(&store, &connection, &registry, &cancel).await?;
    answer_stop.cancel();
    let answers = answerers.await.context("the answering task failed")??;
    wait_until_quiet(&store, &connection, &registry, &cancel).await?;

    let counts = store.province_counts().await?;
    println!();
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>6} {:>9} {:>8}  ",
        "province", "documents", "accepted", "delivered", "held", "rejected", "answers"
    );
    let mut total = [0i64; 6];
    for p in &provinces {
        let c = counts.get(&p.name).cloned().unwrap_or_default();
        let docs = published.get(&p.name).map(|x| x.documents).unwrap_or(0) as i64;
        let ans = answers.get(&p.name).copied().unwrap_or(0) as i64;
        let row = [docs, c.messages, c.delivered, c.held, c.rejected, ans];
        println!(
            "{:<10} {:>9} {:>9} {:>9} {:>6} {:>9} {:>8}  {}",
            p.name, row[0], row[1], row[2], row[3], row[4], row[5], p.label
        );
        for (t, v) in total.iter_mut().zip(row) {
            *t += v;
        }
    }
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>6} {:>9} {:>8}",
        "total", total[0], total[1], total[2], total[3], total[4], total[5]
    );
    println!("(documents: legacy documents published, re-sends included; accepted: canonical messages stored, answers included;");
    println!(" delivered: accepted messages confirmed on their owners' queues; held: stored with no destination, such as a");
    println!(" certificate whose holder's residence is unknown; answers: replies the province's system sent to deliveries)");
    let (states, steps) = store.expectation_summary().await?;
    let count = |s: &str| {
        states
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    println!(
        "answers owed: {} — answered on time {}, answered late {}, still open {}, overdue {}; {} reminder steps taken (a reminder to the owner and an escalation to the coordination group each)",
        states.iter().map(|(_, n)| n).sum::<i64>(),
        count("answered_on_time"),
        count("answered_late"),
        count("open"),
        count("overdue"),
        steps
    );
    println!("rejections by reason:");
    for (province, reason, n) in store.rejection_counts().await? {
        println!("  {province:<10} {reason:<22} {n}");
    }
    println!(
        "{} canonical messages exchanged and {} rejections explained in {:.1} s; store {}",
        total[1],
        total[4],
        started.elapsed().as_secs_f64(),
        db_path.display()
    );
    println!(
        "API tokens of the demo's clients (a province each, coordination, ops): {}\n  \
         e.g. curl -H \"Authorization: Bearer $(awk '$1==\"coordination\"{{print $2}}' {})\" \
         'http://{}/api/reports/delivery?format=html'",
        tokens_file.display(),
        tokens_file.display(),
        args.http_addr
    );
    for line in super::report::demo_summary(&store, &registry, clock.now(), &db_path).await? {
        println!("{line}");
    }

    if args.exit {
        cancel.cancel();
    } else {
        println!(
            "the hub keeps running on {}; Ctrl-C to stop",
            args.http_addr
        );
    }
    hub.await.context("the hub task failed")??;
    let _ = connection.close(200, "demo done".into()).await;
    Ok(ExitCode::SUCCESS)
}

/// An API client per province, the coordination group's and ops', with fresh tokens
/// written to `<store>.tokens` (readable by its owner only).
fn demo_clients(
    registry: &Registry,
    db_path: &std::path::Path,
) -> anyhow::Result<(Vec<crate::access::ClientConfig>, PathBuf)> {
    use crate::access::{tokens, ClientConfig, Role};
    let mut parties: Vec<(String, Role, Option<String>)> = registry
        .provinces()
        .map(|p| (p.name.clone(), Role::Province, Some(p.name.clone())))
        .collect();
    parties.push(("coordination".into(), Role::Coordination, None));
    parties.push(("ops".into(), Role::Ops, None));
    let mut clients = Vec::new();
    let mut text = String::from("# yipanqi demo API tokens: who token\n");
    for (who, role, province) in parties {
        let token = tokens::generate();
        text.push_str(&format!("{who} {token}\n"));
        clients.push(ClientConfig {
            name: format!("demo-{who}"),
            role,
            province,
            token_sha256: tokens::hash(&token),
        });
    }
    let path = db_path.with_extension("tokens");
    crate::definitions::write_private(&path, &text)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok((clients, path))
}

/// Waits until the hub has declared the inbound queues (or failed).
async fn wait_for_topology(
    connection: &Connection,
    registry: &Registry,
    hub: &tokio::task::JoinHandle<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if hub.is_finished() {
            bail!("the hub stopped during start-up (see the log above)");
        }
        if queue_depths(connection, registry).await.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the hub did not declare its queues within a minute");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn queue_depths(connection: &Connection, registry: &Registry) -> anyhow::Result<u32> {
    let channel = connection.create_channel().await?;
    let mut total = 0;
    for p in registry.provinces() {
        let queue = inbound_queue(&p.name);
        total += crate::gauges::depth(&channel, &queue)
            .await
            .with_context(|| format!("cannot read the depth of {queue}"))?;
    }
    let _ = channel.close(200, "checked".into()).await;
    Ok(total)
}

/// Waits until the inbound queues are empty and the store stops growing.
async fn wait_until_quiet(
    store: &Store,
    connection: &Connection,
    registry: &Registry,
    cancel: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let mut last = None;
    let mut stable_since = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(600);
    while !cancel.is_cancelled() && Instant::now() < deadline {
        let depth = queue_depths(connection, registry).await.unwrap_or(u32::MAX);
        let counts = store.province_counts().await?;
        let snapshot: Vec<(i64, i64, i64)> = counts
            .values()
            .map(|c| (c.messages, c.delivered, c.rejected))
            .collect();
        if last.as_ref() != Some(&snapshot) || depth > 0 {
            last = Some(snapshot);
            stable_since = Instant::now();
        } else if stable_since.elapsed() > Duration::from_secs(3) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}
