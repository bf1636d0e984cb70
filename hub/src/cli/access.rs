//! The access commands: `yipanqi token new` (an API client's token, shown once, and the
//! configuration entry with its hash), `yipanqi audit` (the audit of lookups from the
//! hub's database) and `yipanqi topology --definitions` (the RabbitMQ definitions
//! document with one least-privilege user per province).

use crate::access::{tokens, Access, ClientConfig, Role};
use crate::config::Config;
use crate::definitions;
use crate::reports::{Period, PeriodSpec};
use crate::store::AuditFilter;
use anyhow::{bail, Context};
use std::path::PathBuf;
use std::process::ExitCode;
use yipanqi_adapters::{ProvinceInfo, Registry};
use yipanqi_schemas::IdNumber;

/// Arguments of `yipanqi token`.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// `yipanqi token …`.
#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Make a client's token: prints the token (give it to the client; it is shown only
    /// now) and the `[[clients]]` entry with its hash (add it to the clients file).
    New {
        /// The client's name, for the audit (`anhui-portal`).
        #[arg(long)]
        name: String,
        /// Its role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// For the province role: which province.
        #[arg(long)]
        province: Option<String>,
    },
    /// The hash of an existing token (read from standard input), for checking an entry.
    Hash,
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    /// A province's systems and staff.
    Province,
    /// The regional coordination group.
    Coordination,
    /// Ops staff.
    Ops,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Province => Role::Province,
            RoleArg::Coordination => Role::Coordination,
            RoleArg::Ops => Role::Ops,
        }
    }
}

