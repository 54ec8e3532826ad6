//! The client: configuration, auth, and the entry points, each delegating to the file
//! that holds its concept (`submit`, `query`, `wait`, `ledger`).

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderValue;

use crate::error::{ConfigError, Error};
use crate::learning::LearningSchedule;
use crate::ledger::{EntryQuery, LedgerEntry, MemoryLedger, SqliteLedger, TaskLedger};
use crate::poll::{ExponentialRetry, PollSchedule, RetryPolicy, WaitOptions};
use crate::ratelimit::{DEFAULT_MAX_PAUSE, DEFAULT_REQUESTS_PER_MINUTE, RateLimiter};
use crate::redact::{Redactor, raw_url_for_display};
use crate::transport::{Timeouts, Transport};

/// Runs for every submit outcome that carries a task id (accepted, or unknown with an
/// id seen), after the ledger recorded it; see [`ClientBuilder::on_submitted`].
pub type SubmittedHook =
    Arc<dyn Fn(LedgerEntry) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Modellix's API origin.
pub const DEFAULT_BASE_URL: &str = "https://api.modellix.ai";
/// Environment variable holding the API key.
pub const API_KEY_ENV: &str = "MODELLIX_API_KEY";
/// Environment variable overriding the base URL.
pub const BASE_URL_ENV: &str = "MODELLIX_BASE_URL";
/// Environment variable naming the on-disk ledger file ([`SqliteLedger`]).
pub const LEDGER_ENV: &str = "MODELLIX_LEDGER";

/// A Modellix client. Cheap to clone (one `Arc`), safe to share across tasks.
///
/// ```no_run
/// # fn main() -> Result<(), modellix::ConfigError> {
/// // Reads MODELLIX_API_KEY (and MODELLIX_BASE_URL, MODELLIX_LEDGER, if set).
/// let client = modellix::Client::from_env()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) transport: Transport,
    pub(crate) schedule: Arc<dyn PollSchedule>,
    pub(crate) retry: Arc<dyn RetryPolicy>,
    pub(crate) wait: WaitOptions,
    pub(crate) ledger: Arc<dyn TaskLedger>,
    pub(crate) on_submitted: Option<SubmittedHook>,
    /// Written into every intent: which client instance sent it.
    pub(crate) marker: String,
    /// Set once the schedule has learned the ledger's stored run times.
    pub(crate) primed: tokio::sync::OnceCell<()>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.shared.transport)
            .field("schedule", &self.shared.schedule)
            .field("retry", &self.shared.retry)
            .field("wait", &self.shared.wait)
            .field("ledger", &self.shared.ledger)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder for every setting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `MODELLIX_API_KEY` and, if set, `MODELLIX_BASE_URL` and
    /// `MODELLIX_LEDGER` (a file path for an on-disk [`SqliteLedger`]).
    pub fn from_env() -> Result<Client, ConfigError> {
        let key = std::env::var(API_KEY_ENV).map_err(|e| ConfigError {
            field: API_KEY_ENV,
            problem: match e {
                std::env::VarError::NotPresent => "is not set; create a key in the Modellix \
                     console and export it, e.g. `export MODELLIX_API_KEY=…`"
                    .into(),
                std::env::VarError::NotUnicode(_) => {
                    "is not valid UTF-8; Modellix keys are visible ASCII".into()
                }
            },
        })?;
        let mut builder = Client::builder().api_key(key);
        if let Ok(url) = std::env::var(BASE_URL_ENV) {
            builder = builder.base_url(url);
        }
        if let Some(path) = std::env::var_os(LEDGER_ENV).filter(|p| !p.is_empty()) {
            builder = builder.ledger_path(path);
        }
        builder.build()
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.shared.transport.base_url()
    }

    /// The ledger this client records paid requests in.
    pub fn ledger(&self) -> &Arc<dyn TaskLedger> {
        &self.shared.ledger
    }

    /// The ledger's open entries, newest first: tasks to resume (accepted, or unknown
    /// with an id) and requests whose outcome must be checked before sending them
    /// again. [`LedgerEntry::next_step`] says what to do with each.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// for entry in client.recover().await? {
    ///     match entry.task_id() {
    ///         Some(id) => {
    ///             let output = client.task(id)?.wait(&client).await?;
    ///             println!("{id}: {} files", output.resources().len());
    ///         }
    ///         None => eprintln!("check by hand: {}", entry.next_step()),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn recover(&self) -> Result<Vec<LedgerEntry>, Error> {
        Ok(self.shared.ledger.entries(&EntryQuery::open()).await?)
    }

    /// The newest `limit` ledger entries, open or not (0: all).
    pub async fn history(&self, limit: usize) -> Result<Vec<LedgerEntry>, Error> {
        Ok(self
            .shared
            .ledger
            .entries(&EntryQuery::recent(limit))
            .await?)
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }
}

