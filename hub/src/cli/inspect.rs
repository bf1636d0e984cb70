//! `yipanqi expectations` and `yipanqi trace`: the read API on the command line, against
//! the hub's database (from `--config` and the `YIPANQI_…` environment, like `run`).

use crate::config::Config;
use crate::store::{ExpectationFilter, Store};
use anyhow::{bail, Context};
use std::path::PathBuf;
use std::process::ExitCode;
use yipanqi_adapters::Registry;

/// Arguments of `yipanqi expectations`.
#[derive(Debug, clap::Args)]
pub struct ExpectationsArgs {
    /// Only this state.
    #[arg(long, value_parser = ["open", "overdue", "answered_on_time", "answered_late"])]
    pub state: Option<String>,
    /// Only those owed by or to this province (pinyin name or code).
    #[arg(long)]
    pub province: Option<String>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// TOML configuration file (for the database URL).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Arguments of `yipanqi trace`.
#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// The hub's message id (a UUID), or with --province the sender's own message id.
    pub id: String,
    /// The sending province, when `id` is its own legacy message id.
    #[arg(long)]
    pub province: Option<String>,
    /// TOML configuration file (for the database URL).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

async fn store(config: Option<&std::path::Path>) -> anyhow::Result<Store> {
    super::open_hub_store(&Config::load(config)?).await
}

/// Lists expectations.
pub async fn expectations(registry: &Registry, args: ExpectationsArgs) -> anyhow::Result<ExitCode> {
    let province = match &args.province {
        Some(p) => Some(
            registry
                .get(p)
                .map(|m| m.province().code.clone())
                .with_context(|| format!("unknown province '{p}'"))?,
        ),
        None => None,
    };
    let store = store(args.config.as_deref()).await?;
    let list = store
        .expectations(&ExpectationFilter {
            state: args.state,
            province,
            limit: Some(args.limit),
            ..ExpectationFilter::default()
        })
        .await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "expectations": list }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<36}  {:<26} {:<9} {:<9} {:<25} {:<17} step",
        "message_id", "kind", "owner", "sender", "due_at", "state"
    );
    for e in &list {
        println!(
            "{:<36}  {:<26} {:<9} {:<9} {:<25} {:<17} {}{}",
            e.message_id,
            e.kind,
            e.owner_division,
            e.sender_division,
            e.due_at,
            e.state,
            e.step,
            if e.calendar_uncovered {
                "  (due date counted Monday–Friday: year not in the calendar)"
            } else {
                ""
            }
        );
    }
    println!("{} expectation(s)", list.len());
    Ok(ExitCode::SUCCESS)
}

/// Prints a message's trace.
pub async fn trace(registry: &Registry, args: TraceArgs) -> anyhow::Result<ExitCode> {
    let store = store(args.config.as_deref()).await?;
    let found = match &args.province {
        Some(p) => {
            let code = registry
                .get(p)
                .map(|m| m.province().code.clone())
                .with_context(|| format!("unknown province '{p}'"))?;
            let found = store.find_by_source(&code, &args.id).await?;
            let mut traces = Vec::new();
            for m in found["messages"].as_array().into_iter().flatten() {
                if let Some(t) = store
                    .trace(m["message_id"].as_str().unwrap_or_default())
                    .await?
                {
                    traces.push(t);
                }
            }
            if traces.is_empty() && found["rejections"].as_array().is_none_or(Vec::is_empty) {
                bail!("the hub has received no message {} from {p}", args.id);
            }
            serde_json::json!({ "source_message_id": args.id, "messages": traces, "rejections": found["rejections"] })
        }
        None => {
            let id = uuid::Uuid::parse_str(&args.id).with_context(|| {
                format!(
                    "'{}' is not a message id; give --province for the sender's own id",
                    args.id
                )
            })?;
            match store.trace(&id.to_string()).await? {
                Some(t) => t,
                None => match store.rejection_trace(&id.to_string()).await? {
                    Some(t) => t,
                    None => bail!("no message or rejection {id} has passed through the hub"),
                },
            }
        }
    };
    println!("{}", serde_json::to_string_pretty(&found)?);
    Ok(ExitCode::SUCCESS)
}
