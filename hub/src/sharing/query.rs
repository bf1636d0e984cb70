//! Queries over the broker, the RabbitMQ RPC pattern: a province's system publishes a
//! `query.schema.json` document to the exchange `yipanqi.query` with `reply_to` and
//! `correlation_id`; the hub answers (`answer.schema.json`) on `reply_to` with the same
//! `correlation_id`.
//!
//! Who asks is the AMQP `user_id` property, which RabbitMQ refuses unless it is the
//! publishing connection's own user: a province's broker user (`yipanqi-anhui`) cannot
//! claim to be another. A query without it, or from a user that is not a province's, is
//! refused like an unknown token. The answer goes only to a direct reply-to address
//! (`amq.rabbitmq.reply-to…`, which reaches the asking channel and nothing else) or to
//! the asking province's own reply queue `yipanqi.reply.<province>`: a `reply_to` naming
//! any other queue is never answered, so that a query cannot send a profile into
//! another province's queue.
//!
//! A query is acknowledged once its answer is confirmed by the broker (or cannot be
//! delivered); if the audit cannot be written it goes back to the queue, unanswered.

use super::{CertificateRequest, Sharing, SharingError};
use crate::access::rules::{Refusal, RefusalReason};
use crate::access::{Access, AuditEntry, Caller, Channel as AuditChannel};
use crate::amqp::consumer::ConsumerError;
use crate::topology::{reply_queue, QUERY_QUEUE};
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Queries larger than this are refused unread.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Queries the broker may push ahead of the answers.
const PREFETCH: u16 = 20;
/// Prefix of RabbitMQ's direct reply-to addresses.
const DIRECT_REPLY_TO: &str = "amq.rabbitmq.reply-to";

/// Consumes `yipanqi.query` until cancelled or the broker fails. Answers go out on a
/// connection of their own (to `amqp_url`): a `reply_to` the broker cannot handle — a
/// forged direct reply-to address makes RabbitMQ close the publishing connection — then
/// costs that connection, never the hub's consumers.
pub async fn run(
    connection: Arc<Connection>,
    amqp_url: String,
    sharing: Sharing,
    access: Arc<Access>,
    cancel: CancellationToken,
) -> Result<(), ConsumerError> {
    let consume = connection.create_channel().await?;
    consume.basic_qos(PREFETCH, BasicQosOptions::default()).await?;
    let mut replier = Replier {
        url: amqp_url,
        open: None,
        refused: std::collections::HashMap::new(),
    };
    let mut consumer = consume
        .basic_consume(
            QUERY_QUEUE.into(),
            "yipanqi-hub-query".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = QUERY_QUEUE, "answering queries");
    loop {
        let delivery = tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            next = consumer.next() => match next {
                Some(delivery) => delivery?,
                None => return Err(ConsumerError::Ended(QUERY_QUEUE.to_string())),
            },
        };
        handle(&consume, &mut replier, &sharing, &access, delivery).await?;
    }
    let _ = consume.close(200, "hub shutting down".into()).await;
    if let Some((connection, _)) = replier.open.take() {
        let _ = connection.close(200, "hub shutting down".into()).await;
    }
    Ok(())
}

/// The connection and confirming channel that answers go out on, opened when first
/// needed and again after the broker closed it.
struct Replier {
    url: String,
    open: Option<(Connection, Channel)>,
    /// When each asker's direct reply-to address last made the broker close the answer
    /// connection: its direct reply-to queries wait [`DIRECT_REPLY_PAUSE`] after that.
    refused: std::collections::HashMap<String, std::time::Instant>,
}

/// How long an asker whose direct reply-to address the broker refused gets no answers by
/// direct reply-to: a forged address costs the hub a connection, and at most one each
/// this often.
const DIRECT_REPLY_PAUSE: Duration = Duration::from_secs(10);

impl Replier {
    /// Whether `asker`'s direct reply-to answers are paused.
    fn paused(&mut self, asker: &str) -> bool {
        self.refused.retain(|_, at| at.elapsed() < DIRECT_REPLY_PAUSE);
        self.refused.contains_key(asker)
    }

