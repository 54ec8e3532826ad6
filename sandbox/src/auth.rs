//! The Bearer key check every authenticated route makes.

use axum::http::{HeaderMap, StatusCode, header};

use crate::answer::Answer;
use crate::state::Shared;

/// The 401 answer, unless the request carries the key (or none is required).
pub(crate) fn unauthorized(shared: &Shared, headers: &HeaderMap) -> Option<Answer> {
    let config = &shared.config;
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let allowed = !config.require_auth || presented == Some(config.api_key.as_str());
    (!allowed).then(|| Answer::error(StatusCode::UNAUTHORIZED, "missing or invalid API key"))
}
