//! The HTTP routes, built from `modellix::OPERATIONS`, and the order in which a
//! request meets its fault.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use modellix::Operation;
use serde_json::{Value, json};

use crate::answer::Answer;
use crate::auth::unauthorized;
use crate::conn::ConnCtl;
use crate::faults::Route;
use crate::files;
use crate::generic::submit_target;
use crate::injection::with_fault;
use crate::state::{Hit, Shared, SubmitTarget};

/// The task query path, the same for every model.
const TASK_PATH: &str = "/api/v1/tasks/{task_id}";

/// Modellix refuses request bodies over 64 MiB; so does the sandbox.
const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

/// Every submit operation of `operations`, the task query and the result files.
pub(crate) fn router(shared: Arc<Shared>, operations: &'static [Operation]) -> Router {
    let mut router = Router::new()
        .route(TASK_PATH, get(query_task))
        .route("/files/{task_id}/{name}", get(file));
    for op in operations.iter().filter(|op| op.is_submit()) {
        let target = SubmitTarget::vendored(op);
        router = router.route(
            op.path,
            post(move |state, conn, headers, body| submit(state, conn, target, headers, body)),
        );
    }
    router = crate::media_files::routes(router);
    router = crate::account::routes(router);
    router = crate::schema_pages::routes(router);
    router
        .fallback(move |state, conn, method, uri, headers, body| {
            unknown_route(state, conn, operations, method, uri, headers, body)
        })
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(shared)
}

async fn submit(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<ConnCtl>,
    target: SubmitTarget,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.count(Hit::Submit(&target.operation_id));
    let model_id = target.model_id.as_str();
    with_fault(&shared, conn, Route::Submit, |fault| {
        if let Some(denied) = unauthorized(&shared, &headers) {
            return denied;
        }
        let body: Value = match serde_json::from_slice(&body) {
            Ok(body) => body,
            Err(e) => {
                return Answer::error(
                    StatusCode::BAD_REQUEST,
                    format!("body is not valid JSON: {e}"),
                );
            }
        };
        if !body.is_object() {
            return Answer::error(StatusCode::BAD_REQUEST, "the body must be a JSON object");
        }
        if let Some(Err(invalid)) = target.validate.map(|validate| validate(&body)) {
            let details: Vec<String> = invalid.violations().iter().map(|v| v.to_string()).collect();
            return Answer::error(StatusCode::BAD_REQUEST, details.join("; "));
        }
        // Any URL the client sends is taken (http too: the receivers of tests listen
        // on 127.0.0.1); Modellix's public-https rule is the client's to check.
        let webhook = headers
            .get("x-webhook-url")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let task_id = shared.create_task(&target, body, fault.cloned(), webhook.clone());
        if let Some(url) = webhook {
            crate::webhooks::schedule(&shared, task_id.clone(), url);
        }
        Answer::success(json!({
            "status": "pending",
            "task_id": task_id,
            "model_id": model_id,
            "get_result": {
                "method": "GET",
                "url": format!("{}/api/v1/tasks/{task_id}", shared.base_url),
            },
        }))
    })
    .await
}

async fn query_task(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<ConnCtl>,
    Path(task_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    shared.count(Hit::Task);
    with_fault(&shared, conn, Route::Task, |_| {
        if let Some(denied) = unauthorized(&shared, &headers) {
            return denied;
        }
        match shared.query_task(&task_id) {
            Some(data) => Answer::success(data),
            None => Answer::error(
                StatusCode::NOT_FOUND,
                format!("task {task_id} does not exist"),
            ),
        }
    })
    .await
}

/// Result files need no key, like Modellix's signed CDN links: clients must not send
/// their key there.
async fn file(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<ConnCtl>,
    Path((task_id, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    shared.count(Hit::Files);
    with_fault(&shared, conn, Route::Files, |_| {
        match files::fixture(&name).filter(|_| shared.has_file(&task_id, &name)) {
            Some((bytes, content_type)) => files::serve(bytes, content_type, &headers),
            None => Answer::error(
                StatusCode::NOT_FOUND,
                format!("no file {name} for task {task_id}"),
            ),
        }
    })
    .await
}

/// A `POST` on a submit path of a model without a fragment runs as a generic task (see
/// generic.rs); anything else is answered 404.
async fn unknown_route(
    state: State<Arc<Shared>>,
    conn: Extension<ConnCtl>,
    operations: &'static [Operation],
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let generic = submit_target(uri.path(), operations)
        .filter(|_| method == Method::POST)
        .filter(|model| !model.is_missing());
    if let Some(model) = generic {
        let target = SubmitTarget {
            operation_id: model.model_id.clone(),
            model_id: model.model_id,
            validate: None,
            outputs: model.outputs,
        };
        return submit(state, conn, target, headers, body).await;
    }
    let State(shared) = state;
    shared.count(Hit::Other);
    Answer::error(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {}", uri.path()),
    )
    .into_response(false)
}

async fn wrong_method(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    shared.count(Hit::Other);
    Answer::error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
    .into_response(false)
}
