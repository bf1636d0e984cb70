//! Expectations: delivering a message that expects an answer opens one per owner that
//! must answer, due at the end of working day N after the hub received it; the answer
//! closes it as answered on time or late. Called by the pipeline inside the batch's
//! transaction, so a message and its expectations are stored together or not at all.

use super::calendar::Calendar;
use super::rules::{owed, DeadlineSettings};
use crate::routing::Route;
use crate::store::{Closed, NewExpectation, StoreError, StoreTx};
use std::sync::RwLock;
use uuid::Uuid;
use yipanqi_schemas::CanonicalMessage;

/// The deadline rules and the working-day calendar, shared by the pipeline and the
/// overdue scanner.
#[derive(Debug)]
pub struct Deadlines {
    settings: DeadlineSettings,
    calendar: RwLock<Calendar>,
}

impl Deadlines {
    /// Rules and a calendar.
    pub fn new(settings: DeadlineSettings, calendar: Calendar) -> Deadlines {
        Deadlines {
            settings,
            calendar: RwLock::new(calendar),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &DeadlineSettings {
        &self.settings
    }

    /// A copy of the current calendar.
    pub fn calendar(&self) -> Calendar {
        match self.calendar.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the calendar (a newer year was imported).
    pub fn set_calendar(&self, calendar: Calendar) {
        match self.calendar.write() {
            Ok(mut c) => *c = calendar,
            Err(poisoned) => *poisoned.into_inner() = calendar,
        }
    }

    /// Opens the expectations that delivering `msg` over `routes` creates.
    pub async fn open(
        &self,
        tx: &mut StoreTx,
        msg: &CanonicalMessage,
        routes: &[Route],
        province: &str,
    ) -> Result<(), StoreError> {
        let owed = owed(&self.settings.rules, msg, routes);
        if owed.is_empty() {
            return Ok(());
        }
        let calendar = self.calendar();
        for o in owed {
            let deadline = calendar.deadline(msg.received_at, o.working_days);
            if deadline.uncovered {
                metrics::counter!("yipanqi_calendar_uncovered_total").increment(1);
                tracing::warn!(
                    message_id = %msg.message_id,
                    province,
                    kind = msg.kind.as_str(),
                    due_at = %deadline.due_at,
                    "deadline falls in a year the calendar does not cover: counted Monday to Friday only; import that year's schedule (yipanqi calendar import)"
                );
            }
            tx.insert_expectation(&NewExpectation {
                message_id: msg.message_id,
                kind: msg.kind.as_str().to_string(),
                sender_province: msg.source.province.clone(),
                sender_division: msg.source.division.as_str().to_string(),
                owner_province: o.owner_province.clone(),
                owner_division: o.owner_division.clone(),
                answer_kinds: o.answers.iter().map(|k| k.as_str().to_string()).collect(),
                working_days: o.working_days,
                received_at: msg.received_at,
                due_at: deadline.due_at,
                calendar_uncovered: deadline.uncovered,
            })
            .await?;
            metrics::counter!("yipanqi_expectations_opened_total", "province" => crate::telemetry::province_label(&o.owner_province), "kind" => msg.kind.as_str()).increment(1);
            tracing::info!(
                message_id = %msg.message_id,
                province,
                kind = msg.kind.as_str(),
                owner_division = %o.owner_division,
                due_at = %deadline.due_at,
                "expectation opened"
            );
        }
        Ok(())
    }

    /// Closes the expectation an answer fulfils, if one waits for it.
    pub async fn answer(
        &self,
        tx: &mut StoreTx,
        msg: &CanonicalMessage,
        original: Uuid,
        province: &str,
    ) -> Result<(), StoreError> {
        // DOMAIN.md §6: working days after the original's received date up to and
        // including the answer's (same day = 0), both Beijing dates.
        let calendar = self.calendar();
        let beijing = crate::clock::beijing_offset();
        let answered = msg.received_at.with_timezone(&beijing).date_naive();
        let answer_working_days = move |received: chrono::DateTime<chrono::FixedOffset>| {
            let received = received.with_timezone(&beijing).date_naive();
            i64::from(calendar.working_days_between(received, answered).0)
        };
        let closed = tx
            .close_expectation(
                original,
                &msg.source.province,
                msg.source.division.as_str(),
                msg.kind.as_str(),
                msg.message_id,
                msg.received_at,
                &answer_working_days,
            )
            .await?;
        match closed {
            Closed::Closed { id, state } => {
                metrics::counter!("yipanqi_expectations_closed_total", "province" => crate::telemetry::province_label(&msg.source.province), "state" => state.clone()).increment(1);
                tracing::info!(message_id = %msg.message_id, concerning = %original, province, kind = msg.kind.as_str(), expectation = id, state, "expectation closed");
            }
            Closed::AlreadyClosed => {
                tracing::info!(message_id = %msg.message_id, concerning = %original, province, kind = msg.kind.as_str(), "answer to a closed expectation: delivered, nothing changes");
            }
            Closed::NoneOpen => {}
        }
        Ok(())
    }
}
