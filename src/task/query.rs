//! One status query of a task (`GET /api/v1/tasks/{id}`), classified: the task's
//! state, a failure worth another try, or one that ends the wait.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde::Deserialize;
use tokio::time::Instant;

use crate::error::api::answer_error;
use crate::error::{ApiError, Error};
use crate::redact::Redactor;
use crate::shared::Shared;
use crate::transport::lenient::{
    self, MAX_VALUES, Slips, TASK_ANSWER, bounded_value, count_values,
};
use crate::transport::request::MAX_ANSWER_BYTES;
use crate::transport::request::{Failure, Outgoing, Stage};
use crate::transport::retry::is_retryable_status;
use crate::types::{GetTaskResponse, TaskInfo};

/// Bytes left as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The query path of `task_id`, percent-encoded.
pub(crate) fn task_path(task_id: &str) -> String {
    format!("/api/v1/tasks/{}", utf8_percent_encode(task_id, SEGMENT))
}

/// Why one status query failed.
pub(crate) enum QueryFailure {
    /// Worth another try (network, 408, 429, 5xx, an unreadable answer, a 404 just
    /// after submit); the server's hint, if any.
    Retryable {
        error: Error,
        hint: Option<Duration>,
    },
    /// Ends the wait (401, 403, 404, a redirect).
    Fatal(Error),
}

impl QueryFailure {
    pub(crate) fn into_error(self) -> Error {
        match self {
            QueryFailure::Retryable { error, .. } | QueryFailure::Fatal(error) => error,
        }
    }
}

/// One GET through the transport. `young`: the task was submitted moments ago, so a
/// 404 may only mean the task is not visible yet.
pub(crate) async fn query(
    shared: &Shared,
    task_id: &str,
    attempt: u32,
    deadline: Option<Instant>,
    young: bool,
) -> Result<TaskInfo, QueryFailure> {
    let transport = &shared.transport;
    let path = task_path(task_id);
    let malformed = |reason: String| Error::Malformed {
        task_id: Some(task_id.to_owned()),
        reason,
    };
    let not_sent = |waiting_for: &str| QueryFailure::Retryable {
        error: Error::Transport {
            task_id: task_id.to_owned(),
            reason: format!("not sent: the deadline passed while waiting for {waiting_for}"),
        },
        hint: None,
    };
    // The limiter first, then a slot: a query waits out a 429 pause or the pacing
    // without holding a slot, and the queries the limiter lets through together go out
    // as slots free up, even if a 429 pauses the client meanwhile (as they would have
    // had they all been sent at once).
    let Some(permit) = transport.limiter.acquire(deadline).await else {
        return Err(not_sent("the rate limit"));
    };
    let Some(_slot) = shared.query_slots.take(deadline).await else {
        return Err(not_sent("a free query slot"));
    };
    // Boxed: only queries holding a slot pay for the request's state (kilobytes), so a
    // wait between queries or in line for a slot stays small.
    let sent = Box::pin(transport.send_admitted(
        Outgoing {
            method: Method::GET,
            path: &path,
            body: None,
            attempt,
            deadline,
        },
        permit,
    ))
    .await;
    let answer = match sent {
        Ok(answer) => answer,
        // Retried like any unreadable answer: a proxy's glitch must not end a wait on
        // a task that is fine; the retry policy bounds it.
        Err(Failure {
            too_large: true, ..
        }) => {
            return Err(QueryFailure::Retryable {
                error: malformed(format!(
                    "the answer is larger than {} MiB",
                    MAX_ANSWER_BYTES >> 20
                )),
                hint: None,
            });
        }
        Err(failure) => {
            let reason = match failure.stage {
                Stage::NotSent => format!("not sent: {}", failure.reason),
                Stage::MaybeSent => failure.reason,
            };
            return Err(QueryFailure::Retryable {
                error: Error::Transport {
                    task_id: task_id.to_owned(),
                    reason,
                },
                hint: None,
            });
        }
    };
    let status = answer.status;
    if answer.is_redirect() {
        return Err(QueryFailure::Fatal(Error::Api {
            task_id: task_id.to_owned(),
            api: Box::new(ApiError {
                status,
                code: None,
                category: Some("Redirect".to_owned()),
                message: format!(
                    "the API answered with a redirect to {}; API requests never follow \
                     redirects: check the base URL",
                    answer.location()
                ),
                retry_after: None,
                request_id: answer.request_id.clone(),
            }),
        }));
    }
    if answer.is_success() {
        // The reason quotes the server: `decode` redacts every piece it keeps.
        return decode(task_id, &answer.body, &transport.redactor).map_err(|reason| {
            QueryFailure::Retryable {
                error: malformed(reason),
                hint: None,
            }
        });
    }
    let api = answer_error(&answer, &transport.redactor);
    let error = Error::Api {
        task_id: task_id.to_owned(),
        api: Box::new(api),
    };
    if is_retryable_status(status) || (status == 404 && young) {
        let hint = error.retry_after();
        Err(QueryFailure::Retryable { error, hint })
    } else {
        Err(QueryFailure::Fatal(error))
    }
}

/// Longest piece of server text quoted in a reason.
const MAX_QUOTED_CHARS: usize = 200;

