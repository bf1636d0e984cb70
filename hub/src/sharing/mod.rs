//! Information sharing: the residence place looks up a migrant's family-planning basics,
//! and provinces list the 《婚育证明》 issued and verified — answered only to those
//! entitled (`access::rules`), and never without a line in the audit.
//!
//! [`Sharing`] is the one service behind both ways of asking: `api/people.rs` (HTTP,
//! bearer tokens) and `query.rs` (AMQP RPC on `yipanqi.query`, the broker user as the
//! caller). Each lookup is decided, then written to the audit, then answered: if the
//! audit cannot be written, nothing is answered.

pub mod certificates;
pub mod profile;
pub mod query;

use crate::access::rules::{self, Refusal, RefusalReason};
use crate::access::{AccessSettings, AuditEntry, AuditKey, Caller, Channel};
use crate::clock::Clock;
use crate::store::{CertificateQuery, ExpectationFilter, Store, StoreError};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use yipanqi_adapters::Registry;
use yipanqi_schemas::IdNumber;

/// Certificate records listed at most per request.
pub const CERTIFICATES_LIMIT: i64 = 1000;

/// Why a lookup was not answered.
#[derive(Debug, thiserror::Error)]
pub enum SharingError {
    /// Refused, with a reason (already audited).
    #[error("{}: {}", .0.reason.as_str(), .0.detail)]
    Refused(Refusal),
    /// The database failed (nothing was answered).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A 《婚育证明》 list request: by number, or by issuing division and dates.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CertificateRequest {
    /// One certificate's number.
    pub cert_no: Option<String>,
    /// The issuing division or a prefix of it (2, 4, 6 or 9 digits).
    pub division: Option<String>,
    /// Issued on or after (`YYYY-MM-DD`).
    pub issued_from: Option<String>,
    /// Issued on or before (`YYYY-MM-DD`).
    pub issued_to: Option<String>,
}

impl CertificateRequest {
    /// Checks the request; the refusal says what is wrong.
    fn check(&self) -> Result<(), Refusal> {
        let invalid = |detail: String| Refusal::new(RefusalReason::InvalidRequest, detail);
        match (&self.cert_no, &self.division) {
            (None, None) => {
                return Err(invalid(
                    "give cert_no, or division (with issued_from and issued_to if wanted)".into(),
                ))
            }
            (Some(_), Some(_)) => return Err(invalid("give cert_no or division, not both".into())),
            (Some(n), None) if n.trim().is_empty() || n.len() > 64 => {
                return Err(invalid("cert_no must be 1 to 64 characters".into()))
            }
            _ => {}
        }
        if let Some(d) = &self.division {
            if ![2, 4, 6, 9].contains(&d.len()) || !d.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(format!(
                    "division '{}' is not a division code or prefix (2, 4, 6 or 9 digits)",
                    d.chars().take(12).collect::<String>()
                )));
            }
        }
        for (name, value) in [("issued_from", &self.issued_from), ("issued_to", &self.issued_to)] {
            if let Some(v) = value {
                if NaiveDate::parse_from_str(v, "%Y-%m-%d").is_err() {
                    return Err(invalid(format!("{name} must be a date YYYY-MM-DD")));
                }
            }
        }
        Ok(())
    }

    /// What was asked, for the audit: never a certificate number in clear.
    fn audit_target(&self, key: &AuditKey) -> String {
        match (&self.cert_no, &self.division) {
            (Some(n), _) => format!("cert_no:{}", key.hash(n)),
            (None, Some(d)) => format!(
                "division:{d} issued:{}..{}",
                self.issued_from.as_deref().unwrap_or(""),
                self.issued_to.as_deref().unwrap_or("")
            ),
            (None, None) => String::new(),
        }
    }
}

/// Requests without a known token written to the audit one by one in a minute; more are
/// counted and written as one row, so that anyone who can reach the port cannot grow the
/// append-only audit without bound.
pub const ANONYMOUS_ROWS_PER_MINUTE: u32 = 60;

/// The current minute's unauthenticated refusals.
#[derive(Debug, Default)]
struct AnonymousWindow {
    minute: i64,
    written: u32,
    counted: u64,
}

