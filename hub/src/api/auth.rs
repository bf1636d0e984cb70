//! Who is calling: `Authorization: Bearer <token>`, or HTTP Basic with the token as the
//! password (so that people can open the reports in a browser, which asks for it). The
//! token is looked up by its SHA-256 among the configured clients; it is never logged.
//! A request without a known token is refused with 401 and written to the audit.

use super::{ApiError, AppState};
use crate::access::rules::{Refusal, RefusalReason};
use crate::access::{AuditEntry, Caller, Channel};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;

/// The action an API path performs, for the audit.
pub(super) fn action_of(path: &str) -> &'static str {
    let rest = path.strip_prefix("/api/").unwrap_or(path);
    match rest.split('/').next().unwrap_or("") {
        "people" => "profile",
        "certificates" => "certificates",
        "reports" => "report",
        "messages" => "trace",
        "expectations" => "expectations",
        "audit" => "audit",
        _ => "api",
    }
}

/// The token in an `Authorization` header value, if it has one.
fn token_of(header: &str) -> Option<String> {
    let (scheme, value) = header.trim().split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(value.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(value).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        // user:token — the user part is free (a browser asks for one).
        return text.split_once(':').map(|(_, t)| t.to_string());
    }
    None
}

/// An authenticated caller of a guarded endpoint.
pub(crate) struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(token_of);
        if let Some(caller) = header.as_deref().and_then(|t| state.access.authenticate(t)) {
            return Ok(Authenticated(caller.clone()));
        }
        let detail = match (header.is_some(), state.access.is_empty()) {
            (_, true) => "no API clients are configured: see \"Access\" in the README",
            (true, false) => "the token is not one of a configured client",
            (false, false) => "send Authorization: Bearer <token>",
        };
        let refusal = Refusal::new(RefusalReason::Unauthenticated, detail);
        let entry = AuditEntry::anonymous("-", Channel::Http, action_of(parts.uri.path()));
        state
            .sharing()?
            .record_unauthenticated(&entry.refused(&refusal))
            .await?;
        Err(ApiError::Refused(refusal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic_carry_the_token() {
        assert_eq!(token_of("Bearer yq_abc").as_deref(), Some("yq_abc"));
        assert_eq!(token_of("bearer  yq_abc ").as_deref(), Some("yq_abc"));
        let basic = base64::engine::general_purpose::STANDARD.encode("anhui:yq_abc");
        assert_eq!(token_of(&format!("Basic {basic}")).as_deref(), Some("yq_abc"));
        assert_eq!(token_of("Digest x"), None);
        assert_eq!(token_of("Basic !!!"), None);
        assert_eq!(token_of("yq_abc"), None);
    }

    #[test]
    fn paths_name_their_action() {
        assert_eq!(action_of("/api/people/34130219920517002X"), "profile");
        assert_eq!(action_of("/api/reports/delivery"), "report");
        assert_eq!(action_of("/api/messages/abc"), "trace");
    }
}
