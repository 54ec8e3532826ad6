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
use crate::injection::with_fault;
use crate::state::{Hit, Shared};

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
        router = router.route(
            op.path,
            post(move |state, conn, headers, body| submit(state, conn, op, headers, body)),
        );
    }
    router = crate::media_files::routes(router);
    router = crate::account::routes(router);
    router
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(shared)
}

async fn submit(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<ConnCtl>,
    op: &'static Operation,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.count(Hit::Submit(op.operation_id));
    let model_id = op.model_id.unwrap_or_default();
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
        if let Some(Err(invalid)) = op.validate_json.map(|validate| validate(&body)) {
            let details: Vec<String> = invalid.violations().iter().map(|v| v.to_string()).collect();
            return Answer::error(StatusCode::BAD_REQUEST, details.join("; "));
        }
        let task_id = shared.create_task(op, body, fault.cloned());
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

async fn unknown_route(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
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
