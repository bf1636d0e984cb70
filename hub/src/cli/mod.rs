//! Command-line definitions and dispatch. Each subcommand lives in its own file.

mod access;
mod calendar;
mod demo;
mod inspect;
mod report;
mod simulate;
mod translate;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::telemetry::LogFormat;
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use yipanqi_adapters::Registry;

pub use simulate::SimulateArgs;

/// yipanqi (一盘棋): the Pan-Yangtze-River-Delta floating-population family-planning
/// data-exchange hub.
#[derive(Debug, Parser)]
#[command(name = "yipanqi", version, about, long_about = None)]
pub struct Cli {
    /// Load every DIR/*/mapping.toml instead of the seven built-in province mappings.
    #[arg(long, global = true, env = "YIPANQI_MAPPINGS", value_name = "DIR")]
    pub mappings: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hub: consume the provincial queues, translate, validate, route, store, deliver.
    Run {
        /// TOML configuration file (environment variables YIPANQI_* override it).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Translate legacy documents offline (no broker, no database) and print canonical JSON.
    Translate(translate::TranslateArgs),
    /// Act as provincial legacy systems: publish realistic traffic, or answer deliveries.
    Simulate(SimulateArgs),
    /// Run the hub with simulated provinces on the local broker and print a summary.
    Demo(demo::DemoArgs),
    /// List expectations (answers owed against deadlines) from the hub's database.
    Expectations(inspect::ExpectationsArgs),
    /// Show what the hub did with a message: routes, deliveries, expectations, answers.
    Trace(inspect::TraceArgs),
    /// Ask the working-day calendar: working day N after a date, is a date a working day, which years.
    Calendar(calendar::CalendarArgs),
    /// The coordination group's reports: delivery, paper reports retired, free-check coverage, audit.
    Report(report::ReportArgs),
    /// API clients' tokens: make one, or hash one.
    Token(access::TokenArgs),
    /// The audit of lookups (profiles, certificates, reports), from the hub's database.
    Audit(access::AuditArgs),
    /// The broker topology as a RabbitMQ definitions document, with least-privilege users.
    Topology(access::TopologyArgs),
}

/// Runs a parsed command line.
pub async fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    let registry = Arc::new(load_registry(cli.mappings.as_deref())?);
    match cli.command {
        Command::Run { config } => {
            let mut config = Config::load(config.as_deref())?;
            if cli.mappings.is_some() {
                config.mappings = cli.mappings.clone();
            }
            let registry = match &config.mappings {
                Some(dir) if cli.mappings.is_none() => Arc::new(load_registry(Some(dir))?),
                _ => registry,
            };
            let clock: Arc<dyn crate::clock::Clock> = match &config.testing.clock_offset_file {
                Some(path) => {
                    tracing::warn!(file = %path.display(), "TESTING: the hub's clock is offset by the seconds in this file; never use this in production");
                    Arc::new(crate::clock::OffsetFileClock::new(path.clone()))
                }
                None => Arc::new(SystemClock),
            };
            let cancel = crate::hub::shutdown_signal();
            crate::hub::run(config, registry, clock, cancel).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Translate(args) => translate::run(&registry, args),
        Command::Simulate(args) => simulate::run(registry, args).await,
        Command::Demo(args) => demo::run(registry, args).await,
        Command::Expectations(args) => inspect::expectations(&registry, args).await,
        Command::Trace(args) => inspect::trace(&registry, args).await,
        Command::Calendar(args) => calendar::run(args).await,
        Command::Report(args) => report::run(&registry, args).await,
        Command::Token(args) => access::token(&registry, args),
        Command::Audit(args) => access::audit(&registry, args).await,
        Command::Topology(args) => access::topology(&registry, args),
    }
}

/// The built-in mappings, or those of a folder.
pub fn load_registry(dir: Option<&std::path::Path>) -> anyhow::Result<Registry> {
    match dir {
        Some(dir) => Registry::load_dir(dir)
            .with_context(|| format!("cannot load the mappings in {}", dir.display())),
        None => Ok(Registry::builtin()),
    }
}

/// Opens the hub's database for a command that reads it. An SQLite file that does not
/// exist is refused with a sentence, rather than created empty and reported on as if
/// the hub had seen nothing.
pub async fn open_hub_store(config: &crate::config::Config) -> anyhow::Result<crate::store::Store> {
    let url = &config.database_url;
    if let Some(path) = crate::store::sqlite_path(url) {
        if !path.exists() {
            anyhow::bail!(
                "no hub database at {} — name the hub's database with --config or YIPANQI_DATABASE_URL",
                path.display()
            );
        }
    }
    crate::store::Store::connect(url)
        .await
        .with_context(|| format!("cannot open the hub's database {}", crate::store::redact_url(url)))
}

/// Writes a command-line lookup to the audit: the operator (the login name) through
/// channel `cli`, at the system clock's now.
pub async fn audit_cli(
    store: &crate::store::Store,
    action: &'static str,
    target: String,
    subject_hash: Option<String>,
    detail: &str,
) -> anyhow::Result<()> {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "operator".to_string());
    let entry = crate::access::AuditEntry::anonymous(
        &format!("cli:{user}"),
        crate::access::Channel::Cli,
        action,
    )
    .about(subject_hash)
    .target(target)
    .allowed(detail);
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    store
        .record_audit(&entry, now)
        .await
        .context("cannot write the lookup to the audit; nothing was shown")?;
    Ok(())
}

/// Finds a province by pinyin name or code, with a sentence listing the known ones.
pub fn province_name(registry: &Registry, wanted: &str) -> anyhow::Result<String> {
    match registry.get(wanted) {
        Some(m) => Ok(m.province().name.clone()),
        None => {
            let known: Vec<String> = registry
                .provinces()
                .map(|p| format!("{} ({})", p.name, p.code))
                .collect();
            anyhow::bail!(
                "unknown province '{wanted}'; the region's provinces are: {}",
                known.join(", ")
            )
        }
    }
}
