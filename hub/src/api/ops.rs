//! `GET /metrics`: every counter, gauge and histogram of the process in the Prometheus
//! text format. Open to anyone, like the health endpoints: labels are provinces, kinds,
//! reasons and stages — never a person or a message id.

use super::AppState;
use crate::telemetry;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// The metrics route.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // Readiness is read, not counted: set its gauges at the scrape.
    telemetry::readiness(&state.health.readiness());
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        telemetry::metrics_handle().render(),
    )
}