/// Runs `yipanqi token`.
pub fn token(registry: &Registry, args: TokenArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TokenCommand::New {
            name,
            role,
            province,
        } => {
            let token = tokens::generate();
            let province = province
                .map(|p| super::province_name(registry, &p))
                .transpose()?;
            let client = ClientConfig {
                name,
                role: role.into(),
                province,
                token_sha256: tokens::hash(&token),
            };
            // The same checks the hub makes at start.
            Access::from_clients(std::slice::from_ref(&client), "yipanqi-", registry)?;
            #[derive(serde::Serialize)]
            struct Entry<'a> {
                clients: [&'a ClientConfig; 1],
            }
            let entry = toml::to_string(&Entry { clients: [&client] })
                .context("cannot write the clients entry")?;
            eprintln!(
                "# The token below is shown only now: give it to the client. Add this entry to \
                 the clients file (YIPANQI_CLIENTS_FILE) or as [[access.clients]] in hub.toml:"
            );
            eprintln!("{}", entry.trim_end());
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Hash => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the token from standard input")?;
            println!("{}", tokens::hash(line.trim()));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Arguments of `yipanqi audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// First day (Beijing date, `YYYY-MM-DD`); with --to. Default: this month.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, inclusive.
    #[arg(long)]
    pub to: Option<String>,
    /// Only lookups made by this province.
    #[arg(long)]
    pub province: Option<String>,
    /// Only lookups of this person (hashed with the audit key before comparing).
    #[arg(long, value_name = "ID_NUMBER")]
    pub id_number: Option<String>,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// TOML configuration file (for the database URL and the audit key file).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Runs `yipanqi audit`: the rows, then lookups per province and refusals.
pub async fn audit(registry: &Registry, args: AuditArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    let province = args
        .province
        .as_deref()
        .map(|p| super::province_name(registry, p))
        .transpose()?;
    let today = crate::reports::period::beijing_date(chrono::Utc::now().fixed_offset());
    let period = PeriodSpec {
        from: args.from,
        to: args.to,
        ..PeriodSpec::default()
    }
    .resolve(Period::month_of(today))?;
    let store = super::open_hub_store(&config).await?;
    let subject_hash = match &args.id_number {
        Some(raw) => {
            // On the command line a number that is not one is a mistake to say, not a
            // lookup to look for.
            IdNumber::parse_lenient(raw.trim()).map_err(|e| anyhow::anyhow!("--id-number: {e}"))?;
            let key = crate::sharing::audit_key(&store, &config.access).await?;
            Some(key.hash_id_number(raw))
        }
        None => None,
    };
    let filter = AuditFilter {
        from_ms: Some(period.start_ms()),
        to_ms: Some(period.end_ms()),
        province,
        subject_hash,
        limit: None,
    };
    let rows = store.audit(&filter).await?;
    super::audit_cli(
        &store,
        "audit",
        period.slug(),
        filter.subject_hash.clone(),
        &format!("{} audit rows", rows.len()),
    )
    .await?;
    if args.json {
        for r in &rows {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!("audit {} – {}: {} lookups", period.from, period.to, rows.len());
    for r in &rows {
        println!(
            "{}  {:<8} {:<5} {:<20} {:<12} {:<9} {:<20} {}",
            r.at,
            r.province.as_deref().or(r.role.as_deref()).unwrap_or("-"),
            r.channel,
            r.client,
            r.action,
            if r.allowed { "allowed" } else { "refused" },
            if r.allowed { "" } else { r.reason.as_str() },
            r.detail
        );
    }
    println!("\nper province (or role) and outcome:");
    for c in store.audit_counts(&filter).await? {
        println!("  {:<14} {:<13} {:<20} {}", c.who, c.action, c.reason, c.count);
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `yipanqi topology`.
#[derive(Debug, clap::Args)]
pub struct TopologyArgs {
    /// Print the RabbitMQ definitions document (for `rabbitmqctl import_definitions`).
    #[arg(long, required = true)]
    pub definitions: bool,
    /// The vhost (default: the one in the configured AMQP URL).
    #[arg(long)]
    pub vhost: Option<String>,
    /// The broker passwords: read from this TOML file (`anhui = "…"`); missing ones are
    /// generated into it.
    #[arg(long, value_name = "FILE")]
    pub passwords: PathBuf,
    /// Write the document here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// TOML configuration file (AMQP URL, queue type, broker user prefix).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The vhost an AMQP URL names (as the AMQP client reads it: `%2f` is `/`; no path is
/// `/`).
pub fn vhost_of(url: &str) -> anyhow::Result<String> {
    let uri: lapin::uri::AMQPUri = url.parse().map_err(|_| {
        anyhow::anyhow!("the AMQP URL {} is not valid", crate::store::redact_url(url))
    })?;
    Ok(if uri.vhost.is_empty() { "/".to_string() } else { uri.vhost })
}

/// Runs `yipanqi topology --definitions`.
pub fn topology(registry: &Registry, args: TopologyArgs) -> anyhow::Result<ExitCode> {
    if !args.definitions {
        bail!("say what to print: --definitions");
    }
    let config = Config::load(args.config.as_deref())?;
    let provinces: Vec<ProvinceInfo> = registry.provinces().cloned().collect();
    let vhost = match args.vhost {
        Some(v) => v,
        None => vhost_of(&config.amqp_url)?,
    };
    let (passwords, generated) =
        definitions::load_or_generate(&args.passwords, &definitions::parties(&provinces))?;
    if !generated.is_empty() {
        eprintln!(
            "generated broker passwords for {} into {}",
            generated.join(", "),
            args.passwords.display()
        );
    }
    let doc = definitions::document(
        &provinces,
        &vhost,
        &config.access.broker_user_prefix,
        config.queue_type,
        &passwords,
    );
    let text = serde_json::to_string_pretty(&doc)?;
    match &args.out {
        Some(path) => std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => println!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vhost_comes_from_the_url() {
        let v = |url: &str| vhost_of(url).expect("a valid URL");
        assert_eq!(v("amqp://guest:guest@127.0.0.1:5672/%2f"), "/");
        assert_eq!(v("amqp://h:5672"), "/");
        assert_eq!(v("amqp://h:5672/"), "/");
        assert_eq!(v("amqp://u:p@h/yipanqi-prod"), "yipanqi-prod");
        assert_eq!(v("amqp://u:p@h/a%2Fb?heartbeat=10"), "a/b");
        let err = vhost_of("not a url with s3cret").expect_err("invalid");
        assert!(!err.to_string().is_empty());
    }
}
