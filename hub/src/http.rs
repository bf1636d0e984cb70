//! The hub's HTTP endpoints: liveness and readiness (no credentials, no personal data),
//! and the integrator's read API — expectations and message traces, found by the hub's
//! id or by the sender's own id. Errors are JSON: `{"error": "..."}` with a fitting status.

use crate::health::{Health, Readiness};
use crate::store::{ExpectationFilter, Store};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use yipanqi_adapters::Registry;

/// What the handlers share. The store arrives once the database answers.
#[derive(Clone)]
pub struct AppState {
    health: Arc<Health>,
    registry: Arc<Registry>,
    store: Arc<OnceLock<Store>>,
}

impl AppState {
    /// State before the database is connected.
    pub fn new(health: Arc<Health>, registry: Arc<Registry>) -> AppState {
        AppState {
            health,
            registry,
            store: Arc::new(OnceLock::new()),
        }
    }

    /// The database is connected.
    pub fn set_store(&self, store: Store) {
        let _ = self.store.set(store);
    }

    fn store(&self) -> Result<&Store, ApiError> {
        self.store.get().ok_or(ApiError::Unavailable)
    }

    /// A province code from a pinyin name or a code.
    fn province_code(&self, wanted: &str) -> Result<String, ApiError> {
        self.registry
            .get(wanted)
            .map(|m| m.province().code.clone())
            .ok_or_else(|| ApiError::BadRequest(format!("unknown province '{wanted}'")))
    }
}

/// An API failure.
#[derive(Debug)]
enum ApiError {
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
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/api/expectations", get(expectations))
        .route("/api/messages", get(messages_by_source))
        .route("/api/messages/{message_id}", get(message_trace))
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

async fn live() -> Json<Value> {
    Json(json!({ "live": true }))
}

async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let readiness = state.health.readiness();
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}

/// Query of `GET /api/expectations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectationQuery {
    state: Option<String>,
    province: Option<String>,
    limit: Option<i64>,
}

const STATES: [&str; 4] = ["open", "overdue", "answered_on_time", "answered_late"];

async fn expectations(
    State(state): State<AppState>,
    Query(q): Query<ExpectationQuery>,
) -> Result<Json<Value>, ApiError> {
    if let Some(s) = &q.state {
        if !STATES.contains(&s.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "unknown state '{s}'; one of {}",
                STATES.join(", ")
            )));
        }
    }
    let province = q
        .province
        .as_deref()
        .map(|p| state.province_code(p))
        .transpose()?;
    let list = state
        .store()?
        .expectations(&ExpectationFilter {
            state: q.state,
            province,
            message_id: None,
            limit: Some(q.limit.unwrap_or(1000).clamp(1, 10_000)),
        })
        .await?;
    Ok(Json(json!({ "expectations": list })))
}

async fn message_trace(
    State(state): State<AppState>,
    Path(message_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = uuid::Uuid::parse_str(&message_id).map_err(|_| {
        ApiError::BadRequest(format!("'{message_id}' is not a message id (a UUID)"))
    })?;
    match state.store()?.trace(&id.to_string()).await? {
        Some(trace) => Ok(Json(trace)),
        None => Err(ApiError::NotFound(format!(
            "no message {id} has passed through the hub"
        ))),
    }
}

/// Query of `GET /api/messages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceQuery {
    province: String,
    source_message_id: String,
}

async fn messages_by_source(
    State(state): State<AppState>,
    Query(q): Query<SourceQuery>,
) -> Result<Json<Value>, ApiError> {
    let code = state.province_code(&q.province)?;
    let found = state
        .store()?
        .find_by_source(&code, &q.source_message_id)
        .await?;
    let empty = found["messages"].as_array().is_none_or(Vec::is_empty)
        && found["rejections"].as_array().is_none_or(Vec::is_empty);
    if empty {
        return Err(ApiError::NotFound(format!(
            "the hub has received no message {} from {}",
            q.source_message_id, q.province
        )));
    }
    Ok(Json(found))
}
