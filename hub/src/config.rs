//! Configuration: one typed struct, read from an optional TOML file and then overridden
//! by `YIPANQI_…` environment variables. With neither, every field has a working
//! default for a development machine. Secrets (URLs with passwords) are never printed
//! whole: see [`Config::describe`].

use crate::access::AccessSettings;
use crate::deadlines::rules::DeadlineSettings;
use crate::store::redact_url;
use crate::topology::QueueType;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The hub's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// AMQP URL of the broker (`YIPANQI_AMQP_URL`).
    #[serde(default = "default_amqp_url")]
    pub amqp_url: String,
    /// Database URL: `sqlite://FILE` or `postgres://…` (`YIPANQI_DATABASE_URL`).
    #[serde(default = "default_database_url")]
    pub database_url: String,
    /// Address of the HTTP endpoints (`YIPANQI_HTTP_ADDR`).
    #[serde(default = "default_http_addr")]
    pub http_addr: SocketAddr,
    /// A folder of mapping folders to use instead of the built-in seven (`YIPANQI_MAPPINGS`).
    #[serde(default)]
    pub mappings: Option<PathBuf>,
    /// Unacknowledged deliveries per province consumer (`YIPANQI_PREFETCH`).
    #[serde(default = "default_prefetch")]
    pub prefetch: u16,
    /// Documents per batch: one transaction and one round of confirms (`YIPANQI_BATCH_SIZE`).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How long a batch waits for more documents once it has one, in milliseconds.
    #[serde(default = "default_batch_linger_ms")]
    pub batch_linger_ms: u64,
    /// Inbound bodies over this many bytes are rejected as `too_large` (`YIPANQI_MAX_MESSAGE_BYTES`).
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Queue type for the declared queues (`YIPANQI_QUEUE_TYPE`: classic or quorum).
    #[serde(default)]
    pub queue_type: QueueType,
    /// Longest wait between reconnection attempts, in seconds.
    #[serde(default = "default_reconnect_max_secs")]
    pub reconnect_max_secs: u64,
    /// How long shutdown waits for in-flight batches, in seconds.
    #[serde(default = "default_shutdown_grace_secs")]
    pub shutdown_grace_secs: u64,
    /// A folder of `YYYY.json` holiday schedules loaded over the built-in years
    /// (`YIPANQI_CALENDAR_DIR`).
    #[serde(default)]
    pub calendar_dir: Option<PathBuf>,
    /// Which answers are owed within how many working days, and the overdue scanner.
    #[serde(default)]
    pub deadlines: DeadlineSettings,
    /// Who may use the API and ask over the broker: clients, their roles and token
    /// hashes; the audit key; the broker users' prefix.
    #[serde(default)]
    pub access: AccessSettings,
    /// Settings for test runs only; never set in production.
    #[serde(default)]
    pub testing: Testing,
}

/// Settings that exist so that tests can drive a hub process; none has a default that
/// does anything.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Testing {
    /// A file holding a number of seconds to add to the system clock, re-read on every
    /// reading of the clock, so that a test can move a running hub across deadlines
    /// (`YIPANQI_TESTING_CLOCK_OFFSET_FILE`). The hub logs a warning at start when set.
    #[serde(default)]
    pub clock_offset_file: Option<PathBuf>,
}

fn default_amqp_url() -> String {
    "amqp://guest:guest@127.0.0.1:5672/%2f".to_string()
}
fn default_database_url() -> String {
    "sqlite://yipanqi.db".to_string()
}
fn default_http_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_prefetch() -> u16 {
    200
}
fn default_batch_size() -> usize {
    100
}
fn default_batch_linger_ms() -> u64 {
    20
}
fn default_max_message_bytes() -> usize {
    1024 * 1024
}
fn default_reconnect_max_secs() -> u64 {
    30
}
fn default_shutdown_grace_secs() -> u64 {
    30
}

impl Default for Config {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

/// A configuration that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this struct.
    #[error("configuration file {path} is invalid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// An environment variable has a value of the wrong form.
    #[error("environment variable {name} is invalid: {message}")]
    Env {
        /// The variable.
        name: &'static str,
        /// Why.
        message: String,
    },
}

