//! Webhook deliveries, as Modellix's articles describe them: a submit carrying
//! `X-Webhook-URL` gets a POST to that URL when its task ends, with `X-Modellix-Event`,
//! `X-Modellix-Task-ID`, `X-Modellix-Delivery-ID` and `X-Modellix-Retry-Count` and the
//! task answer (the query's envelope) as body. A failed attempt (non-2xx, no answer,
//! timeout) is retried with the same delivery id and the next retry count, with a
//! short backoff, [`WEBHOOK_ATTEMPTS`] times in all. Every attempt is recorded
//! ([`Sandbox::webhook_attempts`](crate::Sandbox::webhook_attempts), [`WebhookAttempt`](crate::WebhookAttempt)).

use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::http::{Request, Uri};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

use crate::records::WebhookAttempt;
use crate::state::Shared;

/// Attempts per delivery (the first and its retries).
pub const WEBHOOK_ATTEMPTS: u32 = 4;
/// Pause before retry `n` is this times 2^(n-1): short, for tests.
const BACKOFF: Duration = Duration::from_millis(100);
/// How long one attempt may take before it counts as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a running task is checked for its end.
const CHECK_EVERY: Duration = Duration::from_millis(20);

/// The event name of a final task answer.
fn event_of(data: &Value) -> &'static str {
    match data.get("status").and_then(Value::as_str) {
        Some("success") => "prediction.task.succeeded",
        Some("canceled" | "cancelled") => "prediction.task.canceled",
        _ => "prediction.task.failed",
    }
}

/// Waits for the task to end, then delivers. Holds the sandbox weakly: a dropped
/// sandbox delivers nothing more.
pub(crate) async fn deliver(shared: Weak<Shared>, task_id: String, url: String) {
    let data = loop {
        let Some(sandbox) = shared.upgrade() else {
            return;
        };
        match sandbox.final_data(&task_id) {
            Some(data) => break data,
            None => {
                drop(sandbox);
                tokio::time::sleep(CHECK_EVERY).await;
            }
        }
    };
    let event = event_of(&data);
    let body = json!({"code": 0, "message": "success", "data": data}).to_string();
    let delivery_id = format!("dlv-{:016x}", fastrand::u64(..));
    for retry_count in 0..WEBHOOK_ATTEMPTS {
        if retry_count > 0 {
            tokio::time::sleep(BACKOFF * 2u32.pow(retry_count - 1)).await;
        }
        let headers = [
            ("x-modellix-event", event.to_owned()),
            ("x-modellix-task-id", task_id.clone()),
            ("x-modellix-delivery-id", delivery_id.clone()),
            ("x-modellix-retry-count", retry_count.to_string()),
        ];
        let sent = post(&url, &headers, Bytes::from(body.clone()));
        let status = tokio::time::timeout(ATTEMPT_TIMEOUT, sent)
            .await
            .ok()
            .flatten();
        let Some(sandbox) = shared.upgrade() else {
            return;
        };
        sandbox.record_webhook(WebhookAttempt {
            task_id: task_id.clone(),
            event: event.to_owned(),
            delivery_id: delivery_id.clone(),
            retry_count,
            status,
        });
        if status.is_some_and(|s| (200..300).contains(&s)) {
            return;
        }
    }
}

/// One POST over plain http (the receivers of tests listen on 127.0.0.1; an https URL
/// gets no answer, as a receiver that is down); the answer's status, if any.
async fn post(url: &str, headers: &[(&str, String)], body: Bytes) -> Option<u16> {
    let uri: Uri = url.parse().ok()?;
    if uri.scheme_str() != Some("http") {
        return None;
    }
    let authority = uri.authority()?.clone();
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let stream = TcpStream::connect((host, authority.port_u16().unwrap_or(80)))
        .await
        .ok()?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    let connection = tokio::spawn(conn);
    let mut request = Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header("host", authority.as_str())
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    let request = request.body(Full::new(body)).ok()?;
    let status = sender
        .send_request(request)
        .await
        .ok()
        .map(|answer| answer.status().as_u16());
    drop(sender);
    connection.abort();
    status
}

/// Starts the delivery of `task_id`'s end to `url`.
pub(crate) fn schedule(shared: &Arc<Shared>, task_id: String, url: String) {
    tokio::spawn(deliver(Arc::downgrade(shared), task_id, url));
}
