//! A webhook delivery read into a [`WebhookEvent`], with no web framework: the headers
//! as an [`http::HeaderMap`] and the body as bytes, which every Rust server can hand
//! over. Anything malformed is refused with a [`WebhookError`] naming what is wrong;
//! nothing here is trusted (see `Client::confirm`).

use std::fmt;

use bytes::Bytes;
use http::HeaderMap;

use crate::task::record::is_usable_task_id;

/// Largest delivery body read: a task answer is a few kilobytes.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 1024 * 1024;
/// Longest task or delivery id accepted in a header.
const MAX_ID_LEN: usize = 256;

/// `X-Modellix-Event`.
pub const EVENT_HEADER: &str = "x-modellix-event";
/// `X-Modellix-Task-ID`.
pub const TASK_ID_HEADER: &str = "x-modellix-task-id";
/// `X-Modellix-Delivery-ID`.
pub const DELIVERY_ID_HEADER: &str = "x-modellix-delivery-id";
/// `X-Modellix-Retry-Count`.
pub const RETRY_COUNT_HEADER: &str = "x-modellix-retry-count";

/// What a delivery says happened (`X-Modellix-Event`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebhookEventKind {
    /// `prediction.task.succeeded`.
    Succeeded,
    /// `prediction.task.failed`.
    Failed,
    /// `prediction.task.canceled`.
    Canceled,
    /// An event this version does not know, kept as sent.
    Other(String),
}

impl WebhookEventKind {
    /// Reads an event name; unknown names are kept as [`WebhookEventKind::Other`].
    ///
    /// ```
    /// use modellix::WebhookEventKind;
    /// assert_eq!(WebhookEventKind::parse("prediction.task.failed"), WebhookEventKind::Failed);
    /// assert_eq!(WebhookEventKind::parse("prediction.task.paused").as_str(), "prediction.task.paused");
    /// ```
    pub fn parse(name: &str) -> Self {
        match name {
            "prediction.task.succeeded" => WebhookEventKind::Succeeded,
            "prediction.task.failed" => WebhookEventKind::Failed,
            "prediction.task.canceled" => WebhookEventKind::Canceled,
            other => WebhookEventKind::Other(other.to_owned()),
        }
    }

    /// The name as Modellix sends it.
    pub fn as_str(&self) -> &str {
        match self {
            WebhookEventKind::Succeeded => "prediction.task.succeeded",
            WebhookEventKind::Failed => "prediction.task.failed",
            WebhookEventKind::Canceled => "prediction.task.canceled",
            WebhookEventKind::Other(name) => name,
        }
    }
}

impl fmt::Display for WebhookEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One webhook delivery, read from its headers; its body kept as a hint only.
///
/// Nothing in it is proven: no signature is documented, so anyone who knows the URL
/// can forge one. Accept it once ([`Client::accept`]), answer 2xx, then confirm the
/// task's status with [`Client::confirm`] before downloading or trusting anything.
///
/// ```
/// use http::HeaderMap;
/// use modellix::{WebhookEvent, WebhookEventKind};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("X-Modellix-Event", "prediction.task.succeeded".parse().unwrap());
/// headers.insert("X-Modellix-Task-ID", "task-1".parse().unwrap());
/// headers.insert("X-Modellix-Delivery-ID", "dlv-9".parse().unwrap());
/// headers.insert("X-Modellix-Retry-Count", "1".parse().unwrap());
/// let body = br#"{"code":0,"message":"success","data":{"task_id":"task-1","status":"success"}}"#;
/// let event = WebhookEvent::parse(&headers, body)?;
/// assert_eq!(event.task_id, "task-1");
/// assert_eq!(event.event, WebhookEventKind::Succeeded);
/// assert_eq!((event.delivery_id.as_str(), event.retry_count), ("dlv-9", 1));
///
/// headers.insert("X-Modellix-Task-ID", "task-2".parse().unwrap());
/// assert!(WebhookEvent::parse(&headers, body).is_err(), "the body names another task");
/// # Ok::<(), modellix::WebhookError>(())
/// ```
///
/// [`Client::accept`]: crate::client::Client::accept
/// [`Client::confirm`]: crate::client::Client::confirm
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// `X-Modellix-Task-ID`.
    pub task_id: String,
    /// `X-Modellix-Event`.
    pub event: WebhookEventKind,
    /// `X-Modellix-Delivery-ID`: the same for every retry of one delivery.
    pub delivery_id: String,
    /// `X-Modellix-Retry-Count`: 0 for the first attempt.
    pub retry_count: u32,
    /// The body as received (the task answer Modellix says it sent): a hint, never to
    /// be trusted; [`Client::confirm`](crate::client::Client::confirm) asks Modellix.
    pub body: Bytes,
}

