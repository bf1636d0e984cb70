//! `yipanqi simulate`: acts as the provinces' legacy systems. It publishes realistic
//! traffic in each province's own wire format (rendered by the province's mapping, so a
//! newly onboarded province is simulated too), and with `--answer` consumes a province's
//! outbound queue and answers what it owes, in that province's format.

use crate::clock::{Clock, SystemClock};
use crate::synthetic::{self, Synth, UNPROMPTED};
use crate::topology::{inbound_queue, outbound_queue};
use anyhow::Context;
use chrono::{DateTime, FixedOffset};
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use rand::Rng;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use yipanqi_adapters::{Mapping, ProvinceInfo, Registry, RenderOptions};
use yipanqi_schemas::CanonicalMessage;

/// Arguments of `yipanqi simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// The province to act as (pinyin name or code), or `all`.
    #[arg(long, default_value = "all")]
    pub province: String,
    /// Legacy documents to publish per province.
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Documents per second per province (0: as fast as the broker takes them).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Share of documents sent with a realistic defect (bad ID check character, truncation).
    #[arg(long, default_value_t = 0.03)]
    pub invalid_share: f64,
    /// Share of documents sent twice (a legacy system retrying).
    #[arg(long, default_value_t = 0.02)]
    pub duplicate_share: f64,
    /// Consume the province's outbound queue and answer what it owes instead of publishing.
    #[arg(long)]
    pub answer: bool,
    /// With --answer: share of owed answers never sent.
    #[arg(long, default_value_t = 0.05)]
    pub missing_share: f64,
    /// With --answer: share of answers held back before sending.
    #[arg(long, default_value_t = 0.1)]
    pub late_share: f64,
    /// With --answer: the longest a late answer is held back, in seconds (between half
    /// this and this).
    #[arg(long, default_value_t = 5)]
    pub late_secs: u64,
    /// With --answer: stop after this many seconds without a delivery (0: run until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    pub idle_exit_secs: u64,
    /// Seed for the generated traffic.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// AMQP URL of the broker.
    #[arg(
        long,
        env = "YIPANQI_AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub amqp_url: String,
}

/// Where the answering simulator's serial numbers start: publishing uses those below.
const ANSWER_SERIALS: u64 = 600_000;

/// What one province's simulator published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// Legacy documents published (duplicates included).
    pub documents: usize,
    /// Canonical records inside them.
    pub records: usize,
    /// Documents sent with a defect on purpose.
    pub defective: usize,
    /// Documents sent a second time on purpose.
    pub duplicates: usize,
}

/// Runs the command.
pub async fn run(registry: Arc<Registry>, args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let provinces = select(&registry, &args.province)?;
    let connection = Connection::connect(
        &args.amqp_url,
        ConnectionProperties::default().with_connection_name("yipanqi-simulate".into()),
    )
    .await
    .with_context(|| {
        format!(
            "cannot reach the broker at {}",
            crate::store::redact_url(&args.amqp_url)
        )
    })?;
    let connection = Arc::new(connection);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if args.answer {
        let cancel = crate::hub::shutdown_signal();
        let answered = answer_all(
            connection.clone(),
            registry,
            provinces,
            &args,
            clock.clone(),
            cancel,
        )
        .await?;
        for (province, n) in answered {
            println!("{province}: {n} answers sent");
        }
    } else {
        let published = publish_all(&connection, &registry, &provinces, &args, clock).await?;
        for (province, p) in published {
            println!(
                "{province}: {} documents ({} records), {} defective, {} sent twice",
                p.documents, p.records, p.defective, p.duplicates
            );
        }
    }
    let _ = connection.close(200, "simulation done".into()).await;
    Ok(ExitCode::SUCCESS)
}

/// The provinces named by `--province`.
pub fn select(registry: &Registry, wanted: &str) -> anyhow::Result<Vec<ProvinceInfo>> {
    if wanted == "all" {
        return Ok(registry.provinces().cloned().collect());
    }
    let name = super::province_name(registry, wanted)?;
    Ok(registry
        .provinces()
        .filter(|p| p.name == name)
        .cloned()
        .collect())
}

/// Publishes `args.count` documents for each province, concurrently, stamped with
/// `clock`'s time.
pub async fn publish_all(
    connection: &Connection,
    registry: &Registry,
    provinces: &[ProvinceInfo],
    args: &SimulateArgs,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<BTreeMap<String, Published>> {
    let region: Vec<ProvinceInfo> = registry.provinces().cloned().collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, p) in provinces.iter().enumerate() {
        let Some(mapping) = registry.get(&p.name).cloned() else {
            continue;
        };
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let synth = Synth::new(args.seed.wrapping_add(i as u64 * 7919), region.clone());
        let args = args.clone();
        let p = p.clone();
        let clock = clock.clone();
        tasks.spawn(async move {
            let result = publish_province(&channel, &mapping, synth, &args, clock.as_ref()).await;
            let _ = channel.close(200, "done".into()).await;
            (p.name, result)
        });
    }
    let mut all = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (name, result) = joined.context("a simulator task failed")?;
        all.insert(name, result?);
    }
    Ok(all)
}

