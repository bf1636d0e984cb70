//! The pipeline: one batch of inbound documents from one province's queue becomes stored
//! canonical messages, stored rejections, and the outbound copies still to publish.
//!
//! The order is what makes "nothing lost, nothing twice under a new identity" hold:
//! translate → check references → route → store everything in one transaction → (the
//! consumer publishes with confirms) → record the confirms → (the consumer acks). A
//! message stored before a crash is found again on redelivery by its stable
//! `message_id`; its unconfirmed routes are published again with the same id and target,
//! which is the only duplicate DOMAIN.md §4 allows.

use crate::amqp::publisher::{json_properties, Outbound};
use crate::clock::Clock;
use crate::deadlines::Deadlines;
use crate::routing::{self, Destination, Original, Unrouted};
use crate::store::{
    MessageInsert, NewDocument, NewMessage, NewRejection, NewRoute, PendingRejection, Store,
    StoreError, StoreTx,
};
use crate::telemetry::{self, Stage};
use crate::topology::{dead_letter_key, DELIVER_EXCHANGE};
use chrono::SecondsFormat;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::BasicProperties;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;
use yipanqi_adapters::{Adapter, Registry, TranslateContext, Translation};
use yipanqi_schemas::{
    canonical_message_id, hub_message_id, mask_id_number, CanonicalMessage, DivisionCode, Kind, RejectReason,
    Rejection, Validated,
};

/// Settings of the pipeline.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// Inbound bodies over this many bytes are `too_large`.
    pub max_message_bytes: usize,
}

/// Turns inbound documents into stored messages and outbound copies.
#[derive(Clone)]
pub struct Pipeline {
    store: Store,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    deadlines: Arc<Deadlines>,
    settings: PipelineSettings,
}

/// What a processed batch leaves to do: publish these, then record their confirms.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Everything still to publish, in order.
    pub outbound: Vec<Outbound>,
    confirms: Vec<ConfirmKey>,
    /// Messages accepted for the first time.
    pub accepted: usize,
    /// Messages seen before with the same content.
    pub duplicates: usize,
    /// Records or documents rejected.
    pub rejected: usize,
    /// Copies already queued in this batch (message, target, role): the same document
    /// twice in one batch is delivered once.
    queued_routes: HashSet<(Uuid, String, String)>,
    /// Rejections already queued in this batch (stored row ids).
    queued_rejections: HashSet<i64>,
}

#[derive(Debug, Clone)]
enum ConfirmKey {
    Route(Uuid, String, String),
    Dead(i64),
    Notice(i64),
}

/// A record that passed translation and validation, with its routing decided.
struct Accepted {
    validated: Validated,
    routes: Result<Vec<routing::Route>, Unrouted>,
}

/// A rejected record's canonical id and kind, as far as they could be read.
type About = (Option<Uuid>, Option<Kind>);

enum Planned {
    Accepted(Box<Accepted>),
    Rejected(Rejection, About),
}

