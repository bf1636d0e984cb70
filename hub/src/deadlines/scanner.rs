//! The overdue scanner: past its deadline an open expectation turns overdue, the owner
//! gets a `reminder` and the coordination group an `escalation` (step 1), and again
//! every few working days counted from the deadline while it stays open (DOMAIN.md §5).
//!
//! Exactly once per step, across restarts and hub instances sharing one database: a step
//! is taken by the single update that moves the expectation's `step` from n−1 to n, in
//! the same transaction that stores the step's two messages (whose ids derive from the
//! step, so they cannot be stored twice either). The instance that took the step
//! publishes them at once; if it dies first, another claims them after a lease.

use super::Deadlines;
use crate::amqp::publisher::{json_properties, publish_all, Outbound, PublishError};
use crate::clock::Clock;
use crate::store::{
    hub_message_name, Expectation, NewHubMessage, PendingHubMessage, Store, StoreError,
};
use crate::topology::DELIVER_EXCHANGE;
use chrono::{DateTime, FixedOffset, NaiveTime, SecondsFormat, TimeZone, Utc};
use lapin::Channel;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use yipanqi_adapters::Registry;
use yipanqi_schemas::hub_message_id;

/// How long the instance that took a step has to publish it before another may.
const LEASE: Duration = Duration::from_secs(60);

/// A scan failed: the database or the broker.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Publishing failed.
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// What one scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Reminder steps taken by this instance.
    pub steps: usize,
    /// Hub messages published (this scan's and reclaimed ones).
    pub published: usize,
}

/// The scanner.
#[derive(Clone)]
pub struct Scanner {
    store: Store,
    clock: Arc<dyn Clock>,
    deadlines: Arc<Deadlines>,
    registry: Arc<Registry>,
    calendar_dir: Option<std::path::PathBuf>,
}