async fn publish_province(
    channel: &Channel,
    mapping: &Mapping,
    mut synth: Synth,
    args: &SimulateArgs,
    clock: &dyn Clock,
) -> anyhow::Result<Published> {
    let province = mapping.province().clone();
    let exchange = inbound_queue(&province.name);
    let mut published = Published::default();
    let interval = (args.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate));
    for n in 0..args.count {
        let now = clock.now();
        let records = if mapping.is_batch() { 1 + (n % 5) } else { 1 };
        let division = synth.division(&province.code);
        let drafts = (0..records)
            .map(|_| {
                let kind = UNPROMPTED[synth.next_serial() as usize % UNPROMPTED.len()];
                synth.draft(&province, &division, kind, now.date_naive())
            })
            .collect();
        let messages = document(mapping, &mut synth, &division, now, drafts)?;
        let mut bytes = mapping.render(&messages, &RenderOptions { variant: n as u64 })?;
        if synth.chance(args.invalid_share) {
            bytes = defect(&mut synth, bytes, &messages);
            published.defective += 1;
        }
        publish(channel, &exchange, &messages[0].source.message_id, &bytes).await?;
        published.documents += 1;
        published.records += messages.len();
        if synth.chance(args.duplicate_share) {
            publish(channel, &exchange, &messages[0].source.message_id, &bytes).await?;
            published.documents += 1;
            published.duplicates += 1;
        }
        if let Some(pause) = interval {
            tokio::time::sleep(pause).await;
        }
    }
    channel.wait_for_confirms().await?;
    Ok(published)
}

/// Completes drafts into one legacy document's canonical messages, with a fresh legacy id.
fn document(
    mapping: &Mapping,
    synth: &mut Synth,
    division: &str,
    now: DateTime<FixedOffset>,
    drafts: Vec<synthetic::Draft>,
) -> anyhow::Result<Vec<CanonicalMessage>> {
    let id = mapping.render_message_id(division, now, synth.next_serial());
    finish_document(mapping, &id, now, drafts)
}

/// Completes drafts into the canonical messages of the legacy document `id`.
fn finish_document(
    mapping: &Mapping,
    id: &str,
    now: DateTime<FixedOffset>,
    drafts: Vec<synthetic::Draft>,
) -> anyhow::Result<Vec<CanonicalMessage>> {
    let province = mapping.province();
    // Whole minutes: the coarsest legacy clock (Jiangxi's) can say exactly this time.
    let sent = now
        .with_timezone(&crate::clock::beijing_offset())
        .with_whole_minute();
    synthetic::finish(province, id, sent, drafts).map_err(|r| {
        anyhow::anyhow!(
            "generated an invalid {} message ({}: {})",
            province.name,
            r.reason,
            r.detail
        )
    })
}

trait WithWholeMinute {
    fn with_whole_minute(self) -> Self;
}

impl WithWholeMinute for DateTime<FixedOffset> {
    fn with_whole_minute(self) -> Self {
        use chrono::Timelike;
        self.with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(self)
    }
}

/// A realistic defect: a mistyped ID check character, or a document cut short.
fn defect(synth: &mut Synth, mut bytes: Vec<u8>, messages: &[CanonicalMessage]) -> Vec<u8> {
    let id = messages
        .first()
        .and_then(|m| m.subject.as_ref())
        .map(|s| s.id_number.as_str().to_string());
    match id {
        Some(id) if synth.chance(0.7) => {
            let (first17, check) = id.split_at(17);
            let wrong = if check == "0" { "1" } else { "0" };
            let good = id.as_bytes();
            let bad = format!("{first17}{wrong}");
            if let Some(at) = bytes.windows(good.len()).position(|w| w == good) {
                bytes[at..at + good.len()].copy_from_slice(bad.as_bytes());
            }
            bytes
        }
        _ => {
            bytes.truncate(bytes.len() * 2 / 3);
            bytes
        }
    }
}

async fn publish(
    channel: &Channel,
    exchange: &str,
    legacy_id: &str,
    bytes: &[u8],
) -> anyhow::Result<()> {
    channel
        .basic_publish(
            exchange.into(),
            "".into(),
            BasicPublishOptions::default(),
            bytes,
            BasicProperties::default()
                .with_message_id(legacy_id.into())
                .with_app_id("yipanqi-simulate".into())
                .with_delivery_mode(2),
        )
        .await?;
    Ok(())
}