    /// Publishes an answer to the default exchange and awaits the broker's confirm.
    async fn send(
        &mut self,
        to: &str,
        body: &[u8],
        props: BasicProperties,
    ) -> Result<Confirmation, lapin::Error> {
        if self.open.is_none() {
            let connection = Connection::connect(
                &self.url,
                lapin::ConnectionProperties::default()
                    .with_connection_name("yipanqi-hub-answers".into()),
            )
            .await?;
            let channel = connection.create_channel().await?;
            channel.confirm_select(ConfirmSelectOptions::default()).await?;
            self.open = Some((connection, channel));
        }
        let Some((_, channel)) = &self.open else {
            return Err(lapin::Error::from(lapin::ErrorKind::InvalidConnectionState(
                lapin::ConnectionState::Closed,
            )));
        };
        // A named reply queue must exist (mandatory: returned if not). A direct reply-to
        // address is never a queue to the broker, which returns a mandatory message to
        // it even when it delivers it.
        let mandatory = !to.starts_with(DIRECT_REPLY_TO);
        let result = async {
            channel
                .basic_publish(
                    "".into(),
                    to.into(),
                    BasicPublishOptions { mandatory, ..BasicPublishOptions::default() },
                    body,
                    props,
                )
                .await?
                .await
        }
        .await;
        if result.is_err() {
            // Closed under us (a reply_to the broker could not handle): open anew next time.
            self.open = None;
        }
        result
    }
}

/// Where an answer may go: a direct reply-to address, or the caller's reply queue.
fn answerable(reply_to: &str, caller: Option<&Caller>) -> bool {
    if reply_to.starts_with(DIRECT_REPLY_TO) {
        return true;
    }
    caller
        .and_then(Caller::province_name)
        .is_some_and(|p| reply_to == reply_queue(p))
}

/// What a query asks.
enum Asked {
    Profile(String),
    Certificates(CertificateRequest),
}

/// Reads a query, or says why it cannot be read (never quoting its values).
fn parse(body: &[u8]) -> Result<(Asked, &'static str), Refusal> {
    let invalid = |detail: String| Refusal::new(RefusalReason::InvalidRequest, detail);
    if body.len() > MAX_QUERY_BYTES {
        return Err(invalid(format!(
            "the query is {} bytes; at most {MAX_QUERY_BYTES} are read",
            body.len()
        )));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("the query is not JSON (line {}, column {})", e.line(), e.column())))?;
    yipanqi_schemas::validate_query(&value)
        .map_err(|errors| invalid(format!("the query does not follow query.schema.json: {}", errors.join("; "))))?;
    match value["query"].as_str() {
        Some("profile") => Ok((
            Asked::Profile(value["id_number"].as_str().unwrap_or_default().to_string()),
            "profile",
        )),
        Some("certificates") => {
            let mut fields = value.clone();
            if let Some(o) = fields.as_object_mut() {
                o.remove("schema");
                o.remove("query");
            }
            let request: CertificateRequest = serde_json::from_value(fields)
                .map_err(|_| invalid("the certificates query has fields of the wrong type".into()))?;
            Ok((Asked::Certificates(request), "certificates"))
        }
        _ => Err(invalid("query must be profile or certificates".into())),
    }
}

fn refused(refusal: &Refusal) -> Value {
    json!({
        "schema": yipanqi_schemas::SCHEMA_ID,
        "answer": "refused",
        "refused": { "reason": refusal.reason.as_str(), "detail": refusal.detail },
    })
}

