//! One careful GET for `fetch` and `sync`: http(s) only, no key or cookie sent, redirects
//! only within the same host, timeouts, and a cap on the answer's size.

use std::io::Read;
use std::time::Duration;

use reqwest::Url;

/// Where Modellix publishes each model's fragment.
pub const PUBLIC_ORIGIN: &str = "https://www.modellix.ai";

/// A fragment is a few kilobytes; anything this large is not one.
pub const MAX_BODY: u64 = 2 * 1024 * 1024;

/// What the server answered.
#[derive(Debug)]
pub enum Answer {
    /// `200`: the body, unchanged.
    Body(Vec<u8>),
    /// `404` or `410`: the model is gone (or never existed).
    Gone(u16),
}

/// The schema page of `model_id` (`provider/model`) under `origin`.
pub fn schema_url(origin: &str, model_id: &str) -> Result<Url, String> {
    let origin = origin.trim_end_matches('/');
    let url = Url::parse(&format!("{origin}/models/{model_id}/api_schema"))
        .map_err(|e| format!("{origin:?} is not a usable origin: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{origin:?}: only http:// and https:// origins are fetched"
        ));
    }
    if url.host_str().is_none() {
        return Err(format!("{origin:?} has no host"));
    }
    Ok(url)
}

/// A client for `origin` (see [`client`]), after checking it is an http(s) URL.
pub fn client_for(origin: &str) -> Result<reqwest::blocking::Client, String> {
    client(&schema_url(origin, "provider/model")?)
}

/// A blocking client for one origin: same-host redirects only (at most 5, never from
/// https to http), 10 s to connect, 30 s in all, no proxy for loopback hosts.
pub fn client(url: &Url) -> Result<reqwest::blocking::Client, String> {
    // The ring provider: reqwest is built without one (see Cargo.toml).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let host = url.host_str().unwrap_or_default().to_owned();
    let loopback = matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]");
    // http:// is accepted only where the origin is http:// (tests): no downgrade.
    let schemes: &[&str] = if url.scheme() == "https" {
        &["https"]
    } else {
        &["http", "https"]
    };
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        let next = attempt.url();
        if attempt.previous().len() >= 5 {
            attempt.error("more than 5 redirects")
        } else if !schemes.contains(&next.scheme()) || next.host_str() != Some(&host) {
            let refusal = format!("refused a redirect to {next}: not {host} over {schemes:?}");
            attempt.error(refusal)
        } else {
            attempt.follow()
        }
    });
    let mut builder = reqwest::blocking::Client::builder()
        .redirect(policy)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("modellix-xtask/", env!("CARGO_PKG_VERSION")));
    if loopback {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// GETs `url`: the body of a `200` (at most [`MAX_BODY`] bytes), or [`Answer::Gone`].
pub fn get(client: &reqwest::blocking::Client, url: &Url) -> Result<Answer, String> {
    let mut response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
    let status = response.status().as_u16();
    match status {
        200 => {}
        404 | 410 => return Ok(Answer::Gone(status)),
        // Only redirects reqwest will not follow get here (e.g. to a file: URL).
        300..=399 => {
            return Err(format!(
                "GET {url}: the server answered {status} (a redirect not followed)"
            ));
        }
        _ => return Err(format!("GET {url}: the server answered {status}")),
    }
    if let Some(length) = response.content_length().filter(|n| *n > MAX_BODY) {
        return Err(format!(
            "GET {url}: the answer is {length} bytes, more than the {MAX_BODY} a fragment may have"
        ));
    }
    let mut body = Vec::new();
    response
        .by_ref()
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(|e| format!("GET {url}: reading the answer: {e}"))?;
    if body.len() as u64 > MAX_BODY {
        return Err(format!(
            "GET {url}: the answer is more than the {MAX_BODY} bytes a fragment may have"
        ));
    }
    Ok(Answer::Body(body))
}

/// The error and its causes in one line (reqwest hides the reason in `source()`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_urls_are_http_only() {
        let cases = [
            (
                "https://www.modellix.ai",
                Ok("https://www.modellix.ai/models/a/b/api_schema"),
            ),
            (
                "http://127.0.0.1:8080/",
                Ok("http://127.0.0.1:8080/models/a/b/api_schema"),
            ),
            ("file:///etc", Err("only http:// and https://")),
            ("ftp://x.example", Err("only http:// and https://")),
            ("not a url", Err("not a usable origin")),
        ];
        for (origin, want) in cases {
            let got = schema_url(origin, "a/b").map(|u| u.to_string());
            match want {
                Ok(url) => assert_eq!(got.as_deref(), Ok(url), "{origin}"),
                Err(part) => {
                    let got = got.unwrap_err();
                    assert!(got.contains(part), "{origin}: {got}");
                }
            }
        }
    }
}
