//! Plain calls to the endpoints that are neither a paid submit nor a task query
//! (catalog, account, files): reads retried a few times, answers read with or
//! without Modellix's envelope.

use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::error::api::api_error;
use crate::shared::Shared;
use crate::transport::lenient::{Slips, decode};
use crate::transport::request::{Answer, Failure, Outgoing, Stage};

/// Attempts of a read before its error is returned.
const READ_ATTEMPTS: u32 = 3;
/// Longest pause between two attempts of a read.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// `METHOD /path` without the query, for messages.
pub(crate) fn endpoint_name(method: &Method, path: &str) -> String {
    format!("{method} {}", path.split('?').next().unwrap_or(path))
}

/// Sends `method path` (no body) and returns a 2xx answer. GETs are retried on
/// network failures, 429 and 5xx; other methods are sent once. A non-2xx answer
/// becomes [`Error::Endpoint`].
pub(crate) async fn call(shared: &Shared, method: Method, path: &str) -> Result<Answer, Error> {
    let transport = &shared.transport;
    let endpoint = endpoint_name(&method, path);
    let attempts = if method == Method::GET {
        READ_ATTEMPTS
    } else {
        1
    };
    let mut attempt = 1;
    loop {
        let sent = transport
            .send(Outgoing {
                method: method.clone(),
                path,
                body: None,
                attempt,
                deadline: None,
            })
            .await;
        let last = attempt >= attempts;
        let pause = Duration::from_millis(250 * 2u64.pow(attempt - 1));
        attempt += 1;
        match sent {
            Ok(answer) if answer.is_success() => return Ok(answer),
            Ok(answer) => {
                let mut api = api_error(
                    answer.status,
                    &answer.headers,
                    &answer.body,
                    &transport.redactor,
                );
                api.request_id = answer.request_id.clone();
                let retryable = crate::transport::retry::is_retryable_status(answer.status);
                if last || !retryable {
                    return Err(Error::Endpoint {
                        endpoint,
                        api: Box::new(api),
                    });
                }
                tokio::time::sleep(api.retry_after.unwrap_or(pause).min(MAX_PAUSE)).await;
            }
            Err(Failure {
                stage: Stage::NotSent,
                reason,
                ..
            }) if last => {
                return Err(Error::NotSent {
                    task_id: None,
                    reason,
                });
            }
            Err(Failure { reason, .. }) if last => {
                return Err(Error::Network { endpoint, reason });
            }
            Err(_) => tokio::time::sleep(pause).await,
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