impl Pipeline {
    /// A pipeline over a store, the region's mappings and the deadline rules.
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        clock: Arc<dyn Clock>,
        deadlines: Arc<Deadlines>,
        settings: PipelineSettings,
    ) -> Pipeline {
        Pipeline {
            store,
            registry,
            clock,
            deadlines,
            settings,
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Processes one batch of documents that arrived on `province`'s queue.
    pub async fn process(
        &self,
        province: &str,
        documents: &[Vec<u8>],
    ) -> Result<BatchOutcome, StoreError> {
        let Some(adapter) = self.registry.get(province) else {
            // The consumer only runs for provinces of the registry.
            return Ok(BatchOutcome::default());
        };
        let received_at = self.clock.now();
        let ctx = TranslateContext {
            received_at,
            max_bytes: self.settings.max_message_bytes,
        };
        let translating = Instant::now();
        let translations: Vec<Translation> = documents
            .iter()
            .map(|raw| translate_guarded(adapter, raw, &ctx))
            .collect();
        telemetry::stage(province, Stage::Translate, translating.elapsed());
        let storing = Instant::now();

        let code = adapter.province().code.clone();
        // Rejections name a record only in batch formats (DOMAIN.md §4).
        let batch = adapter.is_batch();
        let mut out = BatchOutcome::default();
        let mut tx = self.store.begin().await?;
        for (raw, translation) in documents.iter().zip(translations) {
            let doc = NewDocument {
                province: province.to_string(),
                raw: raw.clone(),
                source_message_id: translation.source_message_id.clone().filter(|id| usable_legacy_id(id)),
                received_at,
            };
            let document_id = tx.insert_document(&doc).await?;
            // Rejections go back to the division that sent the document, when it says so
            // in its own province; otherwise to the province as a whole.
            let sender = translation
                .source_division
                .clone()
                .filter(|d| d.starts_with(code.as_str()) && division_shaped(d))
                .unwrap_or_else(|| code.clone());
            let at = Place {
                code: &code,
                province,
                sender: &sender,
                raw,
                doc: &doc,
                document_id,
                batch,
            };
            let records = match translation.result {
                Ok(records) => records,
                Err(rejection) => {
                    self.store_rejection(&mut tx, &mut out, &at, (None, None), rejection)
                        .await?;
                    continue;
                }
            };
            for outcome in records {
                let planned = match outcome.result {
                    Ok(validated) => self.plan(&mut tx, validated, batch).await?,
                    Err(rejection) => {
                        // Its id, when the document names itself: traces find it by that.
                        let id = doc
                            .source_message_id
                            .as_deref()
                            .map(|legacy| canonical_message_id(&code, legacy, outcome.record));
                        Planned::Rejected(rejection, (id, outcome.kind))
                    }
                };
                match planned {
                    Planned::Accepted(accepted) => {
                        self.store_accepted(&mut tx, &mut out, &at, *accepted)
                            .await?;
                    }
                    Planned::Rejected(rejection, about) => {
                        self.store_rejection(&mut tx, &mut out, &at, about, rejection)
                            .await?;
                    }
                }
            }
        }
        tx.commit().await?;
        telemetry::stage(province, Stage::Store, storing.elapsed());
        Ok(out)
    }

    /// What becomes of a document the database refuses on its own (it answers, but will
    /// not store this one): its bytes go to `yipanqi.dead` as `malformed`, and the sender
    /// gets a rejection notice, with nothing stored — the last resort that keeps one
    /// document from blocking its province's queue for ever.
    pub fn unstorable(&self, province: &str, raw: &[u8]) -> BatchOutcome {
        let mut out = BatchOutcome::default();
        let Some(adapter) = self.registry.get(province) else {
            return out;
        };
        let code = adapter.province().code.clone();
        let doc = NewDocument {
            province: province.to_string(),
            raw: raw.to_vec(),
            source_message_id: None,
            received_at: self.clock.now(),
        };
        let at = Place {
            code: &code,
            province,
            sender: &code,
            raw,
            doc: &doc,
            document_id: 0,
            batch: false,
        };
        let rejection = Rejection::new(
            RejectReason::Malformed,
            "the hub's database refused to store this document; it is kept in yipanqi.dead \
             for analysis — check its text for characters or sizes the contract does not allow",
        );
        let notice = self.reject(&at, (None, None), rejection);
        let pending = PendingRejection {
            id: 0,
            rejection: notice,
            dead_pending: true,
            notice_pending: true,
        };
        self.queue_rejection(&mut out, &code, province, raw, pending);
        // Nothing was stored, so there is no confirm to record.
        out.confirms.clear();
        out
    }

    /// Records the broker's confirms of a batch's outbound copies.
    pub async fn confirmed(&self, outcome: &BatchOutcome) -> Result<(), StoreError> {
        let at = self.clock.now();
        let mut routes = Vec::new();
        let mut dead = Vec::new();
        let mut notices = Vec::new();
        for key in &outcome.confirms {
            match key {
                ConfirmKey::Route(id, target, role) => {
                    routes.push((*id, target.clone(), role.clone()))
                }
                ConfirmKey::Dead(id) => dead.push(*id),
                ConfirmKey::Notice(id) => notices.push(*id),
            }
        }
        self.store.confirm_routes(&routes, at).await?;
        self.store.confirm_rejections(&dead, &notices, at).await
    }

    /// Checks what needs the store (references) and routes an accepted record.
    async fn plan(
        &self,
        tx: &mut StoreTx,
        validated: Validated,
        batch: bool,
    ) -> Result<Planned, StoreError> {
        let msg = &validated.message;
        let record = batch.then_some(msg.source.record);
        let mut original = None;
        if let Some(reference) = msg.in_reply_to {
            // DOMAIN.md §4 "references", in order: the message must be known, the answer
            // must come from a province it was delivered to, and be about the same person.
            let reject = |reason, detail: String, path: &str| {
                let mut r = Rejection::new(reason, detail).with_paths(vec![path.to_string()]);
                if let Some(n) = record {
                    r = r.at_record(n);
                }
                Ok(Planned::Rejected(r, (Some(msg.message_id), Some(msg.kind))))
            };
            let Some(found) = tx.message_ref(reference).await? else {
                return reject(
                    RejectReason::UnknownReference,
                    format!("in_reply_to {reference} does not refer to a message that passed through the hub"),
                    "/in_reply_to",
                );
            };
            let entitled = tx.delivered_provinces(reference).await?;
            if !entitled.contains(&msg.source.province) {
                return reject(
                    RejectReason::UnauthorizedReply,
                    format!(
                        "{} {reference} was not delivered to province {}, so it cannot answer it",
                        found.kind, msg.source.province
                    ),
                    "/in_reply_to",
                );
            }
            let about = msg.subject.as_ref().map(|s| s.id_number.as_str());
            let people = [found.subject_id.as_deref(), found.spouse_id.as_deref()];
            if about.is_some() && people.iter().any(Option::is_some) && !people.contains(&about) {
                return reject(
                    RejectReason::SubjectMismatch,
                    format!(
                        "the answer is about another person ({}) than {} {reference}",
                        mask_id_number(about.unwrap_or_default()),
                        found.kind
                    ),
                    "/subject/id_number",
                );
            }
            match DivisionCode::parse(&found.source_division) {
                Ok(division) => {
                    original = Some(Original {
                        kind: found.kind,
                        source_division: division,
                    })
                }
                Err(_) => {
                    return reject(
                        RejectReason::UnknownReference,
                        format!("the sender division of {reference} is no longer known"),
                        "/in_reply_to",
                    )
                }
            }
        }
        let registry = &self.registry;
        let routes = routing::route(msg, original.as_ref(), &|code| registry.contains_code(code));
        Ok(Planned::Accepted(Box::new(Accepted { validated, routes })))
    }

    async fn store_accepted(
        &self,
        tx: &mut StoreTx,
        out: &mut BatchOutcome,
        at: &Place<'_>,
        accepted: Accepted,
    ) -> Result<(), StoreError> {
        let Place {
            code,
            province,
            doc,
            document_id,
            batch,
            ..
        } = *at;
        let msg = &accepted.validated.message;
        let canonical = serde_json::to_string(msg).unwrap_or_default();
        let content_hash = content_hash(msg);
        let routes: Vec<NewRoute> = match &accepted.routes {
            Ok(routes) => routes.iter().map(stored_route(&self.registry)).collect(),
            Err(Unrouted::Held(_)) => Vec::new(),
        };
        let new = NewMessage {
            message_id: msg.message_id,
            province: code.to_string(),
            source_message_id: msg.source.message_id.clone(),
            record: msg.source.record,
            kind: msg.kind.as_str().to_string(),
            source_division: msg.source.division.as_str().to_string(),
            in_reply_to: msg.in_reply_to,
            subject_id: msg
                .subject
                .as_ref()
                .map(|s| s.id_number.as_str().to_string()),
            spouse_id: msg
                .spouse
                .as_ref()
                .map(|s| s.id_number.as_str().to_string()),
            content_hash: content_hash.clone(),
            canonical: canonical.clone(),
            outcome: if routes.is_empty() { "held" } else { "routed" },
            warnings: serde_json::to_string(&accepted.validated.warnings).unwrap_or_default(),
            received_at: doc.received_at,
        };
        match tx.insert_message(document_id, &new).await? {
            MessageInsert::Inserted => {
                tx.insert_routes(msg.message_id, &routes).await?;
                if let Ok(planned) = &accepted.routes {
                    self.deadlines.open(tx, msg, planned, province).await?;
                }
                if let Some(original) = msg.in_reply_to {
                    self.deadlines.answer(tx, msg, original, province).await?;
                }
                for r in &routes {
                    out.push_route(msg, &canonical, msg.message_id, r);
                }
                if let Err(Unrouted::Held(why)) = &accepted.routes {
                    tracing::info!(message_id = %msg.message_id, province, kind = %msg.kind, why, "message held");
                }
                telemetry::accepted(province, msg, routes.len(), &accepted.validated.warnings);
                out.accepted += 1;
            }
            MessageInsert::Existing {
                content_hash: stored,
            } if stored == content_hash => {
                // A redelivery or a re-send: publish only what was never confirmed.
                let (pending, stored_canonical) = tx.pending_routes(msg.message_id).await?;
                let payload = stored_canonical.unwrap_or(canonical);
                for p in &pending {
                    out.push_route(msg, &payload, p.message_id, &p.route);
                }
                telemetry::duplicate(province, msg, pending.len());
                out.duplicates += 1;
            }
            MessageInsert::Existing { .. } => {
                let mut rejection = Rejection::new(
                    RejectReason::ConflictingDuplicate,
                    format!(
                        "legacy message {} record {} was received before with other content; \
                         send corrections under a new message id",
                        msg.source.message_id, msg.source.record
                    ),
                );
                if batch {
                    rejection = rejection.at_record(msg.source.record);
                }
                self.store_rejection(tx, out, at, (Some(msg.message_id), Some(msg.kind)), rejection)
                    .await?;
            }
        }
        Ok(())
    }

    /// Stores a rejection (unless this record was rejected before) and queues what of it
    /// is still to publish: the dead letter and the notice to the sender.
    async fn store_rejection(
        &self,
        tx: &mut StoreTx,
        out: &mut BatchOutcome,
        at: &Place<'_>,
        about: About,
        rejection: Rejection,
    ) -> Result<(), StoreError> {
        let notice = self.reject(at, about, rejection);
        let stored = tx.insert_rejection(at.document_id, &notice).await?;
        self.queue_rejection(out, at.code, at.province, at.raw, stored);
        Ok(())
    }

    /// Builds the stored form of a rejection, with the notice that goes back to the sender.
    fn reject(&self, at: &Place<'_>, about: About, mut rejection: Rejection) -> NewRejection {
        rejection.detail = clean_detail(&rejection.detail);
        let (message_id, kind) = about;
        let Place {
            code,
            province,
            sender,
            doc,
            ..
        } = *at;
        let source_id = doc.source_message_id.clone();
        let record = rejection.record;
        let name = format!(
            "yipanqi:hub:rejection:{code}:{}:{}",
            source_id.as_deref().unwrap_or("-"),
            record.map(|r| r.to_string()).unwrap_or_else(|| "-".into())
        );
        let rejection_id = hub_message_id(&name);
        // The notice's source is the sender it concerns; a province as a whole is its
        // GB/T 2260 province-level code (34 → 340000).
        let division = if sender.len() == 2 {
            format!("{sender}0000")
        } else {
            sender.to_string()
        };
        let now = self.clock.now();
        let notice = json!({
            "schema": yipanqi_schemas::SCHEMA_ID,
            "message_id": rejection_id,
            "kind": "rejection",
            "source": {
                "province": code,
                "division": division,
                "message_id": source_id.clone().unwrap_or_else(|| "-".into()),
                "record": record.unwrap_or(0),
            },
            "sent_at": now.to_rfc3339_opts(SecondsFormat::Secs, false),
            "received_at": doc.received_at.to_rfc3339_opts(SecondsFormat::Millis, false),
            "in_reply_to": Value::Null,
            "subject": Value::Null,
            "spouse": Value::Null,
            "body": {
                "reason": rejection.reason,
                "detail": rejection.detail,
                "paths": rejection.paths,
                "record": record,
                "source_message_id": source_id,
            }
        });
        telemetry::rejected(
            province,
            message_id,
            rejection_id,
            kind.map(|k| k.as_str()),
            &rejection,
        );
        NewRejection {
            record,
            province: province.to_string(),
            source_message_id: doc.source_message_id.clone(),
            message_id,
            kind: kind.map(|k| k.as_str().to_string()),
            rejection_id,
            reason: rejection.reason.as_str().to_string(),
            detail: rejection.detail.clone(),
            notice: notice.to_string(),
            notice_key: format!("{code}.{sender}.rejection"),
            received_at: doc.received_at,
        }
    }

    fn queue_rejection(
        &self,
        out: &mut BatchOutcome,
        code: &str,
        province: &str,
        raw: &[u8],
        stored: PendingRejection,
    ) {
        let r = &stored.rejection;
        if !out.queued_rejections.insert(stored.id) {
            // The same document twice in this batch: its rejection is already queued.
            return;
        }
        // Which document this is about: rejection ids are made of province, legacy id and
        // record (DOMAIN.md §3), so documents without a readable id share one; consumers
        // tell them apart by this.
        let document = hex::encode(&Sha256::digest(raw)[..8]);
        if stored.dead_pending {
            let mut headers = FieldTable::default();
            let mut put = |name: &str, value: String| {
                headers.insert(ShortString::from(name), AMQPValue::LongString(value.into()));
            };
            put("x-yipanqi-reason", r.reason.clone());
            put("x-yipanqi-detail", bounded(&r.detail, MAX_HEADER_CHARS));
            put("x-yipanqi-province", province.to_string());
            put("x-yipanqi-document", document.clone());
            if let Some(record) = r.record {
                put("x-yipanqi-record", record.to_string());
            }
            if let Some(id) = &r.source_message_id {
                put("x-yipanqi-source-message-id", bounded(id, MAX_HEADER_CHARS));
            }
            out.outbound.push(Outbound {
                exchange: DELIVER_EXCHANGE.to_string(),
                routing_key: dead_letter_key(code, &r.reason),
                payload: raw.to_vec(),
                properties: BasicProperties::default()
                    .with_message_id(r.rejection_id.to_string().into())
                    .with_delivery_mode(2)
                    .with_headers(headers),
            });
            out.confirms.push(ConfirmKey::Dead(stored.id));
        }
        if stored.notice_pending {
            out.outbound.push(Outbound {
                exchange: DELIVER_EXCHANGE.to_string(),
                routing_key: r.notice_key.clone(),
                payload: r.notice.clone().into_bytes(),
                properties: json_properties(
                    &r.rejection_id.to_string(),
                    None,
                    "rejection",
                    &[
                        ("x-yipanqi-role", "owner".to_string()),
                        ("x-yipanqi-target", code.to_string()),
                        ("x-yipanqi-reason", r.reason.clone()),
                        ("x-yipanqi-document", document),
                    ],
                ),
            });
            out.confirms.push(ConfirmKey::Notice(stored.id));
        }
        out.rejected += 1;
    }
}

impl BatchOutcome {
    fn push_route(&mut self, msg: &CanonicalMessage, payload: &str, id: Uuid, r: &NewRoute) {
        if !self
            .queued_routes
            .insert((id, r.target_division.clone(), r.role.clone()))
        {
            // The same document twice in this batch: this copy is already queued.
            return;
        }
        let correlation = msg.in_reply_to.map(|u| u.to_string());
        self.outbound.push(Outbound {
            exchange: DELIVER_EXCHANGE.to_string(),
            routing_key: r.routing_key.clone(),
            payload: payload.as_bytes().to_vec(),
            properties: json_properties(
                &id.to_string(),
                correlation.as_deref(),
                msg.kind.as_str(),
                &[
                    ("x-yipanqi-role", r.role.clone()),
                    ("x-yipanqi-target", r.target_division.clone()),
                ],
            ),
        });
        self.confirms.push(ConfirmKey::Route(
            id,
            r.target_division.clone(),
            r.role.clone(),
        ));
    }
}

fn stored_route(registry: &Registry) -> impl Fn(&routing::Route) -> NewRoute + '_ {
    move |r| NewRoute {
        target_division: r.target.as_str().to_string(),
        role: r.role.as_str().to_string(),
        destination: match &r.destination {
            Destination::Region(code) => registry
                .by_code(code)
                .map(|m| m.province().name.clone())
                .unwrap_or_else(|| code.clone()),
            Destination::Padis => "padis".to_string(),
        },
        routing_key: r.routing_key.clone(),
        why: r.why.clone(),
    }
}

