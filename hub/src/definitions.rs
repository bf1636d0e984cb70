//! A RabbitMQ definitions document (`rabbitmqctl import_definitions FILE`) for the hub's
//! topology with least privilege: the vhost, every exchange, queue and binding the hub
//! declares, and one broker user per party with only the permissions it needs:
//!
//! | user | configure | write | read |
//! |---|---|---|---|
//! | `yipanqi-<province>` | nothing | its `yipanqi.in.<province>`, `yipanqi.query` | its `yipanqi.out.<province>`, `yipanqi.reply.<province>` |
//! | `yipanqi-coordination` | nothing | nothing | `yipanqi.out.coordination` |
//! | `yipanqi-padis` | nothing | nothing | `yipanqi.out.padis` |
//! | `yipanqi-hub` | `yipanqi.*` | `yipanqi.*`, the default exchange (answers) | `yipanqi.*` |
//!
//! So a province cannot publish as another at the broker (its user may write only to its
//! own exchange, and RabbitMQ checks `user_id` against the connection), nor read what is
//! delivered to another. Passwords come from a file the operator keeps; missing ones are
//! generated into it. Only their salted hashes go into the document.

use crate::access::broker_user;
use crate::topology::{
    inbound_queue, outbound_queue, reply_queue, QueueType, COORDINATION_QUEUE, DEAD_QUEUE,
    DELIVER_EXCHANGE, PADIS_QUEUE, QUERY_QUEUE,
};
use base64::Engine as _;
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use yipanqi_adapters::ProvinceInfo;

/// Broker passwords by party (`hub`, `coordination`, `padis`, a province's pinyin name).
pub type Passwords = BTreeMap<String, String>;

/// A passwords file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PasswordsError {
    /// Unreadable or unwritable.
    #[error("passwords file {0}: {1}")]
    Io(String, std::io::Error),
    /// Not `party = "password"` lines.
    #[error("passwords file {0} is not TOML of the form party = \"password\": {1}")]
    Parse(String, String),
}

/// The parties that get a broker user.
pub fn parties(provinces: &[ProvinceInfo]) -> Vec<String> {
    let mut all: Vec<String> = ["hub", "coordination", "padis"].map(String::from).to_vec();
    all.extend(provinces.iter().map(|p| p.name.clone()));
    all
}

