//! The hub's HTTP endpoints, one file per concern: `health.rs` (liveness, readiness),
//! `messages.rs` (the integrator's read API: expectations and message traces), `ops.rs`
//! (`/metrics`), `status.rs` (the status page `/` and its data, `/api/status`), `reports.rs`
//! (the coordination group's reports, `/reports` and `/api/reports/…`), `people.rs`
//! (information sharing: profiles and 《婚育证明》 lists), `audit.rs` (the audit of
//! lookups); `auth.rs` says who is calling. Each file exports a `routes()` that this
//! module merges into one router. Errors are JSON, `{"error": "...", "reason": "<code>"}`
//! with a fitting status: a refusal's code (`access::RefusalReason`), or
//! `invalid_request`, `not_found`, `method_not_allowed`, `unavailable`, `internal`.
//!
//! `/`, `/metrics`, `/health/*`, `/api/status` and `/reports` need no credentials and
//! carry no personal data; every other `/api/…` endpoint takes a client's token and
//! answers within its role (`access::rules`).

mod audit;
mod auth;
mod health;
mod messages;
mod ops;
mod people;
mod reports;
mod status;

use crate::access::rules::{Refusal, RefusalReason};
use crate::access::Access;
use crate::gauges::Observed;
use crate::health::Health;
use crate::sharing::{Sharing, SharingError};
use crate::store::Store;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use yipanqi_adapters::Registry;

/// What the handlers share. The store arrives once the database answers.
#[derive(Clone)]
pub struct AppState {
    pub(crate) health: Arc<Health>,
    pub(crate) registry: Arc<Registry>,
    store: Arc<OnceLock<Store>>,
    /// The samplers' latest queue depths, for the status page.
    pub(crate) observed: Arc<Observed>,
    /// The hub's clock: reports say what is overdue as of its now.
    pub(crate) clock: Arc<dyn crate::clock::Clock>,
    /// The configured API clients.
    pub(crate) access: Arc<Access>,
    /// Lookups with their audit, once the database answers.
    sharing: Arc<OnceLock<Sharing>>,
}

impl AppState {
    /// State before the database is connected.
    pub fn new(health: Arc<Health>, registry: Arc<Registry>, access: Arc<Access>) -> AppState {
        AppState {
            health,
            registry,
            store: Arc::new(OnceLock::new()),
            observed: Arc::new(Observed::default()),
            clock: Arc::new(crate::clock::SystemClock),
            access,
            sharing: Arc::new(OnceLock::new()),
        }
    }

    /// The hub's clock (the system clock unless told otherwise).
    pub fn with_clock(mut self, clock: Arc<dyn crate::clock::Clock>) -> AppState {
        self.clock = clock;
        self
    }

    /// Where the samplers leave what they read, for the status page.
    pub fn observed(&self) -> Arc<Observed> {
        self.observed.clone()
    }

    /// The database is connected.
    pub fn set_store(&self, store: Store) {
        let _ = self.store.set(store);
    }

    pub(crate) fn store(&self) -> Result<&Store, ApiError> {
        self.store.get().ok_or(ApiError::Unavailable)
    }

    /// The lookup service is ready (the database answers and the audit key is known).
    pub fn set_sharing(&self, sharing: Sharing) {
        let _ = self.sharing.set(sharing);
    }

    pub(crate) fn sharing(&self) -> Result<&Sharing, ApiError> {
        self.sharing.get().ok_or(ApiError::Unavailable)
    }

    /// Audits the refusal of a caller's request and returns it as the error.
    pub(crate) async fn refuse(
        &self,
        caller: &crate::access::Caller,
        action: &'static str,
        refusal: Refusal,
    ) -> ApiError {
        let entry = crate::access::AuditEntry::by(caller, crate::access::Channel::Http, action)
            .refused(&refusal);
        match self.sharing() {
            Ok(sharing) => match sharing.record(&entry).await {
                Ok(()) => ApiError::Refused(refusal),
                Err(e) => e.into(),
            },
            Err(e) => e,
        }
    }

    /// A province code from a pinyin name or a code.
    pub(crate) fn province_code(&self, wanted: &str) -> Result<String, ApiError> {
        self.registry
            .get(wanted)
            .map(|m| m.province().code.clone())
            .ok_or_else(|| ApiError::BadRequest(format!("unknown province '{wanted}'")))
    }
}

