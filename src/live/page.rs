//! One schema page: its address, the fetch (no key, capped), and the reading of what
//! came back into a [`LiveSchema`], refused when its server is foreign or its path is
//! not this model's submit path.

use std::path::Path;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use serde_json::Value;
use url::Url;

use crate::schema::runtime::{RuntimeChecker, SchemaError};
use crate::schema::validate::{ValidationError, Warnings};

/// The environment variable that sets where schema pages are read from.
pub const SCHEMA_URL_ENV: &str = "MODELLIX_SCHEMA_URL";
/// Where Modellix publishes its schema pages.
pub const DEFAULT_SCHEMA_URL: &str = "https://www.modellix.ai";
/// The most a schema page may hold (16 MiB); more is refused, not truncated.
pub const MAX_SCHEMA_PAGE_BYTES: usize = 16 << 20;
/// The longest `servers[0].url` a schema page may give (as the official CLI allows).
pub const MAX_SERVER_URL_LEN: usize = 2048;

/// Where a [`LiveSchema`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaSource {
    /// Fetched just now.
    Fetched,
    /// The on-disk cache, younger than the client's maximum age.
    Cache,
    /// The on-disk cache, older than the maximum age, because the page could not be
    /// fetched (the reason is here; a warning was logged).
    StaleCache {
        /// Why the page could not be fetched.
        reason: String,
    },
}

/// A model's request schema as its public schema page gives it, read and checked.
///
/// Got from [`Client::live_schema`](crate::client::Client::live_schema); the client
/// uses it to check a body of a model this build does not vendor before it is sent.
#[derive(Debug, Clone)]
pub struct LiveSchema {
    pub(crate) model_id: String,
    pub(crate) path: String,
    pub(crate) page: Value,
    pub(crate) body: Value,
    /// `(keyword, pointer)` the normalizer dropped: warned about on every check.
    pub(crate) unenforced: Vec<(String, String)>,
    pub(crate) fetched_at: SystemTime,
    pub(crate) source: SchemaSource,
}

impl LiveSchema {
    /// `provider/model`.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The submit path the page names (`/api/v1/{provider}/{model}/async`), where the
    /// body is posted.
    pub fn submit_path(&self) -> &str {
        &self.path
    }

    /// The page as a fragment, in the shape the vendored fragments in `spec/` have.
    pub fn page(&self) -> &Value {
        &self.page
    }

    /// The JSON schema of the request body.
    pub fn request_schema(&self) -> &Value {
        &self.body
    }

    /// When the page was fetched.
    pub fn fetched_at(&self) -> SystemTime {
        self.fetched_at
    }

    /// Fetched now, from the cache, or from a stale cache.
    pub fn source(&self) -> &SchemaSource {
        &self.source
    }

    /// The runtime checker over the request schema.
    pub fn checker(&self) -> Result<RuntimeChecker<'_>, SchemaError> {
        RuntimeChecker::compile(&self.body)
    }

    /// Checks a body against the schema: every violation, or the warnings (one per
    /// keyword the checker does not enforce).
    pub fn validate(&self, body: &Value) -> Result<Warnings, ValidationError> {
        match self.checker() {
            Ok(checker) => {
                let mut out = crate::schema::validate::Checker::default();
                checker.check_into(body, &mut out);
                for (keyword, pointer) in &self.unenforced {
                    out.warn(
                        pointer,
                        format!(
                            "the schema's {keyword} is not checked by this client; make sure \
                             the value meets it"
                        ),
                    );
                }
                out.finish()
            }
            // `read` compiled it once already, so this does not happen; refuse anyway.
            Err(e) => {
                let mut checker = crate::schema::validate::Checker::default();
                checker.violation(
                    "",
                    crate::schema::validate::Rule::Prose {
                        message: format!("the live schema cannot be checked: {e}"),
                    },
                );
                checker.finish()
            }
        }
    }
}

/// `{origin}/models/{provider}/{model}/api_schema`; `model_id` is already checked by
/// `check_model_id` (letters, digits, `.`, `_`, `-`; no part starts with `.`).
pub(crate) fn page_url(origin: &Url, model_id: &str) -> Url {
    let mut url = origin.clone();
    let base = origin.path().trim_end_matches('/');
    url.set_path(&format!("{base}/models/{model_id}/api_schema"));
    url
}

