//! Time, injectable: the hub asks a [`Clock`] instead of the system, so tests can move
//! time without sleeping. Every timestamp the hub writes is in Beijing time (+08:00),
//! the zone of the provinces' legal deadlines.

use chrono::{DateTime, FixedOffset, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now, in Beijing time.
    fn now(&self) -> DateTime<FixedOffset>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<FixedOffset> {
        Utc::now().with_timezone(&beijing_offset())
    }
}

/// UTC+8. China has had no summer time since 1991, so a fixed offset is right for every
/// current timestamp (historical epoch values go through the time-zone database instead).
pub fn beijing_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}
