//! The hub's HTTP endpoints, one file per concern: `health.rs` (liveness, readiness),
//! `messages.rs` (the integrator's read API: expectations and message traces), `ops.rs`
//! (`/metrics`), `status.rs` (the status page `/` and its data, `/api/status`), `reports.rs`
//! (the coordination group's reports, `/reports` and `/api/reports/…`). Each file
//! exports a `routes()` that this module merges into one router. Errors are JSON,
//! `{"error": "..."}` with a fitting status.

mod health;
mod messages;
mod ops;
mod reports;
mod status;

use crate::gauges::Observed;
use crate::health::Health;
use crate::store::Store;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use std::sync::{Arc, OnceLock};
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
}

impl AppState {
    /// State before the database is connected.
    pub fn new(health: Arc<Health>, registry: Arc<Registry>) -> AppState {
        AppState {
            health,
            registry,
            store: Arc::new(OnceLock::new()),
            observed: Arc::new(Observed::default()),
            clock: Arc::new(crate::clock::SystemClock),
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

    /// A province code from a pinyin name or a code.
    pub(crate) fn province_code(&self, wanted: &str) -> Result<String, ApiError> {
        self.registry
            .get(wanted)
            .map(|m| m.province().code.clone())
            .ok_or_else(|| ApiError::BadRequest(format!("unknown province '{wanted}'")))
    }
}

/// An API failure.
#[derive(Debug)]
pub(crate) enum ApiError {
    Unavailable,
    NotFound(String),
    BadRequest(String),
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is not connected yet".to_string(),
            ),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
        };
        (status, Json(json!({ "error": message }))).into_response()
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
        .with_state(state)
}

/// Serves until cancelled.
pub async fn serve(listener: TcpListener, state: AppState, cancel: CancellationToken) {
    let result = axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "http server failed");
    }
}