async fn handle(
    consume: &Channel,
    replier: &mut Replier,
    sharing: &Sharing,
    access: &Access,
    delivery: Delivery,
) -> Result<(), ConsumerError> {
    let tag = delivery.delivery_tag;
    let user = delivery.properties.user_id().as_ref().map(|u| u.to_string());
    let reply_to = delivery.properties.reply_to().as_ref().map(|r| r.to_string());
    let correlation = delivery.properties.correlation_id().clone();
    let caller = user.as_deref().and_then(|u| access.broker_caller(u));

    // An answer that could only go to someone else's queue is not worked out at all.
    let Some(to) = reply_to.as_deref().filter(|to| answerable(to, caller.as_ref())) else {
        let refusal = Refusal::new(
            RefusalReason::InvalidRequest,
            "reply_to must be amq.rabbitmq.reply-to or the asking province's yipanqi.reply.<province>",
        );
        return not_answered(consume, tag, sharing, caller.as_ref(), user.as_deref(), &refusal).await;
    };
    let asker = user.clone().unwrap_or_else(|| "-".to_string());
    let direct = to.starts_with(DIRECT_REPLY_TO);
    if direct && replier.paused(&asker) {
        let refusal = Refusal::new(
            RefusalReason::InvalidRequest,
            format!(
                "the broker refused this asker's last direct reply-to address: answers by direct \
                 reply-to resume {} s after it (or use yipanqi.reply.<province>)",
                DIRECT_REPLY_PAUSE.as_secs()
            ),
        );
        return not_answered(consume, tag, sharing, caller.as_ref(), user.as_deref(), &refusal).await;
    }
    let answer = match answer(sharing, caller.as_ref(), user.as_deref(), &delivery.data).await {
        Ok(answer) => answer,
        Err(e) => return requeue(consume, tag, &e).await,
    };
    let mut props = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_type(answer["answer"].as_str().unwrap_or("refused").into());
    if let Some(c) = correlation {
        props = props.with_correlation_id(c);
    }
    let body = serde_json::to_vec(&answer).unwrap_or_default();
    // Whatever becomes of the answer, the query is done: acknowledged below, so that a
    // reply_to the broker refuses cannot bring the same query back again and again.
    let undelivered = match replier.send(to, &body, props).await {
        Ok(Confirmation::Ack(None) | Confirmation::NotRequested) => None,
        Ok(_) => Some("its reply_to queue does not exist".to_string()),
        Err(e) => {
            if direct {
                replier.refused.insert(asker.clone(), std::time::Instant::now());
            }
            Some(format!("the broker refused its reply_to ({e})"))
        }
    };
    if let Some(why) = undelivered {
        tracing::warn!(user = user.as_deref().unwrap_or("-"), "the answer to a query was not delivered: {why}");
        let refusal = Refusal::new(
            RefusalReason::InvalidRequest,
            format!("the answer was not delivered: {why}"),
        );
        if let Err(e) = audit_refusal(sharing, caller.as_ref(), user.as_deref(), &refusal).await {
            tracing::error!(error = %e, "cannot audit an undelivered answer");
        }
    }
    consume.basic_ack(tag, BasicAckOptions::default()).await?;
    Ok(())
}

/// A query refused before any lookup: audited, logged (without its reply_to, which is
/// the asker's text and could be anything) and acknowledged; back to the queue if the
/// audit cannot be written.
async fn not_answered(
    consume: &Channel,
    tag: u64,
    sharing: &Sharing,
    caller: Option<&Caller>,
    user: Option<&str>,
    refusal: &Refusal,
) -> Result<(), ConsumerError> {
    if let Err(e) = audit_refusal(sharing, caller, user, refusal).await {
        return requeue(consume, tag, &e).await;
    }
    tracing::warn!(user = user.unwrap_or("-"), "query not answered: {}", refusal.detail);
    consume.basic_ack(tag, BasicAckOptions::default()).await?;
    Ok(())
}

/// Audits a refused query: an identified caller's one by one, an unidentified one's
/// within the bound of [`Sharing::record_unauthenticated`] (any broker user can publish
/// queries without `user_id` as fast as it likes).
async fn audit_refusal(
    sharing: &Sharing,
    caller: Option<&Caller>,
    user: Option<&str>,
    refusal: &Refusal,
) -> Result<(), crate::store::StoreError> {
    match caller {
        Some(c) => sharing.record(&AuditEntry::by(c, AuditChannel::Amqp, "query").refused(refusal)).await,
        None => {
            let entry = AuditEntry::anonymous(user.unwrap_or("-"), AuditChannel::Amqp, "query");
            sharing.record_unauthenticated(&entry.refused(refusal)).await
        }
    }
}

/// The database failed: nothing was answered or audited. The query goes back to the
/// queue, after a pause.
async fn requeue(
    consume: &Channel,
    tag: u64,
    error: &crate::store::StoreError,
) -> Result<(), ConsumerError> {
    tracing::error!(error = %error, "query not answered; returning it to the queue");
    tokio::time::sleep(Duration::from_secs(1)).await;
    consume
        .basic_nack(tag, BasicNackOptions { multiple: false, requeue: true })
        .await?;
    Ok(())
}

