//! How a request meets its fault: faults of the layers in front of the API answer
//! first; the others reshape or drop the API's answer. Shared by every route that
//! faults can be injected on.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;

use crate::answer::Answer;
use crate::conn::ConnCtl;
use crate::faults::{Fault, Route};
use crate::state::Shared;

/// Runs `handle` under the route's next fault. Faults of the layers in front of the
/// API (rate limiter, proxy, a failure that creates nothing) answer before the request
/// is looked at; the others let it be handled, then reshape or drop the answer.
/// `handle` gets the fault so that a created task can record it.
pub(crate) async fn with_fault(
    shared: &Shared,
    conn: ConnCtl,
    route: Route,
    handle: impl FnOnce(Option<&Fault>) -> Answer,
) -> Response {
    let fault = shared.next_fault(route);
    if let Some(fault) = &fault {
        if let Fault::Slow(delay) = fault {
            shared.record_fault(route, fault);
            tokio::time::sleep(*delay).await;
        }
        if let Some(answer) = front_answer(fault) {
            shared.record_fault(route, fault);
            return answer.into_response(false);
        }
    }
    let mut answer = handle(fault.as_ref());
    let Some(fault) = fault else {
        return answer.into_response(false);
    };
    let applied = match &fault {
        Fault::ServerError { status, .. } => {
            answer = server_error(*status);
            true
        }
        Fault::Reset => {
            shared.record_fault(route, &fault);
            return conn.abort().await;
        }
        Fault::Truncated => true,
        Fault::Oversized if answer.is_json() && answer.status.is_success() => {
            answer.pad_past_limit();
            true
        }
        Fault::UnknownStatus(status) => answer.set_status_field(status),
        Fault::ExtraFields if answer.is_json() => {
            answer.add_unknown_fields();
            true
        }
        _ => false,
    };
    if applied {
        shared.record_fault(route, &fault);
    }
    answer.into_response(applied && fault == Fault::Truncated)
}

/// The answer of a fault that comes before the API handles anything.
fn front_answer(fault: &Fault) -> Option<Answer> {
    let too_many = || Answer::error(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded");
    match fault {
        Fault::RetryAfter(seconds) => Some(too_many().with_header("retry-after", seconds)),
        Fault::RateLimitReset(seconds) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            Some(too_many().with_header("x-ratelimit-reset", now + seconds))
        }
        Fault::Html502 => Some(Answer::raw(
            StatusCode::BAD_GATEWAY,
            "text/html; charset=utf-8",
            Bytes::from_static(
                b"<html><head><title>502 Bad Gateway</title></head>\
                  <body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n",
            ),
        )),
        Fault::ServerError {
            status,
            task_created: false,
        } => Some(server_error(*status)),
        _ => None,
    }
}

fn server_error(status: u16) -> Answer {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let detail = match status.as_u16() {
        502 => "upstream model provider did not answer",
        503 => "the service is temporarily unavailable",
        504 => "upstream model provider timed out",
        _ => "an internal error occurred",
    };
    Answer::error(status, detail)
}
