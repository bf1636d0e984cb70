//! Who may ask the hub what (DOMAIN.md §6, personal data): the configured clients and
//! their roles, how a bearer token or a broker user becomes a [`Caller`], and the rules
//! that decide each question — one place, used by the HTTP API and the broker queries
//! alike, so the two can never disagree.
//!
//! - `tokens.rs` — API tokens: made at random, stored only as their SHA-256;
//! - `rules.rs` — what each role may see, and why a request is refused;
//! - `audit.rs` — the keyed hash that stands for an ID number in the audit trail.
//!
//! This module decides; it does not read the store (callers pass what the store knows)
//! and it never logs a token or an ID number.

pub mod audit;
pub mod rules;
pub mod tokens;

pub use audit::{AuditEntry, AuditKey, Channel};
pub use rules::{Refusal, RefusalReason};

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use yipanqi_adapters::{ProvinceInfo, Registry};

/// A client's role: what kind of user it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A province's systems and staff: see what concerns the province's own people.
    Province,
    /// The regional coordination group: aggregates and masked lists, never a profile.
    Coordination,
    /// Ops staff: the hub's workings, no personal data at all.
    Ops,
}

impl Role {
    /// Its name in configuration, logs and the audit.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Province => "province",
            Role::Coordination => "coordination",
            Role::Ops => "ops",
        }
    }
}

/// One configured API client.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// A name for the audit and the logs (`anhui-portal`).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// For the province role: which province (pinyin name or code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// SHA-256 of its token, hex (`yipanqi token new` prints both).
    pub token_sha256: String,
}

/// How clients are configured: `[access]` in the hub's TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessSettings {
    /// API clients, inline (`[[access.clients]]`).
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    /// A TOML file of more clients (`[[clients]]` entries), kept apart from the hub's
    /// configuration (`YIPANQI_CLIENTS_FILE`).
    #[serde(default)]
    pub clients_file: Option<PathBuf>,
    /// A file holding the secret key of the audit's keyed hashes (`YIPANQI_AUDIT_KEY_FILE`,
    /// at least 32 bytes). Without it the hub makes a key once and keeps it in the
    /// database, which protects the audit less: see the README.
    #[serde(default)]
    pub audit_key_file: Option<PathBuf>,
    /// Broker users are this prefix plus a province's pinyin name (`yipanqi-anhui`);
    /// the hub's own user is the prefix plus `hub`.
    #[serde(default = "default_broker_user_prefix")]
    pub broker_user_prefix: String,
}

fn default_broker_user_prefix() -> String {
    "yipanqi-".to_string()
}

impl Default for AccessSettings {
    fn default() -> Self {
        AccessSettings {
            clients: Vec::new(),
            clients_file: None,
            audit_key_file: None,
            broker_user_prefix: default_broker_user_prefix(),
        }
    }
}

/// A clients file: `[[clients]]` entries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientsFile {
    #[serde(default)]
    clients: Vec<ClientConfig>,
}

/// A client configuration the hub cannot use.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The clients file could not be read or parsed.
    #[error("cannot read the clients file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A client entry is wrong.
    #[error("API client '{name}': {message}")]
    Client {
        /// The client's name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// Who is asking: an authenticated client, or a province's broker user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The client's name (HTTP) or the broker user (AMQP).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its province, for the province role.
    pub province: Option<ProvinceInfo>,
}

impl Caller {
    /// A province's caller.
    pub fn province(name: impl Into<String>, province: ProvinceInfo) -> Caller {
        Caller {
            name: name.into(),
            role: Role::Province,
            province: Some(province),
        }
    }

    /// The province's two-digit code, for the province role.
    pub fn province_code(&self) -> Option<&str> {
        self.province.as_ref().map(|p| p.code.as_str())
    }

    /// The province's pinyin name, for the province role.
    pub fn province_name(&self) -> Option<&str> {
        self.province.as_ref().map(|p| p.name.as_str())
    }
}

/// The configured clients, by the hash of their token.
#[derive(Debug, Clone, Default)]
pub struct Access {
    by_hash: HashMap<String, Caller>,
    broker_user_prefix: String,
    provinces: Vec<ProvinceInfo>,
}

impl Access {
    /// Reads the inline clients and the clients file, and checks every entry against
    /// the region's provinces.
    pub fn load(settings: &AccessSettings, registry: &Registry) -> Result<Access, AccessError> {
        let mut clients = settings.clients.clone();
        if let Some(path) = &settings.clients_file {
            clients.extend(read_clients_file(path)?);
        }
        Access::from_clients(&clients, &settings.broker_user_prefix, registry)
    }

