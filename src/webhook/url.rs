//! The `X-Webhook-URL` of a submit: checked before the intent is recorded, so a bad
//! URL sends nothing and records nothing.

use reqwest::header::HeaderValue;
use url::{Host, Url};

use crate::error::ConfigError;

/// Longest webhook URL accepted (as the official CLI bounds its URLs).
pub const MAX_WEBHOOK_URL_LEN: usize = 2048;

/// The field named by errors about the URL.
const FIELD: &str = "SubmitOptions::webhook_url";

/// Checks a webhook URL as a submit would, without sending anything: for a command
/// line or a settings form to refuse it early.
///
/// ```
/// assert!(modellix::check_webhook_url("https://example.com/modellix").is_ok());
/// let e = modellix::check_webhook_url("http://example.com/modellix").unwrap_err();
/// assert_eq!(e.field, "SubmitOptions::webhook_url");
/// ```
pub fn check_webhook_url(url: &str) -> Result<(), ConfigError> {
    webhook_header(url).map(drop)
}

/// The header value for `raw`: an absolute `https` URL (plain `http` only to a
/// loopback host, for tests), without credentials or fragment, at most
/// [`MAX_WEBHOOK_URL_LEN`] characters.
pub(crate) fn webhook_header(raw: &str) -> Result<HeaderValue, ConfigError> {
    let bad = |problem: String| ConfigError {
        field: FIELD,
        problem,
    };
    if raw.len() > MAX_WEBHOOK_URL_LEN {
        return Err(bad(format!(
            "the URL has {} characters, more than the {MAX_WEBHOOK_URL_LEN} allowed; use a shorter one",
            raw.len()
        )));
    }
    let url = Url::parse(raw).map_err(|e| {
        bad(format!(
            "{raw:?} is not an absolute URL ({e}); give one like \"https://example.com/modellix/webhook\""
        ))
    })?;
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        scheme => {
            return Err(bad(format!(
                "{scheme}: URLs are not accepted (Modellix posts to a public https URL; plain \
                 http only to a loopback host, for tests); use https://"
            )));
        }
    }
    if url.host().is_none() {
        return Err(bad("the URL has no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "the URL carries credentials (user:password@), which the ledger would store; \
             put a token in its path or query instead"
                .into(),
        ));
    }
    if url.fragment().is_some() {
        return Err(bad(
            "the URL has a #fragment, which is never sent; remove it".into(),
        ));
    }
    HeaderValue::from_str(url.as_str())
        .map_err(|e| bad(format!("the URL cannot be sent as a header ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_passes() {
        assert!(webhook_header("https://example.com/hook?token=abc").is_ok());
        assert!(webhook_header("http://127.0.0.1:8080/hook").is_ok());
        assert!(webhook_header("http://[::1]:8080/hook").is_ok());
        assert!(webhook_header("http://localhost/hook").is_ok());
        for bad in [
            "http://example.com/hook",
            "ftp://example.com/",
            "example.com/hook",
            "https://user:pw@example.com/",
            "https://example.com/#x",
            "",
        ] {
            let e = webhook_header(bad).unwrap_err();
            assert_eq!(e.field, FIELD, "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_WEBHOOK_URL_LEN));
        assert!(webhook_header(&long).is_err());
    }
}