/// Where an accepted record came from: what storing it and its rejection needs.
#[derive(Clone, Copy)]
struct Place<'a> {
    code: &'a str,
    province: &'a str,
    sender: &'a str,
    raw: &'a [u8],
    doc: &'a NewDocument,
    document_id: i64,
    batch: bool,
}

/// Longest legacy message id the hub keeps as one (the canonical schema allows 64): a
/// longer one, or one with control characters, is treated as unreadable, so that it
/// reaches no header, routing key, rejection id or text column.
const MAX_LEGACY_ID_CHARS: usize = 64;
/// Longest text put in one AMQP header: the broker closes the connection on a header
/// frame over its frame size (128 KiB), which would stop the whole hub.
const MAX_HEADER_CHARS: usize = 512;
/// Longest rejection detail kept.
const MAX_DETAIL_CHARS: usize = 2000;

fn usable_legacy_id(id: &str) -> bool {
    !id.is_empty() && id.chars().count() <= MAX_LEGACY_ID_CHARS && !id.chars().any(char::is_control)
}

/// A division code's shape (6 or 9 digits), before it names a routing key.
fn division_shaped(d: &str) -> bool {
    (d.len() == 6 || d.len() == 9) && d.bytes().all(|b| b.is_ascii_digit())
}

/// At most `max` characters, with `…` when cut.
fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A rejection detail fit for a text column, a log line and a header: no control
/// characters (PostgreSQL refuses NUL in text), bounded.
fn clean_detail(detail: &str) -> String {
    let cleaned: String = detail
        .chars()
        .map(|c| if c.is_control() && c != '\n' { '\u{FFFD}' } else { c })
        .collect();
    bounded(&cleaned, MAX_DETAIL_CHARS)
}

