//! The audit trail's vocabulary: an [`AuditEntry`] per lookup (who, when, through which
//! channel, whose ID, allowed or refused, why), and the [`AuditKey`] whose HMAC-SHA256
//! stands for an ID number in it.
//!
//! The audit never holds an ID number in clear: the keyed hash lets an auditor who has the
//! key ask "who looked her up?" (`yipanqi audit --id-number …`), while a copy of the
//! audit table alone cannot be turned back into ID numbers by trying every possible one
//! (there are few enough of those for a plain hash to be reversed).

use super::{Caller, Role};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use std::path::Path;

/// How a question reached the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The HTTP API, with a bearer token.
    Http,
    /// A query over the broker (`yipanqi.query`), as a province's broker user.
    Amqp,
    /// The hub's own command line (`yipanqi report`, `yipanqi audit`), run by an operator
    /// with the database's credentials.
    Cli,
}

impl Channel {
    /// Its name in the audit.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Http => "http",
            Channel::Amqp => "amqp",
            Channel::Cli => "cli",
        }
    }
}

/// One line of the audit trail, as the hub writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The client's name or broker user; `-` when nobody could be identified.
    pub client: String,
    /// The caller's role, when identified.
    pub role: Option<Role>,
    /// The caller's province (pinyin name), for the province role.
    pub province: Option<String>,
    /// HTTP or AMQP.
    pub channel: Channel,
    /// What was asked: `profile`, `certificates`, `report`, `trace`, `expectations`,
    /// `messages`, `audit`.
    pub action: &'static str,
    /// The keyed hash of the ID number asked about, if any.
    pub subject_hash: Option<String>,
    /// Anything else that says what was asked, without personal data (a report's name
    /// and period, a division, a certificate number's keyed hash, a message id).
    pub target: Option<String>,
    /// Whether the answer was given.
    pub allowed: bool,
    /// `allowed`, or the refusal's reason code.
    pub reason: String,
    /// One sentence: why it was allowed (which relation) or refused.
    pub detail: String,
}

impl AuditEntry {
    /// An entry for an identified caller.
    pub fn by(caller: &Caller, channel: Channel, action: &'static str) -> AuditEntry {
        AuditEntry {
            role: Some(caller.role),
            province: caller.province_name().map(String::from),
            ..AuditEntry::anonymous(&caller.name, channel, action)
        }
    }

    /// An entry for a caller nobody could identify.
    pub fn anonymous(client: &str, channel: Channel, action: &'static str) -> AuditEntry {
        AuditEntry {
            client: client.to_string(),
            role: None,
            province: None,
            channel,
            action,
            subject_hash: None,
            target: None,
            allowed: false,
            reason: String::new(),
            detail: String::new(),
        }
    }

    /// The lookup was answered.
    pub fn allowed(mut self, detail: impl Into<String>) -> AuditEntry {
        self.allowed = true;
        self.reason = "allowed".to_string();
        self.detail = detail.into();
        self
    }

    /// The lookup was refused.
    pub fn refused(mut self, refusal: &super::Refusal) -> AuditEntry {
        self.allowed = false;
        self.reason = refusal.reason.as_str().to_string();
        self.detail = refusal.detail.clone();
        self
    }

    /// Whom the lookup was about.
    pub fn about(mut self, subject_hash: Option<String>) -> AuditEntry {
        self.subject_hash = subject_hash;
        self
    }

    /// What else was asked.
    pub fn target(mut self, target: impl Into<String>) -> AuditEntry {
        self.target = Some(target.into());
        self
    }
}

/// The secret key of the audit's keyed hashes.
#[derive(Clone)]
pub struct AuditKey(Vec<u8>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(…)")
    }
}

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuditKeyError {
    /// The file could not be read.
    #[error("cannot read the audit key file {0}: {1}")]
    Read(String, std::io::Error),
    /// The key is too short to be a secret.
    #[error("the audit key in {0} is shorter than 32 bytes")]
    TooShort(String),
}

impl AuditKey {
    /// The key in a file (its bytes, surrounding whitespace removed).
    pub fn from_file(path: &Path) -> Result<AuditKey, AuditKeyError> {
        let bytes = std::fs::read(path)
            .map_err(|e| AuditKeyError::Read(path.display().to_string(), e))?;
        let key = bytes.trim_ascii().to_vec();
        if key.len() < 32 {
            return Err(AuditKeyError::TooShort(path.display().to_string()));
        }
        Ok(AuditKey(key))
    }

    /// A key from stored bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> AuditKey {
        AuditKey(bytes)
    }

    /// A new random key (hex text, so that it can be kept in a text column or file).
    pub fn generate() -> Vec<u8> {
        let bytes: [u8; 32] = rand::rng().random();
        hex::encode(bytes).into_bytes()
    }

    /// The keyed hash that stands for an ID number asked about: of its 18-digit form, so
    /// that the 15-digit form of the same number gives the same hash; of the text as
    /// given (trimmed, upper-cased) when it is not an ID number, so that even a
    /// malformed lookup can be found without keeping what was typed.
    pub fn hash_id_number(&self, raw: &str) -> String {
        let raw = raw.trim();
        match yipanqi_schemas::IdNumber::parse_lenient(raw) {
            Ok((id, _)) => self.hash(id.as_str()),
            Err(_) => self.hash(&raw.to_ascii_uppercase()),
        }
    }

    /// The keyed hash of a value: HMAC-SHA256, hex.
    pub fn hash(&self, value: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_the_key() {
        let a = AuditKey::from_bytes(b"0123456789abcdef0123456789abcdef".to_vec());
        let b = AuditKey::from_bytes(b"fedcba9876543210fedcba9876543210".to_vec());
        let id = "11010519491231002X";
        assert_eq!(a.hash(id), a.hash(id));
        assert_ne!(a.hash(id), b.hash(id));
        assert_eq!(a.hash(id).len(), 64);
        assert!(!a.hash(id).contains("1101"));
        // RFC 4231 test case 2: the hash is standard HMAC-SHA256.
        let jefe = AuditKey::from_bytes(b"Jefe".to_vec());
        assert_eq!(
            jefe.hash("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(AuditKey::generate().len(), 64);
        assert_eq!(a.hash_id_number(" 110105491231002 "), a.hash(id), "the 15-digit form");
        assert_eq!(a.hash_id_number("11010519491231002x"), a.hash(id));
        assert_eq!(a.hash_id_number("abc"), a.hash("ABC"));
    }
}