impl AnonymousWindow {
    /// Moves to `minute`; the count of the minute left, if any was counted.
    fn roll(&mut self, minute: i64) -> Option<(i64, u64)> {
        if self.minute == minute {
            return None;
        }
        let earlier = (self.counted > 0).then_some((self.minute, self.counted));
        *self = AnonymousWindow {
            minute,
            ..AnonymousWindow::default()
        };
        earlier
    }
}

/// The audit row that counts a minute's unauthenticated requests beyond the first ones.
fn unauthenticated_summary(channel: Channel, minute: i64, n: u64) -> AuditEntry {
    let start = chrono::DateTime::from_timestamp(minute * 60, 0)
        .map(|t| {
            t.with_timezone(&crate::clock::beijing_offset())
                .format("%Y-%m-%d %H:%M %:z")
                .to_string()
        })
        .unwrap_or_default();
    let what = match channel {
        Channel::Amqp => "queries without a province's user_id",
        _ => "requests without a known token",
    };
    AuditEntry::anonymous("-", channel, "api").refused(&Refusal::new(
        RefusalReason::Unauthenticated,
        format!(
            "{n} more {what} in the minute from {start}, beyond {ANONYMOUS_ROWS_PER_MINUTE} \
             written one by one"
        ),
    ))
}

/// The audit key: from the configured file, else the one kept in the database.
pub async fn audit_key(store: &Store, settings: &AccessSettings) -> anyhow::Result<AuditKey> {
    Ok(match &settings.audit_key_file {
        Some(path) => AuditKey::from_file(path)?,
        None => store.stored_audit_key().await?,
    })
}

/// Profiles and certificate lists, decided and audited.
#[derive(Clone)]
pub struct Sharing {
    store: Store,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    key: AuditKey,
    /// Per channel (HTTP, AMQP, command line).
    anonymous: Arc<std::sync::Mutex<[AnonymousWindow; 3]>>,
}

impl Sharing {
    /// The service over a store; the audit key from the configured file, else the one
    /// kept in the database.
    pub async fn new(
        store: Store,
        registry: Arc<Registry>,
        clock: Arc<dyn Clock>,
        settings: &AccessSettings,
    ) -> anyhow::Result<Sharing> {
        let key = audit_key(&store, settings).await?;
        Ok(Sharing {
            store,
            registry,
            clock,
            key,
            anonymous: Arc::default(),
        })
    }

    /// Audits a request (or broker query) refused for want of a known caller: the first
    /// [`ANONYMOUS_ROWS_PER_MINUTE`] of a minute one by one, the rest counted, and their
    /// number written as one row when the next minute's first comes.
    pub async fn record_unauthenticated(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        crate::telemetry::unauthenticated();
        let minute = self.clock.now().timestamp().div_euclid(60);
        let (write, earlier) = {
            let mut windows = self.anonymous.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let w = &mut windows[entry.channel as usize];
            let earlier = w.roll(minute);
            if w.written < ANONYMOUS_ROWS_PER_MINUTE {
                w.written += 1;
                (true, earlier)
            } else {
                w.counted += 1;
                (false, earlier)
            }
        };
        if let Some((at, n)) = earlier {
            self.record(&unauthenticated_summary(entry.channel, at, n)).await?;
        }
        if write {
            self.record(entry).await?;
        }
        Ok(())
    }

    /// Writes the count of unauthenticated requests not written one by one: of a minute
    /// that is over, or (`all`, at shutdown) of the current one too. The hub calls it
    /// every few seconds, so that a count is written without waiting for the next one.
    pub async fn flush_unauthenticated(&self, all: bool) -> Result<(), StoreError> {
        let minute = self.clock.now().timestamp().div_euclid(60);
        let pending: Vec<(Channel, i64, u64)> = {
            let mut windows = self.anonymous.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            [Channel::Http, Channel::Amqp, Channel::Cli]
                .into_iter()
                .filter_map(|channel| {
                    let w = &mut windows[channel as usize];
                    let due = if all && w.counted > 0 {
                        Some((w.minute, std::mem::take(&mut w.counted)))
                    } else {
                        w.roll(minute)
                    };
                    due.map(|(at, n)| (channel, at, n))
                })
                .collect()
        };
        for (channel, at, n) in pending {
            self.record(&unauthenticated_summary(channel, at, n)).await?;
        }
        Ok(())
    }