/// Settings for a [`Client`].
pub struct ClientBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    user_agent_suffix: Option<String>,
    timeouts: Timeouts,
    connect_timeout: Duration,
    schedule: Option<Arc<dyn PollSchedule>>,
    retry: Option<Arc<dyn RetryPolicy>>,
    wait: WaitOptions,
    shared_rate_limit: bool,
    requests_per_minute: Option<u32>,
    max_rate_limit_pause: Duration,
    on_submitted: Option<SubmittedHook>,
    ledger: Option<Arc<dyn TaskLedger>>,
    ledger_path: Option<PathBuf>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            api_key: None,
            base_url: None,
            user_agent_suffix: None,
            timeouts: Timeouts::default(),
            connect_timeout: Duration::from_secs(10),
            schedule: None,
            retry: None,
            wait: WaitOptions::default(),
            shared_rate_limit: true,
            requests_per_minute: Some(DEFAULT_REQUESTS_PER_MINUTE),
            max_rate_limit_pause: DEFAULT_MAX_PAUSE,
            on_submitted: None,
            ledger: None,
            ledger_path: None,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field(
                "base_url",
                &self.base_url.as_deref().map(raw_url_for_display),
            )
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("timeouts", &self.timeouts)
            .field("connect_timeout", &self.connect_timeout)
            .field("schedule", &self.schedule)
            .field("retry", &self.retry)
            .field("wait", &self.wait)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("ledger", &self.ledger)
            .field("ledger_path", &self.ledger_path)
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

    /// Time allowed for a whole read (a status query: connect, send, answer; default
    /// 30 s), and for a submit's answer to start after its body was sent and to keep
    /// coming.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.read = timeout;
        self.timeouts.answer = timeout;
        self
    }

    /// Connection timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long sending a request body may take: `base` plus its size at
    /// `min_bytes_per_sec` (default 30 s plus 64 KiB/s, so a 64 MiB body gets about
    /// 17 minutes on a slow uplink instead of ending as an unknown outcome).
    pub fn send_timeout(mut self, base: Duration, min_bytes_per_sec: u64) -> Self {
        self.timeouts.send_base = base;
        self.timeouts.min_send_rate = min_bytes_per_sec.max(1);
        self
    }

    /// No timeouts of the client's own at all: for tests on tokio's paused clock,
    /// where timers fire while a server on another thread works.
    pub fn without_timeouts(mut self) -> Self {
        self.timeouts = Timeouts {
            read: Duration::MAX,
            answer: Duration::MAX,
            send_base: Duration::MAX,
            min_send_rate: u64::MAX,
        };
        self.connect_timeout = Duration::MAX;
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
        self.shared_rate_limit = shared;
        self
    }

    /// Paces every request of this client (submits, polls) to stay under the key's
    /// limit: `Some(n)` assumes `n` a minute until the server's `X-RateLimit-*` headers
    /// say otherwise (default: Modellix's 100); `None` sends as fast as asked and only
    /// pauses after a 429.
    pub fn requests_per_minute(mut self, per_minute: Option<u32>) -> Self {
        self.requests_per_minute = per_minute;
        self
    }

    /// The longest client-wide pause one server hint (`Retry-After`,
    /// `X-RateLimit-Reset`) can cause (default 60 s). Waits check their own deadline
    /// and the pause again after every sleep.
    pub fn max_rate_limit_pause(mut self, pause: Duration) -> Self {
        self.max_rate_limit_pause = pause;
        self
    }

    /// Where paid requests are recorded (default: a [`MemoryLedger`], which does not
    /// survive the process; see [`ClientBuilder::ledger_path`]).
    pub fn ledger(mut self, ledger: impl TaskLedger + 'static) -> Self {
        self.ledger = Some(Arc::new(ledger));
        self.ledger_path = None;
        self
    }

    /// Records paid requests in a [`SqliteLedger`] at `path` (created if needed), so a
    /// crash loses no task: see [`Client::recover`].
    pub fn ledger_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.ledger_path = Some(path.into());
        self.ledger = None;
        self
    }

    /// Runs, and is awaited, for every submit outcome that carries a task id (accepted,
    /// or unknown with an id seen in the answer), after the ledger recorded it and
    /// before `submit` returns. It runs even when the caller stopped waiting for
    /// `submit`; a panic in it is caught and logged, never unwound into the submit.
    ///
    /// ```
    /// # fn main() -> Result<(), modellix::ConfigError> {
    /// let client = modellix::Client::builder()
    ///     .api_key("sk-example")
    ///     .on_submitted(|entry| async move {
    ///         // e.g. write entry.task_id() to your own database
    ///         println!("paid request {} -> {:?}", entry.id, entry.task_id());
    ///     })
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn on_submitted<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(LedgerEntry) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_submitted = Some(Arc::new(move |entry| Box::pin(hook(entry))));
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
        let ledger: Arc<dyn TaskLedger> = match (self.ledger, &self.ledger_path) {
            (Some(ledger), _) => ledger,
            (None, Some(path)) => Arc::new(SqliteLedger::open(path).map_err(|e| ConfigError {
                field: "ledger_path",
                problem: e.message().to_owned(),
            })?),
            (None, None) => Arc::new(MemoryLedger::new()),
        };
        let limiter = RateLimiter::new(
            self.requests_per_minute,
            self.shared_rate_limit,
            self.max_rate_limit_pause,
        );
        let transport = Transport::new(
            &base,
            authorization,
            user_agent,
            Redactor::new(Some(key)),
            self.timeouts,
            self.connect_timeout,
            limiter,
        )
        .map_err(|problem| ConfigError {
            field: "http_client",
            problem,
        })?;
        Ok(Client {
            shared: Arc::new(Shared {
                transport,
                schedule: self
                    .schedule
                    .unwrap_or_else(|| Arc::new(LearningSchedule::default())),
                retry: self
                    .retry
                    .unwrap_or_else(|| Arc::new(ExponentialRetry::default())),
                wait: self.wait,
                ledger,
                on_submitted: self.on_submitted,
                marker: format!("{}-{:08x}", std::process::id(), fastrand::u32(..)),
                primed: tokio::sync::OnceCell::new(),
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
    // Bytes, not `str` slicing: a multi-byte character among the first seven must not
    // panic (a panic message would print the key).
    if key
        .as_bytes()
        .get(..7)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"bearer "))
    {
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

/// Checks the base URL rules and returns it parsed. Messages show the URL without
/// credentials or query: a key pasted there must not be printed.
pub(crate) fn parse_base_url(raw: &str) -> Result<Url, ConfigError> {
    let shown = raw_url_for_display(raw);
    let bad = |problem: String| ConfigError {
        field: "base_url",
        problem,
    };
    let url = Url::parse(raw).map_err(|e| bad(format!("{shown:?} is not a URL ({e})")))?;
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
                "{shown:?} uses plain http; use https (http is allowed only for localhost, 127.0.0.1 and [::1])"
            )));
        }
        other => return Err(bad(format!("{shown:?} has scheme {other:?}; use https"))),
    }
    if url.host().is_none() {
        return Err(bad(format!("{shown:?} has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not hold credentials; pass the key with api_key".into()
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(format!("{shown:?} must not have a query or fragment")));
    }
    Ok(url)
}