/// Why a delivery was refused: answer it with 400 (a real Modellix delivery is never
/// malformed; a forged or truncated one should not be retried).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookError {
    /// A header every delivery carries is absent.
    MissingHeader {
        /// Its name (`X-Modellix-Task-ID`, …).
        header: &'static str,
    },
    /// A header is present but unusable.
    BadHeader {
        /// Its name.
        header: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The body names another task than `X-Modellix-Task-ID`.
    TaskIdMismatch {
        /// The task id of the header.
        header: String,
        /// The task id of the body.
        body: String,
    },
    /// The body is larger than [`MAX_WEBHOOK_BODY_BYTES`].
    BodyTooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The body is not a JSON object.
    BadBody {
        /// What is wrong with it.
        problem: String,
    },
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "webhook delivery refused: ")?;
        match self {
            WebhookError::MissingHeader { header } => write!(
                f,
                "header {header} is missing (every Modellix delivery carries it); answer 400"
            ),
            WebhookError::BadHeader { header, problem } => {
                write!(f, "header {header} is unusable: {problem}; answer 400")
            }
            WebhookError::TaskIdMismatch { header, body } => write!(
                f,
                "header X-Modellix-Task-ID says {header:?} but the body names task {body:?}; \
                 answer 400 and trust neither"
            ),
            WebhookError::BodyTooLarge { bytes, limit } => write!(
                f,
                "the body has {bytes} bytes, more than the {limit} a task answer can need; answer 413"
            ),
            WebhookError::BadBody { problem } => {
                write!(f, "the body is not a task answer ({problem}); answer 400")
            }
        }
    }
}

impl std::error::Error for WebhookError {}

impl WebhookEvent {
    /// Reads a delivery: the four `X-Modellix-*` headers (names in any case), and a
    /// body of at most [`MAX_WEBHOOK_BODY_BYTES`] that is a JSON object whose task id,
    /// when it has one (`data.task_id` or `task_id`), is the header's.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let task_id = header(headers, TASK_ID_HEADER, "X-Modellix-Task-ID")?;
        if !is_usable_task_id(&task_id) {
            return Err(WebhookError::BadHeader {
                header: "X-Modellix-Task-ID",
                problem: format!("{task_id:?} is not a task id"),
            });
        }
        let event = WebhookEventKind::parse(&header(headers, EVENT_HEADER, "X-Modellix-Event")?);
        let delivery_id = header(headers, DELIVERY_ID_HEADER, "X-Modellix-Delivery-ID")?;
        let retries = header(headers, RETRY_COUNT_HEADER, "X-Modellix-Retry-Count")?;
        let retry_count = retries
            .parse::<u32>()
            .map_err(|_| WebhookError::BadHeader {
                header: "X-Modellix-Retry-Count",
                problem: format!("{retries:?} is not a count"),
            })?;
        if body.len() > MAX_WEBHOOK_BODY_BYTES {
            return Err(WebhookError::BodyTooLarge {
                bytes: body.len(),
                limit: MAX_WEBHOOK_BODY_BYTES,
            });
        }
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::BadBody {
                problem: format!("not JSON: {e}"),
            })?;
        let Some(object) = value.as_object() else {
            return Err(WebhookError::BadBody {
                problem: "not a JSON object".into(),
            });
        };
        let named = object
            .get("data")
            .and_then(|data| data.get("task_id"))
            .or_else(|| object.get("task_id"));
        match named {
            None => {}
            Some(serde_json::Value::String(named)) if *named == task_id => {}
            Some(other) => {
                return Err(WebhookError::TaskIdMismatch {
                    header: task_id,
                    body: match other {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                });
            }
        }
        Ok(WebhookEvent {
            task_id,
            event,
            delivery_id,
            retry_count,
            body: Bytes::copy_from_slice(body),
        })
    }
}

/// One header as text: present once, visible ASCII, not empty, not over
/// [`MAX_ID_LEN`].
fn header(
    headers: &HeaderMap,
    name: &'static str,
    shown: &'static str,
) -> Result<String, WebhookError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Err(WebhookError::MissingHeader { header: shown });
    };
    let bad = |problem: &str| WebhookError::BadHeader {
        header: shown,
        problem: problem.to_owned(),
    };
    if values.next().is_some() {
        return Err(bad("sent more than once"));
    }
    let text = value.to_str().map_err(|_| bad("not visible ASCII"))?.trim();
    if text.is_empty() {
        return Err(bad("empty"));
    }
    if text.len() > MAX_ID_LEN {
        return Err(bad(&format!("longer than {MAX_ID_LEN} characters")));
    }
    Ok(text.to_owned())
}