/// Answers deliveries for each province until cancelled (or idle); returns the answers
/// sent per province.
pub async fn answer_all(
    connection: Arc<Connection>,
    registry: Arc<Registry>,
    provinces: Vec<ProvinceInfo>,
    args: &SimulateArgs,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) -> anyhow::Result<BTreeMap<String, usize>> {
    let region: Vec<ProvinceInfo> = registry.provinces().cloned().collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, p) in provinces.into_iter().enumerate() {
        let Some(mapping) = registry.get(&p.name).cloned() else {
            continue;
        };
        // Answers take their legacy ids from a range of their own.
        let synth = Synth::with_serials_from(
            args.seed.wrapping_add(1_000_003 + i as u64),
            region.clone(),
            ANSWER_SERIALS,
        );
        let connection = connection.clone();
        let args = args.clone();
        let cancel = cancel.clone();
        let clock = clock.clone();
        tasks.spawn(async move {
            let n = answer_province(&connection, &mapping, synth, &args, clock, cancel).await;
            (p.name, n)
        });
    }
    let mut all = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (name, result) = joined.context("an answering task failed")?;
        all.insert(name, result?);
    }
    Ok(all)
}

async fn answer_province(
    connection: &Connection,
    mapping: &Mapping,
    mut synth: Synth,
    args: &SimulateArgs,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) -> anyhow::Result<usize> {
    let province = mapping.province().clone();
    let consume = connection.create_channel().await?;
    let queue = outbound_queue(&province.name);
    consume
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("queue {queue} does not exist: start the hub first"))?;
    consume.basic_qos(50, BasicQosOptions::default()).await?;
    let publish_channel = connection.create_channel().await?;
    publish_channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut consumer = consume
        .basic_consume(
            queue.as_str().into(),
            format!("yipanqi-simulate-{}", province.name)
                .as_str()
                .into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let exchange = inbound_queue(&province.name);
    let idle = (args.idle_exit_secs > 0).then(|| Duration::from_secs(args.idle_exit_secs));
    let mut answered = 0usize;
    let mut late = tokio::task::JoinSet::new();
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => break,
            next = async {
                match idle {
                    Some(d) => tokio::time::timeout(d, consumer.next()).await.ok().flatten(),
                    None => consumer.next().await,
                }
            } => next,
        };
        let Some(delivery) = next else { break };
        let delivery = delivery?;
        let original: Option<CanonicalMessage> = serde_json::from_slice(&delivery.data).ok();
        delivery.ack(BasicAckOptions::default()).await?;
        let Some(original) = original else { continue };
        if synth.chance(args.missing_share) {
            continue;
        }
        let target = delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get("x-yipanqi-target"))
            .and_then(|v| v.as_long_string().map(|s| s.to_string()))
            .unwrap_or_else(|| format!("{}0000", province.code));
        let role = delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get("x-yipanqi-role"))
            .and_then(|v| v.as_long_string().map(|s| s.to_string()));
        if role.as_deref() == Some("assist") {
            continue; // only the lead answers a shared case
        }
        if synth
            .answer_draft(&original, &target, clock.now().date_naive())
            .is_none()
        {
            continue; // nothing is owed for this kind
        }
        answered += 1;
        // Most answers go at once; a share is held back (late); the rest never come.
        let delay = if synth.chance(args.late_share) && args.late_secs > 0 {
            Duration::from_millis(
                rand::rng().random_range(args.late_secs * 500..=args.late_secs * 1000),
            )
        } else {
            Duration::ZERO
        };
        let channel = publish_channel.clone();
        let exchange = exchange.clone();
        let mapping = mapping.clone();
        let clock = clock.clone();
        // The legacy id's serial is drawn now, from this province's answer range.
        let serial = synth.next_serial();
        let region = synth.region().to_vec();
        late.spawn(async move {
            tokio::time::sleep(delay).await;
            let now = clock.now();
            let mut content = Synth::with_serials_from(serial, region, serial);
            let Some(draft) = content.answer_draft(&original, &target, now.date_naive()) else {
                return Ok(());
            };
            let id = mapping.render_message_id(&target, now, serial);
            let messages = finish_document(&mapping, &id, now, vec![draft])?;
            let bytes = mapping.render(&messages, &RenderOptions { variant: serial })?;
            publish(&channel, &exchange, &messages[0].source.message_id, &bytes).await
        });
        // Keep the set from growing without bound: reap the answers already sent.
        while let Some(done) = late.try_join_next() {
            done.context("an answer failed")??;
        }
    }
    while let Some(done) = late.join_next().await {
        done.context("an answer failed")??;
    }
    publish_channel.wait_for_confirms().await?;
    let _ = consume.close(200, "done".into()).await;
    Ok(answered)
}
