//! Reading an error answer from Modellix or a proxy in front of it: the envelope's code
//! and message when there is one, else an excerpt of the body, server text redacted.

use crate::error::ApiError;
use crate::transport::request::Answer;

/// The fields of an error envelope; anything else is skipped without being built.
#[derive(serde::Deserialize)]
struct ErrorEnvelope {
    code: Option<serde_json::Value>,
    message: Option<serde_json::Value>,
}

/// Reads a Modellix error answer: the envelope if there is one, else an excerpt.
/// Server text passes through `redactor`: a gateway may echo the key.
pub(crate) fn api_error(
    status: u16,
    headers: &http::HeaderMap,
    body: &[u8],
    redactor: &crate::redact::Redactor,
) -> ApiError {
    let retry_after = crate::transport::retry::retry_after(headers, std::time::SystemTime::now());
    let envelope: Option<ErrorEnvelope> = serde_json::from_slice(body).ok();
    let code = envelope
        .as_ref()
        .and_then(|e| e.code.as_ref())
        .and_then(serde_json::Value::as_i64);
    let message = envelope
        .and_then(|e| e.message)
        .and_then(|m| m.as_str().map(clean));
    // Redacted before any cut: a key straddling a cut would leave its prefix behind.
    let (category, message) = match message {
        Some(m) => match m.split_once(':') {
            Some((c, d)) if !c.trim().is_empty() => (
                Some(redactor.excerpt(c.trim(), MAX_MESSAGE_CHARS)),
                redactor.excerpt(d.trim(), MAX_MESSAGE_CHARS),
            ),
            _ => (None, redactor.excerpt(&m, MAX_MESSAGE_CHARS)),
        },
        None => (None, excerpt(body, redactor)),
    };
    ApiError {
        status,
        code,
        category,
        message,
        retry_after,
        request_id: None,
    }
}

/// [`api_error`] of a whole answer, with its request id: what every caller that got a
/// non-2xx answer keeps.
pub(crate) fn answer_error(answer: &Answer, redactor: &crate::redact::Redactor) -> ApiError {
    let mut api = api_error(answer.status, &answer.headers, &answer.body, redactor);
    api.request_id = answer.request_id.clone();
    api
}

/// Server text without control characters (no terminal escapes reach a user's screen
/// through an error message).
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Longest category or message kept from an envelope: any real message fits, and a
/// hostile one cannot fill a log.
const MAX_MESSAGE_CHARS: usize = 2000;
/// Longest excerpt of a non-JSON body (an HTML page from a proxy).
const MAX_EXCERPT_CHARS: usize = 120;

/// The first line of a non-JSON body, redacted, then shortened, for messages about
/// proxies' pages. The whole line is redacted before it is cut (the body was read
/// with a cap of 64 KiB, so this is bounded).
fn excerpt(body: &[u8], redactor: &crate::redact::Redactor) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let line: String = line.chars().filter(|c| !c.is_control()).collect();
    redactor.excerpt(&line, MAX_EXCERPT_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_split_into_category_and_detail() {
        let h = http::HeaderMap::new();
        let r = crate::redact::Redactor::default();
        let e = api_error(
            402,
            &h,
            br#"{"code":402,"message":"Insufficient balance: top up","data":null}"#,
            &r,
        );
        assert_eq!(e.category.as_deref(), Some("Insufficient balance"));
        assert_eq!(e.message, "top up");
        assert_eq!(e.code, Some(402));
        let e = api_error(
            502,
            &h,
            b"<html>\n<head><title>502 Bad Gateway</title></head></html>",
            &r,
        );
        assert_eq!(e.category, None);
        assert_eq!(e.message, "<html>");
    }
}