/// Hash of a message's content without the hub's receipt time: the same legacy message
/// received twice hashes the same.
pub fn content_hash(msg: &CanonicalMessage) -> String {
    let mut value = serde_json::to_value(msg).unwrap_or(Value::Null);
    if let Some(obj) = value.as_object_mut() {
        obj.remove("received_at");
    }
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}

/// Translation is pure and must never panic; if a hostile document finds a way, the
/// document is rejected rather than the consumer dying and the queue stalling on it.
fn translate_guarded(adapter: &dyn Adapter, raw: &[u8], ctx: &TranslateContext) -> Translation {
    match std::panic::catch_unwind(AssertUnwindSafe(|| adapter.translate(raw, ctx))) {
        Ok(t) => t,
        Err(_) => Translation {
            source_message_id: None,
            source_division: None,
            result: Err(Rejection::new(
                RejectReason::Malformed,
                "the document could not be translated (internal error; the hub keeps it for analysis)",
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_ids_and_details_are_bounded() {
        assert!(usable_legacy_id("AH34010420261103000001"));
        assert!(!usable_legacy_id(&format!("AH{}", "9".repeat(300_000))));
        assert!(!usable_legacy_id("AH34010420261103\u{0}8899"));
        assert!(!usable_legacy_id(""));
        assert!(division_shaped("341302") && division_shaped("310104011"));
        assert!(!division_shaped(&format!("34{}", "0".repeat(1000))));
        let long = "字".repeat(5000);
        assert_eq!(bounded(&long, MAX_HEADER_CHARS).chars().count(), MAX_HEADER_CHARS);
        assert!(bounded(&long, 10).ends_with('…'));
        assert_eq!(clean_detail("a\u{0}b"), "a\u{FFFD}b");
        assert!(clean_detail(&long).chars().count() <= MAX_DETAIL_CHARS);
    }

    #[test]
    fn rejection_ids_follow_the_domain_names() {
        let id = hub_message_id("yipanqi:hub:rejection:34:AH34010420261103000001:-");
        assert_eq!(
            id,
            Uuid::new_v5(
                &Uuid::NAMESPACE_URL,
                b"yipanqi:hub:rejection:34:AH34010420261103000001:-"
            )
        );
    }
}