impl Scanner {
    /// A scanner over the store.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        deadlines: Arc<Deadlines>,
        registry: Arc<Registry>,
    ) -> Scanner {
        Scanner {
            store,
            clock,
            deadlines,
            registry,
            calendar_dir: None,
        }
    }

    /// Also re-reads this folder of `YYYY.json` files at every scan.
    pub fn with_calendar_dir(mut self, dir: Option<std::path::PathBuf>) -> Scanner {
        self.calendar_dir = dir;
        self
    }

    /// Scans every `scan_interval_secs` until cancelled; a failed scan is logged and
    /// tried again at the next tick. Returns when the broker channel fails.
    pub async fn run(
        self,
        channel: Channel,
        cancel: CancellationToken,
    ) -> Result<(), lapin::Error> {
        let every = Duration::from_secs(self.deadlines.settings().scan_interval_secs.max(1));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tick.tick() => {}
            }
            match self.scan(&channel).await {
                Ok(report) if report.steps > 0 || report.published > 0 => {
                    tracing::info!(
                        steps = report.steps,
                        published = report.published,
                        "overdue scan"
                    );
                }
                Ok(_) => {}
                Err(ScanError::Publish(PublishError::Broker(e))) => return Err(e),
                Err(e) => {
                    tracing::error!(error = %e, "overdue scan failed; trying again at the next tick")
                }
            }
        }
    }

    /// One scan: takes every due step and publishes what it stored, then publishes hub
    /// messages whose creator did not confirm them in time.
    pub async fn scan(&self, channel: &Channel) -> Result<ScanReport, ScanError> {
        let now = self.clock.now();
        self.refresh_calendar().await?;
        let calendar = self.deadlines.calendar();
        let every = self.deadlines.settings().reminder_every_working_days.max(1);
        let mut report = ScanReport::default();
        let due = self
            .store
            .due_expectations(now.timestamp_millis(), 500)
            .await?;
        for e in due {
            let step = e.step + 1;
            let Ok(due_at) = DateTime::parse_from_rfc3339(&e.due_at) else {
                continue;
            };
            let deadline_day = due_at.date_naive();
            let next_day = calendar
                .add_working_days(deadline_day, every * step as u32)
                .date;
            let next_step = end_of_day(next_day, due_at.offset());
            let (days_overdue, _) = calendar.working_days_between(deadline_day, now.date_naive());
            let messages = self.step_messages(&e, step, days_overdue, now);
            let mut tx = self.store.begin().await?;
            if !tx
                .take_step(e.id, step, next_step.timestamp_millis())
                .await?
            {
                continue; // another instance took this step
            }
            let lease = (Utc::now() + LEASE).timestamp_millis();
            for m in &messages {
                tx.insert_hub_message(m, now, lease).await?;
            }
            tx.commit().await?;
            report.steps += 1;
            metrics::counter!("yipanqi_reminders_total", "province" => crate::telemetry::province_label(&e.owner_province), "kind" => e.kind.clone()).increment(1);
            tracing::info!(
                message_id = %e.message_id,
                owner_division = %e.owner_division,
                kind = %e.kind,
                step,
                days_overdue,
                "expectation overdue: reminder and escalation sent"
            );
            let pending: Vec<PendingHubMessage> = messages
                .into_iter()
                .map(|m| PendingHubMessage {
                    message_id: m.message_id,
                    kind: m.kind,
                    canonical: m.canonical,
                    routing_key: m.routing_key,
                    target_division: m.target_division,
                    concerning: e.message_id.clone(),
                })
                .collect();
            report.published += self.publish(channel, &pending).await?;
        }
        let lease = (Utc::now() + LEASE).timestamp_millis();
        let orphans = self
            .store
            .claim_unconfirmed_hub_messages(Utc::now().timestamp_millis(), lease)
            .await?;
        if !orphans.is_empty() {
            tracing::warn!(
                count = orphans.len(),
                "publishing reminders another instance stored but did not confirm"
            );
            report.published += self.publish(channel, &orphans).await?;
        }
        Ok(report)
    }

    /// The reminder to the owner and the escalation to the coordination group of a step.
    fn step_messages(
        &self,
        e: &Expectation,
        step: i64,
        days_overdue: u32,
        now: DateTime<FixedOffset>,
    ) -> Vec<NewHubMessage> {
        let owner_name = self
            .registry
            .by_code(&e.owner_province)
            .map(|m| m.province().name.clone())
            .unwrap_or_else(|| e.owner_province.clone());
        let mut out = Vec::with_capacity(2);
        for kind in ["reminder", "escalation"] {
            let id = hub_message_id(&hub_message_name(
                kind,
                &e.message_id,
                &e.owner_division,
                step,
            ));
            let mut body = json!({
                "concerning": e.message_id,
                "kind": e.kind,
                "owner_division": e.owner_division,
                "due_at": e.due_at,
                "step": step,
            });
            let (destination, routing_key) = if kind == "reminder" {
                (
                    owner_name.clone(),
                    format!("{}.{}.reminder", e.owner_province, e.owner_division),
                )
            } else {
                body["days_overdue"] = json!(days_overdue);
                ("coordination".to_string(), "coord.escalation".to_string())
            };
            let canonical = json!({
                "schema": yipanqi_schemas::SCHEMA_ID,
                "message_id": id,
                "kind": kind,
                // The message concerned: its sender's own id and division.
                "source": {
                    "province": e.sender_province,
                    "division": e.sender_division,
                    "message_id": e.source_message_id,
                    "record": 0,
                },
                "sent_at": now.to_rfc3339_opts(SecondsFormat::Secs, false),
                "received_at": now.to_rfc3339_opts(SecondsFormat::Millis, false),
                "in_reply_to": null,
                "subject": null,
                "spouse": null,
                "body": body,
            });
            out.push(NewHubMessage {
                message_id: id,
                kind: kind.to_string(),
                expectation_id: e.id,
                step,
                canonical: canonical.to_string(),
                destination,
                routing_key,
                target_division: e.owner_division.clone(),
            });
        }
        out
    }

    async fn publish(
        &self,
        channel: &Channel,
        pending: &[PendingHubMessage],
    ) -> Result<usize, ScanError> {
        let outbound: Vec<Outbound> = pending
            .iter()
            .map(|m| Outbound {
                exchange: DELIVER_EXCHANGE.to_string(),
                routing_key: m.routing_key.clone(),
                payload: m.canonical.clone().into_bytes(),
                properties: json_properties(
                    &m.message_id.to_string(),
                    None,
                    &m.kind,
                    &[
                        ("x-yipanqi-role", "owner".to_string()),
                        ("x-yipanqi-target", m.target_division.clone()),
                        ("x-yipanqi-concerning", m.concerning.clone()),
                    ],
                ),
            })
            .collect();
        publish_all(channel, &outbound).await?;
        let ids: Vec<Uuid> = pending.iter().map(|m| m.message_id).collect();
        self.store
            .confirm_hub_messages(&ids, self.clock.now())
            .await?;
        Ok(ids.len())
    }

    /// Picks up calendar years dropped into the calendar folder or imported into the
    /// database by any instance, and recomputes the due dates they change.
    async fn refresh_calendar(&self) -> Result<(), StoreError> {
        let calendar = match super::load_calendar(self.calendar_dir.as_deref(), &self.store).await {
            Ok(c) => c,
            Err(super::LoadError::Store(e)) => return Err(e),
            Err(e) => {
                tracing::error!(error = %e, "the calendar could not be reloaded; keeping the one in use");
                return Ok(());
            }
        };
        let changed = calendar.years() != self.deadlines.calendar().years();
        self.deadlines.set_calendar(calendar.clone());
        if changed {
            tracing::info!(years = ?calendar.years(), "calendar updated");
            super::recompute_uncovered(&self.store, &calendar).await?;
        }
        Ok(())
    }
}

/// 23:59:59 of a day in the deadline's zone.
fn end_of_day(day: chrono::NaiveDate, offset: &FixedOffset) -> DateTime<FixedOffset> {
    let time = NaiveTime::from_hms_opt(23, 59, 59).expect("a valid time");
    offset
        .from_local_datetime(&day.and_time(time))
        .single()
        .unwrap_or_else(|| Utc.from_utc_datetime(&day.and_time(time)).fixed_offset())
}