/// Wraps one of axum's extractors so that its refusal is the API's JSON error (axum's
/// own is plain text), naming what is wrong or missing.
macro_rules! json_refusing {
    ($(#[$doc:meta])* $name:ident, $inner:path) => {
        $(#[$doc])*
        pub(crate) struct $name<T>(pub T);

        impl<T, S> axum::extract::FromRequestParts<S> for $name<T>
        where
            T: serde::de::DeserializeOwned + Send,
            S: Send + Sync,
        {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &S,
            ) -> Result<Self, ApiError> {
                <$inner>::from_request_parts(parts, state)
                    .await
                    .map(|extracted| $name(extracted.0))
                    .map_err(|e| ApiError::BadRequest(e.body_text()))
            }
        }
    };
}

json_refusing!(
    /// The query string, parsed into `T`.
    Query,
    axum::extract::Query<T>
);
json_refusing!(
    /// The path's parameters, parsed into `T`.
    Path,
    axum::extract::Path<T>
);

/// An API failure.
#[derive(Debug)]
pub(crate) enum ApiError {
    Unavailable,
    NotFound(String),
    BadRequest(String),
    MethodNotAllowed(String),
    Internal(String),
    /// Refused by the access rules (already audited).
    Refused(Refusal),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, reason, message) = match self {
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database is not connected yet".to_string(),
            ),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m),
            ApiError::MethodNotAllowed(m) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", m),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "invalid_request", m),
            ApiError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", m),
            ApiError::Refused(refusal) => {
                let status = StatusCode::from_u16(refusal.reason.http_status())
                    .unwrap_or(StatusCode::FORBIDDEN);
                let body = Json(json!({ "error": refusal.detail, "reason": refusal.reason }));
                if refusal.reason == RefusalReason::Unauthenticated {
                    // Basic lets a browser ask for the token (as the password).
                    let challenge = "Bearer realm=\"yipanqi\", Basic realm=\"yipanqi\", charset=\"UTF-8\"";
                    return (status, [(WWW_AUTHENTICATE, challenge)], body).into_response();
                }
                return (status, body).into_response();
            }
        };
        (status, Json(json!({ "error": message, "reason": reason }))).into_response()
    }
}

impl From<SharingError> for ApiError {
    fn from(e: SharingError) -> Self {
        match e {
            SharingError::Refused(refusal) => ApiError::Refused(refusal),
            SharingError::Store(e) => ApiError::from(e),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "api query failed");
        ApiError::Internal("the database query failed".to_string())
    }
}

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(messages::routes())
        .merge(ops::routes())
        .merge(status::routes())
        .merge(reports::routes())
        .merge(people::routes())
        .merge(audit::routes())
        .fallback(|uri: axum::http::Uri| async move {
            ApiError::NotFound(format!("no endpoint {}", uri.path()))
        })
        .method_not_allowed_fallback(|method: axum::http::Method, uri: axum::http::Uri| async move {
            ApiError::MethodNotAllowed(format!(
                "{method} is not allowed on {}: the hub's endpoints only read (GET)",
                uri.path()
            ))
        })
        .with_state(state)
}

/// Most HTTP connections served at once; more are closed on arrival, so that idle or
/// slow clients cannot use up the process's file descriptors (which the database and
/// the broker need too).
pub const MAX_CONNECTIONS: usize = 256;
/// Most HTTP connections from one address at once: one client cannot take them all.
pub const MAX_CONNECTIONS_PER_PEER: usize = 64;
/// A request's headers must arrive within this long, or the connection is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Open connections per peer address.
#[derive(Default)]
struct Peers(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// A connection counted against its peer until dropped.
struct PeerSlot {
    peers: Arc<Peers>,
    ip: std::net::IpAddr,
}

impl Peers {
    fn take(self: &Arc<Self>, ip: std::net::IpAddr) -> Option<PeerSlot> {
        let mut open = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(ip).or_insert(0);
        if *n >= MAX_CONNECTIONS_PER_PEER {
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            peers: self.clone(),
            ip,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut open = self.peers.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Serves until cancelled: each connection on its own task, at most [`MAX_CONNECTIONS`]
/// at once and [`MAX_CONNECTIONS_PER_PEER`] from one address, headers within
/// [`HEADER_READ_TIMEOUT`]; on cancellation the connections finish the request in hand.
pub async fn serve(listener: TcpListener, state: AppState, cancel: CancellationToken) {
    let app = router(state);
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let peers = Arc::new(Peers::default());
    loop {
        let stream = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept an HTTP connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (stream, peer) = stream;
        let Some(slot) = peers.take(peer.ip()) else {
            tracing::debug!("HTTP connection closed on arrival: {MAX_CONNECTIONS_PER_PEER} already open from its address");
            continue;
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!("HTTP connection closed on arrival: {MAX_CONNECTIONS} already open");
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let stop = cancel.clone();
        tokio::spawn(async move {
            let _held = (permit, slot);
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            let connection =
                builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "HTTP connection ended");
                    }
                }
                _ = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
                }
            }
        });
    }
}
