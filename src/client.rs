//! Client configuration and auth.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderValue;

use crate::error::ConfigError;
use crate::generated::Client as GeneratedClient;
use crate::hooks::{HookState, MAX_ANSWER_BYTES};
use crate::learning::LearningSchedule;
use crate::poll::{ExponentialRetry, PollSchedule, RateLimitGate, RetryPolicy, WaitOptions};
use crate::task::Task;

/// Runs with every accepted task before `submit` returns; see
/// [`ClientBuilder::on_submitted`].
pub type SubmittedHook = Arc<dyn Fn(&Task) + Send + Sync>;

/// Modellix's API origin.
pub const DEFAULT_BASE_URL: &str = "https://api.modellix.ai";
/// Environment variable holding the API key.
pub const API_KEY_ENV: &str = "MODELLIX_API_KEY";
/// Environment variable overriding the base URL.
pub const BASE_URL_ENV: &str = "MODELLIX_BASE_URL";

/// A Modellix client. Cheap to clone (one `Arc`), safe to share across tasks.
///
/// ```no_run
/// # fn main() -> Result<(), modellix::ConfigError> {
/// // Reads MODELLIX_API_KEY (and MODELLIX_BASE_URL, if set).
/// let client = modellix::Client::from_env()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) api: GeneratedClient,
    pub(crate) base_url: String,
    pub(crate) schedule: Arc<dyn PollSchedule>,
    pub(crate) retry: Arc<dyn RetryPolicy>,
    pub(crate) wait: WaitOptions,
    pub(crate) gate: RateLimitGate,
    pub(crate) on_submitted: Option<SubmittedHook>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.shared.base_url)
            .field("hooks", &self.shared.api.inner)
            .field("schedule", &self.shared.schedule)
            .field("retry", &self.shared.retry)
            .field("wait", &self.shared.wait)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder for every setting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `MODELLIX_API_KEY` and, if set, `MODELLIX_BASE_URL`.
    pub fn from_env() -> Result<Client, ConfigError> {
        let key = std::env::var(API_KEY_ENV).map_err(|_| ConfigError {
            field: API_KEY_ENV,
            problem: "is not set; create a key in the Modellix console and export it, \
                      e.g. `export MODELLIX_API_KEY=…`"
                .into(),
        })?;
        let mut builder = Client::builder().api_key(key);
        if let Ok(url) = std::env::var(BASE_URL_ENV) {
            builder = builder.base_url(url);
        }
        builder.build()
    }

    /// The generated operations, for calls the handwritten layer does not wrap.
    /// Requests made here get the same auth, User-Agent and answer cap.
    pub fn api(&self) -> &GeneratedClient {
        &self.shared.api
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }
}