/// The HTTP client for schema pages: no key, no proxy, at most 5 redirects and only to
/// the same host over https (plain http only to a loopback host).
pub(crate) fn http_client() -> Result<reqwest::Client, String> {
    crate::transport::tls::install_default_provider();
    let same_host = reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().and_then(Url::host_str);
        let too_many = attempt.previous().len() > 5;
        let leaves = attempt.url().host_str() != first
            || (attempt.url().scheme() != "https" && !is_loopback(attempt.url()));
        if too_many {
            attempt.error("more than 5 redirects")
        } else if leaves {
            let to = attempt.url().to_string();
            attempt.error(format!(
                "refused a redirect to {to}: schema pages are read from one host, over https \
                 (plain http only on a loopback host)"
            ))
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .no_proxy()
        .redirect(same_host)
        .referer(false)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .user_agent(concat!(
            "modellix-rust/",
            env!("CARGO_PKG_VERSION"),
            " (schema)"
        ))
        .build()
        .map_err(|e| format!("cannot build the HTTP client for schema pages: {e}"))
}

/// Why a schema page could not be fetched: [`PageFetchError::status`] is the HTTP status
/// when the server answered with one other than 2xx (a redirect not followed, a 404).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFetchError {
    status: Option<u16>,
    message: String,
}

impl PageFetchError {
    fn other(message: String) -> Self {
        PageFetchError {
            status: None,
            message,
        }
    }

    /// The HTTP status the server answered, when it answered one other than 2xx.
    pub fn status(&self) -> Option<u16> {
        self.status
    }
}

impl std::fmt::Display for PageFetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PageFetchError {}