    /// From a list of clients.
    pub fn from_clients(
        clients: &[ClientConfig],
        broker_user_prefix: &str,
        registry: &Registry,
    ) -> Result<Access, AccessError> {
        let mut by_hash = HashMap::new();
        let mut names = std::collections::HashSet::new();
        for c in clients {
            let fail = |message: String| AccessError::Client {
                name: c.name.clone(),
                message,
            };
            if c.name.trim().is_empty() {
                return Err(fail("the name is empty".into()));
            }
            if !names.insert(c.name.clone()) {
                return Err(fail("the name is used twice".into()));
            }
            let hash = c.token_sha256.to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(fail(
                    "token_sha256 is not 64 hexadecimal digits (`yipanqi token new` makes one)".into(),
                ));
            }
            let province = match (c.role, &c.province) {
                (Role::Province, Some(p)) => Some(
                    registry
                        .get(p)
                        .map(|m| m.province().clone())
                        .ok_or_else(|| fail(format!("'{p}' is not a province of the region")))?,
                ),
                (Role::Province, None) => {
                    return Err(fail("the province role needs `province = \"…\"`".into()))
                }
                (_, Some(_)) => {
                    return Err(fail(format!(
                        "the {} role belongs to no province: remove `province`",
                        c.role.as_str()
                    )))
                }
                (_, None) => None,
            };
            let caller = Caller {
                name: c.name.clone(),
                role: c.role,
                province,
            };
            if by_hash.insert(hash, caller).is_some() {
                return Err(fail("its token is also another client's token".into()));
            }
        }
        Ok(Access {
            by_hash,
            broker_user_prefix: broker_user_prefix.to_string(),
            provinces: registry.provinces().cloned().collect(),
        })
    }

    /// No client is configured: every guarded endpoint refuses.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The caller a token stands for.
    pub fn authenticate(&self, token: &str) -> Option<&Caller> {
        self.by_hash.get(&tokens::hash(token))
    }

    /// The province whose broker user this is (`yipanqi-anhui` → anhui), as RabbitMQ
    /// vouches for it in the `user_id` property.
    pub fn broker_caller(&self, user_id: &str) -> Option<Caller> {
        let name = user_id.strip_prefix(&self.broker_user_prefix)?;
        self.provinces
            .iter()
            .find(|p| p.name == name)
            .map(|p| Caller::province(user_id, p.clone()))
    }
}

/// The broker user name of a party — a province (its pinyin name), `hub`, `coordination`
/// or `padis` — under a prefix: `yipanqi-` + `anhui`. The definitions document creates
/// these users; [`Access::broker_caller`] reads them back.
pub fn broker_user(prefix: &str, party: &str) -> String {
    format!("{prefix}{party}")
}

fn read_clients_file(path: &Path) -> Result<Vec<ClientConfig>, AccessError> {
    let text = std::fs::read_to_string(path).map_err(|e| AccessError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let file: ClientsFile = toml::from_str(&text).map_err(|e| AccessError::File {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    })?;
    Ok(file.clients)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str, role: Role, province: Option<&str>, token: &str) -> ClientConfig {
        ClientConfig {
            name: name.into(),
            role,
            province: province.map(String::from),
            token_sha256: tokens::hash(token),
        }
    }

    #[test]
    fn a_token_stands_for_its_client() {
        let registry = Registry::builtin();
        let access = Access::from_clients(
            &[
                client("anhui-portal", Role::Province, Some("34"), "tok-a"),
                client("coord", Role::Coordination, None, "tok-c"),
            ],
            "yipanqi-",
            &registry,
        )
        .expect("valid");
        let anhui = access.authenticate("tok-a").expect("known token");
        assert_eq!(anhui.role, Role::Province);
        assert_eq!(anhui.province_name(), Some("anhui"));
        assert_eq!(access.authenticate("tok-c").map(|c| c.role), Some(Role::Coordination));
        assert!(access.authenticate("tok-x").is_none());
        assert!(access.authenticate("").is_none());
    }

    #[test]
    fn wrong_entries_are_named() {
        let registry = Registry::builtin();
        let cases = [
            (vec![client("a", Role::Province, None, "t")], "needs `province"),
            (vec![client("a", Role::Province, Some("beijing"), "t")], "not a province"),
            (vec![client("a", Role::Ops, Some("anhui"), "t")], "belongs to no province"),
            (
                vec![client("a", Role::Ops, None, "t"), client("a", Role::Ops, None, "u")],
                "used twice",
            ),
            (
                vec![client("a", Role::Ops, None, "t"), client("b", Role::Ops, None, "t")],
                "another client's token",
            ),
        ];
        for (clients, expected) in cases {
            let err = Access::from_clients(&clients, "yipanqi-", &registry).expect_err(expected);
            assert!(err.to_string().contains(expected), "{err}");
        }
        let mut bad = client("a", Role::Ops, None, "t");
        bad.token_sha256 = "secret".into();
        let err = Access::from_clients(&[bad], "yipanqi-", &registry).expect_err("not a hash");
        assert!(err.to_string().contains("64 hexadecimal"), "{err}");
    }

    #[test]
    fn broker_users_name_their_province() {
        let access = Access::from_clients(&[], "yipanqi-", &Registry::builtin()).expect("valid");
        let c = access.broker_caller("yipanqi-anhui").expect("a province user");
        assert_eq!(c.province_code(), Some("34"));
        assert!(access.broker_caller("yipanqi-hub").is_none());
        assert!(access.broker_caller("guest").is_none());
        assert!(access.broker_caller("yipanqi-beijing").is_none());
        assert_eq!(broker_user("yipanqi-", "hub"), "yipanqi-hub");
        assert_eq!(
            access.broker_caller(&broker_user("yipanqi-", "henan")).and_then(|c| c.province_code().map(String::from)),
            Some("41".to_string())
        );
    }
}
