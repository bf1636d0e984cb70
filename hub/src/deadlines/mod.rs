//! Deadlines counted in working days (DOMAIN.md §5): the working-day calendar, the rules
//! of who owes which answer, the expectations that track each answer against its
//! deadline, and the scanner that reminds and escalates when one is overdue.

pub mod calendar;
pub mod expectations;
pub mod rules;
pub mod scanner;

pub use expectations::Deadlines;

use crate::store::{Store, StoreError};
use calendar::{Calendar, CalendarError};
use std::path::Path;

/// A calendar that could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A calendar file is invalid.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The calendar in force: the built-in years, then the configured folder's files, then
/// the years imported into the database (each later source replaces a year wholly).
pub async fn load_calendar(dir: Option<&Path>, store: &Store) -> Result<Calendar, LoadError> {
    let mut calendar = Calendar::builtin();
    if let Some(dir) = dir {
        let years = calendar.load_dir(dir)?;
        tracing::info!(dir = %dir.display(), ?years, "calendar years loaded from the folder");
    }
    for (year, json) in store.calendar_years().await? {
        match Calendar::parse_year(&json) {
            Ok(schedule) => calendar.with_year(schedule),
            Err(e) => {
                tracing::error!(year, error = %e, "an imported calendar year is invalid; ignored")
            }
        }
    }
    Ok(calendar)
}

/// Recomputes the due dates of open expectations that were computed on weekends only,
/// with `calendar`; returns how many changed.
pub async fn recompute_uncovered(store: &Store, calendar: &Calendar) -> Result<usize, StoreError> {
    let mut changed = 0;
    for e in store.uncovered_open_expectations().await? {
        let Ok(received) = chrono::DateTime::parse_from_rfc3339(&e.received_at) else {
            continue;
        };
        let deadline = calendar.deadline(received, e.working_days.max(0) as u32);
        if deadline.due_at.timestamp_millis() != e.due_ms || !deadline.uncovered {
            store
                .reschedule(e.id, deadline.due_at, deadline.uncovered)
                .await?;
            tracing::info!(message_id = %e.message_id, owner_division = %e.owner_division, due_at = %deadline.due_at, still_uncovered = deadline.uncovered, "due date recomputed with the updated calendar");
            changed += 1;
        }
    }
    Ok(changed)
}
