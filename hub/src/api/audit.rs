//! `GET /api/audit?from=&to=&province=&id_number=`: the audit of lookups, for the
//! coordination group and ops. Read-only: no endpoint of the hub changes or deletes an
//! audit row (and the database refuses it). `id_number` is hashed with the audit key
//! before it is compared; the rows hold only hashes.

use super::auth::Authenticated;
use super::{ApiError, AppState};
use crate::access::rules;
use crate::access::{AuditEntry, Channel};
use crate::reports::period::PeriodSpec;
use crate::store::AuditFilter;
use super::Query;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

/// The audit route.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/api/audit", get(audit))
}

/// Query of `GET /api/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    from: Option<String>,
    to: Option<String>,
    province: Option<String>,
    id_number: Option<String>,
    limit: Option<i64>,
}

async fn audit(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    query: Result<Query<AuditQuery>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    // The role first: a caller who may not read the audit is told so, whatever it asked.
    if let Err(refusal) = rules::audit(&caller) {
        return Err(state.refuse(&caller, "audit", refusal).await);
    }
    let Query(q) = query?;
    let today = crate::reports::period::beijing_date(state.clock.now());
    let period = PeriodSpec {
        from: q.from,
        to: q.to,
        ..PeriodSpec::default()
    }
    .resolve(crate::reports::Period::month_of(today))
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let province = q
        .province
        .as_deref()
        .map(|p| {
            state
                .registry
                .get(p)
                .map(|m| m.province().name.clone())
                .ok_or_else(|| ApiError::BadRequest(format!("unknown province '{p}'")))
        })
        .transpose()?;
    let sharing = state.sharing()?;
    let subject_hash = q.id_number.as_deref().map(|raw| sharing.key().hash_id_number(raw));
    let rows = sharing
        .store()
        .audit(&AuditFilter {
            from_ms: Some(period.start_ms()),
            to_ms: Some(period.end_ms()),
            province,
            subject_hash: subject_hash.clone(),
            limit: Some(q.limit.unwrap_or(10_000).clamp(1, 100_000)),
        })
        .await?;
    let entry = AuditEntry::by(&caller, Channel::Http, "audit")
        .about(subject_hash)
        .target(period.slug())
        .allowed(format!("{} audit rows", rows.len()));
    sharing.record(&entry).await?;
    Ok(Json(json!({ "from": period.from, "to": period.to, "entries": rows })))
}
