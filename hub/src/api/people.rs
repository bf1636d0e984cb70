//! Information sharing over HTTP: `GET /api/people/{id_number}` (a person's profile, to
//! the provinces the hub's records relate to her) and `GET /api/certificates` (《婚育证明》
//! records by `cert_no`, or by `division` with `issued_from`/`issued_to`). The decisions
//! and the audit are `sharing::Sharing`'s; this file only speaks HTTP.

use super::auth::Authenticated;
use super::{ApiError, AppState};
use crate::access::Channel;
use crate::sharing::CertificateRequest;
use super::{Path, Query};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

/// The information-sharing routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/people/{id_number}", get(person))
        .route("/api/certificates", get(certificates))
}

async fn person(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id_number): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let profile = state
        .sharing()?
        .profile(&caller, Channel::Http, &id_number)
        .await?;
    Ok(Json(profile))
}

async fn certificates(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Query(request): Query<CertificateRequest>,
) -> Result<Json<Value>, ApiError> {
    let list = state
        .sharing()?
        .certificates(&caller, Channel::Http, &request)
        .await?;
    Ok(Json(list))
}
