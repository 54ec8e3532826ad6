//! Plain calls to the endpoints that are neither a paid submit nor a task query
//! (catalog, account, files): reads retried by the client's retry policy, answers read with or
//! without Modellix's envelope.

use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::error::api::answer_error;
use crate::shared::Shared;
use crate::transport::lenient::{Slips, decode};
use crate::transport::request::{Answer, Failure, Outgoing, Stage};
use crate::transport::retry::{RetryRound, is_retryable_status};

/// `METHOD /path` without the query, for messages.
pub(crate) fn endpoint_name(method: &Method, path: &str) -> String {
    format!("{method} {}", path.split('?').next().unwrap_or(path))
}

/// Sends `method path` (no body) and returns a 2xx answer. GETs are retried on
/// network failures, 408, 429 and 5xx as the client's [`RetryPolicy`] says (the one
/// retry path of every read); other methods are sent once. A non-2xx answer becomes
/// [`Error::Endpoint`].
///
/// [`RetryPolicy`]: crate::transport::retry::RetryPolicy
pub(crate) async fn call(shared: &Shared, method: Method, path: &str) -> Result<Answer, Error> {
    let transport = &shared.transport;
    let endpoint = endpoint_name(&method, path);
    let retried = method == Method::GET;
    let mut round = RetryRound::new(&*shared.retry, None);
    loop {
        let attempt = round.next_attempt();
        let sent = transport
            .send(Outgoing {
                method: method.clone(),
                path,
                body: None,
                attempt,
                deadline: None,
            })
            .await;
        let (error, retryable, hint) = match sent {
            Ok(answer) if answer.is_success() => return Ok(answer),
            Ok(answer) => {
                let api = answer_error(&answer, &transport.redactor);
                let hint = api.retry_after;
                let retryable = is_retryable_status(answer.status);
                let error = Error::Endpoint {
                    endpoint: endpoint.clone(),
                    api: Box::new(api),
                };
                (error, retryable, hint)
            }
            Err(Failure {
                stage: Stage::NotSent,
                reason,
                ..
            }) => (
                Error::NotSent {
                    task_id: None,
                    reason,
                },
                true,
                None,
            ),
            Err(Failure { reason, .. }) => (
                Error::Network {
                    endpoint: endpoint.clone(),
                    reason,
                },
                true,
                None,
            ),
        };
        if !(retried && retryable && round.pause(hint).await) {
            return Err(error);
        }
    }
}

/// The envelope's `data`, as `T` (a generated answer type), decoded leniently (see
/// [`crate::transport::lenient`]); an answer that is not an envelope with a `data` of that shape
/// is [`Error::Malformed`].
pub(crate) fn envelope_data<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T, Error> {
    let malformed = |why: String| Error::Malformed {
        task_id: None,
        reason: format!("the answer of {endpoint} is not the documented shape: {why}"),
    };
    let mut answer: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| malformed(e.to_string()))?;
    let data = answer
        .get_mut("data")
        .map(serde_json::Value::take)
        .ok_or_else(|| malformed("no \"data\"".into()))?;
    // The data itself is not quoted: server text stays out of error messages.
    decode(data, Slips::Convert).ok_or_else(|| {
        malformed("its \"data\" lacks a documented field or has one of another type".into())
    })
}