/// Reads the passwords file (if it exists), generates a password for each party that
/// has none, and writes the file back (readable by its owner only) when it added any.
/// Returns the passwords and the parties whose password was generated.
pub fn load_or_generate(
    path: &Path,
    parties: &[String],
) -> Result<(Passwords, Vec<String>), PasswordsError> {
    let shown = path.display().to_string();
    let mut passwords: Passwords = match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| PasswordsError::Parse(shown.clone(), e.message().to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Passwords::new(),
        Err(e) => return Err(PasswordsError::Io(shown, e)),
    };
    let mut generated = Vec::new();
    for party in parties {
        if !passwords.contains_key(party) {
            let bytes: [u8; 24] = rand::rng().random();
            passwords.insert(party.clone(), base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
            generated.push(party.clone());
        }
    }
    if !generated.is_empty() {
        let mut text = String::from(
            "# Broker passwords of the yipanqi users (`yipanqi topology --definitions`). Keep secret.\n",
        );
        for (party, password) in &passwords {
            text.push_str(&format!("{party} = {}\n", Value::String(password.clone())));
        }
        write_private(path, &text).map_err(|e| PasswordsError::Io(shown, e))?;
    }
    Ok((passwords, generated))
}

/// Writes a file readable by its owner only (secrets: passwords, tokens).
#[cfg(unix)]
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` applies only when the file is created: an existing one is narrowed too.
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())
}

/// Writes a file (secrets: passwords, tokens).
#[cfg(not(unix))]
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// RabbitMQ's `rabbit_password_hashing_sha256`: base64 of a 4-byte salt followed by
/// SHA-256(salt ‖ password).
pub fn password_hash(password: &str) -> String {
    let salt: [u8; 4] = rand::rng().random();
    password_hash_with_salt(password, salt)
}

fn password_hash_with_salt(password: &str, salt: [u8; 4]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(password.as_bytes());
    let mut bytes = salt.to_vec();
    bytes.extend_from_slice(&hasher.finalize());
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A regular expression matching exactly these names.
fn exactly(names: &[String]) -> String {
    if names.is_empty() {
        return "^$".to_string();
    }
    let escaped: Vec<String> = names.iter().map(|n| n.replace('.', "\\.")).collect();
    format!("^({})$", escaped.join("|"))
}

/// The definitions document.
pub fn document(
    provinces: &[ProvinceInfo],
    vhost: &str,
    user_prefix: &str,
    queue_type: QueueType,
    passwords: &Passwords,
) -> Value {
    let queue_type = match queue_type {
        QueueType::Classic => "classic",
        QueueType::Quorum => "quorum",
    };
    let mut exchanges = vec![(DELIVER_EXCHANGE.to_string(), "topic")];
    let mut queues = Vec::new();
    let mut bindings = Vec::new();
    for p in provinces {
        let inbound = inbound_queue(&p.name);
        exchanges.push((inbound.clone(), "fanout"));
        queues.push(inbound.clone());
        bindings.push((inbound.clone(), inbound, String::new()));
        let outbound = outbound_queue(&p.name);
        queues.push(outbound.clone());
        bindings.push((DELIVER_EXCHANGE.to_string(), outbound, format!("{}.#", p.code)));
        queues.push(reply_queue(&p.name));
    }
    for (queue, key) in [(PADIS_QUEUE, "padis.#"), (COORDINATION_QUEUE, "coord.#"), (DEAD_QUEUE, "dead.#")] {
        queues.push(queue.to_string());
        bindings.push((DELIVER_EXCHANGE.to_string(), queue.to_string(), key.to_string()));
    }
    exchanges.push((QUERY_QUEUE.to_string(), "fanout"));
    queues.push(QUERY_QUEUE.to_string());
    bindings.push((QUERY_QUEUE.to_string(), QUERY_QUEUE.to_string(), String::new()));

    let nothing = "^$".to_string();
    let mut permissions: Vec<(String, String, String, String)> = vec![
        (
            "hub".into(),
            "^yipanqi\\..*$".into(),
            "^(yipanqi\\..*|amq\\.default)$".into(),
            "^yipanqi\\..*$".into(),
        ),
        ("coordination".into(), nothing.clone(), nothing.clone(), exactly(&[COORDINATION_QUEUE.to_string()])),
        ("padis".into(), nothing.clone(), nothing.clone(), exactly(&[PADIS_QUEUE.to_string()])),
    ];
    for p in provinces {
        permissions.push((
            p.name.clone(),
            nothing.clone(),
            exactly(&[inbound_queue(&p.name), QUERY_QUEUE.to_string()]),
            exactly(&[outbound_queue(&p.name), reply_queue(&p.name)]),
        ));
    }
    let users: Vec<Value> = permissions
        .iter()
        .map(|(party, ..)| {
            json!({
                "name": broker_user(user_prefix, party),
                "password_hash": password_hash(passwords.get(party).map(String::as_str).unwrap_or_default()),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": [],
                "limits": {},
            })
        })
        .collect();
    json!({
        "rabbit_version": "3.10.0",
        "users": users,
        "vhosts": [{ "name": vhost }],
        "permissions": permissions.iter().map(|(party, configure, write, read)| json!({
            "user": broker_user(user_prefix, party),
            "vhost": vhost,
            "configure": configure,
            "write": write,
            "read": read,
        })).collect::<Vec<_>>(),
        "exchanges": exchanges.iter().map(|(name, kind)| json!({
            "name": name, "vhost": vhost, "type": kind, "durable": true,
            "auto_delete": false, "internal": false, "arguments": {},
        })).collect::<Vec<_>>(),
        "queues": queues.iter().map(|name| json!({
            "name": name, "vhost": vhost, "durable": true, "auto_delete": false,
            "arguments": { "x-queue-type": queue_type },
        })).collect::<Vec<_>>(),
        "bindings": bindings.iter().map(|(source, destination, key)| json!({
            "source": source, "vhost": vhost, "destination": destination,
            "destination_type": "queue", "routing_key": key, "arguments": {},
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use yipanqi_adapters::Registry;

    #[test]
    fn the_hash_is_salt_then_sha256_of_salt_and_password() {
        // The layout RabbitMQ reads; the end-to-end test logs in with it.
        let hash = password_hash_with_salt("test12", [0xCA, 0xD5, 0x08, 0x9B]);
        let bytes = base64::engine::general_purpose::STANDARD.decode(&hash).expect("base64");
        assert_eq!(bytes.len(), 36);
        assert_eq!(bytes[..4], [0xCA, 0xD5, 0x08, 0x9B]);
        let mut expected = Sha256::new();
        expected.update([0xCA, 0xD5, 0x08, 0x9B]);
        expected.update(b"test12");
        assert_eq!(bytes[4..], expected.finalize()[..]);
        assert_ne!(password_hash("x"), password_hash("x"), "salted");
    }

    #[test]
    fn each_province_may_write_and_read_only_its_own() {
        let registry = Registry::builtin();
        let provinces: Vec<ProvinceInfo> = registry.provinces().cloned().collect();
        let passwords: Passwords = parties(&provinces).into_iter().map(|p| (p.clone(), format!("pw-{p}"))).collect();
        let doc = document(&provinces, "/", "yipanqi-", QueueType::Classic, &passwords);
        let perm = |user: &str| {
            doc["permissions"]
                .as_array()
                .and_then(|a| a.iter().find(|p| p["user"] == user))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let anhui = perm("yipanqi-anhui");
        assert_eq!(anhui["configure"], "^$");
        assert_eq!(anhui["write"], "^(yipanqi\\.in\\.anhui|yipanqi\\.query)$");
        assert_eq!(anhui["read"], "^(yipanqi\\.out\\.anhui|yipanqi\\.reply\\.anhui)$");
        assert_eq!(perm("yipanqi-coordination")["read"], "^(yipanqi\\.out\\.coordination)$");
        assert!(perm("yipanqi-hub")["write"].as_str().is_some_and(|w| w.contains("amq\\.default")));
        assert_eq!(doc["users"].as_array().map(Vec::len), Some(10));
        assert!(!doc.to_string().contains("pw-anhui"), "only hashes in the document");
        let queues: Vec<&str> = doc["queues"].as_array().into_iter().flatten().filter_map(|q| q["name"].as_str()).collect();
        for q in ["yipanqi.in.anhui", "yipanqi.out.anhui", "yipanqi.reply.anhui", "yipanqi.query", "yipanqi.dead"] {
            assert!(queues.contains(&q), "{q}");
        }
    }

    #[test]
    fn missing_passwords_are_generated_into_the_file() {
        let dir = std::env::temp_dir().join(format!("yq-passwords-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("passwords.toml");
        std::fs::write(&path, "anhui = \"given\"\n").expect("write");
        let parties = vec!["hub".to_string(), "anhui".to_string()];
        let (pw, generated) = load_or_generate(&path, &parties).expect("ok");
        assert_eq!(pw["anhui"], "given");
        assert_eq!(generated, vec!["hub".to_string()]);
        let (again, generated) = load_or_generate(&path, &parties).expect("ok");
        assert_eq!(again, pw, "kept in the file");
        assert!(generated.is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by its owner only");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
