//! Answers in Modellix's envelope, and the faults that reshape an answer.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};

/// How long a truncated answer waits after its partial body, so that the bytes are
/// flushed to the client before the connection closes.
const TRUNCATE_PAUSE: Duration = Duration::from_millis(30);

/// An answer before it is sent, so that faults can still reshape it.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: AnswerBody,
}

#[derive(Debug)]
pub(crate) enum AnswerBody {
    /// A `{"code","message","data"}` envelope.
    Json(Value),
    /// Anything else (files, HTML), with its content type.
    Raw(Bytes, &'static str),
}

/// The category Modellix puts before the detail of an error message.
fn category(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Invalid parameters",
        401 => "Unauthorized",
        402 => "Insufficient balance",
        404 => "Not found",
        405 => "Method not allowed",
        416 => "Range not satisfiable",
        429 => "Too many requests",
        500 => "Internal error",
        502 => "Bad gateway",
        503 => "Service unavailable",
        504 => "Gateway timeout",
        _ => "Error",
    }
}

impl Answer {
    /// `{"code":0,"message":"success","data":data}`.
    pub(crate) fn success(data: Value) -> Self {
        Self::json(
            StatusCode::OK,
            json!({"code": 0, "message": "success", "data": data}),
        )
    }

    /// `{"code":<status>,"message":"<Category>: <detail>","data":null}`.
    pub(crate) fn error(status: StatusCode, detail: impl std::fmt::Display) -> Self {
        Self::error_in(status, category(status), detail)
    }

    /// [`Answer::error`] with a category of its own (`"Quota exceeded"`).
    pub(crate) fn error_in(
        status: StatusCode,
        category: &str,
        detail: impl std::fmt::Display,
    ) -> Self {
        let message = format!("{category}: {detail}");
        Self::json(
            status,
            json!({"code": status.as_u16(), "message": message, "data": null}),
        )
    }

    pub(crate) fn raw(status: StatusCode, content_type: &'static str, bytes: Bytes) -> Self {
        Answer {
            status,
            headers: HeaderMap::new(),
            body: AnswerBody::Raw(bytes, content_type),
        }
    }

    fn json(status: StatusCode, envelope: Value) -> Self {
        Answer {
            status,
            headers: HeaderMap::new(),
            body: AnswerBody::Json(envelope),
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: impl ToString) -> Self {
        if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
            self.headers.insert(name, value);
        }
        self
    }

    /// True for a JSON answer; the faults that rewrite JSON apply only to those.
    pub(crate) fn is_json(&self) -> bool {
        matches!(self.body, AnswerBody::Json(_))
    }

    /// Replaces `data.status` when there is one; false when there is none.
    pub(crate) fn set_status_field(&mut self, status: &str) -> bool {
        match &mut self.body {
            AnswerBody::Json(envelope) => match envelope.pointer_mut("/data/status") {
                Some(field) => {
                    *field = Value::from(status);
                    true
                }
                None => false,
            },
            AnswerBody::Raw(..) => false,
        }
    }

    /// Adds fields no client knows to the envelope, `data` and each result resource.
    pub(crate) fn add_unknown_fields(&mut self) {
        let AnswerBody::Json(envelope) = &mut self.body else {
            return;
        };
        let extra = |v: &mut Value, name: &str| {
            if let Value::Object(map) = v {
                map.insert(name.to_owned(), json!({"sandbox": "unknown field"}));
            }
        };
        extra(envelope, "request_id");
        if let Some(data) = envelope.get_mut("data") {
            extra(data, "billing");
        }
        if let Some(Value::Array(resources)) = envelope.pointer_mut("/data/result/resources") {
            resources.iter_mut().for_each(|r| extra(r, "expires_at"));
        }
    }

    /// Pads a JSON answer with an unknown field until it is over
    /// `modellix::MAX_ANSWER_BYTES`; still valid JSON.
    pub(crate) fn pad_past_limit(&mut self) {
        if let AnswerBody::Json(Value::Object(envelope)) = &mut self.body {
            let padding = "x".repeat(modellix::MAX_ANSWER_BYTES + 1);
            envelope.insert("padding".to_owned(), Value::from(padding));
        }
    }

    /// The answer as sent; `truncate` sends only the first half of the body while
    /// announcing its full length, then ends the connection.
    pub(crate) fn into_response(self, truncate: bool) -> Response {
        let (bytes, content_type) = match self.body {
            AnswerBody::Json(envelope) => (
                Bytes::from(serde_json::to_vec(&envelope).unwrap_or_default()),
                "application/json",
            ),
            AnswerBody::Raw(bytes, content_type) => (bytes, content_type),
        };
        let full_length = bytes.len();
        let body = if truncate {
            let part = bytes.slice(..full_length / 2);
            // hyper closes the connection when a body ends short of its
            // Content-Length; the pause lets the partial bytes reach the client first.
            let pause = stream::once(tokio::time::sleep(TRUNCATE_PAUSE))
                .filter_map(|()| std::future::ready(None::<Result<Bytes, std::io::Error>>));
            Body::from_stream(stream::once(std::future::ready(Ok(part))).chain(pause))
        } else {
            Body::from(bytes)
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.extend(self.headers);
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(full_length));
        response
    }
}