    /// The audit key (for `yipanqi audit --id-number`).
    pub fn key(&self) -> &AuditKey {
        &self.key
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Writes one audit line, at the hub's now.
    pub async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.store.record_audit(entry, self.clock.now()).await
    }

    /// Audits a refusal and returns it as the error.
    async fn refuse(&self, entry: AuditEntry, refusal: Refusal) -> SharingError {
        match self.record(&entry.refused(&refusal)).await {
            Ok(()) => SharingError::Refused(refusal),
            Err(e) => SharingError::Store(e),
        }
    }

    /// The profile of a person, if `caller` may see it.
    pub async fn profile(
        &self,
        caller: &Caller,
        channel: Channel,
        id_number: &str,
    ) -> Result<Value, SharingError> {
        let entry = AuditEntry::by(caller, channel, "profile");
        let entry = entry.about(Some(self.key.hash_id_number(id_number)));
        let id = match IdNumber::parse_lenient(id_number.trim()) {
            Ok((id, _)) => id,
            Err(e) => {
                let refusal = Refusal::new(
                    RefusalReason::InvalidRequest,
                    format!("not a citizen ID number: {e}"),
                );
                return Err(self.refuse(entry, refusal).await);
            }
        };
        if caller.province.is_none() {
            let refusal = rules::profile(caller, &rules::Relations::default(), 0)
                .expect_err("only a province may read a profile");
            return Err(self.refuse(entry, refusal).await);
        }
        let messages = self.store.messages_about(id.as_str()).await?;
        let expectations = self
            .store
            .expectations(&ExpectationFilter {
                person: Some(id.as_str().to_string()),
                ..ExpectationFilter::default()
            })
            .await?;
        let profile = profile::assemble(
            id.as_str(),
            &messages,
            &expectations,
            &self.registry,
            self.clock.now(),
        );
        match rules::profile(caller, &profile.relations, self.clock.now().timestamp_millis()) {
            Ok(why) => {
                self.record(&entry.allowed(format!("{why} ({} messages)", profile.sources)))
                    .await?;
                Ok(profile.json)
            }
            Err(refusal) => Err(self.refuse(entry, refusal).await),
        }
    }

    /// The 《婚育证明》 records `caller` may see.
    pub async fn certificates(
        &self,
        caller: &Caller,
        channel: Channel,
        request: &CertificateRequest,
    ) -> Result<Value, SharingError> {
        let entry = AuditEntry::by(caller, channel, "certificates").target(request.audit_target(&self.key));
        if let Err(refusal) = request.check() {
            return Err(self.refuse(entry, refusal).await);
        }
        let (scope, masked) = match rules::certificates(caller) {
            Ok(s) => s,
            Err(refusal) => return Err(self.refuse(entry, refusal).await),
        };
        let records = self
            .store
            .certificates(
                &CertificateQuery {
                    cert_no: request.cert_no.clone(),
                    division: request.division.clone(),
                    issued_from: request.issued_from.clone(),
                    issued_to: request.issued_to.clone(),
                    limit: CERTIFICATES_LIMIT + 1,
                },
                &scope,
            )
            .await?;
        let mut list = certificates::list(&records, masked);
        let issued = |c: &Value| c["issued"].as_array().is_some_and(|a| !a.is_empty());
        let truncated = list.iter().filter(|c| issued(c)).count() as i64 > CERTIFICATES_LIMIT;
        if truncated {
            list.truncate(CERTIFICATES_LIMIT as usize);
        }
        let what = if masked { "holders masked" } else { "holders in full" };
        self.record(&entry.allowed(format!("{} certificates, {what}", list.len())))
            .await?;
        Ok(json!({ "certificates": list, "truncated": truncated, "masked": masked }))
    }
}
