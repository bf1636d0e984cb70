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

/// A clock that tests set and move by hand (in-process hubs share one).
#[derive(Debug)]
pub struct ManualClock {
    now: std::sync::Mutex<DateTime<FixedOffset>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<FixedOffset>) -> ManualClock {
        ManualClock {
            now: std::sync::Mutex::new(now),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: DateTime<FixedOffset>) {
        match self.now.lock() {
            Ok(mut t) => *t = now,
            Err(poisoned) => *poisoned.into_inner() = now,
        }
    }

    /// Moves the time forward.
    pub fn advance(&self, by: chrono::Duration) {
        let now = self.now();
        self.set(now + by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<FixedOffset> {
        match self.now.lock() {
            Ok(t) => *t,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}

/// The system clock plus an offset read from a file on every reading: how a test moves
/// a hub *process* across deadlines. Only `[testing] clock_offset_file` enables it.
#[derive(Debug, Clone)]
pub struct OffsetFileClock {
    path: std::path::PathBuf,
}

impl OffsetFileClock {
    /// A clock reading its offset (whole seconds, may be negative) from `path`; a missing
    /// or unreadable file means no offset.
    pub fn new(path: std::path::PathBuf) -> OffsetFileClock {
        OffsetFileClock { path }
    }
}

impl Clock for OffsetFileClock {
    fn now(&self) -> DateTime<FixedOffset> {
        let offset = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        SystemClock.now() + chrono::Duration::seconds(offset)
    }
}

/// A clock that runs `factor` times faster than the system clock from a starting
/// instant: the demo's, so that weeks of deadlines pass in a minute. Never used by
/// `yipanqi run`.
#[derive(Debug, Clone)]
pub struct AcceleratedClock {
    origin: DateTime<FixedOffset>,
    started: std::time::Instant,
    factor: f64,
}

impl AcceleratedClock {
    /// Starts at `origin`, running `factor` times faster than real time.
    pub fn new(origin: DateTime<FixedOffset>, factor: f64) -> AcceleratedClock {
        AcceleratedClock {
            origin,
            started: std::time::Instant::now(),
            factor: factor.max(1.0),
        }
    }
}

impl Clock for AcceleratedClock {
    fn now(&self) -> DateTime<FixedOffset> {
        let elapsed = self.started.elapsed().as_secs_f64() * self.factor;
        self.origin + chrono::Duration::milliseconds((elapsed * 1000.0) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_file_moves_the_clock() {
        let path = std::env::temp_dir().join(format!("yipanqi-clock-{}", std::process::id()));
        let clock = OffsetFileClock::new(path.clone());
        let before = clock.now();
        std::fs::write(&path, "86400").expect("write");
        let after = clock.now();
        let _ = std::fs::remove_file(&path);
        assert!(after - before >= chrono::Duration::seconds(86_400));
        assert!(after - before < chrono::Duration::seconds(86_460));
        assert_eq!(after.offset().local_minus_utc(), 8 * 3600);
    }

    #[test]
    fn an_accelerated_clock_runs_fast() {
        let t = DateTime::parse_from_rfc3339("2026-02-13T10:00:00+08:00").expect("time");
        let clock = AcceleratedClock::new(t, 86_400.0);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let moved = clock.now() - t;
        assert!(moved >= chrono::Duration::minutes(60), "{moved}");
        assert!(moved < chrono::Duration::days(2), "{moved}");
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let t = DateTime::parse_from_rfc3339("2026-02-13T10:00:00+08:00").expect("time");
        let clock = ManualClock::new(t);
        assert_eq!(clock.now(), t);
        clock.advance(chrono::Duration::days(30));
        assert_eq!(clock.now(), t + chrono::Duration::days(30));
    }
}
