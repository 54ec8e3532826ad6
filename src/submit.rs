//! Submitting a paid task: validated first, sent exactly once, never retried.
//!
//! The POST is made here rather than through the generated operation because every
//! failure must be classified by what it proves: nothing sent, rejected (nothing
//! created), or outcome unknown (a task may exist). The generated operation would turn
//! an unreadable 2xx into a generic error and lose a task id seen in it.

use std::time::{Duration, SystemTime};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use tokio::time::Instant;

use crate::error::{Error, api_error};
use crate::hooks::MAX_ANSWER_BYTES;
use crate::poll::TaskKind;
use crate::task::{Task, is_valid_task_id};
use crate::{Client, SubmitRequest};

/// Answers that prove the server created nothing.
const REJECTING: &[u16] = &[400, 401, 402, 403, 404, 405, 413, 415, 422, 429];

impl Client {
    /// Validates `request`, then sends it exactly once and returns the accepted task.
    ///
    /// Nothing is sent when validation fails ([`Error::Validation`]). The POST is never
    /// retried: on [`Error::OutcomeUnknown`] a task may exist (its id is in the error
    /// whenever the answer showed one), so check before submitting again. The
    /// [`on_submitted`](crate::ClientBuilder::on_submitted) hook runs before this
    /// returns.
    ///
    /// ```no_run
    /// use modellix::types::Seedance20V2vRequest;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = modellix::Client::from_env()?;
    /// let request = Seedance20V2vRequest::builder()
    ///     .prompt("Extend [Video 1] with a slow dolly zoom")
    ///     .video_urls(vec!["https://example.com/in.mp4".to_string()])
    ///     .build()?;
    /// let task = client.submit(&request).await?;
    /// println!("submitted {}", task.id()); // persist it: it is what you paid for
    /// let output = task.wait(&client).await?;
    /// for resource in output.resources() {
    ///     println!("{} {}", resource.type_, resource.url);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn submit<R: SubmitRequest>(&self, request: &R) -> Result<Task, Error> {
        let op = R::OPERATION;
        let model_id = R::model_id();
        let body = serde_json::to_value(request).map_err(|e| Error::Malformed {
            task_id: None,
            reason: format!("the request cannot be serialized: {e}"),
        })?;
        let warnings = match op.validate_json {
            Some(check) => check(&body)?,
            None => R::validate(request)?,
        };
        for w in warnings.iter() {
            tracing::warn!(model = model_id, pointer = %w.pointer, "request warning: {}", w.message);
        }
        let bytes = serde_json::to_vec(&body).expect("a JSON value serializes");
        let kind = TaskKind::of_request(model_id, &body);
        let shared = self.shared();
        shared.gate.wait(None).await;

        let url = format!("{}{}", shared.base_url, op.path);
        let mut http_request = shared
            .api
            .client
            .post(&url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(bytes)
            .build()
            .map_err(|e| Error::NotSent {
                task_id: None,
                reason: format!("cannot build the request: {e}"),
            })?;
        shared.api.inner.prepare(&mut http_request);

        let submitted_at = SystemTime::now();
        let started = Instant::now();
        let unknown = |task_id: Option<String>, reason: String| Error::OutcomeUnknown {
            model_id: model_id.to_owned(),
            task_id,
            reason,
        };
        let response = match shared.api.client.execute(http_request).await {
            Ok(response) => response,
            // Refused or failed before a connection existed: provably not sent.
            Err(e) if e.is_connect() => {
                return Err(Error::NotSent {
                    task_id: None,
                    reason: format!("cannot connect to {}: {}", shared.base_url, error_chain(&e)),
                });
            }
            Err(e) => {
                tracing::warn!(
                    model = model_id,
                    path = op.path,
                    "submit lost after sending"
                );
                return Err(unknown(
                    None,
                    format!(
                        "the connection failed after the request was sent ({})",
                        error_chain(&e)
                    ),
                ));
            }
        };
        let status = response.status().as_u16();
        // Headers matter only for error answers (Retry-After); skip the copy otherwise.
        let headers = if (200..300).contains(&status) {
            http::HeaderMap::new()
        } else {
            response.headers().clone()
        };
        let answer = read_capped(response, MAX_ANSWER_BYTES).await;
        tracing::info!(
            model = model_id,
            method = "POST",
            path = op.path,
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "submit answered"
        );

        let body = match answer {
            Ok(body) => body,
            Err(ReadFailure { partial, reason }) => {
                let seen = scan_task_id(&partial);
                return Err(unknown(seen, format!("HTTP {status}, but {reason}")));
            }
        };

        if (200..300).contains(&status) {
            return match accepted_task_id(&body) {
                Ok(task_id) => {
                    let task = Task::submitted(task_id, model_id, submitted_at, kind);
                    tracing::info!(model = model_id, task_id = task.id(), "task accepted");
                    if let Some(hook) = &shared.on_submitted {
                        hook(&task);
                    }
                    Ok(task)
                }
                Err(reason) => Err(unknown(
                    scan_task_id(&body),
                    format!("HTTP {status}, but {reason}"),
                )),
            };
        }
        let api = api_error(status, &headers, &body);
        if status == 429 {
            shared
                .gate
                .close_for(api.retry_after.unwrap_or(Duration::from_secs(1)));
        }
        if REJECTING.contains(&status) {
            return Err(Error::Rejected {
                model_id: model_id.to_owned(),
                api,
            });
        }
        Err(unknown(
            scan_task_id(&body),
            format!("the server answered {api}"),
        ))
    }

