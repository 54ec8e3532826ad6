//! The GET of `fetch` and `sync`: the library's own schema page fetch
//! (`modellix::fetch_schema_page`: no key, no proxy, same-host redirects, https except
//! loopback, capped), so a page is vendored exactly as a client would read it live.
//! What is left here is the command line's side: the origin given, 404/410 as a removed
//! model, and the smaller size a vendored fragment may have.

use url::Url;

/// Where Modellix publishes each model's fragment.
pub const PUBLIC_ORIGIN: &str = modellix::DEFAULT_SCHEMA_URL;

/// A fragment is a few kilobytes; anything this large is not one to vendor (the library
/// reads pages up to `modellix::MAX_SCHEMA_PAGE_BYTES` at run time).
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

/// Fetches schema pages from one origin, one at a time.
pub struct Fetcher {
    origin: String,
    runtime: tokio::runtime::Runtime,
}

impl Fetcher {
    /// A fetcher for `origin`, after checking it is an http(s) URL with a host.
    pub fn new(origin: &str) -> Result<Fetcher, String> {
        schema_url(origin, "provider/model")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime for the fetch: {e}"))?;
        Ok(Fetcher {
            origin: origin.trim_end_matches('/').to_owned(),
            runtime,
        })
    }

    /// GETs the page of `model_id` at `url` (its [`schema_url`]): the body of a `200`
    /// (at most [`MAX_BODY`] bytes), or [`Answer::Gone`].
    pub fn get(&self, model_id: &str, url: &Url) -> Result<Answer, String> {
        let fetched = self
            .runtime
            .block_on(modellix::fetch_schema_page(&self.origin, model_id));
        let body = match fetched {
            Ok(body) => body,
            Err(e) => {
                return match e.status() {
                    Some(status @ (404 | 410)) => Ok(Answer::Gone(status)),
                    // Only redirects the fetch will not follow get here (e.g. to a file: URL).
                    Some(status @ 300..=399) => Err(format!(
                        "GET {url}: the server answered {status} (a redirect not followed)"
                    )),
                    Some(status) => Err(format!("GET {url}: the server answered {status}")),
                    None => Err(format!("GET {url}: {e}")),
                };
            }
        };
        if body.len() as u64 > MAX_BODY {
            return Err(format!(
                "GET {url}: the answer is {} bytes, more than the {MAX_BODY} a fragment may have",
                body.len()
            ));
        }
        Ok(Answer::Body(body))
    }
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