/// The task in a success answer, decoded strictly, else leniently; the error quotes
/// the server only through `redactor` (redacted before it is cut).
///
/// Memory stays bounded by the answer's size: an answer of more than
/// [`MAX_VALUES`] JSON values is pruned to what a task needs first (see
/// [`bounded_value`]), since decoding it whole keeps every unknown value as a tree.
fn decode(task_id: &str, body: &[u8], redactor: &Redactor) -> Result<TaskInfo, String> {
    let not_envelope = |e: &dyn std::fmt::Display| {
        format!(
            "the answer is not a task envelope ({})",
            redactor.excerpt(&e.to_string(), MAX_QUOTED_CHARS)
        )
    };
    let answer = if count_values(body, MAX_VALUES) <= MAX_VALUES {
        match serde_json::from_slice::<GetTaskResponse>(body) {
            Ok(answer) => answer,
            Err(e) => decode_leniently(body).ok_or_else(|| not_envelope(&e))?,
        }
    } else {
        let value = bounded_value(body, &TASK_ANSWER).map_err(|e| not_envelope(&e))?;
        match GetTaskResponse::deserialize(&value) {
            Ok(answer) => answer,
            Err(e) => lenient::decode(value, Slips::Drop).ok_or_else(|| not_envelope(&e))?,
        }
    };
    check_answer(task_id, answer, redactor)
}

/// The task in a decoded answer, if the answer is a success envelope about `task_id`.
fn check_answer(
    task_id: &str,
    answer: GetTaskResponse,
    redactor: &Redactor,
) -> Result<TaskInfo, String> {
    if answer.code != 0 {
        Err(format!(
            "the envelope says code {}: {}",
            answer.code,
            redactor.excerpt(&answer.message, MAX_QUOTED_CHARS)
        ))
    } else if answer.data.task_id != task_id {
        Err(format!(
            "asked for task {task_id} but the answer is about task {}",
            redactor.excerpt(&answer.data.task_id, MAX_QUOTED_CHARS)
        ))
    } else {
        Ok(answer.data)
    }
}

/// Decodes an answer that failed typed decoding by dropping, one at a time, the fields
/// whose value has the wrong type. A paid result must not be lost because an optional
/// field (a width, a format) came in another type; a required field that is dropped
/// still fails, so only optional information is lost, and each drop is logged.
pub(crate) fn decode_leniently(bytes: &[u8]) -> Option<GetTaskResponse> {
    let value = bounded_value(bytes, &TASK_ANSWER).ok()?;
    lenient::decode(value, Slips::Drop)
}

#[cfg(test)]
mod lenient_tests {
    use super::*;

    fn answer(resource: &str, task_id: &str) -> Vec<u8> {
        format!(
            r#"{{"code":0,"message":"success","data":{{"status":"success","task_id":{task_id},
            "result":{{"resources":[{resource}]}}}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn mistyped_optional_fields_are_dropped_and_the_result_kept() {
        let body = answer(
            r#"{"type":"video","url":"https://x/a.mp4","width":1280.0,"format":4,"height":720}"#,
            r#""t""#,
        );
        assert!(serde_json::from_slice::<GetTaskResponse>(&body).is_err());
        let decoded = decode_leniently(&body).unwrap();
        let resource = &decoded.data.result.unwrap().resources[0];
        assert_eq!(resource.url.as_deref(), Some("https://x/a.mp4"));
        assert_eq!(
            (resource.width, resource.height, resource.format.as_deref()),
            (None, Some(720), None)
        );
    }

    #[test]
    fn a_resource_with_text_instead_of_a_url_is_kept() {
        let body = answer(
            r#"{"type":"text","text":"Hello.","segments":[{"start":0}]},{"type":"x","width":"wide"}"#,
            r#""t""#,
        );
        let decoded = decode_leniently(&body).unwrap();
        let resources = decoded.data.result.unwrap().resources;
        assert_eq!(resources.len(), 2);
        assert_eq!(resources[0].url, None);
        assert_eq!(resources[0].text(), Some("Hello."));
        assert_eq!(resources[0].extra["segments"][0]["start"], 0);
        assert_eq!(
            (resources[1].type_.as_str(), resources[1].width),
            ("x", None)
        );
        let strict: GetTaskResponse =
            serde_json::from_slice(&answer(r#"{"type":"text","text":"Hello."}"#, r#""t""#))
                .unwrap();
        assert_eq!(
            strict.data.result.unwrap().resources[0].text(),
            Some("Hello.")
        );
        // A URL is optional since a transcript has none: a mistyped one is dropped like
        // any optional field, and the resource is kept (saved as JSON by download_all).
        let mistyped = decode_leniently(&answer(r#"{"type":"video","url":7}"#, r#""t""#)).unwrap();
        let resource = &mistyped.data.result.unwrap().resources[0];
        assert_eq!(
            (resource.type_.as_str(), resource.url.as_deref()),
            ("video", None)
        );
    }

    #[test]
    fn required_fields_and_structure_are_never_dropped() {
        let table = [
            answer(r#"{"type":"video","url":"https://x/a.mp4"}"#, "42"), // task_id mistyped
            answer(r#""not a resource""#, r#""t""#),                    // array item
            br#"{"code":0,"message":"success","data":{"status":"success","task_id":"t","result":{"resources":{"a":1}}}}"#.to_vec(),
            b"[1,2]".to_vec(),
            b"not json".to_vec(),
        ];
        for body in table {
            assert!(
                decode_leniently(&body).is_none(),
                "{}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}
