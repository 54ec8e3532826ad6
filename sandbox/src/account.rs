//! The account endpoints and the catalog: `GET /api/v1/apikey/validate` (HTTP 200
//! with `is_valid` false for a wrong key, as Modellix), `GET /api/v1/team/balance`,
//! and `GET /api/v1/models`, which lists every vendored submit operation with no
//! envelope.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::answer::Answer;
use crate::auth::unauthorized;
use crate::state::{Hit, Shared};

/// The balance the sandbox's team has, in USD.
pub const SANDBOX_BALANCE_USD: f64 = 100.0;

/// A model the sandbox lists without a fragment for it, so catalogs show both kinds of
/// entry; it runs as a generic task.
const UNVENDORED: (&str, &str, &str) = (
    "alibaba/qwen-image-plus",
    "text-to-image",
    "Qwen image generation (no typed request in this build)",
);

/// Adds the account and catalog routes to `router`.
pub(crate) fn routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    router
        .route("/api/v1/apikey/validate", get(validate))
        .route("/api/v1/team/balance", get(balance))
        .route("/api/v1/models", get(models))
}

async fn validate(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.count(Hit::Account);
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let answer = match presented {
        None => Answer::error(StatusCode::UNAUTHORIZED, "missing API key"),
        Some(key) => Answer::success(json!({"is_valid": key == shared.config.api_key})),
    };
    answer.into_response(false)
}

async fn balance(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.count(Hit::Account);
    let answer = unauthorized(&shared, &headers)
        .unwrap_or_else(|| Answer::success(json!({"balance": SANDBOX_BALANCE_USD})));
    answer.into_response(false)
}

/// The model type, from the catalog entry of an unvendored model or the id's
/// conventional suffix (`-v2v`, `-t2i`, …); `None` when neither says.
pub(crate) fn type_hint(model_id: &str) -> Option<&'static str> {
    if model_id == UNVENDORED.0 {
        return Some(UNVENDORED.1);
    }
    let suffix = model_id.rsplit('-').next().unwrap_or_default();
    Some(match suffix {
        "t2i" => "text-to-image",
        "i2i" => "image-to-image",
        "t2v" => "text-to-video",
        "i2v" => "image-to-video",
        "v2v" => "video-to-video",
        "tts" => "text-to-speech",
        "stt" | "asr" => "speech-to-text",
        _ => return None,
    })
}

async fn models(State(shared): State<Arc<Shared>>) -> Response {
    shared.count(Hit::Account);
    let mut models: Vec<Value> = modellix::OPERATIONS
        .iter()
        .filter_map(|op| op.model_id.map(|id| (id, op.summary)))
        .map(|(id, summary)| {
            json!({
                "slug": id,
                "type": crate::prices::model_type(id)
                    .or_else(|| type_hint(id))
                    .unwrap_or("video-to-video"),
                "docs_url": format!("https://modellix.ai/models/{id}"),
                "description": summary,
                "display_price": crate::prices::display_price(id),
                "price": crate::prices::catalog_price(id),
            })
        })
        .collect();
    let (slug, kind, description) = UNVENDORED;
    models.push(json!({
        "slug": slug,
        "type": kind,
        "docs_url": format!("https://modellix.ai/models/{slug}"),
        "description": description,
    }));
    // No envelope: the catalog answers the list itself.
    axum::Json(json!({ "models": models })).into_response()
}
