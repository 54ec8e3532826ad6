//! The public schema pages, `GET /models/{provider}/{model}/api_schema`, served without
//! a key as Modellix serves them: every vendored fragment (its `servers[0].url` moved
//! onto the sandbox), and any page a test adds with [`SandboxConfig::schema_page`]
//! (for a model this build does not vendor, or a page in a shape under test).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use modellix::Operation;
use serde_json::{Value, json};

use crate::config::SandboxConfig;
use crate::state::{Hit, Shared};

/// The production API origin a published page names; moved onto the sandbox's own.
const API_ORIGIN: &str = "https://api.modellix.ai";

impl SandboxConfig {
    /// Serves `page` as the schema page of `model_id` (`provider/model`), in place of a
    /// vendored one. A `servers[0].url` on the production API origin is moved onto the
    /// sandbox; any other is served as given (to test refusals of foreign hosts).
    ///
    /// ```
    /// let config = modellix_sandbox::Sandbox::builder().schema_page(
    ///     "acme/pixel-2",
    ///     serde_json::json!({"servers": [{"url": "https://api.modellix.ai/api/v1/acme/pixel-2/async"}]}),
    /// );
    /// # let _ = config;
    /// ```
    pub fn schema_page(mut self, model_id: impl Into<String>, page: Value) -> Self {
        let model_id = model_id.into();
        self.schema_pages.retain(|(id, _)| *id != model_id);
        self.schema_pages.push((model_id, page));
        self
    }
}

/// Adds the schema page route to `router`.
pub(crate) fn routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    router.route("/models/{provider}/{model}/api_schema", get(schema_page))
}

async fn schema_page(
    State(shared): State<Arc<Shared>>,
    Path((provider, model)): Path<(String, String)>,
) -> Response {
    shared.count(Hit::SchemaPage);
    let model_id = format!("{provider}/{model}");
    let page = shared
        .config
        .schema_pages
        .iter()
        .find(|(id, _)| *id == model_id)
        .map(|(_, page)| page.clone())
        .or_else(|| {
            Operation::for_model(&model_id)
                .and_then(Operation::fragment_json)
                .and_then(|text| serde_json::from_str(text).ok())
        });
    let Some(mut page) = page else {
        let body = json!({"code": 404, "message": format!("no model {model_id}")});
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    };
    let moved = page
        .pointer("/servers/0/url")
        .and_then(Value::as_str)
        .and_then(|url| url.strip_prefix(API_ORIGIN))
        .map(|path| format!("{}{path}", shared.base_url));
    if let (Some(url), Some(slot)) = (moved, page.pointer_mut("/servers/0/url")) {
        *slot = Value::String(url);
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        page.to_string(),
    )
        .into_response()
}
