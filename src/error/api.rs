//! Reading an error answer from Modellix or a proxy in front of it: the envelope's code
//! and message when there is one, else an excerpt of the body, server text redacted.

use crate::error::ApiError;

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
    let (category, message) = match message {
        Some(m) => match m.split_once(':') {
            Some((c, d)) if !c.trim().is_empty() => {
                (Some(redactor.text(c.trim())), redactor.text(d.trim()))
            }
            _ => (None, redactor.text(&m)),
        },
        None => (None, redactor.text(&excerpt(body))),
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

/// Server text without control characters (no terminal escapes reach a user's screen
/// through an error message).
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The first line of a non-JSON body, shortened, for messages about proxies' pages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut out: String = line.chars().filter(|c| !c.is_control()).take(120).collect();
    if out.len() < line.len() {
        out.push('…');
    }
    out
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