impl Config {
    /// Reads the file (if any), then applies the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.message().to_string(),
                })?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Applies `YIPANQI_…` variables from a lookup function (the process environment in
    /// production, a map in tests).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.parse().map_err(|e: T::Err| ConfigError::Env {
                name,
                message: e.to_string(),
            })
        }
        if let Some(v) = var("YIPANQI_AMQP_URL") {
            self.amqp_url = v;
        }
        if let Some(v) = var("YIPANQI_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = var("YIPANQI_HTTP_ADDR") {
            self.http_addr = parse("YIPANQI_HTTP_ADDR", &v)?;
        }
        if let Some(v) = var("YIPANQI_MAPPINGS") {
            self.mappings = Some(PathBuf::from(v));
        }
        if let Some(v) = var("YIPANQI_PREFETCH") {
            self.prefetch = parse("YIPANQI_PREFETCH", &v)?;
        }
        if let Some(v) = var("YIPANQI_BATCH_SIZE") {
            self.batch_size = parse("YIPANQI_BATCH_SIZE", &v)?;
        }
        if let Some(v) = var("YIPANQI_MAX_MESSAGE_BYTES") {
            self.max_message_bytes = parse("YIPANQI_MAX_MESSAGE_BYTES", &v)?;
        }
        if let Some(v) = var("YIPANQI_CALENDAR_DIR") {
            self.calendar_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = var("YIPANQI_CLIENTS_FILE") {
            self.access.clients_file = Some(PathBuf::from(v));
        }
        if let Some(v) = var("YIPANQI_AUDIT_KEY_FILE") {
            self.access.audit_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = var("YIPANQI_BROKER_USER_PREFIX") {
            self.access.broker_user_prefix = v;
        }
        if let Some(v) = var("YIPANQI_TESTING_CLOCK_OFFSET_FILE") {
            self.testing.clock_offset_file = Some(PathBuf::from(v));
        }
        if let Some(v) = var("YIPANQI_QUEUE_TYPE") {
            self.queue_type = match v.as_str() {
                "classic" => QueueType::Classic,
                "quorum" => QueueType::Quorum,
                other => {
                    return Err(ConfigError::Env {
                        name: "YIPANQI_QUEUE_TYPE",
                        message: format!("'{other}' is neither classic nor quorum"),
                    })
                }
            };
        }
        Ok(())
    }

    /// A one-line description for the start-up log, with passwords redacted.
    pub fn describe(&self) -> String {
        format!(
            "broker {}, database {}, http {}, batch {} (prefetch {}), max message {} bytes",
            redact_url(&self.amqp_url),
            redact_url(&self.database_url),
            self.http_addr,
            self.batch_size,
            self.prefetch,
            self.max_message_bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_run_with_no_file_and_no_environment() {
        let c = Config::default();
        assert_eq!(c.amqp_url, "amqp://guest:guest@127.0.0.1:5672/%2f");
        assert_eq!(c.database_url, "sqlite://yipanqi.db");
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.max_message_bytes, 1024 * 1024);
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut c: Config =
            toml::from_str("database_url = \"sqlite://file.db\"\nbatch_size = 7").expect("valid");
        let env: HashMap<&str, &str> = [
            ("YIPANQI_DATABASE_URL", "postgres://h/db"),
            ("YIPANQI_QUEUE_TYPE", "quorum"),
        ]
        .into();
        c.apply_env(|k| env.get(k).map(|v| v.to_string()))
            .expect("valid env");
        assert_eq!(c.database_url, "postgres://h/db");
        assert_eq!(c.batch_size, 7);
        assert_eq!(c.queue_type, QueueType::Quorum);
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        assert!(toml::from_str::<Config>("amqp_uri = \"x\"").is_err());
        let mut c = Config::default();
        let err = c
            .apply_env(|k| (k == "YIPANQI_HTTP_ADDR").then(|| "not an address".to_string()))
            .expect_err("invalid");
        assert!(err.to_string().contains("YIPANQI_HTTP_ADDR"));
    }

    #[test]
    fn describe_hides_passwords() {
        let c = Config {
            database_url: "postgres://hub:s3cret@db/yipanqi".into(),
            ..Config::default()
        };
        assert!(!c.describe().contains("s3cret"));
        assert!(!c.describe().contains("guest:guest"));
    }
}
