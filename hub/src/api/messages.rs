//! The integrator's read API: expectations, and a message's trace found by the hub's id
//! or by the sender's own id. Traces carry ids, kinds, divisions and times only.

use super::{ApiError, AppState};
use crate::store::ExpectationFilter;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

/// The read API's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/expectations", get(expectations))
        .route("/api/messages", get(messages_by_source))
        .route("/api/messages/{message_id}", get(message_trace))
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