/// One GET of the page, at most [`MAX_SCHEMA_PAGE_BYTES`].
pub(crate) async fn fetch(http: &reqwest::Client, url: &Url) -> Result<Vec<u8>, PageFetchError> {
    let answer = http
        .get(url.clone())
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| PageFetchError::other(format!("cannot reach {url}: {}", chain(&e))))?;
    let status = answer.status();
    if !status.is_success() {
        return Err(PageFetchError {
            status: Some(status.as_u16()),
            message: format!("{url} answered HTTP {}", status.as_u16()),
        });
    }
    if answer
        .content_length()
        .is_some_and(|n| n > MAX_SCHEMA_PAGE_BYTES as u64)
    {
        return Err(PageFetchError::other(too_big(url)));
    }
    let mut bytes = Vec::new();
    let mut stream = answer.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| PageFetchError::other(format!("reading {url} failed: {}", chain(&e))))?;
        if bytes.len() + chunk.len() > MAX_SCHEMA_PAGE_BYTES {
            return Err(PageFetchError::other(too_big(url)));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The error and its causes in one line: reqwest keeps the reason (a refused redirect,
/// a refused connection) in `source()`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Fetches the schema page of `model_id` (`provider/model`) from `origin` (such as
/// [`DEFAULT_SCHEMA_URL`]) exactly as a client does for a model it does not vendor: no
/// key, no proxy, https (plain http only to a loopback host), same-host redirects, at
/// most [`MAX_SCHEMA_PAGE_BYTES`]. The page's bytes, unchanged; [`read_schema_page`]
/// applies the client's checks to them. `cargo xtask fetch`/`sync` vendor pages through
/// these two.
pub async fn fetch_schema_page(origin: &str, model_id: &str) -> Result<Vec<u8>, PageFetchError> {
    crate::schema::model_id::check_model_id(model_id)
        .map_err(|e| PageFetchError::other(e.to_string()))?;
    let origin = Url::parse(origin)
        .map_err(|e| PageFetchError::other(format!("{origin:?} is not a URL ({e})")))?;
    if origin.host().is_none() || !(origin.scheme() == "https" || is_loopback(&origin)) {
        return Err(PageFetchError::other(format!(
            "{origin}: schema pages are read over https (plain http only from a loopback host)"
        )));
    }
    let http = http_client().map_err(PageFetchError::other)?;
    fetch(&http, &page_url(&origin, model_id)).await
}

/// Reads a fetched schema page of `model_id` with the client's checks: valid JSON in one
/// of the shapes `modellix_codegen::shapes::normalize_page` reads, the official CLI's
/// rules on `servers[0].url`, the submit path of this very model on `api_origin` (the
/// one allowed host: `https://api.modellix.ai` for a vendored fragment), and a request
/// schema the runtime checker compiles. The error names what is wrong.
pub fn read_schema_page(
    model_id: &str,
    bytes: &[u8],
    api_origin: &str,
) -> Result<LiveSchema, String> {
    read(
        model_id,
        bytes,
        api_origin,
        SystemTime::now(),
        SchemaSource::Fetched,
    )
}

fn too_big(url: &Url) -> String {
    format!(
        "{url} holds more than {MAX_SCHEMA_PAGE_BYTES} bytes (16 MiB), more than a schema page may"
    )
}

fn is_loopback(url: &Url) -> bool {
    matches!(
        url.host(),
        Some(url::Host::Domain("localhost"))
            | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
            | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
    )
}

/// Today's page shapes (`$ref`/`$defs`, `allOf`, a `post` that is the body schema,
/// nullable type arrays) in the classic one, by the same normalizer the build uses;
/// with the keywords it removed as `(keyword, instance pointer)`.
fn normalize(page: Value) -> Result<(Value, Vec<(String, String)>), String> {
    let normalized = modellix_codegen::shapes::normalize_page(&page)
        .map_err(|e| format!("the schema page cannot be read: {e}"))?;
    let unenforced = normalized
        .unenforced
        .into_iter()
        .map(|u| (u.keyword, instance_pointer(&u.pointer)))
        .collect();
    Ok((normalized.page, unenforced))
}

/// The field a schema pointer of the normalized page is about: the body schema's
/// `/properties/duration` is the body's `/duration`, `items` any item (`*`), a
/// `oneOf`/`anyOf` branch the same value.
fn instance_pointer(schema_pointer: &str) -> String {
    const BODY: &str = "/post/requestBody/content/application~1json/schema";
    let Some(rest) = schema_pointer.strip_prefix(BODY) else {
        return schema_pointer.to_owned();
    };
    let mut out = String::new();
    let mut segments = rest.split('/').skip(1);
    while let Some(segment) = segments.next() {
        match segment {
            "properties" => {
                if let Some(name) = segments.next() {
                    out.push('/');
                    out.push_str(name);
                }
            }
            "items" => out.push_str("/*"),
            "oneOf" | "anyOf" | "allOf" => {
                segments.next();
            }
            _ => {}
        }
    }
    out
}

/// Reads a fetched (or cached) page for `model_id`: the official CLI's checks on
/// `servers[0].url`, then the same fragment checks and host rule as a vendored
/// fragment, with `api_origin` (the client's API origin) as the one allowed host.
pub(crate) fn read(
    model_id: &str,
    bytes: &[u8],
    api_origin: &str,
    fetched_at: SystemTime,
    source: SchemaSource,
) -> Result<LiveSchema, String> {
    let raw: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("the schema page is not valid JSON: {e}"))?;
    let (page, unenforced) = normalize(raw)?;
    let server = page
        .get("servers")
        .and_then(|s| s.get(0))
        .and_then(|s| s.get("url"))
        .and_then(Value::as_str)
        .ok_or("the schema page has no servers[0].url")?;
    check_server_url(server)?;
    let name = format!("{model_id} (schema page)");
    let fragment =
        modellix_codegen::parse_with_origin(Path::new(&name), &page.to_string(), None, api_origin)
            .map_err(|e| e.problem)?;
    match fragment.model_id() {
        Some(id) if id == model_id => {}
        Some(other) => {
            return Err(format!(
                "the schema page of {model_id} posts to {}, the submit path of {other}: refused",
                fragment.path
            ));
        }
        None => {
            return Err(format!(
                "the schema page of {model_id} is not a paid submit (a POST to a model path)"
            ));
        }
    }
    let body = fragment
        .request_schema()
        .cloned()
        .ok_or("the schema page has no application/json request body schema")?;
    RuntimeChecker::compile(&body).map_err(|e| format!("the request schema: {e}"))?;
    Ok(LiveSchema {
        model_id: model_id.to_owned(),
        path: fragment.path,
        page,
        body,
        unenforced,
        fetched_at,
        source,
    })
}

/// The official CLI's rules for `servers[0].url`: https (plain http only to a loopback
/// host), no credentials, query or fragment, at most 2,048 characters.
pub(crate) fn check_server_url(raw: &str) -> Result<(), String> {
    if raw.chars().count() > MAX_SERVER_URL_LEN {
        return Err(format!(
            "servers[0].url has more than {MAX_SERVER_URL_LEN} characters: refused"
        ));
    }
    let url = Url::parse(raw).map_err(|e| format!("servers[0].url is not a URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        other => {
            return Err(format!(
                "servers[0].url uses {other}; only https (plain http to a loopback host) is allowed"
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("servers[0].url holds credentials: refused".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("servers[0].url has a query or fragment: refused".into());
    }
    Ok(())
}
