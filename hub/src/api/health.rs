//! Liveness and readiness: open to anyone, no personal data. `/health/ready` answers 503
//! naming what is missing until the broker, every consumer and the database are there.

use super::AppState;
use crate::health::Readiness;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The health routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
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