/// Settings for a [`Client`].
#[derive(Default)]
pub struct ClientBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    user_agent_suffix: Option<String>,
    http: Option<reqwest::Client>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    schedule: Option<Arc<dyn PollSchedule>>,
    retry: Option<Arc<dyn RetryPolicy>>,
    wait: WaitOptions,
    shared_rate_limit: Option<bool>,
    on_submitted: Option<SubmittedHook>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("schedule", &self.schedule)
            .field("retry", &self.retry)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The API key from the Modellix console. Sent only as `Authorization: Bearer` to
    /// the API origin; never printed.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Another origin (a proxy, or a local sandbox). Must be https; plain http only for
    /// `localhost`, `127.0.0.1` and `[::1]`. No credentials, query or fragment.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Appended to the `User-Agent` (`modellix-rust/<version> <suffix>`).
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// Your own `reqwest::Client` (proxies, TLS roots, connection pools). The
    /// timeouts set here are then ignored: configure them on your client.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Whole-request timeout for each API call (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Connection timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// When to query a running task. Default: [`LearningSchedule`], which behaves as
    /// [`Backoff::default`](crate::Backoff) (first query about 2 s after submit, ×1.5
    /// up to 10 s, ±20% jitter) until a few tasks of the same kind have finished, then
    /// polls densely around their usual run time (see `BENCHMARKS.md`).
    pub fn poll_schedule(mut self, schedule: impl PollSchedule + 'static) -> Self {
        self.schedule = Some(Arc::new(schedule));
        self
    }

    /// How to retry a failed status query (default: [`ExponentialRetry::default`]).
    pub fn retry_policy(mut self, retry: impl RetryPolicy + 'static) -> Self {
        self.retry = Some(Arc::new(retry));
        self
    }

    /// Deadline and concurrency of waits (default: 10 minutes, 32 at once).
    pub fn wait_options(mut self, wait: WaitOptions) -> Self {
        self.wait = wait;
        self
    }

    /// Whether a 429 seen by one request pauses every request of this client
    /// (default: yes). Turning it off is for measurements.
    pub fn shared_rate_limit(mut self, shared: bool) -> Self {
        self.shared_rate_limit = Some(shared);
        self
    }

    /// Runs with every accepted task, before `submit` returns and before any waiting:
    /// the place to persist the task id so a crash cannot lose a paid task.
    pub fn on_submitted(mut self, hook: impl Fn(&Task) + Send + Sync + 'static) -> Self {
        self.on_submitted = Some(Arc::new(hook));
        self
    }

    /// Checks every setting and builds the client.
    pub fn build(self) -> Result<Client, ConfigError> {
        let key = self.api_key.as_deref().ok_or_else(|| ConfigError {
            field: "api_key",
            problem: "is missing; pass it to ClientBuilder::api_key or use Client::from_env".into(),
        })?;
        let authorization = Some(authorization(key)?);
        let base = parse_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        let mut user_agent = format!("modellix-rust/{}", env!("CARGO_PKG_VERSION"));
        if let Some(suffix) = &self.user_agent_suffix {
            user_agent = format!("{user_agent} {suffix}");
        }
        let user_agent = HeaderValue::from_str(&user_agent).map_err(|_| ConfigError {
            field: "user_agent_suffix",
            problem: "must be visible ASCII (a header value)".into(),
        })?;
        let http = match self.http {
            Some(http) => http,
            None => {
                crate::tls::install_default_provider();
                reqwest::Client::builder()
                    .timeout(self.timeout.unwrap_or(Duration::from_secs(30)))
                    .connect_timeout(self.connect_timeout.unwrap_or(Duration::from_secs(10)))
                    .build()
                    .map_err(|e| ConfigError {
                        field: "http_client",
                        problem: format!("cannot build the HTTP client: {e}"),
                    })?
            }
        };
        let hooks = HookState {
            authorization,
            api_origin: base.clone(),
            user_agent,
            max_answer_bytes: MAX_ANSWER_BYTES,
        };
        let base_url = base.as_str().trim_end_matches('/').to_owned();
        let api = GeneratedClient::new_with_client(&base_url, http, hooks);
        Ok(Client {
            shared: Arc::new(Shared {
                api,
                base_url,
                schedule: self
                    .schedule
                    .unwrap_or_else(|| Arc::new(LearningSchedule::default())),
                retry: self
                    .retry
                    .unwrap_or_else(|| Arc::new(ExponentialRetry::default())),
                wait: self.wait,
                gate: RateLimitGate::new(self.shared_rate_limit.unwrap_or(true)),
                on_submitted: self.on_submitted,
            }),
        })
    }
}

/// `Bearer <key>` as a sensitive header value; the key is checked, never echoed.
fn authorization(key: &str) -> Result<HeaderValue, ConfigError> {
    let bad = |problem: &str| ConfigError {
        field: "api_key",
        problem: problem.to_owned(),
    };
    if key.trim().is_empty() {
        return Err(bad("is empty; copy the key from the Modellix console"));
    }
    if key.len() >= 7 && key[..7].eq_ignore_ascii_case("bearer ") {
        return Err(bad(
            "starts with \"Bearer \"; pass the key alone, the client adds the prefix",
        ));
    }
    if key != key.trim() {
        return Err(bad(
            "has leading or trailing white space; remove it (often a stray newline)",
        ));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(
            "holds white space, control or non-ASCII characters; Modellix keys are visible ASCII",
        ));
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {key}"))
        .map_err(|_| bad("is not a valid header value"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Checks the base URL rules and returns it parsed.
pub(crate) fn parse_base_url(raw: &str) -> Result<Url, ConfigError> {
    let bad = |problem: String| ConfigError {
        field: "base_url",
        problem,
    };
    let url = Url::parse(raw).map_err(|e| bad(format!("{raw:?} is not a URL ({e})")))?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Domain("localhost"))
            | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
            | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
    );
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(format!(
                "{raw:?} uses plain http; use https (http is allowed only for localhost, 127.0.0.1 and [::1])"
            )));
        }
        other => return Err(bad(format!("{raw:?} has scheme {other:?}; use https"))),
    }
    if url.host().is_none() {
        return Err(bad(format!("{raw:?} has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not hold credentials; pass the key with api_key".into()
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(format!("{raw:?} must not have a query or fragment")));
    }
    Ok(url)
}