    /// Submits `request` and waits for its result with the client's wait options.
    ///
    /// Errors carry the task id once the task was accepted.
    pub async fn generate<R: SubmitRequest>(
        &self,
        request: &R,
    ) -> Result<crate::TaskOutput, Error> {
        let task = self.submit(request).await?;
        task.wait(self).await
    }
}

/// The parts of a submit answer that decide acceptance; everything else is ignored.
#[derive(serde::Deserialize)]
struct SubmitEnvelope {
    code: Option<i64>,
    data: Option<SubmitData>,
}

#[derive(serde::Deserialize)]
struct SubmitData {
    task_id: Option<Value>,
}

/// The task id of a success envelope, or why there is none.
fn accepted_task_id(body: &[u8]) -> Result<String, String> {
    let envelope: SubmitEnvelope = serde_json::from_slice(body)
        .map_err(|e| format!("its body is not a JSON envelope ({e})"))?;
    let id = envelope.data.and_then(|d| d.task_id);
    let id = id.as_ref().and_then(Value::as_str);
    match (envelope.code, id) {
        (Some(0) | None, Some(id)) if is_valid_task_id(id) => Ok(id.to_owned()),
        (Some(0) | None, Some(id)) => Err(format!("its task id {id:?} is not usable")),
        (Some(code), _) if code != 0 => Err(format!("its envelope says code {code}")),
        _ => Err("it carries no task id".to_owned()),
    }
}

/// The value of the first `"task_id": "…"` in a body that may be cut off or not JSON.
pub(crate) fn scan_task_id(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let mut rest = text.as_ref();
    while let Some(at) = rest.find("\"task_id\"") {
        rest = &rest[at + 9..];
        // `"task_id"` may also appear as a value (`"required":["task_id"]`): skip it.
        let Some(after_colon) = rest.trim_start().strip_prefix(':') else {
            continue;
        };
        let after_colon = after_colon.trim_start();
        if let Some(value) = after_colon.strip_prefix('"') {
            let end = value.find('"')?;
            let id = &value[..end];
            if is_valid_task_id(id) {
                return Some(id.to_owned());
            }
        }
    }
    None
}

pub(crate) struct ReadFailure {
    pub(crate) partial: Vec<u8>,
    pub(crate) reason: String,
}

/// Reads a body up to `limit` bytes; what was read is kept on failure, for the task id.
/// A body announced as too large is refused after a short prefix is read.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ReadFailure> {
    const PREFIX: usize = 64 * 1024;
    let too_large = || format!("its answer is larger than {} MiB", limit >> 20);
    let announced_too_large = response.content_length().is_some_and(|n| n > limit as u64);
    let read_limit = if announced_too_large {
        PREFIX.min(limit)
    } else {
        limit
    };
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > read_limit {
                    body.extend_from_slice(&chunk[..read_limit - body.len()]);
                    return Err(ReadFailure {
                        partial: body,
                        reason: too_large(),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) if announced_too_large => {
                return Err(ReadFailure {
                    partial: body,
                    reason: too_large(),
                });
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(ReadFailure {
                    partial: body,
                    reason: format!("its answer was cut off ({})", error_chain(&e)),
                });
            }
        }
    }
}

/// An error and its causes on one line (reqwest's top level says little).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_are_found_in_broken_bodies() {
        let table: &[(&[u8], Option<&str>)] = &[
            (
                br#"{"code":0,"data":{"task_id":"task-1","status":"pen"#,
                Some("task-1"),
            ),
            (br#"{"data":{"task_id" : "task-2"}}"#, Some("task-2")),
            (br#"<html>task_id</html>"#, None),
            (
                br#"{"task_id":"","x":{"task_id":"task-3"}}"#,
                Some("task-3"),
            ),
            (br#"{"task_id":"bad id with spaces"}"#, None),
            (br#"{"task_id":"unterminated"#, None),
            (b"", None),
        ];
        for (body, want) in table {
            assert_eq!(
                scan_task_id(body).as_deref(),
                *want,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn only_clean_success_envelopes_are_accepted() {
        assert_eq!(
            accepted_task_id(br#"{"code":0,"message":"success","data":{"task_id":"task-9"}}"#),
            Ok("task-9".into())
        );
        assert!(
            accepted_task_id(br#"{"code":0,"data":{}}"#)
                .unwrap_err()
                .contains("no task id")
        );
        assert!(
            accepted_task_id(br#"{"code":500,"data":{"task_id":"t"}}"#)
                .unwrap_err()
                .contains("code 500")
        );
        assert!(
            accepted_task_id(b"<html>")
                .unwrap_err()
                .contains("not a JSON envelope")
        );
    }
}