/// The answer to one query, decided and audited; `Err` only when the store failed.
async fn answer(
    sharing: &Sharing,
    caller: Option<&Caller>,
    user: Option<&str>,
    body: &[u8],
) -> Result<Value, crate::store::StoreError> {
    let Some(caller) = caller else {
        let refusal = Refusal::new(
            RefusalReason::Unauthenticated,
            match user {
                Some(u) => format!("the broker user '{u}' is not a province's (yipanqi-<province>)"),
                None => "the query carries no user_id property: set it to your broker user".to_string(),
            },
        );
        audit_refusal(sharing, None, user, &refusal).await?;
        tracing::info!(reason = refusal.reason.as_str(), "query refused");
        return Ok(refused(&refusal));
    };
    let (asked, action) = match parse(body) {
        Ok(parsed) => parsed,
        Err(refusal) => {
            let entry = AuditEntry::by(caller, AuditChannel::Amqp, "query");
            sharing.record(&entry.refused(&refusal)).await?;
            tracing::info!(province = caller.province_name(), reason = refusal.reason.as_str(), "query refused");
            return Ok(refused(&refusal));
        }
    };
    let result = match &asked {
        Asked::Profile(id) => sharing
            .profile(caller, AuditChannel::Amqp, id)
            .await
            .map(|p| json!({ "schema": yipanqi_schemas::SCHEMA_ID, "answer": "profile", "profile": p })),
        Asked::Certificates(request) => sharing
            .certificates(caller, AuditChannel::Amqp, request)
            .await
            .map(|mut c| {
                if let Some(o) = c.as_object_mut() {
                    o.insert("schema".into(), json!(yipanqi_schemas::SCHEMA_ID));
                    o.insert("answer".into(), json!("certificates"));
                }
                c
            }),
    };
    match result {
        Ok(answer) => {
            tracing::info!(province = caller.province_name(), query = action, "query answered");
            Ok(answer)
        }
        Err(SharingError::Refused(refusal)) => {
            tracing::info!(province = caller.province_name(), query = action, reason = refusal.reason.as_str(), "query refused");
            Ok(refused(&refusal))
        }
        Err(SharingError::Store(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yipanqi_adapters::Registry;

    #[test]
    fn answers_go_only_to_the_asker() {
        let registry = Registry::builtin();
        let anhui = Caller::province("yipanqi-anhui", registry.get("anhui").expect("anhui").province().clone());
        assert!(answerable("amq.rabbitmq.reply-to.g1h2AA5yZXBseUAyNjk5ODEyMQAAAAE=", Some(&anhui)));
        assert!(answerable("yipanqi.reply.anhui", Some(&anhui)));
        assert!(!answerable("yipanqi.reply.jiangsu", Some(&anhui)));
        assert!(!answerable("yipanqi.out.jiangsu", Some(&anhui)));
        assert!(!answerable("yipanqi.reply.anhui", None));
        assert!(answerable("amq.rabbitmq.reply-to.x", None));
    }

    #[test]
    fn bad_queries_are_refused_without_quoting_them() {
        let id = "34130219920517002X";
        let cases: [(&[u8], &str); 4] = [
            (b"not json", "not JSON"),
            (br#"{"schema":"yipanqi/1","query":"everything"}"#, "query.schema.json"),
            (br#"{"schema":"yipanqi/1","query":"profile","id_number":"34130219920517002X","x":1}"#, "unexpected"),
            (&[b' '; MAX_QUERY_BYTES + 1], "at most"),
        ];
        for (body, expected) in cases {
            let refusal = parse(body).err().expect("refused");
            assert_eq!(refusal.reason, RefusalReason::InvalidRequest);
            assert!(refusal.detail.contains(expected), "{}", refusal.detail);
            assert!(!refusal.detail.contains(id));
        }
        assert!(matches!(
            parse(br#"{"schema":"yipanqi/1","query":"profile","id_number":"34130219920517002X"}"#),
            Ok((Asked::Profile(_), "profile"))
        ));
        assert!(matches!(
            parse(br#"{"schema":"yipanqi/1","query":"certificates","division":"341302","issued_from":"2026-01-01"}"#),
            Ok((Asked::Certificates(_), "certificates"))
        ));
    }
}
