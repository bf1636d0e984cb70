//! The integrator's read API: expectations, and a message's trace found by the hub's id
//! or by the sender's own id. Traces carry ids, kinds, divisions and times only; every
//! role may read them, a province only those of messages it sent or owns.

use super::auth::Authenticated;
use super::{ApiError, AppState};
use crate::access::rules::{self, Refusal, RefusalReason, Scope};
use crate::store::ExpectationFilter;
use super::{Path, Query};
use axum::extract::State;
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
    Authenticated(caller): Authenticated,
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
    let asked = q
        .province
        .as_deref()
        .map(|p| state.province_code(p))
        .transpose()?;
    // A province sees what it owes and what is owed to it, and nothing else.
    let province = match (rules::traces(&caller), asked) {
        (Scope::All, asked) => asked,
        (Scope::Province(own), Some(asked)) if asked != own => {
            let refusal = Refusal::new(
                RefusalReason::NotEntitled,
                format!(
                    "{} may list only the expectations its province owes or is owed",
                    caller.name
                ),
            );
            return Err(state.refuse(&caller, "expectations", refusal).await);
        }
        (Scope::Province(own), _) => Some(own),
    };
    let list = state
        .store()?
        .expectations(&ExpectationFilter {
            state: q.state,
            province,
            limit: Some(q.limit.unwrap_or(1000).clamp(1, 10_000)),
            ..ExpectationFilter::default()
        })
        .await?;
    Ok(Json(json!({ "expectations": list })))
}

/// Whether a trace is of a message the scope covers: sent by, or delivered to, the
/// province.
fn trace_in_scope(scope: &Scope, trace: &Value) -> bool {
    let sender = trace["source"]["province"].as_str().unwrap_or_default();
    let owners = trace["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["target_division"].as_str())
        .filter_map(|d| d.get(..2));
    scope.covers(sender, owners)
}

async fn message_trace(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(message_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = uuid::Uuid::parse_str(&message_id).map_err(|_| {
        ApiError::BadRequest(format!("'{message_id}' is not a message id (a UUID)"))
    })?;
    match state.store()?.trace(&id.to_string()).await? {
        Some(trace) if trace_in_scope(&rules::traces(&caller), &trace) => Ok(Json(trace)),
        Some(_) => {
            let refusal = Refusal::new(
                RefusalReason::NotEntitled,
                format!(
                    "message {id} was neither sent by nor delivered to {}'s province",
                    caller.name
                ),
            );
            Err(state.refuse(&caller, "trace", refusal).await)
        }
        None => {
            // A rejection's id, as the status page lists them: the sender's province sees it.
            let Some(mut found) = state.store()?.rejection_trace(&id.to_string()).await? else {
                return Err(ApiError::NotFound(format!(
                    "no message or rejection {id} has passed through the hub"
                )));
            };
            if let Some(own) = caller.province_name() {
                if let Some(list) = found["rejections"].as_array_mut() {
                    list.retain(|r| r["province"] == own);
                }
                if found["rejections"].as_array().is_none_or(Vec::is_empty) {
                    let refusal = Refusal::new(
                        RefusalReason::NotEntitled,
                        format!("rejection {id} is of another province's document"),
                    );
                    return Err(state.refuse(&caller, "trace", refusal).await);
                }
            }
            Ok(Json(found))
        }
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
    Authenticated(caller): Authenticated,
    Query(q): Query<SourceQuery>,
) -> Result<Json<Value>, ApiError> {
    let code = state.province_code(&q.province)?;
    let store = state.store()?;
    let mut found = store.find_by_source(&code, &q.source_message_id).await?;
    if let Scope::Province(own) = rules::traces(&caller) {
        if own != code {
            // Another province's legacy id: only the messages delivered to this one, and
            // none of the sender's rejections.
            let mut visible = Vec::new();
            for m in found["messages"].as_array().cloned().unwrap_or_default() {
                let id = m["message_id"].as_str().unwrap_or_default();
                if store.delivered_to(id).await?.contains(&own) {
                    visible.push(m);
                }
            }
            found["messages"] = Value::Array(visible);
            found["rejections"] = json!([]);
        }
    }
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
