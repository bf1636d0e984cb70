//! Readiness: what the hub needs to do its job — the broker connected, every province
//! consumer running, the database answering — shared between the workers that know and
//! the HTTP endpoint that tells.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// The hub's live state, updated by its workers.
#[derive(Debug, Default)]
pub struct Health {
    broker: AtomicBool,
    database: AtomicBool,
    consumers: AtomicUsize,
    expected_consumers: AtomicUsize,
}

/// Keeps a consumer counted as running while it lives.
#[derive(Debug)]
pub struct RunningConsumer(Arc<Health>);

impl Drop for RunningConsumer {
    fn drop(&mut self) {
        self.0.consumers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A snapshot for the readiness endpoint.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Readiness {
    /// All checks pass.
    pub ready: bool,
    /// Each check.
    pub checks: Checks,
}

/// The individual checks.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checks {
    /// Broker connection: "connected" or "disconnected".
    pub broker: &'static str,
    /// Running consumers out of expected, e.g. "7/7".
    pub consumers: String,
    /// Database: "answering" or "unreachable".
    pub database: &'static str,
}

impl Health {
    /// A state expecting this many consumers.
    pub fn new(expected_consumers: usize) -> Arc<Health> {
        let h = Health::default();
        h.expected_consumers
            .store(expected_consumers, Ordering::SeqCst);
        Arc::new(h)
    }

    /// Records the broker connection state; returns the previous one.
    pub fn set_broker(&self, up: bool) -> bool {
        self.broker.swap(up, Ordering::SeqCst)
    }

    /// Records whether the database answered; returns the previous state, so that the
    /// caller can tell a recovery from business as usual.
    pub fn set_database(&self, up: bool) -> bool {
        self.database.swap(up, Ordering::SeqCst)
    }

    /// Counts a consumer as running until the returned guard drops.
    pub fn consumer_started(self: &Arc<Self>) -> RunningConsumer {
        self.consumers.fetch_add(1, Ordering::SeqCst);
        RunningConsumer(self.clone())
    }

    /// The current readiness.
    pub fn readiness(&self) -> Readiness {
        let broker = self.broker.load(Ordering::SeqCst);
        let database = self.database.load(Ordering::SeqCst);
        let running = self.consumers.load(Ordering::SeqCst);
        let expected = self.expected_consumers.load(Ordering::SeqCst);
        Readiness {
            ready: broker && database && running >= expected && expected > 0,
            checks: Checks {
                broker: if broker { "connected" } else { "disconnected" },
                consumers: format!("{running}/{expected}"),
                database: if database { "answering" } else { "unreachable" },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_everything_is_up() {
        let h = Health::new(2);
        assert!(!h.readiness().ready);
        h.set_broker(true);
        h.set_database(true);
        let a = h.consumer_started();
        assert!(!h.readiness().ready);
        let b = h.consumer_started();
        assert!(h.readiness().ready);
        assert_eq!(h.readiness().checks.consumers, "2/2");
        drop(b);
        drop(a);
        assert!(!h.readiness().ready);
    }
}
